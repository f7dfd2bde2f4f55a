/** The pods the synthesized stack will run, with the labels and named ports the cluster gives them. */
import { K8sObject, ofKind } from '../../support/manifests';
import { Pod } from './network-policy';

/**
 * Labels the Prometheus Operator (v0.93) puts on the pods of a Prometheus resource, overriding
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

type ProbeAction = { httpGet?: { port: number | string }; tcpSocket?: { port: number | string }; grpc?: { port: number } };
interface Container {
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: ProbeAction; readinessProbe?: ProbeAction; startupProbe?: ProbeAction;
}

/** The ports a container's probes connect to, named ports resolved to numbers. */
function probePorts(containers: Container[], named: Record<string, number>): number[] {
  const ports = containers.flatMap((c) => [c.livenessProbe, c.readinessProbe, c.startupProbe])
    .flatMap((p) => (p ? [p.httpGet?.port ?? p.tcpSocket?.port ?? p.grpc?.port] : []))
    .map((port) => (typeof port === 'string' ? named[port] : port));
  if (ports.some((p) => p === undefined)) throw new Error('a probe names a port no container declares');
  return [...new Set(ports as number[])].sort((a, b) => a - b);
}

/**
 * The ports the operator (v0.93.1, pkg/prometheus/server/statefulset.go) gives the thanos-sidecar
 * container it adds beside Prometheus when spec.thanos is set; it sets no probe on it.
 */
const THANOS_SIDECAR_PORTS = { grpc: 10901, http: 10902 };

export function stackPods(objects: K8sObject[]): Pod[] {
  const fromDeployments = [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')].map((d) => {
    const containers = d.spec.template.spec.containers as Container[];
    const ports = Object.fromEntries(containers.flatMap((c) => c.ports ?? []).filter((p) => p.name).map((p) => [p.name!, p.containerPort]));
    return {
      name: d.metadata.name,
      namespace: d.metadata.namespace!,
      labels: d.spec.template.metadata.labels as Record<string, string>,
      ports,
      probePorts: probePorts(containers, ports),
    };
  });
  // The operator (v0.93) probes Prometheus and Alertmanager on their web port; the config
  // reloaders only with --enable-config-reloader-probes, which the chart does not pass.
  const reloaderProbed = ofKind(objects, 'Deployment').some((d) => (d.spec.template.spec.containers as { args?: string[] }[])
    .some((c) => (c.args ?? []).some((a) => /^--enable-config-reloader-probes(=true)?$/.test(a))));
  const reloader = reloaderProbed ? [8080] : [];
  const fromPrometheus = ofKind(objects, 'Prometheus').map((p) => ({
    name: `prometheus-${p.metadata.name}`,
    namespace: p.metadata.namespace!,
    labels: { ...(p.spec.podMetadata?.labels ?? {}), ...operatorPodLabels(p.metadata.name) },
    ports: { web: 9090, 'reloader-web': 8080, ...(p.spec.thanos ? THANOS_SIDECAR_PORTS : {}) },
    probePorts: [9090, ...reloader],
  }));
  const fromAlertmanager = ofKind(objects, 'Alertmanager').map((a) => ({
    name: `alertmanager-${a.metadata.name}`,
    namespace: a.metadata.namespace!,
    labels: { ...(a.spec.podMetadata?.labels ?? {}), ...operatorAlertmanagerPodLabels(a.metadata.name) },
    ports: { web: 9093, 'reloader-web': 8080, 'tcp-mesh': 9094, 'udp-mesh': 9094 },
    probePorts: [9093, ...reloader],
  }));
  return [...fromDeployments, ...fromPrometheus, ...fromAlertmanager];
}
