/**
 * A Kubernetes control plane for tests: etcd and kube-apiserver on 127.0.0.1, an admin kubeconfig,
 * and ServiceAccount kubeconfigs from the TokenRequest API. No kubelet, scheduler, controller
 * manager or CNI: pods are admitted and stored but never run, and nothing fills in Endpoints.
 * Started in order, stopped in reverse, cleaned up on any failure.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { binaryOf, describeWithBinaries, KUBERNETES_PROGRAMS, KubernetesProgram, kubernetesVersion } from './binaries';
import { Etcd } from './etcd';
import { KubeApiServer } from './kube-apiserver';
import { Kubectl, writeKubeconfig } from './kubectl';

export const CONTROL_PLANE_BINARIES = ['etcd', 'kube-apiserver', 'kubectl'] as const;

const controlPlaneBinaries = (kubernetes: KubernetesProgram) =>
  CONTROL_PLANE_BINARIES.map((b) => (b === 'etcd' ? b : binaryOf(kubernetes, b)));

/**
 * The same suite once per supported Kubernetes release (KUBERNETES_PROGRAMS: the newest and the
 * oldest minor), each on its own control plane; `body` starts it with ControlPlane.start(kubernetes).
 */
export function describeOnEachKubernetes(name: string, extraBinaries: readonly string[], body: (kubernetes: KubernetesProgram) => void): void {
  for (const kubernetes of KUBERNETES_PROGRAMS) {
    describeWithBinaries(`${name} [Kubernetes ${kubernetesVersion(kubernetes)}]`, [...controlPlaneBinaries(kubernetes), ...extraBinaries], () => body(kubernetes));
  }
}

export class ControlPlane {
  private constructor(
    readonly etcd: Etcd,
    readonly apiServer: KubeApiServer,
    /** kubectl as cluster admin (system:masters). */
    readonly admin: Kubectl,
    readonly dir: string,
    /** Which supported Kubernetes release runs (test/support/binaries.ts KUBERNETES_PROGRAMS). */
    readonly kubernetes: KubernetesProgram,
  ) {}

  /** Starts etcd and the API server of `kubernetes` (default: the kind node image's release). */
  static async start(kubernetes: KubernetesProgram = 'kubernetes'): Promise<ControlPlane> {
    const dir = mkdtempSync(join(tmpdir(), 'chat-monitoring-cp-'));
    let etcd: Etcd | undefined;
    try {
      etcd = await Etcd.start();
      const apiServer = await KubeApiServer.start({ etcdUrl: etcd.clientUrl, kubernetes });
      const admin = new Kubectl(writeKubeconfig(join(dir, 'admin.kubeconfig'), apiServer, apiServer.adminToken, 'admin'), kubernetes);
      return new ControlPlane(etcd, apiServer, admin, dir, kubernetes);
    } catch (e) {
      await etcd?.stop();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The Kubernetes version running, as the program was pinned (e.g. v1.37.0). */
  get version(): string {
    return kubernetesVersion(this.kubernetes);
  }

  /** A kubeconfig holding only a token the TokenRequest API issued for this ServiceAccount. */
  serviceAccountKubeconfig(namespace: string, serviceAccount: string): string {
    const token = this.admin.ok(['create', 'token', serviceAccount, '-n', namespace, '--duration=2h']).stdout.trim();
    return writeKubeconfig(join(this.dir, `${namespace}-${serviceAccount}.kubeconfig`), this.apiServer, token, serviceAccount);
  }

  async stop(): Promise<void> {
    try {
      await this.apiServer.stop();
    } finally {
      await this.etcd.stop();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
