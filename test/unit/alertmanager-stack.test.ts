/**
 * Alertmanager in the synthesized stack: the operator's Alertmanager resource and its config,
 * Prometheus sending to it, Grafana reading it, scraping, storage, disruption budget, RBAC and the
 * network flows it needs (and no others). Expectations come from the config the objects are built from.
 */
import { parse } from 'yaml';
import { ChartConfig, DEFAULT_IMAGES, validateConfig } from '../../lib/config';
import { CHART_CONFIG } from '../../lib/chart-config';
import { PROGRAMS, programVersion } from '../support/binaries';
import { K8sObject, named, ofKind, synthObjects } from '../support/manifests';
import { schemaProblems } from './support/schema';
import { External, flowAllowed, isolated, NetworkPolicy, Pod, selectorMatches } from './support/network-policy';
import { stackPods } from './support/stack-pods';

const tagOf = (image: string) => image.split(':').pop()!;

function stack(config: ChartConfig) {
  const objects = synthObjects(config);
  const am = named(objects, 'Alertmanager', 'chat-monitoring');
  const pods = stackPods(objects);
  const pod = (name: string): Pod => pods.find((p) => p.name === name)!;
  return { config, objects, am, pods, pod, policies: ofKind(objects, 'NetworkPolicy') as unknown as NetworkPolicy[] };
}

/** dist/'s config: 3 Alertmanager replicas by default. */
const byDefault = stack(validateConfig(CHART_CONFIG));
const single = stack(validateConfig({ ...CHART_CONFIG, alertmanager: { replicas: 1 } }));
const clustered = stack(validateConfig({
  ...CHART_CONFIG,
  alertmanager: {
    replicas: 2,
    receivers: [{ name: 'hook', webhook: { urlSecretKey: 'hook-url', port: 8443 } }, { name: 'pager', pagerduty: { routingKeySecretKey: 'pd-key' } }],
    criticalReceiver: 'pager',
    warningReceiver: 'hook',
    receiverEgressCidrs: ['203.0.113.0/24'],
  },
}));

describe('Alertmanager: the resource the operator runs', () => {
  const { am, config } = byDefault;
  it('runs the pinned image and tells the operator its version (which decides the config fields it renders)', () => {
    expect(am.spec.image).toBe(config.images.alertmanager);
    expect(am.spec.version).toBe(tagOf(config.images.alertmanager));
    expect(am.spec.image).toBe(DEFAULT_IMAGES.alertmanager);
  });
  it('is the version the proof\'s Alertmanager and amtool are built at', () => {
    const program = PROGRAMS.find((p) => p.name === 'alertmanager')!;
    expect(programVersion(program)).toBe(am.spec.version);
  });
  it('takes its configuration from the chart\'s AlertmanagerConfig, and user ones by label, without a forced namespace matcher', () => {
    const amc = named(byDefault.objects, 'AlertmanagerConfig', am.spec.alertmanagerConfiguration.name);
    expect(amc.metadata.namespace).toBe(am.metadata.namespace);
    expect(am.spec.configSecret).toBeUndefined();
    expect(Object.keys(am.spec.alertmanagerConfigSelector.matchLabels).length).toBeGreaterThan(0);
    // The chart's own object is not selected by that label (it is the base, not an addition).
    expect(selectorMatches(am.spec.alertmanagerConfigSelector, amc.metadata.labels ?? {})).toBe(false);
    expect(am.spec.alertmanagerConfigNamespaceSelector).toBeUndefined();
    expect(am.spec.alertmanagerConfigMatcherStrategy).toEqual({ type: 'None' });
  });
  it('runs as non-root with RuntimeDefault seccomp (the operator adds no-escalation, drop ALL, read-only root)', () => {
    expect(am.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(am.spec.securityContext.runAsUser).toBeGreaterThan(0);
  });
  it('requests and limits cpu and memory', () => {
    expect(Object.keys(am.spec.resources.requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(am.spec.resources.limits).sort()).toEqual(['cpu', 'memory']);
  });
  it('keeps silences and the notification log on a claim of the configured size, for the configured retention', () => {
    expect(am.spec.storage.volumeClaimTemplate.spec.resources.requests.storage).toBe(config.alertmanager.storage);
    expect(am.spec.retention).toBe(config.alertmanager.retention);
  });
  it('has a ServiceAccount without an API token (it calls no API)', () => {
    expect(named(byDefault.objects, 'ServiceAccount', am.spec.serviceAccountName).automountServiceAccountToken).toBe(false);
  });
  it('is schema-valid, by default (3 replicas), single and clustered', () => {
    expect(schemaProblems([...byDefault.objects, ...single.objects, ...clustered.objects].filter((o) => /Alertmanager/.test(o.kind) || o.metadata.name === 'alertmanager'))).toEqual([]);
  });
});

describe('Alertmanager: wiring', () => {
  const { objects, am } = byDefault;
  const service = named(objects, 'Service', 'alertmanager');
  const podLabels = byDefault.pod(`alertmanager-${am.metadata.name}`).labels;
  const webPort = service.spec.ports.find((p: { name: string }) => p.name === 'web');

  it('its Service selects the operator\'s pods and their named ports', () => {
    expect(selectorMatches({ matchLabels: service.spec.selector }, podLabels)).toBe(true);
    expect(service.spec.ports.map((p: { targetPort: string }) => p.targetPort).sort()).toEqual(['reloader-web', 'web']);
  });
  it('Prometheus sends its alerts to that Service\'s web port, API v2', () => {
    const prometheus = named(objects, 'Prometheus', 'chat-monitoring');
    expect(prometheus.spec.alerting.alertmanagers).toEqual([{ namespace: service.metadata.namespace, name: service.metadata.name, port: 'web', apiVersion: 'v2' }]);
  });
  it('so every Prometheus replica sends every alert to every Alertmanager replica: the operator discovers that Service\'s endpoints, one per ready pod', () => {
    // The operator (v0.93, pkg/prometheus/promcfg.go) turns each alerting.alertmanagers entry into
    // kubernetes_sd_configs of the endpoint role (endpointslice here, the Prometheus's
    // serviceDiscoveryRole) in that namespace, keeping the Service by name and the port by name:
    // every ready pod the Service selects is a target, and Prometheus sends each alert to each target.
    const prometheus = named(objects, 'Prometheus', 'chat-monitoring');
    expect(prometheus.spec.serviceDiscoveryRole).toBe('EndpointSlice');
    expect(service.spec.clusterIP).toBeUndefined(); // an ordinary Service: its EndpointSlices list every ready pod
    expect(am.spec.replicas).toBe(3);
    // All replicas of the StatefulSet carry the same pod labels, which the Service selects; none else does.
    const selected = byDefault.pods.filter((p) => p.namespace === service.metadata.namespace && selectorMatches({ matchLabels: service.spec.selector }, p.labels));
    expect(selected.map((p) => p.name)).toEqual([`alertmanager-${am.metadata.name}`]);
    expect(am.spec.podMetadata.labels).toEqual(expect.objectContaining(service.spec.selector));
    // The port Prometheus keeps is the one the Service names `web`, Alertmanager's API.
    expect(webPort.targetPort).toBe('web');
  });
  it('is scraped by Prometheus: a selected ServiceMonitor on both ports', () => {
    const monitor = named(objects, 'ServiceMonitor', 'alertmanager');
    const prometheus = named(objects, 'Prometheus', 'chat-monitoring');
    expect(selectorMatches(prometheus.spec.serviceMonitorSelector, monitor.metadata.labels!)).toBe(true);
    expect(selectorMatches(monitor.spec.selector, service.metadata.labels!)).toBe(true);
    expect(monitor.spec.endpoints.map((e: { port: string }) => e.port).sort()).toEqual(['reloader-web', 'web']);
  });
  it('is a Grafana datasource with a fixed uid, at the Service\'s address', () => {
    const provisioning = parse(named(objects, 'ConfigMap', 'grafana-provisioning').data['datasources.yaml']);
    const ds = provisioning.datasources.find((d: { type: string }) => d.type === 'alertmanager');
    expect(ds).toMatchObject({ uid: 'alertmanager', access: 'proxy', editable: false, jsonData: { implementation: 'prometheus' } });
    expect(ds.url).toBe(`http://${service.metadata.name}.${service.metadata.namespace}.svc:${webPort.port}`);
    expect(provisioning.datasources.filter((d: { isDefault?: boolean }) => d.isDefault).map((d: { type: string }) => d.type)).toEqual(['prometheus']);
  });
  it('the operator may manage Alertmanagers and only read AlertmanagerConfigs', () => {
    const role = named(objects, 'Role', 'prometheus-operator');
    const verbsOn = (resource: string) => role.rules.filter((r: { resources: string[] }) => r.resources.includes(resource)).flatMap((r: { verbs: string[] }) => r.verbs);
    expect(verbsOn('alertmanagers')).toEqual(expect.arrayContaining(['create', 'update', 'delete']));
    expect(verbsOn('alertmanagerconfigs').sort()).toEqual(['get', 'list', 'watch']);
  });
});

describe('Alertmanager: PodDisruptionBudget only above one replica', () => {
  const budgetsFor = (s: typeof single) => ofKind(s.objects, 'PodDisruptionBudget')
    .filter((b) => selectorMatches(b.spec.selector, s.pod(`alertmanager-${s.am.metadata.name}`).labels));
  it('none with a single replica', () => expect(budgetsFor(single)).toEqual([]));
  it('by default 3 replicas, with one budget keeping all but one up (a drain leaves 2 of 3 delivering)', () => {
    expect(byDefault.config.alertmanager.replicas).toBe(3);
    expect(byDefault.am.spec.replicas).toBe(3);
    expect(budgetsFor(byDefault).map((b: K8sObject) => b.spec.maxUnavailable)).toEqual([1]);
  });
  it('one keeping all but one replica up with 2', () => {
    expect(clustered.am.spec.replicas).toBe(clustered.config.alertmanager.replicas);
    expect(budgetsFor(clustered).map((b: K8sObject) => b.spec.maxUnavailable)).toEqual([1]);
  });
});

describe('Alertmanager: network flows', () => {
  const dns: Pod = { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
  const apiServer: External = { name: 'the API server', ip: '172.18.0.2' };
  const internet: External = { name: 'a receiver on the internet', ip: '198.51.100.7' };
  const inCidr: External = { name: 'a receiver in the allowed CIDR', ip: '203.0.113.9' };
  const chat: Pod = { name: 'chat-auth', namespace: 'chat', labels: { 'app.kubernetes.io/name': 'chat-auth' } };
  const samePodsOtherNs = (p: Pod): Pod => ({ ...p, namespace: 'default' });

  describe.each([['the default: 3 replicas, no receivers', byDefault], ['single replica, no receivers', single],
    ['2 replicas, webhook :8443 and PagerDuty', clustered]] as const)('%s', (_what, s) => {
    const am = s.pod(`alertmanager-${s.am.metadata.name}`);
    const prometheus = s.pod('prometheus-chat-monitoring');
    const grafana = s.pod('grafana');
    const ports = s.config.alertmanager.receivers.map((r) => r.webhook?.port ?? 443);
    const cidrs = s.config.alertmanager.receiverEgressCidrs;
    const allow = (from: Pod | External, to: Pod | External, port: number, protocol = 'TCP') => flowAllowed(s.policies, from, to, port, protocol);

    it('is isolated both ways', () => {
      expect(isolated(s.policies, am, 'Ingress')).toBe(true);
      expect(isolated(s.policies, am, 'Egress')).toBe(true);
    });
    it('receives alerts and scrapes from Prometheus, queries from Grafana', () => {
      expect(allow(prometheus, am, 9093)).toBe(true);
      expect(allow(prometheus, am, 8080)).toBe(true);
      expect(allow(grafana, am, 9093)).toBe(true);
      expect(allow(grafana, am, 8080)).toBe(false);
    });
    it('refuses everyone else', () => {
      expect(allow(chat, am, 9093)).toBe(false);
      expect(allow(samePodsOtherNs(prometheus), am, 9093)).toBe(false);
      expect(allow(s.pod('otel-collector'), am, 9093)).toBe(false);
    });
    it('resolves names, and calls no API server', () => {
      expect(allow(am, dns, 53, 'UDP')).toBe(true);
      expect(allow(am, apiServer, 443)).toBe(false);
      expect(allow(am, apiServer, 6443)).toBe(false);
    });
    it('gossips with its peers on 9094 (TCP and UDP) only when clustered', () => {
      const clusteredNow = s.config.alertmanager.replicas > 1;
      for (const protocol of ['TCP', 'UDP']) {
        expect([protocol, allow(am, am, 9094, protocol)]).toEqual([protocol, clusteredNow]);
      }
      expect(allow(prometheus, am, 9094)).toBe(false);
    });
    it('reaches receivers only on their ports, and only at the configured addresses', () => {
      for (const p of ports) {
        expect([p, allow(am, cidrs.length ? inCidr : internet, p)]).toEqual([p, true]);
        if (cidrs.length) expect([p, allow(am, internet, p)]).toEqual([p, false]);
      }
      expect(allow(am, internet, 25)).toBe(false);
      if (ports.length === 0) expect(allow(am, internet, 443)).toBe(false);
    });
  });
});
