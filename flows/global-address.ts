import ipaddr from 'ipaddr.js';

/**
 * Is an IP address one the public internet routes to (global unicast)? The
 * SSRF guard allows only those: an allowlist, so address classes we did not
 * think of (site-local, multicast, documentation, benchmarking, …) are out
 * by default.
 *
 * IPv6 addresses that carry an IPv4 address are judged by the IPv4 address,
 * because a translator or tunnel on the fetcher's network delivers them there:
 * IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96, IPv4-translated
 * ::ffff:0:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16 and Teredo 2001::/32
 * (server and de-obfuscated client). The local-use NAT64 prefix
 * 64:ff9b:1::/48 places the IPv4 bits wherever its operator chose, so it is
 * refused whole (it is never global anyway, RFC 8215).
 */
export function isGlobalUnicast(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv4') return ip.range() === 'unicast';
  const v6 = ip as ipaddr.IPv6;
  const embedded = embeddedIPv4(v6);
  if (embedded === 'refuse') return false;
  if (embedded) return embedded.every((v4) => v4.range() === 'unicast');
  // 2000::/3 is the only block IANA allocates as global unicast; ipaddr.js names the special ranges inside it.
  return (v6.parts[0]! & 0xe000) === 0x2000 && v6.range() === 'unicast';
}

/** The IPv4 address(es) an IPv6 address embeds, null when it embeds none, 'refuse' when the position is unknowable. */
export function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4[] | null | 'refuse' {
  const w = ip.parts;
  const zeros = (from: number, to: number) => w.slice(from, to).every((word) => word === 0);
  const v4 = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  if (zeros(0, 5) && w[5] === 0xffff) return [v4(w[6]!, w[7]!)]; // ::ffff:a.b.c.d (mapped)
  if (zeros(0, 6)) return [v4(w[6]!, w[7]!)]; // ::a.b.c.d (compatible; also :: and ::1)
  if (zeros(0, 4) && w[4] === 0xffff && w[5] === 0) return [v4(w[6]!, w[7]!)]; // ::ffff:0:a.b.c.d (translated)
  if (w[0] === 0x64 && w[1] === 0xff9b) {
    if (zeros(2, 6)) return [v4(w[6]!, w[7]!)]; // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
    if (w[2] === 1) return 'refuse'; // 64:ff9b:1::/48 (local-use NAT64)
  }
  if (w[0] === 0x2002) return [v4(w[1]!, w[2]!)]; // 2002:aabb:ccdd::/48 (6to4)
  if (w[0] === 0x2001 && w[1] === 0) return [v4(w[2]!, w[3]!), v4(~w[6]! & 0xffff, ~w[7]! & 0xffff)]; // Teredo
  return null;
}
