/**
 * test/tools/prometheus/tsdbgen (Go, the pinned Prometheus module's tsdb package): writes series
 * straight into TSDB blocks from a JSON spec, for hours or days of data that scraping or
 * OpenMetrics text could not produce in time. Built with Go on first use into the caller's
 * directory (seconds once the module cache is warm).
 */
import { execFileSync } from 'child_process';
import { writeFileSync } from 'fs';
import { join } from 'path';
import { goAvailable } from './binaries';

const TOOLS = join(__dirname, '..', 'tools', 'prometheus');

/** Why tsdbgen cannot be built here, in one line; undefined where Go is on PATH. */
export function tsdbgenUnavailable(): string | undefined {
  return goAvailable() ? undefined : 'Go is not on PATH: test/tools/prometheus/tsdbgen, which writes the data, is built with it (https://go.dev/dl/)';
}

/** A counter growing by exactly `perStep` at every step from the spec's start (0 there): its rate is perStep / step. */
export interface ExactCounter {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly perStep: number;
}

/** tsdbgen's spec (see its main.go); the histogram combos and gauges follow a seeded traffic model. */
export interface TsdbgenSpec {
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  /** Blocks are cut at multiples of this, as Prometheus cuts its 2 h blocks. */
  readonly blockMs: number;
  readonly seed?: number;
  readonly histogram?: string;
  readonly bounds?: readonly number[];
  readonly combos?: readonly object[];
  readonly gauge?: string;
  readonly gauges?: readonly object[];
  readonly counters?: readonly ExactCounter[];
}

/** Builds tsdbgen into `dir` and returns its path with the build's wall time. */
export function buildTsdbgen(dir: string): { path: string; buildMs: number } {
  const path = join(dir, 'tsdbgen');
  const t0 = Date.now();
  execFileSync('go', ['build', '-o', path, './tsdbgen'], { cwd: TOOLS, stdio: ['ignore', 'pipe', 'pipe'] });
  return { path, buildMs: Date.now() - t0 };
}

/** Runs tsdbgen (built by buildTsdbgen) on `spec`, writing blocks into `tsdbDir`; what it wrote and how long it took. */
export function runTsdbgen(tsdbgen: string, spec: TsdbgenSpec, specFile: string, tsdbDir: string): { series: number; samples: number; ms: number } {
  writeFileSync(specFile, JSON.stringify({ seed: 42, histogram: '', bounds: [], combos: [], gauge: '', gauges: [], ...spec }));
  const t0 = Date.now();
  const out = execFileSync(tsdbgen, [specFile, tsdbDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { ...(JSON.parse(out) as { series: number; samples: number }), ms: Date.now() - t0 };
}
