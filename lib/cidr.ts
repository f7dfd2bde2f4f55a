/**
 * CIDR checks for the addresses a NetworkPolicy `ipBlock` takes. The API server accepts any
 * address/prefix Go's net.ParseCIDR does, host bits included ("10.0.0.7/24" silently means
 * 10.0.0.0/24); the chart takes only the unambiguous form and says what was meant.
 */
import { isIPv4, isIPv6 } from 'net';

export interface ParsedCidr {
  readonly family: 4 | 6;
  /** The address as a number (128 bits for IPv6). */
  readonly base: bigint;
  readonly prefix: number;
}

function ipv4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((n, octet) => (n << 8n) + BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(ip: string): bigint {
  let text = ip;
  // An IPv4 tail ("::ffff:192.0.2.1") is the last two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToBigInt(v4[1]);
    text = `${text.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((n, g) => (n << 16n) + BigInt(parseInt(g, 16)), 0n);
}

const ipv4ToString = (n: bigint) => [24n, 16n, 8n, 0n].map((shift) => Number((n >> shift) & 0xffn)).join('.');

/** Parses "address/prefix"; a string saying what is wrong when it is not a CIDR with its host bits zero. */
export function parseCidr(text: string): ParsedCidr | string {
  const m = /^([^/%\s]+)\/(\d{1,3})$/.exec(text);
  if (!m) return 'is not an address/prefix-length pair';
  const [, address, prefixText] = m;
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (!family) return `"${address}" is not an IPv4 or IPv6 address`;
  const bits = family === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (prefix > bits) return `prefix length /${prefix} is longer than an IPv${family} address (${bits} bits)`;
  const base = family === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((base & hostMask) !== 0n) {
    const network = family === 4 ? `${ipv4ToString(base & ~hostMask)}/${prefix}` : `the network address of the /${prefix}`;
    return `has host bits set (the API server would read it as ${network})`;
  }
  return { family, base, prefix };
}
