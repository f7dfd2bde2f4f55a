/**
 * Names of the recorded series (level:metric:operations). Dashboards and alerts read these;
 * lib/rules/recording.ts defines them.
 */
import { ChatServiceConfig } from '../config';

/** Windows the error ratio is recorded at for multi-window burn-rate alerts. */
export const SLO_WINDOWS = ['5m', '30m', '1h', '6h'] as const;

export const recordedName = {
  requestRate: (w: string) => `service:http_requests:rate${w}`,
  errorRatio: (w: string) => `service:http_request_errors:ratio_rate${w}`,
  clientErrorRatio: (w: string) => `service:http_request_client_errors:ratio_rate${w}`,
  latency: (q: 95 | 99, w: string) => `service:http_request_duration_seconds:p${q}_rate${w}`,
  /** Named after the service's own bucket metric: its `le` values are in that metric's unit. */
  bucketRateByRoute: (bucket: string, w: string) => `service_route_le:${bucket}:rate${w}`,
  requestRateByRoute: (w: string) => `service_route:http_requests:rate${w}`,
  requestRateByStatus: (w: string) => `service_status:http_requests:rate${w}`,
  latencyByRoute: (q: 95 | 99, w: string) => `service_route:http_request_duration_seconds:p${q}_rate${w}`,
  instances: 'service:http_server_pods:count',
};

export const recorded = (name: string, s: ChatServiceConfig) => `${name}{service="${s.name}"}`;
