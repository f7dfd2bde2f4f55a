import { ChartConfig } from '../config';
import { websocketConnections } from '../queries/http';
import { recordedName, SLO_PERIOD } from '../queries/recorded';
import { renderDashboard, RowSpec } from './panels';
import { OVERVIEW_DASHBOARD_UID } from './uids';

/** Every chat service side by side, from the recorded series. */
export function overviewDashboard(config: ChartConfig): Record<string, unknown> {
  const w = config.recordingWindow;
  const services = `{service=~"${config.services.map((s) => s.name).join('|')}"}`;
  const rows: RowSpec[] = [{
    title: 'All chat services',
    panels: [
      { title: 'Requests per second by service', unit: 'reqps', legend: '{{service}}', expr: `${recordedName.requestRate(w)}${services}`,
        description: `HTTP requests per second of each chat service over ${w}.` },
      { title: 'Error rate (5xx) by service', unit: 'percentunit', legend: '{{service}}', expr: `${recordedName.errorRatio(w)}${services}`,
        description: `Share of 5xx responses of each chat service over ${w}.` },
      { title: 'p95 latency by service', unit: 's', legend: '{{service}}', expr: `${recordedName.latency(95, w)}${services}`,
        description: `95th percentile request duration of each chat service over ${w}, in seconds.` },
      { title: 'p99 latency by service', unit: 's', legend: '{{service}}', expr: `${recordedName.latency(99, w)}${services}`,
        description: `99th percentile request duration of each chat service over ${w}, in seconds.` },
    ],
  }, {
    title: `Error budgets (${SLO_PERIOD})`,
    panels: [
      { title: 'Error budget remaining by service', unit: 'percentunit', legend: '{{service}}', expr: `${recordedName.budgetRemaining('availability')}${services}`,
        description: `Share of each service's ${SLO_PERIOD} error budget (5xx responses its availability objective allows) not yet spent; negative once overspent.` },
      { title: 'Latency budget remaining by service', unit: 'percentunit', legend: '{{service}}', expr: `${recordedName.budgetRemaining('latency')}${services}`,
        description: `Share of each service's ${SLO_PERIOD} latency budget (requests its latency objective allows above the threshold) not yet spent; negative once overspent.` },
    ],
  }];
  const websocketServices = config.services.filter((s) => s.websocketGauge);
  if (websocketServices.length > 0) {
    rows.push({
      title: 'WebSocket',
      panels: [{
        title: 'Active WebSocket connections by service', unit: 'short', legend: '{{service}}',
        expr: websocketServices.map((s) => websocketConnections(config, s, s.websocketGauge!)).join(' or '),
        description: 'Open WebSocket connections of each service that reports them.',
      }],
    });
  }
  return renderDashboard({
    uid: OVERVIEW_DASHBOARD_UID,
    title: 'Chat / Platform overview',
    description: 'Request rate, errors, latency and error budgets of every chat service.',
    tags: ['overview'],
    rows,
  });
}
