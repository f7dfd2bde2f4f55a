/**
 * Test hosts with real, non-loopback addresses: one network namespace joined to this host by a
 * veth pair, holding as many addresses as the test needs. Kubernetes rejects loopback addresses in
 * Endpoints and EndpointSlices, so stand-in pods listen here, and the API objects the test creates
 * carry these addresses. Needs root (or CAP_NET_ADMIN); created and removed by the test.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';

export interface TestHosts {
  /** Network namespace name, for RunningProcess's `netns`. */
  readonly netns: string;
  /** This host's end of the veth: what the hosts reach the test's own servers on. */
  readonly gateway: string;
  /** One address per test host, inside the namespace. */
  readonly addresses: readonly string[];
  remove(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** Why test hosts cannot be made here, or undefined. */
export function testHostsUnavailable(): string | undefined {
  try {
    const probe = `cmprobe${randomBytes(3).toString('hex')}`;
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return undefined;
  } catch (e) {
    return `network namespaces unavailable (needs root and iproute2: ${String((e as Error).message).split('\n')[0]})`;
  }
}

/** Hosts at 10.251.<subnet>.2 ... on a /24; the gateway is .1. */
export function createTestHosts(count: number): TestHosts {
  const id = randomBytes(3).toString('hex');
  const netns = `chatmon-${id}`;
  const outer = `cmo${id}`;
  const inner = `cmi${id}`;
  const subnet = 1 + (parseInt(id, 16) % 250);
  const gateway = `10.251.${subnet}.1`;
  const addresses = Array.from({ length: count }, (_, i) => `10.251.${subnet}.${i + 2}`);
  const remove = () => {
    try { ip('link', 'del', outer); } catch { /* already gone with the namespace */ }
    try { ip('netns', 'del', netns); } catch { /* never made */ }
  };
  try {
    ip('netns', 'add', netns);
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', netns);
    ip('addr', 'add', `${gateway}/24`, 'dev', outer);
    ip('link', 'set', outer, 'up');
    for (const a of addresses) ip('netns', 'exec', netns, 'ip', 'addr', 'add', `${a}/24`, 'dev', inner);
    ip('netns', 'exec', netns, 'ip', 'link', 'set', inner, 'up');
    ip('netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (e) {
    remove();
    throw e;
  }
  return { netns, gateway, addresses, remove };
}
