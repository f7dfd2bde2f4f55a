/**
 * Load that spreads: the collector Deployment scaled from 1 to 3 replicas while six chat pods push
 * to it. gRPC connections stay where they are, so the new replicas get nothing until the pods
 * reconnect; the chart's collector.maxConnectionAge makes every pod reconnect within one connection
 * age, and the Service (kube-proxy, played here by test/support/collector-replicas.ts: round-robin
 * over the replicas) sends each reconnect to its new place. Each replica's share of the points it
 * accepts, read from its own otelcol_receiver_* counters, must then be within 20 % of an even third,
 * within 5 minutes of the scale, with no point refused.
 *
 * Every pod is of one service and answers the same requests once, so each exports the same series
 * every export interval (cumulative temporality): an even spread of pods is an even spread of points.
 */
import { durationSeconds } from '../../lib/config';
import { ChatPod, describeWithChain, PushChain, podName, templateHash } from '../support/push-chain';
import { CollectorReplica } from '../support/collector-replicas';
import { configWith } from '../support/manifests';
import { sleep } from '../support/prometheus';
import { CHART_CONFIG } from '../../lib/chart-config';

const CONFIG = configWith({ services: CHART_CONFIG.services, collectorReplicas: 1 });
const SCALED_TO = 3;
const PODS = 6;
/** Where an even share may be off by, as a fraction of it (the 20 %). */
const EVEN_WITHIN = 0.2;
/** How long each share is measured over, once every pod has reconnected. */
const WINDOW_MS = 60_000;
/** The bound from the scale to the even spread. */
const WITHIN_MS = 5 * 60_000;
/** grpc-go adds up to 10 % jitter to MaxConnectionAge, then waits the grace (10 s, collector-settings.ts). */
const reconnectedWithinMs = () => Math.ceil(durationSeconds(CONFIG.collector.maxConnectionAge) * 1.1 * 1000) + 10_000 + 5_000;

const COUNTER = /^otelcol_receiver_(accepted|refused)_metric_points(?:_total)?\{([^}]*)\} (\S+)/;

/** A replica's points accepted and refused on its OTLP receiver so far, from its own metrics endpoint. */
async function receiverPoints(r: CollectorReplica): Promise<{ accepted: number; refused: number }> {
  const text = await (await fetch(`http://${r.address}:${r.process.ports.selfMetrics}/metrics`)).text();
  const sums = { accepted: 0, refused: 0 };
  for (const line of text.split('\n')) {
    const m = COUNTER.exec(line);
    if (m && m[2].includes('receiver="otlp"')) sums[m[1] as 'accepted' | 'refused'] += Number(m[3]);
  }
  return sums;
}

describeWithChain('load that spreads: the collector scaled from 1 to 3 replicas, its clients reconnect within maxConnectionAge', () => {
  let chain: PushChain;
  const pods: ChatPod[] = [];
  const log: string[] = [];
  const service = CONFIG.services.find((s) => s.name === 'chat-auth')!;

  beforeAll(async () => {
    chain = await PushChain.start({ config: CONFIG, prometheus: false });
    const hash = templateHash();
    for (let i = 0; i < PODS; i++) {
      pods.push(await chain.startPod({ namespace: service.namespace, name: podName(service.name, hash), labels: { ...service.selector, 'pod-template-hash': hash }, kind: 'auth' }));
    }
    for (const pod of pods) {
      for (const [method, path, status] of [['POST', '/sessions/login', 200], ['GET', '/users/{user_id}', 200], ['GET', '/users/{user_id}', 404]] as const) {
        expect(await pod.service.request({ method, path }, { status, delayMs: 5 })).toBe(status);
      }
    }
  }, 240_000);

  afterAll(async () => {
    await chain?.stop();
    console.log(log.join('\n')); // eslint-disable-line no-console
  }, 60_000);

  it(`every one of ${SCALED_TO} replicas takes ${Math.round(100 / SCALED_TO)} % of the points (±${EVEN_WITHIN * 100} % of that) within ${WITHIN_MS / 60_000} minutes of the scale, none refused`, async () => {
    expect(chain.collectors.replicas.length).toBe(1);
    await sleep(5_000); // every pod has exported to the one replica
    const scaledAt = Date.now();
    const added: CollectorReplica[] = [];
    for (let i = 1; i < SCALED_TO; i++) added.push(await chain.addCollectorReplica());
    // Right after the scale the new replicas have nothing: the pods' connections stay where they were.
    await sleep(5_000);
    for (const r of added) expect(`${r.podName}: ${(await receiverPoints(r)).accepted}`).toBe(`${r.podName}: 0`);

    await sleep(scaledAt + reconnectedWithinMs() - Date.now());
    const before = await Promise.all(chain.collectors.replicas.map(receiverPoints));
    await sleep(WINDOW_MS);
    const after = await Promise.all(chain.collectors.replicas.map(receiverPoints));
    const measuredBy = Date.now() - scaledAt;
    const accepted = after.map((a, i) => a.accepted - before[i].accepted);
    const total = accepted.reduce((a, b) => a + b, 0);
    const even = total / SCALED_TO;
    log.push(`scaled 1 -> ${SCALED_TO}; shares over ${WINDOW_MS / 1000} s from ${(reconnectedWithinMs() / 1000).toFixed(0)} s after: ` +
      chain.collectors.replicas.map((r, i) => `${r.podName} ${accepted[i]} points (${((100 * accepted[i]) / total).toFixed(1)} %)`).join(', ') +
      `; measured by ${(measuredBy / 1000).toFixed(0)} s after the scale`);
    expect(total).toBeGreaterThan(0);
    for (const [i, r] of chain.collectors.replicas.entries()) {
      expect(`${r.podName}: ${Math.abs(accepted[i] - even) <= EVEN_WITHIN * even}`).toBe(`${r.podName}: true`);
    }
    expect(measuredBy).toBeLessThanOrEqual(WITHIN_MS);
    // Nothing refused on any replica, and every pod still exports (each is on one of them).
    expect(after.map((a) => a.refused)).toEqual(after.map(() => 0));
    // No export given up: the SDK logs each batch it drops after its retries (a reconnect's failed
    // export is retried, logged as a transient error).
    for (const pod of pods) expect(`${pod.name}: ${pod.service.output.split('\n').filter((l) => /Failed to export/i.test(l)).join(' | ')}`).toBe(`${pod.name}: `);
  }, 420_000);
});
