/**
 * Section 1: synth wall time and peak RSS of the chart against a hello-world chart, and the ways
 * to run the TypeScript app.
 */
import { readdirSync } from 'fs';
import { join } from 'path';
import { compareVariants, mb, ms, ratio, Variant, VariantStats } from './lib/measure';
import { Row } from './lib/report';
import { BenchSection } from './lib/section';
import { BIN, CHART_APP, HELLO_APP, REPO, scratch, synthEnv } from './lib/synth-env';

export interface SynthResults {
  readonly rows: Row[];
  readonly fastestRunner: string;
  /** Output of the chart's esbuild synth (dist/, dashboards/), read by query cost and dashboard load. */
  readonly chartDir: string;
  readonly runners: VariantStats[];
  readonly notes: string[];
}

export async function benchSynth(runs: number): Promise<SynthResults> {
  const cli = (app: string, dir: string) => `${BIN('cdk8s')} synth --app '${app}' -o ${join(dir, 'cli-out')} > /dev/null`;
  const dirs = {
    chart: scratch('chart'), hello: scratch('hello'), tsT: scratch('ts-node-transpile'), ts: scratch('ts-node'),
    chartCli: scratch('chart-cli'), helloCli: scratch('hello-cli'),
  };
  const variants: Variant[] = [
    { name: 'chart, esbuild + node', command: CHART_APP, opts: { cwd: REPO, env: synthEnv(dirs.chart) } },
    { name: 'hello, esbuild + node', command: HELLO_APP, opts: { cwd: REPO, env: synthEnv(dirs.hello) } },
    { name: 'chart, ts-node --transpile-only', command: `${BIN('ts-node')} --transpile-only main.ts`, opts: { cwd: REPO, env: synthEnv(dirs.tsT) } },
    { name: 'chart, ts-node (type-checks)', command: `${BIN('ts-node')} main.ts`, opts: { cwd: REPO, env: synthEnv(dirs.ts) } },
    { name: 'chart, cdk8s synth CLI', command: cli(CHART_APP, dirs.chartCli), opts: { cwd: REPO, env: synthEnv(dirs.chartCli) } },
    { name: 'hello, cdk8s synth CLI', command: cli(HELLO_APP, dirs.helloCli), opts: { cwd: REPO, env: synthEnv(dirs.helloCli) } },
  ];
  const [chart, hello, tsT, ts, chartCli, helloCli] = await compareVariants(variants, runs);
  // The chart really was synthesized: every run wrote the full set.
  const files = readdirSync(join(dirs.chart, 'dist'));
  if (files.length < 8) throw new Error(`chart synth wrote only ${files.join(', ')}`);

  const rows: Row[] = [];
  const wallRatio = chart.wallMs / hello.wallMs;
  const rssRatio = chart.peakRssKb / hello.peakRssKb;
  rows.push({ section: '1', measure: 'synth wall time, chart vs hello-world (esbuild bundle + node, as cdk8s.yaml `app`)', value: `${ms(chart.wallMs)} vs ${ms(hello.wallMs)}`, ratio: ratio(wallRatio), target: '≤ 1.5x', pass: wallRatio <= 1.5 });
  rows.push({ section: '1', measure: 'synth peak RSS, chart vs hello-world', value: `${mb(chart.peakRssKb)} vs ${mb(hello.peakRssKb)}`, ratio: ratio(rssRatio), target: '≤ 1.5x', pass: rssRatio <= 1.5 });
  const cliRatio = chartCli.wallMs / helloCli.wallMs;
  rows.push({ section: '1', measure: 'whole `cdk8s synth` CLI wall time, chart vs hello-world', value: `${ms(chartCli.wallMs)} vs ${ms(helloCli.wallMs)}`, ratio: ratio(cliRatio), target: '≤ 1.5x', pass: cliRatio <= 1.5 });
  const runners = [chart, tsT, ts];
  const fastest = [...runners].sort((a, b) => a.wallMs - b.wallMs)[0];
  for (const r of runners) {
    rows.push({
      section: '1',
      measure: `chart synth via ${r.name.replace('chart, ', '')}${r === fastest ? ' (fastest)' : ''}`,
      value: `${ms(r.wallMs)}, ${mb(r.peakRssKb)}`,
      ratio: r === chart ? '1x' : `${ratio(r.wallMs / chart.wallMs)} of esbuild`,
    });
  }
  const notes = [
    `Synth commands run from the repo root with CHAT_MONITORING_DIST/DASHBOARDS and CDK8S_OUTDIR in bench/.work (the repo's dist/ and .build/ are untouched): ` +
      `esbuild path \`${CHART_APP}\` (bench/build-app.js has the options of scripts/build-app.js), hello \`${HELLO_APP}\`; ` +
      `the CLI rows run \`cdk8s synth --app '<same command>' -o <tmp>\`.`,
  ];
  return { rows, fastestRunner: fastest.name, chartDir: dirs.chart, runners, notes };
}

export const synthSection: BenchSection<SynthResults> = {
  name: 'synth',
  label: 'synth',
  run: (runs) => benchSynth(runs),
};
