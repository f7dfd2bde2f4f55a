/**
 * A chat-transport pod dies with WebSocket connections open: its last gauge value must leave the
 * chart's instant reads within pushFreshness (the collector's metric_expiration plus a scrape
 * interval) of its last point, so the WebSocket panel and the instance count stop counting it. Real chat services, the real
 * collector running the chart's config (k8sattributes stubbed), the real Prometheus.
 */
import { stringify } from 'yaml';
import { durationSeconds } from '../../lib/config';
import { instanceCount, pushFreshness, websocketConnections } from '../../lib/queries/http';
import { ChatService, ChatWebSocket, describeWithChatService, route } from '../support/chat-service';
import { chatServiceScrapes } from '../support/chat-service-scrapes';
import { chartCollectorConfig, COLLECTOR_BINARIES, RunningCollector, STUB_POD_ATTRIBUTE } from '../support/collector';
import { defaultConfig } from '../support/manifests';
import { PROMETHEUS_BINARIES, PrometheusServer } from '../support/prometheus';

const config = defaultConfig();
const transport = config.services.find((s) => s.websocketGauge)!;
const SCRAPE_SECONDS = 1;
const pods = ['a', 'b'].map((x) => `${transport.name}-5c7d9-${x}`);

describeWithChatService('collector metric_expiration: a stopped pod leaves the WebSocket panel and the instance count', [...COLLECTOR_BINARIES, ...PROMETHEUS_BINARIES], () => {
  let collector: RunningCollector | undefined;
  let prometheus: PrometheusServer | undefined;
  const services: ChatService[] = [];
  const sockets: ChatWebSocket[] = [];

  const valueOf = (expr: string) => prometheus!.valueOf(expr);
  const valueBecomes = (expr: string, want: number | undefined, timeoutMs: number) => prometheus!.waitForValue(expr, want, timeoutMs, 100);

  beforeAll(async () => {
    const stub = pods.map((name) => ({ namespace: transport.namespace, name, labels: { ...transport.selector } }));
    collector = await RunningCollector.start({ config: chartCollectorConfig(config), identity: { stub } });
    for (const pod of pods) {
      services.push(await ChatService.start({ kind: 'transport', collectorUrl: collector.otlpGrpcUrl, resourceAttributes: { [STUB_POD_ATTRIBUTE]: pod } }));
    }
    prometheus = await PrometheusServer.start({
      config: stringify({
        global: { scrape_interval: `${SCRAPE_SECONDS}s` },
        scrape_configs: chatServiceScrapes(config, collector, chartCollectorConfig(config), `${SCRAPE_SECONDS}s`).map((x) => x.job),
      }),
    });
    for (const s of services) expect(await s.request(route('transport', 'GET', '/transportation/connections'))).toBe(200);
    sockets.push(await services[0].openWebSocket());
    for (let i = 0; i < 2; i++) sockets.push(await services[1].openWebSocket());
  }, 120000);

  afterAll(async () => {
    for (const s of sockets) await s.close().catch(() => undefined);
    for (const s of services) await s.stop();
    await prometheus?.stop();
    await collector?.stop();
  });

  it(`drops pod b's gauge (2 connections) and its instance from the chart's queries within pushFreshness (metric_expiration ${config.collector.metricExpiration} + a scrape interval + a target discovery) + a scrape of it stopping`, async () => {
    const ws = websocketConnections(config, transport, transport.websocketGauge!);
    const instances = instanceCount(config, transport);
    await valueBecomes(ws, 3, 30000);
    await valueBecomes(instances, 2, 30000);
    // From the process's exit: its SDK's last export (the shutdown flush) is done by then, however
    // long a loaded machine takes to get there.
    await services[1].stop();
    const stopped = Date.now();
    // Its last point is stored at the next scrape with the time the pod measured it; the queries
    // read no point older than pushFreshness.
    const bound = (durationSeconds(pushFreshness(config)) + SCRAPE_SECONDS) * 1000;
    await valueBecomes(instances, 1, bound + 5000);
    const gone = Date.now() - stopped;
    // Pod b's last export may already carry its gauge at 0 (the SDK flushes on shutdown, after its
    // sockets closed): the sum reads pod a's connection alone either way.
    await valueBecomes(ws, 1, 10000);
    process.stderr.write(`collector-expiration: pod b left the instance count ${gone} ms after it stopped (pushFreshness ${pushFreshness(config)}, scrape ${SCRAPE_SECONDS}s)\n`);
    expect(gone).toBeLessThanOrEqual(bound);
    // The live pod is untouched: its gauge and its series stay.
    expect(await valueOf(`${transport.websocketGauge}{pod="${pods[0]}"}`)).toBe(1);
  }, 60000);
});
