/**
 * amtool (the pinned Alertmanager release) on the configuration Alertmanager loads: the chart's AlertmanagerConfig as the
 * operator renders it (test/support/operator-alertmanager-config.ts), from dist/ as written and
 * from a config using every receiver kind. `amtool config routes test` then routes every alert of
 * dist/'s rules, with the labels its rule gives it, to the receiver its severity calls for.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse, stringify } from 'yaml';
import { ALERT_NAMES } from '../../lib/rules/alert-catalog';
import { ALERTMANAGER_BINARIES, amtool } from '../support/alertmanager';
import { EVERY_RECEIVER_KIND, RECEIVER_CREDENTIALS, RECEIVERS_SECRET } from '../support/alertmanager-fixtures';
import { describeWithBinaries } from '../support/binaries';
import { configWith, defaultConfig, K8sObject, readDist, synthObjects } from '../support/manifests';
import { renderedReceiverName, renderOperatorAlertmanagerConfig } from '../support/operator-alertmanager-config';

const dist = readDist(join(__dirname, '..', '..', 'dist')).flatMap((f) => f.objects);
const distAmConfig = dist.find((o) => o.kind === 'AlertmanagerConfig')!;

const SECRET = RECEIVERS_SECRET;
const FAKE = RECEIVER_CREDENTIALS;
const full = configWith({ alertmanager: EVERY_RECEIVER_KIND });
const fullAmConfig = synthObjects(full).find((o) => o.kind === 'AlertmanagerConfig')!;

describeWithBinaries('Alertmanager configuration: amtool on what the operator renders', ALERTMANAGER_BINARIES, () => {
  let dir: string;
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return name;
  };
  const check = (file: string) => amtool(['check-config', file], dir);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chat-monitoring-amtool-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['dist/ as written (no receivers: needs no Secret)', distAmConfig, {}],
    ['every receiver kind, a user route, credentials from the Secret', fullAmConfig, { [SECRET]: FAKE }],
  ] as const)('accepts %s', (_what, amConfig: K8sObject, secrets) => {
    const file = write(`${amConfig.metadata.name}-${Object.keys(secrets).length}.yaml`, renderOperatorAlertmanagerConfig(amConfig, secrets));
    const r = check(file);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
    expect(r.output).toContain(` - ${amConfig.spec.inhibitRules.length} inhibit rules`);
    expect(r.output).toContain(` - ${amConfig.spec.receivers.length} receivers`);
  });

  it('can fail: a route to a receiver that is not defined is rejected', () => {
    const broken = parse(renderOperatorAlertmanagerConfig(distAmConfig));
    broken.route.routes[0].receiver = 'nobody';
    const r = check(write('broken.yaml', stringify(broken)));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/undefined receiver "nobody"/);
  });

  it('routes every alert of dist/ by its severity, the Watchdog to the heartbeat receiver alone; the user route gets chat-auth\'s too', () => {
    const file = write('full.yaml', renderOperatorAlertmanagerConfig(fullAmConfig, { [SECRET]: FAKE }));
    const am = full.alertmanager;
    const name = (r: string) => renderedReceiverName(fullAmConfig, r);
    const alerts = dist.filter((o) => o.kind === 'PrometheusRule')
      .flatMap((o) => o.spec.groups.flatMap((g: { rules: { alert?: string; labels?: Record<string, string> }[] }) => g.rules))
      .filter((r: { alert?: string }) => r.alert);
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.filter((r: { alert?: string }) => r.alert === ALERT_NAMES.watchdog)).toHaveLength(1);
    expect(am.heartbeatReceiver).not.toBe(am.criticalReceiver);
    for (const a of alerts as { alert: string; labels: Record<string, string> }[]) {
      const labels: Record<string, string> = { alertname: a.alert, ...a.labels };
      const got = amtool(['config', 'routes', 'test', `--config.file=${file}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)], dir).output.trim();
      const bySeverity = name(labels.severity === 'critical' ? am.criticalReceiver : am.warningReceiver);
      // The Watchdog goes to the heartbeat receiver alone (its route is first and does not continue).
      const expected = a.alert === ALERT_NAMES.watchdog ? name(am.heartbeatReceiver)
        : labels.service === 'chat-auth' ? `${name('auth-team')},${bySeverity}` : bySeverity;
      expect(`${a.alert} ${labels.service ?? ''}: ${got}`).toBe(`${a.alert} ${labels.service ?? ''}: ${expected}`);
    }
  });
});

describe('the operator\'s rendering refuses what the operator refuses', () => {
  it('a receiver credential missing from the Secret', () => {
    expect(() => renderOperatorAlertmanagerConfig(fullAmConfig, { [SECRET]: { ...FAKE, pd: undefined as unknown as string } }))
      .toThrow(/key "pd" of Secret monitoring\/alertmanager-receivers not found/);
  });
  it('a route to an undefined receiver', () => {
    const o = JSON.parse(JSON.stringify(distAmConfig));
    o.spec.route.routes[0].receiver = 'nobody';
    expect(() => renderOperatorAlertmanagerConfig(o)).toThrow(/receiver "nobody" not found/);
  });
  it('an unknown field in a child route (the operator decodes them strictly)', () => {
    const o = JSON.parse(JSON.stringify(distAmConfig));
    o.spec.route.routes[0].matcher = [];
    expect(() => renderOperatorAlertmanagerConfig(o)).toThrow(/field "matcher"/);
  });
  it('renders dist/\'s receivers with the operator\'s <namespace>/<name>/ prefix and no namespace matcher', () => {
    const rendered = parse(renderOperatorAlertmanagerConfig(distAmConfig));
    const prefix = `${distAmConfig.metadata.namespace}/${distAmConfig.metadata.name}/`;
    expect(rendered.receivers.map((r: { name: string }) => r.name)).toEqual(distAmConfig.spec.receivers.map((r: { name: string }) => `${prefix}${r.name}`));
    expect(JSON.stringify(rendered.route)).not.toContain('namespace=');
    expect(rendered.route.group_by).toEqual(distAmConfig.spec.route.groupBy);
    expect(defaultConfig().alertmanager.groupWait).toBe(rendered.route.group_wait);
  });
});
