/**
 * Alerts on the monitoring stack itself: the failures that leave every dashboard and chat alert
 * looking fine while they silently stop working (rules not evaluated, alerts not delivered, an
 * operator that no longer applies changes, a collector losing points). The signals are the ones
 * the upstream Prometheus, Alertmanager and Prometheus Operator mixins and the Collector's
 * monitoring guide single out; the thresholds and `for` durations are this chart's own.
 */
import { UNATTRIBUTED_FILTER } from '../collector/collector-config';
import { ChartConfig } from '../config';
import { NAMES } from '../labels';
import { Prometheus } from '../prometheus/prometheus';
import { THANOS_PORT_NAMES } from '../thanos/thanos-component';
import { ALERT_NAMES } from './alert-catalog';
import { alert } from './alerts';
import { RuleGroup } from './types';

/**
 * Each component's own metrics target, as its ServiceMonitor labels it: job = the Service's name,
 * endpoint = the scraped port's name (the operated Prometheus and Alertmanager also have a
 * `reloader-web` endpoint, the config reloader's, which is not this one), in the chart's namespace.
 */
export function stackTargets(config: ChartConfig) {
  const target = (job: string, endpoint: string) => `job="${job}", namespace="${config.namespace}", endpoint="${endpoint}"`;
  return {
    prometheus: target(NAMES.prometheus, 'web'),
    alertmanager: target(NAMES.alertmanager, 'web'),
    operator: target(NAMES.operator, 'http'),
    collector: target(NAMES.collector, 'metrics'),
    // The sidecar's port on the Prometheus Service; Query's and the Compactor's own Services.
    thanosSidecar: target(NAMES.prometheus, Prometheus.SIDECAR_PORT_NAME),
    thanosQuery: target(NAMES.thanosQuery, THANOS_PORT_NAMES.http),
    thanosCompactor: target(NAMES.thanosCompactor, THANOS_PORT_NAMES.http),
  };
}

/** `failed / total > threshold` per `by`, both as per-second rates over 5 minutes. */
const failedShare = (by: string, failed: string, total: string, threshold: number) =>
  `sum by (${by}) (rate(${failed}[5m]))\n/\n${total}\n> ${threshold}`;
const rateSum = (by: string, series: string) => `sum by (${by}) (rate(${series}[5m]))`;

/**
 * How many Prometheus sidecars each Thanos Query pod reaches, per `by` (which holds `pod`). Query
 * exposes a series per connected StoreAPI kind and label set, and none where it reaches no sidecar:
 * the pod's `up` stands in for that zero (Thanos v0.42.5 pkg/query/endpointset.go).
 */
export const querySidecars = (by: string, queryTarget: string) =>
  `sum by (${by}) (thanos_store_nodes_grpc_connections{store_type="sidecar", ${queryTarget}})\nor\n0 * max by (${by}) (up{${queryTarget}})`;

function thanosQuerySidecarsMissing(config: ChartConfig, queryTarget: string) {
  const replicas = config.prometheusReplicas;
  // A replica rolling or rescheduled is back within minutes; 15 minutes means one is gone.
  return alert(config, ALERT_NAMES.thanosQuerySidecarsMissing, `(\n${querySidecars('namespace, pod', queryTarget)}\n)\n< ${replicas}`, '15m', 'warning', {},
    'Thanos Query does not reach every Prometheus replica',
    `{{ $labels.pod }} has reached {{ $value }} of the ${replicas} Prometheus replicas' sidecars for 15 minutes: what only the others hold is missing from its answers, and high availability is lost.`);
}

export function stackAlerts(config: ChartConfig): RuleGroup {
  const t = stackTargets(config);
  const push = config.services.some((s) => s.exportMode === 'push');
  const amReplicas = config.alertmanager.replicas;

  // Prometheus 3.13 counts an alert batch that failed in errors_total only, not in sent_total
  // (which counts delivered alerts): the attempts are their sum. Both start at 0 with each
  // Alertmanager's send loop, so neither side of the ratio is ever missing.
  const notifyErrors = `prometheus_notifications_errors_total{${t.prometheus}}`;
  const notifyBy = 'namespace, pod, alertmanager';
  // The collector's counters carry no _total (collector 0.152 with an explicit Prometheus reader).
  // The receiver records accepted and refused together (refused at 0 from the first batch); the
  // exporter's send_failed appears with the first failure, and sent only with a success: an
  // exporter that never succeeded counts as 0 sent, not as no data.
  const refused = `otelcol_receiver_refused_metric_points{${t.collector}}`;
  const accepted = `otelcol_receiver_accepted_metric_points{${t.collector}}`;
  const sendFailed = `otelcol_exporter_send_failed_metric_points{${t.collector}}`;
  const sent = `otelcol_exporter_sent_metric_points{${t.collector}}`;
  // A dot in the name: Prometheus 3 keeps the collector's UTF-8 name, so it is selected by __name__.
  const unattributed = `{__name__="otelcol_processor_filter_datapoints.filtered", filter="${UNATTRIBUTED_FILTER}", ${t.collector}}`;

  return {
    name: 'chat-monitoring.stack',
    rules: [
      // A failing group leaves its alerts unevaluated: they can neither fire nor resolve.
      alert(config, ALERT_NAMES.ruleEvaluationFailures,
        `${rateSum('namespace, pod, rule_group', `prometheus_rule_evaluation_failures_total{${t.prometheus}}`)} > 0`, '15m', 'critical', {},
        'Prometheus fails to evaluate rule group {{ $labels.rule_group }}',
        '{{ $labels.pod }} has failed evaluations of rule group {{ $labels.rule_group }} for 15 minutes ({{ $value | humanize }} per second): its alerts and recorded series are missing or stale.'),
      // Prometheus keeps running on its last good configuration: new targets and rules wait.
      alert(config, ALERT_NAMES.configReloadFailed,
        `max by (namespace, pod) (prometheus_config_last_reload_successful{${t.prometheus}}) == 0`, '10m', 'warning', {},
        'Prometheus cannot load its configuration',
        '{{ $labels.pod }} rejected its last configuration reload 10 minutes ago or more and still runs on the previous one: changed ServiceMonitors and rules are not applied.'),
      // The head compacts into a block about every 2 hours, so a 3-hour window holds at least one
      // attempt; a `for` longer than the window keeps one transient failure from firing.
      alert(config, ALERT_NAMES.compactionsFailing,
        `sum by (namespace, pod) (increase(prometheus_tsdb_compactions_failed_total{${t.prometheus}}[3h])) > 0`, '4h', 'warning', {},
        'Prometheus TSDB compactions are failing',
        '{{ $labels.pod }} had {{ $value | humanize }} failed compactions in the last 3 hours, for 4 hours: the in-memory head keeps growing and the disk may be full or a block corrupt.'),
      alert(config, ALERT_NAMES.notificationsFailing,
        failedShare(notifyBy, notifyErrors, `(${rateSum(notifyBy, notifyErrors)} + ${rateSum(notifyBy, `prometheus_notifications_sent_total{${t.prometheus}}`)})`, 0.01),
        '10m', 'critical', {},
        'Prometheus cannot send alerts to Alertmanager',
        '{{ $labels.pod }} failed to send {{ $value | humanizePercentage }} of its alerts to {{ $labels.alertmanager }} for 10 minutes: those alerts reach no one.'),
      // Dropped: a failed batch (counted above as well) or a full queue; either way the alerts are lost.
      alert(config, ALERT_NAMES.notificationsDropped,
        `${rateSum(notifyBy, `prometheus_notifications_dropped_total{${t.prometheus}}`)} > 0`, '10m', 'warning', {},
        'Prometheus is dropping alerts',
        '{{ $labels.pod }} has been dropping alerts meant for {{ $labels.alertmanager }} for 10 minutes ({{ $value | humanize }} per second).'),
      alert(config, ALERT_NAMES.alertmanagerNotificationsFailing,
        failedShare('namespace, integration', `alertmanager_notifications_failed_total{${t.alertmanager}}`,
          rateSum('namespace, integration', `alertmanager_notifications_total{${t.alertmanager}}`), 0.01),
        '10m', 'critical', {},
        'Alertmanager notifications via {{ $labels.integration }} are failing',
        'Alertmanager failed {{ $value | humanizePercentage }} of its {{ $labels.integration }} notifications for 10 minutes: receivers using it are not notified.'),
      // Without clustering (one replica) Alertmanager exposes no cluster metrics: nothing to compare.
      ...(amReplicas > 1 ? [alert(config, ALERT_NAMES.alertmanagerClusterMembersMissing,
        `max by (namespace, pod) (alertmanager_cluster_members{${t.alertmanager}}) < ${amReplicas}`, '15m', 'warning', {},
        'Alertmanager cluster is missing members',
        `{{ $labels.pod }} sees {{ $value }} cluster members instead of ${amReplicas} for 15 minutes: replicas that cannot gossip share no silences and send duplicate notifications.`)] : []),
      alert(config, ALERT_NAMES.operatorReconcileErrors,
        failedShare('namespace, controller', `prometheus_operator_reconcile_errors_total{${t.operator}}`,
          rateSum('namespace, controller', `prometheus_operator_reconcile_operations_total{${t.operator}}`), 0.1),
        '10m', 'warning', {},
        'Prometheus Operator fails to reconcile {{ $labels.controller }}',
        '{{ $value | humanizePercentage }} of the operator\'s {{ $labels.controller }} reconciliations failed for 10 minutes: changes to that resource are not applied.'),
      // A gauge: how many objects of the controller are in a failed state now.
      alert(config, ALERT_NAMES.operatorSyncFailed,
        `max by (namespace, controller) (prometheus_operator_syncs{status="failed", ${t.operator}}) > 0`, '10m', 'warning', {},
        'Prometheus Operator cannot sync a {{ $labels.controller }} object',
        '{{ $value }} {{ $labels.controller }} object(s) have failed to sync for 10 minutes; the running one keeps its previous configuration (a missing Secret or key, an invalid field).'),
      // The collector exists only with a push service (as OtelCollectorDown).
      ...(push ? [
        alert(config, ALERT_NAMES.collectorRefusingPoints,
          failedShare('namespace, receiver', refused, `(${rateSum('namespace, receiver', refused)} + ${rateSum('namespace, receiver', accepted)})`, 0.01),
          '5m', 'warning', {},
          'The OpenTelemetry Collector is refusing metric points',
          'The collector\'s {{ $labels.receiver }} receiver refused {{ $value | humanizePercentage }} of the pushed points for 5 minutes (usually its memory limiter): chat metrics have gaps.'),
        alert(config, ALERT_NAMES.collectorExportFailing,
          failedShare('namespace, exporter', sendFailed,
            `(${rateSum('namespace, exporter', sendFailed)} + (${rateSum('namespace, exporter', sent)} or 0 * ${rateSum('namespace, exporter', sendFailed)}))`, 0.01),
          '5m', 'warning', {},
          'The OpenTelemetry Collector fails to export via {{ $labels.exporter }}',
          'The collector\'s {{ $labels.exporter }} exporter failed to export {{ $value | humanizePercentage }} of its points for 5 minutes: that service\'s metrics have gaps.'),
        // Single drops happen (a sender the pod cache has not seen yet); a sustained stream means a
        // pod that no configured service claims keeps pushing.
        alert(config, ALERT_NAMES.collectorDroppingUnattributed,
          `${rateSum('namespace', unattributed)} > 0`, '10m', 'warning', {},
          'The OpenTelemetry Collector is dropping points of no chat service',
          `For 10 minutes the collector has been dropping {{ $value | humanize }} points per second in ${UNATTRIBUTED_FILTER}: a pod that matches no configured service (namespace and selector labels) is pushing, and its metrics are not stored.`),
      ] : []),
      thanosQuerySidecarsMissing(config, t.thanosQuery),
      // Only with an object store: without one the sidecars upload nothing and no Compactor runs.
      ...(config.thanos.objectStorage ? [
        // The shipper retries every block not yet uploaded at each sync (every 30 s): a broken
        // bucket or credential counts failures steadily, a single transient one leaves the window.
        // A bucket it cannot reach fails its existence check first, which counts as a failed sync,
        // not a failed upload (the store smoke test saw only that one grow): both count. Both
        // counters exist from the sidecar's start, so neither side of the sum is ever missing.
        // Blocks stay on the Prometheus volume meanwhile; past its retention they are lost.
        alert(config, ALERT_NAMES.thanosUploadsFailing,
          `${rateSum('namespace, pod', `thanos_shipper_dir_sync_failures_total{${t.thanosSidecar}}`)}\n+\n${rateSum('namespace, pod', `thanos_shipper_upload_failures_total{${t.thanosSidecar}}`)}\n> 0`, '15m', 'warning', {},
          'Thanos sidecar cannot upload blocks to the object store',
          '{{ $labels.pod }}\'s Thanos sidecar has been failing to ship blocks to the object store for 15 minutes ({{ $value | humanize }} failed syncs or uploads per second): long-term storage misses its data, which is lost once the local retention passes.'),
        // Halted on an error it cannot retry (overlapping or corrupt blocks): it stays up but does
        // nothing until a person repairs the bucket.
        alert(config, ALERT_NAMES.thanosCompactorHalted,
          `max by (namespace, pod) (thanos_compact_halted{${t.thanosCompactor}}) == 1`, '5m', 'warning', {},
          'Thanos Compactor has halted',
          '{{ $labels.pod }} halted on an error it cannot retry: no compaction, downsampling or retention is applied in the object store until the bucket is repaired (see its log).'),
      ] : []),
    ],
  };
}
