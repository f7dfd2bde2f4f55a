import { ChartConfig, ChatServiceConfig } from '../config';
import { latencyQuantile, requestRate, statusRatio } from '../queries/http';
import { recordedName, SLO_WINDOWS } from '../queries/recorded';
import { RecordingRule, RuleGroup } from './types';

/** Per-service request rate, error ratios and latency quantiles, so dashboards read a few series instead of every bucket. */
export function recordingRules(config: ChartConfig, s: ChatServiceConfig): RuleGroup {
  const w = config.recordingWindow;
  const rules: RecordingRule[] = [
    { record: recordedName.requestRate(w), expr: requestRate(s, w) },
    { record: recordedName.errorRatio(w), expr: statusRatio(s, '5..', w) },
    { record: recordedName.clientErrorRatio(w), expr: statusRatio(s, '4..', w) },
    { record: recordedName.latency(95, w), expr: latencyQuantile(s, 0.95, w) },
    { record: recordedName.latency(99, w), expr: latencyQuantile(s, 0.99, w) },
    ...SLO_WINDOWS.filter((sw) => sw !== w).map((sw) => ({ record: recordedName.errorRatio(sw), expr: statusRatio(s, '5..', sw) })),
  ];
  return { name: `${s.name}.recording`, rules };
}
