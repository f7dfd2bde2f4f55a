/**
 * The real OpenTelemetry Collector (otelcol-chat, built by `npm run binaries -- collector` from
 * test/tools/collector/manifest.yaml) running the chart's own collector config on 127.0.0.1.
 *
 * The config is the one the chart synthesizes into its ConfigMap. Two functions, and only they,
 * change it for a test machine:
 *  - onLoopback() (listenOn() for another address): every listen address to 127.0.0.1 on a free
 *    port, or to a test host's address on the chart's own ports;
 *  - withKubernetesIdentity(): what the k8sattributes processor needs from a Kubernetes API server.
 */
import { execFile } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse, stringify } from 'yaml';
import { ChartConfig } from '../../lib/config';
import { NAMES } from '../../lib/labels';
import { CHART_CONFIG } from '../../lib/chart-config';
import { binaryPath, describeWithBinaries } from './binaries';
import { configWith, defaultConfig, synthObjects, unusedServiceName } from './manifests';
import { freePort, freePorts, httpOk, RunningProcess, RunningProgram } from './process';

export const COLLECTOR_BINARY = 'otelcol-chat';
export const COLLECTOR_BINARIES = [COLLECTOR_BINARY] as const;

/** `describe` that skips, saying why in one line, where the collector is not built. */
export function describeWithCollector(name: string, body: () => void, extraBinaries: readonly string[] = []): void {
  describeWithBinaries(name, [...COLLECTOR_BINARIES, ...extraBinaries], body);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CollectorConfig = Record<string, any>;

/** The collector config as the chart deploys it: config.yaml of the synthesized ConfigMap. */
export function chartCollectorConfigYaml(config: ChartConfig = defaultConfig()): string {
  const name = `${NAMES.collector}-config`;
  const configMap = synthObjects(config).find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
  if (!configMap) throw new Error(`no ConfigMap ${name} in the synthesized chart`);
  return configMap.data['config.yaml'] as string;
}

export const chartCollectorConfig = (config: ChartConfig = defaultConfig()): CollectorConfig => parse(chartCollectorConfigYaml(config));

/**
 * Every config shape the tests synthesize, for the collector: its config depends on the services'
 * namespaces, selectors and number, not on convention or export mode, but each variant the other
 * suites use is here so a change that breaks one of them shows.
 */
export const COLLECTOR_CONFIG_VARIANTS: readonly [string, () => ChartConfig][] = [
  ['default', defaultConfig],
  ['stable convention', () => configWith({ services: CHART_CONFIG.services.map((s) => ({ ...s, convention: 'stable' as const })) })],
  ['a pull service in its own namespace', () => configWith({
    services: [...CHART_CONFIG.services, {
      name: unusedServiceName('chat-presence'), namespace: 'presence', exportMode: 'pull',
      metricsPort: { name: 'metrics', port: 9100 }, websocketGauge: 'presence_active_connections',
    }],
  })],
  ['several namespaces and multi-label selectors', () => configWith({
    services: [
      { name: 'chat-auth', namespace: 'auth' },
      { name: 'chat-transport', namespace: 'transport', selector: { app: 'transport', tier: 'backend' }, websocketGauge: 'websocket_hub_active_connections' },
      { name: 'chat-messaging', namespace: 'messaging', selector: { 'app.kubernetes.io/name': 'messaging', 'app.kubernetes.io/instance': 'main' } },
    ],
  })],
  ['300 services', () => configWith({ services: Array.from({ length: 300 }, (_, i) => ({ name: `chat-svc-${i}` })) })],
];

export interface CollectorPorts {
  readonly otlpGrpc: number;
  readonly otlpHttp: number;
  /** The prometheus exporter's port; where the config has several (one per service), the first one's. */
  readonly exporter: number;
  readonly selfMetrics: number;
  readonly health: number;
  /**
   * Each prometheus exporter's port by its key in the config (`prometheus`, `prometheus/chat-auth`,
   * ...); needed where the config has more than one.
   */
  readonly exporters?: Readonly<Record<string, number>>;
}

/** Keys of the config's prometheus exporters (`prometheus` or `prometheus/<name>`), in config order. */
export function prometheusExporterKeys(config: CollectorConfig): string[] {
  return Object.keys(config.exporters ?? {}).filter((k) => k === 'prometheus' || k.startsWith('prometheus/'));
}

/** Free ports for every listener; with `config`, one for each of its prometheus exporters. */
export async function freeCollectorPorts(config?: CollectorConfig): Promise<CollectorPorts> {
  const keys = config ? prometheusExporterKeys(config) : [];
  const all = await freePorts(4 + Math.max(1, keys.length));
  const [otlpGrpc, otlpHttp, selfMetrics, health, ...exporterPorts] = all;
  const exporters = keys.length ? { exporters: Object.fromEntries(keys.map((k, i) => [k, exporterPorts[i]])) } : {};
  return { otlpGrpc, otlpHttp, exporter: exporterPorts[0], selfMetrics, health, ...exporters };
}

/**
 * The chart's own ports, as its config sets them (health_check, OTLP gRPC and HTTP, the prometheus
 * exporter, the self-metrics reader): for a collector on an address of its own, where the Pod and
 * EndpointSlice a test creates carry the Deployment's container ports.
 */
export function chartCollectorPorts(config: CollectorConfig): CollectorPorts {
  const portOf = (endpoint: unknown, where: string): number => {
    const m = typeof endpoint === 'string' ? /:(\d+)$/.exec(endpoint) : null;
    if (!m) throw new Error(`chartCollectorPorts: ${where} has no host:port endpoint (${String(endpoint)})`);
    return Number(m[1]);
  };
  const readers = (config.service?.telemetry?.metrics?.readers ?? []) as CollectorConfig[];
  const selfMetrics = readers.map((r) => r.pull?.exporter?.prometheus?.port).find((p) => typeof p === 'number');
  if (selfMetrics === undefined) throw new Error('chartCollectorPorts: no pull/prometheus self-metrics reader with a port');
  const keys = prometheusExporterKeys(config);
  if (keys.length === 0) throw new Error('chartCollectorPorts: the collector config has no prometheus exporter');
  const exporters = Object.fromEntries(keys.map((k) => [k, portOf(config.exporters[k].endpoint, `exporters.${k}`)]));
  return {
    health: portOf(config.extensions?.health_check?.endpoint, 'extensions.health_check'),
    otlpGrpc: portOf(config.receivers?.otlp?.protocols?.grpc?.endpoint, 'receivers.otlp.protocols.grpc'),
    otlpHttp: portOf(config.receivers?.otlp?.protocols?.http?.endpoint, 'receivers.otlp.protocols.http'),
    exporter: exporters[keys[0]],
    selfMetrics,
    exporters,
  };
}

/**
 * The one place a test rewrites where the chart's collector listens: each listener (health_check,
 * OTLP gRPC and HTTP, the prometheus exporter, the self-metrics reader) moves from 0.0.0.0 and its
 * fixed port to 127.0.0.1 and the given port. Nothing else changes. A listener this function does
 * not know (a key `endpoint` or `host` left anywhere not on 127.0.0.1) throws, so a new one in the
 * chart cannot silently bind every interface or collide with a parallel run.
 */
export function onLoopback(config: CollectorConfig, ports: CollectorPorts): CollectorConfig {
  return listenOn(config, '127.0.0.1', ports);
}

/**
 * onLoopback() for another address: every listener on `host` (an address of this machine, e.g. a
 * test host's gateway, test/support/test-hosts.ts) and the given ports (chartCollectorPorts() for the
 * chart's own). The same check: a listener it does not know, left on another address, throws.
 */
export function listenOn(config: CollectorConfig, host: string, ports: CollectorPorts): CollectorConfig {
  const out: CollectorConfig = structuredClone(config);
  const at = (port: number) => `${host}:${port}`;
  const need = <T>(value: T | undefined, where: string): T => {
    if (value === undefined || value === null) throw new Error(`onLoopback: the collector config has no ${where}`);
    return value;
  };
  need(out.extensions?.health_check, 'extensions.health_check').endpoint = at(ports.health);
  need(out.receivers?.otlp?.protocols?.grpc, 'receivers.otlp.protocols.grpc').endpoint = at(ports.otlpGrpc);
  need(out.receivers?.otlp?.protocols?.http, 'receivers.otlp.protocols.http').endpoint = at(ports.otlpHttp);
  const exporterKeys = prometheusExporterKeys(out);
  if (exporterKeys.length === 0) need(undefined, 'exporters.prometheus');
  for (const key of exporterKeys) {
    const port = ports.exporters?.[key] ?? (exporterKeys.length === 1 ? ports.exporter : undefined);
    if (port === undefined) throw new Error(`onLoopback: no port for exporters.${key} (give ports.exporters, e.g. freeCollectorPorts(config))`);
    out.exporters[key].endpoint = at(port);
  }
  const readers = need(out.service?.telemetry?.metrics?.readers, 'service.telemetry.metrics.readers') as CollectorConfig[];
  for (const reader of readers) {
    const prometheus = need(reader.pull?.exporter?.prometheus, 'a pull/prometheus self-metrics reader');
    prometheus.host = host;
    prometheus.port = ports.selfMetrics;
  }
  const stray: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${path}[${i}]`));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if ((k === 'endpoint' || k === 'host') && typeof v === 'string' && !v.startsWith(host)) stray.push(`${path}.${k}=${v}`);
        walk(v, `${path}.${k}`);
      }
    }
  };
  walk(out, '');
  if (stray.length) throw new Error(`onLoopback: listeners it does not know: ${stray.join(', ')}; add them to onLoopback`);
  return out;
}

/** A pod the k8sattributes stub stands in for: what the API server would answer for the sender. */
export interface StubPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Resource attribute by which the stub recognises a sender (the harness gives each test service
 * one through OTEL_RESOURCE_ATTRIBUTES; the stub deletes it). In a cluster k8sattributes finds the pod
 * by the connection's peer IP, but every test service connects from 127.0.0.1.
 */
export const STUB_POD_ATTRIBUTE = 'chat_monitoring.stub.pod';

export type KubernetesIdentity =
  /** No API server: a transform processor replaces k8sattributes and sets what it would have set. */
  | { readonly stub: readonly StubPod[] }
  /**
   * A real API server (test/support/control-plane.ts): k8sattributes reads pods with this kubeconfig
   * (ControlPlane.serviceAccountKubeconfig of the collector's ServiceAccount: a TokenRequest token
   * and nothing else, so the chart's RBAC is what it may read). test/chain/ runs this.
   */
  | { readonly kubeconfig: string };

const ottl = (s: string) => JSON.stringify(s);

/**
 * The one place a test changes the collector's dependence on the Kubernetes API server (the seam
 * for the full chain with a real API server): returns the config and the environment to run it with.
 *
 * `stub`: the k8sattributes processor is swapped, in its place in the pipeline, for
 * `transform/k8sattributes_stub`, which puts on each sender's resource exactly what k8sattributes
 * would have: for every pod the chart's k8sattributes config would find (its namespace filter), the
 * metadata in its `extract.metadata` and the pod labels in its `extract.labels` under their
 * `tag_name`, recognised by STUB_POD_ATTRIBUTE instead of the peer IP; like k8sattributes, never
 * over an attribute the sender set itself (so a forged one shows unless the chart clears it first).
 *
 * `kubeconfig`: k8sattributes is kept and authenticates with that kubeconfig instead of the
 * in-cluster ServiceAccount; pod association stays by connection, so senders must connect from
 * the pod IPs the API server knows (test hosts in a network namespace, test/support/test-hosts.ts).
 */
export function withKubernetesIdentity(config: CollectorConfig, identity: KubernetesIdentity): { config: CollectorConfig; env: NodeJS.ProcessEnv } {
  const out: CollectorConfig = structuredClone(config);
  const k8s = out.processors?.k8s_attributes;
  if (!k8s) throw new Error('withKubernetesIdentity: the collector config has no k8sattributes processor');
  if ('kubeconfig' in identity) {
    k8s.auth_type = 'kubeConfig';
    return { config: out, env: { KUBECONFIG: identity.kubeconfig } };
  }
  const metadata: string[] = k8s.extract?.metadata ?? [];
  const labels: { tag_name: string; key: string; from: string }[] = k8s.extract?.labels ?? [];
  const filterNamespace: string | undefined = k8s.filter?.namespace;
  const statements: string[] = [];
  for (const pod of identity.stub) {
    if (filterNamespace !== undefined && pod.namespace !== filterNamespace) continue; // not watched: not found
    const where = `where attributes[${ottl(STUB_POD_ATTRIBUTE)}] == ${ottl(pod.name)}`;
    // As k8sattributes does (its setResourceAttribute): an attribute the sender already set, non-empty, is kept.
    const set = (key: string, value: string) => statements.push(
      `set(attributes[${ottl(key)}], ${ottl(value)}) ${where} and (attributes[${ottl(key)}] == nil or attributes[${ottl(key)}] == "")`);
    if (metadata.includes('k8s.namespace.name')) set('k8s.namespace.name', pod.namespace);
    if (metadata.includes('k8s.pod.name')) set('k8s.pod.name', pod.name);
    if (metadata.includes('k8s.pod.uid')) set('k8s.pod.uid', pod.uid ?? `stub-uid-${pod.name}`);
    for (const l of labels) {
      if (l.from !== 'pod') throw new Error(`withKubernetesIdentity: the stub knows pod labels only, not ${JSON.stringify(l)}`);
      if (pod.labels[l.key] !== undefined) set(l.tag_name, pod.labels[l.key]);
    }
  }
  statements.push(`delete_key(attributes, ${ottl(STUB_POD_ATTRIBUTE)})`);
  delete out.processors.k8s_attributes;
  out.processors['transform/k8sattributes_stub'] = { error_mode: 'propagate', metric_statements: [{ context: 'resource', statements }] };
  for (const pipeline of Object.values(out.service.pipelines as Record<string, { processors?: string[] }>)) {
    pipeline.processors = pipeline.processors?.map((p) => (p === 'k8s_attributes' ? 'transform/k8sattributes_stub' : p));
  }
  return { config: out, env: {} };
}

/** `otelcol-chat validate --config=file:<yaml>`: the collector's own check of a config. */
export function validateCollectorConfig(yaml: string): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-monitoring-otelcol-validate-'));
  const path = join(dir, 'config.yaml');
  writeFileSync(path, yaml);
  return new Promise((resolve) => {
    execFile(binaryPath(COLLECTOR_BINARY), ['validate', `--config=file:${path}`], { timeout: 60000 }, (error, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ ok: !error, output: `${stdout}${stderr}` });
    });
  });
}

export interface CollectorOptions {
  /** The collector config, e.g. chartCollectorConfig(); listen addresses are moved by onLoopback(). */
  readonly config: CollectorConfig;
  /** How k8sattributes gets pod identity; without it the config runs as is (and needs an API server). */
  readonly identity?: KubernetesIdentity;
  /**
   * Where it listens: by default 127.0.0.1 on free ports (onLoopback); `host` alone puts every
   * listener on that address at the chart's own ports (chartCollectorPorts), as a pod would.
   */
  readonly listen?: { readonly host: string; readonly ports?: CollectorPorts };
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
  /**
   * Harness only (the chart's config has no pprof): adds the pprof extension on 127.0.0.1 at a free
   * port, for CPU profiles (RunningCollector.pprofUrl).
   */
  readonly pprof?: boolean;
}

export class RunningCollector extends RunningProgram {
  private constructor(
    /** The address every listener is on: 127.0.0.1 unless CollectorOptions.listen said otherwise. */
    readonly host: string,
    readonly ports: CollectorPorts,
    /** The config it runs, after onLoopback() and withKubernetesIdentity(). */
    readonly config: CollectorConfig,
    process: RunningProcess,
  ) {
    super(process);
  }

  /** Starts the collector and waits until its health_check extension reports it ready. */
  static async start(options: CollectorOptions): Promise<RunningCollector> {
    const host = options.listen?.host ?? '127.0.0.1';
    const ports = options.listen ? options.listen.ports ?? chartCollectorPorts(options.config) : await freeCollectorPorts(options.config);
    const identity = options.identity ? withKubernetesIdentity(options.config, options.identity) : { config: options.config, env: {} };
    const config = listenOn(identity.config, host, ports);
    if (options.pprof) {
      config.extensions = { ...config.extensions, pprof: { endpoint: `127.0.0.1:${await freePort()}` } };
      config.service.extensions = [...(config.service.extensions ?? []), 'pprof'];
    }
    return new RunningCollector(host, ports, config, await RunningProcess.start({
      name: 'otelcol-chat',
      binary: binaryPath(COLLECTOR_BINARY),
      workdir: 'otelcol',
      files: { 'config.yaml': stringify(config) },
      args: (ctx) => [`--config=file:${join(ctx.dir, 'config.yaml')}`],
      env: { ...process.env, ...identity.env },
      ready: httpOk(`http://${host}:${ports.health}/`),
      readyTimeoutMs: options.readyTimeoutMs,
    }));
  }

  /** What a chat service puts in OPENTELEMETRY_COLLECTOR_URL. */
  get otlpGrpcUrl(): string {
    return `http://${this.host}:${this.ports.otlpGrpc}`;
  }

  /** host:port of the prometheus exporter, for a scrape config (the first, where there are several). */
  get exporterTarget(): string {
    return `${this.host}:${this.ports.exporter}`;
  }

  /** host:port of each prometheus exporter, by its key in the config. */
  get exporterTargets(): Record<string, string> {
    const ports = this.ports.exporters ?? { prometheus: this.ports.exporter };
    return Object.fromEntries(Object.entries(ports).map(([k, p]) => [k, `${this.host}:${p}`]));
  }

  /** http://127.0.0.1:<port> of the pprof extension (/debug/pprof/...), where started with `pprof`. */
  get pprofUrl(): string | undefined {
    const endpoint = this.config.extensions?.pprof?.endpoint as string | undefined;
    return endpoint ? `http://${endpoint}` : undefined;
  }

  get selfMetricsTarget(): string {
    return `${this.host}:${this.ports.selfMetrics}`;
  }
}
