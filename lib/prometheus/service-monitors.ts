import { Construct } from 'constructs';
import {
  ServiceMonitor,
  ServiceMonitorSpecEndpoints,
  ServiceMonitorSpecEndpointsRelabelingsAction,
} from '../../imports/servicemonitor-monitoring.coreos.com';
import { ChatServiceConfig } from '../config';
import { componentLabels, MONITORING_SELECTOR } from '../labels';

/** Labels every ServiceMonitor of the chart carries: its component's and the one Prometheus selects on. */
function monitorLabels(name: string): Record<string, string> {
  return { ...componentLabels(name, 'service-monitor'), ...MONITORING_SELECTOR };
}

export interface ServiceMonitorForChatServiceProps {
  /** Namespace of the monitoring stack (where Prometheus looks for ServiceMonitors). */
  readonly namespace: string;
  readonly service: ChatServiceConfig;
  readonly interval: string;
}

/**
 * Scrapes a pull-mode chat service's /metrics. The `service` label is set to the configured name,
 * exactly as the collector sets it for push-mode services, so both paths end in the same labels.
 */
export class ServiceMonitorForChatService extends Construct {
  constructor(scope: Construct, id: string, props: ServiceMonitorForChatServiceProps) {
    super(scope, id);
    const s = props.service;
    if (!s.metricsPort) throw new Error(`${s.name}: a pull-mode service needs metricsPort`);
    new ServiceMonitor(this, 'monitor', {
      metadata: { name: s.name, namespace: props.namespace, labels: monitorLabels(s.name) },
      spec: {
        namespaceSelector: { matchNames: [s.namespace] },
        selector: { matchLabels: { ...s.selector } },
        endpoints: [{
          port: s.metricsPort.name,
          path: s.metricsPort.path,
          interval: props.interval,
          relabelings: [{ action: ServiceMonitorSpecEndpointsRelabelingsAction.REPLACE, targetLabel: 'service', replacement: s.name }],
        }],
      },
    });
  }
}

export interface ServiceMonitorForComponentProps {
  readonly namespace: string;
  /** Name of the ServiceMonitor and of the component. */
  readonly name: string;
  /** Labels of the component's Service. */
  readonly selector: Readonly<Record<string, string>>;
  readonly endpoints: ServiceMonitorSpecEndpoints[];
}

/** Scrapes one of the stack's own components (collector, Prometheus, operator) in its namespace. */
export class ServiceMonitorForComponent extends Construct {
  constructor(scope: Construct, id: string, props: ServiceMonitorForComponentProps) {
    super(scope, id);
    new ServiceMonitor(this, 'monitor', {
      metadata: { name: props.name, namespace: props.namespace, labels: monitorLabels(props.name) },
      spec: {
        selector: { matchLabels: { ...props.selector } },
        endpoints: props.endpoints,
      },
    });
  }
}
