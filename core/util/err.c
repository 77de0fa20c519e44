#include <errno.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

const char *rd_strerror(int err)
{
	switch (err) {
	case RD_OK: return "success";
	case RD_ENOTFOUND: return "not found";
	case RD_EEXISTS: return "already exists";
	case RD_EINVAL: return "invalid input";
	case RD_ECORRUPT: return "stored data is corrupt";
	case RD_EVERSION: return "written by a newer version of renewd";
	case RD_EMAPFULL: return "store map is full";
	case RD_ENOTSTORE: return "not a renewd store";
	case RD_ELOCKED: return "in use by another renewd";
	case RD_ETOOBIG: return "too large";
	case RD_EDECLINED: return "declined";
	case RD_EASYNC: return "answer pending";
	case RD_EINTERNAL: return "internal error";
	case RD_ERANGE: return "out of range";
	case RD_EBUSY: return "busy, try again";
	default: break;
	}
	if (err < 0 && err > RD_EBASE)
		return strerror(-err);
	return "unknown error";
}

_Noreturn void rd_fail_require(const char *expr, const char *file, int line)
{
	rd_log(RD_LOG_ERROR, "assert", "invariant broken: %s at %s:%d", expr, file, line);
	abort();
}

bool rd_log_assert(const char *expr, const char *file, int line)
{
	rd_log(RD_LOG_ERROR, "assert", "check failed: %s at %s:%d", expr, file, line);
	return true;
}

static void oom(size_t n)
{
	rd_log(RD_LOG_ERROR, "memory", "out of memory allocating %zu bytes", n);
	abort();
}

void *rd_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *rd_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *rd_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

void rd_strcopy(char *dst, size_t cap, const char *src)
{
	if (!cap)
		return;
	size_t n = src ? strnlen(src, cap - 1) : 0;
	memcpy(dst, src ? src : "", n);
	dst[n] = 0;
}

/* The length of the UTF-8 sequence at s (1-4), or 0 when it is not one;
 * *cut is set when it is a valid start that the string ends inside. */
static size_t utf8_len(const unsigned char *s, bool *cut)
{
	*cut = false;
	if (s[0] < 0x80)
		return 1;
	size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	for (size_t i = 1; i < n; i++) {
		if (!s[i]) {
			*cut = true;
			return 0;
		}
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	/* no overlong three or four byte forms, no surrogates, nothing past U+10FFFF */
	if ((n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) ||
	    (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))))
		return 0;
	return n;
}

void rd_utf8_mend(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		bool cut;
		size_t n = utf8_len(p, &cut);
		if (n) {
			p += n;
		} else if (cut) {
			*p = 0;
		} else {
			*p++ = '?';
		}
	}
}

char *rd_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = rd_malloc(n);
	memcpy(p, s, n);
	return p;
}
