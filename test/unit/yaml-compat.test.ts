/** lib/yaml-compat.ts: the scalars YAML 1.1 types on its own are quoted, and nothing else moves. */
import { readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { yaml11Safe } from '../../lib/yaml-compat';

const objects = (text: string) => parseAllDocuments(text).map((d) => d.toJSON());

describe('yaml11Safe', () => {
  it('double-quotes a plain = or << value or item, and only those', () => {
    const text = 'a:\n  - matchType: =\n    name: severity\n  - <<\nb: "="\nc: x=y\n---\nd: =\n';
    expect(yaml11Safe(text)).toBe('a:\n  - matchType: "="\n    name: severity\n  - "<<"\nb: "="\nc: x=y\n---\nd: "="\n');
    expect(objects(yaml11Safe(text))).toEqual(objects(text));
  });

  it('returns a text without them unchanged, byte for byte', () => {
    const text = 'kind: ConfigMap\ndata:\n  expr: rate(x[5m]) > 0\n  on: "yes"\n';
    expect(yaml11Safe(text)).toBe(text);
  });

  it('dist/ holds no plain = or << (the AlertmanagerConfig matchers are quoted)', () => {
    const dist = join(__dirname, '..', '..', 'dist');
    const alertmanager = readFileSync(join(dist, '35-alertmanager.k8s.yaml'), 'utf8');
    expect(alertmanager).toContain('matchType: "="');
    expect(alertmanager).not.toMatch(/:\s=$/m);
  });
});
