import { ChartConfig, ChatServiceConfig } from '../config';
import { HTTP_CONVENTIONS } from '../queries/conventions';
import { bucketRateByRoute, instanceCount, latencyQuantile, latencyQuantileByRoute, pushRuleQueryOffset, requestRate, requestRateBy, statusRate, statusRatio } from '../queries/http';
import { recorded, recordedName } from '../queries/recorded';
import { sloRecordingRules } from './slo';
import { RecordingRule, RuleGroup } from './types';

/**
 * Per-service request rates, error ratios, latency quantiles and pod count: every panel of the
 * service dashboards reads a few recorded series instead of every pod's buckets (a raw 6 h panel
 * at 100k series costs seconds), then the SLO rules (lib/rules/slo.ts). Rules in a group run in
 * order, so the quantiles and the SLO rules read the rates recorded above them in the same evaluation.
 */
export function recordingRules(config: ChartConfig, s: ChatServiceConfig): RuleGroup {
  const w = config.recordingWindow;
  const bucketRates = recordedName.bucketRateByRoute(HTTP_CONVENTIONS[s.convention].bucket, w);
  const rules: RecordingRule[] = [
    { record: recordedName.requestRate(w), expr: requestRate(s, w) },
    // The 5xx rate once (the error ratio and the availability SLO both read it), then the ratio
    // from the two recorded rates: every pod's counters are read once per evaluation.
    { record: recordedName.errorRate(w), expr: statusRate(s, '5..', w) },
    { record: recordedName.errorRatio(w), expr: `${recorded(recordedName.errorRate(w), s)} / ${recorded(recordedName.requestRate(w), s)}` },
    { record: recordedName.clientErrorRatio(w), expr: statusRatio(s, '4..', w) },
    { record: bucketRates, expr: bucketRateByRoute(s, w) },
    { record: recordedName.latency(95, w), expr: latencyQuantile(s, 0.95, recorded(bucketRates, s)) },
    { record: recordedName.latency(99, w), expr: latencyQuantile(s, 0.99, recorded(bucketRates, s)) },
    { record: recordedName.latencyByRoute(95, w), expr: latencyQuantileByRoute(s, 0.95, recorded(bucketRates, s)) },
    { record: recordedName.requestRateByRoute(w), expr: requestRateBy(s, 'route', w) },
    { record: recordedName.requestRateByStatus(w), expr: requestRateBy(s, 'status', w) },
    { record: recordedName.instances, expr: instanceCount(config, s) },
    ...sloRecordingRules(config, s),
  ];
  // A push service's points reach Prometheus late (queries/http.ts): its rules wait for them.
  return { name: `${s.name}.recording`, ...(s.exportMode === 'push' ? { queryOffset: pushRuleQueryOffset(config) } : {}), rules };
}
