/**
 * Known traffic for the dashboard proof, and the values every panel must then show.
 *
 * Metric names, label names, units and buckets here come from the metric contract
 * (docs/chat-services-metrics.md), written out literally; nothing is imported
 * from lib/, so the expectations cannot agree with the chart by construction.
 */
import { CONTRACT, Convention, SyntheticService } from '../support/synthetic-service';

export interface RequestClass {
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly latencyMs: number;
  /** Share of the service's requests, in arbitrary units. */
  readonly weight: number;
  /** A path no route matches (a 404): recorded without a route label, shown as UNMATCHED_ROUTE. */
  readonly unrouted?: boolean;
}

/** What the by-route panels call requests that matched no route (the chart names them so). */
export const UNMATCHED_ROUTE = '(unmatched)';

export interface PodPlan {
  readonly name: string;
  /** websocket_hub_active_connections this pod reports (each pod reports its own). */
  readonly websocketConnections?: number;
}

export interface ServicePlan {
  readonly service: string;
  readonly namespace: string;
  /** Requests per second over all pods. */
  readonly rps: number;
  /** Requests go round-robin over the pods. */
  readonly pods: readonly PodPlan[];
  readonly websocket: boolean;
  readonly mix: readonly RequestClass[];
  /** The metric convention its pods emit: the config's for the service; the stack's when unset. */
  readonly convention?: Convention;
}

/**
 * Three services with different rates, error mixes and latency shapes, so a query that mixes
 * services up, drops a label or reads the wrong unit shows a wrong number. chat-messaging has no
 * 5xx at all: its error rate must be 0, not "no data"; it also gets requests no route matches. chat-transport runs two pods, so the
 * instance count is 2 and the WebSocket panel must sum the pods' gauges (7 + 5).
 * Latencies are whole milliseconds (the legacy histogram records whole numbers).
 */
export const PLANS: readonly ServicePlan[] = [
  {
    service: 'chat-auth', namespace: 'chat', rps: 40, websocket: false,
    pods: [{ name: 'chat-auth-6d9f8b7c5-k2x9q' }],
    mix: [
      { method: 'POST', route: '/sessions/login', status: 200, latencyMs: 40, weight: 28 },
      { method: 'POST', route: '/sessions/login', status: 401, latencyMs: 15, weight: 11 },
      { method: 'POST', route: '/sessions/login', status: 500, latencyMs: 300, weight: 5 },
      { method: 'GET', route: '/users/me', status: 200, latencyMs: 8, weight: 43 },
      { method: 'GET', route: '/users/me', status: 200, latencyMs: 60, weight: 10 },
      { method: 'GET', route: '/users/me', status: 404, latencyMs: 8, weight: 5 },
      { method: 'GET', route: '/users/me', status: 200, latencyMs: 1200, weight: 2 },
    ],
  },
  {
    service: 'chat-transport', namespace: 'chat', rps: 30, websocket: true,
    pods: [{ name: 'chat-transport-7c4b9d6f8-a1b2c', websocketConnections: 7 }, { name: 'chat-transport-7c4b9d6f8-d3e4f', websocketConnections: 5 }],
    mix: [
      { method: 'POST', route: '/transportation/messages/send', status: 200, latencyMs: 20, weight: 50 },
      { method: 'POST', route: '/transportation/messages/send', status: 503, latencyMs: 90, weight: 12 },
      { method: 'GET', route: '/transportation/chats/list', status: 200, latencyMs: 180, weight: 30 },
      { method: 'GET', route: '/transportation/chats/list', status: 422, latencyMs: 30, weight: 5 },
      { method: 'GET', route: '/transportation/chats/list', status: 200, latencyMs: 3000, weight: 3 },
    ],
  },
  {
    service: 'chat-messaging', namespace: 'chat', rps: 20, websocket: false,
    pods: [{ name: 'chat-messaging-5b8c7d9e6-q7w8e' }],
    mix: [
      { method: 'GET', route: '/messaging/chats/get-chats', status: 200, latencyMs: 30, weight: 55 },
      { method: 'GET', route: '/messaging/chats/get-chats', status: 403, latencyMs: 6, weight: 15 },
      { method: 'GET', route: '/messaging/messages/get-messages', status: 200, latencyMs: 70, weight: 22 },
      { method: 'GET', route: '/messaging/messages/get-messages', status: 200, latencyMs: 600, weight: 8 },
      // A path no route matches: its by-route series must read UNMATCHED_ROUTE, not an empty legend.
      { method: 'GET', route: '/messaging/no-such-page', status: 404, latencyMs: 8, weight: 3, unrouted: true },
    ],
  },
];

/**
 * The plan of every configured service: its hand-written plan above, or, for a service added to
 * the config, chat-messaging's proven mix (no 5xx, 403s, a slow tail; no quantile near a bucket
 * edge) on routes of its own. The synthetic services emit only websocket_hub_active_connections,
 * so only a service with that gauge gets connections.
 */
export function plansFor(services: readonly { name: string; namespace: string; websocketGauge?: string; convention: Convention }[]): ServicePlan[] {
  const template = PLANS.find((p) => p.service === 'chat-messaging')!;
  return services.map((s) => {
    // Where the service runs and whether it has the gauge are the config's, whatever the table says.
    const placed = { service: s.name, namespace: s.namespace, websocket: s.websocketGauge === 'websocket_hub_active_connections', convention: s.convention };
    const written = PLANS.find((p) => p.service === s.name);
    if (written) return { ...written, ...placed };
    return {
      ...placed,
      rps: template.rps,
      pods: [{ name: `${s.name}-0`, websocketConnections: 3 }],
      mix: template.mix.map((c, i) => ({ ...c, route: `/${s.name}/${i < 2 ? 'items' : 'search'}` })),
    };
  });
}

/** Latency buckets of each convention's histogram, in seconds (the contract gives ms for legacy). */
export const BUCKETS_SECONDS: Record<Convention, readonly number[]> = {
  legacy: CONTRACT.legacy.buckets.map((ms) => ms / 1000),
  stable: [...CONTRACT.stable.buckets],
};

/** Names of the histogram and its labels as Prometheus sees them after the collector, per convention. */
export const CONTRACT_NAMES: Record<Convention, { histogram: string; status: string; route: string }> = {
  legacy: { histogram: 'http_server_duration_milliseconds', status: 'http_status_code', route: 'http_target' },
  stable: { histogram: 'http_server_request_duration_seconds', status: 'http_response_status_code', route: 'http_route' },
};

/** A value must lie in [lo, hi]; `expected` is what the injected data says exactly. */
export interface Band {
  readonly expected: number;
  readonly lo: number;
  readonly hi: number;
}

export interface Expectation {
  readonly rps: number;
  readonly errorRatio: number;
  readonly clientErrorRatio: number;
  readonly p95: Band;
  readonly p99: Band;
  readonly rpsByRoute: Readonly<Record<string, number>>;
  readonly rpsByStatus: Readonly<Record<string, number>>;
  readonly p95ByRoute: Readonly<Record<string, Band>>;
  readonly instances: number;
  readonly websocketConnections?: number;
  /** The convention the service's series are named in (its by-route and by-status labels). */
  readonly convention: Convention;
  /** Share of requests slower than `seconds` (the latency SLI's bad events). */
  readonly slowShare: (seconds: number) => number;
}

/**
 * The q-quantile of the injected latencies and the histogram bucket holding it: histogram_quantile
 * interpolates inside that bucket, so the proof accepts any value in it ("within the bucket
 * resolution"). Throws when the quantile's rank sits within 0.5 % of a bucket edge (at 20 req/s a 1-minute window holds 1,200 requests, so
 * jitter of a request or two moves a rank by 0.2 % at most; p99's upper margin can never exceed 1 %), where traffic
 * jitter could move it to the next bucket: such a plan would make a flaky test.
 */
export function quantileBand(classes: readonly RequestClass[], q: number, bucketsSeconds: readonly number[]): Band {
  const total = classes.reduce((a, c) => a + c.weight, 0);
  const rank = q * total;
  const sorted = [...classes].sort((a, b) => a.latencyMs - b.latencyMs);
  let cum = 0;
  let value = NaN;
  for (const c of sorted) {
    cum += c.weight;
    if (cum >= rank) { value = c.latencyMs / 1000; break; }
  }
  const upperIndex = bucketsSeconds.findIndex((b) => b >= value - 1e-12);
  if (upperIndex < 0) throw new Error(`quantile ${value}s beyond the last bucket`);
  const hi = bucketsSeconds[upperIndex];
  const lo = upperIndex === 0 ? 0 : bucketsSeconds[upperIndex - 1];
  const below = classes.filter((c) => c.latencyMs / 1000 <= lo + 1e-12).reduce((a, c) => a + c.weight, 0);
  const within = classes.filter((c) => c.latencyMs / 1000 <= hi + 1e-12).reduce((a, c) => a + c.weight, 0);
  const margin = Math.min(rank - below, within - rank) / total;
  if (margin < 0.005) throw new Error(`fragile plan: q${q} rank ${rank}/${total} is within ${(margin * 100).toFixed(2)}% of a bucket edge (${lo}..${hi}s)`);
  return { expected: value, lo, hi };
}

const groupWeights = (mix: readonly RequestClass[], key: (c: RequestClass) => string) => {
  const out: Record<string, number> = {};
  for (const c of mix) out[key(c)] = (out[key(c)] ?? 0) + c.weight;
  return out;
};

export function expectationFor(plan: ServicePlan, convention: Convention): Expectation {
  const total = plan.mix.reduce((a, c) => a + c.weight, 0);
  const share = (pred: (c: RequestClass) => boolean) => plan.mix.filter(pred).reduce((a, c) => a + c.weight, 0) / total;
  const buckets = BUCKETS_SECONDS[convention];
  const routeOf = (c: RequestClass) => (c.unrouted ? UNMATCHED_ROUTE : c.route);
  const byRoute = groupWeights(plan.mix, routeOf);
  const byStatus = groupWeights(plan.mix, (c) => String(c.status));
  const scale = (w: Record<string, number>) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, (plan.rps * v) / total]));
  const websocket = plan.pods.reduce((a, p) => a + (p.websocketConnections ?? 0), 0);
  return {
    rps: plan.rps,
    errorRatio: share((c) => c.status >= 500 && c.status < 600),
    clientErrorRatio: share((c) => c.status >= 400 && c.status < 500),
    p95: quantileBand(plan.mix, 0.95, buckets),
    p99: quantileBand(plan.mix, 0.99, buckets),
    rpsByRoute: scale(byRoute),
    rpsByStatus: scale(byStatus),
    p95ByRoute: Object.fromEntries(Object.keys(byRoute).map((r) => [r, quantileBand(plan.mix.filter((c) => routeOf(c) === r), 0.95, buckets)])),
    instances: plan.pods.length,
    convention,
    slowShare: (seconds) => share((c) => c.latencyMs / 1000 > seconds),
    ...(plan.websocket ? { websocketConnections: websocket } : {}),
  };
}

/**
 * A fixed order of request classes in which every class's count stays within one request of its
 * share over any prefix (stride scheduling), so any window of the traffic holds the planned mix.
 */
export function schedule(mix: readonly RequestClass[]): RequestClass[] {
  const total = mix.reduce((a, c) => a + c.weight, 0);
  const counts = mix.map(() => 0);
  const out: RequestClass[] = [];
  for (let i = 0; i < total; i++) {
    let best = 0;
    let bestLag = -Infinity;
    mix.forEach((c, k) => {
      const lag = (c.weight * (i + 1)) / total - counts[k];
      if (lag > bestLag + 1e-9) { best = k; bestLag = lag; }
    });
    counts[best]++;
    out.push(mix[best]);
  }
  return out;
}

export interface RunningService {
  readonly plan: ServicePlan;
  /** One synthetic service per pod, in plan.pods order. */
  readonly pods: readonly SyntheticService[];
}

export interface TrafficResult {
  readonly sent: number;
  readonly failed: number;
  /** Unix seconds when the last request was sent. */
  readonly endTime: number;
  /** How long the last requests took to complete after endTime. */
  readonly drainMs: number;
}

/**
 * Open-loop traffic: every 10 ms, each service gets the requests it is due at its planned rate
 * (so event-loop hiccups do not change the rate), in the scheduled order, round-robin over pods.
 */
export async function driveTraffic(services: readonly RunningService[], durationMs: number): Promise<TrafficResult> {
  const orders = services.map((s) => schedule(s.plan.mix));
  const sentPer = services.map(() => 0);
  const inFlight = new Set<Promise<void>>();
  let failed = 0;
  const errors: string[] = [];
  const start = Date.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = Math.min(Date.now() - start, durationMs);
      services.forEach((s, i) => {
        const due = Math.floor((elapsed * s.plan.rps) / 1000);
        while (sentPer[i] < due) {
          const n = sentPer[i]++;
          const c = orders[i][n % orders[i].length];
          const p = s.pods[n % s.pods.length].request({ method: c.method, route: c.route, status: c.status, latencyMs: c.latencyMs, unrouted: c.unrouted })
            .catch((e: Error) => { failed++; if (errors.length < 3) errors.push(e.message); })
            .finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
      });
      if (elapsed >= durationMs) { clearInterval(timer); resolve(); }
    };
    const timer = setInterval(tick, 10);
  });
  const endTime = Date.now() / 1000;
  await Promise.all([...inFlight]);
  const drainMs = Date.now() - endTime * 1000;
  if (failed > 0) throw new Error(`${failed} synthetic requests failed, e.g. ${errors.join('; ')}`);
  return { sent: sentPer.reduce((a, b) => a + b, 0), failed, endTime, drainMs };
}
