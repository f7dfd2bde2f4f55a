/**
 * A real Alertmanager and amtool, at the version the chart deploys (built by `npm run binaries`
 * from test/tools/alertmanager), for tests: started on 127.0.0.1 with clustering off (as the
 * operator runs one replica), or as a member of a cluster gossiping on 127.0.0.1 (as the operator
 * runs several: startCluster), driven through its v2 API, stopped by PID.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';
import { binaryPath } from './binaries';
import { freePorts, httpOk, ProcessContext, RunningProcess, RunningProgram, until } from './process';

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

/** What /api/v2/status says of the cluster. */
export interface ClusterStatus {
  /** `ready` once gossip has settled; `disabled` without clustering. */
  readonly status: 'ready' | 'settling' | 'disabled';
  readonly name?: string;
  /** The members this one sees, itself included. */
  readonly peers?: { name: string; address: string }[];
}

/**
 * One member of a cluster on 127.0.0.1, with the flags the operator (v0.93, pkg/alertmanager)
 * gives each replica above one: a gossip listener, every replica as a peer, the pod's name as
 * the peer name and `<namespace>/<name>` as the cluster label.
 */
export interface ClusterMembership {
  /** This member's gossip port on 127.0.0.1 (TCP and UDP), picked before any member starts. */
  readonly port: number;
  /** The other members' gossip addresses (host:port). */
  readonly peers: readonly string[];
  /** `--cluster.peer-name` (the operator: the pod's name). Alertmanager orders the members by it. */
  readonly name: string;
  /** `--cluster.label` (the operator: `<namespace>/<Alertmanager name>`). */
  readonly label: string;
}

export interface AlertmanagerOptions {
  /** Without it (the default), clustering is off, as the operator does for one replica. */
  readonly cluster?: ClusterMembership;
}

const urlOf = (ctx: ProcessContext) => `http://127.0.0.1:${ctx.ports[0]}`;

const clusterArgs = (cluster?: ClusterMembership): string[] => (cluster
  ? [
    `--cluster.listen-address=127.0.0.1:${cluster.port}`,
    ...cluster.peers.map((p) => `--cluster.peer=${p}`),
    `--cluster.peer-name=${cluster.name}`,
    `--cluster.label=${cluster.label}`,
  ]
  // An empty address turns clustering off, as the operator does for one replica: no gossip port.
  : ['--cluster.listen-address=']);

export class AlertmanagerServer extends RunningProgram {
  /** Starts Alertmanager with `config` (alertmanager.yaml text) and waits until /-/ready answers. */
  static async start(config: string, extraArgs: readonly string[] = [], options: AlertmanagerOptions = {}): Promise<AlertmanagerServer> {
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
        ...clusterArgs(options.cluster),
        '--log.level=warn',
        ...extraArgs,
      ],
      ready: (ctx) => httpOk(`${urlOf(ctx)}/-/ready`)(),
    }));
  }

  /**
   * Starts `size` members clustered with each other, all with `config`: member i is named
   * `<namePrefix>-<i>` (the operator's pod names) and peers with every other member. Their web
   * URLs (also their `--web.external-url`, which their notifications carry) differ.
   */
  static async startCluster(config: string, size: number, namePrefix: string, label: string, extraArgs: readonly string[] = []): Promise<AlertmanagerServer[]> {
    const ports = await freePorts(size);
    const members: AlertmanagerServer[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const peers = ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`);
        members.push(await AlertmanagerServer.start(config, extraArgs, { cluster: { port: ports[i], peers, name: `${namePrefix}-${i}`, label } }));
      }
      return members;
    } catch (e) {
      await Promise.all(members.map((m) => m.stop()));
      throw e;
    }
  }

  /** Waits until every member says its cluster is ready with all of them as peers (gossip settled). */
  static async settled(members: readonly AlertmanagerServer[], timeoutMs = 120_000): Promise<void> {
    for (const m of members) {
      await until(`${m.url} to see ${members.length} settled members`, async () => {
        const c = await m.clusterStatus();
        return c.status === 'ready' && c.peers?.length === members.length ? true : undefined;
      }, timeoutMs, 500);
    }
  }

  get url(): string {
    return urlOf(this.process);
  }

  /** What it says of its cluster (GET /api/v2/status). */
  async clusterStatus(): Promise<ClusterStatus> {
    return (await this.request<{ cluster: ClusterStatus }>('GET', 'status')).cluster;
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
