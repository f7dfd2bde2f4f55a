/** Flags of `npm run bench`: the tracked bench/RESULTS.md is rewritten only when asked. */
export interface BenchArgs {
  /** Also write the report to bench/RESULTS.md (it always goes to bench/.work/RESULTS.md). */
  readonly write: boolean;
  readonly help: boolean;
}

export const BENCH_USAGE = `usage: npm run bench -- [--write]
  --write   also record the report in bench/RESULTS.md (tracked; by default it goes only to bench/.work/RESULTS.md)`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let write = false;
  let help = false;
  for (const a of argv) {
    if (a === '--write') write = true;
    else if (a === '--help' || a === '-h') help = true;
    else throw new Error(`unknown argument ${a}\n${BENCH_USAGE}`);
  }
  return { write, help };
}
