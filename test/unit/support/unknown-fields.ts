/**
 * Strict field check: kubernetes-models' validators accept fields their schemas do not declare
 * (no additionalProperties: false), so a typo such as `readinesProbe` would pass them. This walks
 * each object against the type declarations the same libraries ship (one interface per schema,
 * generated from the Kubernetes OpenAPI spec and the operator's CRDs) with the TypeScript checker,
 * and reports every field its type does not declare.
 */
import { dirname, join } from 'path';
import ts from 'typescript';

const ROOT = join(__dirname, '../../..');
const VIRTUAL = join(ROOT, 'test/unit/support/__schema_types__.ts');

/** Package of the models of an API group; undefined for groups without models here. */
export function modelModule(apiVersion: string, kind: string): string | undefined {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  if (group === '' || group.endsWith('.k8s.io') || !group.includes('.')) return `kubernetes-models/${apiVersion}/${kind}`;
  return undefined;
}

export interface FieldProblem { readonly path: string; readonly message: string }

type Json = unknown;

export class UnknownFieldChecker {
  private readonly checker: ts.TypeChecker;
  private readonly roots = new Map<string, ts.Type | undefined>();

  /** `kinds`: every apiVersion + kind that will be checked (the declarations are compiled once). */
  constructor(kinds: readonly { apiVersion: string; kind: string }[]) {
    const lines: string[] = [];
    const aliasOf = new Map<string, string>();
    [...new Set(kinds.map((k) => `${k.apiVersion}|${k.kind}`))].forEach((key, i) => {
      const [apiVersion, kind] = key.split('|');
      const mod = modelModule(apiVersion, kind);
      if (!mod || !/^[A-Za-z0-9]+$/.test(kind)) return;
      lines.push(`import type { I${kind} as T${i} } from ${JSON.stringify(mod)};`, `export type Root${i} = T${i};`);
      aliasOf.set(key, `Root${i}`);
    });
    const text = lines.join('\n');
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022,
      strict: true, noEmit: true, skipLibCheck: true, types: [],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (f, lang, ...rest) => f === VIRTUAL ? ts.createSourceFile(f, text, lang) : getSourceFile(f, lang, ...rest);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (f) => f === VIRTUAL || fileExists(f);
    host.getCurrentDirectory = () => dirname(VIRTUAL);
    const program = ts.createProgram([VIRTUAL], options, host);
    this.checker = program.getTypeChecker();
    const source = program.getSourceFile(VIRTUAL)!;
    const fileSymbol = this.checker.getSymbolAtLocation(source);
    const exports = fileSymbol ? this.checker.getExportsOfModule(fileSymbol) : [];
    for (const [key, alias] of aliasOf) {
      const symbol = exports.find((s) => s.name === alias);
      const type = symbol ? this.checker.getDeclaredTypeOfSymbol(symbol) : undefined;
      // An unresolved import is the error type: treat the kind as unknown.
      this.roots.set(key, type && !(type.flags & ts.TypeFlags.Any) ? type : undefined);
    }
  }

  /** Fields of `obj` its schema does not declare; a kind without a schema is itself a problem. */
  check(obj: { apiVersion: string; kind: string }): FieldProblem[] {
    const root = this.roots.get(`${obj.apiVersion}|${obj.kind}`);
    if (!root) return [{ path: '', message: `no schema for ${obj.apiVersion} ${obj.kind}` }];
    const problems: FieldProblem[] = [];
    this.walk(obj, root, '', problems);
    return problems;
  }

  private walk(value: Json, type: ts.Type, path: string, problems: FieldProblem[]): void {
    if (value === null || typeof value !== 'object') return; // scalars: types are the validators' job
    const candidates = this.members(type).filter((t) => Array.isArray(value) ? this.checker.isArrayType(t) : this.isObject(t));
    if (candidates.length === 0) {
      if (this.members(type).some((t) => t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown))) return;
      problems.push({ path, message: Array.isArray(value) ? 'is a list where the schema has no list' : 'is an object where the schema has no object' });
      return;
    }
    if (Array.isArray(value)) {
      const element = this.checker.getTypeArguments(candidates[0] as ts.TypeReference)[0];
      value.forEach((item, i) => this.walk(item, element, `${path}[${i}]`, problems));
      return;
    }
    for (const [key, child] of Object.entries(value as Record<string, Json>)) {
      const declared = candidates.map((t) => this.checker.getPropertyOfType(t, key)).find(Boolean);
      if (declared) {
        this.walk(child, this.checker.getTypeOfSymbol(declared), `${path}.${key}`, problems);
        continue;
      }
      const index = candidates.map((t) => this.checker.getIndexInfoOfType(t, ts.IndexKind.String)).find(Boolean);
      if (index) {
        this.walk(child, index.type, `${path}.${key}`, problems);
        continue;
      }
      problems.push({ path: `${path}.${key}`, message: 'unknown field (not in the schema)' });
    }
  }

  private members(type: ts.Type): ts.Type[] {
    return type.isUnion() ? type.types : [type];
  }

  private isObject(t: ts.Type): boolean {
    return !!(t.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) && !this.checker.isArrayType(t);
  }
}
