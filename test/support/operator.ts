/**
 * The real Prometheus Operator (built from test/tools/operator), run with the args of the chart's
 * Deployment and, as in the cluster, only its ServiceAccount's token: KUBECONFIG points at a
 * kubeconfig holding a TokenRequest token and nothing else.
 */
import { binaryPath } from './binaries';
import { freePort, httpOk, RunningProcess } from './process';

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

export class Operator {
  private constructor(readonly url: string, private readonly process: RunningProcess) {}

  static async start(options: OperatorOptions): Promise<Operator> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: options.kubeconfig };
    const proc = await RunningProcess.start({
      name: 'prometheus-operator',
      binary: binaryPath('prometheus-operator'),
      args: operatorArgsForTest(options.deploymentArgs, port),
      env,
      ready: httpOk(`${url}/healthz`),
      readyTimeoutMs: 60000,
    });
    return new Operator(url, proc);
  }

  get output(): string {
    return this.process.output;
  }

  get running(): boolean {
    return this.process.running;
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}
