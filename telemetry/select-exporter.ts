/**
 * Which trace exporter the process uses, decided once at start-up from the
 * platform's environment. First match wins:
 *
 *   1. GENKIT_TELEMETRY_DISABLED / --no-telemetry / OTEL_SDK_DISABLED → none
 *   2. Google Cloud (K_SERVICE, GCE_METADATA_HOST, GENKIT_TELEMETRY_GCP=1) → @genkit-ai/google-cloud
 *   3. AWS (AWS_EXECUTION_ENV, ECS_CONTAINER_METADATA_URI[_V4]) → OTLP to the ADOT collector + X-Ray ids
 *   4. Azure (CONTAINER_APP_NAME or WEBSITE_SITE_NAME) with APPLICATIONINSIGHTS_CONNECTION_STRING → Azure Monitor
 *   5. OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT → OTLP
 *   6. otherwise → none
 *
 * Pure (no I/O), so every row is unit-tested over env permutations. Problems
 * are returned as warnings, never thrown: a telemetry mistake must not stop
 * the server.
 */

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The ADOT collector's OTLP receivers when they run as a sidecar/daemon on the same host. */
export const ADOT_DEFAULT_ENDPOINTS: Record<OtlpProtocol, string> = {
  'http/protobuf': 'http://localhost:4318',
  'http/json': 'http://localhost:4318',
  grpc: 'http://localhost:4317',
};

export type TraceExport =
  | { kind: 'none' }
  | { kind: 'google-cloud' }
  | {
      kind: 'otlp';
      protocol: OtlpProtocol;
      /** Full URL the exporter posts to (…/v1/traces for HTTP; the collector address for gRPC). */
      url: string;
      /** AWS: X-Ray-compatible trace ids and the X-Ray propagator next to W3C. */
      xray: boolean;
    }
  | { kind: 'azure-monitor'; connectionString: string };

export interface TelemetrySelection {
  export: TraceExport;
  /** Why this row matched, for the start-up log line (never contains secrets). */
  reason: string;
  /** service.name of every span. */
  serviceName: string;
  /** Configuration mistakes found on the way; each is logged once as a warning. */
  warnings: string[];
}

export interface SelectOptions {
  /** --no-telemetry was given. */
  disabledByFlag?: boolean;
  /** service.name when OTEL_SERVICE_NAME is unset: the package name. */
  defaultServiceName: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export function selectTelemetry(env: Env, options: SelectOptions): TelemetrySelection {
  const warnings: string[] = [];
  const serviceName = present(env.OTEL_SERVICE_NAME) ?? options.defaultServiceName;
  const result = (exp: TraceExport, reason: string): TelemetrySelection => ({ export: exp, reason, serviceName, warnings });

  if (options.disabledByFlag) return result({ kind: 'none' }, '--no-telemetry was given');
  if (isTrue(env.GENKIT_TELEMETRY_DISABLED)) return result({ kind: 'none' }, 'GENKIT_TELEMETRY_DISABLED is set');
  if (isTrue(env.OTEL_SDK_DISABLED)) return result({ kind: 'none' }, 'OTEL_SDK_DISABLED is set');

  // GOOGLE_CLOUD_PROJECT alone is deliberately not a signal: developer machines set it too.
  const gcpSignal = firstSet(env, ['K_SERVICE', 'GCE_METADATA_HOST']) ?? (isTrue(env.GENKIT_TELEMETRY_GCP) ? 'GENKIT_TELEMETRY_GCP' : undefined);
  if (gcpSignal) return result({ kind: 'google-cloud' }, `${gcpSignal} is set (Google Cloud)`);

  const awsSignal = firstSet(env, ['AWS_EXECUTION_ENV', 'ECS_CONTAINER_METADATA_URI_V4', 'ECS_CONTAINER_METADATA_URI']);
  if (awsSignal) {
    const protocol = otlpProtocol(env, warnings);
    const url = otlpTracesUrl(env, protocol, warnings) ?? otlpUrlFromBase(ADOT_DEFAULT_ENDPOINTS[protocol], protocol);
    return result({ kind: 'otlp', protocol, url, xray: true }, `${awsSignal} is set (AWS): OTLP to the ADOT collector`);
  }

  const azureSignal = firstSet(env, ['CONTAINER_APP_NAME', 'WEBSITE_SITE_NAME']);
  const connectionString = present(env.APPLICATIONINSIGHTS_CONNECTION_STRING);
  if (azureSignal && connectionString) {
    return result({ kind: 'azure-monitor', connectionString }, `${azureSignal} and APPLICATIONINSIGHTS_CONNECTION_STRING are set (Azure)`);
  }
  if (azureSignal) warnings.push(`${azureSignal} is set (Azure) but APPLICATIONINSIGHTS_CONNECTION_STRING is not: no Azure Monitor export`);

  if (firstSet(env, ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'])) {
    const protocol = otlpProtocol(env, warnings);
    const url = otlpTracesUrl(env, protocol, warnings);
    if (url) return result({ kind: 'otlp', protocol, url, xray: false }, 'OTEL_EXPORTER_OTLP_ENDPOINT is set');
    return result({ kind: 'none' }, 'the OTLP endpoint is not a valid URL');
  }
  return result({ kind: 'none' }, 'no exporter is configured');
}

/** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the spec's default). */
function otlpProtocol(env: Env, warnings: string[]): OtlpProtocol {
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const value = present(env[name]);
    if (value === undefined) continue;
    if ((OTLP_PROTOCOLS as readonly string[]).includes(value)) return value as OtlpProtocol;
    warnings.push(`${name}=${value} is not one of ${OTLP_PROTOCOLS.join(', ')}: using http/protobuf`);
    return 'http/protobuf';
  }
  return 'http/protobuf';
}

/**
 * The spec's URL rules: the per-signal variable is used as is; the base
 * endpoint gets `/v1/traces` appended for the HTTP protocols. gRPC takes the
 * collector address only.
 */
function otlpTracesUrl(env: Env, protocol: OtlpProtocol, warnings: string[]): string | undefined {
  const perSignal = present(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (perSignal !== undefined) return validUrl(perSignal, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', warnings);
  const base = present(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (base === undefined) return undefined;
  const valid = validUrl(base, 'OTEL_EXPORTER_OTLP_ENDPOINT', warnings);
  return valid === undefined ? undefined : otlpUrlFromBase(valid, protocol);
}

function otlpUrlFromBase(base: string, protocol: OtlpProtocol): string {
  return protocol === 'grpc' ? base : `${base.replace(/\/+$/, '')}/v1/traces`;
}

function validUrl(text: string, name: string, warnings: string[]): string | undefined {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return text;
  } catch {
    // falls through to the warning
  }
  warnings.push(`${name} is not an http(s) URL: no OTLP export`);
  return undefined;
}

/** A URL for logs: scheme, host and path only (user info and query can carry credentials). */
export function describeUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function present(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function firstSet(env: Env, names: readonly string[]): string | undefined {
  return names.find((name) => present(env[name]) !== undefined);
}

function isTrue(value: string | undefined): boolean {
  return /^(1|true|yes)$/i.test(value?.trim() ?? '');
}
