/**
 * The chart's Alertmanager configuration (route tree, inhibitions, receivers) as a function of the
 * config, and the config's validation of it: bad input stops synth with one message naming the field.
 * Expectations are derived from the validated config the objects are synthesized from.
 */
import { alertmanagerConfigSpec, GROUP_BY, receiverEgressPorts } from '../../lib/alertmanager/alertmanager-config';
import { ChartConfigInput, NULL_RECEIVER, validateConfig } from '../../lib/config';
import { ALERT_LABEL_NAMES, ALERT_NAMES } from '../../lib/rules/alert-catalog';
import { platformAlerts, serviceAlerts } from '../../lib/rules/alerts';
import { stackAlerts } from '../../lib/rules/stack-alerts';
import { CHART_CONFIG } from '../../lib/chart-config';
import { configErrorFor, K8sObject, ofKind, synthObjects, unusedServiceName } from '../support/manifests';

const services = CHART_CONFIG.services;
const withAm = (alertmanager: ChartConfigInput['alertmanager'], extra: Partial<ChartConfigInput> = {}) =>
  validateConfig({ ...CHART_CONFIG, ...extra, alertmanager });

/** A config using every receiver kind, a user route and non-default timings. */
const FULL: ChartConfigInput['alertmanager'] = {
  receivers: [
    { name: 'oncall', pagerduty: { routingKeySecretKey: 'pagerduty-routing-key' } },
    { name: 'chat-team', slack: { apiUrlSecretKey: 'slack-webhook-url', channel: '#chat-alerts' } },
    { name: 'auth-team', webhook: { urlSecretKey: 'auth-webhook-url', port: 8443 } },
    { name: 'mail', email: { to: 'oncall@example.com', from: 'alertmanager@example.com', smarthost: 'smtp.example.com:587', authUsername: 'am', authPasswordSecretKey: 'smtp-pw' } },
    { name: 'deadmans-switch', webhook: { urlSecretKey: 'heartbeat-url' } },
  ],
  criticalReceiver: 'oncall',
  warningReceiver: 'chat-team',
  heartbeatReceiver: 'deadmans-switch',
  heartbeatInterval: '2m',
  routes: [{ receiver: 'auth-team', matchers: [{ name: 'service', value: 'chat-auth' }], continue: true }],
  groupWait: '10s',
  groupInterval: '2m',
  repeatInterval: '1h',
};

describe('Alertmanager routing from the config', () => {
  const config = withAm(FULL);
  const am = config.alertmanager;
  const spec = alertmanagerConfigSpec(config);
  const routes = spec.route.routes!;

  it('groups by alert name and service, with the configured timings on the root', () => {
    expect(spec.route.groupBy).toEqual(['alertname', 'service']);
    expect(GROUP_BY.every((l) => (ALERT_LABEL_NAMES as readonly string[]).includes(l))).toBe(true);
    expect(spec.route).toMatchObject({ groupWait: am.groupWait, groupInterval: am.groupInterval, repeatInterval: am.repeatInterval });
  });

  it('tries the Watchdog\'s heartbeat route first, then the user routes, in order, then critical, warning and ticket by severity', () => {
    // Sent at once, then at every tick of heartbeatInterval (2m): a repeat interval of half that lets every tick re-send
    // (Alertmanager logs a send after its tick); not continued, so no person gets it.
    expect(routes[0]).toEqual({
      receiver: 'deadmans-switch', matchers: [{ name: 'alertname', value: ALERT_NAMES.watchdog, matchType: '=' }],
      groupWait: '0s', groupInterval: '2m', repeatInterval: '60s',
    });
    const oddInterval = alertmanagerConfigSpec(withAm({ ...FULL, heartbeatInterval: '45s' })).route.routes![0];
    expect([oddInterval.groupInterval, oddInterval.repeatInterval]).toEqual(['45s', '22500ms']);
    expect(routes.slice(1, 1 + am.routes.length)).toEqual(am.routes.map((r) => ({ receiver: r.receiver, matchers: r.matchers, ...(r.continue ? { continue: true } : {}) })));
    expect(routes.slice(1 + am.routes.length)).toEqual([
      { receiver: am.criticalReceiver, matchers: [{ name: 'severity', value: 'critical', matchType: '=' }] },
      { receiver: am.warningReceiver, matchers: [{ name: 'severity', value: 'warning', matchType: '=' }] },
      { receiver: am.ticketReceiver, matchers: [{ name: 'severity', value: 'ticket', matchType: '=' }] },
    ]);
    expect(am.criticalReceiver).not.toBe(am.warningReceiver);
    // Not set in this config: tickets go where warnings go.
    expect(am.ticketReceiver).toBe(am.warningReceiver);
  });

  it('sends tickets to their own receiver when one is set', () => {
    const own = withAm({ ...FULL, ticketReceiver: 'mail' });
    const severityRoutes = alertmanagerConfigSpec(own).route.routes!.filter((r) => r.matchers?.[0].name === 'severity');
    expect(severityRoutes.map((r) => [r.matchers![0].value, r.receiver])).toEqual([['critical', 'oncall'], ['warning', 'chat-team'], ['ticket', 'mail']]);
  });

  it('sends anything without a known severity to the warning receiver (nothing is dropped unrouted)', () => {
    expect(spec.route.receiver).toBe(am.warningReceiver);
    expect(spec.route.matchers).toBeUndefined();
  });

  it('gives every alert of the chart but the Watchdog a severity that one of the severity routes matches', () => {
    const alerts = [...config.services.flatMap((s) => serviceAlerts(config, s).rules), ...platformAlerts(config).rules, ...stackAlerts(config).rules] as { alert: string; labels: Record<string, string> }[];
    const watchdog = alerts.filter((a) => a.alert === ALERT_NAMES.watchdog);
    expect(watchdog.map((a) => [a.labels.severity, (a as { expr?: string }).expr])).toEqual([['none', 'vector(1)']]);
    for (const a of alerts.filter((x) => x.alert !== ALERT_NAMES.watchdog)) expect(['critical', 'warning', 'ticket']).toContain(a.labels.severity);
  });

  it('defines every receiver a route names, plus the null receiver', () => {
    const names = spec.receivers.map((r) => r.name);
    expect(names).toEqual([NULL_RECEIVER, ...am.receivers.map((r) => r.name)]);
    for (const r of [spec.route, ...routes]) expect(names).toContain(r.receiver);
  });

  it('references credentials by Secret name and key only', () => {
    const byName = Object.fromEntries(spec.receivers.map((r) => [r.name, r]));
    const ref = (key: string) => ({ name: am.receiversSecret, key });
    expect(byName.oncall.pagerdutyConfigs).toEqual([{ sendResolved: true, routingKey: ref('pagerduty-routing-key') }]);
    expect(byName['chat-team'].slackConfigs).toEqual([{ sendResolved: true, apiURL: ref('slack-webhook-url'), channel: '#chat-alerts' }]);
    expect(byName['auth-team'].webhookConfigs).toEqual([{ sendResolved: true, urlSecret: ref('auth-webhook-url') }]);
    expect(byName.mail.emailConfigs).toEqual([{
      sendResolved: true, to: 'oncall@example.com', from: 'alertmanager@example.com', smarthost: 'smtp.example.com:587',
      requireTLS: true, authUsername: 'am', authPassword: ref('smtp-pw'),
    }]);
    expect(JSON.stringify(spec)).not.toMatch(/https?:\/\//);
  });

  it('opens egress to exactly the receivers\' ports', () => {
    expect(receiverEgressPorts(config)).toEqual([443, 587, 8443]);
    expect(receiverEgressPorts(validateConfig(CHART_CONFIG))).toEqual([]);
  });

  it('has documented defaults: 3 replicas, null receivers (the heartbeat too, every 1m), 30s / 5m / 4h, no routes', () => {
    const d = validateConfig(CHART_CONFIG).alertmanager;
    expect(d).toMatchObject({
      replicas: 3, storage: '1Gi', retention: '120h', receiversSecret: 'alertmanager-receivers', receivers: [],
      criticalReceiver: NULL_RECEIVER, warningReceiver: NULL_RECEIVER, ticketReceiver: NULL_RECEIVER, heartbeatReceiver: NULL_RECEIVER, heartbeatInterval: '1m', routes: [],
      groupWait: '30s', groupInterval: '5m', repeatInterval: '4h', receiverEgressCidrs: [], clusterPeerTimeout: '15s',
    });
  });
});

describe('Alertmanager inhibitions', () => {
  const config = validateConfig({
    ...CHART_CONFIG,
    services: [...services, { name: unusedServiceName('chat-presence'), namespace: 'presence', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464 } }],
  });
  const rules = alertmanagerConfigSpec(config).inhibitRules;
  const matches = (ms: readonly { name: string; value: string; matchType: string }[], labels: Record<string, string>) => ms.every((m) => {
    const v = labels[m.name] ?? '';
    const hit = m.matchType.includes('~') ? new RegExp(`^(?:${m.value})$`).test(v) : v === m.value;
    return m.matchType.startsWith('!') ? !hit : hit;
  });
  /** Whether `source` firing mutes `target`, by Alertmanager's rule: both match and the `equal` labels agree. */
  const mutes = (source: Record<string, string>, target: Record<string, string>) => rules.some((r) =>
    matches(r.sourceMatch, source) && matches(r.targetMatch, target) && (r.equal ?? []).every((l) => (source[l] ?? '') === (target[l] ?? '')));
  const alert = (alertname: string, service?: string) => ({ alertname, ...(service ? { service } : {}) });
  const push = config.services.filter((s) => s.exportMode === 'push').map((s) => s.name);
  const pull = config.services.filter((s) => s.exportMode === 'pull').map((s) => s.name);

  // Each SLI's burn tiers, fastest first, as the README's alert table lists them.
  const TIERS = [
    ['ChatServiceErrorBudgetBurnFast', 'ChatServiceErrorBudgetBurnSlow', 'ChatServiceErrorBudgetBurnDaily', 'ChatServiceErrorBudgetBurnChronic'],
    ['ChatServiceLatencyBudgetBurnFast', 'ChatServiceLatencyBudgetBurnSlow', 'ChatServiceLatencyBudgetBurnDaily', 'ChatServiceLatencyBudgetBurnChronic'],
  ];

  it('a faster burn tier mutes the slower tiers of the same SLI and service, never the reverse, another SLI or another service', () => {
    for (const s of config.services.map((x) => x.name)) {
      for (const [sli, tiers] of TIERS.entries()) {
        tiers.forEach((source, i) => tiers.forEach((target, j) => {
          expect([source, target, mutes(alert(source, s), alert(target, s))]).toEqual([source, target, i < j]);
        }));
        for (const other of TIERS[1 - sli]) expect(mutes(alert(tiers[0], s), alert(other, s))).toBe(false);
      }
    }
    expect(mutes(alert(ALERT_NAMES.burnFast, 'chat-auth'), alert(ALERT_NAMES.burnSlow, 'chat-transport'))).toBe(false);
  });

  it('absent metrics mute the same service\'s latency and burn alerts, nothing else', () => {
    for (const target of [ALERT_NAMES.latencyP99, ...TIERS.flat()]) {
      expect([target, mutes(alert(ALERT_NAMES.metricsAbsent, 'chat-auth'), alert(target, 'chat-auth'))]).toEqual([target, true]);
      expect(mutes(alert(ALERT_NAMES.metricsAbsent, 'chat-auth'), alert(target, 'chat-messaging'))).toBe(false);
    }
    expect(mutes(alert(ALERT_NAMES.metricsAbsent, 'chat-transport'), alert(ALERT_NAMES.websocketZero, 'chat-transport'))).toBe(false);
  });

  it('a service over its sample limit mutes its own "metrics absent", not another\'s', () => {
    expect(mutes(alert(ALERT_NAMES.sampleLimit, 'chat-auth'), alert(ALERT_NAMES.metricsAbsent, 'chat-auth'))).toBe(true);
    expect(mutes(alert(ALERT_NAMES.sampleLimit, 'chat-auth'), alert(ALERT_NAMES.metricsAbsent, 'chat-messaging'))).toBe(false);
    expect(mutes(alert(ALERT_NAMES.sampleLimit, 'chat-auth'), alert(ALERT_NAMES.burnFast, 'chat-auth'))).toBe(false);
  });

  it('the collector being down mutes "metrics absent" of every push service and of no pull service', () => {
    for (const s of push) expect([s, mutes(alert(ALERT_NAMES.collectorDown), alert(ALERT_NAMES.metricsAbsent, s))]).toEqual([s, true]);
    for (const s of pull) expect([s, mutes(alert(ALERT_NAMES.collectorDown), alert(ALERT_NAMES.metricsAbsent, s))]).toEqual([s, false]);
    expect(mutes(alert(ALERT_NAMES.collectorDown), alert(ALERT_NAMES.burnFast, push[0]))).toBe(false);
  });

  it('Prometheus failing to send to an Alertmanager mutes its dropped alerts for that Alertmanager only', () => {
    const at = (alertname: string, pod: string, alertmanager: string) => ({ alertname, namespace: config.namespace, pod, alertmanager });
    const am = 'http://10.244.0.7:9093/api/v2/alerts';
    expect(mutes(at('PrometheusNotificationsFailing', 'prometheus-0', am), at('PrometheusNotificationsDropped', 'prometheus-0', am))).toBe(true);
    expect(mutes(at('PrometheusNotificationsFailing', 'prometheus-0', am), at('PrometheusNotificationsDropped', 'prometheus-1', am))).toBe(false);
    expect(mutes(at('PrometheusNotificationsFailing', 'prometheus-0', am), at('PrometheusNotificationsDropped', 'prometheus-0', 'http://10.244.0.8:9093/api/v2/alerts'))).toBe(false);
    expect(mutes(at('PrometheusNotificationsDropped', 'prometheus-0', am), at('PrometheusNotificationsFailing', 'prometheus-0', am))).toBe(false);
  });

  it('the collector being down mutes the failed scrapes of its own targets only', () => {
    const down = (job: string, namespace: string) => ({ alertname: ALERT_NAMES.targetDown, job, namespace });
    const collectorDown = alert(ALERT_NAMES.collectorDown);
    // Its self-metrics target (job: its Service, otel-collector) and each push service's exporter (job: the service), in the stack's namespace.
    for (const job of ['otel-collector', ...push]) expect([job, mutes(collectorDown, down(job, config.namespace))]).toEqual([job, true]);
    for (const s of config.services.filter((x) => x.exportMode === 'pull')) expect([s.name, mutes(collectorDown, down(s.name, s.namespace))]).toEqual([s.name, false]);
    expect(mutes(collectorDown, down('prometheus', config.namespace))).toBe(false);
    expect(mutes(collectorDown, down(push[0], 'chat'))).toBe(false);
  });

  it('has no collector rule when every service is pulled', () => {
    const allPull = validateConfig({ services: [{ name: 'a', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464 } }] });
    expect(alertmanagerConfigSpec(allPull).inhibitRules.map((r) => r.sourceMatch[0].value)).not.toContain(ALERT_NAMES.collectorDown);
  });

  it('only matches on labels the alerts carry', () => {
    const labels: readonly string[] = ALERT_LABEL_NAMES;
    for (const r of rules) for (const m of [...r.sourceMatch, ...r.targetMatch]) expect(labels).toContain(m.name);
  });
});

describe('no credential reaches the manifests', () => {
  const objects: K8sObject[] = synthObjects(withAm(FULL));
  it('synthesizes no Secret even with receivers configured', () => expect(ofKind(objects, 'Secret')).toEqual([]));
  it('the AlertmanagerConfig holds the generated spec and nothing else', () => {
    const [amc] = ofKind(objects, 'AlertmanagerConfig');
    expect(amc.spec).toEqual(JSON.parse(JSON.stringify(alertmanagerConfigSpec(withAm(FULL)))));
  });
});

describe('Alertmanager config validation: each bad input names its field and the fix', () => {
  const hook = { name: 'hook', webhook: { urlSecretKey: 'hook-url' } };
  const route = (matchers: unknown[], receiver = 'hook') => ({ receivers: [hook], routes: [{ receiver, matchers }] });
  const cases: [string, unknown, string, RegExp][] = [
    ['a route to an undefined receiver', route([{ name: 'service', value: 'chat-auth' }], 'pager'), 'alertmanager.routes[0].receiver', /"pager" is not a defined receiver.*null, hook/],
    ['critical alerts to an undefined receiver', { criticalReceiver: 'oncall' }, 'alertmanager.criticalReceiver', /"oncall" is not a defined receiver/],
    ['warnings to an undefined receiver', { receivers: [hook], warningReceiver: 'Hook' }, 'alertmanager.warningReceiver', /"Hook" is not a defined receiver/],
    ['the heartbeat to an undefined receiver', { heartbeatReceiver: 'snitch' }, 'alertmanager.heartbeatReceiver', /"snitch" is not a defined receiver/],
    ['a zero heartbeat interval', { heartbeatInterval: '0s' }, 'alertmanager.heartbeatInterval', /must not be zero/],
    ['a malformed duration', { groupWait: '30 s' }, 'alertmanager.groupWait', /Alertmanager duration/],
    ['units in the wrong order', { groupInterval: '30s1m' }, 'alertmanager.groupInterval', /Alertmanager duration/],
    ['a zero group interval', { groupInterval: '0s' }, 'alertmanager.groupInterval', /must not be zero/],
    ['a repeat interval shorter than the group interval', { groupInterval: '10m', repeatInterval: '5m' }, 'alertmanager.repeatInterval', /shorter than groupInterval/],
    ['a malformed retention', { retention: '5d' }, 'alertmanager.retention', /h, m, s/],
    // The last of 3 replicas sends 2 x 15s after its flush: a group interval of 30s would let its late copy repeat a changed state.
    ['a group interval the last replica\'s peer wait reaches', { groupInterval: '30s' }, 'alertmanager.groupInterval', /30s is not longer than the last of 3 replicas waits.*2 x clusterPeerTimeout 15s = 30s.*resolved alert/],
    ['a group interval within 2 shortened peer waits', { groupInterval: '4s', clusterPeerTimeout: '2s' }, 'alertmanager.groupInterval', /2 x clusterPeerTimeout 2s = 4s/],
    ['a malformed peer timeout', { clusterPeerTimeout: '15' }, 'alertmanager.clusterPeerTimeout', /duration/],
    ['a matcher on a label the alerts never carry', route([{ name: 'team', value: 'chat' }]), 'alertmanager.routes[0].matchers[0].name', /"team" is not a label the chart's alerts carry.*alertname, severity, service/],
    ['a matcher on a severity no alert has', route([{ name: 'severity', value: 'page' }]), 'alertmanager.routes[0].matchers[0].value', /"page" matches no severity.*critical, warning/],
    ['a matcher on a service that is not configured', route([{ name: 'service', value: 'chat-auht' }]), 'alertmanager.routes[0].matchers[0].value', /matches no service.*chat-auth/],
    ['a matcher on an alert name that does not exist', route([{ name: 'alertname', value: 'ChatServiceDown' }]), 'alertmanager.routes[0].matchers[0].value', /matches no alertname/],
    ['a regex matcher that matches no alert name', route([{ name: 'alertname', value: 'Chat.*Down', matchType: '=~' }]), 'alertmanager.routes[0].matchers[0].value', /matches no alertname/],
    ['an invalid regex', route([{ name: 'service', value: 'chat-(auth', matchType: '=~' }]), 'alertmanager.routes[0].matchers[0].value', /invalid regular expression/],
    ['an unknown match type', route([{ name: 'service', value: 'chat-auth', matchType: '==' }]), 'alertmanager.routes[0].matchers[0].matchType', /use one of = != =~ !~/],
    ['a route with no matchers', route([]), 'alertmanager.routes[0].matchers', /at least one matcher/],
    ['a receiver with two integrations', { receivers: [{ name: 'x', webhook: { urlSecretKey: 'a' }, pagerduty: { routingKeySecretKey: 'b' } }] }, 'alertmanager.receivers[0]', /has webhook and pagerduty.*exactly one/],
    ['a receiver with no integration', { receivers: [{ name: 'x' }] }, 'alertmanager.receivers[0]', /has no integration/],
    ['a receiver named null', { receivers: [{ name: 'null', webhook: { urlSecretKey: 'a' } }] }, 'alertmanager.receivers[0].name', /built-in receiver/],
    ['a duplicate receiver', { receivers: [hook, hook] }, 'alertmanager.receivers[1].name', /duplicate receiver "hook" \(also receivers\[0\]\)/],
    ['a credential where a Secret key belongs', { receivers: [{ name: 'x', slack: { apiUrlSecretKey: 'https://hooks.slack.com/services/T0/B0/x' } }] }, 'alertmanager.receivers[0].slack.apiUrlSecretKey', /never the credential itself/],
    ['an SMTP server without a port', { receivers: [{ name: 'm', email: { to: 'a@example.com', from: 'b@example.com', smarthost: 'smtp.example.com' } }] }, 'alertmanager.receivers[0].email.smarthost', /host:port/],
    ['an SMTP user without a password key', { receivers: [{ name: 'm', email: { to: 'a@example.com', from: 'b@example.com', smarthost: 'smtp.example.com:587', authUsername: 'am' } }] }, 'alertmanager.receivers[0].email.authPasswordSecretKey', /is missing/],
    ['a webhook port out of range', { receivers: [{ name: 'x', webhook: { urlSecretKey: 'a', port: 0 } }] }, 'alertmanager.receivers[0].webhook.port', /from 1 to 65535/],
    ['an unknown receiver field', { receivers: [{ name: 'x', webhook: { url: 'https://example.com' } }] }, 'alertmanager.receivers[0].webhook.url', /unknown field.*urlSecretKey/],
    ['an unknown Alertmanager field', { groupBy: ['alertname'] }, 'alertmanager.groupBy', /unknown field/],
    ['a replica count out of range', { replicas: 0 }, 'alertmanager.replicas', /from 1 to 10/],
    ['a bad egress CIDR', { receiverEgressCidrs: ['10.0.0.0'] }, 'alertmanager.receiverEgressCidrs[0]', /CIDR/],
  ];
  it.each(cases)('%s', (_what, alertmanager, field, message) => {
    const error = configErrorFor({ services, alertmanager });
    expect(error.field).toBe(field);
    expect(error.message).toMatch(new RegExp(`^invalid config: ${field.replace(/[[\]().]/g, '\\$&')}: `));
    expect(error.message).toMatch(message);
    expect(error.message).toContain('Fix: ');
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('refuses an unpinned Alertmanager image', () => {
    expect(configErrorFor({ services, images: { alertmanager: 'quay.io/prometheus/alertmanager:latest' } }).field).toBe('images.alertmanager');
  });

  it('accepts negative matchers on values no alert has (they match everything)', () => {
    expect(() => withAm({ receivers: [hook], routes: [{ receiver: 'hook', matchers: [{ name: 'severity', value: 'page', matchType: '!=' }] }] })).not.toThrow();
  });
});

it('a group interval just longer than the last replica\'s peer wait is accepted, and any with one replica (no cluster)', () => {
  const am = (input: object) => validateConfig({ ...CHART_CONFIG, alertmanager: input }).alertmanager;
  expect(am({ groupInterval: '31s' }).groupInterval).toBe('31s');
  expect(am({ groupInterval: '5s', clusterPeerTimeout: '2s' }).clusterPeerTimeout).toBe('2s');
  expect(am({ replicas: 1, groupInterval: '5s' }).groupInterval).toBe('5s');
  expect(am({ replicas: 2, groupInterval: '16s' }).groupInterval).toBe('16s');
});
