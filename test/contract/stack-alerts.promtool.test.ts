/**
 * The stack's own alerts (lib/rules/stack-alerts.ts) at their edges, with promtool, and every panel
 * of the monitoring-stack dashboard on known series.
 *
 * Alerts: silent just below the threshold and just before `for` elapses, firing just above and just
 * after, and silent for the same failure in another namespace (another install's Prometheus or
 * collector). Thresholds, `for` durations and severities are stated here, never read back from
 * the rules. Inputs are the components' self-metrics under the labels the chart's ServiceMonitors
 * give their targets (job = the Service, endpoint = the port's name), written literally.
 *
 * The rules are dist/'s platform PrometheusRule, with its default 3 Alertmanager replicas;
 * AlertmanagerClusterMembersMissing exists only with a clustered Alertmanager, so a single replica's
 * PrometheusRule is checked to differ from dist/'s by that alert alone.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';
import { durationSeconds } from '../../lib/config';
import { ALERT_LABEL_NAMES } from '../../lib/rules/alert-catalog';
import { configWith, defaultConfig, K8sObject, readDist, synthObjects } from '../support/manifests';
import { describeWithPrometheus, promtool } from '../support/prometheus';
import { grafanaInterpolate, panelsOf } from './panel-proof';

const config = defaultConfig(); // what `npm run synth` built dist/ and dashboards/ from
const NS = config.namespace;
const STEP = durationSeconds(config.scrapeInterval);
const ROOT = join(__dirname, '..', '..');

// ---- stated: the design of the stack's alerts (README, Runbooks) ----
const CLUSTER_REPLICAS = 3;
/** The chart's Prometheus replicas by default, each with a sidecar Query should reach. */
const PROMETHEUS_REPLICAS = 2;
interface Design { for: number; severity: 'critical' | 'warning'; threshold?: number }
const DESIGN = {
  PrometheusRuleEvaluationFailures: { for: 15 * 60, severity: 'critical' },
  PrometheusConfigReloadFailed: { for: 10 * 60, severity: 'warning' },
  PrometheusTSDBCompactionsFailing: { for: 4 * 3600, severity: 'warning' },
  PrometheusNotificationsFailing: { for: 10 * 60, severity: 'critical', threshold: 0.01 },
  PrometheusNotificationsDropped: { for: 10 * 60, severity: 'warning' },
  AlertmanagerNotificationsFailing: { for: 10 * 60, severity: 'critical', threshold: 0.01 },
  AlertmanagerClusterMembersMissing: { for: 15 * 60, severity: 'warning', threshold: CLUSTER_REPLICAS },
  PrometheusOperatorReconcileErrors: { for: 10 * 60, severity: 'warning', threshold: 0.1 },
  PrometheusOperatorSyncFailed: { for: 10 * 60, severity: 'warning' },
  OtelCollectorRefusingPoints: { for: 5 * 60, severity: 'warning', threshold: 0.01 },
  OtelCollectorExportFailing: { for: 5 * 60, severity: 'warning', threshold: 0.01 },
  OtelCollectorDroppingUnattributedPoints: { for: 10 * 60, severity: 'warning' },
  ThanosQuerySidecarsMissing: { for: 15 * 60, severity: 'warning', threshold: PROMETHEUS_REPLICAS },
  ThanosSidecarUploadsFailing: { for: 15 * 60, severity: 'warning' },
  ThanosCompactorHalted: { for: 5 * 60, severity: 'warning' },
} satisfies Record<string, Design>;
type AlertName = keyof typeof DESIGN;
/** "Just": 0.1 % of a ratio threshold either side. */
const EDGE = 0.001;

// ---- the rules: dist/'s platform PrometheusRule (3 Alertmanager replicas), and the same with a single replica ----
const PLATFORM = 'chat-monitoring-platform';
const STACK_GROUP = 'chat-monitoring.stack';
const platformRule = (objects: K8sObject[]) => objects.find((o) => o.kind === 'PrometheusRule' && o.metadata.name === PLATFORM)!;
const DIST_RULE = platformRule(readDist(join(ROOT, 'dist')).flatMap((f) => f.objects));
const SINGLE_RULE = platformRule(synthObjects(configWith({ alertmanager: { replicas: 1 } })));
/** dist/'s config with long-term storage: the Thanos alerts too. Its rules are the ones promtool runs. */
const STORE_RULE = platformRule(synthObjects(configWith({ thanos: { objectStorage: { egressCidrs: ['10.0.0.0/8'] } } })));
const stackRules = (o: K8sObject): { alert: string }[] => o.spec.groups.find((g: { name: string }) => g.name === STACK_GROUP).rules;

// ---- the targets, as the chart's ServiceMonitors label them ----
const target = (job: string, endpoint: string, pod: string, port: number, ns: string) =>
  `job="${job}",namespace="${ns}",service="${job}",endpoint="${endpoint}",pod="${pod}",container="${job}",instance="10.244.0.7:${port}"`;
const PROMETHEUS_POD = 'prometheus-chat-monitoring-0';
const prometheus = (ns: string, pod = PROMETHEUS_POD) => target('prometheus', 'web', pod, 9090, ns);
const alertmanager = (ns: string, pod = 'alertmanager-chat-monitoring-0') => target('alertmanager', 'web', pod, 9093, ns);
const OPERATOR_POD = 'prometheus-operator-5d8c9f7b6-q2w4e';
const operator = (ns: string) => target('prometheus-operator', 'http', OPERATOR_POD, 8080, ns);
const sidecar = (ns: string) => target('prometheus', 'thanos-sidecar', PROMETHEUS_POD, 10902, ns);
const COMPACTOR_POD = 'thanos-compactor-0';
const QUERY_PODS = ['thanos-query-6b8d9c7f5-h4j2k', 'thanos-query-6b8d9c7f5-m7n3p'];
const query = (ns: string, pod: string) => target('thanos-query', 'http', pod, 10902, ns);
/**
 * A Query pod's StoreAPI connections as it exposes them: one series per connected kind and label
 * set (none where it reaches none), `sidecars` of them to sidecars plus one Store Gateway; and its `up`.
 */
const queryConnections = (ns: string, pod: string, sidecars: number, steps: number, per = 1) => [
  ...[...Array(sidecars).keys()].map((i) => series('thanos_store_nodes_grpc_connections',
    `${query(ns, pod)},store_type="sidecar",external_labels="{prometheus=\\"${ns}/chat-monitoring\\", prometheus_replica=\\"prometheus-chat-monitoring-${i}\\"}"`, constant(per, steps))),
  series('thanos_store_nodes_grpc_connections', `${query(ns, pod)},store_type="store",external_labels="{}"`, constant(2, steps)),
  series('up', query(ns, pod), constant(1, steps)),
];
const compactor = (ns: string) => target('thanos-compactor', 'http', COMPACTOR_POD, 10902, ns);
const COLLECTOR_POD = 'otel-collector-7f9c6d5b4-x8k2m';
const collector = (ns: string) => target('otel-collector', 'metrics', COLLECTOR_POD, 8888, ns);
const AM_URL = 'http://10.244.0.30:9093/api/v2/alerts';
const RULE_GROUP = '/etc/prometheus/rules/prometheus-chat-monitoring-rulefiles-0/monitoring-chat-auth.yaml;chat-auth.rules';
const UNATTRIBUTED = 'otelcol_processor_filter_datapoints.filtered';

interface InputSeries { series: string; values: string }
const counter = (perStep: number, steps: number) => `0+${perStep}x${steps}`;
const constant = (v: number, steps: number) => `${v}x${steps}`;
const series = (name: string, labels: string, values: string): InputSeries =>
  // Names with a dot (the collector's, kept by Prometheus 3) only as a quoted __name__.
  ({ series: /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name) ? `${name}{${labels}}` : `{__name__="${name}",${labels}}`, values });
const stepsFor = (seconds: number) => Math.ceil(seconds / STEP) + 4;
const at = (seconds: number) => `${seconds}s`;

/** A counter pair where `share` of every step's `total` failed: the failure counter and its partner (the other outcome, or all attempts). */
function shareOf(share: number, total = 1_000_000) {
  const failed = Math.round(total * share);
  return { failed, rest: total - failed, total, actual: failed / total };
}

/**
 * A rate needs two samples, so a condition on a rate is first true one step after its series start;
 * one on a gauge at the first evaluation. The alert fires at the first evaluation at least `for` after.
 */
function timing(alert: AlertName, onRate: boolean) {
  const activeAt = onRate ? STEP : 0;
  const firesAt = activeAt + Math.ceil(DESIGN[alert].for / STEP) * STEP;
  return { justBefore: firesAt - STEP, justAfter: firesAt, settled: firesAt + 2 * STEP };
}

interface Check { name: string; series: InputSeries[]; at: string; firing: boolean; labels: Record<string, string>[] }
/**
 * `clustered`: the alert exists only with more than one Alertmanager replica; `objectStore`: only
 * with Thanos's object storage configured.
 */
interface Edges { alert: AlertName; clustered?: boolean; objectStore?: boolean; checks: Check[] }

/**
 * The four edges plus "another namespace": `input(level, ns)` is the input at a level (below,
 * above, clear: twice the threshold or the plain failure), `labels(ns)` what the alert fires with.
 */
function edgesOf(alert: AlertName, onRate: boolean, below: { name: string; level: number }, above: { name: string; level: number }, clear: number,
  input: (level: number, ns: string, steps: number) => InputSeries[], labels: Record<string, string>): Edges {
  const t = timing(alert, onRate);
  const steps = stepsFor(t.settled);
  const firing = [{ severity: DESIGN[alert].severity, namespace: NS, ...labels }];
  return {
    alert,
    checks: [
      { name: below.name, series: input(below.level, NS, steps), at: at(t.settled), firing: false, labels: [] },
      { name: above.name, series: input(above.level, NS, steps), at: at(t.settled), firing: true, labels: firing },
      { name: 'just before its for elapses', series: input(clear, NS, steps), at: at(t.justBefore), firing: false, labels: [] },
      { name: 'just after its for elapses', series: input(clear, NS, steps), at: at(t.justAfter), firing: true, labels: firing },
      { name: 'the same failure in another namespace', series: input(clear, 'elsewhere', steps), at: at(t.settled), firing: false, labels: [] },
    ],
  };
}

/** A ratio alert: just below and just above its threshold, twice the threshold for the `for` edges. */
function ratioEdges(alert: AlertName, input: (share: number, ns: string, steps: number) => InputSeries[], labels: Record<string, string>): Edges {
  const threshold = (DESIGN[alert] as Design).threshold!;
  const below = shareOf(threshold * (1 - EDGE));
  const above = shareOf(threshold * (1 + EDGE));
  expect([below.actual < threshold, above.actual > threshold]).toEqual([true, true]);
  return edgesOf(alert, true, { name: `just below ${threshold} failed (${below.actual})`, level: below.actual },
    { name: `just above ${threshold} failed (${above.actual})`, level: above.actual }, threshold * 2, input, labels);
}

/** An alert on any failure at all: none (a flat counter) is silent, one a scrape interval fires. */
function anyEdges(alert: AlertName, input: (perStep: number, ns: string, steps: number) => InputSeries[], labels: Record<string, string>): Edges {
  return edgesOf(alert, true, { name: 'no failure (the counter flat)', level: 0 }, { name: 'one failure a scrape interval', level: 1 }, 1, input, labels);
}

function edges(): Edges[] {
  const compactions = (): Edges => {
    const alert = 'PrometheusTSDBCompactionsFailing';
    const t = timing(alert, true);
    const steps = stepsFor(t.settled);
    const failed = (values: string, ns = NS) => [series('prometheus_tsdb_compactions_failed_total', prometheus(ns), values)];
    const labels = [{ severity: DESIGN[alert].severity, namespace: NS, pod: PROMETHEUS_POD }];
    // A compaction is tried about every 2 hours: one failure each time, the slowest a failing TSDB counts.
    const perStep = (2 * 3600) / STEP;
    const everyCompaction = ['0', ...[1, 2, 3, 4].map((n) => `${n}x${perStep - 1}`)].join(' ');
    return {
      alert,
      checks: [
        { name: 'no failure (the counter flat)', series: failed(constant(0, steps)), at: at(t.settled), firing: false, labels: [] },
        { name: 'one failure every compaction (2 hours)', series: failed(everyCompaction), at: at(t.settled), firing: true, labels },
        // It leaves the 3-hour window before the 4-hour `for` is over.
        { name: 'one failure only, then none', series: failed(`0 1x${steps}`), at: at(t.settled), firing: false, labels: [] },
        { name: 'just before its for elapses', series: failed(counter(1, steps)), at: at(t.justBefore), firing: false, labels: [] },
        { name: 'just after its for elapses', series: failed(counter(1, steps)), at: at(t.justAfter), firing: true, labels },
        { name: 'the same failure in another namespace', series: failed(counter(1, steps), 'elsewhere'), at: at(t.settled), firing: false, labels: [] },
      ],
    };
  };

  // Gauges: the condition holds from the first sample.
  const reload = edgesOf('PrometheusConfigReloadFailed', false, { name: 'last reload successful (1)', level: 1 }, { name: 'last reload failed (0)', level: 0 }, 0,
    (v, ns, steps) => [series('prometheus_config_last_reload_successful', prometheus(ns), constant(v, steps))], { pod: PROMETHEUS_POD });

  const members = (): Edges => {
    const alert = 'AlertmanagerClusterMembersMissing';
    const pods = [0, 1, 2].map((i) => `alertmanager-chat-monitoring-${i}`);
    // Every replica reports what it sees; one of them sees `n`, the others all replicas.
    const seen = (n: number, ns: string, steps: number) => pods.map((pod, i) => series('alertmanager_cluster_members', alertmanager(ns, pod), constant(i === 2 ? n : CLUSTER_REPLICAS, steps)));
    const e = edgesOf(alert, false, { name: `all ${CLUSTER_REPLICAS} members seen`, level: CLUSTER_REPLICAS },
      { name: `one replica sees ${CLUSTER_REPLICAS - 1}`, level: CLUSTER_REPLICAS - 1 }, CLUSTER_REPLICAS - 1, seen, { pod: pods[2] });
    return { ...e, clustered: true };
  };

  // send_failed exists from the first failure, sent from the first success (collector 0.152).
  const exportEdges = (): Edges => {
    const alert = 'OtelCollectorExportFailing';
    const exporter = (ns: string) => `${collector(ns)},exporter="prometheus/chat-auth"`;
    const e = ratioEdges(alert, (share, ns, steps) => {
      const s = shareOf(share);
      return [
        series('otelcol_exporter_sent_metric_points', exporter(ns), counter(s.rest, steps)),
        series('otelcol_exporter_send_failed_metric_points', exporter(ns), counter(s.failed, steps)),
      ];
    }, { exporter: 'prometheus/chat-auth' });
    const t = timing(alert, true);
    const steps = stepsFor(t.settled);
    return {
      ...e,
      checks: [...e.checks,
        { name: 'every export failing, no success ever (no sent series)', series: [series('otelcol_exporter_send_failed_metric_points', exporter(NS), counter(100, steps))],
          at: at(t.settled), firing: true, labels: [{ severity: DESIGN[alert].severity, namespace: NS, exporter: 'prometheus/chat-auth' }] },
        { name: 'no failure ever (no send_failed series)', series: [series('otelcol_exporter_sent_metric_points', exporter(NS), counter(100, steps))],
          at: at(t.settled), firing: false, labels: [] }],
    };
  };

  const syncFailed = edgesOf('PrometheusOperatorSyncFailed', false, { name: 'no object failed (0), one ok', level: 0 }, { name: 'one object failed (1)', level: 1 }, 1,
    (n, ns, steps) => [
      series('prometheus_operator_syncs', `${operator(ns)},controller="alertmanager",status="failed"`, constant(n, steps)),
      series('prometheus_operator_syncs', `${operator(ns)},controller="alertmanager",status="ok"`, constant(1, steps)),
    ], { controller: 'alertmanager' });

  // Each Query pod against the replica count; store connections never count.
  const querySidecars = (): Edges => {
    const alert = 'ThanosQuerySidecarsMissing';
    const inputFor = (reached: number, ns: string, steps: number) => [
      ...queryConnections(ns, QUERY_PODS[0], PROMETHEUS_REPLICAS, steps),
      ...queryConnections(ns, QUERY_PODS[1], reached, steps),
    ];
    const e = edgesOf(alert, false, { name: `both pods reach all ${PROMETHEUS_REPLICAS} sidecars`, level: PROMETHEUS_REPLICAS },
      { name: `one pod reaches ${PROMETHEUS_REPLICAS - 1}`, level: PROMETHEUS_REPLICAS - 1 }, PROMETHEUS_REPLICAS - 1, inputFor, { pod: QUERY_PODS[1] });
    const t = timing(alert, false);
    const steps = stepsFor(t.settled);
    return {
      ...e,
      checks: [...e.checks,
        // No sidecar at all: no connection series, only its up.
        { name: 'one pod reaches none (no connection series)', series: inputFor(0, NS, steps), at: at(t.settled), firing: true,
          labels: [{ severity: DESIGN[alert].severity, namespace: NS, pod: QUERY_PODS[1] }] }],
    };
  };

  // A failed sync (the bucket unreachable: its existence check fails) or a failed upload.
  const uploadsFailing = (): Edges => {
    const alert = 'ThanosSidecarUploadsFailing';
    const shipper = (syncFailures: number, uploadFailures: number, ns: string, steps: number) => [
      series('thanos_shipper_dir_sync_failures_total', sidecar(ns), counter(syncFailures, steps)),
      series('thanos_shipper_upload_failures_total', sidecar(ns), counter(uploadFailures, steps)),
      series('thanos_shipper_uploads_total', sidecar(ns), counter(3, steps)),
    ];
    const e = anyEdges(alert, (n, ns, steps) => shipper(n, 0, ns, steps), { pod: PROMETHEUS_POD });
    const t = timing(alert, true);
    const steps = stepsFor(t.settled);
    return {
      ...e,
      objectStore: true,
      checks: [...e.checks,
        { name: 'uploads failing, syncs fine', series: shipper(0, 1, NS, steps), at: at(t.settled), firing: true,
          labels: [{ severity: DESIGN[alert].severity, namespace: NS, pod: PROMETHEUS_POD }] }],
    };
  };

  return [
    anyEdges('PrometheusRuleEvaluationFailures', (n, ns, steps) => [
      series('prometheus_rule_evaluation_failures_total', `${prometheus(ns)},rule_group="${RULE_GROUP}"`, counter(n, steps)),
    ], { pod: PROMETHEUS_POD, rule_group: RULE_GROUP }),
    reload,
    compactions(),
    // Prometheus 3.13: a failed alert counts in errors_total, a delivered one in sent_total.
    ratioEdges('PrometheusNotificationsFailing', (share, ns, steps) => {
      const s = shareOf(share);
      return [
        series('prometheus_notifications_errors_total', `${prometheus(ns)},alertmanager="${AM_URL}"`, counter(s.failed, steps)),
        series('prometheus_notifications_sent_total', `${prometheus(ns)},alertmanager="${AM_URL}"`, counter(s.rest, steps)),
      ];
    }, { pod: PROMETHEUS_POD, alertmanager: AM_URL }),
    anyEdges('PrometheusNotificationsDropped', (n, ns, steps) => [
      series('prometheus_notifications_dropped_total', `${prometheus(ns)},alertmanager="${AM_URL}"`, counter(n, steps)),
    ], { pod: PROMETHEUS_POD, alertmanager: AM_URL }),
    // Attempts in notifications_total, failures (by reason) in notifications_failed_total; another integration healthy.
    ratioEdges('AlertmanagerNotificationsFailing', (share, ns, steps) => {
      const s = shareOf(share);
      return [
        series('alertmanager_notifications_total', `${alertmanager(ns)},integration="pagerduty"`, counter(s.total, steps)),
        series('alertmanager_notifications_failed_total', `${alertmanager(ns)},integration="pagerduty",reason="serverError"`, counter(s.failed, steps)),
        series('alertmanager_notifications_failed_total', `${alertmanager(ns)},integration="pagerduty",reason="clientError"`, counter(0, steps)),
        series('alertmanager_notifications_total', `${alertmanager(ns)},integration="webhook"`, counter(s.total, steps)),
        series('alertmanager_notifications_failed_total', `${alertmanager(ns)},integration="webhook",reason="serverError"`, counter(0, steps)),
      ];
    }, { integration: 'pagerduty' }),
    members(),
    ratioEdges('PrometheusOperatorReconcileErrors', (share, ns, steps) => {
      const s = shareOf(share);
      return [
        series('prometheus_operator_reconcile_operations_total', `${operator(ns)},controller="prometheus"`, counter(s.total, steps)),
        series('prometheus_operator_reconcile_errors_total', `${operator(ns)},controller="prometheus"`, counter(s.failed, steps)),
      ];
    }, { controller: 'prometheus' }),
    syncFailed,
    ratioEdges('OtelCollectorRefusingPoints', (share, ns, steps) => {
      const s = shareOf(share);
      return [
        series('otelcol_receiver_accepted_metric_points', `${collector(ns)},receiver="otlp",transport="grpc"`, counter(s.rest, steps)),
        series('otelcol_receiver_refused_metric_points', `${collector(ns)},receiver="otlp",transport="grpc"`, counter(s.failed, steps)),
      ];
    }, { receiver: 'otlp' }),
    exportEdges(),
    // Only the unattributed filter's drops count (the counter exists per filter processor).
    anyEdges('OtelCollectorDroppingUnattributedPoints', (n, ns, steps) => [
      series(UNATTRIBUTED, `${collector(ns)},filter="filter/unattributed"`, counter(n, steps)),
      series(UNATTRIBUTED, `${collector(ns)},filter="filter/other"`, counter(600, steps)),
    ], {}),
    // Thanos v0.42.5's own names (pkg/shipper, cmd/thanos/compact.go; the store smoke test reads them from the real programs).
    querySidecars(),
    uploadsFailing(),
    { ...edgesOf('ThanosCompactorHalted', false, { name: 'running (0)', level: 0 }, { name: 'halted (1)', level: 1 }, 1,
      (v, ns, steps) => [series('thanos_compact_halted', compactor(ns), constant(v, steps))], { pod: COMPACTOR_POD }), objectStore: true },
  ];
}

// ---- the dashboard: every panel on one known input ----
/**
 * Per-second rates chosen as whole multiples of the scrape interval, so every expected value is a
 * short decimal; the same series in another namespace, seven times larger, must not show.
 */
function dashboardInput(steps: number): InputSeries[] {
  const perSecond = (v: number) => counter(v * STEP, steps);
  const mine = (ns: string, k: number): InputSeries[] => [
    series('prometheus_rule_evaluation_failures_total', `${prometheus(ns)},rule_group="${RULE_GROUP}"`, perSecond(2 * k)),
    series('prometheus_rule_evaluation_failures_total', `${prometheus(ns)},rule_group="healthy"`, perSecond(0)),
    series('prometheus_config_last_reload_successful', prometheus(ns), constant(1, steps)),
    series('prometheus_config_last_reload_successful', prometheus(ns, 'prometheus-chat-monitoring-1'), constant(ns === NS ? 0 : 1, steps)),
    series('prometheus_tsdb_compactions_failed_total', prometheus(ns), perSecond(1 * k)),
    series('prometheus_notifications_sent_total', `${prometheus(ns)},alertmanager="${AM_URL}"`, perSecond(3 * k)),
    series('prometheus_notifications_errors_total', `${prometheus(ns)},alertmanager="${AM_URL}"`, perSecond(1 * k * k)),
    series('prometheus_notifications_dropped_total', `${prometheus(ns)},alertmanager="${AM_URL}"`, perSecond(1 * k)),
    series('alertmanager_notifications_total', `${alertmanager(ns)},integration="pagerduty"`, perSecond(4 * k)),
    series('alertmanager_notifications_failed_total', `${alertmanager(ns)},integration="pagerduty",reason="serverError"`, perSecond(1 * k * k)),
    series('alertmanager_notifications_total', `${alertmanager(ns)},integration="webhook"`, perSecond(2 * k)),
    series('alertmanager_notifications_failed_total', `${alertmanager(ns)},integration="webhook",reason="serverError"`, perSecond(0)),
    ...[0, 1, 2].map((i) => series('alertmanager_cluster_members', alertmanager(ns, `alertmanager-chat-monitoring-${i}`), constant(i === 2 ? 2 : 3 * k, steps))),
    series('prometheus_operator_reconcile_operations_total', `${operator(ns)},controller="prometheus"`, perSecond(4 * k)),
    series('prometheus_operator_reconcile_errors_total', `${operator(ns)},controller="prometheus"`, perSecond(2 * k * k)),
    series('prometheus_operator_reconcile_operations_total', `${operator(ns)},controller="alertmanager"`, perSecond(2 * k)),
    series('prometheus_operator_reconcile_errors_total', `${operator(ns)},controller="alertmanager"`, perSecond(0)),
    series('prometheus_operator_syncs', `${operator(ns)},controller="alertmanager",status="failed"`, constant(1 * k, steps)),
    series('prometheus_operator_syncs', `${operator(ns)},controller="alertmanager",status="ok"`, constant(5, steps)),
    series('prometheus_operator_syncs', `${operator(ns)},controller="prometheus",status="failed"`, constant(0, steps)),
    series('otelcol_receiver_accepted_metric_points', `${collector(ns)},receiver="otlp",transport="grpc"`, perSecond(10 * k)),
    series('otelcol_receiver_refused_metric_points', `${collector(ns)},receiver="otlp",transport="grpc"`, perSecond(1 * k)),
    series('otelcol_exporter_send_failed_metric_points', `${collector(ns)},exporter="prometheus/chat-auth"`, perSecond(2 * k)),
    series('otelcol_exporter_send_failed_metric_points', `${collector(ns)},exporter="prometheus/chat-transport"`, perSecond(0)),
    series(UNATTRIBUTED, `${collector(ns)},filter="filter/unattributed"`, perSecond(3 * k)),
    series(UNATTRIBUTED, `${collector(ns)},filter="filter/other"`, perSecond(40 * k)),
    ...queryConnections(ns, QUERY_PODS[0], PROMETHEUS_REPLICAS, steps, k),
    ...queryConnections(ns, QUERY_PODS[1], 1, steps, k),
  ];
  return [...mine(NS, 1), ...mine('elsewhere', 7)];
}

/** What each panel shows on that input: its series by their legend label, computed from the rates above. */
const PANEL_VALUES: Record<string, Record<string, number>> = {
  'Rule evaluation failures per second': { [`rule_group="${RULE_GROUP}"`]: 2, 'rule_group="healthy"': 0 },
  'Configuration reload successful': { [`pod="${PROMETHEUS_POD}"`]: 1, 'pod="prometheus-chat-monitoring-1"': 0 },
  'TSDB compaction failures per second': { [`pod="${PROMETHEUS_POD}"`]: 1 },
  'Alerts sent to Alertmanager per second': { [`alertmanager="${AM_URL}"`]: 3 },
  'Alert send error ratio': { [`alertmanager="${AM_URL}"`]: 1 / (1 + 3) },
  'Alerts dropped per second': { [`alertmanager="${AM_URL}"`]: 1 },
  'Notifications per second by integration': { 'integration="pagerduty"': 4, 'integration="webhook"': 2 },
  'Notification failure ratio by integration': { 'integration="pagerduty"': 1 / 4, 'integration="webhook"': 0 },
  'Cluster members seen by each pod': { 'pod="alertmanager-chat-monitoring-0"': 3, 'pod="alertmanager-chat-monitoring-1"': 3, 'pod="alertmanager-chat-monitoring-2"': 2 },
  'Reconcile error ratio by controller': { 'controller="prometheus"': 2 / 4, 'controller="alertmanager"': 0 },
  'Objects failing to sync by controller': { 'controller="alertmanager"': 1, 'controller="prometheus"': 0 },
  'Metric points accepted per second': { 'receiver="otlp"': 10 },
  'Metric points refused per second': { 'receiver="otlp"': 1 },
  'Metric points failed to export per second': { 'exporter="prometheus/chat-auth"': 2, 'exporter="prometheus/chat-transport"': 0 },
  'Unattributed points dropped per second': { [`namespace="${NS}"`]: 3 },
  'Prometheus sidecars each Query pod reaches': { [`pod="${QUERY_PODS[0]}"`]: PROMETHEUS_REPLICAS, [`pod="${QUERY_PODS[1]}"`]: 1 },
};

describeWithPrometheus('the stack\'s own alerts at their edges, and its dashboard on known series (promtool)', () => {
  let dir: string;
  const cases = edges();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chat-monitoring-stack-'));
    // Annotations off: promtool would compare them too (rules.promtool.test.ts checks their templates).
    const groups = STORE_RULE.spec.groups.map((g: { rules: Record<string, unknown>[] }) => ({
      ...g, rules: g.rules.map(({ annotations: _annotations, ...r }) => r), // eslint-disable-line @typescript-eslint/no-unused-vars
    }));
    writeFileSync(join(dir, 'dist.yaml'), stringify({ groups }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('covers every stack alert of dist/ (3 Alertmanager replicas) and of long-term storage; a single replica lacks only the clustered one', () => {
    expect(defaultConfig().alertmanager.replicas).toBe(CLUSTER_REPLICAS);
    expect(defaultConfig().prometheusReplicas).toBe(PROMETHEUS_REPLICAS);
    expect(defaultConfig().thanos.objectStorage).toBeUndefined();
    const dist = stackRules(DIST_RULE);
    const single = stackRules(SINGLE_RULE);
    // The rules promtool runs are dist/'s and the Thanos ones, nothing else changed.
    expect(stackRules(STORE_RULE).map((r) => r.alert).sort()).toEqual(cases.map((c) => c.alert).sort());
    const bucketOnly = cases.filter((c) => c.objectStore).map((c) => c.alert as string);
    expect(stackRules(STORE_RULE).filter((r) => !bucketOnly.includes(r.alert))).toEqual(dist);
    expect(STORE_RULE.spec.groups.filter((g: { name: string }) => g.name !== STACK_GROUP)).toEqual(DIST_RULE.spec.groups.filter((g: { name: string }) => g.name !== STACK_GROUP));
    expect(dist.map((r) => r.alert).sort()).toEqual(cases.filter((c) => !c.objectStore).map((c) => c.alert).sort());
    expect(single.map((r) => r.alert).sort()).toEqual(cases.filter((c) => !c.clustered && !c.objectStore).map((c) => c.alert).sort());
    expect(dist.filter((r) => r.alert !== 'AlertmanagerClusterMembersMissing')).toEqual(single);
    expect(DIST_RULE.spec.groups.find((g: { name: string }) => g.name === STACK_GROUP).interval).toBeUndefined(); // the Prometheus CR's evaluationInterval applies
  });

  it('fires only with labels Alertmanager routes may match (ALERT_LABEL_NAMES)', () => {
    const labels: readonly string[] = ALERT_LABEL_NAMES;
    const used = [...new Set(cases.flatMap((c) => c.checks.flatMap((k) => k.labels.flatMap((l) => Object.keys(l)))))].sort();
    expect(used.filter((l) => !labels.includes(l))).toEqual([]);
    expect(used).toEqual(expect.arrayContaining(['alertmanager', 'controller', 'exporter', 'integration', 'receiver', 'rule_group']));
  });

  const run = (name: string, c: Edges, checks: Check[]) => {
    const path = join(dir, `${name}.test.yaml`);
    writeFileSync(path, stringify({
      rule_files: ['dist.yaml'], // dist/'s rules with the Thanos ones
      evaluation_interval: config.scrapeInterval,
      group_eval_order: DIST_RULE.spec.groups.map((g: { name: string }) => g.name),
      tests: checks.map((k) => ({
        name: k.name,
        interval: config.scrapeInterval,
        input_series: k.series,
        alert_rule_test: [{ eval_time: k.at, alertname: c.alert, exp_alerts: k.labels.map((l) => ({ exp_labels: l })) }],
      })),
    }));
    const r = promtool(['test', 'rules', path], { cwd: dir });
    return { ok: r.status === 0, output: r.output };
  };

  it.each(cases.map((c) => [c.alert, c] as const))('%s: silent just below, just before and elsewhere, firing just above and just after', (_alert, c) => {
    const r = run(c.alert, c, c.checks);
    expect(r.output).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });

  it.each(cases.map((c) => [c.alert, c] as const))('%s: each edge is sharp (the opposite expectation fails)', (_alert, c) => {
    const swapped = c.checks.map((k) => ({ ...k, firing: !k.firing, labels: k.firing ? [] : [{ severity: DESIGN[c.alert].severity }] }));
    const r = run(`${c.alert}-swapped`, c, swapped);
    expect(r.ok).toBe(false);
    for (const k of c.checks) expect(r.output).toContain(k.name);
  });

  describe('the monitoring-stack dashboard', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'dashboards', 'monitoring-stack.json'), 'utf8')) as Record<string, unknown>;
    const panels = (d: Record<string, unknown>) => panelsOf(d).map((p) => ({ title: p.title, expr: grafanaInterpolate(p.targets![0].expr!, d) }));

    it('shows on known series exactly the values those series imply, every panel (the cluster members one included: 3 replicas by default)', () => {
      const all = panels(committed);
      expect(all.map((p) => p.title).sort()).toEqual(Object.keys(PANEL_VALUES).sort());
      const path = join(dir, 'dashboard.test.yaml');
      writeFileSync(path, stringify({
        evaluation_interval: config.scrapeInterval,
        tests: [{
          interval: config.scrapeInterval,
          input_series: dashboardInput(stepsFor(15 * 60)),
          // Rounded to 0.001: the values above are short decimals, and the 1-minute rates are exact up to float error.
          promql_expr_test: all.map((p) => ({
            expr: `round(${p.expr}, 0.001)`,
            eval_time: '10m',
            exp_samples: Object.entries(PANEL_VALUES[p.title]).map(([l, value]) => ({ labels: `{${l}}`, value })),
          })),
        }],
      }));
      const r = promtool(['test', 'rules', path], { cwd: dir });
      expect(r.output).toContain('SUCCESS');
      expect(r.status).toBe(0);
    });

    it('the proof can fail: a panel without its namespace filter shows the other install too', () => {
      const p = panels(committed).find((x) => x.title === 'Alerts dropped per second')!;
      const path = join(dir, 'dashboard-unfiltered.test.yaml');
      writeFileSync(path, stringify({
        evaluation_interval: config.scrapeInterval,
        tests: [{
          interval: config.scrapeInterval,
          input_series: dashboardInput(stepsFor(15 * 60)),
          promql_expr_test: [{
            expr: `round(${p.expr.replace(`namespace="${NS}", `, '')}, 0.001)`,
            eval_time: '10m',
            exp_samples: Object.entries(PANEL_VALUES[p.title]).map(([l, value]) => ({ labels: `{${l}}`, value })),
          }],
        }],
      }));
      expect(p.expr).toContain(`namespace="${NS}", `);
      const r = promtool(['test', 'rules', path], { cwd: dir });
      expect(r.status).not.toBe(0);
      // 1 alert dropped per second here plus 7 in the other namespace.
      expect(r.output).toMatch(/got: \{alertmanager="[^"]+"\} 8E\+00/);
    });
  });
});
