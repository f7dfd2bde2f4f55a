/**
 * Names of the recorded series (level:metric:operations). Dashboards and alerts read these;
 * lib/rules/recording.ts defines them.
 */
import { ChatServiceConfig } from '../config';

/** Windows of the multi-window burn-rate tiers (lib/rules/slo.ts), shortest first. */
export const SLO_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;

/** The SLO period: each objective's error budget is spent over 30 days. */
export const SLO_PERIOD = '30d';

/** The two SLIs: non-5xx responses, and responses within the latency threshold. */
export type Sli = 'availability' | 'latency';

export const recordedName = {
  requestRate: (w: string) => `service:http_requests:rate${w}`,
  errorRatio: (w: string) => `service:http_request_errors:ratio_rate${w}`,
  /** 5xx responses per second. */
  errorRate: (w: string) => `service:http_request_errors:rate${w}`,
  /** Responses slower than the latency objective's threshold, per second. */
  slowRate: (w: string) => `service:http_requests_slow:rate${w}`,
  slowRatio: (w: string) => `service:http_requests_slow:ratio_rate${w}`,
  /** How many times faster than sustainable (1 spends the budget in exactly the SLO period) the SLI's budget burns over `w`. */
  burnRate: (sli: Sli, w: string) => `service:slo_${sli}_budget_burn:rate${w}`,
  /** Share of the SLI's budget for the SLO period that is left (negative once overspent). */
  budgetRemaining: (sli: Sli) => `service:slo_${sli}_budget_remaining:ratio_rate${SLO_PERIOD}`,
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
