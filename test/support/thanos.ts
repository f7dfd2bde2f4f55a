/**
 * Thanos at the pinned version (built by `npm run binaries` from test/tools/thanos): a sidecar
 * beside a Prometheus (uploading its blocks where given a bucket), Query over Store APIs, the Store
 * Gateway and the Compactor on a bucket, each on 127.0.0.1 free ports for tests. The bucket is
 * Thanos's FILESYSTEM object store (a directory; test-only, as Thanos says of it).
 */
import { spawnSync } from 'child_process';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { stringify } from 'yaml';
import { endpointSdConfig } from '../../lib/thanos/thanos-component';
import { binaryPath, describeWithBinaries } from './binaries';
import { httpOk, ProcessContext, RunningProcess, RunningProgram, untilTrue } from './process';
import { exposedSum, PROMETHEUS_BINARIES, PrometheusServer, QueryResult } from './prometheus';

export const THANOS_BINARIES = ['thanos'] as const;

/** `describe` that skips, saying why in one line, where Prometheus or Thanos is not built. */
export function describeWithThanos(name: string, body: () => void): void {
  describeWithBinaries(name, [...PROMETHEUS_BINARIES, ...THANOS_BINARIES], body);
}

/** What `thanos --version` prints (its first line names the version). */
export function thanosVersion(): string {
  const r = spawnSync(binaryPath('thanos'), ['--version'], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return `${r.stdout}${r.stderr}`;
}

/** ports[0]: HTTP, ports[1]: gRPC (the Store API Query reads). */
const httpUrl = (ctx: ProcessContext) => `http://127.0.0.1:${ctx.ports[0]}`;
const grpcAddress = (ctx: ProcessContext) => `127.0.0.1:${ctx.ports[1]}`;
const listen = (ctx: ProcessContext) => [`--http-address=127.0.0.1:${ctx.ports[0]}`, `--grpc-address=${grpcAddress(ctx)}`];

/** The objstore configuration file every bucket user gets in its work directory. */
const OBJSTORE_FILE = 'objstore.yml';

/** Thanos's objstore configuration of a FILESYSTEM bucket in `directory`. */
export function filesystemBucket(directory: string): string {
  return stringify({ type: 'FILESYSTEM', config: { directory } });
}

interface ThanosStart {
  /** Reads the FILESYSTEM bucket in this directory (--objstore.config-file in its work directory). */
  readonly bucketDir?: string;
  /** Gets --data-dir in its work directory. */
  readonly dataDir?: boolean;
  /** Ready at once (a run-once program) instead of when /-/ready answers. */
  readonly runOnce?: boolean;
  /** gRPC too (a Store API); a Compactor has HTTP only. @default true */
  readonly grpc?: boolean;
}

/** Starts `thanos <component>` in its own work directory; ready when its /-/ready answers 200. */
function startThanos(component: string, args: readonly string[], o: ThanosStart = {}): Promise<RunningProcess> {
  return RunningProcess.start({
    name: `thanos ${component}`,
    binary: binaryPath('thanos'),
    workdir: `thanos-${component}`,
    ports: o.grpc === false ? 1 : 2,
    files: o.bucketDir === undefined ? {} : { [OBJSTORE_FILE]: filesystemBucket(o.bucketDir) },
    args: (ctx) => [
      component,
      ...(o.grpc === false ? [`--http-address=127.0.0.1:${ctx.ports[0]}`] : listen(ctx)),
      '--log.level=warn',
      ...(o.bucketDir === undefined ? [] : [`--objstore.config-file=${join(ctx.dir, OBJSTORE_FILE)}`]),
      ...(o.dataDir ? [`--data-dir=${join(ctx.dir, 'data')}`] : []),
      ...args,
    ],
    ready: o.runOnce ? async () => true : (ctx) => httpOk(`${httpUrl(ctx)}/-/ready`)(),
  });
}

/** The sum of a Thanos process's own metric `name` on its /metrics (exposedSum). */
async function ownMetric(ctx: ProcessContext, name: string, having: readonly string[] = []): Promise<number> {
  return exposedSum(await (await fetch(`${httpUrl(ctx)}/metrics`)).text(), name, having);
}

/** Flags the classes set themselves (addresses, paths and log level on this machine): dropped from args taken from the chart. */
const OWN_FLAGS = ['--http-address', '--grpc-address', '--log.level', '--objstore.config-file', '--data-dir'];
const flagName = (arg: string) => arg.split('=')[0];

/**
 * A Thanos container's args as the chart gives them, for running here: without the subcommand
 * (each class passes its own), the flags the class sets itself, and `drop` (e.g. --wait for a run
 * once); then `set` (name -> value) replacing or adding flags, e.g. test-only retentions.
 */
export function argsForHere(chartArgs: readonly string[], component: string, set: Readonly<Record<string, string>> = {}, drop: readonly string[] = []): string[] {
  const args = chartArgs[0] === component ? chartArgs.slice(1) : [...chartArgs];
  const replaced = new Set([...OWN_FLAGS, ...drop, ...Object.keys(set)]);
  return [...args.filter((a) => !replaced.has(flagName(a))), ...Object.entries(set).map(([k, v]) => `${k}=${v}`)];
}

export interface SidecarOptions {
  /** The Prometheus it serves (its external labels become the series' labels on the Store API). */
  readonly prometheusUrl: string;
  /** That Prometheus's TSDB directory. */
  readonly tsdbPath: string;
  /** Uploads that TSDB's blocks into the FILESYSTEM bucket in this directory (its shipper). */
  readonly bucketDir?: string;
  /**
   * Its other flags: the `thanos-sidecar` container args of the StatefulSet the operator generated
   * (test/support/operator-config.ts operatorContainerArgs), their Prometheus URL, TSDB path,
   * addresses and log level replaced by this machine's.
   */
  readonly statefulSetArgs?: readonly string[];
}

export class ThanosSidecar extends RunningProgram {
  private constructor(process: RunningProcess) {
    super(process);
  }

  /** Ready once it has read its Prometheus's external labels. */
  static async start(options: SidecarOptions): Promise<ThanosSidecar> {
    const here = { '--prometheus.url': options.prometheusUrl, '--tsdb.path': options.tsdbPath };
    const args = options.statefulSetArgs
      ? argsForHere(options.statefulSetArgs, 'sidecar', here)
      : Object.entries(here).map(([k, v]) => `${k}=${v}`);
    return new ThanosSidecar(await startThanos('sidecar', args, { bucketDir: options.bucketDir }));
  }

  /** Its Store API, for Query's --endpoint. */
  get grpcAddress(): string {
    return grpcAddress(this.process);
  }

  /** The sum of its own metric `name`'s samples (ownMetric). */
  metric(name: string): Promise<number> {
    return ownMetric(this.process, name);
  }
}

/**
 * The chart's Query args for running here (argsForHere): each StoreAPI address of its
 * --endpoint.sd-config (a `dnssrv+` name of a headless Service's gRPC port) replaced by the
 * addresses `resolve` gives for it, as the cluster's DNS gives the pods behind the Service.
 */
export function queryArgsForHere(chartArgs: readonly string[], resolve: (address: string) => readonly string[]): string[] {
  const sd = chartArgs.filter((a) => flagName(a) === SD_CONFIG_FLAG);
  if (sd.length !== 1) throw new Error(`the chart's Query args hold ${sd.length} ${SD_CONFIG_FLAG} flags, expected 1`);
  const chartEndpoints = (JSON.parse(sd[0].slice(SD_CONFIG_FLAG.length + 1)) as { endpoints: { address: string }[] }).endpoints;
  const local = endpointSdConfig(chartEndpoints.flatMap((e) => resolve(e.address)));
  return argsForHere(chartArgs, 'query', { [SD_CONFIG_FLAG]: local.slice(SD_CONFIG_FLAG.length + 1) });
}

const SD_CONFIG_FLAG = '--endpoint.sd-config';

export interface QueryOptions {
  /** Store API addresses (sidecars' gRPC), as its --endpoint.sd-config; none where `args` hold one. */
  readonly endpoints?: readonly string[];
  /** Labels that only tell replicas apart; deduplicated away unless a query says dedup=false. */
  readonly replicaLabels?: readonly string[];
  /** Its other flags: the chart's container args through queryArgsForHere(). */
  readonly args?: readonly string[];
}

/** A query answer of Thanos Query's Prometheus-compatible API, with the warnings it adds. */
export interface ThanosQueryResult {
  readonly result: QueryResult[];
  readonly warnings: readonly string[];
}

export class ThanosQuery extends RunningProgram {
  private constructor(process: RunningProcess) {
    super(process);
  }

  static async start(options: QueryOptions): Promise<ThanosQuery> {
    return new ThanosQuery(await startThanos('query', [
      ...(options.endpoints ? [endpointSdConfig(options.endpoints)] : []),
      ...(options.replicaLabels ?? []).map((l) => `--query.replica-label=${l}`),
      ...(options.args ?? []),
    ]));
  }

  get url(): string {
    return httpUrl(this.process);
  }

  /** The sum of its own metric `name`'s samples whose line holds every `having` text (ownMetric). */
  metric(name: string, having: readonly string[] = []): Promise<number> {
    return ownMetric(this.process, name, having);
  }

  /** Its Store API endpoints as /api/v1/stores lists them: address, whether its last check succeeded, its time range (ms). */
  async endpoints(): Promise<{ name: string; healthy: boolean; minTime: number; maxTime: number }[]> {
    const json = (await (await fetch(`${this.url}/api/v1/stores`)).json()) as {
      status: string; data?: Record<string, { name: string; lastError: string | null; minTime: number; maxTime: number }[]>; error?: string;
    };
    if (json.status !== 'success') throw new Error(`stores: ${json.error}`);
    return Object.values(json.data ?? {}).flat().map((e) => ({ name: e.name, healthy: e.lastError === null, minTime: e.minTime, maxTime: e.maxTime }));
  }

  /** Instant query through /api/v1/query; `params` such as dedup=false or time go along. */
  query(expr: string, params: QueryParams = {}): Promise<ThanosQueryResult> {
    return this.api('query', { query: expr, ...params });
  }

  /**
   * Its instant queries in the shape test/contract/panel-proof.ts reads, a PrometheusServer's
   * query(expr, time): deduplicated unless `params` say dedup=false; the warnings of each answer
   * (a partial response) go to `warnings`.
   */
  asPrometheus(warnings: string[] = [], params: QueryParams = {}): Pick<PrometheusServer, 'query'> {
    return {
      query: async (expr: string, time?: number) => {
        const r = await this.query(expr, time === undefined ? params : { ...params, time });
        warnings.push(...r.warnings);
        return r.result;
      },
    };
  }

  /** Range query through /api/v1/query_range (times in seconds); `params` such as max_source_resolution go along. */
  queryRange(expr: string, start: number, end: number, step: number, params: QueryParams = {}): Promise<ThanosQueryResult> {
    return this.api('query_range', { query: expr, start, end, step, ...params });
  }

  private async api(path: string, params: QueryParams): Promise<ThanosQueryResult> {
    const body = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await fetch(`${this.url}/api/v1/${path}`, { method: 'POST', body });
    const json = (await res.json()) as { status: string; data: { result: QueryResult[] }; error?: string; warnings?: string[] };
    if (json.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${json.error}`);
    return { result: json.data.result, warnings: json.warnings ?? [] };
  }
}

type QueryParams = Record<string, string | number | boolean>;

export interface BucketUserOptions {
  /** The FILESYSTEM bucket's directory. */
  readonly bucketDir: string;
  /** Its other flags: the chart's container args through argsForHere(). */
  readonly args?: readonly string[];
}

/** The Store Gateway: serves the bucket's blocks on the Store API; ready after its first sync of the bucket. */
export class ThanosStore extends RunningProgram {
  private constructor(process: RunningProcess) {
    super(process);
  }

  static async start(options: BucketUserOptions): Promise<ThanosStore> {
    return new ThanosStore(await startThanos('store', options.args ?? [], { bucketDir: options.bucketDir, dataDir: true }));
  }

  /** Its Store API, for Query's --endpoint. */
  get grpcAddress(): string {
    return grpcAddress(this.process);
  }

  /** The sum of its own metric `name`'s samples whose line holds every `having` text (ownMetric). */
  metric(name: string, having: readonly string[] = []): Promise<number> {
    return ownMetric(this.process, name, having);
  }
}

/** The Compactor, run once (without --wait): compacts, downsamples, applies retention, then exits. */
export class ThanosCompactor extends RunningProgram {
  private constructor(process: RunningProcess) {
    super(process);
  }

  /** Runs it to the end; throws with its output where it fails or is still running after `timeoutMs`. */
  static async runOnce(options: BucketUserOptions, timeoutMs = 120000): Promise<{ output: string; ms: number }> {
    const args = options.args ?? [];
    if (args.some((a) => flagName(a) === '--wait')) throw new Error('ThanosCompactor.runOnce: drop --wait from the args (argsForHere(..., [\'--wait\']))');
    const t0 = Date.now();
    const c = new ThanosCompactor(await startThanos('compact', args, { bucketDir: options.bucketDir, dataDir: true, runOnce: true, grpc: false }));
    try {
      const status = await c.process.exited(timeoutMs);
      if (status !== 0) throw new Error(`thanos compact exited ${status}:\n${c.output.slice(-4000)}`);
      return { output: c.output, ms: Date.now() - t0 };
    } finally {
      await c.stop();
    }
  }
}

/** A block in a bucket as its meta.json describes it (times in ms, resolution in ms: 0 raw, 300000 5m, 3600000 1h). */
export interface BucketBlock {
  readonly ulid: string;
  readonly minTime: number;
  readonly maxTime: number;
  readonly resolution: number;
  readonly level: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Which program wrote it: `sidecar` (uploaded), `compactor`, ... */
  readonly source: string;
  /** A deletion-mark.json is there (the Compactor deletes it on its next run past --delete-delay). */
  readonly markedForDeletion: boolean;
}

/** The blocks of a FILESYSTEM bucket, oldest first. */
export function bucketBlocks(bucketDir: string): BucketBlock[] {
  return readdirSync(bucketDir).filter(isBlockDir).flatMap((ulid) => {
    const files = readdirSync(join(bucketDir, ulid));
    if (!files.includes('meta.json')) return []; // an upload under way
    const m = JSON.parse(readFileSync(join(bucketDir, ulid, 'meta.json'), 'utf8')) as {
      minTime: number; maxTime: number; compaction: { level: number }; thanos: { labels: Record<string, string>; downsample: { resolution: number }; source: string };
    };
    return [{ ulid, minTime: m.minTime, maxTime: m.maxTime, resolution: m.thanos.downsample.resolution, level: m.compaction.level,
      labels: m.thanos.labels, source: m.thanos.source, markedForDeletion: files.includes('deletion-mark.json') }];
  }).sort((a, b) => a.minTime - b.minTime || a.resolution - b.resolution);
}

const isBlockDir = (name: string) => /^[0-9A-Z]{26}$/.test(name);

const HOUR_MS = 3_600_000;
/**
 * The Compactor's compaction ranges its planner fills, those above the first of its levels
 * (1 h, 2 h, 8 h, 2 d, 14 d: Thanos v0.42.5 cmd/thanos/compact.go, pkg/compact/planner.go selectMetas).
 */
const COMPACTION_RANGES_MS = [2 * HOUR_MS, 8 * HOUR_MS, 48 * HOUR_MS, 14 * 24 * HOUR_MS];
/**
 * What the Compactor makes of one group's blocks (one replica's: its external labels differ), as
 * [minTime, maxTime, source]: its planner (Thanos v0.42.5 pkg/compact/planner.go, Prometheus's)
 * leaves the newest block out, then compacts into one the blocks of the first aligned range (2 h,
 * then 8 h, 2 d, 14 d) that holds two or more and is whole or ends by the start of the newest block
 * left in; again until nothing is planned. Blocks of a minute, a few minutes of them, fill no 2 h
 * range: they stay as uploaded unless an even UTC hour falls among them, when those before it
 * become one block. Downsampling (blocks of 40 h and more) and retention are not modelled.
 */
export function compactorPlan(blocks: readonly Pick<BucketBlock, 'minTime' | 'maxTime' | 'source'>[]): [number, number, string][] {
  let result: [number, number, string][] = blocks.map((b) => [b.minTime, b.maxTime, b.source]);
  for (;;) {
    const considered = result.slice(0, -1);
    if (considered.length === 0) return result;
    const highTime = considered[considered.length - 1][0];
    let planned: [number, number, string][] | undefined;
    for (const range of COMPACTION_RANGES_MS) {
      // pkg/compact/planner.go splitByRange: the blocks within each aligned range, in order; a block that crosses one is in none.
      const parts: [number, number, string][][] = [];
      for (let i = 0; i < considered.length;) {
        const t0 = range * Math.floor(considered[i][0] / range);
        if (considered[i][1] > t0 + range) {
          i++;
          continue;
        }
        const part: [number, number, string][] = [];
        for (; i < considered.length && considered[i][1] <= t0 + range; i++) part.push(considered[i]);
        parts.push(part);
      }
      planned = parts.find((p) => p.length >= 2 && (p[p.length - 1][1] - p[0][0] === range || p[p.length - 1][1] <= highTime));
      if (planned) break;
    }
    if (!planned) return result;
    const merged: [number, number, string] = [planned[0][0], planned[planned.length - 1][1], 'compactor'];
    result = [...result.filter((b) => !planned!.includes(b)), merged].sort((a, b) => a[0] - b[0]);
  }
}

export interface ShipOptions {
  /** A TSDB directory of 2 h blocks (e.g. tsdbgen's). */
  readonly tsdb: string;
  readonly bucketDir: string;
  /** The Prometheus replica's external labels, which the sidecar puts on every block it uploads. */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** Called with that Prometheus and its sidecar once every block is in the bucket, before they stop. */
  readonly whileServed?: (prometheus: PrometheusServer, sidecar: ThanosSidecar) => Promise<void>;
  /** @default 180000 */
  readonly timeoutMs?: number;
}

/**
 * A TSDB served the way production serves it beside a sidecar: a Prometheus replica over it, as the
 * operator runs one with a sidecar (2 h blocks, no local compaction; a retention that keeps
 * weeks-old data), and a sidecar uploading its blocks to the bucket; `body` runs while both do,
 * and both stop after it.
 */
export async function withSidecar<T>(o: Pick<ShipOptions, 'tsdb' | 'bucketDir' | 'externalLabels'>,
  body: (prometheus: PrometheusServer, sidecar: ThanosSidecar) => Promise<T>): Promise<T> {
  const prometheus = await PrometheusServer.start({
    config: stringify({ global: { external_labels: o.externalLabels } }),
    storagePath: o.tsdb,
    extraArgs: ['--storage.tsdb.min-block-duration=2h', '--storage.tsdb.max-block-duration=2h', '--storage.tsdb.retention.time=1y'],
  });
  try {
    const sidecar = await ThanosSidecar.start({ prometheusUrl: prometheus.url, tsdbPath: o.tsdb, bucketDir: o.bucketDir });
    try {
      return await body(prometheus, sidecar);
    } finally {
      await sidecar.stop();
    }
  } finally {
    await prometheus.stop();
  }
}

/** Ships a TSDB's blocks to a bucket (withSidecar); both stop once the bucket holds them all. */
export async function shipBlocks(o: ShipOptions): Promise<{ blocks: number; ms: number }> {
  const t0 = Date.now();
  const blocks = readdirSync(o.tsdb).filter(isBlockDir).length;
  await withSidecar(o, async (prometheus, sidecar) => {
    await untilTrue(`the sidecar uploaded all ${blocks} blocks`, () => bucketBlocks(o.bucketDir).length === blocks, o.timeoutMs ?? 180000, 500);
    await o.whileServed?.(prometheus, sidecar);
  });
  return { blocks, ms: Date.now() - t0 };
}
