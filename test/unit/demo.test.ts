/**
 * The demo workload (demo/): the same basics as the monitoring chart (pinned images, restricted
 * Pod Security, resources, probes), wired to the monitoring chart the way a real chat service
 * must be (selector labels, collector Service address, ServiceMonitor ports), and its bundled
 * program actually runs: it pushes OTLP gRPC and serves /metrics under a real load generator.
 */
import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer as createH2Server, Http2Server } from 'http2';
import { get } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { Testing } from 'cdk8s';
import { ChartConfig, validateConfig } from '../../lib/config';
import { CHART_CONFIG } from '../../lib/chart-config';
import { BUNDLE_FILE, buildDemoBundle } from '../../demo/bundle';
import { DemoChart, LOADGEN_NAME } from '../../demo/chart';
import { freePort } from '../support/prometheus';
import { K8sObject, named, ofKind, podTemplates, synthObjects } from '../support/manifests';

const bundle = buildDemoBundle();

function demoObjects(config: ChartConfig): K8sObject[] {
  const app = Testing.app();
  const chart = new DemoChart(app, 'chat-demo', { config, bundle });
  return chart.toJson() as K8sObject[];
}

const config = validateConfig(CHART_CONFIG);
const objects = demoObjects(config);
const env = (container: any, name: string): string | undefined => // eslint-disable-line @typescript-eslint/no-explicit-any
  container.env?.find((e: { name: string }) => e.name === name)?.value;
const isSubset = (small: Record<string, string>, big: Record<string, string> | undefined) =>
  Object.entries(small).every(([k, v]) => big?.[k] === v);

describe('demo chart: the basics every workload of the stack meets', () => {
  const pods = podTemplates(objects);

  it('has a Deployment per configured service plus the load generator', () => {
    expect(ofKind(objects, 'Deployment').map((d) => d.metadata.name).sort())
      .toEqual([...config.services.map((s) => s.name), LOADGEN_NAME].sort());
  });

  it.each(pods.map((p) => [p.owner.metadata.name, p.spec]))('%s: pinned image, restricted security context, resources, probes', (_name, spec) => {
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of spec.containers) {
      expect(c.image).toMatch(/^[^\s:@]+:[0-9][^\s:@]*(@sha256:[a-f0-9]{64})?$/);
      expect(c.image).not.toMatch(/latest/);
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true,
      });
      for (const kind of ['requests', 'limits']) {
        expect(c.resources?.[kind]?.cpu).toBeDefined();
        expect(c.resources?.[kind]?.memory).toBeDefined();
      }
      expect(c.readinessProbe?.httpGet).toBeDefined();
      expect(c.livenessProbe?.httpGet).toBeDefined();
      // Probes point at a declared container port.
      const portNames = (c.ports ?? []).map((p: { name: string }) => p.name);
      expect(portNames).toContain(c.readinessProbe.httpGet.port);
    }
  });

  it('runs the bundle from the ConfigMap in every namespace it uses', () => {
    for (const { owner, spec } of pods) {
      const ns = owner.metadata.namespace!;
      const cm = ofKind(objects, 'ConfigMap').find((o) => o.metadata.namespace === ns)!;
      expect(cm.data[BUNDLE_FILE]).toBe(bundle);
      const volume = spec.volumes.find((v: { configMap?: { name: string } }) => v.configMap?.name === cm.metadata.name);
      const mount = spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === volume.name);
      expect(spec.containers[0].command).toEqual(['node', `${mount.mountPath}/${BUNDLE_FILE}`]);
    }
    // A ConfigMap holds at most 1 MiB.
    expect(Buffer.byteLength(bundle)).toBeLessThan(1024 * 1024 - 16 * 1024);
  });

  it('is not part of dist/', () => {
    const dist = join(__dirname, '..', '..', 'dist');
    for (const f of readdirSync(dist)) expect(readFileSync(join(dist, f), 'utf8')).not.toContain('chat-demo');
  });
});

describe('demo chart: wired to the monitoring chart', () => {
  const monitoring = synthObjects(config);

  it('gives each service\'s pods and Service the configured selector labels in the configured namespace', () => {
    for (const s of config.services) {
      const deployment = named(objects, 'Deployment', s.name);
      expect(deployment.metadata.namespace).toBe(s.namespace);
      expect(isSubset({ ...s.selector }, deployment.spec.template.metadata.labels)).toBe(true);
      const service = named(objects, 'Service', s.name);
      expect(service.metadata.namespace).toBe(s.namespace);
      expect(isSubset(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
      expect(isSubset({ ...s.selector }, service.metadata.labels)).toBe(true);
    }
    // The load generator's pods match no service's selector (their traffic is not the services').
    const loadgen = named(objects, 'Deployment', LOADGEN_NAME).spec.template.metadata.labels;
    for (const s of config.services) expect(isSubset({ ...s.selector }, loadgen)).toBe(false);
  });

  it('pushes OTLP gRPC to the collector Service of the synthesized monitoring chart', () => {
    const collector = named(monitoring, 'Service', 'otel-collector');
    const grpc = collector.spec.ports.find((p: { port: number; name: string }) => /grpc/.test(p.name));
    expect(grpc.port).toBe(4317);
    const expected = `http://${collector.metadata.name}.${collector.metadata.namespace}.svc:${grpc.port}`;
    for (const s of config.services.filter((x) => x.exportMode === 'push')) {
      const c = named(objects, 'Deployment', s.name).spec.template.spec.containers[0];
      expect(env(c, 'OPENTELEMETRY_COLLECTOR_URL')).toBe(expected);
      expect(env(c, 'METRICS_PORT')).toBeUndefined();
    }
    // The collector's NetworkPolicy admits OTLP from the demo's namespaces.
    const policy = named(monitoring, 'NetworkPolicy', 'otel-collector');
    const admitted = policy.spec.ingress.flatMap((r: any) => r.from ?? []) // eslint-disable-line @typescript-eslint/no-explicit-any
      .map((f: any) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const s of config.services) expect(admitted).toContain(s.namespace);
  });

  it('sends load to every service\'s Service and port, and WebSocket load where there is a gauge', () => {
    const c = named(objects, 'Deployment', LOADGEN_NAME).spec.template.spec.containers[0];
    const targets = JSON.parse(env(c, 'TARGETS')!) as { name: string; url: string }[];
    expect(targets.map((t) => t.name)).toEqual(config.services.map((s) => s.name));
    for (const t of targets) {
      const service = named(objects, 'Service', t.name);
      const url = new URL(t.url);
      expect(url.hostname).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc`);
      expect(service.spec.ports.map((p: { port: number }) => String(p.port))).toContain(url.port);
    }
    for (const s of config.services.filter((x) => x.websocketGauge)) {
      expect(env(named(objects, 'Deployment', s.name).spec.template.spec.containers[0], 'WEBSOCKET_GAUGE')).toBe(s.websocketGauge);
    }
  });

  it('serves /metrics on the port the ServiceMonitor scrapes when a service is in pull mode', () => {
    const pulled = CHART_CONFIG.services[CHART_CONFIG.services.length - 1].name;
    const pullConfig = validateConfig({
      ...CHART_CONFIG,
      services: CHART_CONFIG.services.map((s) => (s.name === pulled
        ? { ...s, exportMode: 'pull' as const, metricsPort: { name: 'metrics', port: 9464 } } : s)),
    });
    const demo = demoObjects(pullConfig);
    const monitor = named(synthObjects(pullConfig), 'ServiceMonitor', pulled);
    const service = named(demo, 'Service', pulled);
    expect(isSubset(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    for (const endpoint of monitor.spec.endpoints) {
      expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(endpoint.port);
    }
    const c = named(demo, 'Deployment', pulled).spec.template.spec.containers[0];
    expect(env(c, 'METRICS_PORT')).toBe('9464');
    expect(env(c, 'OPENTELEMETRY_COLLECTOR_URL')).toBeUndefined();
    expect(c.ports.map((p: { name: string }) => p.name)).toContain('metrics');
  });
});

describe('demo program (the bundle, run with node)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-demo-'));
  const children: ChildProcess[] = [];
  let otlp: Http2Server | undefined;
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await new Promise((r) => (otlp ? otlp.close(r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  const fetchText = (url: string) => new Promise<string>((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  const start = (envVars: Record<string, string>) => {
    const child = spawn(process.execPath, [join(dir, BUNDLE_FILE)], { env: { PATH: process.env.PATH, ...envVars }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    children.push(child);
    return () => output;
  };
  const waitFor = async (what: string, check: () => Promise<boolean>, ms = 8000) => {
    const deadline = Date.now() + ms;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  };

  it('pushes OTLP gRPC every second and exposes the collector\'s metric names, under the load generator', async () => {
    writeFileSync(join(dir, BUNDLE_FILE), bundle);
    // A stand-in OTLP gRPC receiver: records each Export call and answers OK.
    const exports: { path: string; body: Buffer }[] = [];
    otlp = createH2Server();
    otlp.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        exports.push({ path: String(headers[':path']), body: Buffer.concat(chunks) });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    });
    const otlpPort = await freePort();
    await new Promise<void>((r) => otlp!.listen(otlpPort, '127.0.0.1', r));

    const [httpPort, metricsPort, healthPort] = [await freePort(), await freePort(), await freePort()];
    const serviceOutput = start({
      DEMO_ROLE: 'service', SERVICE_NAME: 'chat-transport', LISTEN_PORT: String(httpPort), METRICS_PORT: String(metricsPort),
      OPENTELEMETRY_COLLECTOR_URL: `http://127.0.0.1:${otlpPort}`, WEBSOCKET_GAUGE: 'websocket_hub_active_connections',
      EXPORT_INTERVAL_MILLIS: '500',
    });
    await waitFor('the service', async () => (await fetchText(`http://127.0.0.1:${httpPort}/healthz`)) === 'ok');
    start({
      DEMO_ROLE: 'loadgen', TARGETS: JSON.stringify([{ name: 'chat-transport', url: `http://127.0.0.1:${httpPort}` }]),
      RPS_PER_SERVICE: '50', MAX_WEBSOCKET_CONNECTIONS: '5', HEALTH_PORT: String(healthPort),
    });

    const metrics = () => fetchText(`http://127.0.0.1:${metricsPort}/metrics`);
    await waitFor('requests and WebSocket connections in /metrics', async () => {
      const text = await metrics();
      return /http_server_duration_milliseconds_count\{[^}]*http_target="\/transportation\/messages\/send"/.test(text)
        && /^websocket_hub_active_connections\{[^}]*\} [1-9]/m.test(text);
    });
    const text = await metrics();
    // The collector's names and the contract's labels (pull services must expose the same).
    expect(text).toMatch(/http_server_duration_milliseconds_bucket\{[^}]*http_method="POST"[^}]*http_status_code="200"[^}]*http_target="\/transportation\/messages\/send"[^}]*le="250"\}/);
    expect(text).toMatch(/http_server_duration_milliseconds_count\{[^}]*http_server_name="127\.0\.0\.1:\d+"[^}]*net_host_port="\d+"/);
    expect(text).toMatch(/^http_server_active_requests\{/m);

    const full = (e: { body: Buffer }) => e.body.includes('http.server.duration') && e.body.includes('websocket_hub_active_connections');
    await waitFor('OTLP exports', async () => exports.length >= 2 && exports.some(full));
    const paths = new Set(exports.map((e) => e.path));
    expect([...paths]).toEqual(['/opentelemetry.proto.collector.metrics.v1.MetricsService/Export']);
    const last = exports.find(full)!.body;
    for (const s of ['http.server.duration', 'http.target', 'http.status_code', 'websocket_hub_active_connections', 'service.name']) {
      expect(last.includes(s)).toBe(true);
    }
    expect(await fetchText(`http://127.0.0.1:${healthPort}/healthz`)).toBe('ok');
    expect(serviceOutput()).not.toMatch(/error/i);
  }, 20000);
});
