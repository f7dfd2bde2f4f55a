import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { Alertmanager } from './alertmanager/alertmanager';
import { COLLECTOR_PORTS } from './collector/collector-config';
import { Grafana, SIDECAR_HEALTH_PORT } from './grafana/grafana';
import { componentLabels, NAMES, selectorLabels } from './labels';
import { CONFIG_RELOADER_PORT } from './operator-pods';
import { Prometheus } from './prometheus/prometheus';
import { PrometheusOperator } from './prometheus/prometheus-operator';
import { THANOS_PORTS } from './thanos/thanos-component';

export interface NetworkPoliciesProps {
  readonly namespace: string;
  /** Namespaces whose pods push OTLP to the collector (none: no collector is deployed). */
  readonly pushNamespaces: readonly string[];
  /** The collector's per-service exporter ports: consecutive, from FIRST_EXPORTER_PORT up (service-exporters.ts). */
  readonly exporterPorts: readonly number[];
  /** Pods Prometheus scrapes outside the stack (pull-mode chat services). */
  readonly pullTargets: readonly { readonly namespace: string; readonly selector: Readonly<Record<string, string>> }[];
  /** How many Alertmanager replicas there are, and where it may send notifications. */
  readonly alertmanager: AlertmanagerFlows;
  /** Thanos Query always; with long-term storage, the Store Gateway, the Compactor and the object store's addresses. */
  readonly thanos: ThanosFlows;
  /** The API server's addresses; empty: any address on its ports. */
  readonly apiServerCidrs: readonly string[];
  /** Where the kubelet's probes come from; empty: anywhere, to the health-only ports. */
  readonly nodeCidrs: readonly string[];
}

export interface AlertmanagerFlows {
  /** Above 1, the replicas gossip on Alertmanager.CLUSTER_PORT (TCP and UDP) with each other. */
  readonly replicas: number;
  /**
   * TCP ports of the configured receivers. Their addresses are in a Secret (and resolve by DNS),
   * so a NetworkPolicy can name only the ports, and the CIDRs below when given. None: no egress.
   */
  readonly receiverPorts: readonly number[];
  /** Addresses the receivers are at; empty allows any address on receiverPorts. */
  readonly receiverCidrs: readonly string[];
}

export interface ThanosFlows {
  /**
   * The object store's addresses (CIDRs) and TCP ports: the only ones the sidecars (in the
   * Prometheus pods), the Store Gateway and the Compactor reach outside the cluster's DNS. Unset: no
   * long-term storage, no Store, no Compactor.
   */
  readonly objectStore?: { readonly cidrs: readonly string[]; readonly ports: readonly number[] };
}

const port = (protocol: 'TCP' | 'UDP', p: number): k8s.NetworkPolicyPort => ({ protocol, port: k8s.IntOrString.fromNumber(p) });
const tcp = (p: number) => port('TCP', p);

const fromPods = (name: string): k8s.NetworkPolicyPeer => ({ podSelector: { matchLabels: selectorLabels(name) } });
const inNamespace = (ns: string): k8s.LabelSelector => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });

/** Name resolution, wherever the cluster's DNS runs (CoreDNS pods, NodeLocal DNSCache). */
const DNS: k8s.NetworkPolicyEgressRule = { ports: [port('UDP', 53), port('TCP', 53)] };
const ipBlocks = (cidrs: readonly string[]): k8s.NetworkPolicyPeer[] => cidrs.map((cidr) => ({ ipBlock: { cidr } }));

type Ingress = k8s.NetworkPolicyIngressRule;
type Egress = k8s.NetworkPolicyEgressRule;

const prometheus = fromPods(NAMES.prometheus);
const grafana = fromPods(NAMES.grafana);
const alertmanager = fromPods(NAMES.alertmanager);
const thanosQuery = fromPods(NAMES.thanosQuery);
const thanosStore = fromPods(NAMES.thanosStore);
/** Prometheus's API, its config reloader's metrics and its Thanos sidecar's. */
const PROMETHEUS_SCRAPES = [tcp(Prometheus.PORT), tcp(CONFIG_RELOADER_PORT), tcp(THANOS_PORTS.http)];
/** StoreAPI: the sidecars' and the Store Gateway's gRPC, which Query reads. */
const STORE_API = [tcp(THANOS_PORTS.grpc)];
/** A Thanos component's HTTP: Query's API (for Grafana), everyone's health and metrics. */
const THANOS_HTTP = [tcp(THANOS_PORTS.http)];
/** Alertmanager's API and its config reloader's metrics. */
const ALERTMANAGER_SCRAPES = [tcp(Alertmanager.PORT), tcp(CONFIG_RELOADER_PORT)];

/**
 * Allow-lists for the stack's namespace: all ingress and egress is denied except the flows the
 * stack needs. Egress is DNS and the API server for every component that watches it, plus
 * Prometheus's scrapes and Grafana's queries; ingress includes the kubelet's probes.
 */
export class NetworkPolicies extends Construct {
  /**
   * The Kubernetes API. Its address is cluster-specific (kind: the control-plane node's 6443; managed
   * clusters: 443 on an address outside the pod network): the configured CIDRs, else any address.
   */
  private readonly apiServer: Egress;
  /** Where the kubelet's probes come from: the nodes when configured, else (undefined) anywhere. */
  private readonly nodes?: { from: k8s.NetworkPolicyPeer[] };
  /** The collector's exporters and its own metrics, which Prometheus scrapes; none without a collector. */
  private readonly collectorScrapes: k8s.NetworkPolicyPort[];
  /** The object store: the configured addresses and ports; none without long-term storage. */
  private readonly objectStore: Egress[];
  /** The Thanos components Prometheus scrapes (and Query reads, for the Store Gateway). */
  private readonly thanosComponents: string[];

  constructor(scope: Construct, id: string, private readonly props: NetworkPoliciesProps) {
    super(scope, id);
    this.apiServer = { ...(props.apiServerCidrs.length ? { to: ipBlocks(props.apiServerCidrs) } : {}), ports: [tcp(443), tcp(6443)] };
    this.nodes = props.nodeCidrs.length ? { from: ipBlocks(props.nodeCidrs) } : undefined;
    // One entry per exporter port, never an endPort range: network plugins without endPort support
    // (older Cilium, Azure NPM) silently admit only a range's first port.
    this.collectorScrapes = props.exporterPorts.length ? [...props.exporterPorts.map(tcp), tcp(COLLECTOR_PORTS.selfMetrics)] : [];
    const store = props.thanos.objectStore;
    this.objectStore = store ? [{ to: ipBlocks(store.cidrs), ports: store.ports.map(tcp) }] : [];
    this.thanosComponents = [NAMES.thanosQuery, ...(store ? [NAMES.thanosStore, NAMES.thanosCompactor] : [])];

    this.policy('default-deny-ingress', {}, [], undefined);
    this.policy('default-deny-egress', {}, undefined, []);
    if (this.collectorScrapes.length) this.collectorPolicy();
    this.prometheusPolicy();
    this.operatorPolicy();
    this.grafanaPolicy();
    this.alertmanagerPolicy();
    this.thanosPolicies();
  }

  private policy(name: string, podSelector: k8s.LabelSelector, ingress: Ingress[] | undefined, egress: Egress[] | undefined): void {
    new k8s.KubeNetworkPolicy(this, name, {
      metadata: { name, namespace: this.props.namespace, labels: componentLabels(name, 'network-policy') },
      spec: {
        podSelector,
        policyTypes: [...(ingress ? ['Ingress'] : []), ...(egress ? ['Egress'] : [])],
        // An empty rule list is what policyTypes alone already says (deny all), and the API server
        // drops it: written out, every server-side apply would change the object again.
        ...(ingress?.length ? { ingress } : {}),
        ...(egress?.length ? { egress } : {}),
      },
    });
  }

  /** The policy of a component's pods. */
  private componentPolicy(name: string, ingress: Ingress[], egress: Egress[]): void {
    this.policy(name, { matchLabels: selectorLabels(name) }, ingress, egress);
  }

  // A port that serves only health is open to any address when the nodes' addresses are not
  // configured; a probed port that also serves an API (Prometheus, Alertmanager, the operator) is
  // opened to the nodes only, and only when they are configured.
  private healthProbes(...ports: number[]): Ingress[] {
    return [{ ...this.nodes, ports: ports.map(tcp) }];
  }

  private apiProbes(...ports: number[]): Ingress[] {
    return this.nodes ? [{ ...this.nodes, ports: ports.map(tcp) }] : [];
  }

  private collectorPolicy(): void {
    this.componentPolicy(NAMES.collector, [
      {
        // OTLP from the chat services' namespaces.
        from: this.props.pushNamespaces.map((ns) => ({ namespaceSelector: inNamespace(ns) })),
        ports: [tcp(COLLECTOR_PORTS.otlpGrpc), tcp(COLLECTOR_PORTS.otlpHttp)],
      },
      { from: [prometheus], ports: this.collectorScrapes },
      ...this.healthProbes(COLLECTOR_PORTS.health),
    ], [DNS, this.apiServer]); // k8sattributes watches pods
  }

  private prometheusPolicy(): void {
    const collectorScrapes = this.collectorScrapes;
    this.componentPolicy(NAMES.prometheus, [
      // Grafana reads through Thanos Query, which reads the sidecars' StoreAPI.
      { from: [thanosQuery], ports: STORE_API },
      // Self-monitoring: Prometheus scrapes its own server, config reloader and Thanos sidecar.
      { from: [prometheus], ports: PROMETHEUS_SCRAPES },
      ...this.apiProbes(Prometheus.PORT),
    ], [
      DNS,
      this.apiServer, // service discovery
      ...(collectorScrapes.length ? [{ to: [fromPods(NAMES.collector)], ports: collectorScrapes }] : []),
      { to: [prometheus], ports: PROMETHEUS_SCRAPES },
      { to: [fromPods(NAMES.operator)], ports: [tcp(PrometheusOperator.PORT)] },
      { to: [grafana], ports: [tcp(Grafana.PORT)] },
      { to: [alertmanager], ports: ALERTMANAGER_SCRAPES }, // alerts, and its metrics
      { to: this.thanosComponents.map(fromPods), ports: THANOS_HTTP },
      ...this.objectStore, // the sidecar uploads blocks
      // Pull-mode services: the pod port behind the Service's named port is theirs to choose, so no port here.
      ...this.props.pullTargets.map((t) => ({ to: [{ namespaceSelector: inNamespace(t.namespace), podSelector: { matchLabels: { ...t.selector } } }] })),
    ]);
  }

  private operatorPolicy(): void {
    this.componentPolicy(NAMES.operator, [
      { from: [prometheus], ports: [tcp(PrometheusOperator.PORT)] },
      ...this.apiProbes(PrometheusOperator.PORT),
    ], [DNS, this.apiServer]);
  }

  // Users reach Grafana through its NodePort, from any address; Prometheus scrapes it there too.
  // Grafana's own probes use that port too.
  private grafanaPolicy(): void {
    this.componentPolicy(NAMES.grafana, [
      { ports: [tcp(Grafana.PORT)] },
      ...this.healthProbes(SIDECAR_HEALTH_PORT),
    ], [
      DNS,
      this.apiServer, // the dashboard sidecar watches ConfigMaps
      { to: [thanosQuery], ports: THANOS_HTTP }, // the Prometheus datasource
      { to: [alertmanager], ports: [tcp(Alertmanager.PORT)] }, // the Alertmanager datasource: alerts and silences
    ]);
  }

  // Alertmanager calls no Kubernetes API; it talks to its peers and to the receivers only.
  private alertmanagerPolicy(): void {
    const am = this.props.alertmanager;
    const gossip = am.replicas > 1 ? [tcp(Alertmanager.CLUSTER_PORT), port('UDP', Alertmanager.CLUSTER_PORT)] : [];
    this.componentPolicy(NAMES.alertmanager, [
      { from: [prometheus], ports: ALERTMANAGER_SCRAPES },
      { from: [grafana], ports: [tcp(Alertmanager.PORT)] },
      ...(gossip.length ? [{ from: [alertmanager], ports: gossip }] : []),
      ...this.apiProbes(Alertmanager.PORT),
    ], [
      DNS,
      ...(gossip.length ? [{ to: [alertmanager], ports: gossip }] : []),
      ...(am.receiverPorts.length ? [{
        ...(am.receiverCidrs.length ? { to: ipBlocks(am.receiverCidrs) } : {}),
        ports: am.receiverPorts.map(tcp),
      }] : []),
    ]);
  }

  // Thanos calls no Kubernetes API. Query reads the StoreAPIs; Store and Compactor the object store.
  private thanosPolicies(): void {
    const scraped = { from: [prometheus], ports: THANOS_HTTP };
    const longTerm = this.objectStore.length > 0;
    this.componentPolicy(NAMES.thanosQuery, [
      { from: [grafana], ports: THANOS_HTTP },
      scraped,
      ...this.apiProbes(THANOS_PORTS.http),
    ], [
      DNS,
      { to: [prometheus, ...(longTerm ? [thanosStore] : [])], ports: STORE_API },
    ]);
    if (!longTerm) return;
    this.componentPolicy(NAMES.thanosStore, [
      { from: [thanosQuery], ports: STORE_API },
      scraped,
      ...this.apiProbes(THANOS_PORTS.http),
    ], [DNS, ...this.objectStore]);
    this.componentPolicy(NAMES.thanosCompactor, [scraped, ...this.apiProbes(THANOS_PORTS.http)], [DNS, ...this.objectStore]);
  }
}
