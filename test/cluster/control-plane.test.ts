/**
 * dist/ on a real Kubernetes API server (etcd + kube-apiserver at the kind node's version), the
 * real Prometheus Operator reconciling it as its own ServiceAccount, and Prometheus running the
 * configuration the operator generated, discovering the stack's targets through the API.
 *
 * Expectations are derived from dist/ itself (and the config it was synthesized from), so a user's
 * own config passes or fails on its own merits. There is no kubelet, scheduler, controller manager
 * or CNI: pods are admitted and stored, never run; the test creates what those would (Pod status,
 * EndpointSlices) and stands in for the pods on test hosts in a network namespace it makes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FIELD_MANAGER } from '../../scripts/deploy/plan';
import { ControlPlane, describeOnEachKubernetes } from '../support/control-plane';
import { createEndpointSlice, createRunningPod, podFromTemplate } from '../support/fake-pods';
import { operatorCrdFiles } from '../support/crds';
import { configWith, K8sObject, readDist, synthObjects } from '../support/manifests';
import { startMetricsStandIns } from '../support/metrics-stand-in';
import { Operator } from '../support/operator';
import { decodeOperatorConfig, operatorPrometheusConfig } from '../support/operator-config';
import { RunningProcess, sleep, until } from '../support/process';
import { PrometheusServer, promtool } from '../support/prometheus';
import { createTestHosts, TestHosts, testHostsUnavailable } from '../support/test-hosts';

const DIST = join(__dirname, '..', '..', 'dist');
const files = readDist(DIST);
const objects = files.flatMap((f) => f.objects);
const of = (kind: string) => objects.filter((o) => o.kind === kind);
const one = (kind: string) => {
  const found = of(kind);
  if (found.length !== 1) throw new Error(`dist/ holds ${found.length} ${kind} objects, expected 1`);
  return found[0];
};
const prometheusCr = one('Prometheus');
const stackNamespace = prometheusCr.metadata.namespace!;
const operatorDeployment = of('Deployment').find((d) => d.spec.template.spec.containers.some((c: { args?: string[] }) =>
  (c.args ?? []).some((a) => a.startsWith('--prometheus-config-reloader='))))!;
const monitorNamespaces = [...new Set(of('ServiceMonitor').flatMap((m) => m.spec.namespaceSelector?.matchNames ?? [m.metadata.namespace!]))];
const chatNamespaces = [...new Set(of('Role').filter((r) => r.rules.some((rule: { resources: string[] }) => rule.resources.includes('pods')) && r.metadata.namespace !== stackNamespace).map((r) => r.metadata.namespace!))];
/** Where the RBAC checks look: every namespace the chart grants in, and two it never should. */
const rbacNamespaces = [...new Set([stackNamespace, ...chatNamespaces, ...monitorNamespaces, 'default', 'kube-system'])];
/** `verb resource` rows `kubectl auth can-i --list` gives `as` in `ns`. */
const rightsOf = (cp: ControlPlane, ns: string, as: string) => parseCanIList(cp.admin.ok(['auth', 'can-i', '--list', '-n', ns, `--as=${as}`]).stdout)
  .flatMap((g) => g.verbs.map((v) => `${v} ${g.resource}`));
/** Long-term storage on, for the suites that synthesize it beside dist/. */
const OBJECT_STORAGE = { objectStorage: { egressCidrs: ['192.0.2.0/24'] } };
const saOf = (o: K8sObject) => `system:serviceaccount:${o.metadata.namespace}:${o.spec.template.spec.serviceAccountName}`;

describeOnEachKubernetes('dist/ on a real API server, Prometheus Operator and Prometheus', ['prometheus-operator', 'prometheus', 'promtool'], (kubernetes) => {
  let cp: ControlPlane;
  let operator: Operator | undefined;
  const stopped: { stop(): Promise<void> | void }[] = [];

  /**
   * What the cluster's default policy gives every ServiceAccount, per namespace (self-reviews; from
   * Kubernetes 1.36 on, reading ClusterTrustBundles): read before dist/ is applied, so nothing the
   * chart grants is in it, and subtracted from each component's rights as not its own.
   */
  const defaultRights = new Map<string, string[]>();

  beforeAll(async () => {
    cp = await ControlPlane.start(kubernetes);
    for (const ns of rbacNamespaces) defaultRights.set(ns, rightsOf(cp, ns, `system:serviceaccount:${stackNamespace}:not-yet-created`));
  }, 180_000);

  afterAll(async () => {
    for (const s of stopped.reverse()) await s.stop();
    await operator?.stop();
    await cp?.stop();
  }, 60_000);

  describe('apply', () => {
    it('runs the pinned Kubernetes release (test/tools/<program>/go.mod)', async () => {
      const version = JSON.parse((await cp.apiServer.get('/version')).body);
      expect(version.gitVersion).toBe(cp.version);
      expect(JSON.parse(cp.admin.ok(['version', '--client', '-o', 'json']).stdout).clientVersion.gitVersion).toBe(cp.version);
    });

    it('installs the operator CRDs server-side and they become Established', () => {
      for (const f of operatorCrdFiles()) {
        cp.admin.ok(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', f]);
      }
      cp.admin.ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
      const crds = cp.admin.json<{ items: K8sObject[] }>(['get', 'crd']).items.map((c) => c.metadata.name);
      for (const kind of new Set(objects.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/')).map((o) => o.kind))) {
        expect(crds.some((n) => n.endsWith('.monitoring.coreos.com') && n.startsWith(`${kind.toLowerCase()}`))).toBe(true);
      }
    }, 120_000);

    it.each(files.map((f) => [f.file]))('%s: every object accepted server-side, with no warning', (file) => {
      const r = cp.admin.ok(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', join(DIST, file)]);
      expect(r.stderr).toBe('');
      const applied = r.stdout.trim().split('\n').filter(Boolean);
      expect(applied).toHaveLength(files.find((f) => f.file === file)!.objects.length);
      for (const line of applied) expect(line).toMatch(/ serverside-applied$/);
    }, 60_000);

    it('a second apply of dist/ changes nothing: no content, generation or field owner of any object', () => {
      // The whole stored object but its resourceVersion and the apply timestamps: the API server
      // rewrites a PersistentVolumeClaim once on its first re-apply (a new resourceVersion and
      // nothing else), which is the server's doing, not the manifest's.
      const live = () => Object.fromEntries(files.flatMap((f) =>
        cp.admin.json<{ items: K8sObject[] }>(['get', '-f', join(DIST, f.file), '--show-managed-fields']).items.map((o) => {
          const { resourceVersion, managedFields, ...metadata } = o.metadata as Record<string, unknown>; // eslint-disable-line @typescript-eslint/no-unused-vars
          const fields = (managedFields as { time?: string }[] | undefined)?.map(({ time, ...rest }) => rest); // eslint-disable-line @typescript-eslint/no-unused-vars
          return [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, { ...o, metadata: { ...metadata, managedFields: fields } }];
        })));
      const before = live();
      for (const f of files) {
        const r = cp.admin.ok(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', join(DIST, f.file)]);
        expect(r.stderr).toBe('');
      }
      const after = live();
      for (const key of Object.keys(before)) expect({ [key]: after[key] }).toEqual({ [key]: before[key] });
    }, 120_000);

    it('with collector.autoscaling, the collector Deployment without replicas and its HorizontalPodAutoscaler are accepted (server-side dry run)', () => {
      const scaled = synthObjects(configWith({ collector: { autoscaling: { minReplicas: 2, maxReplicas: 4 } } }));
      for (const o of scaled.filter((x) => (x.kind === 'HorizontalPodAutoscaler' || x.kind === 'Deployment') && x.metadata.name === 'otel-collector')) {
        const r = cp.admin.run(['apply', '--server-side', '--dry-run=server', `--field-manager=${FIELD_MANAGER}`, '-f', '-', '-o', 'json'], JSON.stringify(o));
        expect(`${o.kind}: ${r.status} ${r.stderr}`).toBe(`${o.kind}: 0 `);
        const stored = JSON.parse(r.stdout) as K8sObject;
        if (o.kind === 'HorizontalPodAutoscaler') expect(stored.spec.metrics[0].resource.target).toEqual({ type: 'AverageValue', averageValue: '350m' });
      }
    });

    it('with thanos.objectStorage, the Prometheus resource, the Store Gateway, the Compactor and their policies are accepted (server-side dry run), their pods by the restricted profile', () => {
      const longTerm = synthObjects(configWith({ thanos: OBJECT_STORAGE }));
      const thanosObjects = longTerm.filter((o) => o.kind === 'Prometheus' || o.metadata.name.startsWith('thanos-'));
      expect(thanosObjects.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name).sort()).toEqual(['thanos-compactor', 'thanos-store']);
      for (const o of thanosObjects) {
        const r = cp.admin.run(['apply', '--server-side', '--dry-run=server', `--field-manager=${FIELD_MANAGER}`, '-f', '-', '-o', 'name'], JSON.stringify(o));
        expect(`${o.kind}/${o.metadata.name}: ${r.status} ${r.stderr}`).toBe(`${o.kind}/${o.metadata.name}: 0 `);
      }
      // A pod is admitted only with its ServiceAccount present: those two, for the check, then gone.
      const accounts = thanosObjects.filter((o) => o.kind === 'ServiceAccount' && o.metadata.name !== 'thanos-query');
      try {
        for (const sa of accounts) cp.admin.ok(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], JSON.stringify(sa));
        for (const sts of thanosObjects.filter((o) => o.kind === 'StatefulSet')) {
          const r = admitted(podFromTemplate(sts, `pss-${sts.metadata.name}`));
          expect(`${sts.metadata.name}: ${r.status} ${r.stderr}`).toBe(`${sts.metadata.name}: 0 `);
        }
      } finally {
        for (const sa of accounts) cp.admin.run(['delete', 'serviceaccount', sa.metadata.name, '-n', sa.metadata.namespace!, '--ignore-not-found']);
      }
    });
  });

  /** Server-side dry-run create: the PodSecurity admission plugin judges it against the namespace's level. */
  const admitted = (pod: K8sObject) => cp.admin.run(['create', '--dry-run=server', '-f', '-', '-o', 'name'], JSON.stringify(pod));

  describe('pod security', () => {
    it('the namespaces the stack runs in enforce the restricted profile', () => {
      const workloadNamespaces = new Set(of('Deployment').map((d) => d.metadata.namespace));
      for (const ns of of('Namespace').filter((n) => workloadNamespaces.has(n.metadata.name))) {
        const live = cp.admin.json<K8sObject>(['get', 'namespace', ns.metadata.name]);
        expect(live.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
      }
    });

    it.each(of('Deployment').map((d) => [`${d.metadata.namespace}/${d.metadata.name}`, d] as const))(
      'Deployment %s: its pod is admitted by the restricted profile with no warning', (_name, deployment) => {
        const r = admitted(podFromTemplate(deployment, `pss-${deployment.metadata.name}`));
        expect(`${r.stderr}`).toBe('');
        expect(r.status).toBe(0);
      });

    it('a privileged pod is refused in the same namespace (the check is live)', () => {
      const d = of('Deployment')[0];
      const pod = podFromTemplate(d, 'pss-privileged');
      // Privilege escalation: allowed by the baseline profile, refused by restricted.
      pod.spec = { ...pod.spec, containers: pod.spec.containers.map((c: { securityContext: object }) => ({ ...c, securityContext: { ...c.securityContext, allowPrivilegeEscalation: true } })) };
      const r = admitted(pod);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/violates PodSecurity "restricted/);
    });
  });

  describe('the operator as its own ServiceAccount', () => {
    const stsName = `prometheus-${prometheusCr.metadata.name}`;
    const deploymentArgs: string[] = operatorDeployment.spec.template.spec.containers[0].args;

    beforeAll(async () => {
      const kubeconfig = cp.serviceAccountKubeconfig(operatorDeployment.metadata.namespace!, operatorDeployment.spec.template.spec.serviceAccountName);
      operator = await Operator.start({ deploymentArgs, kubeconfig });
    }, 120_000);

    it('reconciles the Prometheus: StatefulSet, config Secret and rule ConfigMaps', async () => {
      const sts = await until('the StatefulSet', () => {
        const r = cp.admin.run(['get', 'statefulset', stsName, '-n', stackNamespace, '-o', 'json']);
        return r.status === 0 ? JSON.parse(r.stdout) as K8sObject : undefined;
      }, 90_000);
      expect(sts.spec.template.spec.serviceAccountName).toBe(prometheusCr.spec.serviceAccountName);
      const images = sts.spec.template.spec.containers.map((c: { image: string }) => c.image);
      expect(images).toContain(prometheusCr.spec.image);
      // spec.thanos: the operator's Thanos sidecar at the pinned image, serving StoreAPI on its grpc port for Thanos Query.
      const sidecar = sts.spec.template.spec.containers.find((c: { name: string }) => c.name === 'thanos-sidecar');
      expect(sidecar?.image).toBe(prometheusCr.spec.thanos.image);
      expect(sidecar.ports).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'grpc', containerPort: 10901 })]));
      expect(sidecar.args.some((a: string) => a.startsWith('--objstore.config'))).toBe(false); // no object store in dist/
      // ...and the governing Service Query resolves by DNS SRV, with that grpc port.
      const operated = await until('the prometheus-operated Service with its grpc port', () => {
        const r = cp.admin.run(['get', 'service', 'prometheus-operated', '-n', stackNamespace, '-o', 'json']);
        const svc = r.status === 0 ? JSON.parse(r.stdout) as K8sObject : undefined;
        return svc?.spec.ports.some((p: { name: string }) => p.name === 'grpc') ? svc : undefined;
      });
      expect(operated.spec.clusterIP).toBe('None');
      expect(operated.spec.ports.find((p: { name: string }) => p.name === 'grpc')).toMatchObject({ port: 10901, targetPort: 'grpc' });
      const secret = await until('the config Secret', () => {
        const s = cp.admin.json<K8sObject>(['get', 'secret', stsName, '-n', stackNamespace]);
        return s.data?.['prometheus.yaml.gz'] ? s : undefined;
      });
      // One scrape job per ServiceMonitor endpoint in dist/ (the operator names them
      // serviceMonitor/<namespace>/<name>/<endpoint index>): it read every one of them.
      const jobs = (decodeOperatorConfig(secret.data['prometheus.yaml.gz']).scrape_configs as { job_name: string }[]).map((j) => j.job_name);
      const monitorJobs = of('ServiceMonitor').flatMap((m) => (m.spec.endpoints as unknown[]).map((_e, i) => `serviceMonitor/${m.metadata.namespace}/${m.metadata.name}/${i}`));
      expect(monitorJobs.length).toBeGreaterThan(0);
      expect(jobs.filter((j) => j.startsWith('serviceMonitor/')).sort()).toEqual(monitorJobs.sort());
      const ruleMaps = await until('the rule ConfigMaps', () => {
        const items = cp.admin.json<{ items: K8sObject[] }>(['get', 'configmap', '-n', stackNamespace, '-l', `prometheus-name=${prometheusCr.metadata.name}`]).items;
        return items.length > 0 ? items : undefined;
      });
      const ruleFiles = ruleMaps.flatMap((m) => Object.keys(m.data ?? {}));
      // The operator names each rule file <namespace>-<PrometheusRule name>-<uid>.yaml.
      for (const rule of of('PrometheusRule')) {
        const prefix = `${rule.metadata.namespace}-${rule.metadata.name}-`;
        expect(`${prefix}: ${ruleFiles.some((f) => f.startsWith(prefix) && f.length - prefix.length === 36 + 5)}`).toBe(`${prefix}: true`);
      }
    }, 150_000);

    it('with thanos.objectStorage, the sidecar it generates uploads with the configuration from the Secret key (a second Prometheus, removed after)', async () => {
      const cr = synthObjects(configWith({ thanos: OBJECT_STORAGE })).find((o) => o.kind === 'Prometheus')!;
      const name = `${cr.metadata.name}-objstore`;
      const ref = cr.spec.thanos.objectStorageConfig;
      expect(ref).toEqual({ name: 'thanos-objstore', key: 'objstore.yml' });
      cp.admin.ok(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], JSON.stringify({ ...cr, metadata: { ...cr.metadata, name } }));
      try {
        const sts = await until(`StatefulSet prometheus-${name}`, () => {
          const r = cp.admin.run(['get', 'statefulset', `prometheus-${name}`, '-n', stackNamespace, '-o', 'json']);
          return r.status === 0 ? JSON.parse(r.stdout) as K8sObject : undefined;
        }, 90_000);
        const sidecar = sts.spec.template.spec.containers.find((c: { name: string }) => c.name === 'thanos-sidecar');
        expect(sidecar.args).toContain('--objstore.config=$(OBJSTORE_CONFIG)');
        expect(sidecar.env).toContainEqual({ name: 'OBJSTORE_CONFIG', valueFrom: { secretKeyRef: ref } });
        const r = admitted(podFromTemplate(sts, `pss-prometheus-${name}`));
        expect(`${r.status} ${r.stderr}`).toBe('0 ');
      } finally {
        // No garbage collector runs here: the StatefulSet goes by hand.
        cp.admin.run(['delete', 'prometheus', name, '-n', stackNamespace, '--wait=false']);
        await until(`Prometheus ${name} gone`, () => (cp.admin.run(['get', 'prometheus', name, '-n', stackNamespace]).status !== 0 ? true : undefined));
        cp.admin.run(['delete', 'statefulset', `prometheus-${name}`, '-n', stackNamespace, '--ignore-not-found']);
      }
    }, 150_000);

    it('sends every alert to every Alertmanager replica: it discovers the endpoints of the chart\'s alertmanager Service, port web', async () => {
      const secret = await until('the config Secret', () => {
        const s = cp.admin.json<K8sObject>(['get', 'secret', stsName, '-n', stackNamespace]);
        return s.data?.['prometheus.yaml.gz'] ? s : undefined;
      });
      const [wanted] = prometheusCr.spec.alerting.alertmanagers as { namespace: string; name: string; port: string }[];
      expect(of('Alertmanager').map((a) => a.spec.replicas)).toEqual([3]);
      const alerting = decodeOperatorConfig(secret.data['prometheus.yaml.gz']).alerting as { alertmanagers: Record<string, any>[]; alert_relabel_configs: unknown[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(alerting.alertmanagers).toHaveLength(1);
      const [am] = alerting.alertmanagers;
      expect(am.api_version).toBe('v2');
      // Endpoint discovery (one target per ready pod behind the Service), not the Service's address.
      expect(am.static_configs).toBeUndefined();
      expect(am.kubernetes_sd_configs).toEqual([expect.objectContaining({ role: 'endpointslice', namespaces: { names: [wanted.namespace] } })]);
      expect(am.relabel_configs).toEqual([
        expect.objectContaining({ action: 'keep', source_labels: ['__meta_kubernetes_service_name'], regex: wanted.name }),
        expect.objectContaining({ action: 'keep', source_labels: ['__meta_kubernetes_endpointslice_port_name'], regex: wanted.port }),
      ]);
      // The replicas' copies of an alert are one alert: the operator drops the replica label from alerts.
      expect(alerting.alert_relabel_configs).toEqual([{ action: 'labeldrop', regex: 'prometheus_replica' }]);
    }, 60_000);

    /** Controllers the operator can run that the chart does not use; it logs their missing rights once. */
    const UNUSED_CONTROLLERS = { PrometheusAgent: 'prometheusagents', ThanosRuler: 'thanosrulers' };

    it('its log holds no "forbidden" and no missing permission for anything the chart uses', async () => {
      for (const kind of Object.keys(UNUSED_CONTROLLERS)) expect(of(kind)).toEqual([]);
      await sleep(3000); // let informers for every resource report
      expect(operator!.running).toBe(true);
      const lines = operator!.output.split('\n').filter((l) => /forbidden|permission/i.test(l));
      const unused = lines.filter((l) => /missing permission on resource/.test(l)
        && Object.values(UNUSED_CONTROLLERS).some((r) => l.includes(`\\"${r}\\"`) || l.includes(`"${r}"`)));
      expect(lines.filter((l) => !unused.includes(l))).toEqual([]);
    }, 30_000);

    /** The StatefulSets the operator generates: one per Prometheus and per Alertmanager in dist/. */
    const generated = () => [...of('Prometheus').map((p) => `prometheus-${p.metadata.name}`), ...of('Alertmanager').map((a) => `alertmanager-${a.metadata.name}`)];

    it('reconciles every Alertmanager into a StatefulSet with its generated configuration', async () => {
      for (const am of of('Alertmanager')) {
        const name = `alertmanager-${am.metadata.name}`;
        await until(`StatefulSet ${name}`, () => (cp.admin.run(['get', 'statefulset', name, '-n', am.metadata.namespace!]).status === 0 ? true : undefined), 90_000);
        const secret = await until(`the generated config of ${name}`, () => {
          const s = cp.admin.run(['get', 'secret', `${name}-generated`, '-n', am.metadata.namespace!, '-o', 'json']);
          return s.status === 0 ? JSON.parse(s.stdout) as K8sObject : undefined;
        });
        expect(Object.keys(secret.data ?? {}).length).toBeGreaterThan(0);
      }
    }, 120_000);

    it('the pods of the StatefulSets it generated are admitted by the restricted profile', () => {
      expect(generated().length).toBeGreaterThan(0);
      for (const name of generated()) {
        const sts = cp.admin.json<K8sObject>(['get', 'statefulset', name, '-n', stackNamespace]);
        const r = admitted(podFromTemplate(sts, `pss-${name}`));
        expect(`${name}: ${r.stderr}`).toBe(`${name}: `);
        expect(r.status).toBe(0);
      }
    });

    it('only reads the configuration resources (ServiceMonitors, PodMonitors, Probes, PrometheusRules, ScrapeConfigs, AlertmanagerConfigs), yet reconciled above', () => {
      const as = saOf(operatorDeployment);
      const resources = ['servicemonitors', 'podmonitors', 'probes', 'prometheusrules', 'scrapeconfigs', 'alertmanagerconfigs'].map((r) => `${r}.monitoring.coreos.com`);
      const verdicts = resources.flatMap((r) => ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'].map((verb) =>
        `${verb} ${r}: ${cp.admin.run(['auth', 'can-i', verb, r, '-n', stackNamespace, `--as=${as}`]).stdout.trim()}`));
      const expected = resources.flatMap((r) => ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'].map((verb) =>
        `${verb} ${r}: ${['get', 'list', 'watch'].includes(verb) ? 'yes' : 'no'}`));
      expect(verdicts).toEqual(expected);
      expect(cp.admin.run(['auth', 'can-i', 'update', 'servicemonitors.monitoring.coreos.com', '--subresource=status', '-n', stackNamespace, `--as=${as}`]).stdout.trim()).toBe('no');
    });

    it('may emit Events in every namespace it watches (events.k8s.io create and patch)', () => {
      const as = saOf(operatorDeployment);
      for (const verb of ['create', 'patch']) {
        const r = cp.admin.run(['auth', 'can-i', verb, 'events.events.k8s.io', '--all-namespaces', `--as=${as}`]);
        expect(`${verb}: ${r.stdout.trim()}`).toBe(`${verb}: yes`);
      }
    });
  });

  describe('what each ServiceAccount may do, and nothing more', () => {
    /**
     * The rights each component needs, written out here. Namespaces come from dist/: Prometheus
     * discovers targets where its ServiceMonitors look; the collector reads pods where the chat
     * services run; the Grafana sidecar reads dashboard ConfigMaps in its own namespace.
     */
    const READ = ['get', 'list', 'watch'];
    const expected: Record<string, { namespaces: string[]; grants: [string, string][] }[]> = {
      prometheus: [{ namespaces: monitorNamespaces, grants: READ.flatMap((v) => ['services', 'pods', 'endpointslices.discovery.k8s.io'].map((r): [string, string] => [v, r])) }],
      'otel-collector': [{ namespaces: chatNamespaces, grants: READ.map((v): [string, string] => [v, 'pods']) }],
      grafana: [{ namespaces: [stackNamespace], grants: READ.map((v): [string, string] => [v, 'configmaps']) }],
    };
    const deploymentOf = (sa: string) => of('Deployment').find((d) => d.spec.template.spec.serviceAccountName === sa);
    const asOf = (sa: string) => `system:serviceaccount:${stackNamespace}:${sa}`;
    const can = (as: string, verb: string, resource: string, ns: string) =>
      cp.admin.run(['auth', 'can-i', verb, resource, '-n', ns, `--as=${as}`]).stdout.trim() === 'yes';

    it.each(Object.keys(expected))('%s: every permission it needs is granted', (sa) => {
      if (sa !== 'prometheus') expect(deploymentOf(sa)).toBeDefined();
      for (const { namespaces, grants } of expected[sa]) {
        for (const ns of namespaces) for (const [verb, resource] of grants) expect(`${verb} ${resource} in ${ns}: ${can(asOf(sa), verb, resource, ns)}`).toBe(`${verb} ${resource} in ${ns}: true`);
      }
    });

    it.each(Object.keys(expected))('%s: nothing beyond it, in any namespace', (sa) => {
      for (const ns of rbacNamespaces) {
        const everyone = new Set(defaultRights.get(ns));
        const granted = rightsOf(cp, ns, asOf(sa)).filter((x) => !everyone.has(x));
        const allowed = new Set(expected[sa].filter((e) => e.namespaces.includes(ns)).flatMap((e) => e.grants.map(([v, r]) => `${v} ${r}`)));
        const beyond = granted.filter((x) => !allowed.has(x));
        expect(`${ns}: ${beyond.join(', ')}`).toBe(`${ns}: `);
      }
    });
  });

  describe('Prometheus on the configuration the operator generated', () => {
    let hosts: TestHosts | undefined;
    let prometheus: PrometheusServer;
    let adaptedPath: string;
    let workdir: string;

    /** Services a ServiceMonitor selects, with the workload whose pods back them. */
    const monitored = () => of('ServiceMonitor').flatMap((m) => of('Service').filter((s) =>
      (m.spec.namespaceSelector?.matchNames ?? [m.metadata.namespace]).includes(s.metadata.namespace)
      && Object.entries(m.spec.selector.matchLabels ?? {}).every(([k, v]) => s.metadata.labels?.[k] === v)).map((s) => ({ monitor: m, service: s })));

    beforeAll(async () => {
      const unavailable = testHostsUnavailable();
      if (unavailable) throw new Error(unavailable);
      workdir = mkdtempSync(join(tmpdir(), 'chat-monitoring-operator-config-'));
      adaptedPath = operatorPrometheusConfig(cp, prometheusCr, workdir).configFile;
    }, 60_000);

    afterAll(async () => {
      await prometheus?.stop();
      hosts?.remove();
      if (workdir) rmSync(workdir, { recursive: true, force: true });
    }, 30_000);

    it('the generated config passes promtool check config, rule files included', () => {
      const r = promtool(['check', 'config', adaptedPath]);
      expect(r.output).toMatch(/SUCCESS/);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
    });

    it('discovers every monitored Service through EndpointSlices and Pods, with the labels dashboards and alerts use', async () => {
      const pairs = monitored();
      expect(pairs.length).toBeGreaterThan(0);
      hosts = createTestHosts(pairs.length);
      const listeners: { address: string; port: number }[] = [];
      const expectedTargets: Record<string, string>[] = [];
      const stsLive = cp.admin.json<{ items: K8sObject[] }>(['get', 'statefulset', '-n', stackNamespace]).items;
      pairs.forEach(({ monitor, service }, i) => {
        const ns = service.metadata.namespace!;
        const workload = [...of('Deployment'), ...stsLive].find((w) => w.metadata.namespace === ns
          && Object.entries(service.spec.selector).every(([k, v]) => w.spec.template.metadata?.labels?.[k] === v));
        if (!workload) throw new Error(`no workload's pods match Service ${ns}/${service.metadata.name}`);
        const podName = `${service.metadata.name}-0`;
        const address = hosts!.addresses[i];
        const pod = podFromTemplate(workload, podName);
        createRunningPod(cp.admin, pod, address);
        const ports = createEndpointSlice(cp.admin, service, pod, address);
        for (const endpoint of monitor.spec.endpoints) {
          const p = ports.find((x) => x.name === endpoint.port);
          if (!p) throw new Error(`ServiceMonitor ${monitor.metadata.name}: Service ${service.metadata.name} has no port ${endpoint.port}`);
          listeners.push({ address, port: p.port });
          expectedTargets.push(expectedTargetLabels(monitor, endpoint, service, { namespace: ns, pod: podName, instance: `${address}:${p.port}` }));
        }
      });
      const standIns: RunningProcess = await startMetricsStandIns(hosts.netns, [...new Map(listeners.map((l) => [`${l.address}:${l.port}`, l])).values()]);
      stopped.push(standIns);
      prometheus = await PrometheusServer.start({ config: readFileSync(adaptedPath, 'utf8') });

      type Target = { labels: Record<string, string>; health: string; lastError: string };
      const matches = (t: Target, e: Record<string, string>) => Object.entries(e).every(([k, v]) => t.labels[k] === v);
      let targets: Target[] = [];
      for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(500)) {
        targets = ((await (await fetch(`${prometheus.url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
        if (expectedTargets.every((e) => targets.some((t) => t.health === 'up' && matches(t, e)))) break;
      }
      const seen = targets.map((t) => `${t.labels.job}/${t.labels.instance} ${t.health}`).join(', ');
      if (targets.length === 0) {
        const dropped = ((await (await fetch(`${prometheus.url}/api/v1/targets?state=dropped`)).json()) as { data: { droppedTargets: { discoveredLabels: Record<string, string> }[] } }).data.droppedTargets;
        throw new Error(`Prometheus discovered no target (${dropped.length} dropped, e.g. ${JSON.stringify(dropped[0]?.discoveredLabels)}); its log:\n${prometheus.output.slice(-3000)}`);
      }
      for (const e of expectedTargets) {
        const t = targets.find((x) => matches(x, e));
        expect({ ...e, health: t?.health ?? `not discovered (discovered: ${seen})`, lastError: t?.lastError ?? '' }).toEqual({ ...e, health: 'up', lastError: '' });
      }
      // The jobs the alert rules name are jobs that exist.
      const ruleJobs = [...new Set(of('PrometheusRule').flatMap((r) => JSON.stringify(r.spec).match(/job=\\"[^\\"]+\\"/g) ?? []).map((m) => m.slice(6, -2)))];
      for (const job of ruleJobs.filter((j) => !j.includes('~'))) {
        if (expectedTargets.some((t) => t.job === job) || of('ServiceMonitor').some((m) => m.metadata.name === job)) continue;
        throw new Error(`a rule names job="${job}", which no ServiceMonitor produces`);
      }
      const upQuery = await prometheus.query('up');
      expect(upQuery.length).toBeGreaterThanOrEqual(expectedTargets.length);
    }, 180_000);
  });
});

/**
 * The labels the operator's relabelling gives a target: job is the Service's name (or the value of
 * its `jobLabel` label), service the Service's name, then the endpoint's own constant relabellings
 * (a replacement with no source labels) win.
 */
function expectedTargetLabels(monitor: K8sObject, endpoint: { relabelings?: { action?: string; sourceLabels?: string[]; targetLabel?: string; replacement?: string }[] },
  service: K8sObject, where: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = {
    ...where,
    job: monitor.spec.jobLabel ? service.metadata.labels?.[monitor.spec.jobLabel] ?? service.metadata.name : service.metadata.name,
    service: service.metadata.name,
  };
  for (const r of endpoint.relabelings ?? []) {
    if ((r.action ?? 'replace') !== 'replace' || !r.targetLabel) continue;
    if (r.sourceLabels?.length) delete labels[r.targetLabel]; // computed from discovery: not asserted here
    else labels[r.targetLabel] = r.replacement ?? '$1';
  }
  return labels;
}

/** `kubectl auth can-i --list` rows with a resource (non-resource URLs are everyone's discovery). */
function parseCanIList(text: string): { resource: string; verbs: string[] }[] {
  return text.split('\n').slice(1).map((l) => l.trim()).filter(Boolean).map((line) => {
    const cols = line.split(/\s{2,}/);
    return { resource: cols[0], nonResource: cols[1], verbs: (cols[cols.length - 1] ?? '').replace(/^\[|\]$/g, '').split(' ').filter(Boolean) };
  }).filter((r) => r.resource && !r.resource.startsWith('[') && r.nonResource !== undefined && !/^\//.test(r.nonResource))
    .map(({ resource, verbs }) => ({ resource, verbs }));
}
