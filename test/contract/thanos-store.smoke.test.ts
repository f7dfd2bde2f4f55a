/**
 * Long-term storage with Thanos, on the real programs (issue 22): two weeks and six hours of
 * counters written by tsdbgen as Prometheus's 2 h blocks, served by a Prometheus whose sidecar
 * uploads them to a FILESYSTEM bucket; then no Prometheus holds them, and Query reads them through
 * the Store Gateway. The Compactor, run with the chart's args, compacts them and downsamples them
 * to 5m and 1h; run again with a short raw retention, it deletes the old raw blocks while the
 * downsampled ones stay and still answer, also to a Query on the chart's args (auto-downsampling)
 * asked without max_source_resolution, as Grafana asks. (d) The sidecar's upload counters, which
 * ThanosSidecarUploadsFailing reads: none failed while it shipped those blocks, and a sidecar whose
 * bucket cannot be reached counts failed syncs (not failed uploads) and uploads nothing.
 *
 * Every expected value is arithmetic: each counter grows by exactly `perStep` every 15 s step, so
 * its rate is perStep / 15 everywhere: exactly from raw blocks, and from downsampled ones exactly
 * but where a rate window spans a chunk boundary (within 15 s over the window; expectDownsampledRates).
 *
 * Test-only settings, beside the chart's args: the Compactor runs once (no --wait) with
 * --consistency-delay=0s (blocks uploaded a moment ago) and --delete-delay=0s, and for (c) with a
 * raw retention of a few days less than the data's age instead of the chart's 30d.
 *
 * Why two weeks: the Compactor downsamples a raw block to 5m once it spans 40 h, and a 5m block to
 * 1h once it spans 10 days (pkg/compact/downsample: ResLevel1DownsampleRange,
 * ResLevel2DownsampleRange; cmd/thanos/downsample.go). Its compaction ranges are 2h, 8h, 2d and 14d,
 * aligned to the epoch, and it never plans the newest block; so the data fill one whole aligned
 * 14-day window, which compacts to one 14-day raw block (then 5m, then 1h in the same run's second
 * downsampling pass), plus three 2 h blocks after it that stay raw.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PROMETHEUS_OPERATED_SERVICE } from '../../lib/charts/monitoring-charts';
import { NAMES } from '../../lib/labels';
import { srvName, THANOS_PORT_NAMES } from '../../lib/thanos/thanos-component';
import { configWith, named, synthObjects } from '../support/manifests';
import { untilTrue } from '../support/process';
import { QueryResult } from '../support/prometheus';
import {
  argsForHere, BucketBlock, bucketBlocks, describeWithThanos, queryArgsForHere, shipBlocks, ThanosCompactor, ThanosQuery, ThanosStore, withSidecar,
} from '../support/thanos';
import { buildTsdbgen, ExactCounter, runTsdbgen } from '../support/tsdbgen';

/** The chart with long-term storage on and the default retentions. */
const STORE_CHART = synthObjects(configWith({ thanos: { objectStorage: { egressCidrs: ['192.0.2.0/24'] } } }));

/**
 * The container args of the chart's `thanos-store` and `thanos-compactor` StatefulSets and its
 * `thanos-query` Deployment (container names equal); argsForHere() drops the subcommand,
 * addresses, paths and log level, which are this machine's.
 */
function chartArgs(component: 'thanos-store' | 'thanos-compactor' | 'thanos-query'): string[] {
  const workload = named(STORE_CHART, component === 'thanos-query' ? 'Deployment' : 'StatefulSet', component);
  return workload.spec.template.spec.containers.find((c: { name: string }) => c.name === component).args;
}

const NS = named(STORE_CHART, 'Deployment', 'thanos-query').metadata.namespace!;
const STORE_SERVICE = NAMES.thanosStore;

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
/** The Compactor's largest compaction range. */
const WINDOW = 14 * DAY;
const STEP_MS = 15 * SECOND;
const RES_5M = 5 * 60 * SECOND;
const RES_1H = HOUR;

/** One counter per chat service, each with its own exact rate (perStep / 15 s: 2, 0.4 and 7 per second). */
const METRIC = 'chat_lts_requests_total';
/** The sidecar's shipper counters (Thanos v0.42.5 pkg/shipper): ThanosSidecarUploadsFailing reads both failure counters. */
const UPLOADS = 'thanos_shipper_uploads_total';
const UPLOAD_FAILURES = 'thanos_shipper_upload_failures_total';
const SYNC_FAILURES = 'thanos_shipper_dir_sync_failures_total';
const COUNTERS: readonly ExactCounter[] = [
  { name: METRIC, labels: { service: 'chat-auth' }, perStep: 30 },
  { name: METRIC, labels: { service: 'chat-messaging' }, perStep: 6 },
  { name: METRIC, labels: { service: 'chat-transport' }, perStep: 105 },
];
const RATE: Readonly<Record<string, number>> = Object.fromEntries(COUNTERS.map((c) => [c.labels.service, c.perStep / (STEP_MS / SECOND)]));

/** The operator's external labels on a Prometheus replica: the sidecar puts them on every block it uploads. */
const EXTERNAL_LABELS = { prometheus: 'monitoring/chat-monitoring', prometheus_replica: 'prometheus-chat-monitoring-0' };

/**
 * The data: the whole 14-day window that ended between 14 and 28 days ago (so the chart's 30d raw
 * retention keeps it on the first run), and six hours after it; the last sample 15 s before the end.
 */
const W0 = Math.floor(Date.now() / WINDOW) * WINDOW - 2 * WINDOW;
const END = W0 + WINDOW + 6 * HOUR;
/** A minute before the last sample, in seconds. */
const LAST_S = (END - STEP_MS) / SECOND - 60;
/** A block's maxTime (exclusive) when its last sample is the one before `t`. */
const endsBefore = (t: number) => t - STEP_MS + 1;

const byService = (r: readonly QueryResult[]) => [...r].sort((a, b) => a.metric.service.localeCompare(b.metric.service));

/** Every point of every series is the service's exact rate, and each series has `points` points (no gap). */
function expectExactRates(result: readonly QueryResult[], points: number) {
  expect(byService(result).map((r) => r.metric.service)).toEqual(Object.keys(RATE).sort());
  for (const r of result) {
    expect(r.values).toHaveLength(points);
    for (const [, v] of r.values!) expect(Number(v)).toBeCloseTo(RATE[r.metric.service], 9);
  }
}

/**
 * A rate read from downsampled blocks (`rate(x[window])`, query times at half past the hour): every
 * point within STEP / (window - resolution) of the exact rate, and at least 95 % of them exact.
 * Why not all: Thanos stamps a counter aggregate at its window's end (minus 1 ms) with the value of
 * the window's last raw sample, 15 s earlier, and keeps each chunk's first raw sample at its own
 * time (pkg/compact/downsample: downsampleBatch, ApplyCounterResetsSeriesIterator); a rate window
 * holding both reads up to 15 s over its shortest sampled interval off (measured: +-0.21 % at the
 * 1h blocks' chunk boundaries, every 105 h). Why half past: on the hour, such a window's extra
 * sample shortens its average interval so much that Prometheus extrapolates its start only half an
 * interval (measured: 1.556 instead of 2 for three steps at each chunk boundary); half past keeps
 * both ends within reach.
 */
function expectDownsampledRates(result: readonly QueryResult[], points: number, windowMs: number, resolutionMs: number) {
  expect(byService(result).map((r) => r.metric.service)).toEqual(Object.keys(RATE).sort());
  for (const r of result) {
    const rate = RATE[r.metric.service];
    expect(r.values).toHaveLength(points);
    const off = r.values!.map(([, v]) => Math.abs(Number(v) - rate));
    expect(Math.max(...off)).toBeLessThanOrEqual(rate * STEP_MS / (windowMs - resolutionMs) + 1e-9);
    expect(off.filter((d) => d <= 1e-9).length).toBeGreaterThanOrEqual(0.95 * points);
  }
}

describeWithThanos('Thanos long-term storage: Store Gateway and Compactor on a bucket, read through Query', () => {
  let dir = '';
  let bucketDir = '';
  let store: ThanosStore | undefined;
  let query: ThanosQuery | undefined;
  /** Prometheus's own answer over the old range, before its blocks left it. */
  let fromPrometheus: QueryResult[] = [];
  let uploaded: BucketBlock[] = [];
  /** The sidecar's upload counters once every block was in the bucket. */
  let shipped = { uploads: -1, failures: -1 };
  let tsdbgen = '';

  /** The old range, on whole hours: days 1 to 13 of the window, in no Prometheus once uploaded. */
  const OLD = { start: (W0 + DAY) / SECOND, end: (W0 + 13 * DAY) / SECOND, step: 3600 };
  const OLD_POINTS = (OLD.end - OLD.start) / OLD.step + 1;

  /** Store and Query over the bucket as it is now (a Store started after the Compactor sees its result at once). */
  async function serveBucket() {
    await query?.stop();
    await store?.stop();
    store = await ThanosStore.start({ bucketDir, args: argsForHere(chartArgs('thanos-store'), 'store') });
    query = await ThanosQuery.start({ endpoints: [store.grpcAddress] });
    // Query answers from the Store once it has its labels and time range; the newest raw blocks
    // (the last six hours) stay through every phase, so their series show it.
    await untilTrue('Query answers from the Store', async () => (await query!.query(METRIC, { time: LAST_S })).result.length === COUNTERS.length);
  }

  /** The Compactor as the chart runs it, once (no --wait), with `set` overriding flags for the test. */
  const compact = (set: Readonly<Record<string, string>>) =>
    ThanosCompactor.runOnce({ bucketDir, args: argsForHere(chartArgs('thanos-compactor'), 'compact', {
      // Test-only: blocks uploaded a moment ago are processed at once (default: 30 min after upload),
      // and blocks compacted away or past retention are deleted on the next run, not 48 h later.
      '--consistency-delay': '0s', '--delete-delay': '0s', ...set,
    }, ['--wait']) });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chat-monitoring-thanos-store-'));
    bucketDir = join(dir, 'bucket');
    const tsdb = join(dir, 'tsdb');
    tsdbgen = buildTsdbgen(dir).path;
    runTsdbgen(tsdbgen, { startMs: W0, endMs: END - STEP_MS, stepMs: STEP_MS, blockMs: 2 * HOUR, counters: COUNTERS }, join(dir, 'spec.json'), tsdb);

    // A Prometheus replica over those blocks and its sidecar, which ships them to the bucket.
    await shipBlocks({ tsdb, bucketDir, externalLabels: EXTERNAL_LABELS, whileServed: async (prometheus, sidecar) => {
      fromPrometheus = (await prometheus.api<{ result: QueryResult[] }>('query_range', { query: `rate(${METRIC}[5m])`, ...OLD })).result;
      shipped = { uploads: await sidecar.metric(UPLOADS), failures: await sidecar.metric(UPLOAD_FAILURES) + await sidecar.metric(SYNC_FAILURES) };
    } });
    uploaded = bucketBlocks(bucketDir);
    // From here on no Prometheus holds the data: only the bucket.
    rmSync(tsdb, { recursive: true, force: true });
    await serveBucket();
  }, 240000);

  afterAll(async () => {
    await query?.stop();
    await store?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the sidecar uploaded every 2 h block with the replica\'s external labels, raw', () => {
    expect(uploaded.length).toBe((END - W0) / (2 * HOUR));
    for (const b of uploaded) {
      expect(b.labels).toEqual(EXTERNAL_LABELS);
      expect(b.resolution).toBe(0);
      expect(b.maxTime - b.minTime).toBeLessThanOrEqual(2 * HOUR);
    }
    expect(uploaded[0].minTime).toBe(W0);
  });

  it('(a) a range only the bucket holds, read through Query over the Store, is the exact rate, and what Prometheus returned over the same blocks', async () => {
    const through = await query!.queryRange(`rate(${METRIC}[5m])`, OLD.start, OLD.end, OLD.step);
    expect(through.warnings).toEqual([]);
    expectExactRates(through.result, OLD_POINTS);
    expectExactRates(fromPrometheus, OLD_POINTS);
    // Same series (plus the external labels Query adds), same timestamps, same values.
    const got = byService(through.result);
    expect(got.map((r) => r.metric)).toEqual(byService(fromPrometheus).map((r) => ({ ...r.metric, ...EXTERNAL_LABELS })));
    expect(got.map((r) => r.values)).toEqual(byService(fromPrometheus).map((r) => r.values));
  });

  it('(b) the Compactor with the chart\'s args compacts the 14-day window and downsamples it to 5m and 1h; a two-week panel at max_source_resolution=1h (and 5m) reads the rate: exact, or within 0.21 % where a window spans a chunk boundary', async () => {
    await compact({});
    const blocks = bucketBlocks(bucketDir).filter((b) => !b.markedForDeletion);
    const window = (res: number) => blocks.filter((b) => b.resolution === res && b.minTime === W0 && b.maxTime === endsBefore(W0 + WINDOW));
    // One block per resolution over the whole window: raw (compacted from 168 2 h blocks), 5m, 1h.
    expect(window(0)).toHaveLength(1);
    expect(window(RES_5M)).toHaveLength(1);
    expect(window(RES_1H)).toHaveLength(1);
    for (const b of blocks) expect(b.labels).toEqual(EXTERNAL_LABELS);
    // The six hours after the window stay raw 2 h blocks (too short to downsample).
    expect(blocks.filter((b) => b.minTime >= W0 + WINDOW).map((b) => b.resolution)).toEqual([0, 0, 0]);
    expect(blocks).toHaveLength(6);

    await serveBucket();
    // A long panel as Grafana's Thanos datasource asks for it with "max source resolution: 1h":
    // step 1 h, the rate over 3 h (three 1 h points), across the whole window (at half past the
    // hour: see expectDownsampledRates); then the same at 5m and raw.
    const start = (W0 + 6.5 * HOUR) / SECOND;
    const end = (W0 + WINDOW - 0.5 * HOUR) / SECOND;
    const points = (end - start) / 3600 + 1;
    for (const [resolution, ms] of [['1h', RES_1H], ['5m', RES_5M]] as const) {
      const r = await query!.queryRange(`rate(${METRIC}[3h])`, start, end, 3600, { max_source_resolution: resolution });
      expect(r.warnings).toEqual([]);
      expectDownsampledRates(r.result, points, 3 * HOUR, ms);
    }
    // The raw 14-day block (compacted from the 168 uploaded ones) still answers exactly.
    expectExactRates((await query!.queryRange(`rate(${METRIC}[3h])`, start, end, 3600, { max_source_resolution: '0s' })).result, points);
  }, 180000);

  it('(c) a short raw retention deletes the raw blocks older than it; the 5m and 1h blocks stay and still answer, also a long panel asked as Grafana asks it of Query on the chart\'s args (auto-downsampling)', async () => {
    // Test-only retention: the raw 14-day block ended A ago (14 to 28 days); a raw retention of
    // A - 3 h is past it and past the first 2 h block after it (ended A - 2 h), not the two newer
    // ones (A - 4 h, A - 6 h): an hour of margin either side. 5m and 1h keep the chart's defaults.
    const ageMin = Math.floor((Date.now() - (W0 + WINDOW)) / 60000);
    const raw = `${ageMin - 180}m`;
    await compact({ '--retention.resolution-raw': raw });
    await compact({ '--retention.resolution-raw': raw }); // deletes what the first run marked
    const blocks = bucketBlocks(bucketDir);
    expect(blocks.filter((b) => b.markedForDeletion)).toEqual([]);
    expect(blocks.map((b) => [b.resolution, b.minTime - W0, b.maxTime - W0])).toEqual([
      [RES_5M, 0, endsBefore(WINDOW)],
      [RES_1H, 0, endsBefore(WINDOW)],
      [0, WINDOW + 2 * HOUR, endsBefore(WINDOW + 4 * HOUR)],
      [0, WINDOW + 4 * HOUR, endsBefore(WINDOW + 6 * HOUR)],
    ]);

    await serveBucket();
    // Raw data of the old range are gone: at max_source_resolution=0s (raw only) Query finds nothing there ...
    const rawOnly = await query!.queryRange(`rate(${METRIC}[5m])`, OLD.start, OLD.end, OLD.step, { max_source_resolution: '0s' });
    expect(rawOnly.result).toEqual([]);
    // ... while the downsampled blocks serve the same range with the exact rate.
    for (const [resolution, ms] of [['1h', RES_1H], ['5m', RES_5M]] as const) {
      const r = await query!.queryRange(`rate(${METRIC}[3h])`, OLD.start + 1800, OLD.end + 1800, OLD.step, { max_source_resolution: resolution });
      expectDownsampledRates(r.result, OLD_POINTS, 3 * HOUR, ms);
    }
    // A long panel as Grafana asks it (no max_source_resolution) of Query on the chart's args
    // (--query.auto-downsampling): served from the downsampled blocks alone, with the exact rate.
    const queryArgs = queryArgsForHere(chartArgs('thanos-query'), (address) => {
      if (address === `dnssrv+${srvName(STORE_SERVICE, NS, THANOS_PORT_NAMES.grpc)}`) return [store!.grpcAddress];
      if (address === `dnssrv+${srvName(PROMETHEUS_OPERATED_SERVICE, NS, THANOS_PORT_NAMES.grpc)}`) return []; // no Prometheus holds this range
      throw new Error(`the chart's Query reads ${address}, which this test does not run`);
    });
    expect(queryArgs).toContain('--query.auto-downsampling');
    const chartQuery = await ThanosQuery.start({ args: queryArgs });
    try {
      await untilTrue('the chart\'s Query answers from the Store', async () => (await chartQuery.query(METRIC, { time: LAST_S })).result.length === COUNTERS.length);
      const auto = await chartQuery.queryRange(`rate(${METRIC}[3h])`, OLD.start + 1800, OLD.end + 1800, OLD.step);
      expectDownsampledRates(auto.result, OLD_POINTS, 3 * HOUR, RES_1H);
    } finally {
      await chartQuery.stop();
    }
    // The newest raw blocks still answer at raw resolution.
    const recent = await query!.queryRange(`rate(${METRIC}[5m])`, (W0 + WINDOW + 3 * HOUR) / SECOND, (W0 + WINDOW + 5 * HOUR) / SECOND, 60, { max_source_resolution: '0s' });
    expectExactRates(recent.result, 121);
  }, 180000);

  it('(d) ThanosSidecarUploadsFailing\'s counters, on the real sidecar: none while every block ships; failed syncs while the bucket cannot be reached, nothing uploaded', async () => {
    expect(shipped).toEqual({ uploads: uploaded.length, failures: 0 });
    // Three 2 h blocks, and a "bucket" below a regular file, which no operation can reach.
    const tsdb = join(dir, 'tsdb-unwritable');
    runTsdbgen(tsdbgen, { startMs: END - 6 * HOUR, endMs: END - STEP_MS, stepMs: STEP_MS, blockMs: 2 * HOUR, counters: COUNTERS }, join(dir, 'spec-unwritable.json'), tsdb);
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const seen = await withSidecar({ tsdb, bucketDir: join(file, 'bucket'), externalLabels: EXTERNAL_LABELS }, async (_prometheus, sidecar) => {
      // The shipper tries at start and then every 30 s; each block's existence check fails first.
      await untilTrue('the sidecar counts a failed sync', async () => (await sidecar.metric(SYNC_FAILURES)) > 0, 120000, 1000);
      return { uploads: await sidecar.metric(UPLOADS), syncFailures: await sidecar.metric(SYNC_FAILURES), uploadFailures: await sidecar.metric(UPLOAD_FAILURES) };
    });
    expect(seen.uploads).toBe(0);
    expect(seen.syncFailures).toBeGreaterThan(0);
    // An upload is never tried: a rule on upload failures alone would stay silent (why the alert reads both).
    expect(seen.uploadFailures).toBe(0);
  }, 180000);
});
