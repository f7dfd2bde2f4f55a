/** How the collector treats what the push services send: its settings, their defaults and their validation. */
import { ConfigError, durationSeconds, given, GO_DURATION, list, requireObject, str } from '../validation';

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

export const COLLECTOR_DEFAULTS = {
  exportInterval: '1s',
  /** Export intervals past the scrape interval a silent series stays exposed. */
  expirationExports: 5,
  droppedAttributes: DEFAULT_DROPPED_ATTRIBUTES,
} as const;

/** Labels the chart's queries read: never dropped (attribute "a.b" becomes label "a_b"). */
const QUERIED_LABELS = ['service', 'namespace', 'pod', 'le', 'http_status_code', 'http_target', 'http_response_status_code', 'http_route'];
const FIX = 'use a duration in h, m, s or ms such as "1s"';

/** Seconds as a Go duration, the collector's syntax: "5s", "1500ms". */
const goDuration = (seconds: number) => (Number.isInteger(seconds) ? `${seconds}s` : `${Math.round(seconds * 1000)}ms`);

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

export function validateCollector(raw: unknown, scrapeInterval: string): CollectorSettings {
  const c = requireObject('collector', raw, ['exportInterval', 'metricExpiration', 'droppedAttributes']);
  const exportInterval = str('collector.exportInterval', c.exportInterval ?? COLLECTOR_DEFAULTS.exportInterval, GO_DURATION, FIX);
  if (durationSeconds(exportInterval) === 0) throw new ConfigError('collector.exportInterval', 'must not be zero', FIX);
  const metricExpiration = validateMetricExpiration(c.metricExpiration, scrapeInterval, exportInterval);
  const droppedAttributes = list('collector.droppedAttributes', given(c.droppedAttributes, COLLECTOR_DEFAULTS.droppedAttributes))
    .map(validateDroppedAttribute);
  return { exportInterval, metricExpiration, droppedAttributes };
}
