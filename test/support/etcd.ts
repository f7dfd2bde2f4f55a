/** etcd on 127.0.0.1 free ports, data in its own work dir: the API server's store in the control plane. */
import { join } from 'path';
import { binaryPath } from './binaries';
import { ProcessContext, RunningProcess, RunningProgram } from './process';

const clientUrl = (ctx: ProcessContext) => `http://127.0.0.1:${ctx.ports[0]}`;
const peerUrl = (ctx: ProcessContext) => `http://127.0.0.1:${ctx.ports[1]}`;

export class Etcd extends RunningProgram {
  static async start(): Promise<Etcd> {
    return new Etcd(await RunningProcess.start({
      name: 'etcd',
      binary: binaryPath('etcd'),
      workdir: 'etcd',
      ports: 2,
      args: (ctx) => [
        '--name=test',
        `--data-dir=${join(ctx.dir, 'data')}`,
        `--listen-client-urls=${clientUrl(ctx)}`,
        `--advertise-client-urls=${clientUrl(ctx)}`,
        `--listen-peer-urls=${peerUrl(ctx)}`,
        `--initial-advertise-peer-urls=${peerUrl(ctx)}`,
        `--initial-cluster=test=${peerUrl(ctx)}`,
        // A test store: durability buys nothing and fsync dominates its latency.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      ready: async (ctx) => (await (await fetch(`${clientUrl(ctx)}/health`)).json() as { health: string }).health === 'true',
    }));
  }

  get clientUrl(): string {
    return clientUrl(this.process);
  }
}
