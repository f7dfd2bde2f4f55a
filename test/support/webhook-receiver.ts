/**
 * A webhook receiver for Alertmanager's notifications: an HTTP server on 127.0.0.1 that keeps
 * every payload with the path it was posted to and when it arrived.
 */
import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import { sleep } from './process';

/** Alertmanager's webhook payload (version 4), the fields the tests read. */
export interface WebhookPayload {
  readonly version: string;
  /** The sending Alertmanager's --web.external-url: which member of a cluster sent it. */
  readonly externalURL: string;
  readonly receiver: string;
  readonly status: 'firing' | 'resolved';
  readonly groupLabels: Record<string, string>;
  readonly commonLabels: Record<string, string>;
  readonly alerts: {
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    fingerprint: string;
  }[];
}

export interface Notification {
  /** Path it was posted to: tells which receiver's URL Alertmanager used. */
  readonly path: string;
  readonly receivedAt: number;
  readonly payload: WebhookPayload;
}

export class WebhookReceiver {
  readonly notifications: Notification[] = [];

  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          receiver!.notifications.push({ path: req.url ?? '/', receivedAt: Date.now(), payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          res.writeHead(200).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return receiver;
  }

  /** Notifications posted to `path` that satisfy `match`. */
  find(path: string, match: (n: Notification) => boolean = () => true): Notification[] {
    return this.notifications.filter((n) => n.path === path && match(n));
  }

  /** Waits until a notification to `path` satisfies `match`; returns it, or throws after `timeoutMs`. */
  async waitFor(path: string, match: (n: Notification) => boolean, timeoutMs: number): Promise<Notification> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.find(path, match)[0];
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no matching notification to ${path} within ${timeoutMs / 1000} s; got: ${JSON.stringify(this.notifications.map((n) => [n.path, n.payload.status, n.payload.groupLabels]))}`);
      }
      await sleep(200);
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
