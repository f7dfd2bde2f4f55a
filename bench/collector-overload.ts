/**
 * Section 7, second half (issue 14, 2): the real collector on the chart's config, unchanged, at about
 * twice the load it sustains, inside a cgroup with exactly the Deployment's CPU and memory limits
 * (test/support/cgroup.ts) and GOMEMLIMIT as the Deployment sets it. memory_limiter keeps its
 * limit_percentage / spike_limit_percentage and computes its MiB from the cgroup limit itself; its
 * startup log line is checked for that.
 *
 * Phases: base load (`basePods` pods) for `phaseS`; base + extra pods (overload) for `overloadS`;
 * base alone again for `afterS`. The extra pods are sized by a short ramp first: a separate
 * collector in an identical cgroup is offered every pod at once (well beyond its quota) for
 * `calibrateS`; the points/s it accepts while throttled, after a warm-up, are what the CPU limit
 * sustains, and base + extra offer twice that. Every second: RSS,
 * the cgroup's memory usage, accepted/refused points (the collector's own counters), the generators'
 * failed Export calls by gRPC status. Reported per phase, and how long after the extra load stopped
 * the base load was accepted in full again.
 *
 * Where cgroups cannot be used (not root, no writable cpu+memory controllers), the row says why and
 * the collector runs without one, memory_limiter given the MiB its percentages would give in the
 * container (otherwise it would take them of the machine's RAM), at a fixed 20 + 160 pods.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { basename, dirname, join } from 'path';
import { binariesUnavailable, binaryPath } from '../test/support/binaries';
import { Cgroup, cgroupsUnavailable, CgroupStats } from '../test/support/cgroup';
import { COLLECTOR_BINARIES, COLLECTOR_BINARY, CollectorOptions, RunningCollector, STUB_POD_ATTRIBUTE } from '../test/support/collector';
import { defaultConfig, synthObjects } from '../test/support/manifests';
import { sleep } from '../test/support/process';
import { cpuTicks, loadPods, selfCounter, variantOptions } from './collector-throughput';
import { LoadPod, RunningLoad } from './lib/otlp-load';
import { procStatusKb } from './lib/measure';
import { Row } from './lib/report';
import { BenchSection, runSectionAlone, SectionReport } from './lib/section';

const MIB = { Ki: 1 / 1024, Mi: 1, Gi: 1024 } as const;
const toMiB = (q: string) => {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`memory quantity ${q}`);
  return Number(m[1]) * MIB[m[2] as keyof typeof MIB];
};
const toMillicores = (q: string) => {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (!m) throw new Error(`cpu quantity ${q}`);
  return m[2] ? Number(m[1]) : Number(m[1]) * 1000;
};

/** The collector container's CPU and memory limits and GOMEMLIMIT in the synthesized Deployment. */
export function collectorContainerLimits(): { cpuMillicores: number; memoryLimitMiB: number; goMemLimit?: string } {
  const d = synthObjects(defaultConfig()).find((o) => o.kind === 'Deployment' && o.metadata.name === 'otel-collector');
  if (!d) throw new Error('no otel-collector Deployment');
  const c = d.spec.template.spec.containers[0];
  return {
    cpuMillicores: toMillicores(String(c.resources.limits.cpu)), memoryLimitMiB: toMiB(c.resources.limits.memory),
    goMemLimit: c.env?.find((e: { name: string }) => e.name === 'GOMEMLIMIT')?.value,
  };
}

type Phase = 'base' | 'overload' | 'after';
interface Sample { t: number; phase: Phase; rssKb: number; cgUsage?: number; accepted: number; refused: number; failed: number; ticks: number }

/**
 * Starts the collector with its first instruction inside `cg`: binaryPath() is pointed, for this one
 * start, at a copy of the cache layout whose otelcol-chat is a script that joins the cgroup and execs
 * the real binary (same PID), so test/support/collector.ts needs no launcher option.
 */
async function startInCgroup(options: CollectorOptions, cg: Cgroup): Promise<RunningCollector> {
  const real = binaryPath(COLLECTOR_BINARY);
  const cache = mkdtempSync(join(tmpdir(), 'chat-monitoring-cgroup-bin-'));
  const saved = process.env.CHAT_MONITORING_BIN_CACHE;
  try {
    const dir = join(cache, basename(dirname(real)));
    mkdirSync(dir);
    writeFileSync(join(dir, COLLECTOR_BINARY), cg.startScript(real), { mode: 0o755 });
    process.env.CHAT_MONITORING_BIN_CACHE = cache;
    if (binaryPath(COLLECTOR_BINARY) !== join(dir, COLLECTOR_BINARY)) throw new Error('the cgroup start script is not where binaryPath() looks');
    return await RunningCollector.start(options);
  } finally {
    if (saved === undefined) delete process.env.CHAT_MONITORING_BIN_CACHE;
    else process.env.CHAT_MONITORING_BIN_CACHE = saved;
    // The running collector holds the real binary, not the script.
    rmSync(cache, { recursive: true, force: true });
  }
}

/** Points/s a collector accepts, and CPU-s per million points, while offered `pods` (beyond its quota) for `seconds`. */
async function saturate(options: CollectorOptions, cg: Cgroup, pods: readonly LoadPod[], seconds: number, warmupS: number): Promise<{ acceptedPerS: number; cpuPerM: number; throttled: string }> {
  const c = await startInCgroup(options, cg);
  let load: RunningLoad | undefined;
  try {
    load = await RunningLoad.start({ url: c.otlpGrpcUrl, pods, stubAttribute: STUB_POD_ATTRIBUTE, intervalMs: 1000 });
    await sleep(warmupS * 1000);
    const read = async () => ({ t: Date.now(), a: await selfCounter(c, 'otelcol_receiver_accepted_metric_points'), ticks: cpuTicks(c.pid!), cg: cg.stats() });
    const x = await read();
    await sleep((seconds - warmupS) * 1000);
    const y = await read();
    return {
      acceptedPerS: (y.a - x.a) / ((y.t - x.t) / 1000), cpuPerM: (y.ticks - x.ticks) / 100 / ((y.a - x.a) / 1e6),
      throttled: `${y.cg.nrThrottled! - x.cg.nrThrottled!} of ${y.cg.nrPeriods! - x.cg.nrPeriods!} periods throttled`,
    };
  } finally {
    await load?.stop();
    await c.stop();
  }
}

const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const DEFAULT_OPTIONS = { basePods: 20, maxPods: 300, fallbackExtraPods: 160, phaseS: 25, overloadS: 60, afterS: 40, calibrateS: 25, warmupS: 8 };
type OverloadOptions = typeof DEFAULT_OPTIONS;
type Limits = ReturnType<typeof collectorContainerLimits>;
type Ramp = Awaited<ReturnType<typeof saturate>>;
type Mark = Phase | 'end';
const CGROUP_NAME = 'chat-monitoring-otelcol';

/** Runs `f` with GOMEMLIMIT as the Deployment sets it (a collector started meanwhile inherits it), then restores it. */
async function withGoMemLimit<T>(goMemLimit: string | undefined, f: () => Promise<T>): Promise<T> {
  const saved = process.env.GOMEMLIMIT;
  try {
    if (goMemLimit) process.env.GOMEMLIMIT = goMemLimit;
    return await f();
  } finally {
    if (saved === undefined) delete process.env.GOMEMLIMIT;
    else process.env.GOMEMLIMIT = saved;
  }
}

/**
 * Every second while a phase lasts: the collector's RSS, CPU ticks and counters, the cgroup's usage
 * and the generators' failed Exports; at each phase's start, the cgroup's stats and the failures by code.
 */
class OverloadSampler {
  readonly samples: Sample[] = [];
  readonly cgAt: Partial<Record<Mark, CgroupStats>> = {};
  readonly failedByAt: Partial<Record<Mark, Record<string, number>>> = {};
  private readonly t0 = Date.now();

  constructor(private readonly c: RunningCollector, private readonly cg: Cgroup | undefined, private readonly loads: readonly RunningLoad[]) {}

  /** Seconds since the sampler started. */
  elapsedS(): number {
    return (Date.now() - this.t0) / 1000;
  }

  mark(at: Mark): void {
    this.cgAt[at] = this.cg?.stats();
    const failedBy: Record<string, number> = {};
    for (const l of this.loads) for (const [code, n] of Object.entries(l.failedBy)) failedBy[code] = (failedBy[code] ?? 0) + n;
    this.failedByAt[at] = failedBy;
  }

  async sample(phase: Phase, seconds: number): Promise<void> {
    this.mark(phase);
    const { c, cg } = this;
    const pid = c.pid!;
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end && c.running) {
      const next = Date.now() + 1000;
      try {
        const accepted = await selfCounter(c, 'otelcol_receiver_accepted_metric_points');
        const refused = await selfCounter(c, 'otelcol_receiver_refused_metric_points');
        // Time and CPU read together, after the (possibly slow) scrapes.
        this.samples.push({
          t: this.elapsedS(), ticks: cpuTicks(pid), phase, rssKb: procStatusKb(pid, 'VmRSS') ?? 0, cgUsage: cg?.stats().usageBytes,
          accepted, refused, failed: this.loads.reduce((s, l) => s + l.failed, 0),
        });
      } catch {
        // a scrape that timed out under load: no sample this second
      }
      await sleep(Math.max(0, next - Date.now()));
    }
  }
}

type Rate = Sample & { from: number; acc: number; ref: number; fail: number; cores: number };

/** Per second, from each sample to the next. */
function ratesOf(samples: readonly Sample[]): Rate[] {
  return samples.slice(1).map((s, i) => {
    const p = samples[i];
    const dt = s.t - p.t;
    return { ...s, from: p.t, acc: (s.accepted - p.accepted) / dt, ref: (s.refused - p.refused) / dt, fail: s.failed - p.failed, cores: (s.ticks - p.ticks) / 100 / dt };
  });
}

/** One phase's figures, time-weighted over the phase: from the last sample before it to its last one. */
function phaseStats(ph: Phase, sampler: OverloadSampler, rates: readonly Rate[]) {
  const { samples, cgAt, failedByAt } = sampler;
  const r = rates.filter((x) => x.phase === ph);
  const i0 = samples.findIndex((x) => x.phase === ph);
  const [s0, s1] = [samples[Math.max(0, i0 - 1)], samples.filter((x) => x.phase === ph).pop()!];
  const dt = s1.t - s0.t;
  const refusing = r.filter((x) => x.ref > 0);
  const next = ph === 'base' ? 'overload' : ph === 'overload' ? 'after' : 'end';
  const [a, b] = [cgAt[ph], cgAt[next]];
  const [fa, fb] = [failedByAt[ph] ?? {}, failedByAt[next] ?? {}];
  return {
    acc: (s1.accepted - s0.accepted) / dt, cores: (s1.ticks - s0.ticks) / 100 / dt, refused: s1.refused - s0.refused,
    refusingS: refusing.length ? Math.round(refusing[refusing.length - 1].t - refusing[0].from) : 0,
    failed: Object.entries(fb).map(([code, n]) => [code, n - (fa[code] ?? 0)] as const).filter(([, n]) => n > 0),
    peakRss: Math.max(0, ...r.map((x) => x.rssKb)) * 1024, peakCg: Math.max(0, ...r.map((x) => x.cgUsage ?? 0)),
    throttled: a && b && b.nrPeriods !== undefined && a.nrPeriods !== undefined ? `${b.nrThrottled! - a.nrThrottled!} of ${b.nrPeriods - a.nrPeriods} periods throttled` : '',
  };
}

/**
 * Seconds from the drop of the extra load (`tDrop`) to the end of the first second from which
 * nothing is refused any more and the accepted rate, as a 3 s mean, stays within 10 % of the base
 * load (a backlog drains above it); undefined if that never happens.
 */
function recoverySeconds(rates: readonly Rate[], offeredAfter: number, tDrop: number): number | undefined {
  const after = rates.filter((r) => r.phase === 'after');
  const mean3 = (i: number) => after.slice(i, i + 3).reduce((s, r) => s + r.acc, 0) / after.slice(i, i + 3).length;
  const recoveredAt = after.findIndex((_, i) => after.slice(i).every((r) => r.ref === 0) && after.slice(i, -2).every((__, j) => Math.abs(mean3(i + j) - offeredAfter) <= 0.1 * offeredAfter));
  return recoveredAt < 0 ? undefined : Math.max(0, Math.round(after[recoveredAt].t - tDrop));
}

/** The collector's options for the overload: the chart's config; without a cgroup, memory_limiter given the MiB its percentages would give in the container. */
function overloadCollectorOptions(limits: Limits, noCgroup: string | undefined, pods: readonly LoadPod[]): CollectorOptions & ReturnType<typeof variantOptions> {
  const options = variantOptions('chart', pods);
  const ml = options.config.processors.memory_limiter;
  if (noCgroup) {
    options.config.processors.memory_limiter = {
      check_interval: ml.check_interval,
      limit_mib: Math.floor((limits.memoryLimitMiB * ml.limit_percentage) / 100), spike_limit_mib: Math.floor((limits.memoryLimitMiB * ml.spike_limit_percentage) / 100),
    };
  }
  return options;
}

/** What the collector's limits sustain: a separate collector in an identical cgroup offered every pod at once. */
async function calibrate(options: CollectorOptions, limits: Limits, pods: readonly LoadPod[], opts: OverloadOptions): Promise<Ramp> {
  const calibration = Cgroup.create(CGROUP_NAME, { cpuMillicores: limits.cpuMillicores, memoryBytes: limits.memoryLimitMiB * 2 ** 20 });
  try {
    return await withGoMemLimit(limits.goMemLimit, () => saturate(options, calibration, pods, opts.calibrateS, opts.warmupS));
  } finally {
    await calibration.remove();
  }
}

/** The limits memory_limiter computed at start, from its log: "Using percentage memory limiter" names the total it took the percentages of; "Memory limiter configured" the MiB. */
function limiterComputed(c: RunningCollector) {
  const logged = (key: string) => Number(new RegExp(`"${key}":\\s*(\\d+)`).exec(c.output)?.[1] ?? NaN);
  return { totalMiB: logged('total_memory_mib'), limitMiB: logged('limit_mib'), spikeMiB: logged('spike_limit_mib') };
}

/** Everything one overload run measured, for its rows and notes. */
interface OverloadRun {
  readonly opts: OverloadOptions;
  readonly limits: Limits;
  readonly cg?: Cgroup;
  readonly noCgroup?: string;
  readonly options: ReturnType<typeof variantOptions>;
  readonly all: readonly LoadPod[];
  readonly ramp?: Ramp;
  readonly computed: ReturnType<typeof limiterComputed>;
  readonly sampler: OverloadSampler;
  readonly base: RunningLoad;
  readonly extra: RunningLoad;
  readonly extraPods: number;
  readonly baseCpuPerM: number;
  readonly sustainable: number;
  readonly tExtra: number;
  readonly tDrop: number;
  readonly crashed: boolean;
  readonly hwmKb: number;
  readonly limiterLog: { gc: number; refusing: number; resumed: number };
}

/** Where the collector ran, as the rows and notes say it. */
function whereItRan({ cg, limits, options, noCgroup }: OverloadRun): string {
  const ml = options.config.processors.memory_limiter;
  return cg
    ? `in a cgroup v${cg.version} of ${limits.cpuMillicores}m CPU / ${limits.memoryLimitMiB} MiB, GOMEMLIMIT ${limits.goMemLimit}, memory_limiter ${ml.limit_percentage} % / ${ml.spike_limit_percentage} % unchanged`
    : `no cgroup (${noCgroup}); memory_limiter given ${ml.limit_mib}/${ml.spike_limit_mib} MiB, GOMEMLIMIT ${limits.goMemLimit}`;
}

/** The limits memory_limiter computed and the sizing ramp, or why there was no cgroup. */
function limitsRows(run: OverloadRun, offeredOverload: number): Row[] {
  const { cg, limits, computed, all, opts, ramp, sustainable, baseCpuPerM, extraPods, base, noCgroup } = run;
  if (!cg) return [{ section: '7', measure: 'collector overload in a cgroup with the Deployment\'s limits', value: `skipped: ${noCgroup}; ran without a cgroup instead (rows below)` }];
  const pickedCgroup = computed.totalMiB === limits.memoryLimitMiB;
  const perPod = base.pointsPerRound / opts.basePods;
  return [
    {
      section: '7', measure: `collector overload, ${whereItRan(run)}: the limits memory_limiter computed at start (its log: total_memory_mib, limit_mib, spike_limit_mib)`,
      value: `${computed.totalMiB} MiB total (the cgroup's ${pickedCgroup ? '' : 'NOT '}limit) -> ${computed.limitMiB} MiB limit, ${computed.spikeMiB} MiB spike (soft limit ${computed.limitMiB - computed.spikeMiB} MiB)`,
      target: `total ${limits.memoryLimitMiB} MiB`, pass: pickedCgroup,
    },
    {
      section: '7', measure: `sizing ramp: a separate collector in the same limits offered all ${all.length} pods (${k(all.length * perPod)} points/s) for ${opts.calibrateS} s: points/s accepted after ${opts.warmupS} s (= what ${limits.cpuMillicores}m sustains), its CPU-s per million points (base phase: ${baseCpuPerM.toFixed(1)}); offered in the overload`,
      value: `${k(sustainable)}/s sustained, ${ramp!.cpuPerM.toFixed(1)} CPU-s/M, ${ramp!.throttled}; ${opts.basePods} + ${extraPods} pods offer ${k(offeredOverload)}/s (${(offeredOverload / sustainable).toFixed(2)}x)`,
    },
  ];
}

function overloadReport(run: OverloadRun): { rows: Row[]; notes: string[] } {
  const { opts, limits, cg, all, sampler, base, extra, sustainable, tExtra, tDrop, crashed, hwmKb, limiterLog } = run;
  const { samples } = sampler;
  const limitBytes = limits.memoryLimitMiB * 2 ** 20;
  const rates = ratesOf(samples);
  const offered = { base: base.pointsPerRound, overload: base.pointsPerRound + extra.pointsPerRound, after: base.pointsPerRound };
  const recoveredS = recoverySeconds(rates, offered.after, tDrop);
  const refusingOverall = rates.filter((r) => r.ref > 0);
  process.stderr.write(`overload samples [phase, s, RSS MiB, cgroup MiB, accepted/s, refused/s, failed Exports, cores] ${JSON.stringify(rates.map((r) => [r.phase[0], Math.round(r.t), Math.round(r.rssKb / 1024), Math.round((r.cgUsage ?? 0) / 2 ** 20), Math.round(r.acc), Math.round(r.ref), r.fail, Number(r.cores.toFixed(2))]))}\n`);

  const end = sampler.cgAt.end;
  const oomKills = end?.oomKills;
  const where = whereItRan(run);
  const rows: Row[] = limitsRows(run, offered.overload);
  for (const ph of ['base', 'overload', 'after'] as const) {
    const s = phaseStats(ph, sampler, rates);
    rows.push({
      section: '7', measure: `${ph} phase (${ph === 'overload' ? opts.overloadS : ph === 'base' ? opts.phaseS : opts.afterS} s, ${k(offered[ph])} points/s offered): accepted/s (mean), collector cores (mean), refused points (seconds refusing), failed Export calls, peak RSS, peak cgroup usage${cg ? ', CPU throttling' : ''}`,
      value: `${k(s.acc)}/s, ${s.cores.toFixed(2)} cores; ${s.refused.toLocaleString('en')} refused (${s.refusingS} s); ${s.failed.reduce((n, [, x]) => n + x, 0)} failed Exports${s.failed.length ? ` (${s.failed.map(([code, n]) => `${code} ${n}`).join(', ')})` : ''}; RSS ${mb(s.peakRss)}${cg ? `, cgroup ${mb(s.peakCg)}, ${s.throttled}` : ''}`,
    });
  }
  rows.push({
    section: '7', measure: `whole run: peak RSS (VmHWM)${cg ? ', cgroup memory.max_usage_in_bytes, times the limit was hit (failcnt), OOM kills' : ''} vs the ${limits.memoryLimitMiB} MiB limit; collector still running`,
    value: `${mb(hwmKb * 1024)}${cg ? `, ${mb(end?.maxUsageBytes ?? 0)}, failcnt ${end?.failcnt}, ${oomKills ?? 'no oom_kill count from this kernel'} OOM kills` : ''}; ${crashed ? 'CRASHED' : 'running'}`,
    target: `< ${limits.memoryLimitMiB} MiB, 0 OOM kills, running`,
    pass: !crashed && hwmKb * 1024 < limitBytes && (oomKills ?? 0) === 0,
  });
  const [first, last] = [samples[0], samples[samples.length - 1]];
  // Offered over the run (rate x time each generator ran) against what the collector counted.
  const offeredTotal = base.pointsPerRound * (last.t - first.t) + extra.pointsPerRound * (tDrop - tExtra);
  const acceptedTotal = last.accepted - first.accepted;
  const refusedTotal = last.refused - first.refused;
  const failedTotal = sampler.failedByAt.end ?? {};
  rows.push({
    section: '7', measure: `refusals and recovery: when points were refused (s from the start; extra load ${Math.round(tExtra)}..${Math.round(tDrop)} s), memory_limiter's log lines (Forcing a GC / Refusing data / Resuming normal operation), seconds after the extra load stopped until nothing is refused and accepted = offered (${k(offered.after)}/s, 3 s mean within 10 %)`,
    value: `${refusingOverall.length ? `${Math.round(refusingOverall[0].from)}..${Math.round(refusingOverall[refusingOverall.length - 1].t)} s` : 'never'}; log ${limiterLog.gc} / ${limiterLog.refusing} / ${limiterLog.resumed}; back to normal ${recoveredS === undefined ? `not within ${opts.afterS} s` : `${recoveredS} s after the drop`}`,
    target: `< ${opts.afterS} s`, pass: recoveredS !== undefined && !crashed,
  });
  rows.push({
    section: '7', measure: 'lost over the whole run: points refused (in Export calls that failed UNAVAILABLE; the generator does not retry them), Export calls past their 10 s deadline, offered (rate x time) minus accepted minus refused = points neither accepted nor refused (timed out and dropped, or in flight when the extra generator stopped)',
    value: `${refusedTotal.toLocaleString('en')} refused (${(refusedTotal / offeredTotal * 100).toFixed(1)} % of ${offeredTotal.toLocaleString('en', { maximumFractionDigits: 0 })} offered); ${failedTotal.DEADLINE_EXCEEDED ?? 0} Exports past deadline, ${failedTotal.UNAVAILABLE ?? 0} UNAVAILABLE${Object.keys(failedTotal).filter((x) => x !== 'DEADLINE_EXCEEDED' && x !== 'UNAVAILABLE').map((x) => `, ${failedTotal[x]} ${x}`).join('')}; ≈ ${Math.max(0, offeredTotal - acceptedTotal - refusedTotal).toLocaleString('en', { maximumFractionDigits: 0 })} neither`,
  });
  const notes = [
    `Section 7 overload: otelcol-chat on the chart's collector config (k8sattributes stubbed for ${all.length} pods), ${where}. ` +
      (cg ? `Started inside the cgroup by a /bin/sh script that writes its PID to cgroup.procs and execs the binary. Offered load = ${(offered.overload / sustainable).toFixed(2)}x what ${limits.cpuMillicores}m sustains, measured by a ${opts.calibrateS} s ramp to saturation on a separate collector in the same limits (points/s accepted while throttled). ` : '') +
      `Phases ${opts.phaseS} s base / ${opts.overloadS} s base + extra / ${opts.afterS} s base, sampled every second. ` +
      'The load generator does not retry a failed Export (refused or past its 10 s deadline): that round of that pod is dropped, and the pod\'s next Export, a second later, carries its cumulative counters and histograms, so refused points cost samples (resolution), not counts. ' +
      'A real OTLP SDK exporter retries retryable codes with backoff instead.',
  ];
  return { rows, notes };
}

export async function benchCollectorOverload(opts: OverloadOptions = DEFAULT_OPTIONS): Promise<{ rows: Row[]; notes: string[] }> {
  const limits = collectorContainerLimits();
  const noCgroup = cgroupsUnavailable();
  // The stub identity must know every pod at start, so it holds the largest set the sizing may pick.
  const all = loadPods(noCgroup ? opts.basePods + opts.fallbackExtraPods : opts.maxPods);
  const options = overloadCollectorOptions(limits, noCgroup, all);
  const ramp = noCgroup ? undefined : await calibrate(options, limits, all, opts);
  const cg = noCgroup ? undefined : Cgroup.create(CGROUP_NAME, { cpuMillicores: limits.cpuMillicores, memoryBytes: limits.memoryLimitMiB * 2 ** 20 });
  let collector: RunningCollector | undefined;
  const loads: RunningLoad[] = [];
  try {
    collector = await withGoMemLimit(limits.goMemLimit, () => (cg ? startInCgroup(options, cg) : RunningCollector.start(options)));
    const c = collector;
    const pid = c.pid!;
    if (cg && !cg.pids().includes(pid)) throw new Error(`collector PID ${pid} is not in the cgroup (${cg.pids().join(', ')})`);
    const computed = limiterComputed(c);

    const base = await RunningLoad.start({ url: c.otlpGrpcUrl, pods: all.slice(0, opts.basePods), stubAttribute: STUB_POD_ATTRIBUTE, intervalMs: 1000 });
    loads.push(base);
    const sampler = new OverloadSampler(c, cg, loads);
    await sampler.sample('base', opts.phaseS);

    // CPU per point at the base load, for comparison with the ramp's (batches are smaller here).
    const warm = sampler.samples.filter((s) => s.t >= opts.warmupS);
    const [w0, w1] = [warm[0], warm[warm.length - 1]];
    const baseCpuPerM = (w1.ticks - w0.ticks) / 100 / ((w1.accepted - w0.accepted) / 1e6);
    const sustainable = ramp?.acceptedPerS ?? NaN;
    const perPod = base.pointsPerRound / opts.basePods;
    const extraPods = noCgroup ? opts.fallbackExtraPods
      : Math.max(1, Math.min(opts.maxPods - opts.basePods, Math.round((2 * sustainable - base.pointsPerRound) / perPod)));

    const extra = await RunningLoad.start({ url: c.otlpGrpcUrl, pods: all.slice(opts.basePods, opts.basePods + extraPods), stubAttribute: STUB_POD_ATTRIBUTE, intervalMs: 1000 });
    loads.push(extra);
    const tExtra = sampler.elapsedS();
    await sampler.sample('overload', opts.overloadS);
    await extra.stop();
    const tDrop = sampler.elapsedS();
    await sampler.sample('after', opts.afterS);
    sampler.mark('end');
    const crashed = !c.running;
    const hwmKb = procStatusKb(pid, 'VmHWM') ?? Math.max(...sampler.samples.map((s) => s.rssKb));
    // The limiter's own account: how often it forced a GC, started refusing, resumed.
    const logCount = (re: RegExp) => c.output.split('\n').filter((l) => re.test(l)).length;
    const limiterLog = { gc: logCount(/Forcing a GC/), refusing: logCount(/Refusing data/), resumed: logCount(/Resuming normal operation/) };
    process.stderr.write(`memory_limiter log:\n${c.output.split('\n').filter((l) => /memory ?limiter|memory usage/i.test(l)).slice(0, 30).join('\n')}\n`);
    return overloadReport({
      opts, limits, cg, noCgroup, options, all, ramp, computed, sampler, base, extra, extraPods, baseCpuPerM, sustainable, tExtra, tDrop, crashed, hwmKb, limiterLog,
    });
  } finally {
    for (const l of loads) await l.stop();
    await collector?.stop();
    await cg?.remove();
  }
}

export const overloadSection: BenchSection<SectionReport> = {
  name: 'overload',
  label: 'collector overload',
  unavailable: () => binariesUnavailable(COLLECTOR_BINARIES),
  skippedRow: { section: '7', measure: 'collector at twice its load' },
  run: () => benchCollectorOverload(),
};

if (require.main === module) runSectionAlone(overloadSection);
