/**
 * Measuring commands: wall time and peak RSS of a whole process tree, medians, the machine.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { cpus, totalmem } from 'os';
import { binaryPath } from '../../test/support/binaries';

export interface RunStats {
  readonly wallMs: number;
  /** Largest resident set of any process of the command (like GNU time's "Maximum resident set size"). */
  readonly peakRssKb: number;
}

export interface CommandOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
}

const GNU_TIME = '/usr/bin/time';
export const peakRssMethod = existsSync(GNU_TIME) ? '/usr/bin/time -v' : 'polling /proc every 10 ms';

/** Runs `sh -c command` once; throws with its output when it fails. */
export async function measureCommand(command: string, opts: CommandOptions): Promise<RunStats> {
  return existsSync(GNU_TIME) ? measureWithGnuTime(command, opts) : measureWithProc(command, opts);
}

function measureWithGnuTime(command: string, opts: CommandOptions): RunStats {
  const start = process.hrtime.bigint();
  const res = spawnSync(GNU_TIME, ['-v', 'sh', '-c', command], { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (res.status !== 0) throw new Error(`failed (${res.status}): ${command}\n${res.stdout}\n${res.stderr}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr);
  if (!m) throw new Error(`no peak RSS in /usr/bin/time output:\n${res.stderr}`);
  return { wallMs, peakRssKb: Number(m[1]) };
}

/** Peak RSS without GNU time: poll VmHWM of the process and its descendants. */
async function measureWithProc(command: string, opts: CommandOptions): Promise<RunStats> {
  const start = process.hrtime.bigint();
  const child = spawn('sh', ['-c', command], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let peak = 0;
  const poll = setInterval(() => {
    for (const pid of descendants(child.pid!)) peak = Math.max(peak, procStatusKb(pid, 'VmHWM') ?? 0);
  }, 10);
  const code: number = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  clearInterval(poll);
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (code !== 0) throw new Error(`failed (${code}): ${command}\n${output}`);
  return { wallMs, peakRssKb: peak };
}

function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone
  }
  return [pid, ...children.flatMap(descendants)];
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM), or undefined when the process is gone. */
export function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface Variant {
  readonly name: string;
  readonly command: string;
  readonly opts: CommandOptions;
}

export interface VariantStats {
  readonly name: string;
  readonly wallMs: number;
  readonly peakRssKb: number;
  readonly runs: readonly RunStats[];
}

/**
 * Runs every variant `runs` times, interleaved (a, b, c, a, b, c, ...) so that drift of the machine
 * affects all alike, after one unmeasured warm-up each (file cache). Returns the medians.
 */
export async function compareVariants(variants: readonly Variant[], runs: number): Promise<VariantStats[]> {
  for (const v of variants) await measureCommand(v.command, v.opts);
  const all: RunStats[][] = variants.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [j, v] of variants.entries()) all[j].push(await measureCommand(v.command, v.opts));
  }
  return variants.map((v, j) => ({
    name: v.name,
    wallMs: median(all[j].map((r) => r.wallMs)),
    peakRssKb: median(all[j].map((r) => r.peakRssKb)),
    runs: all[j],
  }));
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly ramGiB: number;
  readonly os: string;
  readonly node: string;
  readonly prometheus: string;
  readonly promtool: string;
}

export function machine(): Machine {
  const firstLine = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim();
    } catch {
      return 'not installed';
    }
  };
  let os = 'unknown';
  try {
    os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    // no os-release
  }
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os,
    node: process.version,
    prometheus: firstLine(binaryPath('prometheus'), ['--version']),
    promtool: firstLine(binaryPath('promtool'), ['--version']),
  };
}

export const ms = (x: number) => (x >= 100 ? `${Math.round(x)} ms` : x >= 10 ? `${x.toFixed(1)} ms` : `${x.toFixed(2)} ms`);
export const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
export const ratio = (x: number) => (x >= 100 ? `${Math.round(x)}x` : x >= 10 ? `${x.toFixed(1)}x` : `${x.toFixed(2)}x`);

/** A synchronous step's result and its wall time in ms. */
export function timed<T>(f: () => T): [T, number] {
  const t0 = Date.now();
  return [f(), Date.now() - t0];
}

/** The report's one-line description of the machine. */
export function describeMachine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; Node ${m.node}; ${m.prometheus}; promtool ${m.promtool.replace(/^promtool, /, '')}`;
}
