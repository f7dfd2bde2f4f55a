/**
 * `npm run versions`: every pin of the chart beside the newest version the Go module proxy lists for
 * its module (one `go list -m -versions` per module, no version probed), flagging a pin that is
 * behind, so the next upgrade starts from one command. Pins are read where they are written:
 * test/tools/<program>/go.mod, the collector builder manifest, kind-config.yaml, lib/config.ts.
 *
 * The proxy's list can be partial (a module whose list stops below the pin is said so); images with
 * no Go module (Grafana, the dashboard sidecar) are listed with where to look instead. A pin held
 * behind on purpose carries its reason (HOLDS), and is still flagged.
 */
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { DEFAULT_IMAGES } from '../lib/config';
import { goAvailable, PROGRAMS, programVersion, REPO_ROOT } from '../test/support/binaries';
import { COMPONENT_KINDS, manifestModules, readCollectorManifest } from '../test/support/collector-build';

/** Which versions count as newer: any release, or only patches of the pinned minor (a supported line). */
export type Track = 'newest' | 'same-minor';

export interface Pin {
  readonly what: string;
  readonly module: string;
  readonly pinned: string;
  readonly track: Track;
  /** Why the pin stays behind the newest listed release (HOLDS); shown next to the flag. */
  readonly hold?: string;
}

/** Why a program's pins stay behind the newest listed release, by program (PROGRAMS name). */
export const HOLDS: Readonly<Record<string, string>> = {
  collector: 'a collector release needs every component served: the proxy has routingconnector\'s source at 0.146/0.148/0.149/0.152/0.157 only (0.158.0 is listed, its zip refused: 403), and no k8sattributes 0.157',
  'prometheus-operator': 'v0.94.x: its pkg/client module is not served by the proxy',
  kubernetes: 'the kind node image (kind-config.yaml, kind v0.33.0\'s default) decides the newest Kubernetes',
};

const parse = (v: string) => {
  const m = /^v(\d+)\.(\d+)\.(\d+)(-.*)?$/.exec(v);
  return m ? { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ?? '' } : undefined;
};

/** Semantic-version order; pre-releases sort before their release. */
export function compareVersions(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) throw new Error(`not a semantic version: ${x ? b : a}`);
  for (let i = 0; i < 3; i++) if (x.nums[i] !== y.nums[i]) return x.nums[i] - y.nums[i];
  if (x.pre === y.pre) return 0;
  if (!x.pre) return 1;
  if (!y.pre) return -1;
  return x.pre < y.pre ? -1 : 1;
}

export interface Verdict {
  readonly newest?: string;
  readonly status: 'current' | 'behind' | 'list-partial' | 'unlisted';
}

/** The newest release (no pre-release) the list holds on the pin's track, and how the pin stands. */
export function judge(pin: Pin, listed: readonly string[]): Verdict {
  const minor = (v: string) => parse(v)!.nums.slice(0, 2).join('.');
  const releases = listed.filter((v) => parse(v) && !parse(v)!.pre)
    .filter((v) => pin.track === 'newest' || minor(v) === minor(pin.pinned))
    .sort(compareVersions);
  const newest = releases[releases.length - 1];
  if (!newest) return { status: 'unlisted' };
  const c = compareVersions(pin.pinned, newest);
  return { newest, status: c < 0 ? 'behind' : c > 0 ? 'list-partial' : 'current' };
}

/** Every Go-module pin of the chart, from the files that hold it. */
export function pins(): Pin[] {
  const out: Pin[] = [];
  for (const p of PROGRAMS) {
    if (p.name === 'collector') continue; // below, with each component of the manifest
    // Prometheus: its LTS line; the oldest Kubernetes: the newest patch of the oldest supported minor.
    const track = p.name === 'prometheus' || p.name === 'kubernetes-oldest' ? 'same-minor' : 'newest';
    out.push({ what: p.name, module: p.versionModule, pinned: programVersion(p), track, hold: HOLDS[p.name] });
  }
  const manifest = readCollectorManifest();
  out.push({ what: 'collector (builder)', module: 'go.opentelemetry.io/collector/cmd/builder', pinned: `v${manifest.dist.version}`, track: 'newest', hold: HOLDS.collector });
  for (const kind of COMPONENT_KINDS) {
    for (const [module, version] of manifestModules(manifest, kind)) {
      out.push({ what: `collector ${kind.replace(/s$/, '')}`, module, pinned: version, track: 'newest', hold: HOLDS.collector });
    }
  }
  const kindMin = /# kind-min-version: (v\S+)/.exec(readFileSync(join(REPO_ROOT, 'kind-config.yaml'), 'utf8'))?.[1];
  if (kindMin) out.push({ what: 'kind (node image)', module: 'sigs.k8s.io/kind', pinned: kindMin, track: 'newest' });
  return out;
}

function listVersions(module: string): string[] {
  try {
    return execFileSync('go', ['list', '-m', '-versions', module], { encoding: 'utf8', cwd: REPO_ROOT, env: { ...process.env, GOFLAGS: '-mod=mod' }, stdio: ['ignore', 'pipe', 'pipe'] })
      .trim().split(/\s+/).slice(1);
  } catch {
    return [];
  }
}

function main(): void {
  if (!goAvailable()) {
    console.error('versions: needs Go >= 1.26 (https://go.dev/dl/) to ask the Go module proxy');
    process.exit(1);
  }
  const rows: string[][] = [['pin', 'module', 'pinned', 'newest listed', '']];
  let behind = 0;
  for (const pin of pins()) {
    const listed = listVersions(pin.module);
    const v = judge(pin, listed);
    const overall = pin.track === 'same-minor' ? judge({ ...pin, track: 'newest' }, listed).newest : undefined;
    const note = {
      current: overall && overall !== v.newest ? `(newest of its minor; newest release ${overall})` : '',
      behind: `BEHIND${pin.hold ? ` (held: ${pin.hold})` : ''}`,
      'list-partial': 'pin newer than the proxy\'s list (the list is partial)',
      unlisted: 'the proxy lists no version',
    }[v.status];
    if (v.status === 'behind') behind++;
    rows.push([pin.what, pin.module, pin.pinned, v.newest ?? '-', note]);
  }
  rows.push(['grafana (image)', DEFAULT_IMAGES.grafana, '', '-', 'no Go module (AGPL): see github.com/grafana/grafana releases, stay on major 12']);
  rows.push(['grafana sidecar (image)', DEFAULT_IMAGES.grafanaSidecar, '', '-', 'no Go module: see github.com/kiwigrid/k8s-sidecar releases']);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  console.log(`\n${behind} pin(s) behind the newest version the Go module proxy lists.`);
}

if (require.main === module) main();
