/* netblock.c: IP addresses and address blocks (netblock.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/netblock.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool is_v4(const struct rd_ip *ip)
{
	return memcmp(ip->b, v4mapped, 12) == 0;
}

int rd_ip_parse(const char *s, size_t len, struct rd_ip *out)
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	char buf[INET6_ADDRSTRLEN + 1];
	if (!len || len >= sizeof buf)
		return RD_EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	struct in_addr a4;
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		memcpy(out->b, v4mapped, 12);
		memcpy(out->b + 12, &a4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, buf, out->b) == 1 ? 0 : RD_EINVAL;
}

void rd_ip_format(const struct rd_ip *ip, char *out, size_t cap)
{
	char buf[INET6_ADDRSTRLEN];
	if (!(is_v4(ip) ? inet_ntop(AF_INET, ip->b + 12, buf, sizeof buf) : inet_ntop(AF_INET6, ip->b, buf, sizeof buf)))
		buf[0] = 0;
	snprintf(out, cap, "%s", buf);
}

void rd_ip_client_key(const struct rd_ip *ip, char *out, size_t cap)
{
	if (is_v4(ip)) {
		rd_ip_format(ip, out, cap);
		return;
	}
	struct rd_ip net = *ip;
	memset(net.b + 8, 0, 8);
	char buf[INET6_ADDRSTRLEN];
	rd_ip_format(&net, buf, sizeof buf);
	snprintf(out, cap, "%s/64", buf);
}

static void mask(struct rd_ip *ip, unsigned bits)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = bits > 8 * i ? bits - 8 * i : 0;
		if (keep < 8)
			ip->b[i] &= (uint8_t)(0xff00u >> keep);
	}
}

int rd_netblocks_parse(const char *list, struct rd_netblock *out, size_t *n, char *why, size_t whylen)
{
	*n = 0;
	for (const char *p = list && *list ? list : NULL; p;) { /* "": none; else every entry, empty ones too */
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *slash = memchr(p, '/', len);
		size_t alen = slash ? (size_t)(slash - p) : len;
		struct rd_netblock b;
		bool ok = rd_ip_parse(p, alen, &b.ip) == 0;
		unsigned max = ok && is_v4(&b.ip) ? 32 : 128;
		b.bits = max;
		if (ok && slash) {
			const char *d = slash + 1, *e = p + len;
			while (d < e && (*d == ' ' || *d == '\t'))
				d++;
			while (e > d && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			unsigned v = 0;
			ok = d < e && e - d <= 3;
			for (const char *q = d; ok && q < e; q++) {
				ok = *q >= '0' && *q <= '9';
				v = v * 10 + (unsigned)(*q - '0');
			}
			ok = ok && v <= max;
			b.bits = v;
		}
		if (!ok) {
			snprintf(why, whylen, "\"%.*s\" is not an IP address or an address block (ADDRESS/BITS)", (int)(len > 60 ? 60 : len), p);
			return RD_EINVAL;
		}
		if (*n == RD_NETBLOCKS_MAX) {
			snprintf(why, whylen, "more than %d addresses or blocks", RD_NETBLOCKS_MAX);
			return RD_EINVAL;
		}
		if (max == 32)
			b.bits += 96;
		mask(&b.ip, b.bits);
		out[(*n)++] = b;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

bool rd_netblocks_match(const struct rd_netblock *blocks, size_t n, const struct rd_ip *ip)
{
	for (size_t i = 0; i < n; i++) {
		struct rd_ip x = *ip;
		mask(&x, blocks[i].bits);
		if (memcmp(x.b, blocks[i].ip.b, 16) == 0)
			return true;
	}
	return false;
}
