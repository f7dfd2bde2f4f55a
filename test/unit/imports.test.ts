/** imports/ and cdk8s.yaml agree, and cdk8s.yaml names only the pinned release's CRDs (no local paths). */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { PROMETHEUS_OPERATOR_VERSION } from '../../lib/config';

const ROOT = join(__dirname, '..', '..');

describe('cdk8s.yaml imports', () => {
  const imports = (parse(readFileSync(join(ROOT, 'cdk8s.yaml'), 'utf8')).imports as string[]);

  it('each is name:=<CRD of the pinned operator release>', () => {
    for (const entry of imports) {
      expect(entry).toMatch(new RegExp(`^[a-z]+:=https://raw\\.githubusercontent\\.com/prometheus-operator/prometheus-operator/${PROMETHEUS_OPERATOR_VERSION}/example/prometheus-operator-crd-full/monitoring\\.coreos\\.com_[a-z]+\\.yaml$`));
    }
  });

  it('one entry per generated file in imports/, and no other', () => {
    const generated = readdirSync(join(ROOT, 'imports')).map((f) => f.replace(/-monitoring\.coreos\.com\.ts$/, '')).sort();
    expect(imports.map((e) => e.split(':=')[0]).sort()).toEqual(generated);
  });
});
