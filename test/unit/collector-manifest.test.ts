/**
 * The test collector (test/tools/collector/manifest.yaml) holds exactly the components the chart's
 * collector config references, for every config shape the tests synthesize, at the versions of the
 * collector release the chart deploys.
 */
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { DEFAULT_IMAGES } from '../../lib/config';
import { describeWithGo, PROGRAMS, programVersion } from '../support/binaries';
import { COLLECTOR_BINARY, COLLECTOR_CONFIG_VARIANTS, chartCollectorConfig, chartCollectorConfigYaml } from '../support/collector';
import { COLLECTOR_TOOL_DIR, ComponentKind, HARNESS_ONLY_COMPONENTS, manifestModules, readCollectorManifest } from '../support/collector-build';
import { named, synthObjects } from '../support/manifests';

const PIPELINE_KINDS: readonly Exclude<ComponentKind, 'providers'>[] = ['extensions', 'receivers', 'processors', 'exporters', 'connectors'];
const CONTRIB = 'github.com/open-telemetry/opentelemetry-collector-contrib/';
const CORE = 'go.opentelemetry.io/collector/';

// The one exception to "exactly": the manifest's harness-only extras (pprof), listed and commented in collector-build.ts.
const harnessOnly = (kind: ComponentKind) => HARNESS_ONLY_COMPONENTS[kind] ?? [];

const collectorTag = () => DEFAULT_IMAGES.collector.replace(/@sha256:.*$/, '').split(':').pop()!;
const collectorProgram = () => PROGRAMS.find((p) => p.name === 'collector')!;
const manifest = readCollectorManifest();

/** Component types a config uses, per kind: `transform/chat_service_identity` is of type `transform`. */
function configTypes(config: Record<string, Record<string, unknown> | undefined>): Record<string, string[]> {
  return Object.fromEntries(PIPELINE_KINDS.map((kind) => [kind, [...new Set(Object.keys(config[kind] ?? {}).map((id) => id.split('/')[0]))].sort()]));
}

/**
 * The type a component module registers, by the naming rule every module here follows: the last
 * path element less its kind (`memorylimiterprocessor` -> `memorylimiter`), compared with the type's
 * underscores removed (`memory_limiter`). The collector suite checks the built binary's own list.
 */
const moduleType = (path: string, kind: ComponentKind) => path.split('/').pop()!.replace(new RegExp(`${kind.replace(/s$/, '')}$`), '');
const typeKey = (type: string) => type.replace(/_/g, '');

describe('test collector manifest', () => {
  it.each(COLLECTOR_CONFIG_VARIANTS.map(([name, make]) => [name, make] as const))('holds exactly the components the chart config references: %s', (_name, make) => {
    const used = configTypes(chartCollectorConfig(make()));
    for (const kind of PIPELINE_KINDS) {
      const built = manifestModules(manifest, kind).map(([path]) => moduleType(path, kind)).filter((t) => !harnessOnly(kind).includes(t)).sort();
      expect([kind, built]).toEqual([kind, used[kind].map(typeKey).sort()]);
    }
  });

  it.each(COLLECTOR_CONFIG_VARIANTS.map(([name, make]) => [name, make] as const))('carries each harness-only extra, which the chart config does not use: %s', (_name, make) => {
    const used = configTypes(chartCollectorConfig(make()));
    for (const kind of PIPELINE_KINDS) {
      const built = manifestModules(manifest, kind).map(([path]) => moduleType(path, kind));
      for (const extra of harnessOnly(kind)) {
        expect([kind, extra, built.includes(extra)]).toEqual([kind, extra, true]);
        expect([kind, extra, used[kind].map(typeKey).includes(extra)]).toEqual([kind, extra, false]);
      }
    }
  });

  it('every component a pipeline or the service lists is defined (so the list above is complete)', () => {
    for (const [, make] of COLLECTOR_CONFIG_VARIANTS) {
      const config = chartCollectorConfig(make());
      for (const ext of config.service.extensions ?? []) expect(Object.keys(config.extensions)).toContain(ext);
      for (const pipeline of Object.values(config.service.pipelines as Record<string, Record<string, string[]>>)) {
        for (const kind of ['receivers', 'processors', 'exporters'] as const) {
          // A connector (routing) stands as a pipeline's exporter and as another's receiver.
          const defined = kind === 'processors' ? Object.keys(config[kind]) : [...Object.keys(config[kind]), ...Object.keys(config.connectors ?? {})];
          for (const id of pipeline[kind] ?? []) expect(defined).toContain(id);
        }
      }
    }
  });

  it('has the file provider the Deployment reads its config with, and env, the default ${...} scheme; no other', () => {
    const deployment = named(synthObjects(), 'Deployment', 'otel-collector');
    const configArgs = (deployment.spec.template.spec.containers[0].args as string[]).filter((a) => a.startsWith('--config='));
    // A path without a scheme is read by the file provider.
    expect(configArgs).toEqual([expect.stringMatching(/^--config=(file:)?\//)]);
    const refs = COLLECTOR_CONFIG_VARIANTS.flatMap(([, make]) => chartCollectorConfigYaml(make()).match(/\$\{[^}]*\}/g) ?? []);
    expect(refs.filter((r) => !/^\$\{(env:)?[A-Za-z_][A-Za-z0-9_]*\}$/.test(r))).toEqual([]);
    expect(manifestModules(manifest, 'providers').map(([path]) => path).sort()).toEqual([
      `${CORE}confmap/provider/envprovider`, `${CORE}confmap/provider/fileprovider`,
    ]);
  });

  it('is the release of the chart\'s collector image: builder, distribution and every contrib component', () => {
    const v = `v${collectorTag()}`;
    expect(collectorTag()).toMatch(/^0\.\d+\.\d+$/);
    expect(programVersion(collectorProgram())).toBe(v);
    expect(manifest.dist.version).toBe(collectorTag());
    const contrib = PIPELINE_KINDS.flatMap((k) => manifestModules(manifest, k)).filter(([path]) => path.startsWith(CONTRIB));
    expect(contrib.length).toBeGreaterThan(0);
    for (const [path, version] of contrib) expect([path, version]).toEqual([path, v]);
  });

  it('builds the binary the tests run, under the name PROGRAMS gives it', () => {
    expect(manifest.dist.name).toBe(COLLECTOR_BINARY);
    expect(Object.keys(collectorProgram().binaries)).toEqual([COLLECTOR_BINARY]);
    expect(collectorProgram().build).toBeDefined();
  });
});

describeWithGo('test collector manifest: core module versions', () => {
  it('every core module is at the version the release\'s versions.yaml gives its module set (v1.x stable, v0.x beta)', () => {
    const release = programVersion(collectorProgram());
    const dir = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `go.opentelemetry.io/collector@${release}`], {
      cwd: COLLECTOR_TOOL_DIR, encoding: 'utf8',
    })).Dir as string;
    const sets = parse(readFileSync(join(dir, 'versions.yaml'), 'utf8'))['module-sets'] as Record<string, { version: string; modules: string[] }>;
    expect(sets.beta.version).toBe(release);
    const versionOf = (module: string) => Object.values(sets).find((s) => s.modules.includes(module))?.version;
    const core = (['extensions', 'receivers', 'processors', 'exporters', 'connectors', 'providers'] as const)
      .flatMap((k) => manifestModules(manifest, k)).filter(([path]) => path.startsWith(CORE));
    expect(core.length).toBeGreaterThan(0);
    for (const [path, version] of core) expect([path, version]).toEqual([path, versionOf(path)]);
  });
});
