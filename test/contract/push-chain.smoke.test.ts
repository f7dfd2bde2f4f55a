/**
 * The push chain with real programs: a real chat service of each kind (test/chat-service/app.py:
 * FastAPI, OpenTelemetry SDK 1.38.0, OTLP gRPC every second) -> the real collector (otelcol-chat
 * at the chart's release) running the chart's own collector config -> the real Prometheus scraping each
 * service's exporter as that service's ServiceMonitor does (honorLabels). Small planned traffic;
 * every count, bucket, label and the WebSocket gauge must arrive exactly.
 *
 * Only the k8sattributes processor's API server is stubbed (withKubernetesIdentity in
 * test/support/collector.ts, one function); everything after it is the chart's config as deployed.
 */
import { stringify } from 'yaml';
import { ChartConfig } from '../../lib/config';
import { CHART_CONFIG } from '../../lib/chart-config';
import { ChatService, ChatServiceKind, ChatWebSocket, describeWithChatService, Planned, route } from '../support/chat-service';
import { chartCollectorConfig, COLLECTOR_BINARIES, RunningCollector, STUB_POD_ATTRIBUTE, StubPod } from '../support/collector';
import { chatServiceScrapes } from '../support/chat-service-scrapes';
import { configWith } from '../support/manifests';
import { untilTrue } from '../support/process';
import { PROMETHEUS_BINARIES, PrometheusServer, QueryResult } from '../support/prometheus';

/** The chart as configured, but chat-messaging on the stable HTTP conventions (its service runs with the opt-in). */
const chartConfig: ChartConfig = configWith({
  services: CHART_CONFIG.services.map((s) => (s.name === 'chat-messaging' ? { ...s, convention: 'stable' as const } : s)),
});
const SERVICE_OF: Record<ChatServiceKind, string> = { auth: 'chat-auth', transport: 'chat-transport', messaging: 'chat-messaging' };
const podOf = (kind: ChatServiceKind) => `${SERVICE_OF[kind]}-7d9f8b6c5-x${kind.length}q`;

/** What the API server would say about each sender's pod: the chart's namespace and selector labels. */
function stubPods(): StubPod[] {
  return (Object.keys(SERVICE_OF) as ChatServiceKind[]).map((kind) => {
    const service = chartConfig.services.find((s) => s.name === SERVICE_OF[kind])!;
    return { namespace: service.namespace, name: podOf(kind), labels: { ...service.selector, 'pod-template-hash': '7d9f8b6c5' } };
  });
}

interface PlannedRequests extends Planned {
  readonly method: string;
  readonly path: string;
  readonly count: number;
}

/**
 * The traffic: statuses and delays chosen so each request's bucket is known. A delay is the least
 * the request can take; load only adds to it, so each sits low in a wide bucket (100 ms or more of
 * headroom), and the bucket checks allow what the client measured on top (servedIn below).
 */
const PLAN: Record<ChatServiceKind, PlannedRequests[]> = {
  auth: [
    { method: 'POST', path: '/sessions/login', count: 5 },
    { method: 'GET', path: '/users/{user_id}', count: 3, status: 404 },
    { method: 'DELETE', path: '/sessions/{session_id}', count: 2, status: 500, delayMs: 120 }, // ms buckets: (100, 250]
  ],
  transport: [
    { method: 'GET', path: '/transportation/connections', count: 4 },
    { method: 'POST', path: '/transportation/messages/broadcast', count: 1, status: 503, delayMs: 300 }, // (250, 500]
  ],
  messaging: [
    { method: 'GET', path: '/messaging/chats/get-chats', count: 6 },
    { method: 'POST', path: '/messaging/chats/create-chat', count: 2, status: 201, delayMs: 300 }, // s buckets: (0.25, 0.5]
    { method: 'GET', path: '/messaging/messages/{chat_id}', count: 1, status: 500 },
  ],
};

const value = (r: QueryResult) => Number(r.value![1]);

/**
 * What each bucket of a request class's histogram may hold, from what the requests took: a request
 * is in bucket `le` for certain where even its round trip as the client measured it (an upper
 * bound of what the server recorded, plus 1 ms for the legacy histogram's rounding) is within
 * `le`, and may be where its planned delay (a lower bound, less the same 1 ms) is. Unloaded, both
 * fall in one bucket and the check is exact; load can only widen it upwards, never excuse a
 * request recorded below its delay or above its round trip, in the wrong unit, or not at all.
 */
function servedIn(le: number, unitMs: number, plannedMs: number, servedMs: readonly number[]): { min: number; max: number } {
  const bound = le * unitMs;
  return { min: servedMs.filter((ms) => ms + 1 <= bound).length, max: servedMs.filter(() => plannedMs - 1 <= bound).length };
}
const labelNames = (results: QueryResult[]) => [...new Set(results.flatMap((r) => Object.keys(r.metric)))].sort();

describeWithChatService('push chain smoke: real chat services -> real collector (chart config) -> real Prometheus', [...COLLECTOR_BINARIES, ...PROMETHEUS_BINARIES], () => {
  let collector: RunningCollector | undefined;
  let prometheus: PrometheusServer | undefined;
  const services = new Map<ChatServiceKind, ChatService>();
  const sockets: ChatWebSocket[] = [];
  /** Round trips (ms) of each planned request, by "<kind> <method> <path>", as the client measured them. */
  const served = new Map<string, number[]>();
  /** An auth instance whose pod the API server does not know (another namespace, say): no identity. */
  let stranger: ChatService | undefined;

  const waitFor = (expr: string, want: number) => prometheus!.waitForValue(expr, want, 30000).catch((e: Error) => {
    throw new Error(`${e.message}\ncollector:\n${collector?.output.slice(-3000)}`);
  });

  beforeAll(async () => {
    collector = await RunningCollector.start({ config: chartCollectorConfig(chartConfig), identity: { stub: stubPods() } });
    for (const kind of ['auth', 'transport', 'messaging'] as const) {
      services.set(kind, await ChatService.start({
        kind,
        collectorUrl: collector.otlpGrpcUrl,
        stable: chartConfig.services.find((s) => s.name === SERVICE_OF[kind])!.convention === 'stable',
        resourceAttributes: { [STUB_POD_ATTRIBUTE]: podOf(kind) },
      }));
    }
    prometheus = await PrometheusServer.start({
      config: stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        scrape_configs: [
          ...chatServiceScrapes(chartConfig, collector, chartCollectorConfig(chartConfig), '1s').map((x) => x.job),
          { job_name: 'otel-collector', static_configs: [{ targets: [collector.selfMetricsTarget] }] },
        ],
      }),
    });
    for (const [kind, plan] of Object.entries(PLAN) as [ChatServiceKind, PlannedRequests[]][]) {
      for (const p of plan) {
        for (let i = 0; i < p.count; i++) {
          const started = performance.now();
          expect(await services.get(kind)!.request(route(kind, p.method, p.path), p)).toBe(p.status ?? 200);
          served.set(`${kind} ${p.method} ${p.path}`, [...served.get(`${kind} ${p.method} ${p.path}`) ?? [], performance.now() - started]);
        }
      }
    }
    stranger = await ChatService.start({ kind: 'auth', collectorUrl: collector.otlpGrpcUrl, resourceAttributes: { [STUB_POD_ATTRIBUTE]: 'not-a-known-pod' } });
    expect(await stranger.request(route('auth', 'POST', '/sessions/login'))).toBe(200);
    const transport = services.get('transport')!;
    for (let i = 0; i < 3; i++) sockets.push(await transport.openWebSocket());
    expect(await sockets[0].send('hello')).toBe('hello');
  }, 120000);

  afterAll(async () => {
    for (const s of sockets) await s.close().catch(() => undefined);
    for (const s of [...services.values(), stranger]) await s?.stop();
    await prometheus?.stop();
    await collector?.stop();
  });

  /** Series of `expr` keyed by the listed labels, e.g. "POST /sessions/login 200" -> value. */
  async function byLabels(expr: string, labels: string[]): Promise<Record<string, number>> {
    const r = await prometheus!.query(expr);
    return Object.fromEntries(r.map((x) => [labels.map((l) => x.metric[l] ?? '').join(' '), value(x)]));
  }

  /** Bucket counts of one series by upper bound (Prometheus 3 writes `le` as a float: "250.0"). */
  async function buckets(metric: string, matchers: string): Promise<Map<number, number>> {
    const r = await prometheus!.query(`${metric}_bucket{${matchers}}`);
    return new Map(r.map((x) => [x.metric.le === '+Inf' ? Infinity : Number(x.metric.le), value(x)]));
  }

  /** Each bucket of `histogram` holds what servedIn allows for the planned requests of `kind` `method` `path`. */
  function expectServedBuckets(histogram: Map<number, number>, unitMs: number, kind: ChatServiceKind, method: string, path: string): void {
    const plan = PLAN[kind].find((p) => p.method === method && p.path === path)!;
    const ms = served.get(`${kind} ${method} ${path}`)!;
    expect(ms).toHaveLength(plan.count);
    for (const [le, got] of histogram) {
      const { min, max } = servedIn(le, unitMs, plan.delayMs ?? 0, ms);
      const verdict = got >= min && got <= max ? 'within' : `${got}: outside`;
      expect({ le, got: verdict, min, max }).toEqual({ le, got: 'within', min, max });
    }
    expect(histogram.get(Infinity)).toBe(plan.count);
  }

  const planned = (kind: ChatServiceKind) => Object.fromEntries(PLAN[kind].map((p) => [`${p.method} ${p.path} ${p.status ?? 200}`, p.count]));

  it('legacy: http_server_duration_milliseconds_count per route and status, labelled with the pod\'s service, namespace and pod', async () => {
    await waitFor('sum(http_server_duration_milliseconds_count{service!=""})', 15);
    for (const kind of ['auth', 'transport'] as const) {
      const got = await byLabels(`http_server_duration_milliseconds_count{service="${SERVICE_OF[kind]}", namespace="chat", pod="${podOf(kind)}", job="${SERVICE_OF[kind]}", instance="${podOf(kind)}"}`,
        ['http_method', 'http_target', 'http_status_code']);
      expect(got).toEqual(planned(kind));
    }
    // Nothing else: chat-messaging runs the stable conventions, and WebSocket traffic makes no HTTP series.
    expect(await prometheus!.query('count by (service) (http_server_duration_milliseconds_count{service!=""})')).toHaveLength(2);
    expect(await prometheus!.query('http_server_duration_milliseconds_count{http_target=~".*/messages/"}')).toEqual([]);
  });

  it('legacy: the label set that arrives', async () => {
    await waitFor('sum(http_server_duration_milliseconds_count{service!=""})', 15);
    const r = await prometheus!.query('http_server_duration_milliseconds_bucket{service="chat-auth"}');
    // The Host-header family (http_host, http_server_name, net_host_port) is dropped by the collector.
    // container and endpoint are the collector target's own labels, which the operator adds to every scraped series.
    expect(labelNames(r)).toEqual([
      '__name__', 'container', 'endpoint', 'http_flavor', 'http_method', 'http_scheme', 'http_status_code', 'http_target',
      'instance', 'job', 'le', 'namespace', 'otel_scope_name', 'otel_scope_schema_url', 'otel_scope_version', 'pod', 'service',
    ]);
    expect(r[0].metric).toMatchObject({
      http_flavor: '1.1', http_scheme: 'http',
      otel_scope_name: 'opentelemetry.instrumentation.fastapi', otel_scope_version: '0.59b0',
      otel_scope_schema_url: 'https://opentelemetry.io/schemas/1.11.0',
    });
  });

  it('legacy: whole milliseconds in the contract\'s buckets, each planned request in its bucket', async () => {
    await waitFor('sum(http_server_duration_milliseconds_count{service!=""})', 15);
    const slow = await buckets('http_server_duration_milliseconds', 'service="chat-auth", http_target="/sessions/{session_id}", http_status_code="500"');
    expect([...slow.keys()].sort((a, b) => a - b)).toEqual([0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000, Infinity]);
    expectServedBuckets(slow, 1, 'auth', 'DELETE', '/sessions/{session_id}'); // 120 ms each: (100, 250] unless load adds 130 ms
    expect(slow.get(100)).toBe(0); // below the delay: load cannot put it there
    const sum = value((await prometheus!.query('http_server_duration_milliseconds_sum{service="chat-auth", http_target="/sessions/{session_id}"}'))[0]);
    expect(Number.isInteger(sum)).toBe(true);
    expect(sum).toBeGreaterThanOrEqual(240);
    const broadcast = await buckets('http_server_duration_milliseconds', 'service="chat-transport", http_target="/transportation/messages/broadcast"');
    expectServedBuckets(broadcast, 1, 'transport', 'POST', '/transportation/messages/broadcast'); // 300 ms: (250, 500]
    expect(broadcast.get(250)).toBe(0);
  });

  it('stable (OTEL_SEMCONV_STABILITY_OPT_IN=http): http_server_request_duration_seconds per route and status, in seconds buckets', async () => {
    await waitFor('sum(http_server_request_duration_seconds_count)', 9);
    const got = await byLabels(`http_server_request_duration_seconds_count{service="chat-messaging", namespace="chat", pod="${podOf('messaging')}"}`,
      ['http_request_method', 'http_route', 'http_response_status_code']);
    expect(got).toEqual(planned('messaging'));
    expect(await prometheus!.query('count by (service) (http_server_request_duration_seconds_count)')).toHaveLength(1);
    const r = await prometheus!.query('http_server_request_duration_seconds_bucket{service="chat-messaging"}');
    expect(labelNames(r)).toEqual([
      '__name__', 'container', 'endpoint', 'error_type', 'http_request_method', 'http_response_status_code', 'http_route', 'instance', 'job', 'le', 'namespace',
      'network_protocol_version', 'otel_scope_name', 'otel_scope_schema_url', 'otel_scope_version', 'pod', 'service', 'url_scheme',
    ]);
    // error_type only on the 5xx series.
    expect(r.filter((x) => x.metric.error_type).map((x) => x.metric.http_response_status_code)).toEqual(expect.arrayContaining(['500']));
    expect(new Set(r.filter((x) => x.metric.error_type).map((x) => x.metric.error_type))).toEqual(new Set(['500']));
    const create = await buckets('http_server_request_duration_seconds', 'service="chat-messaging", http_route="/messaging/chats/create-chat"');
    expect([...create.keys()].sort((a, b) => a - b)).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, Infinity]);
    expectServedBuckets(create, 1000, 'messaging', 'POST', '/messaging/chats/create-chat'); // 300 ms each: (0.25, 0.5]
    expect(create.get(0.25)).toBe(0);
  });

  it('websocket_hub_active_connections follows real WebSocket connections on chat-transport', async () => {
    await waitFor('sum(websocket_hub_active_connections)', 3);
    const r = await prometheus!.query('websocket_hub_active_connections');
    expect(r.map((x) => x.metric)).toEqual([{
      __name__: 'websocket_hub_active_connections', job: 'chat-transport', instance: podOf('transport'), container: 'otel-collector', endpoint: 'prom-exporter',
      service: 'chat-transport', namespace: 'chat', pod: podOf('transport'), otel_scope_name: 'chat.transportation.websocket_hub',
    }]);
    await sockets.pop()!.close();
    await waitFor('websocket_hub_active_connections{service="chat-transport"}', 2);
    while (sockets.length) await sockets.pop()!.close();
    await waitFor('websocket_hub_active_connections{service="chat-transport"}', 0);
  });

  it('target_info keeps the resource: the pod identity the stub gave, the services\' own service_name, not the stub\'s marker', async () => {
    await waitFor('count(target_info{endpoint="prom-exporter"})', 3);
    const byJob = Object.fromEntries((await prometheus!.query('target_info{endpoint="prom-exporter"}')).map((x) => [x.metric.job, x.metric]));
    expect(Object.keys(byJob).sort()).toEqual(['chat-auth', 'chat-messaging', 'chat-transport']);
    for (const kind of ['auth', 'transport', 'messaging'] as const) {
      expect(byJob[SERVICE_OF[kind]]).toMatchObject({
        instance: podOf(kind), chat_service: SERVICE_OF[kind], k8s_namespace_name: 'chat', k8s_pod_name: podOf(kind),
        k8s_pod_label_app_kubernetes_io_name: SERVICE_OF[kind], telemetry_sdk_language: 'python', telemetry_sdk_version: '1.38.0',
      });
      expect(Object.keys(byJob[SERVICE_OF[kind]]).filter((k) => k.startsWith('chat_monitoring'))).toEqual([]);
    }
    expect(byJob['chat-auth'].service_name).toBe('chat_authentication');
    expect(byJob['chat-messaging'].service_name).toBe('chat_messaging');
    expect(byJob['chat-transport'].service_name).toBeUndefined();
    // The pod-template-hash label is not in the chart's extract list, so it never arrives.
    expect(Object.keys(byJob['chat-auth']).filter((k) => k.includes('template'))).toEqual([]);
  });

  it('a sender whose pod is not found is dropped at the collector and counted, never exported under no service', async () => {
    // Prometheus 3 scrapes the collector's own metrics with UTF-8 names: the dot stays. Since
    // collector 0.152 its counters carry no _total suffix.
    const dropped = '{__name__="otelcol_processor_filter_datapoints.filtered", filter="filter/unattributed"}';
    await untilTrue(`${dropped} > 0`, async () => (await prometheus!.query(`${dropped} > 0`)).length > 0, 30000).catch(() => undefined);
    expect((await prometheus!.query(`${dropped} > 0`)).length).toBe(1);
    expect(await prometheus!.query('http_server_duration_milliseconds_count{service=""}')).toEqual([]);
    expect(await prometheus!.query('{job="unknown_service"}')).toEqual([]);
  });

  it('each service is one target, up, whose job is the service', async () => {
    const up = await prometheus!.query('up{endpoint="prom-exporter"}');
    expect(up.map((x) => [x.metric.job, x.metric.service, x.value![1]]).sort()).toEqual(
      chartConfig.services.filter((s) => s.exportMode === 'push').map((s) => [s.name, s.name, '1']).sort());
  });
});
