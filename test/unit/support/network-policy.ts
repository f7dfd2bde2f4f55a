/**
 * A small evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), enough to ask
 * "is this flow allowed?" of the synthesized policies:
 * - a pod is isolated for ingress (egress) when some policy in its namespace selects it with that
 *   policy type; an isolated pod admits only what some selecting policy's rules allow;
 * - a flow pod -> pod needs both the source's egress and the destination's ingress;
 * - peers: podSelector (policy's namespace), namespaceSelector, both (AND), ipBlock (addresses
 *   outside the cluster here; pod IPs are not modelled); no peers = everyone; no ports = all ports;
 * - policyTypes default to Ingress, plus Egress when the policy has egress rules.
 */

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
interface Peer { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: { cidr: string; except?: string[] } }
interface PortRule { protocol?: string; port?: number | string; endPort?: number }
interface Rule { from?: Peer[]; to?: Peer[]; ports?: PortRule[] }
export interface NetworkPolicy {
  metadata: { name: string; namespace?: string };
  spec: { podSelector: LabelSelector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
}

export interface Pod {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** Named container ports, for policies that name ports. */
  readonly ports?: Record<string, number>;
  /** Ports the kubelet probes (liveness, readiness, startup). */
  readonly probePorts?: readonly number[];
}
/** An address outside the cluster's pods: a user, the API server, an external service. */
export interface External { readonly name: string; readonly ip: string }
export type Endpoint = Pod | External;

export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const ok = e.operator === 'In' ? has && (e.values ?? []).includes(labels[e.key])
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(labels[e.key])
        : e.operator === 'Exists' ? has : !has;
    if (!ok) return false;
  }
  return true;
}

const ipToInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  // An IPv4 address is never in an IPv6 block and vice versa; the flows here are IPv4.
  if (base.includes(':') || ip.includes(':')) {
    if (base.includes(':') !== ip.includes(':')) return false;
    throw new Error(`IPv6 flows are not modelled: ${ip} in ${cidr}`);
  }
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipToInt(ip) / size) === Math.floor(ipToInt(base) / size);
}

const isPod = (e: Endpoint): e is Pod => 'namespace' in e;
const namespaceLabels = (ns: string) => ({ 'kubernetes.io/metadata.name': ns });

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    return !isPod(other) && inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c));
  }
  if (!isPod(other)) return false;
  const nsOk = peer.namespaceSelector ? selectorMatches(peer.namespaceSelector, namespaceLabels(other.namespace)) : other.namespace === policyNamespace;
  const podOk = peer.podSelector ? selectorMatches(peer.podSelector, other.labels) : true;
  return nsOk && podOk;
}

function portMatches(rules: PortRule[] | undefined, port: number, protocol: string, target: Endpoint): boolean {
  if (!rules || rules.length === 0) return true;
  return rules.some((r) => {
    if ((r.protocol ?? 'TCP') !== protocol) return false;
    if (r.port === undefined) return true;
    const first = typeof r.port === 'number' ? r.port : isPod(target) ? target.ports?.[r.port] : undefined;
    if (first === undefined) return false;
    return port === first || (r.endPort !== undefined && port >= first && port <= r.endPort);
  });
}

const types = (p: NetworkPolicy) => p.spec.policyTypes ?? (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);

/** Whether `pod`'s traffic in `direction` passes the policies. `other` is the far end, `port` the destination port. */
function side(policies: readonly NetworkPolicy[], direction: 'Ingress' | 'Egress', pod: Pod, other: Endpoint, port: number, protocol: string, dest: Endpoint): boolean {
  const selecting = policies.filter((p) => (p.metadata.namespace ?? 'default') === pod.namespace
    && selectorMatches(p.spec.podSelector, pod.labels) && types(p).includes(direction));
  if (selecting.length === 0) return true;
  return selecting.some((p) => ((direction === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? []).some((rule) => {
    const peers = direction === 'Ingress' ? rule.from : rule.to;
    const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, pod.namespace, other));
    return peerOk && portMatches(rule.ports, port, protocol, dest);
  }));
}

/** Is a connection from `source` to `dest` on `port` allowed by `policies`? */
export function flowAllowed(policies: readonly NetworkPolicy[], source: Endpoint, dest: Endpoint, port: number, protocol = 'TCP'): boolean {
  const egressOk = !isPod(source) || side(policies, 'Egress', source, dest, port, protocol, dest);
  const ingressOk = !isPod(dest) || side(policies, 'Ingress', dest, source, port, protocol, dest);
  return egressOk && ingressOk;
}

/** Whether some policy selects `pod` for `direction`. */
export function isolated(policies: readonly NetworkPolicy[], pod: Pod, direction: 'Ingress' | 'Egress'): boolean {
  return policies.some((p) => (p.metadata.namespace ?? 'default') === pod.namespace
    && selectorMatches(p.spec.podSelector, pod.labels) && types(p).includes(direction));
}
