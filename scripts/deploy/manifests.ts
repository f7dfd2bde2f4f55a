/**
 * dist/ as deploy reads it: the manifest files in apply order and the facts about the stack that
 * the plan and the dist/ check need (Grafana's namespace, admin Secret and NodePort).
 */

export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly spec?: { readonly shards?: number; readonly [key: string]: any };
}

export interface ManifestFile {
  /** Path given to `kubectl apply -f`, e.g. dist/20-otel-collector.k8s.yaml. */
  readonly path: string;
  readonly objects: readonly ManifestObject[];
}

/** Every object of `kind` in `files`, in apply order. */
export const ofKind = (files: readonly ManifestFile[], kind: string) =>
  files.flatMap((f) => f.objects.filter((o) => o.kind === kind));

/** What deploy needs to know about the stack, read from dist/ itself. */
export interface StackFacts {
  /** Namespace of Grafana, where its admin Secret must be. */
  readonly namespace: string;
  readonly grafanaAdminSecret: string;
  readonly grafanaNodePort?: number;
}

// dist/ objects are parsed YAML: read them loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

/** Namespace, admin Secret and NodePort of the Grafana that `dist` holds. */
export function stackFacts(dist: readonly ManifestFile[]): StackFacts {
  const objects = dist.flatMap((f) => f.objects);
  const grafana = objects.filter((o) => o.kind === 'Deployment').map((d) => {
    const containers: Loose[] = d.spec?.template?.spec?.containers ?? [];
    const ref = containers.flatMap((c) => c.env ?? []).find((e: Loose) => e.name === 'GF_SECURITY_ADMIN_PASSWORD')?.valueFrom?.secretKeyRef;
    return ref ? { deployment: d, secret: ref.name as string } : undefined;
  }).find(Boolean);
  if (!grafana) throw new Error('dist/ has no Grafana Deployment reading its admin password from a Secret: run `npm run synth`');
  const namespace = grafana.deployment.metadata.namespace ?? 'default';
  const podLabels: Record<string, string> = grafana.deployment.spec?.template?.metadata?.labels ?? {};
  const selects = (selector: Record<string, string> = {}) => Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => podLabels[k] === v);
  const service = objects.find((o) => o.kind === 'Service' && (o.metadata.namespace ?? 'default') === namespace && selects(o.spec?.selector)
    && (o.spec?.ports ?? []).some((p: Loose) => p.nodePort !== undefined));
  const nodePort = service?.spec?.ports.find((p: Loose) => p.nodePort !== undefined)?.nodePort as number | undefined;
  return { namespace, grafanaAdminSecret: grafana.secret, grafanaNodePort: nodePort };
}
