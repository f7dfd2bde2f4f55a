/**
 * The collector Deployment's replicas on the chain, and its Service as a cluster would make it.
 * Each replica is its own Pod (from the Deployment's template), its own address on this host and
 * its own collector process on the chart's config; every Service the Deployment backs gets an
 * EndpointSlice listing the live replicas (the EndpointSlice controller's work), so Prometheus
 * discovers one exporter target per service and replica through the operator's config.
 *
 * kube-proxy's part, in ServiceProxy: a chat pod sends OTLP to the Service's ClusterIP, and a DNAT
 * rule in the pod's own network namespace sends each new connection to one replica, keeping the
 * pod's address as the source (k8sattributes finds the pod by it, as behind a real kube-proxy).
 * Unlike iptables-mode kube-proxy, which picks a replica at random per connection, the choice here
 * is the test's: replicas round-robin over the pods whenever the set of replicas changes, or one
 * pod moved on purpose. A rule only steers new connections; an open one stays where it is until
 * its client reconnects (the collector's max_connection_age, a replica gone, or a reset here).
 */
import { execFileSync } from 'child_process';
import { CollectorConfig, CollectorPorts, RunningCollector } from './collector';
import { ControlPlane } from './control-plane';
import { createRunningPod, podFromTemplate, writeEndpointSlice } from './fake-pods';
import { K8sObject } from './manifests';
import { sleep } from './prometheus';

const inNetns = (netns: string, ...args: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Why a Service's ClusterIP cannot be played here (no iptables), or undefined. */
export function serviceProxyUnavailable(): string | undefined {
  try {
    execFileSync('iptables', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'iptables is not installed; it plays kube-proxy for the collector Service (apt-get install iptables)';
  }
}

/** A sender behind the Service: a pod's network namespace and its address. */
export interface ServiceClient {
  readonly netns: string;
  readonly address: string;
}

export class ServiceProxy {
  /** Where each client's new connections go, by its network namespace. */
  private readonly targets = new Map<string, string>();

  constructor(readonly clusterIp: string, readonly port: number) {}

  /** The replica address the client's new connections go to. */
  targetOf(client: ServiceClient): string | undefined {
    return this.targets.get(client.netns);
  }

  /** From now on the client's new connections go to `target` (its open one stays where it is). */
  route(client: ServiceClient, target: string): void {
    inNetns(client.netns, 'iptables', '-t', 'nat', '-F', 'OUTPUT');
    inNetns(client.netns, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-d', `${this.clusterIp}/32`, '-p', 'tcp', '--dport', String(this.port),
      '-j', 'DNAT', '--to-destination', `${target}:${this.port}`);
    this.targets.set(client.netns, target);
  }

  /**
   * Moves the client to `target` now: routes it there, then answers its next packet to any other
   * replica with a TCP reset (the SDK's export fails, it retries on a new connection, which the rule
   * sends to `target`). Where its open connection is need not be known: after the endpoints changed
   * it may differ from the rule. The reset rule stays `holdMs`, longer than an export interval.
   */
  async move(client: ServiceClient, target: string, holdMs = 4000): Promise<void> {
    this.route(client, target);
    const rule = ['OUTPUT', '!', '-d', `${target}/32`, '-p', 'tcp', '--dport', String(this.port), '-j', 'REJECT', '--reject-with', 'tcp-reset'];
    inNetns(client.netns, 'iptables', '-I', ...rule);
    try {
      await sleep(holdMs);
    } finally {
      inNetns(client.netns, 'iptables', '-D', ...rule);
    }
  }
}

export interface CollectorReplica {
  readonly podName: string;
  readonly address: string;
  readonly process: RunningCollector;
}

export interface CollectorReplicaSetOptions {
  readonly cp: ControlPlane;
  /** The collector's Deployment, whose template each replica's Pod is made from. */
  readonly deployment: K8sObject;
  /** The Services in front of its pods: each gets an EndpointSlice of the live replicas. */
  readonly services: readonly K8sObject[];
  readonly config: CollectorConfig;
  readonly ports: CollectorPorts;
  /** Kubeconfig of the collector's ServiceAccount (k8sattributes reads pods with it). */
  readonly kubeconfig: string;
  /** An address of this host per replica, and how to give it back. */
  readonly newAddress: () => { address: string; remove(): void };
  readonly podName: () => string;
}

/**
 * The Deployment's ReplicaSet and each replica's kubelet: `add` makes a Pod, an address and a
 * process and puts it in the Services' endpoints; `remove` takes it out of them, then stops
 * (SIGTERM) or kills (SIGKILL) it and deletes the Pod.
 */
export class CollectorReplicaSet {
  readonly replicas: CollectorReplica[] = [];
  private readonly addresses = new Map<string, () => void>();

  constructor(private readonly options: CollectorReplicaSetOptions) {}

  async add(): Promise<CollectorReplica> {
    const o = this.options;
    const host = o.newAddress();
    const podName = o.podName();
    try {
      createRunningPod(o.cp.admin, podFromTemplate(o.deployment, podName), host.address);
      const process = await RunningCollector.start({ config: o.config, identity: { kubeconfig: o.kubeconfig }, listen: { host: host.address, ports: o.ports } });
      const replica = { podName, address: host.address, process };
      this.replicas.push(replica);
      this.addresses.set(podName, () => host.remove());
      this.writeEndpoints();
      return replica;
    } catch (e) {
      host.remove();
      throw e;
    }
  }

  async remove(replica: CollectorReplica, how: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const i = this.replicas.indexOf(replica);
    if (i < 0) throw new Error(`${replica.podName} is not a live replica`);
    this.replicas.splice(i, 1);
    this.writeEndpoints();
    if (how === 'SIGKILL' && replica.process.pid !== undefined && replica.process.running) process.kill(replica.process.pid, 'SIGKILL');
    await replica.process.stop();
    this.options.cp.admin.ok(['delete', 'pod', replica.podName, '-n', this.options.deployment.metadata.namespace!, '--wait=false']);
    this.addresses.get(replica.podName)?.();
    this.addresses.delete(replica.podName);
  }

  async stop(): Promise<void> {
    for (const r of this.replicas.splice(0)) await r.process.stop().catch(() => undefined);
    for (const remove of this.addresses.values()) remove();
    this.addresses.clear();
  }

  /** Each Service's EndpointSlice: every live replica. */
  private writeEndpoints(): void {
    const o = this.options;
    const endpoints = this.replicas.map((r) => ({ pod: r.podName, address: r.address }));
    for (const service of o.services) writeEndpointSlice(o.cp.admin, service, o.deployment.spec.template.spec, endpoints);
  }
}
