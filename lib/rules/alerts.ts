import { ChartConfig, ChatServiceConfig } from '../config';
import { requestCounter, websocketConnections } from '../queries/http';
import { recorded, recordedName } from '../queries/recorded';
import { ALERT_NAMES, Severity } from './alert-catalog';
import { AlertingRule, RuleGroup } from './types';

/** Each alert's runbook is a section of the README; the anchor is the alert name in lower case. */
const runbook = (config: ChartConfig, alert: string) => `${config.runbookBaseUrl}#${alert.toLowerCase()}`;

/** An alerting rule with the chart's severity label, summary, description and runbook link. */
export function alert(config: ChartConfig, name: string, expr: string, forDuration: string, severity: Severity,
  labels: Record<string, string>, summary: string, description: string): AlertingRule {
  return { alert: name, expr, for: forDuration, labels: { severity, ...labels }, annotations: { summary, description, runbook_url: runbook(config, name) } };
}

/** Burn-rate factors from the multi-window, multi-burn-rate SLO alerting pattern (30-day budget). */
const FAST_BURN = { factor: 14.4, long: '1h', short: '5m', for: '2m' } as const;
const SLOW_BURN = { factor: 6, long: '6h', short: '30m', for: '15m' } as const;

export function serviceAlerts(config: ChartConfig, s: ChatServiceConfig): RuleGroup {
  const svc = { service: s.name };
  const budget = 1 - s.slo.availabilityPercent / 100;
  const burn = (b: typeof FAST_BURN | typeof SLOW_BURN) => {
    const threshold = Number((b.factor * budget).toPrecision(6));
    return `${recorded(recordedName.errorRatio(b.long), s)} > ${threshold}\nand\n${recorded(recordedName.errorRatio(b.short), s)} > ${threshold}`;
  };
  const w = config.recordingWindow;
  const rules: AlertingRule[] = [
    alert(config, ALERT_NAMES.burnFast, burn(FAST_BURN), FAST_BURN.for, 'critical', svc,
      `${s.name} is burning its error budget fast`,
      `{{ $labels.service }}: 5xx ratio is {{ $value | humanizePercentage }} over ${FAST_BURN.long} and ${FAST_BURN.short}, ${FAST_BURN.factor}x the rate that spends a ${s.slo.availabilityPercent}% monthly budget; at this pace the budget is gone in about two days.`),
    alert(config, ALERT_NAMES.burnSlow, burn(SLOW_BURN), SLOW_BURN.for, 'warning', svc,
      `${s.name} is burning its error budget`,
      `{{ $labels.service }}: 5xx ratio is {{ $value | humanizePercentage }} over ${SLOW_BURN.long} and ${SLOW_BURN.short}, ${SLOW_BURN.factor}x the rate that spends a ${s.slo.availabilityPercent}% monthly budget.`),
    alert(config, ALERT_NAMES.latencyP99, `${recorded(recordedName.latency(99, w), s)} > ${s.slo.p99LatencySeconds}`, '10m', 'warning', svc,
      `${s.name} p99 latency is above ${s.slo.p99LatencySeconds}s`,
      `{{ $labels.service }}: p99 latency is {{ $value | humanizeDuration }} (threshold ${s.slo.p99LatencySeconds}s) for 10 minutes.`),
    alert(config, ALERT_NAMES.metricsAbsent, `absent(${requestCounter(s)})`, '10m', 'warning', svc,
      `No HTTP metrics from ${s.name}`,
      `No ${requestCounter(s)} series for 10 minutes: the service is down, not exporting (${s.exportMode}), or its series lost the service label.`),
    // The target's job is the service's (its ServiceMonitor sets it). A failed scrape still reports
    // how many samples it returned, so this names the service and the size of the explosion.
    alert(config, ALERT_NAMES.sampleLimit, `max by (service) (scrape_samples_post_metric_relabeling{job="${s.name}"}) > ${s.sampleLimit}`, '2m', 'critical', svc,
      `${s.name}'s metrics exceed its sample limit and are not collected`,
      `{{ $labels.service }} returned {{ $value }} samples in one scrape, above its sampleLimit of ${s.sampleLimit}: the scrape fails and none of its metrics are stored until the cardinality is back under the limit (other services are unaffected).`),
  ];
  if (s.websocketGauge) {
    rules.push(alert(config, ALERT_NAMES.websocketZero,
      `${websocketConnections(s, s.websocketGauge)} == 0\nand on (service)\n${recorded(recordedName.requestRate(w), s)} > 0`,
      '5m', 'warning', svc,
      `${s.name} has no WebSocket connections while serving HTTP`,
      `{{ $labels.service }} reports 0 active WebSocket connections for 5 minutes while it still receives HTTP requests: clients cannot upgrade or are being dropped.`));
  }
  return { name: `${s.name}.alerts`, rules };
}

/** Alerts on the monitoring stack itself. */
export function platformAlerts(config: ChartConfig): RuleGroup {
  const push = config.services.some((s) => s.exportMode === 'push');
  return {
    name: 'chat-monitoring.platform',
    rules: [
      // The collector process, by its own metrics endpoint; each push service's exporter is its own
      // target (job = the service), reported by ScrapeTargetDown. No push service: no collector.
      ...(push ? [alert(config, ALERT_NAMES.collectorDown, `absent(up{job="otel-collector", namespace="${config.namespace}", endpoint="metrics"} == 1)`, '5m', 'critical', {},
        'The OpenTelemetry Collector is down',
        'Prometheus has not scraped a healthy otel-collector for 5 minutes: pushed (OTLP) chat metrics are not arriving.')] : []),
      alert(config, ALERT_NAMES.targetDown, 'up == 0', '5m', 'warning', {},
        'Scrape target {{ $labels.job }} is down',
        'Prometheus could not scrape {{ $labels.job }} ({{ $labels.instance }}, namespace {{ $labels.namespace }}) for 5 minutes.'),
    ],
  };
}
