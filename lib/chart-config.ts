/**
 * The chart's configuration: the chat services to monitor and the stack's options.
 * Adding a service is one entry in `services`; everything else derives from it.
 * Field reference and defaults: lib/config.ts and the settings it composes (chat-service-settings.ts,
 * collector/collector-settings.ts, alertmanager/alertmanager-settings.ts, network-policy-settings.ts,
 * thanos/thanos-settings.ts), and the README's config reference.
 *
 * Long-term storage (off here) is one more section, with your object store's addresses:
 *   thanos: { objectStorage: { egressCidrs: ['203.0.113.0/24'] } },
 * and the Secret `thanos-objstore` created by `npm run deploy -- --objstore-file <file>`.
 */
import { ChartConfigInput } from './config';

export const CHART_CONFIG: ChartConfigInput = {
  namespace: 'monitoring',
  scrapeInterval: '15s',
  retention: '31d',
  grafanaNodePort: 30030,
  services: [
    {
      name: 'chat-auth',
      namespace: 'chat',
      selector: { 'app.kubernetes.io/name': 'chat-auth' },
      exportMode: 'push',
      convention: 'legacy',
    },
    {
      name: 'chat-transport',
      namespace: 'chat',
      selector: { 'app.kubernetes.io/name': 'chat-transport' },
      exportMode: 'push',
      convention: 'legacy',
      websocketGauge: 'websocket_hub_active_connections',
    },
    {
      name: 'chat-messaging',
      namespace: 'chat',
      selector: { 'app.kubernetes.io/name': 'chat-messaging' },
      exportMode: 'push',
      convention: 'legacy',
    },
  ],
};
