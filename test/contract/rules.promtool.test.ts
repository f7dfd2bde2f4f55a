/**
 * The chart's PrometheusRules (dist/50-rules.k8s.yaml, as `npm run synth` wrote them) checked and
 * unit-tested with promtool: every rule file passes `promtool check rules`, every alert fires on
 * the failure it is for and stays silent on healthy input, and the recording rules turn known
 * series into the right numbers and units.
 *
 * Input series are written literally from the metric contract
 * (docs/chat-services-metrics.md) and the labels the collector puts on every
 * series (service, namespace, pod; job and instance from service.name and service.instance.id):
 * nothing about names comes from lib/. Only alert names, thresholds and `for` durations are read
 * from the generated rules, so the inputs cross the thresholds the chart actually configured.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';
import { durationSeconds } from '../../lib/config';
import { ALERT_NAMES } from '../../lib/rules/alert-catalog';
import { defaultConfig, K8sObject, readDist } from '../support/manifests';
import { describeWithPrometheus, promtool } from '../support/prometheus';

// ---- the contract, literally ----
const COUNT = 'http_server_duration_milliseconds_count';
const BUCKET = 'http_server_duration_milliseconds_bucket';
const BUCKETS_MS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
const WEBSOCKET = 'websocket_hub_active_connections';

/** Labels every series of a chat pod carries after the collector (see test/support/collector-stand-in.ts). */
const podLabels = (service: string, pod: string) =>
  `service="${service}",namespace="chat",pod="${pod}",job="${service}",instance="${pod}",otel_scope_name="opentelemetry.instrumentation.fastapi"`;

interface InputSeries { series: string; values: string }

/**
 * Input series are sampled at the chart's scrape interval, as Prometheus stores them. Prometheus 3
 * selects range windows left-open, (t - 1m, t]: with one sample a minute a 1m window holds one
 * sample and rate() over it is empty, so minute-spaced inputs (fine on 2.x) prove nothing on 3.x.
 */
const STEP_SECONDS = durationSeconds(defaultConfig().scrapeInterval);
const STEPS_PER_MINUTE = 60 / STEP_SECONDS;
const INTERVAL = `${STEP_SECONDS}s`;

/** A counter growing by `perMinute[i]` a minute for `minutes[i]` minutes, segment after segment. */
function counterValues(segments: readonly [perMinute: number, minutes: number][]): string {
  let value = 0;
  const parts = ['0'];
  for (const [perMinute, minutes] of segments) {
    const perStep = perMinute / STEPS_PER_MINUTE;
    parts.push(`${value + perStep}+${perStep}x${minutes * STEPS_PER_MINUTE - 1}`);
    value += perMinute * minutes;
  }
  return parts.join(' ');
}

/** A gauge holding `value` for `minutes` minutes. */
const steady = (value: number, minutes: number) => `${value}x${minutes * STEPS_PER_MINUTE}`;

/** Requests of one status: the legacy histogram's _count series, plus its buckets when `latencyMs` is given. */
function requests(service: string, status: number, segments: readonly [number, number][], latencyMs?: number, pod = `${service}-0`): InputSeries[] {
  const labels = `${podLabels(service, pod)},http_method="GET",http_scheme="http",http_flavor="1.1",http_server_name="${service}:8000",http_status_code="${status}",http_target="/route"`;
  const out: InputSeries[] = [{ series: `${COUNT}{${labels}}`, values: counterValues(segments) }];
  if (latencyMs !== undefined) {
    for (const le of [...BUCKETS_MS.map(String), '+Inf']) {
      const inBucket = le === '+Inf' || latencyMs <= Number(le);
      out.push({ series: `${BUCKET}{${labels},le="${le}"}`, values: counterValues(segments.map(([n, m]) => [inBucket ? n : 0, m])) });
    }
  }
  return out;
}

const gauge = (name: string, labels: string, values: string): InputSeries => ({ series: `${name}{${labels}}`, values });

// ---- the generated rules ----
interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface Group { name: string; rules: Rule[] }

const RULES: K8sObject[] = readDist('dist').flatMap((f) => f.objects).filter((o) => o.kind === 'PrometheusRule');
const groupsOf = (name: string): Group[] => {
  const o = RULES.find((r) => r.metadata.name === name);
  if (!o) throw new Error(`no PrometheusRule ${name} in dist/`);
  return o.spec.groups as Group[];
};
const alertRule = (file: string, alert: string): Rule => {
  const r = groupsOf(file).flatMap((g) => g.rules).find((x) => x.alert === alert);
  if (!r) throw new Error(`no alert ${alert} in ${file}`);
  return r;
};
/** The number an alert compares against (`... > 0.072`); the first one when several. */
const threshold = (r: Rule): number => {
  const m = /> ([0-9.e+-]+)/.exec(r.expr);
  if (!m) throw new Error(`no threshold in ${r.expr}`);
  return Number(m[1]);
};
const minutes = (d: string | undefined): number => {
  const m = /^(\d+)([smh])$/.exec(d ?? '0s');
  if (!m) throw new Error(`duration ${d}`);
  return Number(m[1]) * ({ s: 1 / 60, m: 1, h: 60 } as Record<string, number>)[m[2]];
};

interface AlertCase {
  readonly file: string;
  readonly alert: string;
  /** Input where the alert must fire, with the labels it must fire with, and when to look. */
  readonly firing: { series: InputSeries[]; at: string; labels: Record<string, string>[] }[];
  /** Inputs where it must stay silent. */
  readonly silent: { name: string; series: InputSeries[]; at: string }[];
}

/** The SLO settings dist/ was synthesized with (availability and latency objectives, the page minimum). */
const SLO = defaultConfig().services.find((x) => x.name === 'chat-auth')!.slo;
const BUDGET = { availability: 1 - SLO.availabilityPercent / 100, latency: 1 - SLO.latencyPercent / 100 };
const BURN_ALERTS = {
  availability: ['ChatServiceErrorBudgetBurnFast', 'ChatServiceErrorBudgetBurnSlow', 'ChatServiceErrorBudgetBurnDaily', 'ChatServiceErrorBudgetBurnChronic'],
  latency: ['ChatServiceLatencyBudgetBurnFast', 'ChatServiceLatencyBudgetBurnSlow', 'ChatServiceLatencyBudgetBurnDaily', 'ChatServiceLatencyBudgetBurnChronic'],
} as const;

/**
 * `perMinute` requests a minute for `mins` minutes, `share` of them bad for the SLI: 5xx
 * (availability), or slower than the latency threshold (latency: 750 ms against 500 ms; the rest
 * at 20 ms). Bad and good requests come from two pods, so each has its own series.
 */
function burning(sli: 'availability' | 'latency', share: number, mins: number, perMinute = 1000, tail: [number, number][] = []): InputSeries[] {
  const bad = perMinute * share;
  const slowMs = BUCKETS_MS.find((b) => b > SLO.latencyThresholdSeconds * 1000)!;
  const good = requests('chat-auth', 200, [[perMinute - bad, mins], ...tail.map(([b, m]): [number, number] => [perMinute - b, m])], 20, 'chat-auth-0');
  return [...good, ...requests('chat-auth', sli === 'availability' ? 500 : 200, [[bad, mins], ...tail], sli === 'availability' ? 20 : slowMs, 'chat-auth-1')];
}

function alertCases(): AlertCase[] {
  const p99 = alertRule('chat-auth', 'ChatServiceLatencyP99High');
  const absent = alertRule('chat-auth', 'ChatServiceMetricsAbsent');
  const ws = alertRule('chat-transport', 'ChatServiceWebSocketConnectionsZero');
  const limit = alertRule('chat-auth', 'ChatServiceSampleLimitExceeded');
  // A failed scrape of chat-auth's target still reports how many samples it returned.
  const scraped = (n: number) => [
    gauge('scrape_samples_post_metric_relabeling', 'job="chat-auth",service="chat-auth",namespace="monitoring",endpoint="prom-exporter",instance="10.244.0.12:9464"', steady(n, 15)),
    gauge('up', 'job="chat-auth",service="chat-auth",namespace="monitoring",endpoint="prom-exporter",instance="10.244.0.12:9464"', steady(n > threshold(limit) ? 0 : 1, 15)),
  ];
  const auth = { service: 'chat-auth' };

  // Budget burns: 1,000 requests a minute with twice (firing) or half (healthy) the tier's share of
  // bad requests, the tier's factor (the first threshold of its rule) times the SLI's budget.
  const burnCases: AlertCase[] = (['availability', 'latency'] as const).flatMap((sli) => BURN_ALERTS[sli].map((name, tier): AlertCase => {
    const rule = alertRule('chat-auth', name);
    const share = threshold(rule) * BUDGET[sli];
    const mins = minutes(rule.for) + 5;
    const silent = [{ name: 'healthy: half the threshold', series: burning(sli, share / 2, mins), at: `${mins}m` }];
    if (tier === 0) {
      // 60 minutes of burning, then 15 clean ones: the 1h window still burns, the 5m window does not.
      silent.push({ name: 'recovered: only the long window burns', series: burning(sli, Math.min(share * 2, 1), 60, 1000, [[0, 30]]), at: '75m' });
    }
    if (tier < 2) {
      // A quiet night: every other request bad, far fewer than pageMinRequests in the short window.
      silent.push({ name: 'quiet: burning on a handful of requests', series: burning(sli, 0.5, mins, 2), at: `${mins}m` });
    }
    return { file: 'chat-auth', alert: name, firing: [{ series: burning(sli, Math.min(share * 2, 1), mins), at: `${mins}m`, labels: [{ ...rule.labels }] }], silent };
  }));

  // p99: every request at one latency; its bucket decides the p99 (ms in the series, seconds in the rule).
  const p99T = threshold(p99) * 1000;
  const slowMs = BUCKETS_MS.find((b) => b > p99T * 2)!; // whole bucket above the threshold
  const fastMs = BUCKETS_MS.filter((b) => b < p99T / 5).pop()!; // whole bucket below it, even if read as seconds
  const latency = (ms: number) => requests('chat-auth', 200, [[600, 30]], ms);
  const p99At = `${minutes(p99.for) + 5}m`;

  const transport = (pod: string) => podLabels('chat-transport', pod);
  const wsAt = `${minutes(ws.for) + 5}m`;
  const flat = (n: number) => steady(n, 30);

  return [
    ...burnCases,
    {
      file: 'chat-auth', alert: 'ChatServiceLatencyP99High',
      firing: [{ series: latency(slowMs), at: p99At, labels: [{ ...p99.labels }] }],
      silent: [{ name: `healthy: every request at ${fastMs} ms`, series: latency(fastMs), at: p99At }],
    },
    {
      file: 'chat-auth', alert: 'ChatServiceMetricsAbsent',
      // Only another service reports: chat-auth's counter is absent.
      firing: [{ series: requests('chat-messaging', 200, [[600, 30]]), at: `${minutes(absent.for) + 5}m`, labels: [{ ...absent.labels, ...auth }] }],
      silent: [{ name: 'healthy: chat-auth reports', series: requests('chat-auth', 200, [[600, 30]]), at: `${minutes(absent.for) + 5}m` }],
    },
    {
      file: 'chat-transport', alert: 'ChatServiceWebSocketConnectionsZero',
      firing: [
        // Every upgrade failed since the deploy: the SDK exported no gauge at all.
        { series: requests('chat-transport', 200, [[600, 30]], undefined, 'chat-transport-a'), at: wsAt, labels: [{ ...ws.labels }] },
        {
          series: [
            ...requests('chat-transport', 200, [[600, 30]], undefined, 'chat-transport-a'),
            gauge(WEBSOCKET, transport('chat-transport-a'), flat(0)), gauge(WEBSOCKET, transport('chat-transport-b'), flat(0)),
          ],
          at: wsAt, labels: [{ ...ws.labels }],
        },
      ],
      silent: [
        {
          name: 'healthy: one pod of two holds connections',
          series: [
            ...requests('chat-transport', 200, [[600, 30]], undefined, 'chat-transport-a'),
            gauge(WEBSOCKET, transport('chat-transport-a'), flat(0)), gauge(WEBSOCKET, transport('chat-transport-b'), flat(3)),
          ],
          at: wsAt,
        },
        { name: 'gone: no pod of the service reports', series: requests('chat-messaging', 200, [[600, 30]]), at: wsAt },
      ],
    },
    {
      file: 'chat-auth', alert: 'ChatServiceSampleLimitExceeded',
      firing: [{ series: scraped(threshold(limit) + 1), at: `${minutes(limit.for) + 5}m`, labels: [{ ...limit.labels }] }],
      silent: [{ name: 'healthy: exactly at the limit', series: scraped(threshold(limit)), at: `${minutes(limit.for) + 5}m` }],
    },
    {
      file: 'chat-monitoring-platform', alert: 'OtelCollectorDown',
      firing: [
        // The collector's own target fails while Prometheus itself is fine.
        {
          series: [
            gauge('up', 'job="otel-collector",namespace="monitoring",service="otel-collector",pod="otel-collector-7f9c-x",container="otel-collector",endpoint="metrics",instance="10.244.0.12:8888"', steady(0, 15)),
            gauge('up', 'job="prometheus",namespace="monitoring",instance="10.244.0.9:9090"', steady(1, 15)),
          ],
          at: '10m', labels: [{ ...alertRule('chat-monitoring-platform', 'OtelCollectorDown').labels }],
        },
        // No collector target at all (its Service or ServiceMonitor is gone).
        { series: [gauge('up', 'job="prometheus",namespace="monitoring",instance="10.244.0.9:9090"', steady(1, 15))], at: '10m', labels: [{ ...alertRule('chat-monitoring-platform', 'OtelCollectorDown').labels }] },
      ],
      silent: [{
        // One service's exporter target failing is that service's ScrapeTargetDown, not a collector outage.
        name: 'healthy: the collector is up, one service target down',
        series: [
          gauge('up', 'job="otel-collector",namespace="monitoring",endpoint="metrics",instance="10.244.0.12:8888"', steady(1, 15)),
          gauge('up', 'job="chat-auth",service="chat-auth",namespace="monitoring",endpoint="prom-exporter",instance="10.244.0.12:9464"', steady(0, 15)),
        ],
        at: '10m',
      }],
    },
    {
      file: 'chat-monitoring-platform', alert: 'ScrapeTargetDown',
      firing: [{
        series: [gauge('up', 'job="chat-auth-pull",namespace="chat",instance="10.244.0.20:8000"', steady(0, 15)), gauge('up', 'job="prometheus",namespace="monitoring",instance="10.244.0.9:9090"', steady(1, 15))],
        at: '10m',
        labels: [{ ...alertRule('chat-monitoring-platform', 'ScrapeTargetDown').labels, job: 'chat-auth-pull', namespace: 'chat', instance: '10.244.0.20:8000' }],
      }],
      silent: [{ name: 'healthy: every target up', series: [gauge('up', 'job="chat-auth-pull",namespace="chat",instance="10.244.0.20:8000"', steady(1, 15))], at: '10m' }],
    },
  ];
}

/** Rule file of one PrometheusRule; annotations dropped for unit tests (promtool compares them verbatim, and `check rules` validates their templates). */
function ruleFile(name: string, keepAnnotations: boolean): string {
  const groups = groupsOf(name).map((g) => ({
    ...g,
    rules: g.rules.map((r) => {
      if (keepAnnotations) return r;
      const { annotations, ...rest } = r; // eslint-disable-line @typescript-eslint/no-unused-vars
      return rest;
    }),
  }));
  return stringify({ groups });
}

describeWithPrometheus('rules: promtool check and unit tests', () => {
  let dir: string;
  const promtoolIn = (...args: string[]) => promtool(args, { cwd: dir });
  /** Runs one promtool unit-test file; returns its output when it fails. */
  const unitTest = (name: string, tests: unknown[], files: string[]) => {
    const path = `${name.replace(/[^A-Za-z0-9]+/g, '-')}.test.yaml`;
    writeFileSync(join(dir, path), stringify({ rule_files: files.map((f) => `${f}.unit.yaml`), evaluation_interval: INTERVAL, tests }));
    const r = promtoolIn('test', 'rules', path);
    return { ok: r.status === 0, output: r.output };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chat-monitoring-promtool-'));
    for (const o of RULES) {
      writeFileSync(join(dir, `${o.metadata.name}.yaml`), ruleFile(o.metadata.name, true));
      writeFileSync(join(dir, `${o.metadata.name}.unit.yaml`), ruleFile(o.metadata.name, false));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('promtool check rules passes on every rule file from dist/', () => {
    expect(RULES.map((o) => o.metadata.name).sort()).toEqual([...defaultConfig().services.map((s) => s.name), 'chat-monitoring-platform'].sort());
    const r = promtoolIn('check', 'rules', ...RULES.map((o) => `${o.metadata.name}.yaml`));
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/FAILED/);
    expect(r.status).toBe(0);
    for (const o of RULES) {
      const n = (o.spec.groups as Group[]).reduce((a, g) => a + g.rules.length, 0);
      expect(r.stdout).toContain(`Checking ${o.metadata.name}.yaml\n  SUCCESS: ${n} rules found`);
    }
  });

  it('promtool check rules can fail: a broken rule is rejected', () => {
    writeFileSync(join(dir, 'broken.yaml'), stringify({ groups: [{ name: 'x', rules: [{ record: 'service:x:rate1m', expr: 'sum by (service) (rate(http_server_duration_milliseconds_count[1m])' }] }] }));
    expect(promtoolIn('check', 'rules', 'broken.yaml').status).not.toBe(0);
  });

  const cases = alertCases();

  // The Watchdog has no silent input (it always fires): alert-edges.promtool.test.ts proves it.
  it('every alert in dist/ has a unit test (the stack\'s own group: stack-alerts.promtool.test.ts; the Watchdog: alert-edges)', () => {
    const alerts = [...new Set(RULES.flatMap((o) => (o.spec.groups as Group[]).filter((g) => g.name !== 'chat-monitoring.stack').flatMap((g) => g.rules))
      .filter((r) => r.alert && r.alert !== ALERT_NAMES.watchdog).map((r) => r.alert!))].sort();
    expect(alerts).toEqual([...new Set(cases.map((c) => c.alert))].sort());
  });

  it.each(cases.map((c) => [c.alert, c] as const))('%s fires on its failure and stays silent on healthy input', (_name, c) => {
    const tests = [
      ...c.firing.map((f) => ({ interval: INTERVAL, input_series: f.series, alert_rule_test: [{ eval_time: f.at, alertname: c.alert, exp_alerts: f.labels.map((l) => ({ exp_labels: l })) }] })),
      ...c.silent.map((s) => ({ name: s.name, interval: INTERVAL, input_series: s.series, alert_rule_test: [{ eval_time: s.at, alertname: c.alert, exp_alerts: [] }] })),
    ];
    const r = unitTest(c.alert, tests, [c.file]);
    expect(r.output).toContain('SUCCESS');
    expect(r.ok).toBe(true);

    // The unit tests can fail: expecting the alert on the healthy input must be reported.
    const inverted = c.silent.map((s) => ({ interval: INTERVAL, input_series: s.series, alert_rule_test: [{ eval_time: s.at, alertname: c.alert, exp_alerts: [{ exp_labels: c.firing[0].labels[0] }] }] }));
    expect(unitTest(`${c.alert}-inverted`, inverted, [c.file]).ok).toBe(false);
  });

  it('every alert has a summary, a description and a runbook section in the README', () => {
    const readme = require('fs').readFileSync('README.md', 'utf8') as string; // eslint-disable-line @typescript-eslint/no-require-imports
    for (const r of RULES.flatMap((o) => (o.spec.groups as Group[]).flatMap((g) => g.rules)).filter((x) => x.alert)) {
      expect(r.annotations?.summary).toBeTruthy();
      expect(r.annotations?.description).toBeTruthy();
      expect(r.annotations?.runbook_url).toMatch(new RegExp(`#${r.alert!.toLowerCase()}$`));
      expect(readme).toContain(`#### ${r.alert}\n`);
    }
  });

  it('recording rules turn the contract series into requests/s, ratios and seconds', () => {
    // chat-auth: 540 OK requests a minute at 20 ms, 60 errors (500) at 300 ms; chat-messaging: 600 at 20 ms on two pods, no 5xx.
    const series = [
      ...requests('chat-auth', 200, [[540, 20]], 20),
      ...requests('chat-auth', 500, [[60, 20]], 300),
      ...requests('chat-messaging', 200, [[300, 20]], 20),
      ...requests('chat-messaging', 200, [[300, 20]], 20, 'chat-messaging-1'),
    ];
    const round = (e: string) => `round(${e}, 0.001)`;
    const sample = (service: string, value: number) => ({ labels: `{service="${service}"}`, value });
    const tests = [{
      interval: INTERVAL,
      input_series: series,
      promql_expr_test: [
        { expr: round('service:http_requests:rate1m'), eval_time: '10m', exp_samples: [sample('chat-auth', 10), sample('chat-messaging', 10)] },
        // 6 % 5xx; chat-messaging has traffic and no 5xx: 0, not absent.
        { expr: round('service:http_request_errors:ratio_rate1m'), eval_time: '10m', exp_samples: [sample('chat-auth', 0.1), sample('chat-messaging', 0)] },
        { expr: round('service:http_request_client_errors:ratio_rate1m'), eval_time: '10m', exp_samples: [sample('chat-auth', 0), sample('chat-messaging', 0)] },
        // chat-auth: 90 % at <= 25 ms, the rest in (250, 500] ms: p95 = 250 + 0.5 * 250 ms, p99 = 250 + 0.9 * 250 ms;
        // chat-messaging: all in (10, 25] ms: p95 = 10 + 0.95 * 15 ms, p99 = 10 + 0.99 * 15 ms; in seconds.
        { expr: round('service:http_request_duration_seconds:p95_rate1m'), eval_time: '10m', exp_samples: [sample('chat-auth', 0.375), sample('chat-messaging', 0.024)] },
        { expr: round('service:http_request_duration_seconds:p99_rate1m'), eval_time: '10m', exp_samples: [sample('chat-auth', 0.475), sample('chat-messaging', 0.025)] },
        // The breakdown panels' series: by route (one route here), by status, p95 by route, pods.
        { expr: round('service_route:http_requests:rate1m'), eval_time: '10m',
          exp_samples: ['chat-auth', 'chat-messaging'].map((svc) => ({ labels: `{service="${svc}",http_target="/route"}`, value: 10 })) },
        { expr: round('service_status:http_requests:rate1m'), eval_time: '10m', exp_samples: [
          { labels: '{service="chat-auth",http_status_code="200"}', value: 9 }, { labels: '{service="chat-auth",http_status_code="500"}', value: 1 },
          { labels: '{service="chat-messaging",http_status_code="200"}', value: 10 }] },
        { expr: round('service_route:http_request_duration_seconds:p95_rate1m'), eval_time: '10m', exp_samples: [
          { labels: '{service="chat-auth",http_target="/route"}', value: 0.375 }, { labels: '{service="chat-messaging",http_target="/route"}', value: 0.024 }] },
        { expr: 'round(service:http_server_pods:count)', eval_time: '10m', exp_samples: [sample('chat-auth', 1), sample('chat-messaging', 2)] },
      ],
    }];
    const r = unitTest('recording', tests, ['chat-auth', 'chat-messaging']);
    expect(r.output).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });

  it('SLO rules turn the contract series into burn rates per window and the budget left', () => {
    // chat-auth, 1,000 requests a minute for 20 minutes: 970 OK at 20 ms, 20 OK at 750 ms (slower
    // than the threshold), 10 answered 500 at 20 ms: 1 % bad for availability, 2 % for latency.
    const series = [
      ...requests('chat-auth', 200, [[970, 20]], 20, 'chat-auth-0'),
      ...requests('chat-auth', 200, [[20, 20]], 750, 'chat-auth-1'),
      ...requests('chat-auth', 500, [[10, 20]], 20, 'chat-auth-2'),
    ];
    const burn = { availability: 0.01 / BUDGET.availability, latency: 0.02 / BUDGET.latency };
    const round = (e: string) => `round(${e}, 0.001)`;
    const auth = (value: number) => [{ labels: '{service="chat-auth"}', value: Number(value.toFixed(3)) }];
    const at = '20m';
    const tests = [{
      interval: INTERVAL,
      input_series: series,
      promql_expr_test: [
        { expr: round('service:http_request_errors:rate1m'), eval_time: at, exp_samples: auth(10 / 60) },
        { expr: round('service:http_requests_slow:rate1m'), eval_time: at, exp_samples: auth(20 / 60) },
        // Every window of data so far sees the same shares, so every window burns alike.
        ...['5m', '30m', '1h', '2h', '6h', '1d', '3d'].flatMap((w) => [
          { expr: round(`service:slo_availability_budget_burn:rate${w}`), eval_time: at, exp_samples: auth(burn.availability) },
          { expr: round(`service:slo_latency_budget_burn:rate${w}`), eval_time: at, exp_samples: auth(burn.latency) },
        ]),
        // A whole 5-minute window of steady traffic: 1,000 a minute.
        { expr: round('service:http_requests:rate5m'), eval_time: at, exp_samples: auth(1000 / 60) },
        { expr: round('service:http_request_errors:ratio_rate30d'), eval_time: at, exp_samples: auth(0.01) },
        { expr: round('service:http_requests_slow:ratio_rate30d'), eval_time: at, exp_samples: auth(0.02) },
        // Spending at that pace the budget is overspent: 1 - burn rate.
        { expr: round('service:slo_availability_budget_remaining:ratio_rate30d'), eval_time: at, exp_samples: auth(1 - burn.availability) },
        { expr: round('service:slo_latency_budget_remaining:ratio_rate30d'), eval_time: at, exp_samples: auth(1 - burn.latency) },
      ],
    }];
    const r = unitTest('slo-recording', tests, ['chat-auth']);
    expect(r.output).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });
});
