/**
 * What kube-controller-manager and kube-scheduler share: each authenticates to and is authorized by
 * the API server through one kubeconfig, serves its /healthz over HTTPS on 127.0.0.1 with a
 * self-signed certificate in its own cert dir, and runs alone (no leader election).
 */
import { join } from 'path';
import { ProcessContext, selfSignedHttpsOk } from './process';

/** Its serving, delegated-auth and single-instance flags. */
export const kubeComponentArgs = (kubeconfig: string, ctx: ProcessContext): string[] => [
  `--kubeconfig=${kubeconfig}`,
  `--authentication-kubeconfig=${kubeconfig}`,
  `--authorization-kubeconfig=${kubeconfig}`,
  '--bind-address=127.0.0.1',
  `--secure-port=${ctx.ports[0]}`,
  `--cert-dir=${join(ctx.dir, 'certs')}`,
  '--leader-elect=false',
];

/** Ready once its /healthz answers. */
export const kubeComponentReady = (ctx: ProcessContext) => selfSignedHttpsOk(`https://127.0.0.1:${ctx.ports[0]}/healthz`)();
