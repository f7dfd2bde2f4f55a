import { Construct } from 'constructs';
import {
  ServiceMonitor,
  ServiceMonitorSpecEndpoints,
  ServiceMonitorSpecEndpointsRelabelingsAction,
} from '../../imports/servicemonitor-monitoring.coreos.com';
import { EXPORTER_PORT_NAME, exporterServiceLabels, ServiceExporter } from '../collector/service-exporters';
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
  /** For a push service: the collector's exporter for it (its Service is in the stack's namespace). */
  readonly exporter?: ServiceExporter;
}

/**
 * One scrape target per chat service, whichever way its metrics travel: a pull service's own
 * /metrics, or a push service's exporter on the collector. Either way the target's `job` and
 * `service` are the configured name, so `up{job="<name>"}` says whether that service's metrics are
 * collected, and its sampleLimit fails only its own scrape when its series explode.
 */
export class ServiceMonitorForChatService extends Construct {
  constructor(scope: Construct, id: string, props: ServiceMonitorForChatServiceProps) {
    super(scope, id);
    const s = props.service;
    const relabelings = ['job', 'service'].map((targetLabel) => ({
      action: ServiceMonitorSpecEndpointsRelabelingsAction.REPLACE, targetLabel, replacement: s.name,
    }));
    let target: { namespaceSelector?: { matchNames: string[] }; selector: Record<string, string>; endpoint: ServiceMonitorSpecEndpoints };
    if (s.exportMode === 'push') {
      if (!props.exporter) throw new Error(`${s.name}: a push service needs its collector exporter`);
      target = {
        selector: exporterServiceLabels(s.name),
        endpoint: {
          port: EXPORTER_PORT_NAME,
          // The collector set service, namespace, pod, job and instance on each series: keep them.
          honorLabels: true,
          // Each point keeps the time the chat pod measured it. A pod whose connection moved to
          // another collector replica is exposed by both for a while, under the same labels: the
          // newer point is stored, the old replica's repeat of an older one is refused as out of
          // order. So the series goes on across the move, with no gap, reset or double count.
          // trackTimestampsStaleness stays off (its default): no staleness marker when a replica
          // stops exposing a pod it no longer receives, since the series lives on at the other one.
          // Instant reads bound freshness instead (queries/http.ts, pushFreshness).
          honorTimestamps: true,
        },
      };
    } else {
      if (!s.metricsPort) throw new Error(`${s.name}: a pull-mode service needs metricsPort`);
      target = {
        namespaceSelector: { matchNames: [s.namespace] },
        selector: { ...s.selector },
        endpoint: { port: s.metricsPort.name, path: s.metricsPort.path },
      };
    }
    new ServiceMonitor(this, 'monitor', {
      metadata: { name: s.name, namespace: props.namespace, labels: monitorLabels(s.name) },
      spec: {
        ...(target.namespaceSelector ? { namespaceSelector: target.namespaceSelector } : {}),
        selector: { matchLabels: target.selector },
        sampleLimit: s.sampleLimit,
        endpoints: [{ ...target.endpoint, interval: props.interval, relabelings }],
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
