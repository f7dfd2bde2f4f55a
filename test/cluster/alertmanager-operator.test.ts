/**
 * The chart's Alertmanager on a real API server (etcd + kube-apiserver), reconciled by the real
 * Prometheus Operator v0.93 as its own ServiceAccount: the configuration the operator generates
 * is exactly what test/support/operator-alertmanager-config.ts renders (the function the
 * Alertmanager proof and the amtool checks run on), with no receiver and with every receiver kind
 * reading a user-created Secret; amtool accepts it; the StatefulSet's 3 replicas are clustered and
 * its pod passes the restricted profile. No kubelet: pods are judged by admission, never run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse, stringify } from 'yaml';
import { ChartConfig } from '../../lib/config';
import { EVERY_RECEIVER_KIND, RECEIVER_CREDENTIALS, RECEIVERS_SECRET } from '../support/alertmanager-fixtures';
import { amtool } from '../support/alertmanager';
import { ControlPlane, describeOnEachKubernetes } from '../support/control-plane';
import { operatorCrdFiles } from '../support/crds';
import { configWith, defaultConfig, K8sObject, synthCharts } from '../support/manifests';
import { podFromTemplate } from '../support/fake-pods';
import { Operator } from '../support/operator';
import { gunzipSecretValue } from '../support/operator-config';
import { renderOperatorAlertmanagerConfig, SecretStore } from '../support/operator-alertmanager-config';
import { until } from '../support/process';

const SECRET = RECEIVERS_SECRET;
const CREDENTIALS = RECEIVER_CREDENTIALS;
const withReceivers = configWith({ alertmanager: { ...EVERY_RECEIVER_KIND, groupWait: '10s' } });

/** The charts the Alertmanager needs: namespaces, the operator, Alertmanager itself. */
const objectsFor = (config: ChartConfig): K8sObject[] => {
  const charts = synthCharts(config);
  return ['00-namespaces', '10-prometheus-operator', '35-alertmanager'].flatMap((id) => charts.get(id)!);
};

describeOnEachKubernetes('Alertmanager on a real API server and the real operator', ['prometheus-operator', 'amtool'], (kubernetes) => {
  let cp: ControlPlane;
  let operator: Operator | undefined;
  let dir: string;
  const base = objectsFor(defaultConfig());
  const am = base.find((o) => o.kind === 'Alertmanager')!;
  const ns = am.metadata.namespace!;
  const generatedSecret = `alertmanager-${am.metadata.name}-generated`;

  const apply = (name: string, objects: K8sObject[]) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
    return cp.admin.ok(['apply', '--server-side', '--field-manager=chat-monitoring-test', '-f', file]);
  };
  /** The generated alertmanager.yaml, once it has `receivers` receivers (the operator re-renders on change). */
  const generated = (receivers: number) => until(`the operator's configuration with ${receivers} receivers`, () => {
    const r = cp.admin.run(['get', 'secret', generatedSecret, '-n', ns, '-o', 'json']);
    if (r.status !== 0) return undefined;
    const gz = (JSON.parse(r.stdout) as K8sObject).data?.['alertmanager.yaml.gz'];
    if (!gz) return undefined;
    const text = gunzipSecretValue(gz);
    return parse(text).receivers?.length === receivers ? text : undefined;
  }, 90_000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chat-monitoring-am-cluster-'));
    cp = await ControlPlane.start(kubernetes);
    for (const f of operatorCrdFiles()) cp.admin.ok(['apply', '--server-side', '--field-manager=chat-monitoring-test', '-f', f]);
    cp.admin.ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    apply('base', base);
    const deployment = base.find((o) => o.kind === 'Deployment')!;
    const kubeconfig = cp.serviceAccountKubeconfig(deployment.metadata.namespace!, deployment.spec.template.spec.serviceAccountName);
    operator = await Operator.start({ deploymentArgs: deployment.spec.template.spec.containers[0].args, kubeconfig });
  }, 240_000);

  afterAll(async () => {
    await operator?.stop();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const check = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return amtool(['check-config', name], dir);
  };

  it('with no receiver configured (dist/\'s default, no Secret): the rendering the proof uses, exactly', async () => {
    const amConfig = base.find((o) => o.kind === 'AlertmanagerConfig')!;
    const real = await generated(amConfig.spec.receivers.length);
    expect(parse(real)).toEqual(parse(renderOperatorAlertmanagerConfig(amConfig)));
    const r = check('default.yaml', real);
    expect(r.output).toContain('SUCCESS');
  }, 120_000);

  it('with every receiver kind reading the user\'s Secret: the rendering the proof uses, exactly', async () => {
    const secrets: SecretStore = { [SECRET]: CREDENTIALS };
    cp.admin.ok(['create', 'secret', 'generic', SECRET, '-n', ns, ...Object.entries(CREDENTIALS).map(([k, v]) => `--from-literal=${k}=${v}`)]);
    const objects = objectsFor(withReceivers);
    apply('receivers', objects);
    const amConfig = objects.find((o) => o.kind === 'AlertmanagerConfig')!;
    const real = await generated(amConfig.spec.receivers.length);
    expect(parse(real)).toEqual(parse(renderOperatorAlertmanagerConfig(amConfig, secrets)));
    const r = check('receivers.yaml', real);
    expect(r.output).toContain('SUCCESS');
  }, 120_000);

  it('generates a StatefulSet whose pod the restricted profile admits, with the chart\'s storage and its replicas clustered', async () => {
    const sts = await until('the StatefulSet', () => {
      const r = cp.admin.run(['get', 'statefulset', `alertmanager-${am.metadata.name}`, '-n', ns, '-o', 'json']);
      return r.status === 0 ? JSON.parse(r.stdout) as K8sObject : undefined;
    }, 90_000);
    const container = sts.spec.template.spec.containers.find((c: { name: string }) => c.name === 'alertmanager');
    expect(container.image).toBe(am.spec.image);
    // dist/'s default: 3 replicas gossiping on 9094, each peering with every replica through the
    // operator's headless Service (the chart's NetworkPolicy opens 9094 between them).
    expect(sts.spec.replicas).toBe(am.spec.replicas);
    expect(am.spec.replicas).toBe(3);
    expect(container.args).toContain('--cluster.listen-address=[$(POD_IP)]:9094');
    expect(container.args.filter((a: string) => a.startsWith('--cluster.peer=')).sort())
      .toEqual([0, 1, 2].map((i) => `--cluster.peer=alertmanager-${am.metadata.name}-${i}.alertmanager-operated:9094`));
    // The peer timeout the contract tests start their members with, from the resource's field.
    expect(container.args).toContain(`--cluster.peer-timeout=${am.spec.clusterPeerTimeout}`);
    expect(container.livenessProbe).toBeDefined();
    expect(container.readinessProbe).toBeDefined();
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(am.spec.storage.volumeClaimTemplate.spec.resources.requests.storage);
    // With the claim the StatefulSet controller would create for replica 0, as the pod would mount it.
    const pod = podFromTemplate(sts, 'pss-alertmanager');
    expect(pod.spec.volumes.filter((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim)).toHaveLength(sts.spec.volumeClaimTemplates.length);
    const r = cp.admin.run(['create', '--dry-run=server', '-f', '-', '-o', 'name'], JSON.stringify(pod));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it('the operator needed no right it lacks for Alertmanager (other controllers are the cluster suite\'s)', () => {
    expect(operator!.running).toBe(true);
    const lines = operator!.output.split('\n').filter((l) => /forbidden|missing permission/i.test(l) && /alertmanager|secret|statefulset/i.test(l));
    expect(lines).toEqual([]);
  });
});
