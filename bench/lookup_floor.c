/*
 * lookup_floor.c: the floor for the re-import figure in bench/run.  A
 * re-import of an unchanged file writes nothing, so what it cannot go
 * below is: parse the CSV with libcsv and, for each row, find the record
 * by its external id (the table's ext index) and read it, and find each
 * reference column's record id the same way (customers, products,
 * partners), in one read transaction of the store renewd left.  No
 * validation, no encoding, no comparison.
 *
 *   lookup_floor FILE.csv STORE_DIR TENANT
 *
 * The header names the columns: external_id (-> contracts),
 * customer_external_id (-> customers), product_sku (-> products),
 * reseller_external_id and distributor_external_id (-> partners).
 *
 * Prints: lookup_floor: rows=N found=F seconds=S cpu=C (wall and CPU;
 * floor_common.c holds the set-up shared with append_floor.c)
 */
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floor_common.h"

const char *floor_prog = "lookup_floor";

#define MAX_COLS 64

struct st {
	MDB_txn *txn;
	MDB_dbi contracts, ext[5]; /* ext index per column kind */
	int kind[MAX_COLS];        /* -1: not looked up; else 0 contracts, 1 customers, 2 products, 3 partners */
	uint64_t tenant, rows, found;
	int col;
	char *cells[MAX_COLS];
	size_t lens[MAX_COLS];
};

/* The id of the first entry (tenant, ext NUL, id) of an ext index; 0: none. */
static uint64_t find(struct st *s, MDB_dbi dbi, const char *ext, size_t len)
{
	uint8_t kb[8 + 256];
	if (len > 240)
		return 0;
	floor_put_u64(kb, s->tenant);
	memcpy(kb + 8, ext, len);
	kb[8 + len] = 0;
	MDB_val k = { 9 + len, kb }, v;
	MDB_cursor *c;
	if (mdb_cursor_open(s->txn, dbi, &c))
		return 0;
	uint64_t id = 0;
	if (mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) == 0 && k.mv_size == 17 + len && !memcmp(k.mv_data, kb, 9 + len))
		id = floor_get_u64((const uint8_t *)k.mv_data + 9 + len);
	mdb_cursor_close(c);
	return id;
}

static void on_field(void *p, size_t len, void *arg)
{
	struct st *s = arg;
	if (s->col < MAX_COLS) {
		s->cells[s->col] = floor_realloc(s->cells[s->col], len + 1);
		memcpy(s->cells[s->col], p, len);
		s->cells[s->col][len] = 0;
		s->lens[s->col] = len;
	}
	s->col++;
}

static void on_row(int c, void *arg)
{
	(void)c;
	struct st *s = arg;
	int n = s->col < MAX_COLS ? s->col : MAX_COLS;
	s->col = 0;
	if (s->rows++ == 0) { /* the header */
		static const char *const names[] = { "external_id", "customer_external_id", "product_sku",
						     "reseller_external_id", "distributor_external_id" };
		static const int kinds[] = { 0, 1, 2, 3, 3 };
		for (int i = 0; i < n; i++) {
			s->kind[i] = -1;
			for (int k = 0; k < 5; k++)
				if (!strcmp(s->cells[i], names[k]))
					s->kind[i] = kinds[k];
		}
		return;
	}
	for (int i = 0; i < n; i++) {
		if (s->kind[i] < 0 || !s->lens[i])
			continue;
		uint64_t id = find(s, s->ext[s->kind[i]], s->cells[i], s->lens[i]);
		if (!id || s->kind[i] != 0)
			continue;
		uint8_t kb[16];
		floor_put_u64(kb, s->tenant);
		floor_put_u64(kb + 8, id);
		MDB_val k = { 16, kb }, v;
		if (mdb_get(s->txn, s->contracts, &k, &v) == 0 && v.mv_size)
			s->found++;
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: lookup_floor FILE.csv STORE_DIR TENANT\n");
		return 2;
	}
	struct floor_clock clk;
	floor_start(&clk);
	struct st *s = calloc(1, sizeof *s);
	if (!s)
		return 1;
	s->tenant = strtoull(argv[3], NULL, 10);
	MDB_env *env = floor_open_store(argv[2]);
	int rc;
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &s->txn)) ||
	    (rc = mdb_dbi_open(s->txn, "t:contracts", 0, &s->contracts)) ||
	    (rc = mdb_dbi_open(s->txn, "i:contracts:ext", 0, &s->ext[0])) ||
	    (rc = mdb_dbi_open(s->txn, "i:customers:ext", 0, &s->ext[1])) ||
	    (rc = mdb_dbi_open(s->txn, "i:products:ext", 0, &s->ext[2])) ||
	    (rc = mdb_dbi_open(s->txn, "i:partners:ext", 0, &s->ext[3])))
		floor_die("begin", rc);
	floor_parse_csv(argv[1], on_field, on_row, s);
	mdb_txn_abort(s->txn);
	mdb_env_close(env);
	floor_stop(&clk);
	printf("lookup_floor: rows=%llu found=%llu seconds=%.3f cpu=%.3f\n", (unsigned long long)(s->rows ? s->rows - 1 : 0),
	       (unsigned long long)s->found, clk.wall, clk.cpu);
	for (int i = 0; i < MAX_COLS; i++)
		free(s->cells[i]);
	free(s);
	return 0;
}
