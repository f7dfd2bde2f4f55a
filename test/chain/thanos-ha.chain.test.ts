/**
 * Issue 22's proof on the real chain, read through Thanos Query: real chat-service pods -> the real
 * collector on the chart's config -> TWO Prometheus processes on the configuration the real operator
 * generated, each as one pod of its StatefulSet sees it (its own `prometheus_replica` external label,
 * the operator's `$(POD_NAME)`), a Thanos sidecar beside each, and Thanos Query started with the
 * chart's `thanos-query` args (its `dnssrv+` endpoint of the sidecars' headless Service resolved to
 * the two sidecars here, as the cluster's DNS does).
 *
 * With both replicas up, every panel of every dashboard and every recording rule read through
 * Query shows the injected values (test/contract/panel-proof.ts), as each Prometheus does on its
 * own, and Query returns each series once: every panel's answer has each label set once, and each
 * service's series, held by both replicas (dedup=false shows both copies), come back once. Then one
 * Prometheus is killed (SIGKILL): over windows that start after the kill every panel and rule read
 * through Query still shows the injected values, from the surviving replica alone, and no
 * service's series has a gap in any 1-minute window from before the kill to the proof.
 *
 * The chart is the default config with chat-messaging on the stable convention (as
 * dashboards.chain.test.ts), so both conventions' dashboards are read through Query; the traffic is
 * the chain's (test/support/chain-traffic.ts) without pod events.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CHART_CONFIG } from '../../lib/chart-config';
import { PROMETHEUS_OPERATED_SERVICE } from '../../lib/charts/monitoring-charts';
import { STACK_DASHBOARD_FILE } from '../../lib/dashboards';
import { REPLICA_LABEL, srvName, THANOS_PORT_NAMES } from '../../lib/thanos/thanos-component';
import { ChatServiceKind, chatServiceKindFor, ChatWebSocket } from '../support/chat-service';
import { CHAIN_CONNECTIONS, CHAIN_MIX, chainExpectation, startChainPod } from '../support/chain-traffic';
import { configWith, K8sObject } from '../support/manifests';
import { operatorContainerArgs } from '../support/operator-config';
import { until } from '../support/process';
import { sleep } from '../support/prometheus';
import { ChatPod, describeWithChain, durationMs, LiveTraffic, PushChain, templateHash } from '../support/push-chain';
import { queryArgsForHere, THANOS_BINARIES, ThanosQuery, ThanosSidecar } from '../support/thanos';
import { DashboardFile, formatRows, grafanaInterpolate, panelsOf, provePanels, ProofInput, proveRecordingRules } from '../contract/panel-proof';
import { dashboardsOf } from '../contract/stack';
import { CONTRACT_NAMES, schedule } from '../contract/traffic';

const CONFIG = configWith({
  services: CHART_CONFIG.services.map((s) => (s.name === 'chat-messaging' ? { ...s, convention: 'stable' as const } : s)),
});
/** The operator's StatefulSet runs this many Prometheus pods: the chain runs as many processes. */
const REPLICAS = CONFIG.prometheusReplicas;
/** The replica killed mid-run (its pod's index). */
const KILLED = 0;
/** The 1-minute windows the panels read ($__rate_interval at the production scrape interval; GRAFANA_RATE_INTERVAL). */
const WINDOW_MS = 60_000;
/** The objectives the SLO panels are judged against. */
const SLOS = new Map(CONFIG.services.map((s) => [s.name, s.slo]));

interface Running {
  readonly service: (typeof CONFIG.services)[number];
  readonly kind: ChatServiceKind;
  readonly pods: ChatPod[];
  readonly sockets: ChatWebSocket[];
}

/** A metric's labels without `drop`, as one comparable string. */
const labelSet = (metric: Record<string, string>, drop: readonly string[] = []) =>
  JSON.stringify(Object.entries(metric).filter(([k]) => !drop.includes(k)).sort(([a], [b]) => a.localeCompare(b)));

describeWithChain('issue 22 on the real chain: two operator-configured Prometheus replicas behind Thanos sidecars, every panel and rule read through Thanos Query', () => {
  let chain: PushChain;
  let traffic: LiveTraffic | undefined;
  const sidecars: ThanosSidecar[] = [];
  let query: ThanosQuery;
  const running = new Map<string, Running>();
  /** Warnings (partial responses) of the answers read through Query, per proof. */
  const warnings: string[] = [];
  let killedAt = 0;
  /** The files the operator mounts into the sidecar (its Secrets), as copies here. */
  let sidecarFiles: string | undefined;
  const log: string[] = [];
  const note = (line: string) => log.push(line);

  const dashboards = (): DashboardFile[] => dashboardsOf(chain.objects).filter((d) => d.file !== STACK_DASHBOARD_FILE);
  const expectations = () => new Map([...running.values()].map((r) => [r.service.name, chainExpectation(r.service, r.kind, r.pods)]));
  const histogramCount = (r: Running) => `${CONTRACT_NAMES[r.service.convention].histogram}_count`;
  const alive = () => chain.prometheusServers.filter((_p, i) => !(killedAt && i === KILLED));
  const replicaName = (i: number) => `prometheus-${chain.one('Prometheus').metadata.name}-${i}`;

  /** Each rule group's query_offset (ms) by name, from the chart's PrometheusRules. */
  const offsets = (): Map<string, number> => new Map(chain.of('PrometheusRule').flatMap((o) =>
    o.spec.groups.map((g: { name: string; queryOffset?: string }): [string, number] => [g.name, g.queryOffset ? durationMs(g.queryOffset) : 0])));

  /**
   * Waits until every live replica holds `timeS` whole: each target scraped after it (a pushed
   * point measured by then has reached the collector within the pods' 1 s export interval) and
   * each rule group evaluated for a time at or after it (its evaluation time less its query_offset).
   */
  async function heldBy(timeS: number): Promise<void> {
    const t = timeS * 1000;
    const byOffset = offsets();
    const lastRule = Math.max(...byOffset.values());
    await sleep(t + Math.max(lastRule, chain.scrapeIntervalMs) - Date.now());
    for (const p of alive()) {
      await until(`${p.url} scraped every target after ${new Date(t).toISOString()}`, async () => {
        const targets = await p.activeTargets();
        return targets.length > 0 && targets.every((x) => Date.parse(x.lastScrape) > t + 2_000) ? true : undefined;
      }, 3 * chain.scrapeIntervalMs + 30_000, 500);
      await until(`${p.url} evaluated every rule group for ${new Date(t).toISOString()}`, async () => {
        const groups = await p.ruleGroups();
        return groups.length > 0 && groups.every((g) => Date.parse(g.lastEvaluation) - (byOffset.get(g.name) ?? 0) >= t) ? true : undefined;
      }, 3 * chain.evaluationIntervalMs + 30_000, 500);
    }
  }

  /** Every panel of the chat dashboards and every recording rule, read from `prometheus` at `time`: the failures, formatted. */
  async function proveAll(prometheus: ProofInput['prometheus'], time: number, what: string): Promise<string> {
    const all = dashboards();
    const panels = await provePanels({ prometheus, dashboards: all, expectations: expectations(), slos: SLOS, time });
    const rules = await proveRecordingRules({ prometheus, rules: chain.rules, services: CONFIG.services, recordingWindow: CONFIG.recordingWindow, expectations: expectations(), slos: SLOS, time });
    note(`${what}: ${panels.panels} panels of ${all.length} dashboards, ${panels.rows.length} values; ${rules.records} recorded series, ${rules.proven} values; ${panels.failures.length + rules.failures.length} failures`);
    if (panels.panels !== all.reduce((a, d) => a + panelsOf(d.json).length, 0)) return `${what}: not every panel was read`;
    return [formatRows(panels.failures), ...rules.failures].filter(Boolean).map((l) => `${what}: ${l}`).join('\n');
  }

  /** Every panel target read through Query at `time`: the label sets returned twice (none is right). */
  async function repeatedLabelSets(time: number): Promise<{ series: number; repeated: string[] }> {
    let series = 0;
    const repeated: string[] = [];
    for (const d of dashboards()) {
      for (const p of panelsOf(d.json)) {
        for (const t of (p.targets ?? []).filter((x) => x.expr)) {
          const r = await query.query(grafanaInterpolate(t.expr!, d.json), { time });
          warnings.push(...r.warnings);
          const seen = new Set<string>();
          for (const x of r.result) {
            const key = labelSet(x.metric);
            if (seen.has(key)) repeated.push(`${d.file} | ${p.title} | ${key}`);
            seen.add(key);
            if (REPLICA_LABEL in x.metric) repeated.push(`${d.file} | ${p.title} | ${key}: carries ${REPLICA_LABEL}`);
          }
          series += r.result.length;
        }
      }
    }
    return { series, repeated };
  }

  beforeAll(async () => {
    const started = Date.now();
    chain = await PushChain.start({ config: CONFIG, prometheusReplicas: REPLICAS });
    note(`chain up in ${((Date.now() - started) / 1000).toFixed(1)} s (${Object.entries(chain.timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')})`);
    note(`scrape interval ${chain.scrapeIntervalMs / 1000} s, evaluation interval ${chain.evaluationIntervalMs / 1000} s`);

    // A sidecar beside each Prometheus, and Query on the chart's args: its one StoreAPI endpoint is
    // the SRV record of the sidecars' headless Service, which resolves to every Prometheus pod.
    sidecarFiles = mkdtempSync(join(tmpdir(), 'chat-monitoring-sidecar-files-'));
    const prometheusCr = chain.one('Prometheus');
    const statefulSet = chain.cp.admin.json<K8sObject>(['get', 'statefulset', `prometheus-${prometheusCr.metadata.name}`, '-n', prometheusCr.metadata.namespace!]);
    const statefulSetArgs = operatorContainerArgs(chain.cp, statefulSet, 'thanos-sidecar', sidecarFiles);
    note(`the operator's thanos-sidecar args: ${statefulSetArgs.join(' ')}`);
    for (const p of chain.prometheusServers) sidecars.push(await ThanosSidecar.start({ prometheusUrl: p.url, tsdbPath: join(p.workdir, 'data'), statefulSetArgs }));
    const ns = chain.one('Prometheus').metadata.namespace!;
    const sidecarsSrv = `dnssrv+${srvName(PROMETHEUS_OPERATED_SERVICE, ns, THANOS_PORT_NAMES.grpc)}`;
    const chartArgs: string[] = chain.one('Deployment', 'thanos-query').spec.template.spec.containers[0].args;
    const args = queryArgsForHere(chartArgs, (address) => {
      if (address !== sidecarsSrv) throw new Error(`the chart's Query reads ${address}, which this test does not run`);
      return sidecars.map((s) => s.grpcAddress);
    });
    note(`thanos query ${args.join(' ')}`);
    query = await ThanosQuery.start({ args });

    await Promise.all(CONFIG.services.map(async (service) => {
      const kind = chatServiceKindFor(service);
      const r: Running = { service, kind, pods: [], sockets: [] };
      running.set(service.name, r);
      const hash = templateHash();
      for (let i = 0; i < CHAIN_MIX[kind].pods; i++) r.pods.push(await startChainPod(chain, service, kind, hash));
    }));
    for (const r of running.values()) {
      if (!r.service.websocketGauge) continue;
      for (const [i, pod] of r.pods.entries()) for (let n = 0; n < (CHAIN_CONNECTIONS[i] ?? 1); n++) r.sockets.push(await pod.openWebSocket());
    }
    // Every target up in each replica before the traffic starts.
    for (const p of chain.prometheusServers) {
      await until(`${p.url}: every target up`, async () => {
        const targets = await p.activeTargets();
        if (targets.length > 0 && targets.every((t) => t.health === 'up')) return true;
        throw new Error(`targets: ${JSON.stringify(targets.map((t) => [t.scrapeUrl, t.health, t.lastError]))}`);
      }, 60_000, 500);
    }
    traffic = new LiveTraffic([...running.values()].map((r) => ({ name: r.service.name, rps: CHAIN_MIX[r.kind].rps, order: schedule(CHAIN_MIX[r.kind].mix), pods: r.pods })));
    // Both sidecars serve Query: each replica's copy of `up` through it (a Thanos process that exits ends the wait).
    const exited = () => [...sidecars, query].find((t) => !t.running);
    const waited = await until('both replicas\' copies through Query', async () => exited()
      ?? (new Set((await query.query('up', { dedup: false })).result.map((x) => x.metric[REPLICA_LABEL])).size === REPLICAS || undefined), 120_000, 1000);
    if (waited !== true) throw new Error(`a Thanos process exited:\n${waited.output.slice(-3000)}`);
  }, 420_000);

  afterAll(async () => {
    await traffic?.stop();
    for (const r of running.values()) for (const s of r.sockets) await s.close().catch(() => undefined);
    await query?.stop();
    for (const s of sidecars) await s.stop();
    await chain?.stop();
    if (sidecarFiles) rmSync(sidecarFiles, { recursive: true, force: true });
    console.log(log.join('\n')); // eslint-disable-line no-console
  }, 120_000);

  it('runs as many Prometheus processes as the operator\'s StatefulSet has pods, each with its pod\'s replica label, the same `prometheus` label on both', async () => {
    expect(REPLICAS).toBe(2);
    expect(chain.one('Prometheus').spec.replicas).toBe(REPLICAS);
    expect(chain.prometheusServers.length).toBe(REPLICAS);
    const copies = (await query.query(`group by (prometheus, ${REPLICA_LABEL}) (up)`, { dedup: false })).result.map((x) => x.metric);
    const prometheus = `${chain.one('Prometheus').metadata.namespace}/${chain.one('Prometheus').metadata.name}`;
    expect(copies.map((m) => `${m.prometheus} ${m[REPLICA_LABEL]}`).sort()).toEqual([...Array(REPLICAS).keys()].map((i) => `${prometheus} ${replicaName(i)}`));
  });

  /** The first proof's time: once each service has run its traffic past a whole window (and the rules their offset). */
  let bothUpTime = 0;

  it('both replicas up: every panel and recording rule read through Query shows the injected values, as each Prometheus does on its own', async () => {
    bothUpTime = Math.ceil(traffic!.startTime + (WINDOW_MS + chain.evaluationIntervalMs + chain.scrapeIntervalMs + 10_000) / 1000);
    await heldBy(bothUpTime);
    warnings.length = 0;
    const failures = [await proveAll(query.asPrometheus(warnings), bothUpTime, 'through Query')];
    for (const [i, p] of chain.prometheusServers.entries()) failures.push(await proveAll(p, bothUpTime, `${replicaName(i)} alone`));
    expect(failures.filter(Boolean).join('\n')).toBe('');
    expect(warnings).toEqual([]);
    expect(`failed ${traffic!.failed}, unroutable ${traffic!.unroutable}: ${traffic!.errors.join('; ')}`).toBe('failed 0, unroutable 0: ');
  }, 300_000);

  it('both replicas up: Query returns each series once: every panel\'s label sets once, each service\'s series held twice and read once', async () => {
    expect(bothUpTime).toBeGreaterThan(0);
    warnings.length = 0;
    const panels = await repeatedLabelSets(bothUpTime);
    note(`through Query: ${panels.series} series over every panel target, ${panels.repeated.length} repeated`);
    expect(panels.repeated).toEqual([]);
    // The proof sees doubled series: without deduplication a recorded series comes back once per
    // replica and a sum over raw series counts both copies; every service's request rate fails.
    const doubled = await provePanels({ prometheus: query.asPrometheus([], { dedup: false }), dashboards: dashboards(), expectations: expectations(), slos: SLOS, time: bothUpTime });
    const duplicates = doubled.failures.filter((x) => x.observed === 'duplicate').length;
    note(`dedup=false: ${doubled.failures.length} of ${doubled.rows.length} rows fail (${duplicates} a series twice)`);
    const caught = (s: { name: string }) => doubled.failures.some((x) => x.dashboard === `${s.name}.json` && x.panel === 'Requests per second');
    expect(CONFIG.services.filter((s) => !caught(s)).map((s) => s.name)).toEqual([]);
    for (const r of running.values()) {
      // Every raw and recorded series of the service (alert states differ between replicas by design).
      const selector = `{service="${r.service.name}", __name__!~"ALERTS|ALERTS_FOR_STATE"}`;
      const copies = (await query.query(selector, { time: bothUpTime, dedup: false })).result;
      const once = (await query.query(selector, { time: bothUpTime })).result;
      const replicasOf = new Map<string, string[]>();
      for (const x of copies) {
        const key = labelSet(x.metric, [REPLICA_LABEL]);
        replicasOf.set(key, [...(replicasOf.get(key) ?? []), x.metric[REPLICA_LABEL]]);
      }
      const notOnBoth = [...replicasOf].filter(([, reps]) => JSON.stringify([...reps].sort()) !== JSON.stringify([...Array(REPLICAS).keys()].map(replicaName)));
      note(`${r.service.name}: ${once.length} series read once through Query, ${copies.length} copies with dedup=false`);
      expect(notOnBoth.slice(0, 5)).toEqual([]);
      expect(once.length).toBeGreaterThan(0);
      expect(once.map((x) => labelSet(x.metric)).sort()).toEqual([...replicasOf.keys()].sort());
      // The pods' own series among them: one per pod and label set, no pod missing.
      expect(new Set(once.filter((x) => x.metric.__name__ === histogramCount(r)).map((x) => x.metric.pod))).toEqual(new Set(r.pods.map((p) => p.name)));
    }
    expect(warnings).toEqual([]);
  }, 120_000);

  it('one Prometheus killed (SIGKILL): over windows after the kill every panel and rule read through Query shows the injected values, with no gap in any series', async () => {
    expect(bothUpTime).toBeGreaterThan(0);
    const killed = chain.prometheusServers[KILLED];
    const survivor = chain.prometheusServers.find((p) => p !== killed)!;
    process.kill(killed.pid!, 'SIGKILL');
    await until(`${replicaName(KILLED)} (pid ${killed.pid}) exited`, () => (killed.running ? undefined : true), 30_000, 100);
    killedAt = Date.now();
    note(`killed ${replicaName(KILLED)} (pid ${killed.pid}) ${((killedAt / 1000 - bothUpTime)).toFixed(1)} s after the first proof's time`);

    // The proof's windows (a recorded series' window ends up to an evaluation interval before it)
    // start a scrape interval after the kill.
    const afterKillTime = Math.ceil((killedAt + chain.scrapeIntervalMs + WINDOW_MS + chain.evaluationIntervalMs + 2_000) / 1000);
    await heldBy(afterKillTime);
    warnings.length = 0;
    const failures = [await proveAll(query.asPrometheus(warnings), afterKillTime, 'through Query, one replica killed')];
    failures.push(await proveAll(survivor, afterKillTime, 'the surviving replica alone'));
    expect(failures.filter(Boolean).join('\n')).toBe('');
    // Partial responses, if any, name the killed replica's sidecar only (Query still lists it).
    const killedSidecar = sidecars[KILLED].grpcAddress;
    note(`warnings through Query after the kill: ${warnings.length} (${[...new Set(warnings)].slice(0, 2).join(' | ')})`);
    expect(warnings.filter((w) => !w.includes(killedSidecar))).toEqual([]);

    // Only the survivor's copies are left, each series once.
    const copies = (await query.query('group by (' + REPLICA_LABEL + ') (up)', { time: afterKillTime, dedup: false })).result.map((x) => x.metric[REPLICA_LABEL]);
    expect(copies).toEqual([replicaName(chain.prometheusServers.indexOf(survivor))]);
    const panels = await repeatedLabelSets(afterKillTime);
    expect(panels.repeated).toEqual([]);

    // No gap: from two windows before the kill to the proof, at every scrape interval, each service's
    // request counters all have a sample in the window before (deduplicated: the killed replica's
    // samples until it died, the survivor's from then on).
    const step = chain.scrapeIntervalMs / 1000;
    const start = Math.floor(killedAt / 1000 - 2 * WINDOW_MS / 1000);
    for (const r of running.values()) {
      const counters = `${histogramCount(r)}{service="${r.service.name}"}`;
      const want = (await query.query(`count(${counters})`, { time: start })).result.map((x) => Number(x.value![1]));
      const seen = (await query.queryRange(`count(count_over_time(${counters}[${WINDOW_MS / 1000}s]))`, start, afterKillTime, step)).result;
      const points = seen[0]?.values ?? [];
      const gaps = points.filter(([, v]) => Number(v) !== want[0]).map(([t, v]) => `${(t - killedAt / 1000).toFixed(0)} s: ${v}`);
      note(`${r.service.name}: ${want[0]} request counters, ${points.length} windows checked from ${(start - killedAt / 1000).toFixed(0)} s to +${(afterKillTime - killedAt / 1000).toFixed(0)} s around the kill`);
      expect(want.length).toBe(1);
      expect(points.length).toBe(Math.floor((afterKillTime - start) / step) + 1);
      expect(`${r.service.name}: ${gaps.join(', ')}`).toBe(`${r.service.name}: `);
    }
    expect(`failed ${traffic!.failed}, unroutable ${traffic!.unroutable}: ${traffic!.errors.join('; ')}`).toBe('failed 0, unroutable 0: ');
    expect(query.running && sidecars.every((s) => s.running)).toBe(true);
  }, 360_000);
}, THANOS_BINARIES);
