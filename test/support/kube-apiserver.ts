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

/** ClusterIPs of Services (the controller manager is given the same range). */
export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';

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
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        '--authorization-mode=RBAC',
        `--token-auth-file=${join(ctx.dir, 'tokens.csv')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(ctx.dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(ctx.dir, 'sa.key')}`,
        '--enable-admission-plugins=PodSecurity,ServiceAccount,NamespaceLifecycle,LimitRanger,ResourceQuota',
        '--v=0',
      ],
      readyTimeoutMs: 90000,
      ready: async (ctx) => existsSync(caFileOf(ctx)) && (await call({ url: urlOf(ctx), caFile: caFileOf(ctx), adminToken }, 'GET', '/readyz')).status === 200,
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

  /**
   * The key that signs service-account tokens: the controller manager's token controller signs with
   * it too (--service-account-private-key-file), as a cluster's control plane shares it.
   */
  get serviceAccountKeyFile(): string {
    return join(this.workdir, 'sa.key');
  }

  /** GET as the admin; for readiness checks and reads that need no kubectl. */
  get(path: string): Promise<{ status: number; body: string }> {
    return call(this, 'GET', path);
  }

  /** A JSON request as the admin (POST, PATCH, ...), without kubectl's process start. */
  call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: string }> {
    return call(this, method, path, body, contentType);
  }
}

function call(server: { url: string; caFile: string; adminToken: string }, method: string, path: string, body?: unknown,
  contentType = 'application/json'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, {
      method,
      ca: readFileSync(server.caFile),
      headers: { Authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { 'Content-Type': contentType }) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
