/** How the collector treats what the push services send: its settings, their defaults and their validation. */
import { ConfigError, cpuMillis, durationSeconds, given, GO_DURATION, int, list, requireObject, str } from '../validation';

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
  /**
   * How long an OTLP gRPC connection lives before the collector asks its client to reconnect
   * (GOAWAY, after which in-flight exports finish). A gRPC client otherwise stays on the replica it
   * first reached, so replicas added later get no traffic; each reconnect lets the Service pick again.
   * Longer than metricExpiration + scrapeInterval: a pod's copy on the replica it left is gone
   * before it can move again (README, "Several collector replicas").
   * @default '2m', or twice that floor where it is longer
   */
  readonly maxConnectionAge: string;
  /** Collector replicas scaled by a HorizontalPodAutoscaler on CPU; off unless given. */
  readonly autoscaling?: CollectorAutoscaling;
}

/**
 * A HorizontalPodAutoscaler (autoscaling/v2) for the collector's Deployment; needs a metrics API
 * (metrics-server). collectorReplicas is then only minReplicas' default.
 */
export interface CollectorAutoscaling {
  /** @default collectorReplicas */
  readonly minReplicas: number;
  /** @default 2 x minReplicas, at most 50 */
  readonly maxReplicas: number;
  /**
   * Average CPU per replica the autoscaler keeps, as a quantity. An absolute value, not a share of
   * the request: the collector requests 100m and may use its 500m limit. @default '350m' (70 % of the limit)
   */
  readonly targetCpu: string;
}

/**
 * What the legacy instrumentation derives from the Host header and the listening socket: one series
 * per Host name, port and address a caller used, and no dashboard, rule or alert reads them.
 * (http.flavor and http.scheme are unread too, but constant inside a cluster; list them to drop them.)
 */
export const DEFAULT_DROPPED_ATTRIBUTES: readonly string[] = ['http.host', 'http.server_name', 'net.host.port', 'net.host.name', 'server.address', 'server.port'];

export const COLLECTOR_DEFAULTS = {
  exportInterval: '1s',
  /** Export intervals past the scrape interval a silent series stays exposed. */
  expirationExports: 5,
  droppedAttributes: DEFAULT_DROPPED_ATTRIBUTES,
  maxConnectionAge: '2m',
  /** After GOAWAY, how long in-flight exports (milliseconds each) may take before the connection closes. */
  maxConnectionAgeGrace: '10s',
  targetCpu: '350m',
} as const;

/** Labels the chart's queries read: never dropped (attribute "a.b" becomes label "a_b"). */
const QUERIED_LABELS = ['service', 'namespace', 'pod', 'le', 'http_status_code', 'http_target', 'http_response_status_code', 'http_route'];
const FIX = 'use a duration in h, m, s or ms such as "1s"';

/** Seconds as a Go duration, the collector's syntax: "5s", "1500ms". */
const goDuration = (seconds: number) => {
  if (!Number.isInteger(seconds)) return `${Math.round(seconds * 1000)}ms`;
  return seconds >= 60 && seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
};

// A stopped pod's series (and its gauge's last value) leave the exposition once it misses a few
// exports, but not before Prometheus has scraped its last counts: shorter, and every rollout
// loses what the old pods counted after their last scrape (measured on the real chain: up to 40 %).
function validateMetricExpiration(v: unknown, scrapeInterval: string, exportInterval: string): string {
  const scrape = durationSeconds(scrapeInterval);
  const interval = durationSeconds(exportInterval);
  const metricExpiration = str('collector.metricExpiration', v ?? goDuration(scrape + COLLECTOR_DEFAULTS.expirationExports * interval), GO_DURATION, FIX);
  if (durationSeconds(metricExpiration) < scrape + 3 * interval) {
    throw new ConfigError('collector.metricExpiration',
      `${metricExpiration} is shorter than scrapeInterval (${scrapeInterval}) + 3 x exportInterval (${exportInterval})`,
      'make it at least that long, or a live series gaps between exports and a stopped pod\'s last counts expire before they are scraped');
  }
  return metricExpiration;
}

function validateDroppedAttribute(a: unknown, i: number): string {
  const field = `collector.droppedAttributes[${i}]`;
  const key = str(field, a, /^[A-Za-z_][A-Za-z0-9_.-]*$/, 'give an OpenTelemetry attribute key such as "http.host"');
  const label = key.replace(/[.-]/g, '_');
  if (QUERIED_LABELS.includes(label)) {
    throw new ConfigError(field, `"${key}" becomes the label ${label}, which the dashboards and rules read`, 'remove it from the list');
  }
  return key;
}

// Each reconnect may move a pod to another replica, and the one it left keeps exposing the pod's
// last points for metricExpiration: reconnecting sooner than that (and a scrape) stacks more such
// copies, each refused by Prometheus as out of order, for no gain in spreading.
function validateMaxConnectionAge(v: unknown, metricExpiration: string, scrapeInterval: string): string {
  const floor = durationSeconds(metricExpiration) + durationSeconds(scrapeInterval);
  const fallback = goDuration(Math.max(durationSeconds(COLLECTOR_DEFAULTS.maxConnectionAge), 2 * floor));
  const age = str('collector.maxConnectionAge', v ?? fallback, GO_DURATION, FIX);
  if (durationSeconds(age) <= floor) {
    throw new ConfigError('collector.maxConnectionAge',
      `${age} is not longer than metricExpiration (${metricExpiration}) + scrapeInterval (${scrapeInterval})`,
      `make it longer than ${goDuration(floor)}, or leave it out (${fallback})`);
  }
  return age;
}

function validateAutoscaling(v: unknown, ctx: CollectorContext): CollectorAutoscaling | undefined {
  if (v === undefined) return undefined;
  if (!ctx.pushes) {
    throw new ConfigError('collector.autoscaling', 'no service pushes (exportMode: push), so the chart deploys no collector to scale', 'remove it');
  }
  const a = requireObject('collector.autoscaling', v, ['minReplicas', 'maxReplicas', 'targetCpu']);
  const minReplicas = int('collector.autoscaling.minReplicas', a.minReplicas ?? ctx.replicas, 1, MAX_REPLICAS);
  const maxReplicas = int('collector.autoscaling.maxReplicas', a.maxReplicas ?? Math.min(MAX_REPLICAS, 2 * minReplicas), 1, MAX_REPLICAS);
  if (maxReplicas < minReplicas) {
    throw new ConfigError('collector.autoscaling.maxReplicas', `${maxReplicas} is below minReplicas (${minReplicas})`, 'give at least minReplicas');
  }
  const targetCpu = str('collector.autoscaling.targetCpu', a.targetCpu ?? COLLECTOR_DEFAULTS.targetCpu, /^([1-9][0-9]*m|[0-9]+(\.[0-9]+)?)$/,
    'give CPU as a quantity such as "350m" or "0.5"');
  if (cpuMillis(targetCpu) === 0) throw new ConfigError('collector.autoscaling.targetCpu', 'must not be zero', 'give CPU such as "350m"');
  return { minReplicas, maxReplicas, targetCpu };
}

const MAX_REPLICAS = 50;

export interface CollectorContext {
  readonly scrapeInterval: string;
  /** collectorReplicas: autoscaling's default minimum. */
  readonly replicas: number;
  /** Whether any service pushes (else there is no collector). */
  readonly pushes: boolean;
}

export function validateCollector(raw: unknown, ctx: CollectorContext): CollectorSettings {
  const { scrapeInterval } = ctx;
  const c = requireObject('collector', raw, ['exportInterval', 'metricExpiration', 'droppedAttributes', 'maxConnectionAge', 'autoscaling']);
  const exportInterval = str('collector.exportInterval', c.exportInterval ?? COLLECTOR_DEFAULTS.exportInterval, GO_DURATION, FIX);
  if (durationSeconds(exportInterval) === 0) throw new ConfigError('collector.exportInterval', 'must not be zero', FIX);
  const metricExpiration = validateMetricExpiration(c.metricExpiration, scrapeInterval, exportInterval);
  const droppedAttributes = list('collector.droppedAttributes', given(c.droppedAttributes, COLLECTOR_DEFAULTS.droppedAttributes))
    .map(validateDroppedAttribute);
  const maxConnectionAge = validateMaxConnectionAge(c.maxConnectionAge, metricExpiration, scrapeInterval);
  const autoscaling = validateAutoscaling(c.autoscaling, ctx);
  return { exportInterval, metricExpiration, droppedAttributes, maxConnectionAge, ...(autoscaling ? { autoscaling } : {}) };
}
