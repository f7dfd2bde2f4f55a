/**
 * Synth parses only user-written PromQL (custom panels); the queries the chart generates itself
 * (dashboards, recording rules, alerts) are parsed here for the config given.
 */
import { ChartConfig } from '../../../lib/config';
import { allDashboards } from '../../../lib/dashboards';
import { parsePromQL } from '../../../lib/queries/promql';
import { platformAlerts, serviceAlerts } from '../../../lib/rules/alerts';
import { recordingRules } from '../../../lib/rules/recording';
import { stackAlerts } from '../../../lib/rules/stack-alerts';

export function generatedQueries(config: ChartConfig): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const d of allDashboards(config)) {
    for (const p of (d.json.panels as { title: string; targets?: { expr: string }[] }[])) {
      for (const t of p.targets ?? []) out.push({ where: `${d.fileName} "${p.title}"`, expr: t.expr });
    }
  }
  const groups = [...config.services.flatMap((s) => [recordingRules(config, s), serviceAlerts(config, s)]), platformAlerts(config), stackAlerts(config)];
  for (const g of groups) {
    for (const r of g.rules) out.push({ where: `${g.name} ${'record' in r ? r.record : r.alert}`, expr: r.expr });
  }
  return out;
}

export function generatedPromqlProperties(name: string, config: ChartConfig): void {
  describe(`generated PromQL (${name})`, () => {
    it('parses with the Prometheus PromQL parser, every query, at least one dashboard query and rule per service', () => {
      const queries = generatedQueries(config);
      for (const s of config.services) {
        expect(queries.filter((q) => q.where.startsWith(`${s.name}.json `)).length).toBeGreaterThan(5);
        expect(queries.filter((q) => q.where.startsWith(`${s.name}.`) && !q.where.startsWith(`${s.name}.json`)).length).toBeGreaterThan(5);
      }
      const broken = queries.map((q) => ({ ...q, error: parsePromQL(q.expr) })).filter((q) => q.error);
      expect(broken).toEqual([]);
    });
  });
}
