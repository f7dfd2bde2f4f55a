/**
 * What `npm run deploy` does, as data: an ordered list of steps computed from the synthesized
 * manifests alone (dist/ is what gets deployed, whatever config produced it), with no I/O, so the
 * order and every kubectl argument are unit-tested (test/unit/deploy-plan.test.ts).
 * scripts/deploy.ts runs the steps.
 */
import { PROMETHEUS_OPERATOR_VERSION } from '../../lib/config';
import { ManifestFile, ManifestObject, ofKind, StackFacts, stackFacts } from './manifests';
import { ObjstoreSecret, objstoreSecret } from './objstore-secret';
import { receiversSecret, ReceiversSecret, SECRET_KEYS_TEMPLATE } from './receivers-secret';

/** The operator's CRDs (all of them: the operator also watches Probes, ScrapeConfigs, ...), from its pinned release. */
export const CRD_URL =
  `https://github.com/prometheus-operator/prometheus-operator/releases/download/${PROMETHEUS_OPERATOR_VERSION}/stripped-down-crds.yaml`;
/** Field manager of every server-side apply, so re-deploys own their fields and never conflict with themselves. */
export const FIELD_MANAGER = 'chat-monitoring';
/** kind-config.yaml publishes Grafana's NodePort on this host port. */
export const KIND_GRAFANA_URL = 'http://localhost:3030';
export const KIND_NODE_PORT = 30030;
/**
 * --request-timeout of deploy's quick kubectl calls (the cluster check, each try of a poll): a server
 * that accepts connections but never answers costs at most this per call.
 */
export const REQUEST_TIMEOUT_SECONDS = 10;
/** Seconds between a poll's tries. */
export const POLL_EVERY_SECONDS = 3;

/** The Deployment that makes the StatefulSets a poll waits for, and how to read its log. */
export interface Maker {
  readonly what: string;
  readonly logs: string;
}

export type Step =
  /** Check, quietly, that the kubectl context exists and reaches its cluster; say which and how to fix it if not. */
  | { readonly kind: 'check-cluster'; readonly title: string; readonly context?: string }
  /**
   * Run kubectl with these arguments, output shown. `timeoutSeconds`: its own --timeout, past which
   * deploy stops it (a rollout's watch on a server gone away can outlive it).
   */
  | { readonly kind: 'kubectl'; readonly title: string; readonly args: readonly string[]; readonly timeoutSeconds?: number }
  /** Run kubectl (output hidden) until it succeeds or the timeout passes; `waitsFor` names what is awaited, `maker` what makes it. */
  | { readonly kind: 'poll'; readonly title: string; readonly args: readonly string[]; readonly timeoutSeconds: number; readonly waitsFor: string; readonly maker: Maker }
  /** Create the Secret with a random admin password unless it exists; the password goes to kubectl on stdin only. */
  | { readonly kind: 'ensure-grafana-secret'; readonly title: string; readonly namespace: string; readonly name: string; readonly kubectlArgs: readonly string[] }
  /** Check, without reading any value, that the receivers' Secret exists and has a value for every key dist/ references. */
  | { readonly kind: 'check-receivers-secret'; readonly title: string; readonly secret: ReceiversSecret; readonly args: readonly string[] }
  /**
   * Create or update the receivers' Secret from the --receivers-file content, which goes to kubectl
   * on stdin only (receiversSecretManifest); `args` hold no value.
   */
  | { readonly kind: 'apply-receivers-secret'; readonly title: string; readonly secret: ReceiversSecret; readonly file: string; readonly args: readonly string[] }
  /** Check, without reading any value, that Thanos's object-store Secret exists and has its key. */
  | { readonly kind: 'check-objstore-secret'; readonly title: string; readonly secret: ObjstoreSecret; readonly args: readonly string[] }
  /** Create or update Thanos's object-store Secret from the --objstore-file content, on kubectl's stdin only. */
  | { readonly kind: 'apply-objstore-secret'; readonly title: string; readonly secret: ObjstoreSecret; readonly file: string; readonly args: readonly string[] }
  /** Print these lines. */
  | { readonly kind: 'print'; readonly title: string; readonly lines: readonly string[] };

export interface PlanInput {
  /** dist/ files in apply order. */
  readonly dist: readonly ManifestFile[];
  /** The demo chart's files (dist-demo/), applied last when given. */
  readonly demo?: readonly ManifestFile[];
  /** kubectl context; the current one when unset. */
  readonly context?: string;
  /** Per-rollout timeout. @default 300 */
  readonly timeoutSeconds?: number;
  /** --receivers-file: env-style file the receivers' Secret is created or updated from (its content is not part of the plan). */
  readonly receiversFile?: string;
  /** --objstore-file: Thanos's object-store configuration, the value of the object-store Secret's key (its content is not part of the plan). */
  readonly objstoreFile?: string;
}

/** The StatefulSets the operator creates for a Prometheus object (one per shard). */
export function prometheusStatefulSets(prometheus: ManifestObject): string[] {
  const shards = prometheus.spec?.shards ?? 1;
  const base = `prometheus-${prometheus.metadata.name}`;
  return Array.from({ length: shards }, (_, i) => (i === 0 ? base : `${base}-shard-${i}`));
}

/** The StatefulSet the operator creates for an Alertmanager object. */
export const alertmanagerStatefulSet = (alertmanager: ManifestObject) => `alertmanager-${alertmanager.metadata.name}`;

/** The command that prints the Grafana admin password (shown to the user, never the password itself). */
export function passwordCommand(stack: StackFacts, context?: string): string {
  const ctx = context ? ` --context ${context}` : '';
  return `kubectl${ctx} -n ${stack.namespace} get secret ${stack.grafanaAdminSecret} -o jsonpath='{.data.admin-password}' | base64 -d; echo`;
}

/** The Secret `ensure-grafana-secret` creates: what goes to `kubectl create -f -` on stdin. */
export function grafanaSecretManifest(namespace: string, name: string, password: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'chat-monitoring', 'app.kubernetes.io/name': 'grafana' } },
    type: 'Opaque',
    stringData: { 'admin-user': 'admin', 'admin-password': password },
  });
}

/** kubectl steps with the plan's global flags (--context) and timeouts. */
class KubectlSteps {
  readonly global: readonly string[];
  private readonly timeoutSeconds: number;

  constructor(input: PlanInput) {
    this.global = input.context ? ['--context', input.context] : [];
    this.timeoutSeconds = input.timeoutSeconds ?? 300;
  }

  kubectl(title: string, ...args: string[]): Step {
    return { kind: 'kubectl', title, args: [...this.global, ...args] };
  }

  /** kubectl waiting at most `seconds` (its --timeout, which deploy enforces too). */
  waiting(seconds: number, title: string, ...args: string[]): Step {
    return { kind: 'kubectl', title, args: [...this.global, ...args, `--timeout=${seconds}s`], timeoutSeconds: seconds };
  }

  apply(title: string, path: string): Step {
    return this.kubectl(title, 'apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', path);
  }

  /** Every Deployment, then every StatefulSet of `files` (those the chart writes itself, e.g. Thanos's Store Gateway). */
  rollouts(files: readonly ManifestFile[]): Step[] {
    return (['Deployment', 'StatefulSet'] as const).flatMap((kind) => ofKind(files, kind).map((d) =>
      this.waiting(this.timeoutSeconds, `wait for ${kind} ${d.metadata.namespace}/${d.metadata.name}`,
        '-n', d.metadata.namespace ?? 'default', 'rollout', 'status', `${kind.toLowerCase()}/${d.metadata.name}`)));
  }

  /**
   * Per StatefulSet the operator makes (each Prometheus shard's, each Alertmanager's): wait for the
   * operator to create it, then for its rollout.
   */
  operatorRollouts(files: readonly ManifestFile[]): Step[] {
    const statefulSets = [
      ...ofKind(files, 'Prometheus').flatMap((p) => prometheusStatefulSets(p).map((name) => ({ ns: p.metadata.namespace ?? 'default', name }))),
      ...ofKind(files, 'Alertmanager').map((a) => ({ ns: a.metadata.namespace ?? 'default', name: alertmanagerStatefulSet(a) })),
    ];
    const maker = operatorOf(files, this.global);
    return statefulSets.flatMap(({ ns, name }): Step[] => [
      // The operator creates the StatefulSet a moment after its resource: wait for it to exist first.
      {
        kind: 'poll',
        title: `wait for the operator to create StatefulSet ${ns}/${name}`,
        args: [...this.global, '-n', ns, 'get', `statefulset/${name}`, '-o', 'name', `--request-timeout=${REQUEST_TIMEOUT_SECONDS}s`],
        timeoutSeconds: this.timeoutSeconds,
        waitsFor: `StatefulSet ${ns}/${name}`,
        maker,
      },
      this.waiting(this.timeoutSeconds, `wait for StatefulSet ${ns}/${name}`, '-n', ns, 'rollout', 'status', `statefulset/${name}`),
    ]);
  }
}

/** The Prometheus Operator's Deployment in `files` (the one given --prometheus-config-reloader), as a poll's maker. */
function operatorOf(files: readonly ManifestFile[], global: readonly string[]): Maker {
  const operator = ofKind(files, 'Deployment').find((d) => (d.spec?.template?.spec?.containers ?? [])
    .some((c: { args?: string[] }) => (c.args ?? []).some((a) => a.startsWith('--prometheus-config-reloader='))));
  if (!operator) return { what: 'the Prometheus Operator (not in dist/: is it installed?)', logs: 'the operator\'s log' };
  const ns = operator.metadata.namespace ?? 'default';
  return {
    what: `the Prometheus Operator (Deployment ${ns}/${operator.metadata.name})`,
    logs: ['kubectl', ...global, '-n', ns, 'logs', `deployment/${operator.metadata.name}`].join(' '),
  };
}

/** The receivers' Secret dist/ reads, refusing a --receivers-file when none does. */
function plannedReceiversSecret(input: PlanInput): ReceiversSecret | undefined {
  const receivers = receiversSecret(input.dist);
  if (input.receiversFile !== undefined && !receivers) {
    throw new Error(`--receivers-file ${input.receiversFile} was given, but no Alertmanager receiver in dist/ reads a Secret: `
      + 'configure alertmanager.receivers and run `npm run synth`, or leave the flag out');
  }
  return receivers;
}

/** The object-store Secret dist/ reads, refusing an --objstore-file when none does. */
function plannedObjstoreSecret(input: PlanInput): ObjstoreSecret | undefined {
  const secret = objstoreSecret(input.dist);
  if (input.objstoreFile !== undefined && !secret) {
    throw new Error(`--objstore-file ${input.objstoreFile} was given, but dist/ has no long-term storage: `
      + 'configure thanos.objectStorage and run `npm run synth`, or leave the flag out');
  }
  return secret;
}

/** kubectl arguments that list the keys of a Secret with a value, never a value. */
const secretKeysArgs = (secret: { namespace: string; name: string }, global: readonly string[]) =>
  [...global, '-n', secret.namespace, 'get', 'secret', secret.name, '-o', `go-template=${SECRET_KEYS_TEMPLATE}`];

/**
 * kubectl arguments that create or update a Secret piped on stdin. Server-side: client-side apply
 * would copy the values into the last-applied-configuration annotation.
 */
const secretApplyArgs = (secret: { namespace: string }, global: readonly string[]) =>
  [...global, '-n', secret.namespace, 'apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', '-'];

/** Without --receivers-file, the Secret must already hold every key (keys read, never values). */
function checkReceiversSecretStep(receivers: ReceiversSecret, global: readonly string[]): Step {
  return {
    kind: 'check-receivers-secret',
    title: `check that Secret ${receivers.namespace}/${receivers.name} has a value for ${receivers.keys.join(', ')} (keys only)`,
    secret: receivers,
    args: secretKeysArgs(receivers, global),
  };
}

function applyReceiversSecretStep(receivers: ReceiversSecret, file: string, global: readonly string[]): Step {
  return {
    kind: 'apply-receivers-secret',
    title: `create or update Secret ${receivers.namespace}/${receivers.name} from ${file} (values on stdin only)`,
    secret: receivers,
    file,
    args: secretApplyArgs(receivers, global),
  };
}

/** The object-store Secret: checked (key names only) without --objstore-file, else applied from it before dist/'s files. */
function objstoreSecretSteps(secret: ObjstoreSecret | undefined, input: PlanInput, global: readonly string[]): { check: Step[]; apply: Step[] } {
  if (!secret) return { check: [], apply: [] };
  const id = `${secret.namespace}/${secret.name}`;
  if (input.objstoreFile === undefined) {
    return { check: [{ kind: 'check-objstore-secret', title: `check that Secret ${id} has a value for ${secret.key} (keys only)`, secret, args: secretKeysArgs(secret, global) }], apply: [] };
  }
  return {
    check: [],
    apply: [{
      kind: 'apply-objstore-secret',
      title: `create or update Secret ${id} from ${input.objstoreFile} (content on stdin only)`,
      secret,
      file: input.objstoreFile,
      args: secretApplyArgs(secret, global),
    }],
  };
}

/** Where Grafana is and how to read its password. */
function doneStep(stack: StackFacts, input: PlanInput): Step {
  const nodePortNote = stack.grafanaNodePort === KIND_NODE_PORT
    ? `Grafana: ${KIND_GRAFANA_URL} (kind; elsewhere NodePort ${stack.grafanaNodePort} on any node)`
    : stack.grafanaNodePort === undefined
      ? `Grafana: dist/ gives it no NodePort (reach it with kubectl -n ${stack.namespace} port-forward)`
      : `Grafana: NodePort ${stack.grafanaNodePort} on any node (kind-config.yaml maps ${KIND_NODE_PORT} to ${KIND_GRAFANA_URL}: change one of them)`;
  return {
    kind: 'print',
    title: 'done',
    lines: [
      nodePortNote,
      'User: admin. Password:',
      `  ${passwordCommand(stack, input.context)}`,
      ...(input.demo ? ['Demo traffic is flowing: every dashboard panel fills within about a minute.'] : []),
    ],
  };
}

export function deployPlan(input: PlanInput): Step[] {
  if (input.dist.length === 0) throw new Error('dist/ has no manifests: run `npm run synth` first');
  const k = new KubectlSteps(input);
  const stack = stackFacts(input.dist);
  const namespaceFiles = input.dist.filter((f) => f.objects.some((o) => o.kind === 'Namespace'));
  const otherFiles = input.dist.filter((f) => !namespaceFiles.includes(f));
  const receivers = plannedReceiversSecret(input);
  const objstore = objstoreSecretSteps(plannedObjstoreSecret(input), input, k.global);

  return [
    { kind: 'check-cluster', title: `check that kubectl context ${input.context ? `"${input.context}"` : '(the current one)'} reaches a cluster`, context: input.context },
    // Before any write.
    ...(receivers && input.receiversFile === undefined ? [checkReceiversSecretStep(receivers, k.global)] : []),
    ...objstore.check,
    // Server-side: the Prometheus CRD is larger than client-side apply's 256 KiB annotation limit.
    // --force-conflicts takes over fields another installer (Helm, an older deploy) owned.
    k.kubectl(`install the Prometheus Operator ${PROMETHEUS_OPERATOR_VERSION} CRDs`,
      'apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', CRD_URL),
    // Custom resources applied before their CRD is Established fail with "no matches for kind".
    k.waiting(120, 'wait until the CRDs are Established', 'wait', '--for=condition=Established', '-f', CRD_URL),
    ...namespaceFiles.map((f) => k.apply(`create namespaces (${f.path})`, f.path)),
    {
      kind: 'ensure-grafana-secret',
      title: `create Secret ${stack.namespace}/${stack.grafanaAdminSecret} with a random Grafana admin password, unless it exists`,
      namespace: stack.namespace,
      name: stack.grafanaAdminSecret,
      kubectlArgs: k.global,
    },
    // Before dist/'s Alertmanager file, so the operator finds every key on its first render.
    ...(receivers && input.receiversFile !== undefined ? [applyReceiversSecretStep(receivers, input.receiversFile, k.global)] : []),
    // Before dist/'s Prometheus and Thanos files: the sidecars and the Store Gateway read it at start.
    ...objstore.apply,
    ...otherFiles.map((f) => k.apply(`apply ${f.path}`, f.path)),
    ...k.rollouts(input.dist),
    ...k.operatorRollouts(input.dist),
    ...(input.demo ? [...input.demo.map((f) => k.apply(`apply the demo workload (${f.path})`, f.path)), ...k.rollouts(input.demo)] : []),
    doneStep(stack, input),
  ];
}
