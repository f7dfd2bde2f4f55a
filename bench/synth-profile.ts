/**
 * Where one synth spends its time: the chart's esbuild bundle run once under `node --cpu-prof`,
 * summarised as inclusive time by chart function and by package, and self time by module or package.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'fs';
import { join, relative } from 'path';
import { measureCommand } from './lib/measure';
import { BenchSection, SectionReport } from './lib/section';
import { CHART_BUNDLE, REPO, synthEnv, WORK } from './lib/synth-env';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Microseconds of samples by key. */
type Tally = Map<string, number>;
interface Attribution { inclusive: Tally; inPackage: Tally; self: Tally; totalUs: number }

const packageOf = (url: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
const inBundle = (url: string) => url.endsWith(CHART_BUNDLE);
const add = (t: Tally, key: string, us: number) => t.set(key, (t.get(key) ?? 0) + us);

/** Runs the bundle once under `node --cpu-prof` (on `config`, or the default chart); the .cpuprofile written, if any. */
async function writeCpuProfile(label: string, config?: string): Promise<string | undefined> {
  const profDir = join(WORK, 'profile', label.replace(/\W+/g, '-'));
  mkdirSync(profDir, { recursive: true });
  for (const f of readdirSync(profDir)) rmSync(join(profDir, f), { force: true });
  // Bundled here too, so the profile never depends on which section built the bundle last.
  execFileSync('node', ['bench/build-app.js', 'main.ts', CHART_BUNDLE], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  await measureCommand(`node --cpu-prof --cpu-prof-dir=${profDir} --cpu-prof-interval=200 ${CHART_BUNDLE}`, {
    cwd: REPO, env: synthEnv(join(WORK, 'synth', 'profile'), config ? { CHAT_MONITORING_CONFIG: config } : {}),
  });
  return readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f))[0];
}

/** The source file of a bundle line: esbuild marks each bundled module with a `// lib/x.ts` comment line. */
function bundleSources(): (line: number) => string {
  const markers: [number, string][] = [];
  readFileSync(join(REPO, CHART_BUNDLE), 'utf8').split('\n').forEach((line, i) => {
    const m = /^\/\/ ((?:lib|imports)\/\S+\.ts|main\.ts)$/.exec(line);
    if (m) markers.push([i, m[1]]);
  });
  return (line) => [...markers].reverse().find(([l]) => l <= line)?.[1] ?? 'main.ts';
}

/** Each sample's time to its leaf's area (self) and, once per sample, to every chart function and package on its stack. */
function attribute(prof: CpuProfile, sourceOf: (line: number) => string): Attribution {
  const area = (n: ProfileNode) => {
    const url = n.callFrame.url;
    if (inBundle(url)) return sourceOf(n.callFrame.lineNumber);
    const pkg = packageOf(url);
    if (pkg) return pkg;
    if (url.startsWith('node:')) return 'node internals (module loading, fs)';
    return n.callFrame.functionName || '(native)';
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const a: Attribution = { inclusive: new Map(), inPackage: new Map(), self: new Map(), totalUs: 0 };
  prof.samples.forEach((id, i) => {
    const w = prof.timeDeltas[i] ?? 0;
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName === '(idle)') return;
    a.totalUs += w;
    add(a.self, area(leaf), w);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      const pkg = packageOf(n.callFrame.url);
      if (pkg && !seen.has(pkg)) {
        seen.add(pkg);
        add(a.inPackage, pkg, w);
      }
      if (!inBundle(n.callFrame.url) || !n.callFrame.functionName) continue;
      const key = `${n.callFrame.functionName} (${sourceOf(n.callFrame.lineNumber)})`;
      if (seen.has(key)) continue;
      seen.add(key);
      add(a.inclusive, key, w);
    }
  });
  return a;
}

function describeProfile(label: string, file: string, a: Attribution): string {
  const pct = (us: number) => `${Math.round(us / 1000)} ms (${Math.round((100 * us) / a.totalUs)} %)`;
  const top = (t: Tally, k: number) => [...t.entries()].sort((x, y) => y[1] - x[1]).slice(0, k).map(([key, us]) => `- ${key}: ${pct(us)}`);
  return [
    `CPU profile of one synth, ${label} (\`node --cpu-prof\`, ${Math.round(a.totalUs / 1000)} ms sampled, file ${relative(REPO, file)}):`,
    '',
    'Inclusive time by chart function:',
    '',
    ...top(a.inclusive, 10),
    '',
    'Inclusive time by package (loading it and running in it):',
    '',
    ...top(a.inPackage, 6),
    '',
    'Self time by module or package:',
    '',
    ...top(a.self, 8),
  ].join('\n');
}

/**
 * Synthesizes once under `node --cpu-prof` (the bundle of the esbuild path, `config` or the default
 * chart) and says where the time goes: inclusive time by chart function, self time by module or package.
 */
export async function profileSynth(label: string, config?: string): Promise<string> {
  const file = await writeCpuProfile(label, config);
  if (!file) return 'no profile written';
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  return describeProfile(label, file, attribute(prof, bundleSources()));
}

export interface ProfileResults extends SectionReport {
  /** The report's "Where synth time goes" text. */
  readonly profile: string;
}

export const profileSection: BenchSection<ProfileResults> = {
  name: 'profile',
  label: 'profile',
  run: async () => ({ rows: [], notes: [], profile: await profileSynth('the default chart (3 services)') }),
};
