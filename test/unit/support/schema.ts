/**
 * Schema validation of synthesized objects: the validators of kubernetes-models and
 * @kubernetes-models/prometheus-operator (types, required fields, enums, formats), plus a strict
 * check that every field is declared by the schema. Problems name the object and the field.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';
import { PrometheusSpecServiceDiscoveryRole } from '../../../imports/prometheus-monitoring.coreos.com';
import { K8sObject } from '../../support/manifests';
import { FieldProblem, UnknownFieldChecker } from './unknown-fields';

const VALIDATOR = join(__dirname, 'validate-models.mjs');

export const objectId = (o: K8sObject) => `${o.kind}/${o.metadata?.namespace ?? '-'}/${o.metadata?.name}`;

/** The models' own validation, run in node (the packages are ES modules only). */
function modelErrors(objects: readonly K8sObject[]): FieldProblem[][] {
  const result = spawnSync(process.execPath, [VALIDATOR], { input: JSON.stringify(objects), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`schema validator failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { errors: FieldProblem[] }[]).map((r) => r.errors);
}

/**
 * Errors of the model libraries that contradict the upstream schema, each with its reason.
 * @kubernetes-models/prometheus-operator 6.0.0 models the Prometheus CR's embedded claim template
 * as a kind of its own and requires `apiVersion`/`kind` there; the v0.93 CRD requires neither
 * (schema.test.ts checks that against the vendored CRD) and the operator ignores them.
 */
export const KNOWN_MODEL_DEFECTS: readonly { kind: string; path: string; message: RegExp }[] = [
  { kind: 'Prometheus', path: '.spec.storage.volumeClaimTemplate', message: /^must have required property (apiVersion|kind)\b/ },
];

const isKnownDefect = (o: K8sObject, p: FieldProblem) =>
  KNOWN_MODEL_DEFECTS.some((d) => d.kind === o.kind && d.path === p.path && d.message.test(p.message));

/** The v0.93 CRDs' pattern for a Prometheus duration (schema.test.ts checks it against the CRD). */
export const CRD_DURATION_PATTERN = '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$';

/**
 * Fields of the pinned v0.93 CRDs that the models lack: @kubernetes-models/prometheus-operator
 * 4.4.4, the last release whose engines accept Node 20, predates them. Each is checked against
 * the CRD's enum (as `cdk8s import` generated it into imports/) or pattern instead of reported
 * as unknown. `crdPath` is the field's place in the CRD's schema (`[]` for an array's items).
 */
export const MODEL_GAPS: readonly { kind: string; path: RegExp; crdPath: string; rule: string; accepts: (v: unknown) => boolean }[] = [
  { kind: 'Prometheus', path: /^\.spec\.serviceDiscoveryRole$/, crdPath: '.spec.serviceDiscoveryRole',
    rule: `must be one of ${Object.values(PrometheusSpecServiceDiscoveryRole).join(', ')} (the v0.93 CRD's enum)`,
    accepts: (v) => (Object.values(PrometheusSpecServiceDiscoveryRole) as unknown[]).includes(v) },
  { kind: 'PrometheusRule', path: /^\.spec\.groups\[\d+\]\.query_offset$/, crdPath: '.spec.groups[].query_offset',
    rule: `must match ${CRD_DURATION_PATTERN} (the v0.93 CRD's pattern)`,
    accepts: (v) => typeof v === 'string' && new RegExp(CRD_DURATION_PATTERN).test(v) },
];

const valueAt = (o: unknown, path: string): unknown => path.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean)
  .reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);

/** A strict-check problem that is a model gap is replaced by the check against the CRD's enum or pattern. */
function withModelGaps(o: K8sObject, problems: FieldProblem[]): FieldProblem[] {
  const gaps = MODEL_GAPS.filter((g) => g.kind === o.kind);
  const gapOf = (p: FieldProblem) => gaps.find((g) => g.path.test(p.path) && /^unknown field/.test(p.message));
  return problems.map((p) => {
    const gap = gapOf(p);
    if (!gap) return p;
    return gap.accepts(valueAt(o, p.path)) ? undefined : { path: p.path, message: gap.rule };
  }).filter((p): p is FieldProblem => p !== undefined);
}

/** One line per problem: `Kind/namespace/name: .field.path: what is wrong`; empty when all are valid. */
export function schemaProblems(objects: readonly K8sObject[]): string[] {
  const strict = new UnknownFieldChecker(objects);
  const fromModels = modelErrors(objects);
  return objects.flatMap((o, i) => {
    const problems = [
      ...fromModels[i]
        .map((p) => ({ path: p.path.replace(/\//g, '.').replace(/\.(\d+)(?=\.|$)/g, '[$1]'), message: p.message }))
        .filter((p) => !isKnownDefect(o, p)),
      ...withModelGaps(o, strict.check(o)),
    ];
    return problems.map((p) => `${objectId(o)}: ${p.path || '(object)'}: ${p.message}`);
  });
}
