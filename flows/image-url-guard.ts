import { lookup } from 'node:dns/promises';
import { GenkitError } from 'genkit';
import ipaddr from 'ipaddr.js';
import { isGlobalUnicast } from './global-address.js';

/**
 * SSRF guard for image URLs handed to the model. Gemini fetches URLs from
 * Google's side, but other model plugins (and Genkit's media download
 * middleware) fetch from this server, so, as defence in depth, only public
 * https URLs (http in debug) and small data: image URLs pass.
 */

export interface ImageUrlPolicy {
  /** Accept http: as well as https: (debug only). */
  allowHttp: boolean;
  /** Largest data: URL accepted, in bytes. */
  maxDataUrlBytes: number;
  /** Resolves a host name to its addresses; the system resolver by default. */
  resolve?: (host: string) => Promise<string[]>;
  /** How long to wait for DNS before passing the name on. */
  dnsTimeoutMs?: number;
}

const BLOCKED_NAMES = /^(localhost|.*\.localhost|metadata\.google\.internal|metadata|instance-data)$/i;

export async function checkImageUrl(url: string, policy: ImageUrlPolicy): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw rejected('imageUrl is not a valid URL.');
  }
  if (parsed.protocol === 'data:') {
    if (!/^data:image\/[a-z0-9.+-]+[;,]/i.test(url)) throw rejected('imageUrl: only data:image/* URLs are accepted.');
    if (Buffer.byteLength(url) > policy.maxDataUrlBytes) throw rejected(`imageUrl: data: URL exceeds ${policy.maxDataUrlBytes} bytes.`);
    return;
  }
  if (parsed.protocol !== 'https:' && !(policy.allowHttp && parsed.protocol === 'http:')) {
    throw rejected(`imageUrl must use https${policy.allowHttp ? ' or http' : ''}.`);
  }
  // WHATWG URL parsing already turned decimal, octal and hex IPv4 forms into dotted quads.
  // `vm.` and `vm` are the same host; without the dot the resolver also finds /etc/hosts entries.
  const host = parsed.hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '');
  if (!host) throw rejected('imageUrl has no host.');
  if (BLOCKED_NAMES.test(host)) throw rejected('imageUrl points to a local or metadata host.');
  if (ipaddr.isValid(host)) {
    if (isBlockedAddress(host)) throw rejected('imageUrl points to a private, loopback, link-local or metadata address.');
    return;
  }
  const addresses = await resolveWithin(host, policy);
  if (addresses.some(isBlockedAddress)) throw rejected('imageUrl resolves to a private, loopback, link-local or metadata address.');
}

/** Anything but a global unicast address (IPv4 embedded in IPv6 judged as IPv4), see global-address.ts. */
export function isBlockedAddress(address: string): boolean {
  return !isGlobalUnicast(address);
}

/** A name that does not resolve in time is passed on: this server cannot be made to reach it either. */
async function resolveWithin(host: string, policy: ImageUrlPolicy): Promise<string[]> {
  const resolve = policy.resolve ?? (async (name: string) => (await lookup(name, { all: true, verbatim: true })).map((a) => a.address));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((res) => {
    timer = setTimeout(() => res([]), policy.dnsTimeoutMs ?? 1000);
  });
  try {
    return await Promise.race([resolve(host).catch(() => []), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function rejected(message: string): GenkitError {
  return new GenkitError({
    status: 'INVALID_ARGUMENT',
    message: `Invalid input: ${message}`,
    // The AIP-193 field violation (server/error-details.ts): every rejection here is about imageUrl.
    detail: { reason: 'INVALID_INPUT', badRequest: { fieldViolations: [{ field: 'imageUrl', description: message }] } },
  });
}
