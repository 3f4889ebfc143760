import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import ipaddr from 'ipaddr.js';

/** Express's compiled 'trust proxy' setting: may `address`, `hop` hops from us, be believed about the next one? */
type TrustFn = (address: string, hop: number) => boolean;

/**
 * Settles `req.ip` once per request, for everything downstream (rate
 * limiter, access log, server span). Express would take whatever text the
 * first untrusted X-Forwarded-For entry holds ("not-an-ip", 7 KB of "a"):
 * logged verbatim and a fresh rate-limit budget per string. Here the chain is
 * walked from the socket outwards like proxy-addr does (same TRUST_PROXY
 * semantics: true, hop count, proxy IPs/CIDRs), but an entry is believed only
 * if it is a valid IP address; the first one that is not stops the walk, and
 * the client is the last valid address on the trusted chain (the socket
 * address when the nearest entry is already bad).
 */
export const clientIp: RequestHandler = (req, _res, next) => {
  const trust = req.app.get('trust proxy fn') as TrustFn;
  const ip = resolveClientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trust);
  Object.defineProperty(req, 'ip', { value: ip, configurable: true, enumerable: true });
  next();
};

export function resolveClientIp(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trust: TrustFn): string | undefined {
  if (!socketAddress || forwardedFor === undefined) return socketAddress;
  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let client = socketAddress;
  for (let hop = 0; hop < entries.length; hop++) {
    if (!trust(client, hop)) break;
    const claimed = entries[entries.length - 1 - hop]!.trim();
    if (isIP(claimed) === 0) break;
    // One spelling per address (::ffff:1.2.3.4 → 1.2.3.4, IPv6 compressed), so one budget per address.
    client = ipaddr.process(claimed).toString();
  }
  return client;
}
