/**
 * The proof: every panel of every synthesized dashboard, its query exactly as written, returns the
 * values known traffic implies, on a real Prometheus evaluating the chart's own rules.
 *
 * Two stacks run side by side (one Prometheus each, traffic driven concurrently):
 * - legacy: dashboards/*.json and the PrometheusRules of dist/50-rules.k8s.yaml, as `npm run synth`
 *   wrote them; the three services on the legacy convention (what they emit today);
 * - stable: the same chart synthesized in memory with every service on the stable convention.
 *
 * Traffic runs 63 s: the recorded series use a 1m window, and the dashboards' `$__rate_interval` is
 * 1m in production (see GRAFANA_RATE_INTERVAL); every query is evaluated at the instant the traffic
 * stopped, so each 1-minute window lies inside the traffic.
 */
import { writeFileSync } from 'fs';
import { CHART_CONFIG } from '../../lib/chart-config';
import { STACK_DASHBOARD_FILE } from '../../lib/dashboards';
import { configWith, defaultConfig, readDist, synthObjects } from '../support/manifests';
import { describeWithPrometheus, sleep } from '../support/prometheus';
import { CONTRACT } from '../support/synthetic-service';
import { DashboardFile, formatRows, panelsOf, provePanels, ProofReport } from './panel-proof';
import { dashboardsFromDir, dashboardsOf, ruleFilesOf, ruleQueryOffsetMs, Stack, startStack } from './stack';
import { CONTRACT_NAMES, driveTraffic, plansFor } from './traffic';

const TRAFFIC_MS = 63_000;

/**
 * The panels the issue asks for, for every service of the config dashboards/ was synthesized from
 * (lib/chart-config.ts); a dashboard that loses one fails here (one without an assertion fails in provePanels).
 */
const SERVICE_PANELS = ['Requests per second', 'Error rate (5xx)', 'p95 latency', 'p99 latency', 'Client errors (4xx)', 'Instances',
  'Requests per second by route', 'Requests per second by status', 'p95 latency by route',
  // the SLO rows the issue asks for: each SLI against its objective, the budgets left, the burn rates
  'Availability SLI (30d)', 'Error budget remaining (30d)', 'Latency SLI (30d)', 'Latency budget remaining (30d)',
  'Error budget burn rate', 'Latency budget burn rate'];
const CONFIG = defaultConfig();
/** The objectives the SLO panels are judged against: the config's (both conventions share them). */
const SLOS = new Map(CONFIG.services.map((s) => [s.name, s.slo]));
const PLANS = plansFor(CONFIG.services);
const hasGauge = CONFIG.services.some((s) => s.websocketGauge);
const EXPECTED_PANELS: Record<string, string[]> = {
  'platform-overview.json': ['Requests per second by service', 'Error rate (5xx) by service', 'p95 latency by service', 'p99 latency by service',
    'Error budget remaining by service', 'Latency budget remaining by service',
    ...(hasGauge ? ['Active WebSocket connections by service'] : [])],
  ...Object.fromEntries(CONFIG.services.map((s) => [`${s.name}.json`, [
    ...SERVICE_PANELS, ...(s.websocketGauge ? ['Active WebSocket connections'] : []), ...s.customPanels.map((p) => p.title)]])),
};
const panelTitles = (dashboards: DashboardFile[]) =>
  Object.fromEntries(dashboards.map((d) => [d.file, panelsOf(d.json).map((p) => p.title).sort()]));
const expectedTitles = Object.fromEntries(Object.entries(EXPECTED_PANELS).map(([f, t]) => [f, [...t].sort()]));

/** Optional: CHAT_MONITORING_PROOF_REPORT=file writes every checked value there. */
function report(name: string, r: ProofReport) {
  const path = process.env.CHAT_MONITORING_PROOF_REPORT;
  if (path) writeFileSync(path, `## ${name}\n${formatRows(r.rows)}\n\n`, { flag: 'a' });
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/**
 * The chat dashboards: the stack's own reads the stack components' self-metrics, which this
 * traffic does not produce; its panels are proven on known series in stack-alerts.promtool.test.ts.
 */
const chatDashboards = (dashboards: DashboardFile[]) => {
  if (!dashboards.some((d) => d.file === STACK_DASHBOARD_FILE)) throw new Error(`no ${STACK_DASHBOARD_FILE} among the dashboards`);
  return dashboards.filter((d) => d.file !== STACK_DASHBOARD_FILE);
};

/** The dashboards with `from` replaced by `to` in every query, or every query rewritten by `to`. */
function mutate(dashboards: readonly DashboardFile[], from: string, to: string): DashboardFile[];
function mutate(dashboards: readonly DashboardFile[], rewrite: (expr: string) => string): DashboardFile[];
function mutate(dashboards: readonly DashboardFile[], from: string | ((expr: string) => string), to = ''): DashboardFile[] {
  const rewrite = typeof from === 'function' ? from : (expr: string) => expr.split(from).join(to);
  return dashboards.map((d) => {
    const json = clone(d.json);
    for (const p of panelsOf(json)) for (const t of (p.targets ?? [])) if (t.expr) t.expr = rewrite(t.expr);
    return { file: d.file, json };
  });
}

describeWithPrometheus('dashboards proven on a real Prometheus with known traffic', () => {
  let legacy: Stack | undefined;
  let stable: Stack | undefined;
  let legacyDashboards: DashboardFile[];
  let stableDashboards: DashboardFile[];
  let stableRuleText: string;
  let time: number;
  let sent: number;

  beforeAll(async () => {
    legacyDashboards = chatDashboards(dashboardsFromDir('dashboards'));
    const legacyObjects = readDist('dist').flatMap((f) => f.objects);
    const legacyRules = ruleFilesOf(legacyObjects);
    const stableObjects = synthObjects(configWith({ services: CHART_CONFIG.services.map((s) => ({ ...s, convention: 'stable' as const })) }));
    stableDashboards = chatDashboards(dashboardsOf(stableObjects));
    const stableRules = ruleFilesOf(stableObjects);
    stableRuleText = JSON.stringify(stableRules);

    // dist/'s services each in the convention the config gives it; the in-memory chart all stable.
    [legacy, stable] = await Promise.all([
      startStack('legacy', PLANS, legacyRules),
      startStack('stable', PLANS.map((p) => ({ ...p, convention: 'stable' as const })), stableRules),
    ]);
    const traffic = await driveTraffic([...legacy.services, ...stable.services], TRAFFIC_MS);
    time = traffic.endTime;
    sent = traffic.sent;
    console.log(`traffic: ${sent} requests in ${TRAFFIC_MS / 1000}s, last ones done ${traffic.drainMs}ms after`); // eslint-disable-line no-console
    // One more scrape and rule evaluation after the last request, and after the instant it stopped
    // lies as far behind as the push services' recording rules evaluate (lib/queries/http.ts).
    await sleep(2500 + Math.max(ruleQueryOffsetMs(legacyObjects), ruleQueryOffsetMs(stableObjects)));
  }, 150_000);

  afterAll(async () => {
    await Promise.all([legacy?.stop(), stable?.stop()]);
  });

  it('the stand-in turns the OTel JS exporter output into the contract names and the collector labels', async () => {
    for (const stack of [legacy!, stable!]) {
      // Each service's series under its own convention's names.
      for (const { plan } of stack.services) {
        const names = (await stack.prometheus.query(`group by (__name__) ({namespace="chat", service="${plan.service}"})`)).map((r) => r.metric.__name__).sort();
        const own = CONTRACT_NAMES[stack.expectations.get(plan.service)!.convention].histogram;
        expect([plan.service, names]).toEqual([plan.service, [`${own}_bucket`, `${own}_count`, `${own}_sum`, ...(plan.websocket ? ['websocket_hub_active_connections'] : [])].sort()]);
      }
      const authConvention = stack.expectations.get('chat-auth')!.convention;
      const c = CONTRACT_NAMES[authConvention];
      const series = await stack.prometheus.query(`${c.histogram}_count{service="chat-auth"}`);
      expect(series.length).toBeGreaterThan(0);
      for (const s of series) {
        expect(s.metric).toMatchObject({ service: 'chat-auth', namespace: 'chat', pod: 'chat-auth-6d9f8b7c5-k2x9q', job: 'chat-auth', instance: 'chat-auth-6d9f8b7c5-k2x9q', otel_scope_name: 'opentelemetry.instrumentation.fastapi' });
        expect(s.metric[c.status]).toMatch(/^[1-5]\d\d$/);
        expect(s.metric[c.route]).toMatch(/^\//);
      }
      const les = (await stack.prometheus.query(`group by (le) (${c.histogram}_bucket{service="chat-auth"})`)).map((r) => (r.metric.le === '+Inf' ? Infinity : Number(r.metric.le))).sort((a, b) => a - b);
      expect(les).toEqual([...CONTRACT[authConvention].buckets, Infinity]);

      // The collector's own target, as the Operator labels it: what OtelCollectorDown looks at.
      const up = await stack.prometheus.query('up{job="otel-collector", namespace="monitoring"}');
      expect(up.map((r) => r.value![1])).toEqual(PLANS.flatMap((p) => p.pods).map(() => '1'));

      // Raw counters are exact: every request sent is counted once, under its service.
      let total = 0;
      for (const { plan } of stack.services) {
        const counted = await stack.prometheus.query(`sum(${CONTRACT_NAMES[stack.expectations.get(plan.service)!.convention].histogram}_count{service="${plan.service}"})`);
        total += Number(counted[0].value![1]);
      }
      expect(total).toBe(sent / 2);
    }
  });

  it('as configured (legacy by default): every panel of dashboards/*.json (rules from dist/) shows the injected values', async () => {
    const r = await provePanels({ prometheus: legacy!.prometheus, dashboards: legacyDashboards, expectations: legacy!.expectations, slos: SLOS, time });
    report('legacy', r);
    expect(panelTitles(legacyDashboards)).toEqual(expectedTitles);
    expect(formatRows(r.failures)).toBe('');
    expect(r.unusedAssertions).toEqual([]);
    console.log(`legacy: ${r.panels} panels, ${r.rows.length} values proven`); // eslint-disable-line no-console
  });

  it('stable convention: every panel of the dashboards and rules synthesized in memory shows the injected values', async () => {
    const r = await provePanels({ prometheus: stable!.prometheus, dashboards: stableDashboards, expectations: stable!.expectations, slos: SLOS, time });
    report('stable', r);
    expect(panelTitles(stableDashboards)).toEqual(expectedTitles);
    expect(formatRows(r.failures)).toBe('');
    expect(r.unusedAssertions).toEqual([]);
    // The stable dashboards' rules really read the stable histogram (not a copy of the legacy ones).
    expect(stableRuleText).toContain('rate(http_server_request_duration_seconds_count{');
    expect(stableRuleText).toContain('rate(http_server_request_duration_seconds_bucket{');
    expect(stableRuleText).not.toContain('milliseconds');
    console.log(`stable: ${r.panels} panels, ${r.rows.length} values proven`); // eslint-disable-line no-console
  });

  it('is not circular: a wrong name, unit or label in a dashboard query fails the proof', async () => {
    const prove = (dashboards: DashboardFile[]) =>
      provePanels({ prometheus: legacy!.prometheus, dashboards, expectations: legacy!.expectations, slos: SLOS, time });
    const failedPanels = (r: ProofReport) => [...new Set(r.failures.map((f) => f.panel))].sort();

    // The panels read recorded series; the raw names, units and labels are in the rules, which the
    // positive proofs above check through the values. Here: the dashboards' own references.
    // A typo in a recorded series name: the panels reading it go empty.
    const typo = await prove(mutate(legacyDashboards, 'service_route:', 'service_routes:'));
    expect(failedPanels(typo)).toEqual(['Requests per second by route', 'p95 latency by route']);
    expect(typo.failures.every((f) => f.observed === 'no data')).toBe(true);

    // ms shown as seconds: p95 by route 1000x too high.
    const msAsSeconds = await prove(mutate(legacyDashboards, 'service_route:http_request_duration_seconds', '1000 * service_route:http_request_duration_seconds'));
    expect(failedPanels(msAsSeconds)).toEqual(['p95 latency by route']);

    // The stable route label on a legacy service: one series with no route instead of one per route.
    const wrongLabel = await prove(mutate(legacyDashboards, (e) => (e.startsWith('service_route:http_requests:') ? `sum by (http_route) (${e})` : e)));
    expect(failedPanels(wrongLabel)).toEqual(['Requests per second by route']);

    // A recorded series that no rule records: the golden signals go empty.
    const recorded = await prove(mutate(legacyDashboards, 'service:http_requests:rate1m', 'service:http_requests:rate5m'));
    expect(failedPanels(recorded)).toEqual(['Requests per second', 'Requests per second by service']);

    // Filtering on the Host header, as the old dashboards did: no data.
    const host = await prove(mutate(legacyDashboards, '{service="chat-auth"', '{http_server_name="auth_backend"'));
    expect(failedPanels(host).length).toBeGreaterThanOrEqual(5);
  });

  it('a panel with no assertion fails the proof', async () => {
    const [first, ...rest] = legacyDashboards;
    const json = clone(first.json);
    (json.panels as unknown[]).push({ type: 'timeseries', title: 'Mystery panel', fieldConfig: { defaults: { unit: 'short' } }, targets: [{ expr: 'vector(1)', refId: 'A' }] });
    const r = await provePanels({ prometheus: legacy!.prometheus, dashboards: [{ file: first.file, json }, ...rest], expectations: legacy!.expectations, slos: SLOS, time });
    expect(r.failures.map((f) => f.observed)).toEqual(['no assertion for panel Mystery panel']);
  });
});
