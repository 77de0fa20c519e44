/* netblock.h: IP addresses and address blocks (CIDR), IPv4 and IPv6, for
 * the trusted proxies (config trusted_proxies, http/server.c) and the
 * client keys of the limiters. */
#ifndef RD_UTIL_NETBLOCK_H
#define RD_UTIL_NETBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address as 16 bytes (IPv4 as an IPv4-mapped IPv6 address). */
struct rd_ip {
	uint8_t b[16];
};

struct rd_netblock {
	struct rd_ip ip; /* its host bits zero */
	unsigned bits;   /* prefix length over the 16 bytes (IPv4: 96 + its own) */
};

#define RD_NETBLOCKS_MAX 32

/* An address literal ("192.0.2.7", "2001:db8::1"; surrounding spaces
 * aside): 0, or RD_EINVAL. */
int rd_ip_parse(const char *s, size_t len, struct rd_ip *out);
/* Writes the address as inet_ntop does (IPv4 dotted for a mapped one). */
void rd_ip_format(const struct rd_ip *ip, char *out, size_t cap);
/* The key a limiter counts the address under: an IPv4 address as is, an
 * IPv6 address by its /64 (one subscriber's usual share), e.g.
 * "2001:db8:1:2::/64". */
void rd_ip_client_key(const struct rd_ip *ip, char *out, size_t cap);

/* A comma-separated list of addresses and blocks ("10.0.0.0/8,
 * 2001:db8::/32, 192.0.2.7"); at most RD_NETBLOCKS_MAX.  0 with *n set, or
 * RD_EINVAL with why naming the entry at fault. */
int rd_netblocks_parse(const char *list, struct rd_netblock *out, size_t *n, char *why, size_t whylen);
bool rd_netblocks_match(const struct rd_netblock *blocks, size_t n, const struct rd_ip *ip);

#endif
