/* err.h: rd_strerror and the two assertion tiers. */
#ifndef RD_UTIL_ERR_H
#define RD_UTIL_ERR_H

#include <stdbool.h>
#include <renewd/errors.h>

/* One sentence for any renewd result code or negated errno.  Never NULL;
 * the string is static. */
const char *rd_strerror(int err);

/* A broken invariant that makes continuing unsafe: log and abort. */
#define rd_require(expr)                                                    \
	do {                                                                    \
		if (!(expr))                                                        \
			rd_fail_require(#expr, __FILE__, __LINE__);                     \
	} while (0)

/* A broken invariant the caller can recover from: logs once and returns
 * true, so it reads `if (rd_fails_assert(x)) return RD_EINTERNAL;`. */
#define rd_fails_assert(expr) ((expr) ? false : rd_log_assert(#expr, __FILE__, __LINE__))

_Noreturn void rd_fail_require(const char *expr, const char *file, int line);
bool rd_log_assert(const char *expr, const char *file, int line) __attribute__((warn_unused_result));

/* Allocation that aborts on out-of-memory, as h2o's allocator does. */
void *rd_malloc(size_t n);
void *rd_calloc(size_t n, size_t size);
void *rd_realloc(void *p, size_t n);
char *rd_strdup(const char *s);

/* src into dst[cap], cut at cap - 1 bytes and ended with a NUL, as
 * snprintf(dst, cap, "%s", src) writes it without parsing a format (a NULL
 * src copies as ""). Nothing is written when cap is 0. */
void rd_strcopy(char *dst, size_t cap, const char *src);

/* s made UTF-8 in place, for text a cut may have split (an audit note's
 * "%.150s" of a person's words): a sequence cut short at the end is dropped,
 * any other byte that is not UTF-8 becomes '?'.  Valid UTF-8 is untouched. */
void rd_utf8_mend(char *s);

#endif
