/**
 * The stack's own alerts (lib/rules/stack-alerts.ts) wired to the chart: each selects a target one
 * of the chart's ServiceMonitors creates, exists when its component does, carries only labels
 * Alertmanager routes may match, and has a runbook. Their edges are tested with promtool
 * (test/contract/stack-alerts.promtool.test.ts).
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { validateConfig } from '../../lib/config';
import { CHART_CONFIG } from '../../lib/chart-config';
import { ALERT_LABEL_NAMES, ALERT_NAMES } from '../../lib/rules/alert-catalog';
import { stackAlerts } from '../../lib/rules/stack-alerts';
import { AlertingRule } from '../../lib/rules/types';
import { configErrorFor, configWith, defaultConfig, K8sObject, ofKind, synthObjects } from '../support/manifests';

const alertsOf = (c = defaultConfig()) => stackAlerts(c).rules as AlertingRule[];
const names = (c = defaultConfig()) => alertsOf(c).map((r) => r.alert);
const COLLECTOR_ALERTS = ['OtelCollectorRefusingPoints', 'OtelCollectorExportFailing', 'OtelCollectorDroppingUnattributedPoints'];
const THANOS_ALERTS = ['ThanosSidecarUploadsFailing', 'ThanosCompactorHalted'];
const withStore = configWith({ thanos: { objectStorage: { egressCidrs: ['10.0.0.0/8'] } } });
const allPull = configWith({ services: [{ name: 'a', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464 } }] });

describe('the stack alerts select the targets the chart\'s ServiceMonitors create', () => {
  // The Operator names a ServiceMonitor's targets job = the selected Service's name, endpoint = the port's name.
  const targetsOf = (objects: K8sObject[]) => ofKind(objects, 'ServiceMonitor').flatMap((sm) => ofKind(objects, 'Service')
    .filter((svc) => svc.metadata.namespace === sm.metadata.namespace
      && Object.entries(sm.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => svc.metadata.labels?.[k] === v))
    .flatMap((svc) => (sm.spec.endpoints as { port: string }[]).map((e) => `job="${svc.metadata.name}", namespace="${svc.metadata.namespace}", endpoint="${e.port}"`)));

  it.each([['the default config (3 Alertmanager replicas)', defaultConfig()],
    ['another namespace, a single Alertmanager', configWith({ namespace: 'observability', alertmanager: { replicas: 1 } })],
    ['long-term storage (the Thanos alerts)', withStore]] as const)(
    '%s', (_name, config) => {
      const targets = new Set(targetsOf(synthObjects(config)));
      for (const r of alertsOf(config)) {
        const selected = [...r.expr.matchAll(/job="[^"]+", namespace="[^"]+", endpoint="[^"]+"/g)].map((m) => m[0]);
        expect([r.alert, selected.length > 0]).toEqual([r.alert, true]);
        for (const s of selected) expect([r.alert, s, targets.has(s)]).toEqual([r.alert, s, true]);
        expect(r.expr).toContain(`namespace="${config.namespace}"`);
      }
    });
});

describe('which stack alerts exist', () => {
  it('the collector\'s only with a push service (as OtelCollectorDown)', () => {
    expect(names()).toEqual(expect.arrayContaining(COLLECTOR_ALERTS));
    expect(names(allPull).filter((n) => n.startsWith('OtelCollector'))).toEqual([]);
    expect(names(allPull).length).toBe(names().length - COLLECTOR_ALERTS.length);
  });

  it('the cluster members alert only above one Alertmanager replica, against the configured count', () => {
    expect(names(configWith({ alertmanager: { replicas: 1 } }))).not.toContain(ALERT_NAMES.alertmanagerClusterMembersMissing);
    expect(names()).toContain(ALERT_NAMES.alertmanagerClusterMembersMissing); // the default: 3 replicas
    for (const replicas of [2, 3, 5]) {
      const members = alertsOf(configWith({ alertmanager: { replicas } })).find((r) => r.alert === ALERT_NAMES.alertmanagerClusterMembersMissing);
      expect(members?.expr).toMatch(new RegExp(`\\) < ${replicas}$`));
    }
  });

  it('Query\'s sidecars against the configured Prometheus replicas, always (Query always runs)', () => {
    for (const replicas of [1, 2, 3]) {
      const missing = alertsOf(configWith({ prometheusReplicas: replicas })).find((r) => r.alert === ALERT_NAMES.thanosQuerySidecarsMissing);
      expect(missing?.expr).toMatch(new RegExp(`\\n< ${replicas}$`));
    }
  });

  it('the Thanos bucket ones only with an object store: without it nothing uploads and no Compactor runs', () => {
    expect(names().filter((n) => THANOS_ALERTS.includes(n))).toEqual([]);
    expect(names(withStore).filter((n) => THANOS_ALERTS.includes(n))).toEqual(THANOS_ALERTS);
    expect(names(withStore).length).toBe(names().length + THANOS_ALERTS.length);
  });

  it('every one is in ALERT_NAMES, so Alertmanager routes may name it', () => {
    const all = names(configWith({ alertmanager: { replicas: 3 }, thanos: { objectStorage: { egressCidrs: ['10.0.0.0/8'] } } }));
    expect(all.length).toBe(15);
    for (const n of all) expect(Object.values(ALERT_NAMES)).toContain(n);
  });
});

describe('labels and runbooks', () => {
  const clustered = alertsOf(configWith({ alertmanager: { replicas: 3 }, thanos: { objectStorage: { egressCidrs: ['10.0.0.0/8'] } } }));

  it('keeps only labels in ALERT_LABEL_NAMES (every `by` of every expression)', () => {
    const labels: readonly string[] = ALERT_LABEL_NAMES;
    for (const r of clustered) {
      const by = [...r.expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((l) => l.trim()));
      expect(by.length).toBeGreaterThan(0);
      for (const l of by) expect([r.alert, l, labels.includes(l)]).toEqual([r.alert, l, true]);
    }
  });

  it('Alertmanager routes on them validate: their names and their new labels', () => {
    const hook = { name: 'hook', webhook: { urlSecretKey: 'hook-url' } };
    const route = (matchers: unknown[]) => ({ ...CHART_CONFIG, alertmanager: { receivers: [hook], routes: [{ receiver: 'hook', matchers }] } });
    const ok = validateConfig(route([
      { name: 'alertname', value: 'Prometheus.*|Alertmanager.*|OtelCollector(Refusing|Export|Dropping).*', matchType: '=~' },
      { name: 'integration', value: 'pagerduty' }, { name: 'controller', value: 'alertmanager' }, { name: 'rule_group', value: 'x', matchType: '!=' },
      { name: 'alertmanager', value: '.+', matchType: '=~' }, { name: 'receiver', value: 'otlp' }, { name: 'exporter', value: 'prometheus/chat-auth' },
    ]));
    expect(ok.alertmanager.routes[0].matchers.length).toBe(7);
    for (const n of clustered.map((r) => r.alert)) expect(validateConfig(route([{ name: 'alertname', value: n }])).alertmanager.routes.length).toBe(1);
    // Still rejected: a label none of them keeps (the Alertmanager's failure reason is summed away).
    expect(configErrorFor(route([{ name: 'reason', value: 'serverError' }])).message).toMatch(/"reason" is not a label the chart's alerts carry/);
  });

  it('each has a summary, a description and a runbook section in the README under its anchor', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const r of clustered) {
      expect(r.annotations.summary).toBeTruthy();
      expect(r.annotations.description).toBeTruthy();
      expect(r.annotations.runbook_url.endsWith(`#${r.alert.toLowerCase()}`)).toBe(true);
      expect([r.alert, readme.includes(`\n#### ${r.alert}\n`)]).toEqual([r.alert, true]);
    }
  });
});
