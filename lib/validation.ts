/**
 * Generic checks of untyped (e.g. JSON) configuration. Each returns the value with its type, or
 * throws a ConfigError naming the field, what is wrong and the fix; the settings' validators
 * (config.ts and the files beside each component) are built from them.
 */
import { parseCidr } from './cidr';

/** Raised for any invalid configuration; its message names the field and the fix. */
export class ConfigError extends Error {
  constructor(readonly field: string, problem: string, fix: string) {
    super(`invalid config: ${field}: ${problem}. Fix: ${fix}`);
    this.name = 'ConfigError';
  }
}

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Prometheus duration: "15s", "1m30s", "15d". */
export const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;
/** A Go duration as the collector and Alertmanager's `--data.retention` take it (the CRD's pattern). */
export const GO_DURATION = /^(?=\d)(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;
export const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
export const QUANTITY_FIX = 'use a Kubernetes quantity such as "10Gi"';

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An object whose keys are all in `allowed`: a misspelt field fails instead of being ignored. */
export function requireObject(field: string, v: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (!isObject(v)) throw new ConfigError(field, `expected an object, got ${JSON.stringify(v)}`, 'give an object');
  for (const key of Object.keys(v)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`${field}.${key}`, 'unknown field', `remove it or use one of: ${allowed.join(', ')}`);
    }
  }
  return v;
}

export function str(field: string, v: unknown, pattern: RegExp, fix: string): string {
  if (typeof v !== 'string' || !pattern.test(v)) {
    throw new ConfigError(field, `${JSON.stringify(v)} is not valid`, fix);
  }
  return v;
}

export function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(field, `${JSON.stringify(v)} is out of range`, `use a whole number from ${min} to ${max}`);
  }
  return v;
}

export function num(field: string, v: unknown, minExclusive: number, maxExclusive: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= minExclusive || v >= maxExclusive) {
    throw new ConfigError(field, `${JSON.stringify(v)} is not a number between ${minExclusive} and ${maxExclusive}`,
      `use a number greater than ${minExclusive} and less than ${maxExclusive}`);
  }
  return v;
}

export function bool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(field, `${JSON.stringify(v)} is not valid`, 'use true or false');
  return v;
}

/** `v`, or `fallback` when the field is left out (null is not left out: it fails the field's check). */
export const given = <T>(v: unknown, fallback: T): unknown => (v === undefined ? fallback : v);

/** A list; left out, an empty one. */
export function list(field: string, v: unknown): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ConfigError(field, 'must be a list', 'give a list (or leave it out)');
  return v;
}

/** `check(v)` when the field is given, else undefined (a field without a default). */
export const optional = <T>(v: unknown, check: (x: unknown) => T): T | undefined => (v === undefined ? undefined : check(v));

/** A CPU quantity ("350m", "0.5", "2") in millicores. */
export const cpuMillis = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);

/** `seconds` as a Prometheus or Alertmanager duration, which takes no fraction: 27.5 s is written 27500ms. */
export function durationText(seconds: number): string {
  return Number.isInteger(seconds) ? `${seconds}s` : `${Math.round(seconds * 1000)}ms`;
}

/** Duration in seconds of a Prometheus duration string such as `1m30s`. */
export function durationSeconds(d: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const [, n, u] of d.matchAll(/([0-9]+)(ms|s|m|h|d|w|y)/g)) total += Number(n) * units[u];
  return total;
}

const CIDR_FIX = 'give a CIDR: address/prefix with the host bits zero, e.g. "172.18.0.0/16", "172.18.0.2/32" for one address, "fd00::/64"';

/** A list of CIDRs for a NetworkPolicy ipBlock, each checked as parseCidr does. */
export function cidrList(field: string, v: unknown): string[] {
  return list(field, v).map((c, i) => {
    const parsed = typeof c === 'string' ? parseCidr(c) : 'is not a string';
    if (typeof parsed === 'string') throw new ConfigError(`${field}[${i}]`, `${JSON.stringify(c)} ${parsed}`, CIDR_FIX);
    return c as string;
  });
}
