/**
 * Synth parses only user-written PromQL (custom panels); the queries the chart generates itself are
 * parsed here, for every convention, export mode and window the config allows.
 */
import { parsePromQL } from '../../lib/queries/promql';
import { allDashboards } from '../../lib/dashboards';
import { recordingRules } from '../../lib/rules/recording';
import { platformAlerts, serviceAlerts } from '../../lib/rules/alerts';
import { ChartConfig } from '../../lib/config';
import { CHART_CONFIG } from '../../lib/services';
import { configWith, defaultConfig } from '../support/manifests';

const variants: [string, ChartConfig][] = [
  ['default', defaultConfig()],
  ['stable convention, 2m window', configWith({
    recordingWindow: '2m',
    services: CHART_CONFIG.services.map((s) => ({ ...s, convention: 'stable' as const })),
  })],
  ['a pull service in its own namespace', configWith({
    services: [...CHART_CONFIG.services, {
      name: 'chat-presence', namespace: 'presence', exportMode: 'pull',
      metricsPort: { name: 'metrics', port: 9100 }, websocketGauge: 'presence_active_connections',
    }],
  })],
];

function generatedQueries(config: ChartConfig): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const d of allDashboards(config)) {
    for (const p of (d.json.panels as { title: string; targets?: { expr: string }[] }[])) {
      for (const t of p.targets ?? []) out.push({ where: `${d.fileName} "${p.title}"`, expr: t.expr });
    }
  }
  const groups = [...config.services.flatMap((s) => [recordingRules(config, s), serviceAlerts(config, s)]), platformAlerts(config)];
  for (const g of groups) {
    for (const r of g.rules) out.push({ where: `${g.name} ${'record' in r ? r.record : r.alert}`, expr: r.expr });
  }
  return out;
}

describe.each(variants)('generated PromQL (%s)', (_name, config) => {
  it('parses with the Prometheus PromQL parser, every query', () => {
    const queries = generatedQueries(config);
    expect(queries.length).toBeGreaterThan(50);
    const broken = queries.map((q) => ({ ...q, error: parsePromQL(q.expr) })).filter((q) => q.error);
    expect(broken).toEqual([]);
  });
});

it('the parse check catches a broken generated query', () => {
  expect(parsePromQL('sum(rate(http_server_duration_milliseconds_count[1m])')).toMatch(/syntax error/);
});
