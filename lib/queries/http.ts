/**
 * PromQL for a chat service's HTTP traffic, shared by the recording rules and the dashboards.
 * Every expression is filtered on the `service` label, which both export paths set.
 */
import { ChartConfig, ChatServiceConfig, durationSeconds } from '../config';
import { durationText } from '../validation';
import { HTTP_CONVENTIONS, UNMATCHED_ROUTE } from './conventions';

const sel = (s: ChatServiceConfig, extra = '') => `{service="${s.name}"${extra}}`;
const conv = (s: ChatServiceConfig) => HTTP_CONVENTIONS[s.convention];
const inSeconds = (s: ChatServiceConfig, expr: string) => (conv(s).perSecond === 1 ? expr : `${expr} / ${conv(s).perSecond}`);

/** Requests per second. */
export function requestRate(s: ChatServiceConfig, window: string): string {
  return `sum by (service) (rate(${conv(s).count}${sel(s)}[${window}]))`;
}

/**
 * Share of requests whose status matches `statusRegex`, 0..1. The `or ... * 0` keeps the ratio at 0
 * (not "no data") while a service has traffic but no matching responses.
 */
export function statusRatio(s: ChatServiceConfig, statusRegex: string, window: string): string {
  return `${statusRate(s, statusRegex, window)} / ${requestRate(s, window)}`;
}

/** Requests per second whose status matches `statusRegex`; 0 (not "no data") while none do. */
export function statusRate(s: ChatServiceConfig, statusRegex: string, window: string): string {
  const c = conv(s);
  const all = `rate(${c.count}${sel(s)}[${window}])`;
  const matching = `rate(${c.count}${sel(s, `,${c.statusLabel}=~"${statusRegex}"`)}[${window}])`;
  return `sum by (service) (${matching} or ${all} * 0)`;
}

/**
 * Matcher for the bucket whose upper bound is `seconds`, in the histogram's unit. Prometheus 3
 * stores `le` normalized as a float ("500.0"), older versions and promtool inputs as exposed ("500").
 */
export function bucketBound(s: ChatServiceConfig, seconds: number): string {
  const le = String(Number((seconds * conv(s).perSecond).toPrecision(12)));
  return `le=~"${le.replace(/\./g, '\\\\.')}(\\\\.0)?"`;
}

/**
 * Bucket rates per route: the one full read of the service's buckets each evaluation; every
 * latency quantile (service-wide and per route) is derived from its few series.
 */
export function bucketRateByRoute(s: ChatServiceConfig, window: string): string {
  const c = conv(s);
  return namedUnmatched(s, `sum by (service, ${c.routeLabel}, le) (rate(${c.bucket}${sel(s)}[${window}]))`);
}

/** Gives the series without a route (requests that matched none) the route UNMATCHED_ROUTE. */
function namedUnmatched(s: ChatServiceConfig, byRoute: string): string {
  const route = conv(s).routeLabel;
  return `label_replace(${byRoute}, "${route}", "${UNMATCHED_ROUTE}", "${route}", "")`;
}

/** Latency quantile in seconds across all of the service's pods and routes, from `bucketRates` (bucketRateByRoute or its recorded series). */
export function latencyQuantile(s: ChatServiceConfig, q: number, bucketRates: string): string {
  return inSeconds(s, `histogram_quantile(${q}, sum by (service, le) (${bucketRates}))`);
}

/** Latency quantile in seconds per route, from `bucketRates` (bucketRateByRoute or its recorded series). */
export function latencyQuantileByRoute(s: ChatServiceConfig, q: number, bucketRates: string): string {
  return inSeconds(s, `histogram_quantile(${q}, ${bucketRates})`);
}

/** Requests per second split by one label (route or status). */
export function requestRateBy(s: ChatServiceConfig, label: 'route' | 'status', window: string): string {
  const c = conv(s);
  const rates = `sum by (service, ${label === 'route' ? c.routeLabel : c.statusLabel}) (rate(${c.count}${sel(s)}[${window}]))`;
  return label === 'route' ? namedUnmatched(s, rates) : rates;
}

/**
 * How long Prometheus can take to discover a new target and start scraping it: its discovery
 * manager passes on target changes at most every 5 s, and its scrape manager applies them at most
 * every 5 s.
 */
export const TARGET_DISCOVERY_SECONDS = 10;

/**
 * How long a pushed series counts as present after its last point. The collector exposes each point
 * with the time it was measured (collector-config.ts), and Prometheus writes no staleness marker for
 * such series, so a plain instant read would see a stopped pod for its 5-minute lookback. Instant
 * reads of pushed series look back this far instead: the collector's metricExpiration (how long it
 * keeps a silent series, at least a scrape and three exports) plus a scrape plus a target's
 * discovery. A live series' newest point is always within that, even when its pod has just moved
 * onto a replica Prometheus has not scraped yet: the newest point Prometheus holds may then be a
 * scrape old, and the next comes with the new replica's discovery and first scrape. Pulled series
 * get staleness markers and are read as they are.
 */
export function pushFreshness(config: ChartConfig): string {
  return durationText(durationSeconds(config.collector.metricExpiration) + durationSeconds(config.scrapeInterval) + TARGET_DISCOVERY_SECONDS);
}

/**
 * How far behind the clock the recording rules of a push service evaluate (the rule group's
 * `query_offset`). A pushed point carries the time it was measured but reaches Prometheus only at
 * the next scrape of the collector replica holding it: up to a scrape interval later, and when the
 * pod's connection has just moved to a new replica, after that replica's discovery too. A rule
 * evaluated before then would store a rate missing the pod's newest points (README, "Several
 * collector replicas"); this far back every point has arrived. Pulled points are stamped when
 * scraped, so pull services need none.
 */
export function pushRuleQueryOffset(config: ChartConfig): string {
  return durationText(durationSeconds(config.scrapeInterval) + TARGET_DISCOVERY_SECONDS);
}


/** An instant read of `selector`: for a push service, its newest point within pushFreshness. */
function live(config: ChartConfig, s: ChatServiceConfig, selector: string): string {
  return s.exportMode === 'push' ? `last_over_time(${selector}[${pushFreshness(config)}])` : selector;
}

/** Number of pods reporting HTTP metrics. */
export function instanceCount(config: ChartConfig, s: ChatServiceConfig): string {
  return `count by (service) (count by (service, pod) (${live(config, s, `${conv(s).count}${sel(s)}`)}))`;
}

/** Active WebSocket connections summed over the service's pods (each reports its own gauge). */
export function websocketConnections(config: ChartConfig, s: ChatServiceConfig, gauge: string): string {
  return `sum by (service) (${live(config, s, `${gauge}${sel(s)}`)})`;
}

/** 1 while the service has no request counter series (for a push service: none with a point within pushFreshness). */
export function requestCounterAbsent(config: ChartConfig, s: ChatServiceConfig): string {
  const counter = `${conv(s).count}${sel(s)}`;
  return s.exportMode === 'push' ? `absent_over_time(${counter}[${pushFreshness(config)}])` : `absent(${counter})`;
}

/** The raw request counter. */
export function requestCounter(s: ChatServiceConfig): string {
  return `${conv(s).count}${sel(s)}`;
}
