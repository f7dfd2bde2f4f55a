import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { chartPrefixed, componentLabels, NAMES, selectorLabels } from '../labels';
import { resources, restrictedContainer, restrictedPod } from '../security';
import { ServiceMonitorForComponent } from './service-monitors';

export interface PrometheusOperatorProps {
  readonly namespace: string;
  readonly image: string;
  readonly configReloaderImage: string;
}

const READ = ['get', 'list', 'watch'];
const MANAGE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/**
 * The Prometheus Operator, watching only the stack's namespace: that keeps nearly all of its
 * RBAC in a namespaced Role. Its cluster-wide rights are read-only.
 */
export class PrometheusOperator extends Construct {
  /** Its metrics and health endpoint. */
  static readonly PORT = 8080;
  static readonly PORT_NAME = 'http';
  /** The app.kubernetes.io/component label of its objects (its ServiceMonitor selects by it). */
  static readonly ROLE = 'controller';
  readonly podSelector = selectorLabels(NAMES.operator);
  private readonly namespace: string;
  private readonly labels = componentLabels(NAMES.operator, PrometheusOperator.ROLE);
  private readonly meta: k8s.ObjectMeta;
  private readonly subjects: k8s.Subject[];

  constructor(scope: Construct, id: string, props: PrometheusOperatorProps) {
    super(scope, id);
    this.namespace = props.namespace;
    this.meta = { name: NAMES.operator, namespace: props.namespace, labels: this.labels };
    this.subjects = [{ kind: 'ServiceAccount', name: NAMES.operator, namespace: props.namespace }];

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: this.meta, automountServiceAccountToken: true });
    this.clusterRbac();
    this.namespacedRbac();
    this.deployment(props);
    new k8s.KubeService(this, 'service', {
      metadata: this.meta,
      spec: {
        selector: this.podSelector,
        ports: [{ name: PrometheusOperator.PORT_NAME, port: PrometheusOperator.PORT, targetPort: k8s.IntOrString.fromString(PrometheusOperator.PORT_NAME) }],
      },
    });
  }

  /**
   * Its ServiceMonitor, in `scope`: the chart's Prometheus scrapes the operator, but the operator's
   * own chart goes first and holds no monitoring objects.
   */
  addServiceMonitor(scope: Construct, id: string, scrapeInterval: string): ServiceMonitorForComponent {
    return new ServiceMonitorForComponent(scope, id, {
      namespace: this.namespace,
      name: NAMES.operator,
      selector: this.labels,
      endpoints: [{ port: PrometheusOperator.PORT_NAME, interval: scrapeInterval }],
    });
  }

  private clusterRbac(): void {
    const clusterName = chartPrefixed(NAMES.operator);
    const metadata = { name: clusterName, labels: this.labels };
    new k8s.KubeClusterRole(this, 'cluster-role', {
      metadata,
      rules: [
        // Resolves namespace selectors and checks storage classes of volume claim templates.
        { apiGroups: [''], resources: ['namespaces'], verbs: READ },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get'] },
        // v0.93 checks this right across all namespaces at start-up and emits no Events without it
        // (a namespaced grant is not enough). Events land in the namespaces it watches.
        { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    });
    new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterName },
      subjects: this.subjects,
    });
  }

  private namespacedRbac(): void {
    new k8s.KubeRole(this, 'role', {
      metadata: this.meta,
      rules: [
        // The workloads it reconciles: it sets their finalizers and status.
        {
          apiGroups: ['monitoring.coreos.com'],
          resources: ['prometheuses', 'prometheuses/finalizers', 'prometheuses/status',
            'alertmanagers', 'alertmanagers/finalizers', 'alertmanagers/status'],
          verbs: MANAGE,
        },
        // Read only: it renders the Prometheus and Alertmanager configurations from them. (v0.93 writes
        // their status only under the StatusForConfigurationResources feature gate, which is off.)
        {
          apiGroups: ['monitoring.coreos.com'],
          resources: ['servicemonitors', 'podmonitors', 'probes', 'prometheusrules', 'scrapeconfigs', 'alertmanagerconfigs'],
          verbs: READ,
        },
        { apiGroups: ['apps'], resources: ['statefulsets'], verbs: MANAGE },
        // The generated Prometheus and Alertmanager configurations and rule files live in Secrets and
        // ConfigMaps it owns; it reads the receivers' credentials from the Secret the user created.
        { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: MANAGE },
        // Replica status of the StatefulSets it generates. (Deleting pods is for a repair policy the
        // chart does not set; Endpoints are the kubelet controller's, disabled by --kubelet-service=;
        // Ingresses are Probe targets, and the chart selects no Probes.)
        { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
        // The governing Services prometheus-operated and alertmanager-operated.
        { apiGroups: [''], resources: ['services'], verbs: ['get', 'create', 'update', 'delete'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'role-binding', {
      metadata: this.meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAMES.operator },
      subjects: this.subjects,
    });
  }

  private deployment(props: PrometheusOperatorProps): void {
    const port = k8s.IntOrString.fromString(PrometheusOperator.PORT_NAME);
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: this.meta,
      spec: {
        replicas: 1,
        selector: { matchLabels: this.podSelector },
        template: {
          metadata: { labels: this.labels },
          spec: {
            serviceAccountName: NAMES.operator,
            automountServiceAccountToken: true,
            securityContext: restrictedPod(65534),
            containers: [{
              name: 'prometheus-operator',
              image: props.image,
              args: [
                `--namespaces=${props.namespace}`,
                `--prometheus-config-reloader=${props.configReloaderImage}`,
                '--kubelet-service=',
                '--log-format=json',
                `--web.listen-address=:${PrometheusOperator.PORT}`,
              ],
              ports: [{ name: PrometheusOperator.PORT_NAME, containerPort: PrometheusOperator.PORT }],
              livenessProbe: { httpGet: { path: '/healthz', port }, periodSeconds: 10 },
              readinessProbe: { httpGet: { path: '/healthz', port }, periodSeconds: 5 },
              resources: resources({ cpuRequest: '100m', memoryRequest: '100Mi', cpuLimit: '200m', memoryLimit: '200Mi' }),
              securityContext: restrictedContainer(),
            }],
          },
        },
      },
    });
  }
}
