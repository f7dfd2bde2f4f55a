/**
 * One chat service's cardinality explodes past its sampleLimit: only its scrape fails (its target
 * down, none of its series stored), the other services keep their data, and
 * ChatServiceSampleLimitExceeded fires naming it. Real chat services -> the real collector on the
 * chart's config (k8sattributes stubbed) -> the real Prometheus scraping each service's target
 * as its ServiceMonitor says, evaluating the chart's own alert.
 */
import { stringify } from 'yaml';
import { ChartConfig } from '../../lib/config';
import { ALERT_NAMES } from '../../lib/rules/alert-catalog';
import { CHART_CONFIG } from '../../lib/chart-config';
import { CHAT_SERVICE_ROUTES, ChatService, chatServiceKindFor, describeWithChatService } from '../support/chat-service';
import { chatServiceScrapes } from '../support/chat-service-scrapes';
import { chartCollectorConfig, COLLECTOR_BINARIES, RunningCollector, STUB_POD_ATTRIBUTE } from '../support/collector';
import { configWith, named, synthObjects } from '../support/manifests';
import { untilTrue as until } from '../support/process';
import { PROMETHEUS_BINARIES, PrometheusServer } from '../support/prometheus';

/** The chart's services; the first one's limit set low enough for a few routes and statuses to exceed it. */
const LOW_LIMIT = 100;
const config: ChartConfig = configWith({ services: CHART_CONFIG.services.map((s, i) => (i === 0 ? { ...s, sampleLimit: LOW_LIMIT } : s)) });
const exploding = config.services[0];
const others = config.services.slice(1);

describeWithChatService('sampleLimit: one service over its limit loses only its own scrape, and the alert names it', [...COLLECTOR_BINARIES, ...PROMETHEUS_BINARIES], () => {
  let collector: RunningCollector | undefined;
  let prometheus: PrometheusServer | undefined;
  const services: ChatService[] = [];

  const query = (expr: string) => prometheus!.query(expr);

  beforeAll(async () => {
    const pod = (name: string) => `${name}-6b8d4-q2x`;
    collector = await RunningCollector.start({
      config: chartCollectorConfig(config),
      identity: { stub: config.services.map((s) => ({ namespace: s.namespace, name: pod(s.name), labels: { ...s.selector } })) },
    });
    for (const s of config.services) {
      services.push(await ChatService.start({
        kind: chatServiceKindFor(s), stable: s.convention === 'stable', collectorUrl: collector.otlpGrpcUrl, resourceAttributes: { [STUB_POD_ATTRIBUTE]: pod(s.name) },
      }));
    }
    // The chart's alert for each service, its `for` cut to 0s: the hold time is promtool's to prove
    // (rules.promtool.test.ts), this test proves the expression on real scrapes.
    const rules = config.services.map((s) => named(synthObjects(config), 'PrometheusRule', s.name).spec.groups
      .flatMap((g: { rules: { alert?: string }[] }) => g.rules).find((r: { alert?: string }) => r.alert === ALERT_NAMES.sampleLimit));
    prometheus = await PrometheusServer.start({
      config: stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: ['rules/*.yaml'],
        scrape_configs: chatServiceScrapes(config, collector, chartCollectorConfig(config), '1s').map((x) => x.job),
      }),
      ruleFiles: { 'sample-limit.yaml': stringify({ groups: [{ name: 'sample-limit', rules: rules.map((r: object) => ({ ...r, for: '0s' })) }] }) },
    });
    // Every route of every service, each with three statuses: 9+ histogram series per response.
    for (const [i, s] of config.services.entries()) {
      for (const r of CHAT_SERVICE_ROUTES[chatServiceKindFor(s)]) for (const status of [200, 404, 500]) await services[i].request(r, { status });
    }
  }, 120000);

  afterAll(async () => {
    for (const s of services) await s.stop();
    await prometheus?.stop();
    await collector?.stop();
  });

  it(`${exploding.name} (limit ${LOW_LIMIT}): its target is down and none of its series are stored`, async () => {
    await until(`up{job="${exploding.name}"} == 0`, async () => (await query(`up{job="${exploding.name}"} == 0`)).length === 1);
    const scraped = Number((await query(`scrape_samples_post_metric_relabeling{job="${exploding.name}"}`))[0].value![1]);
    expect(scraped).toBeGreaterThan(LOW_LIMIT);
    // ALERTS carries the service label from the rule, not from a scrape: not a stored series of it.
    expect(await query(`{service="${exploding.name}", __name__!~"up|scrape_.*|ALERTS|ALERTS_FOR_STATE"}`)).toEqual([]);
  });

  it('every other service stays up with all its data', async () => {
    for (const s of others) {
      await until(`${s.name} up with its request counts`, async () =>
        (await query(`up{job="${s.name}"} == 1`)).length === 1
        && (await query(`sum(${s.convention === 'legacy' ? 'http_server_duration_milliseconds_count' : 'http_server_request_duration_seconds_count'}{service="${s.name}"})`))[0]?.value?.[1]
          === String(CHAT_SERVICE_ROUTES[chatServiceKindFor(s)].length * 3));
    }
  });

  it(`${ALERT_NAMES.sampleLimit} fires for ${exploding.name} only, with its service label`, async () => {
    const firing = `ALERTS{alertname="${ALERT_NAMES.sampleLimit}", alertstate="firing"}`;
    await until(firing, async () => (await query(firing)).length > 0);
    expect((await query(firing)).map((a) => [a.metric.service, a.metric.severity])).toEqual([[exploding.name, 'critical']]);
  });
});
