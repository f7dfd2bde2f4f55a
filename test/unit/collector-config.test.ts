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
