/** Whether dist/ is what the config deploy was given synthesizes (deploy applies dist/ as it is). */
import { isDeepStrictEqual } from 'util';
import { ManifestFile, ManifestObject, stackFacts } from './manifests';

/** A config deploy was given, e.g. `{ name: 'CHAT_MONITORING_CONFIG=obs.json', synth: 'CHAT_MONITORING_CONFIG=obs.json npm run synth' }`. */
export interface ConfigSource {
  readonly name: string;
  /** The command that synthesizes dist/ from it. */
  readonly synth: string;
}

/**
 * Why `dist` is not what `expected` (the charts synthesized in memory from `config`) holds, naming
 * both sides; undefined when they are the same.
 */
export function distMismatch(dist: readonly ManifestFile[], expected: readonly ManifestFile[], config: ConfigSource): string | undefined {
  const source = config.name;
  const [have, want] = [stackFacts(dist), stackFacts(expected)];
  const facts: [string, unknown, unknown][] = [
    ['namespace', have.namespace, want.namespace],
    ['Grafana admin Secret', have.grafanaAdminSecret, want.grafanaAdminSecret],
    ['Grafana NodePort', have.grafanaNodePort, want.grafanaNodePort],
  ];
  const fact = facts.find(([, a, b]) => a !== b);
  const fix = `run \`${config.synth}\` first, or deploy with the config dist/ was synthesized from`;
  if (fact) return `dist/ was synthesized with ${fact[0]} ${JSON.stringify(fact[1])}, but ${source} gives ${JSON.stringify(fact[2])}: ${fix}`;
  const base = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  const files = new Map(dist.map((f) => [base(f.path), f.objects]));
  const missing = expected.find((f) => !files.has(base(f.path)));
  if (missing) return `dist/ has no ${base(missing.path)}, which ${source} synthesizes: ${fix}`;
  const extra = [...files.keys()].find((file) => !expected.some((f) => base(f.path) === file));
  if (extra) return `dist/ has ${extra}, which ${source} does not synthesize: ${fix}`;
  const id = (o: ManifestObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
  for (const f of expected) {
    const objects = files.get(base(f.path))!;
    if (isDeepStrictEqual(objects, f.objects)) continue;
    const differing = f.objects.find((o, i) => !isDeepStrictEqual(o, objects[i])) ?? objects[f.objects.length];
    return `dist/${base(f.path)} differs from what ${source} synthesizes${differing ? ` (first at ${id(differing)})` : ''}: ${fix}`;
  }
  return undefined;
}
