/** The two components that work on the object store's blocks: the Store Gateway and the Compactor, each a StatefulSet with a claim for its data. */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { componentLabels, NAMES, selectorLabels } from '../labels';
import { podDisruptionBudgetFor } from '../pod-disruption-budget';
import { ResourceSizes } from '../security';
import { ThanosRetention } from './thanos-settings';
import { dataClaim, ObjectStoreMount, thanosContainer, thanosPodSpec, thanosServiceObjects } from './thanos-component';

interface BucketComponentProps {
  readonly namespace: string;
  /** Pinned Thanos image. */
  readonly image: string;
  /** The Secret and key holding the object-store configuration (never synthesized). */
  readonly objectStore: ObjectStoreMount;
  /** Size of each replica's claim. @default STORE_STORAGE / COMPACTOR_STORAGE */
  readonly storage?: string;
  readonly storageClassName?: string;
  readonly scrapeInterval: string;
}

/** The Store Gateway's claim: index headers and its caches, rebuilt from the bucket when lost. */
export const STORE_STORAGE = '10Gi';
/** The Compactor's claim: the blocks it is compacting or downsampling (a few times the largest 2-week block). */
export const COMPACTOR_STORAGE = '20Gi';

interface StatefulSetProps extends BucketComponentProps {
  readonly storage: string;
  readonly name: string;
  readonly role: string;
  readonly command: string;
  readonly grpc: boolean;
  readonly replicas: number;
  readonly args: readonly string[];
  readonly resources: ResourceSizes;
}

/** A Thanos component on the object store: ServiceAccount, StatefulSet with a data claim, headless Service, ServiceMonitor, budget. */
function bucketStatefulSet(scope: Construct, props: StatefulSetProps): void {
  const labels = componentLabels(props.name, props.role);
  const { container, volumes } = thanosContainer({ ...props, dataDir: `/var/thanos/${props.command}` });
  new k8s.KubeStatefulSet(scope, 'statefulset', {
    metadata: { name: props.name, namespace: props.namespace, labels },
    spec: {
      serviceName: props.name,
      replicas: props.replicas,
      selector: { matchLabels: selectorLabels(props.name) },
      template: { metadata: { labels }, spec: thanosPodSpec(props.name, container, volumes) },
      volumeClaimTemplates: [dataClaim(props.storage, props.storageClassName)],
    },
  });
  thanosServiceObjects(scope, { ...props, headless: true });
  podDisruptionBudgetFor(scope, { namespace: props.namespace, name: props.name, replicas: props.replicas });
}

export interface ThanosStoreProps extends BucketComponentProps {
  /** @default 2 (Query reads each block from either; a PodDisruptionBudget keeps one up) */
  readonly replicas?: number;
  /** @default 100m/256Mi requests, 1 CPU/2Gi limits */
  readonly resources?: ResourceSizes;
}

/**
 * The Store Gateway: serves the object store's blocks to Query over StoreAPI (gRPC), its index
 * headers and caches on its claim.
 */
export class ThanosStore extends Construct {
  static readonly ROLE = 'store-gateway';
  constructor(scope: Construct, id: string, props: ThanosStoreProps) {
    super(scope, id);
    bucketStatefulSet(this, {
      ...props,
      name: NAMES.thanosStore,
      role: ThanosStore.ROLE,
      command: 'store',
      storage: props.storage ?? STORE_STORAGE,
      grpc: true,
      replicas: props.replicas ?? 2,
      args: [],
      resources: props.resources ?? { cpuRequest: '100m', memoryRequest: '256Mi', cpuLimit: '1', memoryLimit: '2Gi' },
    });
  }
}

export interface ThanosCompactorProps extends BucketComponentProps {
  readonly retention: ThanosRetention;
  /** @default 100m/256Mi requests, 1 CPU/2Gi limits */
  readonly resources?: ResourceSizes;
}

/**
 * The Compactor: compacts the uploaded blocks, downsamples them to 5m and 1h, and deletes each
 * resolution past its retention. Exactly one may run against a bucket: one replica, no budget.
 */
export class ThanosCompactor extends Construct {
  static readonly ROLE = 'compactor';
  constructor(scope: Construct, id: string, props: ThanosCompactorProps) {
    super(scope, id);
    bucketStatefulSet(this, {
      ...props,
      name: NAMES.thanosCompactor,
      role: ThanosCompactor.ROLE,
      command: 'compact',
      storage: props.storage ?? COMPACTOR_STORAGE,
      grpc: false,
      replicas: 1,
      args: [
        '--wait', // run continuously, not once
        `--retention.resolution-raw=${props.retention.raw}`,
        `--retention.resolution-5m=${props.retention.fiveMinutes}`,
        `--retention.resolution-1h=${props.retention.oneHour}`,
      ],
      resources: props.resources ?? { cpuRequest: '100m', memoryRequest: '256Mi', cpuLimit: '1', memoryLimit: '2Gi' },
    });
  }
}
