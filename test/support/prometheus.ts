/**
 * A real Prometheus, at the version the chart deploys (built by `npm run binaries` from
 * test/tools/prometheus), started on 127.0.0.1 for tests and benchmarks.
 */
import { mkdirSync, rmSync, writeFileSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { binaryPath, describeWithBinaries } from './binaries';
import { freePort, httpOk, RunningProcess, sleep } from './process';

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
  readonly extraArgs?: readonly string[];
  /** Listen on this address instead of 127.0.0.1 (a test host's, in a namespace the test made). */
  readonly host?: string;
}

export interface QueryResult {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: [number, string][];
}

export class PrometheusServer {
  private constructor(readonly url: string, readonly workdir: string, private readonly process: RunningProcess) {}

  /** Starts Prometheus and waits until /-/ready answers. `rule_files` in the config may use `rules/*.yaml`. */
  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const workdir = mkdtempSync(join(tmpdir(), 'chat-monitoring-prom-'));
    const rulesDir = join(workdir, 'rules');
    mkdirSync(rulesDir, { recursive: true });
    for (const [name, content] of Object.entries(options.ruleFiles ?? {})) writeFileSync(join(rulesDir, name), content);
    const configPath = join(workdir, 'prometheus.yml');
    writeFileSync(configPath, options.config);
    const host = options.host ?? '127.0.0.1';
    const port = await freePort();
    const url = `http://${host}:${port}`;
    try {
      const proc = await RunningProcess.start({
        name: 'prometheus',
        binary: binaryPath('prometheus'),
        args: [
          `--config.file=${configPath}`,
          `--storage.tsdb.path=${options.storagePath ?? join(workdir, 'data')}`,
          `--web.listen-address=${host}:${port}`,
          '--web.enable-lifecycle',
          '--log.level=warn',
          ...(options.extraArgs ?? []),
        ],
        cwd: workdir,
        ready: httpOk(`${url}/-/ready`),
      });
      return new PrometheusServer(url, workdir, proc);
    } catch (e) {
      rmSync(workdir, { recursive: true, force: true });
      throw e;
    }
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get output(): string {
    return this.process.output;
  }

  async api<T>(path: string, params: Record<string, string | number> = {}): Promise<T> {
    const body = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await fetch(`${this.url}/api/v1/${path}`, { method: 'POST', body });
    const json = (await res.json()) as { status: string; data: T; error?: string };
    if (json.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${json.error}`);
    return json.data;
  }

  /** Instant query; returns the vector's samples. */
  async query(expr: string, time?: number): Promise<QueryResult[]> {
    const data = await this.api<{ resultType: string; result: QueryResult[] }>('query', time === undefined ? { query: expr } : { query: expr, time });
    return data.result;
  }

  async stop(): Promise<void> {
    await this.process.stop();
    rmSync(this.workdir, { recursive: true, force: true });
  }
}
