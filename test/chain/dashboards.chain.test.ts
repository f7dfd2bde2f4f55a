/**
 * The proof on the real chain: real chat-service pods -> the real collector on the chart's config
 * (k8sattributes reading a real API server as the collector's ServiceAccount) -> the real
 * Prometheus on the configuration the real operator generated from the chart's ServiceMonitors
 * and PrometheusRules (test/support/push-chain.ts). Every panel of every dashboard and every
 * recording rule must show the values the known traffic implies, within the proof's tolerances
 * (test/contract/panel-proof.ts), after a pod was replaced, a pod killed and a process restarted
 * mid-run (each before the proof's windows), and the killed pod must have left the WebSocket and
 * instance panels once the collector's metric_expiration (read from its config) and a scrape have
 * passed.
 *
 * The chart is the default config with chat-messaging on the stable convention, so one run proves
 * both conventions' dashboards and rules; the collector config, RBAC and ServiceMonitors do not
 * depend on the convention. Routes, statuses and latencies are the contract's, written out here.
 */
import { CHART_CONFIG } from '../../lib/chart-config';
import { durationSeconds } from '../../lib/validation';
import { STACK_DASHBOARD_FILE } from '../../lib/dashboards';
import { instanceCount, pushFreshness } from '../../lib/queries/http';
import { ALERT_NAMES } from '../../lib/rules/alert-catalog';
import { ChatServiceKind, chatServiceKindFor, ChatWebSocket } from '../support/chat-service';
import { configWith, defaultConfig, synthObjects, unusedServiceName } from '../support/manifests';
import { CollectorReplica } from '../support/collector-replicas';
import { ChatPod, describeWithChain, LiveTraffic, newestPointAt, PushChain, podName, templateHash } from '../support/push-chain';
import { until } from '../support/process';
import { QueryResult, sleep } from '../support/prometheus';
import { ruleOffsetSeconds, TARGET_DISCOVERY_SECONDS } from '../support/push-timing';
import { DashboardFile, formatRows, grafanaInterpolate, panelsOf, PANEL_ASSERTIONS, provePanels, ProofReport, proveRecordingRules } from '../contract/panel-proof';
import { dashboardsOf } from '../contract/stack';
import { CONTRACT_NAMES, schedule } from '../contract/traffic';
import { CHAIN_CONNECTIONS, CHAIN_MIX, chainExpectation, startChainPod } from '../support/chain-traffic';

/** Collector replicas: pods' connections are moved between them mid-run (moveReplicas below). */
const COLLECTOR_REPLICAS = 3;
const CONFIG = configWith({
  services: CHART_CONFIG.services.map((s) => (s.name === 'chat-messaging' ? { ...s, convention: 'stable' as const } : s)),
  collectorReplicas: COLLECTOR_REPLICAS,
});
/** How far back the chart's instant reads of pushed series look (their points carry their own time). */
const FRESH = pushFreshness(CONFIG);
/** How long Prometheus may take to discover a new target and start scraping it (push-timing.ts). */
const DISCOVERY_MS = TARGET_DISCOVERY_SECONDS * 1000;
/** How far behind the clock the push services' recording rules evaluate (push-timing.ts). */
const RULE_OFFSET_MS = ruleOffsetSeconds('push', durationSeconds(CONFIG.scrapeInterval)) * 1000;
/** The objectives the SLO panels are judged against. */
const SLOS = new Map(CONFIG.services.map((s) => [s.name, s.slo]));

/** Requests per second each stranger sends: enough that counting it anywhere would show. */
const STRANGER_RPS = 5;
/** After traffic starts: when the replacements begin. */
const EVENTS_AFTER_MS = 15_000;

const stackNamespace = CONFIG.namespace;
/** A namespace the chart does not watch, for a pod carrying a configured service's labels. */
const ELSEWHERE = ['chat-elsewhere', 'chat-elsewhere-2'].find((n) => !CONFIG.services.some((s) => s.namespace === n) && n !== stackNamespace)!;
/** A service name the config under test does not have, for the stranger pod. */
const STRANGER = unusedServiceName('chat-presence', CONFIG.services);
/** Labels no configured selector matches, on the first service's keys. */
const unmatchedLabels = (): Record<string, string> => {
  const labels = Object.fromEntries(Object.keys(CONFIG.services[0].selector).map((k) => [k, STRANGER]));
  if (CONFIG.services.some((s) => Object.entries(s.selector).every(([k, v]) => labels[k] === v))) throw new Error('the stranger\'s labels match a service');
  return labels;
};

interface Running {
  readonly service: (typeof CONFIG.services)[number];
  readonly kind: ChatServiceKind;
  readonly hash: string;
  /** Pods that should be counted at the proof, in CHAIN_CONNECTIONS order. */
  pods: ChatPod[];
  sockets: Map<ChatPod, ChatWebSocket[]>;
}

const value = (r: QueryResult) => Number(r.value![1]);

describeWithChain('the proof on the real chain: chat-service pods -> collector (chart config, real API server) -> operator-configured Prometheus', () => {
  let chain: PushChain;
  let traffic: LiveTraffic | undefined;
  const running = new Map<string, Running>();
  const strangers: ChatPod[] = [];
  /** The pods replaced or killed, and when they went. */
  const gone: { pod: ChatPod; service: string; how: 'SIGTERM' | 'SIGKILL'; routedAt: number }[] = [];
  let restarted: { pod: ChatPod; stoppedAt: number; startedAt: number } | undefined;
  /** When the connections began to move between collector replicas (ms). */
  let movedFrom = 0;
  /** Pod names of the collector replicas killed or stopped mid-run. */
  const removedReplicas: string[] = [];
  let proofTime = 0;
  /** When every pod of a service with a WebSocket gauge held its connections. */
  let socketsOpenedAt = 0;
  const log: string[] = [];
  const note = (line: string) => log.push(line);

  // The chat dashboards; the stack's own (its self-metrics, not this traffic) is proven in stack-alerts.promtool.test.ts.
  const dashboards = (): DashboardFile[] => dashboardsOf(chain.objects).filter((d) => d.file !== STACK_DASHBOARD_FILE);
  const histogram = (service: string) => CONTRACT_NAMES[CONFIG.services.find((s) => s.name === service)!.convention].histogram;

  async function openSockets(r: Running, pod: ChatPod, n: number): Promise<void> {
    const sockets: ChatWebSocket[] = [];
    for (let i = 0; i < n; i++) sockets.push(await pod.openWebSocket());
    expect(await sockets[0].send('hello')).toBe('hello');
    r.sockets.set(pod, sockets);
  }

  async function closeSockets(r: Running, pod: ChatPod): Promise<void> {
    for (const s of r.sockets.get(pod) ?? []) await s.close().catch(() => undefined);
    r.sockets.delete(pod);
  }

  const newPod = (r: Running) => startChainPod(chain, r.service, r.kind, r.hash);

  beforeAll(async () => {
    const started = Date.now();
    chain = await PushChain.start({ config: CONFIG, extraNamespaces: [ELSEWHERE] });
    note(`chain up in ${((Date.now() - started) / 1000).toFixed(1)} s (${Object.entries(chain.timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')})`);
    note(`scrape interval ${chain.scrapeIntervalMs / 1000} s, evaluation interval ${chain.evaluationIntervalMs / 1000} s, collector metric_expiration ${chain.metricExpirationMs / 1000} s`);

    const podsStarted = Date.now();
    await Promise.all(CONFIG.services.map(async (service) => {
      const kind = chatServiceKindFor(service);
      const r: Running = { service, kind, hash: templateHash(), pods: [], sockets: new Map() };
      running.set(service.name, r);
      for (let i = 0; i < CHAIN_MIX[kind].pods; i++) r.pods.push(await newPod(r));
    }));
    strangers.push(await chain.startPod({ namespace: CONFIG.services[0].namespace, name: podName(STRANGER, templateHash()), labels: unmatchedLabels(), kind: 'auth' }));
    strangers.push(await chain.startPod({
      namespace: ELSEWHERE, name: podName(CONFIG.services[0].name, templateHash()), labels: { ...CONFIG.services[0].selector }, kind: 'transport', serviceName: 'chat-elsewhere-transport',
    }));
    for (const r of running.values()) {
      if (r.service.websocketGauge) for (const [i, pod] of r.pods.entries()) await openSockets(r, pod, CHAIN_CONNECTIONS[i] ?? 1);
    }
    socketsOpenedAt = Date.now();
    note(`${chain.pods.length} pods started in ${((Date.now() - podsStarted) / 1000).toFixed(1)} s`);

    // Every target the collector's ServiceMonitors make is up before the traffic starts.
    await until('the collector\'s targets up', async () => {
      const targets = ((await (await fetch(`${chain.prometheus.url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { health: string; scrapeUrl: string; lastError: string }[] } }).data.activeTargets;
      if (targets.length > 0 && targets.every((t) => t.health === 'up')) return targets;
      throw new Error(`targets: ${JSON.stringify(targets.map((t) => [t.scrapeUrl, t.health, t.lastError]))}`);
    }, 60_000, 500);

    traffic = new LiveTraffic([
      ...[...running.values()].map((r) => ({ name: r.service.name, rps: CHAIN_MIX[r.kind].rps, order: schedule(CHAIN_MIX[r.kind].mix), pods: r.pods })),
      { name: 'stranger-unmatched', rps: STRANGER_RPS, order: [{ method: 'POST', route: '/sessions/login', status: 200, latencyMs: 12 }], pods: [strangers[0]] },
      { name: 'stranger-elsewhere', rps: STRANGER_RPS, order: [{ method: 'GET', route: '/transportation/connections', status: 200, latencyMs: 12 }], pods: [strangers[1]] },
    ]);
  }, 300_000);

  afterAll(async () => {
    await traffic?.stop();
    for (const r of running.values()) for (const pod of [...r.sockets.keys()]) await closeSockets(r, pod);
    await chain?.stop();
    console.log(log.join('\n')); // eslint-disable-line no-console
  }, 120_000);

  it('the chart it runs is the default one but for chat-messaging\'s convention and the collector\'s replicas', () => {
    const key = (o: { kind: string; metadata: { namespace?: string; name: string } }) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const byConvention = (o: { kind: string; metadata: { labels?: Record<string, string> } }) => o.kind === 'PrometheusRule' || (o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
    const collectorDeployment = key(chain.collectorDeployment);
    const mine = new Map(chain.objects.map((o) => [key(o), o]));
    const defaults = synthObjects(defaultConfig());
    const differing = defaults.filter((o) => JSON.stringify(o) !== JSON.stringify(mine.get(key(o))));
    expect(differing.filter((o) => !byConvention(o)).map(key)).toEqual([collectorDeployment]);
    expect(chain.collectorDeployment.spec.replicas).toBe(COLLECTOR_REPLICAS);
    // Above one replica, the collector gets a PodDisruptionBudget: the one object the default lacks.
    const added = chain.objects.filter((o) => !defaults.some((d) => key(d) === key(o)));
    expect(added.map((o) => o.kind)).toEqual(['PodDisruptionBudget']);
    expect(chain.collectors.replicas.length).toBe(COLLECTOR_REPLICAS);
  });

  it('mid-run: a pod replaced (SIGTERM), another killed (SIGKILL) and replaced, a process restarted; gone pods leave every series after metric_expiration', async () => {
    await sleep(traffic!.startTime * 1000 + EVENTS_AFTER_MS - Date.now());
    // Replacements surge first (new pod up and taking traffic), then the old one goes.
    const replaced: [Running, 'SIGTERM' | 'SIGKILL', number][] = [];
    const withGauge = [...running.values()].find((r) => r.service.websocketGauge && r.pods.length > 1);
    const other = [...running.values()].find((r) => r !== withGauge && r.pods.length === 1);
    if (other) replaced.push([other, 'SIGTERM', 0]);
    if (withGauge) replaced.push([withGauge, 'SIGKILL', withGauge.pods.length - 1]);
    expect(replaced.length).toBeGreaterThan(0);
    await Promise.all(replaced.map(async ([r, how, index]) => {
      const old = r.pods[index];
      const fresh = await newPod(r);
      if (r.sockets.has(old)) await openSockets(r, fresh, r.sockets.get(old)!.length);
      traffic!.route(r.service.name, fresh);
      const routedAt = Date.now();
      await traffic!.unroute(r.service.name, old);
      if (how === 'SIGKILL') {
        await old.kill(); // its WebSocket gauge stays at its last value in the collector
        for (const s of r.sockets.get(old) ?? []) await s.close().catch(() => undefined);
        r.sockets.delete(old);
      } else {
        await closeSockets(r, old);
        await old.stop();
      }
      chain.deletePod(old);
      r.pods[index] = fresh;
      gone.push({ pod: old, service: r.service.name, how, routedAt });
      note(`${r.service.name}: ${old.name} (${old.address}) -> ${fresh.name} (${fresh.address}), old one ${how}`);
    }));
    const lastGone = Math.max(...gone.map((g) => g.pod.stoppedAt!));
    const lastRouted = Math.max(...gone.map((g) => g.routedAt));
    const expiration = chain.metricExpirationMs;
    const scrape = chain.scrapeIntervalMs;
    const evaluation = chain.evaluationIntervalMs;
    // The proof's 1m windows (a recorded series' window ends up to one evaluation interval before the
    // proof) start once the new pods' first counts are scraped and the old pods' last ones are final:
    // a series that starts inside a window is extrapolated by at most half a scrape interval, and
    // what a stopped pod counted after its last scrape is lost when metric_expiration is shorter
    // than the scrape interval. And the gone pods must have expired.
    const windowsFrom = Math.max(lastRouted + scrape + 3_000, lastGone + 2_000);
    proofTime = Math.max(windowsFrom + 60_000 + evaluation + 2_000, lastGone + expiration + scrape + DISCOVERY_MS + 5_000, traffic!.startTime * 1000 + 80_000) / 1000;

    // Until the gone pods leave: what the panels read, and when each gone pod's last series went.
    const transport = withGauge?.service.name;
    const panelQuery = (file: string, title: string) => {
      const d = dashboards().find((x) => x.file === file)!;
      return grafanaInterpolate(panelsOf(d.json).find((p) => p.title === title)!.targets![0].expr!, d.json);
    };
    const goneNames = gone.map((g) => g.pod.name).join('|');
    const leftAt = new Map<string, number>();
    /** When each gone pod's service's Instances panel first read its live pods alone, once its raw series had left. */
    const instancesRightAt = new Map<string, number>();
    const seenPanel: number[] = [];
    // The moves (about 35 s) start once the gone pods' last points have aged out of the instant
    // reads, and end before the proof's windows: a window holding a move mixes two replicas' scrape
    // phases in a pod's samples, and rate()'s extrapolation can then read it up to ~15 % low
    // (README, "Several collector replicas").
    const movesAt = lastGone + expiration + scrape + DISCOVERY_MS + 2_000;
    let movesDone: Promise<void> | undefined;
    const duringMoves: { at: number; ws?: number; instances: Map<string, number>; pods: string[] }[] = [];
    const instancesBound = expiration + scrape + DISCOVERY_MS + evaluation + RULE_OFFSET_MS;
    while (Date.now() < lastGone + instancesBound + 20_000 && (leftAt.size < gone.length || instancesRightAt.size < gone.length)) {
      const present = new Set((await chain.prometheus.query(`group by (pod) (last_over_time({pod=~"${goneNames}"}[${FRESH}]))`)).map((r) => r.metric.pod));
      for (const g of gone) if (!present.has(g.pod.name) && !leftAt.has(g.pod.name)) leftAt.set(g.pod.name, Date.now());
      for (const g of gone) {
        // Until its raw series are gone the pod may still count (and a fresh replacement may not yet).
        if (instancesRightAt.has(g.pod.name) || !leftAt.has(g.pod.name)) continue;
        const live = running.get(g.service)!.pods.length;
        const shown = await chain.prometheus.query(panelQuery(`${g.service}.json`, 'Instances'));
        if (shown.length === 1 && value(shown[0]) === live) instancesRightAt.set(g.pod.name, Date.now());
      }
      if (transport) {
        const ws = await chain.prometheus.query(panelQuery(`${transport}.json`, 'Active WebSocket connections'));
        if (ws.length) seenPanel.push(value(ws[0]));
      }
      if (!movesDone && Date.now() >= movesAt) movesDone = sampledDuringMoves(moveReplicas);
      await sleep(1000);
    }
    for (const g of gone) {
      // What the gone pod answered against the last count Prometheus has of it: the difference is
      // what it counted after its last scrape (lost when its series expire before the next scrape).
      const counted = await chain.prometheus.query(`sum(max_over_time(${histogram(g.service)}_count{pod="${g.pod.name}"}[10m]))`);
      note(`${g.pod.name} (${g.how}): answered ${traffic!.answered.get(g.pod) ?? 0} requests, ${counted.length ? value(counted[0]) : 0} counted in Prometheus`);
      const after = leftAt.has(g.pod.name) ? (leftAt.get(g.pod.name)! - g.pod.stoppedAt!) / 1000 : undefined;
      note(`${g.pod.name} (${g.how}): last series gone from the instant reads ${after === undefined ? 'never' : `${after.toFixed(1)} s`} after it stopped (pushFreshness ${FRESH}: metric_expiration ${expiration / 1000} s + scrape ${scrape / 1000} s + discovery ${DISCOVERY_MS / 1000} s)`);
      expect(`${g.pod.name}: ${after !== undefined && after <= (expiration + scrape + DISCOVERY_MS + 5_000) / 1000}`).toBe(`${g.pod.name}: true`);
      // The Instances panel reads a recorded series: up to one rule evaluation plus the rules' query
      // offset later than the raw series.
      const instancesAfter = instancesRightAt.has(g.pod.name) ? (instancesRightAt.get(g.pod.name)! - g.pod.stoppedAt!) / 1000 : undefined;
      note(`${g.pod.name} (${g.how}): Instances panel right ${instancesAfter === undefined ? 'never' : `${instancesAfter.toFixed(1)} s`} after it stopped (bound ${instancesBound / 1000} s + 5 s)`);
      expect(`${g.pod.name}: ${instancesAfter !== undefined && instancesAfter <= (instancesBound + 5_000) / 1000}`).toBe(`${g.pod.name}: true`);
    }
    if (transport) {
      note(`${transport} WebSocket panel after the kill: ${[...new Set(seenPanel)].join(' -> ')}`);
      const planned = CHAIN_CONNECTIONS.slice(0, withGauge!.pods.length).reduce((a, b) => a + b, 0);
      // While the killed pod's last value lives in the collector the panel may count it beside its
      // replacement's (how long depends on when the replacement's sockets open), never more; once
      // its series are gone (the loop above ends then) the panel reads the live pods' alone.
      expect(seenPanel.length).toBeGreaterThan(0);
      expect(Math.max(...seenPanel)).toBeLessThanOrEqual(planned + CHAIN_CONNECTIONS[withGauge!.pods.length - 1]);
      expect(seenPanel[seenPanel.length - 1]).toBe(planned);
    }

    await sleep(movesAt - Date.now());
    await (movesDone ?? sampledDuringMoves(moveReplicas));
    movedFrom = movesAt;
    // The proof's windows start once every moved pod's new replica has been discovered and scraped.
    proofTime = Math.max(proofTime, (Date.now() + scrape + DISCOVERY_MS + 60_000 + evaluation + 2_000) / 1000);
    // A process restarted in its pod (same name and address: a counter reset), before the proof's
    // windows. A window holding it reads the pod's rate with the error of any rate change inside a
    // window, as one holding a move does: the pod counts nothing while drained (one to two
    // scrapes), and rate() extrapolates the window's ends at the sampled average (one CI run read
    // chat-transport at 26.2 instead of 30 req/s, past the proof's 10 %). The windows start after
    // the new process has started; resets() below sees the reset.
    await restart();
    proofTime = Math.max(proofTime, (restarted!.startedAt + 2_000 + 60_000 + evaluation + 2_000) / 1000);
    note(`restarted ${restarted!.pod.name}: down ${((restarted!.startedAt - restarted!.stoppedAt) / 1000).toFixed(1)} s, ${((proofTime * 1000 - restarted!.startedAt) / 1000).toFixed(1)} s before the proof`);
    // While pods moved between replicas (from when the killed pod's last point had aged out), every
    // service counted exactly its running pods, none dropped for a moment nor counted twice, and the
    // WebSocket panel never counted a pod's connections twice: one series per pod, whichever
    // replica exposes it.
    note(`while connections moved: ${duringMoves.length} readings; pods counted ${[...running.keys()].map((n) => `${n} ${[...new Set(duringMoves.map((x) => x.instances.get(n)))].join('/')}`).join(', ')}` +
      (transport ? `; ${transport} WebSocket panel ${[...new Set(duringMoves.map((x) => x.ws))].join(', ')}` : ''));
    expect(duringMoves.length).toBeGreaterThan(10);
    // For a failure's log: each reading that missed a running pod, by when (from the moves' start).
    const all = [...running.values()].flatMap((r) => r.pods.map((p) => p.name));
    for (const x of duringMoves) {
      const missing = all.filter((p) => !x.pods.includes(p));
      if (missing.length) note(`+${((x.at - movesAt) / 1000).toFixed(1)} s: ${missing.join(', ')} missing (restart: stopped +${((restarted!.stoppedAt - movesAt) / 1000).toFixed(1)} s)`);
    }
    for (const r of running.values()) {
      expect(`${r.service.name}: ${[...new Set(duringMoves.map((x) => x.instances.get(r.service.name)))].join(',')}`).toBe(`${r.service.name}: ${r.pods.length}`);
    }
    if (transport) {
      const planned = CHAIN_CONNECTIONS.slice(0, withGauge!.pods.length).reduce((a, b) => a + b, 0);
      expect(Math.max(...duringMoves.map((x) => x.ws ?? 0))).toBeLessThanOrEqual(planned);
    }
    /**
     * Connections moved between collector replicas before the proof's windows, one kind after
     * another: a client reconnect, a replica lost (SIGKILL) and replaced, the Deployment scaled
     * 3 -> 2 (SIGTERM) and back to 3 with a pod moved onto the new replica. Each move is seen done:
     * the pod's points arrive at the replica it moved to.
     */
    async function moveReplicas(): Promise<void> {
      type Placed = { r: Running; pod: ChatPod };
      const chatPods = (): Placed[] => [...running.values()].flatMap((r) => r.pods.map((pod) => ({ r, pod }))).filter((x) => x.pod.running);
      /** Where each pod's connection is now, by the replica that has its newest point. */
      const placement = async () => {
        const on = new Map<CollectorReplica, Placed[]>(chain.collectors.replicas.map((r) => [r, []]));
        for (const x of chatPods()) {
          const r = await chain.replicaServing(x.pod, x.r.service.name);
          if (r) on.get(r)!.push(x);
        }
        return on;
      };
      const busiest = (on: Map<CollectorReplica, Placed[]>) => [...on.entries()].sort((a, b) => b[1].length - a[1].length)[0];
      const started = Date.now();
      const at = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
      const names = (xs: Placed[]) => xs.map((x) => `${x.pod.name} -> ${chain.replicaOf(x.pod)!.podName}`).join(', ');

      // A client reconnect: a one-pod service's whole traffic moves.
      const single = chatPods().find((x) => x.r.pods.length === 1)!;
      const from = (await chain.replicaServing(single.pod, single.r.service.name))!;
      const to = chain.collectors.replicas.find((r) => r !== from)!;
      const moved = Date.now();
      await chain.moveToReplica(single.pod, to);
      await arrives(single, to, moved);
      note(`${at()}: ${single.pod.name} reconnected from ${from.podName} to ${to.podName}`);
      await sleep(6_000);

      /** The replica holding the most pods goes; its pods reconnect where the Service now sends them. */
      const removeBusiest = async (how: 'SIGTERM' | 'SIGKILL') => {
        const [gone, itsPods] = busiest(await placement());
        removedReplicas.push(gone.podName);
        const goneAt = Date.now();
        await chain.removeCollectorReplica(gone, how);
        for (const x of itsPods) await arrives(x, chain.replicaOf(x.pod)!, goneAt);
        return `${gone.podName}; ${names(itsPods)}`;
      };

      // A replica lost with its connections, and its ReplicaSet's replacement.
      note(`${at()}: killed ${await removeBusiest('SIGKILL')}`);
      const replacement = await chain.addCollectorReplica();
      note(`${at()}: ${replacement.podName} replaces it`);
      await sleep(6_000);

      // Scaled down to 2: the busiest replica stops gracefully.
      note(`${at()}: scaled to 2, stopped ${await removeBusiest('SIGTERM')}`);
      await sleep(6_000);

      // Back to 3: the new replica gets a pod when that pod reconnects (here: now).
      const added = await chain.addCollectorReplica();
      const [, crowded] = busiest(await placement());
      const mover = crowded[0];
      const addedAt = Date.now();
      await chain.moveToReplica(mover.pod, added);
      await arrives(mover, added, addedAt);
      note(`${at()}: scaled to 3, ${mover.pod.name} reconnected to the new ${added.podName}`);
      expect(chain.collectors.replicas.length).toBe(COLLECTOR_REPLICAS);
    }

    /**
     * Runs `fn` while reading, every second, the WebSocket panel and each service's pod count as
     * its recording rule computes it (into duringMoves).
     */
    async function sampledDuringMoves(fn: () => Promise<void>): Promise<void> {
      const read = async () => {
        const at = Date.now();
        const ws = transport ? await chain.prometheus.query(panelQuery(`${transport}.json`, 'Active WebSocket connections')) : [];
        const instances = await Promise.all([...running.values()].map(async (r) => [r.service.name, (await chain.prometheus.query(instanceCount(CONFIG, r.service))).map(value)[0] ?? 0] as const));
        const pods = (await Promise.all([...running.values()].map(async (r) => (await chain.prometheus.query(`group by (pod) (last_over_time(${histogram(r.service.name)}_count{service="${r.service.name}"}[${FRESH}]))`)).map((x) => x.metric.pod)))).flat();
        duringMoves.push({ at, ws: ws.length ? value(ws[0]) : undefined, instances: new Map(instances), pods });
      };
      const sampler = setInterval(() => { read().catch(() => undefined); }, 1000);
      try {
        await fn();
      } finally {
        clearInterval(sampler);
      }
    }

    /** Waits until `replica` exposes a point of the pod's measured after `sinceMs`: the pod's export arrived there. */
    async function arrives(x: { r: Running; pod: ChatPod }, replica: CollectorReplica, sinceMs: number): Promise<void> {
      await until(`${x.pod.name}'s points at ${replica.podName}`, async () => ((await newestPointAt(replica, x.pod, x.r.service.name)) > sinceMs ? true : undefined), 30_000, 250);
    }

    async function restart(): Promise<void> {
      const r = [...running.values()].find((x) => x.service.websocketGauge && x.pods.length > 1) ?? [...running.values()].find((x) => x.pods.length > 1);
      if (!r) throw new Error('no service with two pods to restart one of without losing its traffic');
      const pod = r.pods[0];
      const sockets = r.sockets.get(pod)?.length ?? 0;
      // Out of the endpoints, drained, and its final count scraped while it still exports (a preStop
      // wait): the same pod's new process sends newer points, and a last count of the old one scraped
      // only after them is refused as out of order, lost to any dashboard. Two scrapes and the
      // discovery of a replica the pod has just moved to.
      await traffic!.unroute(r.service.name, pod);
      const drained = Date.now();
      await until(`the final count of ${pod.name} scraped`, async () => {
        const r2 = await chain.prometheus.query(`min(timestamp(${histogram(r.service.name)}_count{pod="${pod.name}"}))`);
        return r2.length && value(r2[0]) * 1000 >= drained + 2_500 ? true : undefined;
      }, 2 * scrape + 30_000, 500);
      await closeSockets(r, pod);
      await pod.stop();
      const stoppedAt = pod.stoppedAt!;
      await pod.start();
      if (sockets) await openSockets(r, pod, sockets);
      traffic!.route(r.service.name, pod);
      restarted = { pod, stoppedAt, startedAt: Date.now() };
    }
  }, 420_000);

  /**
   * For a failure's log: each pod's request count over the proof's window as Prometheus holds it
   * (the sum over its series at each point's time, from the proof), with what each pod answered.
   */
  async function noteSamples(services: string[]): Promise<void> {
    for (const service of services) {
      const series = await chain.prometheus.query(`${histogram(service)}_count{service="${service}"}[90s]`, proofTime);
      const byPod = new Map<string, Map<number, number>>();
      for (const x of series) {
        const points = byPod.get(x.metric.pod) ?? new Map<number, number>();
        byPod.set(x.metric.pod, points);
        for (const [t, v] of x.values ?? []) points.set(t, (points.get(t) ?? 0) + Number(v));
      }
      for (const [pod, points] of byPod) {
        const line = [...points.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => `${(t - proofTime).toFixed(1)}:${v}`).join(' ');
        note(`${service} ${pod}: ${line}`);
      }
    }
  }

  /** Waits until `proofTime` has been scraped and evaluated (by rules that evaluate RULE_OFFSET_MS behind). */
  async function atProofTime(): Promise<void> {
    expect(proofTime).toBeGreaterThan(0);
    await sleep(proofTime * 1000 + RULE_OFFSET_MS + 2_000 - Date.now());
  }

  const expectations = () => new Map([...running.values()].map((r) => [r.service.name, chainExpectation(r.service, r.kind, r.pods)]));

  it('every panel of every dashboard shows the injected values (both conventions)', async () => {
    await atProofTime();
    const all = dashboards();
    const reports: ProofReport[] = [];
    const services = (pred: (c: string) => boolean) => CONFIG.services.filter((s) => pred(s.convention)).map((s) => `${s.name}.json`);
    for (const convention of ['legacy', 'stable'] as const) {
      const files = services((c) => c === convention);
      // The overview reads recorded series by `service` only: proven once, with the legacy group.
      const mine = all.filter((d) => files.includes(d.file) || (convention === 'legacy' && !CONFIG.services.some((s) => `${s.name}.json` === d.file)));
      if (mine.length === 0) continue;
      const r = await provePanels({ prometheus: chain.prometheus, dashboards: mine, expectations: expectations(), slos: SLOS, time: proofTime });
      reports.push(r);
      note(`${convention}: ${mine.map((d) => d.file).join(', ')}: ${r.panels} panels, ${r.rows.length} values proven`);
    }
    const failures = reports.flatMap((r) => r.failures);
    // How close the rates came to their ±10 %: the three largest deviations, for the log.
    const deviations = reports.flatMap((r) => r.rows).filter((x) => / ±\d+%$/.test(x.expected))
      .map((x) => ({ x, off: Number(x.observed) / parseFloat(x.expected) - 1 })).sort((a, b) => Math.abs(b.off) - Math.abs(a.off)).slice(0, 3);
    note(`largest rate deviations: ${deviations.map(({ x, off }) => `${x.dashboard} ${x.panel} ${x.series} ${(100 * off).toFixed(1)} %`).join('; ')}`);
    if (failures.length) await noteSamples([...new Set(failures.map((f) => f.dashboard.replace(/\.json$/, '')))].filter((x) => running.has(x)));
    expect(formatRows(failures)).toBe('');
    expect(reports.reduce((a, r) => a + r.panels, 0)).toBe(all.reduce((a, d) => a + panelsOf(d.json).length, 0));
    const used = new Set(reports.flatMap((r) => Object.keys(PANEL_ASSERTIONS).filter((t) => !r.unusedAssertions.includes(t))));
    expect(Object.keys(PANEL_ASSERTIONS).filter((t) => !used.has(t))).toEqual([]);
    expect(`failed ${traffic!.failed}, unroutable ${traffic!.unroutable}: ${traffic!.errors.join('; ')}`).toBe('failed 0, unroutable 0: ');
  }, 300_000);

  it('every recording rule of every PrometheusRule returns the injected values', async () => {
    await atProofTime();
    const r = await proveRecordingRules({
      prometheus: chain.prometheus, rules: chain.rules, services: CONFIG.services, recordingWindow: CONFIG.recordingWindow,
      expectations: expectations(), slos: SLOS, time: proofTime,
    });
    note(`recording rules: ${r.records} recorded series x ${CONFIG.services.length} services, ${r.proven} values proven`);
    expect(r.failures.join('\n')).toBe('');
  }, 120_000);

  it('service, namespace, pod, job and instance are the ones the dashboards expect, for exactly the pods that run', async () => {
    await atProofTime();
    for (const r of running.values()) {
      const want = r.pods.map((p) => ({ service: r.service.name, namespace: r.service.namespace, pod: p.name, job: r.service.name, instance: p.name })).sort((a, b) => a.pod.localeCompare(b.pod));
      const identity = async (metric: string) => (await chain.prometheus.query(`group by (service, namespace, pod, job, instance) (last_over_time(${metric}{service="${r.service.name}"}[${FRESH}]))`, proofTime))
        .map((x) => ({ service: x.metric.service, namespace: x.metric.namespace, pod: x.metric.pod, job: x.metric.job, instance: x.metric.instance }))
        .sort((a, b) => a.pod.localeCompare(b.pod));
      expect(await identity(`${histogram(r.service.name)}_count`)).toEqual(want);
      if (r.service.websocketGauge) expect(await identity(r.service.websocketGauge)).toEqual(want);
      const names = Object.keys((await chain.prometheus.query(`${histogram(r.service.name)}_bucket{service="${r.service.name}"}`, proofTime))[0].metric).sort();
      note(`${r.service.name} (${r.service.convention}) label names: ${names.join(', ')}`);
    }
    // The restarted process's counters reset once: its old process's last point, repeated by a
    // replica after the new process's first, was refused rather than read as a second reset.
    if (restarted) {
      const since = Math.ceil(proofTime - restarted.stoppedAt / 1000 + 30);
      const series = `${histogram([...running.values()].find((x) => x.pods.includes(restarted!.pod))!.service.name)}_count{pod="${restarted.pod.name}"}`;
      const resets = (await chain.prometheus.query(`resets(${series}[${since}s])`, proofTime)).map(value);
      note(`${restarted.pod.name}: resets per series since it stopped: ${resets.join(', ')}`);
      expect(resets.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(Math.max(...resets)).toBe(1);
    }
    // Every pod that kept its process counted on without a reset while its connection moved
    // between replicas: each replica's copy fed one series, none read back as a drop.
    expect(movedFrom).toBeGreaterThan(0);
    const moveWindow = `${Math.ceil(proofTime - movedFrom / 1000 + 5)}s`;
    for (const r of running.values()) {
      for (const pod of r.pods.filter((p) => p !== restarted?.pod)) {
        const resets = await chain.prometheus.query(`sum(resets(${histogram(r.service.name)}_count{pod="${pod.name}"}[${moveWindow}]))`, proofTime);
        expect(`${pod.name}: ${resets.map(value).join()}`).toBe(`${pod.name}: 0`);
      }
    }
    const refused = /^prometheus_target_scrapes_sample_out_of_order_total (\S+)$/m.exec(await (await fetch(`${chain.prometheus.url}/metrics`)).text());
    note(`points a replica repeated after its pod moved on, refused by Prometheus as out of order: ${refused?.[1] ?? 'not reported'}`);
    // What the platform alerts read: the collector's target is up and no target is down. A replica
    // stopped inside the window may still read down: its last scrape can fail before its endpoint
    // leaves discovery, and Prometheus marks a dropped target's `up` stale only when its next scrape
    // would have been due (ScrapeTargetDown's `for` outlasts that).
    for (const rule of chain.of('PrometheusRule').flatMap((o) => o.spec.groups.flatMap((g: { rules: { alert?: string; expr: string }[] }) => g.rules))) {
      if (!rule.alert || !/^(OtelCollectorDown|ScrapeTargetDown)$/.test(rule.alert)) continue;
      const down = await chain.prometheus.query(rule.expr, proofTime);
      const ofRemoved = down.filter((x) => removedReplicas.includes(x.metric.pod));
      if (ofRemoved.length) note(`${rule.alert} at the proof: ${ofRemoved.map((x) => `${x.metric.job}@${x.metric.pod}`).join(', ')} (replicas stopped in the window)`);
      expect(`${rule.alert}: ${JSON.stringify(down.filter((x) => !ofRemoved.includes(x)))}`).toBe(`${rule.alert}: []`);
    }
  }, 120_000);

  it('a pod whose labels match no configured service, or that runs in an unwatched namespace, appears in no dashboard', async () => {
    await atProofTime();
    const names = strangers.map((p) => p.name).join('|');
    expect(await chain.prometheus.query(`{pod=~"${names}"}`, proofTime)).toEqual([]);
    const configured = CONFIG.services.map((s) => s.name);
    // Whatever of theirs arrives (the collector may drop what it cannot attribute) is under their own
    // service.name as job and no configured service.
    const theirs = await chain.prometheus.query('group by (job, instance, service, namespace, pod) ({job=~"unknown_service|chat-elsewhere-transport"})', proofTime);
    for (const x of theirs) expect(configured).not.toContain(x.metric.service);
    note(`strangers' series: ${theirs.length ? theirs.map((x) => JSON.stringify(x.metric)).join(' ') : 'none (dropped by the collector)'}`);
    // They did send: all their requests were answered, and their processes export (still running).
    for (const p of strangers) expect(`${p.name}: ${p.running}`).toBe(`${p.name}: true`);
  }, 60_000);

  /** Waits until Prometheus has evaluated rule group `group` after `atMs`. */
  async function evaluatedAfter(group: string, atMs: number): Promise<void> {
    await until(`${group} evaluated after ${new Date(atMs).toISOString()}`, async () => {
      const g = (await chain.prometheus.ruleGroups()).find((x) => x.name === group);
      return g && Date.parse(g.lastEvaluation) > atMs ? true : undefined;
    }, chain.evaluationIntervalMs + 30_000, 500);
  }

  it(`${ALERT_NAMES.websocketZero}: silent while the pods hold connections, pending once no pod has accepted one since it started`, async () => {
    await atProofTime();
    const r = [...running.values()].find((x) => x.service.websocketGauge);
    expect(r).toBeDefined(); // the default config's chat-transport
    const service = r!.service.name;
    const gauge = r!.service.websocketGauge!;
    const rule = chain.of('PrometheusRule').flatMap((o) => o.spec.groups.flatMap((g: { rules: { alert?: string; expr: string; labels?: Record<string, string> }[] }) => g.rules))
      .find((x) => x.alert === ALERT_NAMES.websocketZero && x.labels?.service === service)!;
    const alerts = `ALERTS{alertname="${ALERT_NAMES.websocketZero}", service="${service}"}`;
    // Never pending or firing since the sockets opened, and its condition is false now.
    const since = Math.ceil((Date.now() - socketsOpenedAt) / 1000);
    expect(await chain.prometheus.query(`count_over_time(${alerts}[${since}s])`)).toEqual([]);
    expect(await chain.prometheus.query(rule.expr)).toEqual([]);

    // A deploy where every upgrade fails: each pod's process starts anew and accepts no WebSocket,
    // so its SDK exports no gauge series at all (not 0); the pods keep serving HTTP.
    for (const pod of r!.pods) {
      await traffic!.unroute(service, pod);
      await closeSockets(r!, pod);
      await pod.stop();
      await pod.start();
      traffic!.route(service, pod);
    }
    // The old processes' gauges leave the collector after metric_expiration, then Prometheus.
    const liveGauge = `last_over_time(${gauge}{service="${service}"}[${FRESH}])`;
    await until(`${gauge} of ${service} absent`, async () => ((await chain.prometheus.query(liveGauge)).length === 0 ? true : undefined),
      chain.metricExpirationMs + chain.scrapeIntervalMs + DISCOVERY_MS + 30_000, 1000);
    const absentAt = Date.now();
    await evaluatedAfter(`${service}.alerts`, absentAt);
    note(`${service}: gauge absent ${((absentAt - r!.pods[r!.pods.length - 1].stoppedAt!) / 1000).toFixed(1)} s after the last restart`);
    expect((await chain.prometheus.query(alerts)).map((a) => a.metric.alertstate)).toEqual(['pending']); // firing after its for (promtool proves the for)
    expect((await chain.prometheus.query(rule.expr)).map((x) => x.metric.service)).toEqual([service]);
    expect(await chain.prometheus.query(liveGauge)).toEqual([]);
    // Its pods are up and serving: what the alert reads as "the service is there".
    const pods = await chain.prometheus.query(`count(count by (pod) (last_over_time(${histogram(service)}_count{service="${service}"}[${FRESH}])))`);
    expect(pods.map(value)).toEqual([r!.pods.length]);
  }, 240_000);
});
