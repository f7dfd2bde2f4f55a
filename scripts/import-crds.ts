/**
 * Regenerates imports/ from the Prometheus Operator CRDs in its Go module at the pinned version
 * (test/tools/operator), so a fresh clone with Go needs no network download and nothing from
 * ../shared. The "-full" files keep the field descriptions, which become the imports' doc comments.
 * `cdk8s import` records each import in cdk8s.yaml; the file is restored as written afterwards.
 */
import { execFileSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { operatorModuleDir } from '../test/support/crds';
import { goAvailable } from '../test/support/binaries';

/** cdk8s import name -> CRD plural. */
const CRDS: Record<string, string> = {
  servicemonitor: 'servicemonitors',
  prometheusrule: 'prometheusrules',
  prometheus: 'prometheuses',
  alertmanager: 'alertmanagers',
};

function main(): void {
  if (!goAvailable()) {
    console.error('import: needs Go >= 1.26 (https://go.dev/dl/) to read the operator\'s CRDs from its Go module');
    process.exit(1);
  }
  const root = join(__dirname, '..');
  const dir = join(operatorModuleDir(), 'example', 'prometheus-operator-crd-full');
  const cdk8sYaml = join(root, 'cdk8s.yaml');
  const asWritten = readFileSync(cdk8sYaml, 'utf8');
  try {
    // One `cdk8s import` per CRD: given several at once, each overwrites the last.
    for (const [name, plural] of Object.entries(CRDS)) {
      execFileSync('npx', ['cdk8s', 'import', `${name}:=${join(dir, `monitoring.coreos.com_${plural}.yaml`)}`,
        '--language', 'typescript', '--output', 'imports'], {
        cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' },
      });
      console.log(`imported ${name} -> imports/${name}-monitoring.coreos.com.ts`);
    }
  } finally {
    writeFileSync(cdk8sYaml, asWritten);
  }
}

main();
