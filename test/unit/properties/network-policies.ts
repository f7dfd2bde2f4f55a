/**
 * NetworkPolicies of any config allow exactly the flows the stack needs, checked with the
 * NetworkPolicy evaluator (test/unit/support/network-policy.ts): OTLP from every pushing namespace,
 * scrapes of every pull service, and nothing more.
 */
import { ChartConfig, ChatServiceConfig } from '../../../lib/config';
import { ofKind, synthObjects } from '../../support/manifests';
import { External, flowAllowed, isolated, NetworkPolicy, Pod, selectorMatches } from '../support/network-policy';
import { stackPods } from '../support/stack-pods';

export type Flow = [string, Pod | External, Pod | External, number, string?];
/** Rows with the protocol filled in (Jest would pass its done callback for a missing last column). */
export const rows = (flows: Flow[]) => flows.map(([what, from, to, port, protocol]) => [what, from, to, port, protocol ?? 'TCP'] as const);

export const user: External = { name: 'a user via the NodePort', ip: '203.0.113.7' };
export const apiServer: External = { name: 'the API server', ip: '172.18.0.2' };
const dns: Pod = { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
/** An address in an IPv4 CIDR: its second address (its only one for a /32). */
export const addressIn = (cidr: string): string => {
  const [base, bits] = cidr.split('/');
  const n = base.split('.').reduce((x, o) => x * 256 + Number(o), 0) + (Number(bits) < 32 ? 1 : 0);
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
};
const inIpv4Cidr = (ip: string, cidr: string) => {
  if (cidr.includes(':')) return false;
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const int = (a: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
  return Math.floor(int(ip) / size) === Math.floor(int(base) / size);
};
/** The first of these addresses that lies in none of the CIDRs. */
const outside = (cidrs: readonly string[], name: string): External => {
  const ip = ['203.0.113.50', '198.51.100.20', '192.0.2.99', '100.64.9.9'].find((a) => !cidrs.some((c) => inIpv4Cidr(a, c)));
  if (!ip) throw new Error(`every candidate address is in ${cidrs.join(', ')}`);
  return { name, ip };
};

/** A chat service's pod: its namespace and selector labels. */
export const chatPod = (s: ChatServiceConfig): Pod => ({ name: s.name, namespace: s.namespace, labels: { ...s.selector } });

export function networkPolicyProperties(name: string, config: ChartConfig) {
  const objects = synthObjects(config);
  const policies = ofKind(objects, 'NetworkPolicy') as unknown as NetworkPolicy[];
  const pods = stackPods(objects);
  const pod = (podName: string): Pod => {
    const found = pods.find((p) => p.name === podName);
    if (!found) throw new Error(`no pod ${podName}`);
    return found;
  };
  const collector = pod('otel-collector');
  const prometheus = pods.find((p) => p.labels['app.kubernetes.io/managed-by'] === 'prometheus-operator' && p.labels.prometheus)!;
  const grafana = pod('grafana');
  const operator = pod('prometheus-operator');
  const query = pod('thanos-query');
  const objectStorage = config.thanos.objectStorage;
  const store = objectStorage ? pod('thanos-store') : undefined;
  const compactor = objectStorage ? pod('thanos-compactor') : undefined;
  const thanosPods = [query, ...(store && compactor ? [store, compactor] : [])];
  /** A pod's port by the name its container (or the operator, for Prometheus's sidecar) gives it. */
  const portOf = (p: Pod, portName: string): number => {
    const n = p.ports?.[portName];
    if (n === undefined) throw new Error(`${p.name} has no port ${portName}`);
    return n;
  };
  /** The object store: an address in the first configured IPv4 range, and one outside them all. */
  const objectStoreHere: External | undefined = objectStorage ? { name: 'the object store', ip: addressIn(objectStorage.egressCidrs.find((c) => !c.includes(':'))!) } : undefined;
  const { apiServerCidrs, nodeCidrs } = config.networkPolicies;
  /** The API server: in the configured range, or the kind control plane's address when any address is allowed. */
  const apiServerHere: External = apiServerCidrs.length ? { name: 'the API server', ip: addressIn(apiServerCidrs.find((c) => !c.includes(':'))!) } : apiServer;
  const pushing = config.services.filter((s) => s.exportMode === 'push');
  const pulled = config.services.filter((s) => s.exportMode === 'pull');
  const pushNamespaces = new Set(pushing.map((s) => s.namespace));
  const namespaces = [...new Set(config.services.map((s) => s.namespace))];
  /** A pull target's pod matches its Service's selector; any pod port may sit behind the named Service port. */
  const isPullTarget = (p: Pod) => pulled.some((s) => s.namespace === p.namespace && Object.entries(s.selector).every(([k, v]) => p.labels[k] === v));

  describe(`network policies (${name}): every pod of the stack is isolated`, () => {
    it.each(pods.map((p) => [p.name, p] as const))('%s is selected for ingress and egress', (_name, p) => {
      expect(isolated(policies, p, 'Ingress')).toBe(true);
      expect(isolated(policies, p, 'Egress')).toBe(true);
    });
  });

  describe(`network policies (${name}): needed flows are allowed`, () => {
    const allowed: Flow[] = [
      ...pushing.flatMap((s): Flow[] => [
        [`${s.name} -> collector OTLP gRPC`, chatPod(s), collector, 4317],
        [`${s.name} -> collector OTLP HTTP`, chatPod(s), collector, 4318],
      ]),
      ...pulled.map((s): Flow => [`Prometheus -> pull-mode ${s.name}`, prometheus, chatPod(s), s.metricsPort!.port]),
      ['Prometheus -> collector exporter', prometheus, collector, 9464],
      ['Prometheus -> collector self-metrics', prometheus, collector, 8888],
      ['Prometheus -> itself', prometheus, prometheus, 9090],
      ['Prometheus -> its config reloader', prometheus, prometheus, 8080],
      ['Prometheus -> operator metrics', prometheus, operator, 8080],
      ['Prometheus -> Grafana metrics', prometheus, grafana, 3000],
      ['Grafana -> Thanos Query', grafana, query, portOf(query, 'http')],
      ['Thanos Query -> each Prometheus\'s sidecar (StoreAPI)', query, prometheus, portOf(prometheus, 'grpc')],
      ['Prometheus -> its Thanos sidecar\'s metrics', prometheus, prometheus, portOf(prometheus, 'http')],
      ...thanosPods.map((p): Flow => [`Prometheus -> ${p.name} metrics`, prometheus, p, portOf(p, 'http')]),
      ...(store ? [['Thanos Query -> Store Gateway (StoreAPI)', query, store, portOf(store, 'grpc')] as Flow] : []),
      ...(objectStoreHere ? [prometheus, store!, compactor!].flatMap((p): Flow[] => objectStorage!.egressPorts.map((port): Flow => [`${p.name} -> the object store on ${port}`, p, objectStoreHere, port])) : []),
      ['a user -> Grafana', user, grafana, 3000],
      ...[operator, collector, grafana, prometheus].flatMap((p): Flow[] => [
        [`${p.name} -> API server 443`, p, apiServerHere, 443],
        [`${p.name} -> API server 6443`, p, apiServerHere, 6443],
      ]),
      ...[operator, collector, grafana, prometheus, ...thanosPods].flatMap((p): Flow[] => [
        [`${p.name} -> DNS (UDP)`, p, dns, 53, 'UDP'],
        [`${p.name} -> DNS (TCP)`, p, dns, 53],
      ]),
    ];
    it.each(rows(allowed))('%s', (_what, from, to, port, protocol) => {
      expect(flowAllowed(policies, from, to, port, protocol)).toBe(true);
    });
  });

  describe(`network policies (${name}): other flows are denied`, () => {
    const stranger: Pod = { name: 'some pod', namespace: 'not-a-chat-namespace', labels: { app: 'other' } };
    const denied: Flow[] = [
      ...config.services.flatMap((s): Flow[] => [
        [`${s.name} -> Prometheus`, chatPod(s), prometheus, 9090],
        [`${s.name} -> operator`, chatPod(s), operator, 8080],
        [`${s.name} -> collector exporter (only Prometheus scrapes)`, chatPod(s), collector, 9464],
        [`Grafana -> ${s.name}`, grafana, chatPod(s), 8080],
      ]),
      // OTLP is admitted by namespace: a namespace with only pull services sends none.
      ...namespaces.filter((ns) => !pushNamespaces.has(ns)).map((ns): Flow => [`pull-only namespace ${ns} -> collector OTLP`, { name: 'a pod', namespace: ns, labels: {} }, collector, 4317]),
      ...pushing.filter((s) => !isPullTarget(chatPod(s))).map((s): Flow => [`Prometheus -> push-mode ${s.name} (not a target)`, prometheus, chatPod(s), 8000]),
      ...[...new Set(pulled.map((s) => s.namespace))].map((ns): Flow =>
        [`Prometheus -> unrelated pods in scraped namespace ${ns}`, prometheus, { name: 'db', namespace: ns, labels: { app: 'db-not-a-service' } }, 5432]),
      ['another namespace -> collector OTLP', stranger, collector, 4317],
      ['Grafana -> collector', grafana, collector, 9464],
      ['Grafana -> operator', grafana, operator, 8080],
      ['a user -> Prometheus', user, prometheus, 9090],
      ['a user -> collector OTLP', user, collector, 4317],
      ['a user -> Grafana on another port', user, grafana, 3001], // its declared ports: the probe tests below
      ['collector -> Prometheus', collector, prometheus, 9090],
      ['collector -> the internet on 80', collector, { name: 'example.com', ip: '93.184.216.34' }, 80],
      ['operator -> Prometheus', operator, prometheus, 9090],
      // Grafana reads through Query only.
      ['Grafana -> Prometheus', grafana, prometheus, 9090],
      ['Grafana -> a Prometheus sidecar', grafana, prometheus, portOf(prometheus, 'grpc')],
      ['a user -> Thanos Query', user, query, portOf(query, 'http')],
      ['collector -> Thanos Query', collector, query, portOf(query, 'http')],
      ['Thanos Query -> Prometheus\'s API (it reads the sidecar)', query, prometheus, 9090],
      ['Thanos Query -> the internet on 443', query, { name: 'example.com', ip: '93.184.216.34' }, 443],
      ...config.services.map((s): Flow => [`${s.name} -> Thanos Query`, chatPod(s), query, portOf(query, 'http')]),
      ...(store ? [
        ['Grafana -> Store Gateway', grafana, store, portOf(store, 'grpc')] as Flow,
        ['Prometheus -> Store Gateway StoreAPI (only Query reads it)', prometheus, store, portOf(store, 'grpc')] as Flow,
      ] : []),
      ...(objectStorage ? [prometheus, store!, compactor!, query].map((p): Flow =>
        [`${p.name} -> an address outside the object store's (9000: the API server's ports are open when apiServerCidrs is not set)`, p, outside(objectStorage.egressCidrs, 'not the object store'), 9000]) : []),
      // The object store's own address on a port it was not given (neither the API server's 443 nor 6443).
      ...(objectStoreHere ? [prometheus, store!, compactor!].map((p): Flow => {
        const closed = [9000, 8081].find((x) => !objectStorage!.egressPorts.includes(x))!;
        return [`${p.name} -> the object store on ${closed}, a port not in egressPorts`, p, objectStoreHere, closed];
      }) : []),
    ];
    it.each(rows(denied))('%s', (_what, from, to, port, protocol) => {
      expect(flowAllowed(policies, from, to, port, protocol)).toBe(false);
    });
    it('names its flows uniquely', () => expect(new Set(denied.map(([w]) => w)).size).toBe(denied.length));
  });
  describe(`network policies (${name}): the kubelet's probes (nodeCidrs ${nodeCidrs.length ? nodeCidrs.join(', ') : 'not set'})`, () => {
    const services = ofKind(objects, 'Service').filter((svc) => svc.spec.selector);
    const targets = (p: Pod, types?: string[]) => new Set(services
      .filter((svc) => svc.metadata.namespace === p.namespace && selectorMatches({ matchLabels: svc.spec.selector }, p.labels))
      .filter((svc) => !types || types.includes(svc.spec.type))
      .flatMap((svc) => svc.spec.ports.map((sp: { targetPort?: number | string; port: number }) => sp.targetPort ?? sp.port))
      .map((t: number | string) => (typeof t === 'string' ? p.ports?.[t] : t)));
    const node: External = { name: 'the kubelet on a node', ip: nodeCidrs.length ? addressIn(nodeCidrs[0]) : '172.18.0.3' };
    const notANode = outside(nodeCidrs, 'an address outside nodeCidrs');
    const cases = pods.map((p) => {
      const probed = new Set(p.probePorts ?? []);
      const served = targets(p);
      const published = targets(p, ['NodePort', 'LoadBalancer']); // open to users by design
      const ports = [...new Set([...probed, ...Object.values(p.ports ?? {})])].sort((a, b) => a - b);
      /** From the node: every probed port when the nodes are configured, else only those that serve nothing but health. */
      const fromNode = (port: number) => published.has(port) || (probed.has(port) && (nodeCidrs.length > 0 || !served.has(port)));
      const fromElsewhere = (port: number) => published.has(port) || (probed.has(port) && nodeCidrs.length === 0 && !served.has(port));
      return [p.name, { p, probed, ports, fromNode, fromElsewhere }] as const;
    });

    it('finds a probed port on every pod', () => {
      for (const [, c] of cases) expect([c.p.name, c.probed.size > 0]).toEqual([c.p.name, true]);
    });
    it.each(cases)('%s: the node reaches exactly its probed ports (those that also serve an API only when nodeCidrs is set)', (_n, c) => {
      const allowed = c.ports.filter((port) => flowAllowed(policies, node, c.p, port));
      expect(allowed).toEqual(c.ports.filter(c.fromNode));
    });
    it.each(cases)('%s: an address outside nodeCidrs reaches only the health-only ports, and those only when nodeCidrs is not set', (_n, c) => {
      const allowed = c.ports.filter((port) => flowAllowed(policies, notANode, c.p, port));
      expect(allowed).toEqual(c.ports.filter(c.fromElsewhere));
    });
    it('opens the collector\'s health_check and the dashboard sidecar\'s /healthz to the node', () => {
      expect(flowAllowed(policies, node, collector, 13133)).toBe(true);
      expect(flowAllowed(policies, node, grafana, 8080)).toBe(true);
    });
  });

  describe(`network policies (${name}): egress to the API server (apiServerCidrs ${apiServerCidrs.length ? apiServerCidrs.join(', ') : 'not set'})`, () => {
    const internet = outside(apiServerCidrs, 'an address on the internet');
    const apiClients = [operator, collector, grafana, prometheus];
    it.each(thanosPods.map((p) => [p.name, p] as const))('%s (no API client) reaches no API server', (_n, p) => {
      for (const port of [443, 6443]) expect([port, flowAllowed(policies, p, apiServerHere, port)]).toEqual([port, false]);
    });
    it.each(apiClients.map((p) => [p.name, p] as const))('%s reaches the API server, and another address on its ports only when apiServerCidrs is not set', (_n, p) => {
      for (const port of [443, 6443]) {
        expect([port, flowAllowed(policies, p, apiServerHere, port)]).toEqual([port, true]);
        expect([port, flowAllowed(policies, p, internet, port)]).toEqual([port, apiServerCidrs.length === 0]);
      }
    });
    it('lets Grafana reach nothing else outside the cluster: not the API server\'s ports elsewhere when restricted, no other port anywhere', () => {
      expect(flowAllowed(policies, grafana, internet, 443)).toBe(apiServerCidrs.length === 0);
      for (const port of [80, 8080, 3000, 9090]) expect([port, flowAllowed(policies, grafana, internet, port)]).toEqual([port, false]);
    });
  });
}
