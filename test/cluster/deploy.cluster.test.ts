/**
 * `npm run deploy`, unchanged, on a bare simulated cluster (test/support/cluster.ts): the newest
 * Kubernetes's API server, controller manager and scheduler, kwok playing the kubelet of kind-sized
 * nodes, and the real Prometheus Operator run as its own ServiceAccount once deploy has created it,
 * so the operator's StatefulSets exist. No container runs (pods are Running and Ready as kwok's
 * stages say); the chain tier runs the real processes.
 *
 * Expectations come from dist/ and the config it was synthesized from (lib/chart-config.ts).
 */
import { spawn, spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse } from 'yaml';
import { CHART_CONFIG } from '../../lib/chart-config';
import { validateConfig } from '../../lib/config';
import { cpuMillis, durationSeconds } from '../../lib/validation';
import { alertmanagerStatefulSet, CRD_URL, prometheusStatefulSets, REQUEST_TIMEOUT_SECONDS } from '../../scripts/deploy/plan';
import { binaryOf, binaryPath, describeWithBinaries, REPO_ROOT } from '../support/binaries';
import { CLUSTER_BINARIES, CLUSTER_START_TIMEOUT_MS, SimulatedCluster } from '../support/cluster';
import { ApiServerRelay, kindSizedNode, kubectlWithReleaseCrds } from '../support/cluster-stand-ins';
import { operatorCrdFiles } from '../support/crds';
import { K8sObject, readDist } from '../support/manifests';
import { Operator } from '../support/operator';
import { sleep, until, untilTrue } from '../support/process';

const DIST = join(REPO_ROOT, 'dist');
const files = readDist(DIST);
const objects = files.flatMap((f) => f.objects);
const of = (kind: string) => objects.filter((o) => o.kind === kind);
const config = validateConfig(CHART_CONFIG);
const stackNamespace = of('Prometheus')[0].metadata.namespace!;
const operatorDeployment = of('Deployment').find((d) => d.spec.template.spec.containers.some((c: { args?: string[] }) =>
  (c.args ?? []).some((a) => a.startsWith('--prometheus-config-reloader='))))!;
/** Where kind-config.yaml publishes Grafana's NodePort on the host (the URL deploy prints), if it does. */
const publishedGrafana = (parse(readFileSync(join(REPO_ROOT, 'kind-config.yaml'), 'utf8')) as { nodes: { extraPortMappings?: { containerPort: number; hostPort: number }[] }[] })
  .nodes.flatMap((n) => n.extraPortMappings ?? []).find((m) => m.containerPort === config.grafanaNodePort);
/** The StatefulSets the operator makes: one per Prometheus shard, one per Alertmanager. */
const operatorStatefulSets = [
  ...of('Prometheus').flatMap((p) => prometheusStatefulSets(p).map((name) => ({ name, replicas: p.spec.replicas ?? 1 }))),
  ...of('Alertmanager').map((a) => ({ name: alertmanagerStatefulSet(a), replicas: a.spec.replicas ?? 1 })),
];

interface DeployRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** `npm run deploy -- args` as a user runs it, with the harness's kubeconfig and kubectl; its output so far, and its end. */
function startDeploy(args: readonly string[], env: NodeJS.ProcessEnv): { stdout: () => string; done: Promise<DeployRun> } {
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  const done = new Promise<DeployRun>((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'deploy', '--', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
  return { stdout: () => stdout, done };
}

const runDeploy = (args: readonly string[], env: NodeJS.ProcessEnv) => startDeploy(args, env).done;

/** An object as stored: its metadata has a resourceVersion. */
type Live = K8sObject & { metadata: { resourceVersion: string; generation?: number; deletionTimestamp?: string } };

/** The `N` of deploy's `[i/N]` step headers. */
const stepNumberTotal = (stdout: string) => Number(/^\[\d+\/(\d+)\]/m.exec(stdout)![1]);

/** A Deployment's pod selector for `kubectl -l`. */
const selectorOf = (d: K8sObject) => Object.entries(d.spec.selector.matchLabels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');

/** Whether `labels` has every label of `selector`. */
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The replicas of the workload whose pods a PodDisruptionBudget selects: a Deployment's, or the operator's Prometheus's or Alertmanager's. */
function replicasCoveredBy(pdb: K8sObject): number {
  const selector = pdb.spec.selector.matchLabels as Record<string, string>;
  const covered = [
    ...of('Deployment').filter((d) => matches(selector, d.spec.template.metadata.labels)),
    ...[...of('Prometheus'), ...of('Alertmanager')].filter((o) => matches(selector, o.spec.podMetadata?.labels)),
  ].filter((o) => o.metadata.namespace === pdb.metadata.namespace);
  if (covered.length !== 1) throw new Error(`PodDisruptionBudget ${pdb.metadata.name} selects ${covered.length} workloads of dist/`);
  return covered[0].spec.replicas ?? 1;
}

/** Each `[i/N] title` step of deploy's output with the lines under it. */
function stepsOf(stdout: string): { title: string; body: string }[] {
  return stdout.split(/^\[\d+\/\d+\] /m).slice(1).map((s) => ({ title: s.split('\n')[0], body: s.slice(s.indexOf('\n') + 1) }));
}

/** deploy's last step says where Grafana is: the host URL kind-config.yaml publishes its NodePort on, and the NodePort. */
function expectGrafanaUrl(stdout: string): void {
  const done = stepsOf(stdout).pop()!;
  expect(done.title).toBe('done');
  expect(publishedGrafana).toBeDefined();
  expect(done.body).toContain(`Grafana: http://localhost:${publishedGrafana!.hostPort} (kind; elsewhere NodePort ${config.grafanaNodePort} on any node)`);
}

/**
 * What the waits scripts/deploy.ts documents for a failure leave out, after the moment a test counts
 * from: the start and exit of the few kubectl processes left (each under a second against this local
 * API server) and of deploy's node process.
 */
const PROCESS_STARTS_SECONDS = 5;

describeWithBinaries('npm run deploy on a simulated cluster (controllers, scheduler, kwok nodes)', [...CLUSTER_BINARIES, 'prometheus-operator'], () => {
  let cluster: SimulatedCluster;
  let operator: Operator | undefined;
  let operatorStart: Promise<void>;
  let binDir: string;
  let env: NodeJS.ProcessEnv;
  let first: DeployRun;
  const kubectl = () => cluster.admin;
  const get = <T = K8sObject>(args: readonly string[]) => kubectl().json<T>(args);

  beforeAll(async () => {
    cluster = await SimulatedCluster.start();
    binDir = kubectlWithReleaseCrds(mkdtempSync(join(tmpdir(), 'chat-monitoring-deploy-bin-')), binaryPath(binaryOf('kubernetes', 'kubectl')),
      CRD_URL, operatorCrdFiles());
    const { CHAT_MONITORING_CONFIG, CHAT_MONITORING_DIST, ...rest } = process.env; // eslint-disable-line @typescript-eslint/no-unused-vars
    env = { ...rest, KUBECONFIG: cluster.admin.kubeconfig, PATH: `${binDir}:${process.env.PATH}`, CDK8S_CHECK_UPGRADE: 'false' };
    // The operator's pod "runs" only as kwok's status; its process runs here, as its ServiceAccount,
    // once deploy has applied the operator's file (its account and rights).
    const operatorFile = join(DIST, files.find((f) => f.objects.includes(operatorDeployment))!.file);
    const ns = operatorDeployment.metadata.namespace!;
    const sa = operatorDeployment.spec.template.spec.serviceAccountName;
    operatorStart = (async () => {
      await until(`every object of ${operatorFile}`, () => kubectl().run(['get', '-f', operatorFile, '-o', 'name']).status === 0 || undefined, 900_000, 1000);
      operator = await Operator.start({ deploymentArgs: operatorDeployment.spec.template.spec.containers[0].args, kubeconfig: cluster.controlPlane.serviceAccountKubeconfig(ns, sa) });
    })();
    operatorStart.catch(() => undefined);
    // The cluster's own start bounds its waits and names a slow program; the rest is seconds.
  }, CLUSTER_START_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
    if (binDir) rmSync(binDir, { recursive: true, force: true });
  }, 120_000);

  it('installs the CRDs, namespaces and Grafana Secret, applies dist/, waits for every rollout and prints the Grafana URL, exiting 0', async () => {
    first = await runDeploy([], env);
    await operatorStart;
    console.log(`deploy on a bare cluster: ${first.seconds.toFixed(1)} s`);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const steps = stepsOf(first.stdout);
    // Every step but the last (the summary) said ok.
    expect(steps.slice(0, -1).filter((s) => !/^ {4}ok \(\d+\.\d s\)$/m.test(s.body)).map((s) => s.title)).toEqual([]);
    const waited = steps.map((s) => s.title).filter((t) => t.startsWith('wait for '));
    for (const d of [...of('Deployment'), ...of('StatefulSet')]) expect(waited).toContain(`wait for ${d.kind} ${d.metadata.namespace}/${d.metadata.name}`);
    for (const s of operatorStatefulSets) expect(waited).toContain(`wait for StatefulSet ${stackNamespace}/${s.name}`);
    expectGrafanaUrl(first.stdout);
    expect(steps[steps.length - 1].body).toContain(`kubectl -n ${stackNamespace} get secret ${config.grafanaAdminSecret} -o jsonpath='{.data.admin-password}'`);
  }, 900_000);

  it('the CRDs of the pinned operator are Established', () => {
    const crds = get<{ items: K8sObject[] }>(['get', 'crd']).items;
    expect(crds.length).toBe(operatorCrdFiles().length);
    for (const crd of crds) expect(crd.status.conditions.find((c: { type: string }) => c.type === 'Established')?.status).toBe('True');
  });

  it('the Grafana admin Secret holds a user and a password, which deploy never printed', () => {
    const secret = get(['get', 'secret', config.grafanaAdminSecret, '-n', stackNamespace]);
    const password = Buffer.from(secret.data['admin-password'], 'base64').toString();
    expect(Buffer.from(secret.data['admin-user'], 'base64').toString()).toBe('admin');
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(first.stdout + first.stderr).not.toContain(password);
  });

  it('every object of dist/ exists, every Deployment and operator StatefulSet has all its replicas ready', () => {
    for (const f of files) {
      expect(get<{ items: K8sObject[] }>(['get', '-f', join(DIST, f.file)]).items).toHaveLength(f.objects.length);
    }
    for (const d of of('Deployment')) {
      const live = get(['get', 'deployment', d.metadata.name, '-n', d.metadata.namespace!]);
      expect({ [d.metadata.name]: live.status.readyReplicas }).toEqual({ [d.metadata.name]: d.spec.replicas ?? 1 });
    }
    for (const s of operatorStatefulSets) {
      const live = get(['get', 'statefulset', s.name, '-n', stackNamespace]);
      expect({ [s.name]: live.status.readyReplicas }).toEqual({ [s.name]: s.replicas });
    }
  });

  it('the kind-sized nodes run every pod at an address of the node\'s pod CIDR, with the node\'s hostIP, and every claim is Bound to a volume on that node', () => {
    const nodes = new Map(get<{ items: K8sObject[] }>(['get', 'nodes']).items.map((n) => [n.metadata.name, n]));
    cluster.nodes.forEach((name, i) => {
      const registered = kindSizedNode(name, i);
      expect(nodes.get(name)!.status.capacity).toEqual(registered.status.capacity);
      expect(nodes.get(name)!.status.addresses).toEqual(expect.arrayContaining(registered.status.addresses));
    });
    const pods = get<{ items: K8sObject[] }>(['get', 'pods', '-n', stackNamespace]).items;
    const expectedPods = of('Deployment').reduce((n, d) => n + (d.spec.replicas ?? 1), 0) + operatorStatefulSets.reduce((n, s) => n + s.replicas, 0);
    expect(pods).toHaveLength(expectedPods);
    for (const pod of pods) {
      expect(cluster.nodes).toContain(pod.spec.nodeName);
      expect(pod.status.phase).toBe('Running');
      const [net] = nodes.get(pod.spec.nodeName)!.spec.podCIDR.split('.').slice(0, 3).join('.').split('/');
      expect(pod.status.podIP.startsWith(`${net}.`)).toBe(true);
      expect(pod.status.hostIP).toBe(nodes.get(pod.spec.nodeName)!.status.addresses.find((a: { type: string }) => a.type === 'InternalIP').address);
    }
    expect(cluster.provisioner.lastError).toBeUndefined();
    const claims = get<{ items: K8sObject[] }>(['get', 'pvc', '-n', stackNamespace]).items;
    const expectedClaims = of('PersistentVolumeClaim').length + operatorStatefulSets.reduce((n, s) => n + s.replicas, 0);
    expect(claims).toHaveLength(expectedClaims);
    for (const claim of claims) {
      expect({ [claim.metadata.name]: claim.status.phase }).toEqual({ [claim.metadata.name]: 'Bound' });
      const volume = get(['get', 'pv', claim.spec.volumeName]);
      const user = pods.find((p) => (p.spec.volumes ?? []).some((v: { persistentVolumeClaim?: { claimName: string } }) => v.persistentVolumeClaim?.claimName === claim.metadata.name));
      expect(volume.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values).toEqual([user!.spec.nodeName]);
    }
  });

  it('the scheduler spreads every replicated workload over the nodes (the chart\'s preferred pod anti-affinity, beside the scheduler\'s default spreading): no node holds two of its pods while another holds none', () => {
    const workloads = [
      ...of('Deployment').map((d) => ({ id: `Deployment/${d.metadata.name}`, replicas: d.spec.replicas ?? 1, selector: d.spec.selector.matchLabels })),
      ...operatorStatefulSets.map((x) => ({ id: `StatefulSet/${x.name}`, replicas: x.replicas, selector: get(['get', 'statefulset', x.name, '-n', stackNamespace]).spec.selector.matchLabels })),
    ].filter((w) => w.replicas > 1);
    expect(workloads.map((w) => w.id)).toEqual(expect.arrayContaining(['Deployment/thanos-query', `StatefulSet/${operatorStatefulSets[0].name}`]));
    for (const w of workloads) {
      const selector = Object.entries(w.selector as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
      const onNode = get<{ items: K8sObject[] }>(['get', 'pods', '-n', stackNamespace, '-l', selector]).items.map((p) => p.spec.nodeName);
      const counts = cluster.nodes.map((n) => onNode.filter((x) => x === n).length);
      // Even: replicas over nodes, each node floor or ceil of the share.
      expect({ [w.id]: [onNode.length, Math.max(...counts) - Math.min(...counts) <= 1] }).toEqual({ [w.id]: [w.replicas, true] });
    }
  });

  it('the whole stack, as scheduled, fits on kind\'s one node beside kind\'s own pods: the CPU and memory its pods request (the operator\'s containers included) plus theirs', () => {
    // Stated from kind's node (kubeadm's static pods, CoreDNS's two replicas, kindnet; kube-proxy and
    // the local-path provisioner request nothing): what the scheduler has already given away there.
    const KIND_SYSTEM = { cpuMillis: 250 + 200 + 100 + 100 + 2 * 100 + 100, memoryMiB: 100 + 2 * 70 + 50 };
    const millis = (q?: string) => (q ? cpuMillis(q) : 0);
    const mib = (q?: string) => (!q ? 0 : q.endsWith('Gi') ? Number(q.slice(0, -2)) * 1024 : q.endsWith('Mi') ? Number(q.slice(0, -2)) : q.endsWith('Ki') ? Number(q.slice(0, -2)) / 1024 : Number(q) / 2 ** 20);
    const pods = get<{ items: K8sObject[] }>(['get', 'pods', '-n', stackNamespace]).items;
    const requests = pods.flatMap((p) => p.spec.containers as { resources?: { requests?: Record<string, string> } }[]).map((c) => c.resources?.requests ?? {});
    const stack = { cpuMillis: requests.reduce((a, r) => a + millis(r.cpu), 0), memoryMiB: requests.reduce((a, r) => a + mib(r.memory), 0) };
    const node = kindSizedNode('kind-control-plane', 0).status.allocatable;
    console.log(`stack requests ${stack.cpuMillis}m CPU, ${Math.round(stack.memoryMiB)} MiB over ${pods.length} pods; with kind's own ${stack.cpuMillis + KIND_SYSTEM.cpuMillis}m of ${millis(node.cpu)}m, ${Math.round(stack.memoryMiB + KIND_SYSTEM.memoryMiB)} of ${Math.round(mib(node.memory))} MiB`);
    expect(stack.cpuMillis).toBeGreaterThan(0);
    expect(stack.cpuMillis + KIND_SYSTEM.cpuMillis).toBeLessThanOrEqual(millis(node.cpu));
    expect(stack.memoryMiB + KIND_SYSTEM.memoryMiB).toBeLessThanOrEqual(mib(node.memory));
  });

  it('Grafana\'s Service has the NodePort of the config and an EndpointSlice at its pod\'s address', async () => {
    const service = of('Service').find((s) => s.spec.type === 'NodePort')!;
    const live = get(['get', 'service', service.metadata.name, '-n', stackNamespace]);
    expect(live.spec.ports.map((p: { nodePort: number }) => p.nodePort)).toEqual([config.grafanaNodePort]);
    const podIPs = get<{ items: K8sObject[] }>(['get', 'pods', '-n', stackNamespace, '-l',
      Object.entries(service.spec.selector as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',')]).items.map((p) => p.status.podIP);
    const addresses = await until('Grafana\'s EndpointSlice', () => {
      const slices = get<{ items: K8sObject[] }>(['get', 'endpointslices', '-n', stackNamespace, '-l', `kubernetes.io/service-name=${service.metadata.name}`]).items;
      const ready = slices.flatMap((s) => (s.endpoints ?? []).filter((e: { conditions: { ready: boolean } }) => e.conditions.ready).flatMap((e: { addresses: string[] }) => e.addresses));
      return ready.length ? ready : undefined;
    }, 60_000);
    expect(addresses.sort()).toEqual(podIPs.sort());
  });

  /** The resourceVersion of every object of these manifest files, as stored. */
  const versions = (paths: readonly string[]) => Object.fromEntries(paths.flatMap((p) => {
    const r = get<Live & { items?: Live[] }>(['get', '-f', p]);
    return r.items ?? [r];
  }).map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o.metadata.resourceVersion]));
  const distPaths = files.map((f) => join(DIST, f.file));
  const secretVersion = () => get<Live>(['get', 'secret', config.grafanaAdminSecret, '-n', stackNamespace]).metadata.resourceVersion;

  it('a second run changes nothing: every object of dist/ keeps its resourceVersion, the Secret is kept', async () => {
    const before = versions(distPaths);
    const secretBefore = secretVersion();
    const second = await runDeploy([], env);
    console.log(`deploy again: ${second.seconds.toFixed(1)} s`);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`secret/${config.grafanaAdminSecret} exists: kept`);
    expect(versions(distPaths)).toEqual(before);
    expect(secretVersion()).toBe(secretBefore);
    expectGrafanaUrl(second.stdout);
  }, 900_000);

  it('--demo: also applies the demo workload and waits for its Deployments; run again, it changes nothing', async () => {
    const demoDir = mkdtempSync(join(tmpdir(), 'chat-monitoring-deploy-demo-'));
    const demoEnv = { ...env, CHAT_MONITORING_DEMO_DIST: demoDir };
    try {
      const demo = await runDeploy(['--demo'], demoEnv);
      console.log(`deploy --demo: ${demo.seconds.toFixed(1)} s`);
      // The demo's synth says what it wrote, on stderr; nothing else is there.
      expect(demo.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^chat-demo: wrote /)]);
      expect(demo.code).toBe(0);
      expectGrafanaUrl(demo.stdout);
      const demoObjects = readDist(demoDir).flatMap((f) => f.objects);
      const deployments = demoObjects.filter((o) => o.kind === 'Deployment');
      expect(deployments.length).toBeGreaterThan(0);
      const waited = stepsOf(demo.stdout).map((st) => st.title);
      for (const d of deployments) {
        expect(waited).toContain(`wait for Deployment ${d.metadata.namespace}/${d.metadata.name}`);
        const live = get(['get', 'deployment', d.metadata.name, '-n', d.metadata.namespace!]);
        expect({ [d.metadata.name]: live.status.readyReplicas }).toEqual({ [d.metadata.name]: d.spec.replicas ?? 1 });
      }
      expect(demo.stdout).toContain('Demo traffic is flowing');

      // The same comparison as the bare second run's, over dist/ and the demo's files.
      const paths = [...distPaths, ...readdirSync(demoDir).filter((f) => f.endsWith('.yaml')).map((f) => join(demoDir, f))];
      const before = versions(paths);
      const secretBefore = secretVersion();
      const again = await runDeploy(['--demo'], demoEnv);
      console.log(`deploy --demo again: ${again.seconds.toFixed(1)} s`);
      expect(again.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^chat-demo: wrote /)]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(`secret/${config.grafanaAdminSecret} exists: kept`);
      expect(versions(paths)).toEqual(before);
      expect(secretVersion()).toBe(secretBefore);
      expectGrafanaUrl(again.stdout);
    } finally {
      rmSync(demoDir, { recursive: true, force: true });
    }
  }, 900_000);

  it('a changed collector configuration, synthesized and deployed, rolls the collector\'s pods', async () => {
    const work = mkdtempSync(join(tmpdir(), 'chat-monitoring-deploy-config-'));
    try {
      const collector = of('Deployment').find((d) => d.metadata.name === 'otel-collector')!;
      const ns = collector.metadata.namespace!;
      const podsBefore = get<{ items: K8sObject[] }>(['get', 'pods', '-n', ns, '-l', selectorOf(collector)]).items.map((p) => p.metadata.name);
      // Twice the configured OTLP connection age: a setting of the collector's configuration only.
      const maxConnectionAge = `${2 * durationSeconds(config.collector.maxConnectionAge)}s`;
      const configFile = join(work, 'config.json');
      writeFileSync(configFile, JSON.stringify({ ...CHART_CONFIG, collector: { ...CHART_CONFIG.collector, maxConnectionAge } }));
      const synthEnv = { ...env, CHAT_MONITORING_CONFIG: configFile, CHAT_MONITORING_DIST: join(work, 'dist'), CHAT_MONITORING_DASHBOARDS: join(work, 'dashboards') };
      const synth = spawnSync('npm', ['run', '--silent', 'synth'], { cwd: REPO_ROOT, env: synthEnv, encoding: 'utf8' });
      expect(synth.status).toBe(0);
      const changed = readDist(join(work, 'dist'));
      const changedFiles = changed.filter((f) => JSON.stringify(f.objects) !== JSON.stringify(files.find((g) => g.file === f.file)?.objects)).map((f) => f.file);
      expect(changedFiles).toEqual(['20-otel-collector.k8s.yaml']);

      const run = await runDeploy([], synthEnv);
      console.log(`deploy with a changed collector configuration: ${run.seconds.toFixed(1)} s`);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const live = get(['get', 'deployment', collector.metadata.name, '-n', ns]);
      const template = changed.flatMap((f) => f.objects).find((o) => o.kind === 'Deployment' && o.metadata.name === collector.metadata.name)!.spec.template;
      expect(live.spec.template.metadata.annotations['checksum/config']).toBe(template.metadata.annotations['checksum/config']);
      expect(template.metadata.annotations['checksum/config']).not.toBe(collector.spec.template.metadata.annotations['checksum/config']);
      const podsAfter = await until('only the new collector pods', () => {
        const pods = get<{ items: K8sObject[] }>(['get', 'pods', '-n', ns, '-l', selectorOf(collector)]).items;
        return pods.every((p) => !podsBefore.includes(p.metadata.name)) ? pods : undefined;
      }, 120_000);
      expect(podsAfter).toHaveLength(collector.spec.replicas ?? 1);
      for (const p of podsAfter) expect(p.status.phase).toBe('Running');
    } finally {
      rmSync(work, { recursive: true, force: true });
      // Back to dist/ as committed, for what follows.
      expect((await runDeploy([], env)).code).toBe(0);
    }
  }, 1_200_000);

  it('every PodDisruptionBudget covers its workload\'s pods and allows its maxUnavailable', async () => {
    for (const pdb of of('PodDisruptionBudget')) {
      const replicas = replicasCoveredBy(pdb);
      const status = await until(`PodDisruptionBudget ${pdb.metadata.name} observed`, () => {
        const live = get<Live>(['get', 'pdb', pdb.metadata.name, '-n', pdb.metadata.namespace!]);
        return live.status?.observedGeneration === live.metadata.generation && live.status.expectedPods !== undefined ? live.status : undefined;
      }, 60_000);
      expect({ [pdb.metadata.name]: [status.expectedPods, status.currentHealthy, status.disruptionsAllowed] })
        .toEqual({ [pdb.metadata.name]: [replicas, replicas, pdb.spec.maxUnavailable] });
    }
  });

  it('a node drain evicts only within the PodDisruptionBudgets; pods without a volume move, pods with one wait for their node (kind\'s local volumes)', async () => {
    type Pod = Live & { spec: { nodeName?: string; volumes?: { persistentVolumeClaim?: { claimName: string } }[] } };
    const pods = () => get<{ items: Pod[] }>(['get', 'pods', '-n', stackNamespace]).items;
    const hasClaim = (p: Pod) => (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim);
    const ready = (p: Pod) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
    const podsOf = (pdb: K8sObject, list: Pod[]) => list.filter((p) => matches(pdb.spec.selector.matchLabels, p.metadata.labels));
    // The node with the most of the stack's pods.
    const [drained] = [...cluster.nodes].sort((a, b) => pods().filter((p) => p.spec.nodeName === b).length - pods().filter((p) => p.spec.nodeName === a).length);
    const before = pods();
    // An evicted pod with a claim comes back only on its volume's node, which the drain cordoned: each
    // budget lets maxUnavailable of them go, so the drain ends only where no budget has more on that node.
    const completes = of('PodDisruptionBudget').every((pdb) =>
      podsOf(pdb, before).filter((p) => p.spec.nodeName === drained && hasClaim(p)).length <= pdb.spec.maxUnavailable);
    const drainTimeoutSeconds = 60;
    const drain = spawn(binaryPath(binaryOf('kubernetes', 'kubectl')), ['--kubeconfig', cluster.admin.kubeconfig, 'drain', drained,
      '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${drainTimeoutSeconds}s`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    drain.stdout.on('data', (d) => (output += d));
    drain.stderr.on('data', (d) => (output += d));
    let code: number | null | undefined;
    drain.on('close', (c) => (code = c));
    const lowest = new Map<string, number>();
    try {
      // The ready pods of every budget, as often as kubectl can tell, until the drain ends.
      while (code === undefined) {
        const now = pods();
        for (const pdb of of('PodDisruptionBudget')) {
          const n = podsOf(pdb, now).filter(ready).length;
          lowest.set(pdb.metadata.name, Math.min(lowest.get(pdb.metadata.name) ?? n, n));
        }
        await sleep(200);
      }
      console.log(`kubectl drain ${drained}: exit ${code}, expected to ${completes ? 'complete' : 'stop at a budget'}`);
      for (const pdb of of('PodDisruptionBudget')) {
        // Never below the budget; exactly at it where an evicted pod cannot come back (its claim's node is cordoned).
        const floor = replicasCoveredBy(pdb) - pdb.spec.maxUnavailable;
        const stuck = podsOf(pdb, before).some((p) => p.spec.nodeName === drained && hasClaim(p));
        expect({ [pdb.metadata.name]: stuck ? lowest.get(pdb.metadata.name) === floor : lowest.get(pdb.metadata.name)! >= floor })
          .toEqual({ [pdb.metadata.name]: true });
      }
      if (completes) expect(code).toBe(0);
      else {
        expect(code).not.toBe(0);
        expect(output).toContain('Cannot evict pod as it would violate the pod\'s disruption budget');
      }
      // Every Deployment's pods without a claim moved to the other nodes, all ready. One with a claim
      // (Grafana's, node-local as on kind) waits for its node like a StatefulSet's pod (checked below).
      const claimless = of('Deployment').filter((d) => !(d.spec.template.spec.volumes ?? []).some((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim));
      expect(claimless.length).toBeGreaterThan(0);
      for (const d of claimless) {
        await untilTrue(`Deployment ${d.metadata.name} ready off ${drained}`, () => {
          const own = pods().filter((p) => matches(d.spec.selector.matchLabels, p.metadata.labels) && !p.metadata.deletionTimestamp);
          return own.length === (d.spec.replicas ?? 1) && own.every((p) => ready(p) && p.spec.nodeName !== drained);
        }, 120_000);
      }
      // What is left on the drained node, or waits for it, are pods with a claim.
      const after = pods();
      for (const p of after.filter((x) => x.spec.nodeName === drained || !ready(x))) expect({ [p.metadata.name]: hasClaim(p) }).toEqual({ [p.metadata.name]: true });
    } finally {
      if (code === undefined) drain.kill();
      kubectl().ok(['uncordon', drained]);
    }
    // Back on their node, every pod is ready again.
    await untilTrue('every pod of the stack ready after the uncordon', () => {
      const now = pods();
      return now.length === before.length && now.every(ready);
    }, 180_000);
  }, 600_000);

  describe('error paths: one line saying what failed and why, a non-zero exit, within the waits scripts/deploy.ts documents', () => {
    /** deploy's own line: the last of stderr (kubectl's output, where shown, is above it). */
    const lastLine = (r: DeployRun) => r.stderr.trim().split('\n').pop();
    /** A deploy run, and the seconds from the moment `mark` (a line of its output, or a call) to its end. */
    const secondsSince = async (run: { done: Promise<DeployRun> }, mark: () => Promise<unknown>) => {
      await mark();
      const from = Date.now();
      return { r: await run.done, seconds: (Date.now() - from) / 1000 };
    };
    /** Resolves once deploy's output so far passes `seen`; fails at once if deploy ends without that. */
    const printed = (run: { stdout: () => string; done: Promise<DeployRun> }, what: string, seen: (stdout: string) => boolean) => Promise.race([
      until(`deploy to print ${what}`, () => seen(run.stdout()) || undefined, 300_000, 100),
      run.done.then((r) => {
        if (!seen(r.stdout)) throw new Error(`deploy ended (exit ${r.code}) before it printed ${what}: ${lastLine(r)}`);
      }),
    ]);
    /** Resolves once deploy has printed the header of the step titled `title`. */
    const reached = (run: { stdout: () => string; done: Promise<DeployRun> }, title: string) =>
      printed(run, `"${title}"`, (out) => out.includes(`] ${title}\n`));

    it('a context kubectl does not have: one line naming it and the contexts there are; no wait beyond deploy\'s own start', async () => {
      // deploy's own start (node, TypeScript, dist/ read), which the documented waits leave out.
      const dry = await runDeploy(['--dry-run'], env);
      expect(dry.code).toBe(0);
      const r = await runDeploy(['--context', 'no-such-context'], env);
      console.log(`deploy --context no-such-context: ${r.seconds.toFixed(1)} s (--dry-run: ${dry.seconds.toFixed(1)} s)`);
      console.log(lastLine(r));
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^deploy: kubectl has no context "no-such-context" \(it has \S+\): /)]);
      // Documented wait: none.
      expect(r.seconds).toBeLessThanOrEqual(dry.seconds + PROCESS_STARTS_SECONDS);
    });

    it('a user who may not install CRDs: the CRD step fails and its line says forbidden', async () => {
      // A namespace admin (the `admin` ClusterRole in the stack namespace), not a cluster admin.
      kubectl().ok(['create', 'serviceaccount', 'namespace-admin', '-n', 'default']);
      kubectl().ok(['create', 'rolebinding', 'namespace-admin', '-n', stackNamespace, '--clusterrole=admin', '--serviceaccount=default:namespace-admin']);
      const kubeconfig = cluster.controlPlane.serviceAccountKubeconfig('default', 'namespace-admin');
      const run = startDeploy([], { ...env, KUBECONFIG: kubeconfig });
      const { r, seconds } = await secondsSince(run, () => reached(run, 'check that kubectl context (the current one) reaches a cluster'));
      console.log(`deploy as a user who may not install CRDs: ${r.seconds.toFixed(1)} s, ${seconds.toFixed(1)} s from its first step`);
      console.log(lastLine(r));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/customresourcedefinitions.* is forbidden/);
      expect(lastLine(r)).toMatch(/^deploy: step 2\/\d+ \(install the Prometheus Operator v\S+ CRDs\) failed: kubectl exited with 1 \(Error from server \(Forbidden\): .* is forbidden: .*\)$/);
      // Documented: 2C (the check, the refused CRD step, the check after it).
      expect(seconds).toBeLessThanOrEqual(2 * REQUEST_TIMEOUT_SECONDS + PROCESS_STARTS_SECONDS);
    }, 300_000);

    /** Grafana's Deployment made unavailable for good: its pod deleted, every node cordoned (its claim keeps it to one anyway). */
    const grafana = of('Deployment').find((d) => d.metadata.name === 'grafana')!;
    const grafanaWait = `wait for Deployment ${grafana.metadata.namespace}/${grafana.metadata.name}`;
    const withGrafanaStalled = async (body: () => Promise<void>) => {
      for (const n of cluster.nodes) kubectl().ok(['cordon', n]);
      try {
        kubectl().ok(['delete', 'pods', '-n', grafana.metadata.namespace!, '-l', selectorOf(grafana), '--wait=true']);
        await body();
      } finally {
        for (const n of cluster.nodes) kubectl().ok(['uncordon', n]);
      }
    };

    it('a rollout that never completes: the wait gives up at --timeout, and its line says it timed out and names the Deployment', async () => {
      const timeoutSeconds = 20;
      await withGrafanaStalled(async () => {
        const run = startDeploy(['--timeout', String(timeoutSeconds)], env);
        const { r, seconds } = await secondsSince(run, () => reached(run, grafanaWait));
        console.log(`deploy with a rollout that never completes (--timeout ${timeoutSeconds}): ${r.seconds.toFixed(1)} s, ${seconds.toFixed(1)} s of it in the stalled wait`);
        console.log(lastLine(r));
        expect(r.code).toBe(1);
        expect(lastLine(r)).toBe(`deploy: step ${stepsOf(r.stdout).length}/${stepNumberTotal(r.stdout)} (${grafanaWait}) failed: `
          + 'kubectl exited with 1 (error: timed out waiting for the condition)');
        // Not before --timeout (seen up to a poll of the output late); at most T + 2C, as documented.
        expect(seconds).toBeGreaterThanOrEqual(timeoutSeconds - 1);
        expect(seconds).toBeLessThanOrEqual(timeoutSeconds + 2 * REQUEST_TIMEOUT_SECONDS + PROCESS_STARTS_SECONDS);
      });
    }, 900_000);

    it('the API server going away while deploy waits for a rollout: the wait ends within --timeout + 2C, and its line names the cluster that stopped answering', async () => {
      const timeoutSeconds = 20;
      // deploy reaches the API server only through the relay: cutting it is the server's exit to deploy,
      // while the server itself runs on for the clean-up and the tests after.
      const relay = await ApiServerRelay.start(cluster.controlPlane.apiServer, join(binDir, 'relay.kubeconfig'));
      try {
        await withGrafanaStalled(async () => {
          const run = startDeploy(['--timeout', String(timeoutSeconds)], { ...env, KUBECONFIG: relay.kubeconfig });
          const { r, seconds } = await secondsSince(run, async () => {
            // Cut once kubectl watches the rollout (it has said it waits), not before its first request.
            await printed(run, `kubectl's "Waiting for deployment" under "${grafanaWait}"`,
              (out) => (out.split(`] ${grafanaWait}\n`)[1] ?? '').includes('Waiting for deployment'));
            await relay.cut();
          });
          console.log(`deploy with the API server gone mid-wait (--timeout ${timeoutSeconds}): ${r.seconds.toFixed(1)} s, ${seconds.toFixed(1)} s after the cut`);
          console.log(lastLine(r));
          expect(r.code).toBe(1);
          expect(lastLine(r)).toMatch(new RegExp(`^deploy: step ${stepsOf(r.stdout).length}/\\d+ \\(${grafanaWait}\\) failed: `
            + `the cluster of kubectl context "test" \\(${relay.url.replace(/[.]/g, '\\.')}\\) does not answer \\(.*refused.*\\); `
            // kubectl's watch ends by itself, or lingers until deploy stops it.
            + `kubectl (exited with 1 \\(.+\\)|was still waiting ${REQUEST_TIMEOUT_SECONDS} s after its --timeout of ${timeoutSeconds} s, so deploy stopped it.*)$`));
          // Documented: T + 2C (kubectl's watch retries until --timeout and may linger C past it, then the check).
          expect(seconds).toBeLessThanOrEqual(timeoutSeconds + 2 * REQUEST_TIMEOUT_SECONDS + PROCESS_STARTS_SECONDS);
        });
      } finally {
        await relay.cut();
      }
    }, 900_000);

    it('the API server going away while deploy applies dist/: the step in progress fails, its line says the connection was refused', async () => {
      const run = startDeploy([], env);
      // Down once deploy has begun applying dist/'s files: the next kubectl call meets a closed port.
      const applying = `] apply ${join('dist', files[Math.floor(files.length / 2)].file)}`;
      await until(`deploy to reach "${applying}"`, () => run.stdout().includes(applying) || undefined, 300_000, 100);
      const { r, seconds } = await secondsSince(run, () => cluster.controlPlane.apiServer.stop());
      console.log(`deploy with the API server stopped mid-apply: ${r.seconds.toFixed(1)} s, ${seconds.toFixed(1)} s after the stop`);
      console.log(lastLine(r));
      expect(r.code).toBe(1);
      // kubectl words it by where it meets the closed port (validation, the request): always a refused connection.
      expect(r.stderr).toMatch(/127\.0\.0\.1:\d+.*(connection refused|was refused)/);
      expect(lastLine(r)).toMatch(/^deploy: step \d+\/\d+ \(.+\) failed: the cluster of kubectl context "test" \(\S+\) does not answer \(.*refused.*\); kubectl exited with 1 \(.*refused.*\)$/);
      // Documented: C (the refused apply, then the check).
      expect(seconds).toBeLessThanOrEqual(REQUEST_TIMEOUT_SECONDS + PROCESS_STARTS_SECONDS);
    }, 900_000);

    it('with the API server gone: one line naming the context and its server, before any step changes anything', async () => {
      if (cluster.controlPlane.apiServer.running) await cluster.controlPlane.apiServer.stop();
      const run = startDeploy([], env);
      const { r, seconds } = await secondsSince(run, () => reached(run, 'check that kubectl context (the current one) reaches a cluster'));
      console.log(`deploy with the API server gone: ${r.seconds.toFixed(1)} s, ${seconds.toFixed(1)} s from its first step`);
      console.log(lastLine(r));
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(
        new RegExp(`^deploy: the cluster of kubectl context "test" \\(${cluster.controlPlane.apiServer.url.replace(/[.]/g, '\\.')}\\) does not answer \\(.*refused.*\\): start it, or `))]);
      expect(stepsOf(r.stdout).map((st) => st.title)).toEqual([expect.stringMatching(/^check that kubectl context/)]);
      // Documented: C.
      expect(seconds).toBeLessThanOrEqual(REQUEST_TIMEOUT_SECONDS + PROCESS_STARTS_SECONDS);
    });
  });
});
