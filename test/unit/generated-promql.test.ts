/** Generated PromQL (test/unit/properties/generated-promql.ts) for every convention, export mode and window the config allows. */
import { parsePromQL } from '../../lib/queries/promql';
import { CHART_CONFIG } from '../../lib/chart-config';
import { configWith, defaultConfig, unusedServiceName } from '../support/manifests';
import { generatedPromqlProperties } from './properties/generated-promql';

generatedPromqlProperties('default config', defaultConfig());
generatedPromqlProperties('stable convention, 2m window', configWith({
  recordingWindow: '2m',
  services: CHART_CONFIG.services.map((s) => ({ ...s, convention: 'stable' as const })),
}));
generatedPromqlProperties('a pull service in its own namespace', configWith({
  services: [...CHART_CONFIG.services, {
    name: unusedServiceName('chat-presence'), namespace: 'presence', exportMode: 'pull',
    metricsPort: { name: 'metrics', port: 9100 }, websocketGauge: 'presence_active_connections',
  }],
}));

it('the parse check catches a broken generated query', () => {
  expect(parsePromQL('sum(rate(http_server_duration_milliseconds_count[1m])')).toMatch(/syntax error/);
});
