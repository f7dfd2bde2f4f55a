import { createHash } from 'crypto';
import { Construct } from 'constructs';
import { Yaml } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import {
  ALERTMANAGER_DATASOURCE_UID, componentLabels, DASHBOARD_FOLDER_ANNOTATION, DASHBOARD_LABEL, DATASOURCE_UID, NAMES, selectorLabels,
} from '../labels';
import { ServiceMonitorForComponent } from '../prometheus/service-monitors';
import { resources, restrictedContainer, restrictedPod } from '../security';

export interface GrafanaProps {
  readonly namespace: string;
  readonly image: string;
  readonly sidecarImage: string;
  /** In-cluster URL of the Prometheus API the provisioned `prometheus` datasource reads (Thanos Query's, over the replicas). */
  readonly prometheusUrl: string;
  /** In-cluster URL of Alertmanager: a datasource showing its alerts and silences. */
  readonly alertmanagerUrl?: string;
  /** Prometheus's scrape interval: the datasource's timeInterval, which makes `$__rate_interval` right; also its own ServiceMonitor's. */
  readonly scrapeInterval: string;
  /** Existing Secret with keys `admin-user` and `admin-password`. Never created by the chart. */
  readonly adminSecret: string;
  readonly nodePort: number;
  /** Size of the PersistentVolumeClaim for Grafana's database. */
  readonly storage: string;
  readonly storageClassName?: string;
}

const GRAFANA_UID = 472; // the grafana image's user
const DATA_DIR = '/var/lib/grafana';
const LOGS_DIR = '/var/log/grafana';
const DASHBOARDS_DIR = '/var/lib/grafana-dashboards';
const PROVISIONING_DIR = '/etc/grafana/provisioning';
/** k8s-sidecar's /healthz (HEALTH_PORT); only the kubelet's liveness probe uses it. */
export const SIDECAR_HEALTH_PORT = 8080;
const SIDECAR_HEALTH_PORT_NAME = 'sidecar-health';

/** Grafana's datasources: Prometheus, and Alertmanager when there is one. */
function datasources(props: GrafanaProps): string {
  return Yaml.stringify({
    apiVersion: 1,
    datasources: [{
      name: 'Prometheus',
      uid: DATASOURCE_UID,
      type: 'prometheus',
      access: 'proxy',
      url: props.prometheusUrl,
      isDefault: true,
      editable: false,
      jsonData: { httpMethod: 'POST', timeInterval: props.scrapeInterval },
    },
    ...(props.alertmanagerUrl ? [{
      name: 'Alertmanager',
      uid: ALERTMANAGER_DATASOURCE_UID,
      type: 'alertmanager',
      access: 'proxy',
      url: props.alertmanagerUrl,
      editable: false,
      // Alertmanager's own API (not Grafana's or Mimir's); Grafana-managed alerts stay in Grafana.
      jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
    }] : [])],
  });
}

/** The dashboard provider: the files the sidecar writes. */
function dashboardProviders(): string {
  return Yaml.stringify({
    apiVersion: 1,
    providers: [{
      name: 'chat-monitoring',
      orgId: 1,
      type: 'file',
      // A dashboard whose file is gone (its ConfigMap deleted, so the sidecar removed the file) is
      // deleted from Grafana too: a removed service's dashboard does not linger.
      disableDeletion: false,
      allowUiUpdates: false,
      updateIntervalSeconds: 30,
      options: { path: DASHBOARDS_DIR, foldersFromFilesStructure: true },
    }],
  });
}

/** Grafana's settings: the admin from the Secret, nothing from the internet, files where the volumes are. */
function grafanaEnv(adminSecret: string): k8s.EnvVar[] {
  const secretEnv = (name: string, key: string): k8s.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: adminSecret, key } } });
  return [
    secretEnv('GF_SECURITY_ADMIN_USER', 'admin-user'),
    secretEnv('GF_SECURITY_ADMIN_PASSWORD', 'admin-password'),
    { name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'false' },
    { name: 'GF_USERS_ALLOW_SIGN_UP', value: 'false' },
    { name: 'GF_SECURITY_DISABLE_GRAVATAR', value: 'true' },
    { name: 'GF_ANALYTICS_REPORTING_ENABLED', value: 'false' },
    { name: 'GF_ANALYTICS_CHECK_FOR_UPDATES', value: 'false' },
    { name: 'GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES', value: 'false' },
    { name: 'GF_NEWS_NEWS_FEED_ENABLED', value: 'false' },
    // Nothing from the internet at runtime: Grafana 12 otherwise downloads its default app
    // plugins from grafana.com on first start, fetches plugin signing keys from there, lets
    // admins install catalog plugins, and offers to publish snapshots to snapshots.raintank.io.
    // Plugins come with the pinned image only.
    { name: 'GF_PLUGINS_PREINSTALL_DISABLED', value: 'true' },
    { name: 'GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED', value: 'true' },
    { name: 'GF_PLUGINS_PLUGIN_ADMIN_ENABLED', value: 'false' },
    { name: 'GF_SNAPSHOTS_EXTERNAL_ENABLED', value: 'false' },
    { name: 'GF_PATHS_DATA', value: DATA_DIR },
    { name: 'GF_PATHS_LOGS', value: LOGS_DIR },
    { name: 'GF_PATHS_PLUGINS', value: `${DATA_DIR}/plugins` },
    { name: 'GF_PATHS_PROVISIONING', value: PROVISIONING_DIR },
    { name: 'GF_LOG_MODE', value: 'console' },
  ];
}

function grafanaContainer(props: GrafanaProps): k8s.Container {
  const health = { path: '/api/health', port: k8s.IntOrString.fromString(Grafana.PORT_NAME) };
  return {
    name: 'grafana',
    image: props.image,
    ports: [{ name: Grafana.PORT_NAME, containerPort: Grafana.PORT }],
    env: grafanaEnv(props.adminSecret),
    readinessProbe: { httpGet: health, periodSeconds: 10 },
    livenessProbe: { httpGet: health, initialDelaySeconds: 60, periodSeconds: 10, failureThreshold: 6 },
    resources: resources({ cpuRequest: '100m', memoryRequest: '128Mi', cpuLimit: '500m', memoryLimit: '512Mi' }),
    securityContext: restrictedContainer(),
    volumeMounts: [
      { name: 'data', mountPath: DATA_DIR },
      { name: 'logs', mountPath: LOGS_DIR },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'provisioning', mountPath: `${PROVISIONING_DIR}/datasources/datasources.yaml`, subPath: 'datasources.yaml', readOnly: true },
      { name: 'provisioning', mountPath: `${PROVISIONING_DIR}/dashboards/dashboard-providers.yaml`, subPath: 'dashboard-providers.yaml', readOnly: true },
      { name: 'dashboards', mountPath: DASHBOARDS_DIR, readOnly: true },
    ],
  };
}

/** k8s-sidecar: writes the labelled dashboard ConfigMaps of the namespace into DASHBOARDS_DIR. */
function sidecarContainer(props: GrafanaProps): k8s.Container {
  return {
    name: 'dashboard-sidecar',
    image: props.sidecarImage,
    env: [
      { name: 'LABEL', value: DASHBOARD_LABEL.key },
      { name: 'LABEL_VALUE', value: DASHBOARD_LABEL.value },
      { name: 'FOLDER', value: DASHBOARDS_DIR },
      { name: 'FOLDER_ANNOTATION', value: DASHBOARD_FOLDER_ANNOTATION },
      { name: 'RESOURCE', value: 'configmap' },
      { name: 'NAMESPACE', value: props.namespace },
      { name: 'METHOD', value: 'WATCH' },
      { name: 'HEALTH_PORT', value: String(SIDECAR_HEALTH_PORT) },
    ],
    ports: [{ name: SIDECAR_HEALTH_PORT_NAME, containerPort: SIDECAR_HEALTH_PORT }],
    // Liveness only. k8s-sidecar 2.10.1's /healthz answers 503 until its first sync is done (and
    // when a watcher has died): as a readiness probe it would keep Grafana out of its Service
    // while the API server is slow or unreachable, though Grafana serves the dashboards it has.
    // As liveness it restarts a sidecar stuck before its first sync (e.g. an initial list hung
    // on a dead connection) or without watchers.
    livenessProbe: {
      httpGet: { path: '/healthz', port: k8s.IntOrString.fromString(SIDECAR_HEALTH_PORT_NAME) },
      initialDelaySeconds: 35, periodSeconds: 10,
    },
    resources: resources({ cpuRequest: '10m', memoryRequest: '64Mi', cpuLimit: '100m', memoryLimit: '128Mi' }),
    securityContext: restrictedContainer(),
    volumeMounts: [{ name: 'dashboards', mountPath: DASHBOARDS_DIR }, { name: 'tmp', mountPath: '/tmp' }],
  };
}

/**
 * Grafana with a provisioned datasource and a sidecar that loads labelled dashboard ConfigMaps,
 * its NodePort Service and its own ServiceMonitor.
 */
export class Grafana extends Construct {
  /** Its UI, API and metrics. */
  static readonly PORT = 3000;
  static readonly PORT_NAME = 'http';
  /** The app.kubernetes.io/component label of its objects (its ServiceMonitor selects by it). */
  static readonly ROLE = 'dashboards';
  readonly podSelector = selectorLabels(NAMES.grafana);
  private readonly labels = componentLabels(NAMES.grafana, Grafana.ROLE);
  private readonly meta: k8s.ObjectMeta;

  constructor(scope: Construct, id: string, props: GrafanaProps) {
    super(scope, id);
    const name = NAMES.grafana;
    this.meta = { name, namespace: props.namespace, labels: this.labels };

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: this.meta, automountServiceAccountToken: true });
    this.configMapReader(props.namespace);
    const provisioning = { 'datasources.yaml': datasources(props), 'dashboard-providers.yaml': dashboardProviders() };
    new k8s.KubeConfigMap(this, 'provisioning', { metadata: { ...this.meta, name: `${name}-provisioning` }, data: provisioning });
    new k8s.KubePersistentVolumeClaim(this, 'data', {
      metadata: { ...this.meta, name: `${name}-data` },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: props.storageClassName,
        resources: { requests: { storage: k8s.Quantity.fromString(props.storage) } },
      },
    });
    this.deployment(props, Object.values(provisioning).join(''));
    new k8s.KubeService(this, 'service', {
      metadata: this.meta,
      spec: {
        type: 'NodePort',
        selector: this.podSelector,
        ports: [{ name: Grafana.PORT_NAME, port: Grafana.PORT, targetPort: k8s.IntOrString.fromString(Grafana.PORT_NAME), nodePort: props.nodePort }],
      },
    });
    // Grafana serves its own metrics on its HTTP port.
    new ServiceMonitorForComponent(this, 'monitor', {
      namespace: props.namespace, name, selector: this.labels, endpoints: [{ port: Grafana.PORT_NAME, interval: props.scrapeInterval }],
    });
  }

  /** The sidecar lists and watches ConfigMaps in this namespace only; nothing else. */
  private configMapReader(namespace: string): void {
    const name = NAMES.grafana;
    new k8s.KubeRole(this, 'role', {
      metadata: this.meta,
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeRoleBinding(this, 'role-binding', {
      metadata: this.meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });
  }

  /** `provisioningText`: the provisioning files, whose hash rolls the pod when they change. */
  private deployment(props: GrafanaProps, provisioningText: string): void {
    const name = NAMES.grafana;
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: this.meta,
      spec: {
        replicas: 1,
        // One ReadWriteOnce volume: the old pod must let go before the new one mounts it.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: this.podSelector },
        template: {
          metadata: {
            labels: this.labels,
            annotations: { 'checksum/provisioning': createHash('sha256').update(provisioningText).digest('hex') },
          },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: true, // the sidecar watches ConfigMaps through the API
            securityContext: restrictedPod(GRAFANA_UID, GRAFANA_UID),
            containers: [grafanaContainer(props), sidecarContainer(props)],
            volumes: [
              { name: 'data', persistentVolumeClaim: { claimName: `${name}-data` } },
              { name: 'logs', emptyDir: {} },
              { name: 'tmp', emptyDir: {} },
              { name: 'dashboards', emptyDir: {} },
              { name: 'provisioning', configMap: { name: `${name}-provisioning` } },
            ],
          },
        },
      },
    });
  }
}

export interface DashboardConfigMapProps {
  readonly namespace: string;
  /** ConfigMap name; also a unique file name for the sidecar. */
  readonly name: string;
  readonly fileName: string;
  readonly json: Record<string, unknown>;
  /** Grafana folder. @default 'Chat platform' */
  readonly folder?: string;
}

/** One dashboard as a ConfigMap the sidecar picks up. */
export class DashboardConfigMap extends Construct {
  constructor(scope: Construct, id: string, props: DashboardConfigMapProps) {
    super(scope, id);
    new k8s.KubeConfigMap(this, 'config-map', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels: { ...componentLabels(props.name, 'dashboard'), [DASHBOARD_LABEL.key]: DASHBOARD_LABEL.value },
        annotations: { [DASHBOARD_FOLDER_ANNOTATION]: props.folder ?? 'Chat platform' },
      },
      data: { [props.fileName]: JSON.stringify(props.json) },
    });
  }
}
