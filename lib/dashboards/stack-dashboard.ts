import { UNATTRIBUTED_FILTER } from '../collector/collector-config';
import { ChartConfig } from '../config';
import { ALERT_NAMES } from '../rules/alert-catalog';
import { querySidecars, stackTargets } from '../rules/stack-alerts';
import { renderDashboard, RowSpec } from './panels';
import { STACK_DASHBOARD_UID } from './uids';

/**
 * The monitoring stack itself: the signals of its own alerts (lib/rules/stack-alerts.ts), read
 * raw from the components' self-metrics (a few series each, so no recording rules are needed).
 */
export function stackDashboard(config: ChartConfig): Record<string, unknown> {
  const t = stackTargets(config);
  const rate = (by: string, series: string) => `sum by (${by}) (rate(${series}[$__rate_interval]))`;
  const ratio = (by: string, failed: string, others: string) => `${rate(by, failed)}\n/\n(${rate(by, failed)} + ${rate(by, others)})`;
  const alertNote = (name: string) => `Alert: ${name}.`;

  const rows: RowSpec[] = [
    {
      title: 'Prometheus',
      columns: 3,
      panels: [
        { title: 'Rule evaluation failures per second', unit: 'ops', legend: '{{rule_group}}',
          expr: rate('rule_group', `prometheus_rule_evaluation_failures_total{${t.prometheus}}`),
          description: `Failed rule evaluations per second by rule group; a failing group's alerts can neither fire nor resolve. ${alertNote(ALERT_NAMES.ruleEvaluationFailures)}` },
        { title: 'Configuration reload successful', unit: 'bool', legend: '{{pod}}',
          expr: `max by (pod) (prometheus_config_last_reload_successful{${t.prometheus}})`,
          description: `1 when the last configuration reload of each Prometheus pod succeeded, 0 while it runs on an older configuration. ${alertNote(ALERT_NAMES.configReloadFailed)}` },
        { title: 'TSDB compaction failures per second', unit: 'ops', legend: '{{pod}}',
          expr: rate('pod', `prometheus_tsdb_compactions_failed_total{${t.prometheus}}`),
          description: `Failed TSDB compactions per second by Prometheus pod. ${alertNote(ALERT_NAMES.compactionsFailing)}` },
        { title: 'Alerts sent to Alertmanager per second', unit: 'ops', legend: '{{alertmanager}}',
          expr: rate('alertmanager', `prometheus_notifications_sent_total{${t.prometheus}}`),
          description: 'Alerts Prometheus delivered to each Alertmanager per second.' },
        { title: 'Alert send error ratio', unit: 'percentunit', legend: '{{alertmanager}}',
          expr: ratio('alertmanager', `prometheus_notifications_errors_total{${t.prometheus}}`, `prometheus_notifications_sent_total{${t.prometheus}}`),
          description: `Share of the alerts Prometheus tried to send to each Alertmanager that failed (errors / (errors + sent)). ${alertNote(ALERT_NAMES.notificationsFailing)}` },
        { title: 'Alerts dropped per second', unit: 'ops', legend: '{{alertmanager}}',
          expr: rate('alertmanager', `prometheus_notifications_dropped_total{${t.prometheus}}`),
          description: `Alerts Prometheus gave up on per second (a failed batch or a full queue): they reach no one. ${alertNote(ALERT_NAMES.notificationsDropped)}` },
      ],
    },
    {
      title: 'Alertmanager',
      panels: [
        { title: 'Notifications per second by integration', unit: 'ops', legend: '{{integration}}',
          expr: rate('integration', `alertmanager_notifications_total{${t.alertmanager}}`),
          description: 'Notifications Alertmanager attempted per second, by integration (webhook, slack, pagerduty, email).' },
        { title: 'Notification failure ratio by integration', unit: 'percentunit', legend: '{{integration}}',
          expr: `${rate('integration', `alertmanager_notifications_failed_total{${t.alertmanager}}`)}\n/\n${rate('integration', `alertmanager_notifications_total{${t.alertmanager}}`)}`,
          description: `Share of the attempted notifications that failed, by integration. ${alertNote(ALERT_NAMES.alertmanagerNotificationsFailing)}` },
        // Only a clustered Alertmanager (more than one replica) exposes its members.
        ...(config.alertmanager.replicas > 1 ? [{ title: 'Cluster members seen by each pod', unit: 'short', legend: '{{pod}}',
          expr: `max by (pod) (alertmanager_cluster_members{${t.alertmanager}})`,
          description: `Members of the Alertmanager cluster as each replica sees them; all should see ${config.alertmanager.replicas}. ${alertNote(ALERT_NAMES.alertmanagerClusterMembersMissing)}` }] : []),
      ],
    },
    {
      title: 'Prometheus Operator',
      panels: [
        { title: 'Reconcile error ratio by controller', unit: 'percentunit', legend: '{{controller}}',
          expr: `${rate('controller', `prometheus_operator_reconcile_errors_total{${t.operator}}`)}\n/\n${rate('controller', `prometheus_operator_reconcile_operations_total{${t.operator}}`)}`,
          description: `Share of the operator's reconciliations that failed, by controller (prometheus, alertmanager). ${alertNote(ALERT_NAMES.operatorReconcileErrors)}` },
        { title: 'Objects failing to sync by controller', unit: 'short', legend: '{{controller}}',
          expr: `max by (controller) (prometheus_operator_syncs{status="failed", ${t.operator}})`,
          description: `Objects (Prometheus, Alertmanager) whose last sync failed, by controller; they keep their previous configuration. ${alertNote(ALERT_NAMES.operatorSyncFailed)}` },
      ],
    },
    {
      title: 'Thanos',
      panels: [
        { title: 'Prometheus sidecars each Query pod reaches', unit: 'short', legend: '{{pod}}',
          expr: querySidecars('pod', t.thanosQuery),
          description: `StoreAPI connections of each Thanos Query pod to the Prometheus replicas' sidecars; all should reach ${config.prometheusReplicas}. ${alertNote(ALERT_NAMES.thanosQuerySidecarsMissing)}` },
      ],
    },
  ];
  // The collector runs only with a push service.
  if (config.services.some((s) => s.exportMode === 'push')) {
    const c = t.collector;
    rows.push({
      title: 'OpenTelemetry Collector',
      panels: [
        { title: 'Metric points accepted per second', unit: 'cps', legend: '{{receiver}}',
          expr: rate('receiver', `otelcol_receiver_accepted_metric_points{${c}}`),
          description: 'Data points the collector accepted from the chat services per second, by receiver.' },
        { title: 'Metric points refused per second', unit: 'cps', legend: '{{receiver}}',
          expr: rate('receiver', `otelcol_receiver_refused_metric_points{${c}}`),
          description: `Data points the collector refused per second (usually its memory limiter), by receiver. ${alertNote(ALERT_NAMES.collectorRefusingPoints)}` },
        { title: 'Metric points failed to export per second', unit: 'cps', legend: '{{exporter}}',
          expr: rate('exporter', `otelcol_exporter_send_failed_metric_points{${c}}`),
          description: `Data points an exporter (one per push service) failed to export per second. ${alertNote(ALERT_NAMES.collectorExportFailing)}` },
        { title: 'Unattributed points dropped per second', unit: 'cps', legend: '{{namespace}}',
          expr: rate('namespace', `{__name__="otelcol_processor_filter_datapoints.filtered", filter="${UNATTRIBUTED_FILTER}", ${c}}`),
          description: `Data points dropped by ${UNATTRIBUTED_FILTER} per second: sent by a pod no configured service claims. ${alertNote(ALERT_NAMES.collectorDroppingUnattributed)}` },
      ],
    });
  }
  return renderDashboard({
    uid: STACK_DASHBOARD_UID,
    title: 'Chat / Monitoring stack',
    description: 'Whether the monitoring itself works: rule evaluation, alert delivery, the operator, Thanos Query and the collector.',
    tags: ['stack'],
    rows,
  });
}
