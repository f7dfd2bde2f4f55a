/**
 * The one place the chart is configured: its types, defaults and validation.
 * Everything downstream (constructs, dashboards, rules) reads a validated `ChartConfig`.
 */
import { NAMES, PLATFORM_RULES_NAME } from './labels';
import { parsePromQL } from './queries/promql';

/** How a service's HTTP metrics are named: the OpenTelemetry semantic-convention generation it uses. */
export type MetricConvention = 'legacy' | 'stable';

/** How a service's metrics reach Prometheus. */
export type ExportMode =
  /** OTLP push to the collector, which re-exposes them for Prometheus. */
  | 'push'
  /** Prometheus scrapes the service's own /metrics through a ServiceMonitor. */
  | 'pull';

export interface CustomPanel {
  /** Panel title, unique within the dashboard. */
  readonly title: string;
  /** PromQL; Grafana's `$__rate_interval` etc. are allowed. Parsed at synth time. */
  readonly expr: string;
  /** Grafana unit id, e.g. `reqps`, `s`, `percentunit`, `short`. */
  readonly unit: string;
  readonly description?: string;
  /** Legend template. @default '' */
  readonly legend?: string;
}

export interface MetricsPort {
  /** Name of the port on the service's Kubernetes Service (a ServiceMonitor selects ports by name). */
  readonly name: string;
  /** Port number the Service exposes. */
  readonly port: number;
  /** @default '/metrics' */
  readonly path: string;
}

export interface ChatServiceSlo {
  /** Availability objective in percent of non-5xx requests, e.g. 99.5. @default 99.5 */
  readonly availabilityPercent: number;
  /** p99 latency alert threshold in seconds. @default 1 */
  readonly p99LatencySeconds: number;
}

export interface ChatServiceConfig {
  /** DNS-1123 label; becomes the `service` label on every series and the dashboard uid. */
  readonly name: string;
  /** Namespace the service runs in. @default 'chat' */
  readonly namespace: string;
  /** Labels on the service's pods and Service that identify it. @default { 'app.kubernetes.io/name': name } */
  readonly selector: Readonly<Record<string, string>>;
  /** @default 'push' (the real chat services push OTLP) */
  readonly exportMode: ExportMode;
  /** Where Prometheus scrapes it; required when exportMode is 'pull'. */
  readonly metricsPort?: MetricsPort;
  /** @default 'legacy' (what the real services emit today) */
  readonly convention: MetricConvention;
  readonly slo: ChatServiceSlo;
  /** Metric name of an active-WebSocket-connections gauge; adds a panel and a drop-to-zero alert. */
  readonly websocketGauge?: string;
  /** Extra panels appended to the service dashboard. @default [] */
  readonly customPanels: readonly CustomPanel[];
}

export interface Images {
  readonly collector: string;
  readonly prometheusOperator: string;
  readonly prometheusConfigReloader: string;
  readonly prometheus: string;
  readonly grafana: string;
  readonly grafanaSidecar: string;
}

export interface ChartConfig {
  /** Namespace holding the whole stack. @default 'monitoring' */
  readonly namespace: string;
  readonly images: Images;
  /** Prometheus scrape and rule-evaluation interval. @default '15s' */
  readonly scrapeInterval: string;
  /** Window of the recorded rates the dashboards read; at least 4x the scrape interval. @default '1m' */
  readonly recordingWindow: string;
  /** @default '15d' */
  readonly retention: string;
  /** Volume size of Prometheus's PersistentVolumeClaim. @default '10Gi' */
  readonly prometheusStorage: string;
  /** Volume size of Grafana's PersistentVolumeClaim. @default '1Gi' */
  readonly grafanaStorage: string;
  /** StorageClass for both claims; unset uses the cluster default. */
  readonly storageClassName?: string;
  /** NodePort of Grafana's Service; kind-config.yaml maps it to host port 3030. @default 30030 */
  readonly grafanaNodePort: number;
  /** Name of the Secret (keys `admin-user`, `admin-password`) Grafana reads; never synthesized. @default 'grafana-admin' */
  readonly grafanaAdminSecret: string;
  /** @default 1 (a PodDisruptionBudget is added above 1) */
  readonly collectorReplicas: number;
  /** @default 1 (a PodDisruptionBudget is added above 1) */
  readonly prometheusReplicas: number;
  /** Page holding the alerts' runbook sections; each alert links to `<url>#<alert name in lower case>`. @default this project's README on GitHub */
  readonly runbookBaseUrl: string;
  readonly services: readonly ChatServiceConfig[];
}

/** What a user writes: everything optional but the services' names. */
export type ChatServiceInput = Partial<Omit<ChatServiceConfig, 'slo' | 'metricsPort'>> & {
  readonly name: string;
  readonly slo?: Partial<ChatServiceSlo>;
  readonly metricsPort?: Partial<MetricsPort> & { name: string; port: number };
};
export type ChartConfigInput = Partial<Omit<ChartConfig, 'images' | 'services'>> & {
  readonly images?: Partial<Images>;
  readonly services: readonly ChatServiceInput[];
};

/** Pinned images. Bump them here and nowhere else. */
export const DEFAULT_IMAGES: Images = {
  collector: 'otel/opentelemetry-collector-contrib:0.145.0',
  prometheusOperator: 'quay.io/prometheus-operator/prometheus-operator:v0.93.0',
  prometheusConfigReloader: 'quay.io/prometheus-operator/prometheus-config-reloader:v0.93.0',
  prometheus: 'quay.io/prometheus/prometheus:v3.5.5',
  grafana: 'docker.io/grafana/grafana:12.4.2',
  grafanaSidecar: 'quay.io/kiwigrid/k8s-sidecar:2.5.0',
};

export const PROMETHEUS_OPERATOR_VERSION = 'v0.93.0';

/** Raised for any invalid configuration; its message names the field and the fix. */
export class ConfigError extends Error {
  constructor(readonly field: string, problem: string, fix: string) {
    super(`invalid config: ${field}: ${problem}. Fix: ${fix}`);
    this.name = 'ConfigError';
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const IMAGE_PINNED = /^[^\s:@]+(:[0-9][^\s:@]*|:v[0-9][^\s:@]*)(@sha256:[a-f0-9]{64})?$|^[^\s@]+@sha256:[a-f0-9]{64}$/;

// A service's name becomes object names (ServiceMonitor, PrometheusRule, dashboard) beside the
// chart's own; these would silently replace one of them.
/** The README whose "Runbooks" section documents every alert. */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/aleksandrshaulskyi/chat-monitoring/blob/main/README.md';

const RESERVED_SERVICE_NAMES = ['platform-overview', 'platform', PLATFORM_RULES_NAME, ...Object.values(NAMES)];
const CHART_KEYS = ['namespace', 'images', 'scrapeInterval', 'recordingWindow', 'retention', 'prometheusStorage',
  'grafanaStorage', 'storageClassName', 'grafanaNodePort', 'grafanaAdminSecret', 'collectorReplicas',
  'prometheusReplicas', 'runbookBaseUrl', 'services'];
const SERVICE_KEYS = ['name', 'namespace', 'selector', 'exportMode', 'metricsPort', 'convention', 'slo',
  'websocketGauge', 'customPanels'];
const PORT_KEYS = ['name', 'port', 'path'];
const SLO_KEYS = ['availabilityPercent', 'p99LatencySeconds'];
const PANEL_KEYS = ['title', 'expr', 'unit', 'description', 'legend'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireObject(field: string, v: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (!isObject(v)) throw new ConfigError(field, `expected an object, got ${JSON.stringify(v)}`, 'give an object');
  for (const key of Object.keys(v)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`${field}.${key}`, 'unknown field', `remove it or use one of: ${allowed.join(', ')}`);
    }
  }
  return v;
}

function str(field: string, v: unknown, pattern: RegExp, fix: string): string {
  if (typeof v !== 'string' || !pattern.test(v)) {
    throw new ConfigError(field, `${JSON.stringify(v)} is not valid`, fix);
  }
  return v;
}

function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(field, `${JSON.stringify(v)} is out of range`, `use a whole number from ${min} to ${max}`);
  }
  return v;
}

function num(field: string, v: unknown, minExclusive: number, maxExclusive: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= minExclusive || v >= maxExclusive) {
    throw new ConfigError(field, `${JSON.stringify(v)} is not a number between ${minExclusive} and ${maxExclusive}`,
      `use a number greater than ${minExclusive} and less than ${maxExclusive}`);
  }
  return v;
}

/** Duration in seconds of a Prometheus duration string such as `1m30s`. */
export function durationSeconds(d: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const [, n, u] of d.matchAll(/([0-9]+)(ms|s|m|h|d|w|y)/g)) total += Number(n) * units[u];
  return total;
}

function validateService(raw: unknown, i: number): ChatServiceConfig {
  const f = `services[${i}]`;
  const s = requireObject(f, raw, SERVICE_KEYS);
  const dns = 'use at most 40 lowercase letters, digits and "-" (a DNS-1123 label), e.g. "chat-auth"';
  const name = str(`${f}.name`, s.name, DNS1123_LABEL, dns);
  // Object names and label values derived from it (e.g. "dashboard-<name>") must stay within 63 characters.
  if (name.length > 40) throw new ConfigError(`${f}.name`, `"${name}" is longer than 40 characters`, dns);
  if (RESERVED_SERVICE_NAMES.includes(name)) {
    throw new ConfigError(`${f}.name`, `"${name}" is the name of one of the chart's own objects`, 'choose another name');
  }
  const namespace = str(`${f}.namespace`, s.namespace ?? 'chat', DNS1123_LABEL, dns);

  const selectorRaw = s.selector ?? { 'app.kubernetes.io/name': name };
  if (!isObject(selectorRaw) || Object.keys(selectorRaw).length === 0) {
    throw new ConfigError(`${f}.selector`, 'must be a non-empty map of labels', 'give the labels on the service\'s pods, e.g. { "app.kubernetes.io/name": "chat-auth" }');
  }
  const selector: Record<string, string> = {};
  for (const [k, v] of Object.entries(selectorRaw)) {
    str(`${f}.selector key ${JSON.stringify(k)}`, k, LABEL_KEY, 'use a Kubernetes label key');
    selector[k] = str(`${f}.selector.${k}`, v, LABEL_VALUE, 'use a Kubernetes label value (63 characters of [A-Za-z0-9_.-])');
  }

  const exportMode = s.exportMode ?? 'push';
  if (exportMode !== 'push' && exportMode !== 'pull') {
    throw new ConfigError(`${f}.exportMode`, `${JSON.stringify(exportMode)} is not valid`, 'use "push" (OTLP to the collector) or "pull" (Prometheus scrapes /metrics)');
  }
  let metricsPort: MetricsPort | undefined;
  if (s.metricsPort !== undefined) {
    const p = requireObject(`${f}.metricsPort`, s.metricsPort, PORT_KEYS);
    metricsPort = {
      name: str(`${f}.metricsPort.name`, p.name, /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/, 'use the Service port\'s name (IANA_SVC_NAME: at most 15 lowercase letters, digits, "-")'),
      port: int(`${f}.metricsPort.port`, p.port, 1, 65535),
      path: str(`${f}.metricsPort.path`, p.path ?? '/metrics', /^\/[^\s]*$/, 'use an absolute path such as "/metrics"'),
    };
  }
  if (exportMode === 'pull' && !metricsPort) {
    throw new ConfigError(`${f}.metricsPort`, 'is required when exportMode is "pull"', 'add { name: "metrics", port: 9464 } naming the Service port Prometheus scrapes');
  }

  const convention = s.convention ?? 'legacy';
  if (convention !== 'legacy' && convention !== 'stable') {
    throw new ConfigError(`${f}.convention`, `${JSON.stringify(convention)} is not valid`, 'use "legacy" (http_server_duration_milliseconds) or "stable" (http_server_request_duration_seconds)');
  }
  const sloRaw = requireObject(`${f}.slo`, s.slo ?? {}, SLO_KEYS);
  const slo: ChatServiceSlo = {
    availabilityPercent: num(`${f}.slo.availabilityPercent`, sloRaw.availabilityPercent ?? 99.5, 0, 100),
    p99LatencySeconds: num(`${f}.slo.p99LatencySeconds`, sloRaw.p99LatencySeconds ?? 1, 0, 3600),
  };
  const websocketGauge = s.websocketGauge === undefined ? undefined
    : str(`${f}.websocketGauge`, s.websocketGauge, METRIC_NAME, 'use a Prometheus metric name such as "websocket_hub_active_connections"');

  if (s.customPanels !== undefined && !Array.isArray(s.customPanels)) {
    throw new ConfigError(`${f}.customPanels`, 'must be a list', 'give a list of { title, expr, unit }');
  }
  const titles = new Set<string>();
  const customPanels = ((s.customPanels ?? []) as unknown[]).map((rawPanel, j) => {
    const pf = `${f}.customPanels[${j}]`;
    const p = requireObject(pf, rawPanel, PANEL_KEYS);
    const title = str(`${pf}.title`, p.title, /^\S.{0,99}$/, 'give a title of 1 to 100 characters');
    if (titles.has(title)) throw new ConfigError(`${pf}.title`, `duplicate title ${JSON.stringify(title)}`, 'give each panel its own title');
    titles.add(title);
    const expr = str(`${pf}.expr`, p.expr, /\S/, 'give a PromQL expression');
    const parseError = parsePromQL(expr);
    if (parseError) throw new ConfigError(`${pf}.expr`, `invalid PromQL (${parseError})`, 'correct the expression; check it with `promtool query instant` or Grafana\'s query editor');
    return {
      title,
      expr,
      unit: str(`${pf}.unit`, p.unit, /^[a-zA-Z0-9:_/.-]+$/, 'use a Grafana unit id such as "reqps", "s", "percentunit", "short"'),
      description: p.description === undefined ? undefined : str(`${pf}.description`, p.description, /^[^]*$/, 'give text'),
      legend: p.legend === undefined ? undefined : str(`${pf}.legend`, p.legend, /^[^]*$/, 'give a legend template such as "{{pod}}"'),
    };
  });
  return { name, namespace, selector, exportMode, metricsPort, convention, slo, websocketGauge, customPanels };
}

/** Validates raw (possibly untyped, e.g. JSON) input and fills in defaults. Throws ConfigError. */
export function validateConfig(raw: unknown): ChartConfig {
  const c = requireObject('config', raw, CHART_KEYS);
  const dns = 'use lowercase letters, digits and "-" (a DNS-1123 label)';
  const namespace = str('namespace', c.namespace ?? 'monitoring', DNS1123_LABEL, dns);

  const imagesRaw = requireObject('images', c.images ?? {}, Object.keys(DEFAULT_IMAGES));
  const images = { ...DEFAULT_IMAGES } as Record<keyof Images, string>;
  for (const key of Object.keys(DEFAULT_IMAGES) as (keyof Images)[]) {
    images[key] = str(`images.${key}`, imagesRaw[key] ?? DEFAULT_IMAGES[key], IMAGE_PINNED,
      'pin a version tag (e.g. ":1.2.3") or a digest; "latest" and untagged images are refused');
  }

  const durFix = 'use a Prometheus duration such as "15s", "1m" or "15d"';
  const scrapeInterval = str('scrapeInterval', c.scrapeInterval ?? '15s', DURATION, durFix);
  const recordingWindow = str('recordingWindow', c.recordingWindow ?? '1m', DURATION, durFix);
  if (durationSeconds(recordingWindow) < 4 * durationSeconds(scrapeInterval)) {
    throw new ConfigError('recordingWindow', `${recordingWindow} is shorter than 4 x scrapeInterval (${scrapeInterval})`,
      'make it at least four scrape intervals so every rate sees enough samples');
  }
  const qtyFix = 'use a Kubernetes quantity such as "10Gi"';

  if (!Array.isArray(c.services)) throw new ConfigError('services', 'must be a list', 'list the chat services to monitor');
  if (c.services.length === 0) throw new ConfigError('services', 'is empty', 'list at least one chat service to monitor');
  const services = c.services.map(validateService);
  const seen = new Map<string, number>();
  services.forEach((s, i) => {
    if (seen.has(s.name)) {
      throw new ConfigError(`services[${i}].name`, `duplicate service "${s.name}" (also services[${seen.get(s.name)}])`, 'give every service a unique name');
    }
    seen.set(s.name, i);
    if (s.namespace === namespace) {
      // The stack's namespace denies egress except to its own components; OTLP from there would be dropped.
      throw new ConfigError(`services[${i}].namespace`, `"${s.namespace}" is the monitoring stack's own namespace`,
        'run the chat services in a namespace of their own, e.g. "chat"');
    }
  });

  return {
    namespace,
    images,
    scrapeInterval,
    recordingWindow,
    retention: str('retention', c.retention ?? '15d', DURATION, durFix),
    prometheusStorage: str('prometheusStorage', c.prometheusStorage ?? '10Gi', QUANTITY, qtyFix),
    grafanaStorage: str('grafanaStorage', c.grafanaStorage ?? '1Gi', QUANTITY, qtyFix),
    storageClassName: c.storageClassName === undefined ? undefined
      : str('storageClassName', c.storageClassName, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'use the name of a StorageClass'),
    grafanaNodePort: int('grafanaNodePort', c.grafanaNodePort ?? 30030, 30000, 32767),
    grafanaAdminSecret: str('grafanaAdminSecret', c.grafanaAdminSecret ?? 'grafana-admin', DNS1123_LABEL, dns),
    collectorReplicas: int('collectorReplicas', c.collectorReplicas ?? 1, 1, 10),
    prometheusReplicas: int('prometheusReplicas', c.prometheusReplicas ?? 1, 1, 10),
    runbookBaseUrl: str('runbookBaseUrl', c.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL, /^https?:\/\/[^\s#]+$/,
      'use an http(s) URL without a #fragment, e.g. your fork\'s README'),
    services,
  };
}

/** Namespaces the chat services run in, each once, in config order. */
export function serviceNamespaces(config: ChartConfig): string[] {
  return [...new Set(config.services.map((s) => s.namespace))];
}
