import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { COLLECTOR_PORTS } from './collector/collector-config';
import { componentLabels, NAMES, selectorLabels } from './labels';

export interface NetworkPoliciesProps {
  readonly namespace: string;
  /** Namespaces whose pods push OTLP to the collector. */
  readonly pushingNamespaces: readonly string[];
  /** Grafana's container port, open to users. */
  readonly grafanaPort: number;
}

const tcp = (port: number | string): k8s.NetworkPolicyPort =>
  ({ protocol: 'TCP', port: typeof port === 'number' ? k8s.IntOrString.fromNumber(port) : k8s.IntOrString.fromString(port) });
const fromPods = (name: string): k8s.NetworkPolicyPeer => ({ podSelector: { matchLabels: selectorLabels(name) } });

/**
 * Ingress allow-lists for the stack's namespace: everything is denied except the flows the stack
 * needs. Egress stays open: the API server's address differs per cluster, and every component
 * talks to it.
 */
export class NetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: NetworkPoliciesProps) {
    super(scope, id);
    const policy = (name: string, podSelector: k8s.LabelSelector, ingress: k8s.NetworkPolicyIngressRule[]) =>
      new k8s.KubeNetworkPolicy(this, name, {
        metadata: { name, namespace: props.namespace, labels: componentLabels(name, 'network-policy') },
        spec: { podSelector, policyTypes: ['Ingress'], ingress },
      });
    const prometheus = fromPods(NAMES.prometheus);

    policy('default-deny-ingress', {}, []);
    policy(NAMES.collector, { matchLabels: selectorLabels(NAMES.collector) }, [
      {
        // OTLP from the chat services' namespaces.
        from: props.pushingNamespaces.map((ns) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } })),
        ports: [tcp(COLLECTOR_PORTS.otlpGrpc), tcp(COLLECTOR_PORTS.otlpHttp)],
      },
      { from: [prometheus], ports: [tcp(COLLECTOR_PORTS.exporter), tcp(COLLECTOR_PORTS.selfMetrics)] },
    ]);
    policy(NAMES.prometheus, { matchLabels: selectorLabels(NAMES.prometheus) }, [
      { from: [fromPods(NAMES.grafana)], ports: [tcp(9090)] },
      // Self-monitoring: Prometheus scrapes its own server and config reloader.
      { from: [prometheus], ports: [tcp(9090), tcp(8080)] },
    ]);
    policy(NAMES.operator, { matchLabels: selectorLabels(NAMES.operator) }, [
      { from: [prometheus], ports: [tcp(8080)] },
    ]);
    // Users reach Grafana through its NodePort, from any address.
    policy(NAMES.grafana, { matchLabels: selectorLabels(NAMES.grafana) }, [{ ports: [tcp(props.grafanaPort)] }]);
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
