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
  PrometheusSpecThanosResourcesLimits,
  PrometheusSpecThanosResourcesRequests,
} from '../../imports/prometheus-monitoring.coreos.com';
import { chartPrefixed, componentLabels, MONITORING_SELECTOR, NAMES, selectorLabels } from '../labels';
import { spreadOverNodes } from '../spread';
import { OPERATED_PORT_NAMES, operatorPodSecurity, volumeClaimTemplate, webAndReloaderEndpoints, webAndReloaderService } from '../operator-pods';
import { podDisruptionBudgetFor } from '../pod-disruption-budget';
import { ObjectStoreMount, THANOS_PORT_NAMES, THANOS_PORTS } from '../thanos/thanos-component';
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
  /** The operator's Thanos sidecar beside each replica (StoreAPI for Thanos Query), uploading blocks when `objectStorage` is given. */
  readonly thanos?: PrometheusThanosProps;
  /** Service (in `namespace`) of the Alertmanager that receives the alerts; Prometheus sends to its web port. */
  readonly alertmanagerService?: string;
}

export interface PrometheusThanosProps {
  /** Pinned Thanos image; its tag is also `spec.thanos.version`. */
  readonly image: string;
  /** The Secret and key of the object-store configuration; unset, the sidecars upload nothing. */
  readonly objectStorage?: ObjectStoreMount;
}

const READ = ['get', 'list', 'watch'];
const tagOf = (image: string) => image.split(':').pop()!;

/**
 * spec.thanos: the operator adds the `thanos-sidecar` container (gRPC StoreAPI on 10901, HTTP on
 * 10902) and a `grpc` port to its headless `prometheus-operated` Service (v0.93.1
 * pkg/prometheus/server/operator.go), which Query resolves by DNS SRV. The replicas' external label
 * stays the operator's default `prometheus_replica` (replicaExternalLabelName unset), which Query
 * deduplicates on. With an object store, the sidecar reads its configuration from the Secret
 * (`--objstore.config=$(OBJSTORE_CONFIG)`) and uploads each finished block.
 */
function thanosSpec(t: PrometheusThanosProps) {
  return {
    image: t.image,
    version: tagOf(t.image),
    resources: {
      requests: { cpu: PrometheusSpecThanosResourcesRequests.fromString('50m'), memory: PrometheusSpecThanosResourcesRequests.fromString('64Mi') },
      limits: { cpu: PrometheusSpecThanosResourcesLimits.fromString('500m'), memory: PrometheusSpecThanosResourcesLimits.fromString('512Mi') },
    },
    ...(t.objectStorage ? { objectStorageConfig: { name: t.objectStorage.secretName, key: t.objectStorage.key } } : {}),
  };
}

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
  /** Its Service's port for the Thanos sidecar's HTTP (metrics). */
  static readonly SIDECAR_PORT_NAME = 'thanos-sidecar';
  readonly podSelector = selectorLabels(NAMES.prometheus);

  constructor(scope: Construct, id: string, props: PrometheusProps) {
    super(scope, id);
    const name = NAMES.prometheus;
    const labels = componentLabels(name, Prometheus.ROLE);
    const meta = { name, namespace: props.namespace, labels };

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: meta, automountServiceAccountToken: true });

    this.discoveryRbac(props, labels);

    new PrometheusResource(this, 'prometheus', {
      metadata: { name: Prometheus.RESOURCE_NAME, namespace: props.namespace, labels },
      spec: {
        version: tagOf(props.image),
        image: props.image,
        replicas: props.replicas ?? 1,
        serviceAccountName: name,
        podMetadata: { labels },
        affinity: spreadOverNodes(this.podSelector),
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
        ...(props.thanos ? { thanos: thanosSpec(props.thanos) } : {}),
      },
    });

    // The sidecar's metrics (uploads, its StoreAPI) beside the server's and the reloader's.
    const sidecar = props.thanos ? [{ name: Prometheus.SIDECAR_PORT_NAME, port: THANOS_PORTS.http, targetPort: THANOS_PORT_NAMES.http }] : [];
    webAndReloaderService(this, meta, this.podSelector, Prometheus.PORT, sidecar);
    podDisruptionBudgetFor(this, { namespace: props.namespace, name, replicas: props.replicas ?? 1 });
    new ServiceMonitorForComponent(this, 'monitor', {
      namespace: props.namespace, name, selector: labels,
      endpoints: [...webAndReloaderEndpoints(props.scrapeInterval), ...sidecar.map((p) => ({ port: p.name, interval: props.scrapeInterval }))],
    });
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
