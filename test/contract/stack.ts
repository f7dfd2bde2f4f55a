/**
 * A test stack for the proof: synthetic chat services (one per pod of the traffic plan), each
 * scraped through the collector stand-in by a real Prometheus that evaluates the chart's rules.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { stringify } from 'yaml';
import { durationSeconds } from '../../lib/validation';
import { collectorStandInScrapeJob } from '../support/collector-stand-in';
import { K8sObject } from '../support/manifests';
import { PrometheusServer, sleep } from '../support/prometheus';
import { Convention, startSyntheticService, SyntheticService } from '../support/synthetic-service';
import { DashboardFile } from './panel-proof';
import { Expectation, expectationFor, RunningService, ServicePlan } from './traffic';

/** Rule files from PrometheusRule objects: each object's spec (its groups) is one rule file. */
export function ruleFilesOf(objects: readonly K8sObject[]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const o of objects.filter((x) => x.kind === 'PrometheusRule')) {
    files[`${o.metadata.name}.yaml`] = stringify({ groups: o.spec.groups });
  }
  if (Object.keys(files).length === 0) throw new Error('no PrometheusRule objects');
  return files;
}

/** The longest `query_offset` of the rule groups in `objects`, in ms: how long after an instant every rule has evaluated it. */
export function ruleQueryOffsetMs(objects: readonly K8sObject[]): number {
  const offsets = objects.filter((x) => x.kind === 'PrometheusRule').flatMap((o) => o.spec.groups.map((g: { query_offset?: string }) => g.query_offset ?? '0s'));
  return Math.max(0, ...offsets.map((d: string) => durationSeconds(d) * 1000));
}

/** Dashboards from the ConfigMaps Grafana's sidecar loads (label grafana_dashboard: "1"). */
export function dashboardsOf(objects: readonly K8sObject[]): DashboardFile[] {
  return objects
    .filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1')
    .flatMap((o) => Object.entries(o.data as Record<string, string>).map(([file, text]) => ({ file, json: JSON.parse(text) })));
}

/** dashboards/*.json as `npm run synth` wrote them. */
export function dashboardsFromDir(dir: string): DashboardFile[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(dir, file), 'utf8')) }));
}

/**
 * Waits until every target has been scraped once. Prometheus hands new targets to its scrapers
 * only every 5 s after start; traffic started before that leaves the first seconds unsampled, and
 * a 1-minute rate at the end of a 63 s run then extrapolates from a late first sample (~3 % low).
 */
export async function waitForTargetsUp(prometheus: PrometheusServer, count: number, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await prometheus.query('count(up == 1)');
    const up = result.length === 0 ? 0 : Number(result[0].value![1]);
    if (up === count) return;
    if (Date.now() > deadline) throw new Error(`only ${up} of ${count} targets up after ${timeoutMs} ms`);
    await sleep(200);
  }
}

export interface Stack {
  readonly convention: Convention;
  readonly prometheus: PrometheusServer;
  readonly services: RunningService[];
  readonly expectations: Map<string, Expectation>;
  stop(): Promise<void>;
}

/**
 * Starts the services of `plans` (each in its plan's convention, `convention` where a plan has
 * none) and a Prometheus scraping them every 1 s with `ruleFiles`.
 */
export async function startStack(convention: Convention, plans: readonly ServicePlan[], ruleFiles: Record<string, string>): Promise<Stack> {
  const started: SyntheticService[] = [];
  let prometheus: PrometheusServer | undefined;
  try {
    const services: RunningService[] = [];
    for (const plan of plans) {
      const pods: SyntheticService[] = [];
      for (const pod of plan.pods) {
        const s = await startSyntheticService({ convention: plan.convention ?? convention, websocket: plan.websocket });
        started.push(s);
        pods.push(s);
        if (plan.websocket) s.setWebSocketConnections(pod.websocketConnections ?? 0);
      }
      services.push({ plan, pods });
    }
    const scrapeConfigs = services.flatMap((s) => s.plan.pods.map((pod, i) => collectorStandInScrapeJob({
      jobName: `stand-in-${pod.name}`, target: s.pods[i].metricsUrl, service: s.plan.service, namespace: s.plan.namespace, pod: pod.name,
    })));
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: Object.keys(ruleFiles).map((f) => `rules/${f}`),
      scrape_configs: scrapeConfigs,
    };
    prometheus = await PrometheusServer.start({ config: stringify(config), ruleFiles });
    await waitForTargetsUp(prometheus, scrapeConfigs.length);
    const expectations = new Map(plans.map((p) => [p.service, expectationFor(p, p.convention ?? convention)]));
    const prom = prometheus;
    return {
      convention, prometheus: prom, services, expectations,
      stop: async () => {
        await prom.stop();
        await Promise.all(started.map((s) => s.stop()));
      },
    };
  } catch (e) {
    await prometheus?.stop();
    await Promise.all(started.map((s) => s.stop()));
    throw e;
  }
}
