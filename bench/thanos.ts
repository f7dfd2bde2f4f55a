/**
 * Section 10 (issue 22): the service dashboards read through Thanos instead of straight from
 * Prometheus.
 *
 * 1. Whole dashboards at 100,000+ series over 6 h (the data of section 3's dashboard load:
 *    tsdbgen's blocks and the backfilled recording rules), on two Prometheus replicas (the same
 *    blocks, each with the chart's rules evaluating and the operator's external labels), a Thanos
 *    sidecar beside each and Thanos Query over both, deduplicating on the replica label: every
 *    dashboard's wall time through Query against straight from one Prometheus, measured
 *    interleaved in the same run.
 * 2. A 30-day dashboard from downsampled data: the recorded series the dashboards read (their
 *    label sets and current values taken from part 1's Prometheus) written by tsdbgen for 30 days,
 *    shipped to a FILESYSTEM bucket by a sidecar, compacted and downsampled by the Compactor, read
 *    through the Store Gateway and Query as Grafana sends a 30-day range: raw, auto (step / 5: the
 *    5m blocks) and 1h.
 */
import { cpSync, rmSync } from 'fs';
import { loadavg } from 'os';
import { join } from 'path';
import { binariesUnavailable } from '../test/support/binaries';
import { PROMETHEUS_BINARIES, PrometheusServer, QueryResult, sleep } from '../test/support/prometheus';
import { untilTrue } from '../test/support/process';
import {
  argsForHere, bucketBlocks, shipBlocks, THANOS_BINARIES, ThanosCompactor, ThanosQuery, ThanosSidecar, ThanosStore,
} from '../test/support/thanos';
import { buildTsdbgen, runTsdbgen, tsdbgenUnavailable } from '../test/support/tsdbgen';
import { configWith, named, synthObjects } from '../test/support/manifests';
import { NAMES } from '../lib/labels';
import { startWithChartRules } from './lib/backfill-rules';
import { median, ms, ratio } from './lib/measure';
import { Row } from './lib/report';
import { BenchSection } from './lib/section';
import { WORK } from './lib/synth-env';
import { GrafanaLoad, Panel, prepareDashboardData, PROM_ARGS } from './dashboard-load';
import { synthSection } from './synth';

const REPLICA_LABEL = 'prometheus_replica';
const replicaLabels = (i: number) => ({ prometheus: 'monitoring/chat-monitoring', [REPLICA_LABEL]: `prometheus-chat-monitoring-${i}` });
const HOUR_MS = 3600 * 1000;
const DAYS = 30;
const TARGET_RATIO = 1.5;

export interface ThanosBenchResults { rows: Row[]; notes: string[] }

/** A recorded series a dashboard reads, as Prometheus holds it now: name, labels and current value. */
interface RecordedSeries { name: string; labels: Record<string, string>; value: number }

/** Every series the panels' selectors read in `prom` at `timeS` (the recorded series of section 3's data). */
async function seriesRead(prom: PrometheusServer, panels: readonly Panel[], timeS: number): Promise<RecordedSeries[]> {
  const selectors = new Set(panels.flatMap((p) => [...p.expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\}/g)].map((m) => m[0])));
  const out = new Map<string, RecordedSeries>();
  for (const sel of selectors) {
    for (const r of await prom.query(sel, timeS)) {
      const { __name__: name, ...labels } = r.metric;
      out.set(JSON.stringify(r.metric), { name, labels, value: Number(r.value![1]) });
    }
  }
  return [...out.values()];
}

/** The dashboards through Query over two replicas' sidecars vs straight from one replica. */
async function throughQuery(prom: PrometheusServer, query: ThanosQuery, panelsBy: Map<string, Panel[]>, scrapeS: number, runs: number) {
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const [svc, panels] of panelsBy) {
    const exprs = panels.map((p) => p.expr);
    const direct = new GrafanaLoad(prom, scrapeS);
    const through = new GrafanaLoad((q, start, end, step) => query.queryRange(q, start, end, step), scrapeS);
    // Same answers: every panel has as many series through Query (deduplicated) as in Prometheus.
    const counts = await Promise.all(exprs.map(async (e) => {
      const r = direct.request(e);
      const [d, t] = await Promise.all([prom.api<{ result: QueryResult[] }>('query_range', { query: r.query, start: r.start, end: r.end, step: r.stepS }),
        query.queryRange(r.query, r.start, r.end, r.stepS)]);
      return [d.result.length, t.result.length];
    }));
    const differ = counts.filter(([d, t]) => d !== t);
    if (differ.length) throw new Error(`${svc}: panels with other series counts through Query than in Prometheus: ${JSON.stringify(differ)}`);
    await direct.dashboardMs(exprs);
    await through.dashboardMs(exprs); // warm-up of each
    const d: number[] = [];
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      d.push(await direct.dashboardMs(exprs));
      t.push(await through.dashboardMs(exprs));
    }
    const [md, mt] = [median(d), median(t)];
    rows.push({ section: '10', measure: `${svc} dashboard (${panels.length} panels, 6 h, 100k+ series): wall time of all panel queries at once, through Thanos Query (two replicas' sidecars, deduplicated) vs straight from Prometheus`,
      value: `${ms(mt)} vs ${ms(md)}`, ratio: ratio(mt / md), target: `≤ ${TARGET_RATIO}x`, pass: mt / md <= TARGET_RATIO });
    notes.push(`${svc} through Query: every one of its ${panels.length} panels returned as many series (deduplicated) as Prometheus (${counts.map(([x]) => x).join(', ')}); runs through Query ${t.map(ms).join(', ')}, straight ${d.map(ms).join(', ')}.`);
  }
  return { rows, notes };
}

/** Part 2: `series` for 30 days, shipped, compacted and downsampled, read back through Store and Query. */
async function thirtyDays(workDir: string, series: RecordedSeries[], panels: readonly Panel[], svc: string, scrapeS: number, runs: number) {
  const rows: Row[] = [];
  const notes: string[] = [];
  const bucketDir = join(workDir, 'bucket');
  const tsdb = join(workDir, 'tsdb-30d');
  const endMs = Math.floor(Date.now() / (scrapeS * 1000)) * scrapeS * 1000;
  const startMs = Math.floor((endMs - (DAYS * 24 + 1) * HOUR_MS) / (2 * HOUR_MS)) * 2 * HOUR_MS;
  const { path: gen } = buildTsdbgen(workDir);
  const written = runTsdbgen(gen, { startMs, endMs, stepMs: scrapeS * 1000, blockMs: 2 * HOUR_MS,
    gauges: series.map((s) => ({ name: s.name, labels: s.labels, mean: s.value, fractional: true })) }, join(workDir, 'spec-30d.json'), tsdb);
  const shipped = await shipBlocks({ tsdb, bucketDir, externalLabels: replicaLabels(0), timeoutMs: 600000 });
  rmSync(tsdb, { recursive: true, force: true });
  // The Compactor on the chart's args (its default retentions: 30d raw keeps all of it), once, processing fresh blocks at once.
  const chart = synthObjects(configWith({ thanos: { objectStorage: { egressCidrs: ['192.0.2.0/24'] } } }));
  const compactorArgs = named(chart, 'StatefulSet', NAMES.thanosCompactor).spec.template.spec.containers[0].args;
  const compacted = await ThanosCompactor.runOnce({ bucketDir, args: argsForHere(compactorArgs, 'compact', { '--consistency-delay': '0s', '--delete-delay': '0s' }, ['--wait']) }, 900000);
  const blocks = bucketBlocks(bucketDir).filter((b) => !b.markedForDeletion);
  const byRes = (res: number) => blocks.filter((b) => b.resolution === res);
  const store = await ThanosStore.start({ bucketDir });
  const query = await ThanosQuery.start({ endpoints: [store.grpcAddress], replicaLabels: [REPLICA_LABEL] });
  try {
    await untilTrue('Query answers from the Store', async () => (await query.query(`count({service="${svc}"})`, { time: endMs / 1000 - 60 })).result.length > 0);
    const exprs = panels.map((p) => p.expr);
    const loads = ['0s', 'auto', '1h'].map((res) => ({
      res, load: new GrafanaLoad((q, start, end, step) => query.queryRange(q, start, end, step, { max_source_resolution: res }), scrapeS, DAYS * 24 * 3600),
    }));
    const step = loads[0].load.request(exprs[0]).stepS;
    // First loads (the Store's caches cold), kept apart; then `runs` loads of each, interleaved.
    const first: number[] = [];
    for (const { load } of loads) first.push(await load.dashboardMs(exprs));
    const walls = loads.map(() => [] as number[]);
    for (let i = 0; i < runs; i++) for (const [k, { load }] of loads.entries()) walls[k].push(await load.dashboardMs(exprs));
    // Which panels have data at each resolution (a rate window shorter than two points of a resolution has none).
    // Every resolution asked the same range and step (the raw load's request).
    const load0 = loads[0].load;
    const answersAt = (res: string) => Promise.all(exprs.map(async (e) => { const r = load0.request(e); return (await query.queryRange(r.query, r.start, r.end, r.stepS, { max_source_resolution: res })).result; }));
    const answers = await Promise.all(loads.map(({ res }) => answersAt(res)));
    const withData = answers.map((a) => a.filter((r) => r.length > 0).length);
    // The values themselves, each downsampled answer against raw (same series, same steps). Raw holds
    // each gauge within 20 % of its mean at every 15 s sample, so a point read at a 30 min step is
    // one sample, while the 5m and 1h blocks answer a plain selector with their window's average:
    // point by point they differ by the data's spread. Over the 30 days, a series' mean must agree.
    const meanOf = (values: [number, string][] = []) => values.reduce((a, [, v]) => a + Number(v), 0) / values.length;
    const differences = answers.slice(1).map((a) => {
      const points: number[] = [];
      const means: number[] = [];
      a.forEach((result, panel) => {
        const raw = new Map(answers[0][panel].map((x) => [JSON.stringify(x.metric), x.values ?? []]));
        for (const x of result) {
          const r = raw.get(JSON.stringify(x.metric));
          if (!r || !x.values?.length) continue;
          const byTime = new Map(r.map(([t, v]) => [t, Number(v)]));
          for (const [t, v] of x.values) {
            const w = byTime.get(t);
            if (w !== undefined && w !== 0) points.push(Math.abs(Number(v) - w) / Math.abs(w));
          }
          if (meanOf(r) !== 0) means.push(Math.abs(meanOf(x.values) - meanOf(r)) / Math.abs(meanOf(r)));
        }
      });
      const sorted = (xs: number[]) => [...xs].sort((p, q) => p - q);
      const med = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)];
      return { series: means.length, meanMedian: med(means), meanMax: sorted(means)[means.length - 1], points: points.length, pointMedian: med(points) };
    });
    const med = walls.map(median);
    rows.push({ section: '10', measure: `${svc} dashboard over ${DAYS} days (${panels.length} panels, step ${step / 60} min) through Store and Query from a compacted bucket: wall time at max_source_resolution raw / auto (step/5: 5m blocks) / 1h`,
      value: `${med.map(ms).join(' / ')}`, ratio: `${ratio(med[1] / med[0])} / ${ratio(med[2] / med[0])} of raw` });
    rows.push({ section: '10', measure: `same: panels with data at raw / auto / 1h (of ${panels.length})`, value: withData.join(' / ') });
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    rows.push({ section: '10', measure: 'same: each panel series\' 30-day mean at auto / 1h against raw: series compared, median and largest relative difference (point by point, median: a window average against one noisy sample)',
      value: differences.map((d) => `${d.series} series, median ${pct(d.meanMedian)}, max ${pct(d.meanMax)} (${d.points} points: ${pct(d.pointMedian)})`).join(' / ') });
    notes.push(`30-day data: the ${series.length} recorded series the ${svc} dashboard reads (label sets and current values from part 1's Prometheus; tsdbgen writes each as a gauge within 20 % of that value), ` +
      `${DAYS} days and an hour at ${scrapeS} s (${(written.samples / 1e6).toFixed(1)} M samples) in ${shipped.blocks} 2 h blocks, written in ${(written.ms / 1000).toFixed(1)} s and shipped by a sidecar in ${(shipped.ms / 1000).toFixed(1)} s; ` +
      `\`thanos compact\` (run once, chart retentions, --consistency-delay=0s --delete-delay=0s) took ${(compacted.ms / 1000).toFixed(1)} s and left ${byRes(0).length} raw, ${byRes(300000).length} 5m and ${byRes(3600000).length} 1h blocks. ` +
      `First loads (cold Store caches): ${first.map(ms).join(' / ')}; runs raw ${walls[0].map(ms).join(', ')}; auto ${walls[1].map(ms).join(', ')}; 1h ${walls[2].map(ms).join(', ')}.`);
  } finally {
    await query.stop();
    await store.stop();
  }
  return { rows, notes };
}

export async function benchThanos(chartDir: string, workDir: string, runs: number): Promise<ThanosBenchResults> {
  const { services, groups, scrapeS, panelsBy, tsdb, endMs, dataNote } = await prepareDashboardData(chartDir, workDir);
  const tsdb1 = join(workDir, 'tsdb-1');
  cpSync(tsdb, tsdb1, { recursive: true });

  const rows: Row[] = [];
  const notes: string[] = [];
  const proms: PrometheusServer[] = [];
  const sidecars: ThanosSidecar[] = [];
  let query: ThanosQuery | undefined;
  let series: RecordedSeries[] = [];
  try {
    for (const [i, dir] of [tsdb, tsdb1].entries()) {
      const p = await startWithChartRules(groups, dir, scrapeS, PROM_ARGS, replicaLabels(i));
      proms.push(p);
      sidecars.push(await ThanosSidecar.start({ prometheusUrl: p.url, tsdbPath: dir }));
    }
    query = await ThanosQuery.start({ endpoints: sidecars.map((s) => s.grpcAddress), replicaLabels: [REPLICA_LABEL] });
    await untilTrue('both replicas through Query', async () =>
      (await query!.query(`count by (${REPLICA_LABEL}) (service:http_requests:rate1m)`, { dedup: false, time: endMs / 1000 })).result.length === 2, 120000);
    notes.push(dataNote(Number((await proms[0].query('count({__name__=~".+"})', endMs / 1000))[0]?.value?.[1] ?? 0)));
    await sleep(2 * scrapeS * 1000); // every group evaluated at least once before timing
    // Dashboard loads take 100-300 ms and vary with every other process on the machine: three times the usual runs, interleaved.
    const load1 = loadavg()[0];
    const part1 = await throughQuery(proms[0], query, panelsBy, scrapeS, 3 * runs);
    notes.push(`Dashboards through Query: ${3 * runs} loads each way, interleaved, after one warm-up each; the load average was ${load1.toFixed(1)} before and ${loadavg()[0].toFixed(1)} after (2 cores; both replicas evaluate the chart's rules on the same cores).`);
    rows.push(...part1.rows);
    notes.push(...part1.notes);
    series = await seriesRead(proms[0], panelsBy.get(services[0])!, endMs / 1000);
  } finally {
    await query?.stop();
    for (const s of sidecars) await s.stop();
    for (const p of proms) await p.stop();
  }
  rmSync(tsdb, { recursive: true, force: true });
  rmSync(tsdb1, { recursive: true, force: true });
  const part2 = await thirtyDays(workDir, series, panelsBy.get(services[0])!, services[0], scrapeS, Math.min(runs, 3));
  rows.push(...part2.rows);
  notes.push(...part2.notes);
  rmSync(workDir, { recursive: true, force: true });
  return { rows, notes };
}

/** Thanos Query against Prometheus at 100k series, and a 30-day dashboard from downsampled blocks (several minutes). */
export const thanosSection: BenchSection<ThanosBenchResults> = {
  name: 'thanos',
  label: 'thanos',
  needs: [synthSection],
  unavailable: () => binariesUnavailable([...PROMETHEUS_BINARIES, ...THANOS_BINARIES]) ?? tsdbgenUnavailable(),
  skippedRow: { section: '10', measure: 'dashboards through Thanos Query, 30-day dashboard from downsampled blocks' },
  run: (runs, earlier) => benchThanos(earlier.of(synthSection).chartDir, join(WORK, 'thanos'), Math.min(runs, 5)),
};
