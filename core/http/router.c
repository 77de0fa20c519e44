/* router.c: matching a method and path against the route table. */
#include <string.h>
#include <strings.h>

#include "http/http.h"

static const char *const method_names[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };

unsigned rd_method_parse(const char *s, size_t len)
{
	for (unsigned i = 0; i < sizeof method_names / sizeof *method_names; i++)
		if (strlen(method_names[i]) == len && memcmp(method_names[i], s, len) == 0)
			return 1u << i;
	return 0;
}

size_t rd_methods_format(unsigned methods, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < sizeof method_names / sizeof *method_names; i++) {
		if (!(methods & (1u << i)))
			continue;
		size_t need = strlen(method_names[i]) + (n ? 2 : 0);
		if (n + need + 1 > cap)
			break;
		if (n) {
			memcpy(buf + n, ", ", 2);
			n += 2;
		}
		memcpy(buf + n, method_names[i], strlen(method_names[i]));
		n += strlen(method_names[i]);
		buf[n] = 0;
	}
	return n;
}

/* Walks pattern and path segment by segment. */
static bool match(const char *pat, const char *path, size_t path_len, struct rd_param *params, size_t *np)
{
	const char *p = path, *end = path + path_len;
	size_t n = 0;
	while (*pat) {
		if (p >= end || *pat != '/' || *p != '/')
			return false;
		pat++;
		p++;
		const char *pseg_end = strchr(pat, '/');
		if (!pseg_end)
			pseg_end = pat + strlen(pat);
		const char *seg_end = memchr(p, '/', (size_t)(end - p));
		if (!seg_end)
			seg_end = end;
		size_t plen = (size_t)(pseg_end - pat), slen = (size_t)(seg_end - p);
		if (plen >= 2 && pat[0] == '{' && pat[plen - 1] == '}') {
			if (slen == 0 || n == RD_MAX_PARAMS)
				return false;
			params[n++] = (struct rd_param){ pat + 1, plen - 2, p, slen };
		} else if (plen != slen || memcmp(pat, p, plen) != 0) {
			return false;
		}
		pat = pseg_end;
		p = seg_end;
	}
	if (p != end)
		return false;
	*np = n;
	return true;
}

const struct rd_route *rd_route_match(const struct rd_route *routes, size_t n, unsigned method, const char *path,
				      size_t path_len, struct rd_param *params, size_t *n_params, unsigned *allowed)
{
	*allowed = 0;
	*n_params = 0;
	const struct rd_route *found = NULL;
	for (size_t i = 0; i < n; i++) {
		struct rd_param tmp[RD_MAX_PARAMS];
		size_t nt;
		if (!match(routes[i].pattern, path, path_len, tmp, &nt))
			continue;
		unsigned m = routes[i].method;
		if (m == RD_GET)
			m |= RD_HEAD; /* every GET route answers HEAD */
		*allowed |= m;
		if (!found && (m & method)) {
			found = &routes[i];
			memcpy(params, tmp, nt * sizeof *tmp);
			*n_params = nt;
		}
	}
	return found;
}
