/**
 * Section 3, second part (issue 14): whole service dashboards loaded as Grafana loads them, on Prometheus
 * holding 100,000+ series over 6 hours. Every panel's query is sent as Grafana's Prometheus
 * datasource sends it for a 6 h range on a 1,600 px wide panel; the recorded panels are also
 * measured with the recording rule's expression in their place (what the dashboard would cost
 * without the chart's recording rules).
 *
 * Data: test/tools/prometheus/tsdbgen (Go, the pinned Prometheus module's tsdb package) writes the
 * chat services' duration histograms and the WebSocket gauge straight into TSDB blocks; then
 * `promtool tsdb create-blocks-from rules` records the dashboards' recording rules over the same
 * 6 h. Prometheus then serves the dashboards with every rule of the chart loaded and evaluating.
 */
import { mkdirSync, rmSync } from 'fs';
import { join } from 'path';
import { EXPORTER_PORT_NAME } from '../lib/collector/service-exporters';
import { defaultConfig } from '../test/support/manifests';
import { binariesUnavailable } from '../test/support/binaries';
import { PROMETHEUS_BINARIES, PrometheusServer, sleep } from '../test/support/prometheus';
import { buildTsdbgen, runTsdbgen, tsdbgenUnavailable } from '../test/support/tsdbgen';
import { backfillRecordingRules, startWithChartRules } from './lib/backfill-rules';
import { isRecording, panelQueries, readChartOutput, RuleGroup } from './lib/chart-output';
import { median, ms, ratio } from './lib/measure';
import { Row } from './lib/report';
import { BenchSection } from './lib/section';
import { WORK } from './lib/synth-env';
import { BUCKETS, METRIC, rangeQuery, ROUTES, STATUSES } from './query-cost';
import { synthSection } from './synth';

const MIN_SERIES = 100_000;
const RANGE_S = 6 * 3600;
const PANEL_WIDTH_PX = 1600;
const BLOCK_MS = 2 * 3600 * 1000;
const GAUGE = 'websocket_hub_active_connections';

/** Grafana's interval rounding (its "nice" intervals, @grafana/data rangeutil roundInterval), up to 3 h. */
function grafanaRoundIntervalMs(ms: number): number {
  const steps: [number, number][] = [[1500, 1000], [3500, 2000], [7500, 5000], [12500, 10000], [17500, 15000], [25000, 20000], [45000, 30000], [90000, 60000], [210000, 120000], [450000, 300000],
    [750000, 600000], [1050000, 900000], [1500000, 1200000], [2700000, 1800000], [5400000, 3600000], [9000000, 7200000], [16200000, 10800000]];
  for (const [below, interval] of steps) if (ms < below) return interval;
  throw new Error(`grafanaRoundIntervalMs: ${ms} ms is past the ladder written here (ranges up to about a year on a 1,600 px panel)`);
}

/**
 * What Grafana's Prometheus datasource sends for a panel: step = the range over the panel's
 * width, rounded, never below the datasource's timeInterval (the chart sets the scrape interval);
 * `$__rate_interval` = max(step + scrape interval, 4 x scrape interval); start and end aligned to
 * the step.
 */
export function grafanaRequest(expr: string, nowS: number, rangeS: number, widthPx: number, scrapeS: number) {
  const stepS = Math.max(grafanaRoundIntervalMs((rangeS * 1000) / widthPx) / 1000, scrapeS);
  const rateS = Math.max(stepS + scrapeS, 4 * scrapeS);
  const query = expr.replaceAll('$__rate_interval', `${rateS}s`).replaceAll('$__interval', `${stepS}s`);
  const end = Math.floor(nowS / stepS) * stepS;
  return { query, start: Math.floor((nowS - rangeS) / stepS) * stepS, end, stepS, rateS };
}

/** Pods per service so that services x pods x routes x statuses x (buckets + _sum + _count) >= MIN_SERIES. */
function podsFor(services: number): number {
  const perPod = 8 * STATUSES.length * (BUCKETS.length + 3);
  return Math.ceil(MIN_SERIES / (services * perPod));
}

/**
 * The tsdbgen spec: every service x pod x route x status, labelled as Prometheus stores them after
 * scraping the collector's per-service exporter (honorLabels; the chart's dropped Host-header
 * attributes absent), and one WebSocket gauge per pod of the services that have one.
 */
export function dataSpec(services: string[], pods: number, startMs: number, endMs: number, stepMs: number, blockMs = BLOCK_MS) {
  const config = defaultConfig();
  const combos: object[] = [];
  const gauges: object[] = [];
  for (const svc of services) {
    const service = config.services.find((s) => s.name === svc);
    const namespace = service?.namespace ?? 'chat';
    const hasGauge = service?.websocketGauge !== undefined;
    for (let p = 0; p < pods; p++) {
      const pod = `${svc}-6d4f8b7c9-${p.toString(36).padStart(5, 'x')}`;
      const base = { container: 'otel-collector', endpoint: EXPORTER_PORT_NAME, job: svc, instance: pod, service: svc, namespace, pod };
      if (hasGauge) gauges.push({ labels: { ...base, otel_scope_name: 'chat.websocket' }, mean: 40 });
      for (const [method, target, med] of ROUTES[svc] ?? ROUTES['chat-messaging']) {
        for (const [status, rate] of STATUSES) {
          combos.push({
            labels: { ...base, http_method: method, http_status_code: String(status), http_target: target,
              otel_scope_name: 'opentelemetry.instrumentation.fastapi', otel_scope_version: '0.59b0' },
            medianMs: status >= 500 ? med * 4 : status >= 400 ? med / 3 : med,
            rate,
          });
        }
      }
    }
  }
  return { startMs, endMs, stepMs, blockMs, seed: 42, histogram: METRIC, bounds: BUCKETS, combos, gauge: GAUGE, gauges };
}

export interface DashboardLoadResults { rows: Row[]; notes: string[] }

export type Panel = { title: string; expr: string };
/** Backfilled blocks stay 2 h blocks, as Prometheus keeps its newest data before compacting to 6 h: a compaction while measuring would time the compactor, not the queries. */
export const PROM_ARGS = ['--storage.tsdb.retention.time=30d', '--storage.tsdb.max-block-duration=2h'];

/**
 * 6 h of raw series (and a minute before, so the first step's rate window has data) written by
 * tsdbgen, then the recording rules the dashboards read, and those they read, backfilled over the
 * same range at the chart's evaluation interval.
 */
export async function writeData(workDir: string, services: string[], groups: RuleGroup[], panels: readonly Panel[], scrapeS: number) {
  const nowS = Math.floor(Date.now() / 1000);
  const endMs = Math.floor(nowS / scrapeS) * scrapeS * 1000;
  const startMs = endMs - (RANGE_S + 600) * 1000;
  const pods = podsFor(services.length);
  const tsdb = join(workDir, 'tsdb');
  const { path: gen, buildMs } = buildTsdbgen(workDir);
  const { ms: genMs, ...generated } = runTsdbgen(gen, dataSpec(services, pods, startMs, endMs, scrapeS * 1000), join(workDir, 'spec.json'), tsdb);
  const { levels, ms: rulesMs } = await backfillRecordingRules({ groups, readBy: panels.map((p) => p.expr), tsdb, workDir,
    startS: startMs / 1000, endS: endMs / 1000, intervalS: scrapeS, promArgs: PROM_ARGS });
  const dataNote = (seriesLoaded: number) => `Dashboard-load data: ${seriesLoaded.toLocaleString('en')} series (${services.length} services x ${pods} pods x 8 routes x ${STATUSES.length} status codes x ` +
    `(${BUCKETS.length + 1} le + _sum + _count), plus a WebSocket gauge per chat-transport pod), ${(generated.samples / 1e6).toFixed(0)} M samples, ` +
    `6 h 10 min at the chart's ${scrapeS} s scrape interval, labelled as Prometheus stores the collector's per-service exporters (honorLabels, Host-header attributes dropped). ` +
    `test/tools/prometheus/tsdbgen wrote the 2 h blocks in ${(genMs / 1000).toFixed(1)} s (build ${(buildMs / 1000).toFixed(1)} s); ` +
    `\`promtool tsdb create-blocks-from rules\` recorded what the dashboards read, level by level of dependency (${levels.map((l, i) => `${l.join(', ')}: ${(rulesMs[i] / 1000).toFixed(1)} s`).join('; then ')}).`;
  return { tsdb, endMs, dataNote };
}

/**
 * A panel expression with every recorded series it reads instantly replaced by its rule's
 * expression, recursively. One read over a range (the SLO rules' `avg_over_time(...[30d])`) stays
 * recorded: PromQL takes a range only of a series, so its raw form would be a 30-day subquery.
 */
export function withoutRecordingRules(groups: RuleGroup[]): (expr: string) => string {
  const rules = groups.flatMap((g) => g.rules.filter(isRecording).map((r) => ({ group: g.name, record: String(r.record), expr: String(r.expr) })));
  const escape = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const ruleOf = rules.map((r) => ({ ref: new RegExp(`${escape(`${r.record}{service="${/^(.*)\.recording$/.exec(r.group)?.[1]}"}`)}(?!\\[)`, 'g'), expr: r.expr }));
  const expand = (expr: string): string => {
    let out = expr;
    for (const { ref, expr: e } of ruleOf) out = out.replace(ref, () => `(${e})`);
    return out === expr ? out : expand(out);
  };
  return expand;
}

/** Sends one range query (times in seconds) to where the dashboard reads: Prometheus, or Thanos Query. */
export type RangeSend = (query: string, start: number, end: number, step: number) => Promise<unknown>;

/** Panel queries sent as Grafana sends them for the 6 h range (or `rangeS`), to a Prometheus or through `send` (e.g. to Thanos Query). */
export class GrafanaLoad {
  private readonly send: RangeSend;

  constructor(private readonly target: PrometheusServer | RangeSend, private readonly scrapeS: number, private readonly rangeS = RANGE_S) {
    this.send = target instanceof PrometheusServer ? (q, start, end, step) => rangeQuery(target, q, start, end, false, step) : target;
  }

  request(expr: string) {
    return grafanaRequest(expr, Date.now() / 1000, this.rangeS, PANEL_WIDTH_PX, this.scrapeS);
  }

  /** One panel's Prometheus time (stats execTotalTime). */
  async panelMs(expr: string): Promise<number> {
    if (!(this.target instanceof PrometheusServer)) throw new Error('GrafanaLoad.panelMs reads Prometheus\'s own query stats: give it a PrometheusServer');
    const r = this.request(expr);
    return (await rangeQuery(this.target, r.query, r.start, r.end, true, r.stepS)).execMs;
  }

  /** The whole dashboard as Grafana loads it: every panel's request at once, no stats. */
  async dashboardMs(exprs: readonly string[]): Promise<number> {
    const t0 = process.hrtime.bigint();
    await Promise.all(exprs.map((e) => { const r = this.request(e); return this.send(r.query, r.start, r.end, r.stepS); }));
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }
}

/** One service dashboard as shipped: per-panel time (median of `runs`) and the whole load's wall time. */
async function measureDashboard(load: GrafanaLoad, svc: string, panels: readonly Panel[], runs: number) {
  await load.dashboardMs(panels.map((p) => p.expr)); // warm-up: the first load after a restart
  const perPanel: number[][] = panels.map(() => []);
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const [k, p] of panels.entries()) perPanel[k].push(await load.panelMs(p.expr));
    walls.push(await load.dashboardMs(panels.map((p) => p.expr)));
  }
  const shipped = panels.map((p, k) => ({ title: p.title, ms: median(perPanel[k]) }));
  const slowest = [...shipped].sort((x, y) => y.ms - x.ms);
  const wall = median(walls);
  const rows: Row[] = [
    { section: '3', measure: `${svc} dashboard (${panels.length} panels, 6 h, step ${load.request('').stepS} s): Prometheus time per panel (stats execTotalTime), slowest three`,
      value: slowest.slice(0, 3).map((p) => `${p.title} ${ms(p.ms)}`).join('; '), target: 'every panel < 50 ms', pass: slowest[0].ms < 50 },
    { section: '3', measure: `${svc} dashboard: wall time of all ${panels.length} panel queries sent at once`, value: ms(wall), target: '< 200 ms', pass: wall < 200 },
  ];
  const note = `${svc} dashboard, Prometheus time per panel (median of ${runs}): ${shipped.map((p) => `${p.title} ${ms(p.ms)}`).join(', ')}.`;
  return { rows, note, shipped, wall, slowest: slowest[0] };
}

/**
 * The same dashboard without the recording rules (each recorded series replaced by its rule's
 * expression), one run: one raw load takes minutes at this size.
 */
async function measureRawDashboard(load: GrafanaLoad, svc: string, panels: readonly Panel[], expand: (expr: string) => string, shipped: { ms: number }[], wall: number) {
  const raw = panels.map((p) => ({ title: p.title, expr: expand(p.expr), recorded: expand(p.expr) !== p.expr }));
  const rawPanels: { title: string; ms: number; shipped: number }[] = [];
  for (const [k, p] of raw.entries()) if (p.recorded) rawPanels.push({ title: p.title, ms: await load.panelMs(p.expr), shipped: shipped[k].ms });
  const rawWall = await load.dashboardMs(raw.map((p) => p.expr));
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  const rawSlowest = [...rawPanels].sort((x, y) => y.ms - x.ms)[0];
  const row: Row = { section: '3', measure: `${svc} dashboard without recording rules (one run): its ${rawPanels.length} recorded panels' Prometheus time, raw vs recorded; whole dashboard wall time, raw vs recorded`,
    value: `${ms(sum(rawPanels.map((p) => p.ms)))} vs ${ms(sum(rawPanels.map((p) => p.shipped)))}; ${ms(rawWall)} vs ${ms(wall)}`,
    ratio: `${ratio(sum(rawPanels.map((p) => p.ms)) / sum(rawPanels.map((p) => p.shipped)))}; ${ratio(rawWall / wall)}` };
  const note = `${svc} dashboard without recording rules, Prometheus time per panel: ${rawPanels.map((p) => `${p.title} ${ms(p.ms)}`).join(', ')} (slowest: ${rawSlowest.title}).`;
  return { row, note };
}

/**
 * A fresh `workDir` holding the dashboard-load data (writeData) for the chart synthesized in
 * `chartDir`, with what the measurements read: its services, rule groups, panels and scrape interval.
 */
export async function prepareDashboardData(chartDir: string, workDir: string) {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const { dashboards, services, groups } = readChartOutput(chartDir);
  const scrapeS = Number(defaultConfig().scrapeInterval.replace(/s$/, ''));
  const panelsBy = new Map(services.map((s) => [s, panelQueries(dashboards, s)]));
  return { services, groups, scrapeS, panelsBy, ...await writeData(workDir, services, groups, [...panelsBy.values()].flat(), scrapeS) };
}

export async function benchDashboardLoad(chartDir: string, workDir: string, runs: number): Promise<DashboardLoadResults> {
  const { services, groups, scrapeS, panelsBy, tsdb, endMs, dataNote } = await prepareDashboardData(chartDir, workDir);

  // Prometheus with every rule of the chart evaluating, as in production, serving the dashboards.
  const prom = await startWithChartRules(groups, tsdb, scrapeS, PROM_ARGS);
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    const seriesLoaded = Number((await prom.query(`count({__name__=~"${METRIC}_.*|${GAUGE}"})`, endMs / 1000))[0]?.value?.[1] ?? 0);
    if (seriesLoaded < MIN_SERIES) throw new Error(`dashboard load: only ${seriesLoaded} series in the TSDB, want >= ${MIN_SERIES}`);
    notes.push(dataNote(seriesLoaded));
    await sleep(2 * scrapeS * 1000); // every group evaluated at least once before timing
    const load = new GrafanaLoad(prom, scrapeS);
    let worstPanel = { ms: 0, what: '' };
    for (const svc of services) {
      const panels = panelsBy.get(svc)!;
      const shipped = await measureDashboard(load, svc, panels, runs);
      if (shipped.slowest.ms > worstPanel.ms) worstPanel = { ms: shipped.slowest.ms, what: `${svc} "${shipped.slowest.title}"` };
      rows.push(...shipped.rows);
      notes.push(shipped.note);
      // Without the recording rules: on the first dashboard only.
      if (svc !== services[0]) continue;
      const raw = await measureRawDashboard(load, svc, panels, withoutRecordingRules(groups), shipped.shipped, shipped.wall);
      rows.push(raw.row);
      notes.push(raw.note);
    }
    notes.push(`Dashboard requests as Grafana sends them for a 6 h range on a ${PANEL_WIDTH_PX} px panel: step = max(Grafana's rounding of 6 h / ${PANEL_WIDTH_PX} px, the datasource's timeInterval ${scrapeS} s); ` +
      `\`$__rate_interval\` = max(step + ${scrapeS} s, 4 x ${scrapeS} s); start and end aligned to the step; the stat panel as a range query (Grafana's default). ` +
      `Per-panel times are each query alone with \`stats=all\`; the dashboard wall time sends every panel's query at once without stats (Prometheus runs up to 20 concurrently by default), after one warm-up load. ` +
      `Slowest panel over all dashboards: ${worstPanel.what} ${ms(worstPanel.ms)}.`);
  } finally {
    await prom.stop();
  }
  rmSync(workDir, { recursive: true, force: true });
  return { rows, notes };
}

/** Every service dashboard of the chart synthesized by the synth section, at 100,000+ series over 6 h (a few minutes, most of it the raw variant). */
export const dashboardLoadSection: BenchSection<DashboardLoadResults> = {
  name: 'dashboards',
  label: 'dashboard load',
  needs: [synthSection],
  unavailable: () => binariesUnavailable(PROMETHEUS_BINARIES) ?? tsdbgenUnavailable(),
  skippedRow: { section: '3', measure: 'whole dashboards at 100,000 series' },
  run: (runs, earlier) => benchDashboardLoad(earlier.of(synthSection).chartDir, join(WORK, 'dashboard-load'), Math.min(runs, 5)),
};
