/**
 * `npm run bench`: synth speed and memory, scaling with the number of chat services, dashboard
 * query cost on a real Prometheus, whole dashboards at 100k series over 6 h (dashboard-load.ts), metric freshness, cardinality, the real collector's throughput,
 * memory and overload (collector-throughput.ts, collector-overload.ts), the collector under pod
 * churn (collector-churn.ts), rule evaluation at 10 / 100 /
 * 1,000 pods (rule-eval.ts). `--only <section>[,...]` runs some sections alone. Prints a markdown table and writes the report
 * to bench/.work/RESULTS.md; `npm run bench -- --write` also records it in the tracked
 * bench/RESULTS.md, so an ordinary run leaves the tree clean. Every figure is the median of
 * BENCH_RUNS runs (default 5); every ratio compares figures measured in the same run. Scratch files live in bench/.work/ (gitignored); the repo's
 * dist/, dashboards/ and .build/ are not touched.
 *
 * Sections 3 to 8 need the real programs from `npm run binaries` (Prometheus and promtool, the
 * collector, the chat service's virtualenv; section 5 also Go for its TSDB writer); without them
 * those sections are skipped and say so.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { binariesUnavailable } from '../test/support/binaries';
import { PROMETHEUS_BINARIES } from '../test/support/prometheus';
import { benchCardinality } from './cardinality';
import { benchCollectorChurn } from './collector-churn';
import { benchCollectorOverload } from './collector-overload';
import { benchCollectorThroughput } from './collector-throughput';
import { benchDashboardLoad } from './dashboard-load';
import { benchFreshness } from './freshness';
import { BenchArgs, BENCH_USAGE, parseBenchArgs } from './lib/args';
import { machine, peakRssMethod } from './lib/measure';
import { Row, table } from './lib/report';
import { benchQueryCost } from './query-cost';
import { benchRuleEval } from './rule-eval';
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

  const want = (name: string) => !args.only || args.only.includes(name);
  let fastestRunner: string | undefined;
  let chartProfile = '';
  let scalingProfile = '';
  let dir30: string | undefined;
  if (want('synth') || want('query-cost') || want('dashboards')) {
    const synth = await section('synth', () => benchSynth(runs));
    if (want('synth')) {
      rows.push(...synth.rows);
      notes.push(...synth.notes);
    }
    fastestRunner = synth.fastestRunner;
  }
  if (want('scaling') || want('freshness')) {
    const scaling = await section('scaling', () => benchScaling(runs));
    if (want('scaling')) {
      rows.push(...scaling.rows);
      notes.push(...scaling.notes);
      scalingProfile = scaling.profile;
    }
    dir30 = scaling.dir30;
  }
  if (want('profile')) chartProfile = await section('profile', () => profileSynth('the default chart (3 services)'));

  const unavailable = binariesUnavailable(PROMETHEUS_BINARIES);
  if (want('query-cost') || want('freshness')) {
    if (unavailable) {
      rows.push({ section: '3, 4', measure: 'query cost and freshness', value: `skipped: ${unavailable}` });
    } else {
      if (want('query-cost')) {
        const cost = await section('query cost', () => benchQueryCost(join(WORK, 'synth', 'chart'), join(WORK, 'query-cost'), runs));
        rows.push(...cost.rows);
        notes.push(...cost.notes);
      }
      // Every service dashboard at 100,000+ series over 6 h (a few minutes, most of it the raw variant).
      if (want('dashboards')) {
        const load = await section('dashboard load', () => benchDashboardLoad(join(WORK, 'synth', 'chart'), join(WORK, 'dashboard-load'), Math.min(runs, 5)));
        rows.push(...load.rows);
        notes.push(...load.notes);
      }
      if (want('freshness') && dir30) {
        const d = dir30;
        const fresh = await section('freshness', () => benchFreshness(d, Math.max(runs, 5)));
        rows.push(...fresh.rows);
        notes.push(...fresh.notes);
      }
    }
  }

  // Needs the built collector and the chat service's virtualenv (npm run binaries); says so otherwise.
  if (want('cardinality')) {
    const cardinality = await section('cardinality', () => benchCardinality());
    rows.push(...cardinality.rows);
    notes.push(...cardinality.notes);
  }

  // Needs the built collector; at most 3 runs (each is a collector under load for ~40 s).
  if (want('collector')) {
    const collector = await section('collector', () => benchCollectorThroughput(Math.min(runs, 3)));
    rows.push(...collector.rows);
    notes.push(...collector.notes);
    const overload = await section('collector overload', () => benchCollectorOverload());
    rows.push(...overload.rows);
    notes.push(...overload.notes);
  }

  // Pods replaced on a real API server, 1,000 of them (a few minutes); needs network namespaces (root).
  if (want('churn')) {
    const churn = await section('collector churn', () => benchCollectorChurn());
    rows.push(...churn.rows);
    notes.push(...churn.notes);
  }
  // Prometheus scraping 10 / 100 / 1,000 pods' histograms with the chart's rules (about 4 minutes).
  if (want('rules')) {
    const rules = await section('rules', () => benchRuleEval());
    rows.push(...rules.rows);
    notes.push(...rules.notes);
  }

  const total = Math.round((Date.now() - started) / 1000);
  const failed = rows.filter((r) => r.pass === false);
  const machineLine = `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; Node ${m.node}; ${m.prometheus}; promtool ${m.promtool.replace(/^promtool, /, '')}`;
  const text = [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString()} with \`npm run bench${args.only ? ` -- --only ${args.only.join(',')}` : ''}\` (${runs} runs per figure, medians; whole bench ${total} s: ${durations.join(', ')}).`,
    '',
    `Machine: ${machineLine}.`,
    '',
    table(rows),
    '',
    failed.length === 0 ? 'Every target is met.' : `Targets missed: ${failed.map((r) => `${r.measure} (${r.ratio}, target ${r.target})`).join('; ')}.`,
    '',
    fastestRunner ? `Fastest way to run the app: ${fastestRunner.replace('chart, ', '')} (cdk8s.yaml's \`app\` uses esbuild + node).` : `Sections run: ${args.only?.join(', ')} (\`--only\`).`,
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
    scalingProfile,
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
