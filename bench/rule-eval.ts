/**
 * Section 8 (issue 14, 4): the chart's rule groups on the real Prometheus (built by `npm run
 * binaries`), scraping every 15 s (the chart's interval) the legacy duration histogram of 10, 100
 * and 1,000 chat pods as the collector's per-service exporters expose them (labels after the
 * identity transform and the Host-header drop: job, service, namespace, pod, http_method,
 * http_scheme, http_flavor, http_status_code, http_target, otel_scope_*; every route of the service
 * x 200/404/500; 16 le + _sum + _count). Served by a small HTTP server here, one scrape target per
 * service (as the chart has one per service), honor_labels like the ServiceMonitors.
 *
 * Reported per size, after `cycles` evaluation cycles: the sum over the chart's groups of
 * prometheus_rule_group_last_duration_seconds (one cycle's evaluation time; the groups run
 * concurrently, so the sum is the CPU-side figure and the largest group the wall-side one), and
 * Prometheus's RSS. The TSDB starts empty: windows longer than the run ([30m], [1h], [6h]) hold
 * only the samples scraped so far, so those rules cost less here than after hours of data.
 */
import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import { readFileSync } from 'fs';
import { join } from 'path';
import { binariesUnavailable } from '../test/support/binaries';
import { defaultConfig, synthObjects } from '../test/support/manifests';
import { PROMETHEUS_BINARIES, PrometheusServer, sleep } from '../test/support/prometheus';
import { ruleFile } from './lib/chart-output';
import { procStatusKb } from './lib/measure';
import { Row } from './lib/report';
import { BenchSection, runSectionAlone, SectionReport } from './lib/section';

const BUCKETS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
const METRIC = 'http_server_duration_milliseconds';
const KINDS: Record<string, string> = { 'chat-auth': 'auth', 'chat-transport': 'transport', 'chat-messaging': 'messaging' };
const STATUSES = [200, 404, 500];

interface Series { labels: string; count: number; sum: number; buckets: number[] }

/** An HTTP server exposing, per service (/metrics/<service>), the histograms of its pods; counters grow on each scrape. */
async function expositionServer(pods: number): Promise<{ server: Server; port: number; series: number }> {
  const routes = JSON.parse(readFileSync(join(__dirname, '..', 'test', 'chat-service', 'routes.json'), 'utf8')) as Record<string, { method: string; path: string }[]>;
  const services = defaultConfig().services.map((s) => s.name).filter((n) => KINDS[n]);
  const bySvc = new Map<string, Series[]>(services.map((s) => [s, []]));
  for (let p = 0; p < pods; p++) {
    const svc = services[p % services.length];
    const pod = `${svc}-6d4f8b7c9-p${p}`;
    for (const r of routes[KINDS[svc]]) {
      for (const status of STATUSES) {
        bySvc.get(svc)!.push({
          labels: `job="${svc}",service="${svc}",namespace="chat",pod="${pod}",http_method="${r.method}",http_scheme="http",http_flavor="1.1",http_status_code="${status}",http_target="${r.path}",otel_scope_name="opentelemetry.instrumentation.fastapi",otel_scope_version="0.59b0"`,
          count: 0, sum: 0, buckets: BUCKETS.map(() => 0),
        });
      }
    }
  }
  let series = 0;
  for (const list of bySvc.values()) series += list.length * (BUCKETS.length + 3);
  const server = createServer((req, res) => {
    const svc = (req.url ?? '').replace(/^\/metrics\//, '');
    const list = bySvc.get(svc);
    if (!list) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const out: string[] = [`# TYPE ${METRIC} histogram\n`];
    for (const s of list) {
      const n = 1 + Math.floor(Math.random() * 20);
      for (let i = 0; i < n; i++) {
        const v = Math.round(Math.exp(3 + Math.random() * 3));
        s.count++;
        s.sum += v;
        for (let b = 0; b < BUCKETS.length; b++) if (v <= BUCKETS[b]) s.buckets[b]++;
      }
      for (let b = 0; b < BUCKETS.length; b++) out.push(`${METRIC}_bucket{${s.labels},le="${BUCKETS[b]}"} ${s.buckets[b]}\n`);
      out.push(`${METRIC}_bucket{${s.labels},le="+Inf"} ${s.count}\n${METRIC}_sum{${s.labels}} ${s.sum}\n${METRIC}_count{${s.labels}} ${s.count}\n`);
    }
    res.setHeader('Content-Type', 'text/plain; version=0.0.4');
    res.end(out.join(''));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, series };
}

export interface RuleEvalStats { pods: number; series: number; cycleMs: number; slowestGroupMs: number; rssKb: number; groups: number; slowestRules: string[] }

export async function measureRuleEval(pods: number, cycles = 4): Promise<RuleEvalStats> {
  const groups = synthObjects(defaultConfig()).filter((o) => o.kind === 'PrometheusRule').flatMap((o) => o.spec.groups);
  const { server, port, series } = await expositionServer(pods);
  const services = defaultConfig().services.map((s) => s.name).filter((n) => KINDS[n]);
  const scrape = services.map((s) => `  - job_name: ${s}\n    honor_labels: true\n    metrics_path: /metrics/${s}\n    static_configs: [{ targets: ['127.0.0.1:${port}'] }]\n`).join('');
  const prom = await PrometheusServer.start({
    config: `global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n  scrape_timeout: 14s\nrule_files: [rules/chart-rules.yaml]\nscrape_configs:\n${scrape}`,
    ruleFiles: { 'chart-rules.yaml': ruleFile(groups) },
  });
  try {
    await sleep((cycles * 15 + 5) * 1000);
    // /api/v1/rules: each group's evaluationTime, the same figure as prometheus_rule_group_last_duration_seconds.
    const groupStatus = await prom.ruleGroups();
    const slowestRules = groupStatus.flatMap((g) => g.rules).sort((a, b) => b.evaluationTime - a.evaluationTime).slice(0, 4).map((r) => `${(r.evaluationTime * 1000).toFixed(1)} ms ${r.name}: ${r.query}`);
    const ms = groupStatus.map((g) => g.evaluationTime * 1000);
    const loaded = Number((await prom.query(`count({__name__=~"${METRIC}_.*"})`))[0]?.value?.[1] ?? 0);
    return { pods, series: loaded || series, cycleMs: ms.reduce((a, b) => a + b, 0), slowestGroupMs: Math.max(...ms), rssKb: procStatusKb(prom.pid!, 'VmRSS') ?? 0, groups: ms.length, slowestRules };
  } finally {
    await prom.stop();
    server.close();
  }
}

export async function benchRuleEval(sizes = [10, 100, 1000]): Promise<{ rows: Row[]; notes: string[] }> {
  const stats: RuleEvalStats[] = [];
  for (const n of sizes) {
    const s = await measureRuleEval(n);
    process.stderr.write(`rule-eval ${JSON.stringify(s)}\n`);
    stats.push(s);
  }
  const rows: Row[] = [{
    section: '8', measure: `Prometheus, the chart's ${stats[0].groups} rule groups every 15 s, at ${sizes.join(' / ')} chat pods: one cycle's evaluation time (sum over groups; slowest group), RSS`,
    value: stats.map((s) => `${s.pods} pods (${s.series.toLocaleString('en')} series): ${s.cycleMs.toFixed(1)} ms (${s.slowestGroupMs.toFixed(1)} ms), ${(s.rssKb / 1024).toFixed(0)} MB`).join('; '),
  }];
  const notes = ['Section 8: empty TSDB, 4 scrape + evaluation cycles at 15 s before reading prometheus_rule_group_last_duration_seconds (last cycle of each group) and VmRSS; one run per size; only the duration histogram is exposed (the size histograms the collector also exports are not, so RSS is a lower bound).'];
  return { rows, notes };
}

/** Prometheus scraping 10 / 100 / 1,000 pods' histograms with the chart's rules (about 4 minutes). */
export const ruleEvalSection: BenchSection<SectionReport> = {
  name: 'rules',
  label: 'rules',
  unavailable: () => binariesUnavailable(PROMETHEUS_BINARIES),
  skippedRow: { section: '8', measure: 'rule evaluation' },
  run: () => benchRuleEval(),
};

if (require.main === module) runSectionAlone(ruleEvalSection);
