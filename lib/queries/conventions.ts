import { MetricConvention } from '../chat-service-settings';

/**
 * The route label's value for requests that matched no route (404s): the instrumentation records
 * them without one, and a "by route" panel would show an empty legend.
 */
export const UNMATCHED_ROUTE = '(unmatched)';

/** What a service's HTTP server histogram is called once the collector's Prometheus exporter names it. */
export interface HttpConvention {
  readonly bucket: string;
  readonly count: string;
  readonly statusLabel: string;
  readonly routeLabel: string;
  /** Divisor that turns the histogram's unit into seconds. */
  readonly perSecond: number;
  /** The SDKs' default bucket boundaries, in seconds: where a latency objective can draw its line. */
  readonly bucketBoundsSeconds: readonly number[];
  /**
   * The OpenTelemetry names (before the exporter renames them) of the HTTP server instruments the
   * instrumentation emits under this convention: the only metrics whose Host-header attributes the
   * collector drops (lib/collector/collector-config.ts).
   */
  readonly otelServerMetrics: readonly string[];
}

export const HTTP_CONVENTIONS: Readonly<Record<MetricConvention, HttpConvention>> = {
  // OpenTelemetry HTTP semconv before 1.23 (what the chat services emit today): milliseconds.
  legacy: {
    bucket: 'http_server_duration_milliseconds_bucket',
    count: 'http_server_duration_milliseconds_count',
    statusLabel: 'http_status_code',
    routeLabel: 'http_target',
    perSecond: 1000,
    // The SDK's default explicit buckets (in ms: 5, 10, 25, ... 10000; its first bound, 0, is no objective).
    bucketBoundsSeconds: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    otelServerMetrics: ['http.server.duration', 'http.server.request.size', 'http.server.response.size', 'http.server.active_requests'],
  },
  // Stable HTTP semconv (OTEL_SEMCONV_STABILITY_OPT_IN=http and newer SDKs): seconds.
  stable: {
    bucket: 'http_server_request_duration_seconds_bucket',
    count: 'http_server_request_duration_seconds_count',
    statusLabel: 'http_response_status_code',
    routeLabel: 'http_route',
    perSecond: 1,
    // The semantic conventions' advised buckets for http.server.request.duration.
    bucketBoundsSeconds: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    otelServerMetrics: ['http.server.request.duration', 'http.server.request.body.size', 'http.server.response.body.size', 'http.server.active_requests'],
  },
};
