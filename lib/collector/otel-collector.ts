import { createHash } from 'crypto';
import { Construct } from 'constructs';
import { Yaml } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { componentLabels, NAMES, selectorLabels } from '../labels';
import { resources, ResourceSizes, restrictedContainer, restrictedPod } from '../security';
import { COLLECTOR_PORTS } from './collector-config';
import { CHAT_SERVICE_LABEL, EXPORTER_PORT_NAME, ServiceExporter } from './service-exporters';

export interface OtelCollectorProps {
  readonly namespace: string;
  /** Pinned otel/opentelemetry-collector-contrib image (the core and k8s distributions lack a needed component). */
  readonly image: string;
  /** Collector configuration, from collectorConfig(). */
  readonly config: Record<string, unknown>;
  /** Per push service: its exporter's port, exposed by a Service of its own (serviceExporters()). */
  readonly exporters: readonly ServiceExporter[];
  /** Namespaces whose pods push OTLP (pushNamespaces()); k8sattributes reads pods there. */
  readonly serviceNamespaces: readonly string[];
  /** @default 1 */
  readonly replicas?: number;
  /** @default 100m/256Mi requests, 500m/512Mi limits */
  readonly resources?: ResourceSizes;
}

const DEFAULT_RESOURCES: ResourceSizes = { cpuRequest: '100m', memoryRequest: '256Mi', cpuLimit: '500m', memoryLimit: '512Mi' };
/** The collector image's user. */
const COLLECTOR_UID = 10001;

/** GOMEMLIMIT at 80 % of the memory limit, so Go's GC works before the kernel's OOM killer does. */
function goMemLimit(memoryLimit: string): string {
  const m = /^([0-9]+)(Mi|Gi)$/.exec(memoryLimit);
  if (!m) throw new Error(`collector memory limit ${memoryLimit} must be in Mi or Gi`);
  const mib = Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
  return `${Math.floor(mib * 0.8)}MiB`;
}

/** The OpenTelemetry Collector: OTLP in, Prometheus exposition out, with each series tagged by its pod's identity. */
export class OtelCollector extends Construct {
  readonly serviceName = NAMES.collector;
  readonly podSelector = selectorLabels(NAMES.collector);

  constructor(scope: Construct, id: string, props: OtelCollectorProps) {
    super(scope, id);
    const name = NAMES.collector;
    const labels = componentLabels(name, 'collector');
    const meta = { name, namespace: props.namespace, labels };
    const sizes = props.resources ?? DEFAULT_RESOURCES;
    const configYaml = Yaml.stringify(props.config);

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: meta, automountServiceAccountToken: true });
    this.rbac(props, labels);

    new k8s.KubeConfigMap(this, 'config', {
      metadata: { ...meta, name: `${name}-config` },
      data: { 'config.yaml': configYaml },
    });

    new k8s.KubeDeployment(this, 'deployment', {
      metadata: meta,
      spec: {
        replicas: props.replicas ?? 1,
        selector: { matchLabels: this.podSelector },
        template: {
          metadata: {
            labels,
            // Roll the pods when the configuration changes.
            annotations: { 'checksum/config': createHash('sha256').update(configYaml).digest('hex') },
          },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: true, // k8sattributes reads pods from the API
            securityContext: restrictedPod(COLLECTOR_UID),
            containers: [{
              name: 'otel-collector',
              image: props.image,
              args: ['--config=/conf/config.yaml'],
              env: [{ name: 'GOMEMLIMIT', value: goMemLimit(sizes.memoryLimit) }],
              ports: [
                { name: 'otlp-grpc', containerPort: COLLECTOR_PORTS.otlpGrpc, protocol: 'TCP' },
                { name: 'otlp-http', containerPort: COLLECTOR_PORTS.otlpHttp, protocol: 'TCP' },
                ...props.exporters.map((e) => ({ name: e.containerPortName, containerPort: e.port, protocol: 'TCP' })),
                { name: 'metrics', containerPort: COLLECTOR_PORTS.selfMetrics, protocol: 'TCP' },
                { name: 'health', containerPort: COLLECTOR_PORTS.health, protocol: 'TCP' },
              ],
              livenessProbe: { httpGet: { path: '/', port: k8s.IntOrString.fromString('health') }, periodSeconds: 10, failureThreshold: 3 },
              readinessProbe: { httpGet: { path: '/', port: k8s.IntOrString.fromString('health') }, periodSeconds: 5 },
              resources: resources(sizes),
              securityContext: restrictedContainer(),
              volumeMounts: [{ name: 'config', mountPath: '/conf', readOnly: true }],
            }],
            volumes: [{ name: 'config', configMap: { name: `${name}-config` } }],
          },
        },
      },
    });

    new k8s.KubeService(this, 'service', {
      metadata: meta,
      spec: {
        selector: this.podSelector,
        ports: [
          { name: 'otlp-grpc', port: COLLECTOR_PORTS.otlpGrpc, targetPort: k8s.IntOrString.fromString('otlp-grpc'), appProtocol: 'grpc' },
          { name: 'otlp-http', port: COLLECTOR_PORTS.otlpHttp, targetPort: k8s.IntOrString.fromString('otlp-http'), appProtocol: 'http' },
          { name: 'metrics', port: COLLECTOR_PORTS.selfMetrics, targetPort: k8s.IntOrString.fromString('metrics') },
        ],
      },
    });

    // One Service per chat service: its ServiceMonitor selects it by CHAT_SERVICE_LABEL. Their
    // component label differs from the collector's, so the collector's own ServiceMonitor does not.
    for (const e of props.exporters) {
      new k8s.KubeService(this, `exporter-${e.service.name}`, {
        metadata: {
          name: e.serviceName,
          namespace: props.namespace,
          labels: { ...componentLabels(name, 'service-exporter'), [CHAT_SERVICE_LABEL]: e.service.name },
        },
        spec: {
          selector: this.podSelector,
          ports: [{ name: EXPORTER_PORT_NAME, port: e.port, targetPort: k8s.IntOrString.fromString(e.containerPortName) }],
        },
      });
    }
  }

  /**
   * k8sattributes watches pods only (collector-config.ts): a Role in the one pushing namespace, where
   * its filter confines the watch; with several, its watch is cluster-wide and so is this grant. (Without
   * push services the chart deploys no collector.)
   */
  private rbac(props: OtelCollectorProps, labels: Record<string, string>): void {
    const name = NAMES.collector;
    const subjects = [{ kind: 'ServiceAccount', name, namespace: props.namespace }];
    const rules = [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }];
    if (props.serviceNamespaces.length > 1) {
      const clusterName = `chat-monitoring-${name}`;
      new k8s.KubeClusterRole(this, 'cluster-role', { metadata: { name: clusterName, labels }, rules });
      new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', {
        metadata: { name: clusterName, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterName },
        subjects,
      });
    } else {
      const metadata = { name: `${name}-pod-reader`, namespace: props.serviceNamespaces[0], labels };
      new k8s.KubeRole(this, 'pod-reader', { metadata, rules });
      new k8s.KubeRoleBinding(this, 'pod-reader-binding', {
        metadata,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: metadata.name },
        subjects,
      });
    }
  }
}
