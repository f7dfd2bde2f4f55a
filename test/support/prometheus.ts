/**
 * A real Prometheus, at the version the chart deploys (built by `npm run binaries` from
 * test/tools/prometheus), started on 127.0.0.1 for tests and benchmarks.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';
import { binaryPath, describeWithBinaries } from './binaries';
import { freePort, httpOk, ProcessContext, RunningProcess, RunningProgram, sleep, until } from './process';

export { freePort, sleep };

export const PROMETHEUS_BINARIES = ['prometheus', 'promtool'] as const;

/** `describe` that skips, saying why in one line, where Prometheus and promtool are not built. */
export function describeWithPrometheus(name: string, body: () => void): void {
  describeWithBinaries(name, PROMETHEUS_BINARIES, body);
}

export interface PrometheusOptions {
  /** prometheus.yml content (YAML or JSON). */
  readonly config: string;
  /** Rule files: name -> content; referenced from the config as rules/<name>. */
  readonly ruleFiles?: Readonly<Record<string, string>>;
  /** Existing TSDB directory (e.g. backfilled blocks); a fresh one otherwise. */
  readonly storagePath?: string;
  /** More flags; a function gets the TSDB directory (for flags that name a file in it). */
  readonly extraArgs?: readonly string[] | ((tsdbPath: string) => readonly string[]);
  /** Listen on this address instead of 127.0.0.1 (a test host's, in a namespace the test made). */
  readonly host?: string;
}

export interface QueryResult {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: [number, string][];
}

/** What a promtool run gave: its exit status and output. */
export interface PromtoolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout then stderr. */
  readonly output: string;
}

/**
 * promtool (the pinned Prometheus release) with `args`, in `cwd`: the one place it is spawned.
 * `check` (default false) throws, with its output, where it exits non-zero.
 */
export function promtool(args: readonly string[], options: { readonly cwd?: string; readonly check?: boolean } = {}): PromtoolResult {
  const r = spawnSync(binaryPath('promtool'), args, { cwd: options.cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  const result = { status: r.status, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}${r.stderr}` };
  if (options.check && r.status !== 0) throw new Error(`promtool ${args.join(' ')} exited ${r.status ?? r.signal}:\n${result.output.slice(-4000)}`);
  return result;
}

const urlOf = (host: string, ctx: ProcessContext) => `http://${host}:${ctx.ports[0]}`;
const tsdbPathOf = (ctx: ProcessContext, storagePath: string | undefined) => storagePath ?? join(ctx.dir, 'data');

/** A rule group's state: `lastEvaluation` is an RFC 3339 time (year 0001 before the first), times in seconds. */
export interface RuleGroupStatus {
  readonly name: string;
  readonly lastEvaluation: string;
  readonly evaluationTime: number;
  readonly rules: readonly { readonly name: string; readonly query: string; readonly evaluationTime: number }[];
}

/** A scrape target as /api/v1/targets reports it; `lastScrape` is an RFC 3339 time. */
export interface ActiveTarget {
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
  readonly lastScrape: string;
  readonly labels: Record<string, string>;
}

export class PrometheusServer extends RunningProgram {
  /** promtool(), for callers that hold the class only. */
  static readonly promtool = promtool;

  private constructor(process: RunningProcess, private readonly host: string, private readonly storagePath?: string) {
    super(process);
  }

  /** Starts Prometheus and waits until /-/ready answers. `rule_files` in the config may use `rules/*.yaml`. */
  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const host = options.host ?? '127.0.0.1';
    const ruleFiles = Object.entries(options.ruleFiles ?? {}).map(([name, content]) => [join('rules', name), content]);
    return new PrometheusServer(await RunningProcess.start({
      name: 'prometheus',
      binary: binaryPath('prometheus'),
      workdir: 'prom',
      ports: 1,
      files: { 'prometheus.yml': options.config, ...Object.fromEntries(ruleFiles) },
      args: (ctx) => [
        `--config.file=${join(ctx.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${tsdbPathOf(ctx, options.storagePath)}`,
        `--web.listen-address=${host}:${ctx.ports[0]}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
        ...(typeof options.extraArgs === 'function' ? options.extraArgs(tsdbPathOf(ctx, options.storagePath)) : options.extraArgs ?? []),
      ],
      ready: (ctx) => httpOk(`${urlOf(host, ctx)}/-/ready`)(),
    }), host, options.storagePath);
  }

  /** Its TSDB directory (--storage.tsdb.path). */
  get tsdbPath(): string {
    return this.storagePath ?? join(this.workdir, 'data');
  }

  get url(): string {
    return urlOf(this.host, this.process);
  }

  async api<T>(path: string, params: Record<string, string | number> = {}): Promise<T> {
    const body = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await fetch(`${this.url}/api/v1/${path}`, { method: 'POST', body });
    const json = (await res.json()) as { status: string; data: T; error?: string };
    if (json.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${json.error}`);
    return json.data;
  }

  /** Every rule group as /api/v1/rules reports it (a GET-only endpoint). */
  async ruleGroups(): Promise<RuleGroupStatus[]> {
    const json = (await (await fetch(`${this.url}/api/v1/rules`)).json()) as { status: string; data: { groups: RuleGroupStatus[] }; error?: string };
    if (json.status !== 'success') throw new Error(`rules: ${json.error}`);
    return json.data.groups;
  }

  /** Every active scrape target (a GET-only endpoint). */
  async activeTargets(): Promise<ActiveTarget[]> {
    const json = (await (await fetch(`${this.url}/api/v1/targets?state=active`)).json()) as { status: string; data: { activeTargets: ActiveTarget[] }; error?: string };
    if (json.status !== 'success') throw new Error(`targets: ${json.error}`);
    return json.data.activeTargets;
  }

  /** Instant query; returns the vector's samples. */
  async query(expr: string, time?: number): Promise<QueryResult[]> {
    const data = await this.api<{ resultType: string; result: QueryResult[] }>('query', time === undefined ? { query: expr } : { query: expr, time });
    return data.result;
  }

  /** The value of the first sample of `expr`, or undefined where it has none. */
  async valueOf(expr: string): Promise<number | undefined> {
    const r = await this.query(expr);
    return r.length ? Number(r[0].value![1]) : undefined;
  }

  /** Waits until `expr`'s first sample is `want` (undefined: no sample); throws with the last value after `timeoutMs`. */
  async waitForValue(expr: string, want: number | undefined, timeoutMs = 30000, everyMs = 250): Promise<void> {
    let got: number | undefined;
    await until(`${expr} to be ${want}`, async () => ((got = await this.valueOf(expr)) === want ? true : undefined), timeoutMs, everyMs)
      .catch((e: Error) => {
        throw new Error(`${e.message} (last: ${got})`);
      });
  }
}

/**
 * The sum of metric `name`'s samples in a text exposition (a program's own /metrics), over the lines
 * holding every `having` text (e.g. `store_type="sidecar"`); throws where it declares no such metric.
 */
export function exposedSum(text: string, name: string, having: readonly string[] = []): number {
  const lines = text.split('\n');
  if (!lines.some((l) => l.startsWith(`# TYPE ${name} `))) throw new Error(`the exposition declares no ${name}`);
  const samples = lines.filter((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && having.every((h) => l.includes(h)));
  return samples.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
