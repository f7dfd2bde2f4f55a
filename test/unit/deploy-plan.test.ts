/**
 * The deploy plan (scripts/deploy-plan.ts): order, kubectl arguments, and that the Grafana
 * password and the Alertmanager receivers' credentials never appear in an argument or in anything printed.
 */
import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseDeployArgs } from '../../scripts/deploy/args';
import { distMismatch } from '../../scripts/deploy/dist-check';
import { ManifestFile, stackFacts } from '../../scripts/deploy/manifests';
import { kubectlFailure, kubectlReason, pollFailure } from '../../scripts/deploy/failure';
import { CRD_URL, deployPlan, grafanaSecretManifest, passwordCommand, prometheusStatefulSets, Step } from '../../scripts/deploy/plan';
import { objstoreFileProblem, objstoreSecret, objstoreSecretManifest, objstoreSecretProblem } from '../../scripts/deploy/objstore-secret';
import {
  parseReceiversFile, receiversFileProblem, receiversSecret, receiversSecretManifest, receiversSecretProblem, SECRET_KEYS_TEMPLATE,
} from '../../scripts/deploy/receivers-secret';
import { ChartConfigInput } from '../../lib/config';
import { allDashboards } from '../../lib/dashboards';
import { CHART_CONFIG } from '../../lib/chart-config';
import { synthesizeManifests } from '../../lib/synth';
import { configWith, readDist, synthCharts } from '../support/manifests';

const DIST_DIR = join(__dirname, '..', '..', 'dist');
const dist = (): ManifestFile[] => readDist(DIST_DIR).map((f) => ({ path: `dist/${f.file}`, objects: f.objects }));
/** dist/ as `npm run synth` would write it for the defaults plus `overrides`. */
const distFor = (overrides: Partial<ChartConfigInput>): ManifestFile[] =>
  [...synthCharts(configWith(overrides)).entries()].map(([id, objects]) => ({ path: `dist/${id}.k8s.yaml`, objects }));
const titles = (steps: Step[]) => steps.map((s) => s.title);
const indexOf = (steps: Step[], pred: (s: Step) => boolean) => {
  const i = steps.findIndex(pred);
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
};
const argsOf = (s: Step) => (s.kind === 'kubectl' || s.kind === 'poll' ? s.args.join(' ') : '');
/**
 * A Secret step fed from a file on stdin (`--context kind-x`): exactly `expected` with the server-side
 * apply arguments, after the namespaces and before each of `beforeFiles`, and no check step beside it.
 */
function expectSecretFromStdin(steps: Step[], expected: { kind: Step['kind']; title: string; secret: object; file: string }, beforeFiles: string[], checkKind: Step['kind']): void {
  const applyStep = indexOf(steps, (s) => s.kind === expected.kind);
  expect(steps[applyStep]).toEqual({
    ...expected,
    args: ['--context', 'kind-x', '-n', 'monitoring', 'apply', '--server-side', '--force-conflicts', '--field-manager=chat-monitoring', '-f', '-'],
  });
  expect(indexOf(steps, (s) => argsOf(s).endsWith('-f dist/00-namespaces.k8s.yaml'))).toBeLessThan(applyStep);
  for (const f of beforeFiles) expect(applyStep).toBeLessThan(indexOf(steps, (s) => argsOf(s).endsWith(`-f dist/${f}`)));
  expect(steps.some((s) => s.kind === checkKind)).toBe(false);
}
/** Receivers of every kind: four keys of the receivers' Secret. */
const RECEIVERS: ChartConfigInput['alertmanager'] = {
  receivers: [
    { name: 'oncall', pagerduty: { routingKeySecretKey: 'pagerduty-routing-key' } },
    { name: 'chat-team', slack: { apiUrlSecretKey: 'slack-webhook-url', channel: '#chat-alerts' } },
    { name: 'auth-team', webhook: { urlSecretKey: 'auth-webhook-url', port: 8443 } },
    { name: 'mail', email: { to: 'oncall@example.com', from: 'am@example.com', smarthost: 'smtp.example.com:587', authUsername: 'am', authPasswordSecretKey: 'smtp-pw' } },
  ],
  criticalReceiver: 'oncall',
  warningReceiver: 'chat-team',
};
const RECEIVER_KEYS = ['auth-webhook-url', 'pagerduty-routing-key', 'slack-webhook-url', 'smtp-pw'];
/** A value that must never be printed nor passed as an argument (also checked in base64, as the manifest carries it). */
const CANARY = 'CANARY-s3cr3t-9f2c';
const receiversFile = (values: Record<string, string>) => Object.entries(values).map(([k, v]) => `${k}=${v}`).join('\n');
const FULL_FILE = receiversFile({
  'pagerduty-routing-key': `${CANARY}-pd`,
  'slack-webhook-url': `https://hooks.slack.com/services/T0/B0/${CANARY}?a=b`,
  'auth-webhook-url': `https://auth.example.com/hook?token=${CANARY}`,
  'smtp-pw': `${CANARY} with spaces=and equals`,
});
const leaks = (text: string) => [CANARY, Buffer.from(`${CANARY}-pd`).toString('base64'), Buffer.from(CANARY).toString('base64').slice(0, 16)]
  .filter((v) => text.includes(v));

const demoFile: ManifestFile = {
  path: 'dist-demo/chat-demo.k8s.yaml',
  objects: [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'chat-auth', namespace: 'chat' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'chat-demo-loadgen', namespace: 'chat' } },
  ],
};

describe('deploy plan', () => {
  const steps = deployPlan({ dist: dist() });

  it('installs the CRDs of the pinned operator release server-side, then waits until they are Established', () => {
    expect(CRD_URL).toBe('https://github.com/prometheus-operator/prometheus-operator/releases/download/v0.93.1/stripped-down-crds.yaml');
    const install = indexOf(steps, (s) => argsOf(s).startsWith('apply --server-side') && argsOf(s).includes(CRD_URL));
    const wait = indexOf(steps, (s) => argsOf(s).startsWith('wait --for=condition=Established') && argsOf(s).includes(`-f ${CRD_URL}`));
    expect(install).toBeLessThan(wait);
    expect(steps[wait]).toMatchObject({ timeoutSeconds: 120 });
    expect(argsOf(steps[wait])).toContain('--timeout=120s');
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
    const exists = indexOf(steps, (s) => s.kind === 'poll' && argsOf(s) === '-n monitoring get statefulset/prometheus-chat-monitoring -o name --request-timeout=10s');
    const rollout = indexOf(steps, (s) => argsOf(s) === '-n monitoring rollout status statefulset/prometheus-chat-monitoring --timeout=300s');
    expect(exists).toBeLessThan(rollout);
  });

  it('waits for the Alertmanager StatefulSet the operator creates, as for Prometheus\'s (it was never waited for)', () => {
    const alertmanagers = dist().flatMap((f) => f.objects).filter((o) => o.kind === 'Alertmanager');
    expect(alertmanagers).toHaveLength(1);
    const sts = `statefulset/alertmanager-${alertmanagers[0].metadata.name}`;
    const exists = indexOf(steps, (s) => s.kind === 'poll' && argsOf(s) === `-n monitoring get ${sts} -o name --request-timeout=10s`);
    const rollout = indexOf(steps, (s) => argsOf(s) === `-n monitoring rollout status ${sts} --timeout=300s`);
    expect(exists).toBeLessThan(rollout);
    expect(titles(steps)).toContain(`wait for StatefulSet monitoring/alertmanager-${alertmanagers[0].metadata.name}`);
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
    const withDemo = deployPlan({ dist: dist(), demo: [demoFile] });
    const prometheus = indexOf(withDemo, (s) => argsOf(s).includes('rollout status statefulset/'));
    const apply = indexOf(withDemo, (s) => argsOf(s).endsWith('-f dist-demo/chat-demo.k8s.yaml'));
    const loadgen = indexOf(withDemo, (s) => argsOf(s).includes('rollout status deployment/chat-demo-loadgen'));
    expect(prometheus).toBeLessThan(apply);
    expect(apply).toBeLessThan(loadgen);
  });

  it('passes --context to every kubectl call, the secret check and the password command', () => {
    const withContext = deployPlan({ dist: dist(), context: 'kind-chat-monitoring', timeoutSeconds: 600 });
    for (const s of withContext) {
      if (s.kind === 'kubectl' || s.kind === 'poll') expect(s.args.slice(0, 2)).toEqual(['--context', 'kind-chat-monitoring']);
      if (s.kind === 'ensure-grafana-secret') expect(s.kubectlArgs).toEqual(['--context', 'kind-chat-monitoring']);
      if (s.kind === 'check-cluster') expect(s.context).toBe('kind-chat-monitoring');
      if (s.kind === 'kubectl' && s.args.includes('rollout')) expect([s.args.includes('--timeout=600s'), s.timeoutSeconds]).toEqual([true, 600]);
    }
    expect(passwordCommand(stackFacts(dist()), 'kind-chat-monitoring')).toMatch(/^kubectl --context kind-chat-monitoring -n monitoring get secret/);
  });

  it('follows dist/, whatever config made it: namespace, Secret name, NodePort', () => {
    const custom = deployPlan({ dist: distFor({ namespace: 'observability', grafanaAdminSecret: 'my-grafana', grafanaNodePort: 31000 }) });
    expect(custom.find((s) => s.kind === 'ensure-grafana-secret')).toMatchObject({ namespace: 'observability', name: 'my-grafana' });
    // The Secret goes where Grafana's rollout is awaited (the bug: Secret in monitoring, rollouts in observability).
    expect(custom.some((s) => argsOf(s) === '-n observability rollout status deployment/grafana --timeout=300s')).toBe(true);
    expect(custom.some((s) => argsOf(s).includes('-n monitoring'))).toBe(false);
    const text = (custom[custom.length - 1] as Extract<Step, { kind: 'print' }>).lines.join('\n');
    expect(text).toContain('NodePort 31000');
    expect(text).toContain('-n observability get secret my-grafana');
    expect(prometheusStatefulSets({ apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus', metadata: { name: 'x' }, spec: { shards: 2 } }))
      .toEqual(['prometheus-x', 'prometheus-x-shard-1']);
  });

  it('checks the cluster quietly before anything is applied', () => {
    expect(steps[0]).toMatchObject({ kind: 'check-cluster', context: undefined });
    expect(steps.filter((s) => s.kind === 'check-cluster')).toHaveLength(1);
  });

  it('refuses an empty dist/', () => {
    expect(() => deployPlan({ dist: [] })).toThrow(/npm run synth/);
  });

  it('names the operator\'s Deployment as the maker of every StatefulSet it polls for, with the command that shows its log', () => {
    const operator = dist().flatMap((f) => f.objects).find((o) => o.kind === 'Deployment' && (o.spec?.template.spec.containers ?? [])
      .some((c: { args?: string[] }) => (c.args ?? []).some((a) => a.startsWith('--prometheus-config-reloader='))))!;
    const polls = deployPlan({ dist: dist(), context: 'kind-x' }).filter((s) => s.kind === 'poll');
    expect(polls.length).toBeGreaterThanOrEqual(2);
    for (const p of polls) {
      expect(p).toMatchObject({ maker: {
        what: `the Prometheus Operator (Deployment ${operator.metadata.namespace}/${operator.metadata.name})`,
        logs: `kubectl --context kind-x -n ${operator.metadata.namespace} logs deployment/${operator.metadata.name}`,
      } });
    }
  });
});

describe('Alertmanager receivers\' Secret', () => {
  const withReceivers = distFor({ alertmanager: RECEIVERS });
  const secret = { namespace: 'monitoring', name: 'alertmanager-receivers', keys: RECEIVER_KEYS };

  it('is read from dist/: every key a receiver references, in the AlertmanagerConfig\'s namespace', () => {
    expect(receiversSecret(withReceivers)).toEqual(secret);
    expect(receiversSecret(distFor({ namespace: 'observability', alertmanager: { ...RECEIVERS, receiversSecret: 'am-creds' } })))
      .toEqual({ namespace: 'observability', name: 'am-creds', keys: RECEIVER_KEYS });
    expect(receiversSecret(dist())).toBeUndefined(); // the default config has no receivers
  });

  it('without receivers nothing changes: no receivers step, and --receivers-file is refused', () => {
    const plain = deployPlan({ dist: dist() });
    expect(plain.some((s) => s.kind === 'check-receivers-secret' || s.kind === 'apply-receivers-secret')).toBe(false);
    expect(JSON.stringify(plain)).not.toMatch(/receivers/);
    expect(() => deployPlan({ dist: dist(), receiversFile: 'r.env' }))
      .toThrow('--receivers-file r.env was given, but no Alertmanager receiver in dist/ reads a Secret: configure alertmanager.receivers and run `npm run synth`, or leave the flag out');
  });

  it('with --receivers-file: applied server-side from stdin after the namespaces, before dist/\'s Alertmanager file', () => {
    const steps = deployPlan({ dist: withReceivers, receiversFile: 'receivers.env', context: 'kind-x' });
    expectSecretFromStdin(steps, {
      kind: 'apply-receivers-secret',
      title: 'create or update Secret monitoring/alertmanager-receivers from receivers.env (values on stdin only)',
      secret,
      file: 'receivers.env',
    }, ['35-alertmanager.k8s.yaml'], 'check-receivers-secret');
  });

  it('without the file: checks the Secret\'s keys (never its values) right after the cluster check, before any write', () => {
    const steps = deployPlan({ dist: withReceivers });
    expect(steps[1]).toEqual({
      kind: 'check-receivers-secret',
      title: 'check that Secret monitoring/alertmanager-receivers has a value for auth-webhook-url, pagerduty-routing-key, slack-webhook-url, smtp-pw (keys only)',
      secret,
      args: ['-n', 'monitoring', 'get', 'secret', 'alertmanager-receivers', '-o', `go-template=${SECRET_KEYS_TEMPLATE}`],
    });
    expect(SECRET_KEYS_TEMPLATE).toBe('{{range $k, $v := .data}}{{if $v}}{{$k}}{{"\\n"}}{{end}}{{end}}');
    expect(steps[0].kind).toBe('check-cluster');
    expect(indexOf(steps, (s) => argsOf(s).startsWith('apply'))).toBe(2);
    expect(steps.some((s) => s.kind === 'apply-receivers-secret')).toBe(false);
    const withContext = deployPlan({ dist: withReceivers, context: 'kind-x' }).find((s) => s.kind === 'check-receivers-secret');
    expect(withContext && 'args' in withContext && withContext.args.slice(0, 4)).toEqual(['--context', 'kind-x', '-n', 'monitoring']);
  });

  it('parses key=value lines as kubectl --from-env-file does, and names only line numbers on errors', () => {
    const values = parseReceiversFile(`\uFEFF# comment\n\n  a=1\r\nb.c_d-e=x=y \nempty=\n2fa=z\n`, 'f.env');
    expect([...values]).toEqual([['a', '1'], ['b.c_d-e', 'x=y '], ['empty', ''], ['2fa', 'z']]);
    expect(() => parseReceiversFile(`a=1\n${CANARY}\n`, 'f.env')).toThrow('f.env line 2 is not key=value (its text is not shown: it may hold a credential)');
    expect(() => parseReceiversFile(`https://x/${CANARY}?t=1`, 'f.env')).toThrow(/^f\.env line 1: the key is not letters/);
    expect(() => parseReceiversFile('a=1\na=2', 'f.env')).toThrow('f.env line 2: key a is given twice');
    for (const bad of [`a=1\n${CANARY}`, `https://x/${CANARY}?t=1`]) {
      try { parseReceiversFile(bad, 'f.env'); } catch (e) { expect(leaks((e as Error).message)).toEqual([]); }
    }
  });

  it('names the keys a file or the Secret lacks (an empty value counts as missing), never a value', () => {
    const values = parseReceiversFile(receiversFile({ 'slack-webhook-url': CANARY, 'smtp-pw': '', extra: CANARY }), 'receivers.env');
    const message = receiversFileProblem(secret, 'receivers.env', values)!;
    expect(message).toBe('receivers.env has no value for auth-webhook-url, pagerduty-routing-key, smtp-pw: dist/\'s Alertmanager receivers read these keys '
      + 'of Secret monitoring/alertmanager-receivers (needed: auth-webhook-url, pagerduty-routing-key, slack-webhook-url, smtp-pw); add a key=value line for each');
    expect(leaks(message)).toEqual([]);
    expect(receiversFileProblem(secret, 'f', parseReceiversFile(FULL_FILE, 'f'))).toBeUndefined();
    expect(receiversSecretProblem(secret, undefined)).toBe('Secret monitoring/alertmanager-receivers does not exist, and dist/\'s Alertmanager receivers read its keys '
      + 'auth-webhook-url, pagerduty-routing-key, slack-webhook-url, smtp-pw: create it with `npm run deploy -- --receivers-file <file>` (one key=value line each)');
    expect(receiversSecretProblem(secret, ['smtp-pw', 'slack-webhook-url', 'other'])).toBe('Secret monitoring/alertmanager-receivers has no value for '
      + 'auth-webhook-url, pagerduty-routing-key, which dist/\'s Alertmanager receivers read: give them with `npm run deploy -- --receivers-file <file>` (key=value lines), or add them to the Secret');
    expect(receiversSecretProblem(secret, RECEIVER_KEYS)).toBeUndefined();
  });

  it('carries the values only in the manifest piped to kubectl (base64 in data), never in the plan', () => {
    const values = parseReceiversFile(FULL_FILE, 'receivers.env');
    const manifest = JSON.parse(receiversSecretManifest(secret, values));
    expect(manifest).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'alertmanager-receivers', namespace: 'monitoring' } });
    expect(Object.fromEntries(Object.entries(manifest.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])))
      .toEqual(Object.fromEntries(values));
    expect(leaks(JSON.stringify(deployPlan({ dist: withReceivers, receiversFile: 'receivers.env' })))).toEqual([]);
  });
});

describe('dist/ against the config deploy was given', () => {
  const source = { name: 'CHAT_MONITORING_CONFIG=obs.json', synth: 'CHAT_MONITORING_CONFIG=obs.json npm run synth' };
  it('agree when the config synthesizes exactly dist/ (written as YAML and read back, as deploy reads it)', () => {
    const work = mkdtempSync(join(tmpdir(), 'deploy-same-'));
    try {
      const config = configWith({ namespace: 'observability' });
      synthesizeManifests(config, allDashboards(config), work);
      const written = readDist(work).map((f) => ({ path: `dist/${f.file}`, objects: f.objects }));
      expect(distMismatch(written, distFor({ namespace: 'observability' }), source)).toBeUndefined();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
  it('differ in namespace: both named, and how to fix it', () => {
    expect(distMismatch(distFor({ namespace: 'observability' }), distFor({}), source)).toBe(
      'dist/ was synthesized with namespace "observability", but CHAT_MONITORING_CONFIG=obs.json gives "monitoring": '
      + 'run `CHAT_MONITORING_CONFIG=obs.json npm run synth` first, or deploy with the config dist/ was synthesized from');
  });
  it('differ elsewhere: the file and the first object that differs', () => {
    const message = distMismatch(distFor({}), distFor({ retention: '30d' }), source);
    expect(message).toMatch(/^dist\/30-prometheus\.k8s\.yaml differs from what CHAT_MONITORING_CONFIG=obs\.json synthesizes \(first at Prometheus monitoring\/chat-monitoring\)/);
  });
  it('differ in the files there are', () => {
    const withPull = distFor({ services: [{ name: 'chat-auth', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464 } }] });
    // Without a push service the chart has no collector.
    expect(distMismatch(withPull, distFor({ services: [{ name: 'chat-auth' }] }), source)).toMatch(/^dist\/ has no 20-otel-collector\.k8s\.yaml, which/);
    expect(distMismatch(distFor({ services: [{ name: 'chat-auth' }] }), withPull, source)).toMatch(/^dist\/ has 20-otel-collector\.k8s\.yaml, which .* does not synthesize/);
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
    const steps = deployPlan({ dist: dist(), demo: [demoFile] });
    expect(JSON.stringify(steps)).not.toContain(password);
  });
});

/** Long-term storage: the sidecars, the Store Gateway and the Compactor read the object store's Secret. */
const OBJECT_STORAGE: ChartConfigInput['thanos'] = { objectStorage: { egressCidrs: ['192.0.2.0/24'] } };
const OBJSTORE_YAML = `type: S3\nconfig:\n  bucket: chat-metrics\n  endpoint: s3.example.com\n  secret_key: ${CANARY}-s3\n`;

describe('Thanos\'s object-store Secret', () => {
  const withStore = distFor({ thanos: OBJECT_STORAGE });
  const secret = { namespace: 'monitoring', name: 'thanos-objstore', key: 'objstore.yml' };

  it('is read from dist/: the Prometheus resource\'s objectStorageConfig, which the Store Gateway and the Compactor mount too', () => {
    expect(objstoreSecret(withStore)).toEqual(secret);
    expect(objstoreSecret(distFor({ namespace: 'observability', thanos: { objectStorage: { secretName: 'bucket', key: 'thanos.yaml', egressCidrs: ['192.0.2.0/24'] } } })))
      .toEqual({ namespace: 'observability', name: 'bucket', key: 'thanos.yaml' });
    expect(objstoreSecret(dist())).toBeUndefined(); // the default config has no long-term storage
  });

  it('without long-term storage nothing changes: no object-store step, and --objstore-file is refused', () => {
    const plain = deployPlan({ dist: dist() });
    expect(plain.some((s) => s.kind === 'check-objstore-secret' || s.kind === 'apply-objstore-secret')).toBe(false);
    expect(() => deployPlan({ dist: dist(), objstoreFile: 'o.yml' }))
      .toThrow('--objstore-file o.yml was given, but dist/ has no long-term storage: configure thanos.objectStorage and run `npm run synth`, or leave the flag out');
  });

  it('with --objstore-file: applied server-side from stdin after the namespaces, before dist/\'s Prometheus and Thanos files', () => {
    const steps = deployPlan({ dist: withStore, objstoreFile: 'objstore.yml', context: 'kind-x' });
    expectSecretFromStdin(steps, {
      kind: 'apply-objstore-secret',
      title: 'create or update Secret monitoring/thanos-objstore from objstore.yml (content on stdin only)',
      secret,
      file: 'objstore.yml',
    }, ['30-prometheus.k8s.yaml', '32-thanos.k8s.yaml'], 'check-objstore-secret');
  });

  it('without the file: checks the Secret\'s keys (never its values) right after the cluster check, before any write', () => {
    const steps = deployPlan({ dist: withStore });
    expect(steps[1]).toEqual({
      kind: 'check-objstore-secret',
      title: 'check that Secret monitoring/thanos-objstore has a value for objstore.yml (keys only)',
      secret,
      args: ['-n', 'monitoring', 'get', 'secret', 'thanos-objstore', '-o', `go-template=${SECRET_KEYS_TEMPLATE}`],
    });
    expect(indexOf(steps, (s) => argsOf(s).startsWith('apply'))).toBe(2);
  });

  it('waits for the Store Gateway\'s and the Compactor\'s StatefulSets after applying', () => {
    const steps = deployPlan({ dist: withStore });
    const lastApply = Math.max(...steps.map((s, i) => (argsOf(s).startsWith('apply') ? i : -1)));
    for (const name of ['thanos-store', 'thanos-compactor']) {
      expect(indexOf(steps, (s) => argsOf(s) === `-n monitoring rollout status statefulset/${name} --timeout=300s`)).toBeGreaterThan(lastApply);
    }
  });

  it('names what the file or the Secret lacks, never the content', () => {
    expect(objstoreFileProblem(secret, 'o.yml', OBJSTORE_YAML)).toBeUndefined();
    expect(objstoreFileProblem(secret, 'o.yml', ' \n')).toMatch(/^o\.yml is empty: .* from key objstore\.yml of Secret monitoring\/thanos-objstore$/);
    expect(objstoreSecretProblem(secret, undefined)).toBe('Secret monitoring/thanos-objstore does not exist, and dist/\'s Thanos sidecars, Store Gateway and Compactor '
      + 'read its key objstore.yml: create it with `npm run deploy -- --objstore-file <file>` (Thanos\'s objstore YAML)');
    expect(objstoreSecretProblem(secret, ['other'])).toMatch(/^Secret monitoring\/thanos-objstore has no value for objstore\.yml, which/);
    expect(objstoreSecretProblem(secret, ['objstore.yml'])).toBeUndefined();
  });

  it('carries the content only in the manifest piped to kubectl (base64 under the key), never in the plan', () => {
    const manifest = JSON.parse(objstoreSecretManifest(secret, OBJSTORE_YAML));
    expect(manifest).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'thanos-objstore', namespace: 'monitoring' } });
    expect(Buffer.from(manifest.data['objstore.yml'], 'base64').toString()).toBe(OBJSTORE_YAML);
    expect(Object.keys(manifest.data)).toEqual(['objstore.yml']);
    expect(leaks(JSON.stringify(deployPlan({ dist: withStore, objstoreFile: 'objstore.yml' })))).toEqual([]);
  });
});

describe('why a kubectl call failed', () => {
  const poll = deployPlan({ dist: dist() }).find((s): s is Extract<Step, { kind: 'poll' }> => s.kind === 'poll')!;

  it('is kubectl\'s last non-empty stderr line, minus klog\'s prefix', () => {
    expect(kubectlReason('Error from server (Forbidden): nope\n\n')).toBe('Error from server (Forbidden): nope');
    expect(kubectlReason('x\nW0101 10:00:00.000001   4242 reflector.go:569] failed to list *v1.Deployment: connection refused\n'))
      .toBe('failed to list *v1.Deployment: connection refused');
    expect(kubectlReason(' \n')).toBeUndefined();
  });

  it('is kubectl\'s exit status where its stderr says nothing', () => {
    expect(kubectlFailure('error: timed out waiting for the condition\n', 1)).toBe('error: timed out waiting for the condition');
    expect(kubectlFailure(' \n', 7)).toBe('kubectl exited with 7');
  });

  it('a poll that gave up on NotFound: the StatefulSet, the operator that should have made it, and its log', () => {
    const text = pollFailure(poll, 1, `Error from server (NotFound): statefulsets.apps "${poll.waitsFor.split('/')[1]}" not found\n`);
    expect(text).toBe(`${poll.waitsFor} still does not exist after 300s (Error from server (NotFound): statefulsets.apps "${poll.waitsFor.split('/')[1]}" not found): `
      + `${poll.maker.what} has not created it; its log says why: ${poll.maker.logs}`);
  });

  it('a poll that gave up on any other error: the command and kubectl\'s reason', () => {
    const refused = 'The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?';
    expect(pollFailure(poll, 1, `E0101 10:00:00.000001   4242 memcache.go:265] couldn't get current server API group list\n${refused}\n`))
      .toBe(`gave up after 300s: kubectl ${poll.args.join(' ')} still fails (${refused})`);
    expect(pollFailure(poll, 2, '')).toBe(`gave up after 300s: kubectl ${poll.args.join(' ')} still fails (kubectl exited with 2)`);
  });
});

describe('deploy flags', () => {
  it('parses --receivers-file', () => {
    expect(parseDeployArgs(['--receivers-file', 'r.env']).receiversFile).toBe('r.env');
    expect(parseDeployArgs(['--receivers-file=./r.env']).receiversFile).toBe('./r.env');
    expect(() => parseDeployArgs(['--receivers-file'])).toThrow(/--receivers-file needs a value/);
  });
  it('parses --objstore-file', () => {
    expect(parseDeployArgs(['--objstore-file', 'o.yml']).objstoreFile).toBe('o.yml');
    expect(parseDeployArgs(['--objstore-file=./o.yml']).objstoreFile).toBe('./o.yml');
    expect(() => parseDeployArgs(['--objstore-file'])).toThrow(/--objstore-file needs a value/);
  });
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
  const root = join(__dirname, '..', '..');
  // Bundled once (as npm run synth bundles main.ts): ts-node would transpile lib/ again on every run.
  // Inside the repo, so its packages resolve from node_modules/. `require.main` is defined away:
  // in one bundle every module would pass demo/main.ts's `require.main === module` entry check.
  const bundle = join(root, '.build', `deploy-test-${process.pid}.js`);
  beforeAll(() => {
    require('esbuild').buildSync({
      entryPoints: [join(root, 'scripts/deploy.ts')], bundle: true, platform: 'node', target: 'node20', packages: 'external',
      outfile: bundle, logLevel: 'error', define: { 'require.main': 'undefined' },
    });
  });
  afterAll(() => rmSync(bundle, { force: true }));
  let dir: string;
  let log: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fake-kubectl-'));
    log = join(dir, 'calls.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A kubectl that records its arguments and stdin; `cases` are extra `case "$*"` branches, tried first. */
  const fakeKubectl = (cases = '') => {
    writeFileSync(join(dir, 'kubectl'), `#!/bin/sh
echo "ARGS $*" >> "${log}"
case "$*" in
${cases}
  *"create -f -"*) echo "STDIN $(cat)" >> "${log}"; echo "secret/grafana-admin created" ;;
  *"get secret"*) exit 1 ;;
  *"config current-context"*) echo fake-context ;;
  *"config get-contexts"*) echo fake-context ;;
esac
exit 0
`);
    chmodSync(join(dir, 'kubectl'), 0o755);
  };
  const deploy = (args: string[] = [], env: Record<string, string> = {}) => {
    const e: Record<string, string> = { ...process.env as Record<string, string>, PATH: `${dir}:${process.env.PATH}`, ...env };
    if (!('CHAT_MONITORING_CONFIG' in env)) delete e.CHAT_MONITORING_CONFIG;
    return spawnSync(process.execPath, [bundle, ...args], { cwd: root, encoding: 'utf8', env: e });
  };
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

  it('runs every step in order, pipes the generated password on stdin only, and prints how to read it', () => {
    fakeKubectl();
    const r = deploy();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout;
    const stdinLine = calls().find((l) => l.startsWith('STDIN '))!;
    const password = JSON.parse(stdinLine.slice('STDIN '.length)).stringData['admin-password'];
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // Never in an argument, never printed.
    expect(calls().filter((l) => l.startsWith('ARGS ')).join('\n')).not.toContain(password);
    expect(out).not.toContain(password);
    expect(out).toContain('deploying dist/ to kubectl context "fake-context"');
    expect(out).toContain('http://localhost:3030');
    expect(out).toContain("get secret grafana-admin -o jsonpath='{.data.admin-password}'");
    const args = calls().filter((l) => l.startsWith('ARGS ')).map((l) => l.slice(5));
    expect(args).toContain('--context fake-context version -o json --request-timeout=10s');
    const applyIdx = (suffix: string) => args.findIndex((a) => a.startsWith('apply') && a.endsWith(suffix));
    expect(args.indexOf('--context fake-context version -o json --request-timeout=10s')).toBeLessThan(applyIdx(CRD_URL));
    expect(applyIdx(CRD_URL)).toBeLessThan(args.findIndex((a) => a.startsWith('wait --for=condition=Established')));
    expect(applyIdx('dist/00-namespaces.k8s.yaml')).toBeLessThan(args.indexOf('create -f -'));
    expect(args.indexOf('create -f -')).toBeLessThan(applyIdx('dist/60-grafana.k8s.yaml'));
    expect(args).toContain('-n monitoring rollout status statefulset/prometheus-chat-monitoring --timeout=300s');
  });

  it('without a cluster: one line saying there is no context and how to create one, nothing applied', () => {
    fakeKubectl(`  *"config current-context"*) echo "error: current-context is not set" >&2; exit 1 ;;
  *"config get-contexts"*) exit 0 ;;`);
    const r = deploy();
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(['deploy: kubectl has no current context, so no cluster to deploy to: '
      + 'create the local kind cluster with `npm run kind:up`, or choose a context with --context (`kubectl config get-contexts` lists them)']);
    expect(calls().some((l) => /ARGS .*apply/.test(l))).toBe(false);
  });

  it('with a context whose cluster is down: names the context and its server, hides kubectl\'s retries', () => {
    const memcache = 'E1125 18:04:05.615196   26604 memcache.go:265] couldn\'t get current server API group list: connection refused';
    fakeKubectl(`  *"version -o json"*) for i in 1 2 3 4 5; do echo "${memcache}" >&2; done; echo "The connection to the server 127.0.0.1:41234 was refused - did you specify the right host or port?" >&2; exit 1 ;;
  *"config view"*) printf https://127.0.0.1:41234 ;;`);
    const r = deploy();
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual(['deploy: the cluster of kubectl context "fake-context" (https://127.0.0.1:41234) does not answer '
      + '(The connection to the server 127.0.0.1:41234 was refused - did you specify the right host or port?): start it, or create the local kind cluster with `npm run kind:up`, '
      + 'or choose a context with --context (`kubectl config get-contexts` lists them)']);
    expect(r.stdout + r.stderr).not.toContain('memcache');
    expect(calls().some((l) => /ARGS .*apply/.test(l))).toBe(false);
  });

  it('with --context naming a context kubectl does not have: lists the ones it has', () => {
    fakeKubectl();
    const r = deploy(['--context', 'kind-other']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^deploy: kubectl has no context "kind-other" \(it has fake-context\): create the local kind cluster with `npm run kind:up`/);
  });

  /** deploy's own line: the last of stderr (kubectl's output comes above it). */
  const lastLine = (r: { stderr: string }) => r.stderr.trim().split('\n').pop();
  const CRD_STEP = /^deploy: step 2\/(\d+) \(install the Prometheus Operator v\S+ CRDs\) failed: /;

  it('a failing kubectl step: its output shown, and the last line carries kubectl\'s reason without klog\'s prefix', () => {
    const forbidden = 'Error from server (Forbidden): customresourcedefinitions.apiextensions.k8s.io "alertmanagers.monitoring.coreos.com" is forbidden';
    fakeKubectl(`  *"apply --server-side --force-conflicts"*) echo "E0101 10:00:00.000001   4242 apply.go:1] noise" >&2; echo '${forbidden}' >&2; exit 1 ;;`);
    const r = deploy();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('apply.go:1] noise');
    expect(lastLine(r)).toMatch(CRD_STEP);
    expect(lastLine(r)).toMatch(/ failed: kubectl exited with 1 \(Error from server \(Forbidden\): .* is forbidden\)$/);
    fakeKubectl(`  *"apply --server-side --force-conflicts"*) echo "E0101 10:00:00.000001   4242 reflector.go:9] failed to list: connection refused" >&2; exit 3 ;;`);
    expect(lastLine(deploy())).toMatch(/ failed: kubectl exited with 3 \(failed to list: connection refused\)$/);
  });

  it('a wait that ends while the cluster no longer answers: names the cluster first, then kubectl\'s timeout', () => {
    const down = join(dir, 'down');
    fakeKubectl(`  *"rollout status deployment/grafana"*) touch "${down}"; echo "error: timed out waiting for the condition" >&2; exit 1 ;;
  *"version -o json"*) if [ -f "${down}" ]; then echo "The connection to the server 127.0.0.1:41234 was refused - did you specify the right host or port?" >&2; exit 1; fi ;;
  *"config view"*) printf https://127.0.0.1:41234 ;;`);
    const r = deploy();
    expect(r.status).toBe(1);
    expect(lastLine(r)).toMatch(new RegExp('^deploy: step \\d+/\\d+ \\(wait for Deployment monitoring/grafana\\) failed: the cluster of kubectl context "fake-context" '
      + '\\(https://127\\.0\\.0\\.1:41234\\) does not answer \\(The connection to the server 127\\.0\\.0\\.1:41234 was refused - did you specify the right host or port\\?\\); '
      + 'kubectl exited with 1 \\(error: timed out waiting for the condition\\)$'));
  });

  it('a rollout wait that outlives its --timeout: stopped 10 s after it, the line says so and names the cluster\'s state', () => {
    fakeKubectl(`  *"rollout status deployment/grafana --timeout=1s"*) echo "W0101 10:00:00.000001   4242 reflector.go:9] watch ended" >&2; exec sleep 60 ;;`);
    const started = Date.now();
    const r = deploy(['--timeout', '1']);
    const seconds = (Date.now() - started) / 1000;
    expect(r.status).toBe(1);
    expect(lastLine(r)).toMatch(/^deploy: step \d+\/\d+ \(wait for Deployment monitoring\/grafana\) failed: kubectl was still waiting 10 s after its --timeout of 1 s, so deploy stopped it \(its last line: watch ended\)$/);
    // Stopped at --timeout + 10 s, not at the fake's 60 s.
    expect(seconds).toBeGreaterThanOrEqual(11);
    expect(seconds).toBeLessThan(60);
  }, 90_000);

  it('a StatefulSet the operator never makes: gives up after --timeout, naming the operator and its log', () => {
    fakeKubectl(`  *"get statefulset/"*) echo 'Error from server (NotFound): statefulsets.apps "x" not found' >&2; exit 1 ;;`);
    const started = Date.now();
    const r = deploy(['--timeout', '1']);
    expect(r.status).toBe(1);
    expect(lastLine(r)).toMatch(/^deploy: step \d+\/\d+ \(wait for the operator to create StatefulSet monitoring\/\S+\) failed: StatefulSet monitoring\/\S+ still does not exist after 1s \(Error from server \(NotFound\): statefulsets\.apps "x" not found\): the Prometheus Operator \(Deployment monitoring\/prometheus-operator\) has not created it; its log says why: kubectl -n monitoring logs deployment\/prometheus-operator$/);
    // Not before --timeout.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  describe('deploys what dist/ holds, and refuses a config that does not synthesize it', () => {
    let work: string;
    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'deploy-dist-'));
      const config = configWith({ namespace: 'observability' });
      synthesizeManifests(config, allDashboards(config), join(work, 'dist'));
      writeFileSync(join(work, 'observability.json'), JSON.stringify({ ...CHART_CONFIG, namespace: 'observability' }));
    });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('without CHAT_MONITORING_CONFIG: the Secret goes to dist/\'s namespace', () => {
      fakeKubectl();
      const r = deploy(['--dry-run'], { CHAT_MONITORING_DIST: join(work, 'dist') });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('create Secret observability/grafana-admin');
      expect(r.stdout).toContain('-n observability rollout status deployment/grafana');
      expect(r.stdout).not.toMatch(/\bmonitoring\//);
    });

    it('with the config dist/ came from: deploys', () => {
      fakeKubectl();
      const r = deploy(['--dry-run'], { CHAT_MONITORING_DIST: join(work, 'dist'), CHAT_MONITORING_CONFIG: join(work, 'observability.json') });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('with another config: refuses, naming both namespaces, before any kubectl call', () => {
      fakeKubectl();
      writeFileSync(join(work, 'monitoring.json'), JSON.stringify(CHART_CONFIG));
      const r = deploy(['--dry-run'], { CHAT_MONITORING_DIST: join(work, 'dist'), CHAT_MONITORING_CONFIG: join(work, 'monitoring.json') });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(
        /^deploy: dist\/ was synthesized with namespace "observability", but CHAT_MONITORING_CONFIG=.*monitoring\.json gives "monitoring": run `CHAT_MONITORING_CONFIG=.*monitoring\.json npm run synth` first/)]);
      expect(calls()).toEqual([]);
    });
  });

  /** A dist/ synthesized for the defaults plus `overrides` in a work folder of its own, for the suite it is called in. */
  const synthesizedDist = (prefix: string, overrides: Partial<ChartConfigInput>) => {
    const at = { work: '', distDir: '' };
    beforeAll(() => {
      at.work = mkdtempSync(join(tmpdir(), prefix));
      at.distDir = join(at.work, 'dist');
      const config = configWith(overrides);
      synthesizeManifests(config, allDashboards(config), at.distDir);
    });
    afterAll(() => rmSync(at.work, { recursive: true, force: true }));
    return at;
  };
  /** How deploy applies a Secret piped on stdin. */
  const SECRET_APPLY = 'apply --server-side --force-conflicts --field-manager=chat-monitoring -f -';

  describe('the Alertmanager receivers\' Secret', () => {
    const at = synthesizedDist('deploy-receivers-', { alertmanager: RECEIVERS });
    const RECEIVERS_APPLY = SECRET_APPLY;
    /** Records the receivers' manifest kubectl gets on stdin; `secretKeys` answers the keys check (undefined: NotFound). */
    const receiversKubectl = (secretKeys?: string[]) => fakeKubectl(`  *"${RECEIVERS_APPLY}"*) echo "RECEIVERS $(cat)" >> "${log}"; echo "secret/alertmanager-receivers serverside-applied" ;;
  *"get secret alertmanager-receivers"*) ${secretKeys === undefined
    ? 'echo \'Error from server (NotFound): secrets "alertmanager-receivers" not found\' >&2; exit 1'
    : `printf '${secretKeys.map((k) => `${k}\\n`).join('')}'`} ;;`);
    const everything = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}\n${calls().filter((l) => l.startsWith('ARGS ')).join('\n')}`;

    it('--receivers-file: pipes the values on stdin only, before dist/\'s Alertmanager file; no value in argv or output', () => {
      receiversKubectl();
      const file = join(at.work, 'receivers.env');
      writeFileSync(file, FULL_FILE);
      const dry = deploy(['--dry-run', '--receivers-file', file], { CHAT_MONITORING_DIST: at.distDir });
      expect(dry.stderr).toBe('');
      expect(dry.stdout).toContain(`create or update Secret monitoring/alertmanager-receivers from ${file} (values on stdin only)\n    kubectl -n monitoring ${RECEIVERS_APPLY}`);
      expect(leaks(dry.stdout)).toEqual([]);
      const r = deploy(['--receivers-file', file], { CHAT_MONITORING_DIST: at.distDir });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(leaks(everything(r))).toEqual([]);
      const stdin = calls().find((l) => l.startsWith('RECEIVERS '))!;
      const data: Record<string, string> = JSON.parse(stdin.slice('RECEIVERS '.length)).data;
      expect(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])))
        .toEqual(Object.fromEntries(parseReceiversFile(FULL_FILE, file)));
      const args = calls().filter((l) => l.startsWith('ARGS ')).map((l) => l.slice(5));
      const receiversApply = args.indexOf(`-n monitoring ${RECEIVERS_APPLY}`);
      expect(args.findIndex((a) => a.endsWith('00-namespaces.k8s.yaml'))).toBeLessThan(receiversApply);
      expect(receiversApply).toBeLessThan(args.findIndex((a) => a.endsWith('35-alertmanager.k8s.yaml')));
      expect(args.some((a) => a.includes('get secret alertmanager-receivers'))).toBe(false);
    });

    it('--receivers-file without every key: names the missing ones, before any kubectl call', () => {
      receiversKubectl();
      const file = join(at.work, 'partial.env');
      writeFileSync(file, receiversFile({ 'slack-webhook-url': CANARY, 'smtp-pw': `${CANARY}-pw` }));
      for (const extra of [[], ['--dry-run']]) {
        const r = deploy(['--receivers-file', file, ...extra], { CHAT_MONITORING_DIST: at.distDir });
        expect(r.status).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr.trim().split('\n')).toEqual([`deploy: ${file} has no value for auth-webhook-url, pagerduty-routing-key: dist/'s Alertmanager receivers read these keys `
          + 'of Secret monitoring/alertmanager-receivers (needed: auth-webhook-url, pagerduty-routing-key, slack-webhook-url, smtp-pw); add a key=value line for each']);
        expect(calls()).toEqual([]);
      }
    });

    it('without the file and without the Secret: names the keys, after the read-only checks, before any write', () => {
      receiversKubectl();
      const r = deploy([], { CHAT_MONITORING_DIST: at.distDir });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual(['deploy: Secret monitoring/alertmanager-receivers does not exist, and dist/\'s Alertmanager receivers read its keys '
        + 'auth-webhook-url, pagerduty-routing-key, slack-webhook-url, smtp-pw: create it with `npm run deploy -- --receivers-file <file>` (one key=value line each)']);
      const args = calls().map((l) => l.slice(5));
      expect(args.some((a) => /\b(apply|create)\b/.test(a))).toBe(false);
      // (the fake's `echo` turns the template's \n into a line break: compare its start)
      expect(args).toContain('-n monitoring get secret alertmanager-receivers -o go-template={{range $k, $v := .data}}{{if $v}}{{$k}}{{"');
    });

    it('without the file, with a Secret lacking keys: names them; with every key: deploys and leaves the Secret alone', () => {
      receiversKubectl(['smtp-pw', 'slack-webhook-url']);
      const r = deploy([], { CHAT_MONITORING_DIST: at.distDir });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^deploy: Secret monitoring\/alertmanager-receivers has no value for auth-webhook-url, pagerduty-routing-key, which/);
      expect(calls().some((l) => /\b(apply|create)\b/.test(l))).toBe(false);
      rmSync(log, { force: true });
      receiversKubectl(RECEIVER_KEYS);
      const ok = deploy([], { CHAT_MONITORING_DIST: at.distDir });
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      expect(calls().some((l) => l.includes(RECEIVERS_APPLY) || l.startsWith('RECEIVERS'))).toBe(false);
      expect(ok.stdout).toContain('secret/alertmanager-receivers has a value for every key the receivers read');
    });

    it('--receivers-file with a dist/ that has no receivers: refused, nothing run', () => {
      receiversKubectl();
      const file = join(at.work, 'receivers.env');
      writeFileSync(file, FULL_FILE);
      const r = deploy(['--receivers-file', file]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^deploy: --receivers-file .* was given, but no Alertmanager receiver in dist\/ reads a Secret/);
      expect(calls()).toEqual([]);
    });
  });
  describe('Thanos\'s object-store Secret', () => {
    const at = synthesizedDist('deploy-objstore-', { thanos: OBJECT_STORAGE });
    const APPLY = SECRET_APPLY;
    const objstoreKubectl = (hasKey: boolean) => fakeKubectl(`  *"${APPLY}"*) echo "OBJSTORE $(cat | base64 -w0)" >> "${log}"; echo "secret/thanos-objstore serverside-applied" ;;
  *"get secret thanos-objstore"*) ${hasKey ? 'printf \'objstore.yml\\n\'' : 'echo \'Error from server (NotFound): secrets "thanos-objstore" not found\' >&2; exit 1'} ;;`);

    it('--objstore-file: pipes the content on stdin only, before dist/\'s Prometheus file; nothing of it in argv or output', () => {
      objstoreKubectl(false);
      const file = join(at.work, 'objstore.yml');
      writeFileSync(file, OBJSTORE_YAML);
      const r = deploy(['--objstore-file', file], { CHAT_MONITORING_DIST: at.distDir });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const args = calls().filter((l) => l.startsWith('ARGS ')).map((l) => l.slice(5));
      expect(leaks(`${r.stdout}\n${args.join('\n')}`)).toEqual([]);
      const stdin = Buffer.from(calls().find((l) => l.startsWith('OBJSTORE '))!.slice('OBJSTORE '.length), 'base64').toString();
      expect(Buffer.from(JSON.parse(stdin).data['objstore.yml'], 'base64').toString()).toBe(OBJSTORE_YAML);
      const applied = args.indexOf(`-n monitoring ${APPLY}`);
      expect(args.findIndex((a) => a.endsWith('00-namespaces.k8s.yaml'))).toBeLessThan(applied);
      expect(applied).toBeLessThan(args.findIndex((a) => a.endsWith('30-prometheus.k8s.yaml')));
    });

    it('without the file: refuses before any write when the Secret is missing, deploys when it has its key', () => {
      objstoreKubectl(false);
      const r = deploy([], { CHAT_MONITORING_DIST: at.distDir });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^deploy: Secret monitoring\/thanos-objstore does not exist, and dist\/'s Thanos sidecars/);
      expect(calls().some((l) => /\b(apply|create)\b/.test(l))).toBe(false);
      rmSync(log, { force: true });
      objstoreKubectl(true);
      const ok = deploy([], { CHAT_MONITORING_DIST: at.distDir });
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      expect(ok.stdout).toContain('secret/thanos-objstore has a value for objstore.yml');
    });

    it('an empty --objstore-file, or one for a dist/ without long-term storage: refused, nothing run', () => {
      objstoreKubectl(false);
      const empty = join(at.work, 'empty.yml');
      writeFileSync(empty, '\n');
      const r = deploy(['--objstore-file', empty], { CHAT_MONITORING_DIST: at.distDir });
      expect([r.status, r.stderr]).toEqual([1, expect.stringMatching(/^deploy: .*empty\.yml is empty/)]);
      const plain = deploy(['--objstore-file', empty]);
      expect([plain.status, plain.stderr]).toEqual([1, expect.stringMatching(/^deploy: --objstore-file .* was given, but dist\/ has no long-term storage/)]);
      expect(calls()).toEqual([]);
    });
  });
});
