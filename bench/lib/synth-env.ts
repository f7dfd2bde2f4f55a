/** Where and how the bench runs a synth: the repo, its scratch space, the app commands and their environment. */
import { mkdirSync } from 'fs';
import { join } from 'path';

export const REPO = join(__dirname, '..', '..');
/** Gitignored scratch space inside the repo (bundles must resolve node_modules from here). */
export const WORK = join(REPO, 'bench', '.work');

export const BIN = (name: string) => `node_modules/.bin/${name}`;
/** What cdk8s.yaml's `app` runs (esbuild bundle, then node), with the bundle written under bench/.work. */
const esbuildApp = (entry: string, bundle: string) => `node bench/build-app.js ${entry} ${bundle} && node ${bundle}`;
/** The chart's bundle, relative to the repo: what CHART_APP runs and the CPU profile profiles. */
export const CHART_BUNDLE = 'bench/.work/chart/main.js';
export const CHART_APP = esbuildApp('main.ts', CHART_BUNDLE);
export const HELLO_APP = esbuildApp('bench/hello/main.ts', 'bench/.work/hello/main.js');

/** The environment of a synth writing into `dir` (never the repo's dist/ and .build/), on the default config unless `extra` names one. */
export function synthEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
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

/** bench/.work/synth/<name>, created: where one synth variant writes. */
export function scratch(name: string): string {
  const dir = join(WORK, 'synth', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
