import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { OtlpProtocol, TraceExport } from './select-exporter.js';

/**
 * Builds the selected exporter. Each exporter package is imported only when
 * chosen: most of them are large and start-up time matters.
 */
export async function createSpanExporter(target: TraceExport): Promise<SpanExporter | null> {
  if (target.kind === 'otlp') return createOtlpExporter(target.protocol, target.url);
  if (target.kind === 'azure-monitor') {
    const { AzureMonitorTraceExporter } = await import('@azure/monitor-opentelemetry-exporter');
    return new AzureMonitorTraceExporter({ connectionString: target.connectionString });
  }
  // google-cloud brings its own exporters (enableGoogleCloudTelemetry); none exports nothing.
  return null;
}

/** Headers, compression and timeout still come from the standard OTEL_EXPORTER_OTLP_* variables. */
async function createOtlpExporter(protocol: OtlpProtocol, url: string): Promise<SpanExporter> {
  switch (protocol) {
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({ url });
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url });
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter({ url });
  }
}

export interface ExportHealthListener {
  /** The first failure after a success (or at start): one warning, not one per batch. */
  onFailing(error: Error | undefined): void;
  /** The first success after failures. */
  onRecovered(): void;
}

/**
 * Wraps an exporter so that a collector that is down or misconfigured shows
 * up as one warning (and one recovery line), instead of nothing (the SDK's
 * default) or a line per batch. Export stays asynchronous and off the
 * request path either way.
 */
export class ExportHealthReporter implements SpanExporter {
  private failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly listener: ExportHealthListener,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      // ExportResultCode.SUCCESS is 0.
      if (result.code !== 0 && !this.failing) {
        this.failing = true;
        this.listener.onFailing(result.error);
      } else if (result.code === 0 && this.failing) {
        this.failing = false;
        this.listener.onRecovered();
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
