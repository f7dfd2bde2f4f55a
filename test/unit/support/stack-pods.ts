/** The pods the synthesized stack will run, with the labels and named ports the cluster gives them. */
import { K8sObject, ofKind } from '../../support/manifests';
import { Pod } from './network-policy';

/**
 * Labels the Prometheus Operator (v0.93.0) puts on the pods of a Prometheus resource, overriding
 * the same keys of spec.podMetadata.labels.
 */
const operatorPodLabels = (name: string) => ({
  'app.kubernetes.io/name': 'prometheus',
  'app.kubernetes.io/managed-by': 'prometheus-operator',
  'app.kubernetes.io/instance': name,
  'operator.prometheus.io/name': name,
  'operator.prometheus.io/shard': '0',
  prometheus: name,
});

/** Labels the operator puts on the pods of an Alertmanager resource (its StatefulSet selector), over podMetadata's. */
const operatorAlertmanagerPodLabels = (name: string) => ({
  'app.kubernetes.io/name': 'alertmanager',
  'app.kubernetes.io/managed-by': 'prometheus-operator',
  'app.kubernetes.io/instance': name,
  alertmanager: name,
});

export function stackPods(objects: K8sObject[]): Pod[] {
  const fromDeployments = ofKind(objects, 'Deployment').map((d) => ({
    name: d.metadata.name,
    namespace: d.metadata.namespace!,
    labels: d.spec.template.metadata.labels as Record<string, string>,
    ports: Object.fromEntries((d.spec.template.spec.containers as { ports?: { name?: string; containerPort: number }[] }[])
      .flatMap((c) => c.ports ?? []).filter((p) => p.name).map((p) => [p.name!, p.containerPort])),
  }));
  const fromPrometheus = ofKind(objects, 'Prometheus').map((p) => ({
    name: `prometheus-${p.metadata.name}`,
    namespace: p.metadata.namespace!,
    labels: { ...(p.spec.podMetadata?.labels ?? {}), ...operatorPodLabels(p.metadata.name) },
    ports: { web: 9090, 'reloader-web': 8080 },
  }));
  const fromAlertmanager = ofKind(objects, 'Alertmanager').map((a) => ({
    name: `alertmanager-${a.metadata.name}`,
    namespace: a.metadata.namespace!,
    labels: { ...(a.spec.podMetadata?.labels ?? {}), ...operatorAlertmanagerPodLabels(a.metadata.name) },
    ports: { web: 9093, 'reloader-web': 8080, 'tcp-mesh': 9094, 'udp-mesh': 9094 },
  }));
  return [...fromDeployments, ...fromPrometheus, ...fromAlertmanager];
}
