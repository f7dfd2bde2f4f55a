/**
 * kube-scheduler on 127.0.0.1 (its secure port on a free port): places pods on nodes with its
 * default profile (resources, volume binding with WaitForFirstConsumer claims, affinity, taints).
 */
import { binaryOf, binaryPath } from './binaries';
import { kubeComponentArgs, kubeComponentReady } from './kube-component';
import { RunningProcess, RunningProgram } from './process';

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
        ...kubeComponentArgs(kubeconfig, ctx),
        '--v=0',
      ],
      ready: kubeComponentReady,
      readyTimeoutMs: 90000,
    }));
  }
}
