/**
 * The chat services the chart monitors: how each is found, how its metrics travel, its SLO and
 * extra panels; their defaults and their validation.
 */
import { NAMES, PLATFORM_RULES_NAME } from './labels';
import { HTTP_CONVENTIONS } from './queries/conventions';
import { parsePromQL } from './queries/promql';
import { ConfigError, DNS1123_LABEL, int, isObject, num, optional, requireObject, str } from './validation';

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
  /** PromQL; Grafana's `$__rate_interval` etc. are allowed. Parsed when the config is validated. */
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

/**
 * A service's objectives over a 30-day period (lib/rules/slo.ts turns them into budgets, burn
 * rates and the burn-rate alerts).
 */
export interface ChatServiceSlo {
  /** Availability objective in percent of non-5xx requests, e.g. 99.5. @default 99.5 */
  readonly availabilityPercent: number;
  /** p99 latency alert threshold in seconds. @default 1 */
  readonly p99LatencySeconds: number;
  /** Latency objective: percent of requests answered within `latencyThresholdSeconds`. @default 99 */
  readonly latencyPercent: number;
  /**
   * The latency objective's threshold in seconds; must be a bucket boundary of the service's
   * histogram (the SLI counts the requests in the buckets up to it). @default 0.5
   */
  readonly latencyThresholdSeconds: number;
  /**
   * Requests each window of a page tier (1h and 5m, 6h and 30m) must hold before that tier may
   * page: below it a handful of failures is noise, not an incident. @default 100
   */
  readonly pageMinRequests: number;
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
  /** Samples one scrape of the service (all pods) may return; more fails that scrape only. @default DEFAULT_SAMPLE_LIMIT */
  readonly sampleLimit: number;
}

/**
 * Scraped samples allowed per service and scrape (all its pods together): above it the scrape fails
 * and ChatServiceSampleLimitExceeded names the service. Sized in the README (Performance).
 */
export const DEFAULT_SAMPLE_LIMIT = 20000;

export const CHAT_SERVICE_DEFAULTS = {
  namespace: 'chat',
  /** The selector of a service named `name`. */
  selector: (name: string): Record<string, string> => ({ 'app.kubernetes.io/name': name }),
  exportMode: 'push',
  convention: 'legacy',
  slo: { availabilityPercent: 99.5, p99LatencySeconds: 1, latencyPercent: 99, latencyThresholdSeconds: 0.5, pageMinRequests: 100 },
  customPanels: [],
  sampleLimit: DEFAULT_SAMPLE_LIMIT,
  metricsPath: '/metrics',
} as const;

/** What a user writes: everything optional but the name (and a pull service's port). */
export type ChatServiceInput = Partial<Omit<ChatServiceConfig, 'slo' | 'metricsPort'>> & {
  readonly name: string;
  readonly slo?: Partial<ChatServiceSlo>;
  readonly metricsPort?: Partial<MetricsPort> & { name: string; port: number };
};

// Each push service has an exporter port of its own on the collector (lib/collector/service-exporters.ts).
const MAX_PUSH_SERVICES = 1000;
// A service's name becomes object names (ServiceMonitor, PrometheusRule, dashboard) beside the
// chart's own; these would silently replace one of them.
const RESERVED_SERVICE_NAMES = ['platform-overview', 'monitoring-stack', 'platform', PLATFORM_RULES_NAME, ...Object.values(NAMES)];
const SERVICE_KEYS = ['name', 'namespace', 'selector', 'exportMode', 'metricsPort', 'convention', 'slo',
  'websocketGauge', 'customPanels', 'sampleLimit'];
const PORT_KEYS = ['name', 'port', 'path'];
const SLO_KEYS = ['availabilityPercent', 'p99LatencySeconds', 'latencyPercent', 'latencyThresholdSeconds', 'pageMinRequests'];
const PANEL_KEYS = ['title', 'expr', 'unit', 'description', 'legend'];
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const DNS_FIX = 'use at most 40 lowercase letters, digits and "-" (a DNS-1123 label), e.g. "chat-auth"';

function validateName(f: string, v: unknown): string {
  const name = str(`${f}.name`, v, DNS1123_LABEL, DNS_FIX);
  // Object names and label values derived from it (e.g. "dashboard-<name>") must stay within 63 characters.
  if (name.length > 40) throw new ConfigError(`${f}.name`, `"${name}" is longer than 40 characters`, DNS_FIX);
  if (RESERVED_SERVICE_NAMES.includes(name)) {
    throw new ConfigError(`${f}.name`, `"${name}" is the name of one of the chart's own objects`, 'choose another name');
  }
  return name;
}

function validateSelector(f: string, v: unknown): Record<string, string> {
  if (!isObject(v) || Object.keys(v).length === 0) {
    throw new ConfigError(`${f}.selector`, 'must be a non-empty map of labels', 'give the labels on the service\'s pods, e.g. { "app.kubernetes.io/name": "chat-auth" }');
  }
  const selector: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    str(`${f}.selector key ${JSON.stringify(k)}`, k, LABEL_KEY, 'use a Kubernetes label key');
    selector[k] = str(`${f}.selector.${k}`, value, LABEL_VALUE, 'use a Kubernetes label value (63 characters of [A-Za-z0-9_.-])');
  }
  return selector;
}

function validateMetricsPort(f: string, v: unknown): MetricsPort {
  const p = requireObject(`${f}.metricsPort`, v, PORT_KEYS);
  return {
    name: str(`${f}.metricsPort.name`, p.name, /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/, 'use the Service port\'s name (IANA_SVC_NAME: at most 15 lowercase letters, digits, "-")'),
    port: int(`${f}.metricsPort.port`, p.port, 1, 65535),
    path: str(`${f}.metricsPort.path`, p.path ?? CHAT_SERVICE_DEFAULTS.metricsPath, /^\/[^\s]*$/, 'use an absolute path such as "/metrics"'),
  };
}

function validateSlo(f: string, v: unknown, convention: MetricConvention): ChatServiceSlo {
  const s = requireObject(`${f}.slo`, v ?? {}, SLO_KEYS);
  const d = CHAT_SERVICE_DEFAULTS.slo;
  const bounds = HTTP_CONVENTIONS[convention].bucketBoundsSeconds;
  const latencyThresholdSeconds = num(`${f}.slo.latencyThresholdSeconds`, s.latencyThresholdSeconds ?? d.latencyThresholdSeconds, 0, 3600);
  if (!bounds.includes(latencyThresholdSeconds)) {
    throw new ConfigError(`${f}.slo.latencyThresholdSeconds`, `${latencyThresholdSeconds} is not a bucket boundary of the ${convention} histogram`,
      `use one of: ${bounds.join(', ')}`);
  }
  return {
    availabilityPercent: num(`${f}.slo.availabilityPercent`, s.availabilityPercent ?? d.availabilityPercent, 0, 100),
    p99LatencySeconds: num(`${f}.slo.p99LatencySeconds`, s.p99LatencySeconds ?? d.p99LatencySeconds, 0, 3600),
    latencyPercent: num(`${f}.slo.latencyPercent`, s.latencyPercent ?? d.latencyPercent, 0, 100),
    latencyThresholdSeconds,
    pageMinRequests: int(`${f}.slo.pageMinRequests`, s.pageMinRequests ?? d.pageMinRequests, 0, 1_000_000),
  };
}

function validatePanel(pf: string, raw: unknown, titles: Set<string>): CustomPanel {
  const p = requireObject(pf, raw, PANEL_KEYS);
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
    description: optional(p.description, (v) => str(`${pf}.description`, v, /^[^]*$/, 'give text')),
    legend: optional(p.legend, (v) => str(`${pf}.legend`, v, /^[^]*$/, 'give a legend template such as "{{pod}}"')),
  };
}

function validateCustomPanels(f: string, v: unknown): CustomPanel[] {
  if (v !== undefined && !Array.isArray(v)) throw new ConfigError(`${f}.customPanels`, 'must be a list', 'give a list of { title, expr, unit }');
  const titles = new Set<string>();
  return ((v ?? CHAT_SERVICE_DEFAULTS.customPanels) as unknown[]).map((p, j) => validatePanel(`${f}.customPanels[${j}]`, p, titles));
}

function validateService(raw: unknown, i: number): ChatServiceConfig {
  const f = `services[${i}]`;
  const s = requireObject(f, raw, SERVICE_KEYS);
  const d = CHAT_SERVICE_DEFAULTS;
  const name = validateName(f, s.name);
  const namespace = str(`${f}.namespace`, s.namespace ?? d.namespace, DNS1123_LABEL, DNS_FIX);
  const selector = validateSelector(f, s.selector ?? d.selector(name));
  const exportMode = s.exportMode ?? d.exportMode;
  if (exportMode !== 'push' && exportMode !== 'pull') {
    throw new ConfigError(`${f}.exportMode`, `${JSON.stringify(exportMode)} is not valid`, 'use "push" (OTLP to the collector) or "pull" (Prometheus scrapes /metrics)');
  }
  const metricsPort = optional(s.metricsPort, (v) => validateMetricsPort(f, v));
  if (exportMode === 'pull' && !metricsPort) {
    throw new ConfigError(`${f}.metricsPort`, 'is required when exportMode is "pull"', 'add { name: "metrics", port: 9464 } naming the Service port Prometheus scrapes');
  }
  const convention = s.convention ?? d.convention;
  if (convention !== 'legacy' && convention !== 'stable') {
    throw new ConfigError(`${f}.convention`, `${JSON.stringify(convention)} is not valid`, 'use "legacy" (http_server_duration_milliseconds) or "stable" (http_server_request_duration_seconds)');
  }
  const slo = validateSlo(f, s.slo, convention);
  const websocketGauge = optional(s.websocketGauge,
    (v) => str(`${f}.websocketGauge`, v, METRIC_NAME, 'use a Prometheus metric name such as "websocket_hub_active_connections"'));
  const customPanels = validateCustomPanels(f, s.customPanels);
  const sampleLimit = int(`${f}.sampleLimit`, s.sampleLimit ?? d.sampleLimit, 100, 10_000_000);
  return { name, namespace, selector, exportMode, metricsPort, convention, slo, websocketGauge, customPanels, sampleLimit };
}

/** The services, each valid, with unique names, outside the stack's own namespace. */
export function validateServices(raw: unknown, stackNamespace: string): ChatServiceConfig[] {
  if (!Array.isArray(raw)) throw new ConfigError('services', 'must be a list', 'list the chat services to monitor');
  if (raw.length === 0) throw new ConfigError('services', 'is empty', 'list at least one chat service to monitor');
  const services = raw.map(validateService);
  if (services.filter((s) => s.exportMode === 'push').length > MAX_PUSH_SERVICES) {
    throw new ConfigError('services', `more than ${MAX_PUSH_SERVICES} push services`, 'split the services over several charts (each collector exposes one port per service)');
  }
  const seen = new Map<string, number>();
  services.forEach((s, i) => {
    if (seen.has(s.name)) {
      throw new ConfigError(`services[${i}].name`, `duplicate service "${s.name}" (also services[${seen.get(s.name)}])`, 'give every service a unique name');
    }
    seen.set(s.name, i);
    if (s.namespace === stackNamespace) {
      // The stack's namespace denies egress except to its own components; OTLP from there would be dropped.
      throw new ConfigError(`services[${i}].namespace`, `"${s.namespace}" is the monitoring stack's own namespace`,
        'run the chat services in a namespace of their own, e.g. "chat"');
    }
  });
  return services;
}
