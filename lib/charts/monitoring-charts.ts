/**
 * Composition: which constructs go into which chart. Each chart is one file in dist/, and the
 * numeric prefixes give `kubectl apply -f dist` a valid order (namespaces first). Each component
 * brings its own objects (Service, ServiceMonitor, PodDisruptionBudget); this file only wires the
 * validated config into them.
 */
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Alertmanager } from '../alertmanager/alertmanager';
import { alertmanagerConfigSpec, receiverEgressPorts } from '../alertmanager/alertmanager-config';
import { collectorConfig, pushNamespaces } from '../collector/collector-config';
import { OtelCollector } from '../collector/otel-collector';
import { serviceExporters, ServiceExporter } from '../collector/service-exporters';
import { ChartConfig, serviceNamespaces } from '../config';
import { allDashboards, GeneratedDashboard } from '../dashboards';
import { DashboardConfigMap, Grafana } from '../grafana/grafana';
import { NAMES, PART_OF, PLATFORM_RULES_NAME } from '../labels';
import { NetworkPolicies } from '../network-policies';
import { Prometheus } from '../prometheus/prometheus';
import { PrometheusOperator } from '../prometheus/prometheus-operator';
import { PrometheusRuleGroups } from '../prometheus/prometheus-rule';
import { ServiceMonitorForChatService } from '../prometheus/service-monitors';
import { platformAlerts, serviceAlerts } from '../rules/alerts';
import { recordingRules } from '../rules/recording';
import { stackAlerts } from '../rules/stack-alerts';
import { THANOS_PORTS } from '../thanos/thanos-component';
import { ThanosCompactor, ThanosStore } from '../thanos/thanos-bucket-components';
import { ThanosQuery } from '../thanos/thanos-query';

/** In-cluster URL of a Service of the stack. */
const serviceUrl = (config: ChartConfig, service: string, port: number) => `http://${service}.${config.namespace}.svc:${port}`;

function namespacesChart(app: App, config: ChartConfig): void {
  const chart = new Chart(app, '00-namespaces');
  new k8s.KubeNamespace(chart, 'monitoring', {
    metadata: {
      name: config.namespace,
      labels: {
        'app.kubernetes.io/part-of': PART_OF,
        // Every workload here meets the restricted profile; make the API server enforce it.
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      },
    },
  });
  // The chat services' namespaces hold the Roles that let Prometheus and the collector see their pods.
  for (const serviceNs of serviceNamespaces(config).filter((n) => n !== config.namespace)) {
    // One field of our own: with none, server-side apply records no owner for the object and the
    // next apply rewrites it (its resourceVersion changes on every deploy).
    new k8s.KubeNamespace(chart, `service-namespace-${serviceNs}`, {
      metadata: { name: serviceNs, labels: { 'chat-monitoring.io/monitored': 'true' } },
    });
  }
}

/** The collector serves push services only: with none, there is none. */
function collectorChart(app: App, config: ChartConfig, exporters: ServiceExporter[]): void {
  if (exporters.length === 0) return;
  new OtelCollector(new Chart(app, '20-otel-collector'), 'collector', {
    namespace: config.namespace,
    image: config.images.collector,
    config: collectorConfig(config),
    exporters,
    pushNamespaces: pushNamespaces(config),
    scrapeInterval: config.scrapeInterval,
    replicas: config.collectorReplicas,
    autoscaling: config.collector.autoscaling,
  });
}

function prometheusChart(app: App, config: ChartConfig, operator: PrometheusOperator): void {
  const chart = new Chart(app, '30-prometheus');
  new Prometheus(chart, 'prometheus', {
    namespace: config.namespace,
    image: config.images.prometheus,
    scrapedNamespaces: [...new Set(config.services.filter((s) => s.exportMode === 'pull').map((s) => s.namespace))],
    scrapeInterval: config.scrapeInterval,
    retention: config.retention,
    storage: config.prometheusStorage,
    storageClassName: config.storageClassName,
    replicas: config.prometheusReplicas,
    thanos: { image: config.images.thanos, objectStorage: config.thanos.objectStorage },
    alertmanagerService: NAMES.alertmanager,
  });
  operator.addServiceMonitor(chart, 'operator-monitor', config.scrapeInterval);
}

/**
 * The headless Service the operator creates for the pods of every Prometheus resource, with a
 * `grpc` port for the Thanos sidecars when spec.thanos is set (v0.93.1 pkg/prometheus/server/operator.go).
 */
export const PROMETHEUS_OPERATED_SERVICE = 'prometheus-operated';

/** Thanos Query over the sidecars (and the Store Gateway); with long-term storage, the Store Gateway and the Compactor. */
function thanosChart(app: App, config: ChartConfig): void {
  const chart = new Chart(app, '32-thanos');
  const common = { namespace: config.namespace, image: config.images.thanos, scrapeInterval: config.scrapeInterval };
  const store = config.thanos.objectStorage;
  new ThanosQuery(chart, 'query', {
    ...common,
    replicas: config.thanos.queryReplicas,
    storeServices: [PROMETHEUS_OPERATED_SERVICE, ...(store ? [NAMES.thanosStore] : [])],
    downsampled: store !== undefined,
  });
  if (!store) return;
  const bucket = { ...common, objectStore: store, storageClassName: config.storageClassName };
  new ThanosStore(chart, 'store', { ...bucket, storage: config.thanos.storeStorage });
  new ThanosCompactor(chart, 'compactor', { ...bucket, storage: config.thanos.compactorStorage, retention: config.thanos.retention });
}

function alertmanagerChart(app: App, config: ChartConfig): void {
  new Alertmanager(new Chart(app, '35-alertmanager'), 'alertmanager', {
    namespace: config.namespace,
    image: config.images.alertmanager,
    replicas: config.alertmanager.replicas,
    storage: config.alertmanager.storage,
    storageClassName: config.storageClassName,
    retention: config.alertmanager.retention,
    clusterPeerTimeout: config.alertmanager.clusterPeerTimeout,
    config: alertmanagerConfigSpec(config),
    scrapeInterval: config.scrapeInterval,
  });
}

/** One ServiceMonitor per chat service, then its recording rules and alerts, then the platform's and the stack's own. */
function serviceCharts(app: App, config: ChartConfig, exporters: ServiceExporter[]): void {
  const ns = config.namespace;
  const monitors = new Chart(app, '40-service-monitors');
  for (const s of config.services) {
    new ServiceMonitorForChatService(monitors, s.name, {
      namespace: ns, service: s, interval: config.scrapeInterval, exporter: exporters.find((e) => e.service === s),
    });
  }
  const rules = new Chart(app, '50-rules');
  for (const s of config.services) {
    new PrometheusRuleGroups(rules, s.name, { namespace: ns, name: s.name, groups: [recordingRules(config, s), serviceAlerts(config, s)] });
  }
  new PrometheusRuleGroups(rules, 'platform', { namespace: ns, name: PLATFORM_RULES_NAME, groups: [platformAlerts(config), stackAlerts(config)] });
}

function grafanaCharts(app: App, config: ChartConfig, dashboards: GeneratedDashboard[]): void {
  new Grafana(new Chart(app, '60-grafana'), 'grafana', {
    namespace: config.namespace,
    image: config.images.grafana,
    sidecarImage: config.images.grafanaSidecar,
    // Through Thanos Query: the replicas deduplicated, and the object store's blocks when configured.
    prometheusUrl: serviceUrl(config, NAMES.thanosQuery, THANOS_PORTS.http),
    alertmanagerUrl: serviceUrl(config, NAMES.alertmanager, Alertmanager.PORT),
    scrapeInterval: config.scrapeInterval,
    adminSecret: config.grafanaAdminSecret,
    nodePort: config.grafanaNodePort,
    storage: config.grafanaStorage,
    storageClassName: config.storageClassName,
  });
  const chart = new Chart(app, '70-dashboards');
  for (const d of dashboards) {
    const name = `dashboard-${d.fileName.replace(/\.json$/, '')}`;
    new DashboardConfigMap(chart, name, { namespace: config.namespace, name, fileName: d.fileName, json: d.json });
  }
}

function networkPoliciesChart(app: App, config: ChartConfig, exporters: ServiceExporter[]): void {
  new NetworkPolicies(new Chart(app, '80-network-policies'), 'policies', {
    namespace: config.namespace,
    pushNamespaces: pushNamespaces(config),
    exporterPorts: exporters.map((e) => e.port),
    pullTargets: config.services.filter((s) => s.exportMode === 'pull').map((s) => ({ namespace: s.namespace, selector: s.selector })),
    alertmanager: {
      replicas: config.alertmanager.replicas,
      receiverPorts: receiverEgressPorts(config),
      receiverCidrs: config.alertmanager.receiverEgressCidrs,
    },
    thanos: { objectStore: config.thanos.objectStorage && { cidrs: config.thanos.objectStorage.egressCidrs, ports: config.thanos.objectStorage.egressPorts } },
    apiServerCidrs: config.networkPolicies.apiServerCidrs,
    nodeCidrs: config.networkPolicies.nodeCidrs,
  });
}

export function buildCharts(app: App, config: ChartConfig, dashboards: GeneratedDashboard[] = allDashboards(config)): void {
  const exporters = serviceExporters(config);
  namespacesChart(app, config);
  const operator = new PrometheusOperator(new Chart(app, '10-prometheus-operator'), 'operator', {
    namespace: config.namespace,
    image: config.images.prometheusOperator,
    configReloaderImage: config.images.prometheusConfigReloader,
  });
  collectorChart(app, config, exporters);
  prometheusChart(app, config, operator);
  thanosChart(app, config);
  alertmanagerChart(app, config);
  serviceCharts(app, config, exporters);
  grafanaCharts(app, config, dashboards);
  networkPoliciesChart(app, config, exporters);
}
