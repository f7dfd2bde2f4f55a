/**
 * The OpenTelemetry Collector's configuration as plain data, a pure function of the chart config.
 */
import { ChartConfig } from '../config';
import { COLLECTOR_DEFAULTS } from './collector-settings';
import { HTTP_CONVENTIONS } from '../queries/conventions';
import { ServiceExporter, serviceExporters } from './service-exporters';

/** Fixed listeners; each push service's exporter port comes from serviceExporters(). */
export const COLLECTOR_PORTS = { otlpGrpc: 4317, otlpHttp: 4318, selfMetrics: 8888, health: 13133 } as const;

/** The filter processor that drops (and counts) series no configured service claims. */
export const UNATTRIBUTED_FILTER = 'filter/unattributed';
/**
 * The transform that removes, before k8sattributes, every resource attribute the identity is read
 * from: a sender's own claim to a service, namespace, pod or pod label is never believed.
 */
export const CLEAR_CLAIMED_IDENTITY = 'transform/clear_claimed_identity';
/** The routing connector's default pipeline: whatever no route takes ends there, dropped and counted by UNROUTED_FILTER. */
export const UNROUTED_PIPELINE = 'metrics/unrouted';
export const UNROUTED_FILTER = 'filter/unrouted';

/** The data point labels the identity gives every series: its service, namespace and pod. */
const IDENTITY_LABELS = ['service', 'namespace', 'pod'] as const;
/**
 * The transform that writes IDENTITY_LABELS on the data points: after the filter (every resource
 * left has its chat.service, so its statements need no `where`) and after the attribute drop (it
 * then sets them on the merged points, a fifth as many with five Host headers, and the merge's
 * grouping key is three attributes shorter).
 */
export const IDENTITY_LABELS_TRANSFORM = 'transform/chat_service_labels';

/** Resource attribute the identity transform writes; the prometheus exporter turns it into the `service` label. */
const CHAT_SERVICE_ATTR = 'chat.service';
const podLabelAttr = (key: string) => `k8s.pod.label.${key}`;

const quote = (s: string) => JSON.stringify(s);

/** The selector label keys of the push services: what k8sattributes extracts and the identity reads. */
function podLabelKeys(config: ChartConfig): string[] {
  return [...new Set(config.services.filter((s) => s.exportMode === 'push').flatMap((s) => Object.keys(s.selector)))].sort();
}

/**
 * k8sattributes never overwrites a resource attribute the sender already set (its
 * setResourceAttribute keeps a non-empty value), and the identity transform would believe a
 * sender's own chat.service. So both are cleared first: OTEL_RESOURCE_ATTRIBUTES=chat.service=chat-auth
 * or k8s.pod.label.app.kubernetes.io/name=chat-auth from a pod that is not chat-auth's identifies
 * nothing. service.namespace goes too: the prometheus exporter would prefix it to the job.
 */
function clearClaimedIdentityStatements(config: ChartConfig): string[] {
  const keys = [CHAT_SERVICE_ATTR, 'k8s.namespace.name', 'k8s.pod.name', 'k8s.pod.uid', ...podLabelKeys(config).map(podLabelAttr), 'service.namespace'];
  return keys.map((k) => `delete_key(attributes, ${quote(k)})`);
}

/**
 * OTTL statements that name each series after the chat service whose pod sent it: the services'
 * own service.name is wrong or missing, the pod's namespace and selector labels are not. The
 * resource statements run before filter/unattributed, the data point ones (IDENTITY_LABELS_TRANSFORM)
 * after it, where every resource has a chat.service: a resource without one never gets there.
 */
function identityStatements(config: ChartConfig): { resource: string[]; datapoint: string[] } {
  const resource = config.services.filter((s) => s.exportMode === 'push').map((s) => {
    const conditions = [
      `attributes["k8s.namespace.name"] == ${quote(s.namespace)}`,
      ...Object.entries(s.selector).map(([k, v]) => `attributes[${quote(podLabelAttr(k))}] == ${quote(v)}`),
    ];
    return `set(attributes[${quote(CHAT_SERVICE_ATTR)}], ${quote(s.name)}) where ${conditions.join(' and ')}`;
  });
  resource.push(
    // job and instance on the exported series then say which service and which process: the
    // sender's own service.instance.id where it sets one (several worker processes in one pod are
    // several counters, each needs its own series), else the pod's name.
    `set(attributes["service.name"], attributes[${quote(CHAT_SERVICE_ATTR)}]) where attributes[${quote(CHAT_SERVICE_ATTR)}] != nil`,
    `set(attributes["service.instance.id"], attributes["k8s.pod.name"]) where attributes[${quote(CHAT_SERVICE_ATTR)}] != nil and (attributes["service.instance.id"] == nil or attributes["service.instance.id"] == "")`,
  );
  const datapoint = [
    `set(attributes["service"], resource.attributes[${quote(CHAT_SERVICE_ATTR)}])`,
    `set(attributes["namespace"], resource.attributes["k8s.namespace.name"])`,
    `set(attributes["pod"], resource.attributes["k8s.pod.name"])`,
  ];
  return { resource, datapoint };
}

/** Every HTTP server instrument of both conventions, by its OpenTelemetry name. */
export const HTTP_SERVER_METRICS: readonly string[] = [...new Set(Object.values(HTTP_CONVENTIONS).flatMap((c) => c.otelServerMetrics))];

/**
 * Drops the configured attributes from the HTTP server metrics' data points, then merges the points
 * that become identical: deleting alone would leave several cumulative streams under one label set,
 * and the exporter would keep whichever came last. Summing cumulative counters and histograms of one
 * export (same timestamp) is their total. Without an attribute list, aggregate_on_attributes groups
 * by all the attributes a point still has (v0.145.0 skips its attribute filter then).
 *
 * A sender's own service, namespace or pod attribute goes too: IDENTITY_LABELS_TRANSFORM, after the
 * merge, overwrites all three on every point anyway, so two points that differ only in them are one
 * series and must be summed here, as they were when the identity labels were set before the merge.
 * The merge builds a JSON key per data point (aggregateutil in contrib 0.152.0), its largest cost
 * (bench/RESULTS.md); the identity labels set after it keep three attributes out of that key.
 *
 * Only there: on a client metric the same keys (server.address, server.port) name the dependency it
 * called, and a gauge's values are not additive, so gauges (and summaries) are never touched, whatever
 * their name.
 */
function dropAttributesStatements(attributes: readonly string[]): { condition: string; datapoint: string[]; metric: string[] } {
  const names = HTTP_SERVER_METRICS.map((m) => `metric.name == ${quote(m)}`).join(' or ');
  return {
    condition: `(${names}) and metric.type != METRIC_DATA_TYPE_GAUGE and metric.type != METRIC_DATA_TYPE_SUMMARY`,
    datapoint: [...attributes, ...IDENTITY_LABELS].map((a) => `delete_key(attributes, ${quote(a)})`),
    metric: ['aggregate_on_attributes("sum")'],
  };
}

export interface CollectorConfigOptions {
  /** GOMEMLIMIT-style soft limit is set by the construct; this is the memory_limiter's share. @default 80 */
  readonly memoryLimitPercent?: number;
}

/** Namespaces of the push services: the only pods the collector needs to know. */
export function pushNamespaces(config: ChartConfig): string[] {
  return [...new Set(config.services.filter((s) => s.exportMode === 'push').map((s) => s.namespace))];
}

/**
 * k8sattributes, reading only what the identity transform needs: pod name, uid, namespace and the
 * selector labels. That takes a pod watch alone (no namespace, ReplicaSet or node informers), in the
 * one pushing namespace when there is one, so the RBAC (otel-collector.ts) can be a Role there.
 */
function k8sAttributes(config: ChartConfig): Record<string, unknown> {
  // pushNamespaces() is never empty here: without push services the chart deploys no collector.
  const namespaces = pushNamespaces(config);
  return {
    auth_type: 'serviceAccount',
    passthrough: false,
    ...(namespaces.length === 1 ? { filter: { namespace: namespaces[0] } } : {}),
    // Block start-up until the pod cache is synced: otherwise the first points after a restart find
    // no pod, lose their identity and are dropped.
    wait_for_metadata: true,
    wait_for_metadata_timeout: '10s',
    extract: {
      metadata: ['k8s.namespace.name', 'k8s.pod.name', 'k8s.pod.uid'],
      labels: podLabelKeys(config).map((key) => ({ tag_name: podLabelAttr(key), key, from: 'pod' })),
    },
    // The chat services push straight from their pods, so the peer address is the pod IP.
    pod_association: [{ sources: [{ from: 'connection' }] }],
  };
}

/** Memory limiter, pod identity (claims cleared first), the unattributed filter, the attribute drop, the identity labels and batching, in pipeline order; the unrouted filter. */
function processors(config: ChartConfig, options: CollectorConfigOptions): Record<string, unknown> {
  const identity = identityStatements(config);
  const dropped = config.collector.droppedAttributes;
  const drop = dropAttributesStatements(dropped);
  return {
    // 1s, as upstream recommends: a burst is caught before it outgrows the spike allowance.
    memory_limiter: { check_interval: '1s', limit_percentage: options.memoryLimitPercent ?? 80, spike_limit_percentage: 25 },
    [CLEAR_CLAIMED_IDENTITY]: {
      error_mode: 'ignore',
      metric_statements: [{ context: 'resource', statements: clearClaimedIdentityStatements(config) }],
    },
    // k8s_attributes: the processor's type since contrib 0.152 (k8sattributes is a deprecated alias).
    k8s_attributes: k8sAttributes(config),
    'transform/chat_service_identity': {
      error_mode: 'ignore',
      metric_statements: [{ context: 'resource', statements: identity.resource }],
    },
    // A sender no configured service claims (unknown pod, wrong labels or namespace, or a service
    // it only named itself) would be exported under no service; dropped here, counted in
    // otelcol_processor_filter_datapoints.filtered{filter="filter/unattributed"} (no _total since collector 0.152).
    [UNATTRIBUTED_FILTER]: {
      error_mode: 'ignore',
      metrics: { metric: [`resource.attributes[${quote(CHAT_SERVICE_ATTR)}] == nil`] },
    },
    // Everything the routing connector matches to no route: dropped, and counted in the same
    // counter with filter="filter/unrouted". Nothing gets there while each configured service has
    // its route; it keeps a gap between the identity and the routes visible instead of silent.
    [UNROUTED_FILTER]: {
      error_mode: 'ignore',
      metrics: { metric: ['true'] },
    },
    ...(dropped.length ? {
      'transform/drop_attributes': {
        error_mode: 'ignore',
        // A group's conditions gate each of its statements (evaluated once per data point / metric).
        metric_statements: [
          { context: 'datapoint', conditions: [drop.condition], statements: drop.datapoint },
          { context: 'metric', conditions: [drop.condition], statements: drop.metric },
        ],
      },
    } : {}),
    // service, namespace and pod on every data point, from the resource the identity named.
    [IDENTITY_LABELS_TRANSFORM]: {
      error_mode: 'ignore',
      metric_statements: [{ context: 'datapoint', statements: identity.datapoint }],
    },
    batch: { send_batch_size: 8192, timeout: '1s' },
  };
}

/** One prometheus exporter per push service, on its own port. */
function prometheusExporters(config: ChartConfig, exporters: readonly ServiceExporter[]): Record<string, unknown> {
  return Object.fromEntries(exporters.map((e) => [e.exporterId, {
    endpoint: `0.0.0.0:${e.port}`,
    // A stopped pod's series (its last gauge value too) leave the exposition a few export
    // intervals after its last point, instead of the 5m default.
    metric_expiration: config.collector.metricExpiration,
    // Each sample carries its point's time, not the scrape's: with several replicas, a pod that
    // moved is exposed by its old replica (last point, frozen) and its new one, and Prometheus keeps
    // the newest point per series (service-monitors.ts). Also what a busy pipeline delays is dated right.
    send_timestamps: true,
    // Resource attributes are left on target_info (the default): copying them onto every series
    // multiplies cardinality. The identity transform puts the few labels that matter on the points.
  }]));
}

/**
 * The collector's own telemetry and the pipelines: OTLP through the processors to the routing
 * connector, then one pipeline per service, and the default pipeline for what no route takes.
 */
function service(config: ChartConfig, exporters: readonly ServiceExporter[]): Record<string, unknown> {
  const processorIds = ['memory_limiter', CLEAR_CLAIMED_IDENTITY, 'k8s_attributes', 'transform/chat_service_identity', UNATTRIBUTED_FILTER,
    ...(config.collector.droppedAttributes.length ? ['transform/drop_attributes'] : []), IDENTITY_LABELS_TRANSFORM, 'batch'];
  return {
    extensions: ['health_check'],
    telemetry: {
      metrics: {
        level: 'normal',
        readers: [{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: COLLECTOR_PORTS.selfMetrics } } } }],
      },
    },
    pipelines: {
      metrics: { receivers: ['otlp'], processors: processorIds, exporters: ['routing'] },
      ...Object.fromEntries(exporters.map((e) => [e.pipelineId, { receivers: ['routing'], exporters: [e.exporterId] }])),
      // A pipeline needs an exporter, and the chart's only kind is prometheus: its filter drops every
      // point first, so nothing on this pipeline ever reaches the one named here.
      [UNROUTED_PIPELINE]: { receivers: ['routing'], processors: [UNROUTED_FILTER], exporters: [exporters[0].exporterId] },
    },
  };
}

export function collectorConfig(config: ChartConfig, options: CollectorConfigOptions = {}): Record<string, unknown> {
  const exporters = serviceExporters(config);
  if (exporters.length === 0) throw new Error('collectorConfig: no push service; the chart deploys no collector then');
  return {
    extensions: {
      health_check: { endpoint: `0.0.0.0:${COLLECTOR_PORTS.health}` },
    },
    receivers: {
      otlp: {
        protocols: {
          grpc: {
            endpoint: `0.0.0.0:${COLLECTOR_PORTS.otlpGrpc}`,
            // Clients reconnect every maxConnectionAge, and the Service spreads them again: without
            // it, a replica added later gets no traffic until its peers' clients reconnect by chance.
            keepalive: {
              server_parameters: {
                max_connection_age: config.collector.maxConnectionAge,
                max_connection_age_grace: COLLECTOR_DEFAULTS.maxConnectionAgeGrace,
              },
            },
          },
          http: { endpoint: `0.0.0.0:${COLLECTOR_PORTS.otlpHttp}` },
        },
      },
    },
    processors: processors(config, options),
    connectors: {
      // Each service's series to its own pipeline and exporter, by the identity the transform set.
      routing: {
        error_mode: 'ignore',
        default_pipelines: [UNROUTED_PIPELINE],
        table: exporters.map((e) => ({
          context: 'resource',
          condition: `attributes[${quote(CHAT_SERVICE_ATTR)}] == ${quote(e.service.name)}`,
          pipelines: [e.pipelineId],
        })),
      },
    },
    exporters: prometheusExporters(config, exporters),
    service: service(config, exporters),
  };
}
