import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { COLLECTOR_PORTS } from './collector/collector-config';
import { componentLabels, NAMES, selectorLabels } from './labels';

export interface NetworkPoliciesProps {
  readonly namespace: string;
  /** Namespaces whose pods push OTLP to the collector (none: no collector is deployed). */
  readonly pushingNamespaces: readonly string[];
  /** The collector's per-service exporter ports: consecutive, 9464 upwards (service-exporters.ts). */
  readonly exporterPorts: readonly number[];
  /** Pods Prometheus scrapes outside the stack (pull-mode chat services). */
  readonly pullTargets: readonly { readonly namespace: string; readonly selector: Readonly<Record<string, string>> }[];
  /** Grafana's container port, open to users. */
  readonly grafanaPort: number;
  /** Alertmanager's ports, and where it may send notifications. */
  readonly alertmanager: AlertmanagerFlows;
  /** The dashboard sidecar's health port (liveness probe only). */
  readonly sidecarHealthPort: number;
  /** The API server's addresses; empty: any address on its ports. */
  readonly apiServerCidrs: readonly string[];
  /** Where the kubelet's probes come from; empty: anywhere, to the health-only ports. */
  readonly nodeCidrs: readonly string[];
}

export interface AlertmanagerFlows {
  /** API and UI: alerts from Prometheus, queries from Grafana, scrapes. */
  readonly port: number;
  readonly reloaderPort: number;
  /** Gossip port (TCP and UDP), opened between the replicas only when there are several. */
  readonly clusterPort: number;
  readonly replicas: number;
  /**
   * TCP ports of the configured receivers. Their addresses are in a Secret (and resolve by DNS),
   * so a NetworkPolicy can name only the ports, and the CIDRs below when given. None: no egress.
   */
  readonly receiverPorts: readonly number[];
  /** Addresses the receivers are at; empty allows any address on receiverPorts. */
  readonly receiverCidrs: readonly string[];
}

const port = (protocol: 'TCP' | 'UDP', p: number): k8s.NetworkPolicyPort => ({ protocol, port: k8s.IntOrString.fromNumber(p) });
const tcp = (p: number) => port('TCP', p);
/** Consecutive TCP ports first..last as one rule entry (endPort, stable since Kubernetes 1.25). */
const tcpRange = (ports: readonly number[]): k8s.NetworkPolicyPort => {
  const first = Math.min(...ports);
  const last = Math.max(...ports);
  if (last - first + 1 !== ports.length) throw new Error(`exporter ports are not consecutive: ${ports.join(', ')}`);
  return last === first ? tcp(first) : { ...tcp(first), endPort: last };
};
const fromPods = (name: string): k8s.NetworkPolicyPeer => ({ podSelector: { matchLabels: selectorLabels(name) } });
const inNamespace = (ns: string): k8s.LabelSelector => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });

/** Name resolution, wherever the cluster's DNS runs (CoreDNS pods, NodeLocal DNSCache). */
const DNS: k8s.NetworkPolicyEgressRule = { ports: [port('UDP', 53), port('TCP', 53)] };
const ipBlocks = (cidrs: readonly string[]): k8s.NetworkPolicyPeer[] => cidrs.map((cidr) => ({ ipBlock: { cidr } }));

/**
 * Allow-lists for the stack's namespace: all ingress and egress is denied except the flows the
 * stack needs. Egress is DNS and the API server for every component that watches it, plus
 * Prometheus's scrapes and Grafana's queries; ingress includes the kubelet's probes.
 */
export class NetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: NetworkPoliciesProps) {
    super(scope, id);
    const policy = (name: string, podSelector: k8s.LabelSelector, ingress: k8s.NetworkPolicyIngressRule[] | undefined,
      egress: k8s.NetworkPolicyEgressRule[] | undefined) =>
      new k8s.KubeNetworkPolicy(this, name, {
        metadata: { name, namespace: props.namespace, labels: componentLabels(name, 'network-policy') },
        spec: {
          podSelector,
          policyTypes: [...(ingress ? ['Ingress'] : []), ...(egress ? ['Egress'] : [])],
          // An empty rule list is what policyTypes alone already says (deny all), and the API server
          // drops it: written out, every server-side apply would change the object again.
          ...(ingress?.length ? { ingress } : {}),
          ...(egress?.length ? { egress } : {}),
        },
      });
    const prometheus = fromPods(NAMES.prometheus);
    // The Kubernetes API. Its address is cluster-specific (kind: the control-plane node's 6443; managed
    // clusters: 443 on an address outside the pod network): the configured CIDRs, else any address.
    const API_SERVER: k8s.NetworkPolicyEgressRule = {
      ...(props.apiServerCidrs.length ? { to: ipBlocks(props.apiServerCidrs) } : {}),
      ports: [tcp(443), tcp(6443)],
    };
    // The kubelet's probes come from the node. A port that serves only health is open to any address
    // when the nodes' addresses are not configured; a probed port that also serves an API (Prometheus,
    // Alertmanager, the operator) is opened to the nodes only, and only when they are configured.
    const nodes = props.nodeCidrs.length ? { from: ipBlocks(props.nodeCidrs) } : undefined;
    const healthProbes = (...ports: number[]): k8s.NetworkPolicyIngressRule[] => [{ ...nodes, ports: ports.map(tcp) }];
    const apiProbes = (...ports: number[]): k8s.NetworkPolicyIngressRule[] => (nodes ? [{ ...nodes, ports: ports.map(tcp) }] : []);
    const am = props.alertmanager;
    const alertmanager = fromPods(NAMES.alertmanager);
    const gossip = am.replicas > 1 ? [tcp(am.clusterPort), port('UDP', am.clusterPort)] : [];

    policy('default-deny-ingress', {}, [], undefined);
    policy('default-deny-egress', {}, undefined, []);
    const collectorScrapes = props.exporterPorts.length ? [tcpRange(props.exporterPorts), tcp(COLLECTOR_PORTS.selfMetrics)] : [];
    if (collectorScrapes.length) {
      policy(NAMES.collector, { matchLabels: selectorLabels(NAMES.collector) }, [
        {
          // OTLP from the chat services' namespaces.
          from: props.pushingNamespaces.map((ns) => ({ namespaceSelector: inNamespace(ns) })),
          ports: [tcp(COLLECTOR_PORTS.otlpGrpc), tcp(COLLECTOR_PORTS.otlpHttp)],
        },
        { from: [prometheus], ports: collectorScrapes },
        ...healthProbes(COLLECTOR_PORTS.health),
      ], [DNS, API_SERVER]); // k8sattributes watches pods
    }
    policy(NAMES.prometheus, { matchLabels: selectorLabels(NAMES.prometheus) }, [
      { from: [fromPods(NAMES.grafana)], ports: [tcp(9090)] },
      // Self-monitoring: Prometheus scrapes its own server and config reloader.
      { from: [prometheus], ports: [tcp(9090), tcp(8080)] },
      ...apiProbes(9090),
    ], [
      DNS,
      API_SERVER, // service discovery
      ...(collectorScrapes.length ? [{ to: [fromPods(NAMES.collector)], ports: collectorScrapes }] : []),
      { to: [prometheus], ports: [tcp(9090), tcp(8080)] },
      { to: [fromPods(NAMES.operator)], ports: [tcp(8080)] },
      { to: [fromPods(NAMES.grafana)], ports: [tcp(props.grafanaPort)] },
      { to: [alertmanager], ports: [tcp(am.port), tcp(am.reloaderPort)] }, // alerts, and its metrics
      // Pull-mode services: the pod port behind the Service's named port is theirs to choose, so no port here.
      ...props.pullTargets.map((t) => ({ to: [{ namespaceSelector: inNamespace(t.namespace), podSelector: { matchLabels: { ...t.selector } } }] })),
    ]);
    policy(NAMES.operator, { matchLabels: selectorLabels(NAMES.operator) }, [
      { from: [prometheus], ports: [tcp(8080)] },
      ...apiProbes(8080),
    ], [DNS, API_SERVER]);
    // Users reach Grafana through its NodePort, from any address; Prometheus scrapes it there too.
    // Grafana's own probes use that port too.
    policy(NAMES.grafana, { matchLabels: selectorLabels(NAMES.grafana) }, [
      { ports: [tcp(props.grafanaPort)] },
      ...healthProbes(props.sidecarHealthPort),
    ], [
      DNS,
      API_SERVER, // the dashboard sidecar watches ConfigMaps
      { to: [prometheus], ports: [tcp(9090)] },
      { to: [alertmanager], ports: [tcp(am.port)] }, // the Alertmanager datasource: alerts and silences
    ]);
    // Alertmanager calls no Kubernetes API; it talks to its peers and to the receivers only.
    policy(NAMES.alertmanager, { matchLabels: selectorLabels(NAMES.alertmanager) }, [
      { from: [prometheus], ports: [tcp(am.port), tcp(am.reloaderPort)] },
      { from: [fromPods(NAMES.grafana)], ports: [tcp(am.port)] },
      ...(gossip.length ? [{ from: [alertmanager], ports: gossip }] : []),
      ...apiProbes(am.port),
    ], [
      DNS,
      ...(gossip.length ? [{ to: [alertmanager], ports: gossip }] : []),
      ...(am.receiverPorts.length ? [{
        ...(am.receiverCidrs.length ? { to: am.receiverCidrs.map((cidr) => ({ ipBlock: { cidr } })) } : {}),
        ports: am.receiverPorts.map(tcp),
      }] : []),
    ]);
  }
}

export interface PodDisruptionBudgetForProps {
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
}

/** Keeps all but one replica up during voluntary disruptions; only for components with more than one replica. */
export function podDisruptionBudgetFor(scope: Construct, props: PodDisruptionBudgetForProps): void {
  if (props.replicas <= 1) return;
  new k8s.KubePodDisruptionBudget(scope, `${props.name}-pdb`, {
    metadata: { name: props.name, namespace: props.namespace, labels: componentLabels(props.name, 'disruption-budget') },
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selectorLabels(props.name) } },
  });
}
