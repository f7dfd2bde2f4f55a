/**
 * The proof that the chart's Alertmanager cluster delivers each alert once, and still delivers
 * with one replica gone: three real Alertmanagers (the version the chart deploys) clustered with
 * each other on 127.0.0.1 with the flags the operator gives each replica (gossip listener, every
 * other replica as a peer, the pod's name as peer name, `<namespace>/<name>` as cluster label), all
 * running the configuration the operator renders from the chart's AlertmanagerConfig
 * (test/support/operator-alertmanager-config.ts), with a webhook receiver served by this test.
 *
 * Prometheus sends every alert to every Alertmanager: the chart's Prometheus resource names the
 * `alertmanager` Service, whose endpoints (one per ready replica) the operator's generated config
 * discovers (test/unit/alertmanager-stack.test.ts). So the test posts each alert to all three, as
 * each Prometheus replica does, with the labels the chart's rule gives it plus the `prometheus`
 * external label the operator adds (it drops `prometheus_replica` from alerts, so the replicas'
 * copies are one alert). Checked:
 * - each member sees the 3 members (the chart's default `alertmanager.replicas`);
 * - an alert sent to all three reaches the receiver exactly once (the members after the first wait
 *   their position x the peer timeout, then find the first one's entry in the gossiped notification
 *   log), watched until well after the last member's wait;
 * - with the member that sent it killed (SIGKILL), a new alert sent to the two survivors (and to the
 *   dead one's address, which refuses it, as Prometheus sees) is delivered exactly once, by a
 *   survivor; the survivors come to see 2 members;
 * - the first alert, sent again to the survivors, is not notified again before its repeat
 *   interval: the dead member's notification log entry lives on in theirs.
 *
 * The routing tree and receivers are the chart's; the timings are alert-delivery's shortened ones
 * (group_wait 1s, group_interval 5s, repeat_interval 1h, and the peer timeout scaled down with them,
 * 1s, as the chart's 15s is to its 5m group interval), each member started with the
 * `--cluster.peer-timeout` the operator gives it from the resource's `clusterPeerTimeout`
 * (v0.93.1 pkg/alertmanager/statefulset.go).
 */
import { ALERTMANAGER_BINARIES, AlertmanagerServer, amtool, PostableAlert } from '../support/alertmanager';
import { DELIVERY_ALERTMANAGER, RECEIVERS_SECRET, WEBHOOK_PATH, webhookCredentials } from '../support/alertmanager-fixtures';
import { describeWithBinaries } from '../support/binaries';
import { configWith, K8sObject, ofKind, synthObjects } from '../support/manifests';
import { renderedReceiverName, renderOperatorAlertmanagerConfig } from '../support/operator-alertmanager-config';
import { sleep, until, untilTrue } from '../support/process';
import { Notification, WebhookReceiver } from '../support/webhook-receiver';

// ---- the chart, with the test's receivers and alert-delivery's shortened timings ----
const config = configWith({ alertmanager: DELIVERY_ALERTMANAGER });
const objects: K8sObject[] = synthObjects(config);
const amConfigObject = ofKind(objects, 'AlertmanagerConfig')[0];
const amResource = ofKind(objects, 'Alertmanager')[0];
const prometheusResource = ofKind(objects, 'Prometheus')[0];
const rules = ofKind(objects, 'PrometheusRule');
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)![1]);
const GROUP_WAIT_S = seconds(config.alertmanager.groupWait);
const GROUP_INTERVAL_S = seconds(config.alertmanager.groupInterval);
const REPLICAS = config.alertmanager.replicas;

/** How long each member waits per position before it notifies (the resource's clusterPeerTimeout). */
const PEER_TIMEOUT_S = seconds(amResource.spec.clusterPeerTimeout);

// ---- stated, not read from the chart ----
/** The page the test sends; critical, so it goes to the critical receiver. */
const ALERT = 'ChatServiceErrorBudgetBurnFast';

/**
 * How long after the first delivery a duplicate could still come: the last member waits
 * (REPLICAS - 1) x the peer timeout after its group_wait before notifying, then a group interval
 * passes before its next flush; plus a margin for a busy machine.
 */
const WATCH_S = (REPLICAS - 1) * PEER_TIMEOUT_S + GROUP_INTERVAL_S + 10;

interface Rule { alert?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const ruleOf = (service: string, alert: string): Rule => {
  const o = rules.find((r) => r.metadata.name === service)!;
  return (o.spec.groups as { rules: Rule[] }[]).flatMap((g) => g.rules).find((r) => r.alert === alert)!;
};

/** The alert as each Prometheus replica posts it while it fires: the rule's labels, the operator's `prometheus` external label. */
const firing = (service: string, startsAt: Date): PostableAlert => {
  const rule = ruleOf(service, ALERT);
  return {
    labels: { alertname: ALERT, ...rule.labels, service, prometheus: `${prometheusResource.metadata.namespace}/${prometheusResource.metadata.name}` },
    annotations: rule.annotations,
    startsAt: startsAt.toISOString(),
    // Prometheus re-sends a firing alert every minute with an end a few minutes ahead; an hour
    // keeps it firing through the test without re-sending.
    endsAt: new Date(startsAt.getTime() + 3600_000).toISOString(),
    generatorURL: 'http://prometheus-chat-monitoring-0:9090/graph',
  };
};

const about = (service: string) => (n: Notification) => n.payload.status === 'firing' && n.payload.alerts.some((a) => a.labels.service === service);
const elapsed = (from: number, to = Date.now()) => ((to - from) / 1000).toFixed(1);
const memberName = (i: number) => `alertmanager-${amResource.metadata.name}-${i}`;

describeWithBinaries('Alertmanager cluster: three replicas, every alert sent to each, delivered once, also with one killed', ALERTMANAGER_BINARIES, () => {
  let webhook: WebhookReceiver;
  let members: AlertmanagerServer[] = [];
  let rendered: string;
  const path = WEBHOOK_PATH.critical;
  const notificationsAbout = (service: string) => webhook.find(path, about(service));
  const nameOf = (url: string) => memberName(members.findIndex((m) => m.url === url));

  beforeAll(async () => {
    webhook = await WebhookReceiver.start();
    rendered = renderOperatorAlertmanagerConfig(amConfigObject, { [RECEIVERS_SECRET]: webhookCredentials(webhook.url) });
    members = await AlertmanagerServer.startCluster(rendered, REPLICAS, `alertmanager-${amResource.metadata.name}`,
      `${amResource.metadata.namespace}/${amResource.metadata.name}`, [`--cluster.peer-timeout=${amResource.spec.clusterPeerTimeout}`]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(members.map((m) => m.stop()));
    await webhook?.stop();
  });

  it('the chart runs 3 replicas by default, with Alertmanager\'s own peer timeout unless shortened, and routes this page to the critical receiver', () => {
    expect(REPLICAS).toBe(3);
    expect(amResource.spec.replicas).toBe(REPLICAS);
    expect(ofKind(synthObjects(configWith({})), 'Alertmanager')[0].spec.clusterPeerTimeout).toBe('15s'); // Alertmanager's own default
    expect(amResource.spec.clusterPeerTimeout).toBe(DELIVERY_ALERTMANAGER.clusterPeerTimeout);
    expect(members.map((m) => m.running)).toEqual([true, true, true]);
    const labels = Object.entries(firing('chat-auth', new Date()).labels).map(([k, v]) => `${k}=${v}`);
    const { output } = amtool(['config', 'routes', 'test', `--alertmanager.url=${members[0].url}`, ...labels]);
    expect(output.trim()).toBe(renderedReceiverName(amConfigObject, config.alertmanager.criticalReceiver));
  });

  it('each member sees all 3 members, gossip settled', async () => {
    const started = Date.now();
    await AlertmanagerServer.settled(members);
    const names = (await members[0].clusterStatus()).peers!.map((p) => p.name).sort();
    console.log(`cluster: ${REPLICAS} members settled ${elapsed(started)} s after the last one started: ${names.join(', ')}`);
    expect(names).toEqual(members.map((_, i) => memberName(i)));
  }, 150_000);

  let first: Notification;
  let firstStartsAt: Date;
  it('a firing alert sent to all three members is delivered exactly once', async () => {
    firstStartsAt = new Date();
    const sentAt = Date.now();
    await Promise.all(members.map((m) => m.postAlerts([firing('chat-auth', firstStartsAt)])));
    first = await until('the first notification', () => notificationsAbout('chat-auth')[0], (GROUP_WAIT_S + (REPLICAS - 1) * PEER_TIMEOUT_S + 60) * 1000, 200);
    await sleep(first.receivedAt + WATCH_S * 1000 - Date.now());
    const all = notificationsAbout('chat-auth');
    console.log(`first alert: ${all.length} notification(s) in ${elapsed(sentAt)} s after it was sent to ${REPLICAS} members; `
      + `the first ${elapsed(sentAt, first.receivedAt)} s after sending, from ${nameOf(first.payload.externalURL)} (watched ${WATCH_S} s more)`);
    expect(all.length).toBe(1);
    expect(first.payload.receiver).toBe(renderedReceiverName(amConfigObject, config.alertmanager.criticalReceiver));
    expect(first.payload.alerts.map((a) => a.labels)).toEqual([firing('chat-auth', firstStartsAt).labels]);
    expect(members.map((m) => m.url)).toContain(first.payload.externalURL);
    // Every member holds the alert; the others did not notify because the notification log said it was sent.
    for (const m of members) {
      expect((await m.alerts()).filter((a) => a.labels.service === 'chat-auth').map((a) => a.status.state)).toEqual(['active']);
    }
  }, 180_000);

  let survivors: AlertmanagerServer[];
  let killed: AlertmanagerServer;
  let killedAt: number;
  /** When each survivor first saw REPLICAS - 1 members: polled from the kill on, while the test goes on. */
  let twoMembersSeen: Promise<number[]>;
  it('with the member that sent it killed (SIGKILL), a new alert sent to all three addresses is delivered exactly once, by a survivor', async () => {
    killed = members.find((m) => m.url === first.payload.externalURL)!;
    survivors = members.filter((m) => m !== killed);
    process.kill(killed.pid!, 'SIGKILL');
    killedAt = Date.now();
    await untilTrue('the killed member to exit', () => !killed.running, 10_000, 50);
    twoMembersSeen = Promise.all(survivors.map((m) => until(`${nameOf(m.url)} to see ${REPLICAS - 1} members`,
      async () => ((await m.clusterStatus()).peers?.length === REPLICAS - 1 ? Date.now() : undefined), 240_000, 250)));
    twoMembersSeen.catch(() => undefined); // awaited (and failed) in the next test

    const startsAt = new Date();
    const sentAt = Date.now();
    // As Prometheus: every discovered Alertmanager gets the batch; the dead one's refusal is logged and counted, nothing more.
    const results = await Promise.all(members.map((m) => m.postAlerts([firing('chat-messaging', startsAt)]).then(() => 'accepted', (e: Error) => `failed: ${e.message}`)));
    expect(results.filter((r) => r === 'accepted').length).toBe(REPLICAS - 1);
    expect(results[members.indexOf(killed)]).toMatch(/^failed/);

    const delivered = await until('the new alert\'s notification', () => notificationsAbout('chat-messaging')[0],
      (GROUP_WAIT_S + (REPLICAS - 1) * PEER_TIMEOUT_S + 60) * 1000, 200);
    await sleep(delivered.receivedAt + WATCH_S * 1000 - Date.now());
    const all = notificationsAbout('chat-messaging');
    console.log(`killed ${nameOf(killed.url)} (the first alert's sender); new alert: ${all.length} notification(s) in ${elapsed(sentAt)} s; `
      + `the first ${elapsed(sentAt, delivered.receivedAt)} s after sending, from ${nameOf(delivered.payload.externalURL)} (watched ${WATCH_S} s more)`);
    expect(all.length).toBe(1);
    expect(survivors.map((m) => m.url)).toContain(delivered.payload.externalURL);
    expect(delivered.payload.alerts.map((a) => a.labels)).toEqual([firing('chat-messaging', startsAt).labels]);
  }, 180_000);

  it('the survivors come to see 2 members', async () => {
    const seen = await twoMembersSeen;
    console.log(`survivors see ${REPLICAS - 1} members ${seen.map((t) => elapsed(killedAt, t)).join(' and ')} s after the kill`);
    const expected = members.map((_, i) => memberName(i)).filter((_, i) => members[i] !== killed);
    for (const m of survivors) {
      expect((await m.clusterStatus()).peers!.map((p) => p.name).sort()).toEqual(expected);
    }
  }, 240_000);

  it('the first alert, sent again to the survivors, is not notified again before its repeat interval: the notification log was shared', async () => {
    const resentAt = Date.now();
    await Promise.all(survivors.map((m) => m.postAlerts([firing('chat-auth', firstStartsAt)])));
    await sleep(WATCH_S * 1000);
    const all = notificationsAbout('chat-auth');
    console.log(`first alert re-sent to the survivors: ${all.length} notification(s) in all, ${elapsed(resentAt)} s later`);
    expect(all).toEqual([first]);
    // Nothing else reached any receiver during the whole test.
    expect(webhook.notifications.length).toBe(2);
  }, 120_000);
});
