/**
 * Thanos at the pinned version (built by `npm run binaries` from test/tools/thanos): a sidecar
 * beside a Prometheus, and Query over sidecars, each on 127.0.0.1 free ports for tests.
 */
import { spawnSync } from 'child_process';
import { binaryPath, describeWithBinaries } from './binaries';
import { httpOk, ProcessContext, RunningProcess, RunningProgram } from './process';
import { PROMETHEUS_BINARIES, QueryResult } from './prometheus';

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

/** Starts `thanos <component>` in its own work directory; ready when its /-/ready answers 200. */
function startThanos(component: string, args: readonly string[]): Promise<RunningProcess> {
  return RunningProcess.start({
    name: `thanos ${component}`,
    binary: binaryPath('thanos'),
    workdir: `thanos-${component}`,
    ports: 2,
    args: (ctx) => [component, ...listen(ctx), '--log.level=warn', ...args],
    ready: (ctx) => httpOk(`${httpUrl(ctx)}/-/ready`)(),
  });
}

export interface SidecarOptions {
  /** The Prometheus it serves (its external labels become the series' labels on the Store API). */
  readonly prometheusUrl: string;
  /** That Prometheus's TSDB directory. */
  readonly tsdbPath: string;
}

export class ThanosSidecar extends RunningProgram {
  private constructor(process: RunningProcess) {
    super(process);
  }

  /** Ready once it has read its Prometheus's external labels. */
  static async start(options: SidecarOptions): Promise<ThanosSidecar> {
    return new ThanosSidecar(await startThanos('sidecar', [`--prometheus.url=${options.prometheusUrl}`, `--tsdb.path=${options.tsdbPath}`]));
  }

  /** Its Store API, for Query's --endpoint. */
  get grpcAddress(): string {
    return grpcAddress(this.process);
  }
}

export interface QueryOptions {
  /** Store API addresses (sidecars' gRPC). */
  readonly endpoints: readonly string[];
  /** Labels that only tell replicas apart; deduplicated away unless a query says dedup=false. */
  readonly replicaLabels?: readonly string[];
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
      // --endpoint is marked deprecated in v0.42 (in favour of --endpoint.sd-config) but still served.
      ...options.endpoints.map((e) => `--endpoint=${e}`),
      ...(options.replicaLabels ?? []).map((l) => `--query.replica-label=${l}`),
    ]));
  }

  get url(): string {
    return httpUrl(this.process);
  }

  /** Instant query through /api/v1/query; `params` such as dedup=false or time go along. */
  async query(expr: string, params: Record<string, string | number | boolean> = {}): Promise<ThanosQueryResult> {
    const body = new URLSearchParams(Object.entries({ query: expr, ...params }).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await fetch(`${this.url}/api/v1/query`, { method: 'POST', body });
    const json = (await res.json()) as { status: string; data: { result: QueryResult[] }; error?: string; warnings?: string[] };
    if (json.status !== 'success') throw new Error(`query ${expr} ${JSON.stringify(params)}: ${json.error}`);
    return { result: json.data.result, warnings: json.warnings ?? [] };
  }
}
