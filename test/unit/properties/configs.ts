/**
 * Configs the property suites run on besides the default: the smallest possible, and five services
 * mixing everything a service can be (push and pull, both conventions, own namespaces, custom
 * selector labels, WebSocket gauges, custom panels, SLOs) with the collector, Prometheus and Thanos Query replicated, long-term storage on,
 * and the API server's and the nodes' addresses given to the NetworkPolicies.
 */
import { ChartConfig, validateConfig } from '../../../lib/config';

export const ONE_SERVICE = (): ChartConfig => validateConfig({ services: [{ name: 'solo' }] });

export const FIVE_SERVICES = (): ChartConfig => validateConfig({
  namespace: 'observability',
  grafanaNodePort: 31000,
  collectorReplicas: 2,
  prometheusReplicas: 2,
  // kind's addresses: the control plane's API endpoint, the nodes' network; an IPv6 range beside it.
  networkPolicies: { apiServerCidrs: ['172.18.0.2/32', 'fd00:10:96::/112'], nodeCidrs: ['172.18.0.0/16'] },
  // Long-term storage in an object store at a documentation range (and an IPv6 one beside it).
  thanos: { queryReplicas: 3, objectStorage: { egressCidrs: ['192.0.2.0/24', '2001:db8::/32'], egressPorts: [443, 9000] } },
  services: [
    { name: 'chat-auth' },
    { name: 'chat-transport', websocketGauge: 'websocket_hub_active_connections' },
    {
      name: 'chat-presence', namespace: 'presence', exportMode: 'pull', convention: 'stable',
      metricsPort: { name: 'metrics', port: 9464, path: '/prom' }, websocketGauge: 'presence_active_connections',
    },
    {
      name: 'chat-media', namespace: 'media', convention: 'stable', slo: { availabilityPercent: 99.9, p99LatencySeconds: 0.5 },
      customPanels: [{ title: 'Uploads in flight', expr: 'sum(media_uploads_in_flight{service="chat-media"})', unit: 'short' }],
    },
    { name: 'chat-notify', selector: { app: 'notifier', tier: 'backend' }, exportMode: 'pull', metricsPort: { name: 'prom', port: 9100 } },
  ],
});
