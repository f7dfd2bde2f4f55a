/**
 * Runs every panel query of synthesized dashboards, as written, against a real Prometheus and
 * checks each against the values the known traffic implies. One assertion per panel title; a
 * panel whose title has no assertion is a failure, so a new panel cannot go unproven.
 */
import type { PrometheusServer, QueryResult } from '../support/prometheus';
import { Band, CONTRACT_NAMES, Expectation } from './traffic';

export interface DashboardFile {
  /** File name in dashboards/ (or key of the dashboard ConfigMap), e.g. chat-auth.json. */
  readonly file: string;
  readonly json: Record<string, unknown>;
}

interface Panel {
  type: string;
  title: string;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { expr?: string; refId?: string }[];
  panels?: Panel[];
}

/** Every non-row panel, including those inside collapsed rows. */
export function panelsOf(dashboard: Record<string, unknown>): Panel[] {
  const out: Panel[] = [];
  const walk = (ps: Panel[] | undefined) => {
    for (const p of ps ?? []) {
      if (p.type === 'row') walk(p.panels);
      else out.push(p);
    }
  };
  walk(dashboard.panels as Panel[]);
  return out;
}

/**
 * What Grafana sends to Prometheus. `$__rate_interval` is max($__interval + scrape interval,
 * 4 x scrape interval) with the datasource's timeInterval as the scrape interval; the chart sets
 * timeInterval to the production scrape interval (15s), so at any dashboard range up to a few
 * hours Grafana sends 1m. The proof substitutes that production value (the test itself scrapes
 * every 1s, which only makes the 1m windows denser). Dashboard template variables are replaced
 * by their current value; a variable the dashboard does not define is an error.
 */
export const GRAFANA_RATE_INTERVAL = '1m';

export function grafanaInterpolate(expr: string, dashboard: Record<string, unknown>): string {
  const vars = new Map<string, string>();
  const list = ((dashboard.templating as { list?: { name: string; type?: string; current?: { value?: unknown } }[] })?.list) ?? [];
  for (const v of list) {
    const value = v.current?.value;
    if (typeof value === 'string') vars.set(v.name, value);
    else if (Array.isArray(value)) vars.set(v.name, value.length === 1 ? String(value[0]) : `(${value.join('|')})`);
  }
  return expr
    .replace(/\$__rate_interval\b|\$\{__rate_interval\}/g, GRAFANA_RATE_INTERVAL)
    .replace(/\$__interval\b|\$\{__interval\}/g, GRAFANA_RATE_INTERVAL)
    .replace(/\$__range\b|\$\{__range\}/g, '1h')
    .replace(/\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a: string | undefined, b: string | undefined) => {
      const name = a ?? b ?? '';
      const value = vars.get(name);
      if (value === undefined) throw new Error(`undefined dashboard variable ${m}`);
      return value;
    });
}

/** What the panel's unit says a value means. */
function unitScale(unit: string | undefined, kind: 'rate' | 'ratio' | 'seconds' | 'count'): number | string {
  const table: Record<string, Record<string, number>> = {
    rate: { reqps: 1, ops: 1, 'req/s': 1 },
    ratio: { percentunit: 1, percent: 100 },
    seconds: { s: 1, ms: 1000, µs: 1e6 },
    count: { short: 1, none: 1 },
  };
  const scale = unit === undefined ? undefined : table[kind][unit];
  return scale ?? `unit "${unit}" does not show a ${kind}`;
}

export interface CheckRow {
  readonly dashboard: string;
  readonly panel: string;
  readonly series: string;
  readonly expected: string;
  readonly observed: string;
  readonly ok: boolean;
}

/** A service's objectives, from the config under test: what the SLO panels compare against. */
export interface ProofSlo {
  readonly availabilityPercent: number;
  readonly latencyPercent: number;
  readonly latencyThresholdSeconds: number;
}

interface PanelContext {
  readonly dashboard: string;
  readonly panel: string;
  readonly unit: string | undefined;
  /** Service of a service dashboard; undefined on the overview. */
  readonly service: string | undefined;
  readonly expectations: ReadonlyMap<string, Expectation>;
  readonly slos: ReadonlyMap<string, ProofSlo>;
  readonly result: QueryResult[];
}

type PanelAssertion = (ctx: PanelContext) => CheckRow[];

const fmt = (n: number) => (Number.isFinite(n) ? Number(n.toPrecision(5)).toString() : String(n));
const valueOf = (r: QueryResult) => Number(r.value?.[1]);

/** How close a value must be. */
type Tolerance = { kind: 'relative'; of: number } | { kind: 'absolute'; of: number } | { kind: 'exact' } | { kind: 'band' };
const RPS: Tolerance = { kind: 'relative', of: 0.10 };
const RATIO: Tolerance = { kind: 'absolute', of: 0.02 };
const EXACT: Tolerance = { kind: 'exact' };
const BUCKET: Tolerance = { kind: 'band' };

function judge(observed: number, expected: number | Band, tol: Tolerance, scale: number): { ok: boolean; expected: string } {
  if (typeof expected !== 'number') {
    // Within the histogram bucket that holds the true quantile.
    const lo = expected.lo * scale;
    const hi = expected.hi * scale;
    return { ok: observed >= lo - 1e-9 && observed <= hi + 1e-9, expected: `${fmt(expected.expected * scale)} (bucket ${fmt(lo)}..${fmt(hi)})` };
  }
  const e = expected * scale;
  switch (tol.kind) {
    case 'relative': return { ok: Math.abs(observed - e) <= tol.of * Math.abs(e), expected: `${fmt(e)} ±${tol.of * 100}%` };
    case 'absolute': return { ok: Math.abs(observed - e) <= tol.of * scale, expected: `${fmt(e)} ±${fmt(tol.of * scale)}` };
    case 'exact': return { ok: observed === e, expected: `${fmt(e)} exactly` };
    default: return { ok: false, expected: `${fmt(e)} (band tolerance needs a band)` };
  }
}

/**
 * Series of the result keyed by one label; the keys must be exactly the expected ones.
 * `key` undefined: the result must be exactly one series (for the service dashboard's service).
 */
function compare(ctx: PanelContext, kind: 'rate' | 'ratio' | 'seconds' | 'count', tol: Tolerance, key: string | undefined,
  expected: ReadonlyMap<string, number | Band>): CheckRow[] {
  const base = { dashboard: ctx.dashboard, panel: ctx.panel };
  const scale = unitScale(ctx.unit, kind);
  if (typeof scale === 'string') return [{ ...base, series: '*', expected: kind, observed: scale, ok: false }];
  const rows: CheckRow[] = [];
  const seen = new Set<string>();
  for (const r of ctx.result) {
    const k = key === undefined ? [...expected.keys()][0] : r.metric[key];
    const name = key === undefined ? `${JSON.stringify(r.metric)}` : `${key}=${k}`;
    if (k === undefined || !expected.has(k)) {
      rows.push({ ...base, series: name, expected: `only ${[...expected.keys()].join(', ')}`, observed: `${fmt(valueOf(r))}`, ok: false });
      continue;
    }
    if (seen.has(k)) {
      rows.push({ ...base, series: name, expected: 'one series', observed: 'duplicate', ok: false });
      continue;
    }
    seen.add(k);
    // On a service dashboard a series that says which service it is must say the right one.
    if (ctx.service && r.metric.service !== undefined && r.metric.service !== ctx.service) {
      rows.push({ ...base, series: name, expected: `service=${ctx.service}`, observed: `service=${r.metric.service}`, ok: false });
      continue;
    }
    const observed = valueOf(r);
    const verdict = judge(observed, expected.get(k)!, tol, scale);
    rows.push({ ...base, series: key === undefined ? ctx.service ?? '-' : name, expected: verdict.expected, observed: fmt(observed), ok: verdict.ok });
  }
  for (const k of expected.keys()) {
    if (!seen.has(k)) rows.push({ ...base, series: key === undefined ? ctx.service ?? k : `${key}=${k}`, expected: 'a series', observed: 'no data', ok: false });
  }
  return rows;
}

const own = (ctx: PanelContext): Expectation => {
  const e = ctx.service && ctx.expectations.get(ctx.service);
  if (!e) throw new Error(`panel "${ctx.panel}" of ${ctx.dashboard} needs a service dashboard with known traffic`);
  return e;
};
const single = (v: number | Band, ctx: PanelContext) => new Map([[ctx.service ?? '-', v]]);
const perService = (ctx: PanelContext, pick: (e: Expectation) => number | Band | undefined) =>
  new Map([...ctx.expectations].flatMap(([s, e]): [string, number | Band][] => {
    const v = pick(e);
    return v === undefined ? [] : [[s, v]];
  }));

/**
 * The SLO panels: each SLI's bad share over any window is the traffic's (the mix is the same in
 * every window), so burn rates are that share over the budget and the budget left is 1 minus it.
 * A ratio's tolerance becomes `RATIO / budget` in budget units.
 */
type SliKind = 'availability' | 'latency';
function sloOf(ctx: PanelContext, service: string): ProofSlo {
  const slo = ctx.slos.get(service);
  if (!slo) throw new Error(`no SLO settings for ${service}`);
  return slo;
}
const budgetOf = (slo: ProofSlo, sli: SliKind) => 1 - (sli === 'availability' ? slo.availabilityPercent : slo.latencyPercent) / 100;
const badShare = (e: Expectation, slo: ProofSlo, sli: SliKind) => (sli === 'availability' ? e.errorRatio : e.slowShare(slo.latencyThresholdSeconds));
const budgetTolerance = (slo: ProofSlo, sli: SliKind): Tolerance => ({ kind: 'absolute', of: RATIO.of / budgetOf(slo, sli) });

const sliPanel = (sli: SliKind): PanelAssertion => (ctx) => {
  const slo = sloOf(ctx, ctx.service ?? '');
  return compare(ctx, 'ratio', RATIO, undefined, single(1 - badShare(own(ctx), slo, sli), ctx));
};
const budgetRemainingPanel = (sli: SliKind): PanelAssertion => (ctx) => {
  const slo = sloOf(ctx, ctx.service ?? '');
  return compare(ctx, 'ratio', budgetTolerance(slo, sli), undefined, single(1 - badShare(own(ctx), slo, sli) / budgetOf(slo, sli), ctx));
};
/** One series per alert tier's long window (label `window`), each burning at the same rate. */
const BURN_WINDOWS = ['1h', '6h', '1d', '3d'];
const burnRatePanel = (sli: SliKind): PanelAssertion => (ctx) => {
  const slo = sloOf(ctx, ctx.service ?? '');
  const burn = badShare(own(ctx), slo, sli) / budgetOf(slo, sli);
  return compare(ctx, 'count', budgetTolerance(slo, sli), 'window', new Map(BURN_WINDOWS.map((w) => [w, burn])));
};
const budgetRemainingByService = (sli: SliKind): PanelAssertion => (ctx) => {
  // Each service's own budget; the tolerance of the tightest budget shown.
  const slos = [...ctx.expectations.keys()].map((s) => sloOf(ctx, s));
  const tol = budgetTolerance(slos.reduce((a, b) => (budgetOf(a, sli) < budgetOf(b, sli) ? a : b)), sli);
  return compare(ctx, 'ratio', tol, 'service', new Map([...ctx.expectations].map(([s, e]) => {
    const slo = sloOf(ctx, s);
    return [s, 1 - badShare(e, slo, sli) / budgetOf(slo, sli)];
  })));
};

/** The proof's assertions, keyed by panel title. */
export const PANEL_ASSERTIONS: Readonly<Record<string, PanelAssertion>> = {
  // service dashboards: golden signals
  'Requests per second': (ctx) => compare(ctx, 'rate', RPS, undefined, single(own(ctx).rps, ctx)),
  'Error rate (5xx)': (ctx) => compare(ctx, 'ratio', RATIO, undefined, single(own(ctx).errorRatio, ctx)),
  'p95 latency': (ctx) => compare(ctx, 'seconds', BUCKET, undefined, single(own(ctx).p95, ctx)),
  'p99 latency': (ctx) => compare(ctx, 'seconds', BUCKET, undefined, single(own(ctx).p99, ctx)),
  // service dashboards: breakdown
  'Client errors (4xx)': (ctx) => compare(ctx, 'ratio', RATIO, undefined, single(own(ctx).clientErrorRatio, ctx)),
  Instances: (ctx) => compare(ctx, 'count', EXACT, undefined, single(own(ctx).instances, ctx)),
  'Requests per second by route': (ctx) => compare(ctx, 'rate', RPS, CONTRACT_NAMES[own(ctx).convention].route, new Map(Object.entries(own(ctx).rpsByRoute))),
  'Requests per second by status': (ctx) => compare(ctx, 'rate', RPS, CONTRACT_NAMES[own(ctx).convention].status, new Map(Object.entries(own(ctx).rpsByStatus))),
  'p95 latency by route': (ctx) => compare(ctx, 'seconds', BUCKET, CONTRACT_NAMES[own(ctx).convention].route, new Map(Object.entries(own(ctx).p95ByRoute))),
  'Active WebSocket connections': (ctx) => {
    const n = own(ctx).websocketConnections;
    if (n === undefined) return [{ dashboard: ctx.dashboard, panel: ctx.panel, series: '-', expected: 'no WebSocket panel', observed: 'panel', ok: false }];
    return compare(ctx, 'count', EXACT, undefined, single(n, ctx));
  },
  // service dashboards: service level and budget burn
  'Availability SLI (30d)': sliPanel('availability'),
  'Latency SLI (30d)': sliPanel('latency'),
  'Error budget remaining (30d)': budgetRemainingPanel('availability'),
  'Latency budget remaining (30d)': budgetRemainingPanel('latency'),
  'Error budget burn rate': burnRatePanel('availability'),
  'Latency budget burn rate': burnRatePanel('latency'),
  // platform overview: every service side by side
  'Requests per second by service': (ctx) => compare(ctx, 'rate', RPS, 'service', perService(ctx, (e) => e.rps)),
  'Error rate (5xx) by service': (ctx) => compare(ctx, 'ratio', RATIO, 'service', perService(ctx, (e) => e.errorRatio)),
  'p95 latency by service': (ctx) => compare(ctx, 'seconds', BUCKET, 'service', perService(ctx, (e) => e.p95)),
  'p99 latency by service': (ctx) => compare(ctx, 'seconds', BUCKET, 'service', perService(ctx, (e) => e.p99)),
  'Active WebSocket connections by service': (ctx) => compare(ctx, 'count', EXACT, 'service', perService(ctx, (e) => e.websocketConnections)),
  'Error budget remaining by service': budgetRemainingByService('availability'),
  'Latency budget remaining by service': budgetRemainingByService('latency'),
};

export interface ProofInput {
  readonly prometheus: Pick<PrometheusServer, 'query'>;
  readonly dashboards: readonly DashboardFile[];
  /** Known traffic per service name. */
  readonly expectations: ReadonlyMap<string, Expectation>;
  /** Each service's objectives, from the config the dashboards were synthesized from. */
  readonly slos: ReadonlyMap<string, ProofSlo>;
  /** Evaluation time (unix seconds). */
  readonly time: number;
  readonly assertions?: Readonly<Record<string, PanelAssertion>>;
}

export interface ProofReport {
  readonly rows: CheckRow[];
  readonly failures: CheckRow[];
  readonly panels: number;
  /** Assertion titles no panel used. */
  readonly unusedAssertions: string[];
}

/** Evaluates every target of every panel and judges it; never throws for a wrong panel, reports it. */
export async function provePanels(input: ProofInput): Promise<ProofReport> {
  const assertions = input.assertions ?? PANEL_ASSERTIONS;
  const rows: CheckRow[] = [];
  const used = new Set<string>();
  let panels = 0;
  for (const d of input.dashboards) {
    const service = d.file === 'platform-overview.json' ? undefined : d.file.replace(/\.json$/, '');
    for (const p of panelsOf(d.json)) {
      panels++;
      const base = { dashboard: d.file, panel: p.title };
      const assertion = Object.prototype.hasOwnProperty.call(assertions, p.title) ? assertions[p.title] : undefined;
      if (!assertion) {
        rows.push({ ...base, series: '-', expected: 'an assertion', observed: `no assertion for panel ${p.title}`, ok: false });
        continue;
      }
      used.add(p.title);
      const targets = (p.targets ?? []).filter((t) => t.expr);
      if (targets.length === 0) {
        rows.push({ ...base, series: '-', expected: 'a query', observed: 'panel has no query', ok: false });
        continue;
      }
      const result: QueryResult[] = [];
      try {
        for (const t of targets) result.push(...await input.prometheus.query(grafanaInterpolate(t.expr!, d.json), input.time));
        rows.push(...assertion({ dashboard: d.file, panel: p.title, unit: p.fieldConfig?.defaults?.unit, service, expectations: input.expectations, slos: input.slos, result }));
      } catch (e) {
        rows.push({ ...base, series: '-', expected: 'a result', observed: (e as Error).message, ok: false });
      }
    }
  }
  return { rows, failures: rows.filter((r) => !r.ok), panels, unusedAssertions: Object.keys(assertions).filter((t) => !used.has(t)) };
}

export function formatRows(rows: readonly CheckRow[]): string {
  return rows.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.dashboard} | ${r.panel} | ${r.series} | expected ${r.expected} | observed ${r.observed}`).join('\n');
}

/** A rule of a PrometheusRule's groups: a recording rule has `record`. */
export interface RuleOfGroup {
  readonly record?: string;
  readonly expr: string;
}

export interface RuleProofInput extends Omit<ProofInput, 'dashboards' | 'assertions'> {
  /** Every rule of every PrometheusRule under test. */
  readonly rules: readonly RuleOfGroup[];
  /** The configured services, each with the convention its series follow. */
  readonly services: readonly { readonly name: string; readonly convention: 'legacy' | 'stable' }[];
  /** The config's recordingWindow: the request rate recorded over it is the one a panel shows. */
  readonly recordingWindow: string;
}

export interface RuleProofReport {
  /** Recorded series names. */
  readonly records: number;
  /** Values proven. */
  readonly proven: number;
  /** One line a failure. */
  readonly failures: string[];
}

/**
 * Every recording rule's series for every service, judged as the panel that shows it is (through
 * provePanels, one probe dashboard per service whose one panel is the recorded series).
 */
export async function proveRecordingRules(input: RuleProofInput): Promise<RuleProofReport> {
  /**
   * The panel assertion (and so the tolerance) each recorded series is judged by, by its name, and
   * the query that turns it into what that panel shows (the series itself when none): a window's
   * burn rate b is judged as the budget left, 1 - b, since every window holds the same mix.
   */
  const ASSERTION_OF: [RegExp, string, string, ((selector: string) => string)?][] = [
    [/^service:http_requests:rate/, 'Requests per second', 'reqps'],
    [/^service:http_request_errors:ratio_rate/, 'Error rate (5xx)', 'percentunit'],
    [/^service:http_request_client_errors:ratio_rate/, 'Client errors (4xx)', 'percentunit'],
    [/^service:http_request_duration_seconds:p95_rate/, 'p95 latency', 's'],
    [/^service:http_request_duration_seconds:p99_rate/, 'p99 latency', 's'],
    [/^service_route:http_requests:rate/, 'Requests per second by route', 'reqps'],
    [/^service_status:http_requests:rate/, 'Requests per second by status', 'reqps'],
    [/^service_route:http_request_duration_seconds:p95_rate/, 'p95 latency by route', 's'],
    [/^service:http_server_pods:count$/, 'Instances', 'short'],
    [/^service:http_requests_slow:ratio_rate/, 'Latency SLI (30d)', 'percentunit', (x) => `1 - ${x}`],
    [/^service:slo_availability_budget_burn:rate/, 'Error budget remaining (30d)', 'percentunit', (x) => `1 - ${x}`],
    [/^service:slo_latency_budget_burn:rate/, 'Latency budget remaining (30d)', 'percentunit', (x) => `1 - ${x}`],
    [/^service:slo_availability_budget_remaining:/, 'Error budget remaining (30d)', 'percentunit'],
    [/^service:slo_latency_budget_remaining:/, 'Latency budget remaining (30d)', 'percentunit'],
  ];
  /**
   * Series no panel shows, proven through the recorded series that read them: the bucket rates
   * (through the quantiles), the bad-event rates and the request rates averaged over the SLO
   * windows (through the burn rates; such an average also holds the first minutes of a run, when
   * rates read low, so it is no requests-per-second reading).
   */
  const w = input.recordingWindow;
  const PROVEN_THROUGH_READERS = new RegExp(`^service_route_le:|^service:http_request_errors:rate|^service:http_requests_slow:rate|^service:http_requests:rate(?!${w}$)`);
  const rules = input.rules;
  const records = [...new Set(rules.map((r) => r.record).filter(Boolean))] as string[];
  const failures: string[] = [];
  if (records.length === 0) failures.push('FAIL no recording rule');
  let proven = 0;
  for (const record of records) {
    const match = ASSERTION_OF.find(([re]) => re.test(record));
    if (PROVEN_THROUGH_READERS.test(record)) {
      const readers = rules.filter((r) => r.record && r.expr.includes(`${record}{`) && ASSERTION_OF.some(([re]) => re.test(r.record!)));
      if (readers.length === 0) failures.push(`FAIL ${record}: no proven recording rule reads it`);
      continue;
    }
    if (!match) {
      failures.push(`FAIL ${record}: no assertion for this recording rule`);
      continue;
    }
    const [, title, unit, probe] = match;
    // One dashboard per service whose one panel is the recorded series: judged as that panel is,
    // with the labels of the service's own convention (by-route series carry its route label).
    for (const convention of ['legacy', 'stable'] as const) {
      const probes = input.services.filter((s) => s.convention === convention).map((s) => ({
        file: `${s.name}.json`,
        json: { panels: [{ type: 'stat', title, fieldConfig: { defaults: { unit } }, targets: [{ expr: (probe ?? ((x: string) => x))(`${record}{service="${s.name}"}`), refId: 'A' }] }] },
      }));
      if (probes.length === 0) continue;
      const r = await provePanels({ prometheus: input.prometheus, dashboards: probes, expectations: input.expectations, slos: input.slos, time: input.time });
      proven += r.rows.length;
      failures.push(...r.failures.map((f) => `FAIL ${record} | ${f.dashboard} | expected ${f.expected} | observed ${f.observed}`));
    }
  }
  return { records: records.length, proven, failures };
}
