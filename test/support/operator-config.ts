/**
 * The Prometheus configuration the real operator generated, made runnable by a Prometheus outside
 * a pod. This is the one place it is changed, and only in what a pod provides and a process lacks:
 * where the Kubernetes API is and the credentials the pod's mounted ServiceAccount token gives, and
 * where the mounted rule files are. Scrape jobs, relabelling and rules stay exactly as generated.
 */
import { gunzipSync } from 'zlib';
import { parse } from 'yaml';

/** Where a Prometheus pod finds its ServiceAccount token and the cluster CA. */
const POD_SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Where the operator mounts the rule ConfigMaps in the Prometheus pod. */
const POD_RULES_DIR = '/etc/prometheus/prometheus-rule';

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

/** The operator's `prometheus.yaml.gz` from its Secret's data (base64). */
export function decodeOperatorConfig(base64Gz: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return parse(gunzipSync(Buffer.from(base64Gz, 'base64')).toString('utf8'));
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
