import { createRequire } from 'node:module';
import type * as RateLimiterFlexible from 'rate-limiter-flexible';

/**
 * The four rate-limiter-flexible classes the server uses, each required from
 * its own file. The package's index requires all of its ≈25 back ends (Mongo,
 * MySQL, Postgres, Dynamo, etc.), 38 files and ≈20 ms of every cold start;
 * these four cost about half of that. The package has no `exports` map, so
 * its `lib/` files are public paths; the types still come from the package's
 * own declarations.
 */

const require = createRequire(import.meta.url);

export const RateLimiterMemory: typeof RateLimiterFlexible.RateLimiterMemory = require('rate-limiter-flexible/lib/RateLimiterMemory.js');
export const RateLimiterRedis: typeof RateLimiterFlexible.RateLimiterRedis = require('rate-limiter-flexible/lib/RateLimiterRedis.js');
export const RateLimiterRes: typeof RateLimiterFlexible.RateLimiterRes = require('rate-limiter-flexible/lib/RateLimiterRes.js');
export const RateLimiterCluster: typeof RateLimiterFlexible.RateLimiterCluster = (
  require('rate-limiter-flexible/lib/RateLimiterCluster.js') as typeof RateLimiterFlexible
).RateLimiterCluster;
export type RateLimiterRes = RateLimiterFlexible.RateLimiterRes;
export type RateLimiterAbstract = RateLimiterFlexible.RateLimiterAbstract;
