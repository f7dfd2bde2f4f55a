/**
 * kube-controller-manager on 127.0.0.1 (its secure port on a free port, its self-signed serving
 * certificate in its cert dir): Deployments become ReplicaSets and pods, StatefulSets pods and
 * claims, claims bind to volumes, Services get EndpointSlices, PodDisruptionBudgets get their status,
 * nodes get pod CIDRs (--allocate-node-cidrs, as kind's control plane does). Each controller acts as
 * its own ServiceAccount (--use-service-account-credentials, as kubeadm and kind run it).
 */
import { binaryOf, binaryPath } from './binaries';
import { kubeComponentArgs, kubeComponentReady } from './kube-component';
import { RunningProcess, RunningProgram } from './process';

export interface KubeControllerManagerOptions {
  /** Admin kubeconfig of the control plane. */
  readonly kubeconfig: string;
  /** The API server's service-account signing key (KubeApiServer.serviceAccountKeyFile). */
  readonly serviceAccountKeyFile: string;
  /** The API server's CA, published to every namespace as kube-root-ca.crt. */
  readonly rootCaFile: string;
  /** The API server's --service-cluster-ip-range. */
  readonly serviceClusterIpRange: string;
  /** Pod addresses, split into one /24 per node. */
  readonly clusterCidr: string;
}

export class KubeControllerManager extends RunningProgram {
  static async start(options: KubeControllerManagerOptions): Promise<KubeControllerManager> {
    return new KubeControllerManager(await RunningProcess.start({
      name: 'kube-controller-manager',
      // Only the newest Kubernetes builds it (test/support/binaries.ts).
      binary: binaryPath(binaryOf('kubernetes', 'kube-controller-manager')),
      workdir: 'controller-manager',
      ports: 1,
      args: (ctx) => [
        ...kubeComponentArgs(options.kubeconfig, ctx),
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${options.serviceAccountKeyFile}`,
        `--root-ca-file=${options.rootCaFile}`,
        `--service-cluster-ip-range=${options.serviceClusterIpRange}`,
        '--allocate-node-cidrs=true',
        `--cluster-cidr=${options.clusterCidr}`,
        '--node-cidr-mask-size=24',
        '--v=0',
      ],
      ready: kubeComponentReady,
      readyTimeoutMs: 90000,
    }));
  }
}
