import { createHash } from 'crypto';

/** Grafana uids are at most 40 characters; long service names keep a readable prefix and a hash. */
function uid(prefix: string, name: string): string {
  const full = `${prefix}${name}`;
  if (full.length <= 40) return full;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${full.slice(0, 31)}-${hash}`;
}

export const serviceDashboardUid = (service: string) => uid('cm-svc-', service);
export const OVERVIEW_DASHBOARD_UID = 'cm-platform-overview';
export const STACK_DASHBOARD_UID = 'cm-monitoring-stack';
