/**
 * Thanos's settings: how many Query replicas, the optional object store (long-term storage) and the
 * Compactor's retention per resolution, their defaults and their validation. The components are
 * built from the validated settings in thanos-query.ts and thanos-bucket-components.ts.
 */
import { cidrList, ConfigError, DNS1123_LABEL, durationSeconds, DURATION, int, optional, QUANTITY, QUANTITY_FIX, requireObject, str } from '../validation';

/** Where the sidecars, the Store Gateway and the Compactor read and write blocks. */
export interface ObjectStorageSettings {
  /** Secret (created by you, never synthesized) holding Thanos's object-store configuration. @default 'thanos-objstore' */
  readonly secretName: string;
  /** Key of that Secret holding the configuration (Thanos's objstore YAML). @default 'objstore.yml' */
  readonly key: string;
  /**
   * Addresses of the object store (CIDRs, at least one): the only addresses the sidecars, the Store
   * Gateway and the Compactor may reach outside the cluster's DNS. (Required: no default.)
   */
  readonly egressCidrs: readonly string[];
  /** TCP ports of the object store at those addresses (an in-cluster MinIO: its 9000). @default [443] (HTTPS: S3, GCS, Azure) */
  readonly egressPorts: readonly number[];
}

/** How long the Compactor keeps blocks of each resolution in the object store ("0d": forever). */
export interface ThanosRetention {
  /** Raw samples. At least 40h (Thanos refuses less while downsampling is on). @default '30d' */
  readonly raw: string;
  /** 5-minute downsampled blocks. At least 10d. @default '90d' */
  readonly fiveMinutes: string;
  /** 1-hour downsampled blocks. @default '1y' */
  readonly oneHour: string;
}

export interface ThanosSettings {
  /** Replicas of Thanos Query, which Grafana reads through (a PodDisruptionBudget above 1). @default 2 */
  readonly queryReplicas: number;
  /** Long-term storage: off (left out) by default; then HA and deduplication only. */
  readonly objectStorage?: ObjectStorageSettings;
  readonly retention: ThanosRetention;
  /** Each Store Gateway's claim: index headers and caches, rebuilt from the bucket when lost. @default '10Gi' */
  readonly storeStorage: string;
  /**
   * The Compactor's claim: it downloads the blocks of one compaction (up to 2 weeks of one replica)
   * and writes the result beside them. @default twice `prometheusStorage` (sized for a Prometheus
   * keeping 15 days, which is more than a 2-week block), see compactorStorageFor
   */
  readonly compactorStorage: string;
}

export const THANOS_DEFAULTS = {
  queryReplicas: 2,
  objectStorage: { secretName: 'thanos-objstore', key: 'objstore.yml', egressPorts: [443] },
  retention: { raw: '30d', fiveMinutes: '90d', oneHour: '1y' },
  storeStorage: '10Gi',
} as const;

/** The Compactor's default claim: twice the quantity (its number doubled, its unit kept: "10Gi" -> "20Gi"). */
export function compactorStorageFor(prometheusStorage: string): string {
  const m = /^([0-9]+(?:\.[0-9]+)?)(.*)$/.exec(prometheusStorage);
  if (!m) throw new Error(`not a quantity: ${prometheusStorage}`);
  return `${Number(m[1]) * 2}${m[2]}`;
}

/** What a user writes. */
export type ThanosInput = Partial<Omit<ThanosSettings, 'objectStorage' | 'retention'>> & {
  readonly objectStorage?: Partial<Omit<ObjectStorageSettings, 'egressCidrs'>> & { readonly egressCidrs: readonly string[] };
  readonly retention?: Partial<ThanosRetention>;
};

const DURATION_FIX = 'use a duration such as "40h", "30d" or "1y" ("0d" keeps blocks forever)';
/** The smallest retention Thanos's Compactor accepts per resolution while it downsamples (cmd/thanos/compact.go, v0.42). */
const MIN_RETENTION: Readonly<Record<keyof ThanosRetention, { min: string; why: string }>> = {
  raw: { min: '40h', why: 'raw blocks are downsampled to 5m once they span 40h' },
  fiveMinutes: { min: '10d', why: '5m blocks are downsampled to 1h once they span 10 days' },
  oneHour: { min: '0s', why: '' },
};

function validateRetention(raw: unknown): ThanosRetention {
  const r = requireObject('thanos.retention', raw, Object.keys(THANOS_DEFAULTS.retention));
  const d = THANOS_DEFAULTS.retention;
  const out = Object.fromEntries((Object.keys(d) as (keyof ThanosRetention)[]).map((k) => {
    const v = str(`thanos.retention.${k}`, r[k] ?? d[k], DURATION, DURATION_FIX);
    const seconds = durationSeconds(v);
    const { min, why } = MIN_RETENTION[k];
    if (seconds !== 0 && seconds < durationSeconds(min)) {
      throw new ConfigError(`thanos.retention.${k}`, `${v} is shorter than the Compactor accepts (${why})`, `give at least ${min}, or "0d" to keep them forever`);
    }
    return [k, v];
  }));
  return out as unknown as ThanosRetention;
}

function validatePorts(field: string, raw: unknown): number[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new ConfigError(field, 'must be a non-empty list of TCP ports', 'e.g. [443] for an HTTPS endpoint, [9000] for MinIO');
  return [...new Set(raw.map((p, i) => int(`${field}[${i}]`, p, 1, 65535)))];
}

function validateObjectStorage(raw: unknown): ObjectStorageSettings {
  const f = 'thanos.objectStorage';
  const o = requireObject(f, raw, ['secretName', 'key', 'egressCidrs', 'egressPorts']);
  const d = THANOS_DEFAULTS.objectStorage;
  const egressCidrs = cidrList(`${f}.egressCidrs`, o.egressCidrs);
  if (egressCidrs.length === 0) {
    throw new ConfigError(`${f}.egressCidrs`, 'is missing or empty',
      'give the object store\'s addresses as CIDRs (e.g. your S3 endpoint\'s ranges, or the in-cluster MinIO\'s pod network); "0.0.0.0/0" allows every address');
  }
  return {
    secretName: str(`${f}.secretName`, o.secretName ?? d.secretName, DNS1123_LABEL, 'use the name of a Secret (lowercase letters, digits, "-")'),
    key: str(`${f}.key`, o.key ?? d.key, /^[-._a-zA-Z0-9]+$/, 'give the name of a key in that Secret (letters, digits, "-", "_", ".")'),
    egressCidrs,
    egressPorts: validatePorts(`${f}.egressPorts`, o.egressPorts ?? d.egressPorts),
  };
}

/** `prometheusStorage`, validated: the Compactor's claim defaults to twice it. */
export function validateThanos(raw: unknown, prometheusStorage: string): ThanosSettings {
  const t = requireObject('thanos', raw, ['queryReplicas', 'objectStorage', 'retention', 'storeStorage', 'compactorStorage']);
  return {
    queryReplicas: int('thanos.queryReplicas', t.queryReplicas ?? THANOS_DEFAULTS.queryReplicas, 1, 10),
    objectStorage: optional(t.objectStorage, validateObjectStorage),
    retention: validateRetention(t.retention ?? {}),
    storeStorage: str('thanos.storeStorage', t.storeStorage ?? THANOS_DEFAULTS.storeStorage, QUANTITY, QUANTITY_FIX),
    compactorStorage: str('thanos.compactorStorage', t.compactorStorage ?? compactorStorageFor(prometheusStorage), QUANTITY, QUANTITY_FIX),
  };
}
