/**
 * Sections 1 and 2: synth wall time and peak RSS of the chart against a hello-world chart, the ways
 * to run the TypeScript app, and scaling with the number of chat services (+ a CPU profile).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join, relative } from 'path';
import { CHART_CONFIG } from '../lib/chart-config';
import { compareVariants, mb, measureCommand, ms, ratio, Variant, VariantStats } from './lib/measure';
import { Row } from './lib/report';

export const REPO = join(__dirname, '..');
/** Gitignored scratch space inside the repo (bundles must resolve node_modules from here). */
export const WORK = join(REPO, 'bench', '.work');

const BIN = (name: string) => `node_modules/.bin/${name}`;
/** What cdk8s.yaml's `app` runs (esbuild bundle, then node), with the bundle written under bench/.work. */
const esbuildApp = (entry: string, bundle: string) => `node bench/build-app.js ${entry} ${bundle} && node ${bundle}`;
const CHART_APP = esbuildApp('main.ts', 'bench/.work/chart/main.js');
const HELLO_APP = esbuildApp('bench/hello/main.ts', 'bench/.work/hello/main.js');

function env(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env };
  delete e.CHAT_MONITORING_CONFIG;
  return {
    ...e,
    CDK8S_CHECK_UPGRADE: 'false',
    CHAT_MONITORING_DIST: join(dir, 'dist'),
    CHAT_MONITORING_DASHBOARDS: join(dir, 'dashboards'),
    CDK8S_OUTDIR: join(dir, 'out'),
    ...extra,
  };
}

function scratch(name: string): string {
  const dir = join(WORK, 'synth', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface SynthResults {
  readonly rows: Row[];
  readonly fastestRunner: string;
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
    { name: 'chart, esbuild + node', command: CHART_APP, opts: { cwd: REPO, env: env(dirs.chart) } },
    { name: 'hello, esbuild + node', command: HELLO_APP, opts: { cwd: REPO, env: env(dirs.hello) } },
    { name: 'chart, ts-node --transpile-only', command: `${BIN('ts-node')} --transpile-only main.ts`, opts: { cwd: REPO, env: env(dirs.tsT) } },
    { name: 'chart, ts-node (type-checks)', command: `${BIN('ts-node')} main.ts`, opts: { cwd: REPO, env: env(dirs.ts) } },
    { name: 'chart, cdk8s synth CLI', command: cli(CHART_APP, dirs.chartCli), opts: { cwd: REPO, env: env(dirs.chartCli) } },
    { name: 'hello, cdk8s synth CLI', command: cli(HELLO_APP, dirs.helloCli), opts: { cwd: REPO, env: env(dirs.helloCli) } },
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
  return { rows, fastestRunner: fastest.name, runners, notes };
}

/** A config of `n` legacy push services chat-svc-001..., otherwise the shape and options of lib/chart-config.ts. */
export function serviceConfig(n: number): object {
  const services = Array.from({ length: n }, (_, i) => {
    const name = `chat-svc-${String(i + 1).padStart(3, '0')}`;
    return { name, namespace: 'chat', selector: { 'app.kubernetes.io/name': name }, exportMode: 'push', convention: 'legacy' };
  });
  return { ...CHART_CONFIG, services };
}

export interface ScalingResults {
  readonly rows: Row[];
  readonly notes: string[];
  /** Output of the 30-service synth (dist/, dashboards/), reused by the freshness benchmark. */
  readonly dir30: string;
  readonly profile: string;
  readonly pass: boolean;
}

export async function benchScaling(runs: number): Promise<ScalingResults> {
  const sizes = [3, 30, 300];
  const variants: Variant[] = sizes.map((n) => {
    const dir = scratch(`services-${n}`);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(serviceConfig(n), null, 2));
    return { name: `${n} services`, command: CHART_APP, opts: { cwd: REPO, env: env(dir, { CHAT_MONITORING_CONFIG: config }) } };
  });
  const stats = await compareVariants(variants, runs);
  for (const n of sizes) {
    const dashboards = readdirSync(join(WORK, 'synth', `services-${n}`, 'dashboards')).length;
    if (dashboards !== n + 1) throw new Error(`${n} services: expected ${n + 1} dashboards, got ${dashboards}`);
  }
  const [s3, s30, s300] = stats;
  const r = s300.wallMs / s3.wallMs;
  const perService = (s300.wallMs - s3.wallMs) / 297;
  const rows: Row[] = [
    { section: '2', measure: 'synth wall time, 3 / 30 / 300 services (esbuild + node)', value: `${ms(s3.wallMs)} / ${ms(s30.wallMs)} / ${ms(s300.wallMs)}`, ratio: `${ratio(s30.wallMs / s3.wallMs)} / ${ratio(r)}`, target: '300 < 3x of 3', pass: r < 3 },
    { section: '2', measure: 'synth peak RSS, 3 / 30 / 300 services', value: `${mb(s3.peakRssKb)} / ${mb(s30.peakRssKb)} / ${mb(s300.peakRssKb)}`, ratio: ratio(s300.peakRssKb / s3.peakRssKb) },
    { section: '2', measure: 'marginal synth cost per chat service (300 vs 3)', value: ms(perService) },
  ];
  const profile = await profileSynth('300 services', join(WORK, 'synth', 'services-300', 'config.json'));
  return {
    rows,
    notes: [`Scaling configs: lib/chart-config.ts's options with n legacy push services chat-svc-001..; times include the esbuild step (~0.1 s).`],
    dir30: join(WORK, 'synth', 'services-30'),
    profile,
    pass: r < 3,
  };
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/**
 * Synthesizes once under `node --cpu-prof` (the bundle of the esbuild path, `config` or the default
 * chart) and says where the time goes: inclusive time by chart function, self time by module or package.
 */
export async function profileSynth(label: string, config?: string): Promise<string> {
  const profDir = join(WORK, 'profile', label.replace(/\W+/g, '-'));
  mkdirSync(profDir, { recursive: true });
  for (const f of readdirSync(profDir)) rmSync(join(profDir, f), { force: true });
  await measureCommand(`node --cpu-prof --cpu-prof-dir=${profDir} --cpu-prof-interval=200 bench/.work/chart/main.js`, {
    cwd: REPO, env: env(join(WORK, 'synth', 'profile'), config ? { CHAT_MONITORING_CONFIG: config } : {}),
  });
  const file = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f))[0];
  if (!file) return 'no profile written';
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

  // esbuild marks each bundled module with a `// lib/x.ts` comment line: map bundle lines to sources.
  const bundlePath = join(WORK, 'chart', 'main.js');
  const markers: [number, string][] = [];
  readFileSync(bundlePath, 'utf8').split('\n').forEach((line, i) => {
    const m = /^\/\/ ((?:lib|imports)\/\S+\.ts|main\.ts)$/.exec(line);
    if (m) markers.push([i, m[1]]);
  });
  const sourceOf = (line: number) => [...markers].reverse().find(([l]) => l <= line)?.[1] ?? 'main.ts';
  const area = (n: ProfileNode) => {
    const url = n.callFrame.url;
    if (url.endsWith('bench/.work/chart/main.js')) return sourceOf(n.callFrame.lineNumber);
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (pkg) return pkg[1];
    if (url.startsWith('node:')) return 'node internals (module loading, fs)';
    return n.callFrame.functionName || '(native)';
  };

  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  const inPackage = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const w = prof.timeDeltas[i] ?? 0;
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName === '(idle)') return;
    total += w;
    self.set(area(leaf), (self.get(area(leaf)) ?? 0) + w);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(n.callFrame.url)?.[1];
      if (pkg && !seen.has(pkg)) {
        seen.add(pkg);
        inPackage.set(pkg, (inPackage.get(pkg) ?? 0) + w);
      }
      if (!n.callFrame.url.endsWith('bench/.work/chart/main.js') || !n.callFrame.functionName) continue;
      const key = `${n.callFrame.functionName} (${sourceOf(n.callFrame.lineNumber)})`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + w);
    }
  });
  const pct = (us: number) => `${Math.round(us / 1000)} ms (${Math.round((100 * us) / total)} %)`;
  const top = (m: Map<string, number>, k: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
  return [
    `CPU profile of one synth, ${label} (\`node --cpu-prof\`, ${Math.round(total / 1000)} ms sampled, file ${relative(REPO, file)}):`,
    '',
    'Inclusive time by chart function:',
    '',
    ...top(inclusive, 10).map(([k, v]) => `- ${k}: ${pct(v)}`),
    '',
    'Inclusive time by package (loading it and running in it):',
    '',
    ...top(inPackage, 6).map(([k, v]) => `- ${k}: ${pct(v)}`),
    '',
    'Self time by module or package:',
    '',
    ...top(self, 8).map(([k, v]) => `- ${k}: ${pct(v)}`),
  ].join('\n');
}
