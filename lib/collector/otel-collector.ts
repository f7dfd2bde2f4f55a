import { createHash } from 'crypto';
import { Construct } from 'constructs';
import { Yaml } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { chartPrefixed, componentLabels, NAMES, selectorLabels } from '../labels';
import { resources, ResourceSizes, restrictedContainer, restrictedPod } from '../security';
import { podDisruptionBudgetFor } from '../pod-disruption-budget';
import { ServiceMonitorForComponent } from '../prometheus/service-monitors';
import { COLLECTOR_PORTS } from './collector-config';
import { CollectorAutoscaling } from './collector-settings';
import { EXPORTER_PORT_NAME, exporterServiceLabels, ServiceExporter } from './service-exporters';
import { spreadOverNodes } from '../spread';

export interface OtelCollectorProps {
  readonly namespace: string;
  /** Pinned otel/opentelemetry-collector-contrib image (the core and k8s distributions lack a needed component). */
  readonly image: string;
  /** Collector configuration, from collectorConfig(). */
  readonly config: Record<string, unknown>;
  /** Per push service: its exporter's port, exposed by a Service of its own (serviceExporters()). */
  readonly exporters: readonly ServiceExporter[];
  /** Namespaces whose pods push OTLP (pushNamespaces()); k8sattributes reads pods there. */
  readonly pushNamespaces: readonly string[];
  /** How often Prometheus scrapes the collector's own telemetry. */
  readonly scrapeInterval: string;
  /** @default 1 (above 1, with a PodDisruptionBudget) */
  readonly replicas?: number;
  /** A HorizontalPodAutoscaler owns the replica count instead of `replicas`. @default none */
  readonly autoscaling?: CollectorAutoscaling;
  /** @default 100m/256Mi requests, 500m/512Mi limits */
  readonly resources?: ResourceSizes;
}

const DEFAULT_RESOURCES: ResourceSizes = { cpuRequest: '100m', memoryRequest: '256Mi', cpuLimit: '500m', memoryLimit: '512Mi' };
/** The collector image's user. */
const COLLECTOR_UID = 10001;
/** Names of the fixed listeners (COLLECTOR_PORTS) on the container and the Service. */
const PORT_NAMES = { otlpGrpc: 'otlp-grpc', otlpHttp: 'otlp-http', selfMetrics: 'metrics', health: 'health' } as const;

/** GOMEMLIMIT at 80 % of the memory limit, so Go's GC works before the kernel's OOM killer does. */
function goMemLimit(memoryLimit: string): string {
  const m = /^([0-9]+)(Mi|Gi)$/.exec(memoryLimit);
  if (!m) throw new Error(`collector memory limit ${memoryLimit} must be in Mi or Gi`);
  const mib = Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
  return `${Math.floor(mib * 0.8)}MiB`;
}

function collectorContainer(props: OtelCollectorProps, sizes: ResourceSizes): k8s.Container {
  const port = (key: keyof typeof PORT_NAMES) => ({ name: PORT_NAMES[key], containerPort: COLLECTOR_PORTS[key], protocol: 'TCP' });
  const health = k8s.IntOrString.fromString(PORT_NAMES.health);
  return {
    name: 'otel-collector',
    image: props.image,
    args: ['--config=/conf/config.yaml'],
    env: [{ name: 'GOMEMLIMIT', value: goMemLimit(sizes.memoryLimit) }],
    ports: [
      port('otlpGrpc'),
      port('otlpHttp'),
      ...props.exporters.map((e) => ({ name: e.containerPortName, containerPort: e.port, protocol: 'TCP' })),
      port('selfMetrics'),
      port('health'),
    ],
    livenessProbe: { httpGet: { path: '/', port: health }, periodSeconds: 10, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/', port: health }, periodSeconds: 5 },
    resources: resources(sizes),
    securityContext: restrictedContainer(),
    volumeMounts: [{ name: 'config', mountPath: '/conf', readOnly: true }],
  };
}

/**
 * The OpenTelemetry Collector: OTLP in, Prometheus exposition out, with each series tagged by its
 * pod's identity. With its Services (one per push service), its own ServiceMonitor and (above one
 * replica) a PodDisruptionBudget.
 */
export class OtelCollector extends Construct {
  /** The app.kubernetes.io/component label of its objects (its ServiceMonitor selects by it). */
  static readonly ROLE = 'collector';
  readonly podSelector = selectorLabels(NAMES.collector);
  private readonly labels = componentLabels(NAMES.collector, OtelCollector.ROLE);
  private readonly meta: k8s.ObjectMeta;

  constructor(scope: Construct, id: string, props: OtelCollectorProps) {
    super(scope, id);
    const name = NAMES.collector;
    this.meta = { name, namespace: props.namespace, labels: this.labels };
    const configYaml = Yaml.stringify(props.config);

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: this.meta, automountServiceAccountToken: true });
    this.rbac(props);
    new k8s.KubeConfigMap(this, 'config', {
      metadata: { ...this.meta, name: `${name}-config` },
      data: { 'config.yaml': configYaml },
    });
    this.deployment(props, configYaml);
    this.services(props);
    if (props.autoscaling) this.autoscaler(props.autoscaling);
    podDisruptionBudgetFor(this, { namespace: props.namespace, name, replicas: props.autoscaling?.maxReplicas ?? props.replicas ?? 1 });
    // Its own telemetry (dropped unattributed points, exporter errors); the chat services' series
    // are scraped per service, by the ServiceMonitors of the services.
    new ServiceMonitorForComponent(this, 'monitor', {
      namespace: props.namespace, name, selector: this.labels, endpoints: [{ port: PORT_NAMES.selfMetrics, interval: props.scrapeInterval }],
    });
  }

  private deployment(props: OtelCollectorProps, configYaml: string): void {
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: this.meta,
      spec: {
        // Under an autoscaler the count is its to set: a replicas field here would reset it on every apply.
        ...(props.autoscaling ? {} : { replicas: props.replicas ?? 1 }),
        selector: { matchLabels: this.podSelector },
        template: {
          metadata: {
            labels: this.labels,
            // Roll the pods when the configuration changes.
            annotations: { 'checksum/config': createHash('sha256').update(configYaml).digest('hex') },
          },
          spec: {
            serviceAccountName: NAMES.collector,
            automountServiceAccountToken: true, // k8sattributes reads pods from the API
            securityContext: restrictedPod(COLLECTOR_UID),
            affinity: spreadOverNodes(this.podSelector),
            containers: [collectorContainer(props, props.resources ?? DEFAULT_RESOURCES)],
            volumes: [{ name: 'config', configMap: { name: `${NAMES.collector}-config` } }],
          },
        },
      },
    });
  }

  /**
   * Replicas between min and max, keeping the pods' average CPU at the target (the collector's
   * cost grows with the points it receives, bench/RESULTS.md). Scaling
   * down is held for 5 minutes, the autoscaler's default: each change moves chat pods' connections.
   */
  private autoscaler(a: CollectorAutoscaling): void {
    new k8s.KubeHorizontalPodAutoscalerV2(this, 'autoscaler', {
      metadata: this.meta,
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAMES.collector },
        minReplicas: a.minReplicas,
        maxReplicas: a.maxReplicas,
        // An average value, not a utilization: utilization is a share of the request (100m), and the
        // collector is sized to use up to its limit.
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: k8s.Quantity.fromString(a.targetCpu) } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
      },
    });
  }

  /**
   * The collector's Service (OTLP in, its own metrics out), and one Service per chat service: its
   * ServiceMonitor selects it by exporterServiceLabels(), whose component label differs from the
   * collector's, so the collector's own ServiceMonitor does not.
   */
  private services(props: OtelCollectorProps): void {
    const port = (key: keyof typeof PORT_NAMES) => ({ name: PORT_NAMES[key], port: COLLECTOR_PORTS[key], targetPort: k8s.IntOrString.fromString(PORT_NAMES[key]) });
    new k8s.KubeService(this, 'service', {
      metadata: this.meta,
      spec: {
        selector: this.podSelector,
        ports: [{ ...port('otlpGrpc'), appProtocol: 'grpc' }, { ...port('otlpHttp'), appProtocol: 'http' }, port('selfMetrics')],
      },
    });
    for (const e of props.exporters) {
      new k8s.KubeService(this, `exporter-${e.service.name}`, {
        metadata: { name: e.serviceName, namespace: props.namespace, labels: exporterServiceLabels(e.service.name) },
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
  private rbac(props: OtelCollectorProps): void {
    const labels = this.labels;
    const name = NAMES.collector;
    const subjects = [{ kind: 'ServiceAccount', name, namespace: props.namespace }];
    const rules = [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }];
    if (props.pushNamespaces.length > 1) {
      const clusterName = chartPrefixed(name);
      new k8s.KubeClusterRole(this, 'cluster-role', { metadata: { name: clusterName, labels }, rules });
      new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', {
        metadata: { name: clusterName, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterName },
        subjects,
      });
    } else {
      const metadata = { name: `${name}-pod-reader`, namespace: props.pushNamespaces[0], labels };
      new k8s.KubeRole(this, 'pod-reader', { metadata, rules });
      new k8s.KubeRoleBinding(this, 'pod-reader-binding', {
        metadata,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: metadata.name },
        subjects,
      });
    }
  }
}
