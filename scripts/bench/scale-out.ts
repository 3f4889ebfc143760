import { LRUCache } from 'lru-cache';
import pino from 'pino';
import { TellJokeRequest } from '../../generated/ts/genkit/flows/v1/flows.js';
import { parseCli } from '../../server/config.js';
import { createRateLimiter } from '../../server/rate-limiter.js';
import { redisCacheStore } from '../../server/redis/cache-store.js';
import { connectRedis } from '../../server/redis/connection.js';
import { redisUnavailableReason, startRedis } from '../../tests/support/redis-server.js';
import { grpcFrame, grpcLoad, h2loadAvailable, median, restLoad, type LoadResult } from './load.js';
import { startOurServer } from './processes.js';

/**
 * `npm run bench -- --scale-out`: issue 16's numbers, as ratios measured side by side in one run.
 * 1. Throughput of WEB_CONCURRENCY=2 vs 1 (REST and gRPC, c=64): two servers, load alternated per round.
 * 2. Per-call cost of the Redis-backed limiter and shared cache vs in-memory: sequential
 *    calls in this process against a local redis-server, rounds alternated (µs per call).
 */

export interface BenchSink {
  rounds: number;
  seconds: number;
  rows: string[][];
  summary: Record<string, number | null>;
  log: (line: string) => void;
}

const JOKE = JSON.stringify({ data: { name: 'Ada' } });
const FRAME = grpcFrame(TellJokeRequest.encode({ name: 'Ada' }).finish());
const C = 64;

export async function scaleOutBench(sink: BenchSink): Promise<void> {
  await workersThroughput(sink);
  await redisPerCallCost(sink);
}

async function workersThroughput(sink: BenchSink): Promise<void> {
  const [two, one] = await Promise.all([startOurServer({ WEB_CONCURRENCY: '2' }), startOurServer({ WEB_CONCURRENCY: '1' })]);
  try {
    // The second worker may print its ports a moment after the first.
    await new Promise((r) => setTimeout(r, 2000));
    const surfaces: [string, (port: Record<string, number>, seconds?: number) => Promise<LoadResult>][] = [
      ['REST', (ports, seconds = sink.seconds) => restLoad(`http://127.0.0.1:${ports.rest}/tellJoke`, JOKE, C, seconds)],
    ];
    if (await h2loadAvailable()) {
      surfaces.push([
        'gRPC',
        (ports, seconds = sink.seconds) => grpcLoad(`http://127.0.0.1:${ports.grpc}/genkit.flows.v1.FlowService/TellJoke`, FRAME, C, seconds),
      ]);
    } else sink.log('h2load not found: gRPC workers case skipped (apt-get install nghttp2-client)');
    for (const [name, load] of surfaces) {
      await load(two.ports, 1);
      await load(one.ports, 1);
      const ratios: number[] = [];
      const rps: [number, number][] = [];
      for (let round = 0; round < sink.rounds; round++) {
        const order = round % 2 === 0 ? [two, one] : [one, two];
        const results = new Map<unknown, LoadResult>();
        for (const server of order) results.set(server, await load(server.ports));
        const a = results.get(two)!.rps;
        const b = results.get(one)!.rps;
        rps.push([a, b]);
        ratios.push(a / b);
      }
      const ratio = median(ratios);
      sink.rows.push([
        `${name} c=${C} workers 2 vs 1`,
        `2 workers ${Math.round(median(rps.map(([a]) => a)))}/s`,
        `1 worker ${Math.round(median(rps.map(([, b]) => b)))}/s`,
        `ratio ${ratio.toFixed(2)} (spread ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
      ]);
      sink.summary[`workers2_vs_1_${name.toLowerCase()}_c64`] = Math.round(ratio * 100) / 100;
    }
  } finally {
    await Promise.all([two.stop(), one.stop()]);
  }
}

async function redisPerCallCost(sink: BenchSink): Promise<void> {
  const reason = redisUnavailableReason();
  if (reason) {
    sink.log(`${reason}: Redis per-call cost skipped`);
    return;
  }
  const redis = await startRedis();
  const cli = parseCli([], { REDIS_URL: redis.url, RATE_LIMIT: '1000000000/hour' });
  if (cli.kind !== 'config' || !cli.config.redis) throw new Error('unexpected config');
  const logger = pino({ level: 'silent' });
  const connection = connectRedis(cli.config.redis, logger);
  try {
    while (!connection.isUp()) await new Promise((r) => setTimeout(r, 20));
    const onRedis = createRateLimiter(cli.config.rateLimit, { redis: connection });
    const inMemory = createRateLimiter(cli.config.rateLimit);
    const shared = redisCacheStore(connection, logger);
    const local = new LRUCache<string, { value: unknown }>({ max: 1024, ttl: 300_000 });
    const value = { translation: 'Bonjour tout le monde', detectedLanguage: 'English' };
    await shared.set('bench:key', value, 300_000);
    local.set('bench:key', { value });
    const calls = 2000;
    const perCall = async (fn: () => Promise<unknown>) => {
      const started = performance.now();
      for (let i = 0; i < calls; i++) await fn();
      return ((performance.now() - started) * 1000) / calls;
    };
    const cases: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      ['rate limiter take()', () => onRedis.take('203.0.113.9'), () => inMemory.take('203.0.113.9')],
      ['shared cache read (hit)', () => shared.get('bench:key'), async () => structuredClone(local.get('bench:key'))],
    ];
    for (const [name, redisCall, memoryCall] of cases) {
      await perCall(redisCall);
      await perCall(memoryCall);
      const pairs: [number, number][] = [];
      for (let round = 0; round < sink.rounds; round++) {
        if (round % 2 === 0) {
          const r = await perCall(redisCall);
          pairs.push([r, await perCall(memoryCall)]);
        } else {
          const m = await perCall(memoryCall);
          pairs.push([await perCall(redisCall), m]);
        }
      }
      const redisUs = median(pairs.map(([r]) => r));
      const memoryUs = median(pairs.map(([, m]) => m));
      const ratios = pairs.map(([r, m]) => r / m);
      sink.rows.push([
        `${name}: Redis vs memory`,
        `Redis ${redisUs.toFixed(1)} µs/call`,
        `memory ${memoryUs.toFixed(1)} µs/call`,
        `+${(redisUs - memoryUs).toFixed(1)} µs per call (×${median(ratios).toFixed(1)}, spread ×${Math.min(...ratios).toFixed(1)}–×${Math.max(...ratios).toFixed(1)})`,
      ]);
      const key = name.startsWith('rate') ? 'redis_limiter' : 'redis_cache_read';
      sink.summary[`${key}_us_per_call`] = Math.round(redisUs * 10) / 10;
      sink.summary[`${key}_extra_us_vs_memory`] = Math.round((redisUs - memoryUs) * 10) / 10;
    }
  } finally {
    await connection.close();
    await redis.close();
  }
}
