/*
 * test_store_digest.c: the store digest (core/store/store.c rd_digest_*,
 * docs/scaling.md "The store digest") and the whole-store walk and load on
 * LMDB (rd_store_walk, rd_store_load_*) that renewctl check and
 * migrate-store use.
 *
 * Covers: the documented framing (a digest recomputed here from the
 * documentation's rules); the canonical order enforced (settings, then
 * sequences, then each table's records and its indexes, entries by key and
 * id); the node-local items left out; a walk of a store written out of
 * order comes in the canonical order; a load into an empty store gives the
 * same digest, a non-empty one is refused, an abandoned load leaves nothing,
 * a load that fills the map commits nothing and goes in whole once grown.
 */
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/store.h"
#include "unit.h"

static struct rd_raw_item meta(const char *k, const char *v)
{
	return (struct rd_raw_item){ .kind = RD_RAW_META, .key = k, .key_len = strlen(k), .val = v, .len = strlen(v) };
}

static struct rd_raw_item rec(const char *table, uint64_t tenant, uint64_t id, const char *v)
{
	return (struct rd_raw_item){ .kind = RD_RAW_RECORD, .table = table, .tenant = tenant, .id = id, .val = v,
				     .len = strlen(v) };
}

static struct rd_raw_item entry(const char *table, const char *ix, uint64_t tenant, const char *key, uint64_t id)
{
	return (struct rd_raw_item){ .kind = RD_RAW_INDEX, .table = table, .index = ix, .tenant = tenant, .key = key,
				     .key_len = strlen(key), .id = id };
}

static int digest_of(const struct rd_raw_item *items, size_t n, struct rd_store_digest *out)
{
	struct rd_digest_state *d = rd_digest_new();
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = rd_digest_add(d, &items[i]);
	rd_digest_end(d, out);
	return rc;
}

static void h_bytes(crypto_generichash_state *h, const char *p, size_t n)
{
	uint8_t b[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	crypto_generichash_update(h, b, 4);
	crypto_generichash_update(h, (const uint8_t *)p, n);
}

static void h_u64(crypto_generichash_state *h, uint64_t v)
{
	uint8_t b[8];
	rd_key_put_u64(b, v);
	crypto_generichash_update(h, b, 8);
}

/* The digest as docs/scaling.md describes it, computed independently. */
static void test_framing_is_the_documented_one(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	struct rd_raw_item items[] = {
		{ .kind = RD_RAW_META, .key = "schema", .key_len = 6, .val = "\1\0\0\0", .len = 4 },
		{ .kind = RD_RAW_SEQ, .table = "contracts", .tenant = 1, .id = 30 },
		rec("contracts", 1, 7, "record-bytes"),
		entry("contracts", "end", 1, "key", 7),
	};
	struct rd_store_digest got;
	assert_rc(digest_of(items, 4, &got), 0);

	static crypto_generichash_state h __attribute__((aligned(64)));
	uint8_t want[32];
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, (const uint8_t *)"renewd-store-digest v1\n", 23);
	crypto_generichash_update(&h, (const uint8_t *)"M", 1);
	h_bytes(&h, "schema", 6);
	h_bytes(&h, "\1\0\0\0", 4);
	crypto_generichash_update(&h, (const uint8_t *)"S", 1);
	h_bytes(&h, "contracts", 9);
	h_u64(&h, 1);
	h_u64(&h, 30);
	crypto_generichash_update(&h, (const uint8_t *)"R", 1);
	h_bytes(&h, "contracts", 9);
	h_u64(&h, 1);
	h_u64(&h, 7);
	h_bytes(&h, "record-bytes", 12);
	crypto_generichash_update(&h, (const uint8_t *)"I", 1);
	h_bytes(&h, "contracts", 9);
	h_bytes(&h, "end", 3);
	h_u64(&h, 1);
	h_bytes(&h, "key", 3);
	h_u64(&h, 7);
	crypto_generichash_final(&h, want, 32);
	assert_memory_equal(got.hash, want, 32);
	assert_int_equal(got.meta, 1);
	assert_int_equal(got.seqs, 1);
	assert_int_equal(got.records, 1);
	assert_int_equal(got.entries, 1);
	assert_int_equal(got.n_tables, 1);
	assert_string_equal(got.tables[0].name, "contracts");
}

static void test_out_of_order_is_refused(void **state)
{
	(void)state;
	struct rd_store_digest d;
	struct rd_raw_item metas[] = { meta("b", ""), meta("a", "") };
	assert_rc(digest_of(metas, 2, &d), RD_ECORRUPT);
	struct rd_raw_item twice[] = { rec("t", 1, 1, "x"), rec("t", 1, 1, "x") };
	assert_rc(digest_of(twice, 2, &d), RD_ECORRUPT);
	struct rd_raw_item seq_after_rec[] = { rec("t", 1, 1, "x"), { .kind = RD_RAW_SEQ, .table = "t", .tenant = 1, .id = 1 } };
	assert_rc(digest_of(seq_after_rec, 2, &d), RD_ECORRUPT);
	struct rd_raw_item rec_after_entry[] = { entry("t", "i", 1, "k", 1), rec("t", 1, 2, "x") };
	assert_rc(digest_of(rec_after_entry, 2, &d), RD_ECORRUPT);
	struct rd_raw_item tables[] = { rec("b", 1, 1, "x"), rec("a", 1, 1, "x") };
	assert_rc(digest_of(tables, 2, &d), RD_ECORRUPT);
	struct rd_raw_item tenants[] = { rec("a", 2, 1, "x"), rec("a", 1, 9, "x") };
	assert_rc(digest_of(tenants, 2, &d), RD_ECORRUPT);
	/* The canonical order passes: table a's records, its indexes by name,
	 * entries by key bytes then id (as both backends order them), table b. */
	struct rd_raw_item ok[] = {
		meta("a", ""), meta("ab", ""), meta("b", ""),
		{ .kind = RD_RAW_SEQ, .table = "a", .tenant = 1, .id = 3 },
		{ .kind = RD_RAW_SEQ, .table = "a", .tenant = 2, .id = 1 },
		{ .kind = RD_RAW_SEQ, .table = "ab", .tenant = 1, .id = 1 },
		rec("a", 1, 1, "x"), rec("a", 1, 3, "x"), rec("a", 2, 1, "x"),
		entry("a", "i", 1, "k1", 3), entry("a", "i", 1, "k2", 1), entry("a", "i", 2, "a", 1),
		entry("a", "j", 1, "z", 1),
		rec("ab", 1, 1, "x"),
	};
	assert_rc(digest_of(ok, sizeof ok / sizeof *ok, &d), 0);
	assert_int_equal(d.n_tables, 2);
	assert_int_equal(d.tables[0].records, 3);
	assert_int_equal(d.tables[0].entries, 4);
}

static void test_node_local_items_are_left_out(void **state)
{
	(void)state;
	struct rd_store_digest a, b;
	struct rd_raw_item without[] = { meta("clock", "1"), rec("contracts", 1, 1, "x") };
	struct rd_raw_item with[] = { meta("claim:sweep:1", "lease-and-node"), meta("clock", "1"),
				      rec("action_keys", 1, 5, "key"), rec("contracts", 1, 1, "x") };
	assert_rc(digest_of(without, 2, &a), 0);
	assert_rc(digest_of(with, 4, &b), 0);
	assert_memory_equal(a.hash, b.hash, 32);
	assert_int_equal(b.meta_skipped, 1);
	assert_int_equal(b.items_skipped, 1);
	assert_true(b.tables[0].skipped);
	/* ...and content is not: one byte of a record, a setting. */
	struct rd_raw_item changed[] = { meta("clock", "2"), rec("contracts", 1, 1, "x") };
	assert_rc(digest_of(changed, 2, &b), 0);
	assert_memory_not_equal(a.hash, b.hash, 32);
	struct rd_raw_item changed2[] = { meta("clock", "1"), rec("contracts", 1, 1, "y") };
	assert_rc(digest_of(changed2, 2, &b), 0);
	assert_memory_not_equal(a.hash, b.hash, 32);
}

/* ---- the LMDB walk and load --------------------------------------------- */

static int key_first(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	if (len < 2 || cap < 2)
		return 0;
	key[0] = ((const uint8_t *)rec)[0];
	key[1] = 0; /* NUL-terminated: self-delimiting */
	return 2;
}

static const struct rd_index_def idx[] = { { "first", key_first } };
static const struct rd_table_def tdefs[] = { { "zeta", idx, 1 }, { "alpha", NULL, 0 } };

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

struct fill {
	struct rd_table *z, *a;
};

static int fill_fn(struct rd_txn *t, void *arg)
{
	struct fill *f = arg;
	uint64_t id;
	int rc = 0;
	/* tenants and tables written out of the canonical order */
	for (uint64_t tenant = 3; tenant >= 1 && rc == 0; tenant--)
		for (int i = 0; i < 5 && rc == 0; i++) {
			char v[16];
			snprintf(v, sizeof v, "%c-record-%d", 'a' + (i * 7 + (int)tenant) % 5, i);
			if ((rc = rd_txn_next_id(t, f->z, tenant, &id)) == 0)
				rc = rd_txn_put(t, f->z, tenant, id, v, strlen(v), 0);
			if (rc == 0)
				rc = rd_txn_put(t, f->a, tenant, 100 - (uint64_t)i, "plain", 5, 0);
		}
	if (rc == 0)
		rc = rd_txn_meta_put(t, "zz", "1", 1);
	if (rc == 0)
		rc = rd_txn_meta_put(t, "claim:x", "node", 4);
	return rc;
}

static int load_fn(const struct rd_raw_item *it, void *arg)
{
	return rd_store_load_item(arg, it);
}

static void test_lmdb_walk_and_load(void **state)
{
	(void)state;
	char root[] = "/tmp/rd-digest-XXXXXX", a[64], b[64], err[512];
	assert_non_null(mkdtemp(root));
	snprintf(a, sizeof a, "%s/a", root);
	snprintf(b, sizeof b, "%s/b", root);
	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	struct rd_store *sa, *sb;
	struct rd_store_opts o = { 0 };
	assert_rc(rd_store_open(&sa, a, &o, err, sizeof err), 0);
	struct fill f;
	assert_rc(rd_store_register(sa, &tdefs[0], &f.z), 0);
	assert_rc(rd_store_register(sa, &tdefs[1], &f.a), 0);
	assert_rc(rd_store_write(sa, fill_fn, &f), 0);
	struct rd_store_digest da, db;
	assert_rc(rd_store_digest(sa, &da), 0); /* the walk is in the canonical order, else RD_ECORRUPT */
	assert_int_equal(da.records, 30);
	assert_int_equal(da.entries, 15);
	assert_int_equal(da.seqs, 3);
	assert_int_equal(da.meta_skipped, 1);
	assert_string_equal(da.tables[0].name, "alpha");
	assert_string_equal(da.tables[1].name, "zeta");

	assert_rc(rd_store_open(&sb, b, &o, err, sizeof err), 0);
	/* An abandoned load leaves nothing. */
	struct rd_store_load *l;
	assert_rc(rd_store_load_begin(sb, &l, err, sizeof err), 0);
	assert_rc(rd_store_walk(sa, load_fn, l), 0);
	assert_rc(rd_store_load_end(l, false), 0);
	assert_rc(rd_store_digest(sb, &db), 0);
	assert_int_equal(db.records + db.entries + db.seqs, 0);
	/* A committed one is the source. */
	assert_rc(rd_store_load_begin(sb, &l, err, sizeof err), 0);
	assert_rc(rd_store_walk(sa, load_fn, l), 0);
	assert_rc(rd_store_load_end(l, true), 0);
	assert_rc(rd_store_digest(sb, &db), 0);
	assert_memory_equal(da.hash, db.hash, 32);
	assert_int_equal(db.records, 30);
	/* Now it holds content: refused, with the reason. */
	assert_rc(rd_store_load_begin(sb, &l, err, sizeof err), RD_EEXISTS);
	assert_contains(err, "is not empty");
	rd_store_close(&sa);
	rd_store_close(&sb);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct big {
	struct rd_table *a;
};

static int big_fn(struct rd_txn *t, void *arg)
{
	struct big *b = arg;
	static char v[4000];
	memset(v, 'v', sizeof v);
	int rc = 0;
	for (uint64_t id = 1; id <= 1000 && rc == 0; id++)
		rc = rd_txn_put(t, b->a, 1, id, v, sizeof v, 0);
	return rc;
}

/* A load that fills an LMDB map commits nothing; grown, it goes in whole
 * (what migrate-store does: reserve and start over). */
static void test_lmdb_load_into_a_full_map(void **state)
{
	(void)state;
	char root[] = "/tmp/rd-digest-XXXXXX", a[64], b[64], err[512];
	assert_non_null(mkdtemp(root));
	snprintf(a, sizeof a, "%s/a", root);
	snprintf(b, sizeof b, "%s/b", root);
	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	struct rd_store *sa, *sb;
	struct rd_store_opts o = { 0 }, small = { .map_size = 1u << 20 };
	assert_rc(rd_store_open(&sa, a, &o, err, sizeof err), 0);
	struct big bg;
	assert_rc(rd_store_register(sa, &tdefs[1], &bg.a), 0);
	assert_rc(rd_store_write(sa, big_fn, &bg), 0);
	struct rd_store_digest da, db;
	assert_rc(rd_store_digest(sa, &da), 0);
	assert_rc(rd_store_open(&sb, b, &small, err, sizeof err), 0);
	struct rd_store_load *l;
	assert_rc(rd_store_load_begin(sb, &l, err, sizeof err), 0);
	assert_rc(rd_store_walk(sa, load_fn, l), RD_EMAPFULL);
	assert_rc(rd_store_load_end(l, false), 0);
	assert_rc(rd_store_digest(sb, &db), 0);
	assert_int_equal(db.records, 0);
	assert_rc(rd_store_reserve(sb, 16u << 20), 0);
	assert_rc(rd_store_load_begin(sb, &l, err, sizeof err), 0);
	assert_rc(rd_store_walk(sa, load_fn, l), 0);
	assert_rc(rd_store_load_end(l, true), 0);
	assert_rc(rd_store_digest(sb, &db), 0);
	assert_memory_equal(da.hash, db.hash, 32);
	assert_int_equal(db.records, 1000);
	rd_store_close(&sa);
	rd_store_close(&sb);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing_is_the_documented_one),
		cmocka_unit_test(test_out_of_order_is_refused),
		cmocka_unit_test(test_node_local_items_are_left_out),
		cmocka_unit_test(test_lmdb_walk_and_load),
		cmocka_unit_test(test_lmdb_load_into_a_full_map),
	};
	return cmocka_run_group_tests_name("store_digest", tests, NULL, NULL);
}
