import { ChartConfig, ChatServiceConfig } from '../config';
import { NAMES } from '../labels';
import { requestCounter, requestCounterAbsent, websocketConnections } from '../queries/http';
import { recorded, recordedName } from '../queries/recorded';
import { ALERT_NAMES, Severity } from './alert-catalog';
import { burnAlerts } from './slo';
import { AlertingRule, RuleGroup } from './types';

/** Each alert's runbook is a section of the README; the anchor is the alert name in lower case. */
const runbook = (config: ChartConfig, alert: string) => `${config.runbookBaseUrl}#${alert.toLowerCase()}`;

/** An alerting rule with the chart's severity label, summary, description and runbook link. */
export function alert(config: ChartConfig, name: string, expr: string, forDuration: string, severity: Severity,
  labels: Record<string, string>, summary: string, description: string): AlertingRule {
  return { alert: name, expr, for: forDuration, labels: { severity, ...labels }, annotations: { summary, description, runbook_url: runbook(config, name) } };
}

export function serviceAlerts(config: ChartConfig, s: ChatServiceConfig): RuleGroup {
  const svc = { service: s.name };
  const w = config.recordingWindow;
  const rules: AlertingRule[] = [
    ...burnAlerts(s).map((b) => alert(config, b.name, b.expr, b.for, b.severity, svc, b.summary, b.description)),
    alert(config, ALERT_NAMES.latencyP99, `${recorded(recordedName.latency(99, w), s)} > ${s.slo.p99LatencySeconds}`, '10m', 'warning', svc,
      `${s.name} p99 latency is above ${s.slo.p99LatencySeconds}s`,
      `{{ $labels.service }}: p99 latency is {{ $value | humanizeDuration }} (threshold ${s.slo.p99LatencySeconds}s) for 10 minutes.`),
    alert(config, ALERT_NAMES.metricsAbsent, requestCounterAbsent(config, s), '10m', 'warning', svc,
      `No HTTP metrics from ${s.name}`,
      `No ${requestCounter(s)} series for 10 minutes: the service is down, not exporting (${s.exportMode}), or its series lost the service label.`),
    // The target's job is the service's (its ServiceMonitor sets it). A failed scrape still reports
    // how many samples it returned, so this names the service and the size of the explosion.
    alert(config, ALERT_NAMES.sampleLimit, `max by (service) (scrape_samples_post_metric_relabeling{job="${s.name}"}) > ${s.sampleLimit}`, '2m', 'critical', svc,
      `${s.name}'s metrics exceed its sample limit and are not collected`,
      `{{ $labels.service }} returned {{ $value }} samples in one scrape, above its sampleLimit of ${s.sampleLimit}: the scrape fails and none of the metrics in it are stored (with several collector replicas: those of its pods on that replica) until the cardinality is back under the limit (other services are unaffected).`),
  ];
  if (s.websocketGauge) {
    // The SDK exports no series for an UpDownCounter never added to, so after a deploy where every
    // upgrade fails the gauge is absent, not 0: "absent or 0" while the service's pods report
    // (HTTP metrics; WebSocket traffic itself records none, so request rate is no sign of life).
    rules.push(alert(config, ALERT_NAMES.websocketZero,
      `${recorded(recordedName.instances, s)} > 0\nunless on (service)\n${websocketConnections(config, s, s.websocketGauge)} > 0`,
      '5m', 'warning', svc,
      `${s.name} has no WebSocket connections`,
      `{{ $labels.service }} has had no open WebSocket connection for 5 minutes (the gauge is 0 or was never reported) while {{ $value }} of its pods are up: clients cannot upgrade or are being dropped.`));
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
      ...(push ? [alert(config, ALERT_NAMES.collectorDown, `absent(up{job="${NAMES.collector}", namespace="${config.namespace}", endpoint="metrics"} == 1)`, '5m', 'critical', {},
        'The OpenTelemetry Collector is down',
        'Prometheus has not scraped a healthy otel-collector for 5 minutes: pushed (OTLP) chat metrics are not arriving.')] : []),
      alert(config, ALERT_NAMES.targetDown, 'up == 0', '5m', 'warning', {},
        'Scrape target {{ $labels.job }} is down',
        'Prometheus could not scrape {{ $labels.job }} ({{ $labels.instance }}, namespace {{ $labels.namespace }}) for 5 minutes.'),
      // A dead man's switch: every other alert needs Prometheus evaluating and Alertmanager sending,
      // so only an outside service that stops hearing this one can tell that the stack is down.
      alert(config, ALERT_NAMES.watchdog, 'vector(1)', '0s', 'none', {},
        'Alerting pipeline heartbeat (always firing)',
        'Always firing while Prometheus evaluates rules and Alertmanager sends notifications: the heartbeat receiver (alertmanager.heartbeatReceiver) gets it every alertmanager.heartbeatInterval. When the outside dead man\'s switch stops hearing it, the monitoring stack itself is down.'),
    ],
  };
}
