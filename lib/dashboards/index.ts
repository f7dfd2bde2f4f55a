import { ChartConfig } from '../config';
import { overviewDashboard } from './overview-dashboard';
import { serviceDashboard } from './service-dashboard';
import { stackDashboard } from './stack-dashboard';

export interface GeneratedDashboard {
  /** File name in dashboards/ and key in the ConfigMap. */
  readonly fileName: string;
  readonly json: Record<string, unknown>;
}

/** The dashboard of the monitoring stack itself (not of a chat service). */
export const STACK_DASHBOARD_FILE = 'monitoring-stack.json';
/** The dashboard of every chat service at once. */
export const PLATFORM_OVERVIEW_FILE = 'platform-overview.json';

/** All dashboards of the chart: the overview, one per chat service, then the stack's own. */
export function allDashboards(config: ChartConfig): GeneratedDashboard[] {
  return [
    { fileName: PLATFORM_OVERVIEW_FILE, json: overviewDashboard(config) },
    ...config.services.map((s) => ({ fileName: `${s.name}.json`, json: serviceDashboard(config, s) })),
    { fileName: STACK_DASHBOARD_FILE, json: stackDashboard(config) },
  ];
}

/** The committed form of a dashboard: stable key order from the builder, two-space indent, final newline. */
export const dashboardFileText = (d: GeneratedDashboard) => `${JSON.stringify(d.json, null, 2)}\n`;
