/**
 * Issue 22's proof on the real chain, read through Thanos Query: real chat-service pods -> the real
 * collector on the chart's config -> TWO Prometheus processes on the configuration the real operator
 * generated, each as one pod of its StatefulSet sees it (its own `prometheus_replica` external label,
 * the operator's `$(POD_NAME)`) with the TSDB flags of its `prometheus` container, a Thanos sidecar
 * beside each on the args the operator gave it (its `--objstore.config=$(OBJSTORE_CONFIG)` read from
 * the object store's Secret, which holds a FILESYSTEM bucket: test-only, a directory of the test's
 * own), the Store Gateway on that bucket and Thanos Query, both on the chart's args (Query's two
 * `dnssrv+` endpoints, the sidecars' and the Store Gateway's headless Services, resolved to the
 * processes here, as the cluster's DNS does).
 *
 * With both replicas up, every panel of every dashboard and every recording rule read through
 * Query shows the injected values (test/contract/panel-proof.ts), as each Prometheus does on its
 * own, and Query returns each series once: every panel's answer has each label set once, and each
 * service's series, held by both replicas (dedup=false shows both copies), come back once. Then one
 * Prometheus is killed (SIGKILL): over windows that start after the kill every panel and rule read
 * through Query still shows the injected values, from the surviving replica alone, and no
 * service's series has a gap in any 1-minute window from before the kill to the proof.
 *
 * Long-term storage: the sidecars upload the blocks their Prometheus cuts. Then the survivor is
 * killed too and both sidecars stop, the stand-in for local retention having dropped the first
 * proof's window: no Prometheus holds it any more. The bucket holds both replicas' blocks (their
 * external labels in meta.json), one after the other without a gap through the window; the
 * Compactor, run once on the chart's args, leaves them as its planner says it must (blocks of a
 * minute are merged only where an even UTC hour falls among them: see compactorPlan). Query, which now reaches the Store Gateway
 * alone, shows every panel and rule at the first proof's time with the injected values, each
 * query with the series it answered with both replicas up, each series once, no gap in any
 * 1-minute window; and with dedup=false (each replica's copy apart) every one of those queries
 * returns exactly the numbers it returned with both replicas up.
 *
 * Test-only settings, beside the FILESYSTEM bucket: Prometheus cuts blocks of a minute (BLOCK)
 * instead of two hours, so blocks of the chain's own data are uploaded within the run; the Store
 * Gateway reads the bucket every 5 s (STORE_SYNC) instead of every 15 minutes; the Compactor runs
 * once (no --wait) with --consistency-delay=0s and --delete-delay=0s (as
 * test/contract/thanos-store.smoke.test.ts, which proves compaction, downsampling and retention on
 * two weeks of generated blocks).
 *
 * The chart is the default config with chat-messaging on the stable convention (as
 * dashboards.chain.test.ts) and long-term storage on, so both conventions' dashboards are read
 * through Query; the traffic is the chain's (test/support/chain-traffic.ts) without pod events.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CHART_CONFIG } from '../../lib/chart-config';
import { PROMETHEUS_OPERATED_SERVICE } from '../../lib/charts/monitoring-charts';
import { STACK_DASHBOARD_FILE } from '../../lib/dashboards';
import { NAMES } from '../../lib/labels';
import { REPLICA_LABEL, srvName, THANOS_PORT_NAMES } from '../../lib/thanos/thanos-component';
import { ChatServiceKind, chatServiceKindFor, ChatWebSocket } from '../support/chat-service';
import { CHAIN_CONNECTIONS, CHAIN_MIX, chainExpectation, startChainPod } from '../support/chain-traffic';
import { configWith, K8sObject } from '../support/manifests';
import { operatorContainerArgs } from '../support/operator-config';
import { until } from '../support/process';
import { QueryResult, sleep } from '../support/prometheus';
import { ChatPod, describeWithChain, durationMs, LiveTraffic, PushChain, templateHash } from '../support/push-chain';
import {
  argsForHere, BucketBlock, bucketBlocks, compactorPlan, filesystemBucket, queryArgsForHere, THANOS_BINARIES, ThanosCompactor, ThanosQuery, ThanosSidecar, ThanosStore,
} from '../support/thanos';
import { DashboardFile, formatRows, grafanaInterpolate, panelsOf, provePanels, ProofInput, proveRecordingRules } from '../contract/panel-proof';
import { dashboardsOf } from '../contract/stack';
import { CONTRACT_NAMES, schedule } from '../contract/traffic';

const CONFIG = configWith({
  services: CHART_CONFIG.services.map((s) => (s.name === 'chat-messaging' ? { ...s, convention: 'stable' as const } : s)),
  // Long-term storage on: the sidecars upload, the Store Gateway and the Compactor run. The CIDRs
  // only go into NetworkPolicies, which nothing here enforces.
  thanos: { objectStorage: { egressCidrs: ['192.0.2.0/24'] } },
});
const OBJECT_STORE = validatedObjectStore();
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

/**
 * Test-only: the shortest block Prometheus cuts from its head (--storage.tsdb.min-block-duration;
 * Prometheus's default, which the operator keeps, is 2 h). Prometheus cuts the head into a block
 * once it spans 1.5 times that, so the sidecars upload blocks of the chain's own data every minute
 * of the run instead of after two hours. Everything else about blocks is the operator's.
 */
const BLOCK_MS = 60_000;
const BLOCK = '1m';
/**
 * Test-only: how often the Store Gateway reads the bucket again (--sync-block-duration; the
 * chart keeps Thanos's 15m). In a cluster a block waits up to 15 minutes for the Store while its
 * Prometheus still holds it for `retention`; here blocks are a minute long and the run a few.
 */
const STORE_SYNC = '5s';

/** The chart's object store (Secret and key), as validated. */
function validatedObjectStore() {
  const o = CONFIG.thanos.objectStorage;
  if (!o) throw new Error('the chain\'s config has no thanos.objectStorage');
  return o;
}

/** A block in a Prometheus's TSDB directory, from its meta.json. */
interface LocalBlock {
  readonly ulid: string;
  readonly minTime: number;
  readonly maxTime: number;
  readonly level: number;
  readonly sources: readonly string[];
}

/** The finished blocks of a TSDB directory (those with a meta.json), oldest first. */
function localBlocks(tsdb: string): LocalBlock[] {
  return readdirSync(tsdb).filter((d) => /^[0-9A-Z]{26}$/.test(d) && existsSync(join(tsdb, d, 'meta.json'))).map((ulid) => {
    const m = JSON.parse(readFileSync(join(tsdb, ulid, 'meta.json'), 'utf8')) as { minTime: number; maxTime: number; compaction: { level: number; sources?: string[] } };
    return { ulid, minTime: m.minTime, maxTime: m.maxTime, level: m.compaction.level, sources: m.compaction.sources ?? [ulid] };
  }).sort((a, b) => a.minTime - b.minTime);
}

/** `prometheus` keeping each answer in `into`, by time and query. */
function recording(prometheus: ProofInput['prometheus'], into: Map<string, QueryResult[]>): ProofInput['prometheus'] {
  return {
    query: async (expr: string, time?: number) => {
      const r = await prometheus.query(expr, time);
      into.set(`${time} ${expr}`, r);
      return r;
    },
  };
}

/**
 * Answers `now` to the queries answered by `was`: the queries whose series differ, the values
 * compared (each series of each answer), those not exactly equal, and the largest relative difference.
 */
function compareAnswers(was: ReadonlyMap<string, QueryResult[]>, now: ReadonlyMap<string, QueryResult[]>) {
  const seriesChanged: string[] = [];
  const differences: string[] = [];
  let compared = 0;
  let largest = 0;
  const valuesOf = (r: readonly QueryResult[]) => new Map(r.map((x) => [labelSet(x.metric), x.value?.[1]]));
  for (const [asked, answer] of was) {
    const before = valuesOf(answer);
    const after = valuesOf(now.get(asked) ?? []);
    if (JSON.stringify([...before.keys()].sort()) !== JSON.stringify([...after.keys()].sort())) seriesChanged.push(`${asked}: ${[...before.keys()].join(' ')} became ${[...after.keys()].join(' ')}`);
    for (const [series, value] of before) {
      compared++;
      const v = after.get(series);
      if (v === value) continue;
      differences.push(`${asked} ${series}: ${value} became ${v}`);
      const [a, b] = [Number(value), Number(v)];
      if (Number.isFinite(a) && Number.isFinite(b)) largest = Math.max(largest, Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12));
    }
  }
  return { seriesChanged, differences, compared, largest };
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
  /** The FILESYSTEM bucket (test-only: Thanos's directory "object store"), in a directory of the test's own. */
  let lts: string | undefined;
  let bucketDir = '';
  let store: ThanosStore | undefined;
  /** The TSDB flags of the operator's `prometheus` container, as each replica runs them here. */
  let operatorTsdbArgs: string[] = [];
  /** Every answer the first proof read through Query (both replicas up), by time and query. */
  const bothUpAnswers = new Map<string, QueryResult[]>();
  /** The same proof's queries read with dedup=false (each replica's copy apart), both replicas up, just before the first kill. */
  const bothUpCopies = new Map<string, QueryResult[]>();
  /** Each service's series read through Query at the first proof's time (deduplicated), as label sets. */
  const bothUpSeries = new Map<string, string[]>();
  const log: string[] = [];
  const note = (line: string) => log.push(line);

  const dashboards = (): DashboardFile[] => dashboardsOf(chain.objects).filter((d) => d.file !== STACK_DASHBOARD_FILE);
  const expectations = () => new Map([...running.values()].map((r) => [r.service.name, chainExpectation(r.service, r.kind, r.pods)]));
  const histogramCount = (r: Running) => `${CONTRACT_NAMES[r.service.convention].histogram}_count`;
  const REPLICA_LABEL_VALUES = () => [...Array(REPLICAS).keys()].map(replicaName);
  const alive = () => chain.prometheusServers.filter((_p, i) => !(killedAt && i === KILLED));
  const replicaName = (i: number) => `prometheus-${chain.one('Prometheus').metadata.name}-${i}`;
  /** The chart's container args of its `name` workload (container and workload named alike). */
  const chartArgs = (kind: 'Deployment' | 'StatefulSet', name: string): string[] =>
    chain.one(kind, name).spec.template.spec.containers.find((c: { name: string }) => c.name === name).args;
  /** The bucket's blocks of replica `i` (by its external label), oldest first. */
  const blocksOf = (i: number) => bucketBlocks(bucketDir).filter((b) => b.labels[REPLICA_LABEL] === replicaName(i));
  /** Waits until replica `i` has cut its samples up to `timeS` into a block (on its disk, for its sidecar to upload). */
  const cutThrough = (i: number, timeS: number) => until(`${replicaName(i)} cut a block through ${new Date(timeS * 1000).toISOString()}`,
    () => (localBlocks(chain.prometheusServers[i].tsdbPath).some((b) => b.maxTime > timeS * 1000) ? true : undefined), 3 * BLOCK_MS + 60_000, 1000);

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

  /**
   * Every panel and recording-rule query of the proof read through Query at the first proof's
   * time with dedup=false (each replica's copy apart), each answer kept in `into`.
   */
  async function readCopies(into: Map<string, QueryResult[]>): Promise<void> {
    const prometheus = recording(query.asPrometheus([], { dedup: false }), into);
    // The verdicts do not matter here (with both copies a series comes back twice): the answers do.
    await provePanels({ prometheus, dashboards: dashboards(), expectations: expectations(), slos: SLOS, time: bothUpTime });
    await proveRecordingRules({ prometheus, rules: chain.rules, services: CONFIG.services, recordingWindow: CONFIG.recordingWindow, expectations: expectations(), slos: SLOS, time: bothUpTime });
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

  /**
   * Each replica's flags beyond what PrometheusServer sets: the TSDB flags of the `prometheus`
   * container of the operator's StatefulSet (with the pinned versions, delayed compaction:
   * `--storage.tsdb.delay-compact-file.path` on the sidecar's shipper file, so Prometheus compacts
   * only blocks the sidecar uploaded), their paths on the pod's data volume pointed at the replica's
   * TSDB here, and the test-only BLOCK.
   */
  function prometheusArgs(c: PushChain, tsdbPath: string): string[] {
    const cr = c.one('Prometheus');
    const statefulSet = c.cp.admin.json<K8sObject>(['get', 'statefulset', `prometheus-${cr.metadata.name}`, '-n', cr.metadata.namespace!]);
    const args: string[] = statefulSet.spec.template.spec.containers.find((x: { name: string }) => x.name === 'prometheus').args;
    const podTsdb = args.find((a) => a.startsWith('--storage.tsdb.path='))!.slice('--storage.tsdb.path='.length).replace(/\/$/, '');
    operatorTsdbArgs = args.filter((a) => /^--(no-)?storage\.tsdb\./.test(a) && !a.startsWith('--storage.tsdb.path='));
    if (operatorTsdbArgs.some((a) => /block-duration/.test(a))) throw new Error(`the operator sets block durations (${operatorTsdbArgs.join(' ')}): this test shortens only Prometheus's default`);
    return [...operatorTsdbArgs.map((a) => a.replace(`=${podTsdb}/`, `=${tsdbPath}/`)), `--storage.tsdb.min-block-duration=${BLOCK}`];
  }

  beforeAll(async () => {
    const started = Date.now();
    chain = await PushChain.start({ config: CONFIG, prometheusReplicas: REPLICAS, prometheusArgs });
    note(`chain up in ${((Date.now() - started) / 1000).toFixed(1)} s (${Object.entries(chain.timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')})`);
    note(`scrape interval ${chain.scrapeIntervalMs / 1000} s, evaluation interval ${chain.evaluationIntervalMs / 1000} s`);

    // A sidecar beside each Prometheus, and Query on the chart's args: its one StoreAPI endpoint is
    // the SRV record of the sidecars' headless Service, which resolves to every Prometheus pod.
    note(`the operator's Prometheus TSDB args: ${operatorTsdbArgs.join(' ')}; test-only --storage.tsdb.min-block-duration=${BLOCK}`);
    // The object store's Secret, as `npm run deploy -- --objstore-file` creates it: here a
    // FILESYSTEM bucket (test-only) in a directory the test owns.
    lts = mkdtempSync(join(tmpdir(), 'chat-monitoring-lts-'));
    bucketDir = join(lts, 'bucket');
    mkdirSync(bucketDir);
    writeFileSync(join(lts, OBJECT_STORE.key), filesystemBucket(bucketDir));
    const ns = chain.one('Prometheus').metadata.namespace!;
    chain.cp.admin.ok(['create', 'secret', 'generic', OBJECT_STORE.secretName, '-n', ns, `--from-file=${OBJECT_STORE.key}=${join(lts, OBJECT_STORE.key)}`]);
    sidecarFiles = mkdtempSync(join(tmpdir(), 'chat-monitoring-sidecar-files-'));
    const prometheusCr = chain.one('Prometheus');
    const statefulSet = chain.cp.admin.json<K8sObject>(['get', 'statefulset', `prometheus-${prometheusCr.metadata.name}`, '-n', prometheusCr.metadata.namespace!]);
    // Its `--objstore.config=$(OBJSTORE_CONFIG)` expanded from the Secret's key, as the kubelet does.
    const statefulSetArgs = operatorContainerArgs(chain.cp, statefulSet, 'thanos-sidecar', sidecarFiles);
    note(`the operator's thanos-sidecar args: ${statefulSetArgs.join(' ')}`);
    for (const p of chain.prometheusServers) sidecars.push(await ThanosSidecar.start({ prometheusUrl: p.url, tsdbPath: p.tsdbPath, statefulSetArgs }));
    // The Store Gateway on the chart's args (test-only: STORE_SYNC).
    store = await ThanosStore.start({ bucketDir, args: argsForHere(chartArgs('StatefulSet', NAMES.thanosStore), 'store', { '--sync-block-duration': STORE_SYNC }) });
    const sidecarsSrv = `dnssrv+${srvName(PROMETHEUS_OPERATED_SERVICE, ns, THANOS_PORT_NAMES.grpc)}`;
    const storeSrv = `dnssrv+${srvName(NAMES.thanosStore, ns, THANOS_PORT_NAMES.grpc)}`;
    const args = queryArgsForHere(chartArgs('Deployment', NAMES.thanosQuery), (address) => {
      if (address === sidecarsSrv) return sidecars.map((s) => s.grpcAddress);
      if (address === storeSrv) return [store!.grpcAddress];
      throw new Error(`the chart's Query reads ${address}, which this test does not run`);
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
    const exited = () => [...sidecars, store!, query].find((t) => !t.running);
    const waited = await until('both replicas\' copies through Query', async () => exited()
      ?? (new Set((await query.query('up', { dedup: false })).result.map((x) => x.metric[REPLICA_LABEL])).size === REPLICAS || undefined), 120_000, 1000);
    if (waited !== true) throw new Error(`a Thanos process exited:\n${waited.output.slice(-3000)}`);
  }, 420_000);

  afterAll(async () => {
    await traffic?.stop();
    for (const r of running.values()) for (const s of r.sockets) await s.close().catch(() => undefined);
    await query?.stop();
    await store?.stop();
    for (const s of sidecars) await s.stop();
    await chain?.stop();
    if (sidecarFiles) rmSync(sidecarFiles, { recursive: true, force: true });
    if (lts) rmSync(lts, { recursive: true, force: true });
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
    const failures = [await proveAll(recording(query.asPrometheus(warnings), bothUpAnswers), bothUpTime, 'through Query')];
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
      bothUpSeries.set(r.service.name, once.map((x) => labelSet(x.metric)).sort());
      // The pods' own series among them: one per pod and label set, no pod missing.
      expect(new Set(once.filter((x) => x.metric.__name__ === histogramCount(r)).map((x) => x.metric.pod))).toEqual(new Set(r.pods.map((p) => p.name)));
    }
    expect(warnings).toEqual([]);
  }, 120_000);

  it('one Prometheus killed (SIGKILL): over windows after the kill every panel and rule read through Query shows the injected values, with no gap in any series', async () => {
    expect(bothUpTime).toBeGreaterThan(0);
    const killed = chain.prometheusServers[KILLED];
    const survivor = chain.prometheusServers.find((p) => p !== killed)!;
    // The last test reads the first proof's time back from the bucket: the replica to be killed
    // has cut the block holding it first (its sidecar, which stays, uploads it).
    await cutThrough(KILLED, bothUpTime);
    // What the last test compares the bucket's answers with: the first proof's queries read with
    // dedup=false while both replicas are up, now that every rule group has long evaluated past it.
    await readCopies(bothUpCopies);
    // The gap check below reads two windows before the kill: they must lie after the first proof's
    // time, when every request counter of the traffic exists (some appear only with their first
    // request, so an earlier window holds fewer and the count would change for no gap).
    await sleep(bothUpTime * 1000 + 2 * WINDOW_MS - Date.now());
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

    // Only the survivor has samples after the kill (the Store Gateway still serves the killed
    // replica's uploaded ones, from before it), each series once.
    const sinceKill = Math.floor(afterKillTime - killedAt / 1000);
    const copies = (await query.query(`group by (${REPLICA_LABEL}) (count_over_time(up[${sinceKill}s]))`, { time: afterKillTime, dedup: false })).result.map((x) => x.metric[REPLICA_LABEL]);
    expect(copies).toEqual([replicaName(chain.prometheusServers.indexOf(survivor))]);
    const panels = await repeatedLabelSets(afterKillTime);
    expect(panels.repeated).toEqual([]);

    // No gap: from two windows before the kill to the proof, at every scrape interval, each service's
    // request counters all have a sample in the window before (deduplicated: the killed replica's
    // samples until it died, the survivor's from then on).
    const step = chain.scrapeIntervalMs / 1000;
    const start = Math.max(Math.floor(killedAt / 1000 - 2 * WINDOW_MS / 1000), bothUpTime);
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

  it('both Prometheus processes gone: the first proof\'s window, read through Query from the Store Gateway alone, shows the same values, each series once, no gap; the bucket holds both replicas\' blocks, as the Compactor on the chart\'s args leaves them', async () => {
    expect(bothUpTime).toBeGreaterThan(0);
    expect(bothUpAnswers.size).toBeGreaterThan(0);
    const ns = chain.one('Prometheus').metadata.namespace!;
    const prometheusLabel = `${ns}/${chain.one('Prometheus').metadata.name}`;
    // The stand-in for local retention dropping the range: no Prometheus holds it any more. The
    // survivor is killed too (SIGKILL) once its blocks through the window are in the bucket; each
    // sidecar uploads what its Prometheus cut before it died (its shipper reads the TSDB directory
    // every 30 s), then both sidecars stop, as their pods go.
    const survivorIndex = chain.prometheusServers.findIndex((_p, i) => i !== KILLED);
    await cutThrough(survivorIndex, bothUpTime);
    const survivor = chain.prometheusServers[survivorIndex];
    process.kill(survivor.pid!, 'SIGKILL');
    await until(`${replicaName(survivorIndex)} (pid ${survivor.pid}) exited`, () => (survivor.running ? undefined : true), 30_000, 100);
    const onDisk = chain.prometheusServers.map((p) => localBlocks(p.tsdbPath));
    for (const [i, blocks] of onDisk.entries()) {
      const cut = blocks.filter((b) => b.level === 1).map((b) => b.ulid);
      await until(`${replicaName(i)}'s sidecar uploaded its ${cut.length} cut blocks`, () => {
        const inBucket = new Set(blocksOf(i).map((b) => b.ulid));
        return cut.every((u) => inBucket.has(u)) ? true : undefined;
      }, 120_000, 1000);
    }
    for (const s of sidecars) await s.stop();

    // Before the Compactor: what the two sidecars uploaded. Each replica's blocks carry its
    // external labels (the operator's, as Query reads them), are raw blocks of one BLOCK each at
    // most, ending on BLOCK boundaries, one after the other without a gap (each starts at the first
    // sample after the one before ends: within a scrape interval), from before the traffic to past
    // the window.
    const before = bucketBlocks(bucketDir);
    expect(before.filter((b) => !REPLICA_LABEL_VALUES().includes(b.labels[REPLICA_LABEL]))).toEqual([]);
    for (let i = 0; i < REPLICAS; i++) {
      const blocks = blocksOf(i);
      note(`${replicaName(i)}: ${blocks.length} blocks uploaded, ${new Date(blocks[0].minTime).toISOString()} to ${new Date(blocks[blocks.length - 1].maxTime).toISOString()}`
        + ` (${blocks.map((b) => `${((b.minTime - blocks[0].minTime) / 1000).toFixed(1)}-${((b.maxTime - blocks[0].minTime) / 1000).toFixed(1)} s`).join(', ')})`);
      for (const b of blocks) {
        expect(b.labels).toEqual({ prometheus: prometheusLabel, [REPLICA_LABEL]: replicaName(i) });
        expect([b.source, b.level, b.resolution, b.markedForDeletion]).toEqual(['sidecar', 1, 0, false]);
        expect(b.maxTime % BLOCK_MS).toBe(0);
        expect(b.maxTime - b.minTime).toBeLessThanOrEqual(BLOCK_MS);
      }
      const follows = (b: BucketBlock, j: number) => b.minTime >= blocks[j].maxTime && b.minTime < blocks[j].maxTime + chain.scrapeIntervalMs;
      expect(blocks.slice(1).filter((b, j) => !follows(b, j)).map((b) => b.ulid)).toEqual([]);
      expect(blocks[0].minTime).toBeLessThan(traffic!.startTime * 1000);
      expect(blocks[blocks.length - 1].maxTime).toBeGreaterThan(bothUpTime * 1000);
    }
    // Delayed compaction, as the operator wires it: where Prometheus compacted blocks locally, only
    // once its sidecar had uploaded them (every source of a compacted block is in the bucket). With
    // blocks of a minute its next range is 3 minutes, so a run may compact none (the note says).
    for (const [i, blocks] of onDisk.entries()) {
      const uploaded = new Set(blocksOf(i).map((b) => b.ulid));
      const compacted = blocks.filter((b) => b.level > 1);
      note(`${replicaName(i)}: ${compacted.length} blocks compacted locally, of ${compacted.reduce((a, b) => a + b.sources.length, 0)} uploaded ones`);
      expect(compacted.flatMap((b) => b.sources).filter((u) => !uploaded.has(u))).toEqual([]);
    }

    // The Compactor as the chart runs it, once (no --wait; test-only, as in
    // thanos-store.smoke.test.ts: blocks uploaded a moment ago are processed at once, and blocks
    // compacted away deleted on its next run, not 48 h later).
    const compacted = await ThanosCompactor.runOnce({ bucketDir, args: argsForHere(chartArgs('StatefulSet', NAMES.thanosCompactor), 'compact',
      { '--consistency-delay': '0s', '--delete-delay': '0s' }, ['--wait']) });
    const after = bucketBlocks(bucketDir);
    note(`the Compactor ran in ${(compacted.ms / 1000).toFixed(1)} s: ${before.length} blocks before, ${after.filter((b) => !b.markedForDeletion).length} after (${after.filter((b) => b.markedForDeletion).length} marked for deletion)`);
    for (let i = 0; i < REPLICAS; i++) {
      const of = (blocks: BucketBlock[]) => blocks.filter((b) => b.labels[REPLICA_LABEL] === replicaName(i));
      const left = of(after).filter((b) => !b.markedForDeletion).map((b): [number, number, string] => [b.minTime, b.maxTime, b.source]);
      expect(left).toEqual(compactorPlan(of(before)));
    }

    // Query now reaches the Store Gateway alone, once it has read the bucket as the Compactor left it.
    const inBucket = bucketBlocks(bucketDir).length;
    await until(`the Store Gateway loaded the bucket's ${inBucket} blocks`, async () => ((await store!.metric('thanos_bucket_store_blocks_loaded')) === inBucket ? true : undefined), 60_000, 500);
    await until('Query reaches the Store Gateway alone', async () => {
      const healthy = (await query.endpoints()).filter((e) => e.healthy).map((e) => e.name);
      return JSON.stringify(healthy) === JSON.stringify([store!.grpcAddress]) ? true : undefined;
    }, 60_000, 500);

    // The same proof at the same time, deduplicated: every panel and rule shows the injected values
    // (the proof's tolerances), each query answers with the series it answered with both replicas
    // up. Their values need not be equal: Query's deduplication picks replica samples by where each
    // store's data starts, so a rate window can move by up to a scrape interval (README:
    // "Deduplication caveats"); how many are equal, and the largest difference, are noted.
    warnings.length = 0;
    const fromStore = new Map<string, QueryResult[]>();
    const failure = await proveAll(recording(query.asPrometheus(warnings), fromStore), bothUpTime, 'through Query from the Store Gateway alone');
    expect(failure).toBe('');
    expect(warnings).toEqual([]);
    const deduplicated = compareAnswers(bothUpAnswers, fromStore);
    note(`deduplicated, from the Store Gateway alone: ${fromStore.size} queries (${bothUpAnswers.size} with both replicas up), ${deduplicated.compared} values, `
      + `${deduplicated.compared - deduplicated.differences.length} equal, the largest difference ${(100 * deduplicated.largest).toPrecision(2)} %`);
    expect(fromStore.size).toBe(bothUpAnswers.size);
    expect(deduplicated.seriesChanged).toEqual([]);
    // Each replica's copy apart (dedup=false), the same queries return exactly the same numbers: the
    // bucket holds every sample the two Prometheus processes held in the window.
    const copiesFromStore = new Map<string, QueryResult[]>();
    await readCopies(copiesFromStore);
    const copies = compareAnswers(bothUpCopies, copiesFromStore);
    note(`dedup=false, from the Store Gateway alone: ${copiesFromStore.size} queries, ${copies.compared} values, ${copies.differences.length} differ`);
    expect(copiesFromStore.size).toBe(bothUpCopies.size);
    expect(copies.compared).toBeGreaterThan(deduplicated.compared);
    expect(copies.seriesChanged).toEqual([]);
    expect(copies.differences.slice(0, 10)).toEqual([]);

    // Each series once: every panel's label sets, and each service's series, held in the bucket by
    // both replicas, read once: the label sets Query returned with both replicas up.
    const panels = await repeatedLabelSets(bothUpTime);
    expect(panels.repeated).toEqual([]);
    for (const r of running.values()) {
      const selector = `{service="${r.service.name}", __name__!~"ALERTS|ALERTS_FOR_STATE"}`;
      const copies = (await query.query(selector, { time: bothUpTime, dedup: false })).result;
      const once = (await query.query(selector, { time: bothUpTime })).result.map((x) => labelSet(x.metric)).sort();
      expect(once).toEqual(bothUpSeries.get(r.service.name));
      const replicas = new Set(copies.map((x) => x.metric[REPLICA_LABEL]));
      expect([...replicas].sort()).toEqual(REPLICA_LABEL_VALUES());
      expect(copies.length).toBe(REPLICAS * once.length);
    }
    // No gap: from the first whole window of traffic to the proof's time, at every scrape
    // interval, each service's request counters all have a sample in the window before.
    const step = chain.scrapeIntervalMs / 1000;
    const start = Math.ceil(traffic!.startTime + WINDOW_MS / 1000);
    for (const r of running.values()) {
      const counters = `${histogramCount(r)}{service="${r.service.name}"}`;
      const want = (await query.query(`count(${counters})`, { time: bothUpTime })).result.map((x) => Number(x.value![1]));
      const points = (await query.queryRange(`count(count_over_time(${counters}[${WINDOW_MS / 1000}s]))`, start, bothUpTime, step)).result[0]?.values ?? [];
      note(`${r.service.name} from the Store Gateway: ${want[0]} request counters, ${points.length} windows checked`);
      expect(want.length).toBe(1);
      expect(points.length).toBe(Math.floor((bothUpTime - start) / step) + 1);
      expect(points.filter(([, v]) => Number(v) !== want[0]).map(([t, v]) => `${t}: ${v}`)).toEqual([]);
    }
    expect(warnings).toEqual([]);
    expect(query.running && store!.running).toBe(true);
  }, 360_000);
}, THANOS_BINARIES);
