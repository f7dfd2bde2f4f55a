/**
 * Routes, ports and resource attributes of the demo services, modelled on the real chat services
 * (chat-services-metrics.md). Plain data, shared by the program and the chart.
 */

export interface Route {
  readonly method: string;
  /** Route template, reported as http.target / http.route. */
  readonly path: string;
  /** Relative share of the load generator's requests. */
  readonly weight: number;
  /** Median latency in ms; the tail is log-normal around it. */
  readonly medianMs: number;
  /** Probability of a 5xx answer. */
  readonly errorRate: number;
  /** Probability of a 4xx answer (and which 4xx). */
  readonly clientErrorRate: number;
  readonly clientErrorStatus: number;
}

export interface ServiceProfile {
  readonly port: number;
  /** Resource attributes as the real service sets them (auth and messaging misspell service.name). */
  readonly resource: Readonly<Record<string, string>>;
  readonly routes: readonly Route[];
  /** Path of the WebSocket endpoint, for a service with a connection gauge. */
  readonly websocketPath?: string;
}

const route = (method: string, path: string, weight: number, medianMs: number, errorRate: number,
  clientErrorRate = 0, clientErrorStatus = 400): Route =>
  ({ method, path, weight, medianMs, errorRate, clientErrorRate, clientErrorStatus });

/** The routes and ports of the real services (reference), so the demo's labels look like production. */
export const PROFILES: Readonly<Record<string, ServiceProfile>> = {
  'chat-auth': {
    port: 8000,
    resource: { 'service.name': 'unknown_service', service_name: 'chat_authentication' },
    routes: [
      route('POST', '/sessions/login', 3, 60, 0.01, 0.12, 401),
      route('POST', '/sessions/refresh', 4, 15, 0.005, 0.03, 401),
      route('GET', '/users/me', 6, 8, 0.002),
      route('POST', '/users/register', 1, 120, 0.03, 0.1, 422),
    ],
  },
  'chat-transport': {
    port: 8001,
    resource: { 'service.name': 'chat-transport' },
    routes: [
      route('GET', '/transportation/health-of-hub', 2, 3, 0),
      route('POST', '/transportation/messages/send', 5, 25, 0.02, 0.02, 422),
    ],
    websocketPath: '/transportation/messages/',
  },
  'chat-messaging': {
    port: 8002,
    resource: { 'service.name': 'unknown_service', service_name: 'chat_messaging' },
    routes: [
      route('GET', '/messaging/chats/get-chats', 6, 40, 0.01),
      route('GET', '/messaging/messages/get-messages', 5, 90, 0.02, 0.02, 404),
      route('POST', '/messaging/chats/create-chat', 1, 150, 0.05, 0.08, 409),
    ],
  },
};

/** A service the demo does not know gets a generic profile. */
export function profileFor(name: string): ServiceProfile {
  return PROFILES[name] ?? {
    port: 8000,
    resource: { 'service.name': name },
    routes: [route('GET', `/${name}/items`, 3, 30, 0.01, 0.03, 404), route('POST', `/${name}/items`, 1, 80, 0.02)],
  };
}
