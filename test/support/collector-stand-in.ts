/**
 * A Prometheus scrape job that stands in for the OpenTelemetry Collector's path, so a synthetic
 * service's series reach the test Prometheus with exactly the names and labels production series
 * have. No Collector binary can run here (none in Debian or npm), and Prometheus 2.42 has no OTLP
 * ingestion, so the synthetic service serves the OTel JS SDK's own Prometheus exposition and this
 * scrape job rewrites it on the way in (static_configs + relabelling; nothing serves a rewritten
 * exposition).
 *
 * What production does, and how each step is reproduced here. Every name below is written
 * literally from the metric contract (docs/chat-services-metrics.md) and from
 * reading the chart's collector config and ServiceMonitor; nothing is imported from lib/, so a
 * wrong name in the chart cannot be agreed with by construction.
 *
 * 1. Metric names. The Collector's prometheus exporter appends the unit to the name
 *    (`ms` -> `_milliseconds`, `s` -> `_seconds`), `_total` to monotonic sums, and turns dots into
 *    underscores. The OTel JS PrometheusExporter (0.223 and 0.301, measured) writes `http_server_duration_bucket`
 *    and `http_server_request_duration_bucket` with no unit suffix (only a `# UNIT` comment that
 *    Prometheus ignores), so the job renames them to the contract's
 *    `http_server_duration_milliseconds_{bucket,sum,count}` and
 *    `http_server_request_duration_seconds_{bucket,sum,count}`. Were a later JS exporter to add the
 *    suffix itself, the rename no longer matches and the names are still right.
 *    `websocket_hub_active_connections` has no unit and is an UpDownCounter (a gauge): unchanged by both.
 *    Dots in attribute names become underscores in both exporters (http.status_code -> http_status_code).
 * 2. Identity labels. lib/collector's `transform/chat_service_labels` sets the datapoint
 *    attributes `service` (configured service name), `namespace` (the pod's namespace) and `pod`
 *    (the pod's name) on every series of a recognised pod, and `transform/chat_service_identity` the resource attributes
 *    service.name = the service and service.instance.id = the pod (where the sender set none; the
 *    synthetic services set none), which the exporter turns into `job` and `instance`. The Collector's ServiceMonitor scrapes the exporter with
 *    honorLabels: true, so those exposed labels win over the target labels the Prometheus Operator
 *    attaches (job=otel-collector, namespace=monitoring, service=otel-collector, pod=<collector
 *    pod>, container, endpoint). Here: the target carries those collector target labels, and
 *    metric_relabel_configs (applied to scraped series only, never to `up`) overwrite
 *    service/namespace/pod/job/instance with the values the Collector would have exposed, which
 *    is what honour_labels yields. `up` of this job therefore looks like the collector's own
 *    `up{job="otel-collector", namespace="monitoring"}`, as in production.
 * 3. Scope labels. Both exporters add `otel_scope_name` / `otel_scope_version`; kept as they come.
 * 4. target_info. The Collector keeps resource attributes on `target_info` (job/instance only, no
 *    datapoint attributes); the JS exporter's target_info has other labels. No panel or rule reads
 *    it, so the job drops it rather than fake it.
 *
 * Not reproduced: batching and the 1 s export delay (the synthetic service is scraped directly),
 * metric_expiration of series of deleted pods, and OTLP itself. Those belong to the Collector
 * binary, which is checked by schema and config tests only.
 */

export interface CollectorStandInOptions {
  /** Unique scrape job name in the test Prometheus (not the `job` label, which is set as production sets it). */
  readonly jobName: string;
  /** host:port of the synthetic service's exposition (path /metrics). */
  readonly target: string;
  /** The configured chat service name the collector's transform would set. */
  readonly service: string;
  /** The pod's namespace (k8s.namespace.name). */
  readonly namespace: string;
  /** The pod's name (k8s.pod.name). */
  readonly pod: string;
}

/** Target labels the Prometheus Operator attaches to the collector's prom-exporter endpoint. */
const COLLECTOR_TARGET_LABELS = {
  namespace: 'monitoring',
  service: 'otel-collector',
  pod: 'otel-collector-0',
  container: 'otel-collector',
  endpoint: 'prom-exporter',
} as const;

const replace = (targetLabel: string, replacement: string) => ({ target_label: targetLabel, replacement, action: 'replace' });

/** One Prometheus scrape_config reproducing what the Collector's exporter + our transform emit for one pod. */
export function collectorStandInScrapeJob(o: CollectorStandInOptions): Record<string, unknown> {
  return {
    job_name: o.jobName,
    honor_labels: true, // as the collector's ServiceMonitor endpoint (honorLabels: true)
    metrics_path: '/metrics',
    static_configs: [{ targets: [o.target], labels: { ...COLLECTOR_TARGET_LABELS } }],
    // The Operator names the job after the collector's Service.
    relabel_configs: [replace('job', 'otel-collector')],
    metric_relabel_configs: [
      { source_labels: ['__name__'], regex: 'target_info', action: 'drop' },
      // 1. unit suffixes, as the Collector's prometheus exporter names histograms
      { source_labels: ['__name__'], regex: 'http_server_duration_(bucket|sum|count)', target_label: '__name__', replacement: 'http_server_duration_milliseconds_$1', action: 'replace' },
      { source_labels: ['__name__'], regex: 'http_server_request_duration_(bucket|sum|count)', target_label: '__name__', replacement: 'http_server_request_duration_seconds_$1', action: 'replace' },
      { source_labels: ['__name__'], regex: 'http_server_(request|response)_size_(bucket|sum|count)', target_label: '__name__', replacement: 'http_server_${1}_size_bytes_$2', action: 'replace' },
      // 2. identity: datapoint attributes from transform/chat_service_labels, honoured over target labels
      replace('service', o.service),
      replace('namespace', o.namespace),
      replace('pod', o.pod),
      // service.name -> job, service.instance.id -> instance (set by the transform's resource statements)
      replace('job', o.service),
      replace('instance', o.pod),
    ],
  };
}
