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
  /** Size of each replica's claim. */
  readonly storage: string;
  readonly storageClassName?: string;
  readonly scrapeInterval: string;
  /** @default the component's (BucketComponent.resources) */
  readonly resources?: ResourceSizes;
}

/** What sets one component apart: its name, Thanos subcommand, whether it serves StoreAPI, its defaults. */
interface BucketComponent {
  readonly name: string;
  /** The app.kubernetes.io/component label. */
  readonly role: string;
  readonly command: string;
  readonly grpc: boolean;
  readonly resources: ResourceSizes;
}

const BUCKET_RESOURCES: ResourceSizes = { cpuRequest: '100m', memoryRequest: '256Mi', cpuLimit: '1', memoryLimit: '2Gi' };

/** The Store Gateway: its claim holds index headers and caches (thanos.storeStorage). */
export const STORE_GATEWAY: BucketComponent = { name: NAMES.thanosStore, role: 'store-gateway', command: 'store', grpc: true, resources: BUCKET_RESOURCES };
/** The Compactor: its claim holds the blocks it is compacting or downsampling (thanos.compactorStorage). */
export const COMPACTOR: BucketComponent = { name: NAMES.thanosCompactor, role: 'compactor', command: 'compact', grpc: false, resources: BUCKET_RESOURCES };

/** A Thanos component on the object store: ServiceAccount, StatefulSet with a data claim, headless Service, ServiceMonitor, budget. */
function bucketStatefulSet(scope: Construct, c: BucketComponent, props: BucketComponentProps, replicas: number, args: readonly string[]): void {
  const labels = componentLabels(c.name, c.role);
  const { container, volumes } = thanosContainer({
    ...props, name: c.name, command: c.command, grpc: c.grpc, args, dataDir: `/var/thanos/${c.command}`, resources: props.resources ?? c.resources,
  });
  new k8s.KubeStatefulSet(scope, 'statefulset', {
    metadata: { name: c.name, namespace: props.namespace, labels },
    spec: {
      serviceName: c.name,
      replicas,
      selector: { matchLabels: selectorLabels(c.name) },
      template: { metadata: { labels }, spec: thanosPodSpec(c.name, container, volumes) },
      volumeClaimTemplates: [dataClaim(props.storage, props.storageClassName)],
    },
  });
  thanosServiceObjects(scope, { namespace: props.namespace, name: c.name, role: c.role, grpc: c.grpc, headless: true, scrapeInterval: props.scrapeInterval });
  podDisruptionBudgetFor(scope, { namespace: props.namespace, name: c.name, replicas });
}

export interface ThanosStoreProps extends BucketComponentProps {
  /** @default 2 (Query reads each block from either; a PodDisruptionBudget keeps one up) */
  readonly replicas?: number;
}

/** The Store Gateway: serves the object store's blocks to Query over StoreAPI (gRPC). */
export class ThanosStore extends Construct {
  constructor(scope: Construct, id: string, props: ThanosStoreProps) {
    super(scope, id);
    bucketStatefulSet(this, STORE_GATEWAY, props, props.replicas ?? 2, []);
  }
}

export interface ThanosCompactorProps extends BucketComponentProps {
  readonly retention: ThanosRetention;
}

/**
 * The Compactor: compacts the uploaded blocks, downsamples them to 5m and 1h (on by default), and
 * deletes each resolution past its retention. Exactly one may run against a bucket: one replica, no budget.
 */
export class ThanosCompactor extends Construct {
  constructor(scope: Construct, id: string, props: ThanosCompactorProps) {
    super(scope, id);
    bucketStatefulSet(this, COMPACTOR, props, 1, [
      '--wait', // run continuously, not once
      `--retention.resolution-raw=${props.retention.raw}`,
      `--retention.resolution-5m=${props.retention.fiveMinutes}`,
      `--retention.resolution-1h=${props.retention.oneHour}`,
    ]);
  }
}
