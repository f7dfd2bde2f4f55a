/**
 * The real synth path (`npm run synth` = scripts/synth.js, which bundles and runs the app): bad config
 * exits non-zero with one message and leaves dist/ as it was; every run prints one line.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const root = join(__dirname, '../..');
let work: string;

beforeAll(() => {
  const build = spawnSync('node', ['scripts/build-app.js'], { cwd: root, encoding: 'utf8' });
  expect(build.status).toBe(0);
  work = mkdtempSync(join(tmpdir(), 'chat-monitoring-synth-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function synth(config: unknown | undefined, dist: string) {
  const env: Record<string, string> = { ...process.env as Record<string, string>, CHAT_MONITORING_DIST: dist, CHAT_MONITORING_DASHBOARDS: join(work, 'dashboards') };
  if (config !== undefined) {
    const file = join(work, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    env.CHAT_MONITORING_CONFIG = file;
  }
  return spawnSync('node', ['.build/main.js'], { cwd: root, env, encoding: 'utf8' });
}

const snapshotDir = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

describe('synth', () => {
  it('writes one manifest file per chart', () => {
    const dist = join(work, 'dist-ok');
    const result = synth(undefined, dist);
    expect(result.status).toBe(0);
    expect(readdirSync(dist)).toEqual([
      '00-namespaces.k8s.yaml', '10-prometheus-operator.k8s.yaml', '20-otel-collector.k8s.yaml', '30-prometheus.k8s.yaml', '32-thanos.k8s.yaml',
      '35-alertmanager.k8s.yaml', '40-service-monitors.k8s.yaml', '50-rules.k8s.yaml', '60-grafana.k8s.yaml', '70-dashboards.k8s.yaml', '80-network-policies.k8s.yaml',
    ]);
    expect(readdirSync(work).filter((f) => f.includes('staging') || f.includes('previous'))).toEqual([]);
  });

  const bad: [string, unknown, string][] = [
    ['invalid service name', { services: [{ name: 'Chat Auth' }] }, 'services[0].name'],
    ['duplicate service', { services: [{ name: 'a' }, { name: 'a' }] }, 'services[1].name'],
    ['port out of range', { services: [{ name: 'a', exportMode: 'pull', metricsPort: { name: 'm', port: 0 } }] }, 'services[0].metricsPort.port'],
    ['unknown config key', { services: [{ name: 'a' }], nodePort: 30030 }, 'config.nodePort'],
    ['custom panel with invalid PromQL', { services: [{ name: 'a', customPanels: [{ title: 't', expr: 'rate(x[5m]', unit: 's' }] }] }, 'services[0].customPanels[0].expr'],
    ['threshold that is not a number', { services: [{ name: 'a', slo: { availabilityPercent: '99.9' } }] }, 'services[0].slo.availabilityPercent'],
    ['empty service list', { services: [] }, 'services'],
    ['route to an undefined receiver', { services: [{ name: 'a' }], alertmanager: { criticalReceiver: 'oncall' } }, 'alertmanager.criticalReceiver'],
    ['malformed Alertmanager duration', { services: [{ name: 'a' }], alertmanager: { repeatInterval: '4 hours' } }, 'alertmanager.repeatInterval'],
    ['route matcher on a label no alert carries', { services: [{ name: 'a' }], alertmanager: { routes: [{ receiver: 'null', matchers: [{ name: 'team', value: 'x' }] }] } }, 'alertmanager.routes[0].matchers[0].name'],
    ['API server CIDR that is not one', { services: [{ name: 'a' }], networkPolicies: { apiServerCidrs: ['172.18.0.2'] } }, 'networkPolicies.apiServerCidrs[0]'],
  ];
  it.each(bad)('%s: exits 1 with one line naming the field and the fix, dist/ untouched', (_what, config, field) => {
    const dist = join(work, 'dist-kept');
    expect(synth(undefined, dist).status).toBe(0);
    const before = snapshotDir(dist);
    const dashboardsBefore = snapshotDir(join(work, 'dashboards'));
    const result = synth(config, dist);
    expect(snapshotDir(join(work, 'dashboards'))).toEqual(dashboardsBefore);
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`invalid config: ${field}: `);
    expect(lines[0]).toContain('Fix: ');
    expect(snapshotDir(dist)).toEqual(before);
    expect(readdirSync(work).filter((f) => f.includes('staging') || f.includes('previous'))).toEqual([]);
  });

  it('reports a config file that is not JSON', () => {
    const file = join(work, 'broken.json');
    writeFileSync(file, '{ services: ');
    const result = spawnSync('node', ['.build/main.js'], {
      cwd: root, encoding: 'utf8',
      env: { ...process.env, CHAT_MONITORING_CONFIG: file, CHAT_MONITORING_DIST: join(work, 'dist-json') },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('cannot read it as JSON');
  });
});

describe('npm run synth (scripts/synth.js)', () => {
  /** The environment of a user who set nothing: no CDK8S_CHECK_UPGRADE, no CDK8S_OUTDIR. */
  const userEnv = (extra: Record<string, string>) => {
    const env: Record<string, string> = { ...process.env as Record<string, string>, CHAT_MONITORING_DASHBOARDS: join(work, 'dashboards-npm'), ...extra };
    delete env.CDK8S_CHECK_UPGRADE;
    delete env.CDK8S_OUTDIR;
    return env;
  };
  const run = (extra: Record<string, string>) => spawnSync(process.execPath, ['scripts/synth.js'], { cwd: root, env: userEnv(extra), encoding: 'utf8' });
  const lines = (r: { stdout: string; stderr: string }) => `${r.stdout}${r.stderr}`.trim().split('\n');

  it('prints one line naming where it wrote, and nothing about the cdk8s CLI', () => {
    const dist = join(work, 'dist-npm');
    const r = run({ CHAT_MONITORING_DIST: dist });
    expect(r.status).toBe(0);
    expect(lines(r)).toEqual([`chat-monitoring: wrote ${readdirSync(dist).length} manifest files to ${dist}/ and ${readdirSync(join(work, 'dashboards-npm')).length} dashboards to ${join(work, 'dashboards-npm')}/`]);
  });

  it('on bad config prints only the one-line message and exits 1', () => {
    const file = join(work, 'bad-npm.json');
    writeFileSync(file, JSON.stringify({ services: [{ name: 'Chat Auth' }] }));
    const r = run({ CHAT_MONITORING_DIST: join(work, 'dist-npm-bad'), CHAT_MONITORING_CONFIG: file });
    expect(r.status).toBe(1);
    expect(lines(r)).toEqual([expect.stringMatching(/^chat-monitoring: invalid config: services\[0\]\.name: .*Fix: /)]);
  });
});
