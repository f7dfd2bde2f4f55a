/**
 * Service level objectives as rules: error budgets, burn rates and the multi-window, multi-burn-rate
 * alerts of the SRE workbook (chapter "Alerting on SLOs"), for two SLIs per service:
 * - availability: the share of requests not answered with a 5xx;
 * - latency: the share of requests answered within `slo.latencyThresholdSeconds`.
 *
 * Every window is computed from the per-service rates recorded at `recordingWindow`, never from a
 * raw `rate(...[3d])` over every pod's series: a window's rate is the average of the recorded
 * rate over it, a ratio is the ratio of two such averages.
 */
import { ChartConfig, ChatServiceConfig, durationSeconds } from '../config';
import { HTTP_CONVENTIONS } from '../queries/conventions';
import { bucketBound } from '../queries/http';
import { recorded, recordedName, Sli, SLO_PERIOD, SLO_WINDOWS } from '../queries/recorded';
import { ALERT_NAMES, AlertName, Severity } from './alert-catalog';
import { RecordingRule } from './types';

type SloWindow = (typeof SLO_WINDOWS)[number];

export interface BurnTier {
  /** Budget spent this many times faster than sustainable (1 = exactly the budget over the SLO period). */
  readonly factor: number;
  readonly long: SloWindow;
  /** The short window makes the alert resolve soon after the burn stops. */
  readonly short: SloWindow;
  readonly for: string;
  /** critical pages; ticket is for working hours. */
  readonly severity: Severity;
  /** Page tiers stay silent below `slo.pageMinRequests` in either window. */
  readonly page: boolean;
  readonly alerts: Readonly<Record<Sli, AlertName>>;
}

/**
 * The workbook's four tiers for a 30-day budget: 2 % of it spent in 1 hour or 5 % in 6 hours
 * page; 10 % in a day or 10 % in three days open a ticket.
 */
export const BURN_TIERS: readonly BurnTier[] = [
  { factor: 14.4, long: '1h', short: '5m', for: '2m', severity: 'critical', page: true,
    alerts: { availability: ALERT_NAMES.burnFast, latency: ALERT_NAMES.latencyBurnFast } },
  { factor: 6, long: '6h', short: '30m', for: '15m', severity: 'critical', page: true,
    alerts: { availability: ALERT_NAMES.burnSlow, latency: ALERT_NAMES.latencyBurnSlow } },
  { factor: 3, long: '1d', short: '2h', for: '1h', severity: 'ticket', page: false,
    alerts: { availability: ALERT_NAMES.burnDaily, latency: ALERT_NAMES.latencyBurnDaily } },
  { factor: 1, long: '3d', short: '6h', for: '3h', severity: 'ticket', page: false,
    alerts: { availability: ALERT_NAMES.burnChronic, latency: ALERT_NAMES.latencyBurnChronic } },
];

/** The share of requests an SLI may miss over the SLO period, e.g. 0.005 for 99.5 %. */
export function errorBudget(s: ChatServiceConfig, sli: Sli): number {
  const percent = sli === 'availability' ? s.slo.availabilityPercent : s.slo.latencyPercent;
  return Number((1 - percent / 100).toPrecision(6));
}

/** What the SLI promises, in words, for descriptions and panels. */
export function objectiveText(s: ChatServiceConfig, sli: Sli): string {
  return sli === 'availability'
    ? `${s.slo.availabilityPercent}% of requests without a 5xx`
    : `${s.slo.latencyPercent}% of requests within ${s.slo.latencyThresholdSeconds}s`;
}

/**
 * The latency SLI's bad events per second at the recording window: responses slower than the
 * threshold. (The availability SLI's, the 5xx rate, is recorded beside the request rate, recording.ts.)
 */
function slowRate(config: ChartConfig, s: ChatServiceConfig): RecordingRule {
  const w = config.recordingWindow;
  // All requests minus those in the buckets up to the threshold, from the recorded bucket rates.
  const buckets = recordedName.bucketRateByRoute(HTTP_CONVENTIONS[s.convention].bucket, w);
  const within = `sum by (service) (${buckets}{service="${s.name}",${bucketBound(s, s.slo.latencyThresholdSeconds)}})`;
  return { record: recordedName.slowRate(w), expr: `clamp_min(${recorded(recordedName.requestRate(w), s)} - on (service) ${within}, 0)` };
}

const badRateName = (sli: Sli, w: string) => (sli === 'availability' ? recordedName.errorRate(w) : recordedName.slowRate(w));

/**
 * Rules after the service's request, 5xx and bucket rates (lib/rules/recording.ts), in evaluation
 * order: the slow-request rate, request rates per window, burn rates per window, and the budget left.
 */
export function sloRecordingRules(config: ChartConfig, s: ChatServiceConfig): RecordingRule[] {
  const w = config.recordingWindow;
  const slis: Sli[] = ['availability', 'latency'];
  const avg = (name: string, window: string) => `avg_over_time(${recorded(name, s)}[${window}])`;
  const windows = [...SLO_WINDOWS, SLO_PERIOD];
  const rules: RecordingRule[] = [
    slowRate(config, s),
    ...windows.filter((x) => x !== w).map((x) => ({ record: recordedName.requestRate(x), expr: avg(recordedName.requestRate(w), x) })),
  ];
  for (const sli of slis) {
    const budget = errorBudget(s, sli);
    const ratio = (x: string) => `${avg(badRateName(sli, w), x)} / ${recorded(recordedName.requestRate(x), s)}`;
    for (const x of SLO_WINDOWS) rules.push({ record: recordedName.burnRate(sli, x), expr: `(${ratio(x)}) / ${budget}` });
    const periodRatio = sli === 'availability' ? recordedName.errorRatio(SLO_PERIOD) : recordedName.slowRatio(SLO_PERIOD);
    rules.push({ record: periodRatio, expr: ratio(SLO_PERIOD) });
    rules.push({ record: recordedName.budgetRemaining(sli), expr: `1 - ${recorded(periodRatio, s)} / ${budget}` });
  }
  return rules;
}

/** `requests in window >= min`, for both windows of a page tier. */
function enoughTraffic(s: ChatServiceConfig, tier: BurnTier): string[] {
  if (!tier.page || s.slo.pageMinRequests === 0) return [];
  return [tier.long, tier.short].map((x) =>
    `${recorded(recordedName.requestRate(x), s)} * ${durationSeconds(x)} >= ${s.slo.pageMinRequests}`);
}

export interface BurnAlert {
  readonly name: AlertName;
  readonly expr: string;
  readonly for: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly description: string;
}

/** One alert per SLI and tier: both windows burn faster than the tier's factor (and, for a page, enough requests). */
export function burnAlerts(s: ChatServiceConfig): BurnAlert[] {
  const slis: Sli[] = ['availability', 'latency'];
  return slis.flatMap((sli) => BURN_TIERS.map((tier) => {
    const conditions = [
      `${recorded(recordedName.burnRate(sli, tier.long), s)} > ${tier.factor}`,
      `${recorded(recordedName.burnRate(sli, tier.short), s)} > ${tier.factor}`,
      ...enoughTraffic(s, tier),
    ];
    const days = Number((30 / tier.factor).toPrecision(2));
    const what = sli === 'availability' ? 'error budget' : 'latency budget';
    return {
      name: tier.alerts[sli],
      expr: conditions.join('\nand on (service)\n'),
      for: tier.for,
      severity: tier.severity,
      summary: `${s.name} is burning its ${what} ${tier.factor}x too fast`,
      description: `{{ $labels.service }} spends its ${what} (${objectiveText(s, sli)} over ${SLO_PERIOD}) at {{ $value | printf "%.1f" }}x the sustainable rate over ${tier.long}, and above ${tier.factor}x over ${tier.short}: at ${tier.factor}x the whole budget is gone in ${days} days.`,
    };
  }));
}
