/**
 * The one validated entry point of the chart's configuration: `ChartConfig` composes the settings
 * each component keeps beside itself (chat services, collector, Alertmanager, NetworkPolicies) with
 * the stack-wide ones below. Everything downstream (constructs, dashboards, rules) reads a
 * validated `ChartConfig`; bad input fails here with one ConfigError naming the field and the fix.
 */
import { AlertmanagerInput, AlertmanagerSettings, validateAlertmanager } from './alertmanager/alertmanager-settings';
import { ChatServiceConfig, ChatServiceInput, validateServices } from './chat-service-settings';
import { CollectorAutoscaling, CollectorSettings, validateCollector } from './collector/collector-settings';
import { NetworkPolicySettings, validateNetworkPolicies } from './network-policy-settings';
import { ThanosInput, ThanosSettings, validateThanos } from './thanos/thanos-settings';
import { SLO_PERIOD } from './queries/recorded';
import { ConfigError, DNS1123_LABEL, DURATION, durationSeconds, int, QUANTITY, QUANTITY_FIX, requireObject, str } from './validation';

export * from './alertmanager/alertmanager-settings';
export * from './chat-service-settings';
export * from './collector/collector-settings';
export * from './network-policy-settings';
export * from './thanos/thanos-settings';
export { ConfigError, durationSeconds } from './validation';

export interface Images {
  readonly collector: string;
  readonly prometheusOperator: string;
  readonly prometheusConfigReloader: string;
  readonly prometheus: string;
  readonly grafana: string;
  readonly grafanaSidecar: string;
  readonly alertmanager: string;
  /** Thanos: the sidecars beside Prometheus, Query, Store Gateway and Compactor. */
  readonly thanos: string;
}

/** Pinned images. Bump them here and nowhere else. */
export const DEFAULT_IMAGES: Images = {
  collector: 'docker.io/otel/opentelemetry-collector-contrib:0.152.0',
  prometheusOperator: 'quay.io/prometheus-operator/prometheus-operator:v0.93.1',
  prometheusConfigReloader: 'quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1',
  prometheus: 'quay.io/prometheus/prometheus:v3.13.5',
  grafana: 'docker.io/grafana/grafana:12.4.12',
  grafanaSidecar: 'quay.io/kiwigrid/k8s-sidecar:2.10.1',
  alertmanager: 'quay.io/prometheus/alertmanager:v0.35.0',
  thanos: 'quay.io/thanos/thanos:v0.42.5',
};

export const PROMETHEUS_OPERATOR_VERSION = 'v0.93.1';

/** The README whose "Runbooks" section documents every alert. */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/aleksandrshaulskyi/chat-monitoring/blob/main/README.md';

export interface ChartConfig {
  /** Namespace holding the whole stack. @default 'monitoring' */
  readonly namespace: string;
  /** @default DEFAULT_IMAGES */
  readonly images: Images;
  /** Prometheus scrape and rule-evaluation interval. @default '15s' */
  readonly scrapeInterval: string;
  /** Window of the recorded rates the dashboards read; at least 4x the scrape interval. @default '1m' */
  readonly recordingWindow: string;
  /**
   * How long Prometheus keeps its data; at least the SLO period (30d), which the 30-day budget
   * panels and ratios read inside Prometheus (Thanos's bucket does not feed the rules). @default '31d'
   */
  readonly retention: string;
  /** Volume size of Prometheus's PersistentVolumeClaim. @default '10Gi' */
  readonly prometheusStorage: string;
  /** Volume size of Grafana's PersistentVolumeClaim. @default '1Gi' */
  readonly grafanaStorage: string;
  /** StorageClass for both claims; unset uses the cluster default. */
  readonly storageClassName?: string;
  /** NodePort of Grafana's Service; kind-config.yaml maps it to host port 3030. @default 30030 */
  readonly grafanaNodePort: number;
  /** Name of the Secret (keys `admin-user`, `admin-password`) Grafana reads; never synthesized. @default 'grafana-admin' */
  readonly grafanaAdminSecret: string;
  /** @default 1 (a PodDisruptionBudget is added above 1) */
  readonly collectorReplicas: number;
  readonly collector: CollectorSettings;
  /**
   * Identical Prometheus servers, each with a Thanos sidecar; Thanos Query deduplicates them on
   * `prometheus_replica`. @default 2 (a PodDisruptionBudget is added above 1)
   */
  readonly prometheusReplicas: number;
  /** Page holding the alerts' runbook sections; each alert links to `<url>#<alert name in lower case>`. @default DEFAULT_RUNBOOK_BASE_URL */
  readonly runbookBaseUrl: string;
  readonly alertmanager: AlertmanagerSettings;
  readonly networkPolicies: NetworkPolicySettings;
  /** Thanos Query in front of the Prometheus replicas, and the optional long-term storage. */
  readonly thanos: ThanosSettings;
  readonly services: readonly ChatServiceConfig[];
}

/** The defaults of ChartConfig's own fields; each nested section's are beside its component. */
export const CHART_DEFAULTS = {
  namespace: 'monitoring',
  images: DEFAULT_IMAGES,
  scrapeInterval: '15s',
  recordingWindow: '1m',
  retention: '31d',
  prometheusStorage: '10Gi',
  grafanaStorage: '1Gi',
  grafanaNodePort: 30030,
  grafanaAdminSecret: 'grafana-admin',
  collectorReplicas: 1,
  prometheusReplicas: 2,
  runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL,
} as const;

/** What a user writes: everything optional but the services' names. */
export type ChartConfigInput = Partial<Omit<ChartConfig, 'images' | 'services' | 'alertmanager' | 'collector' | 'networkPolicies' | 'thanos'>> & {
  readonly thanos?: ThanosInput;
  readonly networkPolicies?: Partial<NetworkPolicySettings>;
  readonly images?: Partial<Images>;
  readonly collector?: Partial<Omit<CollectorSettings, 'autoscaling'>> & { readonly autoscaling?: Partial<CollectorAutoscaling> };
  readonly alertmanager?: AlertmanagerInput;
  readonly services: readonly ChatServiceInput[];
};

const CHART_KEYS = ['namespace', 'images', 'scrapeInterval', 'recordingWindow', 'retention', 'prometheusStorage',
  'grafanaStorage', 'storageClassName', 'grafanaNodePort', 'grafanaAdminSecret', 'collectorReplicas',
  'collector', 'prometheusReplicas', 'runbookBaseUrl', 'alertmanager', 'networkPolicies', 'thanos', 'services'];
const IMAGE_PINNED = /^[^\s:@]+(:[0-9][^\s:@]*|:v[0-9][^\s:@]*)(@sha256:[a-f0-9]{64})?$|^[^\s@]+@sha256:[a-f0-9]{64}$/;
const DNS_FIX = 'use lowercase letters, digits and "-" (a DNS-1123 label)';
const DURATION_FIX = 'use a Prometheus duration such as "15s", "1m" or "15d"';

/** Prometheus's retention: the recording rules' 30-day windows need that much data in Prometheus itself. */
function validateRetention(v: unknown): string {
  const retention = str('retention', v, DURATION, DURATION_FIX);
  if (durationSeconds(retention) < durationSeconds(SLO_PERIOD)) {
    throw new ConfigError('retention', `${retention} is shorter than the ${SLO_PERIOD} SLO period: the 30-day budget remaining and SLI ratios would cover only ${retention}`,
      `keep at least ${SLO_PERIOD} (the default is 31d) and size prometheusStorage for it`);
  }
  return retention;
}

function validateImages(raw: unknown): Images {
  const overrides = requireObject('images', raw ?? {}, Object.keys(DEFAULT_IMAGES));
  const images = { ...DEFAULT_IMAGES } as Record<keyof Images, string>;
  for (const key of Object.keys(DEFAULT_IMAGES) as (keyof Images)[]) {
    images[key] = str(`images.${key}`, overrides[key] ?? DEFAULT_IMAGES[key], IMAGE_PINNED,
      'pin a version tag (e.g. ":1.2.3") or a digest; "latest" and untagged images are refused');
  }
  return images;
}

/** The scrape interval and the recording window, which must span four scrapes. */
function validateIntervals(c: Record<string, unknown>): { scrapeInterval: string; recordingWindow: string } {
  const scrapeInterval = str('scrapeInterval', c.scrapeInterval ?? CHART_DEFAULTS.scrapeInterval, DURATION, DURATION_FIX);
  const recordingWindow = str('recordingWindow', c.recordingWindow ?? CHART_DEFAULTS.recordingWindow, DURATION, DURATION_FIX);
  if (durationSeconds(recordingWindow) < 4 * durationSeconds(scrapeInterval)) {
    throw new ConfigError('recordingWindow', `${recordingWindow} is shorter than 4 x scrapeInterval (${scrapeInterval})`,
      'make it at least four scrape intervals so every rate sees enough samples');
  }
  return { scrapeInterval, recordingWindow };
}

/** Validates raw (possibly untyped, e.g. JSON) input and fills in defaults. Throws ConfigError. */
export function validateConfig(raw: unknown): ChartConfig {
  const c = requireObject('config', raw, CHART_KEYS);
  const d = CHART_DEFAULTS;
  const namespace = str('namespace', c.namespace ?? d.namespace, DNS1123_LABEL, DNS_FIX);
  const images = validateImages(c.images);
  const { scrapeInterval, recordingWindow } = validateIntervals(c);
  const collectorReplicas = int('collectorReplicas', c.collectorReplicas ?? d.collectorReplicas, 1, 10);
  const services = validateServices(c.services, namespace);
  const prometheusStorage = str('prometheusStorage', c.prometheusStorage ?? d.prometheusStorage, QUANTITY, QUANTITY_FIX);
  return {
    namespace,
    images,
    scrapeInterval,
    recordingWindow,
    retention: validateRetention(c.retention ?? d.retention),
    prometheusStorage,
    grafanaStorage: str('grafanaStorage', c.grafanaStorage ?? d.grafanaStorage, QUANTITY, QUANTITY_FIX),
    storageClassName: c.storageClassName === undefined ? undefined
      : str('storageClassName', c.storageClassName, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'use the name of a StorageClass'),
    grafanaNodePort: int('grafanaNodePort', c.grafanaNodePort ?? d.grafanaNodePort, 30000, 32767),
    grafanaAdminSecret: str('grafanaAdminSecret', c.grafanaAdminSecret ?? d.grafanaAdminSecret, DNS1123_LABEL, DNS_FIX),
    collectorReplicas,
    collector: validateCollector(c.collector ?? {}, { scrapeInterval, replicas: collectorReplicas, pushes: services.some((s) => s.exportMode === 'push') }),
    prometheusReplicas: int('prometheusReplicas', c.prometheusReplicas ?? d.prometheusReplicas, 1, 10),
    runbookBaseUrl: str('runbookBaseUrl', c.runbookBaseUrl ?? d.runbookBaseUrl, /^https?:\/\/[^\s#]+$/,
      'use an http(s) URL without a #fragment, e.g. your fork\'s README'),
    alertmanager: validateAlertmanager(c.alertmanager ?? {}, services.map((s) => s.name)),
    networkPolicies: validateNetworkPolicies(c.networkPolicies ?? {}),
    thanos: validateThanos(c.thanos ?? {}, prometheusStorage),
    services,
  };
}

/** Namespaces the chat services run in, each once, in config order. */
export function serviceNamespaces(config: ChartConfig): string[] {
  return [...new Set(config.services.map((s) => s.namespace))];
}
