/**
 * Everything the deploy tier's cluster (test/support/cluster.ts) needs that none of its real
 * programs (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) does, in one place:
 *
 * - the kubelet's node registration: Nodes sized like a kind node on this machine (its CPUs, memory
 *   and disk, the kubelet's default 110 pods), annotated for kwok, which then plays their kubelet;
 * - kind's default StorageClass `standard` and the work of its provisioner (rancher.io/local-path):
 *   a node-local PersistentVolume for every claim the scheduler placed on a node, deleted with its
 *   claim; kube-controller-manager binds them;
 * - the network: `kubectl apply -f <the operator's release URL>` reads the same CRDs from the pinned
 *   Go module instead (kubectlWithReleaseCrds), as these machines reach no GitHub release; and an
 *   outage of the API server that the tests after it do not share (ApiServerRelay).
 *
 * Pod addresses come from kwok (each node's pod CIDR, allocated by the controller manager), and
 * EndpointSlices from the controller manager: nothing here fakes those.
 */
import { chmodSync, readFileSync, statfsSync, writeFileSync } from 'fs';
import { AddressInfo, connect, createServer, Server, Socket } from 'net';
import { cpus, tmpdir, totalmem } from 'os';
import { basename, join } from 'path';
import { KubeApiServer } from './kube-apiserver';
import { writeKubeconfig } from './kubectl';
import { KWOK_NODE_ANNOTATION } from './kwok';
import { K8sObject } from './manifests';
import { sleep } from './process';

/** The kubelet's default --max-pods, which kind keeps. */
const KUBELET_MAX_PODS = 110;
const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/**
 * A Node as a kind node's kubelet registers it: the host's capacity, linux/<arch> labels, no taints,
 * and the `index`th address of kind's Docker network (172.18.0.2 onward), which kwok gives its pods as hostIP.
 */
export function kindSizedNode(name: string, index: number): K8sObject {
  const disk = statfsSync(tmpdir());
  const capacity = {
    cpu: String(cpus().length),
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    'ephemeral-storage': `${Math.floor((disk.blocks * disk.bsize) / 1024)}Ki`,
    pods: String(KUBELET_MAX_PODS),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION.key]: KWOK_NODE_ANNOTATION.value },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': NODE_ARCH[process.arch] ?? process.arch,
        type: 'kwok',
      },
    },
    status: { capacity, allocatable: capacity, addresses: [{ type: 'InternalIP', address: `172.18.0.${index + 2}` }, { type: 'Hostname', address: name }] },
  };
}

/** kind's default StorageClass (its local-path-provisioner's). */
export const KIND_STORAGE_CLASS = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  provisioner: 'rancher.io/local-path',
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'WaitForFirstConsumer',
};

const checked = async (what: string, r: Promise<{ status: number; body: string }>) => {
  const { status, body } = await r;
  if (status >= 300) throw new Error(`${what}: HTTP ${status} ${body.slice(0, 500)}`);
  return JSON.parse(body);
};

/**
 * The local-path provisioner's loop: a claim of KIND_STORAGE_CLASS that the scheduler gave a node
 * (volume.kubernetes.io/selected-node) gets a PersistentVolume of its size on that node, bound to
 * it by claimRef; a Released volume of this class is deleted (reclaimPolicy Delete).
 */
export class VolumeProvisioner {
  private stopping = false;
  private readonly loop: Promise<void>;
  /** The last error of a round, if any (the loop goes on; a test can show it). */
  lastError: unknown;
  /** Names of the volumes it made. */
  readonly provisioned: string[] = [];

  constructor(private readonly api: KubeApiServer, private readonly everyMs = 500) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.round();
        this.lastError = undefined;
      } catch (e) {
        this.lastError = e;
      }
      await sleep(this.everyMs);
    }
  }

  private async round(): Promise<void> {
    const claims = (await checked('list claims', this.api.get('/api/v1/persistentvolumeclaims'))).items as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const c of claims) {
      const a = c.metadata.annotations ?? {};
      const node = a['volume.kubernetes.io/selected-node'];
      if (c.status?.phase !== 'Pending' || c.spec.volumeName || !node) continue;
      if (a['volume.kubernetes.io/storage-provisioner'] !== KIND_STORAGE_CLASS.provisioner) continue;
      const name = `pvc-${c.metadata.uid}`;
      const r = await this.api.call('POST', '/api/v1/persistentvolumes', {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': KIND_STORAGE_CLASS.provisioner } },
        spec: {
          capacity: { storage: c.spec.resources.requests.storage },
          accessModes: c.spec.accessModes,
          storageClassName: KIND_STORAGE_CLASS.metadata.name,
          persistentVolumeReclaimPolicy: KIND_STORAGE_CLASS.reclaimPolicy,
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid },
          hostPath: { path: `/var/local-path-provisioner/${name}`, type: 'DirectoryOrCreate' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } },
        },
      });
      if (r.status === 201) this.provisioned.push(name);
      else if (r.status !== 409) throw new Error(`create volume ${name}: HTTP ${r.status} ${r.body.slice(0, 500)}`);
    }
    const volumes = (await checked('list volumes', this.api.get('/api/v1/persistentvolumes'))).items as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const v of volumes) {
      if (v.status?.phase === 'Released' && v.spec.storageClassName === KIND_STORAGE_CLASS.metadata.name) {
        await this.api.call('DELETE', `/api/v1/persistentvolumes/${v.metadata.name}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }
}

/**
 * A folder holding `kubectl`: the given binary, except that the operator's release CRD URL reads the
 * same CRDs from `crdFiles` (the pinned module's), written beside it as one file as the release
 * ships them. Put it first on deploy's PATH.
 */
export function kubectlWithReleaseCrds(dir: string, kubectl: string, releaseUrl: string, crdFiles: readonly string[]): string {
  const crds = join(dir, basename(releaseUrl));
  writeFileSync(crds, crdFiles.map((f) => readFileSync(f, 'utf8').replace(/^---\n/, '').trimEnd()).join('\n---\n') + '\n');
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = join(dir, 'kubectl');
  writeFileSync(script, [
    '#!/usr/bin/env bash',
    '# kubectl, with the operator release URL read from the pinned Go module (test/support/cluster-stand-ins.ts).',
    'args=()',
    `for a in "$@"; do if [ "$a" = ${quote(releaseUrl)} ]; then args+=(${quote(crds)}); else args+=("$a"); fi; done`,
    `exec ${quote(kubectl)} "\${args[@]}"`,
    '',
  ].join('\n'));
  chmodSync(script, 0o755);
  return dir;
}

/**
 * The API server on a port of its own: a TCP relay to it, and an admin kubeconfig (context `test`)
 * that reaches it only through the relay. cut() closes that port and every connection through it,
 * which is all a client sees of the API server's exit (its watches end, new connections are
 * refused), while the server runs on for the other clients and the tests after.
 */
export class ApiServerRelay {
  private constructor(private readonly server: Server, private readonly sockets: Set<Socket>, readonly url: string, readonly kubeconfig: string) {}

  static async start(api: KubeApiServer, kubeconfigPath: string): Promise<ApiServerRelay> {
    const target = new URL(api.url);
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      client.pipe(upstream).pipe(client);
      for (const [s, other] of [[client, upstream], [upstream, client]]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          sockets.delete(s);
          other.destroy();
        });
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return new ApiServerRelay(server, sockets, url, writeKubeconfig(kubeconfigPath, { url, caFile: api.caFile }, api.adminToken, 'admin'));
  }

  /** Closes the port and every connection through it. */
  cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    return closed;
  }
}
