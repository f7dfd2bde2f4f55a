/**
 * Composition: which constructs go into which chart. Each chart is one file in dist/, and the
 * numeric prefixes give `kubectl apply -f dist` a valid order (namespaces first).
 */
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Alertmanager } from '../alertmanager/alertmanager';
import { alertmanagerConfigSpec, receiverEgressPorts } from '../alertmanager/alertmanager-config';
import { collectorConfig, pushNamespaces } from '../collector/collector-config';
import { OtelCollector } from '../collector/otel-collector';
import { serviceExporters } from '../collector/service-exporters';
import { ChartConfig, serviceNamespaces } from '../config';
import { allDashboards, GeneratedDashboard } from '../dashboards';
import { DashboardConfigMap, Grafana, SIDECAR_HEALTH_PORT } from '../grafana/grafana';
import { componentLabels, NAMES, PART_OF, PLATFORM_RULES_NAME } from '../labels';
import { NetworkPolicies, podDisruptionBudgetFor } from '../network-policies';
import { Prometheus } from '../prometheus/prometheus';
import { PrometheusOperator } from '../prometheus/prometheus-operator';
import { PrometheusRuleGroups } from '../prometheus/prometheus-rule';
import { ServiceMonitorForChatService, ServiceMonitorForComponent } from '../prometheus/service-monitors';
import { platformAlerts, serviceAlerts } from '../rules/alerts';
import { recordingRules } from '../rules/recording';

export function buildCharts(app: App, config: ChartConfig, dashboards: GeneratedDashboard[] = allDashboards(config)): void {
  const ns = config.namespace;
  const pulled = config.services.filter((s) => s.exportMode === 'pull');

  const namespaces = new Chart(app, '00-namespaces');
  new k8s.KubeNamespace(namespaces, 'monitoring', {
    metadata: {
      name: ns,
      labels: {
        'app.kubernetes.io/part-of': PART_OF,
        // Every workload here meets the restricted profile; make the API server enforce it.
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      },
    },
  });
  // The chat services' namespaces hold the Roles that let Prometheus and the collector see their pods.
  for (const serviceNs of serviceNamespaces(config).filter((n) => n !== ns)) {
    // One field of our own: with none, server-side apply records no owner for the object and the
    // next apply rewrites it (its resourceVersion changes on every deploy).
    new k8s.KubeNamespace(namespaces, `service-namespace-${serviceNs}`, {
      metadata: { name: serviceNs, labels: { 'chat-monitoring.io/monitored': 'true' } },
    });
  }

  const operatorChart = new Chart(app, '10-prometheus-operator');
  new PrometheusOperator(operatorChart, 'operator', {
    namespace: ns,
    image: config.images.prometheusOperator,
    configReloaderImage: config.images.prometheusConfigReloader,
  });

  // The collector serves push services only: with none, there is none.
  const exporters = serviceExporters(config);
  if (exporters.length > 0) {
    const collectorChart = new Chart(app, '20-otel-collector');
    new OtelCollector(collectorChart, 'collector', {
      namespace: ns,
      image: config.images.collector,
      config: collectorConfig(config),
      exporters,
      serviceNamespaces: pushNamespaces(config),
      replicas: config.collectorReplicas,
    });
    podDisruptionBudgetFor(collectorChart, { namespace: ns, name: NAMES.collector, replicas: config.collectorReplicas });
    // Its own telemetry (dropped unattributed points, exporter errors); the chat services' series
    // are scraped per service, by the ServiceMonitors in 40-service-monitors.
    new ServiceMonitorForComponent(collectorChart, 'collector-monitor', {
      namespace: ns,
      name: NAMES.collector,
      selector: componentLabels(NAMES.collector, 'collector'),
      endpoints: [{ port: 'metrics', interval: config.scrapeInterval }],
    });
  }

  const prometheusChart = new Chart(app, '30-prometheus');
  const prometheus = new Prometheus(prometheusChart, 'prometheus', {
    namespace: ns,
    image: config.images.prometheus,
    scrapedNamespaces: [...new Set(pulled.map((s) => s.namespace))],
    scrapeInterval: config.scrapeInterval,
    retention: config.retention,
    storage: config.prometheusStorage,
    storageClassName: config.storageClassName,
    replicas: config.prometheusReplicas,
    alertmanager: { serviceName: NAMES.alertmanager, portName: 'web' },
  });
  podDisruptionBudgetFor(prometheusChart, { namespace: ns, name: NAMES.prometheus, replicas: config.prometheusReplicas });
  new ServiceMonitorForComponent(prometheusChart, 'prometheus-monitor', {
    namespace: ns,
    name: NAMES.prometheus,
    selector: componentLabels(NAMES.prometheus, 'server'),
    endpoints: [{ port: 'web', interval: config.scrapeInterval }, { port: 'reloader-web', interval: config.scrapeInterval }],
  });
  new ServiceMonitorForComponent(prometheusChart, 'operator-monitor', {
    namespace: ns,
    name: NAMES.operator,
    selector: componentLabels(NAMES.operator, 'controller'),
    endpoints: [{ port: 'http', interval: config.scrapeInterval }],
  });

  const alertmanagerChart = new Chart(app, '35-alertmanager');
  const alertmanager = new Alertmanager(alertmanagerChart, 'alertmanager', {
    namespace: ns,
    image: config.images.alertmanager,
    replicas: config.alertmanager.replicas,
    storage: config.alertmanager.storage,
    storageClassName: config.storageClassName,
    retention: config.alertmanager.retention,
    config: alertmanagerConfigSpec(config),
  });
  podDisruptionBudgetFor(alertmanagerChart, { namespace: ns, name: NAMES.alertmanager, replicas: config.alertmanager.replicas });
  new ServiceMonitorForComponent(alertmanagerChart, 'alertmanager-monitor', {
    namespace: ns,
    name: NAMES.alertmanager,
    selector: componentLabels(NAMES.alertmanager, 'alerting'),
    endpoints: [{ port: 'web', interval: config.scrapeInterval }, { port: 'reloader-web', interval: config.scrapeInterval }],
  });

  const monitorsChart = new Chart(app, '40-service-monitors');
  for (const s of config.services) {
    new ServiceMonitorForChatService(monitorsChart, s.name, {
      namespace: ns, service: s, interval: config.scrapeInterval, exporter: exporters.find((e) => e.service === s),
    });
  }

  const rulesChart = new Chart(app, '50-rules');
  for (const s of config.services) {
    new PrometheusRuleGroups(rulesChart, s.name, { namespace: ns, name: s.name, groups: [recordingRules(config, s), serviceAlerts(config, s)] });
  }
  new PrometheusRuleGroups(rulesChart, 'platform', { namespace: ns, name: PLATFORM_RULES_NAME, groups: [platformAlerts(config)] });

  const grafanaChart = new Chart(app, '60-grafana');
  new Grafana(grafanaChart, 'grafana', {
    namespace: ns,
    image: config.images.grafana,
    sidecarImage: config.images.grafanaSidecar,
    prometheusUrl: `http://${prometheus.serviceName}.${ns}.svc:${prometheus.port}`,
    alertmanagerUrl: `http://${alertmanager.serviceName}.${ns}.svc:${Alertmanager.PORT}`,
    scrapeInterval: config.scrapeInterval,
    adminSecret: config.grafanaAdminSecret,
    nodePort: config.grafanaNodePort,
    storage: config.grafanaStorage,
    storageClassName: config.storageClassName,
  });

  // Grafana serves its own metrics on its HTTP port.
  new ServiceMonitorForComponent(grafanaChart, 'grafana-monitor', {
    namespace: ns,
    name: NAMES.grafana,
    selector: componentLabels(NAMES.grafana, 'dashboards'),
    endpoints: [{ port: 'http', interval: config.scrapeInterval }],
  });

  const dashboardsChart = new Chart(app, '70-dashboards');
  for (const d of dashboards) {
    const name = `dashboard-${d.fileName.replace(/\.json$/, '')}`;
    new DashboardConfigMap(dashboardsChart, name, { namespace: ns, name, fileName: d.fileName, json: d.json });
  }

  const policiesChart = new Chart(app, '80-network-policies');
  new NetworkPolicies(policiesChart, 'policies', {
    namespace: ns,
    pushingNamespaces: pushNamespaces(config),
    exporterPorts: exporters.map((e) => e.port),
    pullTargets: pulled.map((s) => ({ namespace: s.namespace, selector: s.selector })),
    grafanaPort: 3000,
    alertmanager: {
      port: Alertmanager.PORT,
      reloaderPort: Alertmanager.RELOADER_PORT,
      clusterPort: Alertmanager.CLUSTER_PORT,
      replicas: config.alertmanager.replicas,
      receiverPorts: receiverEgressPorts(config),
      receiverCidrs: config.alertmanager.receiverEgressCidrs,
    },
    sidecarHealthPort: SIDECAR_HEALTH_PORT,
    apiServerCidrs: config.networkPolicies.apiServerCidrs,
    nodeCidrs: config.networkPolicies.nodeCidrs,
  });
}
