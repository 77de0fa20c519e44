/*
 * floor_common.h: what bench/append_floor.c and bench/lookup_floor.c share:
 * an LMDB store opened read-only, a CSV file parsed with libcsv, the
 * timed part's wall and CPU seconds, big-endian keys.
 */
#ifndef RD_BENCH_FLOOR_COMMON_H
#define RD_BENCH_FLOOR_COMMON_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/* The program's name in messages ("append_floor"). */
extern const char *floor_prog;

/* "PROG: what: LMDB's message", exit 1. */
void floor_die(const char *what, int rc) __attribute__((noreturn));
void *floor_realloc(void *p, size_t n);

/* DIR's environment, read-only, without the lock file (renewd is stopped). */
MDB_env *floor_open_store(const char *dir);

/* Parses FILE with libcsv (CSV_APPEND_NULL), cells and rows to the
 * callbacks; exits on a read or parse error. */
void floor_parse_csv(const char *path, void (*on_field)(void *, size_t, void *), void (*on_row)(int, void *),
		     void *arg);

/* The timed part: started, then its wall and CPU (this process, user +
 * system) seconds, as "seconds=S cpu=C". */
struct floor_clock { double wall, cpu; };
void floor_start(struct floor_clock *c);
void floor_stop(struct floor_clock *c);

void floor_put_u64(uint8_t *p, uint64_t v);
uint64_t floor_get_u64(const uint8_t *p);

#endif
