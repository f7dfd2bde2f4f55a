/** Flags of `npm run bench`: the tracked bench/RESULTS.md is rewritten only when asked. */
export interface BenchArgs {
  /** Also write the report to bench/RESULTS.md (it always goes to bench/.work/RESULTS.md). */
  readonly write: boolean;
  readonly help: boolean;
  /** Run only these sections (names in BENCH_SECTIONS or SECTION_GROUPS), as given; empty: all. */
  readonly only?: readonly string[];
}

/** The names of bench/run.ts's sections, in its order (it checks they match). */
export const BENCH_SECTIONS = ['synth', 'scaling', 'profile', 'query-cost', 'dashboards', 'freshness', 'cardinality', 'throughput', 'overload', 'churn', 'rules', 'thanos'] as const;
/** Names `--only` also takes for several sections: `collector` was one section before throughput and overload were two. */
export const SECTION_GROUPS: Readonly<Record<string, readonly string[]>> = { collector: ['throughput', 'overload'] };

/** Whether `--only` (undefined: every section) selects the section named `name`. */
export function selects(only: readonly string[] | undefined, name: string): boolean {
  return !only || only.some((o) => o === name || (SECTION_GROUPS[o] ?? []).includes(name));
}

export const BENCH_USAGE = `usage: npm run bench -- [--write] [--only <section>[,<section>...]]
  --write   also record the report in bench/RESULTS.md (tracked; by default it goes only to bench/.work/RESULTS.md)
  --only    run only these sections: ${BENCH_SECTIONS.join(', ')} (collector: throughput and overload; query-cost, dashboards and freshness run the synths they read); a partial run never writes bench/RESULTS.md`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let write = false;
  let help = false;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--write') write = true;
    else if (a === '--help' || a === '-h') help = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const value = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!value) throw new Error(`--only needs a section\n${BENCH_USAGE}`);
      for (const s of value.split(',')) {
        if (!(BENCH_SECTIONS as readonly string[]).includes(s) && !SECTION_GROUPS[s]) throw new Error(`unknown section ${s}\n${BENCH_USAGE}`);
        only.push(s);
      }
    } else throw new Error(`unknown argument ${a}\n${BENCH_USAGE}`);
  }
  if (write && only.length) throw new Error(`--write records a full run only; --only writes bench/.work/RESULTS.md\n${BENCH_USAGE}`);
  return { write, help, ...(only.length ? { only } : {}) };
}
