/**
 * A real Alertmanager and amtool, at the version the chart deploys (built by `npm run binaries`
 * from test/tools/alertmanager), for tests: started on 127.0.0.1 with clustering off, driven
 * through its v2 API, stopped by PID.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { binaryPath } from './binaries';
import { freePort, httpOk, RunningProcess } from './process';

export const ALERTMANAGER_BINARIES = ['alertmanager', 'amtool'] as const;

/** An alert as Prometheus posts it to /api/v2/alerts. */
export interface PostableAlert {
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly startsAt?: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

/** An alert as /api/v2/alerts returns it. */
export interface GettableAlert extends PostableAlert {
  readonly fingerprint: string;
  readonly receivers: { name: string }[];
  readonly status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

export interface Silence {
  readonly matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
}

/** Runs amtool with `args`; returns its exit code and output. */
export function amtool(args: readonly string[], cwd?: string): { status: number | null; output: string } {
  const r = spawnSync(binaryPath('amtool'), args, { cwd, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export class AlertmanagerServer {
  private constructor(readonly url: string, readonly workdir: string, private readonly process: RunningProcess) {}

  /** Starts Alertmanager with `config` (alertmanager.yaml text) and waits until /-/ready answers. */
  static async start(config: string, extraArgs: readonly string[] = []): Promise<AlertmanagerServer> {
    const workdir = mkdtempSync(join(tmpdir(), 'chat-monitoring-am-'));
    const configPath = join(workdir, 'alertmanager.yaml');
    writeFileSync(configPath, config);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    try {
      const proc = await RunningProcess.start({
        name: 'alertmanager',
        binary: binaryPath('alertmanager'),
        args: [
          `--config.file=${configPath}`,
          `--storage.path=${join(workdir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          `--web.external-url=${url}`,
          // An empty address turns clustering off, as the operator does for one replica: no gossip port.
          '--cluster.listen-address=',
          '--log.level=warn',
          ...extraArgs,
        ],
        cwd: workdir,
        ready: httpOk(`${url}/-/ready`),
      });
      return new AlertmanagerServer(url, workdir, proc);
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

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/api/v2/${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} /api/v2/${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Every alert Alertmanager holds, including silenced and inhibited ones. */
  alerts(): Promise<GettableAlert[]> {
    return this.request('GET', 'alerts?silenced=true&inhibited=true&active=true&unprocessed=true');
  }

  postAlerts(alerts: readonly PostableAlert[]): Promise<void> {
    return this.request('POST', 'alerts', alerts);
  }

  /** Creates a silence; returns its id. */
  async silence(s: Silence): Promise<string> {
    return (await this.request<{ silenceID: string }>('POST', 'silences', s)).silenceID;
  }

  /** Expires a silence now (what `amtool silence expire` does). */
  async expireSilence(id: string): Promise<void> {
    const res = await fetch(`${this.url}/api/v2/silence/${id}`, { method: 'DELETE' });
    if (!res.ok) throw new Error(`DELETE /api/v2/silence/${id}: ${res.status} ${await res.text()}`);
  }

  async stop(): Promise<void> {
    await this.process.stop();
    rmSync(this.workdir, { recursive: true, force: true });
  }
}
