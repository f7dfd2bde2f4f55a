/**
 * What the chart's alerts are called and which labels they can carry: the vocabulary Alertmanager
 * routes and inhibitions may match on, so the config can reject a matcher that never matches.
 */

export const ALERT_NAMES = {
  burnFast: 'ChatServiceErrorBudgetBurnFast',
  burnSlow: 'ChatServiceErrorBudgetBurnSlow',
  burnDaily: 'ChatServiceErrorBudgetBurnDaily',
  burnChronic: 'ChatServiceErrorBudgetBurnChronic',
  latencyBurnFast: 'ChatServiceLatencyBudgetBurnFast',
  latencyBurnSlow: 'ChatServiceLatencyBudgetBurnSlow',
  latencyBurnDaily: 'ChatServiceLatencyBudgetBurnDaily',
  latencyBurnChronic: 'ChatServiceLatencyBudgetBurnChronic',
  latencyP99: 'ChatServiceLatencyP99High',
  metricsAbsent: 'ChatServiceMetricsAbsent',
  websocketZero: 'ChatServiceWebSocketConnectionsZero',
  sampleLimit: 'ChatServiceSampleLimitExceeded',
  collectorDown: 'OtelCollectorDown',
  targetDown: 'ScrapeTargetDown',
  // The monitoring stack itself (lib/rules/stack-alerts.ts).
  ruleEvaluationFailures: 'PrometheusRuleEvaluationFailures',
  configReloadFailed: 'PrometheusConfigReloadFailed',
  compactionsFailing: 'PrometheusTSDBCompactionsFailing',
  notificationsFailing: 'PrometheusNotificationsFailing',
  notificationsDropped: 'PrometheusNotificationsDropped',
  alertmanagerNotificationsFailing: 'AlertmanagerNotificationsFailing',
  alertmanagerClusterMembersMissing: 'AlertmanagerClusterMembersMissing',
  operatorReconcileErrors: 'PrometheusOperatorReconcileErrors',
  operatorSyncFailed: 'PrometheusOperatorSyncFailed',
  collectorRefusingPoints: 'OtelCollectorRefusingPoints',
  collectorExportFailing: 'OtelCollectorExportFailing',
  collectorDroppingUnattributed: 'OtelCollectorDroppingUnattributedPoints',
  // Thanos (lib/thanos): Query always; the sidecars' uploads and the Compactor with long-term storage.
  thanosQuerySidecarsMissing: 'ThanosQuerySidecarsMissing',
  thanosUploadsFailing: 'ThanosSidecarUploadsFailing',
  thanosCompactorHalted: 'ThanosCompactorHalted',
  // Always firing: the heartbeat an outside dead man's switch expects (alertmanager.heartbeatReceiver).
  watchdog: 'Watchdog',
} as const;

export type AlertName = (typeof ALERT_NAMES)[keyof typeof ALERT_NAMES];

/**
 * critical pages; warning needs a look soon; ticket (the slow SLO burns) can wait for working hours;
 * none is the Watchdog's, which no person receives (its own route, to the heartbeat receiver).
 */
export const SEVERITIES = ['critical', 'warning', 'ticket', 'none'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * Every label an alert of this chart can reach Alertmanager with:
 * - `alertname`, `severity` on all; `service` on the per-service alerts (their expressions keep
 *   only `service`);
 * - `prometheus`, the external label the operator gives every alert (`<namespace>/<name>`; it
 *   drops `prometheus_replica` from alerts so replicas deduplicate);
 * - `ScrapeTargetDown` keeps its target's labels: `job`, `instance`, `namespace`, and those a
 *   ServiceMonitor adds (`service`, `pod`, `container`, `endpoint`);
 * - the stack's own alerts (stack-alerts.ts) keep `namespace` and, where it names the culprit:
 *   `pod`; `rule_group` (a Prometheus rule group failing to evaluate); `alertmanager` (the
 *   Alertmanager URL Prometheus fails to send to); `integration` (an Alertmanager integration
 *   failing: `webhook`, `slack`, `pagerduty`, `email`, ...); `controller` (the Prometheus
 *   Operator's controller: `prometheus`, `alertmanager`); `receiver` and `exporter` (the
 *   collector component refusing or failing points, e.g. `otlp`, `prometheus/chat-auth`).
 */
export const ALERT_LABEL_NAMES = [
  'alertname', 'severity', 'service', 'prometheus', 'job', 'instance', 'namespace', 'pod', 'container', 'endpoint',
  'rule_group', 'alertmanager', 'integration', 'controller', 'receiver', 'exporter',
] as const;
