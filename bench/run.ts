/**
 * `npm run bench`: synth speed and memory, scaling with the number of chat services, dashboard
 * query cost on a real Prometheus, whole dashboards at 100k series over 6 h (dashboard-load.ts), metric freshness, cardinality, the real collector's throughput,
 * memory and overload (collector-throughput.ts, collector-overload.ts), the collector under pod
 * churn (collector-churn.ts), rule evaluation at 10 / 100 /
 * 1,000 pods (rule-eval.ts), dashboards through Thanos Query and a 30-day dashboard from downsampled blocks (thanos.ts). `--only <section>[,...]` runs some sections alone. Prints a markdown table and writes the report
 * to bench/.work/RESULTS.md; `npm run bench -- --write` also records it in the tracked
 * bench/RESULTS.md, so an ordinary run leaves the tree clean. Every figure is the median of
 * BENCH_RUNS runs (default 5); every ratio compares figures measured in the same run. Scratch files live in bench/.work/ (gitignored); the repo's
 * dist/, dashboards/ and .build/ are not touched.
 *
 * Sections 3 to 9 need the real programs from `npm run binaries` (Prometheus and promtool, the
 * collector, the chat service's virtualenv, the API server; dashboard load also Go for its TSDB
 * writer); without them those sections are skipped and say so, one row each.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { cardinalitySection } from './cardinality';
import { churnSection } from './collector-churn';
import { overloadSection } from './collector-overload';
import { throughputSection } from './collector-throughput';
import { dashboardLoadSection } from './dashboard-load';
import { freshnessSection } from './freshness';
import { BenchArgs, BENCH_SECTIONS, BENCH_USAGE, parseBenchArgs, selects } from './lib/args';
import { describeMachine, machine, peakRssMethod } from './lib/measure';
import { resultsMarkdown, table } from './lib/report';
import { BenchSection, runSections, SectionReport } from './lib/section';
import { REPO, WORK } from './lib/synth-env';
import { queryCostSection } from './query-cost';
import { ruleEvalSection } from './rule-eval';
import { scalingSection } from './scaling';
import { synthSection } from './synth';
import { thanosSection } from './thanos';
import { profileSection } from './synth-profile';

/** In report order; a section after those it needs. */
const SECTIONS: readonly BenchSection<SectionReport>[] = [
  synthSection,
  scalingSection,
  profileSection,
  queryCostSection,
  dashboardLoadSection,
  freshnessSection,
  cardinalitySection,
  throughputSection,
  overloadSection,
  churnSection,
  ruleEvalSection,
  thanosSection,
];

async function main(args: BenchArgs) {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const started = Date.now();
  const machineLine = describeMachine(machine());
  mkdirSync(WORK, { recursive: true });
  const selected = (s: BenchSection<SectionReport>) => selects(args.only, s.name);
  const ran = await runSections(SECTIONS, selected, runs);
  const totalS = Math.round((Date.now() - started) / 1000);
  const text = resultsMarkdown({
    only: args.only, runs, totalS, durations: ran.durations, machine: machineLine, rows: ran.rows, notes: ran.notes, peakRssMethod,
    fastestRunner: ran.resultOf(synthSection)?.fastestRunner,
    profiles: [ran.resultOf(profileSection)?.profile ?? '', (selected(scalingSection) && ran.resultOf(scalingSection)?.profile) || ''],
  });
  writeFileSync(join(WORK, 'RESULTS.md'), text);
  if (args.write) writeFileSync(join(REPO, 'bench', 'RESULTS.md'), text);
  const where = args.write ? 'Wrote bench/RESULTS.md' : 'Report in bench/.work/RESULTS.md (`npm run bench -- --write` records it in bench/RESULTS.md)';
  process.stdout.write(`${table(ran.rows)}\n\nMachine: ${machineLine}\nWhole bench: ${totalS} s. ${where}\n`);
}

let args: BenchArgs;
try {
  if (SECTIONS.map((s) => s.name).join() !== BENCH_SECTIONS.join()) throw new Error(`bench/lib/args.ts's BENCH_SECTIONS do not name bench/run.ts's sections (${SECTIONS.map((s) => s.name).join(', ')})`);
  args = parseBenchArgs(process.argv.slice(2));
} catch (e) {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
}
if (args.help) process.stdout.write(`${BENCH_USAGE}\n`);
else {
  main(args).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
