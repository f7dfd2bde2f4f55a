/**
 * The real Prometheus Operator (built from test/tools/operator), run with the args of the chart's
 * Deployment and, as in the cluster, only its ServiceAccount's token: KUBECONFIG points at a
 * kubeconfig holding a TokenRequest token and nothing else.
 */
import { binaryPath } from './binaries';
import { httpOk, ProcessContext, RunningProcess, RunningProgram } from './process';

export interface OperatorOptions {
  /** The container args of the chart's operator Deployment, as synthesized. */
  readonly deploymentArgs: readonly string[];
  /** From ControlPlane.serviceAccountKubeconfig. */
  readonly kubeconfig: string;
}

/**
 * The Deployment's args with the one change a process outside a pod needs: the web listener on a
 * free 127.0.0.1 port instead of every interface's 8080.
 */
export function operatorArgsForTest(deploymentArgs: readonly string[], port: number): string[] {
  const args = deploymentArgs.filter((a) => !a.startsWith('--web.listen-address='));
  if (args.length !== deploymentArgs.length - 1) throw new Error('the operator Deployment sets no --web.listen-address');
  return [...args, `--web.listen-address=127.0.0.1:${port}`];
}

const urlOf = (ctx: ProcessContext) => `http://127.0.0.1:${ctx.ports[0]}`;

export class Operator extends RunningProgram {
  static async start(options: OperatorOptions): Promise<Operator> {
    return new Operator(await RunningProcess.start({
      name: 'prometheus-operator',
      binary: binaryPath('prometheus-operator'),
      ports: 1,
      args: (ctx) => operatorArgsForTest(options.deploymentArgs, ctx.ports[0]),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: options.kubeconfig },
      ready: (ctx) => httpOk(`${urlOf(ctx)}/healthz`)(),
      readyTimeoutMs: 60000,
    }));
  }

  get url(): string {
    return urlOf(this.process);
  }
}
