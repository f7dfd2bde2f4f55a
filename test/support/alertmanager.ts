/**
 * A real Alertmanager and amtool, at the version the chart deploys (built by `npm run binaries`
 * from test/tools/alertmanager), for tests: started on 127.0.0.1 with clustering off, driven
 * through its v2 API, stopped by PID.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';
import { binaryPath } from './binaries';
import { httpOk, ProcessContext, RunningProcess, RunningProgram } from './process';

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

const urlOf = (ctx: ProcessContext) => `http://127.0.0.1:${ctx.ports[0]}`;

export class AlertmanagerServer extends RunningProgram {
  /** Starts Alertmanager with `config` (alertmanager.yaml text) and waits until /-/ready answers. */
  static async start(config: string, extraArgs: readonly string[] = []): Promise<AlertmanagerServer> {
    return new AlertmanagerServer(await RunningProcess.start({
      name: 'alertmanager',
      binary: binaryPath('alertmanager'),
      workdir: 'am',
      ports: 1,
      files: { 'alertmanager.yaml': config },
      args: (ctx) => [
        `--config.file=${join(ctx.dir, 'alertmanager.yaml')}`,
        `--storage.path=${join(ctx.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${ctx.ports[0]}`,
        `--web.external-url=${urlOf(ctx)}`,
        // An empty address turns clustering off, as the operator does for one replica: no gossip port.
        '--cluster.listen-address=',
        '--log.level=warn',
        ...extraArgs,
      ],
      ready: (ctx) => httpOk(`${urlOf(ctx)}/-/ready`)(),
    }));
  }

  get url(): string {
    return urlOf(this.process);
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
}
