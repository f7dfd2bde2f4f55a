/**
 * Builds the test collector (`npm run binaries -- collector`): the OpenTelemetry Collector Builder,
 * pinned as a Go tool in test/tools/collector/go.mod, generates a Go program from manifest.yaml and
 * compiles it. The generated sources go to a temporary directory; only the binary is kept.
 */
import { execFileSync } from 'child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse, stringify } from 'yaml';
import { TOOLS_DIR } from './binaries';

export const COLLECTOR_TOOL_DIR = join(TOOLS_DIR, 'collector');
export const COLLECTOR_MANIFEST = join(COLLECTOR_TOOL_DIR, 'manifest.yaml');

export type ComponentKind = 'extensions' | 'receivers' | 'processors' | 'exporters' | 'connectors' | 'providers';
export const COMPONENT_KINDS: readonly ComponentKind[] = ['extensions', 'receivers', 'processors', 'exporters', 'connectors', 'providers'];

/**
 * Component types the manifest carries for the test harness only, which the chart's collector config
 * never references. Everything else in the manifest must be a component the chart uses
 * (test/unit/collector-manifest.test.ts, test/contract/collector.validate.test.ts). Keep it short.
 */
export const HARNESS_ONLY_COMPONENTS: Readonly<Partial<Record<ComponentKind, readonly string[]>>> = {
  // pprof: /debug/pprof for CPU profiles of the collector under load (RunningCollector's `pprof`
  // start option, used by bench/collector-throughput.ts).
  extensions: ['pprof'],
};

export interface BuilderManifest {
  dist: { module: string; name: string; description?: string; version: string; output_path?: string };
  extensions?: { gomod: string }[];
  receivers?: { gomod: string }[];
  processors?: { gomod: string }[];
  exporters?: { gomod: string }[];
  connectors?: { gomod: string }[];
  providers?: { gomod: string }[];
}

export function readCollectorManifest(): BuilderManifest {
  return parse(readFileSync(COLLECTOR_MANIFEST, 'utf8')) as BuilderManifest;
}

/** The manifest's Go modules of one kind, as [module path, version]. */
export function manifestModules(manifest: BuilderManifest, kind: ComponentKind): [string, string][] {
  return (manifest[kind] ?? []).map((m) => {
    const [path, version, ...rest] = m.gomod.trim().split(/\s+/);
    if (!version || rest.length) throw new Error(`manifest ${kind}: "${m.gomod}" is not "<module> <version>"`);
    return [path, version];
  });
}

/** `build` hook of the `collector` entry in PROGRAMS: writes dist.name (otelcol-chat) into outDir. */
export function buildCollector(outDir: string, builderVersion: string): void {
  const manifest = readCollectorManifest();
  if (`v${manifest.dist.version}` !== builderVersion) {
    throw new Error(`manifest.yaml builds collector ${manifest.dist.version} but go.mod pins the builder at ${builderVersion}: keep them equal`);
  }
  const work = mkdtempSync(join(tmpdir(), 'chat-monitoring-ocb-'));
  try {
    const sources = join(work, 'src');
    const config = join(work, 'manifest.yaml');
    writeFileSync(config, stringify({ ...manifest, dist: { ...manifest.dist, output_path: sources } }));
    const count = COMPONENT_KINDS.reduce((n, k) => n + (manifest[k]?.length ?? 0), 0);
    console.log(`collector: builder ${builderVersion} generates ${manifest.dist.name} (${count} components and providers) in ${sources},`);
    console.log('collector: fetches its modules, then compiles: about 13 min on 2 cores with a cold Go build cache, about 1 min warm');
    // The builder only writes the sources; the module graph and the compile are done here. Its own
    // `go mod tidy` also resolves the tests of every dependency, and from 0.152.0 on some test-only
    // modules of the core (zpagesextension, telemetrytest, ...) are not on the Go module proxy, so a
    // plain run fails. `tidy -e` resolves the same graph for the packages the binary imports and
    // leaves out the unresolvable test modules; the pinned versions are checked after it.
    execFileSync('go', ['tool', 'builder', `--config=${config}`, '--skip-get-modules', '--skip-compilation'], { cwd: COLLECTOR_TOOL_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
    execFileSync('go', ['mod', 'tidy', '-e'], { cwd: sources, stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, GOFLAGS: '-mod=mod' } });
    checkResolvedVersions(sources, manifest);
    const binary = join(outDir, manifest.dist.name);
    execFileSync('go', ['build', '-trimpath', '-o', binary, '.'], { cwd: sources, stdio: ['ignore', 'inherit', 'inherit'] });
    chmodSync(binary, 0o755);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Every manifest module resolved at the version the manifest pins (what the builder's strict check did). */
function checkResolvedVersions(sources: string, manifest: BuilderManifest): void {
  const pinned = COMPONENT_KINDS.flatMap((k) => manifestModules(manifest, k));
  const listed = execFileSync('go', ['list', '-m', '-f', '{{.Path}} {{.Version}}', ...pinned.map(([m]) => m)], { cwd: sources, encoding: 'utf8' });
  const resolved = new Map(listed.trim().split('\n').map((l) => l.split(' ') as [string, string]));
  const moved = pinned.filter(([m, v]) => resolved.get(m) !== v).map(([m, v]) => `${m} ${v} -> ${resolved.get(m) ?? 'missing'}`);
  if (moved.length) throw new Error(`collector: the module graph moved pinned components: ${moved.join('; ')}`);
}
