/**
 * The deploy plan (scripts/deploy-plan.ts): order, kubectl arguments, and that the Grafana
 * password never appears in an argument or in anything printed.
 */
import { execFileSync } from 'child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  CRD_URL, deployPlan, grafanaSecretManifest, ManifestFile, parseDeployArgs, passwordCommand, prometheusStatefulSets, Step,
} from '../../scripts/deploy-plan';
import { configWith, defaultConfig, readDist } from '../support/manifests';

const DIST_DIR = join(__dirname, '..', '..', 'dist');
const dist = (): ManifestFile[] => readDist(DIST_DIR).map((f) => ({ path: `dist/${f.file}`, objects: f.objects }));
const titles = (steps: Step[]) => steps.map((s) => s.title);
const indexOf = (steps: Step[], pred: (s: Step) => boolean) => {
  const i = steps.findIndex(pred);
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
};
const argsOf = (s: Step) => (s.kind === 'kubectl' || s.kind === 'poll' ? s.args.join(' ') : '');
const demoFile: ManifestFile = {
  path: 'dist-demo/chat-demo.k8s.yaml',
  objects: [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'chat-auth', namespace: 'chat' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'chat-demo-loadgen', namespace: 'chat' } },
  ],
};

describe('deploy plan', () => {
  const steps = deployPlan({ config: defaultConfig(), dist: dist() });

  it('installs the CRDs of the pinned operator release server-side, then waits until they are Established', () => {
    expect(CRD_URL).toBe('https://github.com/prometheus-operator/prometheus-operator/releases/download/v0.93.0/stripped-down-crds.yaml');
    const install = indexOf(steps, (s) => argsOf(s).startsWith('apply --server-side') && argsOf(s).includes(CRD_URL));
    const wait = indexOf(steps, (s) => argsOf(s).startsWith('wait --for=condition=Established') && argsOf(s).includes(`-f ${CRD_URL}`));
    expect(install).toBeLessThan(wait);
    // Nothing of dist/ before the CRDs are Established.
    const firstDist = indexOf(steps, (s) => argsOf(s).includes('-f dist/'));
    expect(wait).toBeLessThan(firstDist);
  });

  it('creates the namespaces, then the Grafana Secret, then applies every other dist/ file server-side in file order', () => {
    const files = dist().map((f) => f.path);
    const applied = steps.filter((s) => s.kind === 'kubectl' && s.args[0] === 'apply' && s.args.includes('-f') && !s.args.includes(CRD_URL))
      .map((s) => (s.kind === 'kubectl' ? s.args[s.args.length - 1] : ''));
    expect(applied).toEqual(files); // all of them, once, in order (00-namespaces first)
    for (const s of steps) if (s.kind === 'kubectl' && s.args[0] === 'apply') expect(s.args).toContain('--server-side');
    const namespaces = indexOf(steps, (s) => argsOf(s).endsWith('dist/00-namespaces.k8s.yaml'));
    const secret = indexOf(steps, (s) => s.kind === 'ensure-grafana-secret');
    const grafana = indexOf(steps, (s) => argsOf(s).endsWith('dist/60-grafana.k8s.yaml'));
    expect(namespaces).toBeLessThan(secret);
    expect(secret).toBeLessThan(grafana);
    expect(steps[secret]).toMatchObject({ namespace: 'monitoring', name: 'grafana-admin' });
  });

  it('waits for every Deployment of dist/ and for the Prometheus StatefulSet after applying', () => {
    const lastApply = Math.max(...steps.map((s, i) => (argsOf(s).startsWith('apply') ? i : -1)));
    const deployments = dist().flatMap((f) => f.objects).filter((o) => o.kind === 'Deployment');
    expect(deployments.length).toBeGreaterThanOrEqual(3);
    for (const d of deployments) {
      const i = indexOf(steps, (s) => argsOf(s) === `-n ${d.metadata.namespace} rollout status deployment/${d.metadata.name} --timeout=300s`);
      expect(i).toBeGreaterThan(lastApply);
    }
    const exists = indexOf(steps, (s) => s.kind === 'poll' && argsOf(s) === '-n monitoring get statefulset/prometheus-chat-monitoring -o name');
    const rollout = indexOf(steps, (s) => argsOf(s) === '-n monitoring rollout status statefulset/prometheus-chat-monitoring --timeout=300s');
    expect(exists).toBeLessThan(rollout);
  });

  it('ends by printing the Grafana URL and the command that reads the password', () => {
    const last = steps[steps.length - 1];
    expect(last.kind).toBe('print');
    const text = last.kind === 'print' ? last.lines.join('\n') : '';
    expect(text).toContain('http://localhost:3030');
    expect(text).toContain("kubectl -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d");
  });

  it('applies the demo only with --demo, after the stack, and waits for its Deployments', () => {
    expect(titles(steps).join('\n')).not.toMatch(/demo/);
    const withDemo = deployPlan({ config: defaultConfig(), dist: dist(), demo: [demoFile] });
    const prometheus = indexOf(withDemo, (s) => argsOf(s).includes('rollout status statefulset/'));
    const apply = indexOf(withDemo, (s) => argsOf(s).endsWith('-f dist-demo/chat-demo.k8s.yaml'));
    const loadgen = indexOf(withDemo, (s) => argsOf(s).includes('rollout status deployment/chat-demo-loadgen'));
    expect(prometheus).toBeLessThan(apply);
    expect(apply).toBeLessThan(loadgen);
  });

  it('passes --context to every kubectl call, the secret check and the password command', () => {
    const withContext = deployPlan({ config: defaultConfig(), dist: dist(), context: 'kind-chat-monitoring', timeoutSeconds: 600 });
    for (const s of withContext) {
      if (s.kind === 'kubectl' || s.kind === 'poll') expect(s.args.slice(0, 2)).toEqual(['--context', 'kind-chat-monitoring']);
      if (s.kind === 'ensure-grafana-secret') expect(s.kubectlArgs).toEqual(['--context', 'kind-chat-monitoring']);
      if (s.kind === 'kubectl' && s.args.includes('rollout')) expect(s.args).toContain('--timeout=600s');
    }
    expect(passwordCommand(defaultConfig(), 'kind-chat-monitoring')).toMatch(/^kubectl --context kind-chat-monitoring -n monitoring get secret/);
  });

  it('follows the config: namespace, Secret name, NodePort, Prometheus shards', () => {
    const config = configWith({ namespace: 'observability', grafanaAdminSecret: 'my-grafana', grafanaNodePort: 31000 });
    const custom = deployPlan({ config, dist: dist() });
    expect(custom.find((s) => s.kind === 'ensure-grafana-secret')).toMatchObject({ namespace: 'observability', name: 'my-grafana' });
    const text = (custom[custom.length - 1] as Extract<Step, { kind: 'print' }>).lines.join('\n');
    expect(text).toContain('NodePort 31000');
    expect(text).toContain('-n observability get secret my-grafana');
    expect(prometheusStatefulSets({ apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus', metadata: { name: 'x' }, spec: { shards: 2 } }))
      .toEqual(['prometheus-x', 'prometheus-x-shard-1']);
  });

  it('refuses an empty dist/', () => {
    expect(() => deployPlan({ config: defaultConfig(), dist: [] })).toThrow(/npm run synth/);
  });
});

describe('Grafana admin Secret', () => {
  it('carries the password only in the manifest piped to kubectl, never in an argument or a printed line', () => {
    const password = 'p4ssw0rd-that-must-not-leak';
    const manifest = JSON.parse(grafanaSecretManifest('monitoring', 'grafana-admin', password));
    expect(manifest).toMatchObject({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'grafana-admin', namespace: 'monitoring' },
      stringData: { 'admin-user': 'admin', 'admin-password': password },
    });
    const steps = deployPlan({ config: defaultConfig(), dist: dist(), demo: [demoFile] });
    expect(JSON.stringify(steps)).not.toContain(password);
  });
});

describe('deploy flags', () => {
  it('parses --demo, --context, --timeout, --dry-run', () => {
    expect(parseDeployArgs([])).toEqual({ demo: false, dryRun: false, help: false, context: undefined, timeoutSeconds: undefined });
    expect(parseDeployArgs(['--demo', '--context', 'kind-x', '--timeout=60', '--dry-run']))
      .toEqual({ demo: true, dryRun: true, help: false, context: 'kind-x', timeoutSeconds: 60 });
  });
  it('refuses unknown flags and bad values with the usage', () => {
    expect(() => parseDeployArgs(['--demos'])).toThrow(/unknown argument --demos[^]*usage: npm run deploy/);
    expect(() => parseDeployArgs(['--timeout', 'soon'])).toThrow(/--timeout must be a positive whole number/);
    expect(() => parseDeployArgs(['--context'])).toThrow(/--context needs a value/);
  });
});

describe('scripts/deploy.ts against a fake kubectl', () => {
  it('runs every step in order, pipes the generated password on stdin only, and prints how to read it', () => {
    // A kubectl that records its arguments and stdin; `get secret` answers "not found".
    const dir = mkdtempSync(join(tmpdir(), 'fake-kubectl-'));
    const log = join(dir, 'calls.log');
    writeFileSync(join(dir, 'kubectl'), `#!/bin/sh
echo "ARGS $*" >> "${log}"
case "$*" in
  *"create -f -"*) echo "STDIN $(cat)" >> "${log}"; echo "secret/grafana-admin created" ;;
  *"get secret"*) exit 1 ;;
  *"config current-context"*) echo fake-context ;;
esac
exit 0
`);
    chmodSync(join(dir, 'kubectl'), 0o755);
    try {
      const root = join(__dirname, '..', '..');
      const out = execFileSync(process.execPath, [require.resolve('ts-node/dist/bin'), '--transpile-only', 'scripts/deploy.ts'], {
        cwd: root, encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      });
      const calls = readFileSync(log, 'utf8').trim().split('\n');
      const stdinLine = calls.find((l) => l.startsWith('STDIN '))!;
      const password = JSON.parse(stdinLine.slice('STDIN '.length)).stringData['admin-password'];
      expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      // Never in an argument, never printed.
      expect(calls.filter((l) => l.startsWith('ARGS ')).join('\n')).not.toContain(password);
      expect(out).not.toContain(password);
      expect(out).toContain('http://localhost:3030');
      expect(out).toContain("get secret grafana-admin -o jsonpath='{.data.admin-password}'");
      const args = calls.filter((l) => l.startsWith('ARGS ')).map((l) => l.slice(5));
      const applyIdx = (suffix: string) => args.findIndex((a) => a.startsWith('apply') && a.endsWith(suffix));
      expect(applyIdx(CRD_URL)).toBeLessThan(args.findIndex((a) => a.startsWith('wait --for=condition=Established')));
      expect(applyIdx('dist/00-namespaces.k8s.yaml')).toBeLessThan(args.indexOf('create -f -'));
      expect(args.indexOf('create -f -')).toBeLessThan(applyIdx('dist/60-grafana.k8s.yaml'));
      expect(args).toContain('-n monitoring rollout status statefulset/prometheus-chat-monitoring --timeout=300s');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
