import { ChartConfig } from '../config';
import { overviewDashboard } from './overview-dashboard';
import { serviceDashboard } from './service-dashboard';

export interface GeneratedDashboard {
  /** File name in dashboards/ and key in the ConfigMap. */
  readonly fileName: string;
  readonly json: Record<string, unknown>;
}

/** All dashboards of the chart: the overview, then one per chat service. */
export function allDashboards(config: ChartConfig): GeneratedDashboard[] {
  return [
    { fileName: 'platform-overview.json', json: overviewDashboard(config) },
    ...config.services.map((s) => ({ fileName: `${s.name}.json`, json: serviceDashboard(config, s) })),
  ];
}

/** The committed form of a dashboard: stable key order from the builder, two-space indent, final newline. */
export const dashboardFileText = (d: GeneratedDashboard) => `${JSON.stringify(d.json, null, 2)}\n`;
