/**
 * One section of `npm run bench`: its name, what it needs (real programs, host features, earlier
 * sections' results) and what it adds to the report. bench/run.ts lists the sections; runSections()
 * decides which run, in what order, and which are skipped.
 */
import { Row } from './report';

/** What a section adds to the report. */
export interface SectionReport {
  readonly rows: readonly Row[];
  readonly notes: readonly string[];
}

/** The results of the sections that ran before this one, by section. */
export interface EarlierResults {
  of<R extends SectionReport>(section: BenchSection<R>): R;
}

export interface BenchSection<R extends SectionReport = SectionReport> {
  /** Name for `--only`. */
  readonly name: string;
  /** Name in the progress lines and the report's timings. */
  readonly label: string;
  /** Sections whose results `run` reads: they run first, and are reported only when selected too. */
  readonly needs?: readonly BenchSection<SectionReport>[];
  /** Why it cannot run here (a real program or a host feature is missing), in one line; undefined: it can. */
  readonly unavailable?: () => string | undefined;
  /** The row's section number and measure that report the reason instead, as `skipped: <reason>`. */
  readonly skippedRow?: Pick<Row, 'section' | 'measure'>;
  run(runs: number, earlier: EarlierResults): Promise<R>;
}

export interface SectionsRun {
  /** Rows and notes of the selected sections, in list order. */
  readonly rows: Row[];
  readonly notes: string[];
  /** "<label> <s> s" for every section that ran, selected or needed. */
  readonly durations: string[];
  /** Result of every section that ran, including those that ran only because another needed them. */
  readonly results: Map<BenchSection<SectionReport>, SectionReport>;
  /** The result of `section`; undefined when it did not run. */
  resultOf<R extends SectionReport>(section: BenchSection<R>): R | undefined;
}

/**
 * Runs `sections` (listed so that every section comes after those it needs) that `selected`
 * accepts, and first whatever they need. A selected section that cannot run here reports one
 * `skipped:` row, and what it alone needed does not run.
 */
export async function runSections(sections: readonly BenchSection<SectionReport>[], selected: (s: BenchSection<SectionReport>) => boolean, runs: number): Promise<SectionsRun> {
  const skipped = new Map<BenchSection<SectionReport>, string>();
  for (const s of sections) {
    const reason = selected(s) ? s.unavailable?.() : undefined;
    if (reason !== undefined) skipped.set(s, reason);
  }
  const wanted = new Set<BenchSection<SectionReport>>();
  const want = (s: BenchSection<SectionReport>): void => {
    wanted.add(s);
    for (const n of s.needs ?? []) want(n);
  };
  for (const s of sections) if (selected(s) && !skipped.has(s)) want(s);

  const results = new Map<BenchSection<SectionReport>, SectionReport>();
  const resultOf = <R extends SectionReport>(section: BenchSection<R>) => results.get(section) as R | undefined;
  const run: SectionsRun = { rows: [], notes: [], durations: [], results, resultOf };
  const earlier: EarlierResults = {
    of: (section) => {
      const r = resultOf(section);
      if (!r) throw new Error(`bench section ${section.name} has not run: list it before the sections that need it`);
      return r;
    },
  };
  for (const s of sections) {
    const reason = skipped.get(s);
    if (reason !== undefined) {
      run.rows.push({ ...(s.skippedRow ?? { section: '', measure: s.label }), value: `skipped: ${reason}` });
      continue;
    }
    if (!wanted.has(s)) continue;
    const t0 = Date.now();
    process.stderr.write(`bench: ${s.label}...\n`);
    const result = await s.run(runs, earlier);
    run.durations.push(`${s.label} ${Math.round((Date.now() - t0) / 1000)} s`);
    results.set(s, result);
    if (selected(s)) {
      run.rows.push(...result.rows);
      run.notes.push(...result.notes);
    }
  }
  return run;
}

/** `ts-node bench/<section>.ts`: runs that section alone, BENCH_RUNS times (default 3), and prints its rows and notes. */
export function runSectionAlone(section: BenchSection<SectionReport>): void {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  runSections([...(section.needs ?? []), section], (s) => s === section, runs)
    .then((r) => process.stdout.write(`${JSON.stringify(r.rows, null, 1)}\n\n${r.notes.map((n) => `- ${n}`).join('\n')}\n`))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
