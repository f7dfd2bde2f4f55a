/**
 * The one place the chart is configured: its types, defaults and validation.
 * Everything downstream (constructs, dashboards, rules) reads a validated `ChartConfig`.
 */
import { parseCidr } from './cidr';
import { NAMES, PLATFORM_RULES_NAME } from './labels';
import { parsePromQL } from './queries/promql';
import { ALERT_LABEL_NAMES, ALERT_NAMES, SEVERITIES } from './rules/alert-catalog';

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
  /** Samples one scrape of the service (all pods) may return; more fails that scrape only. @default DEFAULT_SAMPLE_LIMIT */
  readonly sampleLimit: number;
}

export interface Images {
  readonly collector: string;
  readonly prometheusOperator: string;
  readonly prometheusConfigReloader: string;
  readonly prometheus: string;
  readonly grafana: string;
  readonly grafanaSidecar: string;
  readonly alertmanager: string;
}

/** How a route matcher compares an alert label with its value (Alertmanager's matcher operators). */
export type MatchType = '=' | '!=' | '=~' | '!~';

export interface AlertMatcher {
  /** A label the chart's alerts carry (lib/rules/alert-catalog.ts, ALERT_LABEL_NAMES). */
  readonly name: string;
  readonly value: string;
  /** @default '=' */
  readonly matchType: MatchType;
}

export interface AlertRoute {
  /** Receiver (by name) of the alerts this route matches. */
  readonly receiver: string;
  /** All must match. At least one. */
  readonly matchers: readonly AlertMatcher[];
  /** Also let the alert continue to later routes, including the severity routes. @default false */
  readonly continue: boolean;
}

/** Receivers' credentials are keys of the user-created Secret `alertmanager.receiversSecret`, never values here. */
export interface WebhookReceiver {
  /** Key holding the URL the notifications are POSTed to. */
  readonly urlSecretKey: string;
  /** TCP port of that URL: what the egress NetworkPolicy opens. @default 443 */
  readonly port: number;
}
export interface SlackReceiver {
  /** Key holding the incoming-webhook URL (https, port 443). */
  readonly apiUrlSecretKey: string;
  /** Channel, e.g. "#chat-alerts"; unset uses the webhook's own. */
  readonly channel?: string;
}
export interface PagerDutyReceiver {
  /** Key holding the Events API v2 integration (routing) key (https, port 443). */
  readonly routingKeySecretKey: string;
}
export interface EmailReceiver {
  readonly to: string;
  readonly from: string;
  /** SMTP server as host:port; its port is what the egress NetworkPolicy opens. */
  readonly smarthost: string;
  readonly authUsername?: string;
  /** Key holding the SMTP password; required with authUsername. */
  readonly authPasswordSecretKey?: string;
  /** @default true */
  readonly requireTls: boolean;
}
export interface ReceiverConfig {
  /** Lowercase letters, digits and "-"; not "null" (the built-in receiver that discards). */
  readonly name: string;
  /** Exactly one of webhook, slack, pagerduty, email. */
  readonly webhook?: WebhookReceiver;
  readonly slack?: SlackReceiver;
  readonly pagerduty?: PagerDutyReceiver;
  readonly email?: EmailReceiver;
  /** Also notify when the alert resolves. @default true */
  readonly sendResolved: boolean;
}

export interface AlertmanagerSettings {
  /** @default 1 (above 1: clustered, with a PodDisruptionBudget) */
  readonly replicas: number;
  /** Volume for silences and the notification log. @default '1Gi' */
  readonly storage: string;
  /** How long silences and the notification log are kept. @default '120h' */
  readonly retention: string;
  /** Secret (created by you, never synthesized) holding the receivers' credentials. @default 'alertmanager-receivers' */
  readonly receiversSecret: string;
  /** @default [] (alerts are then only visible in Alertmanager and Grafana) */
  readonly receivers: readonly ReceiverConfig[];
  /** Receiver of severity=critical alerts. @default 'null' */
  readonly criticalReceiver: string;
  /** Receiver of severity=warning alerts (and of anything else). @default 'null' */
  readonly warningReceiver: string;
  /** Routes tried before the severity routes, in order. @default [] */
  readonly routes: readonly AlertRoute[];
  /** Wait before the first notification of a new group, to batch its alerts. @default '30s' */
  readonly groupWait: string;
  /** Wait before notifying about changes (new or resolved alerts) in a group already notified. @default '5m' */
  readonly groupInterval: string;
  /** Re-send a still-firing group after this long. @default '4h' */
  readonly repeatInterval: string;
  /** Addresses the receivers may be reached at (CIDRs); empty allows any address on the receivers' ports. @default [] */
  readonly receiverEgressCidrs: readonly string[];
}

/** How the collector treats what the push services send. */
export interface CollectorSettings {
  /** How often the push services export OTLP (the real chat services: every 1 s). @default '1s' */
  readonly exportInterval: string;
  /**
   * How long the collector keeps exposing a series that gets no new points, e.g. a stopped pod's
   * last WebSocket gauge. At least one scrape interval plus 3 export intervals: a live series never
   * gaps, and a stopped pod's last counts live through one more scrape instead of being lost.
   * @default scrapeInterval + 5 x exportInterval
   */
  readonly metricExpiration: string;
  /**
   * Data point attributes the collector drops (merging the series that then coincide). Nothing the
   * chart queries may be listed. @default DEFAULT_DROPPED_ATTRIBUTES, the Host-header family
   */
  readonly droppedAttributes: readonly string[];
}

/**
 * What the legacy instrumentation derives from the Host header and the listening socket: one series
 * per Host name, port and address a caller used, and no dashboard, rule or alert reads them.
 * (http.flavor and http.scheme are unread too, but constant inside a cluster; list them to drop them.)
 */
export const DEFAULT_DROPPED_ATTRIBUTES: readonly string[] = ['http.host', 'http.server_name', 'net.host.port', 'net.host.name', 'server.address', 'server.port'];

/**
 * Scraped samples allowed per service and scrape (all its pods together): above it the scrape fails
 * and ChatServiceSampleLimitExceeded names the service. Sized in the README (Performance).
 */
export const DEFAULT_SAMPLE_LIMIT = 20000;

/** Labels the chart's queries read: never dropped (attribute "a.b" becomes label "a_b"). */
const QUERIED_LABELS = ['service', 'namespace', 'pod', 'le', 'http_status_code', 'http_target', 'http_response_status_code', 'http_route'];

/** Addresses the NetworkPolicies need and the chart cannot know: they differ per cluster. */
export interface NetworkPolicySettings {
  /**
   * The Kubernetes API server's addresses (CIDRs), which the components that call the API may reach
   * on 443 and 6443. Empty: any address on those ports. @default []
   */
  readonly apiServerCidrs: readonly string[];
  /**
   * The addresses the kubelet's probes come from (the nodes'). Empty: any address, and only on the
   * ports that serve nothing but health (the collector's 13133, the dashboard sidecar's 8080). Given:
   * only these addresses, on every probed port (also Prometheus's 9090, Alertmanager's 9093 and the
   * operator's 8080). @default []
   */
  readonly nodeCidrs: readonly string[];
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
  readonly collector: CollectorSettings;
  /** @default 1 (a PodDisruptionBudget is added above 1) */
  readonly prometheusReplicas: number;
  /** Page holding the alerts' runbook sections; each alert links to `<url>#<alert name in lower case>`. @default this project's README on GitHub */
  readonly runbookBaseUrl: string;
  readonly alertmanager: AlertmanagerSettings;
  readonly networkPolicies: NetworkPolicySettings;
  readonly services: readonly ChatServiceConfig[];
}

/** What a user writes: everything optional but the services' names. */
export type ChatServiceInput = Partial<Omit<ChatServiceConfig, 'slo' | 'metricsPort'>> & {
  readonly name: string;
  readonly slo?: Partial<ChatServiceSlo>;
  readonly metricsPort?: Partial<MetricsPort> & { name: string; port: number };
};
export type AlertmanagerInput = Partial<Omit<AlertmanagerSettings, 'receivers' | 'routes'>> & {
  readonly receivers?: readonly (Partial<Omit<ReceiverConfig, 'webhook' | 'email'>> & {
    readonly name: string;
    readonly webhook?: Partial<WebhookReceiver> & { urlSecretKey: string };
    readonly email?: Partial<EmailReceiver> & { to: string; from: string; smarthost: string };
  })[];
  readonly routes?: readonly { receiver: string; matchers: readonly (Partial<AlertMatcher> & { name: string; value: string })[]; continue?: boolean }[];
};
export type ChartConfigInput = Partial<Omit<ChartConfig, 'images' | 'services' | 'alertmanager' | 'collector' | 'networkPolicies'>> & {
  readonly networkPolicies?: Partial<NetworkPolicySettings>;
  readonly images?: Partial<Images>;
  readonly collector?: Partial<CollectorSettings>;
  readonly alertmanager?: AlertmanagerInput;
  readonly services: readonly ChatServiceInput[];
};

/** Pinned images. Bump them here and nowhere else. */
export const DEFAULT_IMAGES: Images = {
  collector: 'otel/opentelemetry-collector-contrib:0.152.0',
  prometheusOperator: 'quay.io/prometheus-operator/prometheus-operator:v0.93.1',
  prometheusConfigReloader: 'quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1',
  prometheus: 'quay.io/prometheus/prometheus:v3.13.5',
  grafana: 'docker.io/grafana/grafana:12.4.12',
  grafanaSidecar: 'quay.io/kiwigrid/k8s-sidecar:2.10.1',
  alertmanager: 'quay.io/prometheus/alertmanager:v0.35.0',
};

export const PROMETHEUS_OPERATOR_VERSION = 'v0.93.1';

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
  'collector', 'prometheusReplicas', 'runbookBaseUrl', 'alertmanager', 'networkPolicies', 'services'];
const SERVICE_KEYS = ['name', 'namespace', 'selector', 'exportMode', 'metricsPort', 'convention', 'slo',
  'websocketGauge', 'customPanels', 'sampleLimit'];
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
  const sampleLimit = int(`${f}.sampleLimit`, s.sampleLimit ?? DEFAULT_SAMPLE_LIMIT, 100, 10_000_000);
  return { name, namespace, selector, exportMode, metricsPort, convention, slo, websocketGauge, customPanels, sampleLimit };
}

// Alertmanager's own duration syntax (units in this order, no repeats): what amtool accepts.
const AM_DURATION = /^(?=\d)(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;
// Go durations of `--data.retention`, as the Alertmanager CRD's pattern allows them.
const GO_DURATION = /^(?=\d)(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const EMAIL_LIST = /^[^\s@,]+@[^\s@,]+(\s*,\s*[^\s@,]+@[^\s@,]+)*$/;
const HOST_PORT = /^[A-Za-z0-9.-]+:([0-9]{1,5})$/;
/** The built-in receiver without integrations: Alertmanager keeps the alert (UI, API, Grafana) and notifies no one. */
export const NULL_RECEIVER = 'null';
const AM_KEYS = ['replicas', 'storage', 'retention', 'receiversSecret', 'receivers', 'criticalReceiver', 'warningReceiver',
  'routes', 'groupWait', 'groupInterval', 'repeatInterval', 'receiverEgressCidrs'];
const RECEIVER_KEYS = ['name', 'webhook', 'slack', 'pagerduty', 'email', 'sendResolved'];
const INTEGRATIONS = ['webhook', 'slack', 'pagerduty', 'email'] as const;
const MATCH_TYPES: readonly MatchType[] = ['=', '!=', '=~', '!~'];

function list(field: string, v: unknown): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ConfigError(field, 'must be a list', 'give a list (or leave it out)');
  return v;
}

function validateReceiver(raw: unknown, i: number): ReceiverConfig {
  const f = `alertmanager.receivers[${i}]`;
  const r = requireObject(f, raw, RECEIVER_KEYS);
  const name = str(`${f}.name`, r.name, DNS1123_LABEL, 'use lowercase letters, digits and "-", e.g. "oncall-pager"');
  if (name === NULL_RECEIVER) throw new ConfigError(`${f}.name`, `"${NULL_RECEIVER}" is the built-in receiver that notifies no one`, 'choose another name');
  const present = INTEGRATIONS.filter((k) => r[k] !== undefined);
  if (present.length !== 1) {
    throw new ConfigError(f, present.length === 0 ? 'has no integration' : `has ${present.join(' and ')}`,
      `give exactly one of ${INTEGRATIONS.join(', ')} (one receiver per destination)`);
  }
  const key = (field: string, v: unknown) => str(field, v, SECRET_KEY,
    'give the name of a key in alertmanager.receiversSecret (letters, digits, "-", "_", "."), never the credential itself');
  const sendResolved = r.sendResolved ?? true;
  if (typeof sendResolved !== 'boolean') throw new ConfigError(`${f}.sendResolved`, `${JSON.stringify(sendResolved)} is not valid`, 'use true or false');
  const base = { name, sendResolved };
  const kind = present[0];
  const g = `${f}.${kind}`;
  if (kind === 'webhook') {
    const w = requireObject(g, r.webhook, ['urlSecretKey', 'port']);
    return { ...base, webhook: { urlSecretKey: key(`${g}.urlSecretKey`, w.urlSecretKey), port: int(`${g}.port`, w.port ?? 443, 1, 65535) } };
  }
  if (kind === 'slack') {
    const sl = requireObject(g, r.slack, ['apiUrlSecretKey', 'channel']);
    return {
      ...base,
      slack: {
        apiUrlSecretKey: key(`${g}.apiUrlSecretKey`, sl.apiUrlSecretKey),
        channel: sl.channel === undefined ? undefined : str(`${g}.channel`, sl.channel, /^[#@]?[^\s]{1,80}$/, 'give a channel such as "#chat-alerts"'),
      },
    };
  }
  if (kind === 'pagerduty') {
    const p = requireObject(g, r.pagerduty, ['routingKeySecretKey']);
    return { ...base, pagerduty: { routingKeySecretKey: key(`${g}.routingKeySecretKey`, p.routingKeySecretKey) } };
  }
  const e = requireObject(g, r.email, ['to', 'from', 'smarthost', 'authUsername', 'authPasswordSecretKey', 'requireTls']);
  const smarthost = str(`${g}.smarthost`, e.smarthost, HOST_PORT, 'give the SMTP server as host:port, e.g. "smtp.example.com:587"');
  int(`${g}.smarthost`, Number(HOST_PORT.exec(smarthost)![1]), 1, 65535);
  const optional = <T>(v: unknown, check: (x: unknown) => T): T | undefined => (v === undefined ? undefined : check(v));
  const authUsername = optional(e.authUsername, (v) => str(`${g}.authUsername`, v, /^\S+$/, 'give the SMTP user name'));
  const authPasswordSecretKey = optional(e.authPasswordSecretKey, (v) => key(`${g}.authPasswordSecretKey`, v));
  if ((authUsername === undefined) !== (authPasswordSecretKey === undefined)) {
    throw new ConfigError(`${g}.${authUsername === undefined ? 'authUsername' : 'authPasswordSecretKey'}`, 'is missing',
      'give both authUsername and authPasswordSecretKey, or neither');
  }
  const requireTls = e.requireTls ?? true;
  if (typeof requireTls !== 'boolean') throw new ConfigError(`${g}.requireTls`, `${JSON.stringify(requireTls)} is not valid`, 'use true or false');
  const email = 'give e-mail addresses, comma-separated, e.g. "oncall@example.com"';
  return {
    ...base,
    email: { to: str(`${g}.to`, e.to, EMAIL_LIST, email), from: str(`${g}.from`, e.from, EMAIL_LIST, email), smarthost, authUsername, authPasswordSecretKey, requireTls },
  };
}

/** Values a label can take on the chart's alerts, where they are known: a matcher must be able to match one. */
function knownValues(label: string, services: readonly ChatServiceConfig[]): readonly string[] | undefined {
  if (label === 'alertname') return Object.values(ALERT_NAMES);
  if (label === 'severity') return SEVERITIES;
  if (label === 'service') return services.map((s) => s.name);
  return undefined;
}

function validateMatcher(raw: unknown, f: string, services: readonly ChatServiceConfig[]): AlertMatcher {
  const m = requireObject(f, raw, ['name', 'value', 'matchType']);
  const labels: readonly string[] = ALERT_LABEL_NAMES;
  const name = str(`${f}.name`, m.name, /^[a-zA-Z_][a-zA-Z0-9_]*$/, 'give a label name');
  if (!labels.includes(name)) {
    throw new ConfigError(`${f}.name`, `"${name}" is not a label the chart's alerts carry`, `match on one of: ${labels.join(', ')}`);
  }
  const matchType = (m.matchType ?? '=') as MatchType;
  if (!MATCH_TYPES.includes(matchType)) throw new ConfigError(`${f}.matchType`, `${JSON.stringify(m.matchType)} is not valid`, `use one of ${MATCH_TYPES.join(' ')}`);
  if (typeof m.value !== 'string') throw new ConfigError(`${f}.value`, `${JSON.stringify(m.value)} is not a string`, 'give the label value (or a regular expression for =~ and !~)');
  const value = m.value;
  const regex = matchType === '=~' || matchType === '!~';
  let test = (v: string) => v === value;
  if (regex) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${value})$`); // Alertmanager anchors matcher regexes
    } catch (e) {
      throw new ConfigError(`${f}.value`, `invalid regular expression (${(e as Error).message})`, 'correct the expression');
    }
    test = (v) => re.test(v);
  }
  const known = knownValues(name, services);
  const positive = matchType === '=' || matchType === '=~';
  if (known && positive && !known.some(test)) {
    throw new ConfigError(`${f}.value`, `${JSON.stringify(value)} matches no ${name} the chart's alerts carry`, `use one of: ${known.join(', ')}`);
  }
  return { name, value, matchType };
}

function validateAlertmanager(raw: unknown, services: readonly ChatServiceConfig[]): AlertmanagerSettings {
  const a = requireObject('alertmanager', raw, AM_KEYS);
  const durFix = 'use an Alertmanager duration such as "30s", "5m" or "4h" (units y w d h m s ms, largest first)';
  const dur = (field: string, v: unknown, nonZero: boolean) => {
    const d = str(`alertmanager.${field}`, v, AM_DURATION, durFix);
    if (nonZero && durationSeconds(d) === 0) throw new ConfigError(`alertmanager.${field}`, 'must not be zero', durFix);
    return d;
  };
  const receivers = list('alertmanager.receivers', a.receivers).map(validateReceiver);
  const names = new Map<string, number>();
  receivers.forEach((r, i) => {
    if (names.has(r.name)) {
      throw new ConfigError(`alertmanager.receivers[${i}].name`, `duplicate receiver "${r.name}" (also receivers[${names.get(r.name)}])`, 'give every receiver a unique name');
    }
    names.set(r.name, i);
  });
  const defined = [NULL_RECEIVER, ...names.keys()];
  const receiverRef = (field: string, v: unknown) => {
    if (typeof v !== 'string' || !defined.includes(v)) {
      throw new ConfigError(field, `${JSON.stringify(v)} is not a defined receiver`, `define it in alertmanager.receivers or use one of: ${defined.join(', ')}`);
    }
    return v;
  };
  const routes = list('alertmanager.routes', a.routes).map((rawRoute, i): AlertRoute => {
    const f = `alertmanager.routes[${i}]`;
    const r = requireObject(f, rawRoute, ['receiver', 'matchers', 'continue']);
    const matchers = list(`${f}.matchers`, r.matchers);
    if (matchers.length === 0) throw new ConfigError(`${f}.matchers`, 'is empty', 'give at least one matcher, e.g. { name: "service", value: "chat-auth" }');
    const cont = r.continue ?? false;
    if (typeof cont !== 'boolean') throw new ConfigError(`${f}.continue`, `${JSON.stringify(cont)} is not valid`, 'use true or false');
    return {
      receiver: receiverRef(`${f}.receiver`, r.receiver),
      matchers: matchers.map((m, j) => validateMatcher(m, `${f}.matchers[${j}]`, services)),
      continue: cont,
    };
  });
  const groupInterval = dur('groupInterval', a.groupInterval ?? '5m', true);
  const repeatInterval = dur('repeatInterval', a.repeatInterval ?? '4h', true);
  if (durationSeconds(repeatInterval) < durationSeconds(groupInterval)) {
    throw new ConfigError('alertmanager.repeatInterval', `${repeatInterval} is shorter than groupInterval (${groupInterval})`,
      'make it at least groupInterval: a group is re-sent only at a group interval');
  }
  return {
    replicas: int('alertmanager.replicas', a.replicas ?? 1, 1, 10),
    storage: str('alertmanager.storage', a.storage ?? '1Gi', QUANTITY, 'use a Kubernetes quantity such as "1Gi"'),
    retention: str('alertmanager.retention', a.retention ?? '120h', GO_DURATION, 'use a duration in h, m, s such as "120h"'),
    receiversSecret: str('alertmanager.receiversSecret', a.receiversSecret ?? 'alertmanager-receivers', DNS1123_LABEL, 'use the name of a Secret (lowercase letters, digits, "-")'),
    receivers,
    criticalReceiver: receiverRef('alertmanager.criticalReceiver', a.criticalReceiver ?? NULL_RECEIVER),
    warningReceiver: receiverRef('alertmanager.warningReceiver', a.warningReceiver ?? NULL_RECEIVER),
    routes,
    groupWait: dur('groupWait', a.groupWait ?? '30s', false),
    groupInterval,
    repeatInterval,
    receiverEgressCidrs: cidrList('alertmanager.receiverEgressCidrs', a.receiverEgressCidrs),
  };
}

/** Seconds as a Go duration, the collector's syntax: "5s", "1500ms". */
const goDuration = (seconds: number) => (Number.isInteger(seconds) ? `${seconds}s` : `${Math.round(seconds * 1000)}ms`);

function validateCollector(raw: unknown, scrapeInterval: string): CollectorSettings {
  const c = requireObject('collector', raw, ['exportInterval', 'metricExpiration', 'droppedAttributes']);
  const fix = 'use a duration in h, m, s or ms such as "1s"';
  const exportInterval = str('collector.exportInterval', c.exportInterval ?? '1s', GO_DURATION, fix);
  const interval = durationSeconds(exportInterval);
  if (interval === 0) throw new ConfigError('collector.exportInterval', 'must not be zero', fix);
  // A stopped pod's series (and its gauge's last value) leave the exposition once it misses a few
  // exports, but not before Prometheus has scraped its last counts: shorter, and every rollout
  // loses what the old pods counted after their last scrape (measured on the real chain: up to 40 %).
  const scrape = durationSeconds(scrapeInterval);
  const metricExpiration = str('collector.metricExpiration', c.metricExpiration ?? goDuration(scrape + 5 * interval), GO_DURATION, fix);
  if (durationSeconds(metricExpiration) < scrape + 3 * interval) {
    throw new ConfigError('collector.metricExpiration',
      `${metricExpiration} is shorter than scrapeInterval (${scrapeInterval}) + 3 x exportInterval (${exportInterval})`,
      'make it at least that long, or a live series gaps between exports and a stopped pod\'s last counts expire before they are scraped');
  }
  const droppedAttributes = (c.droppedAttributes === undefined ? [...DEFAULT_DROPPED_ATTRIBUTES] : list('collector.droppedAttributes', c.droppedAttributes))
    .map((a, i) => {
      const field = `collector.droppedAttributes[${i}]`;
      const key = str(field, a, /^[A-Za-z_][A-Za-z0-9_.-]*$/, 'give an OpenTelemetry attribute key such as "http.host"');
      const label = key.replace(/[.-]/g, '_');
      if (QUERIED_LABELS.includes(label)) {
        throw new ConfigError(field, `"${key}" becomes the label ${label}, which the dashboards and rules read`, 'remove it from the list');
      }
      return key;
    });
  return { exportInterval, metricExpiration, droppedAttributes };
}

const CIDR_FIX = 'give a CIDR: address/prefix with the host bits zero, e.g. "172.18.0.0/16", "172.18.0.2/32" for one address, "fd00::/64"';

/** A list of CIDRs for a NetworkPolicy ipBlock, each checked as parseCidr does. */
function cidrList(field: string, v: unknown): string[] {
  return list(field, v).map((c, i) => {
    const parsed = typeof c === 'string' ? parseCidr(c) : 'is not a string';
    if (typeof parsed === 'string') throw new ConfigError(`${field}[${i}]`, `${JSON.stringify(c)} ${parsed}`, CIDR_FIX);
    return c as string;
  });
}

function validateNetworkPolicies(raw: unknown): NetworkPolicySettings {
  const n = requireObject('networkPolicies', raw, ['apiServerCidrs', 'nodeCidrs']);
  const nodeCidrs = cidrList('networkPolicies.nodeCidrs', n.nodeCidrs);
  nodeCidrs.forEach((c, i) => {
    if (c.endsWith('/0')) {
      throw new ConfigError(`networkPolicies.nodeCidrs[${i}]`, `"${c}" is every address, which would open Prometheus's and Alertmanager's APIs to all`,
        'give the nodes\' addresses, or leave nodeCidrs empty (then only the health-only ports are open to all)');
    }
  });
  return { apiServerCidrs: cidrList('networkPolicies.apiServerCidrs', n.apiServerCidrs), nodeCidrs };
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
  // Each push service has an exporter port of its own, 9464 upwards (lib/collector/service-exporters.ts).
  const MAX_PUSH = 1000;
  if (services.filter((s) => s.exportMode === 'push').length > MAX_PUSH) {
    throw new ConfigError('services', `more than ${MAX_PUSH} push services`, 'split the services over several charts (each collector exposes one port per service)');
  }
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
    collector: validateCollector(c.collector ?? {}, scrapeInterval),
    prometheusReplicas: int('prometheusReplicas', c.prometheusReplicas ?? 1, 1, 10),
    runbookBaseUrl: str('runbookBaseUrl', c.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL, /^https?:\/\/[^\s#]+$/,
      'use an http(s) URL without a #fragment, e.g. your fork\'s README'),
    alertmanager: validateAlertmanager(c.alertmanager ?? {}, services),
    networkPolicies: validateNetworkPolicies(c.networkPolicies ?? {}),
    services,
  };
}

/** Namespaces the chat services run in, each once, in config order. */
export function serviceNamespaces(config: ChartConfig): string[] {
  return [...new Set(config.services.map((s) => s.namespace))];
}
