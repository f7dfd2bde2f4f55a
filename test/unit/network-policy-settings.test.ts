/**
 * networkPolicies.apiServerCidrs and networkPolicies.nodeCidrs: validated at synth (one message
 * naming the field), and written into the policies as given. The flows they allow and deny are the
 * property suite's (properties/network-policies.ts), run with them set by config-sizes.test.ts.
 */
import { validateConfig } from '../../lib/config';
import { CHART_CONFIG } from '../../lib/chart-config';
import { configErrorFor, configWith, ofKind, synthObjects } from '../support/manifests';

const services = CHART_CONFIG.services;

describe('networkPolicies settings: validation', () => {
  it('defaults to no CIDRs (any address on the API server\'s ports; the health-only ports open to any address)', () => {
    expect(validateConfig({ services }).networkPolicies).toEqual({ apiServerCidrs: [], nodeCidrs: [] });
  });

  it('accepts IPv4 and IPv6 CIDRs, one address as /32 or /128', () => {
    const cidrs = ['10.96.0.1/32', '172.18.0.0/16', 'fd00:10:96::/112', '2001:db8::1/128', '::ffff:10.0.0.0/104'];
    expect(validateConfig({ services, networkPolicies: { apiServerCidrs: cidrs, nodeCidrs: cidrs } }).networkPolicies)
      .toEqual({ apiServerCidrs: cidrs, nodeCidrs: cidrs });
  });

  const cases: [string, unknown, string, RegExp][] = [
    ['an address without a prefix', { apiServerCidrs: ['172.18.0.2'] }, 'networkPolicies.apiServerCidrs[0]', /not an address\/prefix-length pair/],
    ['an octet above 255', { apiServerCidrs: ['10.0.0.0/8', '10.300.0.0/16'] }, 'networkPolicies.apiServerCidrs[1]', /"10\.300\.0\.0" is not an IPv4 or IPv6 address/],
    ['a prefix longer than the address', { apiServerCidrs: ['10.0.0.0/33'] }, 'networkPolicies.apiServerCidrs[0]', /\/33 is longer than an IPv4 address/],
    ['an IPv6 prefix above 128', { nodeCidrs: ['fd00::/129'] }, 'networkPolicies.nodeCidrs[0]', /\/129 is longer than an IPv6 address/],
    ['host bits set', { apiServerCidrs: ['172.18.0.2/16'] }, 'networkPolicies.apiServerCidrs[0]', /host bits set \(the API server would read it as 172\.18\.0\.0\/16\)/],
    ['a hostname', { apiServerCidrs: ['kubernetes.default/32'] }, 'networkPolicies.apiServerCidrs[0]', /not an IPv4 or IPv6 address/],
    ['a number', { nodeCidrs: [10] }, 'networkPolicies.nodeCidrs[0]', /10 is not a string/],
    ['a string instead of a list', { apiServerCidrs: '10.0.0.0/8' }, 'networkPolicies.apiServerCidrs', /must be a list/],
    ['every address as the nodes', { nodeCidrs: ['0.0.0.0/0'] }, 'networkPolicies.nodeCidrs[0]', /every address.*Prometheus's and Alertmanager's APIs/],
    ['an unknown key', { apiServerCIDRs: ['10.0.0.0/8'] }, 'networkPolicies.apiServerCIDRs', /unknown field.*apiServerCidrs, nodeCidrs/],
    ['a receiver CIDR with an octet above 255 (same check)', undefined, 'alertmanager.receiverEgressCidrs[0]', /not an IPv4 or IPv6 address/],
  ];
  it.each(cases)('%s: one message naming the field and the fix', (_what, networkPolicies, field, problem) => {
    const input = networkPolicies === undefined
      ? { services, alertmanager: { receiverEgressCidrs: ['203.0.113.256/32'] } }
      : { services, networkPolicies };
    const error = configErrorFor(input);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(problem);
    expect(error.message).toMatch(/^invalid config: \S+: .+\. Fix: .+$/);
    expect(error.message).not.toContain('\n');
  });
});

describe('networkPolicies settings: in the manifests', () => {
  const apiServerCidrs = ['172.18.0.2/32', '10.96.0.1/32'];
  const nodeCidrs = ['172.18.0.0/16'];
  const policies = ofKind(synthObjects(configWith({ networkPolicies: { apiServerCidrs, nodeCidrs } })), 'NetworkPolicy');
  const byPorts = (rules: { ports?: { port: number }[] }[] = [], ...ports: number[]) =>
    rules.filter((r) => (r.ports ?? []).some((p) => ports.includes(p.port)));

  it('restricts every API-server egress rule (443, 6443) to apiServerCidrs, in order', () => {
    const rules = policies.flatMap((p) => byPorts(p.spec.egress, 443, 6443));
    expect(rules.length).toBe(4); // operator, collector, Prometheus, Grafana; Alertmanager calls no API
    for (const r of rules) expect(r).toEqual({ to: apiServerCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] });
  });

  it('admits probes from nodeCidrs only', () => {
    const probeRules = policies.flatMap((p) => (p.spec.ingress ?? []).filter((r: { from?: { ipBlock?: unknown }[] }) => r.from?.some((f) => f.ipBlock)));
    expect(probeRules.length).toBeGreaterThan(0);
    for (const r of probeRules) expect(r.from).toEqual(nodeCidrs.map((cidr) => ({ ipBlock: { cidr } })));
  });

  it('names no address without them: the rules carry ports only', () => {
    const plain = ofKind(synthObjects(configWith({})), 'NetworkPolicy');
    const ipBlocks = JSON.stringify(plain).match(/ipBlock/g) ?? [];
    expect(ipBlocks).toEqual([]);
  });
});
