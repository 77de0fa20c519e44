/*
 * test_store_pg.c: the PostgreSQL store backend (core/store/store_pg.c)
 * through the store interface, side by side with the LMDB backend where the
 * two must agree.
 *
 * Needs a server: RENEWD_TEST_PG_URL names an empty database on a throwaway
 * cluster (tests/integration/test_pg_store.py starts one and runs this
 * program; without the variable every test is skipped).  Each test empties
 * the database first (DROP SCHEMA public CASCADE) and opens a fresh store.
 * `test_store_pg NAME` runs one test.
 *
 * Covers: iteration order and ranges over records and indexes (the same
 * transcript as LMDB), index maintenance on update and delete, batches
 * (unsorted, duplicate ids refused), id sequences per table and tenant and
 * their rollback with an aborted write, meta, count, child transactions
 * (abort drops, commit keeps, nested), pointers that stay valid across many
 * reads until the transaction ends, the serialization-failure replay with a
 * second connection writing in between, a write whose statement failed
 * never reporting success, the integrity check finding a removed index
 * entry, reconnection after the server ended the pooled connections.
 */
#include <ftw.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "unit.h"

static const char *url;

/* Records: "<category>\0<payload>"; the index key is the category with its NUL. */
static int cat_key(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	const char *r = rec;
	size_t n = strnlen(r, len);
	if (n == len)
		return RD_ECORRUPT;
	if (n == 0)
		return 0; /* no category: no entry */
	if (n + 1 > cap)
		return RD_ETOOBIG;
	memcpy(key, r, n + 1);
	return (int)n + 1;
}

static const struct rd_index_def things_ix[] = { { "cat", cat_key } };
static const struct rd_table_def things = { "things", things_ix, 1 };
static const struct rd_table_def plain = { "plain", NULL, 0 };

struct fx {
	struct rd_store *pg, *lm;
	struct rd_table *pg_things, *pg_plain, *lm_things, *lm_plain;
	char dir[64], lmdir[80];
};

static PGconn *side_conn(void)
{
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("side connection: %s", PQerrorMessage(c));
	return c;
}

static void side_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	if (!url)
		skip();
	PGconn *c = side_conn();
	side_exec(c, "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	PQfinish(c);
	struct fx *f = calloc(1, sizeof *f);
	char err[512];
	snprintf(f->dir, sizeof f->dir, "/tmp/rd-pgtest-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	struct rd_store_opts po = { .url = url };
	if (rd_store_open(&f->pg, f->dir, &po, err, sizeof err) < 0)
		fail_msg("open PostgreSQL store: %s", err);
	assert_string_equal(rd_store_backend(f->pg), "postgresql");
	assert_string_equal(rd_store_dir(f->pg), f->dir);
	snprintf(f->lmdir, sizeof f->lmdir, "%s/lmdb", f->dir);
	mkdir(f->lmdir, 0700);
	if (rd_store_open(&f->lm, f->lmdir, NULL, err, sizeof err) < 0)
		fail_msg("open LMDB store: %s", err);
	assert_string_equal(rd_store_backend(f->lm), "lmdb");
	assert_rc(rd_store_register(f->pg, &things, &f->pg_things), 0);
	assert_rc(rd_store_register(f->pg, &plain, &f->pg_plain), 0);
	assert_rc(rd_store_register(f->lm, &things, &f->lm_things), 0);
	assert_rc(rd_store_register(f->lm, &plain, &f->lm_plain), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	rd_store_close(&f->pg);
	rd_store_close(&f->lm);
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void any_problem(const char *problem, void *arg)
{
	print_message("problem: %s\n", problem);
	(*(int *)arg)++;
}

/* ---- a script run on both backends ------------------------------------------ */

struct rec_put {
	uint64_t tenant, id;
	const char *cat, *payload;
};

static size_t make(char *buf, const char *cat, const char *payload)
{
	size_t a = strlen(cat), b = strlen(payload);
	memcpy(buf, cat, a + 1);
	memcpy(buf + a + 1, payload, b);
	return a + 1 + b;
}

struct script {
	struct rd_table *things;
	const struct rec_put *puts;
	size_t n;
};

static int put_all(struct rd_txn *t, void *arg)
{
	struct script *s = arg;
	for (size_t i = 0; i < s->n; i++) {
		char buf[256];
		size_t len = make(buf, s->puts[i].cat, s->puts[i].payload);
		int rc = rd_txn_put(t, s->things, s->puts[i].tenant, s->puts[i].id, buf, len, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int del_one(struct rd_txn *t, void *arg)
{
	struct script *s = arg;
	return rd_txn_del(t, s->things, s->puts[0].tenant, s->puts[0].id);
}

/* Appends every item of a scan to out as "id:key|". */
static void transcript(struct rd_iter *it, int rc, char *out, size_t cap)
{
	struct rd_item item;
	size_t used = strlen(out);
	assert_rc(rc, 0);
	while ((rc = rd_iter_next(it, &item)) > 0) {
		char one[300];
		snprintf(one, sizeof one, "%llu:%.*s/%zu|", (unsigned long long)item.id,
			 item.key ? (int)strnlen((const char *)item.key, item.key_len) : 0, item.key ? (const char *)item.key : "",
			 item.len);
		snprintf(out + used, cap - used, "%s", one);
		used = strlen(out);
	}
	assert_rc(rc, 0);
	rd_iter_close(it);
	snprintf(out + used, cap - used, "#");
}

static void scans(struct rd_store *s, struct rd_table *tb, char *out, size_t cap)
{
	struct rd_txn *t;
	struct rd_iter it;
	out[0] = 0;
	assert_rc(rd_store_read(s, &t), 0);
	transcript(&it, rd_iter_records(&it, t, tb, 2, 0), out, cap);
	transcript(&it, rd_iter_records(&it, t, tb, 2, 4), out, cap);
	transcript(&it, rd_iter_records(&it, t, tb, 1, 0), out, cap);
	transcript(&it, rd_iter_records(&it, t, tb, 9, 0), out, cap);
	transcript(&it, rd_iter_index(&it, t, tb, "cat", 2, NULL, 0, NULL, 0), out, cap);
	transcript(&it, rd_iter_index(&it, t, tb, "cat", 2, "b", 1, "c", 1), out, cap);
	transcript(&it, rd_iter_index(&it, t, tb, "cat", 2, "bee", 4, NULL, 0), out, cap);
	transcript(&it, rd_iter_index(&it, t, tb, "cat", 1, "a", 1, "zz", 2), out, cap);
	/* from = a whole key and an id: resumes exactly after (key, id) as LMDB does */
	uint8_t resume[4 + 8];
	memcpy(resume, "bee", 4);
	rd_key_put_u64(resume + 4, 5);
	transcript(&it, rd_iter_index(&it, t, tb, "cat", 2, resume, sizeof resume, NULL, 0), out, cap);
	uint64_t n = 0;
	assert_rc(rd_store_count(t, tb, 2, &n), 0);
	size_t used = strlen(out);
	snprintf(out + used, cap - used, "count=%llu", (unsigned long long)n);
	rd_txn_end(t);
}

static const struct rec_put world[] = {
	{ 2, 7, "bee", "seven" }, { 2, 3, "ant", "three" }, { 2, 5, "bee", "five" }, { 2, 1, "cat", "one" },
	{ 2, 4, "", "four, no category" }, { 1, 2, "ant", "tenant one" }, { 3, 1, "bee", "tenant three" },
	{ 2, 300, "bz", "a long id" },
};

static void test_scans_match_lmdb(void **state)
{
	struct fx *f = *state;
	char a[4096], b[4096];
	struct script sp = { f->pg_things, world, sizeof world / sizeof *world };
	struct script sl = { f->lm_things, world, sizeof world / sizeof *world };
	assert_rc(rd_store_write(f->pg, put_all, &sp), 0);
	assert_rc(rd_store_write(f->lm, put_all, &sl), 0);
	scans(f->pg, f->pg_things, a, sizeof a);
	scans(f->lm, f->lm_things, b, sizeof b);
	assert_string_equal(a, b);
	/* and the order is the one the interface promises */
	assert_contains(a, "1:/7|3:/9|4:/18|5:/8|7:/9|300:/12|#");
	assert_contains(a, "#3:ant/9|5:bee/8|7:bee/9|300:bz/12|1:cat/7|#");

	/* An update moves the index entry; a delete removes both. */
	static const struct rec_put moved[] = { { 2, 5, "cat", "five moved" } };
	static const struct rec_put gone[] = { { 2, 3, "", "" } };
	struct script mp = { f->pg_things, moved, 1 }, ml = { f->lm_things, moved, 1 };
	struct script gp = { f->pg_things, gone, 1 }, gl = { f->lm_things, gone, 1 };
	assert_rc(rd_store_write(f->pg, put_all, &mp), 0);
	assert_rc(rd_store_write(f->lm, put_all, &ml), 0);
	assert_rc(rd_store_write(f->pg, del_one, &gp), 0);
	assert_rc(rd_store_write(f->lm, del_one, &gl), 0);
	assert_rc(rd_store_write(f->pg, del_one, &gp), RD_ENOTFOUND);
	scans(f->pg, f->pg_things, a, sizeof a);
	scans(f->lm, f->lm_things, b, sizeof b);
	assert_string_equal(a, b);
	assert_contains(a, "#7:bee/9|300:bz/12|1:cat/7|5:cat/14|#");
	int problems = 0;
	assert_int_equal(rd_store_check(f->pg, any_problem, &problems), 0);
}

/* ---- many records: pages, pointers, batches ------------------------------------ */

#define MANY 3000

static int put_many(struct rd_txn *t, void *arg)
{
	struct rd_table *tb = arg;
	struct rd_batch_item *items = calloc(MANY, sizeof *items);
	char (*bufs)[32] = calloc(MANY, 32);
	for (size_t i = 0; i < MANY; i++) {
		uint64_t id = (i * 7919) % MANY + 1; /* every id 1..MANY once, unsorted */
		snprintf(bufs[i], 32, "c%02llu", (unsigned long long)(id % 50));
		size_t n = strlen(bufs[i]) + 1;
		n += (size_t)snprintf(bufs[i] + n, 32 - n, "v%llu", (unsigned long long)id);
		items[i] = (struct rd_batch_item){ id, bufs[i], n };
	}
	int rc = rd_txn_put_batch(t, tb, 5, items, MANY);
	free(items);
	free(bufs);
	return rc;
}

static void test_pages_pointers_and_batches(void **state)
{
	struct fx *f = *state;
	assert_rc(rd_store_write(f->pg, put_many, f->pg_things), 0);
	struct rd_txn *t;
	struct rd_iter it;
	struct rd_item item;
	assert_rc(rd_store_read(f->pg, &t), 0);
	const void *first;
	size_t first_len;
	assert_rc(rd_txn_get(t, f->pg_things, 5, 1, &first, &first_len), 0);
	const char **vals = calloc(MANY + 1, sizeof *vals);
	uint64_t expect = 1;
	int rc = rd_iter_records(&it, t, f->pg_things, 5, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		assert_int_equal(item.id, expect);
		vals[expect++] = item.val;
	}
	assert_rc(rc, 0);
	rd_iter_close(&it);
	assert_int_equal(expect, MANY + 1);
	/* Every pointer handed out is still good now, as on LMDB. */
	assert_memory_equal(first, "c01\0v1", 6);
	for (uint64_t id = 1; id <= MANY; id++) {
		char want[32];
		snprintf(want, sizeof want, "v%llu", (unsigned long long)id);
		assert_string_equal(vals[id] + strlen(vals[id]) + 1, want);
	}
	/* Index range over one category: ids ascending within the key. */
	uint64_t last = 0, n = 0;
	rc = rd_iter_index(&it, t, f->pg_things, "cat", 5, "c07", 4, "c08", 4);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		assert_int_equal(item.id % 50, 7);
		assert_true(item.id > last);
		assert_memory_equal(item.key, "c07", 4);
		last = item.id;
		n++;
	}
	assert_rc(rc, 0);
	rd_iter_close(&it);
	assert_int_equal(n, MANY / 50);
	free(vals);
	rd_txn_end(t);

	/* Duplicate ids in one batch are refused and nothing is written. */
	struct rd_batch_item dup[2] = { { 9001, "x\0a", 3 }, { 9001, "x\0b", 3 } };
	assert_rc(rd_store_put_batch(f->pg, f->pg_plain, 5, dup, 2), RD_EINVAL);
	assert_rc(rd_store_read(f->pg, &t), 0);
	assert_rc(rd_store_count(t, f->pg_plain, 5, &n), 0);
	assert_int_equal(n, 0);
	rd_txn_end(t);
	int problems = 0;
	assert_int_equal(rd_store_check(f->pg, any_problem, &problems), 0);
	assert_int_equal(problems, 0);
}

/* ---- ids, meta, aborted writes -------------------------------------------------- */

struct ids {
	struct rd_table *a, *b;
	uint64_t got[4];
	int fail;
};

static int take_ids(struct rd_txn *t, void *arg)
{
	struct ids *x = arg;
	int rc = 0;
	if (!rc)
		rc = rd_txn_next_id(t, x->a, 1, &x->got[0]);
	if (!rc)
		rc = rd_txn_next_id(t, x->a, 1, &x->got[1]);
	if (!rc)
		rc = rd_txn_next_id(t, x->a, 2, &x->got[2]);
	if (!rc)
		rc = rd_txn_next_id(t, x->b, 1, &x->got[3]);
	if (!rc)
		rc = rd_txn_meta_put(t, "k", "value", 5);
	return rc < 0 ? rc : x->fail;
}

static void test_ids_meta_and_abort(void **state)
{
	struct fx *f = *state;
	struct ids x = { f->pg_things, f->pg_plain, { 0 }, RD_EINVAL };
	assert_rc(rd_store_write(f->pg, take_ids, &x), RD_EINVAL);
	struct rd_txn *t;
	const void *v;
	size_t len;
	assert_rc(rd_store_read(f->pg, &t), 0);
	assert_rc(rd_txn_meta_get(t, "k", &v, &len), RD_ENOTFOUND); /* the aborted write left nothing */
	rd_txn_end(t);
	x.fail = 0;
	assert_rc(rd_store_write(f->pg, take_ids, &x), 0);
	assert_int_equal(x.got[0], 1); /* the aborted write's ids were not used up */
	assert_int_equal(x.got[1], 2);
	assert_int_equal(x.got[2], 1);
	assert_int_equal(x.got[3], 1);
	assert_rc(rd_store_write(f->pg, take_ids, &x), 0);
	assert_int_equal(x.got[0], 3);
	assert_int_equal(x.got[2], 2);
	assert_rc(rd_store_read(f->pg, &t), 0);
	assert_rc(rd_txn_meta_get(t, "k", &v, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(v, "value", 5);
	rd_txn_end(t);
}

/* ---- child transactions --------------------------------------------------------- */

struct kids {
	struct rd_table *tb;
};

static int children(struct rd_txn *t, void *arg)
{
	struct kids *k = arg;
	struct rd_txn *c, *g;
	int rc = rd_txn_put(t, k->tb, 1, 1, "parent", 6, 0);
	if (rc < 0)
		return rc;
	/* aborted child: its record and its id vanish */
	if ((rc = rd_txn_begin_child(t, &c)) < 0)
		return rc;
	uint64_t id;
	rd_txn_next_id(c, k->tb, 1, &id);
	rd_txn_put(c, k->tb, 1, 2, "dropped", 7, 0);
	rd_txn_abort_child(c);
	/* committed child with an aborted grandchild */
	if ((rc = rd_txn_begin_child(t, &c)) < 0)
		return rc;
	rd_txn_put(c, k->tb, 1, 3, "kept", 4, 0);
	if ((rc = rd_txn_begin_child(c, &g)) < 0)
		return rc;
	rd_txn_put(g, k->tb, 1, 4, "grandchild", 10, 0);
	assert_rc(rd_txn_put(g, k->tb, 1, 1, "again", 5, RD_PUT_NEW), RD_EEXISTS);
	rd_txn_abort_child(g);
	if ((rc = rd_txn_commit_child(c)) < 0)
		return rc;
	/* the parent sees what the committed child wrote and goes on */
	const void *v;
	size_t len;
	if ((rc = rd_txn_get(t, k->tb, 1, 3, &v, &len)) < 0)
		return rc;
	if ((rc = rd_txn_get(t, k->tb, 1, 2, &v, &len)) != RD_ENOTFOUND)
		return RD_EINTERNAL;
	if ((rc = rd_txn_next_id(t, k->tb, 1, &id)) < 0)
		return rc;
	return (int)id;
}

static void test_child_transactions(void **state)
{
	struct fx *f = *state;
	struct kids k = { f->pg_plain };
	assert_rc(rd_store_write(f->pg, children, &k), 1); /* the aborted child's id is back */
	struct kids kl = { f->lm_plain };
	assert_rc(rd_store_write(f->lm, children, &kl), 1);
	struct rd_txn *t;
	const void *v;
	size_t len;
	assert_rc(rd_store_read(f->pg, &t), 0);
	assert_rc(rd_txn_get(t, f->pg_plain, 1, 1, &v, &len), 0);
	assert_rc(rd_txn_get(t, f->pg_plain, 1, 2, &v, &len), RD_ENOTFOUND);
	assert_rc(rd_txn_get(t, f->pg_plain, 1, 3, &v, &len), 0);
	assert_memory_equal(v, "kept", 4);
	assert_rc(rd_txn_get(t, f->pg_plain, 1, 4, &v, &len), RD_ENOTFOUND);
	rd_txn_end(t);
}

/* ---- serialization failures: the write function is replayed --------------------- */

struct bump {
	struct rd_table *tb;
	int calls;
	PGconn *side;
};

static int bump(struct rd_txn *t, void *arg)
{
	struct bump *b = arg;
	b->calls++;
	const void *v;
	size_t len;
	int rc = rd_txn_get(t, b->tb, 1, 1, &v, &len);
	if (rc < 0)
		return rc;
	char now[32];
	snprintf(now, sizeof now, "%.*s", (int)len, (const char *)v);
	long n = atol(now);
	if (b->calls == 1) {
		/* Another node commits an increment after our snapshot was taken. */
		char sql[200];
		snprintf(sql, sizeof sql, "UPDATE t_plain SET val = convert_to('%ld', 'UTF8') WHERE tenant = 1 AND id = 1",
			 n + 1);
		side_exec(b->side, sql);
	}
	snprintf(now, sizeof now, "%ld", n + 1);
	return rd_txn_put(t, b->tb, 1, 1, now, strlen(now), 0);
}

static int seed(struct rd_txn *t, void *arg)
{
	return rd_txn_put(t, arg, 1, 1, "10", 2, 0);
}

static void test_serialization_failure_replays(void **state)
{
	struct fx *f = *state;
	assert_rc(rd_store_write(f->pg, seed, f->pg_plain), 0);
	struct bump b = { f->pg_plain, 0, side_conn() };
	assert_rc(rd_store_write(f->pg, bump, &b), 0);
	PQfinish(b.side);
	assert_int_equal(b.calls, 2); /* the first run lost (40001) and was replayed */
	struct rd_txn *t;
	const void *v;
	size_t len;
	assert_rc(rd_store_read(f->pg, &t), 0);
	assert_rc(rd_txn_get(t, f->pg_plain, 1, 1, &v, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(v, "12", 2); /* both increments, neither lost */
	rd_txn_end(t);
}

/* A write function that ignores a failed statement never reports success. */
static int ignore_failure(struct rd_txn *t, void *arg)
{
	struct fx *f = arg;
	rd_txn_put(t, f->pg_plain, 1, 1, "first", 5, 0);
	/* rd_seq was given a CHECK no row meets: this statement fails, and the
	 * function goes on as if it had not. */
	uint64_t id;
	(void)rd_txn_next_id(t, f->pg_plain, 1, &id);
	return 0;
}

static void test_failed_statement_is_not_success(void **state)
{
	struct fx *f = *state;
	/* Sabotage rd_seq so that next_id fails inside the write. */
	PGconn *c = side_conn();
	side_exec(c, "ALTER TABLE rd_seq ADD CONSTRAINT small CHECK (last < 0)");
	assert_true(rd_store_write(f->pg, ignore_failure, f) < 0);
	side_exec(c, "ALTER TABLE rd_seq DROP CONSTRAINT small");
	PQfinish(c);
	struct rd_txn *t;
	const void *v;
	size_t len;
	assert_rc(rd_store_read(f->pg, &t), 0);
	assert_rc(rd_txn_get(t, f->pg_plain, 1, 1, &v, &len), RD_ENOTFOUND); /* nothing committed */
	rd_txn_end(t);
}

/* ---- check, reconnection ---------------------------------------------------------- */

static void count_problem(const char *problem, void *arg)
{
	(*(int *)arg)++;
	assert_contains(problem, "things.cat");
}

static void test_check_finds_missing_index_entry(void **state)
{
	struct fx *f = *state;
	struct script sp = { f->pg_things, world, sizeof world / sizeof *world };
	assert_rc(rd_store_write(f->pg, put_all, &sp), 0);
	int n = 0;
	assert_int_equal(rd_store_check(f->pg, count_problem, &n), 0);
	PGconn *c = side_conn();
	side_exec(c, "DELETE FROM i_things WHERE tenant = 2 AND id = 7");
	side_exec(c, "INSERT INTO i_things VALUES (2, 'cat', '\\x7a7a00000000000000000063'::bytea, 99)");
	PQfinish(c);
	assert_int_equal(rd_store_check(f->pg, count_problem, &n), 2);
	assert_int_equal(n, 2);
}

static void test_reconnects_after_the_server_drops_connections(void **state)
{
	struct fx *f = *state;
	assert_rc(rd_store_write(f->pg, seed, f->pg_plain), 0);
	struct rd_txn *t1, *t2;
	assert_rc(rd_store_read(f->pg, &t1), 0);
	assert_rc(rd_store_read(f->pg, &t2), 0); /* two pooled connections */
	rd_txn_end(t1);
	rd_txn_end(t2);
	PGconn *c = side_conn();
	side_exec(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'renewd'");
	PQfinish(c);
	usleep(100 * 1000);
	const void *v;
	size_t len;
	assert_rc(rd_store_read(f->pg, &t1), 0); /* dead pooled connections are dropped, a new one made */
	assert_rc(rd_txn_get(t1, f->pg_plain, 1, 1, &v, &len), 0);
	rd_txn_end(t1);
	assert_rc(rd_store_write(f->pg, seed, f->pg_plain), 0);
}

int main(int argc, char **argv)
{
	url = getenv("RENEWD_TEST_PG_URL");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scans_match_lmdb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages_pointers_and_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_meta_and_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serialization_failure_replays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_statement_is_not_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_finds_missing_index_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnects_after_the_server_drops_connections, setup, teardown),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("store_pg", tests, NULL, NULL);
}
