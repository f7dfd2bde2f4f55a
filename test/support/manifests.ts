/** Synthesizes the chart in memory (or reads dist/) and gives tests its objects as plain data. */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { App, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { buildCharts } from '../../lib/charts/monitoring-charts';
import { ChartConfig, ChartConfigInput, ConfigError, validateConfig } from '../../lib/config';
import { CHART_CONFIG } from '../../lib/chart-config';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export const defaultConfig = (): ChartConfig => validateConfig(CHART_CONFIG);

/** Every chart of `config` synthesized in memory, in file order: chart id -> objects. */
export function synthCharts(config: ChartConfig = defaultConfig()): Map<string, K8sObject[]> {
  const app: App = Testing.app();
  buildCharts(app, config);
  const charts = new Map<string, K8sObject[]>();
  for (const chart of app.charts) charts.set(chart.node.id, chart.toJson() as K8sObject[]);
  return charts;
}

/** All objects of `config`, flattened in apply order. */
export function synthObjects(config: ChartConfig = defaultConfig()): K8sObject[] {
  return [...synthCharts(config).values()].flat();
}

/** Objects as written to a dist directory by `cdk8s synth`. */
export function readDist(dir: string): { file: string; objects: K8sObject[] }[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((file) => ({
    file,
    objects: parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJSON()).filter(Boolean) as K8sObject[],
  }));
}

export const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
export const named = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name}`);
  return found;
};

/** A config with the defaults plus overrides, validated. */
export const configWith = (overrides: Partial<ChartConfigInput>): ChartConfig => validateConfig({ ...CHART_CONFIG, ...overrides });

/** The error validateConfig raises for `input`, asserting it is a ConfigError (for the bad-input suites). */
export function configErrorFor(input: unknown): ConfigError {
  try {
    validateConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected validateConfig to throw');
}

/** `base`, or `base-2`, `base-3`, ...: a service name `services` (default: lib/chart-config.ts) does not use. */
export function unusedServiceName(base: string, services: readonly { readonly name: string }[] = CHART_CONFIG.services): string {
  const taken = new Set(services.map((s) => s.name));
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  return name;
}

/** Pod templates of every workload (Deployments, StatefulSets, DaemonSets, Jobs). */
export function podTemplates(objects: K8sObject[]): { owner: K8sObject; spec: any }[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind))
    .map((o) => ({ owner: o, spec: o.spec.template.spec }));
}
