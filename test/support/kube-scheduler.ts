/**
 * kube-scheduler on 127.0.0.1 (its secure port on a free port): places pods on nodes with its
 * default profile (resources, volume binding with WaitForFirstConsumer claims, affinity, taints).
 */
import { join } from 'path';
import { binaryOf, binaryPath } from './binaries';
import { ProcessContext, RunningProcess, RunningProgram, selfSignedHttpsOk } from './process';

const healthzOf = (ctx: ProcessContext) => `https://127.0.0.1:${ctx.ports[0]}/healthz`;

export class KubeScheduler extends RunningProgram {
  /** `kubeconfig`: the control plane's admin kubeconfig. */
  static async start(kubeconfig: string): Promise<KubeScheduler> {
    return new KubeScheduler(await RunningProcess.start({
      name: 'kube-scheduler',
      // Only the newest Kubernetes builds it (test/support/binaries.ts).
      binary: binaryPath(binaryOf('kubernetes', 'kube-scheduler')),
      workdir: 'scheduler',
      ports: 1,
      args: (ctx) => [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ctx.ports[0]}`,
        `--cert-dir=${join(ctx.dir, 'certs')}`,
        '--leader-elect=false',
        '--v=0',
      ],
      ready: (ctx) => selfSignedHttpsOk(healthzOf(ctx))(),
      readyTimeoutMs: 90000,
    }));
  }
}
