/**
 * The demo workload's one program, bundled by esbuild into a single file (demo/bundle.ts) that a
 * pinned node image runs from a ConfigMap. `DEMO_ROLE` picks what it is:
 *
 * - `service`: a small chat-like HTTP service instrumented with the OpenTelemetry JS SDK the way
 *   the real FastAPI services are (reference: chat-services-metrics.md): histogram
 *   `http.server.duration` in whole milliseconds with the legacy attributes (or, with
 *   CONVENTION=stable, `http.server.request.duration` in seconds), `http.server.active_requests`,
 *   and for chat-transport the `websocket_hub_active_connections` UpDownCounter, which counts real
 *   HTTP Upgrade connections held open on `/transportation/messages/`.
 *   It pushes OTLP gRPC every 1 s to OPENTELEMETRY_COLLECTOR_URL (as the real services do) and/or
 *   serves Prometheus exposition on METRICS_PORT (a pull-mode service).
 * - `loadgen`: sends a steady mix of routes, statuses and latencies to every service in TARGETS
 *   and keeps a varying number of WebSocket connections open on the transport service.
 *
 * Only Node built-ins and the OpenTelemetry packages; no file is written (read-only root).
 */
import { createHash } from 'crypto';
import { Agent, createServer, IncomingMessage, request as httpRequest, ServerResponse } from 'http';
import { Socket } from 'net';
import { Attributes, diag, DiagConsoleLogger, DiagLogLevel, Histogram, UpDownCounter } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { IMetricReader, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { profileFor } from './profiles';

const LEGACY_BUCKETS_MS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
const STABLE_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);

/** Log-normal latency around `medianMs`, capped at 4 s. */
function sampleLatencyMs(medianMs: number): number {
  const u1 = Math.random() || 1e-9;
  const u2 = Math.random();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.min(4000, medianMs * Math.exp(0.6 * z));
}

export interface ServiceOptions {
  readonly name: string;
  readonly convention: 'legacy' | 'stable';
  readonly listenPort: number;
  /** OTLP gRPC endpoint, e.g. http://otel-collector.monitoring.svc:4317; no push when unset. */
  readonly collectorUrl?: string;
  /** Serve Prometheus exposition on this port (pull mode); none when unset. */
  readonly metricsPort?: number;
  /** Metric name of the WebSocket connection gauge; none when unset. */
  readonly websocketGauge?: string;
  readonly exportIntervalMillis: number;
}

interface Instruments {
  readonly duration: Histogram;
  readonly active: UpDownCounter;
  readonly websocket?: UpDownCounter;
}

/**
 * The instruments of the FastAPI instrumentation. For `otlp` they carry the contract's names and
 * units (the collector appends the unit: http_server_duration_milliseconds); for `prometheus` the
 * unit is part of the name because the JS exporter does not append it.
 */
function createInstruments(provider: MeterProvider, legacy: boolean, sink: 'otlp' | 'prometheus', websocketGauge?: string): Instruments {
  const meter = provider.getMeter('opentelemetry.instrumentation.fastapi', '0.59b0');
  const otlp = sink === 'otlp';
  const duration = legacy
    ? meter.createHistogram(otlp ? 'http.server.duration' : 'http.server.duration.milliseconds', {
      unit: otlp ? 'ms' : '', description: 'Duration of HTTP server requests.', advice: { explicitBucketBoundaries: LEGACY_BUCKETS_MS },
    })
    : meter.createHistogram(otlp ? 'http.server.request.duration' : 'http.server.request.duration.seconds', {
      unit: otlp ? 's' : '', description: 'Duration of HTTP server requests.', advice: { explicitBucketBoundaries: STABLE_BUCKETS_S },
    });
  const active = meter.createUpDownCounter('http.server.active_requests', {
    unit: otlp ? '{request}' : '', description: 'Number of active HTTP server requests.',
  });
  const websocket = websocketGauge
    ? meter.createUpDownCounter(websocketGauge, { description: 'Active WebSocket connections of this hub process' })
    : undefined;
  return { duration, active, websocket };
}

export interface RunningService {
  readonly port: number;
  stop(): Promise<void>;
}

export async function startService(opts: ServiceOptions): Promise<RunningService> {
  // Export failures (collector unreachable, ...) are reported through diag: show them.
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
  const profile = profileFor(opts.name);
  const legacy = opts.convention === 'legacy';
  const resource = resourceFromAttributes({ ...profile.resource });
  const providers: MeterProvider[] = [];
  const instruments: Instruments[] = [];
  if (opts.collectorUrl) {
    // Push, as the real services do: plaintext gRPC (an http:// URL), cumulative temporality.
    const provider = new MeterProvider({
      resource,
      readers: [new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: opts.collectorUrl }),
        exportIntervalMillis: opts.exportIntervalMillis,
        exportTimeoutMillis: Math.min(opts.exportIntervalMillis, 5000),
      })],
    });
    providers.push(provider);
    instruments.push(createInstruments(provider, legacy, 'otlp', opts.websocketGauge));
  }
  if (opts.metricsPort !== undefined) {
    // Pull: the JS Prometheus exporter adds no unit suffix, so the unit is in the instrument's name
    // to expose what the collector would (http_server_duration_milliseconds_*).
    const reader: IMetricReader = new PrometheusExporter({ host: '0.0.0.0', port: opts.metricsPort });
    const provider = new MeterProvider({ resource, readers: [reader] });
    providers.push(provider);
    instruments.push(createInstruments(provider, legacy, 'prometheus', opts.websocketGauge));
  }
  const record = (f: (i: Instruments) => void) => instruments.forEach(f);
  const websocketEnabled = opts.websocketGauge !== undefined;

  const routes = new Map(profile.routes.map((r) => [`${r.method} ${r.path}`, r]));
  const sockets = new Set<Socket>();
  let boundPort = opts.listenPort;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    // Probes: not an API route, so not measured (the real services have no health endpoint).
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const started = process.hrtime.bigint();
    const host = req.headers.host ?? '';
    const common: Attributes = legacy
      ? { 'http.method': req.method ?? 'GET', 'http.scheme': 'http', 'http.host': host, 'http.flavor': req.httpVersion, 'http.server_name': host }
      : { 'http.request.method': req.method ?? 'GET', 'url.scheme': 'http' };
    record((i) => i.active.add(1, common));
    const r = routes.get(`${req.method} ${path}`);
    let status = 404;
    let delay = 1;
    if (r) {
      const dice = Math.random();
      status = dice < r.errorRate ? 500 : dice < r.errorRate + r.clientErrorRate ? r.clientErrorStatus : 200;
      delay = sampleLatencyMs(r.medianMs);
    }
    req.resume();
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status }));
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Unknown paths are reported under one target, as a router's 404 handler would, to keep cardinality low.
      const target = r ? r.path : '/{unmatched}';
      if (legacy) {
        record((i) => i.duration.record(Math.round(ms), { ...common, 'net.host.port': boundPort, 'http.status_code': status, 'http.target': target }));
      } else {
        record((i) => i.duration.record(ms / 1000, { ...common, 'http.response.status_code': status, 'http.route': target }));
      }
      record((i) => i.active.add(-1, common));
    }, delay);
  });

  // A minimal WebSocket handshake (RFC 6455 101 response); the connection is held until the client
  // closes it, and the gauge counts held connections.
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const key = req.headers['sec-websocket-key'];
    if (!websocketEnabled || !profile.websocketPath || (req.url ?? '').split('?')[0] !== profile.websocketPath || typeof key !== 'string') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    sockets.add(socket);
    record((i) => i.websocket?.add(1));
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      sockets.delete(socket);
      record((i) => i.websocket?.add(-1));
    };
    socket.on('close', close);
    socket.on('error', close);
    socket.resume();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listenPort, '0.0.0.0', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  boundPort = port;
  log(`${opts.name}: listening on :${port}; ${opts.convention} metrics`
    + `${opts.collectorUrl ? `, OTLP gRPC to ${opts.collectorUrl} every ${opts.exportIntervalMillis} ms` : ''}`
    + `${opts.metricsPort !== undefined ? `, /metrics on :${opts.metricsPort}` : ''}`
    + `${websocketEnabled ? `, WebSocket on ${profile.websocketPath}` : ''}`);

  return {
    port,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      await Promise.all(providers.map((p) => p.shutdown()));
    },
  };
}

export interface LoadTarget {
  /** Configured service name (selects the route profile). */
  readonly name: string;
  /** Base URL, e.g. http://chat-auth.chat.svc:8000 */
  readonly url: string;
}

export interface LoadOptions {
  readonly targets: readonly LoadTarget[];
  /** Requests per second per target. */
  readonly rps: number;
  /** Upper bound of WebSocket connections held per WebSocket target. */
  readonly maxConnections: number;
}

function pickWeighted<T extends { weight: number }>(items: readonly T[]): T {
  const total = items.reduce((a, b) => a + b.weight, 0);
  let x = Math.random() * total;
  for (const item of items) {
    x -= item.weight;
    if (x <= 0) return item;
  }
  return items[items.length - 1];
}

/** Runs the load until the process stops; returns a stop function for tests. */
export function startLoad(opts: LoadOptions): () => void {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const timers: NodeJS.Timeout[] = [];
  const cleanups: (() => void)[] = [];
  const counts = new Map<string, number>();
  for (const target of opts.targets) {
    const profile = profileFor(target.name);
    const base = new URL(target.url);
    // Most requests hit known routes; a few hit an unknown path (404s, as clients with stale URLs do).
    const send = () => {
      const unknown = Math.random() < 0.02;
      const r = unknown ? { method: 'GET', path: `${profile.routes[0].path}/does-not-exist` } : pickWeighted(profile.routes);
      const req = httpRequest({ host: base.hostname, port: base.port, method: r.method, path: r.path, agent, timeout: 10000 }, (res) => {
        res.resume();
        const key = `${target.name} ${res.statusCode}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => counts.set(`${target.name} error`, (counts.get(`${target.name} error`) ?? 0) + 1));
      req.end();
    };
    timers.push(setInterval(send, Math.max(5, Math.round(1000 / opts.rps))));

    if (profile.websocketPath) {
      const held = new Set<Socket>();
      const started = Date.now();
      const openOne = () => {
        const req = httpRequest({
          host: base.hostname, port: base.port, path: profile.websocketPath, method: 'GET',
          headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': createHash('md5').update(String(Math.random())).digest('base64') },
        });
        req.on('upgrade', (_res, socket: Socket) => {
          held.add(socket);
          socket.on('close', () => held.delete(socket));
          socket.on('error', () => held.delete(socket));
          socket.resume();
          // Each connection lives 5 to 40 s, like chat clients coming and going.
          setTimeout(() => socket.destroy(), 5000 + Math.random() * 35000).unref();
        });
        req.on('error', () => undefined);
        req.end();
      };
      // The wanted number of connections swings between 20 % and 100 % of the maximum every 4 min.
      timers.push(setInterval(() => {
        const phase = ((Date.now() - started) / 240000) * 2 * Math.PI;
        const wanted = Math.round(opts.maxConnections * (0.6 + 0.4 * Math.sin(phase)));
        for (let i = held.size; i < wanted; i++) openOne();
      }, 1000));
      cleanups.push(() => { for (const s of held) s.destroy(); });
    }
  }
  timers.push(setInterval(() => {
    log(`sent: ${[...counts.entries()].map(([k, v]) => `${k}=${v}`).join(' ')}`);
    counts.clear();
  }, 30000));
  log(`loadgen: ${opts.rps} req/s to each of ${opts.targets.map((t) => `${t.name} (${t.url})`).join(', ')}`);
  return () => {
    for (const t of timers) clearInterval(t);
    for (const c of cleanups) c();
    agent.destroy();
  };
}

function env(name: string, fallback?: string): string {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`environment variable ${name} is required`);
  return v;
}

async function main() {
  const role = env('DEMO_ROLE', 'service');
  if (role === 'loadgen') {
    const stop = startLoad({
      targets: JSON.parse(env('TARGETS')) as LoadTarget[],
      rps: Number(env('RPS_PER_SERVICE', '8')),
      maxConnections: Number(env('MAX_WEBSOCKET_CONNECTIONS', '25')),
    });
    // The load generator's own health endpoint, for its probes.
    const health = createServer((_req, res) => res.writeHead(200).end('ok')).listen(Number(env('HEALTH_PORT', '8080')), '0.0.0.0');
    const shutdown = () => { stop(); health.close(); process.exit(0); };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    return;
  }
  if (role !== 'service') throw new Error(`DEMO_ROLE must be "service" or "loadgen", not "${role}"`);
  const name = env('SERVICE_NAME');
  const convention = env('CONVENTION', 'legacy');
  if (convention !== 'legacy' && convention !== 'stable') throw new Error(`CONVENTION must be legacy or stable, not ${convention}`);
  const service = await startService({
    name,
    convention,
    listenPort: Number(env('LISTEN_PORT', String(profileFor(name).port))),
    collectorUrl: process.env.OPENTELEMETRY_COLLECTOR_URL || undefined,
    metricsPort: process.env.METRICS_PORT ? Number(process.env.METRICS_PORT) : undefined,
    websocketGauge: process.env.WEBSOCKET_GAUGE || undefined,
    exportIntervalMillis: Number(env('EXPORT_INTERVAL_MILLIS', '1000')),
  });
  const shutdown = () => { void service.stop().finally(() => process.exit(0)); };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

// Run only as the bundled entry point, not when imported by tests.
if (process.env.DEMO_MAIN === '1' || require.main === module) {
  main().catch((e) => {
    process.stderr.write(`chat-demo: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
