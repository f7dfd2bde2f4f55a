/**
 * A synthetic chat service: a real HTTP server instrumented with the OpenTelemetry JS SDK
 * (MeterProvider + PrometheusExporter on 127.0.0.1), emitting exactly what the real chat services
 * emit according to the metric contract (docs/chat-services-metrics.md):
 *
 * - legacy conventions (what auth, transportation and messaging emit today):
 *   histogram `http.server.duration`, unit `ms`, buckets 0..10000 ms, whole-number values,
 *   attributes http.method, http.scheme, http.host, http.flavor, http.server_name, net.host.port,
 *   http.status_code, http.target (route template) -> Prometheus labels http_method, ... http_target;
 * - stable conventions (OTEL_SEMCONV_STABILITY_OPT_IN=http): histogram `http.server.request.duration`,
 *   unit `s`, buckets 0.005..10 s, attributes http.request.method, http.response.status_code,
 *   http.route, url.scheme;
 * - optionally the transportation service's `websocket_hub_active_connections` UpDownCounter (no unit,
 *   no attributes, one per process).
 *
 * Names, units and buckets are written here literally from the contract, on purpose: nothing is
 * imported from lib/, so a test built on this service cannot agree with the chart by construction.
 *
 * Traffic is real HTTP: `request()` sends a request whose headers say which status to answer and
 * which latency to record, so the recorded distribution is known exactly (no sleeping).
 */
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Agent, createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';

export type Convention = 'legacy' | 'stable';

/** The contract, literally. */
export const CONTRACT = {
  legacy: {
    instrument: 'http.server.duration',
    unit: 'ms',
    /** Histogram buckets (ms). */
    buckets: [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000],
  },
  stable: {
    instrument: 'http.server.request.duration',
    unit: 's',
    /** Histogram buckets (s). */
    buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
  },
  websocketGauge: 'websocket_hub_active_connections',
} as const;

export interface SyntheticRequest {
  readonly method: string;
  /** Route template, e.g. `/messaging/chats/get-chats`; becomes http_target / http_route. */
  readonly route: string;
  /** HTTP status the server answers (and records). */
  readonly status: number;
  /** Latency the server records for this request, in milliseconds (whole numbers for legacy). */
  readonly latencyMs: number;
  /** Matched no route (a 404 for an unknown path): recorded without http.target / http.route, as the instrumentation does. */
  readonly unrouted?: boolean;
}

export interface SyntheticService {
  /** host:port of the OpenTelemetry Prometheus exporter (path /metrics). */
  readonly metricsUrl: string;
  /** host:port of the HTTP server itself. */
  readonly httpUrl: string;
  /** Sends one real HTTP request; resolves once the response is fully read. */
  request(req: SyntheticRequest): Promise<void>;
  /** Sets the WebSocket connection gauge (only with `websocket: true`). */
  setWebSocketConnections(n: number): void;
  stop(): Promise<void>;
}

export interface SyntheticServiceOptions {
  readonly convention: Convention;
  /** Also emit websocket_hub_active_connections (the transportation service). */
  readonly websocket?: boolean;
  /** Value of the Host header sent by `request()` (legacy http.server_name). @default the server's host:port */
  readonly hostHeader?: string;
}

const LATENCY_HEADER = 'x-synthetic-latency-ms';
const STATUS_HEADER = 'x-synthetic-status';
const UNROUTED_HEADER = 'x-synthetic-unrouted';

const listen = (server: Server): Promise<number> => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
});

export async function startSyntheticService(opts: SyntheticServiceOptions): Promise<SyntheticService> {
  // Port 0: the exporter's own server binds a free port; we read it back below.
  const exporter = new PrometheusExporter({ host: '127.0.0.1', port: 0, preventServerStart: true });
  const provider = new MeterProvider({
    // The real auth/messaging services end up with service.name=unknown_service (contract); identity
    // comes from the collector, not from here.
    resource: resourceFromAttributes({ 'service.name': 'unknown_service' }),
    readers: [exporter],
  });
  const meter = provider.getMeter('opentelemetry.instrumentation.fastapi', '0.59b0');
  void metrics; // the global API is deliberately not used: each synthetic service has its own provider

  const contract = CONTRACT[opts.convention];
  const duration = meter.createHistogram(contract.instrument, {
    unit: contract.unit,
    description: opts.convention === 'legacy' ? 'Duration of HTTP server requests.' : 'Duration of HTTP server requests.',
    advice: { explicitBucketBoundaries: [...contract.buckets] },
  });
  const websocket = opts.websocket
    ? meter.createUpDownCounter(CONTRACT.websocketGauge, { description: 'Active WebSocket connections of this hub process' })
    : undefined;
  let connections = 0;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const status = Number(req.headers[STATUS_HEADER] ?? 200);
      const latencyMs = Number(req.headers[LATENCY_HEADER] ?? 0);
      const route = (req.url ?? '/').split('?')[0];
      const unrouted = req.headers[UNROUTED_HEADER] === '1';
      const host = req.headers.host ?? '';
      if (opts.convention === 'legacy') {
        duration.record(Math.round(latencyMs), {
          'http.method': req.method ?? 'GET',
          'http.scheme': 'http',
          'http.host': host,
          'http.flavor': req.httpVersion,
          'http.server_name': host,
          'net.host.port': port,
          'http.status_code': status,
          ...(unrouted ? {} : { 'http.target': route }),
        });
      } else {
        duration.record(latencyMs / 1000, {
          'http.request.method': req.method ?? 'GET',
          'http.response.status_code': status,
          ...(unrouted ? {} : { 'http.route': route }),
          'url.scheme': 'http',
        });
      }
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  const port = await listen(server);

  // The exporter's server: start it on a free port we choose (it cannot report an ephemeral one).
  const metricsServer = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
  const metricsPort = await listen(metricsServer).catch(async (e: Error) => {
    // Leave nothing listening behind (a test run would otherwise never exit).
    server.close();
    await provider.shutdown();
    throw e;
  });

  // A static import: jest's VM refuses dynamic import() without --experimental-vm-modules.
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const hostHeader = opts.hostHeader ?? `127.0.0.1:${port}`;

  return {
    metricsUrl: `127.0.0.1:${metricsPort}`,
    httpUrl: `127.0.0.1:${port}`,
    request: ({ method, route, status, latencyMs, unrouted }) => new Promise<void>((resolve, reject) => {
      const r = httpRequest({
        host: '127.0.0.1', port, method, path: route, agent,
        headers: { host: hostHeader, [STATUS_HEADER]: String(status), [LATENCY_HEADER]: String(latencyMs), ...(unrouted ? { [UNROUTED_HEADER]: '1' } : {}) },
      }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === status ? resolve() : reject(new Error(`expected ${status}, got ${res.statusCode}`))));
      });
      r.on('error', reject);
      r.end();
    }),
    setWebSocketConnections: (n: number) => {
      if (!websocket) throw new Error('started without websocket: true');
      websocket.add(n - connections);
      connections = n;
    },
    stop: async () => {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
      await new Promise((resolve) => metricsServer.close(resolve));
      await provider.shutdown();
    },
  };
}
