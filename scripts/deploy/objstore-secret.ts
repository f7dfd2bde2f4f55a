/**
 * Thanos's object-store Secret: which Secret and key dist/'s Prometheus sidecars, Store Gateway and
 * Compactor read, the --objstore-file that fills it, and why the file or the Secret in the cluster
 * cannot serve them. No function here shows the configuration, which holds the bucket's credentials.
 */
import { Loose, ManifestFile, ofKind } from './manifests';

/** The Secret and key holding Thanos's object-store configuration, as dist/ references it. */
export interface ObjstoreSecret {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

const USERS = 'dist/\'s Thanos sidecars, Store Gateway and Compactor';

/**
 * The Secret dist/'s Prometheus resources name in `spec.thanos.objectStorageConfig`, which the
 * Store Gateway's and Compactor's Secret volumes must name too; undefined without long-term storage.
 */
export function objstoreSecret(dist: readonly ManifestFile[]): ObjstoreSecret | undefined {
  const refs = ofKind(dist, 'Prometheus').flatMap((p) => {
    const ref = p.spec?.thanos?.objectStorageConfig;
    return ref ? [{ namespace: p.metadata.namespace ?? 'default', name: ref.name as string, key: ref.key as string }] : [];
  });
  const volumes = ofKind(dist, 'StatefulSet').flatMap((s) => (s.spec?.template?.spec?.volumes ?? [])
    .filter((v: Loose) => v.secret?.items?.length)
    .map((v: Loose) => ({ namespace: s.metadata.namespace ?? 'default', name: v.secret.secretName as string, key: v.secret.items[0].key as string })));
  const all = [...refs, ...volumes];
  if (all.length === 0) return undefined;
  const ids = [...new Set(all.map((r) => `${r.namespace}/${r.name} key ${r.key}`))];
  if (ids.length > 1) throw new Error(`${USERS} read more than one object-store Secret (${ids.join(', ')}); deploy fills one: run \`npm run synth\``);
  return all[0];
}

/** Why an --objstore-file cannot fill the Secret (it is empty), or undefined. Never shows its content. */
export function objstoreFileProblem(secret: ObjstoreSecret, file: string, content: string): string | undefined {
  if (content.trim() !== '') return undefined;
  return `${file} is empty: ${USERS} read Thanos's object-store configuration (a YAML of type and config, e.g. S3 bucket and endpoint) `
    + `from key ${secret.key} of Secret ${secret.namespace}/${secret.name}`;
}

/** Why the Secret in the cluster (`present`: its keys with a value, undefined when it does not exist) cannot serve dist/, or undefined. */
export function objstoreSecretProblem(secret: ObjstoreSecret, present: readonly string[] | undefined): string | undefined {
  const id = `Secret ${secret.namespace}/${secret.name}`;
  const fix = 'create it with `npm run deploy -- --objstore-file <file>` (Thanos\'s objstore YAML)';
  if (present === undefined) return `${id} does not exist, and ${USERS} read its key ${secret.key}: ${fix}`;
  return present.includes(secret.key) ? undefined : `${id} has no value for ${secret.key}, which ${USERS} read: ${fix}, or add the key to the Secret`;
}

/** The Secret `apply-objstore-secret` pipes to kubectl on stdin: the file's content, base64, under the key. */
export function objstoreSecretManifest(secret: ObjstoreSecret, content: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secret.name, namespace: secret.namespace, labels: { 'app.kubernetes.io/part-of': 'chat-monitoring', 'app.kubernetes.io/name': 'thanos' } },
    type: 'Opaque',
    data: { [secret.key]: Buffer.from(content, 'utf8').toString('base64') },
  });
}
