/**
 * One generic helper for the real programs the tests run: start a binary, keep its output, wait
 * until it answers a readiness check, stop it by PID (SIGTERM, then SIGKILL after a grace period).
 * Each program's own file (prometheus.ts, etcd.ts, kube-apiserver.ts, ...) knows only its flags.
 */
import { ChildProcess, spawn } from 'child_process';
import { createServer } from 'net';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1 (the OS picks it, so parallel runs do not collide). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface StartOptions {
  /** Name used in messages. */
  readonly name: string;
  readonly binary: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Resolves true once the program is ready; polled every 100 ms. */
  readonly ready: () => Promise<boolean>;
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
  /** Run the binary inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
}

export class RunningProcess {
  private readonly logs: string[] = [];

  private constructor(readonly name: string, private readonly child: ChildProcess) {
    child.stdout?.on('data', (d) => this.logs.push(String(d)));
    child.stderr?.on('data', (d) => this.logs.push(String(d)));
  }

  static async start(options: StartOptions): Promise<RunningProcess> {
    const [command, args] = options.netns
      ? ['ip', ['netns', 'exec', options.netns, options.binary, ...options.args]]
      : [options.binary, [...options.args]];
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = new RunningProcess(options.name, child);
    const timeout = options.readyTimeoutMs ?? 30000;
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${options.name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${proc.output.slice(-4000)}`);
      }
      if (await options.ready().catch(() => false)) return proc;
      await sleep(100);
    }
    await proc.stop();
    throw new Error(`${options.name} not ready after ${timeout / 1000} s:\n${proc.output.slice(-4000)}`);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get output(): string {
    return this.logs.join('');
  }

  /** Stops the process by its PID; safe to call twice. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    // An unref'd timer: a clean exit must not keep jest waiting for the grace period.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    if (this.running) {
      this.child.kill('SIGKILL');
      await exited;
    }
  }
}

/** Readiness check: an HTTP(S) GET answering 2xx. */
export function httpOk(url: string, init?: RequestInit): () => Promise<boolean> {
  return async () => (await fetch(url, init)).ok;
}

/** Polls `fn` until it returns a value other than undefined; on timeout, says what it waited for and the last error. */
export async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 60000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
