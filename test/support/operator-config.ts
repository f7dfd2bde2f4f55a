/**
 * The Prometheus configuration the real operator generated, made runnable by a Prometheus outside
 * a pod. This is the one place it is changed, and only in what a pod provides and a process lacks:
 * where the Kubernetes API is and the credentials the pod's mounted ServiceAccount token gives, and
 * where the mounted rule files are. Scrape jobs, relabelling and rules stay exactly as generated.
 *
 * operatorPrometheusConfig() / startPrometheusOnOperatorConfig() are the one way a test builds
 * that Prometheus (the push chain, test/cluster/control-plane.test.ts).
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { gunzipSync } from 'zlib';
import { parse, stringify } from 'yaml';
import { ControlPlane } from './control-plane';
import { K8sObject } from './manifests';
import { PrometheusServer } from './prometheus';

/** Where a Prometheus pod finds its ServiceAccount token and the cluster CA. */
const POD_SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Where the operator mounts the rule ConfigMaps in the Prometheus pod. */
const POD_RULES_DIR = '/etc/prometheus/rules';

/**
 * The operator's Secret holds a template: the config-reloader container renders it, replacing each
 * `$(NAME)` with its own environment variable (SHARD, POD_NAME), before Prometheus reads it.
 */
export function expandReloaderEnv(config: unknown, env: Readonly<Record<string, string>>): unknown {
  if (typeof config === 'string') {
    return config.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (_whole, name: string) => {
      if (!(name in env)) throw new Error(`the generated config uses $(${name}), which the config-reloader's environment does not set`);
      return env[name];
    });
  }
  if (Array.isArray(config)) return config.map((v) => expandReloaderEnv(v, env));
  if (config && typeof config === 'object') return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, expandReloaderEnv(v, env)]));
  return config;
}

export interface LocalCluster {
  readonly apiServer: string;
  readonly caFile: string;
  /** A token of the Prometheus ServiceAccount, from the TokenRequest API. */
  readonly tokenFile: string;
  /** Holds one folder per rule ConfigMap, as the pod mounts them. */
  readonly rulesDir: string;
}

/** A gzipped file from an operator Secret's data (base64): `prometheus.yaml.gz`, `alertmanager.yaml.gz`. */
export const gunzipSecretValue = (base64Gz: string): string => gunzipSync(Buffer.from(base64Gz, 'base64')).toString('utf8');

/** The operator's `prometheus.yaml.gz` from its Secret's data (base64). */
export function decodeOperatorConfig(base64Gz: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return parse(gunzipSecretValue(base64Gz));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

function localPath(path: string, local: LocalCluster): string {
  if (path === `${POD_SA_DIR}/token`) return local.tokenFile;
  if (path === `${POD_SA_DIR}/ca.crt`) return local.caFile;
  if (path.startsWith(`${POD_RULES_DIR}/`)) return `${local.rulesDir}/${path.slice(POD_RULES_DIR.length + 1)}`;
  return path;
}

/** Rewrites every file path a pod would provide, at any depth (tls_config, authorization, ...). */
function rewritePaths(value: unknown, local: LocalCluster): unknown {
  if (typeof value === 'string') return localPath(value, local);
  if (Array.isArray(value)) return value.map((v) => rewritePaths(v, local));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewritePaths(v, local)]));
  }
  return value;
}

/** In-cluster discovery uses the pod's token and the API server's Service; a process names both. */
function localDiscovery(sd: Obj, local: LocalCluster): Obj {
  if (sd.api_server) throw new Error(`generated config already names an API server: ${sd.api_server}`);
  return {
    ...sd,
    api_server: local.apiServer,
    tls_config: { ca_file: local.caFile },
    authorization: { type: 'Bearer', credentials_file: local.tokenFile },
  };
}

export function adaptOperatorConfig(config: Obj, local: LocalCluster): Obj {
  const adapted = rewritePaths(config, local) as Obj;
  const withDiscovery = (job: Obj): Obj => (job.kubernetes_sd_configs
    ? { ...job, kubernetes_sd_configs: job.kubernetes_sd_configs.map((sd: Obj) => localDiscovery(sd, local)) }
    : job);
  adapted.scrape_configs = (adapted.scrape_configs ?? []).map(withDiscovery);
  if (adapted.alerting?.alertmanagers) adapted.alerting.alertmanagers = adapted.alerting.alertmanagers.map(withDiscovery);
  return adapted;
}

/** Paths left pointing into a pod's filesystem; a test asserts there are none. */
export function podPathsLeft(config: unknown): string[] {
  const found: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string' && (v.startsWith('/etc/prometheus') || v.startsWith('/var/run/secrets'))) found.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(config);
  return found;
}

/**
 * The environment the generated StatefulSet gives its config-reloader, as the pod of replica
 * `replica` (0 first) sees it (SHARD, POD_NAME): what expandReloaderEnv puts into the generated
 * config's `$(VAR)`s, as the reloader does (--config-envsubst-file) before Prometheus reads it. The
 * operator's replica label (`prometheus_replica: $(POD_NAME)`, v0.93.1 pkg/prometheus/promcfg.go)
 * is how the replicas' series differ.
 */
export function reloaderEnv(statefulSet: K8sObject, replica = 0): Record<string, string> {
  const containers: { args?: string[]; env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[] }[] = statefulSet.spec.template.spec.containers;
  const reloader = containers.find((c) => (c.args ?? []).some((a) => a.startsWith('--config-envsubst-file=')));
  if (!reloader) throw new Error(`StatefulSet ${statefulSet.metadata.name} has no config-reloader container (--config-envsubst-file)`);
  const replicas: number = statefulSet.spec.replicas ?? 1;
  if (!Number.isInteger(replica) || replica < 0 || replica >= replicas) throw new Error(`StatefulSet ${statefulSet.metadata.name} has ${replicas} replicas, no pod ${replica}`);
  const pod: Record<string, string | undefined> = { 'metadata.name': `${statefulSet.metadata.name}-${replica}`, 'metadata.namespace': statefulSet.metadata.namespace };
  return Object.fromEntries((reloader.env ?? []).map((e) => {
    const v = e.value ?? (e.valueFrom?.fieldRef ? pod[e.valueFrom.fieldRef.fieldPath] : undefined);
    if (v === undefined) throw new Error(`config-reloader env ${e.name}: no value this test can give`);
    return [e.name, v];
  }));
}

export interface OperatorPrometheusConfig {
  /** As the operator generated it, from its Secret. */
  readonly generated: Obj;
  /** Made runnable here: reloader variables expanded, pod paths and in-cluster discovery replaced. */
  readonly adapted: Obj;
  /** `adapted` as a file, with the rule files and the token it names beside it. */
  readonly configFile: string;
}

/**
 * What the operator reconciled for `prometheusCr` on `cp`, made runnable in `workdir`: its config
 * Secret, its rule ConfigMaps (one folder each, as the pod mounts them), a token of its
 * ServiceAccount and its StatefulSet's reloader environment, as pod `replica` of the StatefulSet
 * sees them. Throws where a pod path is left.
 */
export function operatorPrometheusConfig(cp: ControlPlane, prometheusCr: K8sObject, workdir: string, replica = 0): OperatorPrometheusConfig {
  const admin = cp.admin;
  const ns = prometheusCr.metadata.namespace!;
  const name = `prometheus-${prometheusCr.metadata.name}`;
  const generated = decodeOperatorConfig(admin.json<K8sObject>(['get', 'secret', name, '-n', ns]).data['prometheus.yaml.gz']);
  const rulesDir = join(workdir, 'rules');
  for (const cm of admin.json<{ items: K8sObject[] }>(['get', 'configmap', '-n', ns, '-l', `prometheus-name=${prometheusCr.metadata.name}`]).items) {
    mkdirSync(join(rulesDir, cm.metadata.name), { recursive: true });
    for (const [file, content] of Object.entries(cm.data as Record<string, string>)) writeFileSync(join(rulesDir, cm.metadata.name, file), content);
  }
  // Each replica's own files beside the shared rule folders (replica 0's keep their names).
  const own = (file: string) => join(workdir, replica === 0 ? file : file.replace('.', `-${replica}.`));
  const tokenFile = own('prometheus.token');
  writeFileSync(tokenFile, admin.ok(['create', 'token', prometheusCr.spec.serviceAccountName, '-n', ns, '--duration=2h']).stdout.trim(), { mode: 0o600 });
  const env = reloaderEnv(admin.json<K8sObject>(['get', 'statefulset', name, '-n', ns]), replica);
  const adapted = adaptOperatorConfig(expandReloaderEnv(generated, env) as Obj, { apiServer: cp.apiServer.url, caFile: cp.apiServer.caFile, tokenFile, rulesDir });
  const left = podPathsLeft(adapted);
  if (left.length) throw new Error(`the adapted Prometheus config still names pod paths: ${left.join(', ')}`);
  const configFile = own('prometheus.yml');
  writeFileSync(configFile, stringify(adapted));
  return { generated, adapted, configFile };
}

/**
 * Container `name` of a StatefulSet the operator generated, made runnable outside the pod: its args,
 * with every path under a Secret or ConfigMap volume it mounts pointed at a copy of that object's
 * files in `workdir` (read from the API server, as the kubelet mounts them), and every `$(NAME)` of
 * its environment expanded, as the kubelet does. Other paths (its data volume, the addresses) are
 * the caller's to replace.
 */
export function operatorContainerArgs(cp: ControlPlane, statefulSet: K8sObject, name: string, workdir: string): string[] {
  const pod = statefulSet.spec.template.spec;
  const container = (pod.containers as Obj[]).find((c) => c.name === name);
  if (!container?.args?.length) throw new Error(`StatefulSet ${statefulSet.metadata.name} has no container ${name} with args`);
  const ns = statefulSet.metadata.namespace!;
  const mounted: [string, string][] = [];
  for (const mount of (container.volumeMounts ?? []) as { name: string; mountPath: string }[]) {
    const volume = (pod.volumes as Obj[]).find((v) => v.name === mount.name);
    const source = volume?.secret ? { kind: 'secret', name: volume.secret.secretName, items: volume.secret.items }
      : volume?.configMap ? { kind: 'configmap', name: volume.configMap.name, items: volume.configMap.items } : undefined;
    if (!source) continue;
    const object = cp.admin.json<K8sObject>(['get', source.kind, source.name, '-n', ns]);
    const files: Record<string, string> = source.kind === 'secret'
      ? Object.fromEntries(Object.entries((object.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
      : object.data ?? {};
    const dir = join(workdir, `${name}-${mount.name}`);
    mkdirSync(dir, { recursive: true });
    const items: { key: string; path: string }[] = source.items ?? Object.keys(files).map((key) => ({ key, path: key }));
    for (const item of items) writeFileSync(join(dir, item.path), files[item.key] ?? '', { mode: 0o600 });
    mounted.push([mount.mountPath.replace(/\/$/, ''), dir]);
  }
  // The deepest mount first, as a path resolves inside the pod.
  mounted.sort(([a], [b]) => b.length - a.length);
  // Each `$(NAME)` is the container's environment variable NAME, as the kubelet expands it (one it
  // does not define stays as written): a value, or a key of a Secret or ConfigMap read from the API
  // server (the operator's `--objstore.config=$(OBJSTORE_CONFIG)`, from the object store's Secret).
  const env = (container.env ?? []) as { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }[];
  const envValue = (whole: string, varName: string): string => {
    const e = env.find((x) => x.name === varName);
    if (!e) return whole;
    if (e.value !== undefined) return e.value;
    const secret = e.valueFrom?.secretKeyRef;
    const configMap = e.valueFrom?.configMapKeyRef;
    if (secret) {
      const data = cp.admin.json<K8sObject>(['get', 'secret', secret.name, '-n', ns]).data?.[secret.key];
      if (data === undefined) throw new Error(`${name} env ${varName}: Secret ${ns}/${secret.name} has no key ${secret.key}`);
      return Buffer.from(data, 'base64').toString('utf8');
    }
    if (configMap) {
      const data = cp.admin.json<K8sObject>(['get', 'configmap', configMap.name, '-n', ns]).data?.[configMap.key];
      if (data === undefined) throw new Error(`${name} env ${varName}: ConfigMap ${ns}/${configMap.name} has no key ${configMap.key}`);
      return data;
    }
    throw new Error(`${name} env ${varName}: no value this test can give`);
  };
  return (container.args as string[]).map((arg) => {
    const hit = mounted.find(([path]) => arg.includes(`=${path}/`));
    return (hit ? arg.replace(`=${hit[0]}/`, `=${hit[1]}/`) : arg).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, envValue);
  });
}

/**
 * operatorPrometheusConfig(), then a Prometheus running it (as pod `replica` of the StatefulSet),
 * with `extraArgs` (given its TSDB directory) beside the flags PrometheusServer sets.
 */
export async function startPrometheusOnOperatorConfig(cp: ControlPlane, prometheusCr: K8sObject, workdir: string, replica = 0,
  extraArgs?: (tsdbPath: string) => readonly string[]): Promise<OperatorPrometheusConfig & { prometheus: PrometheusServer }> {
  const config = operatorPrometheusConfig(cp, prometheusCr, workdir, replica);
  return { ...config, prometheus: await PrometheusServer.start({ config: stringify(config.adapted), extraArgs }) };
}
