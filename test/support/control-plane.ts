/**
 * A Kubernetes control plane for tests: etcd and kube-apiserver on 127.0.0.1, an admin kubeconfig,
 * and ServiceAccount kubeconfigs from the TokenRequest API. No kubelet, scheduler, controller
 * manager or CNI: pods are admitted and stored but never run, and nothing fills in Endpoints.
 * Started in order, stopped in reverse, cleaned up on any failure.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { describeWithBinaries } from './binaries';
import { Etcd } from './etcd';
import { KubeApiServer } from './kube-apiserver';
import { Kubectl, writeKubeconfig } from './kubectl';

export const CONTROL_PLANE_BINARIES = ['etcd', 'kube-apiserver', 'kubectl'] as const;

export function describeWithControlPlane(name: string, extraBinaries: readonly string[], body: () => void): void {
  describeWithBinaries(name, [...CONTROL_PLANE_BINARIES, ...extraBinaries], body);
}

export class ControlPlane {
  private constructor(
    readonly etcd: Etcd,
    readonly apiServer: KubeApiServer,
    /** kubectl as cluster admin (system:masters). */
    readonly admin: Kubectl,
    readonly dir: string,
  ) {}

  static async start(): Promise<ControlPlane> {
    const dir = mkdtempSync(join(tmpdir(), 'chat-monitoring-cp-'));
    let etcd: Etcd | undefined;
    try {
      etcd = await Etcd.start();
      const apiServer = await KubeApiServer.start({ etcdUrl: etcd.clientUrl });
      const admin = new Kubectl(writeKubeconfig(join(dir, 'admin.kubeconfig'), apiServer, apiServer.adminToken, 'admin'));
      return new ControlPlane(etcd, apiServer, admin, dir);
    } catch (e) {
      await etcd?.stop();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
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
