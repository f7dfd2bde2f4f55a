/**
 * kwok (built from test/tools/kwok): the kubelet of every node annotated kwok.x-k8s.io/node=fake,
 * without containers. It keeps those nodes Ready (status and Lease heartbeats) and plays the pod
 * lifecycle with the module's own default stages, the ones `kwokctl` configures: a scheduled pod
 * becomes Running and Ready with an address from its node's pod CIDR, a deleted one goes away.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { binaryPath, goModuleDir } from './binaries';
import { httpOk, ProcessContext, RunningProcess, RunningProgram } from './process';

/** What marks a Node as kwok's to manage. */
export const KWOK_NODE_ANNOTATION = { key: 'kwok.x-k8s.io/node', value: 'fake' } as const;

/** The stages kwokctl gives kwok by default (pkg/kwokctl/runtime/cluster.go): node init and lease heartbeat, pod ready, complete, delete. */
const DEFAULT_STAGES = [
  'node/fast/node-initialize.yaml',
  'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'pod/fast/pod-ready.yaml',
  'pod/fast/pod-complete.yaml',
  'pod/fast/pod-delete.yaml',
];

/** kwok's configuration file: the default stages, read from the pinned module. */
export function defaultStagesConfig(): string {
  const stageDir = join(goModuleDir('kwok', 'sigs.k8s.io/kwok'), 'kustomize', 'stage');
  return DEFAULT_STAGES.map((f) => readFileSync(join(stageDir, f), 'utf8').trim()).join('\n---\n') + '\n';
}

const urlOf = (ctx: ProcessContext) => `http://127.0.0.1:${ctx.ports[0]}`;

export class Kwok extends RunningProgram {
  /** `kubeconfig`: the control plane's admin kubeconfig. */
  static async start(kubeconfig: string): Promise<Kwok> {
    return new Kwok(await RunningProcess.start({
      name: 'kwok',
      binary: binaryPath('kwok'),
      workdir: 'kwok',
      ports: 1,
      files: { 'kwok.yaml': defaultStagesConfig() },
      args: (ctx) => [
        `--kubeconfig=${kubeconfig}`,
        `--config=${join(ctx.dir, 'kwok.yaml')}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION.key}=${KWOK_NODE_ANNOTATION.value}`,
        // Its kubelet API (logs, exec): plain HTTP on loopback, and its health check.
        `--server-address=127.0.0.1:${ctx.ports[0]}`,
        // kwokctl's default, for the node-lifecycle controller's lease check.
        '--node-lease-duration-seconds=40',
      ],
      ready: (ctx) => httpOk(`${urlOf(ctx)}/healthz`)(),
    }));
  }
}
