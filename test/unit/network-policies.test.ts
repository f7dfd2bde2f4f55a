/** NetworkPolicies allow exactly the flows the stack needs, checked with a NetworkPolicy evaluator. */
import { CHART_CONFIG } from '../../lib/services';
import { configWith, K8sObject, ofKind, synthObjects } from '../support/manifests';
import { External, flowAllowed, isolated, NetworkPolicy, Pod } from './support/network-policy';
import { stackPods } from './support/stack-pods';

const config = configWith({
  services: [
    ...CHART_CONFIG.services,
    { name: 'chat-presence', namespace: 'presence', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464 } },
  ],
});
const objects: K8sObject[] = synthObjects(config);
const policies = ofKind(objects, 'NetworkPolicy') as unknown as NetworkPolicy[];
const pods = stackPods(objects);
const pod = (name: string): Pod => {
  const found = pods.find((p) => p.name === name);
  if (!found) throw new Error(`no pod ${name}`);
  return found;
};
const chatPod = (service: string): Pod => {
  const s = config.services.find((x) => x.name === service)!;
  return { name: service, namespace: s.namespace, labels: { ...s.selector } };
};

const collector = pod('otel-collector');
const prometheus = pod('prometheus-chat-monitoring');
const grafana = pod('grafana');
const operator = pod('prometheus-operator');
const user: External = { name: 'a user via the NodePort', ip: '203.0.113.7' };
const apiServer: External = { name: 'the API server', ip: '172.18.0.2' };
const dns: Pod = { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
const stranger: Pod = { name: 'some pod', namespace: 'default', labels: { app: 'other' } };

describe('network policies: every pod of the stack is isolated', () => {
  it('finds the pods', () => expect(pods.map((p) => p.name).sort()).toEqual(['alertmanager-chat-monitoring', 'grafana', 'otel-collector', 'prometheus-chat-monitoring', 'prometheus-operator']));
  it.each(pods.map((p) => [p.name, p] as const))('%s is selected for ingress and egress', (_name, p) => {
    expect(isolated(policies, p, 'Ingress')).toBe(true);
    expect(isolated(policies, p, 'Egress')).toBe(true);
  });
});

type Flow = [string, Pod | External, Pod | External, number, string?];
/** Rows with the protocol filled in (Jest would pass its done callback for a missing last column). */
const rows = (flows: Flow[]) => flows.map(([what, from, to, port, protocol]) => [what, from, to, port, protocol ?? 'TCP'] as const);

describe('network policies: needed flows are allowed', () => {
  const allowed: Flow[] = [
    ...['chat-auth', 'chat-transport', 'chat-messaging'].flatMap((s): Flow[] => [
      [`${s} -> collector OTLP gRPC`, chatPod(s), collector, 4317],
      [`${s} -> collector OTLP HTTP`, chatPod(s), collector, 4318],
    ]),
    ['Prometheus -> collector exporter', prometheus, collector, 9464],
    ['Prometheus -> collector self-metrics', prometheus, collector, 8888],
    ['Prometheus -> itself', prometheus, prometheus, 9090],
    ['Prometheus -> its config reloader', prometheus, prometheus, 8080],
    ['Prometheus -> operator metrics', prometheus, operator, 8080],
    ['Prometheus -> Grafana metrics', prometheus, grafana, 3000],
    ['Prometheus -> pull-mode chat-presence', prometheus, chatPod('chat-presence'), 8000],
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

describe('network policies: other flows are denied', () => {
  const denied: Flow[] = [
    ['chat -> Prometheus', chatPod('chat-auth'), prometheus, 9090],
    ['chat -> operator', chatPod('chat-auth'), operator, 8080],
    ['chat -> collector exporter (only Prometheus scrapes)', chatPod('chat-auth'), collector, 9464],
    ['pull-mode namespace -> collector OTLP (it does not push)', chatPod('chat-presence'), collector, 4317],
    ['another namespace -> collector OTLP', stranger, collector, 4317],
    ['Grafana -> collector', grafana, collector, 9464],
    ['Grafana -> operator', grafana, operator, 8080],
    ['a user -> Prometheus', user, prometheus, 9090],
    ['a user -> collector OTLP', user, collector, 4317],
    ['a user -> Grafana on another port', user, grafana, 8080],
    ['collector -> Prometheus', collector, prometheus, 9090],
    ['collector -> the internet on 80', collector, { name: 'example.com', ip: '93.184.216.34' }, 80],
    ['Grafana -> a chat pod', grafana, chatPod('chat-auth'), 8080],
    ['operator -> Prometheus', operator, prometheus, 9090],
    ['Prometheus -> a push-mode chat pod (not a target)', prometheus, chatPod('chat-auth'), 8000],
    ['Prometheus -> unrelated pods in a scraped namespace', prometheus, { name: 'db', namespace: 'presence', labels: { app: 'db' } }, 5432],
  ];
  it.each(rows(denied))('%s', (_what, from, to, port, protocol) => {
    expect(flowAllowed(policies, from, to, port, protocol)).toBe(false);
  });
  it('names its flows uniquely', () => expect(new Set(denied.map(([w]) => w)).size).toBe(denied.length));
});

describe('the evaluator itself', () => {
  const denyAll: NetworkPolicy = { metadata: { name: 'deny', namespace: 'monitoring' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } };
  it('allows everything without policies', () => expect(flowAllowed([], chatPod('chat-auth'), collector, 4317)).toBe(true));
  it('denies both directions under a default deny', () => {
    expect(flowAllowed([denyAll], chatPod('chat-auth'), collector, 4317)).toBe(false);
    expect(flowAllowed([denyAll], collector, apiServer, 443)).toBe(false);
  });
  it('needs the destination namespace to match a pod selector peer', () => {
    const onlyGrafana: NetworkPolicy = {
      metadata: { name: 'p', namespace: 'monitoring' },
      spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'grafana' } } }] }] },
    };
    expect(flowAllowed([onlyGrafana], grafana, prometheus, 9090)).toBe(true);
    expect(flowAllowed([onlyGrafana], { ...grafana, namespace: 'chat' }, prometheus, 9090)).toBe(false);
  });
});
