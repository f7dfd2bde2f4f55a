/**
 * `npm run bench`: synth speed and memory, scaling with the number of chat services, dashboard
 * query cost on a real Prometheus, metric freshness. Prints a markdown table and writes the report
 * to bench/.work/RESULTS.md; `npm run bench -- --write` also records it in the tracked
 * bench/RESULTS.md, so an ordinary run leaves the tree clean. Every figure is the median of
 * BENCH_RUNS runs (default 5); every ratio compares figures measured in the same run. Scratch files live in bench/.work/ (gitignored); the repo's
 * dist/, dashboards/ and .build/ are not touched.
 *
 * Needs prometheus and promtool on PATH for sections 3 and 4 (`apt-get install -y prometheus`);
 * without them those sections are skipped and say so.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { binariesUnavailable } from '../test/support/binaries';
import { PROMETHEUS_BINARIES } from '../test/support/prometheus';
import { benchCardinality } from './cardinality';
import { benchFreshness } from './freshness';
import { BenchArgs, BENCH_USAGE, parseBenchArgs } from './lib/args';
import { machine, peakRssMethod } from './lib/measure';
import { Row, table } from './lib/report';
import { benchQueryCost } from './query-cost';
import { benchScaling, benchSynth, profileSynth, REPO, WORK } from './synth';

async function main(args: BenchArgs) {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const started = Date.now();
  const m = machine();
  mkdirSync(WORK, { recursive: true });
  const rows: Row[] = [];
  const notes: string[] = [];
  const durations: string[] = [];
  const section = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    process.stderr.write(`bench: ${name}...\n`);
    const r = await f();
    durations.push(`${name} ${Math.round((Date.now() - t0) / 1000)} s`);
    return r;
  };

  const synth = await section('synth', () => benchSynth(runs));
  rows.push(...synth.rows);
  notes.push(...synth.notes);
  const scaling = await section('scaling', () => benchScaling(runs));
  rows.push(...scaling.rows);
  notes.push(...scaling.notes);
  const chartProfile = await section('profile', () => profileSynth('the default chart (3 services)'));

  const unavailable = binariesUnavailable(PROMETHEUS_BINARIES);
  if (unavailable) {
    rows.push({ section: '3, 4', measure: 'query cost and freshness', value: `skipped: ${unavailable}` });
  } else {
    const cost = await section('query cost', () => benchQueryCost(join(WORK, 'synth', 'chart'), join(WORK, 'query-cost'), runs));
    rows.push(...cost.rows);
    notes.push(...cost.notes);
    const fresh = await section('freshness', () => benchFreshness(scaling.dir30, Math.max(runs, 5)));
    rows.push(...fresh.rows);
    notes.push(...fresh.notes);
  }

  // Needs the built collector and the chat service's virtualenv (npm run binaries); says so otherwise.
  const cardinality = await section('cardinality', () => benchCardinality());
  rows.push(...cardinality.rows);
  notes.push(...cardinality.notes);

  const total = Math.round((Date.now() - started) / 1000);
  const failed = rows.filter((r) => r.pass === false);
  const machineLine = `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; Node ${m.node}; ${m.prometheus}; promtool ${m.promtool.replace(/^promtool, /, '')}`;
  const text = [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString()} with \`npm run bench\` (${runs} runs per figure, medians; whole bench ${total} s: ${durations.join(', ')}).`,
    '',
    `Machine: ${machineLine}.`,
    '',
    table(rows),
    '',
    failed.length === 0 ? 'Every target is met.' : `Targets missed: ${failed.map((r) => `${r.measure} (${r.ratio}, target ${r.target})`).join('; ')}.`,
    '',
    `Fastest way to run the app: ${synth.fastestRunner.replace('chart, ', '')} (cdk8s.yaml's \`app\` uses esbuild + node).`,
    '',
    '## How it was measured',
    '',
    ...notes.map((n) => `- ${n}`),
    `- Peak RSS of a synth: ${peakRssMethod} (largest process of the command). Variants run interleaved after one warm-up run each.`,
    '',
    '## Where synth time goes',
    '',
    chartProfile,
    '',
    scaling.profile,
    '',
  ].join('\n');
  writeFileSync(join(WORK, 'RESULTS.md'), text);
  if (args.write) writeFileSync(join(REPO, 'bench', 'RESULTS.md'), text);
  const where = args.write ? 'Wrote bench/RESULTS.md' : 'Report in bench/.work/RESULTS.md (`npm run bench -- --write` records it in bench/RESULTS.md)';
  process.stdout.write(`${table(rows)}\n\nMachine: ${machineLine}\nWhole bench: ${total} s. ${where}\n`);
}

let args: BenchArgs;
try {
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
