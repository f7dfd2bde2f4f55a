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

/** The Service in front of the operator's pods: their web port and the config reloader's. */
export function webAndReloaderService(scope: Construct, meta: k8s.ObjectMeta, selector: Record<string, string>, webPort: number, reloaderPort: number): k8s.KubeService {
  return new k8s.KubeService(scope, 'service', {
    metadata: meta,
    spec: {
      selector,
      ports: [
        { name: 'web', port: webPort, targetPort: k8s.IntOrString.fromString('web') },
        { name: 'reloader-web', port: reloaderPort, targetPort: k8s.IntOrString.fromString('reloader-web') },
      ],
    },
  });
}
