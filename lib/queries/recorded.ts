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
};

export const recorded = (name: string, s: ChatServiceConfig) => `${name}{service="${s.name}"}`;
