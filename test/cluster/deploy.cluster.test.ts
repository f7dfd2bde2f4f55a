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
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse } from 'yaml';
import { CHART_CONFIG } from '../../lib/chart-config';
import { validateConfig } from '../../lib/config';
import { durationSeconds } from '../../lib/validation';
import { alertmanagerStatefulSet, CRD_URL, prometheusStatefulSets } from '../../scripts/deploy/plan';
import { binaryOf, binaryPath, describeWithBinaries, REPO_ROOT } from '../support/binaries';
import { CLUSTER_BINARIES, SimulatedCluster } from '../support/cluster';
import { kindSizedNode, kubectlWithReleaseCrds } from '../support/cluster-stand-ins';
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
  }, 240_000);

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
    const done = steps[steps.length - 1];
    expect(done.title).toBe('done');
    expect(done.body).toContain(`NodePort ${config.grafanaNodePort}`);
    // Where kind-config.yaml publishes that NodePort on the host, the URL is the host's.
    const kindNodes = (parse(readFileSync(join(REPO_ROOT, 'kind-config.yaml'), 'utf8')) as { nodes: { extraPortMappings?: { containerPort: number; hostPort: number }[] }[] }).nodes;
    const published = kindNodes.flatMap((n) => n.extraPortMappings ?? []).find((m) => m.containerPort === config.grafanaNodePort);
    if (published) expect(done.body).toContain(`Grafana: http://localhost:${published.hostPort} `);
    expect(done.body).toContain(`kubectl -n ${stackNamespace} get secret ${config.grafanaAdminSecret} -o jsonpath='{.data.admin-password}'`);
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

  it('a second run changes nothing: every object of dist/ keeps its resourceVersion, the Secret is kept', async () => {
    const versions = () => Object.fromEntries(files.flatMap((f) => get<{ items: Live[] }>(['get', '-f', join(DIST, f.file)]).items
      .map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o.metadata.resourceVersion])));
    const secretVersion = () => get<Live>(['get', 'secret', config.grafanaAdminSecret, '-n', stackNamespace]).metadata.resourceVersion;
    const before = versions();
    const secretBefore = secretVersion();
    const second = await runDeploy([], env);
    console.log(`deploy again: ${second.seconds.toFixed(1)} s`);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`secret/${config.grafanaAdminSecret} exists: kept`);
    expect(versions()).toEqual(before);
    expect(secretVersion()).toBe(secretBefore);
  }, 900_000);

  it('--demo: also applies the demo workload and waits for its Deployments', async () => {
    const demoDir = mkdtempSync(join(tmpdir(), 'chat-monitoring-deploy-demo-'));
    try {
      const demo = await runDeploy(['--demo'], { ...env, CHAT_MONITORING_DEMO_DIST: demoDir });
      console.log(`deploy --demo: ${demo.seconds.toFixed(1)} s`);
      expect(demo.code).toBe(0);
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

  describe('error paths: one line saying what failed, a non-zero exit', () => {
    /** deploy's own line: the last of stderr (kubectl's output, where shown, is above it). */
    const lastLine = (r: DeployRun) => r.stderr.trim().split('\n').pop();

    it('a context kubectl does not have: one line naming it and the contexts there are', async () => {
      const r = await runDeploy(['--context', 'no-such-context'], env);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^deploy: kubectl has no context "no-such-context" \(it has \S+\): /)]);
    });

    it('a user who may not install CRDs: the CRD step fails and says so', async () => {
      // A namespace admin (the `admin` ClusterRole in the stack namespace), not a cluster admin.
      kubectl().ok(['create', 'serviceaccount', 'namespace-admin', '-n', 'default']);
      kubectl().ok(['create', 'rolebinding', 'namespace-admin', '-n', stackNamespace, '--clusterrole=admin', '--serviceaccount=default:namespace-admin']);
      const kubeconfig = cluster.controlPlane.serviceAccountKubeconfig('default', 'namespace-admin');
      const r = await runDeploy([], { ...env, KUBECONFIG: kubeconfig });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/customresourcedefinitions.* is forbidden/);
      expect(lastLine(r)).toMatch(/^deploy: step 2\/\d+ \(install the Prometheus Operator v\S+ CRDs\) failed: kubectl exited with 1, its output is above$/);
    }, 300_000);

    it('a rollout that never completes: the wait gives up after --timeout and names the Deployment', async () => {
      const grafana = of('Deployment').find((d) => d.metadata.name === 'grafana')!;
      const timeoutSeconds = 20;
      for (const n of cluster.nodes) kubectl().ok(['cordon', n]);
      try {
        // Its pod gone and no node to place the new one on: the Deployment stays unavailable.
        kubectl().ok(['delete', 'pods', '-n', grafana.metadata.namespace!, '-l', selectorOf(grafana), '--wait=true']);
        const run = startDeploy(['--timeout', String(timeoutSeconds)], env);
        const waitStep = `wait for Deployment ${grafana.metadata.namespace}/${grafana.metadata.name}`;
        await until(`deploy to reach "${waitStep}"`, () => run.stdout().includes(`] ${waitStep}\n`) || undefined, 300_000, 100);
        const waitStarted = Date.now();
        const r = await run.done;
        const waited = (Date.now() - waitStarted) / 1000;
        console.log(`deploy with a rollout that never completes (--timeout ${timeoutSeconds}): ${r.seconds.toFixed(1)} s, ${waited.toFixed(1)} s of it in the stalled wait`);
        expect(r.code).toBe(1);
        expect(lastLine(r)).toBe(`deploy: step ${stepsOf(r.stdout).length}/${stepNumberTotal(r.stdout)} (${waitStep}) failed: kubectl exited with 1, its output is above`);
        // The wait gives up at --timeout: not before, and not at some later bound of its own.
        expect(waited).toBeGreaterThanOrEqual(timeoutSeconds - 1);
        expect(waited).toBeLessThan(2 * timeoutSeconds + 10);
      } finally {
        for (const n of cluster.nodes) kubectl().ok(['uncordon', n]);
      }
    }, 900_000);

    it('the API server going away mid-deploy: the step in progress fails with one line', async () => {
      const run = startDeploy([], env);
      // Down once deploy has begun applying dist/'s files: the next kubectl call meets a closed port.
      const applying = `] apply ${join('dist', files[Math.floor(files.length / 2)].file)}`;
      await until(`deploy to reach "${applying}"`, () => run.stdout().includes(applying) || undefined, 300_000, 100);
      await cluster.controlPlane.apiServer.stop();
      const r = await run.done;
      console.log(`deploy with the API server stopped mid-way: ${r.seconds.toFixed(1)} s`);
      expect(r.code).toBe(1);
      // kubectl words it by where it meets the closed port (validation, the request): always a refused connection.
      expect(r.stderr).toMatch(/127\.0\.0\.1:\d+.*(connection refused|was refused)/);
      expect(lastLine(r)).toMatch(/^deploy: step \d+\/\d+ \(.+\) failed: kubectl exited with 1, its output is above$/);
    }, 900_000);

    it('with the API server gone: one line naming the context and its server, before any step changes anything', async () => {
      const r = await runDeploy([], env);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(
        new RegExp(`^deploy: the cluster of kubectl context "test" \\(${cluster.controlPlane.apiServer.url.replace(/[.]/g, '\\.')}\\) does not answer \\(.*refused.*\\): start it, or `))]);
      expect(stepsOf(r.stdout).map((st) => st.title)).toEqual([expect.stringMatching(/^check that kubectl context/)]);
    });
  });
});
