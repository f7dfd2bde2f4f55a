/**
 * The chart's Alertmanager configuration as a pure function of the config: the route tree, the
 * inhibitions and the receivers, in the shape of an `AlertmanagerConfig` spec (monitoring.coreos.com/v1alpha1).
 *
 * It holds no credential: a receiver names keys of the user-created Secret `receiversSecret`, which
 * the operator reads when it renders Alertmanager's configuration. The Alertmanager resource
 * points at this object through `spec.alertmanagerConfiguration`, so the operator uses it as the
 * top-level configuration, without the namespace matcher it forces on other AlertmanagerConfigs.
 */
import { ChartConfig } from '../config';
import { durationSeconds, durationText } from '../validation';
import { AlertMatcher, AlertRoute, MatchType, NULL_RECEIVER, ReceiverConfig } from './alertmanager-settings';
import { ALERT_NAMES } from '../rules/alert-catalog';
import { NAMES } from '../labels';

/** Field names as in the CRD (the objects are serialized as they are). */
export interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly matchType: MatchType;
}
export interface Route {
  readonly receiver: string;
  readonly groupBy?: readonly string[];
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
  readonly matchers?: readonly Matcher[];
  readonly continue?: boolean;
  readonly routes?: readonly Route[];
}
export interface SecretKeySelector {
  readonly name: string;
  readonly key: string;
}
export interface Receiver {
  readonly name: string;
  readonly webhookConfigs?: readonly { sendResolved: boolean; urlSecret: SecretKeySelector }[];
  readonly slackConfigs?: readonly { sendResolved: boolean; apiURL: SecretKeySelector; channel?: string }[];
  readonly pagerdutyConfigs?: readonly { sendResolved: boolean; routingKey: SecretKeySelector }[];
  readonly emailConfigs?: readonly {
    sendResolved: boolean; to: string; from: string; smarthost: string; requireTLS: boolean;
    authUsername?: string; authPassword?: SecretKeySelector;
  }[];
}
export interface InhibitRule {
  readonly sourceMatch: readonly Matcher[];
  readonly targetMatch: readonly Matcher[];
  readonly equal?: readonly string[];
}
export interface AlertmanagerConfigSpec {
  readonly route: Route;
  readonly receivers: readonly Receiver[];
  readonly inhibitRules: readonly InhibitRule[];
}

/** One notification per alert name and service: a burn on chat-auth and one on chat-transport page separately. */
export const GROUP_BY = ['alertname', 'service'] as const;

const eq = (name: string, value: string): Matcher => ({ name, value, matchType: '=' });
const oneOf = (name: string, values: readonly string[]): Matcher => ({ name, value: values.join('|'), matchType: '=~' });

function receiver(r: ReceiverConfig, secret: string): Receiver {
  const ref = (key: string): SecretKeySelector => ({ name: secret, key });
  const sendResolved = r.sendResolved;
  if (r.webhook) return { name: r.name, webhookConfigs: [{ sendResolved, urlSecret: ref(r.webhook.urlSecretKey) }] };
  if (r.slack) {
    return { name: r.name, slackConfigs: [{ sendResolved, apiURL: ref(r.slack.apiUrlSecretKey), ...(r.slack.channel ? { channel: r.slack.channel } : {}) }] };
  }
  if (r.pagerduty) return { name: r.name, pagerdutyConfigs: [{ sendResolved, routingKey: ref(r.pagerduty.routingKeySecretKey) }] };
  const e = r.email!;
  return {
    name: r.name,
    emailConfigs: [{
      sendResolved, to: e.to, from: e.from, smarthost: e.smarthost, requireTLS: e.requireTls,
      ...(e.authUsername ? { authUsername: e.authUsername, authPassword: ref(e.authPasswordSecretKey!) } : {}),
    }],
  };
}

const userRoute = (r: AlertRoute): Route => ({
  receiver: r.receiver,
  matchers: r.matchers.map((m: AlertMatcher) => ({ name: m.name, value: m.value, matchType: m.matchType })),
  ...(r.continue ? { continue: true } : {}),
});

/** Each SLI's burn tiers, fastest first (lib/rules/slo.ts BURN_TIERS). */
const BURN_TIER_ALERTS = [
  [ALERT_NAMES.burnFast, ALERT_NAMES.burnSlow, ALERT_NAMES.burnDaily, ALERT_NAMES.burnChronic],
  [ALERT_NAMES.latencyBurnFast, ALERT_NAMES.latencyBurnSlow, ALERT_NAMES.latencyBurnDaily, ALERT_NAMES.latencyBurnChronic],
] as const;

/**
 * Inhibitions, each so that one cause pages once:
 * - a service's faster burn tier mutes its slower ones of the same SLI (same budget, the fastest is the news);
 * - a service whose metrics are absent mutes its latency and burn alerts (their data is gone, not bad);
 * - a service over its sample limit mutes its "metrics absent" (the limit is why they are absent);
 * - a Prometheus failing to send to an Alertmanager mutes its "dropping alerts" for that Alertmanager;
 * - the collector being down mutes "metrics absent" of every push service and the failed scrapes of
 *   its own targets (one page, not one per service).
 */
export function inhibitRules(config: ChartConfig): InhibitRule[] {
  const rules: InhibitRule[] = BURN_TIER_ALERTS.flatMap((tiers) => tiers.slice(0, -1).map((faster, i) => (
    { sourceMatch: [eq('alertname', faster)], targetMatch: [oneOf('alertname', tiers.slice(i + 1))], equal: ['service'] })));
  rules.push(
    {
      sourceMatch: [eq('alertname', ALERT_NAMES.metricsAbsent)],
      targetMatch: [oneOf('alertname', [ALERT_NAMES.latencyP99, ...BURN_TIER_ALERTS.flat()])],
      equal: ['service'],
    },
    { sourceMatch: [eq('alertname', ALERT_NAMES.sampleLimit)], targetMatch: [eq('alertname', ALERT_NAMES.metricsAbsent)], equal: ['service'] },
    // A failed batch is also counted as dropped: the same Prometheus and Alertmanager, one cause.
    {
      sourceMatch: [eq('alertname', ALERT_NAMES.notificationsFailing)],
      targetMatch: [eq('alertname', ALERT_NAMES.notificationsDropped)],
      equal: ['namespace', 'pod', 'alertmanager'],
    },
  );
  const pushing = config.services.filter((s) => s.exportMode === 'push').map((s) => s.name);
  if (pushing.length > 0) {
    // No `equal`: the collector alert has no service label, and it explains every push service's silence.
    rules.push({ sourceMatch: [eq('alertname', ALERT_NAMES.collectorDown)], targetMatch: [eq('alertname', ALERT_NAMES.metricsAbsent), oneOf('service', pushing)] });
    // The collector's targets: its own metrics endpoint (job = its Service's name) and one exporter
    // per push service (job = the service), all in the stack's namespace.
    rules.push({
      sourceMatch: [eq('alertname', ALERT_NAMES.collectorDown)],
      targetMatch: [eq('alertname', ALERT_NAMES.targetDown), eq('namespace', config.namespace), oneOf('job', [NAMES.collector, ...pushing])],
    });
  }
  return rules;
}

/**
 * The heartbeat route's repeat interval: half its group interval. Alertmanager re-sends a group at a
 * group-interval tick only if its last send was logged more than the repeat interval before that
 * tick, and a send is logged after its tick: a repeat interval equal to the group interval skips
 * every other tick (a beat every 2 x heartbeatInterval). Half re-sends at every tick, once.
 */
const heartbeatRepeat = (interval: string) => durationText(durationSeconds(interval) / 2);

/**
 * The AlertmanagerConfig spec: the Watchdog's heartbeat route, the user routes, then critical,
 * warning and ticket by severity; the root receives anything else. The heartbeat route is first and
 * does not continue, so no person gets the always-firing Watchdog; it is sent at once and then at
 * every heartbeatInterval tick.
 */
export function alertmanagerConfigSpec(config: ChartConfig): AlertmanagerConfigSpec {
  const am = config.alertmanager;
  return {
    route: {
      receiver: am.warningReceiver,
      groupBy: [...GROUP_BY],
      groupWait: am.groupWait,
      groupInterval: am.groupInterval,
      repeatInterval: am.repeatInterval,
      routes: [
        {
          receiver: am.heartbeatReceiver, matchers: [eq('alertname', ALERT_NAMES.watchdog)],
          groupWait: '0s', groupInterval: am.heartbeatInterval, repeatInterval: heartbeatRepeat(am.heartbeatInterval),
        },
        ...am.routes.map(userRoute),
        { receiver: am.criticalReceiver, matchers: [eq('severity', 'critical')] },
        { receiver: am.warningReceiver, matchers: [eq('severity', 'warning')] },
        { receiver: am.ticketReceiver, matchers: [eq('severity', 'ticket')] },
      ],
    },
    receivers: [{ name: NULL_RECEIVER }, ...am.receivers.map((r) => receiver(r, am.receiversSecret))],
    inhibitRules: inhibitRules(config),
  };
}

/** TCP ports the configured receivers are reached on: what Alertmanager's egress policy opens. */
export function receiverEgressPorts(config: ChartConfig): number[] {
  const ports = config.alertmanager.receivers.map((r) => {
    if (r.webhook) return r.webhook.port;
    if (r.email) return Number(r.email.smarthost.split(':').pop());
    return 443; // Slack and PagerDuty APIs are https
  });
  return [...new Set(ports)].sort((a, b) => a - b);
}
