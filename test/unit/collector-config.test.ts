/**
 * The collector config's own rules, for configs beyond the default: which pods it watches (and is
 * granted), how long a silent series stays exposed, and the memory limiter's pace.
 */
import { parse } from 'yaml';
import { durationSeconds } from '../../lib/config';
import { CHART_CONFIG } from '../../lib/chart-config';
import { configWith, defaultConfig, named, ofKind, synthObjects, unusedServiceName } from '../support/manifests';

const collectorOf = (objects: ReturnType<typeof synthObjects>) => parse(named(objects, 'ConfigMap', 'otel-collector-config').data['config.yaml']);
const collectorRbac = (objects: ReturnType<typeof synthObjects>) => objects.filter((o) => /Role/.test(o.kind) && o.metadata.name.includes('otel-collector'));

describe('collector: which pods it watches', () => {
  it('a pull service in another namespace changes neither the namespace filter nor the Role: the collector serves push services only', () => {
    const pull = { name: unusedServiceName('chat-presence'), namespace: 'presence', exportMode: 'pull' as const,
      selector: { 'presence.example.com/tier': 'edge' }, metricsPort: { name: 'metrics', port: 9100 } };
    const objects = synthObjects(configWith({ services: [...CHART_CONFIG.services, pull] }));
    const pushNamespaces = [...new Set(defaultConfig().services.filter((s) => s.exportMode === 'push').map((s) => s.namespace))];
    expect(pushNamespaces).toHaveLength(1);
    expect(collectorOf(objects).processors.k8s_attributes.filter).toEqual({ namespace: pushNamespaces[0] });
    expect(collectorRbac(objects).map((r) => `${r.kind} ${r.metadata.namespace}`)).toEqual([`Role ${pushNamespaces[0]}`, `RoleBinding ${pushNamespaces[0]}`]);
    // Its selector labels are not extracted either: the collector never names a pull service.
    const labels = collectorOf(objects).processors.k8s_attributes.extract.labels.map((l: { key: string }) => l.key);
    expect(labels).not.toContain('presence.example.com/tier');
  });

  it('push services in two namespaces: no filter, and pods (only) granted cluster-wide', () => {
    const objects = synthObjects(configWith({ services: [{ name: 'a', namespace: 'one' }, { name: 'b', namespace: 'two' }] }));
    expect(collectorOf(objects).processors.k8s_attributes.filter).toBeUndefined();
    const rbac = collectorRbac(objects);
    expect(rbac.map((r) => r.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding']);
    expect(named(rbac, 'ClusterRole', rbac[0].metadata.name).rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
  });

  it('no push service: no collector at all (no RBAC, no NetworkPolicy, no OtelCollectorDown)', () => {
    const objects = synthObjects(configWith({ services: [{ name: 'a', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9100 } }] }));
    expect(objects.filter((o) => JSON.stringify(o.metadata).includes('otel-collector'))).toEqual([]);
    expect(JSON.stringify(ofKind(objects, 'PrometheusRule'))).not.toContain('OtelCollectorDown');
  });

  it('waits for the pod cache before accepting data, so the first points after a restart keep their identity', () => {
    const k8s = collectorOf(synthObjects()).processors.k8s_attributes;
    expect(k8s.wait_for_metadata).toBe(true);
    expect(durationSeconds(k8s.wait_for_metadata_timeout)).toBeGreaterThan(0);
  });
});

describe('collector: a stopped pod\'s series expire a few export intervals after its last scrape', () => {
  const expiration = (input: Parameters<typeof configWith>[0]) => collectorOf(synthObjects(configWith(input))).exporters;
  const expirations = (exporters: Record<string, { metric_expiration: string }>) => [...new Set(Object.values(exporters).map((e) => e.metric_expiration))];

  it('by default one scrape interval plus 5 export intervals (the services export every 1 s)', () => {
    const config = defaultConfig();
    expect(durationSeconds(config.collector.metricExpiration))
      .toBe(durationSeconds(config.scrapeInterval) + 5 * durationSeconds(config.collector.exportInterval));
    expect(expirations(expiration({}))).toEqual([config.collector.metricExpiration]);
  });

  it('follows the configured scrape and export intervals, and takes an explicit expiration', () => {
    expect(expirations(expiration({ collector: { exportInterval: '10s' } }))).toEqual(['65s']);
    expect(expirations(expiration({ collector: { exportInterval: '500ms' } }))).toEqual(['17500ms']);
    expect(expirations(expiration({ scrapeInterval: '30s', recordingWindow: '2m' }))).toEqual(['35s']);
    expect(expirations(expiration({ collector: { metricExpiration: '30s' } }))).toEqual(['30s']);
  });
});

it('collector: memory_limiter checks every second, as upstream recommends', () => {
  expect(collectorOf(synthObjects()).processors.memory_limiter.check_interval).toBe('1s');
});

describe('collector: a sender\'s claims are cleared before it is identified', () => {
  const collector = collectorOf(synthObjects(configWith({
    services: [
      { name: 'a', namespace: 'one', selector: { app: 'a', tier: 'backend' } },
      { name: 'b', namespace: 'one', selector: { 'app.kubernetes.io/name': 'b' } },
    ],
  })));
  const metrics = collector.service.pipelines.metrics.processors as string[];

  it('a transform between memory_limiter and k8s_attributes deletes chat.service, the k8s attributes the identity reads and service.namespace', () => {
    expect(metrics.slice(0, 3)).toEqual(['memory_limiter', 'transform/clear_claimed_identity', 'k8s_attributes']);
    const [group] = collector.processors['transform/clear_claimed_identity'].metric_statements;
    expect(group.context).toBe('resource');
    // Everything the identity transform reads from the resource, written out here, plus service.namespace.
    expect([...group.statements].sort()).toEqual([
      'chat.service', 'k8s.namespace.name', 'k8s.pod.label.app', 'k8s.pod.label.app.kubernetes.io/name', 'k8s.pod.label.tier',
      'k8s.pod.name', 'k8s.pod.uid', 'service.namespace',
    ].map((k) => `delete_key(attributes, "${k}")`).sort());
  });

  it('keeps a sender\'s service.instance.id; the pod name only where it has none', () => {
    const resource: string[] = collector.processors['transform/chat_service_identity'].metric_statements[0].statements;
    const instance = resource.filter((s) => s.includes('"service.instance.id"'));
    expect(instance).toEqual(['set(attributes["service.instance.id"], attributes["k8s.pod.name"]) where attributes["chat.service"] != nil'
      + ' and (attributes["service.instance.id"] == nil or attributes["service.instance.id"] == "")']);
  });

  it('what no route takes goes to a default pipeline whose filter drops and counts all of it', () => {
    expect(collector.connectors.routing.default_pipelines).toEqual(['metrics/unrouted']);
    const unrouted = collector.service.pipelines['metrics/unrouted'];
    expect(unrouted.receivers).toEqual(['routing']);
    expect(unrouted.processors).toEqual(['filter/unrouted']);
    expect(collector.processors['filter/unrouted'].metrics).toEqual({ metric: ['true'] });
  });
});

describe('collector: the Host-header drop and its re-aggregation touch the HTTP server metrics only', () => {
  const drop = collectorOf(synthObjects()).processors['transform/drop_attributes'];
  const [datapoint, metric] = drop.metric_statements;
  /** Both conventions' server instruments, written out here (the instrumentation's names, before the exporter renames them). */
  const SERVER = ['http.server.duration', 'http.server.request.size', 'http.server.response.size', 'http.server.active_requests',
    'http.server.request.duration', 'http.server.request.body.size', 'http.server.response.body.size'];

  it.each([['datapoint', datapoint], ['metric', metric]])('%s statements are gated by the server metric names, never on a gauge or summary', (_name, group) => {
    expect(group.conditions).toHaveLength(1);
    const [condition] = group.conditions as string[];
    const names = [...condition.matchAll(/metric\.name == "([^"]+)"/g)].map((m) => m[1]);
    expect(names.sort()).toEqual([...SERVER].sort());
    expect(condition).not.toMatch(/http\.client/);
    expect(condition).toMatch(/\) and metric\.type != METRIC_DATA_TYPE_GAUGE and metric\.type != METRIC_DATA_TYPE_SUMMARY$/);
  });

  it('deletes exactly the configured attributes and the sender\'s own identity labels, and sums what then coincides', () => {
    // service, namespace and pod are overwritten after the merge: points differing only in them are one series.
    expect(datapoint.statements).toEqual([...defaultConfig().collector.droppedAttributes, 'service', 'namespace', 'pod'].map((a) => `delete_key(attributes, "${a}")`));
    expect(metric.statements).toEqual(['aggregate_on_attributes("sum")']);
  });
});

describe('collector: the identity labels are set after the filter and the merge', () => {
  const collector = collectorOf(synthObjects());
  const processors: string[] = collector.service.pipelines.metrics.processors;

  it('in pipeline order: identity, filter/unattributed, the drop and merge, then the labels, then batch', () => {
    expect(processors).toEqual(['memory_limiter', 'transform/clear_claimed_identity', 'k8s_attributes', 'transform/chat_service_identity',
      'filter/unattributed', 'transform/drop_attributes', 'transform/chat_service_labels', 'batch']);
  });

  it('sets service, namespace and pod on every data point, unconditionally (the filter before it left only identified resources)', () => {
    expect(collector.processors['transform/chat_service_labels'].metric_statements).toEqual([{ context: 'datapoint', statements: [
      'set(attributes["service"], resource.attributes["chat.service"])',
      'set(attributes["namespace"], resource.attributes["k8s.namespace.name"])',
      'set(attributes["pod"], resource.attributes["k8s.pod.name"])',
    ] }]);
    expect(collector.processors['filter/unattributed'].metrics).toEqual({ metric: ['resource.attributes["chat.service"] == nil'] });
  });

  it('without dropped attributes: no drop, the labels right after the filter', () => {
    const none = collectorOf(synthObjects(configWith({ collector: { droppedAttributes: [] } })));
    expect(none.processors['transform/drop_attributes']).toBeUndefined();
    const order: string[] = none.service.pipelines.metrics.processors;
    expect(order.slice(order.indexOf('filter/unattributed'))).toEqual(['filter/unattributed', 'transform/chat_service_labels', 'batch']);
  });
});
