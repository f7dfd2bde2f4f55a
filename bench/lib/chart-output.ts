/** Reading what a synth wrote: the chart's rules as a Prometheus rule file, the dashboards' queries. */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments, stringify } from 'yaml';
import { PLATFORM_OVERVIEW_FILE, STACK_DASHBOARD_FILE } from '../../lib/dashboards';

export interface RuleGroup { name: string; interval?: string; query_offset?: string; rules: Record<string, unknown>[] }

/** Every PrometheusRule's spec.groups in `<dist>/50-rules.k8s.yaml`. */
export function chartRuleGroups(distDir: string): RuleGroup[] {
  const docs = parseAllDocuments(readFileSync(join(distDir, '50-rules.k8s.yaml'), 'utf8')).map((d) => d.toJS());
  return docs.filter((d) => d?.kind === 'PrometheusRule').flatMap((d) => d.spec.groups as RuleGroup[]);
}

/** A Prometheus rule file (the format the operator generates from PrometheusRules). */
export function ruleFile(groups: RuleGroup[], filter: (rule: Record<string, unknown>) => boolean = () => true): string {
  return stringify({ groups: groups.map((g) => ({ ...g, rules: g.rules.filter(filter) })).filter((g) => g.rules.length > 0) });
}

export const isRecording = (rule: Record<string, unknown>) => typeof rule.record === 'string';

interface Panel { title?: string; type?: string; panels?: Panel[]; targets?: { expr?: string }[] }

/** Every query of `<dashboardsDir>/<service>.json` with its panel's title, rows included, in order. */
export function panelQueries(dashboardsDir: string, service: string): { title: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(join(dashboardsDir, `${service}.json`), 'utf8')) as { panels: Panel[] };
  const out: { title: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ title: p.title ?? '', expr: t.expr });
      if (p.panels) walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** The first query of the panel titled `title` in `<dashboardsDir>/<service>.json`. */
export function panelQuery(dashboardsDir: string, service: string, title: string): string {
  const expr = panelQueries(dashboardsDir, service).find((q) => q.title === title)?.expr;
  if (!expr) throw new Error(`${service}.json has no panel "${title}" with a query`);
  return expr;
}

/** Service dashboards in a dashboards directory (every file but the platform overview and the stack's own). */
export function serviceDashboards(dashboardsDir: string): string[] {
  return readdirSync(dashboardsDir).filter((f) => f.endsWith('.json') && f !== PLATFORM_OVERVIEW_FILE && f !== STACK_DASHBOARD_FILE)
    .map((f) => f.replace(/\.json$/, '')).sort();
}

/** What a synth into `chartDir` wrote that the Prometheus benches read: dashboards, service names, rule groups. */
export function readChartOutput(chartDir: string): { dashboards: string; services: string[]; groups: RuleGroup[] } {
  const dashboards = join(chartDir, 'dashboards');
  return { dashboards, services: serviceDashboards(dashboards), groups: chartRuleGroups(join(chartDir, 'dist')) };
}
