/**
 * kube-apiserver on 127.0.0.1 (a free port), with what a cluster's workloads meet: RBAC
 * authorization, the default admission plugins (PodSecurity and ServiceAccount among them), and
 * service-account tokens (TokenRequest) signed by a key made per run. Clients authenticate with a
 * static admin token; the serving certificate is the one the API server generates in its cert dir.
 */
import { generateKeyPairSync, randomBytes } from 'crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { request } from 'https';
import { tmpdir } from 'os';
import { join } from 'path';
import { binaryOf, binaryPath, KubernetesProgram } from './binaries';
import { freePort, RunningProcess } from './process';

export interface KubeApiServerOptions {
  readonly etcdUrl: string;
  /** @default 'kubernetes' (the kind node image's release) */
  readonly kubernetes?: KubernetesProgram;
}

export class KubeApiServer {
  private constructor(
    readonly url: string,
    /** The API server's self-generated serving certificate and its CA, as clients' trust anchor. */
    readonly caFile: string,
    readonly adminToken: string,
    private readonly process: RunningProcess,
    private readonly dir: string,
  ) {}

  static async start(options: KubeApiServerOptions): Promise<KubeApiServer> {
    const dir = mkdtempSync(join(tmpdir(), 'chat-monitoring-apiserver-'));
    const certDir = join(dir, 'certs');
    const adminToken = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    writeFileSync(join(dir, 'sa.pub'), publicKey);
    writeFileSync(join(dir, 'sa.key'), privateKey, { mode: 0o600 });
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const caFile = join(certDir, 'apiserver.crt');
    const server = { url, caFile, adminToken };
    try {
      const process = await RunningProcess.start({
        name: 'kube-apiserver',
        binary: binaryPath(binaryOf(options.kubernetes ?? 'kubernetes', 'kube-apiserver')),
        args: [
          `--etcd-servers=${options.etcdUrl}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          // 1.37 refuses a loopback advertise address for the `kubernetes` Service's endpoints; no
          // test reaches the API server through that Service, so nothing reconciles them.
          '--endpoint-reconciler-type=none',
          `--secure-port=${port}`,
          `--cert-dir=${certDir}`,
          '--service-cluster-ip-range=10.0.0.0/24',
          '--authorization-mode=RBAC',
          `--token-auth-file=${join(dir, 'tokens.csv')}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${join(dir, 'sa.pub')}`,
          `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
          '--enable-admission-plugins=PodSecurity,ServiceAccount,NamespaceLifecycle,LimitRanger,ResourceQuota',
          '--v=0',
        ],
        readyTimeoutMs: 90000,
        ready: async () => existsSync(caFile) && (await get(server, '/readyz')).status === 200,
      });
      return new KubeApiServer(url, caFile, adminToken, process, dir);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  get output(): string {
    return this.process.output;
  }

  /** GET as the admin; for readiness checks and reads that need no kubectl. */
  get(path: string): Promise<{ status: number; body: string }> {
    return get(this, path);
  }

  async stop(): Promise<void> {
    await this.process.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function get(server: { url: string; caFile: string; adminToken: string }, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, {
      ca: readFileSync(server.caFile),
      headers: { Authorization: `Bearer ${server.adminToken}` },
    }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
