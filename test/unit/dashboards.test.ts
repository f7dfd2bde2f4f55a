/** Dashboards as Grafana's linter and a reviewer would check them. */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { allDashboards, dashboardFileText, STACK_DASHBOARD_FILE } from '../../lib/dashboards';
import { parsePromQL } from '../../lib/queries/promql';
import { recordingRules } from '../../lib/rules/recording';
import { CHART_CONFIG } from '../../lib/chart-config';
import { durationSeconds } from '../../lib/config';
import { configWith, defaultConfig } from '../support/manifests';

/**
 * The default services, the first with a custom panel: the generated chat panels read recorded
 * series only, so without it the raw-rate check below would have nothing to check on them.
 */
const config = configWith({
  services: CHART_CONFIG.services.map((s, i) => (i === 0 ? {
    ...s,
    customPanels: [{ title: 'Logins per second', unit: 'reqps', expr: 'sum(rate(http_server_duration_milliseconds_count{http_target="/sessions/login"}[$__rate_interval]))' }],
  } : s)),
});
const dashboards = allDashboards(config);
/** Every `rate(...[range])` of a query, with its range. */
const rawRates = (expr: string) => [...expr.matchAll(/rate\([^[]+\[([^\]]+)\]/g)].map((m) => m[1]);
const panelsOf = (d: Record<string, any>) => (d.panels as any[]).filter((p) => p.type !== 'row');
const exprs = (d: Record<string, any>): string[] => panelsOf(d).flatMap((p) => p.targets.map((t: any) => t.expr));

describe('committed dashboards/', () => {
  it('hold exactly the generated dashboards (run `npm run synth` after changing lib/)', () => {
    const dir = join(__dirname, '../../dashboards');
    const committed = allDashboards(defaultConfig());
    expect(readdirSync(dir).sort()).toEqual(committed.map((d) => d.fileName).sort());
    for (const d of committed) expect(readFileSync(join(dir, d.fileName), 'utf8')).toBe(dashboardFileText(d));
  });
});

describe('the raw-rate check has raw rates to check', () => {
  it('the custom panel is on its dashboard with its rate over $__rate_interval', () => {
    const ranges = dashboards.filter((d) => d.fileName !== STACK_DASHBOARD_FILE).flatMap((d) => exprs(d.json)).flatMap(rawRates);
    expect(ranges).toEqual(['$__rate_interval']);
  });
  it('the stack dashboard reads raw counters: one rate a panel at least', () => {
    const stack = panelsOf(dashboards.find((d) => d.fileName === STACK_DASHBOARD_FILE)!.json);
    const withRates = stack.filter((p) => p.targets.some((t: any) => rawRates(t.expr).length > 0));
    // All but the gauges: reload success, cluster members (3 Alertmanager replicas by default), objects
    // failing to sync, the sidecars each Thanos Query pod reaches.
    expect(config.alertmanager.replicas).toBeGreaterThan(1);
    expect(withRates.length).toBe(stack.length - 4);
  });
});

describe.each(dashboards.map((d) => [d.fileName, d.json] as const))('%s', (_file, d: Record<string, any>) => {
  it('is read-only, tagged, linked to the others and has a stable uid of at most 40 characters', () => {
    expect(d.editable).toBe(false);
    expect(d.uid.length).toBeLessThanOrEqual(40);
    expect(d.tags).toContain('chat-monitoring');
    expect(d.links).toContainEqual(expect.objectContaining({ type: 'dashboards', tags: ['chat-monitoring'] }));
  });

  it('gives every panel a title, description, unit, unique id and a parseable query', () => {
    const ids = (d.panels as any[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panelsOf(d)) {
      expect(p.title).toBeTruthy();
      expect(p.description).toBeTruthy();
      expect(p.fieldConfig.defaults.unit).toBeTruthy();
      for (const t of p.targets) expect(parsePromQL(t.expr)).toBeNull();
    }
  });

  it('uses $__rate_interval in every raw rate and only takes rates of counters', () => {
    for (const expr of exprs(d)) {
      for (const range of rawRates(expr)) expect(range).toBe('$__rate_interval');
      // Counters and histogram buckets appear only inside rate(); a bare _count is allowed in count(...) for instance counts.
      for (const m of expr.matchAll(/(\w+_(bucket|total|sum))\{/g)) expect(expr).toContain(`rate(${m[1]}`);
    }
  });

  it('never filters on the Host header (http_server_name)', () => {
    for (const expr of exprs(d)) expect(expr).not.toContain('http_server_name');
  });

  it('reads only recorded series that the recording rules define', () => {
    const recorded = new Set(config.services.flatMap((s) => recordingRules(config, s).rules.map((r) => (r as { record: string }).record)));
    for (const expr of exprs(d)) {
      for (const m of expr.matchAll(/\b(service(?:_[a-z]+)*:[a-z_0-9:]+)/g)) expect(recorded).toContain(m[1]);
    }
  });
});

describe('service dashboards', () => {
  const byTitle = (file: string) => new Map(panelsOf(dashboards.find((d) => d.fileName === file)!.json).map((p) => [p.title, p]));

  it.each(config.services.map((s) => `${s.name}.json`))('%s shows RPS, p95, p99 and error rate with units', (file) => {
    const panels = byTitle(file);
    expect(panels.get('Requests per second')?.fieldConfig.defaults.unit).toBe('reqps');
    expect(panels.get('p95 latency')?.fieldConfig.defaults.unit).toBe('s');
    expect(panels.get('p99 latency')?.fieldConfig.defaults.unit).toBe('s');
    expect(panels.get('Error rate (5xx)')?.fieldConfig.defaults.unit).toBe('percentunit');
    expect(panels.get('Client errors (4xx)')?.fieldConfig.defaults.unit).toBe('percentunit');
  });

  it.each(config.services.map((s) => [s.name, s] as const))('%s shows active WebSocket connections exactly when it has a gauge', (name, s) => {
    const panel = byTitle(`${name}.json`).get('Active WebSocket connections');
    if (s.websocketGauge) expect(panel?.targets[0].expr).toBe(`sum by (service) (last_over_time(${s.websocketGauge}{service="${name}"}[${durationSeconds(config.collector.metricExpiration) + durationSeconds(config.scrapeInterval) + 10}s]))`);
    else expect(panel).toBeUndefined();
  });
  it('default config: chat-transport is the one with a WebSocket gauge', () => {
    expect(config.services.filter((s) => s.websocketGauge).map((s) => s.name)).toEqual(['chat-transport']);
  });

  it.each(config.services.map((s) => [s.name, s] as const))('%s reads every HTTP panel from one of its own recorded series (6 h at 100k series stays cheap)', (name, s) => {
    const records = new Set(recordingRules(config, s).rules.map((r) => (r as { record: string }).record));
    const http = panelsOf(dashboards.find((d) => d.fileName === `${name}.json`)!.json).filter((p) => !p.title.includes('WebSocket'))
      .filter((p) => !s.customPanels.some((c) => c.title === p.title)); // the user's own query
    expect(http.length).toBeGreaterThanOrEqual(15);
    for (const p of http) {
      const expr: string = p.targets[0].expr;
      const selectors = [...expr.matchAll(/([a-z_0-9:]+)\{service="([^"]+)"\}/g)];
      expect([p.title, selectors.length > 0, /\brate\(/.test(expr)]).toEqual([p.title, true, false]);
      for (const m of selectors) expect([p.title, m[2], records.has(m[1])]).toEqual([p.title, name, true]);
    }
  });

  it('records the stable convention in seconds and the legacy one converted from milliseconds', () => {
    const two = configWith({ services: [{ name: 'old' }, { name: 'new', convention: 'stable' }] });
    const rule = (i: number, record: RegExp) => recordingRules(two, two.services[i]).rules.find((r) => record.test((r as { record: string }).record))!.expr;
    expect(rule(0, /^service_route_le:/)).toContain('rate(http_server_duration_milliseconds_bucket{service="old"}[1m])');
    expect(rule(1, /^service_route_le:/)).toContain('rate(http_server_request_duration_seconds_bucket{service="new"}[1m])');
    for (const record of [/^service_route:http_request_duration_seconds:p95/, /^service:http_request_duration_seconds:p99/]) {
      expect(rule(0, record)).toMatch(/service_route_le:http_server_duration_milliseconds_bucket:rate1m\{service="old"\}\)+ \/ 1000$/);
      expect(rule(1, record)).toMatch(/service_route_le:http_server_request_duration_seconds_bucket:rate1m\{service="new"\}\)+$/);
    }
  });

  it('appends custom panels after validating them', () => {
    const custom = allDashboards(configWith({
      services: [...CHART_CONFIG.services.slice(0, 1), { name: 'chat-extra', customPanels: [{ title: 'Queue depth', expr: 'sum(queue_depth{service="chat-extra"})', unit: 'short' }] }],
    }));
    const panels = panelsOf(custom.find((d) => d.fileName === 'chat-extra.json')!.json);
    expect(panels[panels.length - 1]).toMatchObject({ title: 'Queue depth', fieldConfig: { defaults: { unit: 'short' } } });
  });

  it('have unique uids, also for long service names', () => {
    const long = allDashboards(configWith({ services: [{ name: `${'a'.repeat(38)}-1` }, { name: `${'a'.repeat(38)}-2` }] }));
    const uids = long.map((d) => d.json.uid as string);
    expect(new Set(uids).size).toBe(uids.length);
    for (const uid of uids) expect(uid.length).toBeLessThanOrEqual(40);
  });
});

describe('the monitoring-stack dashboard', () => {
  const stackOf = (c = config) => allDashboards(c).find((d) => d.fileName === STACK_DASHBOARD_FILE)!.json;
  const titles = (c = config) => panelsOf(stackOf(c)).map((p) => p.title);
  const COLLECTOR_PANELS = ['Metric points accepted per second', 'Metric points refused per second',
    'Metric points failed to export per second', 'Unattributed points dropped per second'];

  it('has its own uid and is listed with the others', () => {
    expect(stackOf().uid).toBe('cm-monitoring-stack');
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(dashboards.length);
  });

  it('shows the collector only with a push service, the cluster members only with more than one Alertmanager replica', () => {
    expect(titles()).toEqual(expect.arrayContaining(COLLECTOR_PANELS));
    const allPull = configWith({ services: [{ name: 'a', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464 } }] });
    expect(titles(allPull).filter((t) => COLLECTOR_PANELS.includes(t))).toEqual([]);
    // The default is a cluster of 3; one replica has no cluster to show.
    expect(config.alertmanager.replicas).toBe(3);
    const members = panelsOf(stackOf()).find((p) => p.title === 'Cluster members seen by each pod');
    expect(members?.description).toContain('all should see 3');
    const five = panelsOf(stackOf(configWith({ alertmanager: { replicas: 5 } }))).find((p) => p.title === 'Cluster members seen by each pod');
    expect(five?.description).toContain('all should see 5');
    const single = configWith({ alertmanager: { replicas: 1 } });
    expect(titles(single)).not.toContain('Cluster members seen by each pod');
    expect(titles(single).length).toBe(titles().length - 1);
  });

  it('reads every component\'s own target in the chart\'s namespace, as its ServiceMonitor labels it', () => {
    const targets = ['job="prometheus", namespace="monitoring", endpoint="web"', 'job="alertmanager", namespace="monitoring", endpoint="web"',
      'job="prometheus-operator", namespace="monitoring", endpoint="http"', 'job="otel-collector", namespace="monitoring", endpoint="metrics"',
      'job="thanos-query", namespace="monitoring", endpoint="http"'];
    expect(config.namespace).toBe('monitoring');
    for (const expr of exprs(stackOf())) {
      const selectors = [...expr.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
      expect(selectors.length).toBeGreaterThan(0);
      for (const s of selectors) expect(targets.some((t) => s.includes(t))).toBe(true);
    }
    const other = exprs(stackOf(configWith({ namespace: 'observability' })));
    for (const expr of other) expect(expr).not.toContain('namespace="monitoring"');
  });
});
