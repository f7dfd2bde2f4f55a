/**
 * Section 7, second half (issue 14, 2): the real collector on the chart's config at about twice the
 * load it sustains on this machine, with the memory limits the Deployment gives it: GOMEMLIMIT from
 * the synthesized Deployment, and memory_limiter's limit_percentage / spike_limit_percentage turned
 * into the MiB the limiter computes inside the container's memory limit (a test machine has no such
 * cgroup limit; the limiter would take the percentages of the whole machine's RAM).
 *
 * Phases: base load (`basePods` pods) for `phaseS`; base + extra pods (overload) for `overloadS`;
 * base alone again for `phaseS`. Every second: RSS, accepted/refused points (the collector's own
 * counters), the generators' failed Export calls. Reported: peak RSS against the limit, whether the
 * collector kept running, what was refused or lost and for how long, and how long after the extra
 * load stopped the base load was accepted in full again.
 */
import { binariesUnavailable } from '../test/support/binaries';
import { COLLECTOR_BINARIES, RunningCollector, STUB_POD_ATTRIBUTE } from '../test/support/collector';
import { defaultConfig, synthObjects } from '../test/support/manifests';
import { sleep } from '../test/support/process';
import { loadPods, selfCounter, variantOptions } from './collector-throughput';
import { RunningLoad } from './lib/otlp-load';
import { procStatusKb } from './lib/measure';
import { Row } from './lib/report';

const MIB = { Ki: 1 / 1024, Mi: 1, Gi: 1024 } as const;
const toMiB = (q: string) => {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`memory quantity ${q}`);
  return Number(m[1]) * MIB[m[2] as keyof typeof MIB];
};

/** The collector container's memory limit and GOMEMLIMIT in the synthesized Deployment. */
export function collectorContainerLimits(): { memoryLimitMiB: number; goMemLimit?: string } {
  const d = synthObjects(defaultConfig()).find((o) => o.kind === 'Deployment' && o.metadata.name === 'otel-collector');
  if (!d) throw new Error('no otel-collector Deployment');
  const c = d.spec.template.spec.containers[0];
  return { memoryLimitMiB: toMiB(c.resources.limits.memory), goMemLimit: c.env?.find((e: { name: string }) => e.name === 'GOMEMLIMIT')?.value };
}

interface Sample { t: number; phase: 'base' | 'overload' | 'after'; rssKb: number; accepted: number; refused: number; failedExports: number }

export async function benchCollectorOverload(opts = { basePods: 20, extraPods: 160, phaseS: 25, overloadS: 60 }): Promise<{ rows: Row[]; notes: string[] }> {
  const unavailable = binariesUnavailable(COLLECTOR_BINARIES);
  if (unavailable) return { rows: [{ section: '7', measure: 'collector at twice its load', value: `skipped: ${unavailable}` }], notes: [] };
  const limits = collectorContainerLimits();
  const all = loadPods(opts.basePods + opts.extraPods);
  const options = variantOptions('chart', all);
  const ml = options.config.processors.memory_limiter;
  const limitMiB = Math.floor((limits.memoryLimitMiB * ml.limit_percentage) / 100);
  const spikeMiB = Math.floor((limits.memoryLimitMiB * ml.spike_limit_percentage) / 100);
  options.config.processors.memory_limiter = { check_interval: ml.check_interval, limit_mib: limitMiB, spike_limit_mib: spikeMiB };
  const savedGoMemLimit = process.env.GOMEMLIMIT;
  if (limits.goMemLimit) process.env.GOMEMLIMIT = limits.goMemLimit;
  let collector: RunningCollector;
  try {
    collector = await RunningCollector.start(options);
  } finally {
    if (savedGoMemLimit === undefined) delete process.env.GOMEMLIMIT;
    else process.env.GOMEMLIMIT = savedGoMemLimit;
  }
  const loads: RunningLoad[] = [];
  const samples: Sample[] = [];
  try {
    const pid = collector.pid!;
    const base = await RunningLoad.start({ url: collector.otlpGrpcUrl, pods: all.slice(0, opts.basePods), stubAttribute: STUB_POD_ATTRIBUTE, intervalMs: 1000 });
    loads.push(base);
    let extra: RunningLoad | undefined;
    const t0 = Date.now();
    let phase: Sample['phase'] = 'base';
    const sample = async () => {
      samples.push({
        t: (Date.now() - t0) / 1000, phase, rssKb: procStatusKb(pid, 'VmRSS') ?? 0,
        accepted: await selfCounter(collector, 'otelcol_receiver_accepted_metric_points'),
        refused: await selfCounter(collector, 'otelcol_receiver_refused_metric_points'),
        failedExports: loads.reduce((s, l) => s + l.failed, 0),
      });
    };
    const run = async (seconds: number) => {
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end && collector.running) {
        await sample().catch(() => undefined);
        await sleep(1000);
      }
    };
    await run(opts.phaseS);
    phase = 'overload';
    extra = await RunningLoad.start({ url: collector.otlpGrpcUrl, pods: all.slice(opts.basePods), stubAttribute: STUB_POD_ATTRIBUTE, intervalMs: 1000 });
    loads.push(extra);
    await run(opts.overloadS);
    const extraFailed = extra.failed;
    const extraSent = extra.sent;
    await extra.stop();
    phase = 'after';
    await run(opts.phaseS);
    const crashed = !collector.running;
    const hwmKb = procStatusKb(pid, 'VmHWM') ?? Math.max(...samples.map((s) => s.rssKb));
    // Per-second rates from consecutive samples.
    const rates = samples.slice(1).map((s, i) => ({ ...s, acc: (s.accepted - samples[i].accepted) / (s.t - samples[i].t), ref: (s.refused - samples[i].refused) / (s.t - samples[i].t) }));
    const refusing = rates.filter((r) => r.ref > 0);
    const baseOffered = base.pointsPerRound;
    const after = rates.filter((r) => r.phase === 'after');
    // Drained: first second after the drop from which the accepted rate, as a 3 s mean, stays within
    // 10 % of the base load (a backlog drains above it, a stall shows below it).
    const mean3 = (i: number) => after.slice(i, i + 3).reduce((s, r) => s + r.acc, 0) / after.slice(i, i + 3).length;
    const recoveredAt = after.findIndex((_, i) => after.slice(i, -2).every((__, j) => Math.abs(mean3(i + j) - baseOffered) <= 0.1 * baseOffered));
    const overloadRates = rates.filter((r) => r.phase === 'overload');
    const offeredOverload = baseOffered + extra.pointsPerRound;
    const accOverload = overloadRates.length ? overloadRates.reduce((s, r) => s + r.acc, 0) / overloadRates.length : 0;
    const refusedTotal = samples[samples.length - 1].refused - samples[0].refused;
    process.stderr.write(`overload samples ${JSON.stringify(rates.map((r) => [r.phase[0], Math.round(r.t), Math.round(r.rssKb / 1024), Math.round(r.acc), Math.round(r.ref), r.failedExports]))}\n`);
    const rows: Row[] = [
      { section: '7', measure: `collector overload (${opts.basePods} + ${opts.extraPods} pods, ${(offeredOverload / 1000).toFixed(1)}k points/s offered for ${opts.overloadS} s): peak RSS vs the container limit (memory_limiter ${limitMiB}/${spikeMiB} MiB, GOMEMLIMIT ${limits.goMemLimit})`,
        value: `${(hwmKb / 1024).toFixed(0)} MB peak (VmHWM) vs ${limits.memoryLimitMiB} MiB`, target: `< ${limits.memoryLimitMiB} MiB, no crash`, pass: hwmKb / 1024 < limits.memoryLimitMiB && !crashed },
      { section: '7', measure: 'during the overload: accepted points/s (mean), points refused by memory_limiter (retryable), Export calls failed at the senders (deadline 10 s)',
        value: `${(accOverload / 1000).toFixed(1)}k/s of ${(offeredOverload / 1000).toFixed(1)}k/s; ${refusedTotal.toLocaleString('en')} refused over ${refusing.length} s; ${extraFailed + base.failed} failed of ${extraSent + base.sent + extraFailed + base.failed}` },
      { section: '7', measure: `after the extra load stops: seconds until the accepted rate settles back to the base load (${(baseOffered / 1000).toFixed(1)}k points/s, 3 s mean within 10 %); collector still running`,
        value: `${recoveredAt < 0 ? `not within ${opts.phaseS} s` : `${Math.round(after[recoveredAt].t - (after[0]?.t ?? 0) + 1)} s`}; ${crashed ? 'CRASHED' : 'running'}`, pass: recoveredAt >= 0 && !crashed, target: `< ${opts.phaseS} s` },
    ];
    const notes = [
      `Section 7 overload: the chart's collector config (stubbed identity) with memory_limiter set to the MiB its percentages give in the Deployment's ${limits.memoryLimitMiB} MiB limit (${limitMiB} limit, ${spikeMiB} spike), GOMEMLIMIT=${limits.goMemLimit} as the Deployment sets it; no cgroup CPU or memory limit on the test machine, so "twice the sustainable load" is twice what the collector accepted here on the CPU share it got. ` +
        `Phases ${opts.phaseS} s base / ${opts.overloadS} s base + extra / ${opts.phaseS} s base, sampled every second.`,
    ];
    return { rows, notes };
  } finally {
    for (const l of loads) await l.stop();
    await collector.stop();
  }
}

if (require.main === module) {
  benchCollectorOverload().then((r) => process.stdout.write(`${JSON.stringify(r, null, 1)}\n`)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
