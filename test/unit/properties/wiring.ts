/**
 * Wiring that must hold for any config: apply order, selectors that match, ports that line up, and
 * every configured chat service carried through to its dashboard, rules, and collector identity
 * or ServiceMonitor. Expectations come from the config synthesized, never from the default one.
 */
import { parse } from 'yaml';
import { ChartConfig } from '../../../lib/config';
import { K8sObject, named, ofKind, synthCharts } from '../../support/manifests';

export const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

const env = (c: any, name: string) => c.env.find((e: any) => e.name === name); // eslint-disable-line @typescript-eslint/no-explicit-any
const unique = (xs: string[]) => [...new Set(xs)].sort();

export function wiringProperties(name: string, config: ChartConfig): void {
  const charts = [...synthCharts(config).entries()];
  const objects = charts.flatMap(([, o]) => o);
  const ns = config.namespace;
  const pushing = config.services.filter((s) => s.exportMode === 'push');
  const pulled = config.services.filter((s) => s.exportMode === 'pull');

  describe(`wiring (${name}): apply order`, () => {
    it('puts namespaces first and every namespaced object in a namespace created earlier', () => {
      const [first, ...rest] = charts;
      expect(first[0]).toBe('00-namespaces');
      expect(first[1].every((o) => o.kind === 'Namespace')).toBe(true);
      const created = new Set(first[1].map((o) => o.metadata.name));
      for (const [, chartObjects] of rest) {
        for (const o of chartObjects) {
          expect(o.kind).not.toBe('Namespace');
          if (o.metadata.namespace) expect(created).toContain(o.metadata.namespace);
        }
      }
      expect([...created].sort()).toEqual(unique([ns, ...config.services.map((s) => s.namespace)]));
    });
    it('orders charts by their numeric prefix (kubectl applies a directory in file-name order)', () => {
      const ids = charts.map(([id]) => id);
      expect([...ids].sort()).toEqual(ids);
    });
    it('enforces the restricted Pod Security profile on the stack namespace', () => {
      expect(named(objects, 'Namespace', ns).metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    });
  });

  describe(`wiring (${name}): Services select their pods and target ports that exist`, () => {
    const deployments = [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')];
    // Pods of operator-managed resources (Prometheus, ...) carry the resource's spec.podMetadata labels.
    const operatorManaged = objects.filter((o) => o.spec?.podMetadata?.labels);
    /** Ports the operator gives its containers: the server's, the reloader's, and with spec.thanos the sidecar's (v0.93.1). */
    const operatedPorts = (cr: K8sObject) => ['web', 'reloader-web', ...(cr.spec.thanos ? ['http', 'grpc'] : [])];
    it.each(ofKind(objects, 'Service').map((s) => [s.metadata.name, s] as const))('%s', (_name, service) => {
      const deployment = deployments.find((d) => matches(service.spec.selector, d.spec.template.metadata.labels));
      if (deployment) {
        const portNames = deployment.spec.template.spec.containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.name));
        for (const port of service.spec.ports) expect(portNames).toContain(port.targetPort);
        expect(matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
      } else {
        const cr = operatorManaged.find((o) => matches(service.spec.selector, o.spec.podMetadata.labels));
        expect(cr).toBeDefined();
        for (const port of service.spec.ports) expect(operatedPorts(cr!)).toContain(port.targetPort);
      }
    });
  });

  describe(`wiring (${name}): replicas of a workload prefer different nodes`, () => {
    // Each pod template (or the operator's podMetadata) and its affinity: the term must select the
    // workload's own pods, per node, and only prefer it (kind's one node must still take them all).
    const templates = [
      ...[...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')].map((o) => ({ id: `${o.kind}/${o.metadata.name}`, labels: o.spec.template.metadata.labels, affinity: o.spec.template.spec.affinity })),
      ...[...ofKind(objects, 'Prometheus'), ...ofKind(objects, 'Alertmanager')].map((o) => ({ id: `${o.kind}/${o.metadata.name}`, labels: o.spec.podMetadata.labels, affinity: o.spec.affinity })),
    ];
    // Grafana (one claim) and the operator run one replica each by design: nothing to spread.
    const single = ['Deployment/grafana', 'Deployment/prometheus-operator'];
    const spread = templates.filter((t) => !single.includes(t.id));
    it('the single-replica workloads are one replica', () => {
      expect(single.map((id) => templates.find((t) => t.id === id) && objects.find((o) => `${o.kind}/${o.metadata.name}` === id)?.spec.replicas)).toEqual([1, 1]);
    });
    it.each(spread.map((t) => [t.id, t]))('%s', (_id, t) => {
      expect(t.affinity?.podAffinity).toBeUndefined();
      expect(t.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
      const terms = t.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      expect(terms.map((x: any) => x.podAffinityTerm.topologyKey)).toEqual(['kubernetes.io/hostname']); // eslint-disable-line @typescript-eslint/no-explicit-any
      const selector = terms[0].podAffinityTerm.labelSelector.matchLabels;
      expect(matches(selector, t.labels)).toBe(true);
      // Only its own pods: no other template carries all of its selector's labels.
      expect(templates.filter((o) => matches(selector, o.labels)).map((o) => o.id)).toEqual([t.id]);
    });
    it('covers every replicated workload', () => {
      expect(spread.map((t) => t.id)).toEqual(expect.arrayContaining(['Prometheus/chat-monitoring', 'Alertmanager/chat-monitoring', 'Deployment/thanos-query', 'Deployment/otel-collector']));
    });
  });

  describe(`wiring (${name}): Prometheus picks up every ServiceMonitor and rule of the chart`, () => {
    const prometheus = ofKind(objects, 'Prometheus')[0];
    it.each([...ofKind(objects, 'ServiceMonitor'), ...ofKind(objects, 'PrometheusRule')].map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))(
      'selects %s', (_name, o) => {
        const selector = o.kind === 'ServiceMonitor' ? prometheus.spec.serviceMonitorSelector : prometheus.spec.ruleSelector;
        expect(matches(selector.matchLabels, o.metadata.labels)).toBe(true);
        expect(o.metadata.namespace).toBe(prometheus.metadata.namespace);
      });
    it('discovers targets with Roles in its own namespace and the pull services\' namespaces only', () => {
      const roles = ofKind(objects, 'Role').filter((r) => r.metadata.name === 'chat-monitoring-prometheus');
      expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(unique([ns, ...pulled.map((s) => s.namespace)]));
      expect(ofKind(objects, 'ClusterRole').some((r) => r.metadata.name.includes('prometheus') && !r.metadata.name.includes('operator'))).toBe(false);
    });
  });

  describe(`wiring (${name}): Thanos`, () => {
    const prometheus = ofKind(objects, 'Prometheus')[0];
    const queryArgs: string[] = named(objects, 'Deployment', 'thanos-query').spec.template.spec.containers[0].args;
    const store = config.thanos.objectStorage;
    /** `--flag=value` of a container's args, each flag one element. */
    const flag = (args: string[], f: string) => args.filter((a) => a.startsWith(`--${f}=`)).map((a) => a.slice(f.length + 3));
    const workloadOf = (svc: K8sObject) => [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')]
      .find((w) => w.metadata.namespace === svc.metadata.namespace && matches(svc.spec.selector, w.spec.template.metadata.labels));

    it('runs a Thanos sidecar beside every Prometheus replica, at the pinned image, keeping the operator\'s replica label', () => {
      expect(prometheus.spec.replicas).toBe(config.prometheusReplicas);
      expect(prometheus.spec.thanos).toMatchObject({ image: config.images.thanos, version: config.images.thanos.split(':').pop() });
      expect(prometheus.spec.replicaExternalLabelName).toBeUndefined(); // the operator's default: prometheus_replica
      expect(flag(queryArgs, 'query.replica-label')).toEqual(['prometheus_replica']);
    });

    it('Query resolves each StoreAPI by the DNS SRV record of a headless Service\'s named gRPC port that reaches a gRPC container port', () => {
      const [sd] = flag(queryArgs, 'endpoint.sd-config');
      const endpoints = (JSON.parse(sd) as { endpoints: { address: string }[] }).endpoints.map((e) => e.address);
      expect(flag(queryArgs, 'endpoint')).toEqual([]); // deprecated in v0.42
      const srv = (svc: string) => `dnssrv+_grpc._tcp.${svc}.${ns}.svc.cluster.local`;
      // The operator's governing Service of the Prometheus pods, which it gives a grpc port (10901, targetPort grpc) when spec.thanos is set.
      expect(endpoints).toEqual([srv('prometheus-operated'), ...(store ? [srv('thanos-store')] : [])]);
      if (!store) return;
      const service = named(objects, 'Service', 'thanos-store');
      expect(service.spec.clusterIP).toBe('None');
      const grpc = service.spec.ports.find((p: { name: string }) => p.name === 'grpc');
      const container = workloadOf(service)!.spec.template.spec.containers[0];
      const containerPort = container.ports.find((p: { name: string }) => p.name === grpc.targetPort).containerPort;
      expect(flag(container.args, 'grpc-address')).toEqual([`0.0.0.0:${containerPort}`]);
    });

    it('every Thanos component serves health, readiness and metrics on the port its ServiceMonitor scrapes', () => {
      for (const name of ['thanos-query', ...(store ? ['thanos-store', 'thanos-compactor'] : [])]) {
        const service = named(objects, 'Service', name);
        const monitor = named(objects, 'ServiceMonitor', name);
        const port = service.spec.ports.find((p: { name: string }) => p.name === monitor.spec.endpoints[0].port);
        const container = workloadOf(service)!.spec.template.spec.containers[0];
        expect(container.name).toBe(name);
        const http = container.ports.find((p: { name: string }) => p.name === port.targetPort);
        expect(flag(container.args, 'http-address')).toEqual([`0.0.0.0:${http.containerPort}`]);
        expect([container.livenessProbe.httpGet, container.readinessProbe.httpGet]).toEqual([
          { path: '/-/healthy', port: port.targetPort }, { path: '/-/ready', port: port.targetPort }]);
      }
    });

    if (!store) {
      it('without object storage: no upload, no Store Gateway, no Compactor', () => {
        expect(prometheus.spec.thanos.objectStorageConfig).toBeUndefined();
        expect(objects.filter((o) => ['thanos-store', 'thanos-compactor'].includes(o.metadata.name))).toEqual([]);
      });
      return;
    }
    it('the sidecars, the Store Gateway and the Compactor read the object store\'s configuration from the configured Secret key', () => {
      expect(prometheus.spec.thanos.objectStorageConfig).toEqual({ name: store.secretName, key: store.key });
      for (const name of ['thanos-store', 'thanos-compactor']) {
        const pod = named(objects, 'StatefulSet', name).spec.template.spec;
        const [file] = flag(pod.containers[0].args, 'objstore.config-file');
        const mount = pod.containers[0].volumeMounts.find((m: { mountPath: string }) => file.startsWith(`${m.mountPath}/`));
        const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
        expect(volume.secret).toEqual({ secretName: store.secretName, items: [{ key: store.key, path: file.slice(mount.mountPath.length + 1) }] });
      }
    });
    it('Store and Compactor keep their data on their claim', () => {
      for (const name of ['thanos-store', 'thanos-compactor']) {
        const sts = named(objects, 'StatefulSet', name);
        const [dir] = flag(sts.spec.template.spec.containers[0].args, 'data-dir');
        const mount = sts.spec.template.spec.containers[0].volumeMounts.find((m: { mountPath: string }) => m.mountPath === dir);
        expect(sts.spec.volumeClaimTemplates.map((c: K8sObject) => c.metadata.name)).toEqual([mount.name]);
        expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe(config.storageClassName);
      }
    });
    it('one Compactor, waiting, with the configured retention per resolution and downsampling on', () => {
      const sts = named(objects, 'StatefulSet', 'thanos-compactor');
      const args: string[] = sts.spec.template.spec.containers[0].args;
      expect(sts.spec.replicas).toBe(1);
      expect(args).toContain('--wait');
      expect(args).not.toContain('--downsampling.disable');
      expect([flag(args, 'retention.resolution-raw'), flag(args, 'retention.resolution-5m'), flag(args, 'retention.resolution-1h')])
        .toEqual([[config.thanos.retention.raw], [config.thanos.retention.fiveMinutes], [config.thanos.retention.oneHour]]);
    });
  });

  describe(`wiring (${name}): every chat service is carried through`, () => {
    const collectorConfig = pushing.length ? parse(named(objects, 'ConfigMap', 'otel-collector-config').data['config.yaml']) : undefined;
    const statements: string[] = collectorConfig?.processors['transform/chat_service_identity'].metric_statements[0].statements;
    const extracted: string[] = collectorConfig?.processors.k8s_attributes.extract.labels.map((l: { tag_name: string }) => l.tag_name);
    const overview = JSON.stringify(JSON.parse(named(objects, 'ConfigMap', 'dashboard-platform-overview').data['platform-overview.json']).panels);

    describe.each(config.services.map((s) => [s.name, s] as const))('%s', (service, s) => {
      it('has its dashboard, every generated panel reading only its series', () => {
        const dashboard = JSON.parse(named(objects, 'ConfigMap', `dashboard-${service}`).data[`${service}.json`]);
        const custom = new Set(s.customPanels.map((p) => p.title));
        const targets = (dashboard.panels as K8sObject[]).filter((p) => p.type !== 'row' && !custom.has(p.title)).flatMap((p) => p.targets);
        expect(targets.length).toBeGreaterThan(5);
        for (const t of targets) expect(t.expr).toContain(`service="${service}"`);
        if (s.websocketGauge) expect(targets.some((t) => t.expr.includes(s.websocketGauge!))).toBe(true);
        expect(overview).toContain(service);
      });
      it('has its recording rules and alerts', () => {
        const rule = named(objects, 'PrometheusRule', service);
        expect(rule.metadata.namespace).toBe(ns);
        expect(rule.spec.groups.map((g: { name: string }) => g.name)).toEqual([`${service}.recording`, `${service}.alerts`]);
      });
      if (s.exportMode === 'push') {
        it('is named by the collector from its namespace and selector labels, which k8sattributes extracts', () => {
          const statement = statements.find((st) => st.includes(`"${service}")`));
          expect(statement).toBeDefined();
          expect(statement).toContain(`attributes["k8s.namespace.name"] == "${s.namespace}"`);
          for (const [key, value] of Object.entries(s.selector)) {
            expect(statement).toContain(`attributes["k8s.pod.label.${key}"] == "${value}"`);
            expect(extracted).toContain(`k8s.pod.label.${key}`);
          }
        });
        it('is routed to an exporter of its own, which its ServiceMonitor scrapes through a Service of its own', () => {
          const route = collectorConfig.connectors.routing.table.filter((r: { condition: string }) => r.condition.endsWith(`== "${service}"`));
          expect(route).toHaveLength(1);
          const [pipeline] = route[0].pipelines;
          const [exporter] = collectorConfig.service.pipelines[pipeline].exporters;
          const exporterPort = Number(collectorConfig.exporters[exporter].endpoint.split(':').pop());
          const monitor = named(objects, 'ServiceMonitor', service);
          expect(monitor.spec.namespaceSelector).toBeUndefined();
          const selected = ofKind(objects, 'Service').filter((x) => x.metadata.namespace === ns && matches(monitor.spec.selector.matchLabels, x.metadata.labels));
          expect(selected).toHaveLength(1);
          const port = selected[0].spec.ports.find((p: { name: string }) => p.name === monitor.spec.endpoints[0].port);
          const container = named(objects, 'Deployment', 'otel-collector').spec.template.spec.containers[0];
          expect(container.ports.find((p: { name: string }) => p.name === port.targetPort).containerPort).toBe(exporterPort);
          expect(monitor.spec.endpoints[0].honorLabels).toBe(true);
        });
      } else {
        it('is scraped by a ServiceMonitor on its named port, in its namespace', () => {
          const monitor = named(objects, 'ServiceMonitor', service);
          expect(monitor.spec.namespaceSelector).toEqual({ matchNames: [s.namespace] });
          expect(monitor.spec.selector.matchLabels).toEqual(s.selector);
          expect(monitor.spec.endpoints[0]).toMatchObject({ port: s.metricsPort!.name, path: s.metricsPort!.path });
        });
      }
      it('is one target whose job and service are its name, with its sampleLimit', () => {
        const monitor = named(objects, 'ServiceMonitor', service);
        expect(monitor.metadata.namespace).toBe(ns);
        expect(monitor.spec.endpoints).toHaveLength(1);
        for (const label of ['job', 'service']) {
          expect(monitor.spec.endpoints[0].relabelings).toContainEqual({ action: 'replace', targetLabel: label, replacement: service });
        }
        expect(monitor.spec.sampleLimit).toBe(s.sampleLimit);
      });
    });
  });

  if (pushing.length === 0) {
    it(`wiring (${name}): no push service, no collector`, () => {
      expect(objects.filter((o) => o.metadata.name.includes('otel-collector'))).toEqual([]);
    });
    return;
  }
  describe(`wiring (${name}): the collector`, () => {
    const collectorConfig = parse(named(objects, 'ConfigMap', 'otel-collector-config').data['config.yaml']);
    const k8sattributes = collectorConfig.processors.k8s_attributes;
    const collectorRoles = [...ofKind(objects, 'Role'), ...ofKind(objects, 'ClusterRole')].filter((r) => r.metadata.name.includes('otel-collector'));
    const namespaces = unique(pushing.map((s) => s.namespace));

    it('can read the pods of every pushing namespace, cluster-wide only when there are several', () => {
      const clusterWide = collectorRoles.some((r) => r.kind === 'ClusterRole');
      expect(clusterWide).toBe(namespaces.length > 1);
      if (!clusterWide) expect(collectorRoles.map((r) => r.metadata.namespace)).toEqual(namespaces);
    });
    it('watches exactly what it is granted: k8sattributes\' namespace filter is the Role\'s namespace, no filter only with a ClusterRole', () => {
      expect(k8sattributes.filter?.namespace).toBe(namespaces.length === 1 ? namespaces[0] : undefined);
      const grantedIn = collectorRoles.map((r) => (r.kind === 'ClusterRole' ? '*' : r.metadata.namespace));
      expect(grantedIn).toEqual([k8sattributes.filter?.namespace ?? '*']);
    });
    it('is granted get/list/watch on pods and nothing else: it extracts no namespace, ReplicaSet or node metadata', () => {
      for (const r of collectorRoles) expect(r.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
      expect(k8sattributes.extract.labels.every((l: { from: string }) => l.from === 'pod')).toBe(true);
      expect(k8sattributes.extract.annotations).toBeUndefined();
      expect(k8sattributes.extract.metadata.filter((m: string) => !/^k8s\.(pod|namespace)\.(name|uid)$/.test(m))).toEqual([]);
      expect(k8sattributes.wait_for_metadata).toBe(true);
    });
  });

  describe(`wiring (${name}): Grafana`, () => {
    const [grafana, sidecar] = named(objects, 'Deployment', 'grafana').spec.template.spec.containers;
    const dashboardConfigMaps = ofKind(objects, 'ConfigMap').filter((c) => c.metadata.name.startsWith('dashboard-'));
    const datasources = parse(named(objects, 'ConfigMap', 'grafana-provisioning').data['datasources.yaml']).datasources
      .filter((d: { type: string }) => d.type === 'prometheus');

    it('loads one dashboard per chat service plus the overview and the stack\'s: the sidecar\'s label and namespace are the ConfigMaps\'', () => {
      expect(dashboardConfigMaps.map((c) => c.metadata.name).sort())
        .toEqual([...config.services.map((s) => `dashboard-${s.name}`), 'dashboard-platform-overview', 'dashboard-monitoring-stack'].sort());
      for (const cm of dashboardConfigMaps) {
        expect(cm.metadata.labels![env(sidecar, 'LABEL').value]).toBe(env(sidecar, 'LABEL_VALUE').value);
        expect(cm.metadata.namespace).toBe(env(sidecar, 'NAMESPACE').value);
        expect(Object.keys(cm.data)).toHaveLength(1);
      }
    });

    it('provisions one default Prometheus datasource whose uid every dashboard uses', () => {
      expect(datasources).toHaveLength(1);
      for (const cm of dashboardConfigMaps) {
        const dashboard = JSON.parse(Object.values(cm.data as Record<string, string>)[0]);
        const variable = dashboard.templating.list.find((v: { type: string }) => v.type === 'datasource');
        expect(variable.current.value).toBe(datasources[0].uid);
        for (const panel of dashboard.panels.filter((p: { type: string }) => p.type !== 'row')) {
          expect(panel.datasource).toEqual({ type: 'prometheus', uid: `\${${variable.name}}` });
        }
      }
    });

    it('is exposed on the configured NodePort and reads the configured admin Secret', () => {
      expect(named(objects, 'Service', 'grafana').spec.ports[0].nodePort).toBe(config.grafanaNodePort);
      expect(env(grafana, 'GF_SECURITY_ADMIN_PASSWORD').valueFrom.secretKeyRef.name).toBe(config.grafanaAdminSecret);
    });
  });
}
