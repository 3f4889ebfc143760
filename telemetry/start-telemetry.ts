// Importing genkit registers its Node telemetry provider: Genkit owns the
// OpenTelemetry NodeSDK (one tracer provider and context manager for the
// process), so our exporter is handed to it.
import 'genkit';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { disableOTelRootSpanDetection, enableTelemetry, flushTracing } from 'genkit/tracing';
import type { Logger } from 'pino';
import { checkGoogleCloudAccess } from './google-cloud-access.js';
import { describeUrl, type TelemetrySelection, type TraceExport } from './select-exporter.js';
import { createSpanExporter, ExportHealthReporter } from './span-exporters.js';

export interface Telemetry {
  /** What the environment asked for. */
  selection: TelemetrySelection;
  /** What is exporting: the selection, or 'none' when setting it up failed. */
  exporting: TraceExport['kind'];
  /** Sends the spans still buffered (graceful shutdown); gives up after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
}

/** Cloud Run and GCE answer from the metadata server in milliseconds; elsewhere the lookup can hang. */
const GOOGLE_CLOUD_CHECK_MS = 5000;

type SdkConfig = Parameters<typeof enableTelemetry>[0] extends infer C ? Exclude<C, Promise<unknown>> : never;

/**
 * Starts tracing for the process: one tracer provider for our server spans
 * (REST middleware, gRPC interceptor) and Genkit's spans, which become their
 * children, and the selected exporter. Runs before the servers start. A broken exporter set-up logs one warning and leaves the
 * server running without export.
 */
export async function startTelemetry(selection: TelemetrySelection, logger: Logger): Promise<Telemetry> {
  const log = logger.child({ component: 'telemetry' });
  for (const warning of selection.warnings) log.warn(warning);

  // Genkit starts a flow's span as a new trace root unless told otherwise;
  // it must be a child of the HTTP or RPC server span.
  disableOTelRootSpanDetection();
  // Server spans are ours (rest/middleware/server-span.ts, grpc/call-gateway.ts): no library patching.
  const base: SdkConfig = { serviceName: selection.serviceName, instrumentations: [] };

  let exporting = selection.export.kind;
  try {
    if (selection.export.kind === 'google-cloud') {
      const access = await checkGoogleCloudAccess(process.env, GOOGLE_CLOUD_CHECK_MS);
      if (!access.ok) throw new Error(`Google Cloud project or credentials unavailable: ${access.problem}`);
      const { enableGoogleCloudTelemetry } = await import('@genkit-ai/google-cloud');
      // Our server spans instead of the plugin's auto-instrumentation (which patches every http server,
      // Genkit's reflection server included, and dozens of libraries).
      await enableGoogleCloudTelemetry({ autoInstrumentation: false, projectId: access.projectId });
    } else {
      await enableTelemetry(await exporterConfig(selection.export, base, log));
    }
  } catch (e: unknown) {
    log.warn({ err: errorSummary(e) }, `Trace export could not be set up (${errorSummary(e)}); serving without export`);
    exporting = 'none';
    // Replaces the failed (possibly rejected) set-up, which Genkit would otherwise await on every flow call.
    await enableTelemetry(base);
  }
  log.info({ exporter: exporting, reason: selection.reason, serviceName: selection.serviceName }, `Trace export: ${describe(selection, exporting)}`);

  return {
    selection,
    exporting,
    flush: (timeoutMs) => withTimeout(flushTracing(), timeoutMs),
  };
}

async function exporterConfig(target: TraceExport, base: SdkConfig, log: Logger): Promise<SdkConfig> {
  const exporter = await createSpanExporter(target);
  if (!exporter) return base;
  const where = target.kind === 'otlp' ? describeUrl(target.url) : target.kind === 'azure-monitor' ? azureIngestion(target.connectionString) : target.kind;
  const reported = new ExportHealthReporter(exporter, {
    onFailing: (error) => log.warn({ exporter: target.kind, endpoint: where }, `Trace export to ${where} is failing: ${error?.message ?? 'unknown error'} (logged once until it recovers)`),
    onRecovered: () => log.info({ exporter: target.kind, endpoint: where }, `Trace export to ${where} recovered`),
  });
  const config: SdkConfig = { ...base, spanProcessors: [new BatchSpanProcessor(reported)] };
  if (target.kind === 'otlp' && target.xray) {
    const [{ AWSXRayIdGenerator }, { AWSXRayPropagator }] = await Promise.all([
      import('@opentelemetry/id-generator-aws-xray'),
      import('@opentelemetry/propagator-aws-xray'),
    ]);
    // X-Ray needs its time-prefixed trace ids; callers may send either W3C traceparent or X-Amzn-Trace-Id.
    config.idGenerator = new AWSXRayIdGenerator();
    config.textMapPropagator = new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new AWSXRayPropagator()],
    });
  }
  return config;
}

function describe(selection: TelemetrySelection, exporting: TraceExport['kind']): string {
  const target = selection.export;
  if (exporting === 'none') return `none (${target.kind === 'none' ? selection.reason : 'set-up failed'})`;
  switch (target.kind) {
    case 'otlp':
      return `OTLP ${target.protocol} to ${describeUrl(target.url)}${target.xray ? ' with X-Ray trace ids' : ''} (${selection.reason})`;
    case 'google-cloud':
      return `Google Cloud Trace, Monitoring and Logging via @genkit-ai/google-cloud (${selection.reason})`;
    case 'azure-monitor':
      return `Azure Monitor (${selection.reason})`;
    case 'none':
      return `none (${selection.reason})`;
  }
}

/** The connection string's ingestion endpoint (never its instrumentation key). */
function azureIngestion(connectionString: string): string {
  const endpoint = /IngestionEndpoint=([^;]+)/i.exec(connectionString)?.[1];
  return endpoint ? `Azure Monitor at ${describeUrl(endpoint)}` : 'Azure Monitor';
}

function errorSummary(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function withTimeout(work: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await Promise.race([work.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
