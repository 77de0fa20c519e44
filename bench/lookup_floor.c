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
 * Prints: lookup_floor: rows=N found=F seconds=S
 */
#include <csv.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void die(const char *what, int rc)
{
	fprintf(stderr, "lookup_floor: %s: %s\n", what, mdb_strerror(rc));
	exit(1);
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The id of the first entry (tenant, ext NUL, id) of an ext index; 0: none. */
static uint64_t find(struct st *s, MDB_dbi dbi, const char *ext, size_t len)
{
	uint8_t kb[8 + 256];
	if (len > 240)
		return 0;
	put_u64(kb, s->tenant);
	memcpy(kb + 8, ext, len);
	kb[8 + len] = 0;
	MDB_val k = { 9 + len, kb }, v;
	MDB_cursor *c;
	if (mdb_cursor_open(s->txn, dbi, &c))
		return 0;
	uint64_t id = 0;
	if (mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) == 0 && k.mv_size == 17 + len && !memcmp(k.mv_data, kb, 9 + len))
		id = get_u64((const uint8_t *)k.mv_data + 9 + len);
	mdb_cursor_close(c);
	return id;
}

static void on_field(void *p, size_t len, void *arg)
{
	struct st *s = arg;
	if (s->col < MAX_COLS) {
		s->cells[s->col] = realloc(s->cells[s->col], len + 1);
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
		put_u64(kb, s->tenant);
		put_u64(kb + 8, id);
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
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct st *s = calloc(1, sizeof *s);
	if (!s)
		return 1;
	s->tenant = strtoull(argv[3], NULL, 10);
	MDB_env *env;
	int rc;
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 512)) ||
	    (rc = mdb_env_set_mapsize(env, (size_t)64 << 30)) ||
	    (rc = mdb_env_open(env, argv[2], MDB_RDONLY | MDB_NOLOCK, 0644)))
		die("open", rc);
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &s->txn)) ||
	    (rc = mdb_dbi_open(s->txn, "t:contracts", 0, &s->contracts)) ||
	    (rc = mdb_dbi_open(s->txn, "i:contracts:ext", 0, &s->ext[0])) ||
	    (rc = mdb_dbi_open(s->txn, "i:customers:ext", 0, &s->ext[1])) ||
	    (rc = mdb_dbi_open(s->txn, "i:products:ext", 0, &s->ext[2])) ||
	    (rc = mdb_dbi_open(s->txn, "i:partners:ext", 0, &s->ext[3])))
		die("begin", rc);
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror("lookup_floor");
		return 1;
	}
	struct csv_parser p;
	csv_init(&p, CSV_APPEND_NULL);
	static char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if (csv_parse(&p, buf, n, on_field, on_row, s) != n) {
			fprintf(stderr, "lookup_floor: %s\n", csv_strerror(csv_error(&p)));
			return 1;
		}
	csv_fini(&p, on_field, on_row, s);
	csv_free(&p);
	fclose(f);
	mdb_txn_abort(s->txn);
	mdb_env_close(env);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("lookup_floor: rows=%llu found=%llu seconds=%.3f\n", (unsigned long long)(s->rows ? s->rows - 1 : 0),
	       (unsigned long long)s->found, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (int i = 0; i < MAX_COLS; i++)
		free(s->cells[i]);
	free(s);
	return 0;
}
