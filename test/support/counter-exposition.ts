/**
 * Counters whose rate a test sets, served in the Prometheus text format on 127.0.0.1: request
 * traffic as numbers, so a test can run a service at 10 requests/s half of them failing, then at
 * 500 requests/s all fine, without sending a request. Each series grows at its current rate from
 * the moment it was set (piecewise linear); the labels are exposed as given, for a scrape job with
 * `honor_labels: true`, as the collector's ServiceMonitor scrapes its exporter.
 */
import { createServer, Server } from 'http';
import { AddressInfo } from 'net';

interface Series {
  readonly labels: Record<string, string>;
  value: number;
  perSecond: number;
  since: number;
}

const key = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

export class CounterExposition {
  private readonly series = new Map<string, Series>();

  private constructor(private readonly server: Server, readonly target: string, private readonly metric: string) {}

  static async start(metric: string): Promise<CounterExposition> {
    let exposition: CounterExposition | undefined;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(exposition!.render());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    exposition = new CounterExposition(server, `127.0.0.1:${(server.address() as AddressInfo).port}`, metric);
    return exposition;
  }

  private valueAt(s: Series, now: number): number {
    return s.value + (s.perSecond * (now - s.since)) / 1000;
  }

  /** From now on the series with `labels` grows by `perSecond` a second (a new series starts at 0). */
  setRate(labels: Record<string, string>, perSecond: number, now = Date.now()): void {
    const existing = this.series.get(key(labels));
    if (existing) {
      existing.value = this.valueAt(existing, now);
      existing.perSecond = perSecond;
      existing.since = now;
    } else {
      this.series.set(key(labels), { labels, value: 0, perSecond, since: now });
    }
  }

  /** Current value of the series with `labels`. */
  value(labels: Record<string, string>, now = Date.now()): number {
    const s = this.series.get(key(labels));
    return s ? this.valueAt(s, now) : 0;
  }

  private render(): string {
    const now = Date.now();
    return [...this.series.values()].map((s) => {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${v.replace(/["\\]/g, '\\$&')}"`).join(',');
      return `${this.metric}{${labels}} ${this.valueAt(s, now).toFixed(3)}\n`;
    }).join('');
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
