/**
 * Where the collector exposes each push service's series: one prometheus exporter per service, on a
 * port of its own, behind a Service of its own that the service's ServiceMonitor selects. So each
 * chat service is one scrape target (its own `up` and sampleLimit), in one collector Deployment.
 */
import { ChartConfig, ChatServiceConfig } from '../config';
import { componentLabels, NAMES } from '../labels';

/** The first service's exporter port; the others follow in config order. */
export const FIRST_EXPORTER_PORT = 9464;
/** Name of the exporter port on each per-service Service (the `endpoint` label of its target). */
export const EXPORTER_PORT_NAME = 'prom-exporter';
/** Label on a per-service Service naming its chat service; its ServiceMonitor selects on it. */
export const CHAT_SERVICE_LABEL = 'chat-monitoring.io/chat-service';

/** Labels of the collector's Service in front of one chat service's exporter. */
export function exporterServiceLabels(chatService: string): Record<string, string> {
  return { ...componentLabels(NAMES.collector, 'service-exporter'), [CHAT_SERVICE_LABEL]: chatService };
}

export interface ServiceExporter {
  readonly service: ChatServiceConfig;
  /** Component id of its prometheus exporter, and of the pipeline the routing connector feeds it by. */
  readonly exporterId: string;
  readonly pipelineId: string;
  readonly port: number;
  /** Container port name (IANA_SVC_NAME: at most 15 characters, so by position, not by service name). */
  readonly containerPortName: string;
  /** The Kubernetes Service in front of the port. */
  readonly serviceName: string;
}

export function serviceExporters(config: ChartConfig): ServiceExporter[] {
  return config.services.filter((s) => s.exportMode === 'push').map((service, i) => ({
    service,
    exporterId: `prometheus/${service.name}`,
    pipelineId: `metrics/${service.name}`,
    port: FIRST_EXPORTER_PORT + i,
    containerPortName: `exporter-${i}`,
    serviceName: `${NAMES.collector}-${service.name}`,
  }));
}
