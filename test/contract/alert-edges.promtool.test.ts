/**
 * Every alert of dist/ at its edges, with promtool: silent just below its threshold and just
 * before its `for` elapses, firing just above and just after.
 *
 * The thresholds and durations are stated here or computed from the SLO settings of the config
 * dist/ is synthesized from (burn factors times the error budget, the p99 objective), never read
 * back from the rules, so a changed `for`, factor or threshold in lib/ fails this test.
 * Inputs are the contract's series, written literally, sampled every scrape interval and
 * evaluated at the chart's evaluation interval (both config.scrapeInterval, as in the cluster).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';
import { durationSeconds } from '../../lib/config';
import { defaultConfig, readDist } from '../support/manifests';
import { describeWithPrometheus, promtool } from '../support/prometheus';
import { ruleOffsetSeconds } from '../support/push-timing';

const config = defaultConfig(); // what `npm run synth` built dist/ from
const STEP = durationSeconds(config.scrapeInterval); // seconds between samples and between evaluations
const RULES = readDist(join(__dirname, '..', '..', 'dist')).flatMap((f) => f.objects).filter((o) => o.kind === 'PrometheusRule');
/** The stack's own alerts' group: their edges are in stack-alerts.promtool.test.ts. */
const STACK_GROUP = 'chat-monitoring.stack';

// ---- stated: the alerting design (multi-window, multi-burn-rate SLO alerts; the runbooks in the README) ----
const FOR_S = {
  ChatServiceErrorBudgetBurnFast: 2 * 60,
  ChatServiceErrorBudgetBurnSlow: 15 * 60,
  ChatServiceErrorBudgetBurnDaily: 60 * 60,
  ChatServiceErrorBudgetBurnChronic: 3 * 60 * 60,
  ChatServiceLatencyBudgetBurnFast: 2 * 60,
  ChatServiceLatencyBudgetBurnSlow: 15 * 60,
  ChatServiceLatencyBudgetBurnDaily: 60 * 60,
  ChatServiceLatencyBudgetBurnChronic: 3 * 60 * 60,
  ChatServiceLatencyP99High: 10 * 60,
  ChatServiceMetricsAbsent: 10 * 60,
  ChatServiceWebSocketConnectionsZero: 5 * 60,
  OtelCollectorDown: 5 * 60,
  ScrapeTargetDown: 5 * 60,
  ChatServiceSampleLimitExceeded: 2 * 60,
  Watchdog: 0,
} as const;
type AlertName = keyof typeof FOR_S;
const SEVERITY: Record<AlertName, string> = {
  ChatServiceErrorBudgetBurnFast: 'critical', ChatServiceErrorBudgetBurnSlow: 'critical',
  ChatServiceErrorBudgetBurnDaily: 'ticket', ChatServiceErrorBudgetBurnChronic: 'ticket',
  ChatServiceLatencyBudgetBurnFast: 'critical', ChatServiceLatencyBudgetBurnSlow: 'critical',
  ChatServiceLatencyBudgetBurnDaily: 'ticket', ChatServiceLatencyBudgetBurnChronic: 'ticket',
  ChatServiceLatencyP99High: 'warning',
  ChatServiceMetricsAbsent: 'warning', ChatServiceWebSocketConnectionsZero: 'warning', OtelCollectorDown: 'critical', ScrapeTargetDown: 'warning',
  ChatServiceSampleLimitExceeded: 'critical',
  Watchdog: 'none',
};
/**
 * The burn-rate tiers of a 30-day budget (SRE workbook): 2 % of it spent in 1 hour or 5 % in 6
 * hours page; 10 % in a day or in three days is a ticket. Page tiers need `slo.pageMinRequests`
 * requests in each window.
 */
const TIERS = [
  { availability: 'ChatServiceErrorBudgetBurnFast', latency: 'ChatServiceLatencyBudgetBurnFast', factor: 14.4, long: 3600, short: 300, page: true },
  { availability: 'ChatServiceErrorBudgetBurnSlow', latency: 'ChatServiceLatencyBudgetBurnSlow', factor: 6, long: 6 * 3600, short: 1800, page: true },
  { availability: 'ChatServiceErrorBudgetBurnDaily', latency: 'ChatServiceLatencyBudgetBurnDaily', factor: 3, long: 86400, short: 7200, page: false },
  { availability: 'ChatServiceErrorBudgetBurnChronic', latency: 'ChatServiceLatencyBudgetBurnChronic', factor: 1, long: 3 * 86400, short: 6 * 3600, page: false },
] as const;
/** "Just": 0.1 % of the threshold either side. */
const EDGE = 0.001;

// ---- the contract, literally ----
const COUNT = 'http_server_duration_milliseconds_count';
const BUCKET = 'http_server_duration_milliseconds_bucket';
const BUCKETS_MS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
const WEBSOCKET = 'websocket_hub_active_connections';
const podLabels = (service: string, pod = `${service}-0`) =>
  `service="${service}",namespace="chat",pod="${pod}",job="${service}",instance="${pod}"`;

interface InputSeries { series: string; values: string }
/** A counter starting at 0 and growing by `perStep` every sample, for `steps` samples. */
const counter = (perStep: number, steps: number) => `0+${perStep}x${steps}`;
const constant = (v: number, steps: number) => `${v}x${steps}`;
const stepsFor = (seconds: number) => Math.ceil(seconds / STEP) + 4;
const at = (seconds: number) => `${seconds}s`;

/** Requests of one status: `perStep` a sample. */
const requests = (service: string, status: number, perStep: number, steps: number): InputSeries =>
  ({ series: `${COUNT}{${podLabels(service)},http_status_code="${status}",http_method="GET",http_target="/route"}`, values: counter(perStep, steps) });

/** `total` requests a sample, `ratio` of them 5xx (both counters proportional, so every window sees exactly `ratio`). */
function errorRatio(service: string, ratio: number, steps: number, total = 1_000_000): { series: InputSeries[]; actual: number } {
  const errors = total * ratio;
  return { series: [requests(service, 200, total - errors, steps), requests(service, 500, errors, steps)], actual: errors / total };
}

/**
 * `total` requests a sample, `ratio` of them slower than `thresholdMs`: the bucket whose bound is
 * the threshold counts the rest (every other bucket at or above it counts all, below it none).
 */
function slowRatio(service: string, thresholdMs: number, ratio: number, steps: number, total = 1_000_000): { series: InputSeries[]; actual: number } {
  const within = total * (1 - ratio);
  const labels = `${podLabels(service)},http_status_code="200",http_method="GET",http_target="/route"`;
  const cumulative = (le: number) => (le < thresholdMs ? 0 : le === thresholdMs ? within : total);
  return {
    series: [
      ...BUCKETS_MS.map((le) => ({ series: `${BUCKET}{${labels},le="${le}"}`, values: counter(cumulative(le), steps) })),
      { series: `${BUCKET}{${labels},le="+Inf"}`, values: counter(total, steps) },
      { series: `${COUNT}{${labels}}`, values: counter(total, steps) },
    ],
    actual: (total - within) / total,
  };
}

/**
 * A latency distribution whose p99, as histogram_quantile interpolates it in the contract's
 * buckets, is `targetMs`: 1 % of requests in the bucket holding the target, the share above it
 * placed beyond the last bucket, the rest at the bucket's lower bound.
 */
function latencyP99(service: string, targetMs: number, steps: number): { series: InputSeries[]; actualMs: number } {
  const n = 1_000_000;
  const i = BUCKETS_MS.findIndex((b) => b >= targetMs);
  const [lo, hi] = [BUCKETS_MS[i - 1], BUCKETS_MS[i]];
  const inBucket = n / 100;
  const above = Math.round(inBucket * (targetMs - lo) / (hi - lo));
  const below = n - inBucket - above;
  const labels = `${podLabels(service)},http_status_code="200",http_method="GET",http_target="/route"`;
  const cumulative = (le: number) => (le >= lo ? below : 0) + (le >= hi ? inBucket : 0);
  return {
    series: [
      ...BUCKETS_MS.map((le) => ({ series: `${BUCKET}{${labels},le="${le}"}`, values: counter(cumulative(le), steps) })),
      { series: `${BUCKET}{${labels},le="+Inf"}`, values: counter(n, steps) },
      { series: `${COUNT}{${labels}}`, values: counter(n, steps) },
    ],
    actualMs: lo + (hi - lo) * (0.99 * n - below) / inBucket,
  };
}

const up = (labels: string, value: number, steps: number): InputSeries => ({ series: `up{${labels}}`, values: constant(value, steps) });
/** The collector's targets: its exporter and its self-metrics endpoint (up or down together: one process). */
const COLLECTOR_UP = [`endpoint="prom-exporter",instance="10.244.0.12:9464"`, `endpoint="metrics",instance="10.244.0.12:8888"`]
  .map((e) => `job="otel-collector",namespace="${config.namespace}",service="otel-collector",pod="otel-collector-0",container="otel-collector",${e}`);
const TARGET_UP = 'job="chat-presence",namespace="presence",instance="10.244.0.20:8000"';

/** `alerts`: the label sets (besides alertname) expected to fire; none when silent. */
interface Check { name: string; series: InputSeries[]; at: string; firing: boolean; labels: Record<string, string>[] }
interface Edges { file: string; alert: AlertName; checks: Check[] }

/** A condition on a push service's recorded series is seen its rules' offset later (push-timing.ts). */
const OFFSET_S = (service: string) => ruleOffsetSeconds(config.services.find((s) => s.name === service)!.exportMode, STEP);

/**
 * A rate needs two samples, so a condition on a rate is first true one step after its series
 * start; one on a raw series (absent, up) at the first evaluation. Read through a recorded series
 * of a push service, it is true at the first evaluation `OFFSET_S` after that. The alert fires at
 * the first evaluation at least `for` after that.
 */
function timing(alert: AlertName, onRate: boolean, recordedOf?: string) {
  const raw = onRate ? STEP : 0;
  const activeAt = recordedOf ? Math.ceil((raw + OFFSET_S(recordedOf)) / STEP) * STEP : raw;
  const firesAt = activeAt + Math.ceil(FOR_S[alert] / STEP) * STEP;
  return { justBefore: firesAt - STEP, justAfter: firesAt, settled: firesAt + 2 * STEP };
}

function edges(): Edges[] {
  const auth = config.services.find((s) => s.name === 'chat-auth')!;
  const transport = config.services.find((s) => s.websocketGauge)!;
  const p99Ms = auth.slo.p99LatencySeconds * 1000;
  const svc = (alert: AlertName, service: string) => ({ severity: SEVERITY[alert], service });

  const burn = (tier: typeof TIERS[number], sli: 'availability' | 'latency'): Edges => {
    const alert = tier[sli];
    const budget = 1 - (sli === 'availability' ? auth.slo.availabilityPercent : auth.slo.latencyPercent) / 100;
    const thresholdMs = auth.slo.latencyThresholdSeconds * 1000;
    const bad = (ratio: number, total?: number) => (sli === 'availability'
      ? errorRatio('chat-auth', ratio, steps, total) : slowRatio('chat-auth', thresholdMs, ratio, steps, total));
    const threshold = tier.factor * budget;
    const t = timing(alert, true, 'chat-auth');
    const steps = stepsFor(t.settled);
    const below = bad(threshold * (1 - EDGE));
    const above = bad(threshold * (1 + EDGE));
    expect([below.actual < threshold, above.actual > threshold]).toEqual([true, true]);
    const clear = bad(Math.min(threshold * 2, 1)).series;
    const checks: Check[] = [
      { name: `just below ${tier.factor} x the budget (${below.actual})`, series: below.series, at: at(t.settled), firing: false, labels: [] },
      { name: `just above ${tier.factor} x the budget (${above.actual})`, series: above.series, at: at(t.settled), firing: true, labels: [svc(alert, 'chat-auth')] },
      { name: 'just before its for elapses', series: clear, at: at(t.justBefore), firing: false, labels: [] },
      { name: 'just after its for elapses', series: clear, at: at(t.justAfter), firing: true, labels: [svc(alert, 'chat-auth')] },
    ];
    if (tier.page) {
      // Requests per sample that put pageMinRequests in the short window (the smaller count of the two).
      const min = auth.slo.pageMinRequests;
      const perSample = (requests: number) => requests * STEP / tier.short;
      // A counter's first minute reads low in a 1m rate (nothing before it to extrapolate from), so
      // the count is exact once the short window has left that minute behind; then `for` runs.
      const late = t.justAfter - STEP - FOR_S[alert]; // how much later than the raw series the recorded one says so
      const guardAt = at(tier.short + 60 + STEP + late + FOR_S[alert] + 2 * STEP);
      const guardSteps = stepsFor(tier.short + 60 + late + FOR_S[alert] + 4 * STEP);
      const guarded = (requests: number) => (sli === 'availability'
        ? errorRatio('chat-auth', Math.min(threshold * 2, 1), guardSteps, perSample(requests))
        : slowRatio('chat-auth', thresholdMs, Math.min(threshold * 2, 1), guardSteps, perSample(requests))).series;
      checks.push(
        { name: `burning, ${min * (1 - EDGE)} requests in ${tier.short} s (just below the page minimum)`, series: guarded(min * (1 - EDGE)), at: guardAt, firing: false, labels: [] },
        { name: `burning, ${min * (1 + EDGE)} requests in ${tier.short} s (just above the page minimum)`, series: guarded(min * (1 + EDGE)), at: guardAt, firing: true, labels: [svc(alert, 'chat-auth')] },
      );
    }
    return { file: 'chat-auth', alert, checks };
  };

  const latency = (): Edges => {
    const alert = 'ChatServiceLatencyP99High';
    const t = timing(alert, true, 'chat-auth');
    const steps = stepsFor(t.settled);
    const below = latencyP99('chat-auth', p99Ms * (1 - EDGE), steps);
    const above = latencyP99('chat-auth', p99Ms * (1 + EDGE), steps);
    expect([below.actualMs < p99Ms, above.actualMs > p99Ms]).toEqual([true, true]);
    const clear = latencyP99('chat-auth', p99Ms * 2, steps).series;
    return {
      file: 'chat-auth', alert,
      checks: [
        { name: `p99 just below ${p99Ms} ms (${below.actualMs.toFixed(2)} ms)`, series: below.series, at: at(t.settled), firing: false, labels: [] },
        { name: `p99 just above ${p99Ms} ms (${above.actualMs.toFixed(2)} ms)`, series: above.series, at: at(t.settled), firing: true, labels: [svc(alert, 'chat-auth')] },
        { name: 'just before its for elapses', series: clear, at: at(t.justBefore), firing: false, labels: [] },
        { name: 'just after its for elapses', series: clear, at: at(t.justAfter), firing: true, labels: [svc(alert, 'chat-auth')] },
      ],
    };
  };

  const absent = (): Edges => {
    const alert = 'ChatServiceMetricsAbsent';
    const t = timing(alert, false);
    const steps = stepsFor(t.settled);
    const onlyOthers = [requests('chat-messaging', 200, 600, steps)];
    return {
      file: 'chat-auth', alert,
      checks: [
        // The edge of absence: one series of the service, however small, is presence.
        { name: 'one request counter of the service', series: [...onlyOthers, requests('chat-auth', 200, 1, steps)], at: at(t.settled), firing: false, labels: [] },
        { name: 'no series of the service', series: onlyOthers, at: at(t.settled), firing: true, labels: [svc(alert, 'chat-auth')] },
        { name: 'just before its for elapses', series: onlyOthers, at: at(t.justBefore), firing: false, labels: [] },
        { name: 'just after its for elapses', series: onlyOthers, at: at(t.justAfter), firing: true, labels: [svc(alert, 'chat-auth')] },
      ],
    };
  };

  const websocket = (): Edges => {
    const alert = 'ChatServiceWebSocketConnectionsZero';
    // Its condition reads the pod count, recorded from the first sample of the HTTP counters.
    const t = timing(alert, false, transport.name);
    const steps = stepsFor(t.settled);
    const s = transport.name;
    const gauge = (pod: string, v: number): InputSeries => ({ series: `${WEBSOCKET}{${podLabels(s, pod)}}`, values: constant(v, steps) });
    const httpOf = (pod: string, perStep: number): InputSeries =>
      ({ series: `${COUNT}{${podLabels(s, pod)},http_status_code="200",http_method="GET",http_target="/route"}`, values: counter(perStep, steps) });
    const pods = [httpOf(`${s}-a`, 600), httpOf(`${s}-b`, 600)];
    // What a deploy where every upgrade fails leaves: the SDK exports no series for a gauge never added to.
    const neverConnected = pods;
    return {
      file: s, alert,
      checks: [
        { name: 'one connection left (just above zero)', series: [...pods, gauge(`${s}-a`, 0), gauge(`${s}-b`, 1)], at: at(t.settled), firing: false, labels: [] },
        { name: 'zero connections on every pod', series: [...pods, gauge(`${s}-a`, 0), gauge(`${s}-b`, 0)], at: at(t.settled), firing: true, labels: [svc(alert, s)] },
        { name: 'pods up, gauge never reported', series: neverConnected, at: at(t.settled), firing: true, labels: [svc(alert, s)] },
        { name: 'pods up, gauge never reported, no HTTP requests either', series: [httpOf(`${s}-a`, 0)], at: at(t.settled), firing: true, labels: [svc(alert, s)] },
        { name: 'no pod reports (the service is gone: ChatServiceMetricsAbsent)', series: [requests('chat-messaging', 200, 600, steps)], at: at(t.settled), firing: false, labels: [] },
        { name: 'just before its for elapses', series: neverConnected, at: at(t.justBefore), firing: false, labels: [] },
        { name: 'just after its for elapses', series: neverConnected, at: at(t.justAfter), firing: true, labels: [svc(alert, s)] },
      ],
    };
  };

  const targetDown = (alert: 'OtelCollectorDown' | 'ScrapeTargetDown', targets: string[], firingLabels: Record<string, string>[]): Edges => {
    const t = timing(alert, false);
    const steps = stepsFor(t.settled);
    const prometheusUp = up('job="prometheus",namespace="monitoring",instance="10.244.0.9:9090"', 1, steps);
    const down = [...targets.map((l) => up(l, 0, steps)), prometheusUp];
    return {
      file: 'chat-monitoring-platform', alert,
      checks: [
        { name: 'the target up', series: [...targets.map((l) => up(l, 1, steps)), prometheusUp], at: at(t.settled), firing: false, labels: [] },
        { name: 'the target down', series: down, at: at(t.settled), firing: true, labels: firingLabels },
        { name: 'just before its for elapses', series: down, at: at(t.justBefore), firing: false, labels: [] },
        { name: 'just after its for elapses', series: down, at: at(t.justAfter), firing: true, labels: firingLabels },
      ],
    };
  };

  const sampleLimit = (): Edges => {
    const alert = 'ChatServiceSampleLimitExceeded';
    const t = timing(alert, false);
    const steps = stepsFor(t.settled);
    const limit = auth.sampleLimit; // the service's ServiceMonitor sampleLimit, from the config
    // What Prometheus records for the service's scrape of the collector: the samples it returned.
    const samples = (n: number): InputSeries[] => [{
      series: `scrape_samples_post_metric_relabeling{job="chat-auth",service="chat-auth",namespace="${config.namespace}",instance="10.244.0.12:9464"}`,
      values: constant(n, steps),
    }];
    return {
      file: 'chat-auth', alert,
      checks: [
        { name: `exactly the limit (${limit})`, series: samples(limit), at: at(t.settled), firing: false, labels: [] },
        { name: `one sample above the limit (${limit + 1})`, series: samples(limit + 1), at: at(t.settled), firing: true, labels: [svc(alert, 'chat-auth')] },
        { name: 'just before its for elapses', series: samples(limit + 1), at: at(t.justBefore), firing: false, labels: [] },
        { name: 'just after its for elapses', series: samples(limit + 1), at: at(t.justAfter), firing: true, labels: [svc(alert, 'chat-auth')] },
      ],
    };
  };

  // Always firing, from the first evaluation on, whatever the series: its silence is the news, told by an outside switch.
  const watchdog = (): Edges => {
    const alert = 'Watchdog';
    const firing = [{ severity: SEVERITY[alert] }];
    const steps = stepsFor(3600);
    const everythingDown = [up('job="prometheus",namespace="monitoring",instance="10.244.0.9:9090"', 0, steps), ...COLLECTOR_UP.map((l) => up(l, 0, steps))];
    return {
      file: 'chat-monitoring-platform', alert,
      checks: [
        { name: 'no series at all, the first evaluation', series: [], at: at(0), firing: true, labels: firing },
        { name: 'every target down', series: everythingDown, at: at(15 * 60), firing: true, labels: firing },
        { name: 'no series at all, an hour on', series: [], at: at(3600), firing: true, labels: firing },
      ],
    };
  };

  return [
    watchdog(),
    sampleLimit(),
    ...TIERS.flatMap((tier) => [burn(tier, 'availability'), burn(tier, 'latency')]),
    latency(),
    absent(),
    websocket(),
    targetDown('OtelCollectorDown', COLLECTOR_UP, [{ severity: SEVERITY.OtelCollectorDown }]),
    targetDown('ScrapeTargetDown', [TARGET_UP], [{ severity: SEVERITY.ScrapeTargetDown, job: 'chat-presence', namespace: 'presence', instance: '10.244.0.20:8000' }]),
  ];
}

describeWithPrometheus('alerts at their edges (promtool test rules)', () => {
  let dir: string;
  const cases = edges();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chat-monitoring-edges-'));
    for (const o of RULES) {
      // Annotations off: promtool would compare them too, and they are checked elsewhere.
      const groups = o.spec.groups.map((g: { rules: Record<string, unknown>[] }) => ({
        ...g, rules: g.rules.map(({ annotations: _annotations, ...r }) => r), // eslint-disable-line @typescript-eslint/no-unused-vars
      }));
      writeFileSync(join(dir, `${o.metadata.name}.yaml`), stringify({ groups }));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('covers every alert in dist/ (the stack\'s own: stack-alerts.promtool.test.ts), at the evaluation interval the chart configures', () => {
    const alerts = [...new Set(RULES.flatMap((o) => o.spec.groups.filter((g: { name: string }) => g.name !== STACK_GROUP)
      .flatMap((g: { rules: { alert?: string }[] }) => g.rules.map((r) => r.alert)).filter(Boolean)))].sort();
    expect(alerts).toEqual(cases.map((c) => c.alert).sort());
    for (const o of RULES) for (const g of o.spec.groups) expect(g.interval).toBeUndefined(); // so the Prometheus CR's evaluationInterval applies
  });

  const run = (name: string, file: string, alert: string, checks: Check[]) => {
    const path = join(dir, `${name}.test.yaml`);
    writeFileSync(path, stringify({
      rule_files: [`${file}.yaml`],
      evaluation_interval: config.scrapeInterval,
      // Recording rules before the alerts that read them, as the PrometheusRule lists them
      // (promtool's default order is a map's, random: an alert would start one step late at random).
      group_eval_order: RULES.find((o) => o.metadata.name === file)!.spec.groups.map((g: { name: string }) => g.name),
      tests: checks.map((c) => ({
        name: c.name,
        interval: config.scrapeInterval,
        input_series: c.series,
        alert_rule_test: [{ eval_time: c.at, alertname: alert, exp_alerts: c.labels.map((l) => ({ exp_labels: l })) }],
      })),
    }));
    const r = promtool(['test', 'rules', path], { cwd: dir });
    return { ok: r.status === 0, output: r.output };
  };

  it.each(cases.map((c) => [c.alert, c] as const))('%s: silent just below and just before, firing just above and just after', (_alert, c) => {
    const r = run(c.alert, c.file, c.alert, c.checks);
    expect(r.output).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });

  it.each(cases.map((c) => [c.alert, c] as const))('%s: each edge is sharp (the opposite expectation fails)', (_alert, c) => {
    // Swapping each check's expectation must fail every one of them, one promtool test each.
    const swapped = c.checks.map((k) => ({ ...k, firing: !k.firing, labels: k.firing ? [] : [{ severity: SEVERITY[c.alert] }] }));
    const r = run(`${c.alert}-swapped`, c.file, c.alert, swapped);
    expect(r.ok).toBe(false);
    for (const k of c.checks) expect(r.output).toContain(k.name);
  });
});
