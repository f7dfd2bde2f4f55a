/** One line of the results table. */
export interface Row {
  readonly section: string;
  readonly measure: string;
  /** Median figure(s), e.g. "412 ms vs 260 ms". */
  readonly value: string;
  readonly ratio?: string;
  readonly target?: string;
  /** undefined: informational, no target. */
  readonly pass?: boolean;
}

export function table(rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    '| # | measurement (median) | value | ratio | target | result |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.section} | ${esc(r.measure)} | ${esc(r.value)} | ${r.ratio ?? ''} | ${r.target ?? ''} | ${r.pass === undefined ? 'info' : r.pass ? '**pass**' : '**FAIL**'} |`),
  ];
  return lines.join('\n');
}

/** Everything bench/RESULTS.md says besides the rows' own text. */
export interface ResultsReport {
  /** `--only` as given; undefined: every section ran. */
  readonly only?: readonly string[];
  readonly runs: number;
  readonly totalS: number;
  /** "<section> <s> s" per section that ran. */
  readonly durations: readonly string[];
  readonly machine: string;
  readonly rows: readonly Row[];
  readonly notes: readonly string[];
  /** The synth section's fastest way to run the app, when it ran. */
  readonly fastestRunner?: string;
  readonly peakRssMethod: string;
  /** CPU profiles of synthesis ("Where synth time goes"), '' for one not taken. */
  readonly profiles: readonly string[];
}

/** The markdown of bench/RESULTS.md. */
export function resultsMarkdown(r: ResultsReport): string {
  const failed = r.rows.filter((row) => row.pass === false);
  return [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString()} with \`npm run bench${r.only ? ` -- --only ${r.only.join(',')}` : ''}\` (${r.runs} runs per figure, medians; whole bench ${r.totalS} s: ${r.durations.join(', ')}).`,
    '',
    `Machine: ${r.machine}.`,
    '',
    table(r.rows),
    '',
    failed.length === 0 ? 'Every target is met.' : `Targets missed: ${failed.map((row) => `${row.measure} (${row.ratio}, target ${row.target})`).join('; ')}.`,
    '',
    r.fastestRunner ? `Fastest way to run the app: ${r.fastestRunner.replace('chart, ', '')} (cdk8s.yaml's \`app\` uses esbuild + node).` : `Sections run: ${r.only?.join(', ')} (\`--only\`).`,
    '',
    '## How it was measured',
    '',
    ...r.notes.map((n) => `- ${n}`),
    `- Peak RSS of a synth: ${r.peakRssMethod} (largest process of the command). Variants run interleaved after one warm-up run each.`,
    '',
    '## Where synth time goes',
    '',
    ...r.profiles.flatMap((p) => [p, '']),
  ].join('\n');
}
