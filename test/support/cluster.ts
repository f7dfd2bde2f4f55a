/**
 * A cluster that schedules and rolls out, for the deploy tier: the control plane (etcd,
 * kube-apiserver) of the newest supported Kubernetes plus its kube-controller-manager and
 * kube-scheduler, kwok as the kubelet of kind-sized nodes, and the stand-ins of
 * test/support/cluster-stand-ins.ts (node registration, kind's StorageClass and volume provisioner).
 * No container runs: pods become Running and Ready as kwok's stages say. Started in order, stopped
 * in reverse, cleaned up on any failure.
 */
import { binaryOf } from './binaries';
import { KIND_STORAGE_CLASS, kindSizedNode, VolumeProvisioner } from './cluster-stand-ins';
import { CONTROL_PLANE_BINARIES, ControlPlane } from './control-plane';
import { KubeControllerManager } from './kube-controller-manager';
import { SERVICE_CLUSTER_IP_RANGE } from './kube-apiserver';
import { KubeScheduler } from './kube-scheduler';
import { Kwok } from './kwok';
import { untilTrue } from './process';

/** How long SimulatedCluster.start waits for its nodes to be Ready. */
const NODES_READY_MS = 120_000;

/**
 * The longest SimulatedCluster.start can wait: its programs' ready timeouts (etcd 30 s,
 * kube-apiserver 90 s, kube-controller-manager 90 s, kube-scheduler 90 s, kwok 30 s) and the nodes'.
 * A hook that starts it needs more than this, so that a slow start fails with the start's own
 * message, which names the program that was slow, not with the hook's timeout.
 */
export const CLUSTER_START_TIMEOUT_MS = (30 + 90 + 90 + 90 + 30) * 1000 + NODES_READY_MS;

/** kind's pod subnet; the controller manager gives each node a /24 of it. */
export const CLUSTER_CIDR = '10.244.0.0/16';

/** Every binary the cluster runs (for describeWithBinaries): only the newest Kubernetes builds the controllers. */
export const CLUSTER_BINARIES = [
  ...CONTROL_PLANE_BINARIES.map((b) => (b === 'etcd' ? b : binaryOf('kubernetes', b))),
  binaryOf('kubernetes', 'kube-controller-manager'),
  binaryOf('kubernetes', 'kube-scheduler'),
  'kwok',
] as const;

export class SimulatedCluster {
  private constructor(
    readonly controlPlane: ControlPlane,
    private readonly running: { stop(): Promise<void> }[],
    readonly nodes: readonly string[],
    readonly provisioner: VolumeProvisioner,
  ) {}

  /** Starts the cluster with `nodeCount` Ready nodes, each with a pod CIDR. */
  static async start(nodeCount = 2): Promise<SimulatedCluster> {
    const cp = await ControlPlane.start('kubernetes');
    const running: { stop(): Promise<void> }[] = [cp];
    try {
      const kubeconfig = cp.admin.kubeconfig;
      running.push(await KubeControllerManager.start({
        kubeconfig,
        serviceAccountKeyFile: cp.apiServer.serviceAccountKeyFile,
        rootCaFile: cp.apiServer.caFile,
        serviceClusterIpRange: SERVICE_CLUSTER_IP_RANGE,
        clusterCidr: CLUSTER_CIDR,
      }));
      running.push(await KubeScheduler.start(kubeconfig));
      running.push(await Kwok.start(kubeconfig));
      const provisioner = new VolumeProvisioner(cp.apiServer);
      running.push(provisioner);
      cp.admin.ok(['create', '-f', '-'], JSON.stringify(KIND_STORAGE_CLASS));
      const nodes = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);
      nodes.forEach((n, i) => cp.admin.ok(['create', '-f', '-'], JSON.stringify(kindSizedNode(n, i))));
      await untilTrue(`nodes ${nodes.join(', ')} Ready, untainted, with a pod CIDR`, async () => {
        const items = JSON.parse((await cp.apiServer.get('/api/v1/nodes')).body).items as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
        return nodes.every((n) => {
          const node = items.find((i) => i.metadata.name === n);
          return !!node?.spec.podCIDR && !(node.spec.taints ?? []).length
            && node.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
        });
      }, NODES_READY_MS, 500);
      return new SimulatedCluster(cp, running, nodes, provisioner);
    } catch (e) {
      await stopAll(running);
      throw e;
    }
  }

  get admin() {
    return this.controlPlane.admin;
  }

  stop(): Promise<void> {
    return stopAll(this.running);
  }
}

/** Stops each, the last started first, every one even where one fails; then throws the first failure. */
async function stopAll(running: readonly { stop(): Promise<void> }[]): Promise<void> {
  let failure: unknown;
  for (const r of [...running].reverse()) await r.stop().catch((e) => (failure ??= e));
  if (failure) throw failure;
}
