/**
 * NetworkPolicies (test/unit/properties/network-policies.ts) on the default services plus a pull
 * service in its own namespace; the same suite runs on one and five services in config-sizes.test.ts.
 */
import { CHART_CONFIG } from '../../lib/chart-config';
import { configWith, K8sObject, synthObjects, unusedServiceName } from '../support/manifests';
import { flowAllowed, NetworkPolicy, Pod } from './support/network-policy';
import { stackPods } from './support/stack-pods';
import { apiServer, chatPod, networkPolicyProperties } from './properties/network-policies';

const config = configWith({
  services: [
    ...CHART_CONFIG.services,
    { name: unusedServiceName('chat-presence'), namespace: 'presence', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464 } },
  ],
});
const objects: K8sObject[] = synthObjects(config);
const pods = stackPods(objects);
const pod = (name: string): Pod => pods.find((p) => p.name === name)!;

networkPolicyProperties('default services and a pull service in its own namespace', config);

describe('network policies: the pods of the stack', () => {
  it('finds the pods', () => expect(pods.map((p) => p.name).sort()).toEqual(['alertmanager-chat-monitoring', 'grafana', 'otel-collector', 'prometheus-chat-monitoring', 'prometheus-operator', 'thanos-query']));
});

describe('the evaluator itself', () => {
  const collector = pod('otel-collector');
  const grafana = pod('grafana');
  const prometheus = pod('prometheus-chat-monitoring');
  const chat = chatPod(config.services[0]);
  const denyAll: NetworkPolicy = { metadata: { name: 'deny', namespace: config.namespace }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } };
  it('allows everything without policies', () => expect(flowAllowed([], chat, collector, 4317)).toBe(true));
  it('denies both directions under a default deny', () => {
    expect(flowAllowed([denyAll], chat, collector, 4317)).toBe(false);
    expect(flowAllowed([denyAll], collector, apiServer, 443)).toBe(false);
  });
  it('needs the destination namespace to match a pod selector peer', () => {
    const onlyGrafana: NetworkPolicy = {
      metadata: { name: 'p', namespace: config.namespace },
      spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'grafana' } } }] }] },
    };
    expect(flowAllowed([onlyGrafana], grafana, prometheus, 9090)).toBe(true);
    expect(flowAllowed([onlyGrafana], { ...grafana, namespace: 'chat' }, prometheus, 9090)).toBe(false);
  });
});

describe('network policies: ports', () => {
  // A plugin without endPort support (older Cilium, Azure NPM) reads a range as its first port alone,
  // so a range would silently cut Prometheus off every exporter but the first.
  it('names every port on its own, never as an endPort range', () => {
    const rules = objects.filter((o) => o.kind === 'NetworkPolicy').flatMap((p) => [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])]);
    const ports = rules.flatMap((r: { ports?: Record<string, unknown>[] }) => r.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    expect(ports.filter((p) => 'endPort' in p)).toEqual([]);
  });
});
