/**
 * Each settings section's DEFAULTS object is what validation fills in: the defaults are written
 * once, beside their fields, and an empty section comes out as exactly those values.
 */
import {
  ALERTMANAGER_DEFAULTS, CHART_DEFAULTS, CHAT_SERVICE_DEFAULTS, COLLECTOR_DEFAULTS, durationSeconds, NETWORK_POLICY_DEFAULTS, THANOS_DEFAULTS, validateConfig,
} from '../../lib/config';

const config = validateConfig({ services: [{ name: 'a' }, { name: 'b', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9100 } }] });

it('ChartConfig\'s own fields default to CHART_DEFAULTS', () => {
  const own = Object.fromEntries(Object.keys(CHART_DEFAULTS).map((k) => [k, config[k as keyof typeof config]]));
  expect(own).toEqual(CHART_DEFAULTS);
  expect(config.storageClassName).toBeUndefined();
});

it('a chat service defaults to CHAT_SERVICE_DEFAULTS', () => {
  const [a, b] = config.services;
  const d = CHAT_SERVICE_DEFAULTS;
  expect(a).toEqual({
    name: 'a', namespace: d.namespace, selector: d.selector('a'), exportMode: d.exportMode, metricsPort: undefined, convention: d.convention,
    slo: d.slo, websocketGauge: undefined, customPanels: d.customPanels, sampleLimit: d.sampleLimit,
  });
  expect(b.metricsPort?.path).toBe(d.metricsPath);
});

it('the collector defaults to COLLECTOR_DEFAULTS, its series expiring a scrape interval plus that many exports after their last point', () => {
  expect(config.collector).toEqual({
    exportInterval: COLLECTOR_DEFAULTS.exportInterval,
    metricExpiration: `${durationSeconds(CHART_DEFAULTS.scrapeInterval) + COLLECTOR_DEFAULTS.expirationExports * durationSeconds(COLLECTOR_DEFAULTS.exportInterval)}s`,
    droppedAttributes: COLLECTOR_DEFAULTS.droppedAttributes,
    maxConnectionAge: COLLECTOR_DEFAULTS.maxConnectionAge,
  });
});

it('an autoscaler\'s maximum defaults to twice its minimum, at most 50', () => {
  const auto = (minReplicas: number) => validateConfig({ services: [{ name: 'a' }], collector: { autoscaling: { minReplicas } } }).collector.autoscaling!;
  expect(auto(3)).toEqual({ minReplicas: 3, maxReplicas: 6, targetCpu: COLLECTOR_DEFAULTS.targetCpu });
  expect(auto(30).maxReplicas).toBe(50);
});

it('a longer expiration moves the connection age\'s default to twice its floor', () => {
  // 50s expiration + 15s scrape: a 65 s floor, a 130 s default.
  const slow = validateConfig({ services: [{ name: 'a' }], collector: { metricExpiration: '50s' } });
  expect(slow.collector.maxConnectionAge).toBe(`${2 * (50 + 15)}s`);
});

it('Alertmanager defaults to ALERTMANAGER_DEFAULTS, and so do its receivers and routes', () => {
  const { receiver, route, ...settings } = ALERTMANAGER_DEFAULTS;
  // ticketReceiver has no value of its own: it defaults to the warning receiver.
  expect(config.alertmanager).toEqual({ ...settings, ticketReceiver: settings.warningReceiver });
  const am = validateConfig({
    services: [{ name: 'a' }],
    alertmanager: {
      receivers: [{ name: 'hook', webhook: { urlSecretKey: 'url' } }, { name: 'mail', email: { to: 'a@example.com', from: 'b@example.com', smarthost: 'smtp.example.com:587' } }],
      routes: [{ receiver: 'hook', matchers: [{ name: 'service', value: 'a' }] }],
    },
  }).alertmanager;
  expect(am.receivers.map((r) => r.sendResolved)).toEqual([receiver.sendResolved, receiver.sendResolved]);
  expect(am.receivers[0].webhook?.port).toBe(receiver.webhookPort);
  expect(am.receivers[1].email?.requireTls).toBe(receiver.emailRequireTls);
  expect(am.routes[0].continue).toBe(route.continue);
  expect(am.routes[0].matchers[0].matchType).toBe(route.matchType);
});

it('the NetworkPolicies default to NETWORK_POLICY_DEFAULTS', () => {
  expect(config.networkPolicies).toEqual(NETWORK_POLICY_DEFAULTS);
});

it('Thanos defaults to THANOS_DEFAULTS: two Query replicas, no object storage; the object store\'s Secret and key to theirs', () => {
  expect(config.thanos).toEqual({
    queryReplicas: THANOS_DEFAULTS.queryReplicas, objectStorage: undefined, retention: THANOS_DEFAULTS.retention,
    storeStorage: THANOS_DEFAULTS.storeStorage, compactorStorage: '20Gi',
  });
  // The values the README documents, literally.
  expect([THANOS_DEFAULTS.queryReplicas, THANOS_DEFAULTS.retention, THANOS_DEFAULTS.storeStorage]).toEqual([2, { raw: '30d', fiveMinutes: '90d', oneHour: '1y' }, '10Gi']);
  const store = validateConfig({ services: [{ name: 'a' }], thanos: { objectStorage: { egressCidrs: ['10.0.0.0/8'] } } }).thanos.objectStorage;
  expect(store).toEqual({ ...THANOS_DEFAULTS.objectStorage, egressCidrs: ['10.0.0.0/8'] });
  expect(THANOS_DEFAULTS.objectStorage.egressPorts).toEqual([443]);
});

it('the Compactor\'s claim defaults to twice prometheusStorage, in its unit; an explicit size wins', () => {
  const compactor = (input: object) => validateConfig({ services: [{ name: 'a' }], ...input }).thanos.compactorStorage;
  expect(compactor({ prometheusStorage: '50Gi' })).toBe('100Gi');
  expect(compactor({ prometheusStorage: '1.5Ti' })).toBe('3Ti');
  expect(compactor({ prometheusStorage: '500G' })).toBe('1000G');
  expect(compactor({ prometheusStorage: '50Gi', thanos: { compactorStorage: '40Gi' } })).toBe('40Gi');
});
