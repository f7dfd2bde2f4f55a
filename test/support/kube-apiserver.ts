/**
 * kube-apiserver on 127.0.0.1 (a free port), with what a cluster's workloads meet: RBAC
 * authorization, the default admission plugins (PodSecurity and ServiceAccount among them), and
 * service-account tokens (TokenRequest) signed by a key made per run. Clients authenticate with a
 * static admin token; the serving certificate is the one the API server generates in its cert dir.
 */
import { generateKeyPairSync, randomBytes } from 'crypto';
import { existsSync, readFileSync } from 'fs';
import { request } from 'https';
import { join } from 'path';
import { binaryOf, binaryPath, KubernetesProgram } from './binaries';
import { ProcessContext, RunningProcess, RunningProgram } from './process';

export interface KubeApiServerOptions {
  readonly etcdUrl: string;
  /** @default 'kubernetes' (the kind node image's release) */
  readonly kubernetes?: KubernetesProgram;
}

const urlOf = (ctx: ProcessContext) => `https://127.0.0.1:${ctx.ports[0]}`;
/** The API server's self-generated serving certificate (and its CA), in its --cert-dir. */
const caFileOf = (ctx: ProcessContext) => join(ctx.dir, 'certs', 'apiserver.crt');

export class KubeApiServer extends RunningProgram {
  private constructor(process: RunningProcess, readonly adminToken: string) {
    super(process);
  }

  static async start(options: KubeApiServerOptions): Promise<KubeApiServer> {
    const adminToken = randomBytes(24).toString('hex');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const process = await RunningProcess.start({
      name: 'kube-apiserver',
      binary: binaryPath(binaryOf(options.kubernetes ?? 'kubernetes', 'kube-apiserver')),
      workdir: 'apiserver',
      ports: 1,
      files: {
        'tokens.csv': { content: `${adminToken},admin,admin-uid,"system:masters"\n`, mode: 0o600 },
        'sa.pub': publicKey,
        'sa.key': { content: privateKey, mode: 0o600 },
      },
      args: (ctx) => [
        `--etcd-servers=${options.etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        // 1.37 refuses a loopback advertise address for the `kubernetes` Service's endpoints; no
        // test reaches the API server through that Service, so nothing reconciles them.
        '--endpoint-reconciler-type=none',
        `--secure-port=${ctx.ports[0]}`,
        `--cert-dir=${join(ctx.dir, 'certs')}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        `--token-auth-file=${join(ctx.dir, 'tokens.csv')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(ctx.dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(ctx.dir, 'sa.key')}`,
        '--enable-admission-plugins=PodSecurity,ServiceAccount,NamespaceLifecycle,LimitRanger,ResourceQuota',
        '--v=0',
      ],
      readyTimeoutMs: 90000,
      ready: async (ctx) => existsSync(caFileOf(ctx)) && (await get({ url: urlOf(ctx), caFile: caFileOf(ctx), adminToken }, '/readyz')).status === 200,
    });
    return new KubeApiServer(process, adminToken);
  }

  get url(): string {
    return urlOf(this.process);
  }

  /** The API server's self-generated serving certificate and its CA, as clients' trust anchor. */
  get caFile(): string {
    return caFileOf(this.process);
  }

  /** GET as the admin; for readiness checks and reads that need no kubectl. */
  get(path: string): Promise<{ status: number; body: string }> {
    return get(this, path);
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
