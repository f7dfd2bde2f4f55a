/**
 * OTLP load shaped like the real chat services (docs/chat-services-metrics.md):
 * many "pods" in one Node process, each its own OpenTelemetry JS MeterProvider (distinct resource:
 * the stub pod attribute test/support/collector.ts recognises, `service.name` as the services set
 * it), one OTLP/gRPC Export per pod every 1 s, cumulative, with the legacy HTTP instruments and
 * their real label set: `http.server.duration` (ms, the services' buckets),
 * `http.server.request.size`, `http.server.response.size`, `http.server.active_requests`. Every pod
 * sees every route of its service (test/chat-service/routes.json), answering 200, 404 and 500, from
 * callers using five Host headers (short name, with port, namespace-qualified, cluster DNS name with
 * port, pod IP).
 *
 * The request bytes are what the SDK's OTLP exporter sends (the SDK's own protobuf serializer);
 * each pod's request is re-sent every round and a tenth of the pods are re-collected per round (new
 * values and timestamps), so the generator's CPU stays small next to the collector's.
 *
 * Runs as a child process (RunningLoad) so its CPU is not the bench's. It writes "ready <points per
 * round>" once every pod has its series, then "sent <n> failed <n> by <failures by gRPC status, as
 * JSON>" (Export calls so far) every second.
 */
import { ChildProcess, fork } from 'child_process';
import { join } from 'path';

export interface LoadPod {
  readonly name: string;
  /** The chart's service name (chat-auth, ...). */
  readonly service: string;
  readonly kind: 'auth' | 'transport' | 'messaging';
  readonly namespace: string;
}

export interface LoadSpec {
  readonly url: string;
  readonly pods: readonly LoadPod[];
  readonly stubAttribute: string;
  readonly intervalMs: number;
}

export const LOAD_STATUSES = [200, 404, 500];
export const hostHeaders = (service: string, namespace: string, port: number) =>
  [service, `${service}:${port}`, `${service}.${namespace}`, `${service}.${namespace}.svc.cluster.local:${port}`, `10.244.1.17:${port}`];

/** A running generator; stop() kills it by PID. */
export class RunningLoad {
  /** Export calls answered OK / failed (deadline, refused, unavailable) so far, as last reported. */
  sent = 0;
  failed = 0;
  /** Failed Export calls by gRPC status name (DEADLINE_EXCEEDED, UNAVAILABLE, ...), as last reported. */
  failedBy: Record<string, number> = {};

  private constructor(private readonly child: ChildProcess, readonly pointsPerRound: number) {
    child.stdout?.on('data', (d) => {
      for (const m of String(d).matchAll(/sent (\d+) failed (\d+)(?: by (\{.*\}))?/g)) {
        this.sent = Number(m[1]);
        this.failed = Number(m[2]);
        if (m[3]) this.failedBy = JSON.parse(m[3]);
      }
    });
  }

  static async start(spec: LoadSpec): Promise<RunningLoad> {
    const child = fork(join(__dirname, 'otlp-load.ts'), [JSON.stringify(spec)], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let out = '';
    child.stderr?.on('data', (d) => (out += d));
    const points = await new Promise<number>((resolve, reject) => {
      child.stdout?.on('data', (d) => {
        const m = /ready (\d+)/.exec(String(d));
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (c) => reject(new Error(`load generator exited (${c}): ${out.slice(-2000)}`)));
    });
    return new RunningLoad(child, points);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** The SDK and gRPC modules only the generator process loads. */
function loadSdk() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
  const { resourceFromAttributes } = require('@opentelemetry/resources');
  const { ProtobufMetricsSerializer } = require('@opentelemetry/otlp-transformer');
  // The gRPC library the OTLP/gRPC exporter itself uses (a dependency of exporter-metrics-otlp-grpc).
  const grpc = require('@grpc/grpc-js');
  /* eslint-enable @typescript-eslint/no-require-imports */
  class ManualReader extends MetricReader {
    protected onShutdown() { return Promise.resolve(); }
    protected onForceFlush() { return Promise.resolve(); }
  }
  return { MeterProvider, ManualReader, resourceFromAttributes, ProtobufMetricsSerializer, grpc };
}
type Sdk = ReturnType<typeof loadSdk>;
type Routes = Record<string, { method: string; path: string }[]>;

const PORTS = { auth: 8000, transport: 8001, messaging: 8002 };

interface SimulatedPod {
  /** Collects the pod's metrics, as its SDK's periodic reader would. */
  readonly reader: { collect(): Promise<{ resourceMetrics: unknown }> };
  /** A little traffic: new values on some series. */
  readonly record: () => void;
  /** Points per collection. */
  readonly points: number;
  /** The serialized Export request of its last collection. */
  bytes?: Buffer;
}

/** One pod: its own MeterProvider and resource, every series of its routes x Host headers x statuses recorded once. */
function simulatedPod(sdk: Sdk, spec: LoadSpec, pod: LoadPod, routes: Routes): SimulatedPod {
  const reader = new sdk.ManualReader();
  const provider = new sdk.MeterProvider({
    resource: sdk.resourceFromAttributes({
      // auth and messaging misspell the key: service.name stays unknown_service (reference doc).
      'service.name': pod.kind === 'transport' ? 'transportation' : 'unknown_service',
      ...(pod.kind === 'transport' ? {} : { service_name: `chat_${pod.kind}` }),
      'telemetry.sdk.language': 'python', 'telemetry.sdk.name': 'opentelemetry', 'telemetry.sdk.version': '1.38.0',
      [spec.stubAttribute]: pod.name,
    }),
    readers: [reader],
  });
  const meter = provider.getMeter('opentelemetry.instrumentation.fastapi', '0.59b0');
  const duration = meter.createHistogram('http.server.duration', { unit: 'ms', advice: { explicitBucketBoundaries: [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000] } });
  const reqSize = meter.createHistogram('http.server.request.size', { unit: 'By' });
  const resSize = meter.createHistogram('http.server.response.size', { unit: 'By' });
  const active = meter.createUpDownCounter('http.server.active_requests', { unit: '{request}' });
  const port = PORTS[pod.kind];
  const series: Record<string, string | number>[] = [];
  for (const r of routes[pod.kind]) {
    for (const host of hostHeaders(pod.service, pod.namespace, port)) {
      for (const status of LOAD_STATUSES) {
        series.push({ 'http.method': r.method, 'http.scheme': 'http', 'http.host': host, 'http.flavor': '1.1', 'http.server_name': host, 'net.host.port': port, 'http.status_code': status, 'http.target': r.path });
      }
    }
  }
  const activeSeries = new Map<string, Record<string, string>>();
  for (const s of series) {
    const a = { 'http.method': String(s['http.method']), 'http.scheme': 'http', 'http.host': String(s['http.host']), 'http.flavor': '1.1', 'http.server_name': String(s['http.server_name']) };
    activeSeries.set(JSON.stringify(a), a);
  }
  const recordOne = (s: Record<string, string | number>) => {
    duration.record(Math.round(Math.random() * 300), s);
    reqSize.record(Math.round(Math.random() * 2000), s);
    resSize.record(Math.round(Math.random() * 8000), s);
  };
  series.forEach(recordOne);
  for (const a of activeSeries.values()) active.add(0, a);
  // A little traffic between refreshes: a tenth of the series get a request (values change, series do not).
  const record = () => {
    for (let i = 0; i < Math.max(1, series.length / 10); i++) recordOne(series[Math.floor(Math.random() * series.length)]);
  };
  // The SDK is loaded untyped (require): its reader's collect() is the one method used.
  return { reader: reader as unknown as SimulatedPod['reader'], record, points: series.length * 3 + activeSeries.size };
}

/** Sends serialized Export requests over one gRPC channel and counts the answers. */
function exportClient(sdk: Sdk, spec: LoadSpec) {
  const client = new sdk.grpc.Client(spec.url.replace(/^https?:\/\//, ''), sdk.grpc.credentials.createInsecure());
  const identity = (b: Buffer) => b;
  const counts = { sent: 0, failed: 0, failedBy: {} as Record<string, number> };
  // A failed Export is not retried: the pod's next round (1 s later) carries its cumulative state.
  const send = (bytes: Buffer) => new Promise<void>((resolve) => {
    client.makeUnaryRequest('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', identity, identity, bytes,
      { deadline: Date.now() + spec.intervalMs * 10 }, (err: (Error & { code?: number }) | null) => {
        if (err) {
          counts.failed++;
          const code = sdk.grpc.status[err.code ?? -1] ?? String(err.code);
          counts.failedBy[code] = (counts.failedBy[code] ?? 0) + 1;
        } else counts.sent++;
        resolve();
      });
  });
  return { send, counts, close: () => client.close() };
}

async function child(spec: LoadSpec): Promise<void> {
  const sdk = loadSdk();
  const { readFileSync } = await import('fs');
  const routes = JSON.parse(readFileSync(join(__dirname, '..', '..', 'test', 'chat-service', 'routes.json'), 'utf8')) as Routes;
  const pods = spec.pods.map((pod) => simulatedPod(sdk, spec, pod, routes));
  const points = pods.reduce((n, p) => n + p.points, 0);
  // What the SDK's exporter sends, serialized by the SDK's own serializer; re-sent every round, a
  // tenth of the pods re-collected (new values and timestamps) each round, so the generator's CPU
  // stays small next to the collector's on a shared machine.
  const refresh = async (p: SimulatedPod) => {
    p.record();
    const { resourceMetrics } = await p.reader.collect();
    p.bytes = Buffer.from(sdk.ProtobufMetricsSerializer.serializeRequest(resourceMetrics));
  };
  for (const p of pods) await refresh(p);
  const exporter = exportClient(sdk, spec);
  let round = 0;
  const tick = async () => {
    const r = round++;
    const refreshing = pods.filter((_, i) => i % 10 === r % 10);
    for (const p of refreshing) await refresh(p);
    // Spread over the interval as the pods' own 1 s timers would be.
    pods.forEach((p, i) => setTimeout(() => void exporter.send(p.bytes!), (i * spec.intervalMs) / pods.length));
  };
  setInterval(() => void tick(), spec.intervalMs);
  const { counts } = exporter;
  setInterval(() => process.stdout.write(`sent ${counts.sent} failed ${counts.failed} by ${JSON.stringify(counts.failedBy)}\n`), 1000);
  process.stdout.write(`ready ${points}\n`);
  process.on('SIGTERM', () => {
    exporter.close();
    process.exit(0);
  });
}

if (require.main === module) {
  child(JSON.parse(process.argv[2]) as LoadSpec).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
