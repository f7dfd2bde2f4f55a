/** Every synthesized object is valid against its schema: core kinds and the Prometheus Operator's custom resources. */
import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { configWith, defaultConfig, K8sObject, named, synthObjects, unusedServiceName } from '../support/manifests';
import { CHART_CONFIG } from '../../lib/chart-config';
import { CRD_DURATION_PATTERN, KNOWN_MODEL_DEFECTS, MODEL_GAPS, schemaProblems } from './support/schema';
import { schemaProperties } from './properties/schema';
import { describeWithGo } from '../support/binaries';
import { operatorCrdDir } from '../support/crds';

/** The default services with the last one pulled, plus one more in its own namespace; replicated. */
const withPullAndExtra = () => configWith({
  services: [
    ...CHART_CONFIG.services.map((s, i) => (i === CHART_CONFIG.services.length - 1
      ? { ...s, exportMode: 'pull' as const, metricsPort: { name: 'metrics', port: 9464 } } : s)),
    { name: unusedServiceName('chat-presence'), namespace: 'presence', convention: 'stable', customPanels: [{ title: 'Online', expr: 'sum(presence_online)', unit: 'short' }] },
  ],
  collectorReplicas: 2,
  prometheusReplicas: 2,
});

const copy = <T>(o: T): T => JSON.parse(JSON.stringify(o));

schemaProperties('default config', defaultConfig());
schemaProperties('a pull-mode service, one more service in its own namespace, 2 replicas', withPullAndExtra());

describe('schema: the validator catches mistakes (it can fail)', () => {
  const objects = synthObjects();
  const deployment = named(objects, 'Deployment', 'grafana');
  const prometheus = named(objects, 'Prometheus', 'chat-monitoring');
  const monitor = named(objects, 'ServiceMonitor', 'otel-collector');
  const rules = named(objects, 'PrometheusRule', 'chat-auth');

  const cases: [string, () => K8sObject, RegExp][] = [
    ['a typo in a container field', () => {
      const d = copy(deployment);
      d.spec.template.spec.containers[0].readinesProbe = d.spec.template.spec.containers[0].readinessProbe;
      return d;
    }, /^Deployment\/monitoring\/grafana: \.spec\.template\.spec\.containers\[0\]\.readinesProbe: unknown field/],
    ['a wrong type (replicas as a string)', () => {
      const d = copy(deployment);
      d.spec.replicas = 'one';
      return d;
    }, /^Deployment\/monitoring\/grafana: \.spec\.replicas: must be integer/],
    ['a typo in a custom resource', () => {
      const p = copy(prometheus);
      p.spec.retentionSise = p.spec.retentionSize;
      return p;
    }, /^Prometheus\/monitoring\/chat-monitoring: \.spec\.retentionSise: unknown field/],
    ['a wrong type in a custom resource', () => {
      const m = copy(monitor);
      m.spec.endpoints[0].honorLabels = 'yes';
      return m;
    }, /^ServiceMonitor\/monitoring\/otel-collector: \.spec\.endpoints\[0\]\.honorLabels: must be boolean/],
    ['a typo inside a list of objects', () => {
      const m = copy(monitor);
      m.spec.endpoints[0].intervall = '15s';
      return m;
    }, /^ServiceMonitor\/monitoring\/otel-collector: \.spec\.endpoints\[0\]\.intervall: unknown field/],
    ['a value outside the CRD\'s enum in a field the models lack', () => {
      const p = copy(prometheus);
      p.spec.serviceDiscoveryRole = 'EndpointSlices';
      return p;
    }, /^Prometheus\/monitoring\/chat-monitoring: \.spec\.serviceDiscoveryRole: must be one of Endpoints, EndpointSlice/],
    ['a duration the CRD\'s pattern refuses in a field the models lack', () => {
      const r = copy(rules);
      r.spec.groups[0].query_offset = '25.5s';
      return r;
    }, /^PrometheusRule\/monitoring\/chat-auth: \.spec\.groups\[0\]\.query_offset: must match /],
    ['an unknown kind', () => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'monitoring' } }),
      /^Widget\/monitoring\/w: \(object\): no schema for example\.com\/v1 Widget/],
    ['a misspelled core kind', () => ({ ...copy(deployment), kind: 'Deploymnet' }), /^Deploymnet\/monitoring\/grafana: .*no schema/],
  ];
  it.each(cases)('reports %s, naming the object and the field', (_what, make, expected) => {
    const problems = schemaProblems([make()]);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => expected.test(p))).toBe(true);
  });
});

describeWithGo('schema: exceptions to the model libraries are backed by the upstream CRDs', () => {
  const crdSchema = (kind: string) => parse(readFileSync(join(operatorCrdDir(), `monitoring.coreos.com_${kind.toLowerCase()}${kind.endsWith('s') ? 'es' : 's'}.yaml`), 'utf8'))
    .spec.versions.find((v: { name: string }) => v.name === 'v1').schema.openAPIV3Schema;
  it.each(MODEL_GAPS.map((g) => [g.kind, g.crdPath] as const))('%s %s: the CRD has the field the models lack', (kind, path) => {
    let schema = crdSchema(kind);
    for (const key of path.split('.').filter(Boolean)) {
      schema = key.endsWith('[]') ? schema.properties[key.slice(0, -2)].items : schema.properties[key];
      expect(schema).toBeDefined();
    }
    if (schema.pattern !== undefined) expect(schema.pattern).toBe(CRD_DURATION_PATTERN);
  });
  it.each(KNOWN_MODEL_DEFECTS.map((d) => [d.kind, d.path] as const))(
    '%s %s: the CRD does not require the fields the model requires', (kind, path) => {
      let schema = crdSchema(kind);
      for (const key of path.split('.').filter(Boolean)) schema = schema.properties[key];
      expect(schema.properties).toHaveProperty('apiVersion');
      expect(schema.required ?? []).not.toContain('apiVersion');
      expect(schema.required ?? []).not.toContain('kind');
    });
});
