/** What the pods of the operator-managed StatefulSets (Prometheus, Alertmanager) share. */
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';

/** The restricted Pod Security profile as nobody (65534), whose group owns the data volume. */
export function operatorPodSecurity() {
  return { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } };
}

/** A ReadWriteOnce claim per replica of `size`, a quantity of the CRD's own generated type. */
export function volumeClaimTemplate<Q>(size: Q, storageClassName?: string) {
  return { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: size } } } } };
}

/** Names the operator gives the ports of the pods it generates: the server's and its config reloader's. */
export const OPERATED_PORT_NAMES = { web: 'web', reloader: 'reloader-web' } as const;
/** The operator's config-reloader sidecar serves its metrics here, beside Prometheus and Alertmanager alike. */
export const CONFIG_RELOADER_PORT = 8080;

/** A port of a container the operator generates besides the server and the reloader (e.g. Prometheus's Thanos sidecar). */
export interface OperatedExtraPort { readonly name: string; readonly port: number; readonly targetPort: string }

/** The Service in front of the operator's pods: their web port and the config reloader's, and `extra` ones. */
export function webAndReloaderService(scope: Construct, meta: k8s.ObjectMeta, selector: Record<string, string>, webPort: number,
  extra: readonly OperatedExtraPort[] = []): k8s.KubeService {
  const { web, reloader } = OPERATED_PORT_NAMES;
  return new k8s.KubeService(scope, 'service', {
    metadata: meta,
    spec: {
      selector,
      ports: [
        { name: web, port: webPort, targetPort: k8s.IntOrString.fromString(web) },
        { name: reloader, port: CONFIG_RELOADER_PORT, targetPort: k8s.IntOrString.fromString(reloader) },
        ...extra.map((p) => ({ name: p.name, port: p.port, targetPort: k8s.IntOrString.fromString(p.targetPort) })),
      ],
    },
  });
}

/** Self-monitoring of an operated component: its server and its config reloader, on the ports above. */
export function webAndReloaderEndpoints(interval: string) {
  return Object.values(OPERATED_PORT_NAMES).map((port) => ({ port, interval }));
}
