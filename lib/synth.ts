/**
 * Synthesis that never leaves a half-written dist/: the app is synthesized into a staging
 * directory beside it, which replaces dist/ only once every manifest has been written.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { basename, dirname, join, resolve } from 'path';
import { App, YamlOutputType } from 'cdk8s';
import { yaml11Safe } from './yaml-compat';
import { buildCharts } from './charts/monitoring-charts';
import { ChartConfig, ChartConfigInput, validateConfig } from './config';
import { dashboardFileText, GeneratedDashboard } from './dashboards';

/** Builds and validates the configuration: from a JSON file when given, else the typed module. */
export function loadConfig(defaults: ChartConfigInput, jsonPath?: string): ChartConfig {
  if (!jsonPath) return validateConfig(defaults);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    throw new Error(`invalid config: ${jsonPath}: cannot read it as JSON (${(e as Error).message})`);
  }
  return validateConfig(raw);
}

/** Replaces `target` by `staging` with renames, so readers see the old or the new directory, never a mix. */
function swapInto(staging: string, target: string) {
  const previous = existsSync(target) ? `${staging.replace(/staging-/, 'previous-')}` : undefined;
  if (previous) renameSync(target, previous);
  renameSync(staging, target);
  if (previous) rmSync(previous, { recursive: true, force: true });
}

function stagingDir(target: string): string {
  const parent = dirname(resolve(target));
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, `${basename(target)}.staging-`));
}

/** Synthesizes every chart into `distDir`; returns the manifest file names. */
export function synthesizeManifests(config: ChartConfig, dashboards: GeneratedDashboard[], distDir: string): string[] {
  const staging = stagingDir(distDir);
  try {
    const app = new App({ outdir: staging, outputFileExtension: '.k8s.yaml', yamlOutputType: YamlOutputType.FILE_PER_CHART });
    buildCharts(app, config, dashboards);
    app.synth();
    const files = readdirSync(staging).sort();
    for (const f of files) {
      const text = readFileSync(join(staging, f), 'utf8');
      const safe = yaml11Safe(text);
      if (safe !== text) writeFileSync(join(staging, f), safe);
    }
    swapInto(staging, distDir);
    return files;
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** Writes the dashboards' JSON (reviewed in diffs) into `dir`, replacing the previous set. */
export function writeDashboardFiles(dashboards: GeneratedDashboard[], dir: string): string[] {
  const staging = stagingDir(dir);
  try {
    for (const d of dashboards) writeFileSync(join(staging, d.fileName), dashboardFileText(d));
    swapInto(staging, dir);
    return dashboards.map((d) => d.fileName);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** The cdk8s CLI lists the manifests of its own output directory; hard-link them there (a copy costs more). */
export function mirrorForCli(distDir: string, cliOutdir: string | undefined) {
  if (!cliOutdir || resolve(cliOutdir) === resolve(distDir)) return;
  rmSync(cliOutdir, { recursive: true, force: true });
  mkdirSync(cliOutdir, { recursive: true });
  for (const f of readdirSync(distDir)) {
    try {
      linkSync(join(distDir, f), join(cliOutdir, f));
    } catch {
      copyFileSync(join(distDir, f), join(cliOutdir, f)); // another filesystem
    }
  }
}
