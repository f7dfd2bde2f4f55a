/** etcd on 127.0.0.1 free ports, data in a temp dir: the API server's store in the control plane. */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { binaryPath } from './binaries';
import { freePort, RunningProcess } from './process';

export class Etcd {
  private constructor(readonly clientUrl: string, private readonly process: RunningProcess, private readonly dataDir: string) {}

  static async start(): Promise<Etcd> {
    const dataDir = mkdtempSync(join(tmpdir(), 'chat-monitoring-etcd-'));
    const clientUrl = `http://127.0.0.1:${await freePort()}`;
    const peerUrl = `http://127.0.0.1:${await freePort()}`;
    try {
      const process = await RunningProcess.start({
        name: 'etcd',
        binary: binaryPath('etcd'),
        args: [
          '--name=test',
          `--data-dir=${dataDir}`,
          `--listen-client-urls=${clientUrl}`,
          `--advertise-client-urls=${clientUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=test=${peerUrl}`,
          // A test store: durability buys nothing and fsync dominates its latency.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        ready: async () => (await (await fetch(`${clientUrl}/health`)).json() as { health: string }).health === 'true',
      });
      return new Etcd(clientUrl, process, dataDir);
    } catch (e) {
      rmSync(dataDir, { recursive: true, force: true });
      throw e;
    }
  }

  get output(): string {
    return this.process.output;
  }

  async stop(): Promise<void> {
    await this.process.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
