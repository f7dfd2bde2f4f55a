/**
 * Section 4: metric freshness. A real Prometheus (scrape 1 s, rule evaluation 1 s, the chart's rules)
 * scrapes synthetic chat services (OpenTelemetry JS SDK); after a burst of requests, how long until
 * the dashboard's requests-per-second query (a recorded series) sees it, polled every 100 ms.
 *
 * Stand-in for the collector: the SDK's own Prometheus exporter names the histogram
 * `http_server_duration_*` (no unit suffix), the collector's exporter `http_server_duration_milliseconds_*`;
 * the scrape renames it with metric_relabel_configs and sets service/namespace/pod as target
 * labels, which is what the collector's identity transform puts on the series.
 *
 * One synthetic service per trial: a rate over 1m stays up for a minute after a burst, so each
 * trial needs a service whose rate is still 0 (its series created by a warm-up request).
 */
import { join } from 'path';
import { binariesUnavailable } from '../test/support/binaries';
import { PROMETHEUS_BINARIES, PrometheusServer, sleep } from '../test/support/prometheus';
import { startSyntheticService, SyntheticService } from '../test/support/synthetic-service';
import { pushRuleQueryOffset } from '../lib/queries/http';
import { defaultConfig } from '../test/support/manifests';
import { chartRuleGroups, panelQuery, ruleFile } from './lib/chart-output';
import { median, ms } from './lib/measure';
import { Row } from './lib/report';
import { BenchSection } from './lib/section';
import { scalingSection } from './scaling';

const BURST = 20;
const POLL_MS = 100;
/** Warm-up and burst send the same request: a series' first sample is never seen by rate(). */
const REQUEST = { method: 'POST', route: '/messaging/messages/send-message', status: 200, latencyMs: 30 } as const;

export interface FreshnessResults { rows: Row[]; notes: string[] }

/** The number a query answers now (NaN: no series). */
type Value = (query: string) => Promise<number>;

/** Prometheus scraping each synthetic service every 1 s as the collector would label it, the chart's rules evaluated every 1 s. */
function startPrometheus(names: readonly string[], services: readonly SyntheticService[], chartDir: string): Promise<PrometheusServer> {
  const scrapeConfigs = names.map((n, i) => ({
    job_name: n,
    static_configs: [{ targets: [services[i].metricsUrl], labels: { service: n, namespace: 'chat', pod: `${n}-synthetic` } }],
    metric_relabel_configs: [{ source_labels: ['__name__'], regex: 'http_server_duration_(bucket|sum|count)', target_label: '__name__', replacement: 'http_server_duration_milliseconds_$1' }],
  }));
  return PrometheusServer.start({
    config: JSON.stringify({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, rule_files: ['rules/chart-rules.yaml'], scrape_configs: scrapeConfigs }),
    // Scraped directly, the services stand for pull services, whose rules read the present: the push
    // services' query_offset (the collector hop) is left out here and named in the notes.
    ruleFiles: { 'chart-rules.yaml': ruleFile(chartRuleGroups(join(chartDir, 'dist')).map(({ query_offset: _offset, ...g }) => g)) }, // eslint-disable-line @typescript-eslint/no-unused-vars
  });
}

/** Ready when every service's recorded RPS exists (= 0: the warm-up request is the series' first sample). */
async function untilRecordedAtZero(value: Value, rpsQueries: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30000;
  while ((await Promise.all(rpsQueries.map(value))).some((v) => !(v === 0))) {
    if (Date.now() > deadline) throw new Error('recorded RPS series did not appear at 0');
    await sleep(200);
  }
}

/** Milliseconds from a burst to `service` until the recorded and the raw query see it, polled every POLL_MS. */
async function timeBurst(service: SyntheticService, name: string, value: Value, rpsQuery: string, rawQuery: string): Promise<{ recorded: number; raw: number }> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: BURST }, () => service.request(REQUEST)));
  let seenRecorded: number | undefined;
  let seenRaw: number | undefined;
  for (let k = 0; seenRecorded === undefined; k++) {
    const [rec, r] = await Promise.all([value(rpsQuery), value(rawQuery)]);
    const now = performance.now();
    if (seenRaw === undefined && r > 0) seenRaw = now - t0;
    if (rec > 0) seenRecorded = now - t0;
    if (now - t0 > 20000) throw new Error(`${name}: burst not visible after 20 s`);
    await sleep(Math.max(0, t0 + (k + 1) * POLL_MS - performance.now()));
  }
  return { recorded: seenRecorded, raw: seenRaw ?? seenRecorded };
}

export async function benchFreshness(chartDir: string, trials: number): Promise<FreshnessResults> {
  const names = Array.from({ length: trials }, (_, i) => `chat-svc-${String(i + 1).padStart(3, '0')}`);
  const rpsQueries = names.map((n) => panelQuery(join(chartDir, 'dashboards'), n, 'Requests per second'));
  const rawQueries = names.map((n) => `sum by (service) (rate(http_server_duration_milliseconds_count{service="${n}"}[1m]))`);
  const services: SyntheticService[] = [];
  let prom: PrometheusServer | undefined;
  try {
    for (let i = 0; i < names.length; i++) {
      const s = await startSyntheticService({ convention: 'legacy' });
      services.push(s);
      await s.request(REQUEST); // creates the series the burst will increase
    }
    prom = await startPrometheus(names, services, chartDir);
    const p = prom;
    const value: Value = async (q) => Number((await p.query(q))[0]?.value?.[1] ?? NaN);
    await untilRecordedAtZero(value, rpsQueries);
    const recorded: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < trials; i++) {
      await sleep(300 + ((i * 379) % 1000)); // spread the bursts over the scrape/evaluation phase
      const t = await timeBurst(services[i], names[i], value, rpsQueries[i], rawQueries[i]);
      recorded.push(t.recorded);
      raw.push(t.raw);
    }
    const range = (xs: number[]) => `${ms(Math.min(...xs))} .. ${ms(Math.max(...xs))}`;
    return {
      rows: [
        { section: '4', measure: `freshness: burst of ${BURST} requests until the dashboard's RPS query (\`${rpsQueries[0]}\`) sees it; scrape 1 s, evaluation 1 s, poll ${POLL_MS} ms`, value: `${ms(median(recorded))} (${trials} trials, ${range(recorded)})` },
        { section: '4', measure: 'same, raw query without the recording rule (`sum by (service) (rate(..._count[1m]))`)', value: `${ms(median(raw))} (${range(raw)})` },
      ],
      notes: [
        'Freshness: the synthetic service (test/support/synthetic-service.ts, OpenTelemetry JS SDK) is scraped directly; the scrape renames `http_server_duration_*` to the collector\'s ' +
          '`http_server_duration_milliseconds_*` (metric_relabel_configs) and sets service/namespace/pod as target labels. The collector hop (1 s OTLP export, batch timeout 1 s) is not in the ' +
          'measurement; in production add up to 2 s for it, and the chart\'s 15 s scrape and evaluation intervals make the worst case about 15 + 15 + 2 s. ' +
          `The rules run as for pull services: a push service's recording rules evaluate \`query_offset\` ${pushRuleQueryOffset(defaultConfig())} behind the clock (so that every pushed point has arrived), which its recorded panels add.`,
      ],
    };
  } finally {
    await prom?.stop();
    for (const s of services) await s.stop();
  }
}

/** On the 30-service chart synthesized by the scaling section; at least 5 trials. */
export const freshnessSection: BenchSection<FreshnessResults> = {
  name: 'freshness',
  label: 'freshness',
  needs: [scalingSection],
  unavailable: () => binariesUnavailable(PROMETHEUS_BINARIES),
  skippedRow: { section: '4', measure: 'freshness' },
  run: (runs, earlier) => benchFreshness(earlier.of(scalingSection).dir30, Math.max(runs, 5)),
};
