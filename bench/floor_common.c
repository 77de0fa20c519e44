/*
 * floor_common.c: the set-up bench/append_floor.c and bench/lookup_floor.c
 * share (floor_common.h).
 */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floor_common.h"

void floor_die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s: %s\n", floor_prog, what, rc ? mdb_strerror(rc) : "failed");
	exit(1);
}

void *floor_realloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		fprintf(stderr, "%s: out of memory\n", floor_prog);
		exit(1);
	}
	return q;
}

MDB_env *floor_open_store(const char *dir)
{
	MDB_env *env;
	int rc;
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 512)) ||
	    (rc = mdb_env_set_mapsize(env, (size_t)64 << 30)) || (rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK, 0644)))
		floor_die("open the store", rc);
	return env;
}

void floor_parse_csv(const char *path, void (*on_field)(void *, size_t, void *), void (*on_row)(int, void *),
		     void *arg)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s: cannot open\n", floor_prog, path);
		exit(1);
	}
	struct csv_parser p;
	csv_init(&p, CSV_APPEND_NULL);
	static char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if (csv_parse(&p, buf, n, on_field, on_row, arg) != n) {
			fprintf(stderr, "%s: %s\n", floor_prog, csv_strerror(csv_error(&p)));
			exit(1);
		}
	if (ferror(f)) {
		fprintf(stderr, "%s: %s: read error\n", floor_prog, path);
		exit(1);
	}
	csv_fini(&p, on_field, on_row, arg);
	csv_free(&p);
	fclose(f);
}

static double secs(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void floor_start(struct floor_clock *c)
{
	c->wall = secs(CLOCK_MONOTONIC);
	c->cpu = secs(CLOCK_PROCESS_CPUTIME_ID);
}

void floor_stop(struct floor_clock *c)
{
	c->wall = secs(CLOCK_MONOTONIC) - c->wall;
	c->cpu = secs(CLOCK_PROCESS_CPUTIME_ID) - c->cpu;
}

void floor_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t floor_get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
