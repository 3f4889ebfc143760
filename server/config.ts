import { z } from 'genkit';
import ipaddr from 'ipaddr.js';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_RESILIENCE, type ModelSettings } from '../genkit.config.js';
import type { ResilienceSettings } from '../models/resilience/model-policies.js';
import { selectTelemetry, type TelemetrySelection } from '../telemetry/select-exporter.js';
import type { GrpcLimits } from '../grpc/http2-limits.js';
import type { HttpLimits } from './http-connections.js';

/**
 * Every setting of the server, parsed once at start-up from flags and the
 * environment (flags win). Modules receive the typed `ServerConfig`; nothing
 * else reads `process.env`. A bad value stops the start with a message that
 * names the variable.
 */

/** SHUTDOWN_DELAY_MS=auto on Kubernetes (KUBERNETES_SERVICE_HOST is set in every pod). */
export const KUBERNETES_SHUTDOWN_DELAY_MS = 5000;

export const DEFAULT_GEMINI_MODEL = 'googleai/gemini-2.5-flash';

/** package.json's name: the default service.name of spans and the `service` field of log lines. */
export const PACKAGE_NAME = 'genkit-flow-gateway';

/** What DEBUG / --debug turns on: listed in --help and logged at start-up. */
export const DEBUG_TURNS_ON = [
  'gRPC server reflection',
  '/openapi.json and the /docs page',
  'pretty console logs (unless LOG_FORMAT is set)',
  'CORS for every origin (*)',
  'http: image URLs in describeImage',
  'no warnings about open settings',
] as const;

/** One row per setting: the single source for parsing, `--help` and the README table. */
export const SETTINGS = [
  { env: 'PORT', flag: '--port', default: '8080', help: 'REST port (0 picks a free one).' },
  { env: 'HOST', flag: '--host', default: '0.0.0.0', help: 'Interface REST and gRPC bind to.' },
  { env: 'GRPC_PORT', flag: '--grpc-port', default: '50051', help: 'gRPC port (0 picks a free one).' },
  { env: 'GRPC_ENABLED', flag: '--no-grpc', default: 'true', help: 'Serve gRPC; --no-grpc or GRPC_ENABLED=false turns it off.' },
  { env: 'GRPC_REFLECTION', default: 'false', help: 'Serve gRPC server reflection (always on with DEBUG).' },
  { env: 'GEMINI_API_KEY', default: '', help: 'Gemini API key; when set (or GOOGLE_API_KEY), flows use Gemini.' },
  { env: 'GOOGLE_API_KEY', default: '', help: 'Alternative name for the Gemini API key.' },
  { env: 'GENKIT_MODEL', default: DEFAULT_GEMINI_MODEL, help: 'Gemini model used when a key is set.' },
  { env: 'GEMINI_BASE_URL', default: '', help: 'Gemini API base URL (gateways, proxies, tests).' },
  { env: 'OFFLINE_MODEL_LATENCY_MS', default: '0', help: 'Delay per streamed chunk of the offline model.' },
  { env: 'MAX_BODY_SIZE', default: '1048576', help: 'Largest accepted request body: bytes, or with a unit: 512kb, 1mb (larger → 413).' },
  { env: 'LOG_LEVEL', default: 'info', help: 'pino level: fatal, error, warn, info, debug, trace, silent.' },
  { env: 'LOG_FORMAT', default: 'json', help: 'json (one JSON object per line) or console (pretty; the default in debug).' },
  { env: 'API_KEYS', default: '', help: 'Comma list of accepted API keys (`key` or `name:key`); unset = open.' },
  { env: 'RATE_LIMIT', default: '60/minute', help: 'Calls per client IP: <count>/<second|minute|hour>.' },
  { env: 'CORS_ALLOWED_ORIGINS', default: '', help: 'Comma list of origins allowed by CORS (default same-origin only).' },
  { env: 'TRUSTED_HOSTS', default: '', help: 'Comma list of accepted Host headers, with or without port: api.example.com, localhost:8080 (others → 400).' },
  { env: 'TRUST_PROXY', default: 'false', help: "Express 'trust proxy': true, false, a hop count or a list of proxy IPs/CIDRs." },
  { env: 'SHUTDOWN_GRACE_MS', default: '10000', help: 'On SIGTERM/SIGINT, how long in-flight calls may finish (after the drain window); then they end with UNAVAILABLE.' },
  { env: 'SHUTDOWN_DELAY_MS', default: 'auto', help: 'Drain window on SIGTERM: readiness fails, listeners stay open and calls are served; auto = 5000 on Kubernetes, else 0.' },
  { env: 'KEEP_ALIVE_TIMEOUT_MS', flag: '--keep-alive-timeout-ms', default: '65000', help: 'Idle keep-alive socket lifetime (above load-balancer idle timeouts, e.g. AWS ALB 60 s).' },
  { env: 'HEADERS_TIMEOUT_MS', flag: '--headers-timeout-ms', default: '66000', help: 'Time to receive request headers (silent or slow-header clients get 408).' },
  { env: 'REQUEST_TIMEOUT_MS', flag: '--request-timeout-ms', default: '66000', help: 'Time to receive a whole request, body included (≥ HEADERS_TIMEOUT_MS; slow bodies get 408).' },
  { env: 'MAX_CONNECTIONS', default: '4096', help: 'Open connections per listener (REST, gRPC); more are closed at once (0 = no cap).' },
  { env: 'MAX_CONNECTIONS_PER_IP', default: '0', help: 'Open connections per client address and listener (0 = no cap; set it when clients connect directly, not via a balancer).' },
  { env: 'MAX_CONCURRENT_STREAMS', default: '1500', help: 'Streaming calls (REST SSE + gRPC) at once; more get 503 + Retry-After / UNAVAILABLE (0 = no cap).' },
  { env: 'GRPC_MAX_CONCURRENT_STREAMS', default: '1000', help: 'HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls at once on one gRPC connection.' },
  { env: 'GRPC_MAX_CONNECTION_AGE_MS', default: '0', help: 'GOAWAY a gRPC connection after this long (±10 %) so clients rebalance (0 = never).' },
  { env: 'GRPC_MAX_CONNECTION_IDLE_MS', default: '300000', help: 'GOAWAY a gRPC connection with no call for this long (0 = never).' },
  { env: 'GRPC_MAX_RESETS_PER_SECOND', default: '200', help: 'Client stream resets per second on one gRPC connection before it is closed (rapid reset; 0 = off).' },
  { env: 'GRPC_RESET_PENALTY_MS', default: '10000', help: 'How long an address closed for rapid reset may not reconnect to gRPC.' },
  { env: 'GRPC_MAX_SESSION_MEMORY_MB', default: '64', help: 'Memory one gRPC connection may hold (Node http2 maxSessionMemory); over it new streams are refused.' },
  { env: 'API_DOCS', default: 'false', help: 'Serve /openapi.json and the /docs page (always on with DEBUG).' },
  { env: 'LLM_TIMEOUT_MS', default: '120000', help: 'Timeout of one model call attempt (its HTTP request is cancelled).' },
  { env: 'LLM_MAX_RETRIES', default: '2', help: 'Retries of a model call on transient upstream errors (backoff with jitter, Retry-After honoured).' },
  { env: 'CB_ENABLED', default: 'true', help: 'Circuit breaker around model calls.' },
  { env: 'CB_FAILURE_THRESHOLD', default: '5', help: 'Consecutive upstream failures that open the circuit.' },
  { env: 'CB_RECOVERY_TIMEOUT_MS', default: '30000', help: 'How long the circuit stays open before one probe call.' },
  { env: 'CACHE_ENABLED', default: 'true', help: 'Response cache (with request coalescing) for the idempotent flows.' },
  { env: 'CACHE_TTL_MS', default: '300000', help: 'How long a cached response lives.' },
  { env: 'CACHE_MAX_ENTRIES', default: '1024', help: 'Cached responses kept (least recently used evicted first).' },
  { env: 'WEB_CONCURRENCY', flag: '--workers', default: '1', help: 'Worker processes sharing the REST and gRPC ports (node:cluster); auto = one per core.' },
  { env: 'REDIS_URL', default: '', help: 'redis:// or rediss:// URL (password allowed): shared rate limit, response cache and resumable streams.' },
  { env: 'REDIS_COMMAND_TIMEOUT_MS', default: '250', help: 'Longest wait for one Redis command before falling back to local state.' },
  { env: 'REDIS_KEY_PREFIX', default: 'genkit-gateway:', help: 'Prefix of every Redis key (several deployments can share one Redis).' },
  { env: 'CACHE_MAX_ENTRY_BYTES', default: '262144', help: 'Largest cached response (JSON bytes) stored in Redis; larger ones stay local.' },
  { env: 'STREAM_TTL_MS', default: '300000', help: 'How long a streamed response stays resumable (x-genkit-stream-id) after its last chunk.' },
  { env: 'GENKIT_TELEMETRY_DISABLED', flag: '--no-telemetry', default: 'false', help: 'Export no traces (trace IDs still label logs and responses).' },
  { env: 'GENKIT_TELEMETRY_GCP', default: 'false', help: 'Export to Google Cloud (automatic on Cloud Run and GCE; GOOGLE_CLOUD_PROJECT alone does not).' },
  { env: 'OTEL_EXPORTER_OTLP_ENDPOINT', default: '', help: 'OTLP collector URL; set (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) to export traces over OTLP.' },
  { env: 'OTEL_EXPORTER_OTLP_PROTOCOL', default: 'http/protobuf', help: 'OTLP protocol: http/protobuf, http/json or grpc.' },
  { env: 'OTEL_SERVICE_NAME', default: PACKAGE_NAME, help: 'service.name on every span.' },
  { env: 'APPLICATIONINSIGHTS_CONNECTION_STRING', default: '', help: 'On Azure Container Apps or App Service: export traces to Azure Monitor.' },
  { env: 'DEBUG', flag: '--debug', default: 'false', help: `Development conveniences, never in production: ${DEBUG_TURNS_ON.join('; ')}.` },
] as const;

/**
 * A whole number written in digits only: `1e4`, `0x10`, `12.0` or `10 ms`
 * are refused rather than silently read as something else.
 */
const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .transform((v, ctx) => {
      const text = v.trim();
      if (!/^\d+$/.test(text)) return invalid(ctx, `${name} must be a whole number${max < Number.MAX_SAFE_INTEGER ? ` ${min}..${max}` : ` ≥ ${min}`} in digits (got "${v}")`);
      const value = Number(text);
      if (value < min || value > max) return invalid(ctx, `${name} must be ${max < Number.MAX_SAFE_INTEGER ? `${min}..${max}` : `≥ ${min}`} (got ${text})`);
      return value;
    });

const port = (name: string) => integer(name, 0, 65535);

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off', ''];

const booleanText = (name: string) =>
  z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .refine((v) => TRUE_WORDS.includes(v) || FALSE_WORDS.includes(v), (v) => ({ message: `${name} must be true or false (also 1/0, yes/no, on/off; got "${v}")` }))
    .transform((v) => TRUE_WORDS.includes(v));

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `1048576`, `512kb`, `1mb`, `1 MiB` (units are powers of 1024, like Express's body limit). */
export function parseByteSize(text: string): number | null {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = BYTE_UNITS[match?.[2]?.toLowerCase() ?? 'x'];
  if (!match?.[1] || unit === undefined) return null;
  return Number(match[1]) * unit;
}

const RawConfigSchema = z.object({
  PORT: port('PORT'),
  HOST: z.string().min(1, 'HOST must not be empty'),
  GRPC_PORT: port('GRPC_PORT'),
  GRPC_ENABLED: booleanText('GRPC_ENABLED'),
  GRPC_REFLECTION: booleanText('GRPC_REFLECTION'),
  GEMINI_API_KEY: z.string(),
  GOOGLE_API_KEY: z.string(),
  GENKIT_MODEL: z.string().min(1, 'GENKIT_MODEL must not be empty'),
  GEMINI_BASE_URL: z.union([z.literal(''), z.string().url('GEMINI_BASE_URL must be a URL')]),
  OFFLINE_MODEL_LATENCY_MS: integer('OFFLINE_MODEL_LATENCY_MS', 0),
  MAX_BODY_SIZE: z.string().transform((v, ctx) => {
    const bytes = parseByteSize(v);
    return bytes !== null && bytes >= 1 ? bytes : invalid(ctx, `MAX_BODY_SIZE must be a size ≥ 1 byte like 1048576, 512kb or 1mb (got "${v}")`);
  }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  DEBUG: booleanText('DEBUG'),
  LOG_FORMAT: z.enum(['json', 'console'], { errorMap: () => ({ message: 'LOG_FORMAT must be json or console' }) }),
  API_KEYS: z.string().transform((v, ctx) => {
    const problem = apiKeysProblem(v);
    return problem ? invalid(ctx, problem) : parseApiKeys(commaList(v));
  }),
  RATE_LIMIT: z.string().transform((v, ctx) => parseRateLimit(v) ?? invalid(ctx, rateLimitProblem(v))),
  CORS_ALLOWED_ORIGINS: z
    .string()
    .transform(commaList)
    .refine((origins) => origins.every(isOrigin), 'CORS_ALLOWED_ORIGINS must be origins like https://app.example.com'),
  TRUSTED_HOSTS: z
    .string()
    .transform(commaList)
    .refine((hosts) => hosts.every(isHostHeader), (hosts) => ({ message: `TRUSTED_HOSTS must be host names with an optional port, like api.example.com or localhost:8080 (not ${hosts.filter((h) => !isHostHeader(h)).join(', ')})` })),
  TRUST_PROXY: z.string().transform((v, ctx) => {
    const value = parseTrustProxy(v);
    const bad = Array.isArray(value) ? value.filter((entry) => !isProxyAddress(entry)) : [];
    return bad.length === 0
      ? value
      : invalid(ctx, `TRUST_PROXY must be true, false, a hop count, or a comma list of proxy IPs/CIDRs (or loopback, linklocal, uniquelocal); not an address: ${bad.join(', ')}`);
  }),
  SHUTDOWN_GRACE_MS: integer('SHUTDOWN_GRACE_MS', 0),
  SHUTDOWN_DELAY_MS: z.union([z.literal('auto'), integer('SHUTDOWN_DELAY_MS', 0)]),
  KEEP_ALIVE_TIMEOUT_MS: integer('KEEP_ALIVE_TIMEOUT_MS', 1),
  HEADERS_TIMEOUT_MS: integer('HEADERS_TIMEOUT_MS', 1),
  REQUEST_TIMEOUT_MS: integer('REQUEST_TIMEOUT_MS', 1),
  MAX_CONNECTIONS: integer('MAX_CONNECTIONS', 0),
  MAX_CONNECTIONS_PER_IP: integer('MAX_CONNECTIONS_PER_IP', 0),
  MAX_CONCURRENT_STREAMS: integer('MAX_CONCURRENT_STREAMS', 0),
  GRPC_MAX_CONCURRENT_STREAMS: integer('GRPC_MAX_CONCURRENT_STREAMS', 1),
  GRPC_MAX_CONNECTION_AGE_MS: integer('GRPC_MAX_CONNECTION_AGE_MS', 0),
  GRPC_MAX_CONNECTION_IDLE_MS: integer('GRPC_MAX_CONNECTION_IDLE_MS', 0),
  GRPC_MAX_SESSION_MEMORY_MB: integer('GRPC_MAX_SESSION_MEMORY_MB', 1),
  GRPC_MAX_RESETS_PER_SECOND: integer('GRPC_MAX_RESETS_PER_SECOND', 0),
  GRPC_RESET_PENALTY_MS: integer('GRPC_RESET_PENALTY_MS', 0),
  API_DOCS: booleanText('API_DOCS'),
  LLM_TIMEOUT_MS: integer('LLM_TIMEOUT_MS', 1),
  LLM_MAX_RETRIES: integer('LLM_MAX_RETRIES', 0, 10),
  CB_ENABLED: booleanText('CB_ENABLED'),
  CB_FAILURE_THRESHOLD: integer('CB_FAILURE_THRESHOLD', 1),
  CB_RECOVERY_TIMEOUT_MS: integer('CB_RECOVERY_TIMEOUT_MS', 1),
  CACHE_ENABLED: booleanText('CACHE_ENABLED'),
  CACHE_TTL_MS: integer('CACHE_TTL_MS', 1),
  CACHE_MAX_ENTRIES: integer('CACHE_MAX_ENTRIES', 1),
  WEB_CONCURRENCY: z.string().transform((v, ctx) => parseWorkers(v) ?? invalid(ctx, 'WEB_CONCURRENCY must be auto or a whole number 1..256')),
  REDIS_URL: z
    .string()
    .trim()
    .refine((v) => v === '' || /^rediss?:\/\/[^\s]+$/i.test(v), 'REDIS_URL must be a redis:// or rediss:// URL'),
  REDIS_COMMAND_TIMEOUT_MS: integer('REDIS_COMMAND_TIMEOUT_MS', 1),
  REDIS_KEY_PREFIX: z.string(),
  CACHE_MAX_ENTRY_BYTES: integer('CACHE_MAX_ENTRY_BYTES', 1),
  STREAM_TTL_MS: integer('STREAM_TTL_MS', 1000),
}).refine((c) => typeof c.HEADERS_TIMEOUT_MS !== 'number' || typeof c.REQUEST_TIMEOUT_MS !== 'number' || c.HEADERS_TIMEOUT_MS <= c.REQUEST_TIMEOUT_MS, {
  message: 'HEADERS_TIMEOUT_MS must be ≤ REQUEST_TIMEOUT_MS (Node counts the headers as part of the request)',
  path: ['HEADERS_TIMEOUT_MS'],
});

/** `auto` = one worker per core; otherwise a count. */
export function parseWorkers(text: string): number | null {
  const value = text.trim().toLowerCase();
  if (value === 'auto') return Math.max(1, availableParallelism());
  if (!/^\d+$/.test(value)) return null;
  const count = Number.parseInt(value, 10);
  return count >= 1 && count <= 256 ? count : null;
}

export interface RateLimit {
  /** Calls allowed per window. */
  points: number;
  /** Window length in seconds. */
  durationSeconds: number;
}

export interface ApiKey {
  /** Who the key belongs to: the flow context's caller identity. */
  name: string;
  key: string;
}

const WINDOWS: Record<string, number> = { second: 1, minute: 60, hour: 3600 };

export function parseRateLimit(text: string): RateLimit | null {
  const match = /^\s*(\d+)\s*\/\s*(second|minute|hour)\s*$/i.exec(text);
  if (!match?.[1] || !match[2]) return null;
  const points = Number.parseInt(match[1], 10);
  return points > 0 ? { points, durationSeconds: WINDOWS[match[2].toLowerCase()]! } : null;
}

const KEY_NAME = /^([A-Za-z0-9._-]{1,64}):(.*)$/;

/** `name:key` names a key; a bare key is named after its position (`key-1`, …) so logs never show it. */
export function parseApiKeys(entries: string[]): ApiKey[] {
  return entries.map((entry, i) => {
    const match = KEY_NAME.exec(entry);
    return match?.[1] && match[2] ? { name: match[1], key: match[2].trim() } : { name: `key-${i + 1}`, key: entry };
  });
}

/**
 * Set but without a usable key is a mistake, never "open": `API_KEYS=,` or
 * `API_KEYS=alice:` would otherwise start an unauthenticated API (or accept
 * the literal key `alice:`). Only an empty value means unset.
 */
function apiKeysProblem(text: string): string | null {
  if (text.trim() === '') return null;
  const entries = commaList(text);
  if (entries.length === 0) return `API_KEYS is set but holds no key (got "${text}"); unset it to run without authentication`;
  const nameless = entries.filter((entry) => KEY_NAME.exec(entry)?.[2]?.trim() === '');
  if (nameless.length > 0) return `API_KEYS entries need a key after "name:" (${nameless.map((e) => `"${e}"`).join(', ')} has none)`;
  return null;
}

function rateLimitProblem(text: string): string {
  const count = /^\s*(\d+)\s*\/\s*(second|minute|hour)\s*$/i.exec(text)?.[1];
  if (count !== undefined && Number(count) === 0) return `RATE_LIMIT must allow at least 1 call per window (got "${text}", which would refuse every call); for a very high limit use e.g. 1000000/second`;
  return `RATE_LIMIT must look like 60/minute (<count>/<second|minute|hour>; got "${text}")`;
}

/** A Host header value: name or IPv4 or [IPv6], optionally :port. */
function isHostHeader(text: string): boolean {
  return /^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/i.test(text);
}

/** What Express's `trust proxy` (proxy-addr) accepts in a list: an IP, a CIDR, or a named range. */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry.toLowerCase())) return true;
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || !address || !ipaddr.isValid(address)) return false;
  if (bits === undefined) return true;
  const max = ipaddr.parse(address).kind() === 'ipv4' ? 32 : 128;
  return /^\d+$/.test(bits) && Number(bits) <= max;
}

function parseTrustProxy(text: string): boolean | number | string[] {
  const value = text.trim().toLowerCase();
  if (value === '' || value === 'false' || value === '0') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number.parseInt(value, 10);
  return commaList(text);
}

function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function isOrigin(text: string): boolean {
  try {
    return new URL(text).origin === text.replace(/\/$/, '');
  } catch {
    return false;
  }
}

function invalid(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: z.ZodIssueCode.custom, message });
  return z.NEVER;
}

export interface ServerConfig {
  /** REST port; 0 asks the OS for a free one. */
  port: number;
  /** Interface to bind. */
  host: string;
  /** gRPC port, or null when gRPC is off. */
  grpcPort: number | null;
  /** Serve gRPC server reflection. */
  grpcReflection: boolean;
  /** Which model answers, and with what credentials. */
  model: ModelSettings;
  /** Largest request body (REST) in bytes. */
  maxBodySize: number;
  /** pino log level. */
  logLevel: z.infer<typeof RawConfigSchema>['LOG_LEVEL'];
  /** Development conveniences. */
  debug: boolean;
  /** JSON lines, or pretty console output. */
  logFormat: 'json' | 'console';
  /** Accepted API keys; empty means the API is open. */
  apiKeys: ApiKey[];
  /** Per-client-IP limit shared by REST and gRPC. */
  rateLimit: RateLimit;
  /** Origins CORS allows; empty means same-origin only (or `*` in debug). */
  corsAllowedOrigins: string[];
  /** Accepted Host headers; empty means any. */
  trustedHosts: string[];
  /** Express 'trust proxy' setting (client IP and protocol from X-Forwarded-*). */
  trustProxy: boolean | number | string[];
  /** Grace period for in-flight calls on shutdown (after the drain window). */
  shutdownGraceMs: number;
  /** Drain window on shutdown: readiness fails while both listeners keep serving. */
  shutdownDelayMs: number;
  /** REST listener timeouts and connection caps. */
  http: HttpLimits;
  /** gRPC per-connection stream cap, connection age/idle, session memory, connection caps. */
  grpcLimits: GrpcLimits;
  /** Streaming calls at once across REST and gRPC (0 = no cap). */
  maxConcurrentStreams: number;
  /** Serve /openapi.json and /docs. */
  apiDocs: boolean;
  /** Breaker, retries and timeout around model calls. */
  resilience: ResilienceSettings;
  /** Response cache of the idempotent flows; null when off. */
  cache: { ttlMs: number; maxEntries: number } | null;
  /** Where traces go, chosen from the platform's environment. */
  telemetry: TelemetrySelection;
  /** Worker processes (node:cluster) sharing the ports; 1 = this process serves alone. */
  workers: number;
  /** Shared state on Redis; null = everything stays in this process (or this machine's cluster). */
  redis: RedisSettings | null;
  /** Resumable streams: how long a stream is kept after its last event. */
  streamTtlMs: number;
}

export interface RedisSettings {
  /** redis:// or rediss:// URL, password included (never logged). */
  url: string;
  commandTimeoutMs: number;
  keyPrefix: string;
  /** Largest JSON value the shared response cache stores. */
  maxCacheEntryBytes: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type CliResult = { kind: 'help'; text: string } | { kind: 'config'; config: ServerConfig };

/** Parses argv (without node and script) and an environment into a config, or the help text. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliResult {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        help: { type: 'boolean', short: 'h' },
        port: { type: 'string' },
        host: { type: 'string' },
        'grpc-port': { type: 'string' },
        'no-grpc': { type: 'boolean' },
        'no-telemetry': { type: 'boolean' },
        debug: { type: 'boolean' },
        'keep-alive-timeout-ms': { type: 'string' },
        'headers-timeout-ms': { type: 'string' },
        'request-timeout-ms': { type: 'string' },
        workers: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e: unknown) {
    throw new ConfigError(`${e instanceof Error ? e.message : String(e)}\nRun with --help to see every option.`);
  }
  const { values } = parsed;
  if (values.help) return { kind: 'help', text: helpText() };

  const raw: Record<string, string> = {};
  for (const setting of SETTINGS) raw[setting.env] = env[setting.env] ?? setting.default;
  // Which values came from a flag: their errors name the flag, not the variable.
  const fromFlag: Record<string, string> = {};
  const fromArgv = (env: string, flag: string, value: string | undefined) => {
    if (value === undefined) return;
    raw[env] = value;
    fromFlag[env] = flag;
  };
  fromArgv('PORT', '--port', values.port);
  fromArgv('HOST', '--host', values.host);
  fromArgv('GRPC_PORT', '--grpc-port', values['grpc-port']);
  if (values['no-grpc']) raw.GRPC_ENABLED = 'false';
  if (values.debug) raw.DEBUG = 'true';
  fromArgv('KEEP_ALIVE_TIMEOUT_MS', '--keep-alive-timeout-ms', values['keep-alive-timeout-ms']);
  fromArgv('HEADERS_TIMEOUT_MS', '--headers-timeout-ms', values['headers-timeout-ms']);
  fromArgv('REQUEST_TIMEOUT_MS', '--request-timeout-ms', values['request-timeout-ms']);
  if (values.workers !== undefined) raw.WEB_CONCURRENCY = values.workers;
  // Debug defaults to pretty logs unless LOG_FORMAT says otherwise.
  if (env.LOG_FORMAT === undefined && /^(true|1|yes)$/i.test(raw.DEBUG ?? '')) raw.LOG_FORMAT = 'console';

  const result = RawConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const env = issue.path.join('.');
      const flag = fromFlag[env];
      return flag ? `  ${flag}: ${issue.message.replace(new RegExp(`\\b${env}\\b`, 'g'), flag)}` : `  ${env}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  // Telemetry reads the platform's own variables (K_SERVICE, OTEL_*, …) as they are.
  const telemetry = selectTelemetry(env, { disabledByFlag: values['no-telemetry'] === true, defaultServiceName: PACKAGE_NAME });
  const config = toServerConfig(result.data);
  // On Kubernetes the endpoint removal races the SIGTERM: keep serving while it propagates.
  if (result.data.SHUTDOWN_DELAY_MS === 'auto') config.shutdownDelayMs = env.KUBERNETES_SERVICE_HOST ? KUBERNETES_SHUTDOWN_DELAY_MS : 0;
  return { kind: 'config', config: { ...config, telemetry } };
}

function toServerConfig(raw: z.infer<typeof RawConfigSchema>): Omit<ServerConfig, 'telemetry'> {
  const apiKey = raw.GEMINI_API_KEY || raw.GOOGLE_API_KEY;
  const model: ModelSettings = apiKey
    ? { kind: 'gemini', apiKey, model: raw.GENKIT_MODEL, ...(raw.GEMINI_BASE_URL ? { baseUrl: raw.GEMINI_BASE_URL } : {}) }
    : { kind: 'offline', latencyMs: raw.OFFLINE_MODEL_LATENCY_MS };
  return {
    port: raw.PORT,
    host: raw.HOST,
    grpcPort: raw.GRPC_ENABLED ? raw.GRPC_PORT : null,
    grpcReflection: raw.GRPC_REFLECTION || raw.DEBUG,
    model,
    maxBodySize: raw.MAX_BODY_SIZE,
    logLevel: raw.LOG_LEVEL,
    debug: raw.DEBUG,
    logFormat: raw.LOG_FORMAT,
    apiKeys: raw.API_KEYS,
    rateLimit: raw.RATE_LIMIT,
    corsAllowedOrigins: raw.CORS_ALLOWED_ORIGINS,
    trustedHosts: raw.TRUSTED_HOSTS,
    trustProxy: raw.TRUST_PROXY,
    shutdownGraceMs: raw.SHUTDOWN_GRACE_MS,
    shutdownDelayMs: raw.SHUTDOWN_DELAY_MS === 'auto' ? 0 : raw.SHUTDOWN_DELAY_MS,
    http: {
      keepAliveTimeoutMs: raw.KEEP_ALIVE_TIMEOUT_MS,
      headersTimeoutMs: raw.HEADERS_TIMEOUT_MS,
      requestTimeoutMs: raw.REQUEST_TIMEOUT_MS,
      maxConnections: raw.MAX_CONNECTIONS,
      maxConnectionsPerIp: raw.MAX_CONNECTIONS_PER_IP,
    },
    grpcLimits: {
      maxConcurrentStreams: raw.GRPC_MAX_CONCURRENT_STREAMS,
      maxConnectionAgeMs: raw.GRPC_MAX_CONNECTION_AGE_MS,
      maxConnectionAgeGraceMs: raw.SHUTDOWN_GRACE_MS,
      maxConnectionIdleMs: raw.GRPC_MAX_CONNECTION_IDLE_MS,
      maxSessionMemoryMb: raw.GRPC_MAX_SESSION_MEMORY_MB,
      maxConnections: raw.MAX_CONNECTIONS,
      maxConnectionsPerIp: raw.MAX_CONNECTIONS_PER_IP,
      maxResetsPerSecond: raw.GRPC_MAX_RESETS_PER_SECOND,
      resetPenaltyMs: raw.GRPC_RESET_PENALTY_MS,
    },
    maxConcurrentStreams: raw.MAX_CONCURRENT_STREAMS,
    apiDocs: raw.API_DOCS || raw.DEBUG,
    resilience: {
      timeoutMs: raw.LLM_TIMEOUT_MS,
      maxRetries: raw.LLM_MAX_RETRIES,
      retryBaseDelayMs: DEFAULT_RESILIENCE.retryBaseDelayMs,
      breaker: { enabled: raw.CB_ENABLED, failureThreshold: raw.CB_FAILURE_THRESHOLD, recoveryTimeoutMs: raw.CB_RECOVERY_TIMEOUT_MS },
    },
    cache: raw.CACHE_ENABLED ? { ttlMs: raw.CACHE_TTL_MS, maxEntries: raw.CACHE_MAX_ENTRIES } : null,
    workers: raw.WEB_CONCURRENCY,
    redis: raw.REDIS_URL
      ? {
          url: raw.REDIS_URL,
          commandTimeoutMs: raw.REDIS_COMMAND_TIMEOUT_MS,
          keyPrefix: raw.REDIS_KEY_PREFIX,
          maxCacheEntryBytes: raw.CACHE_MAX_ENTRY_BYTES,
        }
      : null,
    streamTtlMs: raw.STREAM_TTL_MS,
  };
}

/** Width of --help: descriptions wrap so that no line is longer. */
const HELP_WIDTH = 100;

export function helpText(): string {
  const rows: [string, string][] = [
    ['-h, --help', 'Show this help and exit.'],
    ...SETTINGS.map((s): [string, string] => ['flag' in s ? `${s.flag}, ${s.env}` : s.env, `${s.help}${s.default ? ` (default: ${s.default})` : ''}`]),
  ];
  // One column for every name, however long, and descriptions wrapped under themselves.
  const nameWidth = Math.max(...rows.map(([name]) => name.length));
  const indent = 2 + nameWidth + 2;
  const lines = rows.flatMap(([name, help]) =>
    wrap(help, HELP_WIDTH - indent).map((line, i) => (i === 0 ? `  ${name.padEnd(nameWidth)}  ${line}` : `${' '.repeat(indent)}${line}`)),
  );
  return [
    'Usage: npm start -- [options]      (production: node dist/main.js [options])',
    '',
    'Serves every Genkit flow over REST (Genkit flow-server protocol) and gRPC (genkit.flows.v1.FlowService).',
    'Without a Gemini API key the built-in offline model answers.',
    '',
    'Options and environment variables (flags win over the environment):',
    ...lines,
  ].join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}
