/**
 * One generic helper for the real programs the tests run, in the envtest style: a RunningProcess
 * owns its work directory (a fresh temp dir, removed when it stops or fails to start), its free
 * port(s), its readiness check and its cleanup; it keeps the program's output and stops it by PID
 * (SIGTERM, then SIGKILL after a grace period). Each program's own file (etcd.ts,
 * kube-apiserver.ts, prometheus.ts, alertmanager.ts, collector.ts, operator.ts, ...) knows only its
 * flags, the files it reads and its health endpoint.
 */
import { ChildProcess, spawn } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { request as httpsRequest } from 'https';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { dirname, join } from 'path';

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

/** `count` distinct free ports: each is taken and released in turn, so they are asked for at once and checked. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const ports = await Promise.all(Array.from({ length: count }, () => freePort(host)));
    if (new Set(ports).size === ports.length) return ports;
  }
  throw new Error(`no ${count} distinct free ports after 20 attempts`);
}

/** What a program's file needs to know about its process before it starts: where it lives. */
export interface ProcessContext {
  /** Its own work directory (empty string where StartOptions.workdir is not given). */
  readonly dir: string;
  /** The free ports StartOptions.ports asked for, on 127.0.0.1. */
  readonly ports: readonly number[];
}

type FromContext<T> = T | ((ctx: ProcessContext) => T);
const resolve = <T>(v: FromContext<T>, ctx: ProcessContext): T => (typeof v === 'function' ? (v as (ctx: ProcessContext) => T)(ctx) : v);

/** A file in the work directory: its content, or its content and mode (e.g. 0o600 for a key). */
export type ProcessFile = string | { readonly content: string; readonly mode: number };

export interface StartOptions {
  /** Name used in messages. */
  readonly name: string;
  readonly binary: string;
  readonly args: FromContext<readonly string[]>;
  /**
   * A work directory of its own, `chat-monitoring-<workdir>-XXXXXX` in the temp dir: the process's
   * cwd unless `cwd` says otherwise, removed when it stops or fails to start.
   */
  readonly workdir?: string;
  /** Files written into the work directory before the start: path relative to it -> content. */
  readonly files?: FromContext<Readonly<Record<string, ProcessFile>>>;
  /** How many free ports on 127.0.0.1 to pick for it (ProcessContext.ports). */
  readonly ports?: number;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Resolves true once the program is ready; polled every 100 ms. */
  readonly ready: (ctx: ProcessContext) => Promise<boolean>;
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
  /** Run the binary inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
}

export class RunningProcess {
  private readonly logs: string[] = [];

  private constructor(readonly name: string, private readonly child: ChildProcess, private readonly ctx: ProcessContext) {
    child.stdout?.on('data', (d) => this.logs.push(String(d)));
    child.stderr?.on('data', (d) => this.logs.push(String(d)));
  }

  static async start(options: StartOptions): Promise<RunningProcess> {
    const dir = options.workdir ? mkdtempSync(join(tmpdir(), `chat-monitoring-${options.workdir}-`)) : '';
    const removeDir = () => dir && rmSync(dir, { recursive: true, force: true });
    let proc: RunningProcess | undefined;
    try {
      const ctx: ProcessContext = { dir, ports: options.ports ? await freePorts(options.ports) : [] };
      const files = Object.entries(resolve(options.files ?? {}, ctx));
      if (files.length && !dir) throw new Error(`${options.name}: files need a workdir`);
      for (const [path, file] of files) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        if (typeof file === 'string') writeFileSync(join(dir, path), file);
        else writeFileSync(join(dir, path), file.content, { mode: file.mode });
      }
      const programArgs = resolve(options.args, ctx);
      const [command, args] = options.netns
        ? ['ip', ['netns', 'exec', options.netns, options.binary, ...programArgs]]
        : [options.binary, [...programArgs]];
      const child = spawn(command, args, { cwd: options.cwd ?? (dir || undefined), env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      proc = new RunningProcess(options.name, child, ctx);
      const timeout = options.readyTimeoutMs ?? 30000;
      const deadline = Date.now() + timeout;
      while (Date.now() < deadline) {
        if (!proc.running) throw new Error(`${options.name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${proc.output.slice(-4000)}`);
        if (await options.ready(ctx).catch(() => false)) return proc;
        await sleep(100);
      }
      throw new Error(`${options.name} not ready after ${timeout / 1000} s:\n${proc.output.slice(-4000)}`);
    } catch (e) {
      await proc?.stop();
      removeDir();
      throw e;
    }
  }

  /** Its work directory ('' where it has none). */
  get dir(): string {
    return this.ctx.dir;
  }

  /** The free ports it was given (StartOptions.ports). */
  get ports(): readonly number[] {
    return this.ctx.ports;
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

  /** Waits until it exits on its own (a run-once program); its exit code, or the signal that ended it. */
  async exited(timeoutMs: number): Promise<number | NodeJS.Signals> {
    if (this.running) {
      const exit = new Promise((resolve) => this.child.once('exit', resolve));
      const timedOut = new Promise((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([exit, timedOut]);
      if (this.running) throw new Error(`${this.name} still running after ${timeoutMs / 1000} s:\n${this.output.slice(-4000)}`);
    }
    return (this.child.exitCode ?? this.child.signalCode)!;
  }

  /** Stops the process by its PID and removes its work directory; safe to call twice. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.running) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      // An unref'd timer: a clean exit must not keep jest waiting for the grace period.
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
      if (this.running) {
        this.child.kill('SIGKILL');
        await exited;
      }
    }
    if (this.ctx.dir) rmSync(this.ctx.dir, { recursive: true, force: true });
  }
}

/**
 * What every program's class shares: the RunningProcess it wraps, its PID, output and stop. A
 * program's file adds only what is its own (URLs, API calls).
 */
export abstract class RunningProgram {
  protected constructor(protected readonly process: RunningProcess) {}

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.running;
  }

  get output(): string {
    return this.process.output;
  }

  /** Its work directory ('' where it has none). */
  get workdir(): string {
    return this.process.dir;
  }

  /** Stops it by PID and removes its work directory; safe to call twice. */
  stop(): Promise<void> {
    return this.process.stop();
  }
}

/** Readiness check: an HTTP(S) GET answering 2xx. */
export function httpOk(url: string, init?: RequestInit): () => Promise<boolean> {
  return async () => (await fetch(url, init)).ok;
}

/**
 * Readiness check of a Kubernetes component's /healthz over HTTPS with the self-signed certificate it
 * generates for itself (kube-controller-manager, kube-scheduler): only whether it answers 200 is asked.
 */
export function selfSignedHttpsOk(url: string): () => Promise<boolean> {
  return () => new Promise((resolve) => {
    const req = httpsRequest(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
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

/** until() for a check that answers yes or no. */
export const untilTrue = (what: string, check: () => boolean | Promise<boolean>, timeoutMs?: number, everyMs?: number): Promise<true> =>
  until(what, async () => (await check()) || undefined, timeoutMs, everyMs);
