/**
 * A cgroup with a CPU quota and a memory limit for one test process, as a container would have:
 * cgroup v1 (cpu and memory hierarchies, each child created under this process's own cgroup there)
 * or, where both controllers are enabled for children, cgroup v2. Needs root.
 *
 * A process started inside it from its first instruction (startScript) sees the limits the way it
 * would in a pod: Go runtimes and the collector's memory_limiter read them from their own cgroup at
 * start, so attaching a PID after the program initialised (place) would come too late for them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'fs';
import { join } from 'path';

export interface CgroupLimits {
  /** CPU quota in millicores (500 = half a core, the Deployment's `500m`). */
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
}

export interface CgroupStats {
  /** Memory charged to the cgroup now (v1 memory.usage_in_bytes, v2 memory.current). */
  readonly usageBytes?: number;
  /** Highest memory charged to the cgroup (v1 memory.max_usage_in_bytes; v2 memory.peak where the kernel has it). */
  readonly maxUsageBytes?: number;
  /** Times the memory limit was hit (v1 memory.failcnt; v2 memory.events `max`). */
  readonly failcnt?: number;
  /** Processes the kernel OOM-killed in it (v1 memory.oom_control `oom_kill`, v2 memory.events `oom_kill`), where the kernel reports it. */
  readonly oomKills?: number;
  readonly nrPeriods?: number;
  readonly nrThrottled?: number;
  readonly throttledMs?: number;
}

const PERIOD_US = 100000;

const readKv = (path: string): Record<string, number> => {
  if (!existsSync(path)) return {};
  return Object.fromEntries(readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(/\s+/)).map(([k, v]) => [k, Number(v)]));
};
const readNum = (path: string): number | undefined => (existsSync(path) ? Number(readFileSync(path, 'utf8').trim()) : undefined);

interface Hierarchy { version: 1 | 2; cpu: string; memory: string }

/** Where children of this process's cgroups go; or why there is no such place, in one line. */
function hierarchy(): Hierarchy | string {
  if (process.platform !== 'linux') return `cgroups need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'cgroups need root (creating a cgroup and moving a process into it)';
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').map((l) => {
    const [pre, post] = l.split(' - ');
    const f = pre.split(' ');
    const [type, , superOpts] = post.split(' ');
    return { root: f[3], point: f[4], type, opts: superOpts.split(',') };
  });
  const own = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').map((l) => {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(l)!;
    return { controllers: controllers.split(','), path };
  });
  const dirOf = (m: { root: string; point: string }, path: string) => join(m.point, path.startsWith(m.root) ? path.slice(m.root.length) : path);
  const v1 = (c: string) => {
    const m = mounts.find((x) => x.type === 'cgroup' && x.opts.includes(c));
    const p = own.find((x) => x.controllers.includes(c));
    return m && p ? dirOf(m, p.path) : undefined;
  };
  const [cpu, memory] = [v1('cpu'), v1('memory')];
  if (cpu && memory && existsSync(join(cpu, 'cpu.cfs_quota_us')) && existsSync(join(memory, 'memory.limit_in_bytes'))) return { version: 1, cpu, memory };
  const m2 = mounts.find((x) => x.type === 'cgroup2');
  const p2 = own.find((x) => x.controllers.join() === '');
  if (m2 && p2) {
    const dir = dirOf(m2, p2.path);
    const enabled = (readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').trim() || '').split(' ');
    if (enabled.includes('cpu') && enabled.includes('memory')) return { version: 2, cpu: dir, memory: dir };
    return `no cgroup v1 cpu+memory hierarchies, and cgroup v2 at ${m2.point} has not enabled cpu and memory for children of ${dir} (cgroup.subtree_control: "${enabled.join(' ')}")`;
  }
  return 'no cgroup v1 cpu+memory hierarchies and no cgroup v2 mount';
}

/** Why Cgroup.create cannot work here, in one line; undefined where it can. */
export function cgroupsUnavailable(): string | undefined {
  const h = hierarchy();
  return typeof h === 'string' ? h : undefined;
}

const live = new Set<Cgroup>();
// A bench that throws past its finally, or exits, still leaves no cgroup behind.
process.once('exit', () => live.forEach((c) => c.removeSync()));

export class Cgroup {
  private constructor(readonly version: 1 | 2, private readonly dirs: readonly string[], readonly limits: CgroupLimits) {}

  /** Creates the cgroup (a fresh name under this process's own) with these limits. */
  static create(name: string, limits: CgroupLimits): Cgroup {
    const h = hierarchy();
    if (typeof h === 'string') throw new Error(h);
    const leaf = `${name}-${process.pid}-${Date.now()}`;
    const dirs = [...new Set([join(h.cpu, leaf), join(h.memory, leaf)])];
    const made: string[] = [];
    const cg = new Cgroup(h.version, made, limits);
    live.add(cg);
    try {
      for (const d of dirs) {
        mkdirSync(d);
        made.push(d);
      }
      const quotaUs = Math.round((limits.cpuMillicores / 1000) * PERIOD_US);
      if (h.version === 1) {
        writeFileSync(join(made[0], 'cpu.cfs_period_us'), String(PERIOD_US));
        writeFileSync(join(made[0], 'cpu.cfs_quota_us'), String(quotaUs));
        writeFileSync(join(made[1], 'memory.limit_in_bytes'), String(limits.memoryBytes));
        // No swap beyond the limit, as in a pod (the file is absent where swap accounting is off).
        const memsw = join(made[1], 'memory.memsw.limit_in_bytes');
        if (existsSync(memsw)) writeFileSync(memsw, String(limits.memoryBytes));
      } else {
        writeFileSync(join(made[0], 'cpu.max'), `${quotaUs} ${PERIOD_US}`);
        writeFileSync(join(made[0], 'memory.max'), String(limits.memoryBytes));
        if (existsSync(join(made[0], 'memory.swap.max'))) writeFileSync(join(made[0], 'memory.swap.max'), '0');
      }
      return cg;
    } catch (e) {
      cg.removeSync();
      throw e;
    }
  }

  /** The cgroup.procs files a PID is written to (one per hierarchy). */
  get procsFiles(): string[] {
    return this.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  /** Moves a running process (all its threads) into the cgroup. */
  place(pid: number): void {
    for (const f of this.procsFiles) writeFileSync(f, String(pid));
  }

  /**
   * A /bin/sh script that moves itself into the cgroup and then execs `binary` with its arguments:
   * the program starts inside, and keeps the script's PID.
   */
  startScript(binary: string): string {
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    return `#!/bin/sh\n${this.procsFiles.map((f) => `echo $$ > ${q(f)} || exit 125\n`).join('')}exec ${q(binary)} "$@"\n`;
  }

  /** PIDs in it now. */
  pids(): number[] {
    return [...new Set(this.dirs.flatMap((d) => (existsSync(join(d, 'cgroup.procs')) ? readFileSync(join(d, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).map(Number) : [])))];
  }

  stats(): CgroupStats {
    const [cpu, mem] = [this.dirs[0], this.dirs[this.dirs.length - 1]];
    const cs = readKv(join(cpu, 'cpu.stat'));
    if (this.version === 1) {
      return {
        usageBytes: readNum(join(mem, 'memory.usage_in_bytes')), maxUsageBytes: readNum(join(mem, 'memory.max_usage_in_bytes')), failcnt: readNum(join(mem, 'memory.failcnt')),
        oomKills: readKv(join(mem, 'memory.oom_control')).oom_kill,
        nrPeriods: cs.nr_periods, nrThrottled: cs.nr_throttled, throttledMs: cs.throttled_time === undefined ? undefined : cs.throttled_time / 1e6,
      };
    }
    const ev = readKv(join(mem, 'memory.events'));
    return {
      usageBytes: readNum(join(mem, 'memory.current')), maxUsageBytes: readNum(join(mem, 'memory.peak')), failcnt: ev.max, oomKills: ev.oom_kill,
      nrPeriods: cs.nr_periods, nrThrottled: cs.nr_throttled, throttledMs: cs.throttled_usec === undefined ? undefined : cs.throttled_usec / 1e3,
    };
  }

  /**
   * Removes it; call after its processes ended. Any still inside are moved to the parent cgroup
   * first (not killed: stopping them is their owner's job), so the directory always goes.
   */
  async remove(): Promise<void> {
    for (let i = 0; i < 50 && this.pids().length; i++) await new Promise((r) => setTimeout(r, 100));
    this.removeSync();
  }

  removeSync(): void {
    for (const d of [...this.dirs].reverse()) {
      if (!existsSync(d)) continue;
      const procs = join(d, 'cgroup.procs');
      for (const pid of readFileSync(procs, 'utf8').trim().split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(d, '..', 'cgroup.procs'), pid);
        } catch {
          // exited meanwhile
        }
      }
      for (let i = 0; ; i++) {
        try {
          rmdirSync(d);
          break;
        } catch (e) {
          if (i >= 20) throw e;
          // An exiting task can keep the directory busy for a moment.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        }
      }
    }
    live.delete(this);
  }
}

/** Leftovers of earlier runs named `name-*` under this process's cgroups, for a test to assert none remain. */
export function leftoverCgroups(name: string): string[] {
  const h = hierarchy();
  if (typeof h === 'string') return [];
  return [...new Set([h.cpu, h.memory])].flatMap((d) => readdirSync(d).filter((e) => e.startsWith(`${name}-`)).map((e) => join(d, e)));
}
