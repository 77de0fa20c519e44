/*
 * append_floor.c: the "append floor" for the import figure in bench/run.
 * What a bulk import cannot go below on this machine: parse the CSV with
 * libcsv (as csv_baseline does), then append the SAME records and index
 * entries renewd's import wrote (read beforehand, untimed, from the store
 * renewd left: the table and each of its indexes, already in key order)
 * into a fresh LMDB environment with MDB_APPEND, one transaction, synced.
 * No validation, no look-ups, no encoding, no sorting cost.
 *
 *   append_floor FILE.csv STORE_DIR TABLE DIR    (DIR must exist and be empty)
 *
 * TABLE names the table ("contracts"): t:TABLE and every i:TABLE:* are copied,
 * only the entries of the tenant range renewd's import wrote (all of them:
 * the floor store is fresh).
 *
 * Prints: append_floor: rows=N entries=E seconds=S cpu=C (the timed part's
 * wall and CPU seconds; the set-up shared with lookup_floor.c is in
 * floor_common.c)
 */
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floor_common.h"

const char *floor_prog = "append_floor";

struct db {
	char name[128];
	unsigned char *buf; /* [u32 klen][k][u32 vlen][v] ... */
	size_t len, cap;
	size_t n;
};

static void push(struct db *d, const void *p, size_t n)
{
	while (d->len + n > d->cap)
		d->buf = floor_realloc(d->buf, d->cap = d->cap ? 2 * d->cap : 1 << 20);
	memcpy(d->buf + d->len, p, n);
	d->len += n;
}

static uint64_t rows;
static void on_field(void *s, size_t len, void *arg)
{
	(void)s;
	(void)len;
	(void)arg;
}
static void on_row(int c, void *arg)
{
	(void)c;
	(void)arg;
	rows++;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: append_floor FILE.csv STORE_DIR TABLE DIR\n");
		return 2;
	}
	/* Untimed: the entries renewd wrote, into memory. */
	MDB_env *src = floor_open_store(argv[2]);
	MDB_txn *st;
	MDB_dbi main_db;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;
	if ((rc = mdb_txn_begin(src, NULL, MDB_RDONLY, &st)) || (rc = mdb_dbi_open(st, NULL, 0, &main_db)) ||
	    (rc = mdb_cursor_open(st, main_db, &cur)))
		floor_die("read the store", rc);
	char tname[128], iprefix[128];
	snprintf(tname, sizeof tname, "t:%s", argv[3]);
	snprintf(iprefix, sizeof iprefix, "i:%s:", argv[3]);
	struct db dbs[32];
	size_t n_dbs = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n_dbs < 32; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size >= sizeof dbs[0].name)
			continue;
		char name[128];
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = 0;
		if (strcmp(name, tname) && strncmp(name, iprefix, strlen(iprefix)))
			continue;
		memset(&dbs[n_dbs], 0, sizeof dbs[n_dbs]);
		snprintf(dbs[n_dbs++].name, sizeof dbs[0].name, "%s", name);
	}
	mdb_cursor_close(cur);
	size_t entries = 0;
	for (size_t i = 0; i < n_dbs; i++) {
		MDB_dbi dbi;
		if ((rc = mdb_dbi_open(st, dbs[i].name, 0, &dbi)) || (rc = mdb_cursor_open(st, dbi, &cur)))
			floor_die(dbs[i].name, rc);
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			uint32_t kl = (uint32_t)k.mv_size, vl = (uint32_t)v.mv_size;
			push(&dbs[i], &kl, 4);
			push(&dbs[i], k.mv_data, kl);
			push(&dbs[i], &vl, 4);
			push(&dbs[i], v.mv_data, vl);
			dbs[i].n++;
			entries++;
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(st);
	mdb_env_close(src);

	/* Timed: parse, append, commit, sync. */
	struct floor_clock clk;
	floor_start(&clk);
	floor_parse_csv(argv[1], on_field, on_row, NULL);
	MDB_env *env;
	MDB_txn *txn;
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 64)) ||
	    (rc = mdb_env_set_mapsize(env, (size_t)64 << 30)) || (rc = mdb_env_open(env, argv[4], MDB_NOSYNC, 0644)))
		floor_die("open", rc);
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)))
		floor_die("begin", rc);
	for (size_t i = 0; i < n_dbs; i++) {
		MDB_dbi dbi;
		if ((rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, &dbi)) || (rc = mdb_cursor_open(txn, dbi, &cur)))
			floor_die(dbs[i].name, rc);
		for (size_t off = 0; off < dbs[i].len;) {
			uint32_t kl, vl;
			memcpy(&kl, dbs[i].buf + off, 4);
			k = (MDB_val){ kl, dbs[i].buf + off + 4 };
			off += 4 + kl;
			memcpy(&vl, dbs[i].buf + off, 4);
			v = (MDB_val){ vl, dbs[i].buf + off + 4 };
			off += 4 + vl;
			if ((rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND)))
				floor_die("put", rc);
		}
		mdb_cursor_close(cur);
	}
	if ((rc = mdb_txn_commit(txn)) || (rc = mdb_env_sync(env, 1)))
		floor_die("commit", rc);
	mdb_env_close(env);
	floor_stop(&clk);
	printf("append_floor: rows=%llu entries=%zu seconds=%.3f cpu=%.3f\n", (unsigned long long)(rows ? rows - 1 : 0),
	       entries, clk.wall, clk.cpu);
	for (size_t i = 0; i < n_dbs; i++)
		free(dbs[i].buf);
	return 0;
}
