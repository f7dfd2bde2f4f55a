/**
 * The Prometheus Operator's CRDs, from its Go module at the version test/tools/operator pins (the
 * version the chart deploys): the same files as the release's stripped-down-crds.yaml that
 * `npm run deploy` installs. Needs Go (the module cache); callers skip where it is missing.
 */
import { readdirSync } from 'fs';
import { join } from 'path';
import { goModuleDir } from './binaries';

/** The operator module's source directory (downloaded into Go's module cache if needed). */
export const operatorModuleDir = () => goModuleDir('operator', 'github.com/prometheus-operator/prometheus-operator');

/** Directory of the CRD files, one per kind: monitoring.coreos.com_<plural>.yaml. */
export function operatorCrdDir(): string {
  return join(operatorModuleDir(), 'example', 'prometheus-operator-crd');
}

export function operatorCrdFiles(): string[] {
  const dir = operatorCrdDir();
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
}
