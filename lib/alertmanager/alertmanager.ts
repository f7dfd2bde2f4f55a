import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import {
  Alertmanager as AlertmanagerResource,
  AlertmanagerSpecAlertmanagerConfigMatcherStrategyType,
  AlertmanagerSpecResourcesLimits,
  AlertmanagerSpecResourcesRequests,
  AlertmanagerSpecStorageVolumeClaimTemplateSpecResourcesRequests,
} from '../../imports/alertmanager-monitoring.coreos.com';
import { ALERTMANAGER_CONFIG_SELECTOR, componentLabels, NAMES, selectorLabels } from '../labels';
import { spreadOverNodes } from '../spread';
import { AlertmanagerConfigSpec } from './alertmanager-config';
import { operatorPodSecurity, volumeClaimTemplate, webAndReloaderEndpoints, webAndReloaderService } from '../operator-pods';
import { podDisruptionBudgetFor } from '../pod-disruption-budget';
import { ServiceMonitorForComponent } from '../prometheus/service-monitors';

export interface AlertmanagerProps {
  readonly namespace: string;
  /** Pinned Alertmanager image; its tag is also the resource's `version`. */
  readonly image: string;
  /** @default 1 (above 1 the replicas form a cluster on CLUSTER_PORT, with a PodDisruptionBudget) */
  readonly replicas?: number;
  /** Size of each replica's claim for silences and the notification log, e.g. '1Gi'. */
  readonly storage: string;
  readonly storageClassName?: string;
  /** How long silences and the notification log are kept (`--data.retention`). */
  readonly retention: string;
  /** Each replica's wait per position before it sends what no earlier one sent (`--cluster.peer-timeout`). @default Alertmanager's (15s) */
  readonly clusterPeerTimeout?: string;
  /** The generated route tree, inhibitions and receivers (alertmanager-config.ts). */
  readonly config: AlertmanagerConfigSpec;
  /** How often Prometheus scrapes its metrics. */
  readonly scrapeInterval: string;
}

/**
 * Alertmanager run by the operator. Its configuration is the chart's AlertmanagerConfig object
 * (no credentials; receivers reference a user-created Secret), merged with any AlertmanagerConfig
 * the user adds in the stack's namespace with the label ALERTMANAGER_CONFIG_SELECTOR. With its
 * Service, its own ServiceMonitor and (above one replica) a PodDisruptionBudget.
 */
export class Alertmanager extends Construct {
  /** Name of the Alertmanager and AlertmanagerConfig resources (the StatefulSet is alertmanager-<name>). */
  static readonly RESOURCE_NAME = 'chat-monitoring';
  /** Its API and UI: alerts from Prometheus, queries from Grafana, scrapes (the operator's default web port). */
  static readonly PORT = 9093;
  /** Gossip between replicas (TCP and UDP); the operator disables it for a single replica. */
  static readonly CLUSTER_PORT = 9094;
  /** The app.kubernetes.io/component label of its objects (its ServiceMonitor selects by it). */
  static readonly ROLE = 'alerting';
  readonly podSelector = selectorLabels(NAMES.alertmanager);

  constructor(scope: Construct, id: string, props: AlertmanagerProps) {
    super(scope, id);
    const name = NAMES.alertmanager;
    const labels = componentLabels(name, Alertmanager.ROLE);
    const meta = { name, namespace: props.namespace, labels };

    // Alertmanager and its config reloader read files only: no API token.
    new k8s.KubeServiceAccount(this, 'service-account', { metadata: meta, automountServiceAccountToken: false });

    new ApiObject(this, 'config', {
      apiVersion: 'monitoring.coreos.com/v1alpha1',
      kind: 'AlertmanagerConfig',
      metadata: { name: Alertmanager.RESOURCE_NAME, namespace: props.namespace, labels },
      spec: props.config,
    });

    const version = props.image.split(':').pop()!;
    new AlertmanagerResource(this, 'alertmanager', {
      metadata: { name: Alertmanager.RESOURCE_NAME, namespace: props.namespace, labels },
      spec: {
        version,
        image: props.image,
        replicas: props.replicas ?? 1,
        serviceAccountName: name,
        podMetadata: { labels },
        affinity: spreadOverNodes(this.podSelector),
        retention: props.retention,
        clusterPeerTimeout: props.clusterPeerTimeout,
        alertmanagerConfiguration: { name: Alertmanager.RESOURCE_NAME },
        // User-provided receivers: AlertmanagerConfigs of this namespace with this label, routed
        // before the chart's routes (with continue) and without a forced namespace matcher, since
        // the chart's alerts carry no namespace label of their own.
        alertmanagerConfigSelector: { matchLabels: { ...ALERTMANAGER_CONFIG_SELECTOR } },
        alertmanagerConfigMatcherStrategy: { type: AlertmanagerSpecAlertmanagerConfigMatcherStrategyType.NONE },
        storage: volumeClaimTemplate(AlertmanagerSpecStorageVolumeClaimTemplateSpecResourcesRequests.fromString(props.storage), props.storageClassName),
        resources: {
          requests: { cpu: AlertmanagerSpecResourcesRequests.fromString('10m'), memory: AlertmanagerSpecResourcesRequests.fromString('64Mi') },
          limits: { cpu: AlertmanagerSpecResourcesLimits.fromString('200m'), memory: AlertmanagerSpecResourcesLimits.fromString('256Mi') },
        },
        securityContext: operatorPodSecurity(),
      },
    });

    webAndReloaderService(this, meta, this.podSelector, Alertmanager.PORT);
    podDisruptionBudgetFor(this, { namespace: props.namespace, name, replicas: props.replicas ?? 1 });
    new ServiceMonitorForComponent(this, 'monitor', { namespace: props.namespace, name, selector: labels, endpoints: webAndReloaderEndpoints(props.scrapeInterval) });
  }
}
