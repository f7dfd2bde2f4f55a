// Regenerates imports/ from the Prometheus Operator CRDs. Offline it reads the vendored copies in
// ../shared/vendor (CRDS_DIR overrides); `npx cdk8s import` with cdk8s.yaml fetches the pinned URLs instead.
// One `cdk8s import` per CRD: given several at once, each overwrites the last.
const { execFileSync } = require('child_process');
const path = require('path');

const dir = process.env.CRDS_DIR ?? path.join(__dirname, '..', '..', 'shared', 'vendor', 'prometheus-operator-crds');
const crds = { servicemonitor: 'servicemonitors', prometheusrule: 'prometheusrules', prometheus: 'prometheuses' };
for (const [name, file] of Object.entries(crds)) {
  const source = path.join(dir, `monitoring.coreos.com_${file}.yaml`);
  execFileSync('npx', ['cdk8s', 'import', `${name}:=${source}`, '--language', 'typescript', '--output', 'imports'], {
    stdio: 'inherit',
    env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' },
  });
}
