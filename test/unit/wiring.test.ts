/**
 * The properties that make the stack work once applied: selectors that match, ports that line up,
 * labels the sidecar and Prometheus look for. The config-independent ones live in
 * properties/wiring.ts (also run on one and five services by config-sizes.test.ts); the rest are
 * about the default config and say so.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { configWith, defaultConfig, named, ofKind, synthObjects } from '../support/manifests';
import { validateConfig } from '../../lib/config';
import { instanceCount, requestCounterAbsent, websocketConnections } from '../../lib/queries/http';
import { matches, wiringProperties } from './properties/wiring';

const config = defaultConfig();
const objects = synthObjects(config);
const NS = config.namespace;

wiringProperties('default config', config);

describe('Prometheus picks up exactly this chart\'s ServiceMonitors and rules', () => {
  const prometheus = named(objects, 'Prometheus', 'chat-monitoring');

  it('has label selectors (a null selector matches nothing) and stays in its own namespace', () => {
    expect(Object.keys(prometheus.spec.serviceMonitorSelector.matchLabels).length).toBeGreaterThan(0);
    expect(Object.keys(prometheus.spec.ruleSelector.matchLabels).length).toBeGreaterThan(0);
    expect(prometheus.spec.serviceMonitorNamespaceSelector).toBeUndefined();
    expect(prometheus.spec.ruleNamespaceSelector).toBeUndefined();
  });

  it('runs the pinned Prometheus v3 with the configured storage, retention and resources', () => {
    expect(prometheus.spec.version).toBe(prometheus.spec.image.split(':').pop());
    expect(prometheus.spec.version).toMatch(/^v3\./);
    expect(prometheus.spec.retention).toBe(config.retention);
    expect(prometheus.spec.storage.volumeClaimTemplate.spec.resources.requests.storage).toBe(config.prometheusStorage);
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

  it('scrapes the collector\'s own metrics only: the chat services\' series are each service\'s target', () => {
    const monitor = named(objects, 'ServiceMonitor', 'otel-collector');
    expect(monitor.spec.endpoints.map((e: any) => e.port)).toEqual(['metrics']);
  });
});

describe('Grafana', () => {
  const deployment = named(objects, 'Deployment', 'grafana');
  const [grafana, sidecar] = deployment.spec.template.spec.containers;
  const env = (c: any, name: string) => c.env.find((e: any) => e.name === name);
  const provisioning = named(objects, 'ConfigMap', 'grafana-provisioning');
  // The Alertmanager datasource is checked in alertmanager-stack.test.ts.
  const datasources = parse(provisioning.data['datasources.yaml']).datasources.filter((d: any) => d.type === 'prometheus');

  it('reads the sidecar\'s folder through a file provider that Grafana mounts', () => {
    const provider = parse(provisioning.data['dashboard-providers.yaml']).providers[0];
    expect(provider.options.path).toBe(env(sidecar, 'FOLDER').value);
    const mount = (c: any) => c.volumeMounts.find((m: any) => m.mountPath === provider.options.path);
    expect(mount(grafana).name).toBe(mount(sidecar).name);
    expect(provider.options.foldersFromFilesStructure).toBe(true);
  });

  it('points the datasource at Thanos Query\'s Service and HTTP port, which targets its container\'s HTTP port', () => {
    const service = named(objects, 'Service', 'thanos-query');
    const port = service.spec.ports.find((p: any) => p.name === 'http');
    expect(datasources[0].url).toBe(`http://thanos-query.${NS}.svc:${port.port}`);
    const container = named(objects, 'Deployment', 'thanos-query').spec.template.spec.containers[0];
    expect(container.ports.find((p: any) => p.name === port.targetPort).containerPort).toBe(port.port);
    expect(container.args).toContain(`--http-address=0.0.0.0:${port.port}`);
  });

  it('takes admin credentials from a Secret the chart does not contain, with anonymous access off', () => {
    expect(env(grafana, 'GF_SECURITY_ADMIN_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: config.grafanaAdminSecret, key: 'admin-password' });
    expect(env(grafana, 'GF_SECURITY_ADMIN_USER').valueFrom.secretKeyRef).toEqual({ name: config.grafanaAdminSecret, key: 'admin-user' });
    expect(env(grafana, 'GF_AUTH_ANONYMOUS_ENABLED').value).toBe('false');
    expect(ofKind(objects, 'Secret')).toHaveLength(0);
  });

  it('keeps its database on a PersistentVolumeClaim', () => {
    const claim = deployment.spec.template.spec.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName;
    expect(named(objects, 'PersistentVolumeClaim', claim).spec.resources.requests.storage).toBe(config.grafanaStorage);
    expect(grafana.volumeMounts).toContainEqual(expect.objectContaining({ name: 'data', mountPath: '/var/lib/grafana' }));
  });

  it('default config: is reachable on the NodePort kind-config.yaml maps to host port 3030', () => {
    const service = named(objects, 'Service', 'grafana');
    expect(service.spec.type).toBe('NodePort');
    expect(service.spec.ports[0].nodePort).toBe(config.grafanaNodePort);
    const kind = parse(readFileSync(join(__dirname, '../../kind-config.yaml'), 'utf8'));
    const mappings = kind.nodes.flatMap((n: any) => n.extraPortMappings ?? []);
    expect(mappings).toContainEqual(expect.objectContaining({ containerPort: service.spec.ports[0].nodePort, hostPort: 3030 }));
  });
});

describe('OpenTelemetry Collector', () => {
  const configMap = named(objects, 'ConfigMap', 'otel-collector-config');
  const collector = parse(configMap.data['config.yaml']);
  const deployment = named(objects, 'Deployment', 'otel-collector');
  const container = deployment.spec.template.spec.containers[0];
  const pipelines = Object.values(collector.service.pipelines) as any[];

  it('references only components it defines, and uses every one it defines', () => {
    const connectors = Object.keys(collector.connectors ?? {});
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      const used = new Set(pipelines.flatMap((p) => p[kind] ?? []).filter((id) => !connectors.includes(id)));
      expect([...used].sort()).toEqual(Object.keys(collector[kind]).sort());
    }
    // A connector is an exporter of one pipeline and a receiver of others.
    for (const c of connectors) {
      expect(pipelines.some((p) => p.exporters.includes(c))).toBe(true);
      expect(pipelines.some((p) => p.receivers.includes(c))).toBe(true);
    }
    expect(collector.service.extensions.sort()).toEqual(Object.keys(collector.extensions).sort());
  });

  it('runs memory_limiter first and batch last where OTLP comes in (the routed pipelines only export)', () => {
    for (const p of pipelines.filter((x) => x.receivers.includes('otlp'))) {
      expect(p.processors[0]).toBe('memory_limiter');
      expect(p.processors[p.processors.length - 1]).toBe('batch');
    }
  });

  it('listens where its ports, probes and Service say', () => {
    const port = (name: string) => container.ports.find((p: any) => p.name === name).containerPort;
    expect(collector.receivers.otlp.protocols.grpc.endpoint).toBe(`0.0.0.0:${port('otlp-grpc')}`);
    expect(collector.receivers.otlp.protocols.http.endpoint).toBe(`0.0.0.0:${port('otlp-http')}`);
    // Each push service's exporter on its port, behind its Service; the first on 9464, the port the old stack used.
    const exporterServices = ofKind(objects, 'Service').filter((s) => s.metadata.labels?.['chat-monitoring.io/chat-service']);
    expect(exporterServices.map((s) => s.metadata.labels!['chat-monitoring.io/chat-service']).sort())
      .toEqual(config.services.filter((s) => s.exportMode === 'push').map((s) => s.name).sort());
    for (const service of exporterServices) {
      const name = service.metadata.labels!['chat-monitoring.io/chat-service'];
      expect(collector.exporters[`prometheus/${name}`].endpoint).toBe(`0.0.0.0:${port(service.spec.ports[0].targetPort)}`);
    }
    expect(Math.min(...Object.values(collector.exporters).map((e: any) => Number(e.endpoint.split(':')[1])))).toBe(9464);
    expect(collector.extensions.health_check.endpoint).toBe(`0.0.0.0:${port('health')}`);
    expect(container.livenessProbe.httpGet.port).toBe('health');
    expect(container.readinessProbe.httpGet.port).toBe('health');
    expect(collector.service.telemetry.metrics.readers[0].pull.exporter.prometheus.port).toBe(port('metrics'));
  });

  it('mounts the config it is given, and rolls when it changes', () => {
    expect(container.args).toEqual(['--config=/conf/config.yaml']);
    const volume = deployment.spec.template.spec.volumes.find((v: any) => v.configMap?.name === configMap.metadata.name);
    expect(container.volumeMounts).toContainEqual(expect.objectContaining({ name: volume.name, mountPath: '/conf' }));
    const other = synthObjects(configWith({ services: [{ name: 'x' }] }));
    expect(named(other, 'Deployment', 'otel-collector').spec.template.metadata.annotations['checksum/config'])
      .not.toBe(deployment.spec.template.metadata.annotations['checksum/config']);
  });

  it('sets the service, namespace and pod labels on every data point', () => {
    const datapoint: string[] = collector.processors['transform/chat_service_labels'].metric_statements[0].statements;
    for (const label of ['service', 'namespace', 'pod']) expect(datapoint.some((st) => st.startsWith(`set(attributes["${label}"]`))).toBe(true);
  });
});

describe('several collector replicas', () => {
  it('stores each pushed point at the time the pod measured it, with no staleness marker when a replica stops exposing it', () => {
    const collector = parse(named(objects, 'ConfigMap', 'otel-collector-config').data['config.yaml']);
    const exporters = Object.values(collector.exporters) as { send_timestamps?: boolean }[];
    expect(exporters.length).toBe(config.services.filter((s) => s.exportMode === 'push').length);
    for (const e of exporters) expect(e.send_timestamps).toBe(true);
    const monitors = ofKind(objects, 'ServiceMonitor').filter((m) => m.spec.endpoints[0].honorLabels);
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(config.services.filter((s) => s.exportMode === 'push').map((s) => s.name).sort());
    for (const m of monitors) {
      expect(m.spec.endpoints[0].honorTimestamps).toBe(true);
      // Off, its default: a marker from the replica a pod left would cut the series the other one feeds.
      expect(m.spec.endpoints[0].trackTimestampsStaleness).toBeUndefined();
    }
  });

  it('reads pushed series instantly only through pushFreshness (metricExpiration + a scrape + a target\'s discovery), pulled ones as they are', () => {
    const mixed = validateConfig({ services: [{ name: 'pushed', websocketGauge: 'ws' }, { name: 'pulled', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9100 }, websocketGauge: 'ws' }] });
    const [pushed, pulled] = mixed.services;
    const fresh = `[${20 + 15 + 10}s]`; // the default 20s expiration + 15s scrape + 10s discovery (two 5s throttles)
    expect(instanceCount(mixed, pushed)).toContain(`last_over_time(http_server_duration_milliseconds_count{service="pushed"}${fresh})`);
    expect(websocketConnections(mixed, pushed, 'ws')).toBe(`sum by (service) (last_over_time(ws{service="pushed"}${fresh}))`);
    expect(requestCounterAbsent(mixed, pushed)).toBe(`absent_over_time(http_server_duration_milliseconds_count{service="pushed"}${fresh})`);
    expect(websocketConnections(mixed, pulled, 'ws')).toBe('sum by (service) (ws{service="pulled"})');
    // PromQL durations take no fraction: 10s scrape + (10s + 5 x 1.5s) expiration + 10s = 37.5 s, written in ms.
    const odd = validateConfig({ services: [{ name: 'pushed' }], scrapeInterval: '10s', collector: { exportInterval: '1500ms' } });
    expect(requestCounterAbsent(odd, odd.services[0])).toContain('[37500ms])');
    expect(requestCounterAbsent(mixed, pulled)).toBe('absent(http_server_duration_milliseconds_count{service="pulled"})');
  });

  it('evaluates a push service\'s recording rules a scrape interval plus target discovery (10 s) behind, a pull service\'s on time', () => {
    const mixed = synthObjects(configWith({ services: [{ name: 'pushed' }, { name: 'pulled', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9100 } }], scrapeInterval: '20s', recordingWindow: '2m' }));
    const groups = (name: string) => named(mixed, 'PrometheusRule', name).spec.groups as { name: string; query_offset?: string }[];
    // A pushed point reaches Prometheus at its replica's next scrape (20 s), a new replica's first
    // scrape after discovery (up to 5 s) and the scrape manager's reload (up to 5 s).
    expect(groups('pushed').map((g) => [g.name, g.query_offset])).toEqual([['pushed.recording', '30s'], ['pushed.alerts', undefined]]);
    expect(groups('pulled').map((g) => g.query_offset)).toEqual([undefined, undefined]);
    expect(named(objects, 'PrometheusRule', 'chat-auth').spec.groups[0].query_offset).toBe('25s'); // the default 15 s scrape
  });

  it('asks OTLP gRPC clients to reconnect every maxConnectionAge, so a replica added later gets its share', () => {
    const grpc = parse(named(objects, 'ConfigMap', 'otel-collector-config').data['config.yaml']).receivers.otlp.protocols.grpc;
    expect(grpc.keepalive.server_parameters).toEqual({ max_connection_age: config.collector.maxConnectionAge, max_connection_age_grace: '10s' });
    const other = synthObjects(configWith({ services: config.services, collector: { maxConnectionAge: '5m' } }));
    expect(parse(named(other, 'ConfigMap', 'otel-collector-config').data['config.yaml']).receivers.otlp.protocols.grpc.keepalive.server_parameters.max_connection_age).toBe('5m');
  });

  it('has no autoscaler by default: the Deployment holds collectorReplicas', () => {
    expect(ofKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(named(objects, 'Deployment', 'otel-collector').spec.replicas).toBe(config.collectorReplicas);
  });

  it('with autoscaling: an autoscaler on the collector Deployment\'s CPU owns the count, and a PodDisruptionBudget guards it', () => {
    const scaled = synthObjects(configWith({ services: config.services, collector: { autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpu: '300m' } } }));
    const deployment = named(scaled, 'Deployment', 'otel-collector');
    expect(deployment.spec.replicas).toBeUndefined();
    const hpa = named(scaled, 'HorizontalPodAutoscaler', 'otel-collector');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.metadata.namespace).toBe(deployment.metadata.namespace);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([2, 6]);
    // An absolute average, below the container's limit (a utilization would be a share of the 100m request).
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '300m' } } }]);
    expect(deployment.spec.template.spec.containers[0].resources.limits.cpu).toBe('500m');
    // Unset, the target is 70 % of that limit.
    const byDefault = synthObjects(configWith({ services: config.services, collector: { autoscaling: {} } }));
    expect(named(byDefault, 'HorizontalPodAutoscaler', 'otel-collector').spec.metrics[0].resource.target.averageValue).toBe(`${0.7 * 500}m`);
    const pdb = named(scaled, 'PodDisruptionBudget', 'otel-collector');
    expect(matches(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
  });
});

describe('long-term storage on: the Store Gateway and the Compactor keep their data on claims of the configured sizes', () => {
  const lts = configWith({ prometheusStorage: '30Gi', thanos: { objectStorage: { egressCidrs: ['10.0.0.0/8'] }, storeStorage: '5Gi' } });
  const ltsObjects = synthObjects(lts);
  const claim = (name: string) => {
    const s = named(ltsObjects, 'StatefulSet', name);
    const data = s.spec.template.spec.containers[0].volumeMounts.find((m: any) => m.name === s.spec.volumeClaimTemplates[0].metadata.name);
    return { size: s.spec.volumeClaimTemplates[0].spec.resources.requests.storage, mounted: data !== undefined };
  };

  it('the Store Gateway\'s as given, the Compactor\'s twice prometheusStorage (30Gi -> 60Gi)', () => {
    expect(claim('thanos-store')).toEqual({ size: '5Gi', mounted: true });
    expect(claim('thanos-compactor')).toEqual({ size: '60Gi', mounted: true });
  });

  it('still synthesizes no Secret: the object store\'s configuration is the user\'s', () => {
    expect(ofKind(ltsObjects, 'Secret')).toHaveLength(0);
  });
});
