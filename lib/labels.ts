/** Label conventions every component shares. */

export const PART_OF = 'chat-monitoring';

/** `name` behind the chart's name: for RBAC objects beside other installs' (ClusterRoles, Prometheus's discovery Roles). */
export const chartPrefixed = (name: string) => `${PART_OF}-${name}`;

/** Labels on every object of a component; `name` also selects its pods. */
export function componentLabels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

/** The pod selector of a component: stable across upgrades, so never includes versions. */
export function selectorLabels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': PART_OF };
}

/** Prometheus selects ServiceMonitors and PrometheusRules carrying exactly this label. */
export const MONITORING_SELECTOR = { 'chat-monitoring.io/prometheus': 'chat-monitoring' } as const;

/** The Grafana sidecar loads ConfigMaps with this label as dashboards. */
export const DASHBOARD_LABEL = { key: 'grafana_dashboard', value: '1' } as const;
/** The sidecar puts a dashboard in the Grafana folder this annotation names. */
export const DASHBOARD_FOLDER_ANNOTATION = 'grafana_folder';

/** The uid of the provisioned Prometheus datasource; dashboards default to it. */
export const DATASOURCE_UID = 'prometheus';
/** The uid of the provisioned Alertmanager datasource (alerts and silences in Grafana). */
export const ALERTMANAGER_DATASOURCE_UID = 'alertmanager';

/** Alertmanager merges in AlertmanagerConfig objects of its namespace that carry exactly this label (user-provided receivers). */
export const ALERTMANAGER_CONFIG_SELECTOR = { 'chat-monitoring.io/alertmanager': 'chat-monitoring' } as const;

/** The PrometheusRule holding the platform-wide alerts (collector and scrape targets down) and the stack's own (stack-alerts.ts). */
export const PLATFORM_RULES_NAME = 'chat-monitoring-platform';

/** Names of the stack's components (also their Service and ServiceAccount names). */
export const NAMES = {
  collector: 'otel-collector',
  operator: 'prometheus-operator',
  prometheus: 'prometheus',
  grafana: 'grafana',
  alertmanager: 'alertmanager',
  thanosQuery: 'thanos-query',
  thanosStore: 'thanos-store',
  thanosCompactor: 'thanos-compactor',
} as const;
