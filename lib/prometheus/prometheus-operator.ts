import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { componentLabels, NAMES, selectorLabels } from '../labels';
import { resources, restrictedContainer, restrictedPod } from '../security';

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
  readonly podSelector = selectorLabels(NAMES.operator);

  constructor(scope: Construct, id: string, props: PrometheusOperatorProps) {
    super(scope, id);
    const name = NAMES.operator;
    const labels = componentLabels(name, 'controller');
    const meta = { name, namespace: props.namespace, labels };
    const subjects = [{ kind: 'ServiceAccount', name, namespace: props.namespace }];

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: meta, automountServiceAccountToken: true });

    const clusterName = `chat-monitoring-${name}`;
    new k8s.KubeClusterRole(this, 'cluster-role', {
      metadata: { name: clusterName, labels },
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
      metadata: { name: clusterName, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterName },
      subjects,
    });
    new k8s.KubeRole(this, 'role', {
      metadata: meta,
      rules: [
        {
          apiGroups: ['monitoring.coreos.com'],
          resources: ['prometheuses', 'prometheuses/finalizers', 'prometheuses/status', 'servicemonitors',
            'servicemonitors/status', 'podmonitors', 'probes', 'prometheusrules', 'scrapeconfigs',
            'alertmanagers', 'alertmanagers/finalizers', 'alertmanagers/status'],
          verbs: MANAGE,
        },
        // Read only: it renders Alertmanager's configuration from them.
        { apiGroups: ['monitoring.coreos.com'], resources: ['alertmanagerconfigs'], verbs: READ },
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
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects,
    });

    new k8s.KubeDeployment(this, 'deployment', {
      metadata: meta,
      spec: {
        replicas: 1,
        selector: { matchLabels: this.podSelector },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
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
                '--web.listen-address=:8080',
              ],
              ports: [{ name: 'http', containerPort: 8080 }],
              livenessProbe: { httpGet: { path: '/healthz', port: k8s.IntOrString.fromString('http') }, periodSeconds: 10 },
              readinessProbe: { httpGet: { path: '/healthz', port: k8s.IntOrString.fromString('http') }, periodSeconds: 5 },
              resources: resources({ cpuRequest: '100m', memoryRequest: '100Mi', cpuLimit: '200m', memoryLimit: '200Mi' }),
              securityContext: restrictedContainer(),
            }],
          },
        },
      },
    });

    new k8s.KubeService(this, 'service', {
      metadata: meta,
      spec: { selector: this.podSelector, ports: [{ name: 'http', port: 8080, targetPort: k8s.IntOrString.fromString('http') }] },
    });
  }
}
