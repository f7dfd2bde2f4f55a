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
