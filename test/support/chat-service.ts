/**
 * A real chat service for tests: test/chat-service/app.py (FastAPI, instrumented exactly as the
 * real services are, exporting OTLP gRPC every second) run by uvicorn from a virtualenv that
 * `npm run binaries` installs from the pinned test/chat-service/requirements.txt into the binaries'
 * cache, keyed by the Python version and a hash of that file.
 */
import { execFileSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { request as httpRequest } from 'http';
import { connect, Socket } from 'net';
import { join } from 'path';
import { binariesUnavailable, cacheRoot, REPO_ROOT, REQUIRE_BINARIES } from './binaries';
import { freePort, RunningProcess, RunningProgram } from './process';

export const CHAT_SERVICE_DIR = join(REPO_ROOT, 'test', 'chat-service');
const REQUIREMENTS = join(CHAT_SERVICE_DIR, 'requirements.txt');
/** The name `npm run binaries -- chat-service` builds the virtualenv under. */
export const CHAT_SERVICE_VENV = 'chat-service';
const MIN_PYTHON: [number, number] = [3, 9];

export type ChatServiceKind = 'auth' | 'transport' | 'messaging';
export const CHAT_SERVICE_KINDS: readonly ChatServiceKind[] = ['auth', 'transport', 'messaging'];

/** The real services' names, for the program that serves their routes. */
const KIND_OF_NAME: Readonly<Record<string, ChatServiceKind>> = { 'chat-auth': 'auth', 'chat-transport': 'transport', 'chat-messaging': 'messaging' };

/**
 * Which test program stands in for a configured service: the real service's own where the name is
 * one of theirs; for any other service, transport when it has the WebSocket gauge (the program
 * that keeps it), messaging otherwise.
 */
export function chatServiceKindFor(service: { readonly name: string; readonly websocketGauge?: string }): ChatServiceKind {
  return KIND_OF_NAME[service.name] ?? (service.websocketGauge ? 'transport' : 'messaging');
}

export interface ChatRoute {
  readonly method: string;
  /** Route template, e.g. /users/{user_id}: what the legacy `http_target` and the stable `http_route` show. */
  readonly path: string;
}

interface RoutesFile extends Record<ChatServiceKind, ChatRoute[]> {
  websocket: { transport: string };
}
const ROUTES_FILE = JSON.parse(readFileSync(join(CHAT_SERVICE_DIR, 'routes.json'), 'utf8')) as RoutesFile;

/** Every service's HTTP routes (test/chat-service/routes.json, which app.py serves). */
export const CHAT_SERVICE_ROUTES: Readonly<Record<ChatServiceKind, readonly ChatRoute[]>> = {
  auth: ROUTES_FILE.auth, transport: ROUTES_FILE.transport, messaging: ROUTES_FILE.messaging,
};
/** chat-transport's WebSocket path. */
export const TRANSPORT_WEBSOCKET_PATH = ROUTES_FILE.websocket.transport;

export function route(kind: ChatServiceKind, method: string, path: string): ChatRoute {
  const found = CHAT_SERVICE_ROUTES[kind].find((r) => r.method === method && r.path === path);
  if (!found) throw new Error(`${kind} has no route ${method} ${path}`);
  return found;
}

let pythonVersion: string | null | undefined;
/** "3.11" for the python3 on PATH, or null where there is none (or it is older than 3.9). */
export function systemPythonVersion(): string | null {
  if (pythonVersion !== undefined) return pythonVersion;
  try {
    const v = execFileSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const [major, minor] = v.split('.').map(Number);
    pythonVersion = major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]) ? v : null;
  } catch {
    pythonVersion = null;
  }
  return pythonVersion;
}

/** `<cache>/chat-service-py<X.Y>-<hash of requirements.txt>` */
export function chatServiceVenvDir(): string {
  const hash = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex').slice(0, 10);
  return join(cacheRoot(), `${CHAT_SERVICE_VENV}-py${systemPythonVersion() ?? 'none'}-${hash}`);
}

/** Written last by the install, so a half-made virtualenv is never used. */
const completeMarker = (dir: string) => join(dir, '.chat-monitoring-complete');
export const chatServicePython = () => join(chatServiceVenvDir(), 'bin', 'python');

/** Makes the virtualenv where it is missing (`npm run binaries` calls this); logs each step. */
export function buildChatServiceVenv(label = CHAT_SERVICE_VENV): void {
  const version = systemPythonVersion();
  if (!version) throw new Error(`python3 >= ${MIN_PYTHON.join('.')} not found on PATH`);
  const dir = chatServiceVenvDir();
  if (existsSync(completeMarker(dir))) {
    console.log(`${label}: cached in ${dir}`);
    return;
  }
  const started = Date.now();
  console.log(`${label}: creating a Python ${version} virtualenv and installing test/chat-service/requirements.txt (pip; about a minute)...`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(cacheRoot(), { recursive: true });
  try {
    execFileSync('python3', ['-m', 'venv', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
    execFileSync(join(dir, 'bin', 'python'), ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '--progress-bar', 'off', '-r', REQUIREMENTS], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    writeFileSync(completeMarker(dir), `${new Date().toISOString()}\n`);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  console.log(`${label}: installed in ${Math.round((Date.now() - started) / 1000)} s -> ${dir}`);
}

/** Why the chat service cannot run here, in one line; undefined when it can. Throws instead under CHAT_MONITORING_REQUIRE_BINARIES=1. */
export function chatServiceUnavailable(): string | undefined {
  let reason: string | undefined;
  if (!systemPythonVersion()) reason = `the chat service needs python3 >= ${MIN_PYTHON.join('.')} with venv (https://www.python.org/downloads/), then \`npm run binaries -- ${CHAT_SERVICE_VENV}\``;
  else if (!existsSync(completeMarker(chatServiceVenvDir()))) reason = `the chat service's virtualenv is not built yet: run \`npm run binaries -- ${CHAT_SERVICE_VENV}\``;
  if (reason && REQUIRE_BINARIES) throw new Error(`CHAT_MONITORING_REQUIRE_BINARIES=1 but ${reason}`);
  return reason;
}

/** `describe` that needs the chat service and these binaries; skips in one visible line otherwise. */
export function describeWithChatService(name: string, binaries: readonly string[], body: () => void): void {
  const reasons = [binariesUnavailable(binaries), chatServiceUnavailable()].filter((r): r is string => !!r);
  if (reasons.length) {
    describe(name, () => {
      it.skip(`skipped: ${reasons.join('; ')}`, () => undefined);
    });
    return;
  }
  describe(name, body);
}

/** Readiness without a request (a request would add to the very metrics a test counts): the port accepts. */
function tcpOpen(host: string, port: number): () => Promise<boolean> {
  return () => new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => { socket.destroy(); resolve(false); });
  });
}

export interface ChatServiceOptions {
  readonly kind: ChatServiceKind;
  /** OPENTELEMETRY_COLLECTOR_URL, e.g. RunningCollector.otlpGrpcUrl. */
  readonly collectorUrl: string;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** @default a free port */
  readonly port?: number;
  /** Run inside this network namespace (then `host` is an address there, e.g. from test-hosts.ts). */
  readonly netns?: string;
  /** OTEL_SEMCONV_STABILITY_OPT_IN=http: the stable HTTP conventions instead of the legacy ones. */
  readonly stable?: boolean;
  /** SERVICE_NAME, which only transport reads (into service.name). @default "transportation" */
  readonly serviceName?: string;
  /** Extra resource attributes through OTEL_RESOURCE_ATTRIBUTES, which the SDK honours. */
  readonly resourceAttributes?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
}

/** A planned request: the status the route answers and how long it waits first. */
export interface Planned {
  /** @default 200 */
  readonly status?: number;
  /** @default 0 */
  readonly delayMs?: number;
}

/** A chat service process; stop() is SIGTERM (uvicorn shuts down and the SDK exports once more). */
export class ChatService extends RunningProgram {
  private constructor(readonly kind: ChatServiceKind, readonly host: string, readonly port: number, process: RunningProcess) {
    super(process);
  }

  static async start(options: ChatServiceOptions): Promise<ChatService> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CHAT_SERVICE: options.kind,
      OPENTELEMETRY_COLLECTOR_URL: options.collectorUrl,
      SERVICE_NAME: options.serviceName ?? 'transportation',
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
    };
    // Only what the options say: nothing inherited from the test's environment changes the service.
    for (const key of Object.keys(env)) if (key.startsWith('OTEL_')) delete env[key];
    if (options.stable) env.OTEL_SEMCONV_STABILITY_OPT_IN = 'http';
    if (options.resourceAttributes) {
      env.OTEL_RESOURCE_ATTRIBUTES = Object.entries(options.resourceAttributes).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(',');
    }
    Object.assign(env, options.env ?? {});
    const proc = await RunningProcess.start({
      name: `chat-service ${options.kind}`,
      binary: chatServicePython(),
      args: ['-m', 'uvicorn', 'app:app', '--app-dir', CHAT_SERVICE_DIR, '--host', host, '--port', String(port), '--ws', 'websockets', '--no-access-log',
        // Longer than the test client's idle keep-alive (undici's 4 s), so the client, not the
        // server, closes an idle connection: a server closing one as the client reuses it fails
        // that request ("fetch failed") on a busy machine.
        '--timeout-keep-alive', '30'],
      cwd: CHAT_SERVICE_DIR,
      env,
      netns: options.netns,
      ready: tcpOpen(host, port),
    });
    return new ChatService(options.kind, host, port, proc);
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** One request on a route (placeholders filled with 1); resolves to the status it got. */
  async request(r: ChatRoute, plan: Planned = {}): Promise<number> {
    const path = r.path.replace(/\{[^}]+\}/g, '1');
    const query = new URLSearchParams({ status: String(plan.status ?? 200), delay_ms: String(plan.delayMs ?? 0) });
    const res = await fetch(`${this.url}${path}?${query}`, { method: r.method });
    await res.arrayBuffer();
    return res.status;
  }

  /** Opens a real WebSocket to chat-transport's hub (one more on websocket_hub_active_connections). */
  openWebSocket(): Promise<ChatWebSocket> {
    if (this.kind !== 'transport') throw new Error(`${this.kind} has no WebSocket endpoint`);
    return ChatWebSocket.open(this.host, this.port, TRANSPORT_WEBSOCKET_PATH);
  }
}

/**
 * A minimal RFC 6455 client (the handshake, masked text and close frames, payloads under 126 bytes),
 * enough to hold connections open on the hub; the project has no WebSocket client dependency.
 */
export class ChatWebSocket {
  private buffered = Buffer.alloc(0);
  private readonly waiting: ((frame: { opcode: number; payload: Buffer }) => void)[] = [];

  /** The socket's error, if it had one (the server went away: a killed pod). */
  error: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.drain();
    });
    // A server that dies (SIGKILL) ends the connection; kept here, not thrown as an unhandled 'error' event.
    socket.on('error', (e) => {
      this.error = e;
    });
  }

  static open(host: string, port: number, path: string): Promise<ChatWebSocket> {
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        host, port, path,
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key },
      });
      req.on('upgrade', (res, socket, head) => {
        if (res.headers['sec-websocket-accept'] !== accept) {
          socket.destroy();
          reject(new Error('WebSocket handshake: wrong Sec-WebSocket-Accept'));
          return;
        }
        const ws = new ChatWebSocket(socket as Socket);
        if (head.length) socket.unshift(head);
        resolve(ws);
      });
      req.on('response', (res) => reject(new Error(`WebSocket handshake answered ${res.statusCode}, not 101`)));
      req.on('error', reject);
      req.end();
    });
  }

  private drain(): void {
    while (this.buffered.length >= 2) {
      const len = this.buffered[1] & 0x7f;
      if (len >= 126) throw new Error('ChatWebSocket: frames of 126 bytes or more are not supported');
      if (this.buffered.length < 2 + len) return;
      const frame = { opcode: this.buffered[0] & 0x0f, payload: Buffer.from(this.buffered.subarray(2, 2 + len)) };
      this.buffered = this.buffered.subarray(2 + len);
      // The server's keepalive (uvicorn pings every 20 s and closes a connection that does not answer
      // within 20 s): answered with a pong, as RFC 6455 requires, so a held connection stays open.
      if (frame.opcode === 0x9) {
        if (this.socket.writable) this.write(0xa, frame.payload);
        continue;
      }
      if (frame.opcode === 0xa) continue;
      this.waiting.shift()?.(frame);
    }
  }

  private nextFrame(): Promise<{ opcode: number; payload: Buffer }> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private write(opcode: number, payload: Buffer): void {
    if (payload.length >= 126) throw new Error('ChatWebSocket: payloads of 126 bytes or more are not supported');
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    this.socket.write(Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]));
  }

  /** Sends a text frame; resolves to the hub's echo. */
  async send(text: string): Promise<string> {
    const reply = this.nextFrame();
    this.write(0x1, Buffer.from(text));
    return (await reply).payload.toString();
  }

  /** The closing handshake (1000, normal closure), then the TCP connection ends. */
  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    if (!this.socket.writable) {
      // The other end is gone: nothing to hand shake with.
      this.socket.destroy();
      return;
    }
    const reply = Promise.race([this.nextFrame(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    this.write(0x8, Buffer.from([0x03, 0xe8]));
    await reply;
    await new Promise<void>((resolve) => this.socket.end(resolve));
    this.socket.destroy();
  }
}
