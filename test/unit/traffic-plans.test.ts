/** The dashboard proof's traffic (test/contract/traffic.ts) covers every configured service, added ones included. */
import { expectationFor, PLANS, plansFor } from '../contract/traffic';
import { defaultConfig } from '../support/manifests';
import { FIVE_SERVICES } from './properties/configs';

describe('traffic plans of the dashboard proof', () => {
  it('send the hand-written traffic (rate, pods, mix) for the services that have one', () => {
    const services = defaultConfig().services;
    const plans = plansFor(services);
    expect(plans.map((p) => p.service)).toEqual(services.map((s) => s.name));
    for (const p of plans) {
      const written = PLANS.find((w) => w.service === p.service);
      if (written) expect({ rps: p.rps, pods: p.pods, mix: p.mix }).toEqual({ rps: written.rps, pods: written.pods, mix: written.mix });
    }
  });

  it('place a service where the config puts it, with the gauge the config gives it, even one the table knows', () => {
    const moved = { name: 'chat-transport', namespace: 'elsewhere', convention: 'stable' as const };
    expect(plansFor([moved])[0]).toMatchObject({ service: 'chat-transport', namespace: 'elsewhere', websocket: false, convention: 'stable' });
  });

  it.each(FIVE_SERVICES().services.map((s) => [s.name, s] as const))('cover %s with a plan whose quantiles sit clear of bucket edges in both conventions', (_name, s) => {
    const [plan] = plansFor([s]);
    expect(plan).toMatchObject({ service: s.name, namespace: s.namespace });
    expect(plan.websocket).toBe(s.websocketGauge === 'websocket_hub_active_connections');
    // expectationFor throws on a fragile plan (a quantile within 0.5 % of a bucket edge).
    for (const convention of ['legacy', 'stable'] as const) expect(expectationFor(plan, convention).rps).toBe(plan.rps);
  });
});
