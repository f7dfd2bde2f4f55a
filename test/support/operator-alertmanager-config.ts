/**
 * The alertmanager.yaml the Prometheus Operator (v0.93) renders for an Alertmanager whose
 * `spec.alertmanagerConfiguration` names an AlertmanagerConfig, with no other AlertmanagerConfig
 * selected: what the chart's Alertmanager loads, so `amtool check-config` and the proof run on it.
 *
 * Written from the operator's behaviour (pkg/alertmanager in the v0.93 module):
 * - validation first: unique receiver names, every route's receiver defined, a receiver on the
 *   root route and no matchers there, child routes with no unknown fields;
 * - route: receiver names become `<namespace>/<name>/<receiver>`; groupBy, groupWait,
 *   groupInterval, repeatInterval, continue and child routes keep their meaning under
 *   Alertmanager's names; each matcher becomes the string `name<op>"value"` (value escaped);
 * - no namespace matcher is added (that enforcement applies to the other AlertmanagerConfigs);
 * - receivers: secret references are replaced by the Secret's value (missing Secret or key: the
 *   operator fails to reconcile, so this throws);
 * - inhibit rules: source_matchers, target_matchers and equal;
 * - `templates: []` always, and nothing global when `alertmanagerConfiguration.global` is unset.
 *
 * Only the fields the chart emits are supported; anything else throws instead of being dropped,
 * so this can never quietly render less than the chart asked for.
 */
import { stringify } from 'yaml';
import { K8sObject } from './manifests';

/** Secret name -> key -> value: what the operator would read from the stack's namespace. */
export type SecretStore = Readonly<Record<string, Readonly<Record<string, string>>>>;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function only(where: string, o: Json, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Error(`${where}: field "${k}" is not supported by this rendering`);
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function matcher(m: Json, where: string): string {
  only(where, m, ['name', 'value', 'matchType']);
  if (!['=', '!=', '=~', '!~'].includes(m.matchType)) throw new Error(`${where}: matchType ${m.matchType} is not supported by this rendering`);
  return `${m.name}${m.matchType}"${escape(m.value)}"`;
}

function route(r: Json, prefix: string, receivers: Set<string>, where: string, root: boolean): Json {
  only(where, r, ['receiver', 'groupBy', 'groupWait', 'groupInterval', 'repeatInterval', 'matchers', 'continue', 'routes']);
  if (root && !r.receiver) throw new Error(`${where}: root route must define a receiver`);
  if (root && r.matchers?.length) throw new Error(`${where}: 'matchers' not permitted on root route`);
  if (root && r.continue) throw new Error(`${where}: cannot have continue in root route`);
  if (r.receiver && !receivers.has(r.receiver)) throw new Error(`${where}: receiver "${r.receiver}" not found`);
  const out: Json = {};
  if (r.receiver) out.receiver = `${prefix}${r.receiver}`;
  if (r.groupBy?.length) out.group_by = [...r.groupBy];
  if (r.matchers?.length) out.matchers = r.matchers.map((m: Json, i: number) => matcher(m, `${where}.matchers[${i}]`));
  if (r.continue) out.continue = true;
  if (r.routes?.length) out.routes = r.routes.map((c: Json, i: number) => route(c, prefix, receivers, `${where}.routes[${i}]`, false));
  if (r.groupWait) out.group_wait = r.groupWait;
  if (r.groupInterval) out.group_interval = r.groupInterval;
  if (r.repeatInterval) out.repeat_interval = r.repeatInterval;
  return out;
}

function receiver(r: Json, prefix: string, namespace: string, secrets: SecretStore, where: string): Json {
  only(where, r, ['name', 'webhookConfigs', 'slackConfigs', 'pagerdutyConfigs', 'emailConfigs']);
  const secret = (ref: Json, field: string): string => {
    const value = secrets[ref.name]?.[ref.key];
    if (value === undefined) throw new Error(`${where}.${field}: key "${ref.key}" of Secret ${namespace}/${ref.name} not found`);
    return value;
  };
  const sendResolved = (c: Json) => (c.sendResolved === undefined ? {} : { send_resolved: c.sendResolved });
  const out: Json = { name: `${prefix}${r.name}` };
  if (r.pagerdutyConfigs) {
    out.pagerduty_configs = r.pagerdutyConfigs.map((c: Json, i: number) => {
      only(`${where}.pagerdutyConfigs[${i}]`, c, ['sendResolved', 'routingKey']);
      return { ...sendResolved(c), routing_key: secret(c.routingKey, `pagerdutyConfigs[${i}].routingKey`) };
    });
  }
  if (r.slackConfigs) {
    out.slack_configs = r.slackConfigs.map((c: Json, i: number) => {
      only(`${where}.slackConfigs[${i}]`, c, ['sendResolved', 'apiURL', 'channel']);
      const url = secret(c.apiURL, `slackConfigs[${i}].apiURL`);
      new URL(url); // the operator validates this URL and rejects the config otherwise
      return { ...sendResolved(c), api_url: url, ...(c.channel ? { channel: c.channel } : {}) };
    });
  }
  if (r.webhookConfigs) {
    out.webhook_configs = r.webhookConfigs.map((c: Json, i: number) => {
      only(`${where}.webhookConfigs[${i}]`, c, ['sendResolved', 'urlSecret']);
      return { ...sendResolved(c), url: secret(c.urlSecret, `webhookConfigs[${i}].urlSecret`) };
    });
  }
  if (r.emailConfigs) {
    out.email_configs = r.emailConfigs.map((c: Json, i: number) => {
      only(`${where}.emailConfigs[${i}]`, c, ['sendResolved', 'to', 'from', 'smarthost', 'authUsername', 'authPassword', 'requireTLS']);
      return {
        ...sendResolved(c), to: c.to, from: c.from, smarthost: c.smarthost,
        ...(c.authUsername ? { auth_username: c.authUsername } : {}),
        ...(c.authPassword ? { auth_password: secret(c.authPassword, `emailConfigs[${i}].authPassword`) } : {}),
        ...(c.requireTLS === undefined ? {} : { require_tls: c.requireTLS }),
      };
    });
  }
  return out;
}

/** The configuration the operator renders from `amConfig` (an AlertmanagerConfig object), as YAML. */
export function renderOperatorAlertmanagerConfig(amConfig: K8sObject, secrets: SecretStore = {}): string {
  if (amConfig.kind !== 'AlertmanagerConfig') throw new Error(`not an AlertmanagerConfig: ${amConfig.kind}`);
  const { namespace = 'default', name } = amConfig.metadata;
  const prefix = `${namespace}/${name}/`;
  const spec = amConfig.spec as Json;
  only('spec', spec, ['route', 'receivers', 'inhibitRules']);
  const names = new Set<string>();
  for (const r of spec.receivers ?? []) {
    if (names.has(r.name)) throw new Error(`"${r.name}" receiver is not unique`);
    names.add(r.name);
  }
  const config: Json = {
    route: route(spec.route ?? {}, prefix, names, 'spec.route', true),
    inhibit_rules: (spec.inhibitRules ?? []).map((ir: Json, i: number) => {
      only(`spec.inhibitRules[${i}]`, ir, ['sourceMatch', 'targetMatch', 'equal']);
      return {
        ...(ir.targetMatch?.length ? { target_matchers: ir.targetMatch.map((m: Json, j: number) => matcher(m, `spec.inhibitRules[${i}].targetMatch[${j}]`)) } : {}),
        ...(ir.sourceMatch?.length ? { source_matchers: ir.sourceMatch.map((m: Json, j: number) => matcher(m, `spec.inhibitRules[${i}].sourceMatch[${j}]`)) } : {}),
        ...(ir.equal?.length ? { equal: [...ir.equal] } : {}),
      };
    }),
    receivers: (spec.receivers ?? []).map((r: Json, i: number) => receiver(r, prefix, namespace, secrets, `spec.receivers[${i}]`)),
    templates: [],
  };
  if (config.inhibit_rules.length === 0) delete config.inhibit_rules;
  return stringify(config);
}

/** Alertmanager's name for a receiver of the AlertmanagerConfig `amConfig` (the operator prefixes it). */
export const renderedReceiverName = (amConfig: K8sObject, receiverName: string) =>
  `${amConfig.metadata.namespace}/${amConfig.metadata.name}/${receiverName}`;
