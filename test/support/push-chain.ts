/**
 * The push chain with every program real: chat-service pods (test/chat-service/app.py, one process
 * per pod, each in a network namespace of its own with its own address) -> the real collector
 * (otelcol-chat) running the chart's ConfigMap config, k8sattributes reading pods from a real
 * kube-apiserver with the collector ServiceAccount's token -> the real Prometheus running the
 * configuration the real Prometheus Operator generated from the chart's ServiceMonitors and
 * PrometheusRules (made runnable by operator-config.ts, as test/cluster/ does), discovering the
 * collector through EndpointSlices.
 *
 * What a cluster would do and nothing here does is done by this file, and only that: create the
 * Pod objects (a ReplicaSet's job) and patch their status with the address (the kubelet's and
 * CNI's), create the collector's EndpointSlices (the EndpointSlice controller's) and the namespaces'
 * `default` ServiceAccounts (the ServiceAccount controller's), and give each pod a network namespace
 * with a default route (the CNI's). Everything the chart decides comes from the synthesized objects.
 *
 * Why a network namespace per pod: k8sattributes finds a sender's pod by the peer address of its
 * OTLP connection. Processes sharing one namespace with several addresses all connect from its
 * primary address (the kernel picks the source; the OTLP gRPC client cannot bind one), so each pod
 * gets its own namespace (test-hosts.ts, one address each) and reaches the collector, which listens
 * on a gateway address on this host, through its own gateway.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse, stringify } from 'yaml';
import { ChartConfig } from '../../lib/config';
import { NAMES } from '../../lib/labels';
import { FIELD_MANAGER } from '../../scripts/deploy/plan';
import { binariesUnavailable, goAvailable, REQUIRE_BINARIES } from './binaries';
import { ChatService, ChatServiceKind, chatServiceUnavailable, ChatWebSocket } from './chat-service';
import { chartCollectorConfigYaml, chartCollectorPorts, COLLECTOR_BINARIES, CollectorConfig, prometheusExporterKeys, RunningCollector } from './collector';
import { CONTROL_PLANE_BINARIES, ControlPlane } from './control-plane';
import { operatorCrdFiles } from './crds';
import { K8sObject, synthCharts } from './manifests';
import { Operator } from './operator';
import { CollectorReplica, CollectorReplicaSet, ServiceProxy, serviceProxyUnavailable } from './collector-replicas';
import { createRunningPod, podObject } from './fake-pods';
import { decodeOperatorConfig, startPrometheusOnOperatorConfig } from './operator-config';
import { until } from './process';
import { PROMETHEUS_BINARIES, PrometheusServer } from './prometheus';
import { createTestHosts, TestHosts, testHostsUnavailable } from './test-hosts';

export const CHAIN_BINARIES = [...CONTROL_PLANE_BINARIES, 'prometheus-operator', ...PROMETHEUS_BINARIES, ...COLLECTOR_BINARIES] as const;

/**
 * `describe` for the chain: skips with one line naming what is missing (binaries, `moreBinaries`
 * such as Thanos's, the chat service's virtualenv, Go for the operator's CRDs, network namespaces); under
 * CHAT_MONITORING_REQUIRE_BINARIES=1 a missing piece fails instead.
 */
export function describeWithChain(name: string, body: () => void, moreBinaries: readonly string[] = []): void {
  const reasons = [binariesUnavailable([...CHAIN_BINARIES, ...moreBinaries]), chatServiceUnavailable()].filter((r): r is string => !!r);
  if (!goAvailable()) reasons.push('Go is not installed; it reads the operator CRDs at the pinned version (install Go >= 1.26 from https://go.dev/dl/)');
  const netns = testHostsUnavailable();
  if (netns) reasons.push(netns);
  const proxy = serviceProxyUnavailable();
  if (proxy) reasons.push(proxy);
  if (reasons.length && REQUIRE_BINARIES) throw new Error(`CHAT_MONITORING_REQUIRE_BINARIES=1 but ${reasons.join('; ')}`);
  if (reasons.length) {
    describe(name, () => {
      it.skip(`skipped: ${reasons.join('; ')}`, () => undefined);
    });
    return;
  }
  describe(name, body);
}

/** A Go duration as the collector and Prometheus write them ("2m", "30s", "1m30s", "500ms") in ms. */
export function durationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  const parts = [...String(text).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== String(text)) throw new Error(`not a duration: ${text}`);
  return parts.reduce((a, p) => a + Number(p[1]) * units[p[2]], 0);
}

/** A pod's network: a namespace of its own holding one address, with a default route to this host. */
export interface PodHost {
  readonly netns: string;
  readonly address: string;
  /** This host's end of the pod's veth. */
  readonly gateway: string;
  remove(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/**
 * test-hosts.ts picks each namespace's /24 at random; two on the same /24 would break routing, so
 * one whose gateway this host already has on another interface is made again.
 */
function distinctTestHosts(count: number): TestHosts {
  for (let attempt = 0; attempt < 20; attempt++) {
    const hosts = createTestHosts(count);
    const holders = ip('-o', '-4', 'addr', 'show').split('\n').filter((l) => l.includes(` ${hosts.gateway}/`));
    if (holders.length === 1) return hosts;
    hosts.remove();
  }
  throw new Error('no free 10.251.x.0/24 for a test host after 20 attempts');
}

export function createPodHost(): PodHost {
  const hosts = createPodNetwork(1);
  return { netns: hosts.netns, address: hosts.addresses[0], gateway: hosts.gateway, remove: () => hosts.remove() };
}

/**
 * A network namespace holding `count` pod addresses, with a default route to this host: a sender
 * picks its pod's address as the source (curl --interface), where one process per pod is too much.
 */
export function createPodNetwork(count: number): TestHosts {
  const hosts = distinctTestHosts(count);
  try {
    ip('netns', 'exec', hosts.netns, 'ip', 'route', 'add', 'default', 'via', hosts.gateway);
  } catch (e) {
    hosts.remove();
    throw e;
  }
  return hosts;
}

/** This host's address for a listener pods reach through their default routes (a veth of its own). */
export function createHostAddress(): { address: string; remove(): void } {
  const hosts = distinctTestHosts(0);
  return { address: hosts.gateway, remove: () => hosts.remove() };
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** A chat-service pod: its Pod object in the API server and its process in its own network namespace. */
export interface ChatPodSpec {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly kind: ChatServiceKind;
  /** OTEL_SEMCONV_STABILITY_OPT_IN=http */
  readonly stable?: boolean;
  /** transport's SERVICE_NAME */
  readonly serviceName?: string;
}

/** The port every chat-service container listens on (each pod has its own address, as in a cluster). */
export const CHAT_POD_PORT = 8080;

export class ChatPod {
  private process: ChatService | undefined;
  /** When the process was last stopped or killed (ms). */
  stoppedAt: number | undefined;

  constructor(readonly spec: ChatPodSpec, readonly host: PodHost, private readonly collectorUrl: string) {}

  get name(): string {
    return this.spec.name;
  }

  get address(): string {
    return this.host.address;
  }

  get service(): ChatService {
    if (!this.process) throw new Error(`pod ${this.name} has no running process`);
    return this.process;
  }

  get running(): boolean {
    return !!this.process?.running;
  }

  /** Starts (or starts again) the container's process: same pod, same address. */
  async start(): Promise<void> {
    if (this.process?.running) throw new Error(`pod ${this.name} is already running`);
    this.process = await ChatService.start({
      kind: this.spec.kind,
      collectorUrl: this.collectorUrl,
      host: this.host.address,
      port: CHAT_POD_PORT,
      netns: this.host.netns,
      stable: this.spec.stable,
      serviceName: this.spec.serviceName,
    });
  }

  /** SIGTERM: uvicorn shuts down and the SDK exports a last time. */
  async stop(): Promise<void> {
    await this.process?.stop();
    this.stoppedAt = Date.now();
  }

  /** SIGKILL: gone without a last export (a node lost, an OOM kill). */
  async kill(): Promise<void> {
    const pid = this.process?.pid;
    if (pid !== undefined && this.process?.running) process.kill(pid, 'SIGKILL');
    await this.process?.stop();
    this.stoppedAt = Date.now();
  }

  openWebSocket(): Promise<ChatWebSocket> {
    return this.service.openWebSocket();
  }
}

export interface ChainOptions {
  /** The chart config whose synthesized objects are applied and run. */
  readonly config: ChartConfig;
  /** Namespaces the chart does not create that test pods go into. */
  readonly extraNamespaces?: readonly string[];
  /**
   * Whether the operator and Prometheus run too; without them the chain ends at the collector's
   * exporters (test/chain/collector-churn.chain.test.ts).
   * @default true
   */
  readonly prometheus?: boolean;
  /**
   * How many Prometheus processes run the generated configuration, each as that pod of the
   * operator's StatefulSet (its own `prometheus_replica`); at most the StatefulSet's replicas.
   * @default 1
   */
  readonly prometheusReplicas?: number;
  /**
   * More flags for every Prometheus replica, given the chain once the operator has reconciled (its
   * StatefulSet readable) and the replica's TSDB directory: one suite's own settings. @default none
   */
  readonly prometheusArgs?: (chain: PushChain, tsdbPath: string) => readonly string[];
}

/** The whole chain; `start` brings it up in order and undoes everything on failure. */
export class PushChain {
  private readonly cleanups: (() => Promise<void> | void)[] = [];
  readonly pods: ChatPod[] = [];
  cp!: ControlPlane;
  /** The collector Deployment's replicas. */
  collectors!: CollectorReplicaSet;
  /** The OTLP Service as kube-proxy makes it: each pod's connections to one replica. */
  otlp!: ServiceProxy;
  operator!: Operator;
  /** The first Prometheus replica (pod 0 of the StatefulSet). */
  prometheus!: PrometheusServer;
  /** Every Prometheus replica started, in pod order (ChainOptions.prometheusReplicas). */
  readonly prometheusServers: PrometheusServer[] = [];
  /** The Prometheus config as the operator generated it (before adaptOperatorConfig). */
  generatedConfig!: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The collector config as the chart's ConfigMap holds it. */
  readonly collectorConfig: CollectorConfig;
  readonly timings: Record<string, number> = {};
  private readonly workdir: string;

  private constructor(readonly config: ChartConfig, readonly objects: K8sObject[], private readonly charts: Map<string, K8sObject[]>) {
    this.collectorConfig = parse(chartCollectorConfigYaml(config));
    this.workdir = mkdtempSync(join(tmpdir(), 'chat-monitoring-chain-'));
    this.cleanups.push(() => rmSync(this.workdir, { recursive: true, force: true }));
  }

  of(kind: string): K8sObject[] {
    return this.objects.filter((o) => o.kind === kind);
  }

  one(kind: string, name?: string): K8sObject {
    const found = this.of(kind).filter((o) => name === undefined || o.metadata.name === name);
    if (found.length !== 1) throw new Error(`the chart holds ${found.length} ${kind}${name ? ` named ${name}` : ''} objects, expected 1`);
    return found[0];
  }

  /** Every rule of every PrometheusRule in the chart. */
  get rules(): { record?: string; alert?: string; expr: string; labels?: Record<string, string> }[] {
    return this.of('PrometheusRule').flatMap((o) => o.spec.groups.flatMap((g: { rules: { record?: string; alert?: string; expr: string }[] }) => g.rules));
  }

  /** The collector's Deployment: the one mounting its ConfigMap. */
  get collectorDeployment(): K8sObject {
    const configMap = `${NAMES.collector}-config`;
    const found = this.of('Deployment').filter((d) => (d.spec.template.spec.volumes ?? []).some((v: { configMap?: { name: string } }) => v.configMap?.name === configMap));
    if (found.length !== 1) throw new Error(`${found.length} Deployments mount ${configMap}`);
    return found[0];
  }

  /** The Services in front of the collector's pods (what its ServiceMonitors select). */
  get collectorServices(): K8sObject[] {
    const d = this.collectorDeployment;
    return this.of('Service').filter((s) => s.metadata.namespace === d.metadata.namespace && matches(s.spec.selector, d.spec.template.metadata.labels));
  }

  /** The ServiceMonitors that select a collector Service. */
  get collectorServiceMonitors(): K8sObject[] {
    const services = this.collectorServices;
    return this.of('ServiceMonitor').filter((m) => services.some((s) =>
      (m.spec.namespaceSelector?.matchNames ?? [m.metadata.namespace]).includes(s.metadata.namespace) && matches(m.spec.selector.matchLabels, s.metadata.labels)));
  }

  /** The collector's metric_expiration (ms), from its config: the longest of its prometheus exporters' (5m where unset, the exporter's default). */
  get metricExpirationMs(): number {
    const keys = prometheusExporterKeys(this.collectorConfig);
    if (keys.length === 0) throw new Error('the collector config has no prometheus exporter');
    return Math.max(...keys.map((k) => durationMs(this.collectorConfig.exporters[k].metric_expiration ?? '5m')));
  }

  /** The longest scrape interval of the generated config's jobs (ms). */
  get scrapeIntervalMs(): number {
    const global = this.generatedConfig.global?.scrape_interval ?? '1m';
    return Math.max(...(this.generatedConfig.scrape_configs as { scrape_interval?: string }[]).map((j) => durationMs(j.scrape_interval ?? global)));
  }

  get evaluationIntervalMs(): number {
    return durationMs(this.generatedConfig.global?.evaluation_interval ?? '1m');
  }

  static async start(options: ChainOptions): Promise<PushChain> {
    const charts = synthCharts(options.config);
    const chain = new PushChain(options.config, [...charts.values()].flat(), charts);
    try {
      await chain.bringUp(options);
      return chain;
    } catch (e) {
      await chain.stop();
      throw e;
    }
  }

  private async timed<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    const started = Date.now();
    const r = await fn();
    this.timings[what] = Date.now() - started;
    return r;
  }

  private async bringUp(options: ChainOptions): Promise<void> {
    this.cp = await this.timed('control plane', () => ControlPlane.start());
    this.cleanups.push(() => this.cp.stop());
    const admin = this.cp.admin;

    await this.timed('apply', () => {
      for (const f of operatorCrdFiles()) admin.ok(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', f]);
      admin.ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
      // The chart in its file order, as `npm run deploy` applies dist/.
      for (const [chart, objects] of this.charts) {
        const file = join(this.workdir, `${chart}.yaml`);
        writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
        admin.ok(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', file]);
      }
      for (const ns of options.extraNamespaces ?? []) admin.ok(['create', 'namespace', ns]);
      // The ServiceAccount controller's work: a `default` ServiceAccount where test pods go.
      const podNamespaces = new Set([...this.config.services.map((s) => s.namespace), ...(options.extraNamespaces ?? [])]);
      for (const ns of podNamespaces) {
        const r = admin.run(['create', 'serviceaccount', 'default', '-n', ns]);
        if (r.status !== 0 && !/AlreadyExists/.test(r.stderr)) throw new Error(`default ServiceAccount in ${ns}: ${r.stderr}`);
      }
    });

    // The collector: as many replicas as its Deployment asks for, each a Pod from its template whose
    // podIP is an address of this host, with its process there at the chart's ports; EndpointSlices
    // for its Services list them all (collector-replicas.ts).
    const deployment = this.collectorDeployment;
    const ns = deployment.metadata.namespace!;
    const ports = chartCollectorPorts(this.collectorConfig);
    const containerPorts: { containerPort: number }[] = deployment.spec.template.spec.containers.flatMap((c: { ports?: unknown[] }) => c.ports ?? []);
    const configPorts = [...new Set([ports.otlpGrpc, ports.otlpHttp, ports.selfMetrics, ports.health, ...Object.values(ports.exporters ?? { prometheus: ports.exporter })])].sort((x, y) => x - y);
    const declared = [...new Set(containerPorts.map((p) => p.containerPort))].sort((x, y) => x - y);
    if (JSON.stringify(configPorts) !== JSON.stringify(declared)) {
      throw new Error(`the collector config listens on ${configPorts.join(', ')} but its Deployment declares ${declared.join(', ')}`);
    }
    const hash = templateHash();
    this.collectors = new CollectorReplicaSet({
      cp: this.cp,
      deployment,
      services: this.collectorServices,
      config: this.collectorConfig,
      ports,
      kubeconfig: this.cp.serviceAccountKubeconfig(ns, deployment.spec.template.spec.serviceAccountName),
      newAddress: createHostAddress,
      podName: () => podName(deployment.metadata.name, hash),
    });
    this.cleanups.push(() => this.collectors.stop());
    const replicas: number = deployment.spec.replicas ?? 1;
    await this.timed('collector', async () => {
      for (let i = 0; i < replicas; i++) await this.collectors.add();
    });
    // Pods send OTLP to the OTLP Service's ClusterIP, which the API server allocated.
    const otlpService = this.collectorServices.find((svc) => svc.spec.ports.some((p: { targetPort: string | number }) => p.targetPort === 'otlp-grpc'));
    if (!otlpService) throw new Error('no collector Service exposes the otlp-grpc port');
    const clusterIp = admin.json<K8sObject>(['get', 'service', otlpService.metadata.name, '-n', ns]).spec.clusterIP;
    this.otlp = new ServiceProxy(clusterIp, ports.otlpGrpc);
    if (options.prometheus === false) return;

    // The operator, as its own ServiceAccount, and Prometheus on what it generates.
    const operatorDeployment = this.of('Deployment').find((d) => d.spec.template.spec.containers.some((c: { args?: string[] }) =>
      (c.args ?? []).some((a) => a.startsWith('--prometheus-config-reloader='))));
    if (!operatorDeployment) throw new Error('no operator Deployment in the chart');
    this.operator = await this.timed('operator', () => Operator.start({
      deploymentArgs: operatorDeployment.spec.template.spec.containers[0].args,
      kubeconfig: this.cp.serviceAccountKubeconfig(operatorDeployment.metadata.namespace!, operatorDeployment.spec.template.spec.serviceAccountName),
    }));
    this.cleanups.push(() => this.operator.stop());
    const prometheusCr = this.one('Prometheus');
    const stackNs = prometheusCr.metadata.namespace!;
    const secretName = `prometheus-${prometheusCr.metadata.name}`;
    const monitors = this.collectorServiceMonitors;
    if (monitors.length === 0) throw new Error('no ServiceMonitor selects the collector');
    const ruleNames = this.of('PrometheusRule').map((r) => `${r.metadata.namespace}-${r.metadata.name}-`);
    await this.timed('operator reconcile', () => until('the operator\'s config Secret with every collector ServiceMonitor and rule ConfigMaps with every PrometheusRule', () => {
      const secret = admin.run(['get', 'secret', secretName, '-n', stackNs, '-o', 'json']);
      if (secret.status !== 0) return undefined;
      const data = (JSON.parse(secret.stdout) as K8sObject).data?.['prometheus.yaml.gz'];
      if (!data) return undefined;
      const jobs = (decodeOperatorConfig(data).scrape_configs ?? []).map((j: { job_name: string }) => j.job_name);
      if (!monitors.every((m) => jobs.some((j: string) => j.startsWith(`serviceMonitor/${m.metadata.namespace}/${m.metadata.name}/`)))) return undefined;
      const maps = admin.json<{ items: K8sObject[] }>(['get', 'configmap', '-n', stackNs, '-l', `prometheus-name=${prometheusCr.metadata.name}`]).items;
      const files = maps.flatMap((m) => Object.keys(m.data ?? {}));
      return ruleNames.every((p) => files.some((f) => f.startsWith(p))) ? true : undefined;
    }, 120_000, 500));
    await this.timed('prometheus', async () => {
      for (let replica = 0; replica < (options.prometheusReplicas ?? 1); replica++) {
        const extraArgs = options.prometheusArgs && ((tsdbPath: string) => options.prometheusArgs!(this, tsdbPath));
        const started = await startPrometheusOnOperatorConfig(this.cp, prometheusCr, this.workdir, replica, extraArgs);
        this.generatedConfig = started.generated;
        this.prometheusServers.push(started.prometheus);
        this.cleanups.push(() => started.prometheus.stop());
      }
    });
    this.prometheus = this.prometheusServers[0];
  }

  /** The first live collector replica (with one replica, the collector). */
  get collector(): RunningCollector {
    const first = this.collectors.replicas[0];
    if (!first) throw new Error('no collector replica is running');
    return first.process;
  }

  get collectorAddress(): string {
    return this.collectors.replicas[0].address;
  }

  get collectorPodName(): string {
    return this.collectors.replicas[0].podName;
  }

  /**
   * The live replica the pod's connection is on now: the one that received its newest point (read
   * from each replica's exporter for `service`). Its new connections go to replicaOf(), which
   * differs after the Service's endpoints changed and before the pod reconnects.
   */
  async replicaServing(pod: ChatPod, service: string): Promise<CollectorReplica | undefined> {
    const newest = await Promise.all(this.collectors.replicas.map(async (r) => ({ r, newest: await newestPointAt(r, pod, service) })));
    const best = newest.sort((a, b) => b.newest - a.newest)[0];
    return best && best.newest > 0 ? best.r : undefined;
  }

  /** The live replica a pod's new OTLP connections go to. */
  replicaOf(pod: ChatPod): CollectorReplica | undefined {
    const target = this.otlp.targetOf(pod.host);
    return this.collectors.replicas.find((r) => r.address === target);
  }

  /** kube-proxy after the endpoints changed: the pods' new connections round-robin over the live replicas. */
  private rebalance(): void {
    this.spread(this.pods.filter((p) => p.running), this.collectors.replicas);
  }

  /** The pods' new connections round-robin over `replicas`. */
  private spread(pods: readonly ChatPod[], replicas: readonly CollectorReplica[]): void {
    pods.forEach((p, i) => this.otlp.route(p.host, replicas[i % replicas.length].address));
  }

  /** One more collector replica (its ReplicaSet scaling up); pods reach it once they reconnect. */
  async addCollectorReplica(): Promise<CollectorReplica> {
    const replica = await this.collectors.add();
    this.rebalance();
    return replica;
  }

  /** A replica gone (scaled down: SIGTERM; lost: SIGKILL): out of the endpoints first, then stopped. */
  async removeCollectorReplica(replica: CollectorReplica, how: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const others = this.collectors.replicas.filter((r) => r !== replica);
    if (others.length === 0) throw new Error('the last collector replica cannot go');
    // kube-proxy drops the endpoint: the pods' reconnects go to the others.
    this.spread(this.pods.filter((p) => this.otlp.targetOf(p.host) === replica.address), others);
    await this.collectors.remove(replica, how);
  }

  /** Moves a pod's OTLP connection to `replica` now (its connection reset, its next one steered there). */
  moveToReplica(pod: ChatPod, replica: CollectorReplica): Promise<void> {
    return this.otlp.move(pod.host, replica.address);
  }

  /** Creates a Pod and does the kubelet's part: Running, Ready, with this podIP. */
  createPod(pod: { namespace: string; name: string; labels: Readonly<Record<string, string>>; spec: unknown }, podIP: string): void {
    createRunningPod(this.cp.admin, podObject(pod), podIP);
  }

  /**
   * A chat-service pod: network namespace, Pod object (restricted-profile spec, the given labels),
   * then the process, sending OTLP to the collector from the pod's address.
   */
  async startPod(spec: ChatPodSpec): Promise<ChatPod> {
    const host = createPodHost();
    this.cleanups.push(() => host.remove());
    const pod = new ChatPod(spec, host, `http://${this.otlp.clusterIp}:${this.otlp.port}`);
    const live = this.collectors.replicas;
    this.otlp.route(host, live[this.pods.length % live.length].address);
    this.createPod({ namespace: spec.namespace, name: spec.name, labels: spec.labels, spec: chatPodSpec(spec.kind) }, host.address);
    this.pods.push(pod);
    this.cleanups.push(() => pod.kill());
    await pod.start();
    return pod;
  }

  /** Deletes the Pod object (the process must be stopped first) and gives its address back. */
  deletePod(pod: ChatPod): void {
    if (pod.running) throw new Error(`pod ${pod.name} still runs`);
    this.cp.admin.ok(['delete', 'pod', pod.name, '-n', pod.spec.namespace, '--wait=false']);
  }

  async stop(): Promise<void> {
    const errors: unknown[] = [];
    for (const c of this.cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  }
}

/** The time (ms) of the newest point of the pod that `replica` exposes for `service`; 0 if none. */
export async function newestPointAt(replica: CollectorReplica, pod: ChatPod, service: string): Promise<number> {
  const port = replica.process.ports.exporters?.[`prometheus/${service}`];
  if (port === undefined) throw new Error(`the collector has no exporter for ${service}`);
  const text = await (await fetch(`http://${replica.address}:${port}/metrics`)).text();
  // `name{labels} value timestamp`: the exporter sends each point's time.
  const times = text.split('\n').filter((l) => l.includes(`pod="${pod.name}"`)).map((l) => Number(/ (\d+)$/.exec(l)?.[1] ?? 0));
  return Math.max(0, ...times);
}

/** A chat-service Pod's spec, as its Deployment would have it (restricted profile, one container). */
export function chatPodSpec(kind: string): Record<string, unknown> {
  return {
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{
      name: kind,
      image: `registry.example/chat-${kind}:test`,
      ports: [{ name: 'http', containerPort: CHAT_POD_PORT }],
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    }],
  };
}

/** A pod-template-hash-like value: nine lowercase letters and digits. */
export const templateHash = () => Math.random().toString(36).slice(2, 11).padEnd(9, 'x');

/** A ReplicaSet-style pod name: <service>-<template hash>-<5 characters>. */
export function podName(service: string, hash: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const suffix = Array.from(randomBytes(5), (b) => alphabet[b % alphabet.length]).join('');
  return `${service}-${hash}-${suffix}`;
}

/** One class of planned requests (test/contract/traffic.ts's RequestClass). */
export interface TrafficClass {
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly latencyMs: number;
}

export interface TrafficService {
  readonly name: string;
  readonly rps: number;
  /** The order requests are sent in (test/contract/traffic.ts's schedule()). */
  readonly order: readonly TrafficClass[];
  /** Pods taking traffic at the start. */
  readonly pods: readonly ChatPod[];
}

/**
 * Open-loop traffic, as test/contract/traffic.ts's driveTraffic but with pods that come and go:
 * every 10 ms each service gets the requests it is due at its rate, in its fixed order,
 * round-robin over the pods that take traffic now (a Service's ready endpoints). A pod is taken
 * out (unroute, waiting for its requests in flight) before it is stopped, as endpoints are.
 */
export class LiveTraffic {
  private readonly routable = new Map<string, ChatPod[]>();
  private readonly inFlight = new Map<ChatPod, Set<Promise<void>>>();
  private readonly sentPer: number[];
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;
  failed = 0;
  /** Requests due while a service had no pod to take them. */
  unroutable = 0;
  /** Requests each pod answered as planned. */
  readonly answered = new Map<ChatPod, number>();
  readonly errors: string[] = [];

  constructor(private readonly services: readonly TrafficService[]) {
    for (const s of services) this.routable.set(s.name, [...s.pods]);
    this.sentPer = services.map(() => 0);
    this.timer = setInterval(() => this.tick(), 10);
  }

  /** Unix seconds when it started. */
  get startTime(): number {
    return this.started / 1000;
  }

  get sent(): number {
    return this.sentPer.reduce((a, b) => a + b, 0);
  }

  private tick(): void {
    const elapsed = Date.now() - this.started;
    this.services.forEach((s, i) => {
      const due = Math.floor((elapsed * s.rps) / 1000);
      const pods = this.routable.get(s.name)!;
      while (this.sentPer[i] < due) {
        const n = this.sentPer[i]++;
        if (pods.length === 0) {
          this.unroutable++;
          continue;
        }
        const c = s.order[n % s.order.length];
        const pod = pods[n % pods.length];
        const inFlight = this.inFlight.get(pod) ?? new Set();
        this.inFlight.set(pod, inFlight);
        const p: Promise<void> = pod.service.request({ method: c.method, path: c.route }, { status: c.status, delayMs: c.latencyMs })
          .then((status) => {
            if (status !== c.status) throw new Error(`${pod.name} ${c.method} ${c.route} answered ${status}, planned ${c.status}`);
            this.answered.set(pod, (this.answered.get(pod) ?? 0) + 1);
          })
          .catch((e: Error) => {
            this.failed++;
            if (this.errors.length < 5) this.errors.push(`${pod.name}: ${e.message}`);
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    });
  }

  /** The pod takes traffic of `service` from now on. */
  route(service: string, pod: ChatPod): void {
    this.routable.get(service)!.push(pod);
  }

  /** The pod takes no more traffic; resolves when its requests in flight are done. */
  async unroute(service: string, pod: ChatPod): Promise<void> {
    const pods = this.routable.get(service)!;
    const i = pods.indexOf(pod);
    if (i >= 0) pods.splice(i, 1);
    await Promise.all([...(this.inFlight.get(pod) ?? [])]);
  }

  /** Stops sending and waits for what is in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight.values()].flatMap((s) => [...s]));
  }
}
