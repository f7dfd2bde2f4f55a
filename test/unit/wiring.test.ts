/**
 * The properties that make the stack work once applied: selectors that match, ports that line up,
 * labels the sidecar and Prometheus look for.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { CHART_CONFIG } from '../../lib/services';
import { configWith, K8sObject, named, ofKind, synthCharts, synthObjects } from '../support/manifests';

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

const objects = synthObjects();
const NS = 'monitoring';

describe('apply order', () => {
  const charts = [...synthCharts().entries()];

  it('puts namespaces first and every namespaced object in a namespace created earlier or already there', () => {
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
  });

  it('orders charts by their numeric prefix (kubectl applies a directory in file-name order)', () => {
    const ids = charts.map(([id]) => id);
    expect([...ids].sort()).toEqual(ids);
  });

  it('enforces the restricted Pod Security profile on the stack namespace', () => {
    expect(named(objects, 'Namespace', NS).metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
  });
});

describe('Services select their pods and target ports that exist', () => {
  const deployments = ofKind(objects, 'Deployment');
  const prometheusCr = named(objects, 'Prometheus', 'chat-monitoring');

  it.each(ofKind(objects, 'Service').map((s) => [s.metadata.name, s] as const))('%s', (_name, service) => {
    const deployment = deployments.find((d) => matches(service.spec.selector, d.spec.template.metadata.labels));
    if (deployment) {
      const portNames = deployment.spec.template.spec.containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.name));
      for (const port of service.spec.ports) expect(portNames).toContain(port.targetPort);
      expect(matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    } else {
      // Prometheus and Alertmanager pods come from the operator's StatefulSets, labelled by the CR's podMetadata.
      const crs = [prometheusCr, named(objects, 'Alertmanager', 'chat-monitoring')];
      expect(crs.some((cr) => matches(service.spec.selector, cr.spec.podMetadata.labels))).toBe(true);
      // Ports the operator gives its containers.
      for (const port of service.spec.ports) expect(['web', 'reloader-web']).toContain(port.targetPort);
    }
  });
});

describe('Prometheus picks up exactly this chart\'s ServiceMonitors and rules', () => {
  const prometheus = named(objects, 'Prometheus', 'chat-monitoring');

  it('has label selectors (a null selector matches nothing) and stays in its own namespace', () => {
    expect(Object.keys(prometheus.spec.serviceMonitorSelector.matchLabels).length).toBeGreaterThan(0);
    expect(Object.keys(prometheus.spec.ruleSelector.matchLabels).length).toBeGreaterThan(0);
    expect(prometheus.spec.serviceMonitorNamespaceSelector).toBeUndefined();
    expect(prometheus.spec.ruleNamespaceSelector).toBeUndefined();
  });

  const withPull = synthObjects(configWith({
    services: [...CHART_CONFIG.services, { name: 'chat-presence', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464 } }],
  }));
  it.each([...ofKind(withPull, 'ServiceMonitor'), ...ofKind(withPull, 'PrometheusRule')].map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))(
    'selects %s', (_name, o) => {
      const selector = o.kind === 'ServiceMonitor' ? prometheus.spec.serviceMonitorSelector : prometheus.spec.ruleSelector;
      expect(matches(selector.matchLabels, o.metadata.labels)).toBe(true);
      expect(o.metadata.namespace).toBe(prometheus.metadata.namespace);
    });

  it('runs the pinned Prometheus v3 with persistent storage, retention and resources', () => {
    expect(prometheus.spec.version).toBe(prometheus.spec.image.split(':').pop());
    expect(prometheus.spec.version).toMatch(/^v3\./);
    expect(prometheus.spec.retention).toBe('15d');
    expect(prometheus.spec.storage.volumeClaimTemplate.spec.resources.requests.storage).toBe('10Gi');
    expect(prometheus.spec.resources.limits).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
    expect(prometheus.spec.scrapeInterval).toBe(prometheus.spec.evaluationInterval);
  });
});

describe('ServiceMonitors of the stack\'s own components', () => {
  it.each(['otel-collector', 'prometheus', 'prometheus-operator', 'grafana'])('%s selects its Service and scrapes named ports it has', (name) => {
    const monitor = named(objects, 'ServiceMonitor', name);
    const services = ofKind(objects, 'Service').filter((s) => s.metadata.namespace === NS && matches(monitor.spec.selector.matchLabels, s.metadata.labels));
    expect(services.map((s) => s.metadata.name)).toEqual([name]);
    const portNames = services[0].spec.ports.map((p: any) => p.name);
    for (const endpoint of monitor.spec.endpoints) expect(portNames).toContain(endpoint.port);
  });

  it('scrapes the collector\'s exporter port, keeping the labels the collector sets', () => {
    const monitor = named(objects, 'ServiceMonitor', 'otel-collector');
    expect(monitor.spec.endpoints).toContainEqual(expect.objectContaining({ port: 'prom-exporter', honorLabels: true }));
  });
});

describe('pull-mode chat services', () => {
  const config = configWith({
    services: [...CHART_CONFIG.services, { name: 'chat-presence', namespace: 'presence', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464, path: '/prom' } }],
  });
  const all = synthObjects(config);
  const monitor = named(all, 'ServiceMonitor', 'chat-presence');

  it('get a ServiceMonitor in the stack namespace selecting the service in its own namespace, on its named port', () => {
    expect(monitor.metadata.namespace).toBe(NS);
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['presence'] });
    expect(monitor.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'chat-presence' });
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/prom' });
  });

  it('end with the same `service` label as pushed metrics', () => {
    expect(monitor.spec.endpoints[0].relabelings).toContainEqual({ action: 'replace', targetLabel: 'service', replacement: 'chat-presence' });
  });

  it('let Prometheus discover targets in that namespace, and only there', () => {
    const roles = ofKind(all, 'Role').filter((r) => r.metadata.name === 'chat-monitoring-prometheus');
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['monitoring', 'presence']);
    expect(ofKind(all, 'ClusterRole').some((r) => r.metadata.name.includes('prometheus') && !r.metadata.name.includes('operator'))).toBe(false);
  });

  it('are not scraped when they push (the collector carries them)', () => {
    expect(ofKind(objects, 'ServiceMonitor').map((m) => m.metadata.name).sort()).toEqual(['alertmanager', 'grafana', 'otel-collector', 'prometheus', 'prometheus-operator']);
  });
});

describe('adding a fourth chat service is one config entry', () => {
  const config = configWith({ services: [...CHART_CONFIG.services, { name: 'chat-presence' }] });
  const all = synthObjects(config);

  it('yields its dashboard, its rules and its collector identity mapping', () => {
    expect(named(all, 'ConfigMap', 'dashboard-chat-presence').data['chat-presence.json']).toContain('service=\\"chat-presence\\"');
    expect(named(all, 'PrometheusRule', 'chat-presence').spec.groups.map((g: any) => g.name)).toEqual(['chat-presence.recording', 'chat-presence.alerts']);
    expect(named(all, 'ConfigMap', 'otel-collector-config').data['config.yaml']).toContain('"chat-presence"');
    const overview = JSON.parse(named(all, 'ConfigMap', 'dashboard-platform-overview').data['platform-overview.json']);
    expect(JSON.stringify(overview.panels)).toContain('chat-presence');
  });
});

describe('Grafana', () => {
  const deployment = named(objects, 'Deployment', 'grafana');
  const [grafana, sidecar] = deployment.spec.template.spec.containers;
  const env = (c: any, name: string) => c.env.find((e: any) => e.name === name);
  const provisioning = named(objects, 'ConfigMap', 'grafana-provisioning');
  // The Alertmanager datasource is checked in alertmanager-stack.test.ts.
  const datasources = parse(provisioning.data['datasources.yaml']).datasources.filter((d: any) => d.type === 'prometheus');
  const dashboardConfigMaps = ofKind(objects, 'ConfigMap').filter((c) => c.metadata.name.startsWith('dashboard-'));

  it('loads every dashboard ConfigMap: the sidecar\'s label and namespace are the ConfigMaps\'', () => {
    expect(dashboardConfigMaps).toHaveLength(4);
    for (const cm of dashboardConfigMaps) {
      expect(cm.metadata.labels![env(sidecar, 'LABEL').value]).toBe(env(sidecar, 'LABEL_VALUE').value);
      expect(cm.metadata.namespace).toBe(env(sidecar, 'NAMESPACE').value);
      expect(Object.keys(cm.data)).toHaveLength(1);
    }
  });

  it('reads the sidecar\'s folder through a file provider that Grafana mounts', () => {
    const provider = parse(provisioning.data['dashboard-providers.yaml']).providers[0];
    expect(provider.options.path).toBe(env(sidecar, 'FOLDER').value);
    const mount = (c: any) => c.volumeMounts.find((m: any) => m.mountPath === provider.options.path);
    expect(mount(grafana).name).toBe(mount(sidecar).name);
    expect(provider.options.foldersFromFilesStructure).toBe(true);
  });

  it('provisions one default Prometheus datasource whose uid every dashboard uses', () => {
    expect(datasources).toHaveLength(1);
    const ds = datasources[0];
    expect(ds).toMatchObject({ type: 'prometheus', isDefault: true, editable: false, jsonData: { timeInterval: '15s', httpMethod: 'POST' } });
    for (const cm of dashboardConfigMaps) {
      const dashboard = JSON.parse(Object.values(cm.data as Record<string, string>)[0]);
      const variable = dashboard.templating.list.find((v: any) => v.type === 'datasource');
      expect(variable.current.value).toBe(ds.uid);
      for (const panel of dashboard.panels.filter((p: any) => p.type !== 'row')) {
        expect(panel.datasource).toEqual({ type: 'prometheus', uid: `\${${variable.name}}` });
      }
    }
  });

  it('points the datasource at the Prometheus Service and port', () => {
    const service = named(objects, 'Service', 'prometheus');
    expect(datasources[0].url).toBe(`http://prometheus.${NS}.svc:${service.spec.ports.find((p: any) => p.name === 'web').port}`);
  });

  it('takes admin credentials from a Secret the chart does not contain, with anonymous access off', () => {
    expect(env(grafana, 'GF_SECURITY_ADMIN_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'grafana-admin', key: 'admin-password' });
    expect(env(grafana, 'GF_SECURITY_ADMIN_USER').valueFrom.secretKeyRef).toEqual({ name: 'grafana-admin', key: 'admin-user' });
    expect(env(grafana, 'GF_AUTH_ANONYMOUS_ENABLED').value).toBe('false');
    expect(ofKind(objects, 'Secret')).toHaveLength(0);
  });

  it('keeps its database on a PersistentVolumeClaim', () => {
    const claim = deployment.spec.template.spec.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName;
    expect(named(objects, 'PersistentVolumeClaim', claim).spec.resources.requests.storage).toBe('1Gi');
    expect(grafana.volumeMounts).toContainEqual(expect.objectContaining({ name: 'data', mountPath: '/var/lib/grafana' }));
  });

  it('is reachable on NodePort 30030, which kind-config.yaml maps to host port 3030', () => {
    const service = named(objects, 'Service', 'grafana');
    expect(service.spec.type).toBe('NodePort');
    expect(service.spec.ports[0].nodePort).toBe(30030);
    const kind = parse(readFileSync(join(__dirname, '../../kind-config.yaml'), 'utf8'));
    const mappings = kind.nodes.flatMap((n: any) => n.extraPortMappings ?? []);
    expect(mappings).toContainEqual(expect.objectContaining({ containerPort: service.spec.ports[0].nodePort, hostPort: 3030 }));
  });
});

describe('OpenTelemetry Collector', () => {
  const configMap = named(objects, 'ConfigMap', 'otel-collector-config');
  const config = parse(configMap.data['config.yaml']);
  const deployment = named(objects, 'Deployment', 'otel-collector');
  const container = deployment.spec.template.spec.containers[0];
  const pipelines = Object.values(config.service.pipelines) as any[];

  it('references only components it defines, and uses every one it defines', () => {
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      const used = new Set(pipelines.flatMap((p) => p[kind]));
      expect([...used].sort()).toEqual(Object.keys(config[kind]).sort());
    }
    expect(config.service.extensions.sort()).toEqual(Object.keys(config.extensions).sort());
  });

  it('runs memory_limiter first and batch last', () => {
    for (const p of pipelines) {
      expect(p.processors[0]).toBe('memory_limiter');
      expect(p.processors[p.processors.length - 1]).toBe('batch');
    }
  });

  it('listens where its ports, probes and Service say', () => {
    const port = (name: string) => container.ports.find((p: any) => p.name === name).containerPort;
    expect(config.receivers.otlp.protocols.grpc.endpoint).toBe(`0.0.0.0:${port('otlp-grpc')}`);
    expect(config.receivers.otlp.protocols.http.endpoint).toBe(`0.0.0.0:${port('otlp-http')}`);
    expect(config.exporters.prometheus.endpoint).toBe(`0.0.0.0:${port('prom-exporter')}`);
    expect(port('prom-exporter')).toBe(9464);
    expect(config.extensions.health_check.endpoint).toBe(`0.0.0.0:${port('health')}`);
    expect(container.livenessProbe.httpGet.port).toBe('health');
    expect(container.readinessProbe.httpGet.port).toBe('health');
    expect(config.service.telemetry.metrics.readers[0].pull.exporter.prometheus.port).toBe(port('metrics'));
  });

  it('mounts the config it is given, and rolls when it changes', () => {
    expect(container.args).toEqual(['--config=/conf/config.yaml']);
    const volume = deployment.spec.template.spec.volumes.find((v: any) => v.configMap?.name === configMap.metadata.name);
    expect(container.volumeMounts).toContainEqual(expect.objectContaining({ name: volume.name, mountPath: '/conf' }));
    const other = synthObjects(configWith({ services: [{ name: 'x' }] }));
    expect(named(other, 'Deployment', 'otel-collector').spec.template.metadata.annotations['checksum/config'])
      .not.toBe(deployment.spec.template.metadata.annotations['checksum/config']);
  });

  it('tags each pushing service by its namespace and selector labels, which k8sattributes extracts', () => {
    const k8sattributes = config.processors.k8sattributes;
    const extracted = k8sattributes.extract.labels.map((l: any) => l.tag_name);
    const statements: string[] = config.processors['transform/chat_service_identity'].metric_statements[0].statements;
    for (const s of CHART_CONFIG.services) {
      const statement = statements.find((st) => st.includes(`"${s.name}")`));
      expect(statement).toBeDefined();
      expect(statement).toContain('attributes["k8s.namespace.name"] == "chat"');
      for (const [key, value] of Object.entries(s.selector ?? {})) {
        expect(statement).toContain(`attributes["k8s.pod.label.${key}"] == "${value}"`);
        expect(extracted).toContain(`k8s.pod.label.${key}`);
      }
    }
    const datapoint: string[] = config.processors['transform/chat_service_identity'].metric_statements[1].statements;
    for (const label of ['service', 'namespace', 'pod']) expect(datapoint.some((st) => st.startsWith(`set(attributes["${label}"]`))).toBe(true);
  });

  it('reads pods only in the chat services\' namespace', () => {
    const podRules = (o: K8sObject) => o.rules.filter((r: any) => r.resources.includes('pods'));
    expect(ofKind(objects, 'ClusterRole').filter((r) => r.metadata.name.includes('collector')).flatMap(podRules)).toEqual([]);
    expect(named(objects, 'Role', 'otel-collector-pod-reader').metadata.namespace).toBe('chat');
  });
});
