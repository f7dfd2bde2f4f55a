import { MetricConvention } from '../chat-service-settings';

/** What a service's HTTP server histogram is called once the collector's Prometheus exporter names it. */
export interface HttpConvention {
  readonly bucket: string;
  readonly count: string;
  readonly statusLabel: string;
  readonly routeLabel: string;
  /** Divisor that turns the histogram's unit into seconds. */
  readonly perSecond: number;
}

export const HTTP_CONVENTIONS: Readonly<Record<MetricConvention, HttpConvention>> = {
  // OpenTelemetry HTTP semconv before 1.23 (what the chat services emit today): milliseconds.
  legacy: {
    bucket: 'http_server_duration_milliseconds_bucket',
    count: 'http_server_duration_milliseconds_count',
    statusLabel: 'http_status_code',
    routeLabel: 'http_target',
    perSecond: 1000,
  },
  // Stable HTTP semconv (OTEL_SEMCONV_STABILITY_OPT_IN=http and newer SDKs): seconds.
  stable: {
    bucket: 'http_server_request_duration_seconds_bucket',
    count: 'http_server_request_duration_seconds_count',
    statusLabel: 'http_response_status_code',
    routeLabel: 'http_route',
    perSecond: 1,
  },
};
