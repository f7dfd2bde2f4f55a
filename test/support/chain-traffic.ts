/**
 * The known traffic of the chain's proofs (test/chain/): what each chat-service program is sent,
 * how its pods come up, and the values every panel must then show.
 */
import { ChartConfig } from '../../lib/config';
import { expectationFor, Expectation, RequestClass } from '../contract/traffic';
import { ChatServiceKind } from './chat-service';
import { ChatPod, PushChain, podName } from './push-chain';

/**
 * Traffic per program, on its real routes (test/chat-service/routes.json). Every latency a panel
 * judges (each service's p95 and p99, each route's p95) is just above the lower edge of a wide
 * bucket (100..250 ms and up), so the few to tens of ms a busy machine adds to a request cannot move
 * it to the next bucket; no quantile sits near a bucket edge by rank (expectationFor refuses such a
 * plan). chat-messaging has no 5xx: its error rate must read 0, not "no data".
 */
export const CHAIN_MIX: Record<ChatServiceKind, { rps: number; pods: number; mix: RequestClass[] }> = {
  auth: {
    rps: 40, pods: 1, mix: [
      { method: 'POST', route: '/sessions/login', status: 200, latencyMs: 30, weight: 28 },
      { method: 'POST', route: '/sessions/login', status: 401, latencyMs: 12, weight: 11 },
      { method: 'POST', route: '/sessions/login', status: 500, latencyMs: 270, weight: 5 },
      { method: 'GET', route: '/users/{user_id}', status: 200, latencyMs: 12, weight: 43 },
      { method: 'GET', route: '/users/{user_id}', status: 200, latencyMs: 110, weight: 10 },
      { method: 'GET', route: '/users/{user_id}', status: 404, latencyMs: 12, weight: 5 },
      { method: 'DELETE', route: '/sessions/{session_id}', status: 200, latencyMs: 1100, weight: 2 },
      // A path no route matches: FastAPI answers 404 and the instrumentation records no route.
      { method: 'GET', route: '/no-such-page', status: 404, latencyMs: 110, weight: 2, unrouted: true },
    ],
  },
  transport: {
    rps: 30, pods: 2, mix: [
      { method: 'POST', route: '/transportation/messages/broadcast', status: 200, latencyMs: 15, weight: 50 },
      { method: 'POST', route: '/transportation/messages/broadcast', status: 503, latencyMs: 110, weight: 12 },
      { method: 'GET', route: '/transportation/connections', status: 200, latencyMs: 170, weight: 30 },
      { method: 'GET', route: '/transportation/connections', status: 422, latencyMs: 30, weight: 5 },
      { method: 'GET', route: '/transportation/connections', status: 200, latencyMs: 2700, weight: 3 },
    ],
  },
  messaging: {
    rps: 20, pods: 1, mix: [
      { method: 'GET', route: '/messaging/chats/get-chats', status: 200, latencyMs: 12, weight: 55 },
      { method: 'GET', route: '/messaging/chats/get-chats', status: 403, latencyMs: 110, weight: 15 },
      { method: 'POST', route: '/messaging/chats/create-chat', status: 201, latencyMs: 270, weight: 22 },
      { method: 'GET', route: '/messaging/messages/{chat_id}', status: 200, latencyMs: 600, weight: 8 },
    ],
  },
};
/** WebSocket connections each pod of a service with the gauge holds, in pod order. */
export const CHAIN_CONNECTIONS = [7, 5];

type ChainService = ChartConfig['services'][number];

/**
 * A new pod of the service, answering each request class of its mix once before it takes traffic:
 * round-robin traffic gives a pod only some classes (those at its positions in the order), so
 * without this a class's series would be born on the other pod while one is drained, inside a
 * proof window, and rate() never counts a new series' first value.
 */
export async function startChainPod(chain: PushChain, service: ChainService, kind: ChatServiceKind, hash: string): Promise<ChatPod> {
  const pod = await chain.startPod({
    namespace: service.namespace,
    name: podName(service.name, hash),
    labels: { ...service.selector, 'pod-template-hash': hash },
    kind,
    stable: service.convention === 'stable',
  });
  const classes = new Map(CHAIN_MIX[kind].mix.map((c) => [`${c.method} ${c.route} ${c.status}`, c]));
  for (const c of classes.values()) {
    const status = await pod.service.request({ method: c.method, path: c.route }, { status: c.status, delayMs: 0 });
    if (status !== c.status) throw new Error(`${pod.name} ${c.method} ${c.route} answered ${status}, planned ${c.status}`);
  }
  return pod;
}

/** What the panels of a service must show with CHAIN_MIX over `pods` (in CHAIN_CONNECTIONS order). */
export function chainExpectation(service: ChainService, kind: ChatServiceKind, pods: readonly ChatPod[]): Expectation {
  return expectationFor({
    service: service.name,
    namespace: service.namespace,
    rps: CHAIN_MIX[kind].rps,
    websocket: !!service.websocketGauge,
    pods: pods.map((p, i) => ({ name: p.name, websocketConnections: service.websocketGauge ? CHAIN_CONNECTIONS[i] : undefined })),
    mix: CHAIN_MIX[kind].mix,
  }, service.convention);
}
