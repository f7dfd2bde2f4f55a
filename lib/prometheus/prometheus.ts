import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import {
  Prometheus as PrometheusResource,
  PrometheusSpecAlertingAlertmanagersApiVersion,
  PrometheusSpecAlertingAlertmanagersPort,
  PrometheusSpecResourcesLimits,
  PrometheusSpecResourcesRequests,
  PrometheusSpecServiceDiscoveryRole,
  PrometheusSpecStorageVolumeClaimTemplateSpecResourcesRequests,
} from '../../imports/prometheus-monitoring.coreos.com';
import { chartPrefixed, componentLabels, MONITORING_SELECTOR, NAMES, selectorLabels } from '../labels';
import { OPERATED_PORT_NAMES, operatorPodSecurity, volumeClaimTemplate, webAndReloaderEndpoints, webAndReloaderService } from '../operator-pods';
import { podDisruptionBudgetFor } from '../pod-disruption-budget';
import { ServiceMonitorForComponent } from './service-monitors';

export interface PrometheusProps {
  readonly namespace: string;
  /** Pinned Prometheus image; its tag is also the CR's `version`. */
  readonly image: string;
  /** Namespaces Prometheus discovers targets in besides its own (those of pull-mode chat services). */
  readonly scrapedNamespaces: readonly string[];
  /** Its scrape and rule-evaluation interval, also of its own ServiceMonitor. */
  readonly scrapeInterval: string;
  readonly retention: string;
  /** Size of each replica's PersistentVolumeClaim, e.g. '10Gi'. */
  readonly storage: string;
  readonly storageClassName?: string;
  /** @default 1 (above 1, with a PodDisruptionBudget) */
  readonly replicas?: number;
  /** Service (in `namespace`) of the Alertmanager that receives the alerts; Prometheus sends to its web port. */
  readonly alertmanagerService?: string;
}

const READ = ['get', 'list', 'watch'];

/** Keep ~80 % of the volume for blocks so the WAL and compaction never fill it. */
function retentionSizeFor(storage: string): string | undefined {
  const m = /^([0-9]+)(Gi|Mi)$/.exec(storage);
  if (!m) return undefined;
  const mb = Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
  return `${Math.floor(mb * 0.8)}MB`;
}

/**
 * A Prometheus server run by the operator, selecting exactly this chart's ServiceMonitors and rules,
 * with its Service, its own ServiceMonitor and (above one replica) a PodDisruptionBudget.
 */
export class Prometheus extends Construct {
  /** Name of the Prometheus custom resource (the operator names the StatefulSet prometheus-<name>). */
  static readonly RESOURCE_NAME = 'chat-monitoring';
  /** Its API, UI and metrics (the operator's default web port). */
  static readonly PORT = 9090;
  /** The app.kubernetes.io/component label of its objects (its ServiceMonitor selects by it). */
  static readonly ROLE = 'server';
  readonly podSelector = selectorLabels(NAMES.prometheus);

  constructor(scope: Construct, id: string, props: PrometheusProps) {
    super(scope, id);
    const name = NAMES.prometheus;
    const labels = componentLabels(name, Prometheus.ROLE);
    const meta = { name, namespace: props.namespace, labels };

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: meta, automountServiceAccountToken: true });

    this.discoveryRbac(props, labels);

    const version = props.image.split(':').pop()!;
    new PrometheusResource(this, 'prometheus', {
      metadata: { name: Prometheus.RESOURCE_NAME, namespace: props.namespace, labels },
      spec: {
        version,
        image: props.image,
        replicas: props.replicas ?? 1,
        serviceAccountName: name,
        podMetadata: { labels },
        // Exactly this chart's objects, in this namespace (a null namespace selector means "own namespace").
        serviceMonitorSelector: { matchLabels: { ...MONITORING_SELECTOR } },
        ruleSelector: { matchLabels: { ...MONITORING_SELECTOR } },
        serviceDiscoveryRole: PrometheusSpecServiceDiscoveryRole.ENDPOINT_SLICE,
        scrapeInterval: props.scrapeInterval,
        evaluationInterval: props.scrapeInterval,
        retention: props.retention,
        retentionSize: retentionSizeFor(props.storage),
        walCompression: true,
        // Prometheus discovers the Service's endpoints and sends to every Alertmanager replica;
        // the operator drops the prometheus_replica label from alerts so replicas deduplicate.
        alerting: props.alertmanagerService ? {
          alertmanagers: [{
            namespace: props.namespace,
            name: props.alertmanagerService,
            port: PrometheusSpecAlertingAlertmanagersPort.fromString(OPERATED_PORT_NAMES.web),
            apiVersion: PrometheusSpecAlertingAlertmanagersApiVersion.V2,
          }],
        } : undefined,
        storage: volumeClaimTemplate(PrometheusSpecStorageVolumeClaimTemplateSpecResourcesRequests.fromString(props.storage), props.storageClassName),
        resources: {
          requests: { cpu: PrometheusSpecResourcesRequests.fromString('100m'), memory: PrometheusSpecResourcesRequests.fromString('400Mi') },
          limits: { cpu: PrometheusSpecResourcesLimits.fromString('1'), memory: PrometheusSpecResourcesLimits.fromString('1536Mi') },
        },
        securityContext: operatorPodSecurity(),
      },
    });

    webAndReloaderService(this, meta, this.podSelector, Prometheus.PORT);
    podDisruptionBudgetFor(this, { namespace: props.namespace, name, replicas: props.replicas ?? 1 });
    new ServiceMonitorForComponent(this, 'monitor', { namespace: props.namespace, name, selector: labels, endpoints: webAndReloaderEndpoints(props.scrapeInterval) });
  }

  /** Service discovery rights only where there is something to scrape, as namespaced Roles. */
  private discoveryRbac(props: PrometheusProps, labels: Record<string, string>): void {
    const name = NAMES.prometheus;
    for (const ns of [props.namespace, ...props.scrapedNamespaces.filter((n) => n !== props.namespace)]) {
      const rbacMeta = { name: chartPrefixed(name), namespace: ns, labels };
      new k8s.KubeRole(this, `discovery-role-${ns}`, {
        metadata: rbacMeta,
        rules: [
          { apiGroups: [''], resources: ['services', 'pods'], verbs: READ },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
        ],
      });
      new k8s.KubeRoleBinding(this, `discovery-role-binding-${ns}`, {
        metadata: rbacMeta,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: rbacMeta.name },
        subjects: [{ kind: 'ServiceAccount', name, namespace: props.namespace }],
      });
    }
  }
}
