/**
 * What Thanos Query, Store Gateway and Compactor share: the image's ports, the container (args as a
 * list, probes on /-/healthy and /-/ready, the restricted profile, requests and limits), a
 * ServiceAccount without token, the Service and the ServiceMonitor of its HTTP port. Each
 * component's construct (thanos-query.ts, thanos-bucket-components.ts) adds its workload.
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { componentLabels, selectorLabels } from '../labels';
import { ServiceMonitorForComponent } from '../prometheus/service-monitors';
import { resources, ResourceSizes, restrictedContainer, restrictedPod } from '../security';
import { spreadOverNodes } from '../spread';

/**
 * Thanos's listeners. The operator's sidecar uses the same two ports (its container ports `grpc`
 * 10901 and `http` 10902, prometheus-operator v0.93.1 pkg/prometheus/server/statefulset.go).
 */
export const THANOS_PORTS = { grpc: 10901, http: 10902 } as const;
export const THANOS_PORT_NAMES = { grpc: 'grpc', http: 'http' } as const;
/** The label on which Query deduplicates: the operator's default `replicaExternalLabelName`, left as it is. */
export const REPLICA_LABEL = 'prometheus_replica';
/** The cluster's DNS domain, in the SRV names Query resolves. */
export const CLUSTER_DOMAIN = 'cluster.local';
/** Where the object-store configuration is mounted in Store and Compactor. */
const OBJSTORE_DIR = '/etc/thanos/objstore';
const OBJSTORE_FILE = 'objstore.yml';
/** The user (nobody) Thanos runs as, whose group owns the data volume. */
const THANOS_UID = 65534;

/** The `--objstore.config-file=` argument and the Secret volume behind it. */
export interface ObjectStoreMount {
  readonly secretName: string;
  readonly key: string;
}

export interface ThanosContainerProps {
  /** The component's name: its container's, Service's, ServiceAccount's. */
  readonly name: string;
  readonly image: string;
  /** The Thanos subcommand: query, store, compact. */
  readonly command: string;
  /** Whether it serves gRPC (StoreAPI): Query and Store do, the Compactor not. */
  readonly grpc: boolean;
  /** Its flags after the subcommand and the listen addresses, each one list element. */
  readonly args: readonly string[];
  /** Where the component keeps its data (a PVC), if it has any: `--data-dir=`. */
  readonly dataDir?: string;
  readonly objectStore?: ObjectStoreMount;
  readonly resources: ResourceSizes;
}

/** The DNS SRV name of a headless Service's named TCP port, as Query takes it after `dnssrv+`. */
export const srvName = (service: string, namespace: string, portName: string) =>
  `_${portName}._tcp.${service}.${namespace}.svc.${CLUSTER_DOMAIN}`;

/**
 * Query's StoreAPI endpoints as its `--endpoint.sd-config` (content, JSON being YAML): the
 * endpoint configuration v0.42 reads, where the `--endpoint` flags are deprecated.
 */
export const endpointSdConfig = (addresses: readonly string[]) =>
  `--endpoint.sd-config=${JSON.stringify({ endpoints: addresses.map((address) => ({ address })) })}`;

/** The container of a Thanos component, and the volumes it mounts besides its data. */
export function thanosContainer(props: ThanosContainerProps): { container: k8s.Container; volumes: k8s.Volume[] } {
  const listen = (key: keyof typeof THANOS_PORTS) => `--${key}-address=0.0.0.0:${THANOS_PORTS[key]}`;
  const ports = (props.grpc ? (['grpc', 'http'] as const) : (['http'] as const));
  const probe = (path: string) => ({ httpGet: { path, port: k8s.IntOrString.fromString(THANOS_PORT_NAMES.http) } });
  const mounts: k8s.VolumeMount[] = [];
  const volumes: k8s.Volume[] = [];
  const args = [props.command, ...ports.map(listen)];
  if (props.dataDir) {
    args.push(`--data-dir=${props.dataDir}`);
    mounts.push({ name: 'data', mountPath: props.dataDir });
  }
  if (props.objectStore) {
    args.push(`--objstore.config-file=${OBJSTORE_DIR}/${OBJSTORE_FILE}`);
    mounts.push({ name: 'objstore', mountPath: OBJSTORE_DIR, readOnly: true });
    volumes.push({ name: 'objstore', secret: { secretName: props.objectStore.secretName, items: [{ key: props.objectStore.key, path: OBJSTORE_FILE }] } });
  }
  args.push('--log.format=logfmt', ...props.args);
  return {
    container: {
      name: props.name,
      image: props.image,
      args,
      ports: ports.map((p) => ({ name: THANOS_PORT_NAMES[p], containerPort: THANOS_PORTS[p], protocol: 'TCP' })),
      livenessProbe: { ...probe('/-/healthy'), periodSeconds: 30, failureThreshold: 4 },
      readinessProbe: { ...probe('/-/ready'), periodSeconds: 5 },
      resources: resources(props.resources),
      securityContext: restrictedContainer(),
      ...(mounts.length ? { volumeMounts: mounts } : {}),
    },
    volumes,
  };
}

/** The pod of a Thanos component: no API token, the restricted profile as nobody. */
export function thanosPodSpec(name: string, container: k8s.Container, volumes: k8s.Volume[]): k8s.PodSpec {
  const hasData = (container.volumeMounts ?? []).some((m) => m.name === 'data');
  return {
    serviceAccountName: name,
    automountServiceAccountToken: false, // Thanos calls no Kubernetes API
    // The data claim belongs to its group.
    securityContext: restrictedPod(THANOS_UID, hasData ? THANOS_UID : undefined),
    containers: [container],
    ...(volumes.length ? { volumes } : {}),
    affinity: spreadOverNodes(selectorLabels(name)),
  };
}

export interface ThanosServiceProps {
  readonly namespace: string;
  readonly name: string;
  /** The app.kubernetes.io/component label. */
  readonly role: string;
  readonly grpc: boolean;
  /** Headless: Query discovers every pod behind it by DNS SRV (the Store Gateway). */
  readonly headless?: boolean;
  readonly scrapeInterval: string;
}

/** A component's ServiceAccount (no token), its Service and its ServiceMonitor (the HTTP port's /metrics). */
export function thanosServiceObjects(scope: Construct, props: ThanosServiceProps): void {
  const labels = componentLabels(props.name, props.role);
  const meta = { name: props.name, namespace: props.namespace, labels };
  new k8s.KubeServiceAccount(scope, 'service-account', { metadata: meta, automountServiceAccountToken: false });
  const port = (key: keyof typeof THANOS_PORTS): k8s.ServicePort => ({
    name: THANOS_PORT_NAMES[key], port: THANOS_PORTS[key], targetPort: k8s.IntOrString.fromString(THANOS_PORT_NAMES[key]), protocol: 'TCP',
    appProtocol: key === 'grpc' ? 'grpc' : 'http',
  });
  new k8s.KubeService(scope, 'service', {
    metadata: meta,
    spec: {
      ...(props.headless ? { clusterIp: 'None' } : {}),
      selector: selectorLabels(props.name),
      ports: [...(props.grpc ? [port('grpc')] : []), port('http')],
    },
  });
  new ServiceMonitorForComponent(scope, 'monitor', {
    namespace: props.namespace, name: props.name, selector: labels, endpoints: [{ port: THANOS_PORT_NAMES.http, interval: props.scrapeInterval }],
  });
}

/** A ReadWriteOnce claim template named `data`, for a StatefulSet. */
export function dataClaim(size: string, storageClassName?: string): k8s.KubePersistentVolumeClaimProps {
  return {
    metadata: { name: 'data' },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: k8s.Quantity.fromString(size) } } },
  };
}
