/**
 * Section 6 (issue 14, 1 and the first half of 2): the real collector (otelcol-chat, built by
 * `npm run binaries`) under OTLP load shaped like the real chat services (bench/lib/otlp-load.ts).
 *
 * Variants, on the same binary and the same load:
 *  - chart: the chart's synthesized collector config (memory_limiter, k8sattributes stubbed by
 *    withKubernetesIdentity() exactly as test/support/collector.ts does, identity transform, filter,
 *    attribute drop + aggregate, batch, routing connector, one prometheus exporter per service);
 *  - bare: otlp -> prometheus, nothing between;
 *  - stub only: otlp -> the k8sattributes stub -> prometheus, so the stub's own cost (an OTTL
 *    `where` per pod and attribute, where the real k8sattributes does a map lookup by peer IP) can be
 *    told apart from the chart's processors.
 *
 * Scale-out (issue 21, 4): three collectors on the chart config at once, each with its own load
 * generator and its own pods (as the Service spreads chat pods over the Deployment's replicas), each
 * under the load one collector gets in the chart rows. Each replica's CPU per point against the
 * single collector's gives the capacity of three (each on a core of its own) against one's.
 *
 * CPU is utime+stime of the collector's PID from /proc/<pid>/stat over a window after a warm-up;
 * points are the collector's own otelcol_receiver_accepted_metric_points over the same window. Each
 * exporter is scraped every 10 s during the window, as Prometheus would. The machine is shared, so
 * "sustainable points/s per core" is derived from CPU-seconds per million points (1e6 / that), not
 * from saturating the collector; the ratio chart/bare is the price of attribution and transforms.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { binariesUnavailable } from '../test/support/binaries';
import { readCollectorManifest } from '../test/support/collector-build';
import { chartCollectorConfig, COLLECTOR_BINARIES, CollectorConfig, RunningCollector, STUB_POD_ATTRIBUTE, StubPod, withKubernetesIdentity } from '../test/support/collector';
import { defaultConfig } from '../test/support/manifests';
import { sleep } from '../test/support/process';
import { LoadPod, RunningLoad } from './lib/otlp-load';
import { median, procStatusKb } from './lib/measure';
import { Row } from './lib/report';
import { BenchSection, runSectionAlone } from './lib/section';

const KINDS = { 'chat-auth': 'auth', 'chat-transport': 'transport', 'chat-messaging': 'messaging' } as const;
const CLK_TCK = 100;

export function loadPods(n: number): LoadPod[] {
  const services = defaultConfig().services;
  return Array.from({ length: n }, (_, i) => {
    const s = services[i % services.length];
    return { name: `${s.name}-7c9d8f${Math.floor(i / services.length)}-x${i}`, service: s.name, kind: KINDS[s.name as keyof typeof KINDS], namespace: s.namespace };
  });
}

const stubPods = (pods: readonly LoadPod[]): StubPod[] => {
  const services = defaultConfig().services;
  return pods.map((p) => ({ namespace: p.namespace, name: p.name, labels: { ...services.find((s) => s.name === p.service)!.selector } }));
};

/** otlp -> prometheus, with the chart's receiver, health_check and self-metrics reader; `processors` between. */
function bareConfig(chart: CollectorConfig, processors: Record<string, unknown> = {}): CollectorConfig {
  return {
    extensions: chart.extensions,
    receivers: chart.receivers,
    ...(Object.keys(processors).length ? { processors } : {}),
    exporters: { prometheus: { endpoint: '0.0.0.0:9464', metric_expiration: '5s' } },
    service: {
      extensions: chart.service.extensions,
      telemetry: chart.service.telemetry,
      pipelines: { metrics: { receivers: ['otlp'], ...(Object.keys(processors).length ? { processors: Object.keys(processors) } : {}), exporters: ['prometheus'] } },
    },
  };
}

export type Variant = 'chart' | 'bare' | 'stub only';

export function variantOptions(variant: Variant, pods: readonly LoadPod[]): { config: CollectorConfig; identity?: { stub: StubPod[] } } {
  const chart = chartCollectorConfig();
  if (variant === 'chart') return { config: chart, identity: { stub: stubPods(pods) } };
  if (variant === 'bare') return { config: bareConfig(chart) };
  const stubbed = withKubernetesIdentity(chart, { stub: stubPods(pods) }).config;
  return { config: bareConfig(chart, { 'transform/k8sattributes_stub': stubbed.processors['transform/k8sattributes_stub'] }) };
}

export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
}

/** Sum of a counter over all its series in the collector's self-metrics. */
export async function selfCounter(c: RunningCollector, name: string): Promise<number> {
  const text = await (await fetch(`http://${c.selfMetricsTarget}/metrics`)).text();
  const re = new RegExp(`^${name}(?:_total)?(?:\\{[^}]*\\})? ([0-9.e+]+)`, 'gm');
  let sum = 0;
  for (const m of text.matchAll(re)) sum += Number(m[1]);
  return sum;
}

async function scrapeAll(c: RunningCollector): Promise<number> {
  let lines = 0;
  for (const t of Object.values(c.exporterTargets)) {
    const text = await (await fetch(`http://${t}/metrics`)).text();
    lines += text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  }
  return lines;
}

export interface WindowStats {
  readonly variant: Variant;
  readonly pods: number;
  /** Collectors measured at once (each with its own load of `pods` pods): 1 but for the scale-out window. */
  readonly replicas: number;
  readonly offeredPerS: number;
  readonly acceptedPerS: number;
  readonly refusedPerS: number;
  readonly cpuSecPerMillion: number;
  readonly cpuCores: number;
  readonly rssKb: number;
  readonly seriesExposed: number;
}

/** A collector on `variant`'s config under its own load generator (its own senders), warming up. */
interface Replica {
  readonly collector: RunningCollector;
  readonly load: RunningLoad;
  readonly pods: number;
}

async function startReplica(variant: Variant, pods: readonly LoadPod[], pprof: boolean): Promise<Replica> {
  const collector = await RunningCollector.start({ ...variantOptions(variant, pods), pprof });
  try {
    const load = await RunningLoad.start({ url: collector.otlpGrpcUrl, pods, stubAttribute: STUB_POD_ATTRIBUTE, intervalMs: 1000 });
    return { collector, load, pods: pods.length };
  } catch (e) {
    await collector.stop();
    throw e;
  }
}

async function stopReplicas(replicas: readonly Replica[]): Promise<void> {
  for (const r of replicas) {
    await r.load.stop();
    await r.collector.stop();
  }
}

/** The counters a window reads at its start and its end, for one collector. */
interface Snapshot { readonly t: number; readonly accepted: number; readonly refused: number; readonly ticks: number }
async function snapshot(c: RunningCollector): Promise<Snapshot> {
  return {
    t: Date.now(),
    accepted: await selfCounter(c, 'otelcol_receiver_accepted_metric_points'),
    refused: await selfCounter(c, 'otelcol_receiver_refused_metric_points'),
    ticks: cpuTicks(c.pid!),
  };
}

/**
 * One window over collectors already under load, all measured over the same seconds: each one's
 * CPU (/proc) and accepted points (its own self-metrics), its exporters scraped every 10 s.
 */
async function measureReplicas(variant: Variant, replicas: readonly Replica[], windowS: number, profilePath?: string): Promise<WindowStats[]> {
  const start: Snapshot[] = [];
  for (const r of replicas) start.push(await snapshot(r.collector));
  const profile = profilePath === undefined ? undefined
    : fetch(`${replicas[0].collector.pprofUrl}/debug/pprof/profile?seconds=${windowS}`).then(async (r) => {
      if (!r.ok) throw new Error(`pprof profile: HTTP ${r.status}`);
      writeFileSync(profilePath, Buffer.from(await r.arrayBuffer()));
    });
  profile?.catch(() => undefined); // awaited below, after the window; a failure surfaces there
  const series = replicas.map(() => 0);
  const end = start[0].t + windowS * 1000;
  while (Date.now() < end) {
    await sleep(Math.min(10000, end - Date.now()));
    for (const [i, r] of replicas.entries()) series[i] = await scrapeAll(r.collector);
  }
  const stop: Snapshot[] = [];
  for (const r of replicas) stop.push(await snapshot(r.collector));
  await profile;
  return replicas.map((r, i) => {
    const [s0, s1] = [start[i], stop[i]];
    if (!r.collector.running) throw new Error(`collector exited: ${r.collector.output.slice(-2000)}`);
    const secs = (s1.t - s0.t) / 1000;
    const cpu = (s1.ticks - s0.ticks) / CLK_TCK;
    const points = s1.accepted - s0.accepted;
    return {
      variant, pods: r.pods, replicas: replicas.length, offeredPerS: r.load.pointsPerRound,
      acceptedPerS: points / secs, refusedPerS: (s1.refused - s0.refused) / secs,
      cpuSecPerMillion: points > 0 ? cpu / (points / 1e6) : NaN, cpuCores: cpu / secs,
      rssKb: procStatusKb(r.collector.pid!, 'VmRSS') ?? 0, seriesExposed: series[i],
    };
  });
}

/**
 * One collector, one load, one measured window. With `profilePath`, the collector also runs the
 * pprof extension and a CPU profile of the whole window is written there (a separate run: profiling
 * costs CPU, so such a window never feeds the CPU-per-point figures).
 */
export async function measureWindow(variant: Variant, nPods: number, warmupS: number, windowS: number, profilePath?: string): Promise<WindowStats> {
  return (await measureScaleOut(variant, nPods, 1, warmupS, windowS, profilePath))[0];
}

/**
 * `replicas` collectors on the same config at once, each with its own load generator and its own
 * `podsPerReplica` pods (distinct pods: replica i gets pods i*n .. i*n+n-1 of loadPods), as a
 * Service spreads the chat pods' connections over the Deployment's replicas. One window each, over
 * the same seconds.
 */
export async function measureScaleOut(variant: Variant, podsPerReplica: number, replicas: number, warmupS: number, windowS: number, profilePath?: string): Promise<WindowStats[]> {
  const pods = loadPods(podsPerReplica * replicas);
  const started: Replica[] = [];
  try {
    for (let i = 0; i < replicas; i++) started.push(await startReplica(variant, pods.slice(i * podsPerReplica, (i + 1) * podsPerReplica), profilePath !== undefined && i === 0));
    await sleep(warmupS * 1000);
    return await measureReplicas(variant, started, windowS, profilePath);
  } finally {
    await stopReplicas(started);
  }
}

/**
 * Where a sample's CPU goes: the leaf-most frame of a collector component decides (so allocation and
 * GC assists inside a processor count for that processor). Transform samples are split by OTTL
 * context and function, the only things on a stack that tell its three instances apart. Samples
 * with no component frame go by what they are: gRPC receive and protobuf decode (before the
 * receiver's Export), the HTTP scrapes' gather and encode, GC background workers, the runtime.
 */
const CONTRIB_PKG = 'github.com/open-telemetry/opentelemetry-collector-contrib/';
const CORE_PKG = 'go.opentelemetry.io/collector/';
const G = {
  aggregate: 'drop_attributes: aggregate_on_attributes',
  deleteKey: 'drop_attributes: delete_key x9 (6 dropped attributes, the sender\'s service, namespace, pod)',
  set: 'chat_service_labels: datapoint set x3',
  dpOther: 'datapoint iteration and the drop\'s condition',
  resource: 'resource context (k8sattributes stub: a `set` per pod and attribute; identity: 5 statements)',
  transformOther: 'transform, other',
  gc: 'GC background',
  grpc: 'gRPC receive + protobuf decode',
  http: 'HTTP scrapes + self-telemetry',
  runtime: 'runtime other',
} as const;
function profileGroup(stack: readonly string[]): string {
  for (const f of stack) {
    if (f.includes('processor/transformprocessor/')) {
      const ctx = stack.find((g) => /transformprocessor\/internal\/common\.(resource|dataPoint|metric)Statements/.test(g));
      if (ctx?.includes('metricStatements')) return G.aggregate;
      if (ctx?.includes('dataPointStatements')) {
        if (stack.some((g) => g.includes('ottlfuncs.NewDeleteKeyFactory'))) return G.deleteKey;
        if (stack.some((g) => g.includes('ottlfuncs.NewSetFactory'))) return G.set;
        return G.dpOther;
      }
      return ctx?.includes('resourceStatements') ? G.resource : G.transformOther;
    }
    const m = /(?:processor|receiver|exporter|connector|extension)\/([a-z]+?)(processor|receiver|exporter|connector|extension)[./]/.exec(f);
    if (m && (f.startsWith(CONTRIB_PKG) || f.startsWith(CORE_PKG))) return `${m[1]} ${m[2]}`;
    if (f.startsWith(`${CORE_PKG}internal/memorylimiter`)) return 'memorylimiter processor';
  }
  const has = (re: RegExp) => stack.some((f) => re.test(f));
  if (has(/^runtime\.(gcBgMarkWorker|bgsweep|bgscavenge)/)) return G.gc;
  if (has(/^google\.golang\.org\/grpc|^golang\.org\/x\/net\/http2|pdata\/internal.*Unmarshal/)) return G.grpc;
  if (has(/^github\.com\/prometheus\/(client_golang|common)|^net\/http|^go\.opentelemetry\.io\/otel/)) return G.http;
  return has(/^runtime\./) ? G.runtime : 'other';
}

/** `go tool pprof -traces` as [seconds, frames leaf first]; pprof names functions from the profile itself. */
function profileTraces(path: string): [number, string[]][] {
  const text = execFileSync('go', ['tool', 'pprof', '-traces', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 << 20 });
  const unit = (v: string, u: string) => Number(v) * ({ ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1 } as Record<string, number>)[u];
  return text.split(/^-+\+-+$/m).slice(1).flatMap((block) => {
    const lines = block.split('\n').filter((l) => l.trim());
    const m = /^\s*([\d.]+)(ns|us|µs|ms|s)\s+(.*)$/.exec(lines[0] ?? '');
    if (!m) return [];
    return [[unit(m[1], m[2]), [m[3], ...lines.slice(1)].map((l) => l.trim().replace(/ \(inline\)$/, ''))]];
  });
}

/** Wrappers every sample of a path passes through (gRPC server, consumer fan-out, helpers): left out of the -cum list. */
const PLUMBING = /^(google\.golang\.org\/grpc\.|runtime\.(systemstack|goexit|mcall)$)|consumer\.ConsumeMetricsFunc|fanoutconsumer|refconsumer|obsconsumer|processorhelper|configgrpc|otelgrpc|pmetricotlp\.rawMetricsServer|ottl\.\(\*?(StatementSequence|Statement)\b|ottl\.Expr\b/;

/** Top functions from `go tool pprof -top` (flat, or -cum), each with the group(s) its samples fall in. */
function profileTop(path: string, cum: boolean, n: number, groupOf: Map<string, Map<string, number>>): string[] {
  const text = execFileSync('go', ['tool', 'pprof', '-top', ...(cum ? ['-cum'] : []), '-nodecount=300', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const rows = [...text.matchAll(/^\s*[\d.]+\w*s?\s+([\d.]+)%\s+[\d.]+%\s+[\d.]+\w*s?\s+([\d.]+)%\s+(.+)$/gm)]
    .map((m) => ({ flat: Number(m[1]), cum: Number(m[2]), fn: m[3].replace(/ \(inline\)$/, '') }));
  const out: string[] = [];
  for (const r of rows) {
    if (cum && PLUMBING.test(r.fn)) continue;
    const groups = [...(groupOf.get(r.fn) ?? new Map<string, number>()).entries()].sort((a, b) => b[1] - a[1]);
    const all = groups.reduce((a, [, v]) => a + v, 0);
    const frac = groups.length ? groups[0][1] / all : 0;
    const where = groups.length === 0 ? '' : frac > 0.99 ? groups[0][0] : `${Math.round(100 * frac)}% ${groups[0][0]}`;
    const short = r.fn.replace(CONTRIB_PKG, '').replace(CORE_PKG, '').replace(/\[go\.shape[^\]]*\]/g, '');
    out.push(`${(cum ? r.cum : r.flat).toFixed(1)}% ${short}${where ? ` [${where}]` : ''}`);
    if (out.length === n) break;
  }
  return out;
}

/** A note summarising a CPU profile of the chart variant: shares by component and chart processor, top functions. */
export function summariseProfile(path: string, w: WindowStats, windowS: number): string {
  const traces = profileTraces(path);
  const total = traces.reduce((a, [v]) => a + v, 0);
  const byGroup = new Map<string, number>();
  const anywhere = new Map<string, Map<string, number>>(); // function -> group -> seconds, wherever on the stack
  const leaf = new Map<string, Map<string, number>>(); // function -> group -> seconds, as the leaf (flat)
  const add = (m: Map<string, Map<string, number>>, f: string, g: string, v: number) => {
    const x = m.get(f) ?? new Map<string, number>();
    x.set(g, (x.get(g) ?? 0) + v);
    m.set(f, x);
  };
  for (const [v, stack] of traces) {
    const g = profileGroup(stack);
    byGroup.set(g, (byGroup.get(g) ?? 0) + v);
    for (const f of new Set(stack)) add(anywhere, f, g, v);
    add(leaf, stack[0], g, v);
  }
  const share = (...gs: string[]) => gs.reduce((a, g) => a + (byGroup.get(g) ?? 0), 0);
  const pct = (v: number) => `${((100 * v) / total).toFixed(1)}%`;
  const groups = [...byGroup.entries()].sort((a, b) => b[1] - a[1]);
  const chart: [string, number][] = [
    ['memory_limiter', share('memorylimiter processor')],
    ['k8sattributes (stubbed: a transform, test only; with identity\'s 5 resource statements)', share(G.resource)],
    ['transform/chat_service_labels datapoint sets (+ datapoint iteration and the drop\'s condition)', share(G.set, G.dpOther)],
    ['filter/unattributed', share('filter processor')],
    ['transform/drop_attributes', share(G.aggregate, G.deleteKey)],
    ['batch', share('batch processor')],
  ];
  return [
    `Section 6, CPU profile of the chart variant (one extra ${w.pods}-pod run with the pprof extension, not one of the timed runs; ${path.replace(/^.*\/bench\//, 'bench/')}; ` +
      `\`go tool pprof\` names functions from the profile, which the Go runtime writes, so the stripped binary needs no symbols): ` +
      `${total.toFixed(2)} CPU-s sampled of ${(w.cpuCores * windowS).toFixed(2)} CPU-s by /proc over the ${windowS} s window; that run: ${w.cpuSecPerMillion.toFixed(1)} CPU-s/M, ${fmt(w.acceptedPerS)} points/s. ` +
      'Each sample is given to the leaf-most collector component on its stack (allocation and GC assists inside a processor count for it); samples with no component frame by what they are.',
    `  By component: ${groups.map(([g, v]) => `${g} ${pct(v)}`).join('; ')}.`,
    `  Chart processors: ${chart.map(([p, v]) => `${p} ${pct(v)}`).join('; ')}; together ${pct(chart.reduce((a, [, v]) => a + v, 0))}.`,
    `  Top by cumulative time (wrappers left out): ${profileTop(path, true, 12, anywhere).join('; ')}.`,
    `  Top by flat time: ${profileTop(path, false, 12, leaf).join('; ')}.`,
  ].join('\n');
}

const fmt = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(x >= 10 ? 0 : 2));

/**
 * Rows of the scale-out measurement: each replica's CPU per point (median over the runs of the
 * replica at that position), and the capacity of all of them together, CPU-derived as the single
 * rows are (a replica with a core of its own sustains 1e6 / its CPU-s per million points), against
 * one replica's at the same load (`singlePerM`, the chart rows' median, measured in the same runs).
 */
function scaleOutRows(runs: readonly WindowStats[][], singlePerM: number, pods: number): Row[] {
  const n = runs[0].length;
  const perReplica = Array.from({ length: n }, (_, i) => median(runs.map((ws) => ws[i].cpuSecPerMillion)));
  const capacity = perReplica.reduce((a, m) => a + 1e6 / m, 0);
  const single = 1e6 / singlePerM;
  const ratio = capacity / single;
  const accepted = median(runs.map((ws) => ws.reduce((a, w) => a + w.acceptedPerS, 0)));
  const refused = median(runs.map((ws) => ws.reduce((a, w) => a + w.refusedPerS, 0)));
  return [
    {
      section: '6', measure: `collector, chart, ${n} replicas at once, each its own ${pods} pods and load generator (offered ${fmt(runs[0][0].offeredPerS)} points/s each): each replica's CPU-s per million points; all accepted points/s`,
      value: `${perReplica.map((m) => m.toFixed(1)).join(' / ')} CPU-s/M (one replica alone: ${singlePerM.toFixed(1)}); ${fmt(accepted)}/s accepted, refused ${fmt(refused)}/s`,
    },
    {
      section: '6', measure: `${n} replicas vs 1, same load per replica: sustainable points/s, each replica on a core of its own (sum of 1e6 / CPU-s per million)`,
      value: `${fmt(capacity)}/s vs ${fmt(single)}/s`, ratio: `${ratio.toFixed(2)}x`, target: `≥ ${(n * SCALE_OUT_EFFICIENCY).toFixed(1)}x`, pass: ratio >= n * SCALE_OUT_EFFICIENCY,
    },
  ];
}

export interface ThroughputResults { rows: Row[]; notes: string[]; raw: WindowStats[] }

/** The scale-out target: replicas x this ratio is the least aggregate capacity that passes (2.7 of 3). */
export const SCALE_OUT_EFFICIENCY = 0.9;

export async function benchCollectorThroughput(runs: number, opts: { pods: number; warmupS: number; windowS: number; rssPods: number[]; replicas: number; profile?: boolean } = { pods: 40, warmupS: 8, windowS: 20, rssPods: [3, 30, 300], replicas: 3 }): Promise<ThroughputResults> {
  const variants: Variant[] = ['chart', 'bare', 'stub only'];
  const raw: WindowStats[] = [];
  const scaleOut: WindowStats[][] = [];
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      const w = await measureWindow(v, opts.pods, opts.warmupS, opts.windowS);
      process.stderr.write(`collector ${JSON.stringify(w)}\n`);
      raw.push(w);
    }
    // The same chart load on each of `replicas` collectors at once, interleaved with the single ones.
    const ws = await measureScaleOut('chart', opts.pods, opts.replicas, opts.warmupS, opts.windowS);
    process.stderr.write(`collector x${opts.replicas} ${JSON.stringify(ws)}\n`);
    scaleOut.push(ws);
  }
  const by = (v: Variant) => raw.filter((w) => w.variant === v && w.pods === opts.pods && w.replicas === 1);
  const med = (v: Variant, f: (w: WindowStats) => number) => median(by(v).map(f));
  const perM = (v: Variant) => med(v, (w) => w.cpuSecPerMillion);
  const rows: Row[] = [];
  for (const v of variants) {
    rows.push({
      section: '6', measure: `collector, ${v}: ${opts.pods} pods, offered ${fmt(med(v, (w) => w.offeredPerS))} points/s: accepted points/s, CPU-s per million points, sustainable points/s per core (1e6 / CPU-s per million)`,
      value: `${fmt(med(v, (w) => w.acceptedPerS))}/s, ${perM(v).toFixed(1)} CPU-s/M, ${fmt(1e6 / perM(v))}/s per core (refused ${fmt(med(v, (w) => w.refusedPerS))}/s, RSS ${(med(v, (w) => w.rssKb) / 1024).toFixed(0)} MB)`,
    });
  }
  rows.push({ section: '6', measure: 'price of attribution and transforms: CPU per point, chart vs bare (same binary, same load)', value: `${perM('chart').toFixed(1)} vs ${perM('bare').toFixed(1)} CPU-s/M`, ratio: `${(perM('chart') / perM('bare')).toFixed(2)}x` });
  rows.push({ section: '6', measure: 'of which the k8sattributes stub (test harness only): stub only vs bare', value: `${perM('stub only').toFixed(1)} vs ${perM('bare').toFixed(1)} CPU-s/M`, ratio: `${(perM('stub only') / perM('bare')).toFixed(2)}x` });
  rows.push(...scaleOutRows(scaleOut, perM('chart'), opts.pods));
  raw.push(...scaleOut.flat());
  // Where the chart's CPU goes: one more chart window, with the pprof extension, after the timed ones.
  const profileNotes: string[] = [];
  if (opts.profile !== false) {
    const dir = join(__dirname, '.work');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'collector-chart-cpu.pprof');
    const w = await measureWindow('chart', opts.pods, opts.warmupS, opts.windowS, path);
    process.stderr.write(`collector profiled ${JSON.stringify(w)}\n`);
    try {
      profileNotes.push(summariseProfile(path, w, opts.windowS));
    } catch (e) {
      profileNotes.push(`Section 6: a CPU profile of the chart variant is in ${path}, not summarised here (\`go tool pprof\` failed: ${(e as Error).message.split('\n')[0]}).`);
    }
  }
  const rss: WindowStats[] = [];
  for (const n of opts.rssPods) {
    const w = await measureWindow('chart', n, opts.warmupS, 20);
    process.stderr.write(`collector rss ${JSON.stringify(w)}\n`);
    rss.push(w);
  }
  raw.push(...rss);
  rows.push({
    section: '7', measure: `collector RSS on the chart's config (stubbed identity) at ${opts.rssPods.join(' / ')} chat pods (one run each)`,
    value: rss.map((w) => `${(w.rssKb / 1024).toFixed(0)} MB (${fmt(w.acceptedPerS)} of ${fmt(w.offeredPerS)} points/s accepted, ${w.cpuCores.toFixed(2)} cores)`).join(' / '),
  });
  const notes = [
    `Sections 6, 7: otelcol-chat (contrib ${readCollectorManifest().dist.version} components) on 127.0.0.1; load from bench/lib/otlp-load.ts, a Node child process running one OpenTelemetry JS MeterProvider per pod (distinct resource with the stub pod attribute), OTLP/gRPC every 1 s, cumulative, ` +
      'the legacy HTTP instruments with their real labels (http.method, http.scheme, http.host, http.flavor, http.server_name, net.host.port, http.status_code, http.target; ms buckets 0..10000), every route x 200/404/500 x 5 Host headers per pod. ' +
      `${opts.warmupS} s warm-up, then a ${opts.windowS} s window: CPU = utime+stime of the collector PID (/proc/<pid>/stat), points = otelcol_receiver_accepted_metric_points; exporters scraped every 10 s. Variants interleaved, ${runs} runs, medians. The machine was shared with other jobs (2 cores), so capacity is CPU-derived, not measured by saturation. ` +
      `Scale-out: in each run, after the single-collector variants, ${opts.replicas} collectors on the chart config at once, each with its own load generator (a Node process) and its own ${opts.pods} pods (distinct names, so each replica's stub knows ${opts.pods} pods, as the single one's does), warmed up and measured over the same window; ` +
      `each replica's CPU-s per million points is the median over the runs of the replica at that position, and the capacity of the ${opts.replicas} is the sum of 1e6 / each one's CPU-s per million (a core each), against 1e6 / the single chart collector's median. ` +
      `${opts.replicas} collectors and ${opts.replicas} generators share the 2 cores, so each replica's figure includes the contention a lone collector does not meet.`,
    ...profileNotes,
  ];
  return { rows, notes, raw };
}

/** At most 3 runs: each is a collector under load for about 40 s. */
export const throughputSection: BenchSection<ThroughputResults> = {
  name: 'throughput',
  label: 'collector',
  unavailable: () => binariesUnavailable(COLLECTOR_BINARIES),
  skippedRow: { section: '6', measure: 'collector throughput' },
  run: (runs) => benchCollectorThroughput(Math.min(runs, 3)),
};

if (require.main === module) runSectionAlone(throughputSection);
