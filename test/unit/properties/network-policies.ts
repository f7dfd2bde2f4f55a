/**
 * NetworkPolicies of any config allow exactly the flows the stack needs, checked with the
 * NetworkPolicy evaluator (test/unit/support/network-policy.ts): OTLP from every pushing namespace,
 * scrapes of every pull service, and nothing more.
 */
import { ChartConfig, ChatServiceConfig } from '../../../lib/config';
import { ofKind, synthObjects } from '../../support/manifests';
import { External, flowAllowed, isolated, NetworkPolicy, Pod } from '../support/network-policy';
import { stackPods } from '../support/stack-pods';

export type Flow = [string, Pod | External, Pod | External, number, string?];
/** Rows with the protocol filled in (Jest would pass its done callback for a missing last column). */
export const rows = (flows: Flow[]) => flows.map(([what, from, to, port, protocol]) => [what, from, to, port, protocol ?? 'TCP'] as const);

export const user: External = { name: 'a user via the NodePort', ip: '203.0.113.7' };
export const apiServer: External = { name: 'the API server', ip: '172.18.0.2' };
const dns: Pod = { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
/** A chat service's pod: its namespace and selector labels. */
export const chatPod = (s: ChatServiceConfig): Pod => ({ name: s.name, namespace: s.namespace, labels: { ...s.selector } });

export function networkPolicyProperties(name: string, config: ChartConfig) {
  const objects = synthObjects(config);
  const policies = ofKind(objects, 'NetworkPolicy') as unknown as NetworkPolicy[];
  const pods = stackPods(objects);
  const pod = (podName: string): Pod => {
    const found = pods.find((p) => p.name === podName);
    if (!found) throw new Error(`no pod ${podName}`);
    return found;
  };
  const collector = pod('otel-collector');
  const prometheus = pods.find((p) => p.labels['app.kubernetes.io/managed-by'] === 'prometheus-operator' && p.labels.prometheus)!;
  const grafana = pod('grafana');
  const operator = pod('prometheus-operator');
  const pushing = config.services.filter((s) => s.exportMode === 'push');
  const pulled = config.services.filter((s) => s.exportMode === 'pull');
  const pushNamespaces = new Set(pushing.map((s) => s.namespace));
  const namespaces = [...new Set(config.services.map((s) => s.namespace))];
  /** A pull target's pod matches its Service's selector; any pod port may sit behind the named Service port. */
  const isPullTarget = (p: Pod) => pulled.some((s) => s.namespace === p.namespace && Object.entries(s.selector).every(([k, v]) => p.labels[k] === v));

  describe(`network policies (${name}): every pod of the stack is isolated`, () => {
    it.each(pods.map((p) => [p.name, p] as const))('%s is selected for ingress and egress', (_name, p) => {
      expect(isolated(policies, p, 'Ingress')).toBe(true);
      expect(isolated(policies, p, 'Egress')).toBe(true);
    });
  });

  describe(`network policies (${name}): needed flows are allowed`, () => {
    const allowed: Flow[] = [
      ...pushing.flatMap((s): Flow[] => [
        [`${s.name} -> collector OTLP gRPC`, chatPod(s), collector, 4317],
        [`${s.name} -> collector OTLP HTTP`, chatPod(s), collector, 4318],
      ]),
      ...pulled.map((s): Flow => [`Prometheus -> pull-mode ${s.name}`, prometheus, chatPod(s), s.metricsPort!.port]),
      ['Prometheus -> collector exporter', prometheus, collector, 9464],
      ['Prometheus -> collector self-metrics', prometheus, collector, 8888],
      ['Prometheus -> itself', prometheus, prometheus, 9090],
      ['Prometheus -> its config reloader', prometheus, prometheus, 8080],
      ['Prometheus -> operator metrics', prometheus, operator, 8080],
      ['Prometheus -> Grafana metrics', prometheus, grafana, 3000],
      ['Grafana -> Prometheus', grafana, prometheus, 9090],
      ['a user -> Grafana', user, grafana, 3000],
      ...[operator, collector, grafana, prometheus].flatMap((p): Flow[] => [
        [`${p.name} -> API server 443`, p, apiServer, 443],
        [`${p.name} -> API server 6443`, p, apiServer, 6443],
        [`${p.name} -> DNS (UDP)`, p, dns, 53, 'UDP'],
        [`${p.name} -> DNS (TCP)`, p, dns, 53],
      ]),
    ];
    it.each(rows(allowed))('%s', (_what, from, to, port, protocol) => {
      expect(flowAllowed(policies, from, to, port, protocol)).toBe(true);
    });
  });

  describe(`network policies (${name}): other flows are denied`, () => {
    const stranger: Pod = { name: 'some pod', namespace: 'not-a-chat-namespace', labels: { app: 'other' } };
    const denied: Flow[] = [
      ...config.services.flatMap((s): Flow[] => [
        [`${s.name} -> Prometheus`, chatPod(s), prometheus, 9090],
        [`${s.name} -> operator`, chatPod(s), operator, 8080],
        [`${s.name} -> collector exporter (only Prometheus scrapes)`, chatPod(s), collector, 9464],
        [`Grafana -> ${s.name}`, grafana, chatPod(s), 8080],
      ]),
      // OTLP is admitted by namespace: a namespace with only pull services sends none.
      ...namespaces.filter((ns) => !pushNamespaces.has(ns)).map((ns): Flow => [`pull-only namespace ${ns} -> collector OTLP`, { name: 'a pod', namespace: ns, labels: {} }, collector, 4317]),
      ...pushing.filter((s) => !isPullTarget(chatPod(s))).map((s): Flow => [`Prometheus -> push-mode ${s.name} (not a target)`, prometheus, chatPod(s), 8000]),
      ...[...new Set(pulled.map((s) => s.namespace))].map((ns): Flow =>
        [`Prometheus -> unrelated pods in scraped namespace ${ns}`, prometheus, { name: 'db', namespace: ns, labels: { app: 'db-not-a-service' } }, 5432]),
      ['another namespace -> collector OTLP', stranger, collector, 4317],
      ['Grafana -> collector', grafana, collector, 9464],
      ['Grafana -> operator', grafana, operator, 8080],
      ['a user -> Prometheus', user, prometheus, 9090],
      ['a user -> collector OTLP', user, collector, 4317],
      ['a user -> Grafana on another port', user, grafana, 8080],
      ['collector -> Prometheus', collector, prometheus, 9090],
      ['collector -> the internet on 80', collector, { name: 'example.com', ip: '93.184.216.34' }, 80],
      ['operator -> Prometheus', operator, prometheus, 9090],
    ];
    it.each(rows(denied))('%s', (_what, from, to, port, protocol) => {
      expect(flowAllowed(policies, from, to, port, protocol)).toBe(false);
    });
    it('names its flows uniquely', () => expect(new Set(denied.map(([w]) => w)).size).toBe(denied.length));
  });
}
