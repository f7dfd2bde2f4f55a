/**
 * An Alertmanager config using every receiver kind and a user route, with fake credentials for
 * its Secret: shared by the suites that render, check and reconcile the receivers.
 */
import { ChartConfigInput } from '../../lib/config';

export const RECEIVERS_SECRET = 'alertmanager-receivers';

/** Values of the Secret's keys; fake, never a real credential. */
export const RECEIVER_CREDENTIALS = {
  pd: 'R0UTINGKEYFAKE',
  slack: 'https://hooks.slack.com/services/T000/B000/FAKE',
  hook: 'https://hooks.example.com:8443/alerts',
  smtp: 'not-a-real-one',
  heartbeat: 'https://hc-ping.example.com/00000000-fake',
};

export const EVERY_RECEIVER_KIND: NonNullable<ChartConfigInput['alertmanager']> = {
  receiversSecret: RECEIVERS_SECRET,
  receivers: [
    { name: 'oncall', pagerduty: { routingKeySecretKey: 'pd' } },
    { name: 'chat-team', slack: { apiUrlSecretKey: 'slack', channel: '#chat-alerts' } },
    { name: 'auth-team', webhook: { urlSecretKey: 'hook', port: 8443 } },
    { name: 'mail', email: { to: 'oncall@example.com', from: 'am@example.com', smarthost: 'smtp.example.com:587', authUsername: 'am', authPasswordSecretKey: 'smtp' } },
    { name: 'deadmans-switch', webhook: { urlSecretKey: 'heartbeat' } },
  ],
  criticalReceiver: 'oncall',
  warningReceiver: 'chat-team',
  heartbeatReceiver: 'deadmans-switch',
  routes: [{ receiver: 'auth-team', matchers: [{ name: 'service', value: 'chat-auth' }], continue: true }],
};

/**
 * Three webhook receivers, critical, warning and the Watchdog's heartbeat, whose URLs (from
 * RECEIVERS_SECRET) point at a test's WebhookReceiver (test/support/webhook-receiver.ts):
 * webhookCredentials() gives the Secret's values.
 */
export const WEBHOOK_RECEIVERS: NonNullable<ChartConfigInput['alertmanager']> = {
  receiversSecret: RECEIVERS_SECRET,
  receivers: [
    { name: 'oncall', webhook: { urlSecretKey: 'oncall-url' } },
    { name: 'team', webhook: { urlSecretKey: 'team-url' } },
    { name: 'deadmans-switch', webhook: { urlSecretKey: 'heartbeat-url' } },
  ],
  criticalReceiver: 'oncall',
  warningReceiver: 'team',
  heartbeatReceiver: 'deadmans-switch',
};

/** The path each severity's notifications are posted to on the WebhookReceiver. */
export const WEBHOOK_PATH = { critical: '/oncall', warning: '/team', heartbeat: '/heartbeat' } as const;

/** RECEIVERS_SECRET's values for WEBHOOK_RECEIVERS, for a WebhookReceiver at `url`. */
export const webhookCredentials = (url: string): Record<string, string> => ({
  'oncall-url': `${url}${WEBHOOK_PATH.critical}`, 'team-url': `${url}${WEBHOOK_PATH.warning}`, 'heartbeat-url': `${url}${WEBHOOK_PATH.heartbeat}`,
});

/**
 * The delivery suites' Alertmanager settings: WEBHOOK_RECEIVERS with the config's shortest timings
 * (a group waits 1 s, is re-sent every 5 s, repeats after an hour), the routing the chart's.
 */
export const DELIVERY_ALERTMANAGER: NonNullable<ChartConfigInput['alertmanager']> = {
  ...WEBHOOK_RECEIVERS,
  groupWait: '1s',
  groupInterval: '5s',
  // Scaled down with the group interval, as the chart's 15s is to its 5m: the last of 3 replicas
  // sends 2 s late, inside a group interval (the chart refuses a group interval that is not longer).
  clusterPeerTimeout: '1s',
  repeatInterval: '1h',
  // Scaled down as the rest: the chart's 1m.
  heartbeatInterval: '5s',
};
