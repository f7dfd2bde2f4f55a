/**
 * The demo workload for a kind cluster: one small chat-like service per configured chat service,
 * instrumented with the OpenTelemetry JS SDK (demo/app/chat-demo.ts), plus a load generator.
 * It is its own chart, synthesized to dist-demo/ by `npm run synth:demo` and applied only by
 * `npm run deploy -- --demo`; dist/ never contains it.
 *
 * Everything that must line up with the monitoring chart is derived from the same config: the
 * pods carry each service's selector labels in its namespace, push services send OTLP gRPC to the
 * collector Service, pull services expose /metrics on the Service port the ServiceMonitor names.
 */
import { createHash } from 'crypto';
import { App, Chart, YamlOutputType } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { COLLECTOR_PORTS } from '../lib/collector/collector-config';
import { ChartConfig, ChatServiceConfig } from '../lib/config';
import { NAMES } from '../lib/labels';
import { resources, restrictedContainer, restrictedPod } from '../lib/security';
import { profileFor } from './app/profiles';
import { BUNDLE_FILE } from './bundle';

/** Pinned runtime: Node 24, the newest LTS line the tests run on (scripts/test-node-versions.sh); the bundle targets node20, the oldest. */
export const DEMO_IMAGE = 'docker.io/library/node:24.21.0-alpine3.24';
/** The node image's unprivileged `node` user. */
export const DEMO_UID = 1000;
export const DEMO_PART_OF = 'chat-demo';
export const LOADGEN_NAME = 'chat-demo-loadgen';
const APP_DIR = '/app';
const LOADGEN_HEALTH_PORT = 8080;

/** The URL the chat services push OTLP gRPC to: the collector Service of the monitoring chart. */
export function collectorOtlpUrl(config: ChartConfig): string {
  return `http://${NAMES.collector}.${config.namespace}.svc:${COLLECTOR_PORTS.otlpGrpc}`;
}

export interface DemoChartProps {
  /** The validated config of the monitoring chart the demo must feed. */
  readonly config: ChartConfig;
  /** The bundled demo program (buildDemoBundle()). */
  readonly bundle: string;
  /** @default DEMO_IMAGE */
  readonly image?: string;
  /** Requests per second the load generator sends to each service. @default 8 */
  readonly rpsPerService?: number;
  /** Most WebSocket connections the load generator holds on a service with a connection gauge. @default 20 */
  readonly maxWebSocketConnections?: number;
}

const str = (v: string | number) => String(v);
const port = (name: string) => k8s.IntOrString.fromString(name);

function demoLabels(selector: Readonly<Record<string, string>>, component: string): Record<string, string> {
  return { 'app.kubernetes.io/part-of': DEMO_PART_OF, 'app.kubernetes.io/component': component, 'app.kubernetes.io/managed-by': 'cdk8s', ...selector };
}

export class DemoChart extends Chart {
  constructor(scope: Construct, id: string, props: DemoChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { config, bundle } = props;
    const image = props.image ?? DEMO_IMAGE;
    const checksum = createHash('sha256').update(bundle).digest('hex').slice(0, 16);
    const namespaces = [...new Set(config.services.map((s) => s.namespace))];
    const loadgenNamespace = namespaces[0];

    for (const namespace of namespaces) {
      new k8s.KubeConfigMap(this, `app-${namespace}`, {
        metadata: { name: 'chat-demo-app', namespace, labels: demoLabels({ 'app.kubernetes.io/name': 'chat-demo-app' }, 'demo-app') },
        data: { [BUNDLE_FILE]: bundle },
      });
    }

    const podSpec = (container: k8s.Container): k8s.PodSpec => ({
      automountServiceAccountToken: false,
      securityContext: restrictedPod(DEMO_UID),
      containers: [container],
      volumes: [
        { name: 'app', configMap: { name: 'chat-demo-app' } },
        { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
      ],
      terminationGracePeriodSeconds: 10,
    });
    const baseContainer = (name: string): k8s.Container => ({
      name,
      image,
      imagePullPolicy: 'IfNotPresent',
      command: ['node', `${APP_DIR}/${BUNDLE_FILE}`],
      securityContext: restrictedContainer(),
      resources: resources({ cpuRequest: '20m', memoryRequest: '64Mi', cpuLimit: '250m', memoryLimit: '192Mi' }),
      volumeMounts: [{ name: 'app', mountPath: APP_DIR, readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
    });

    const targets: { name: string; url: string }[] = [];
    for (const service of config.services) {
      targets.push({ name: service.name, url: `http://${service.name}.${service.namespace}.svc:${profileFor(service.name).port}` });
      this.service(service, config, podSpec, baseContainer, checksum);
    }

    const loadgenSelector = { 'app.kubernetes.io/name': LOADGEN_NAME };
    const labels = demoLabels(loadgenSelector, 'load-generator');
    new k8s.KubeDeployment(this, 'loadgen', {
      metadata: { name: LOADGEN_NAME, namespace: loadgenNamespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: loadgenSelector },
        template: {
          metadata: { labels, annotations: { 'chat-demo/bundle-sha256': checksum } },
          spec: podSpec({
            ...baseContainer('loadgen'),
            env: [
              { name: 'DEMO_ROLE', value: 'loadgen' },
              { name: 'DEMO_MAIN', value: '1' },
              { name: 'TARGETS', value: JSON.stringify(targets) },
              { name: 'RPS_PER_SERVICE', value: str(props.rpsPerService ?? 8) },
              { name: 'MAX_WEBSOCKET_CONNECTIONS', value: str(props.maxWebSocketConnections ?? 20) },
              { name: 'HEALTH_PORT', value: str(LOADGEN_HEALTH_PORT) },
              { name: 'NODE_OPTIONS', value: '--max-old-space-size=96' },
            ],
            ports: [{ name: 'health', containerPort: LOADGEN_HEALTH_PORT }],
            readinessProbe: { httpGet: { path: '/healthz', port: port('health') }, periodSeconds: 10 },
            livenessProbe: { httpGet: { path: '/healthz', port: port('health') }, periodSeconds: 20, failureThreshold: 3 },
          }),
        },
      },
    });
  }

  private service(
    service: ChatServiceConfig,
    config: ChartConfig,
    podSpec: (c: k8s.Container) => k8s.PodSpec,
    baseContainer: (name: string) => k8s.Container,
    checksum: string,
  ) {
    const profile = profileFor(service.name);
    const labels = demoLabels(service.selector, 'demo-service');
    const meta = { name: service.name, namespace: service.namespace, labels };
    const pull = service.exportMode === 'pull' && service.metricsPort !== undefined;
    const env: k8s.EnvVar[] = [
      { name: 'DEMO_ROLE', value: 'service' },
      { name: 'DEMO_MAIN', value: '1' },
      { name: 'SERVICE_NAME', value: service.name },
      { name: 'CONVENTION', value: service.convention },
      { name: 'LISTEN_PORT', value: str(profile.port) },
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=96' },
    ];
    if (pull) env.push({ name: 'METRICS_PORT', value: str(service.metricsPort!.port) });
    // The variable the real services read (the OTEL_EXPORTER_OTLP_* ones are ignored by them).
    else env.push({ name: 'OPENTELEMETRY_COLLECTOR_URL', value: collectorOtlpUrl(config) });
    if (service.websocketGauge) env.push({ name: 'WEBSOCKET_GAUGE', value: service.websocketGauge });

    const ports: k8s.ContainerPort[] = [{ name: 'http', containerPort: profile.port }];
    if (pull) ports.push({ name: service.metricsPort!.name, containerPort: service.metricsPort!.port });

    new k8s.KubeDeployment(this, `${service.name}-deployment`, {
      metadata: meta,
      spec: {
        replicas: 1,
        selector: { matchLabels: { ...service.selector } },
        template: {
          metadata: { labels, annotations: { 'chat-demo/bundle-sha256': checksum } },
          spec: podSpec({
            ...baseContainer('app'),
            env,
            ports,
            readinessProbe: { httpGet: { path: '/healthz', port: port('http') }, periodSeconds: 5 },
            livenessProbe: { httpGet: { path: '/healthz', port: port('http') }, periodSeconds: 20, failureThreshold: 3 },
          }),
        },
      },
    });

    const servicePorts: k8s.ServicePort[] = [{ name: 'http', port: profile.port, targetPort: port('http') }];
    if (pull) servicePorts.push({ name: service.metricsPort!.name, port: service.metricsPort!.port, targetPort: port(service.metricsPort!.name) });
    new k8s.KubeService(this, `${service.name}-service`, {
      metadata: meta,
      spec: { selector: { ...service.selector }, ports: servicePorts },
    });
  }
}

/** Synthesizes the demo chart into `outdir` (one file); returns its path. */
export function synthesizeDemo(props: DemoChartProps, outdir: string): string {
  const app = new App({ outdir, outputFileExtension: '.k8s.yaml', yamlOutputType: YamlOutputType.FILE_PER_CHART });
  new DemoChart(app, 'chat-demo', props);
  app.synth();
  return `${outdir}/chat-demo.k8s.yaml`;
}
