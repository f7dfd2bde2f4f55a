import { CHART_CONFIG } from '../../lib/chart-config';
import { validateConfig } from '../../lib/config';
import { platformAlerts, serviceAlerts } from '../../lib/rules/alerts';
import { stackAlerts } from '../../lib/rules/stack-alerts';
import { configErrorFor } from '../support/manifests';

const services = CHART_CONFIG.services;
describe('config validation: each bad input names its field and the fix', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['a service name that is not DNS-1123', { services: [{ name: 'Chat_Auth' }] }, 'services[0].name', /DNS-1123/],
    ['a duplicate service', { services: [...services, { name: services[0].name }] }, `services[${services.length}].name`, new RegExp(`duplicate service "${services[0].name}" \\(also services\\[0\\]\\)`)],
    ['a metrics port out of range', { services: [{ name: 'a', exportMode: 'pull', metricsPort: { name: 'metrics', port: 70000 } }] }, 'services[0].metricsPort.port', /from 1 to 65535/],
    ['a metrics port that is not a whole number', { services: [{ name: 'a', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464.5 } }] }, 'services[0].metricsPort.port', /whole number from 1 to 65535/],
    ['an unknown key inside a custom panel', { services: [{ name: 'a', customPanels: [{ title: 'Q', expr: 'up', unit: 's', legnd: '{{pod}}' }] }] }, 'services[0].customPanels[0].legnd', /unknown field.*legend/],
    ['a threshold given as a numeric string', { services: [{ name: 'a', slo: { availabilityPercent: '99.9' } }] }, 'services[0].slo.availabilityPercent', /not a number/],
    ['a NodePort outside 30000-32767', { services, grafanaNodePort: 3030 }, 'grafanaNodePort', /from 30000 to 32767/],
    ['an unknown top-level key', { services, retentoin: '1d' }, 'config.retentoin', /unknown field.*retention/],
    ['an unknown service key', { services: [{ name: 'a', exportmode: 'pull' }] }, 'services[0].exportmode', /unknown field.*exportMode/],
    ['a custom panel with invalid PromQL', { services: [{ name: 'a', customPanels: [{ title: 'Queue', expr: 'sum(rate(x[5m])', unit: 'short' }] }] },
      'services[0].customPanels[0].expr', /invalid PromQL \(syntax error at character/],
    ['a threshold that is not a number', { services: [{ name: 'a', slo: { p99LatencySeconds: 'fast' } }] }, 'services[0].slo.p99LatencySeconds', /not a number/],
    ['an availability of 100 % (no error budget)', { services: [{ name: 'a', slo: { availabilityPercent: 100 } }] }, 'services[0].slo.availabilityPercent', /less than 100/],
    ['a latency objective of 100 % (no latency budget)', { services: [{ name: 'a', slo: { latencyPercent: 100 } }] }, 'services[0].slo.latencyPercent', /less than 100/],
    // 0.3 s lies inside the (0.25, 0.5] bucket: no series counts the requests below it.
    ['a latency threshold between two buckets', { services: [{ name: 'a', slo: { latencyThresholdSeconds: 0.3 } }] }, 'services[0].slo.latencyThresholdSeconds', /not a bucket boundary of the legacy histogram.*0\.25, 0\.5/],
    ['a latency threshold beyond the stable buckets', { services: [{ name: 'a', convention: 'stable', slo: { latencyThresholdSeconds: 20 } }] }, 'services[0].slo.latencyThresholdSeconds', /not a bucket boundary of the stable histogram/],
    ['a fractional page minimum', { services: [{ name: 'a', slo: { pageMinRequests: 10.5 } }] }, 'services[0].slo.pageMinRequests', /whole number/],
    ['an unknown SLO field', { services: [{ name: 'a', slo: { latencyPercentile: 99 } }] }, 'services[0].slo.latencyPercentile', /latencyPercent/],
    ['an empty service list', { services: [] }, 'services', /at least one chat service/],
    ['a missing service list', {}, 'services', /must be a list/],
    ['a pull service without a metrics port', { services: [{ name: 'a', exportMode: 'pull' }] }, 'services[0].metricsPort', /required when exportMode is "pull"/],
    ['an unpinned image', { services, images: { grafana: 'grafana/grafana:latest' } }, 'images.grafana', /pin a version/],
    ['an untagged image', { services, images: { grafana: 'grafana/grafana' } }, 'images.grafana', /pin a version/],
    ['a retention shorter than the 30-day SLO period', { services, retention: '15d' }, 'retention', /15d is shorter than the 30d SLO period.*Fix: keep at least 30d/],
    ['a retention in another unit still short of 30 days', { services, retention: '719h' }, 'retention', /719h is shorter than the 30d SLO period/],
    ['a recording window shorter than 4 scrapes', { services, scrapeInterval: '30s', recordingWindow: '1m' }, 'recordingWindow', /4 x scrapeInterval/],
    ['a service name longer than 40 characters', { services: [{ name: 'a'.repeat(41) }] }, 'services[0].name', /longer than 40/],
    ['the overview dashboard\'s name', { services: [{ name: 'platform-overview' }] }, 'services[0].name', /one of the chart's own objects/],
    ['the stack dashboard\'s name', { services: [{ name: 'monitoring-stack' }] }, 'services[0].name', /one of the chart's own objects/],
    ['a component\'s name (its ServiceMonitor would replace Grafana\'s)', { services: [{ name: 'grafana', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9100 } }] }, 'services[0].name', /one of the chart's own objects/],
    ['the platform rules\' name', { services: [{ name: 'chat-monitoring-platform' }] }, 'services[0].name', /one of the chart's own objects/],
    ['Thanos\'s object store without its addresses', { services, thanos: { objectStorage: { secretName: 's' } } }, 'thanos.objectStorage.egressCidrs', /missing or empty.*CIDRs/],
    ['an object store address that is not a CIDR', { services, thanos: { objectStorage: { egressCidrs: ['s3.example.com'] } } }, 'thanos.objectStorage.egressCidrs[0]', /CIDR/],
    ['a raw retention shorter than the Compactor accepts while downsampling', { services, thanos: { retention: { raw: '1d' } } }, 'thanos.retention.raw', /shorter than the Compactor accepts.*40h/],
    ['a 5m retention shorter than 10 days', { services, thanos: { retention: { fiveMinutes: '7d' } } }, 'thanos.retention.fiveMinutes', /shorter than the Compactor accepts.*at least 10d/],
    ['an unknown Thanos field', { services, thanos: { shards: 2 } }, 'thanos.shards', /unknown field.*queryReplicas/],
    ['no Thanos Query replica', { services, thanos: { queryReplicas: 0 } }, 'thanos.queryReplicas', /from 1 to 10/],
    ['an object store without ports', { services, thanos: { objectStorage: { egressCidrs: ['10.0.0.0/8'], egressPorts: [] } } }, 'thanos.objectStorage.egressPorts', /non-empty list of TCP ports/],
    ['an object store port out of range', { services, thanos: { objectStorage: { egressCidrs: ['10.0.0.0/8'], egressPorts: [443, 70000] } } }, 'thanos.objectStorage.egressPorts[1]', /from 1 to 65535/],
    ['a Compactor claim that is not a quantity', { services, thanos: { compactorStorage: '20 GB' } }, 'thanos.compactorStorage', /quantity/],
    ['a Store Gateway claim that is not a quantity', { services, thanos: { storeStorage: 'big' } }, 'thanos.storeStorage', /quantity/],
    ['a service in the stack\'s own namespace', { services: [{ name: 'a', namespace: 'monitoring' }] }, 'services[0].namespace', /monitoring stack's own namespace/],
    ['a runbook URL with a #fragment', { services, runbookBaseUrl: 'https://wiki.example.com/runbooks#chat' }, 'runbookBaseUrl', /is not valid/],
    ['a collector export interval in days (not a Go duration)', { services, collector: { exportInterval: '1d' } }, 'collector.exportInterval', /duration in h, m, s or ms/],
    ['a metric expiration shorter than a scrape plus 3 export intervals', { services, collector: { exportInterval: '1s', metricExpiration: '17s' } }, 'collector.metricExpiration', /scrapeInterval \(15s\) \+ 3 x exportInterval \(1s\)/],
    ['a connection age within the expiration plus a scrape', { services, collector: { maxConnectionAge: '35s' } }, 'collector.maxConnectionAge', /not longer than metricExpiration \(20s\) \+ scrapeInterval \(15s\).*longer than 35s, or leave it out \(2m\)/],
    ['an autoscaler maximum below its minimum', { services, collector: { autoscaling: { minReplicas: 3, maxReplicas: 2 } } }, 'collector.autoscaling.maxReplicas', /2 is below minReplicas \(3\)/],
    ['an autoscaler CPU target of 0', { services, collector: { autoscaling: { targetCpu: '0' } } }, 'collector.autoscaling.targetCpu', /must not be zero/],
    ['an autoscaler CPU target in percent', { services, collector: { autoscaling: { targetCpu: '70%' } } }, 'collector.autoscaling.targetCpu', /quantity such as "350m"/],
    ['an autoscaler without a collector', { services: [{ name: 'p', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9100 } }], collector: { autoscaling: {} } }, 'collector.autoscaling', /no service pushes/],
    ['an unknown collector key', { services, collector: { metricExpiry: '5s' } }, 'collector.metricExpiry', /unknown field.*metricExpiration/],
    ['a bad selector label value', { services: [{ name: 'a', selector: { app: 'not ok' } }] }, 'services[0].selector.app', /label value/],
  ];
  it.each(cases)('%s', (_what, input, field, message) => {
    const error = configErrorFor(input);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(new RegExp(`^invalid config: ${field.replace(/[[\]().]/g, '\\$&')}: `));
    expect(error.message).toMatch(message);
    expect(error.message).toContain('Fix: ');
    expect(error.message.split('\n')).toHaveLength(1);
  });
});

describe('config defaults', () => {
  const config = validateConfig({ services: [{ name: 'chat-auth' }] });

  it('fills in documented defaults', () => {
    expect(config.namespace).toBe('monitoring');
    expect(config.grafanaNodePort).toBe(30030);
    expect(config.scrapeInterval).toBe('15s');
    expect(config.services[0]).toMatchObject({
      namespace: 'chat',
      selector: { 'app.kubernetes.io/name': 'chat-auth' },
      exportMode: 'push',
      convention: 'legacy',
      slo: { availabilityPercent: 99.5, p99LatencySeconds: 1, latencyPercent: 99, latencyThresholdSeconds: 0.5, pageMinRequests: 100 },
      customPanels: [],
    });
  });

  it('pins every default image to a version, never latest', () => {
    for (const image of Object.values(config.images)) {
      expect(image).toMatch(/:v?[0-9]+\.[0-9]+\.[0-9]+$/);
    }
  });

  it('accepts a latency threshold on any bucket boundary of the service\'s convention, and no page minimum', () => {
    const c = validateConfig({ services: [
      { name: 'a', slo: { latencyThresholdSeconds: 0.25, pageMinRequests: 0 } },
      { name: 'b', convention: 'stable', slo: { latencyThresholdSeconds: 2.5 } },
    ] });
    expect(c.services.map((s) => [s.slo.latencyThresholdSeconds, s.slo.pageMinRequests])).toEqual([[0.25, 0], [2.5, 100]]);
  });

  it('accepts custom panels with Grafana variables in valid PromQL', () => {
    const c = validateConfig({ services: [{ name: 'a', customPanels: [{ title: 'Q', expr: 'sum(rate(q_total{service="a"}[$__rate_interval]))', unit: 'ops' }] }] });
    expect(c.services[0].customPanels[0].expr).toContain('$__rate_interval');
  });
});

describe('runbookBaseUrl', () => {
  it('is where every alert links to, one anchor per alert', () => {
    const config = validateConfig({ ...CHART_CONFIG, runbookBaseUrl: 'https://wiki.example.com/chat/runbooks' });
    const urls = [...config.services.map((s) => serviceAlerts(config, s)), platformAlerts(config), stackAlerts(config)]
      .flatMap((g) => g.rules.map((r) => ('alert' in r ? [r.alert, r.annotations.runbook_url] : [])))
      .filter((x) => x.length);
    expect(urls.length).toBeGreaterThan(5);
    for (const [alert, url] of urls) expect(url).toBe(`https://wiki.example.com/chat/runbooks#${alert.toLowerCase()}`);
  });
});
