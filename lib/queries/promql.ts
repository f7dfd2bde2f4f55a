import type * as LezerPromQL from '@prometheus-io/lezer-promql' with { 'resolution-mode': 'import' };

// The package ships CommonJS too, but its types are declared for ESM only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parser }: typeof LezerPromQL = require('@prometheus-io/lezer-promql');

/**
 * Grafana rewrites these before the query reaches Prometheus; give the parser a valid stand-in.
 * Range variables become a duration, anything else (`$service`, `${datasource}`) a label-safe word.
 */
function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, '1m')
    .replace(/\$\{[A-Za-z0-9_:]+\}|\$[A-Za-z_][A-Za-z0-9_]*/g, 'grafana_variable');
}

/** Returns null when `expr` is valid PromQL (Grafana variables allowed), else where it breaks. */
export function parsePromQL(expr: string): string | null {
  const text = substituteGrafanaVariables(expr);
  let errorAt: number | null = null;
  parser.parse(text).iterate({
    enter: (node) => {
      if (errorAt === null && node.type.isError) errorAt = node.from;
      return errorAt === null;
    },
  });
  if (errorAt === null) return null;
  const at = errorAt as number;
  return `syntax error at character ${at + 1}: "${text.slice(Math.max(0, at - 10), at + 10)}"`;
}

/** Throws when `expr` is not valid PromQL; for expressions the chart generates itself. */
export function assertPromQL(expr: string, where: string): string {
  const error = parsePromQL(expr);
  if (error) throw new Error(`generated invalid PromQL in ${where}: ${error}\n${expr}`);
  return expr;
}
