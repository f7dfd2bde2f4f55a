/**
 * An OTLP/gRPC sender made with the OpenTelemetry JS SDK, for metrics the test chat service does not
 * emit (a client histogram, a gauge): its own MeterProvider and resource, exporting cumulative
 * points every `intervalMs` to a collector, as an instrumented process would.
 */
import { Meter } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

export interface OtlpSenderOptions {
  /** The collector's OTLP gRPC URL (RunningCollector.otlpGrpcUrl). */
  readonly url: string;
  /** Resource attributes, e.g. the stub pod attribute test/support/collector.ts recognises. */
  readonly resource: Readonly<Record<string, string>>;
  /** @default 1000 */
  readonly intervalMs?: number;
}

export class OtlpSender {
  private readonly provider: MeterProvider;

  constructor(options: OtlpSenderOptions) {
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: options.url }),
      exportIntervalMillis: options.intervalMs ?? 1000,
      exportTimeoutMillis: Math.min(options.intervalMs ?? 1000, 30000),
    });
    this.provider = new MeterProvider({ resource: resourceFromAttributes({ ...options.resource }), readers: [reader] });
  }

  meter(name: string, version?: string): Meter {
    return this.provider.getMeter(name, version);
  }

  /** Exports what it has now (instead of waiting for the next interval). */
  flush(): Promise<void> {
    return this.provider.forceFlush();
  }

  /** A last export, then stops. */
  stop(): Promise<void> {
    return this.provider.shutdown();
  }
}
