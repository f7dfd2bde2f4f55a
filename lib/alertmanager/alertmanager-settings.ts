/**
 * Alertmanager's settings: receivers, routes and timings, their defaults and their validation.
 * alertmanager-config.ts turns the validated settings into the AlertmanagerConfig object.
 */
import { ALERT_LABEL_NAMES, ALERT_NAMES, SEVERITIES } from '../rules/alert-catalog';
import {
  bool, cidrList, ConfigError, DNS1123_LABEL, durationSeconds, given, GO_DURATION, int, list, optional, QUANTITY, QUANTITY_FIX, requireObject, str,
} from '../validation';

/** How a route matcher compares an alert label with its value (Alertmanager's matcher operators). */
export type MatchType = '=' | '!=' | '=~' | '!~';

export interface AlertMatcher {
  /** A label the chart's alerts carry (lib/rules/alert-catalog.ts, ALERT_LABEL_NAMES). */
  readonly name: string;
  readonly value: string;
  /** @default '=' */
  readonly matchType: MatchType;
}

export interface AlertRoute {
  /** Receiver (by name) of the alerts this route matches. */
  readonly receiver: string;
  /** All must match. At least one. */
  readonly matchers: readonly AlertMatcher[];
  /** Also let the alert continue to later routes, including the severity routes. @default false */
  readonly continue: boolean;
}

/** Receivers' credentials are keys of the user-created Secret `alertmanager.receiversSecret`, never values here. */
export interface WebhookReceiver {
  /** Key holding the URL the notifications are POSTed to. */
  readonly urlSecretKey: string;
  /** TCP port of that URL: what the egress NetworkPolicy opens. @default 443 */
  readonly port: number;
}
export interface SlackReceiver {
  /** Key holding the incoming-webhook URL (https, port 443). */
  readonly apiUrlSecretKey: string;
  /** Channel, e.g. "#chat-alerts"; unset uses the webhook's own. */
  readonly channel?: string;
}
export interface PagerDutyReceiver {
  /** Key holding the Events API v2 integration (routing) key (https, port 443). */
  readonly routingKeySecretKey: string;
}
export interface EmailReceiver {
  readonly to: string;
  readonly from: string;
  /** SMTP server as host:port; its port is what the egress NetworkPolicy opens. */
  readonly smarthost: string;
  readonly authUsername?: string;
  /** Key holding the SMTP password; required with authUsername. */
  readonly authPasswordSecretKey?: string;
  /** @default true */
  readonly requireTls: boolean;
}
export interface ReceiverConfig {
  /** Lowercase letters, digits and "-"; not "null" (the built-in receiver that discards). */
  readonly name: string;
  /** Exactly one of webhook, slack, pagerduty, email. */
  readonly webhook?: WebhookReceiver;
  readonly slack?: SlackReceiver;
  readonly pagerduty?: PagerDutyReceiver;
  readonly email?: EmailReceiver;
  /** Also notify when the alert resolves. @default true */
  readonly sendResolved: boolean;
}

export interface AlertmanagerSettings {
  /**
   * @default 3: a cluster (gossip between the replicas deduplicates notifications and shares
   * silences), with a PodDisruptionBudget; every Prometheus sends every alert to every replica, so
   * alerts are still delivered, once, with one replica down. 1: no cluster, no budget.
   */
  readonly replicas: number;
  /** Volume for silences and the notification log. @default '1Gi' */
  readonly storage: string;
  /** How long silences and the notification log are kept. @default '120h' */
  readonly retention: string;
  /** Secret (created by you, never synthesized) holding the receivers' credentials. @default 'alertmanager-receivers' */
  readonly receiversSecret: string;
  /** @default [] (alerts are then only visible in Alertmanager and Grafana) */
  readonly receivers: readonly ReceiverConfig[];
  /** Receiver of severity=critical alerts. @default 'null' */
  readonly criticalReceiver: string;
  /** Receiver of severity=warning alerts (and of anything else). @default 'null' */
  readonly warningReceiver: string;
  /** Receiver of severity=ticket alerts (the slow SLO burns, for working hours). @default warningReceiver */
  readonly ticketReceiver: string;
  /**
   * Receiver of the always-firing Watchdog alert, e.g. a webhook of a dead man's switch service
   * (healthchecks.io, Dead Man's Snitch, PagerDuty's heartbeat) that alerts when it stops arriving.
   * Its route comes first, so no other route or person gets it. @default 'null' (no heartbeat sent)
   */
  readonly heartbeatReceiver: string;
  /** How often the Watchdog is re-sent to the heartbeat receiver: the switch's period. @default '1m' */
  readonly heartbeatInterval: string;
  /** Routes tried before the severity routes, in order. @default [] */
  readonly routes: readonly AlertRoute[];
  /** Wait before the first notification of a new group, to batch its alerts. @default '30s' */
  readonly groupWait: string;
  /** Wait before notifying about changes (new or resolved alerts) in a group already notified. @default '5m' */
  readonly groupInterval: string;
  /**
   * How long each replica waits per position in the cluster before it sends what no earlier replica
   * sent (`--cluster.peer-timeout`): replica i sends i times this late if replica 0 is gone. @default '15s' (Alertmanager's)
   */
  readonly clusterPeerTimeout: string;
  /** Re-send a still-firing group after this long. @default '4h' */
  readonly repeatInterval: string;
  /** Addresses the receivers may be reached at (CIDRs); empty allows any address on the receivers' ports. @default [] */
  readonly receiverEgressCidrs: readonly string[];
}

/** The built-in receiver without integrations: Alertmanager keeps the alert (UI, API, Grafana) and notifies no one. */
export const NULL_RECEIVER = 'null';

/** Every default of the settings above, and of the receivers and routes in them. */
export const ALERTMANAGER_DEFAULTS = {
  replicas: 3,
  storage: '1Gi',
  retention: '120h',
  receiversSecret: 'alertmanager-receivers',
  receivers: [],
  criticalReceiver: NULL_RECEIVER,
  warningReceiver: NULL_RECEIVER,
  heartbeatReceiver: NULL_RECEIVER,
  heartbeatInterval: '1m',
  routes: [],
  groupWait: '30s',
  groupInterval: '5m',
  clusterPeerTimeout: '15s',
  repeatInterval: '4h',
  receiverEgressCidrs: [],
  receiver: { sendResolved: true, webhookPort: 443, emailRequireTls: true },
  route: { continue: false, matchType: '=' },
} as const;

/** What a user writes: everything optional but the receivers' and matchers' identities. */
export type AlertmanagerInput = Partial<Omit<AlertmanagerSettings, 'receivers' | 'routes'>> & {
  readonly receivers?: readonly (Partial<Omit<ReceiverConfig, 'webhook' | 'email'>> & {
    readonly name: string;
    readonly webhook?: Partial<WebhookReceiver> & { urlSecretKey: string };
    readonly email?: Partial<EmailReceiver> & { to: string; from: string; smarthost: string };
  })[];
  readonly routes?: readonly { receiver: string; matchers: readonly (Partial<AlertMatcher> & { name: string; value: string })[]; continue?: boolean }[];
};

// Alertmanager's own duration syntax (units in this order, no repeats): what amtool accepts.
const AM_DURATION = /^(?=\d)(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const EMAIL_LIST = /^[^\s@,]+@[^\s@,]+(\s*,\s*[^\s@,]+@[^\s@,]+)*$/;
const HOST_PORT = /^[A-Za-z0-9.-]+:([0-9]{1,5})$/;
const AM_KEYS = ['replicas', 'storage', 'retention', 'receiversSecret', 'receivers', 'criticalReceiver', 'warningReceiver', 'ticketReceiver',
  'heartbeatReceiver', 'heartbeatInterval', 'routes', 'groupWait', 'groupInterval', 'clusterPeerTimeout', 'repeatInterval', 'receiverEgressCidrs'];
const RECEIVER_KEYS = ['name', 'webhook', 'slack', 'pagerduty', 'email', 'sendResolved'];
const INTEGRATIONS = ['webhook', 'slack', 'pagerduty', 'email'] as const;
const MATCH_TYPES: readonly MatchType[] = ['=', '!=', '=~', '!~'];
const DURATION_FIX = 'use an Alertmanager duration such as "30s", "5m" or "4h" (units y w d h m s ms, largest first)';

const secretKey = (field: string, v: unknown) => str(field, v, SECRET_KEY,
  'give the name of a key in alertmanager.receiversSecret (letters, digits, "-", "_", "."), never the credential itself');

function validateEmail(g: string, raw: unknown): EmailReceiver {
  const e = requireObject(g, raw, ['to', 'from', 'smarthost', 'authUsername', 'authPasswordSecretKey', 'requireTls']);
  const smarthost = str(`${g}.smarthost`, e.smarthost, HOST_PORT, 'give the SMTP server as host:port, e.g. "smtp.example.com:587"');
  int(`${g}.smarthost`, Number(HOST_PORT.exec(smarthost)![1]), 1, 65535);
  const authUsername = optional(e.authUsername, (v) => str(`${g}.authUsername`, v, /^\S+$/, 'give the SMTP user name'));
  const authPasswordSecretKey = optional(e.authPasswordSecretKey, (v) => secretKey(`${g}.authPasswordSecretKey`, v));
  if ((authUsername === undefined) !== (authPasswordSecretKey === undefined)) {
    throw new ConfigError(`${g}.${authUsername === undefined ? 'authUsername' : 'authPasswordSecretKey'}`, 'is missing',
      'give both authUsername and authPasswordSecretKey, or neither');
  }
  const requireTls = bool(`${g}.requireTls`, e.requireTls ?? ALERTMANAGER_DEFAULTS.receiver.emailRequireTls);
  const email = 'give e-mail addresses, comma-separated, e.g. "oncall@example.com"';
  return { to: str(`${g}.to`, e.to, EMAIL_LIST, email), from: str(`${g}.from`, e.from, EMAIL_LIST, email), smarthost, authUsername, authPasswordSecretKey, requireTls };
}

/** The one integration a receiver has, validated. */
function validateIntegration(g: string, kind: typeof INTEGRATIONS[number], raw: unknown): Omit<ReceiverConfig, 'name' | 'sendResolved'> {
  if (kind === 'webhook') {
    const w = requireObject(g, raw, ['urlSecretKey', 'port']);
    return { webhook: { urlSecretKey: secretKey(`${g}.urlSecretKey`, w.urlSecretKey), port: int(`${g}.port`, w.port ?? ALERTMANAGER_DEFAULTS.receiver.webhookPort, 1, 65535) } };
  }
  if (kind === 'slack') {
    const sl = requireObject(g, raw, ['apiUrlSecretKey', 'channel']);
    return {
      slack: {
        apiUrlSecretKey: secretKey(`${g}.apiUrlSecretKey`, sl.apiUrlSecretKey),
        channel: optional(sl.channel, (v) => str(`${g}.channel`, v, /^[#@]?[^\s]{1,80}$/, 'give a channel such as "#chat-alerts"')),
      },
    };
  }
  if (kind === 'pagerduty') {
    const p = requireObject(g, raw, ['routingKeySecretKey']);
    return { pagerduty: { routingKeySecretKey: secretKey(`${g}.routingKeySecretKey`, p.routingKeySecretKey) } };
  }
  return { email: validateEmail(g, raw) };
}

function validateReceiver(raw: unknown, i: number): ReceiverConfig {
  const f = `alertmanager.receivers[${i}]`;
  const r = requireObject(f, raw, RECEIVER_KEYS);
  const name = str(`${f}.name`, r.name, DNS1123_LABEL, 'use lowercase letters, digits and "-", e.g. "oncall-pager"');
  if (name === NULL_RECEIVER) throw new ConfigError(`${f}.name`, `"${NULL_RECEIVER}" is the built-in receiver that notifies no one`, 'choose another name');
  const present = INTEGRATIONS.filter((k) => r[k] !== undefined);
  if (present.length !== 1) {
    throw new ConfigError(f, present.length === 0 ? 'has no integration' : `has ${present.join(' and ')}`,
      `give exactly one of ${INTEGRATIONS.join(', ')} (one receiver per destination)`);
  }
  const sendResolved = bool(`${f}.sendResolved`, r.sendResolved ?? ALERTMANAGER_DEFAULTS.receiver.sendResolved);
  const kind = present[0];
  return { name, sendResolved, ...validateIntegration(`${f}.${kind}`, kind, r[kind]) };
}

/** Values a label can take on the chart's alerts, where they are known: a matcher must be able to match one. */
function knownValues(label: string, serviceNames: readonly string[]): readonly string[] | undefined {
  if (label === 'alertname') return Object.values(ALERT_NAMES);
  if (label === 'severity') return SEVERITIES;
  if (label === 'service') return serviceNames;
  return undefined;
}

/** Whether `value` matches `v` as Alertmanager compares (regexes anchored); for a bad regex, a ConfigError. */
function matcherTest(f: string, matchType: MatchType, value: string): (v: string) => boolean {
  if (matchType !== '=~' && matchType !== '!~') return (v) => v === value;
  try {
    const re = new RegExp(`^(?:${value})$`); // Alertmanager anchors matcher regexes
    return (v) => re.test(v);
  } catch (e) {
    throw new ConfigError(`${f}.value`, `invalid regular expression (${(e as Error).message})`, 'correct the expression');
  }
}

function validateMatcher(raw: unknown, f: string, serviceNames: readonly string[]): AlertMatcher {
  const m = requireObject(f, raw, ['name', 'value', 'matchType']);
  const labels: readonly string[] = ALERT_LABEL_NAMES;
  const name = str(`${f}.name`, m.name, /^[a-zA-Z_][a-zA-Z0-9_]*$/, 'give a label name');
  if (!labels.includes(name)) {
    throw new ConfigError(`${f}.name`, `"${name}" is not a label the chart's alerts carry`, `match on one of: ${labels.join(', ')}`);
  }
  const matchType = (m.matchType ?? ALERTMANAGER_DEFAULTS.route.matchType) as MatchType;
  if (!MATCH_TYPES.includes(matchType)) throw new ConfigError(`${f}.matchType`, `${JSON.stringify(m.matchType)} is not valid`, `use one of ${MATCH_TYPES.join(' ')}`);
  if (typeof m.value !== 'string') throw new ConfigError(`${f}.value`, `${JSON.stringify(m.value)} is not a string`, 'give the label value (or a regular expression for =~ and !~)');
  const value = m.value;
  const test = matcherTest(f, matchType, value);
  const known = knownValues(name, serviceNames);
  const positive = matchType === '=' || matchType === '=~';
  if (known && positive && !known.some(test)) {
    throw new ConfigError(`${f}.value`, `${JSON.stringify(value)} matches no ${name} the chart's alerts carry`, `use one of: ${known.join(', ')}`);
  }
  return { name, value, matchType };
}

function validateReceivers(raw: unknown): ReceiverConfig[] {
  const receivers = list('alertmanager.receivers', given(raw, ALERTMANAGER_DEFAULTS.receivers)).map(validateReceiver);
  const names = new Map<string, number>();
  receivers.forEach((r, i) => {
    if (names.has(r.name)) {
      throw new ConfigError(`alertmanager.receivers[${i}].name`, `duplicate receiver "${r.name}" (also receivers[${names.get(r.name)}])`, 'give every receiver a unique name');
    }
    names.set(r.name, i);
  });
  return receivers;
}

/** A check that a field names the null receiver or one of `receivers`. */
function receiverReference(receivers: readonly ReceiverConfig[]): (field: string, v: unknown) => string {
  const defined = [NULL_RECEIVER, ...receivers.map((r) => r.name)];
  return (field, v) => {
    if (typeof v !== 'string' || !defined.includes(v)) {
      throw new ConfigError(field, `${JSON.stringify(v)} is not a defined receiver`, `define it in alertmanager.receivers or use one of: ${defined.join(', ')}`);
    }
    return v;
  };
}

function validateRoute(rawRoute: unknown, i: number, receiverRef: (field: string, v: unknown) => string, serviceNames: readonly string[]): AlertRoute {
  const f = `alertmanager.routes[${i}]`;
  const r = requireObject(f, rawRoute, ['receiver', 'matchers', 'continue']);
  const matchers = list(`${f}.matchers`, r.matchers);
  if (matchers.length === 0) throw new ConfigError(`${f}.matchers`, 'is empty', 'give at least one matcher, e.g. { name: "service", value: "chat-auth" }');
  const cont = bool(`${f}.continue`, r.continue ?? ALERTMANAGER_DEFAULTS.route.continue);
  return {
    receiver: receiverRef(`${f}.receiver`, r.receiver),
    matchers: matchers.map((m, j) => validateMatcher(m, `${f}.matchers[${j}]`, serviceNames)),
    continue: cont,
  };
}

function validateDuration(field: string, v: unknown, nonZero: boolean): string {
  const d = str(`alertmanager.${field}`, v, AM_DURATION, DURATION_FIX);
  if (nonZero && durationSeconds(d) === 0) throw new ConfigError(`alertmanager.${field}`, 'must not be zero', DURATION_FIX);
  return d;
}

/** `serviceNames`: the chat services', which a matcher on `service` must be able to match. */
export function validateAlertmanager(raw: unknown, serviceNames: readonly string[]): AlertmanagerSettings {
  const a = requireObject('alertmanager', raw, AM_KEYS);
  const d = ALERTMANAGER_DEFAULTS;
  const receivers = validateReceivers(a.receivers);
  const receiverRef = receiverReference(receivers);
  const routes = list('alertmanager.routes', given(a.routes, d.routes)).map((r, i) => validateRoute(r, i, receiverRef, serviceNames));
  const groupInterval = validateDuration('groupInterval', a.groupInterval ?? d.groupInterval, true);
  const repeatInterval = validateDuration('repeatInterval', a.repeatInterval ?? d.repeatInterval, true);
  if (durationSeconds(repeatInterval) < durationSeconds(groupInterval)) {
    throw new ConfigError('alertmanager.repeatInterval', `${repeatInterval} is shorter than groupInterval (${groupInterval})`,
      'make it at least groupInterval: a group is re-sent only at a group interval');
  }
  const replicas = int('alertmanager.replicas', a.replicas ?? d.replicas, 1, 10);
  const clusterPeerTimeout = str('alertmanager.clusterPeerTimeout', a.clusterPeerTimeout ?? d.clusterPeerTimeout, GO_DURATION, 'use a duration such as "15s"');
  // The last replica sends a group's notification (replicas - 1) peer timeouts after it flushed it,
  // unless an earlier one's has reached it. If the group changes meanwhile (an alert resolves), that
  // late copy carries the old state: a resolved alert is paged again. Flushes must be further apart.
  const lastWait = (replicas - 1) * durationSeconds(clusterPeerTimeout);
  if (replicas > 1 && durationSeconds(groupInterval) <= lastWait) {
    throw new ConfigError('alertmanager.groupInterval', `${groupInterval} is not longer than the last of ${replicas} replicas waits before it sends (${replicas - 1} x clusterPeerTimeout ${clusterPeerTimeout} = ${lastWait}s): its late copy of a group would repeat a state already changed, e.g. page a resolved alert again`,
      'make groupInterval longer than that, or lower alertmanager.clusterPeerTimeout');
  }
  return {
    replicas,
    storage: str('alertmanager.storage', a.storage ?? d.storage, QUANTITY, QUANTITY_FIX),
    retention: str('alertmanager.retention', a.retention ?? d.retention, GO_DURATION, 'use a duration in h, m, s such as "120h"'),
    receiversSecret: str('alertmanager.receiversSecret', a.receiversSecret ?? d.receiversSecret, DNS1123_LABEL, 'use the name of a Secret (lowercase letters, digits, "-")'),
    receivers,
    criticalReceiver: receiverRef('alertmanager.criticalReceiver', a.criticalReceiver ?? d.criticalReceiver),
    warningReceiver: receiverRef('alertmanager.warningReceiver', a.warningReceiver ?? d.warningReceiver),
    ticketReceiver: receiverRef('alertmanager.ticketReceiver', a.ticketReceiver ?? a.warningReceiver ?? d.warningReceiver),
    heartbeatReceiver: receiverRef('alertmanager.heartbeatReceiver', a.heartbeatReceiver ?? d.heartbeatReceiver),
    heartbeatInterval: validateDuration('heartbeatInterval', a.heartbeatInterval ?? d.heartbeatInterval, true),
    routes,
    groupWait: validateDuration('groupWait', a.groupWait ?? d.groupWait, false),
    groupInterval,
    clusterPeerTimeout,
    repeatInterval,
    receiverEgressCidrs: cidrList('alertmanager.receiverEgressCidrs', given(a.receiverEgressCidrs, d.receiverEgressCidrs)),
  };
}
