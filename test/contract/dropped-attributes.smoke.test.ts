/**
 * The collector drops the Host-header family and sums the streams that then coincide: callers using
 * five Host headers make one series per route and status, whose count is every request, not the
 * last stream's. Real chat service -> real collector on the chart's config (k8sattributes stubbed),
 * read at the service's exporter.
 *
 * Only on the HTTP server metrics, and never on a gauge: a second sender in another chat-auth pod
 * (the OpenTelemetry JS SDK) sends a client histogram, whose server.address and server.port name
 * the dependency it called, and gauges, whose values do not add up; those keep every attribute.
 */
import { request } from 'http';
import { ChatService, describeWithChatService } from '../support/chat-service';
import { chartCollectorConfig, COLLECTOR_BINARIES, RunningCollector, STUB_POD_ATTRIBUTE } from '../support/collector';
import { defaultConfig } from '../support/manifests';
import { OtlpSender } from '../support/otlp-sender';
import { sleep, until } from '../support/process';

const config = defaultConfig();
const auth = config.services.find((s) => s.name === 'chat-auth') ?? config.services[0];
const POD = `${auth.name}-7c9d8-hosts`;
/** The second sender's pod: chat-auth's labels, so it is identified as chat-auth too. */
const CLIENT_POD = `${auth.name}-7c9d8-client`;
const HOSTS = [auth.name, `${auth.name}:8000`, `${auth.name}.${auth.namespace}`, `${auth.name}.${auth.namespace}.svc.cluster.local:8000`, '10.244.1.17:8000'];

describeWithChatService('collector drops the Host-header family and sums what coincides', COLLECTOR_BINARIES, () => {
  let collector: RunningCollector | undefined;
  let service: ChatService | undefined;
  let sender: OtlpSender | undefined;

  beforeAll(async () => {
    collector = await RunningCollector.start({
      config: chartCollectorConfig(config),
      identity: { stub: [POD, CLIENT_POD].map((name) => ({ namespace: auth.namespace, name, labels: { ...auth.selector } })) },
    });
    service = await ChatService.start({ kind: 'auth', collectorUrl: collector.otlpGrpcUrl, resourceAttributes: { [STUB_POD_ATTRIBUTE]: POD } });
    for (const host of HOSTS) {
      for (let i = 0; i < 2; i++) {
        await new Promise<void>((resolve, reject) => {
          const req = request({ host: service!.host, port: service!.port, method: 'POST', path: '/sessions/login', headers: { Host: host } }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          });
          req.on('error', reject);
          req.end();
        });
      }
    }
  }, 60000);

  afterAll(async () => {
    await sender?.stop().catch(() => undefined);
    await service?.stop();
    await collector?.stop();
  });

  /** The exporter's exposition lines of `metric` (name and labels as exposed) once `done` holds for them; waits up to 30 s. */
  async function exposed(metric: string, done: (lines: string[]) => boolean): Promise<string[]> {
    const url = `http://${collector!.exporterTargets[`prometheus/${auth.name}`]}/metrics`;
    let lines: string[] = [];
    await until(`${metric} at the chat-auth exporter`, async () => {
      lines = (await (await fetch(url)).text()).split('\n').filter((l) => l.startsWith(`${metric}{`));
      return done(lines) ? true : undefined;
    }, 30000, 250).catch((e: Error) => {
      throw new Error(`${e.message}; last seen:\n${lines.join('\n')}`);
    });
    return lines;
  }
  /** `label` of an exposition line, or undefined. */
  const labelOf = (line: string, label: string) => new RegExp(`[{,]${label}="([^"]*)"`).exec(line)?.[1];
  // `name{labels} value timestamp`: the collector sends each point's time (several replicas, collector-config.ts).
  const valueOf = (line: string) => Number(/} (\S+)(?: \d+)?$/.exec(line)![1]);
  const ofClientPod = (lines: string[]) => lines.filter((l) => labelOf(l, 'pod') === CLIENT_POD);

  describe('a client metric and gauges from another chat-auth pod', () => {
    /** Client requests by the dependency called: server.address, server.port, and how many. */
    const CALLS = [['chat-messaging', 8002, 3], ['chat-transport', 8001, 2]] as const;
    /** A gauge reading per port (a dropped attribute): the two must stay two, each its own value. */
    const CACHE_ENTRIES = [[8000, 10], [8001, 20]] as const;
    /** A gauge under an HTTP server metric's name, per Host header: not additive either. */
    const ACTIVE = [['chat-auth', 4], ['chat-auth:8000', 6]] as const;
    /** Stable-convention server requests from two Host headers: these are dropped and summed. */
    const SERVED = [['chat-auth', 2], ['10.244.1.17', 3]] as const;

    beforeAll(async () => {
      sender = new OtlpSender({ url: collector!.otlpGrpcUrl, resource: { 'service.name': 'chat_auth_client', [STUB_POD_ATTRIBUTE]: CLIENT_POD } });
      const meter = sender.meter('chat.test.sender');
      const client = meter.createHistogram('http.client.request.duration', { unit: 's' });
      for (const [address, port, n] of CALLS) {
        for (let i = 0; i < n; i++) client.record(0.02, { 'server.address': address, 'server.port': port, 'http.request.method': 'GET', 'http.response.status_code': 200 });
      }
      const entries = meter.createGauge('chat.cache.entries');
      for (const [port, v] of CACHE_ENTRIES) entries.record(v, { 'server.port': port });
      const active = meter.createGauge('http.server.active_requests');
      for (const [host, v] of ACTIVE) active.record(v, { 'http.host': host });
      const server = meter.createHistogram('http.server.request.duration', { unit: 's' });
      for (const [address, n] of SERVED) {
        for (let i = 0; i < n; i++) server.record(0.01, { 'server.address': address, 'server.port': 8000, 'http.request.method': 'GET', 'http.route': '/users/{user_id}', 'http.response.status_code': 200 });
      }
      await sender.flush();
    });

    it('the client histogram keeps server.address and server.port: one series per dependency, each with its own count', async () => {
      const lines = ofClientPod(await exposed('http_client_request_duration_seconds_count', (l) => ofClientPod(l).length >= CALLS.length));
      const got = Object.fromEntries(lines.map((l) => [`${labelOf(l, 'server_address')}:${labelOf(l, 'server_port')}`, valueOf(l)]));
      expect(got).toEqual(Object.fromEntries(CALLS.map(([a, p, n]) => [`${a}:${p}`, n])));
    });

    it('a gauge whose points differ only in a dropped attribute stays two series, neither summed', async () => {
      const lines = ofClientPod(await exposed('chat_cache_entries', (l) => ofClientPod(l).length >= CACHE_ENTRIES.length));
      const got = Object.fromEntries(lines.map((l) => [labelOf(l, 'server_port'), valueOf(l)]));
      expect(got).toEqual(Object.fromEntries(CACHE_ENTRIES.map(([p, v]) => [String(p), v])));
    });

    it('a gauge is left alone even under an HTTP server metric\'s name', async () => {
      const lines = ofClientPod(await exposed('http_server_active_requests', (l) => ofClientPod(l).length >= ACTIVE.length));
      const got = Object.fromEntries(lines.map((l) => [labelOf(l, 'http_host'), valueOf(l)]));
      expect(got).toEqual(Object.fromEntries(ACTIVE));
    });

    it('its stable-convention server histogram is still dropped and summed: one series counting both Host headers', async () => {
      const total = SERVED.reduce((n, [, c]) => n + c, 0);
      const lines = ofClientPod(await exposed('http_server_request_duration_seconds_count', (l) => ofClientPod(l).some((x) => valueOf(x) === total)));
      expect(lines).toHaveLength(1);
      expect(valueOf(lines[0])).toBe(total);
      expect(labelOf(lines[0], 'server_address')).toBeUndefined();
      expect(labelOf(lines[0], 'server_port')).toBeUndefined();
    });
  });

  it(`one series per route and status, counting all ${HOSTS.length * 2} requests; no dropped label left`, async () => {
    const url = `http://${collector!.exporterTargets[`prometheus/${auth.name}`]}/metrics`;
    let lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      lines = (await (await fetch(url)).text()).split('\n').filter((l) => l.startsWith('http_server_duration_milliseconds_count{'));
      if (lines.some((l) => l.endsWith(` ${HOSTS.length * 2}`))) break;
      await sleep(250);
    }
    expect(lines).toHaveLength(1);
    expect(valueOf(lines[0])).toBe(HOSTS.length * 2);
    expect(lines[0]).toContain('http_target="/sessions/login"');
    for (const label of config.collector.droppedAttributes.map((a) => a.replace(/\./g, '_'))) expect(lines[0]).not.toContain(`${label}=`);
  });
});
