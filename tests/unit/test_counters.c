/*
 * test_counters.c: the store's counters (core/store/store.c, store.h
 * "Counters") on LMDB, through the interface: rows kept by put, replace,
 * delete and batches; an owner table's change re-derives its owners'
 * contributions; a row back at zero goes; an aborted child transaction
 * leaves them as they were; a fill is idempotent; a drifted row is named
 * by the check.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/record.h"
#include "store/store.h"
#include "unit.h"

#define KIND 0x51

static char dir[64];
static struct rd_store *s;
static struct rd_table *items, *boosts;

/* An item: category (field 1), amount (field 2).  A boost: the item it
 * boosts (field 1), an amount (field 2). */
static size_t rec(uint8_t *out, const char *cat, uint64_t a)
{
	struct rd_rec_writer w = { 0 };
	rd_rec_begin(&w, KIND, 1);
	rd_rec_str(&w, 1, cat);
	rd_rec_uint(&w, 2, a);
	size_t n = w.len;
	memcpy(out, w.buf, n);
	rd_rec_writer_free(&w);
	return n;
}

static int field(const void *r, size_t len, uint32_t no, struct rd_rec_field *out)
{
	struct rd_rec_reader rd;
	int rc = rd_rec_open(&rd, r, len, KIND, 1);
	while (rc >= 0 && (rc = rd_rec_next(&rd, out)) > 0)
		if (out->no == no)
			return 1;
	return rc;
}

/* An item counts 1 and its amount in bucket "c:<category>", plus its boost's amount as b. */
static int item_contrib(struct rd_txn *t, uint64_t tenant, uint64_t id, const void *r, size_t len,
			rd_counter_emit_fn emit, void *arg)
{
	struct rd_rec_field cat, amt;
	if (field(r, len, 1, &cat) <= 0 || field(r, len, 2, &amt) <= 0)
		return RD_ECORRUPT;
	uint8_t key[64] = "c:";
	memcpy(key + 2, cat.data, cat.len);
	int64_t boost = 0;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, boosts, tenant, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_rec_field to, ba;
		if (field(item.val, item.len, 1, &to) > 0 && to.u == id && field(item.val, item.len, 2, &ba) > 0)
			boost += (int64_t)ba.u;
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : emit(arg, key, 2 + cat.len, 1, (int64_t)amt.u, boost);
}

static int boost_owners(struct rd_txn *t, uint64_t tenant, const void *old, size_t old_len, const void *r, size_t len,
			rd_counter_visit_fn visit, void *arg)
{
	(void)t, (void)tenant;
	struct rd_rec_field f;
	if (old && field(old, old_len, 1, &f) > 0)
		visit(arg, f.u);
	if (r && field(r, len, 1, &f) > 0)
		visit(arg, f.u);
	return 0;
}

static const struct rd_counter_def item_counters = { "items.test", item_contrib, NULL, NULL };
static const struct rd_counter_def boost_counters = { "boosts", NULL, "items", boost_owners };
static const struct rd_table_def items_def = { "items", NULL, 0 };
static const struct rd_table_def boosts_def = { "boosts", NULL, 0 };

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/rd_counters.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char err[256];
	assert_rc(rd_store_open(&s, dir, NULL, err, sizeof err), 0);
	assert_rc(rd_store_register(s, &items_def, &items), 0);
	assert_rc(rd_store_register(s, &boosts_def, &boosts), 0);
	assert_rc(rd_store_register_counters(s, items, &item_counters), 0);
	assert_rc(rd_store_register_counters(s, boosts, &boost_counters), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rd_store_close(&s);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

struct row {
	char key[32];
	int64_t n, a, b;
};
struct rows {
	struct row r[8];
	int n;
};

static int collect(void *arg, const uint8_t *key, size_t klen, const struct rd_counter_val *v)
{
	struct rows *x = arg;
	assert_true(x->n < 8 && klen < 32);
	memcpy(x->r[x->n].key, key, klen);
	x->r[x->n].key[klen] = 0;
	x->r[x->n].n = v->n, x->r[x->n].a = (int64_t)v->a, x->r[x->n].b = (int64_t)v->b;
	x->n++;
	return 0;
}

static struct rows read_rows(void)
{
	struct rows x = { .n = 0 };
	struct rd_txn *t;
	assert_rc(rd_store_read(s, &t), 0);
	assert_rc(rd_txn_counters(t, items, 7, NULL, 0, NULL, 0, collect, &x), 0);
	rd_txn_end(t);
	return x;
}

struct op {
	int what; /* 0 put item, 1 delete item, 2 put boost, 3 delete boost, 4 batch of items, 5 abort child */
	uint64_t id;
	const char *cat;
	uint64_t a;
};

static int apply(struct rd_txn *t, void *arg)
{
	const struct op *o = arg;
	uint8_t buf[128], buf2[128];
	switch (o->what) {
	case 0: return rd_txn_put(t, items, 7, o->id, buf, rec(buf, o->cat, o->a), 0);
	case 1: return rd_txn_del(t, items, 7, o->id);
	case 2: return rd_txn_put(t, boosts, 7, o->id, buf, rec(buf, o->cat, o->a), 0); /* cat: unused */
	case 3: return rd_txn_del(t, boosts, 7, o->id);
	case 4: {
		struct rd_batch_item b[2] = { { o->id, buf, rec(buf, o->cat, o->a) }, { o->id + 1, buf2, rec(buf2, o->cat, 1) } };
		return rd_txn_put_batch(t, items, 7, b, 2);
	}
	default: {
		struct rd_txn *c;
		int rc = rd_txn_begin_child(t, &c);
		if (rc == 0) {
			rc = rd_txn_put(c, items, 7, o->id, buf, rec(buf, o->cat, o->a), 0);
			rd_txn_abort_child(c);
		}
		return rc;
	}
	}
}

static void run(int what, uint64_t id, const char *cat, uint64_t a)
{
	struct op o = { what, id, cat, a };
	assert_rc(rd_store_write(s, apply, &o), 0);
}

/* A boost record naming its item in field 1 (as a number). */
static int put_boost(struct rd_txn *t, void *arg)
{
	const uint64_t *v = arg;
	struct rd_rec_writer w = { 0 };
	rd_rec_begin(&w, KIND, 1);
	rd_rec_uint(&w, 1, v[1]);
	rd_rec_uint(&w, 2, v[2]);
	int rc = rd_txn_put(t, boosts, 7, v[0], w.buf, w.len, 0);
	rd_rec_writer_free(&w);
	return rc;
}

static void problem(const char *p, void *arg)
{
	snprintf(arg, 512, "%s", p);
}

static int check(char *last)
{
	struct rd_txn *t;
	assert_rc(rd_store_read(s, &t), 0);
	int n = rd_txn_counters_check(t, items, 7, problem, last);
	rd_txn_end(t);
	return n;
}

static int fill(struct rd_txn *t, void *arg)
{
	(void)arg;
	return rd_txn_counters_fill(t, items, 7);
}

static int drift(struct rd_txn *t, void *arg)
{
	(void)arg;
	return rd_txn_counter_add(t, items, 7, "c:x", 3, 1, 0, 0);
}

static void test_counters_follow_every_write(void **state)
{
	(void)state;
	run(0, 1, "x", 10);
	run(0, 2, "x", 5);
	run(0, 3, "y", 7);
	struct rows r = read_rows();
	assert_int_equal(r.n, 2);
	assert_string_equal(r.r[0].key, "c:x");
	assert_true(r.r[0].n == 2 && r.r[0].a == 15 && r.r[0].b == 0);
	run(0, 2, "y", 6); /* replaced: moves bucket */
	r = read_rows();
	assert_true(r.r[0].n == 1 && r.r[0].a == 10 && r.r[1].n == 2 && r.r[1].a == 13);
	uint64_t b[3] = { 1, 3, 100 }; /* a boost of item 3: its owner's b */
	assert_rc(rd_store_write(s, put_boost, b), 0);
	r = read_rows();
	assert_true(r.r[1].b == 100);
	run(3, 1, NULL, 0); /* the boost deleted */
	r = read_rows();
	assert_true(r.r[1].b == 0);
	run(5, 9, "z", 1); /* an aborted child: nothing */
	assert_int_equal(read_rows().n, 2);
	run(4, 20, "z", 4); /* a batch */
	r = read_rows();
	assert_int_equal(r.n, 3);
	assert_true(r.r[2].n == 2 && r.r[2].a == 5);
	run(1, 1, NULL, 0); /* c:x back at zero: gone */
	r = read_rows();
	assert_int_equal(r.n, 2);
	assert_string_equal(r.r[0].key, "c:y");
	char last[512] = "";
	assert_int_equal(check(last), 0);
	/* A fill recounts to the same rows, twice. */
	assert_rc(rd_store_write(s, fill, NULL), 0);
	assert_rc(rd_store_write(s, fill, NULL), 0);
	struct rows after = read_rows();
	assert_int_equal(after.n, r.n);
	assert_memory_equal(&after, &r, sizeof r);
	/* A drifted row is named. */
	assert_rc(rd_store_write(s, drift, NULL), 0);
	assert_int_equal(check(last), 1);
	assert_contains(last, "counters items.test: tenant 7 bucket 633a78 holds count 1");
	assert_contains(last, "a recount gives nothing");
	assert_rc(rd_store_write(s, fill, NULL), 0);
	assert_int_equal(check(last), 0);
}

/* A write of items 100.. in one transaction: new ones (RD_PUT_NEW), one
 * replaced, one deleted, one added and deleted again (its bucket sums to
 * nothing), the rows read inside the write; bulk: as a bulk load. */
struct many {
	bool bulk, fail;
	struct rows inside;
	int new_again; /* RD_PUT_NEW of an id that exists */
};

static int write_many(struct rd_txn *t, void *arg)
{
	struct many *m = arg;
	uint8_t buf[128];
	int rc = m->bulk ? rd_txn_bulk_begin(t, items, 7, NULL) : 0;
	for (uint64_t i = 0; rc >= 0 && i < 40; i++)
		rc = rd_txn_put(t, items, 7, 100 + i, buf, rec(buf, i % 3 ? "p" : "q", i), i % 2 ? RD_PUT_NEW : 0);
	if (rc >= 0)
		rc = rd_txn_put(t, items, 7, 101, buf, rec(buf, "r", 50), 0);
	if (rc >= 0)
		rc = rd_txn_del(t, items, 7, 102);
	if (rc >= 0)
		rc = rd_txn_put(t, items, 7, 200, buf, rec(buf, "gone", 9), RD_PUT_NEW);
	if (rc >= 0)
		rc = rd_txn_del(t, items, 7, 200);
	if (rc >= 0)
		m->new_again = rd_txn_put(t, items, 7, 103, buf, rec(buf, "p", 3), RD_PUT_NEW);
	m->inside.n = 0;
	if (rc >= 0)
		rc = rd_txn_counters(t, items, 7, NULL, 0, NULL, 0, collect, &m->inside);
	return rc < 0 ? rc : m->fail ? RD_EDECLINED : 0;
}

static void test_counters_of_a_bulk_load_match_row_by_row(void **state)
{
	(void)state;
	run(0, 1, "p", 1000); /* a row before: the load adds to it */
	struct rows start = read_rows();
	/* A failed bulk load leaves the counters as they were. */
	struct many m = { .bulk = true, .fail = true };
	assert_rc(rd_store_write(s, write_many, &m), RD_EDECLINED);
	struct rows now = read_rows();
	assert_memory_equal(&now, &start, sizeof now);
	/* The rows read inside the load, and after its commit, are those of
	 * the same writes row by row (on a copy of the store made anew). */
	m.fail = false;
	assert_rc(rd_store_write(s, write_many, &m), 0);
	struct rows bulk = read_rows();
	assert_int_equal(m.new_again, RD_EEXISTS);
	assert_memory_equal(&m.inside, &bulk, sizeof bulk);
	assert_int_equal(bulk.n, 3); /* c:p, c:q, c:r; "c:gone" summed to nothing */
	assert_string_equal(bulk.r[0].key, "c:p");
	assert_string_equal(bulk.r[2].key, "c:r");
	assert_true(bulk.r[2].n == 1 && bulk.r[2].a == 50);
	char last[512] = "";
	assert_int_equal(check(last), 0);
	teardown(NULL);
	setup(NULL);
	run(0, 1, "p", 1000);
	struct many r = { .bulk = false };
	assert_rc(rd_store_write(s, write_many, &r), 0);
	struct rows rows = read_rows();
	assert_int_equal(r.new_again, RD_EEXISTS);
	assert_memory_equal(&rows, &bulk, sizeof rows);
	assert_memory_equal(&r.inside, &m.inside, sizeof r.inside);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counters_follow_every_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters_of_a_bulk_load_match_row_by_row, setup, teardown),
	};
	return cmocka_run_group_tests_name("counters", tests, NULL, NULL);
}
