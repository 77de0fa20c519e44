/*
 * csv_baseline.c: the floor for the import figure in bench/run.  Parses a
 * CSV with libcsv and appends one value per row (the row's fields joined
 * by NUL bytes, keyed by the big-endian row number) into a fresh LMDB
 * environment with MDB_APPEND, in one transaction, no indexes, synced at
 * the end.  No validation, no lookups, no records: what the machine allows.
 *
 *   csv_baseline FILE.csv DIR     (DIR must exist and be empty)
 *
 * Prints: csv_baseline: rows=N seconds=S
 */
#include <csv.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct row {
	MDB_txn *txn;
	MDB_dbi dbi;
	uint64_t n;
	char buf[4096];
	size_t len;
	int err;
};

static void on_field(void *s, size_t len, void *arg)
{
	struct row *r = arg;
	if (r->len + len + 1 > sizeof r->buf)
		len = sizeof r->buf - r->len - 1;
	memcpy(r->buf + r->len, s, len);
	r->len += len;
	r->buf[r->len++] = 0;
}

static void on_row(int c, void *arg)
{
	struct row *r = arg;
	if (r->n++ == 0 || r->err) { /* the header row is not stored */
		r->len = 0;
		return;
	}
	unsigned char k[8];
	for (int i = 0; i < 8; i++)
		k[i] = (unsigned char)(r->n >> (56 - 8 * i));
	MDB_val key = { sizeof k, k }, val = { r->len, r->buf };
	r->err = mdb_put(r->txn, r->dbi, &key, &val, MDB_APPEND);
	r->len = 0;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "csv_baseline: %s: %s\n", what, mdb_strerror(rc));
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: csv_baseline FILE.csv DIR\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror("csv_baseline");
		return 1;
	}
	MDB_env *env;
	int rc;
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, (size_t)16 << 30)) ||
	    (rc = mdb_env_open(env, argv[2], MDB_NOSYNC, 0644)))
		die("open", rc);
	struct row *r = calloc(1, sizeof *r);
	if (!r)
		return 1;
	if ((rc = mdb_txn_begin(env, NULL, 0, &r->txn)) || (rc = mdb_dbi_open(r->txn, NULL, 0, &r->dbi)))
		die("begin", rc);
	struct csv_parser p;
	csv_init(&p, CSV_APPEND_NULL);
	static char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if (csv_parse(&p, buf, n, on_field, on_row, r) != n) {
			fprintf(stderr, "csv_baseline: %s\n", csv_strerror(csv_error(&p)));
			return 1;
		}
	csv_fini(&p, on_field, on_row, r);
	csv_free(&p);
	fclose(f);
	if (r->err)
		die("put", r->err);
	if ((rc = mdb_txn_commit(r->txn)) || (rc = mdb_env_sync(env, 1)))
		die("commit", rc);
	mdb_env_close(env);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("csv_baseline: rows=%llu seconds=%.3f\n", (unsigned long long)(r->n ? r->n - 1 : 0),
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(r);
	return 0;
}
