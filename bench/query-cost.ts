/**
 * Section 3: what a service dashboard's p99 panel costs on a real Prometheus holding >= 10,000
 * series of the chat services' legacy histograms: the raw histogram query against the recorded
 * series the dashboard reads. Data are backfilled with promtool (openmetrics, then the chart's
 * recording rules), then a Prometheus with all the chart's rules loaded answers the queries.
 */
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'fs';
import { join } from 'path';
import { binariesUnavailable } from '../test/support/binaries';
import { PROMETHEUS_BINARIES, PrometheusServer, QueryResult, sleep } from '../test/support/prometheus';
import { backfillRecordingRules, blocks, startWithChartRules } from './lib/backfill-rules';
import { isRecording, panelQuery, readChartOutput, RuleGroup } from './lib/chart-output';
import { mb, median, ms, procStatusKb, ratio, timed } from './lib/measure';
import { Row } from './lib/report';
import { BenchSection } from './lib/section';
import { WORK } from './lib/synth-env';
import { synthSection } from './synth';

/** The contract's legacy histogram buckets (ms), and +Inf. */
export const BUCKETS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
const LE = [...BUCKETS.map(String), '+Inf'];
export const METRIC = 'http_server_duration_milliseconds';
const STEP_S = 15;
const PODS_PER_SERVICE = 4;
export const STATUSES: readonly [number, number][] = [[200, 1], [201, 0.3], [400, 0.1], [401, 0.1], [404, 0.1], [500, 0.05]]; // [status, req/s per pod and route]
export const ROUTES: Record<string, readonly [string, string, number][]> = { // [method, http_target, median latency ms]
  'chat-auth': [['POST', '/sessions/login', 60], ['POST', '/sessions/refresh', 15], ['POST', '/sessions/logout', 10], ['POST', '/users/register', 120],
    ['GET', '/users/me', 12], ['GET', '/users/{user_id}', 14], ['GET', '/users/search', 45], ['PUT', '/users/avatar', 200]],
  'chat-transport': [['GET', '/transportation/health-probe', 5], ['POST', '/transportation/tickets', 20], ['GET', '/transportation/tickets/{ticket}', 8],
    ['POST', '/transportation/broadcast', 35], ['GET', '/transportation/presence', 10], ['POST', '/transportation/typing', 6], ['GET', '/transportation/rooms', 15], ['DELETE', '/transportation/tickets/{ticket}', 9]],
  'chat-messaging': [['GET', '/messaging/chats/get-chats', 40], ['POST', '/messaging/chats/create-chat', 80], ['GET', '/messaging/messages/get-messages', 55],
    ['POST', '/messaging/messages/send-message', 30], ['PUT', '/messaging/messages/edit-message', 35], ['DELETE', '/messaging/messages/delete-message', 25], ['GET', '/messaging/chats/search', 150], ['POST', '/messaging/chats/read', 18]],
};
export const PORTS: Record<string, number> = { 'chat-auth': 8000, 'chat-transport': 8001, 'chat-messaging': 8002 };

/** Deterministic PRNG (mulberry32) so every run backfills the same data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Combo { labels: string; median: number; rate: number; count: number; sum: number; buckets: number[] }

/**
 * Writes the OpenMetrics input: every combination of service x pod x route x status as the
 * collector's prometheus exporter leaves it (job = service, instance = pod from the identity
 * transform, service/namespace/pod datapoint labels, the FastAPI instrumentation's attributes,
 * otel_scope_*), plus the target labels the operator adds when scraping the collector with
 * honorLabels (container, endpoint). 16 le buckets + _sum + _count per combination.
 */
function writeOpenMetrics(path: string, services: readonly string[], startS: number, endS: number): { series: number; samples: number } {
  const rand = prng(42);
  const combos: Combo[] = [];
  for (const svc of services) {
    const routes = ROUTES[svc] ?? ROUTES['chat-messaging'];
    const port = PORTS[svc] ?? 8000;
    for (let p = 0; p < PODS_PER_SERVICE; p++) {
      const pod = `${svc}-6d4f8b7c9-${(Math.floor(rand() * 36 ** 5)).toString(36).padStart(5, '0')}`;
      for (const [method, target, med] of routes) {
        for (const [status, rate] of STATUSES) {
          const host = `${svc}.chat.svc:${port}`;
          const labels = `container="otel-collector",endpoint="prom-exporter",job="${svc}",instance="${pod}",service="${svc}",namespace="chat",pod="${pod}",` +
            `http_method="${method}",http_scheme="http",http_host="${host}",http_flavor="1.1",http_server_name="${host}",net_host_port="${port}",` +
            `http_status_code="${status}",http_target="${target}",otel_scope_name="opentelemetry.instrumentation.fastapi",otel_scope_version="0.59b0"`;
          combos.push({ labels, median: status >= 500 ? med * 4 : status >= 400 ? med / 3 : med, rate, count: 0, sum: 0, buckets: LE.map(() => 0) });
        }
      }
    }
  }
  const fd = openSync(path, 'w');
  let chunk: string[] = [];
  let size = 0;
  let samples = 0;
  const flush = () => {
    writeSync(fd, chunk.join(''));
    chunk = [];
    size = 0;
  };
  for (let t = startS; t <= endS; t += STEP_S) {
    for (const c of combos) {
      if (t > startS) {
        const n = Math.round(c.rate * STEP_S * (0.5 + rand()));
        for (let i = 0; i < n; i++) {
          // log-normal latency around the route's median, whole milliseconds (as the services record them)
          const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
          const v = Math.max(0, Math.round(c.median * Math.exp(0.8 * z)));
          c.count++;
          c.sum += v;
          for (let b = 0; b < BUCKETS.length; b++) if (v <= BUCKETS[b]) c.buckets[b]++;
          c.buckets[BUCKETS.length]++;
        }
      }
      for (let b = 0; b < LE.length; b++) {
        const line = `${METRIC}_bucket{${c.labels},le="${LE[b]}"} ${c.buckets[b]} ${t}\n`;
        chunk.push(line);
        size += line.length;
      }
      chunk.push(`${METRIC}_sum{${c.labels}} ${c.sum} ${t}\n`, `${METRIC}_count{${c.labels}} ${c.count} ${t}\n`);
      samples += LE.length + 2;
      if (size > 8 << 20) flush();
    }
  }
  chunk.push('# EOF\n');
  flush();
  closeSync(fd);
  return { series: combos.length * (LE.length + 2), samples };
}

export interface QueryStats { timings: { evalTotalTime: number; execTotalTime: number }; samples: { totalQueryableSamples: number; peakSamples: number } }
interface RangeResponse { result: QueryResult[]; stats: QueryStats }

export interface Measured { wallMs: number; execMs: number; samples: number; peakSamples: number; result: QueryResult[] }

/** query_range as Grafana sends it (wall time), or with `stats=all` (samples touched, Prometheus's own timings). */
export async function rangeQuery(prom: PrometheusServer, query: string, start: number, end: number, withStats = true, step = STEP_S): Promise<Measured> {
  const t0 = process.hrtime.bigint();
  const data = await prom.api<RangeResponse>('query_range', { query, start, end, step, ...(withStats ? { stats: 'all' } : {}) });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!withStats) return { wallMs, execMs: NaN, samples: NaN, peakSamples: NaN, result: data.result };
  return { wallMs, execMs: data.stats.timings.execTotalTime * 1000, samples: data.stats.samples.totalQueryableSamples, peakSamples: data.stats.samples.peakSamples, result: data.result };
}


export interface QueryCostResults { rows: Row[]; notes: string[] }

const PROM_ARGS = ['--storage.tsdb.retention.time=30d'];

/**
 * The TSDB the queries run on: 2 h of raw histograms at 15 s ending now (OpenMetrics written here,
 * `promtool tsdb create-blocks-from openmetrics`), then the chart's recording rules backfilled every
 * 15 s, its evaluation interval (`create-blocks-from rules`). The note says what was written and how long it took.
 */
async function backfill(workDir: string, services: readonly string[], groups: RuleGroup[]): Promise<{ tsdb: string; endS: number; note: string }> {
  const endS = Math.floor(Date.now() / 1000 / STEP_S) * STEP_S - STEP_S;
  const startS = endS - 2 * 3600;
  const input = join(workDir, 'input.om');
  const tsdb = join(workDir, 'tsdb');
  const [gen, genMs] = timed(() => writeOpenMetrics(input, services, startS, endS));
  const inputBytes = statSync(input).size;
  const [, omMs] = timed(() => PrometheusServer.promtool(['tsdb', 'create-blocks-from', 'openmetrics', '-q', input, tsdb], { check: true }));
  rmSync(input);
  const rules = await backfillRecordingRules({ groups, tsdb, workDir, startS, endS, intervalS: STEP_S, promArgs: PROM_ARGS });
  const rulesMs = rules.ms.reduce((x, y) => x + y, 0);
  const note = `Query-cost data: ${gen.series.toLocaleString('en')} histogram series (${services.length} services x ${PODS_PER_SERVICE} pods x 8 routes x 6 status codes x (16 le + _sum + _count)), ` +
    `${(gen.samples / 1e6).toFixed(1)} M samples, 2 h at 15 s, labels as the collector's prometheus exporter leaves them scraped with honorLabels; ` +
    `OpenMetrics input ${(inputBytes / 2 ** 30).toFixed(2)} GiB written in ${(genMs / 1000).toFixed(1)} s, \`promtool tsdb create-blocks-from openmetrics\` ${(omMs / 1000).toFixed(1)} s, ` +
    `\`create-blocks-from rules\` (the chart's ${groups.flatMap((g) => g.rules).filter(isRecording).length} recording rules, 15 s interval, in ${rules.levels.length} passes by dependency) ${(rulesMs / 1000).toFixed(1)} s.`;
  return { tsdb, endS, note };
}

/** Until every rule group has been evaluated once. */
async function untilEvaluated(prom: PrometheusServer, groups: number): Promise<void> {
  const deadline = Date.now() + STEP_S * 1000 + 5000;
  for (;;) {
    const status = await prom.ruleGroups();
    if (status.length === groups && status.every((g) => !g.lastEvaluation.startsWith('0001'))) break;
    if (Date.now() > deadline) throw new Error('rule groups not evaluated in time');
    await sleep(250);
  }
}

/**
 * How far the recorded query's samples of the hour ending at `endS` are from the raw query at
 * their own timestamps (promtool evaluates each group at its own offset within the 15 s interval).
 */
async function recordedVsRaw(prom: PrometheusServer, recordedQuery: string, rawQuery: string, start: number, endS: number): Promise<{ samples: number; maxRelDiff: number; detail: string }> {
  const recSamples = (await prom.query(`${recordedQuery}[1h]`, endS))[0]?.values ?? [];
  const first = recSamples[0]?.[0] ?? start;
  const last = recSamples[recSamples.length - 1]?.[0] ?? endS;
  const rawAligned = await rangeQuery(prom, rawQuery, first, last, false);
  const rawAt = new Map((rawAligned.result[0]?.values ?? []).map(([t, v]) => [t, Number(v)]));
  const diffs = recSamples.map(([t, v]) => ({ t, rec: Number(v), raw: rawAt.get(t) ?? NaN, rel: Math.abs(Number(v) - (rawAt.get(t) ?? NaN)) / Math.abs(Number(v)) }));
  // The recorded quantile sums per-route rates first: a different float summation order, which can
  // move a rank that falls exactly on a bucket's cumulative count across empty buckets.
  const differing = diffs.filter((d) => !(d.rel <= 1e-9));
  const detail = differing.length === 0 ? '' : ` ${differing.length} sample(s) differ by more than 1e-9: ${differing.slice(0, 3).map((d) => `${d.rec} recorded vs ${d.raw} raw`).join(', ')}`;
  return { samples: recSamples.length, maxRelDiff: Math.max(...diffs.map((d) => d.rel)), detail };
}

/** One service's p99 panel over the hour ending at `endS`, raw against recorded: three rows and a note. */
async function p99PanelCost(prom: PrometheusServer, dashboards: string, svc: string, endS: number, runs: number): Promise<{ rows: Row[]; note: string }> {
  const start = endS - 3600;
  const recordedQuery = panelQuery(dashboards, svc, 'p99 latency');
  const rawQuery = `histogram_quantile(0.99, sum by (le) (rate(${METRIC}_bucket{service="${svc}"}[1m]))) / 1000`;
  await rangeQuery(prom, rawQuery, start, endS);
  await rangeQuery(prom, recordedQuery, start, endS);
  const rawRuns: Measured[] = [];
  const recRuns: Measured[] = [];
  const rawWall: number[] = [];
  const recWall: number[] = [];
  for (let i = 0; i < runs; i++) {
    rawRuns.push(await rangeQuery(prom, rawQuery, start, endS));
    recRuns.push(await rangeQuery(prom, recordedQuery, start, endS));
    rawWall.push((await rangeQuery(prom, rawQuery, start, endS, false)).wallMs);
    recWall.push((await rangeQuery(prom, recordedQuery, start, endS, false)).wallMs);
  }
  if ((recRuns[0].result[0]?.values ?? []).length < 200) throw new Error(`${svc}: recorded query returned too few points`);
  const same = await recordedVsRaw(prom, recordedQuery, rawQuery, start, endS);
  const m = (xs: Measured[], k: keyof Omit<Measured, 'result'>) => median(xs.map((x) => x[k]));
  const sampleRatio = m(rawRuns, 'samples') / m(recRuns, 'samples');
  const execRatio = m(rawRuns, 'execMs') / m(recRuns, 'execMs');
  const wallRatio = median(rawWall) / median(recWall);
  const rows: Row[] = [
    { section: '3', measure: `${svc} p99 panel, 1 h at 15 s step: samples touched, raw vs \`${recordedQuery}\``,
      value: `${m(rawRuns, 'samples').toLocaleString('en')} vs ${m(recRuns, 'samples').toLocaleString('en')}`, ratio: ratio(sampleRatio), target: '≥ 50x', pass: sampleRatio >= 50 },
    { section: '3', measure: `${svc} p99 panel: Prometheus execution time (stats execTotalTime), raw vs recorded`,
      value: `${ms(m(rawRuns, 'execMs'))} vs ${ms(m(recRuns, 'execMs'))}`, ratio: ratio(execRatio), target: '≥ 50x', pass: execRatio >= 50 },
    { section: '3', measure: `${svc} p99 panel: HTTP wall time as Grafana sends it (no stats), raw vs recorded`,
      value: `${ms(median(rawWall))} vs ${ms(median(recWall))}`, ratio: ratio(wallRatio), target: '≥ 50x', pass: wallRatio >= 50 },
  ];
  const note = `${svc}: recorded p99 equals the raw query within ${same.maxRelDiff.toExponential(1)} (relative, worst of ${same.samples} recorded samples);${same.detail} peak samples in memory ${m(rawRuns, 'peakSamples')} vs ${m(recRuns, 'peakSamples')}.`;
  return { rows, note };
}

export async function benchQueryCost(chartDir: string, workDir: string, runs: number): Promise<QueryCostResults> {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const { dashboards, services, groups } = readChartOutput(chartDir);
  const { tsdb, endS, note } = await backfill(workDir, services, groups);
  const notes = [note];

  // Prometheus on the backfilled TSDB with every rule of the chart loaded (recording + alerts).
  const blocksBefore = blocks(tsdb);
  const prom = await startWithChartRules(groups, tsdb, STEP_S, PROM_ARGS);
  const rows: Row[] = [];
  try {
    const seriesLoaded = Number((await prom.query(`count({__name__=~"${METRIC}_.*"})`, endS))[0]?.value?.[1] ?? 0);
    if (seriesLoaded < 10000) throw new Error(`only ${seriesLoaded} series backfilled`);
    notes.push(`Prometheus saw ${seriesLoaded.toLocaleString('en')} histogram series.`);
    const pid = prom.pid!;
    await untilEvaluated(prom, groups.length);
    const idleRss = procStatusKb(pid, 'VmRSS')!;
    for (const svc of services) {
      const panel = await p99PanelCost(prom, dashboards, svc, endS, runs);
      rows.push(...panel.rows);
      notes.push(panel.note);
    }
    const rss = procStatusKb(pid, 'VmRSS')!;
    const hwm = procStatusKb(pid, 'VmHWM')!;
    rows.push({ section: '3', measure: `Prometheus RSS, chart's ${groups.length} rule groups loaded, ${seriesLoaded.toLocaleString('en')} series: idle after first evaluation / after the queries / peak (VmHWM)`,
      value: `${mb(idleRss)} / ${mb(rss)} / ${mb(hwm)}` });
    if (blocks(tsdb).join() !== blocksBefore.join()) notes.push('Note: Prometheus compacted the backfilled blocks during the measurement.');
  } finally {
    await prom.stop();
  }
  rmSync(workDir, { recursive: true, force: true });
  return { rows, notes };
}

/** On the chart synthesized by the synth section. */
export const queryCostSection: BenchSection<QueryCostResults> = {
  name: 'query-cost',
  label: 'query cost',
  needs: [synthSection],
  unavailable: () => binariesUnavailable(PROMETHEUS_BINARIES),
  skippedRow: { section: '3', measure: 'query cost' },
  run: (runs, earlier) => benchQueryCost(earlier.of(synthSection).chartDir, join(WORK, 'query-cost'), runs),
};
