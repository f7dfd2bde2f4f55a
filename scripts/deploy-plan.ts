/**
 * What `npm run deploy` does, as data: an ordered list of steps computed from the synthesized
 * manifests alone (dist/ is what gets deployed, whatever config produced it), with no I/O, so the
 * order and every kubectl argument are unit-tested (test/unit/deploy-plan.test.ts).
 * scripts/deploy.ts runs the steps.
 */
import { isDeepStrictEqual } from 'util';
import { PROMETHEUS_OPERATOR_VERSION } from '../lib/config';

/** The operator's CRDs (all of them: the operator also watches Probes, ScrapeConfigs, ...), from its pinned release. */
export const CRD_URL =
  `https://github.com/prometheus-operator/prometheus-operator/releases/download/${PROMETHEUS_OPERATOR_VERSION}/stripped-down-crds.yaml`;
/** Field manager of every server-side apply, so re-deploys own their fields and never conflict with themselves. */
export const FIELD_MANAGER = 'chat-monitoring';
/** kind-config.yaml publishes Grafana's NodePort on this host port. */
export const KIND_GRAFANA_URL = 'http://localhost:3030';
export const KIND_NODE_PORT = 30030;

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

export type Step =
  /** Check, quietly, that the kubectl context exists and reaches its cluster; say which and how to fix it if not. */
  | { readonly kind: 'check-cluster'; readonly title: string; readonly context?: string }
  /** Run kubectl with these arguments, output shown. */
  | { readonly kind: 'kubectl'; readonly title: string; readonly args: readonly string[] }
  /** Run kubectl (output hidden) until it succeeds or the timeout passes. */
  | { readonly kind: 'poll'; readonly title: string; readonly args: readonly string[]; readonly timeoutSeconds: number }
  /** Create the Secret with a random admin password unless it exists; the password goes to kubectl on stdin only. */
  | { readonly kind: 'ensure-grafana-secret'; readonly title: string; readonly namespace: string; readonly name: string; readonly kubectlArgs: readonly string[] }
  /** Check, without reading any value, that the receivers' Secret exists and has a value for every key dist/ references. */
  | { readonly kind: 'check-receivers-secret'; readonly title: string; readonly secret: ReceiversSecret; readonly args: readonly string[] }
  /**
   * Create or update the receivers' Secret from the --receivers-file content, which goes to kubectl
   * on stdin only (receiversSecretManifest); `args` hold no value.
   */
  | { readonly kind: 'apply-receivers-secret'; readonly title: string; readonly secret: ReceiversSecret; readonly file: string; readonly args: readonly string[] }
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
}

const ofKind = (files: readonly ManifestFile[], kind: string) =>
  files.flatMap((f) => f.objects.filter((o) => o.kind === kind));

/** The StatefulSets the operator creates for a Prometheus object (one per shard). */
export function prometheusStatefulSets(prometheus: ManifestObject): string[] {
  const shards = prometheus.spec?.shards ?? 1;
  const base = `prometheus-${prometheus.metadata.name}`;
  return Array.from({ length: shards }, (_, i) => (i === 0 ? base : `${base}-shard-${i}`));
}

/** What deploy needs to know about the stack, read from dist/ itself. */
export interface StackFacts {
  /** Namespace of Grafana, where its admin Secret must be. */
  readonly namespace: string;
  readonly grafanaAdminSecret: string;
  readonly grafanaNodePort?: number;
}

// dist/ objects are parsed YAML: read them loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

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

export function deployPlan(input: PlanInput): Step[] {
  const timeout = `--timeout=${input.timeoutSeconds ?? 300}s`;
  const global = input.context ? ['--context', input.context] : [];
  const kubectl = (title: string, ...args: string[]): Step => ({ kind: 'kubectl', title, args: [...global, ...args] });
  const apply = (path: string) => ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', path];
  const rollouts = (files: readonly ManifestFile[]): Step[] => ofKind(files, 'Deployment').map((d) =>
    kubectl(`wait for Deployment ${d.metadata.namespace}/${d.metadata.name}`,
      '-n', d.metadata.namespace ?? 'default', 'rollout', 'status', `deployment/${d.metadata.name}`, timeout));

  if (input.dist.length === 0) throw new Error('dist/ has no manifests: run `npm run synth` first');
  const stack = stackFacts(input.dist);
  const namespaceFiles = input.dist.filter((f) => f.objects.some((o) => o.kind === 'Namespace'));
  const otherFiles = input.dist.filter((f) => !namespaceFiles.includes(f));

  const receivers = receiversSecret(input.dist);
  if (input.receiversFile !== undefined && !receivers) {
    throw new Error(`--receivers-file ${input.receiversFile} was given, but no Alertmanager receiver in dist/ reads a Secret: `
      + 'configure alertmanager.receivers and run `npm run synth`, or leave the flag out');
  }
  const receiversId = receivers ? `${receivers.namespace}/${receivers.name}` : '';

  const steps: Step[] = [
    { kind: 'check-cluster', title: `check that kubectl context ${input.context ? `"${input.context}"` : '(the current one)'} reaches a cluster`, context: input.context },
    // Before any write: without the file, the Secret must already hold every key (keys read, never values).
    ...(receivers && input.receiversFile === undefined ? [{
      kind: 'check-receivers-secret' as const,
      title: `check that Secret ${receiversId} has a value for ${receivers.keys.join(', ')} (keys only)`,
      secret: receivers,
      args: [...global, '-n', receivers.namespace, 'get', 'secret', receivers.name, '-o', `go-template=${SECRET_KEYS_TEMPLATE}`],
    }] : []),
    // Server-side: the Prometheus CRD is larger than client-side apply's 256 KiB annotation limit.
    // --force-conflicts takes over fields another installer (Helm, an older deploy) owned.
    kubectl(`install the Prometheus Operator ${PROMETHEUS_OPERATOR_VERSION} CRDs`,
      'apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', CRD_URL),
    // Custom resources applied before their CRD is Established fail with "no matches for kind".
    kubectl('wait until the CRDs are Established', 'wait', '--for=condition=Established', '--timeout=120s', '-f', CRD_URL),
    ...namespaceFiles.map((f) => kubectl(`create namespaces (${f.path})`, ...apply(f.path))),
    {
      kind: 'ensure-grafana-secret',
      title: `create Secret ${stack.namespace}/${stack.grafanaAdminSecret} with a random Grafana admin password, unless it exists`,
      namespace: stack.namespace,
      name: stack.grafanaAdminSecret,
      kubectlArgs: global,
    },
    // Before dist/'s Alertmanager file, so the operator finds every key on its first render. Server-side:
    // client-side apply would copy the values into the last-applied-configuration annotation.
    ...(receivers && input.receiversFile !== undefined ? [{
      kind: 'apply-receivers-secret' as const,
      title: `create or update Secret ${receiversId} from ${input.receiversFile} (values on stdin only)`,
      secret: receivers,
      file: input.receiversFile,
      args: [...global, '-n', receivers.namespace, 'apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', '-'],
    }] : []),
    ...otherFiles.map((f) => kubectl(`apply ${f.path}`, ...apply(f.path))),
    ...rollouts(input.dist),
  ];

  for (const prometheus of ofKind(input.dist, 'Prometheus')) {
    const ns = prometheus.metadata.namespace ?? 'default';
    for (const sts of prometheusStatefulSets(prometheus)) {
      // The operator creates the StatefulSet a moment after the Prometheus object: wait for it to exist first.
      steps.push({
        kind: 'poll',
        title: `wait for the operator to create StatefulSet ${ns}/${sts}`,
        args: [...global, '-n', ns, 'get', `statefulset/${sts}`, '-o', 'name'],
        timeoutSeconds: input.timeoutSeconds ?? 300,
      });
      steps.push(kubectl(`wait for StatefulSet ${ns}/${sts}`, '-n', ns, 'rollout', 'status', `statefulset/${sts}`, timeout));
    }
  }

  if (input.demo) {
    steps.push(...input.demo.map((f) => kubectl(`apply the demo workload (${f.path})`, ...apply(f.path))));
    steps.push(...rollouts(input.demo));
  }

  const nodePortNote = stack.grafanaNodePort === KIND_NODE_PORT
    ? `Grafana: ${KIND_GRAFANA_URL} (kind; elsewhere NodePort ${stack.grafanaNodePort} on any node)`
    : stack.grafanaNodePort === undefined
      ? `Grafana: dist/ gives it no NodePort (reach it with kubectl -n ${stack.namespace} port-forward)`
      : `Grafana: NodePort ${stack.grafanaNodePort} on any node (kind-config.yaml maps ${KIND_NODE_PORT} to ${KIND_GRAFANA_URL}: change one of them)`;
  steps.push({
    kind: 'print',
    title: 'done',
    lines: [
      nodePortNote,
      'User: admin. Password:',
      `  ${passwordCommand(stack, input.context)}`,
      ...(input.demo ? ['Demo traffic is flowing: every dashboard panel fills within about a minute.'] : []),
    ],
  });
  return steps;
}

export interface DeployArgs {
  readonly demo: boolean;
  readonly dryRun: boolean;
  readonly context?: string;
  readonly timeoutSeconds?: number;
  readonly receiversFile?: string;
  readonly help: boolean;
}

export const USAGE = `usage: npm run deploy -- [--demo] [--context NAME] [--timeout SECONDS] [--receivers-file PATH] [--dry-run]
  --demo            also synthesize and apply the demo workload (dist-demo/): chat-like services and a load generator
  --context         kubectl context to deploy to (default: the current one)
  --timeout         seconds to wait for each rollout (default 300)
  --receivers-file  key=value lines: create or update the Alertmanager receivers' Secret from them (values never printed)
  --dry-run         print the steps without running them`;

/** Parses the deploy script's flags; throws with the usage on anything unknown. */
export function parseDeployArgs(argv: readonly string[]): DeployArgs {
  let demo = false;
  let dryRun = false;
  let help = false;
  let context: string | undefined;
  let timeoutSeconds: number | undefined;
  let receiversFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') throw new Error(`${a.split('=')[0]} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--demo') demo = true;
    else if (a === '--dry-run') dryRun = true;
    else if (a === '--help' || a === '-h') help = true;
    else if (a === '--context' || a.startsWith('--context=')) context = value();
    else if (a === '--timeout' || a.startsWith('--timeout=')) {
      const v = value();
      timeoutSeconds = Number(v);
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) throw new Error(`--timeout must be a positive whole number of seconds, not ${v}\n${USAGE}`);
    } else if (a === '--receivers-file' || a.startsWith('--receivers-file=')) receiversFile = value();
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return { demo, dryRun, context, timeoutSeconds, receiversFile, help };
}
