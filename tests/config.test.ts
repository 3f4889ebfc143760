import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, DEFAULT_GEMINI_MODEL, parseCli, SETTINGS } from '../server/config.js';

const run = promisify(execFile);
const TSX = 'node_modules/.bin/tsx';

function config(argv: string[], env: Record<string, string> = {}) {
  const result = parseCli(argv, env);
  assert.equal(result.kind, 'config');
  return result.config;
}

describe('parseCli()', () => {
  it('uses the documented defaults with an empty environment', () => {
    assert.deepEqual(config([]), {
      port: 8080,
      host: '0.0.0.0',
      grpcPort: 50051,
      grpcReflection: false,
      model: { kind: 'offline', latencyMs: 0 },
      maxBodySize: 1048576,
      logLevel: 'info',
      debug: false,
      logFormat: 'json',
      apiKeys: [],
      rateLimit: { points: 60, durationSeconds: 60 },
      corsAllowedOrigins: [],
      trustedHosts: [],
      trustProxy: false,
      shutdownGraceMs: 10000,
      shutdownDelayMs: 0,
      http: { keepAliveTimeoutMs: 65000, headersTimeoutMs: 66000, requestTimeoutMs: 66000, maxConnections: 4096, maxConnectionsPerIp: 0 },
      grpcLimits: {
        maxConcurrentStreams: 1000,
        maxConnectionAgeMs: 0,
        maxConnectionAgeGraceMs: 10000,
        maxConnectionIdleMs: 300000,
        maxSessionMemoryMb: 64,
        maxConnections: 4096,
        maxConnectionsPerIp: 0,
        maxResetsPerSecond: 200,
        resetPenaltyMs: 10000,
      },
      maxConcurrentStreams: 1500,
      telemetry: { export: { kind: 'none' }, reason: 'no exporter is configured', serviceName: 'genkit-flow-gateway', warnings: [] },
      apiDocs: false,
      resilience: {
        timeoutMs: 120000,
        maxRetries: 2,
        retryBaseDelayMs: 250,
        breaker: { enabled: true, failureThreshold: 5, recoveryTimeoutMs: 30000 },
      },
      cache: { ttlMs: 300000, maxEntries: 1024 },
      workers: 1,
      redis: null,
      streamTtlMs: 300000,
    });
  });

  it('parses the scale-out settings: workers (flag wins, auto = cores) and Redis', async () => {
    const { availableParallelism } = await import('node:os');
    assert.equal(config(['--workers', '3'], { WEB_CONCURRENCY: '2' }).workers, 3);
    assert.equal(config([], { WEB_CONCURRENCY: 'auto' }).workers, availableParallelism());
    assert.throws(() => parseCli([], { WEB_CONCURRENCY: '0' }), /WEB_CONCURRENCY must be auto or a whole number/);
    assert.throws(() => parseCli([], { REDIS_URL: 'http://cache:6379' }), /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    assert.deepEqual(config([], { REDIS_URL: 'rediss://:pw@cache:6380/1', STREAM_TTL_MS: '60000' }).redis, {
      url: 'rediss://:pw@cache:6380/1',
      commandTimeoutMs: 250,
      keyPrefix: 'genkit-gateway:',
      maxCacheEntryBytes: 262144,
    });
  });

  it('sets the HTTP timeouts from flags or the environment, and refuses headers > request timeout', () => {
    const c = config(['--keep-alive-timeout-ms', '70000', '--headers-timeout-ms', '71000'], { REQUEST_TIMEOUT_MS: '90000' });
    assert.deepEqual([c.http.keepAliveTimeoutMs, c.http.headersTimeoutMs, c.http.requestTimeoutMs], [70000, 71000, 90000]);
    assert.throws(() => config([], { HEADERS_TIMEOUT_MS: '70000', REQUEST_TIMEOUT_MS: '60000' }), /HEADERS_TIMEOUT_MS must be ≤ REQUEST_TIMEOUT_MS/);
    assert.throws(() => config(['--request-timeout-ms', '1e5']), /^ConfigError: Invalid configuration:\n {2}--request-timeout-ms: --request-timeout-ms must be a whole number ≥ 1 in digits \(got "1e5"\)$/);
  });

  it('SHUTDOWN_DELAY_MS=auto drains 5 s on Kubernetes and not elsewhere; a number wins', () => {
    assert.equal(config([], { KUBERNETES_SERVICE_HOST: '10.0.0.1' }).shutdownDelayMs, 5000);
    assert.equal(config([], {}).shutdownDelayMs, 0);
    assert.equal(config([], { KUBERNETES_SERVICE_HOST: '10.0.0.1', SHUTDOWN_DELAY_MS: '0' }).shutdownDelayMs, 0);
  });

  it('turns the breaker and the cache off', () => {
    const c = config([], { CB_ENABLED: 'false', CACHE_ENABLED: 'false', LLM_MAX_RETRIES: '0', LLM_TIMEOUT_MS: '500' });
    assert.equal(c.resilience.breaker.enabled, false);
    assert.equal(c.resilience.maxRetries, 0);
    assert.equal(c.resilience.timeoutMs, 500);
    assert.equal(c.cache, null);
  });

  it('parses API keys, rate limits, lists and trust proxy', () => {
    const c = config([], {
      API_KEYS: 'alice:k-1, k-2',
      RATE_LIMIT: '3/second',
      CORS_ALLOWED_ORIGINS: 'https://a.example, http://localhost:3000',
      TRUSTED_HOSTS: 'api.example.com,localhost',
      TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
    });
    assert.deepEqual(c.apiKeys, [
      { name: 'alice', key: 'k-1' },
      { name: 'key-2', key: 'k-2' },
    ]);
    assert.deepEqual(c.rateLimit, { points: 3, durationSeconds: 1 });
    assert.deepEqual(c.corsAllowedOrigins, ['https://a.example', 'http://localhost:3000']);
    assert.deepEqual(c.trustedHosts, ['api.example.com', 'localhost']);
    assert.deepEqual(c.trustProxy, ['10.0.0.0/8', '127.0.0.1']);
    assert.equal(config([], { TRUST_PROXY: '1' }).trustProxy, 1);
    assert.equal(config([], { DEBUG: 'true' }).logFormat, 'console');
    assert.equal(config([], { DEBUG: 'true', LOG_FORMAT: 'json' }).logFormat, 'json');
  });

  it('selects Gemini when GEMINI_API_KEY is set, with GENKIT_MODEL and GEMINI_BASE_URL', () => {
    assert.deepEqual(config([], { GEMINI_API_KEY: 'k1', GEMINI_BASE_URL: 'http://127.0.0.1:9/' }).model, {
      kind: 'gemini',
      apiKey: 'k1',
      model: DEFAULT_GEMINI_MODEL,
      baseUrl: 'http://127.0.0.1:9/',
    });
    assert.deepEqual(config([], { GOOGLE_API_KEY: 'k2', GENKIT_MODEL: 'googleai/gemini-2.5-pro' }).model, {
      kind: 'gemini',
      apiKey: 'k2',
      model: 'googleai/gemini-2.5-pro',
    });
  });

  it('turns gRPC off with --no-grpc or GRPC_ENABLED=false, and reflection on with DEBUG', () => {
    assert.equal(config(['--no-grpc']).grpcPort, null);
    assert.equal(config([], { GRPC_ENABLED: 'false' }).grpcPort, null);
    assert.equal(config(['--grpc-port', '6000']).grpcPort, 6000);
    assert.equal(config([], { DEBUG: 'true' }).grpcReflection, true);
    assert.equal(config([], { GRPC_REFLECTION: 'true' }).grpcReflection, true);
  });

  it('lets flags win over the environment', () => {
    const c = config(['--port', '9001', '--host', '127.0.0.1', '--debug'], { PORT: '7000', HOST: '0.0.0.0' });
    assert.equal(c.port, 9001);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.debug, true);
  });

  it('rejects a bad value with a message naming the variable', () => {
    assert.throws(() => parseCli([], { PORT: 'eighty' }), (e: unknown) => e instanceof ConfigError && /PORT/.test(e.message));
    assert.throws(() => parseCli([], { PORT: '70000' }), /PORT must be 0\.\.65535/);
    assert.throws(() => parseCli([], { MAX_BODY_SIZE: '0' }), /MAX_BODY_SIZE must be a size ≥ 1 byte/);
    assert.throws(() => parseCli([], { DEBUG: 'maybe' }), /DEBUG must be true or false/);
    assert.throws(() => parseCli([], { GEMINI_BASE_URL: 'not a url' }), /GEMINI_BASE_URL must be a URL/);
    assert.throws(() => parseCli(['--nope'], {}), /Unknown option '--nope'/);
    assert.throws(() => parseCli([], { RATE_LIMIT: '10 per minute' }), /RATE_LIMIT must look like 60\/minute/);
    assert.throws(() => parseCli([], { RATE_LIMIT: '0/minute' }), /RATE_LIMIT/);
    assert.throws(() => parseCli([], { CORS_ALLOWED_ORIGINS: 'not-an-origin' }), /CORS_ALLOWED_ORIGINS/);
    assert.throws(() => parseCli([], { LOG_FORMAT: 'xml' }), /LOG_FORMAT must be json or console/);
  });
});

describe('README configuration table', () => {
  it('lists every setting with its flag and default', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const setting of SETTINGS) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${setting.env}\` |`));
      assert.ok(row, `README has a row for ${setting.env}`);
      if ('flag' in setting) assert.ok(row.includes(`\`${setting.flag}\``), `${setting.env} row names ${setting.flag}`);
      if (setting.default) assert.ok(row.includes(`\`${setting.default}\``), `${setting.env} row shows default ${setting.default}`);
    }
  });
});

describe('npm start -- --help', () => {
  it('documents every flag and environment variable, and exits 0', async () => {
    const { stdout } = await run(TSX, ['main.ts', '--help']);
    for (const setting of SETTINGS) {
      assert.ok(stdout.includes(setting.env), `--help mentions ${setting.env}`);
      if ('flag' in setting) assert.ok(stdout.includes(setting.flag), `--help mentions ${setting.flag}`);
    }
  });

  it('exits 2 with the reason on a bad setting', async () => {
    await assert.rejects(run(TSX, ['main.ts'], { env: { ...process.env, PORT: 'x' } }), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.match(String(e.stderr), /PORT must be a whole number/);
      return true;
    });
  });
});
