/**
 * Who a sender is, decided by the collector alone, on the real chain: real chat services
 * (test/chat-service/app.py, Python SDK 1.38) -> the real collector on the chart's config
 * (k8sattributes stubbed by withKubernetesIdentity, which, like k8sattributes, never overwrites an
 * attribute the sender set) -> the real Prometheus scraping each service's exporter as its
 * ServiceMonitor does, and the collector's own metrics.
 *
 *  - Forged identity: pods in `chat` whose labels are no service's, claiming chat-auth through
 *    OTEL_RESOURCE_ATTRIBUTES (chat.service, or the k8s attributes k8sattributes would keep), or a
 *    service that does not exist, are dropped and counted; a chat-messaging pod claiming chat-auth
 *    stays chat-messaging.
 *  - Worker processes: two senders of one pod with their own service.instance.id are two series.
 *  - What routing matches to no route (a route renamed away from its service, on a second
 *    collector) is dropped and counted, exported nowhere.
 */
import { stringify } from 'yaml';
import { ChatService, describeWithChatService, route } from '../support/chat-service';
import { chatServiceScrapes } from '../support/chat-service-scrapes';
import { chartCollectorConfig, COLLECTOR_BINARIES, CollectorConfig, RunningCollector, STUB_POD_ATTRIBUTE, StubPod } from '../support/collector';
import { defaultConfig } from '../support/manifests';
import { until } from '../support/process';
import { PROMETHEUS_BINARIES, PrometheusServer, QueryResult } from '../support/prometheus';

const config = defaultConfig();
const serviceOf = (name: string) => config.services.find((s) => s.name === name)!;
const auth = serviceOf('chat-auth');
const messaging = serviceOf('chat-messaging');
const NS = auth.namespace;

/** Pods the stub knows: two of the chat services', three whose labels are nobody's (in the same namespace). */
const WORKERS_POD = 'chat-auth-5f6d7c8b9-wrkrs';
const MESSAGING_POD = 'chat-messaging-5f6d7c8b9-claim';
const ROGUE = { service: 'rogue-6b8c9d-svc', labels: 'rogue-6b8c9d-lbl', bogus: 'rogue-6b8c9d-bgs' };
const rogueLabels = { 'app.kubernetes.io/name': 'rogue' };
const STUB_PODS: StubPod[] = [
  { namespace: NS, name: WORKERS_POD, labels: { ...auth.selector } },
  { namespace: NS, name: MESSAGING_POD, labels: { ...messaging.selector } },
  ...Object.values(ROGUE).map((name) => ({ namespace: NS, name, labels: rogueLabels })),
];

/** Two worker processes of one pod, each with its own service.instance.id, and what each serves. */
const WORKERS = [{ id: `${WORKERS_POD}-worker-1`, requests: 4 }, { id: `${WORKERS_POD}-worker-2`, requests: 2 }];
const MESSAGING_REQUESTS = 2;

/** What the collector's filter processor counts, as Prometheus stores it from the collector's own metrics (dots kept, no _total). */
const FILTERED = 'otelcol_processor_filter_datapoints.filtered';
const filtered = (filter: string, job: string) => `{__name__="${FILTERED}", filter="${filter}", job="${job}"}`;

const value = (r: QueryResult) => Number(r.value![1]);

describeWithChatService('collector identity on the real chain: forged claims, worker processes, unrouted points', [...COLLECTOR_BINARIES, ...PROMETHEUS_BINARIES], () => {
  let collector: RunningCollector | undefined;
  /** The chart's config but chat-messaging's route renamed away from it: a route that no longer matches its identity. */
  let unroutedCollector: RunningCollector | undefined;
  let prometheus: PrometheusServer | undefined;
  const forged: ChatService[] = [];
  const legit: ChatService[] = [];
  let unroutedSender: ChatService | undefined;

  const sessionLogin = route('auth', 'POST', '/sessions/login');
  const getChats = route('messaging', 'GET', '/messaging/chats/get-chats');

  beforeAll(async () => {
    const chart = chartCollectorConfig(config);
    collector = await RunningCollector.start({ config: chart, identity: { stub: STUB_PODS } });
    const renamed: CollectorConfig = structuredClone(chart);
    const messagingRoute = renamed.connectors.routing.table.find((r: { condition: string }) => r.condition.endsWith(`== "${messaging.name}"`));
    messagingRoute.condition = messagingRoute.condition.replace(`"${messaging.name}"`, `"${messaging.name}-renamed"`);
    unroutedCollector = await RunningCollector.start({ config: renamed, identity: { stub: STUB_PODS } });

    const start = (kind: 'auth' | 'messaging', url: string, attributes: Record<string, string>) =>
      ChatService.start({ kind, collectorUrl: url, resourceAttributes: attributes });
    // Forged: a rogue pod naming itself chat-auth; one also claiming chat-auth's namespace, pod name
    // and selector label; one naming a service that does not exist.
    forged.push(await start('auth', collector.otlpGrpcUrl, { [STUB_POD_ATTRIBUTE]: ROGUE.service, 'chat.service': auth.name }));
    forged.push(await start('auth', collector.otlpGrpcUrl, {
      [STUB_POD_ATTRIBUTE]: ROGUE.labels, 'chat.service': auth.name, 'k8s.namespace.name': NS, 'k8s.pod.name': `${auth.name}-0`,
      ...Object.fromEntries(Object.entries(auth.selector).map(([k, v]) => [`k8s.pod.label.${k}`, v])),
    }));
    forged.push(await start('auth', collector.otlpGrpcUrl, { [STUB_POD_ATTRIBUTE]: ROGUE.bogus, 'chat.service': 'chat-bogus' }));
    // A real chat-messaging pod claiming chat-auth, and a service.namespace the exporter would put in its job.
    legit.push(await start('messaging', collector.otlpGrpcUrl, { [STUB_POD_ATTRIBUTE]: MESSAGING_POD, 'chat.service': auth.name, 'service.namespace': 'elsewhere' }));
    for (const w of WORKERS) legit.push(await start('auth', collector.otlpGrpcUrl, { [STUB_POD_ATTRIBUTE]: WORKERS_POD, 'service.instance.id': w.id }));
    unroutedSender = await start('messaging', unroutedCollector.otlpGrpcUrl, { [STUB_POD_ATTRIBUTE]: MESSAGING_POD });

    prometheus = await PrometheusServer.start({
      config: stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        scrape_configs: [
          ...chatServiceScrapes(config, collector, chart, '1s').map((x) => x.job),
          { job_name: 'otel-collector', static_configs: [{ targets: [collector.selfMetricsTarget] }] },
          { job_name: 'otel-collector-unrouted', static_configs: [{ targets: [unroutedCollector.selfMetricsTarget] }] },
        ],
      }),
    });

    for (const s of forged) expect(await s.request(sessionLogin)).toBe(200);
    for (let i = 0; i < MESSAGING_REQUESTS; i++) expect(await legit[0].request(getChats)).toBe(200);
    // Interleaved, as a load balancer would spread them over the pod's workers.
    for (let i = 0; i < Math.max(...WORKERS.map((w) => w.requests)); i++) {
      for (const [j, w] of WORKERS.entries()) if (i < w.requests) expect(await legit[1 + j].request(sessionLogin)).toBe(200);
    }
    expect(await unroutedSender.request(getChats)).toBe(200);
  }, 180000);

  afterAll(async () => {
    for (const s of [...forged, ...legit, unroutedSender]) await s?.stop();
    await prometheus?.stop();
    await unroutedCollector?.stop();
    await collector?.stop();
  });

  const waitFor = (expr: string, want: number) => prometheus!.waitForValue(expr, want, 60000).catch((e: Error) => {
    throw new Error(`${e.message}\ncollector:\n${collector?.output.slice(-3000)}`);
  });
  const workersTotal = WORKERS.reduce((n, w) => n + w.requests, 0);

  describe('forged identity', () => {
    it('a rogue pod claiming chat-auth (chat.service, or the k8s attributes and pod label) is exported under no service', async () => {
      // The real chat-auth series are in: the forged ones, had they passed, would be too by now.
      await waitFor(`sum(http_server_duration_milliseconds_count{service="${auth.name}"})`, workersTotal);
      // Each service is its own scrape target, scraped at its own moment: wait for chat-messaging's too.
      await waitFor(`sum(http_server_duration_milliseconds_count{service="${messaging.name}"})`, MESSAGING_REQUESTS);
      const pods = (await prometheus!.query('count by (pod, job, service) (http_server_duration_milliseconds_count)')).map((r) => `${r.metric.job} ${r.metric.service} ${r.metric.pod}`);
      expect(pods.sort()).toEqual([`${auth.name} ${auth.name} ${WORKERS_POD}`, `${messaging.name} ${messaging.name} ${MESSAGING_POD}`].sort());
      expect(await prometheus!.query(`{pod=~"rogue-.*|${auth.name}-0"}`)).toEqual([]);
      expect(await prometheus!.query('{service="chat-bogus"}')).toEqual([]);
      expect(await prometheus!.query('target_info{k8s_pod_label_app_kubernetes_io_name="rogue"}')).toEqual([]);
    });

    it('a chat-messaging pod claiming chat-auth stays chat-messaging: its pod\'s identity, its job, no service.namespace in it', async () => {
      await waitFor(`sum(http_server_request_duration_seconds_count{pod="${MESSAGING_POD}"} or http_server_duration_milliseconds_count{pod="${MESSAGING_POD}"})`, MESSAGING_REQUESTS);
      const series = await prometheus!.query(`{pod="${MESSAGING_POD}", __name__=~"http_server_.*_count"}`);
      expect(series.length).toBeGreaterThan(0);
      expect([...new Set(series.map((r) => `${r.metric.job} ${r.metric.service} ${r.metric.instance}`))]).toEqual([`${messaging.name} ${messaging.name} ${MESSAGING_POD}`]);
      const info = await prometheus!.query(`target_info{k8s_pod_name="${MESSAGING_POD}"}`);
      expect(info.map((r) => [r.metric.job, r.metric.chat_service, r.metric.service_namespace])).toEqual([[messaging.name, messaging.name, undefined]]);
    });

    it('the forged points are counted in filter/unattributed, and only they: the count stops when the forged senders stop, while the real ones go on', async () => {
      const unattributed = filtered('filter/unattributed', 'otel-collector');
      await until(`${unattributed} > 0`, async () => ((await prometheus!.valueOf(unattributed)) ?? 0) > 0 || undefined, 60000);
      const whileForging = (await prometheus!.valueOf(unattributed))!;
      console.log(`filter/unattributed while three forged senders export: ${whileForging}`);
      for (const s of forged.splice(0)) await s.stop();
      // Unchanged for 5 s (five scrapes) after the forged senders' last export; then 5 s more of the same.
      let last = -1;
      let since = Date.now();
      const plateau = await until(`${unattributed} to stop rising`, async () => {
        const v = (await prometheus!.valueOf(unattributed))!;
        if (v !== last) [last, since] = [v, Date.now()];
        return Date.now() - since >= 5000 ? v : undefined;
      }, 90000, 500);
      const accepted = `sum(otelcol_receiver_accepted_metric_points{job="otel-collector"})`;
      const acceptedAtPlateau = (await prometheus!.valueOf(accepted))!;
      await new Promise((r) => setTimeout(r, 5000));
      expect(await prometheus!.valueOf(unattributed)).toBe(plateau);
      expect((await prometheus!.valueOf(accepted))!).toBeGreaterThan(acceptedAtPlateau);
      console.log(`filter/unattributed: ${plateau} points in all; the real senders' accepted points meanwhile ${acceptedAtPlateau} -> ${await prometheus!.valueOf(accepted)}`);
      expect(plateau).toBeGreaterThanOrEqual(whileForging);
      // Nothing the identity named was left without a route.
      expect(await prometheus!.query(`${filtered('filter/unrouted', 'otel-collector')} > 0`)).toEqual([]);
    }, 150000);
  });

  describe('worker processes of one pod', () => {
    const counts = `http_server_duration_milliseconds_count{service="${auth.name}", pod="${WORKERS_POD}"}`;

    it('two senders with their own service.instance.id are two series, whose sum is what both served', async () => {
      await waitFor(`sum(${counts})`, workersTotal);
      const byInstance = Object.fromEntries((await prometheus!.query(counts)).map((r) => [r.metric.instance, value(r)]));
      expect(byInstance).toEqual(Object.fromEntries(WORKERS.map((w) => [w.id, w.requests])));
    });

    it('neither reads as resets over at least ten scrapes', async () => {
      await waitFor(`sum(${counts})`, workersTotal);
      await until('ten scrapes of each worker\'s series', async () =>
        (await prometheus!.query(`count_over_time(${counts}[30s]) >= 10`)).length === WORKERS.length || undefined, 60000, 500);
      const resets = await prometheus!.query(`resets(${counts}[30s])`);
      expect(resets.map((r) => [r.metric.instance, value(r)]).sort()).toEqual(WORKERS.map((w) => [w.id, 0]).sort());
      const samples = await prometheus!.query(`count_over_time(${counts}[30s])`);
      console.log(`worker series: ${samples.map((r) => `${r.metric.instance} ${value(r)} samples`).join(', ')}, resets ${resets.map(value).join(', ')}`);
    }, 90000);
  });

  describe('points the routing connector matches to no route', () => {
    it('are dropped and counted in filter/unrouted, exported under no service', async () => {
      const unrouted = filtered('filter/unrouted', 'otel-collector-unrouted');
      await until(`${unrouted} > 0`, async () => ((await prometheus!.valueOf(unrouted)) ?? 0) > 0 || undefined, 60000);
      console.log(`filter/unrouted with chat-messaging's route renamed: ${await prometheus!.valueOf(unrouted)}`);
      // It was identified (not unattributed), then had nowhere to go.
      expect(await prometheus!.query(`${filtered('filter/unattributed', 'otel-collector-unrouted')} > 0`)).toEqual([]);
      for (const [exporter, target] of Object.entries(unroutedCollector!.exporterTargets)) {
        const text = await (await fetch(`http://${target}/metrics`)).text();
        expect(`${exporter}: ${text.split('\n').filter((l) => l.includes(MESSAGING_POD)).join('\n')}`).toBe(`${exporter}: `);
      }
    });
  });
});
