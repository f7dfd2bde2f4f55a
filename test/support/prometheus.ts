/**
 * A real Prometheus (Debian's package) started on 127.0.0.1 for tests and benchmarks.
 * Where it is not installed, suites skip with one line, unless CHAT_MONITORING_REQUIRE_PROMETHEUS=1
 * (set by CI), which turns the skip into a failure.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

export function findBinary(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Why the real-Prometheus suites cannot run here, or undefined when they can. Throws when CI requires them. */
export function prometheusUnavailable(): string | undefined {
  const missing = ['prometheus', 'promtool'].filter((b) => !findBinary(b));
  if (missing.length === 0) return undefined;
  const reason = `${missing.join(' and ')} not installed (apt-get install -y prometheus)`;
  if (process.env.CHAT_MONITORING_REQUIRE_PROMETHEUS === '1') {
    throw new Error(`CHAT_MONITORING_REQUIRE_PROMETHEUS=1 but ${reason}`);
  }
  return reason;
}

/** `describe` that skips, saying why in one line, when Prometheus is not installed. */
export function describeWithPrometheus(name: string, body: () => void): void {
  const reason = prometheusUnavailable();
  if (reason) {
    describe(name, () => {
      it.skip(`skipped: ${reason}`, () => undefined);
    });
    // eslint-disable-next-line no-console
    console.warn(`[skip] ${name}: ${reason}`);
    return;
  }
  describe(name, body);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface PrometheusOptions {
  /** prometheus.yml content (YAML or JSON). */
  readonly config: string;
  /** Rule files: name -> content; referenced from the config as rules/<name>. */
  readonly ruleFiles?: Readonly<Record<string, string>>;
  /** Existing TSDB directory (e.g. backfilled blocks); a fresh one otherwise. */
  readonly storagePath?: string;
  readonly extraArgs?: readonly string[];
}

export interface QueryResult {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: [number, string][];
}

export class PrometheusServer {
  private constructor(
    readonly url: string,
    readonly workdir: string,
    private readonly process: ChildProcess,
    private readonly logs: string[],
  ) {}

  /** Starts Prometheus and waits until /-/ready answers. `rule_files` in the config may use `rules/*.yaml`. */
  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const workdir = mkdtempSync(join(tmpdir(), 'chat-monitoring-prom-'));
    const rulesDir = join(workdir, 'rules');
    execFileSync('mkdir', ['-p', rulesDir]);
    for (const [name, content] of Object.entries(options.ruleFiles ?? {})) writeFileSync(join(rulesDir, name), content);
    const configPath = join(workdir, 'prometheus.yml');
    writeFileSync(configPath, options.config);
    const port = await freePort();
    const logs: string[] = [];
    const child = spawn('prometheus', [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${options.storagePath ?? join(workdir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--log.level=warn',
      ...(options.extraArgs ?? []),
    ], { cwd: workdir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => logs.push(String(d)));
    child.stderr?.on('data', (d) => logs.push(String(d)));
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, workdir, child, logs);
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${logs.join('')}`);
      try {
        const res = await fetch(`${server.url}/-/ready`);
        if (res.ok) return server;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    await server.stop();
    throw new Error(`prometheus not ready after 20s:\n${logs.join('')}`);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get output(): string {
    return this.logs.join('');
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
    if (this.process.exitCode === null) {
      const exited = new Promise((resolve) => this.process.once('exit', resolve));
      this.process.kill('SIGTERM');
      // An unref'd timer: a clean exit must not keep jest waiting for the grace period.
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      if (this.process.exitCode === null) this.process.kill('SIGKILL');
    }
    rmSync(this.workdir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
