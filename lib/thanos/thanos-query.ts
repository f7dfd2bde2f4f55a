import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { componentLabels, NAMES, selectorLabels } from '../labels';
import { podDisruptionBudgetFor } from '../pod-disruption-budget';
import { ResourceSizes } from '../security';
import { endpointSdConfig, REPLICA_LABEL, srvName, THANOS_PORT_NAMES, thanosContainer, thanosPodSpec, thanosServiceObjects } from './thanos-component';

export interface ThanosQueryProps {
  readonly namespace: string;
  /** Pinned Thanos image. */
  readonly image: string;
  /** @default 2 (above 1, with a PodDisruptionBudget) */
  readonly replicas?: number;
  /** Headless Services whose `grpc` port serves StoreAPI on every pod: the Prometheus sidecars' (the operator's `prometheus-operated`), the Store Gateway's. */
  readonly storeServices: readonly string[];
  /** Long-term storage is on: let Query read downsampled blocks for wide ranges (`--query.auto-downsampling`). */
  readonly downsampled: boolean;
  readonly scrapeInterval: string;
  /** @default 100m/128Mi requests, 1 CPU/1Gi limits */
  readonly resources?: ResourceSizes;
}

const DEFAULT_RESOURCES: ResourceSizes = { cpuRequest: '100m', memoryRequest: '128Mi', cpuLimit: '1', memoryLimit: '1Gi' };

/**
 * Thanos Query: Prometheus's HTTP API over every StoreAPI (the sidecars, the Store Gateway),
 * deduplicating the Prometheus replicas on REPLICA_LABEL. Grafana's Prometheus datasource reads
 * through it. With its Service, its own ServiceMonitor and (above one replica) a PodDisruptionBudget.
 */
export class ThanosQuery extends Construct {
  static readonly ROLE = 'query';
  /** Its HTTP API (Prometheus's), health and metrics. */
  static readonly PORT_NAME = THANOS_PORT_NAMES.http;
  readonly podSelector = selectorLabels(NAMES.thanosQuery);

  constructor(scope: Construct, id: string, props: ThanosQueryProps) {
    super(scope, id);
    const name = NAMES.thanosQuery;
    const labels = componentLabels(name, ThanosQuery.ROLE);
    const replicas = props.replicas ?? 2;
    const { container, volumes } = thanosContainer({
      name,
      image: props.image,
      command: 'query',
      grpc: true,
      // dnssrv+: the whole name (`_grpc._tcp.<service>...`) is looked up as SRV, then each target's A
      // record (v0.42.5 pkg/discovery/dns/resolver.go), again every refresh.
      args: [
        endpointSdConfig(props.storeServices.map((svc) => `dnssrv+${srvName(svc, props.namespace, THANOS_PORT_NAMES.grpc)}`)),
        `--query.replica-label=${REPLICA_LABEL}`,
        ...(props.downsampled ? ['--query.auto-downsampling'] : []),
      ],
      resources: props.resources ?? DEFAULT_RESOURCES,
    });
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name, namespace: props.namespace, labels },
      spec: {
        replicas,
        selector: { matchLabels: this.podSelector },
        template: { metadata: { labels }, spec: thanosPodSpec(name, container, volumes) },
      },
    });
    thanosServiceObjects(this, { namespace: props.namespace, name, role: ThanosQuery.ROLE, grpc: false, scrapeInterval: props.scrapeInterval });
    podDisruptionBudgetFor(this, { namespace: props.namespace, name, replicas });
  }
}
