/**
 * Prometheus scrape jobs equivalent to the chart's per-chat-service ServiceMonitors for push
 * services, pointed at a RunningCollector on this machine: what the operator would generate, read
 * from the synthesized objects (ServiceMonitor -> Service -> container port -> the exporter on that
 * port), so a test scrapes each service's target exactly as deployed.
 */
import { ChartConfig } from '../../lib/config';
import { CollectorConfig, RunningCollector } from './collector';
import { K8sObject, named, ofKind, synthObjects } from './manifests';

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

export interface ChatServiceScrape {
  /** The configured chat service. */
  readonly service: string;
  /** The scrape job, as Prometheus config. */
  readonly job: Record<string, unknown>;
}

export function chatServiceScrapes(config: ChartConfig, collector: RunningCollector, chartCollector: CollectorConfig, interval: string): ChatServiceScrape[] {
  const objects: K8sObject[] = synthObjects(config);
  const container = named(objects, 'Deployment', 'otel-collector').spec.template.spec.containers[0];
  const exporterByPort = new Map(Object.entries(chartCollector.exporters as Record<string, { endpoint: string }>)
    .map(([key, e]) => [Number(e.endpoint.split(':').pop()), key]));
  return config.services.filter((s) => s.exportMode === 'push').map((s) => {
    const monitor = named(objects, 'ServiceMonitor', s.name);
    const [endpoint] = monitor.spec.endpoints;
    const services = ofKind(objects, 'Service').filter((x) => x.metadata.namespace === monitor.metadata.namespace && matches(monitor.spec.selector.matchLabels, x.metadata.labels));
    if (services.length !== 1) throw new Error(`ServiceMonitor ${s.name} selects ${services.length} Services`);
    const port = services[0].spec.ports.find((p: { name: string }) => p.name === endpoint.port);
    const containerPort = container.ports.find((p: { name: string }) => p.name === port.targetPort).containerPort;
    const exporter = exporterByPort.get(containerPort);
    if (!exporter) throw new Error(`no collector exporter listens on ${containerPort} (Service ${services[0].metadata.name})`);
    const relabeled = (label: string) => endpoint.relabelings.find((r: { targetLabel: string }) => r.targetLabel === label)?.replacement;
    return {
      service: s.name,
      job: {
        job_name: relabeled('job'),
        scrape_interval: interval,
        honor_labels: endpoint.honorLabels === true,
        sample_limit: monitor.spec.sampleLimit,
        static_configs: [{
          targets: [collector.exporterTargets[exporter]],
          // Target labels the operator gives it (but pod, which the collector's series carry anyway):
          // the relabeled service, the stack's namespace, the container and the port name.
          labels: { service: relabeled('service'), namespace: monitor.metadata.namespace, container: container.name, endpoint: endpoint.port },
        }],
      },
    };
  });
}
