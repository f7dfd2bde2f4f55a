/**
 * The Alertmanager receivers' Secret: which Secret and keys dist/'s AlertmanagerConfigs read, the
 * --receivers-file that fills it, and why a file or the Secret in the cluster cannot serve them.
 * No function here shows a value.
 */
import { Loose, ManifestFile, ofKind } from './manifests';

/** The Secret holding the receivers' credentials, as dist/'s AlertmanagerConfigs reference it. */
export interface ReceiversSecret {
  readonly namespace: string;
  readonly name: string;
  /** Every key a receiver reads, sorted. */
  readonly keys: readonly string[];
}

/**
 * The Secret the receivers of dist/'s AlertmanagerConfigs read their credentials from (every
 * `{ name, key }` selector under `spec.receivers`); undefined when no receiver references one.
 */
export function receiversSecret(dist: readonly ManifestFile[]): ReceiversSecret | undefined {
  const refs: { namespace: string; name: string; key: string }[] = [];
  const walk = (v: Loose, namespace: string): void => {
    if (Array.isArray(v)) v.forEach((x) => walk(x, namespace));
    else if (v && typeof v === 'object') {
      if (typeof v.name === 'string' && typeof v.key === 'string') refs.push({ namespace, name: v.name, key: v.key });
      else Object.values(v).forEach((x) => walk(x, namespace));
    }
  };
  for (const o of ofKind(dist, 'AlertmanagerConfig')) walk(o.spec?.receivers ?? [], o.metadata.namespace ?? 'default');
  if (refs.length === 0) return undefined;
  const secrets = [...new Set(refs.map((r) => `${r.namespace}/${r.name}`))];
  if (secrets.length > 1) throw new Error(`dist/'s Alertmanager receivers read more than one Secret (${secrets.join(', ')}); deploy fills one: run \`npm run synth\``);
  return { namespace: refs[0].namespace, name: refs[0].name, keys: [...new Set(refs.map((r) => r.key))].sort() };
}

/** A Secret key, as Kubernetes and alertmanager.receivers' `*SecretKey` fields allow it. */
const SECRET_DATA_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * The `key=value` lines of a --receivers-file, much as `kubectl create secret --from-env-file` reads
 * them: leading whitespace ignored, blank and `#` lines skipped, the value is everything after the
 * first `=` (no quotes, no escapes; a trailing `\r` of a Windows line end is dropped). Unlike
 * kubectl, a line without `=` is an error (not a value taken from the environment) and a key may
 * start with a digit, as a Secret key may. Errors name the line number only, never its text, which
 * may hold a credential.
 */
export function parseReceiversFile(content: string, file: string): Map<string, string> {
  const values = new Map<string, string>();
  content.replace(/^\uFEFF/, '').split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const where = `${file} line ${i + 1}`;
    if (eq < 0) throw new Error(`${where} is not key=value (its text is not shown: it may hold a credential)`);
    const key = line.slice(0, eq);
    if (!SECRET_DATA_KEY.test(key)) throw new Error(`${where}: the key is not letters, digits, "-", "_" and "."; its text is not shown`);
    if (values.has(key)) throw new Error(`${where}: key ${key} is given twice`);
    values.set(key, line.slice(eq + 1));
  });
  return values;
}

/** Why a --receivers-file cannot fill `secret` (the keys it has no value for), or undefined. Never shows a value. */
export function receiversFileProblem(secret: ReceiversSecret, file: string, values: ReadonlyMap<string, string>): string | undefined {
  const missing = secret.keys.filter((k) => !values.get(k));
  if (missing.length === 0) return undefined;
  return `${file} has no value for ${missing.join(', ')}: dist/'s Alertmanager receivers read ${missing.length === 1 ? 'this key' : 'these keys'} `
    + `of Secret ${secret.namespace}/${secret.name} (needed: ${secret.keys.join(', ')}); add a key=value line for each`;
}

/**
 * Why the Secret in the cluster (`present`: its keys with a non-empty value, undefined when it does
 * not exist) cannot serve dist/'s receivers, or undefined.
 */
export function receiversSecretProblem(secret: ReceiversSecret, present: readonly string[] | undefined): string | undefined {
  const id = `${secret.namespace}/${secret.name}`;
  const fix = 'give them with `npm run deploy -- --receivers-file <file>` (key=value lines), or add them to the Secret';
  if (present === undefined) {
    return `Secret ${id} does not exist, and dist/'s Alertmanager receivers read its keys ${secret.keys.join(', ')}: `
      + 'create it with `npm run deploy -- --receivers-file <file>` (one key=value line each)';
  }
  const missing = secret.keys.filter((k) => !present.includes(k));
  if (missing.length === 0) return undefined;
  return `Secret ${id} has no value for ${missing.join(', ')}, which dist/'s Alertmanager receivers read: ${fix}`;
}

/** Lists the keys of a Secret that have a value, one a line, and nothing of the values. */
export const SECRET_KEYS_TEMPLATE = '{{range $k, $v := .data}}{{if $v}}{{$k}}{{"\\n"}}{{end}}{{end}}';

/** The receivers' Secret `apply-receivers-secret` pipes to kubectl on stdin: the file's keys, base64 in `data`. */
export function receiversSecretManifest(secret: ReceiversSecret, values: ReadonlyMap<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secret.name, namespace: secret.namespace, labels: { 'app.kubernetes.io/part-of': 'chat-monitoring', 'app.kubernetes.io/name': 'alertmanager' } },
    type: 'Opaque',
    data: Object.fromEntries([...values].map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
  });
}
