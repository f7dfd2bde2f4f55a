import type * as LezerPromQL from '@prometheus-io/lezer-promql' with { 'resolution-mode': 'import' };

// Loaded on first use: only custom panels are parsed at synth time (generated queries are parsed by
// the tests), so a chart without custom panels does not pay for loading the parser.
let parser: typeof LezerPromQL.parser | undefined;
// The package ships CommonJS too, but its types are declared for ESM only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const promqlParser = () => (parser ??= (require('@prometheus-io/lezer-promql') as typeof LezerPromQL).parser);

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
  promqlParser().parse(text).iterate({
    enter: (node) => {
      if (errorAt === null && node.type.isError) errorAt = node.from;
      return errorAt === null;
    },
  });
  if (errorAt === null) return null;
  const at = errorAt as number;
  return `syntax error at character ${at + 1}: "${text.slice(Math.max(0, at - 10), at + 10)}"`;
}

