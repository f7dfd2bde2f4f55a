/**
 * What the controllers and the kubelet of a cluster would write, for a control plane with neither
 * (test/support/control-plane.ts): a Pod from a workload's template, its status once "running" at
 * an address the test gives, and a Service's EndpointSlice pointing at it. The one place tests
 * fake Pods and EndpointSlices (the push chain, pod churn, test/cluster/).
 */
import { K8sObject } from './manifests';
import { Kubectl } from './kubectl';

/** A Pod template: a workload's spec.template. */
export interface PodTemplate {
  readonly metadata?: { readonly labels?: Readonly<Record<string, string>> };
  readonly spec: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A Pod made from `owner`'s pod template (a Deployment's or StatefulSet's), in its namespace. For a
 * StatefulSet, the volume its controller adds per claim template, bound to replica 0's claim.
 */
export function podFromTemplate(owner: K8sObject, name: string, template: PodTemplate = owner.spec.template): K8sObject {
  const claims = (owner.spec.volumeClaimTemplates ?? []).map((t: K8sObject) => ({
    name: t.metadata.name, persistentVolumeClaim: { claimName: `${t.metadata.name}-${owner.metadata.name}-0` },
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: owner.metadata.namespace, labels: { ...(template.metadata?.labels ?? {}) } },
    spec: claims.length ? { ...template.spec, volumes: [...(template.spec.volumes ?? []), ...claims] } : template.spec,
  };
}

/** A Pod by its parts: namespace, name, labels and spec. */
export const podObject = (pod: { namespace: string; name: string; labels: Readonly<Record<string, string>>; spec: unknown }): K8sObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, namespace: pod.namespace, labels: { ...pod.labels } }, spec: pod.spec,
});

/** Creates the Pod and does the kubelet's part: Running, Ready, with this podIP. */
export function createRunningPod(admin: Kubectl, pod: K8sObject, podIP: string): void {
  admin.ok(['create', '-f', '-'], JSON.stringify(pod));
  admin.ok(['patch', 'pod', pod.metadata.name, '-n', pod.metadata.namespace!, '--subresource=status', '--type=merge', '-p', JSON.stringify({
    status: { phase: 'Running', podIP, podIPs: [{ ip: podIP }], conditions: [{ type: 'Ready', status: 'True' }] },
  })]);
}

export interface EndpointPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'TCP';
}

/**
 * The EndpointSlice controller's work for `service`: one ready endpoint at `address` for `pod`, its
 * ports the Service's, each targetPort resolved against `pod`'s container ports by name. Returns
 * those ports.
 */
export function createEndpointSlice(admin: Kubectl, service: K8sObject, pod: K8sObject, address: string): EndpointPort[] {
  return writeEndpointSlice(admin, service, pod.spec, [{ pod: pod.metadata.name, address }]);
}

/**
 * `service`'s EndpointSlice with exactly these ready endpoints (none is allowed), written anew: the
 * pods are all from one template, whose container ports resolve the Service's targetPorts by name.
 */
export function writeEndpointSlice(admin: Kubectl, service: K8sObject, podSpec: { containers: { ports?: unknown[] }[] },
  endpoints: readonly { pod: string; address: string }[]): EndpointPort[] {
  const containerPorts = podSpec.containers.flatMap((c) => (c.ports ?? []) as { name?: string; containerPort: number }[]);
  const ports = service.spec.ports.map((p: { name: string; targetPort: string | number }): EndpointPort => {
    const port = typeof p.targetPort === 'number' ? p.targetPort : containerPorts.find((c) => c.name === p.targetPort)?.containerPort;
    if (!port) throw new Error(`Service ${service.metadata.name} port ${p.name}: no container port ${p.targetPort}`);
    return { name: p.name, port, protocol: 'TCP' };
  });
  admin.ok(['apply', '--server-side', '--field-manager=test', '-f', '-'], JSON.stringify({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service.metadata.name}-test`, namespace: service.metadata.namespace, labels: { 'kubernetes.io/service-name': service.metadata.name } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({ addresses: [e.address], conditions: { ready: true }, targetRef: { kind: 'Pod', name: e.pod, namespace: service.metadata.namespace } })),
    ports,
  }));
  return ports;
}
