/** kubectl at the cluster's version (built from test/tools/kubernetes), run against one kubeconfig. */
import { spawnSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import { stringify } from 'yaml';
import { binaryOf, binaryPath, KubernetesProgram } from './binaries';

export interface KubectlResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A kubeconfig file for one server and one bearer token (an admin's or a ServiceAccount's). The CA
 * is embedded, as kind writes it: a client of a server that has gone away then says the server does
 * not answer, not that the API server's (removed) work dir lacks its certificate.
 */
export function writeKubeconfig(path: string, server: { url: string; caFile: string }, token: string, user = 'user'): string {
  writeFileSync(path, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server: server.url, 'certificate-authority-data': readFileSync(server.caFile).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user } }],
    'current-context': 'test',
  }), { mode: 0o600 });
  return path;
}

export class Kubectl {
  constructor(readonly kubeconfig: string, private readonly kubernetes: KubernetesProgram = 'kubernetes') {}

  run(args: readonly string[], input?: string): KubectlResult {
    const r = spawnSync(binaryPath(binaryOf(this.kubernetes, 'kubectl')), [`--kubeconfig=${this.kubeconfig}`, ...args], {
      input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024,
    });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Runs and throws, with kubectl's output, unless it exits 0. */
  ok(args: readonly string[], input?: string): KubectlResult {
    const r = this.run(args, input);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r;
  }

  json<T = any>(args: readonly string[]): T { // eslint-disable-line @typescript-eslint/no-explicit-any
    return JSON.parse(this.ok([...args, '-o', 'json']).stdout) as T;
  }
}
