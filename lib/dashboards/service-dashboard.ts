import { ChartConfig, ChatServiceConfig, durationSeconds } from '../config';
import { HTTP_CONVENTIONS } from '../queries/conventions';
import { pushRuleQueryOffset, websocketConnections } from '../queries/http';
import { recorded, recordedName, Sli, SLO_PERIOD } from '../queries/recorded';
import { BURN_TIERS, errorBudget, objectiveText } from '../rules/slo';
import { renderDashboard, RowSpec } from './panels';
import { serviceDashboardUid } from './uids';

/**
 * Longest a stopped pod still counts on the Instances panel, in seconds: a pushed series counts for
 * pushFreshness (metric expiration + a scrape interval) after its last point, a pulled one until a
 * scrape marks it stale; then a rule evaluation records it gone (every scrape interval), for a
 * pushed one evaluating pushRuleQueryOffset behind.
 */
function instancesLag(config: ChartConfig, s: ChatServiceConfig): number {
  const scrape = durationSeconds(config.scrapeInterval);
  const push = s.exportMode === 'push';
  return (push ? durationSeconds(config.collector.metricExpiration) + durationSeconds(pushRuleQueryOffset(config)) : 0) + 2 * scrape;
}

/**
 * One chat service: golden signals, then breakdowns by route and status, every HTTP panel read from
 * recording rules (cheap at any time range and series count; bench section 5 measures it).
 */
export function serviceDashboard(config: ChartConfig, s: ChatServiceConfig): Record<string, unknown> {
  const w = config.recordingWindow;
  const c = HTTP_CONVENTIONS[s.convention];
  const source = `${c.count.replace(/_count$/, '')} (${s.convention} convention, ${s.exportMode})`;
  const rows: RowSpec[] = [
    {
      title: 'Golden signals',
      columns: 4,
      panels: [
        { title: 'Requests per second', unit: 'reqps', legend: '{{service}}', expr: recorded(recordedName.requestRate(w), s),
          description: `HTTP requests per second over ${w}, all pods and routes. Source: ${source}.` },
        { title: 'Error rate (5xx)', unit: 'percentunit', legend: '{{service}}', expr: recorded(recordedName.errorRatio(w), s),
          description: `Share of requests answered with a 5xx status over ${w}. The SLO is ${s.slo.availabilityPercent}% non-5xx.` },
        { title: 'p95 latency', unit: 's', legend: '{{service}}', expr: recorded(recordedName.latency(95, w), s),
          description: `95th percentile of server-side request duration over ${w}, in seconds, interpolated within histogram buckets.` },
        { title: 'p99 latency', unit: 's', legend: '{{service}}', expr: recorded(recordedName.latency(99, w), s),
          description: `99th percentile of server-side request duration over ${w}, in seconds. Alert threshold: ${s.slo.p99LatencySeconds}s.` },
      ],
    },
    {
      title: 'Breakdown',
      panels: [
        { title: 'Client errors (4xx)', unit: 'percentunit', legend: '{{service}}', expr: recorded(recordedName.clientErrorRatio(w), s),
          description: `Share of requests answered with a 4xx status over ${w}; shown apart because clients, not the service, cause them.` },
        { title: 'Instances', unit: 'short', kind: 'stat', expr: recorded(recordedName.instances, s),
          description: `Pods currently reporting HTTP metrics for this service. A pod that stops leaves it within ${instancesLag(config, s)} s: ` +
            'a pushed pod counts until its last point is older than the metric expiration plus a scrape interval, a pulled one until a scrape marks it stale; then a rule evaluation' +
            (s.exportMode === 'push' ? `, which for a pushed service runs ${pushRuleQueryOffset(config)} behind so that every point has arrived.` : '.') },
        { title: 'Requests per second by route', unit: 'reqps', legend: `{{${c.routeLabel}}}`, expr: recorded(recordedName.requestRateByRoute(w), s),
          description: `Requests per second per route template (${c.routeLabel}) over ${w}.` },
        { title: 'Requests per second by status', unit: 'reqps', legend: `{{${c.statusLabel}}}`, expr: recorded(recordedName.requestRateByStatus(w), s),
          description: `Requests per second per HTTP status code (${c.statusLabel}) over ${w}.` },
        { title: 'p95 latency by route', unit: 's', legend: `{{${c.routeLabel}}}`, expr: recorded(recordedName.latencyByRoute(95, w), s),
          description: `95th percentile request duration per route over ${w}, in seconds.` },
      ],
    },
  ];
  rows.push(...sloRows(s));
  if (s.websocketGauge) {
    rows.push({
      title: 'WebSocket',
      panels: [{ title: 'Active WebSocket connections', unit: 'short', legend: '{{service}}', expr: websocketConnections(config, s, s.websocketGauge),
        description: `Open WebSocket connections summed over all pods (${s.websocketGauge}; each pod reports its own).` }],
    });
  }
  if (s.customPanels.length > 0) {
    rows.push({
      title: 'Custom',
      panels: s.customPanels.map((p) => ({ title: p.title, unit: p.unit, expr: p.expr, legend: p.legend, description: p.description ?? p.title })),
    });
  }
  return renderDashboard({
    uid: serviceDashboardUid(s.name),
    title: `Chat / ${s.name}`,
    description: `RED metrics of ${s.name} (namespace ${s.namespace}).`,
    tags: [s.name],
    rows,
  });
}

/** Each SLI against its objective, the budget left and how fast it burns (lib/rules/slo.ts records them). */
function sloRows(s: ChatServiceConfig): RowSpec[] {
  const sli = (x: Sli) => recorded(x === 'availability' ? recordedName.errorRatio(SLO_PERIOD) : recordedName.slowRatio(SLO_PERIOD), s);
  const budgetText = (x: Sli) => `${Number((errorBudget(s, x) * 100).toPrecision(6))}% of requests over ${SLO_PERIOD}`;
  // One series per tier's long window, named by a `window` label.
  const burns = (x: Sli) => BURN_TIERS.map((t) => `label_replace(${recorded(recordedName.burnRate(x, t.long), s)}, "window", "${t.long}", "", "")`).join(' or ');
  const tiers = BURN_TIERS.map((t) => `${t.factor}x over ${t.long}`).join(', ');
  return [
    {
      title: `Service level (${SLO_PERIOD})`,
      columns: 4,
      panels: [
        { title: 'Availability SLI (30d)', unit: 'percentunit', kind: 'stat', expr: `1 - ${sli('availability')}`,
          description: `Share of requests without a 5xx over ${SLO_PERIOD}. Objective: ${objectiveText(s, 'availability')}.` },
        { title: 'Error budget remaining (30d)', unit: 'percentunit', kind: 'stat', expr: recorded(recordedName.budgetRemaining('availability'), s),
          description: `Share of the error budget (${budgetText('availability')} may fail) not yet spent; negative once overspent.` },
        { title: 'Latency SLI (30d)', unit: 'percentunit', kind: 'stat', expr: `1 - ${sli('latency')}`,
          description: `Share of requests answered within ${s.slo.latencyThresholdSeconds}s over ${SLO_PERIOD}. Objective: ${objectiveText(s, 'latency')}.` },
        { title: 'Latency budget remaining (30d)', unit: 'percentunit', kind: 'stat', expr: recorded(recordedName.budgetRemaining('latency'), s),
          description: `Share of the latency budget (${budgetText('latency')} may be slower than ${s.slo.latencyThresholdSeconds}s) not yet spent; negative once overspent.` },
      ],
    },
    {
      title: 'Budget burn rates',
      panels: [
        { title: 'Error budget burn rate', unit: 'short', legend: '{{window}}', expr: burns('availability'),
          description: `How many times faster than sustainable the error budget burns, over each alert tier's long window (1 spends it in exactly ${SLO_PERIOD}). The alerts fire at ${tiers} (and over each tier's short window).` },
        { title: 'Latency budget burn rate', unit: 'short', legend: '{{window}}', expr: burns('latency'),
          description: `How many times faster than sustainable the latency budget burns, over each alert tier's long window. The alerts fire at ${tiers}.` },
      ],
    },
  ];
}
