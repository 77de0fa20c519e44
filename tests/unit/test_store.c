/*
 * test_store.c: the LMDB store (core/store/store.c) through its interface.
 *
 * Every test gets a fresh temporary directory (mkdtemp under /tmp, removed
 * afterwards); the store lives in <tmp>/store and other directories a test
 * needs (backups, decoys) sit next to it.
 *
 * Covers: put/get/delete and RD_PUT_NEW; tenant-range scans; secondary
 * index maintenance and range scans; id sequences; map growth from 1 MiB
 * and the map_max cap (RD_EMAPFULL with nothing half-written); batch
 * writes on the append and the non-append path; aborted writes; nested
 * (child) write transactions; reopening;
 * schema versions and migrations; refusing directories that are not a
 * store (missing, a file, foreign files, a garbage data.mdb, locked,
 * read-only and empty); rd_store_check finding index damage; backups;
 * filling an index added to a table that holds records, and keys-only walks;
 * bulk loads (rd_txn_bulk_begin) leaving what plain puts leave.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/record.h"
#include "store/store.h"
#include "unit.h"

/* ---- test records ------------------------------------------------------------
 * A record of kind KIND holds a category (the index key, optional), a
 * number, and optional filler bytes whose pattern depends on the number. */

#define KIND 0x42
enum { F_CAT = 1, F_NUM = 2, F_PAD = 3 };
#define PAD_MAX 2048

static void fill_pad(uint8_t *buf, size_t n, uint64_t num)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(num * 31 + i);
}

static void make_rec(struct rd_rec_writer *w, const char *cat, uint64_t num, size_t pad)
{
	uint8_t buf[PAD_MAX];
	rd_rec_begin(w, KIND, 1);
	rd_rec_str(w, F_CAT, cat);
	rd_rec_uint(w, F_NUM, num);
	if (pad) {
		assert_true(pad <= PAD_MAX);
		fill_pad(buf, pad, num);
		rd_rec_bytes(w, F_PAD, buf, pad);
	}
}

struct rec {
	char cat[64];
	uint64_t num;
	size_t pad;
	bool pad_ok; /* the filler has the pattern of num */
};

static int parse_rec(const void *val, size_t len, struct rec *out)
{
	struct rd_rec_reader r;
	struct rd_rec_field f;
	memset(out, 0, sizeof *out);
	out->pad_ok = true;
	int rc = rd_rec_open(&r, val, len, KIND, 1);
	if (rc < 0)
		return rc;
	while ((rc = rd_rec_next(&r, &f)) > 0) {
		if (f.no == F_CAT && f.len < sizeof out->cat) {
			memcpy(out->cat, f.data, f.len);
			out->cat[f.len] = 0;
		} else if (f.no == F_NUM) {
			out->num = f.u;
		} else if (f.no == F_PAD) {
			uint8_t want[PAD_MAX];
			out->pad = f.len;
			fill_pad(want, f.len < PAD_MAX ? f.len : PAD_MAX, out->num);
			out->pad_ok = f.len <= PAD_MAX && memcmp(f.data, want, f.len) == 0;
		}
	}
	return rc;
}

/* ---- index extractors ----------------------------------------------------------- */

/* test_check_detects_damage flips this: the "skewed" index then yields
 * different keys from the same records. */
static bool g_skew;

/* The category, NUL-terminated, behind prefix; 0 when the record has none. */
static int cat_key(const void *rec, size_t len, uint8_t *key, size_t cap, const char *prefix)
{
	struct rd_rec_reader r;
	struct rd_rec_field f;
	int rc = rd_rec_open(&r, rec, len, KIND, 1);
	if (rc < 0)
		return rc;
	while ((rc = rd_rec_next(&r, &f)) > 0) {
		if (f.no != F_CAT)
			continue;
		size_t pl = strlen(prefix);
		if (f.wire != RD_WIRE_BYTES || pl + f.len + 1 > cap)
			return RD_ECORRUPT;
		memcpy(key, prefix, pl);
		memcpy(key + pl, f.data, f.len);
		key[pl + f.len] = 0;
		return (int)(pl + f.len + 1);
	}
	return rc;
}

static int key_cat(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	return cat_key(rec, len, key, cap, "");
}

static int key_skewed(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	return cat_key(rec, len, key, cap, g_skew ? "~" : "");
}

static const struct rd_index_def things_idx[] = { { "cat", key_cat } };
static const struct rd_table_def things_def = { "things", things_idx, 1 };
static const struct rd_table_def plain_def = { "plain", NULL, 0 };
static const struct rd_index_def skewed_idx[] = { { "cat", key_skewed } };
static const struct rd_table_def skewed_def = { "skewed", skewed_idx, 1 };
static const struct rd_table_def never_def = { "never_written", things_idx, 1 };

/* ---- fixture -------------------------------------------------------------------- */

struct fixture {
	char root[64];        /* the mkdtemp directory */
	char dir[96];         /* root/store: the store's directory */
	struct rd_store *s;   /* the store under test; closed by teardown */
	struct rd_store *other; /* a second store (a backup copy); closed by teardown */
	struct rd_table *things, *plain;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	if (!fx)
		return -1;
	snprintf(fx->root, sizeof fx->root, "/tmp/rd-test-store-XXXXXX");
	if (!mkdtemp(fx->root)) {
		free(fx);
		return -1;
	}
	snprintf(fx->dir, sizeof fx->dir, "%s/store", fx->root);
	if (mkdir(fx->dir, 0755) != 0) {
		rmdir(fx->root);
		free(fx);
		return -1;
	}
	g_skew = false;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	rd_store_close(&fx->s);
	rd_store_close(&fx->other);
	nftw(fx->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	g_skew = false;
	return 0;
}

/* A path next to the store, in buf. */
static const char *beside(const struct fixture *fx, const char *name, char buf[160])
{
	snprintf(buf, 160, "%s/%s", fx->root, name);
	return buf;
}

static struct rd_store *open_at(const char *dir, const struct rd_store_opts *o)
{
	struct rd_store *s = NULL;
	char err[512] = "";
	int rc = rd_store_open(&s, dir, o, err, sizeof err);
	if (rc != 0)
		fail_msg("rd_store_open(%s): %s: %s", dir, rd_strerror(rc), err);
	assert_non_null(s);
	return s;
}

/* Opens the fixture's store and registers "things" (indexed) and "plain". */
static void open_fx(struct fixture *fx, const struct rd_store_opts *o)
{
	fx->s = open_at(fx->dir, o);
	assert_string_equal(rd_store_dir(fx->s), fx->dir);
	assert_rc(rd_store_register(fx->s, &things_def, &fx->things), 0);
	assert_rc(rd_store_register(fx->s, &plain_def, &fx->plain), 0);
	assert_ptr_equal(rd_store_table(fx->s, "things"), fx->things);
}

static void reopen_fx(struct fixture *fx, const struct rd_store_opts *o)
{
	rd_store_close(&fx->s);
	assert_null(fx->s);
	open_fx(fx, o);
}

/* Opening dir must fail with want, NULL in *out, and an error naming the
 * directory and containing msg. */
static void expect_open_error(const char *dir, const struct rd_store_opts *o, int want, const char *msg)
{
	struct rd_store *s = (struct rd_store *)&s; /* must come back NULL */
	char err[512] = "";
	assert_rc(rd_store_open(&s, dir, o, err, sizeof err), want);
	assert_null(s);
	assert_contains(err, dir);
	if (msg)
		assert_contains(err, msg);
}

/* ---- writing -------------------------------------------------------------------- */

struct op_arg {
	struct rd_table *tb;
	uint64_t tenant, id;
	const void *val;
	size_t len;
	unsigned flags;
};

static int put_fn(struct rd_txn *t, void *arg)
{
	struct op_arg *a = arg;
	return rd_txn_put(t, a->tb, a->tenant, a->id, a->val, a->len, a->flags);
}

static int del_fn(struct rd_txn *t, void *arg)
{
	struct op_arg *a = arg;
	return rd_txn_del(t, a->tb, a->tenant, a->id);
}

static int put_raw(struct rd_store *s, struct rd_table *tb, uint64_t tenant, uint64_t id, const void *val,
		   size_t len, unsigned flags)
{
	struct op_arg a = { tb, tenant, id, val, len, flags };
	return rd_store_write(s, put_fn, &a);
}

static int put_rec_flags(struct rd_store *s, struct rd_table *tb, uint64_t tenant, uint64_t id, const char *cat,
			 uint64_t num, unsigned flags)
{
	struct rd_rec_writer w = { 0 };
	make_rec(&w, cat, num, 0);
	int rc = put_raw(s, tb, tenant, id, w.buf, w.len, flags);
	rd_rec_writer_free(&w);
	return rc;
}

static int put_rec(struct rd_store *s, struct rd_table *tb, uint64_t tenant, uint64_t id, const char *cat,
		   uint64_t num)
{
	return put_rec_flags(s, tb, tenant, id, cat, num, 0);
}

static int del_rec(struct rd_store *s, struct rd_table *tb, uint64_t tenant, uint64_t id)
{
	struct op_arg a = { tb, tenant, id, NULL, 0, 0 };
	return rd_store_write(s, del_fn, &a);
}

/* Writes ids [first, first + n) of one tenant in one transaction, each with
 * pad filler bytes and category "c<id % 7>". */
struct range_arg {
	struct rd_table *tb;
	uint64_t tenant, first, n;
	size_t pad;
};

static int put_range_fn(struct rd_txn *t, void *arg)
{
	struct range_arg *a = arg;
	struct rd_rec_writer w = { 0 };
	int rc = 0;
	for (uint64_t id = a->first; id < a->first + a->n && rc >= 0; id++) {
		char cat[16];
		snprintf(cat, sizeof cat, "c%u", (unsigned)(id % 7));
		make_rec(&w, cat, id, a->pad);
		rc = rd_txn_put(t, a->tb, a->tenant, id, w.buf, w.len, 0);
	}
	rd_rec_writer_free(&w);
	return rc;
}

struct id_arg {
	struct rd_table *tb;
	uint64_t tenant;
	size_t n;
	uint64_t got[8];
};

static int next_ids_fn(struct rd_txn *t, void *arg)
{
	struct id_arg *a = arg;
	for (size_t i = 0; i < a->n; i++) {
		int rc = rd_txn_next_id(t, a->tb, a->tenant, &a->got[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static uint64_t next_id(struct rd_store *s, struct rd_table *tb, uint64_t tenant)
{
	struct id_arg a = { tb, tenant, 1, { 0 } };
	assert_rc(rd_store_write(s, next_ids_fn, &a), 0);
	return a.got[0];
}

/* ---- reading -------------------------------------------------------------------- */

/* rd_txn_get's result; *out is the parsed record when it was found. */
static int get_rec(struct rd_store *s, struct rd_table *tb, uint64_t tenant, uint64_t id, struct rec *out)
{
	struct rd_txn *t;
	const void *v;
	size_t len;
	assert_rc(rd_store_read(s, &t), 0);
	int rc = rd_txn_get(t, tb, tenant, id, &v, &len);
	if (rc == 0)
		assert_rc(parse_rec(v, len, out), 0);
	rd_txn_end(t);
	return rc;
}

/* Asserts that (tenant, id) holds a record of category cat and number num. */
static void assert_rec(struct rd_store *s, struct rd_table *tb, uint64_t tenant, uint64_t id, const char *cat,
		       uint64_t num)
{
	struct rec r;
	int rc = get_rec(s, tb, tenant, id, &r);
	if (rc != 0)
		fail_msg("record %llu/%llu: %s", (unsigned long long)tenant, (unsigned long long)id, rd_strerror(rc));
	assert_string_equal(r.cat, cat ? cat : "");
	assert_int_equal(r.num, num);
	assert_true(r.pad_ok);
}

static void assert_no_rec(struct rd_store *s, struct rd_table *tb, uint64_t tenant, uint64_t id)
{
	struct rec r;
	assert_rc(get_rec(s, tb, tenant, id, &r), RD_ENOTFOUND);
}

#define MAX_IDS 64
struct ids {
	size_t n;
	uint64_t id[MAX_IDS];
};

static struct ids scan_records(struct rd_store *s, struct rd_table *tb, uint64_t tenant, uint64_t from_id)
{
	struct ids out = { 0 };
	struct rd_txn *t;
	struct rd_iter it;
	struct rd_item item;
	int rc;
	assert_rc(rd_store_read(s, &t), 0);
	assert_rc(rd_iter_records(&it, t, tb, tenant, from_id), 0);
	while ((rc = rd_iter_next(&it, &item)) > 0) {
		assert_true(out.n < MAX_IDS);
		struct rec r;
		assert_rc(parse_rec(item.val, item.len, &r), 0);
		assert_null(item.key);
		out.id[out.n++] = item.id;
	}
	assert_rc(rc, 0);
	assert_rc(rd_iter_next(&it, &item), 0); /* stays done */
	rd_iter_close(&it);
	rd_txn_end(t);
	return out;
}

/* Index range [from, to) (NULL: open), checking that every entry's key is
 * the key its record yields. */
static struct ids scan_index_raw(struct rd_store *s, struct rd_table *tb, uint64_t tenant, const void *from,
				 size_t from_len, const void *to, size_t to_len)
{
	struct ids out = { 0 };
	struct rd_txn *t;
	struct rd_iter it;
	struct rd_item item;
	int rc;
	assert_rc(rd_store_read(s, &t), 0);
	assert_rc(rd_iter_index(&it, t, tb, "cat", tenant, from, from_len, to, to_len), 0);
	while ((rc = rd_iter_next(&it, &item)) > 0) {
		assert_true(out.n < MAX_IDS);
		uint8_t key[RD_INDEX_KEY_MAX];
		int n = key_cat(item.val, item.len, key, sizeof key);
		assert_int_equal(n, item.key_len);
		assert_memory_equal(key, item.key, item.key_len);
		out.id[out.n++] = item.id;
	}
	assert_rc(rc, 0);
	rd_iter_close(&it);
	rd_txn_end(t);
	return out;
}

static struct ids scan_index(struct rd_store *s, struct rd_table *tb, uint64_t tenant, const char *from, const char *to)
{
	return scan_index_raw(s, tb, tenant, from, from ? strlen(from) : 0, to, to ? strlen(to) : 0);
}

static void assert_ids_are(const struct ids *got, const uint64_t *want, size_t n, const char *what)
{
	bool same = got->n == n;
	for (size_t i = 0; same && i < n; i++)
		same = got->id[i] == want[i];
	if (same)
		return;
	char text[512];
	size_t len = 0;
	for (size_t i = 0; i < got->n && len < sizeof text - 24; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, " %llu", (unsigned long long)got->id[i]);
	text[len] = 0;
	fail_msg("%s: got %zu ids [%s ], want %zu", what, got->n, text, n);
}

#define ASSERT_IDS(got, ...)                                                          \
	do {                                                                              \
		const uint64_t want_[] = { __VA_ARGS__ };                                     \
		struct ids got_ = (got);                                                      \
		assert_ids_are(&got_, want_, sizeof want_ / sizeof *want_, #got);            \
	} while (0)

#define ASSERT_NO_IDS(got)                                                            \
	do {                                                                              \
		struct ids got_ = (got);                                                      \
		assert_ids_are(&got_, NULL, 0, #got);                                         \
	} while (0)

static uint64_t count(struct rd_store *s, struct rd_table *tb, uint64_t tenant)
{
	struct rd_txn *t;
	uint64_t n = 0;
	assert_rc(rd_store_read(s, &t), 0);
	assert_rc(rd_store_count(t, tb, tenant, &n), 0);
	rd_txn_end(t);
	return n;
}

/* ---- integrity check -------------------------------------------------------------- */

struct problems {
	int calls, missing, stale, dangling;
};

static void on_problem(const char *problem, void *arg)
{
	struct problems *p = arg;
	p->calls++;
	if (strstr(problem, "missing"))
		p->missing++;
	else if (strstr(problem, "stale"))
		p->stale++;
	else if (strstr(problem, "does not exist"))
		p->dangling++;
}

static void assert_clean(struct rd_store *s)
{
	struct problems p = { 0 };
	assert_rc(rd_store_check(s, on_problem, &p), 0);
	assert_int_equal(p.calls, 0);
}

/* ---- tests: records --------------------------------------------------------------- */

static void test_put_get_delete(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	struct rd_table *tables[] = { fx->plain, fx->things };
	for (size_t i = 0; i < 2; i++) {
		struct rd_table *tb = tables[i];
		assert_rc(put_rec(fx->s, tb, 1, 10, "alpha", 100), 0);
		assert_rc(put_rec(fx->s, tb, 1, 11, "beta", 101), 0);
		assert_rc(put_rec(fx->s, tb, 2, 10, "other", 200), 0); /* same id, other tenant */
		assert_rec(fx->s, tb, 1, 10, "alpha", 100);
		assert_rec(fx->s, tb, 1, 11, "beta", 101);
		assert_rec(fx->s, tb, 2, 10, "other", 200);

		/* Overwrite. */
		assert_rc(put_rec(fx->s, tb, 1, 10, "gamma", 300), 0);
		assert_rec(fx->s, tb, 1, 10, "gamma", 300);

		/* Delete one; the neighbours stay. */
		assert_rc(del_rec(fx->s, tb, 1, 10), 0);
		assert_no_rec(fx->s, tb, 1, 10);
		assert_rc(del_rec(fx->s, tb, 1, 10), RD_ENOTFOUND);
		assert_rec(fx->s, tb, 1, 11, "beta", 101);
		assert_rec(fx->s, tb, 2, 10, "other", 200);
	}
	/* Values are opaque to a table without indexes, even empty ones. */
	assert_rc(put_raw(fx->s, fx->plain, 1, 12, "", 0, 0), 0);
	struct rd_txn *t;
	const void *v;
	size_t len = 99;
	assert_rc(rd_store_read(fx->s, &t), 0);
	assert_rc(rd_txn_get(t, fx->plain, 1, 12, &v, &len), 0);
	assert_int_equal(len, 0);
	rd_txn_end(t);
	assert_clean(fx->s);
}

static void test_put_new(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	assert_rc(put_rec_flags(fx->s, fx->things, 1, 5, "first", 1, RD_PUT_NEW), 0);
	assert_rc(put_rec_flags(fx->s, fx->things, 1, 5, "second", 2, RD_PUT_NEW), RD_EEXISTS);
	assert_rec(fx->s, fx->things, 1, 5, "first", 1);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "first", "first\x01"), 5);
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 1, "second", NULL));
	/* The same id in another tenant is another record. */
	assert_rc(put_rec_flags(fx->s, fx->things, 2, 5, "second", 2, RD_PUT_NEW), 0);
	assert_rc(put_rec_flags(fx->s, fx->plain, 1, 5, "x", 1, RD_PUT_NEW), 0);
	assert_rc(put_rec_flags(fx->s, fx->plain, 1, 5, "y", 2, RD_PUT_NEW), RD_EEXISTS);
	assert_rec(fx->s, fx->plain, 1, 5, "x", 1);
	assert_clean(fx->s);
}

static void test_get_missing(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	assert_no_rec(fx->s, fx->plain, 1, 1);
	assert_rc(put_rec(fx->s, fx->plain, 1, 1, "a", 1), 0);
	assert_no_rec(fx->s, fx->plain, 1, 2);
	assert_no_rec(fx->s, fx->plain, 2, 1);
	assert_no_rec(fx->s, fx->plain, 0, 1);
	assert_no_rec(fx->s, fx->things, 1, 1); /* tables are separate */
	assert_rc(del_rec(fx->s, fx->plain, 1, 2), RD_ENOTFOUND);

	struct rd_txn *t;
	const void *v;
	size_t len;
	assert_rc(rd_store_read(fx->s, &t), 0);
	assert_rc(rd_txn_meta_get(t, "no-such-key", &v, &len), RD_ENOTFOUND);
	rd_txn_end(t);
}

/* Tenants are contiguous, id-ordered ranges: interleaved writes of three
 * tenants (and one whose id is > 255, to catch byte-order mistakes) scan
 * back per tenant. */
static void test_tenant_ranges(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	static const uint64_t tenants[] = { 3, 1, 258, 2 };
	for (uint64_t id = 20; id >= 1; id--)
		for (size_t k = 0; k < 4; k++)
			assert_rc(put_rec(fx->s, fx->plain, tenants[k], id, NULL, tenants[k] * 1000 + id), 0);

	struct ids got = scan_records(fx->s, fx->plain, 2, 0);
	assert_int_equal(got.n, 20);
	for (size_t i = 0; i < 20; i++) {
		assert_int_equal(got.id[i], i + 1);
		assert_rec(fx->s, fx->plain, 2, got.id[i], NULL, 2000 + got.id[i]);
	}
	ASSERT_IDS(scan_records(fx->s, fx->plain, 2, 17), 17, 18, 19, 20);
	ASSERT_IDS(scan_records(fx->s, fx->plain, 2, 20), 20);
	ASSERT_NO_IDS(scan_records(fx->s, fx->plain, 2, 21));
	ASSERT_NO_IDS(scan_records(fx->s, fx->plain, 4, 0));
	ASSERT_NO_IDS(scan_records(fx->s, fx->plain, 0, 0));
	assert_int_equal(scan_records(fx->s, fx->plain, 258, 0).n, 20);
	assert_int_equal(count(fx->s, fx->plain, 2), 20);
	assert_int_equal(count(fx->s, fx->plain, 1), 20);
	assert_int_equal(count(fx->s, fx->plain, 5), 0);

	/* Starting from a deleted id starts at the next one. */
	assert_rc(del_rec(fx->s, fx->plain, 2, 17), 0);
	assert_rc(del_rec(fx->s, fx->plain, 2, 18), 0);
	ASSERT_IDS(scan_records(fx->s, fx->plain, 2, 17), 19, 20);
	assert_int_equal(count(fx->s, fx->plain, 2), 18);
	assert_int_equal(count(fx->s, fx->plain, 3), 20);
}

/* Table and index names: [a-z0-9_], at most 64 bytes.  A longer name used
 * to overflow rd_txn_next_id's key buffer; a ':' could make two definitions
 * share one database. */
static char long_name[65]; /* filled to 64 bytes by the test */
static const struct rd_table_def longest_def = { long_name, things_idx, 1 };
static const struct rd_index_def colon_idx[] = { { "by:cat", key_cat } };
static const struct rd_index_def empty_idx[] = { { "", key_cat } };

static void test_register_names(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	struct rd_table *tb = NULL;

	/* Registering again gives the same handle. */
	assert_rc(rd_store_register(fx->s, &things_def, &tb), 0);
	assert_ptr_equal(tb, fx->things);
	assert_null(rd_store_table(fx->s, "unknown"));

	memset(long_name, 'n', 64);
	assert_rc(rd_store_register(fx->s, &longest_def, &tb), 0);
	assert_int_equal(next_id(fx->s, tb, 1), 1);
	assert_rc(put_rec(fx->s, tb, 1, 1, "x", 1), 0);
	assert_rec(fx->s, tb, 1, 1, "x", 1);

	static char too_long[200];
	memset(too_long, 'n', sizeof too_long - 1);
	static const char *const bad[] = { "", "Things", "a:b", "a b", "t\xc3\xa9", too_long };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const struct rd_table_def def = { bad[i], NULL, 0 };
		tb = NULL;
		assert_rc(rd_store_register(fx->s, &def, &tb), RD_EINVAL);
		assert_null(tb);
		assert_null(rd_store_table(fx->s, bad[i]));
	}
	const struct rd_table_def colon = { "colon", colon_idx, 1 };
	assert_rc(rd_store_register(fx->s, &colon, &tb), RD_EINVAL);
	const struct rd_table_def empty = { "empty", empty_idx, 1 };
	assert_rc(rd_store_register(fx->s, &empty, &tb), RD_EINVAL);
	assert_null(rd_store_table(fx->s, "colon"));
}

/* ---- tests: indexes ------------------------------------------------------------------ */

static void test_index_maintenance(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	assert_rc(put_rec(fx->s, fx->things, 1, 1, "b", 1), 0);
	assert_rc(put_rec(fx->s, fx->things, 1, 2, "a", 2), 0);
	assert_rc(put_rec(fx->s, fx->things, 1, 3, "c", 3), 0);
	assert_rc(put_rec(fx->s, fx->things, 1, 4, "b", 4), 0);
	assert_rc(put_rec(fx->s, fx->things, 1, 5, NULL, 5), 0); /* no category: no entry */
	assert_rc(put_rec(fx->s, fx->things, 1, 6, "bb", 6), 0);
	assert_rc(put_rec(fx->s, fx->things, 2, 7, "b", 7), 0); /* another tenant */

	/* Key order, then id order within a key. */
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, NULL, NULL), 2, 1, 4, 6, 3);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "b", "c"), 1, 4, 6);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "b", "bb"), 1, 4); /* to is exclusive */
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "bb", NULL), 6, 3);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, NULL, "b"), 2);
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 1, "d", NULL));
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 1, "b", "b"));
	ASSERT_IDS(scan_index(fx->s, fx->things, 2, NULL, NULL), 7);
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 3, NULL, NULL));
	/* Bounds may be whole entry keys (key, NUL, big-endian id), as when
	 * paging: from is inclusive, to exclusive, to the id. */
	const uint8_t b1[] = { 'b', 0, 0, 0, 0, 0, 0, 0, 0, 1 }, b4[] = { 'b', 0, 0, 0, 0, 0, 0, 0, 0, 4 };
	ASSERT_IDS(scan_index_raw(fx->s, fx->things, 1, b1, sizeof b1, b4, sizeof b4), 1);
	ASSERT_IDS(scan_index_raw(fx->s, fx->things, 1, b4, sizeof b4, "c", 1), 4, 6);
	ASSERT_NO_IDS(scan_index_raw(fx->s, fx->things, 1, "b", 1, b1, sizeof b1));

	/* Update: the key changes, the old entry goes, the new one comes. */
	assert_rc(put_rec(fx->s, fx->things, 1, 1, "z", 11), 0);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "b", "c"), 4, 6);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "z", NULL), 1);
	/* Update with the same key: one entry, not two. */
	assert_rc(put_rec(fx->s, fx->things, 1, 1, "z", 12), 0);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "z", NULL), 1);
	/* Update that drops the key, then one that adds it. */
	assert_rc(put_rec(fx->s, fx->things, 1, 3, NULL, 13), 0);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, NULL, NULL), 2, 4, 6, 1);
	assert_rc(put_rec(fx->s, fx->things, 1, 5, "a", 15), 0);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "a", "b"), 2, 5);

	/* Delete: the entry goes. */
	assert_rc(del_rec(fx->s, fx->things, 1, 4), 0);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "b", "c"), 6);
	assert_rc(del_rec(fx->s, fx->things, 1, 3), 0); /* had no entry */
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, NULL, NULL), 2, 5, 6, 1);
	ASSERT_IDS(scan_index(fx->s, fx->things, 2, NULL, NULL), 7);
	assert_clean(fx->s);

	/* An extractor failure fails the write and leaves nothing behind. */
	assert_rc(put_raw(fx->s, fx->things, 1, 40, "not a record", 12, 0), RD_ECORRUPT);
	assert_no_rec(fx->s, fx->things, 1, 40);
	assert_rc(put_raw(fx->s, fx->plain, 1, 40, "not a record", 12, 0), 0); /* no index: no opinion */

	/* Unknown index names and over-long bounds are refused. */
	struct rd_txn *t;
	struct rd_iter it;
	char big[RD_INDEX_KEY_MAX + 1];
	memset(big, 'x', sizeof big);
	assert_rc(rd_store_read(fx->s, &t), 0);
	assert_rc(rd_iter_index(&it, t, fx->things, "nope", 1, NULL, 0, NULL, 0), RD_EINVAL);
	rd_iter_close(&it);
	assert_rc(rd_iter_index(&it, t, fx->things, "cat", 1, big, sizeof big, NULL, 0), RD_EINVAL);
	rd_iter_close(&it);
	assert_rc(rd_iter_index(&it, t, fx->plain, "cat", 1, NULL, 0, NULL, 0), RD_EINVAL);
	rd_iter_close(&it);
	rd_txn_end(t);
	assert_clean(fx->s);
}

static void test_next_id(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	assert_int_equal(next_id(fx->s, fx->things, 1), 1);
	assert_int_equal(next_id(fx->s, fx->things, 1), 2);
	assert_int_equal(next_id(fx->s, fx->things, 2), 1); /* per tenant */
	assert_int_equal(next_id(fx->s, fx->things, 1), 3);
	assert_int_equal(next_id(fx->s, fx->plain, 1), 1);  /* per table */
	assert_int_equal(next_id(fx->s, fx->things, 0), 1);
	assert_int_equal(next_id(fx->s, fx->things, 2), 2);

	/* Several in one transaction. */
	struct id_arg a = { fx->things, 1, 3, { 0 } };
	assert_rc(rd_store_write(fx->s, next_ids_fn, &a), 0);
	assert_int_equal(a.got[0], 4);
	assert_int_equal(a.got[1], 5);
	assert_int_equal(a.got[2], 6);

	/* Never reused, even when the records with the highest ids are gone. */
	for (uint64_t id = 1; id <= 6; id++)
		assert_rc(put_rec(fx->s, fx->things, 1, id, "x", id), 0);
	assert_rc(del_rec(fx->s, fx->things, 1, 6), 0);
	assert_rc(del_rec(fx->s, fx->things, 1, 5), 0);
	assert_int_equal(next_id(fx->s, fx->things, 1), 7);
	/* Nor after a restart. */
	reopen_fx(fx, NULL);
	assert_int_equal(next_id(fx->s, fx->things, 1), 8);
	assert_int_equal(next_id(fx->s, fx->things, 2), 3);
	assert_int_equal(next_id(fx->s, fx->plain, 1), 2);
}

/* ---- tests: map size ------------------------------------------------------------------ */

static void test_map_growth(void **state)
{
	struct fixture *fx = *state;
	struct rd_store_opts o = { .map_size = 1 << 20 };
	open_fx(fx, &o);
	struct rd_store_stats st0, st1, st2;
	assert_rc(rd_store_stats(fx->s, &st0), 0);
	assert_int_equal(st0.map_size, 1 << 20);

	/* 3000 records of 1 KiB in transactions of 300: the map fills up in the
	 * middle of one of them, grows, and the transaction is replayed. */
	for (uint64_t first = 1; first <= 3000; first += 300) {
		struct range_arg a = { fx->things, 1, first, 300, 1024 };
		assert_rc(rd_store_write(fx->s, put_range_fn, &a), 0);
	}
	assert_rc(rd_store_stats(fx->s, &st1), 0);
	assert_true(st1.map_size > st0.map_size);
	assert_true(st1.used_bytes > 3000u * 1024);
	assert_true(st1.used_bytes <= st1.map_size);

	/* One big batch of 2000 more: 2 MiB in one transaction. */
	size_t n = 2000;
	struct rd_batch_item *items = calloc(n, sizeof *items);
	struct rd_rec_writer *ws = calloc(n, sizeof *ws);
	assert_non_null(items);
	assert_non_null(ws);
	for (size_t i = 0; i < n; i++) {
		uint64_t id = 3001 + i;
		char cat[16];
		snprintf(cat, sizeof cat, "c%u", (unsigned)(id % 7));
		make_rec(&ws[i], cat, id, 1024);
		items[i] = (struct rd_batch_item){ id, ws[i].buf, ws[i].len };
	}
	assert_rc(rd_store_put_batch(fx->s, fx->things, 1, items, n), 0);
	for (size_t i = 0; i < n; i++)
		rd_rec_writer_free(&ws[i]);
	free(ws);
	free(items);
	assert_rc(rd_store_stats(fx->s, &st2), 0);
	assert_true(st2.map_size >= st1.map_size);
	assert_true(st2.map_size >= (uint64_t)5000 * 1024);
	assert_true(st2.file_bytes > 0 && st2.file_bytes <= st2.map_size);

	/* Everything reads back, filler included. */
	struct rd_txn *t;
	struct rd_iter it;
	struct rd_item item;
	uint64_t want = 1;
	int rc;
	assert_rc(rd_store_read(fx->s, &t), 0);
	assert_rc(rd_iter_records(&it, t, fx->things, 1, 0), 0);
	while ((rc = rd_iter_next(&it, &item)) > 0) {
		struct rec r;
		assert_int_equal(item.id, want);
		assert_rc(parse_rec(item.val, item.len, &r), 0);
		assert_int_equal(r.num, want);
		assert_int_equal(r.pad, 1024);
		assert_true(r.pad_ok);
		want++;
	}
	assert_rc(rc, 0);
	rd_iter_close(&it);
	rd_txn_end(t);
	assert_int_equal(want, 5001);
	assert_clean(fx->s);

	/* And again after a restart with the same small initial size. */
	reopen_fx(fx, &o);
	assert_int_equal(count(fx->s, fx->things, 1), 5000);
	assert_rec(fx->s, fx->things, 1, 4999, "c1", 4999);
}

/* Another thread's read transaction while this one grows the map: LMDB
 * remaps only with no transaction of the process open, so the growth waits
 * for the reader to end (the remap lock), and the reader's record stays
 * readable at the address it was given the whole time. */
struct reader_arg {
	struct fixture *fx;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool holding;
	uint64_t num;    /* what the record said at the end of the hold */
	double ended;    /* when the reader ended its transaction */
};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *reader_main(void *p)
{
	struct reader_arg *a = p;
	struct rd_txn *t;
	const void *v;
	size_t len;
	if (rd_store_read(a->fx->s, &t) < 0 || rd_txn_get(t, a->fx->things, 1, 7, &v, &len) < 0)
		return NULL;
	pthread_mutex_lock(&a->mu);
	a->holding = true;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	struct timespec ts = { 0, 400 * 1000000 };
	nanosleep(&ts, NULL);
	struct rec r;
	if (parse_rec(v, len, &r) == 0) /* the mapping under v is still the one it was read from */
		a->num = r.num;
	a->ended = mono_s();
	rd_txn_end(t);
	return NULL;
}

static void test_growth_waits_for_other_threads_readers(void **state)
{
	struct fixture *fx = *state;
	struct rd_store_opts o = { .map_size = 1 << 20 };
	open_fx(fx, &o);
	struct range_arg first = { fx->things, 1, 1, 100, 64 };
	assert_rc(rd_store_write(fx->s, put_range_fn, &first), 0);
	struct rd_store_stats st0, st1;
	assert_rc(rd_store_stats(fx->s, &st0), 0);

	struct reader_arg a = { .fx = fx };
	pthread_mutex_init(&a.mu, NULL);
	pthread_cond_init(&a.cv, NULL);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, reader_main, &a), 0);
	pthread_mutex_lock(&a.mu);
	while (!a.holding)
		pthread_cond_wait(&a.cv, &a.mu);
	pthread_mutex_unlock(&a.mu);
	/* 4 MiB into a 1 MiB map: it must grow while the reader holds on */
	struct range_arg big = { fx->things, 1, 1000, 4000, 1024 };
	assert_rc(rd_store_write(fx->s, put_range_fn, &big), 0);
	double wrote = mono_s();
	pthread_join(th, NULL);
	assert_rc(rd_store_stats(fx->s, &st1), 0);
	assert_true(st1.map_size > st0.map_size);
	assert_int_equal(a.num, 7);
	if (!(a.ended > 0 && wrote >= a.ended))
		fail_msg("the map was grown while another thread's read transaction was open");
	pthread_cond_destroy(&a.cv);
	pthread_mutex_destroy(&a.mu);
	assert_int_equal(count(fx->s, fx->things, 1), 4100);
}

static void test_map_max(void **state)
{
	struct fixture *fx = *state;
	/* A cap that doubling does not hit exactly: 1 -> 2 -> 3 MiB. */
	struct rd_store_opts o = { .map_size = 1 << 20, .map_max = 3 << 20 };
	open_fx(fx, &o);
	for (uint64_t id = 1; id <= 20; id++)
		assert_rc(put_rec(fx->s, fx->things, 1, id, "early", id), 0);

	/* 4 MiB in one transaction cannot fit in 3 MiB. */
	struct range_arg a = { fx->things, 1, 1000, 4000, 1024 };
	assert_rc(rd_store_write(fx->s, put_range_fn, &a), RD_EMAPFULL);
	struct rd_store_stats st;
	assert_rc(rd_store_stats(fx->s, &st), 0);
	assert_int_equal(st.map_size, 3 << 20); /* grew up to the cap, not past it */

	/* Earlier data intact, nothing of the failed write visible. */
	assert_int_equal(count(fx->s, fx->things, 1), 20);
	for (uint64_t id = 1; id <= 20; id++)
		assert_rec(fx->s, fx->things, 1, id, "early", id);
	assert_no_rec(fx->s, fx->things, 1, 1000);
	assert_no_rec(fx->s, fx->things, 1, 4999);
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 1, "c", "d"));
	assert_int_equal(scan_index(fx->s, fx->things, 1, NULL, NULL).n, 20);
	assert_clean(fx->s);

	/* The store is still usable. */
	assert_rc(put_rec(fx->s, fx->things, 1, 21, "late", 21), 0);
	assert_rec(fx->s, fx->things, 1, 21, "late", 21);
	reopen_fx(fx, &o);
	assert_int_equal(count(fx->s, fx->things, 1), 21);
}

/* ---- tests: batches ------------------------------------------------------------------- */

/* Items for ids, each a record of category "c<id % 3>" and number id * 10;
 * the writers own the bytes until batch_free. */
struct batch {
	size_t n;
	struct rd_batch_item items[16];
	struct rd_rec_writer w[16];
};

static void batch_make(struct batch *b, const uint64_t *ids, size_t n)
{
	memset(b, 0, sizeof *b);
	assert_true(n <= 16);
	b->n = n;
	for (size_t i = 0; i < n; i++) {
		char cat[8];
		snprintf(cat, sizeof cat, "c%u", (unsigned)(ids[i] % 3));
		make_rec(&b->w[i], cat, ids[i] * 10, 0);
		b->items[i] = (struct rd_batch_item){ ids[i], b->w[i].buf, b->w[i].len };
	}
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		rd_rec_writer_free(&b->w[i]);
}

static void test_batch_append(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	static const uint64_t ids[] = { 5, 3, 9, 1, 7 };
	struct batch b;
	batch_make(&b, ids, 5);
	assert_rc(rd_store_put_batch(fx->s, fx->things, 1, b.items, b.n), 0);
	for (size_t i = 1; i < b.n; i++) /* sorted in place */
		assert_true(b.items[i - 1].id < b.items[i].id);
	batch_free(&b);

	ASSERT_IDS(scan_records(fx->s, fx->things, 1, 0), 1, 3, 5, 7, 9);
	for (uint64_t id = 1; id <= 9; id += 2) {
		char cat[8];
		snprintf(cat, sizeof cat, "c%u", (unsigned)(id % 3));
		assert_rec(fx->s, fx->things, 1, id, cat, id * 10);
	}
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, NULL, NULL), 3, 9, 1, 7, 5);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "c1", "c2"), 1, 7);

	/* A later tenant, beyond every key so far: append again. */
	static const uint64_t more[] = { 2, 1 };
	batch_make(&b, more, 2);
	assert_rc(rd_store_put_batch(fx->s, fx->things, 3, b.items, b.n), 0);
	batch_free(&b);
	ASSERT_IDS(scan_records(fx->s, fx->things, 3, 0), 1, 2);
	ASSERT_IDS(scan_index(fx->s, fx->things, 3, NULL, NULL), 1, 2);
	ASSERT_IDS(scan_records(fx->s, fx->things, 1, 0), 1, 3, 5, 7, 9);

	/* An empty batch is fine. */
	assert_rc(rd_store_put_batch(fx->s, fx->things, 1, b.items, 0), 0);
	assert_clean(fx->s);
}

static void test_batch_non_append(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	assert_rc(put_rec(fx->s, fx->things, 1, 100, "old", 1), 0);
	assert_rc(put_rec(fx->s, fx->things, 2, 1, "t2", 2), 0);

	/* Below the existing id, and overwriting it: no append. */
	static const uint64_t ids[] = { 150, 10, 100, 50 };
	struct batch b;
	batch_make(&b, ids, 4);
	assert_rc(rd_store_put_batch(fx->s, fx->things, 1, b.items, b.n), 0);
	batch_free(&b);
	ASSERT_IDS(scan_records(fx->s, fx->things, 1, 0), 10, 50, 100, 150);
	assert_rec(fx->s, fx->things, 1, 100, "c1", 1000);
	assert_rec(fx->s, fx->things, 1, 10, "c1", 100);
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 1, "old", NULL)); /* the overwritten key is gone */
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, NULL, NULL), 150, 10, 100, 50);

	/* Beyond tenant 1's last id, but tenant 2 follows it: no append either. */
	static const uint64_t later[] = { 300, 200 };
	batch_make(&b, later, 2);
	assert_rc(rd_store_put_batch(fx->s, fx->things, 1, b.items, b.n), 0);
	batch_free(&b);
	ASSERT_IDS(scan_records(fx->s, fx->things, 1, 0), 10, 50, 100, 150, 200, 300);
	ASSERT_IDS(scan_records(fx->s, fx->things, 2, 0), 1);
	assert_int_equal(scan_index(fx->s, fx->things, 1, NULL, NULL).n, 6);
	assert_clean(fx->s);
}

static void test_batch_duplicates(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	static const uint64_t ids[] = { 4, 2, 4 };
	struct batch b;
	batch_make(&b, ids, 3);
	assert_rc(rd_store_put_batch(fx->s, fx->things, 1, b.items, b.n), RD_EINVAL);
	batch_free(&b);
	assert_int_equal(count(fx->s, fx->things, 1), 0);
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 1, NULL, NULL));

	/* The same into a table with data (the non-append path). */
	assert_rc(put_rec(fx->s, fx->things, 1, 3, "keep", 3), 0);
	static const uint64_t dup[] = { 1, 2, 1, 5 };
	batch_make(&b, dup, 4);
	assert_rc(rd_store_put_batch(fx->s, fx->things, 1, b.items, b.n), RD_EINVAL);
	batch_free(&b);
	ASSERT_IDS(scan_records(fx->s, fx->things, 1, 0), 3);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, NULL, NULL), 3);
	assert_clean(fx->s);
}

/* ---- tests: transactions ---------------------------------------------------------------- */

static int failing_write(struct rd_txn *t, void *arg)
{
	struct fixture *fx = arg;
	struct rd_rec_writer w = { 0 };
	uint64_t id;
	int rc = 0;
	for (uint64_t i = 1; i <= 3 && rc == 0; i++) {
		make_rec(&w, "doomed", i, 100);
		rc = rd_txn_put(t, fx->things, 1, i, w.buf, w.len, 0);
	}
	rd_rec_writer_free(&w);
	if (rc == 0)
		rc = rd_txn_next_id(t, fx->plain, 1, &id);
	if (rc == 0)
		rc = rd_txn_meta_put(t, "doomed", "yes", 3);
	if (rc == 0)
		rc = rd_txn_del(t, fx->plain, 1, 1);
	return rc < 0 ? rc : RD_EINVAL;
}

static int positive_write(struct rd_txn *t, void *arg)
{
	struct fixture *fx = arg;
	struct rd_rec_writer w = { 0 };
	make_rec(&w, "kept", 7, 0);
	int rc = rd_txn_put(t, fx->things, 1, 7, w.buf, w.len, 0);
	rd_rec_writer_free(&w);
	return rc < 0 ? rc : 7;
}

static void test_write_error_aborts(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	assert_rc(put_rec(fx->s, fx->plain, 1, 1, "survivor", 1), 0);
	assert_rc(rd_store_write(fx->s, failing_write, fx), RD_EINVAL);

	assert_int_equal(count(fx->s, fx->things, 1), 0);
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 1, NULL, NULL));
	assert_rec(fx->s, fx->plain, 1, 1, "survivor", 1); /* the delete was undone */
	struct rd_txn *t;
	const void *v;
	size_t len;
	assert_rc(rd_store_read(fx->s, &t), 0);
	assert_rc(rd_txn_meta_get(t, "doomed", &v, &len), RD_ENOTFOUND);
	rd_txn_end(t);
	assert_int_equal(next_id(fx->s, fx->plain, 1), 1); /* the aborted id is not spent */

	/* A positive result commits and is passed through. */
	assert_rc(rd_store_write(fx->s, positive_write, fx), 7);
	assert_rec(fx->s, fx->things, 1, 7, "kept", 7);
	assert_clean(fx->s);
}

/* Nested write transactions: a child's writes (records, index entries,
 * ids, settings) are the parent's once committed and gone once aborted, the
 * parent going on; a grandchild likewise; the parent's abort takes a
 * committed child's writes with it. */
static int put_in(struct rd_txn *t, struct rd_table *tb, uint64_t id, const char *cat, uint64_t num)
{
	struct rd_rec_writer w = { 0 };
	make_rec(&w, cat, num, 0);
	int rc = rd_txn_put(t, tb, 1, id, w.buf, w.len, 0);
	rd_rec_writer_free(&w);
	return rc;
}

static uint64_t num_in(struct rd_txn *t, struct rd_table *tb, uint64_t id)
{
	const void *v;
	size_t len;
	struct rec r;
	if (rd_txn_get(t, tb, 1, id, &v, &len) < 0)
		return 0;
	assert_rc(parse_rec(v, len, &r), 0);
	return r.num;
}

static int children_write(struct rd_txn *t, void *arg)
{
	struct fixture *fx = arg;
	struct rd_txn *c, *g;
	uint64_t id;
	const void *v;
	size_t len;
	assert_rc(put_in(t, fx->things, 1, "a", 1), 0);
	/* committed: an update that moves an index entry, a new record, an id, a setting */
	assert_rc(rd_txn_begin_child(t, &c), 0);
	assert_int_equal(num_in(c, fx->things, 1), 1); /* the parent's writes are seen */
	assert_rc(put_in(c, fx->things, 1, "z", 11), 0);
	assert_rc(put_in(c, fx->things, 2, "b", 2), 0);
	assert_rc(rd_txn_next_id(c, fx->plain, 1, &id), 0);
	assert_int_equal(id, 1);
	assert_rc(rd_txn_meta_put(c, "kept", "1", 1), 0);
	/* a grandchild, aborted: the child goes on without its writes */
	assert_rc(rd_txn_begin_child(c, &g), 0);
	assert_rc(put_in(g, fx->things, 9, "g", 9), 0);
	rd_txn_abort_child(g);
	assert_int_equal(num_in(c, fx->things, 9), 0);
	assert_rc(rd_txn_commit_child(c), 0);
	assert_int_equal(num_in(t, fx->things, 1), 11);
	assert_int_equal(num_in(t, fx->things, 2), 2);
	assert_rc(rd_txn_meta_get(t, "kept", &v, &len), 0);
	/* aborted: a new record, a delete, an update, an id, a setting */
	assert_rc(rd_txn_begin_child(t, &c), 0);
	assert_rc(put_in(c, fx->things, 3, "b", 3), 0);
	assert_rc(rd_txn_del(c, fx->things, 1, 2), 0);
	assert_rc(put_in(c, fx->things, 1, "y", 21), 0);
	assert_rc(rd_txn_next_id(c, fx->plain, 1, &id), 0);
	assert_int_equal(id, 2);
	assert_rc(rd_txn_meta_put(c, "dropped", "1", 1), 0);
	assert_int_equal(num_in(c, fx->things, 3), 3);
	assert_int_equal(num_in(c, fx->things, 2), 0);
	rd_txn_abort_child(c);
	assert_int_equal(num_in(t, fx->things, 1), 11);
	assert_int_equal(num_in(t, fx->things, 2), 2);
	assert_int_equal(num_in(t, fx->things, 3), 0);
	assert_rc(rd_txn_meta_get(t, "dropped", &v, &len), RD_ENOTFOUND);
	/* the parent's index, in the parent: the committed child's entries only */
	struct rd_iter it;
	struct rd_item item;
	uint64_t seen[8];
	int n = 0, rc = rd_iter_index(&it, t, fx->things, "cat", 1, NULL, 0, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0 && n < 8)
		seen[n++] = item.id;
	rd_iter_close(&it);
	assert_rc(rc, 0);
	assert_int_equal(n, 2);
	assert_int_equal(seen[0], 2); /* "b" */
	assert_int_equal(seen[1], 1); /* "z" */
	/* the parent goes on writing after a child */
	assert_rc(put_in(t, fx->things, 4, "c", 4), 0);
	return 0;
}

static int child_then_fail(struct rd_txn *t, void *arg)
{
	struct fixture *fx = arg;
	struct rd_txn *c;
	assert_rc(rd_txn_begin_child(t, &c), 0);
	assert_rc(put_in(c, fx->things, 5, "doomed", 5), 0);
	assert_rc(rd_txn_commit_child(c), 0);
	return RD_EINVAL;
}

static void test_child_transactions(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	assert_rc(rd_store_write(fx->s, children_write, fx), 0);
	assert_rec(fx->s, fx->things, 1, 1, "z", 11);
	assert_rec(fx->s, fx->things, 1, 2, "b", 2);
	assert_rec(fx->s, fx->things, 1, 4, "c", 4);
	assert_no_rec(fx->s, fx->things, 1, 3);
	assert_no_rec(fx->s, fx->things, 1, 9);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, NULL, NULL), 2, 4, 1);
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 1, "y", "z"));
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 1, "a", "b"));
	assert_int_equal(next_id(fx->s, fx->plain, 1), 2); /* the aborted child's id is not spent */
	struct rd_txn *t;
	const void *v;
	size_t len;
	assert_rc(rd_store_read(fx->s, &t), 0);
	assert_rc(rd_txn_meta_get(t, "kept", &v, &len), 0);
	assert_rc(rd_txn_meta_get(t, "dropped", &v, &len), RD_ENOTFOUND);
	rd_txn_end(t);
	/* a committed child is still part of its parent: the parent's abort drops it */
	assert_rc(rd_store_write(fx->s, child_then_fail, fx), RD_EINVAL);
	assert_no_rec(fx->s, fx->things, 1, 5);
	ASSERT_NO_IDS(scan_index(fx->s, fx->things, 1, "doomed", "e"));
	assert_clean(fx->s);
}

/* The cached read transaction is reset and renewed; a second read while it
 * is busy gets a transaction of its own. */
static void test_read_snapshot(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	assert_rc(put_rec(fx->s, fx->plain, 1, 1, "v1", 1), 0);
	struct rd_txn *a, *b;
	const void *v;
	size_t len;
	assert_rc(rd_store_read(fx->s, &a), 0);
	assert_rc(rd_store_read(fx->s, &b), 0); /* the cached one is busy: a second one */
	assert_ptr_not_equal(a, b);
	rd_txn_end(b);
	assert_rc(rd_txn_get(a, fx->plain, 1, 1, &v, &len), 0);
	rd_txn_end(a);

	for (int i = 0; i < 100; i++) { /* reset/renew many times */
		assert_rc(rd_store_read(fx->s, &a), 0);
		assert_rc(rd_txn_get(a, fx->plain, 1, 1, &v, &len), 0);
		rd_txn_end(a);
	}
	assert_rc(put_rec(fx->s, fx->plain, 1, 1, "v2", 2), 0);
	assert_rec(fx->s, fx->plain, 1, 1, "v2", 2); /* a renewed snapshot sees the write */
	rd_txn_end(NULL);                             /* harmless */
}

/* ---- tests: reopening and schema ---------------------------------------------------------- */

static void test_reopen(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	for (uint64_t id = 1; id <= 10; id++) {
		assert_rc(put_rec(fx->s, fx->things, 1, id, id % 2 ? "odd" : "even", id), 0);
		assert_rc(put_rec(fx->s, fx->plain, 2, id, NULL, id * 2), 0);
	}
	assert_rc(del_rec(fx->s, fx->things, 1, 5), 0);
	rd_store_close(&fx->s);
	rd_store_close(&fx->s); /* a second close is harmless */

	open_fx(fx, NULL);
	assert_int_equal(count(fx->s, fx->things, 1), 9);
	assert_int_equal(count(fx->s, fx->plain, 2), 10);
	assert_rec(fx->s, fx->things, 1, 4, "even", 4);
	assert_rec(fx->s, fx->plain, 2, 10, NULL, 20);
	assert_no_rec(fx->s, fx->things, 1, 5);
	ASSERT_IDS(scan_index(fx->s, fx->things, 1, "odd", "odd\x01"), 1, 3, 7, 9);
	struct rd_store_stats st;
	assert_rc(rd_store_stats(fx->s, &st), 0);
	assert_int_equal(st.schema, RD_SCHEMA);
	assert_true(st.readers_max >= 1);
	assert_clean(fx->s);
	rd_store_close(&fx->s);

	/* Read-only: the data is there; a table never written reads as empty. */
	struct rd_store_opts ro = { .readonly = true };
	fx->s = open_at(fx->dir, &ro);
	struct rd_table *things, *never;
	assert_rc(rd_store_register(fx->s, &things_def, &things), 0);
	assert_rc(rd_store_register(fx->s, &never_def, &never), 0);
	assert_rec(fx->s, things, 1, 4, "even", 4);
	assert_no_rec(fx->s, never, 1, 1);
	ASSERT_NO_IDS(scan_records(fx->s, never, 1, 0));
	ASSERT_NO_IDS(scan_index(fx->s, never, 1, NULL, NULL));
	assert_clean(fx->s);
}

static int g_migrations;
static uint32_t g_migrated_from[4];

static int migrate_hook(struct rd_txn *t, uint32_t from)
{
	if (g_migrations < 4)
		g_migrated_from[g_migrations] = from;
	g_migrations++;
	char v[16];
	int n = snprintf(v, sizeof v, "to %u", (unsigned)from + 1);
	return rd_txn_meta_put(t, "migrated", v, (size_t)n);
}

static int failing_hook(struct rd_txn *t, uint32_t from)
{
	int rc = rd_txn_meta_put(t, "half", "done", 4);
	return rc < 0 ? rc : RD_EINVAL;
}

/* The meta value of key as a string ("" when absent). */
static void meta_str(struct rd_store *s, const char *key, char *out, size_t cap)
{
	struct rd_txn *t;
	const void *v;
	size_t len;
	out[0] = 0;
	assert_rc(rd_store_read(s, &t), 0);
	if (rd_txn_meta_get(t, key, &v, &len) == 0) {
		assert_true(len < cap);
		memcpy(out, v, len);
		out[len] = 0;
	}
	rd_txn_end(t);
}

static void test_schema_versions(void **state)
{
	struct fixture *fx = *state;
	struct rd_store_stats st;
	char text[32];
	g_migrations = 0;

	struct rd_store_opts v1 = { .schema = 1 };
	open_fx(fx, &v1);
	assert_rc(rd_store_stats(fx->s, &st), 0);
	assert_int_equal(st.schema, 1);
	assert_rc(put_rec(fx->s, fx->plain, 1, 1, "data", 1), 0);
	rd_store_close(&fx->s);

	/* 1 -> 2: the hook runs once, from 1, and its write is visible. */
	struct rd_store_opts v2 = { .schema = 2, .migrate = migrate_hook };
	open_fx(fx, &v2);
	assert_int_equal(g_migrations, 1);
	assert_int_equal(g_migrated_from[0], 1);
	assert_rc(rd_store_stats(fx->s, &st), 0);
	assert_int_equal(st.schema, 2);
	meta_str(fx->s, "migrated", text, sizeof text);
	assert_string_equal(text, "to 2");
	assert_rec(fx->s, fx->plain, 1, 1, "data", 1);
	rd_store_close(&fx->s);

	/* Already at 2: no migration. */
	open_fx(fx, &v2);
	assert_int_equal(g_migrations, 1);
	rd_store_close(&fx->s);

	/* A failing migration fails the open and leaves the store at 2. */
	struct rd_store_opts v3_bad = { .schema = 3, .migrate = failing_hook };
	expect_open_error(fx->dir, &v3_bad, RD_EINVAL, "migration");
	struct rd_store_opts v3_none = { .schema = 3 };
	expect_open_error(fx->dir, &v3_none, RD_EVERSION, "no migration");
	open_fx(fx, &v2);
	meta_str(fx->s, "half", text, sizeof text);
	assert_string_equal(text, "");
	assert_rc(rd_store_stats(fx->s, &st), 0);
	assert_int_equal(st.schema, 2);
	rd_store_close(&fx->s);

	/* 2 -> 4: one step at a time. */
	struct rd_store_opts v4 = { .schema = 4, .migrate = migrate_hook };
	open_fx(fx, &v4);
	assert_int_equal(g_migrations, 3);
	assert_int_equal(g_migrated_from[1], 2);
	assert_int_equal(g_migrated_from[2], 3);
	meta_str(fx->s, "migrated", text, sizeof text);
	assert_string_equal(text, "to 4");
	rd_store_close(&fx->s);

	/* An older renewd refuses the newer store, read-only too. */
	expect_open_error(fx->dir, &v1, RD_EVERSION, "newer");
	struct rd_store_opts v1_ro = { .schema = 1, .readonly = true };
	expect_open_error(fx->dir, &v1_ro, RD_EVERSION, "newer");
	/* A read-only open never migrates. */
	struct rd_store_opts v5_ro = { .schema = 5, .readonly = true, .migrate = migrate_hook };
	expect_open_error(fx->dir, &v5_ro, RD_EVERSION, "migrat");
	assert_int_equal(g_migrations, 3);
	open_fx(fx, &v4);
	assert_rec(fx->s, fx->plain, 1, 1, "data", 1);
}

/* ---- tests: directories that are not a store ------------------------------------------------ */

static size_t entries(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_dir_missing(void **state)
{
	struct fixture *fx = *state;
	char path[160];
	expect_open_error(beside(fx, "nope", path), NULL, -ENOENT, "does not exist");
	struct rd_store_opts ro = { .readonly = true };
	expect_open_error(path, &ro, -ENOENT, "does not exist");
	assert_int_equal(access(path, F_OK), -1); /* not created */
}

static void test_dir_is_file(void **state)
{
	struct fixture *fx = *state;
	char path[160];
	write_file(beside(fx, "plain-file", path), "hello\n", 6);
	expect_open_error(path, NULL, -ENOTDIR, "not a directory");
}

static void test_dir_not_empty(void **state)
{
	struct fixture *fx = *state;
	char path[160];
	snprintf(path, sizeof path, "%s/notes.txt", fx->dir);
	write_file(path, "mine\n", 5);
	expect_open_error(fx->dir, NULL, RD_ENOTSTORE, "notes.txt");
	assert_int_equal(entries(fx->dir), 1); /* nothing added */
}

static void test_dir_garbage_data(void **state)
{
	struct fixture *fx = *state;
	char path[160];
	snprintf(path, sizeof path, "%s/data.mdb", fx->dir);
	/* Shorter than a page. */
	write_file(path, "this is not an LMDB file\n", 25);
	expect_open_error(fx->dir, NULL, RD_ENOTSTORE, "not a renewd store");
	/* Several pages of text. */
	static char junk[4 * 4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = "renewd? no.\n"[i % 12];
	write_file(path, junk, sizeof junk);
	expect_open_error(fx->dir, NULL, RD_ENOTSTORE, "not a renewd store");
	struct rd_store_opts ro = { .readonly = true };
	expect_open_error(fx->dir, &ro, RD_ENOTSTORE, "not a renewd store");
	/* The failed opens left the directory unlocked: still the same answer. */
	expect_open_error(fx->dir, NULL, RD_ENOTSTORE, NULL);

	/* A data.mdb that is not a file. */
	unlink(path);
	assert_int_equal(mkdir(path, 0755), 0);
	expect_open_error(fx->dir, NULL, RD_ENOTSTORE, "not a renewd store");
}

static void test_dir_locked(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	assert_rc(put_rec(fx->s, fx->plain, 1, 1, "first", 1), 0);

	char pid[32];
	snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
	expect_open_error(fx->dir, NULL, RD_ELOCKED, "in use");
	expect_open_error(fx->dir, NULL, RD_ELOCKED, pid);

	/* The first store is unharmed by the failed attempts. */
	assert_rc(put_rec(fx->s, fx->plain, 1, 2, "second", 2), 0);
	assert_rec(fx->s, fx->plain, 1, 1, "first", 1);
	assert_rec(fx->s, fx->plain, 1, 2, "second", 2);

	/* Closing releases the lock. */
	reopen_fx(fx, NULL);
	assert_rec(fx->s, fx->plain, 1, 2, "second", 2);
}

static void test_readonly_empty(void **state)
{
	struct fixture *fx = *state;
	struct rd_store_opts ro = { .readonly = true };
	expect_open_error(fx->dir, &ro, RD_ENOTSTORE, "no renewd store");
	assert_int_equal(entries(fx->dir), 0); /* nothing created */
}

/* ---- tests: integrity check ------------------------------------------------------------------ */

static void test_check_detects_damage(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	struct rd_table *tb;
	assert_rc(rd_store_register(fx->s, &skewed_def, &tb), 0);
	static const char *const cats[] = { "red", "green", "blue", "green", "black" };
	for (uint64_t id = 1; id <= 5; id++)
		assert_rc(put_rec(fx->s, tb, 1, id, cats[id - 1], id), 0);
	assert_rc(put_rec(fx->s, tb, 1, 6, NULL, 6), 0); /* no entry, no problem */
	assert_rc(put_rec(fx->s, fx->things, 1, 1, "fine", 1), 0);
	assert_clean(fx->s);

	/* The extractor changes its mind: every record misses its entry, and
	 * every entry is stale. */
	g_skew = true;
	struct problems p = { 0 };
	assert_rc(rd_store_check(fx->s, on_problem, &p), 10);
	assert_int_equal(p.calls, 10);
	assert_int_equal(p.missing, 5);
	assert_int_equal(p.stale, 5);

	/* Deleting a record now removes the wrong key and strands the old entry. */
	assert_rc(del_rec(fx->s, tb, 1, 2), 0);
	g_skew = false;
	memset(&p, 0, sizeof p);
	assert_rc(rd_store_check(fx->s, on_problem, &p), 1);
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.dangling, 1);

	/* An index scan over the stranded entry reports damage, not a crash. */
	struct rd_txn *t;
	struct rd_iter it;
	struct rd_item item;
	assert_rc(rd_store_read(fx->s, &t), 0);
	assert_rc(rd_iter_index(&it, t, tb, "cat", 1, "green", 5, "green\x01", 6), 0);
	int rc;
	while ((rc = rd_iter_next(&it, &item)) > 0)
		assert_int_equal(item.id, 4);
	assert_rc(rc, RD_ECORRUPT);
	rd_iter_close(&it);
	rd_txn_end(t);
}

/* ---- tests: backup ------------------------------------------------------------------------------ */

static void test_backup(void **state)
{
	struct fixture *fx = *state;
	open_fx(fx, NULL);
	for (uint64_t id = 1; id <= 50; id++)
		assert_rc(put_rec(fx->s, fx->things, id % 2 + 1, id, id % 3 ? "kept" : "third", id), 0);
	assert_rc(del_rec(fx->s, fx->things, 2, 3), 0);
	assert_int_equal(next_id(fx->s, fx->things, 1), 1);

	char bk[160], err[512] = "";
	assert_rc(rd_store_backup(fx->s, beside(fx, "backup", bk), err, sizeof err), 0);
	/* Writes after the backup stay out of it. */
	assert_rc(put_rec(fx->s, fx->things, 1, 99, "after", 99), 0);

	fx->other = open_at(bk, NULL);
	struct rd_table *tb;
	assert_rc(rd_store_register(fx->other, &things_def, &tb), 0);
	assert_int_equal(count(fx->other, tb, 1), 25);
	assert_int_equal(count(fx->other, tb, 2), 24);
	assert_rec(fx->other, tb, 2, 1, "kept", 1);
	assert_rec(fx->other, tb, 1, 6, "third", 6);
	assert_no_rec(fx->other, tb, 2, 3);
	assert_no_rec(fx->other, tb, 1, 99);
	ASSERT_IDS(scan_index(fx->other, tb, 1, "third", NULL), 6, 12, 18, 24, 30, 36, 42, 48);
	assert_int_equal(next_id(fx->other, tb, 1), 2); /* the sequence came along */
	assert_clean(fx->other);
	rd_store_close(&fx->other);

	/* A non-empty directory is refused and left alone. */
	char full[160], file[200];
	assert_int_equal(mkdir(beside(fx, "full", full), 0755), 0);
	snprintf(file, sizeof file, "%s/precious", full);
	write_file(file, "x", 1);
	err[0] = 0;
	assert_rc(rd_store_backup(fx->s, full, err, sizeof err), RD_EEXISTS);
	assert_contains(err, "not empty");
	assert_int_equal(entries(full), 1);
	/* So is the earlier backup. */
	assert_rc(rd_store_backup(fx->s, bk, err, sizeof err), RD_EEXISTS);
	/* An existing empty directory is fine; a missing parent is not. */
	char empty[160];
	assert_int_equal(mkdir(beside(fx, "empty", empty), 0755), 0);
	assert_rc(rd_store_backup(fx->s, empty, err, sizeof err), 0);
	char deep[160];
	err[0] = 0;
	assert_rc(rd_store_backup(fx->s, beside(fx, "no/such/dir", deep), err, sizeof err), -ENOENT);
	assert_contains(err, deep);
}

/* An index added to a table that already holds records (the reports'
 * index on a store written before it existed): rd_txn_index_fill writes
 * every record's entry, all tenants; a keys-only walk then reads the keys
 * without the records. */
static const struct rd_table_def later_plain_def = { "later", NULL, 0 };
static const struct rd_table_def later_indexed_def = { "later", things_idx, 1 };

struct fill {
	struct rd_table *tb;
	const char *index;
	uint64_t n;
};

static int fill_fn(struct rd_txn *t, void *arg)
{
	struct fill *f = arg;
	return rd_txn_index_fill(t, f->tb, f->index, &f->n);
}

static void test_index_fill(void **state)
{
	struct fixture *fx = *state;
	fx->s = open_at(fx->dir, NULL);
	struct rd_table *tb;
	assert_rc(rd_store_register(fx->s, &later_plain_def, &tb), 0);
	for (uint64_t id = 1; id <= 6; id++)
		assert_rc(put_rec(fx->s, tb, 1 + id % 2, id, id <= 3 ? "low" : "high", id), 0);
	assert_rc(put_rec(fx->s, tb, 1, 7, NULL, 7), 0); /* no category: no entry */
	rd_store_close(&fx->s);

	fx->s = open_at(fx->dir, NULL);
	assert_rc(rd_store_register(fx->s, &later_indexed_def, &tb), 0);
	ASSERT_NO_IDS(scan_index(fx->s, tb, 1, NULL, NULL)); /* the new index is empty */
	struct problems p = { 0 };
	assert_int_equal(rd_store_check(fx->s, on_problem, &p), 6);
	assert_int_equal(p.missing, 6);
	struct fill f = { tb, "nope", 0 };
	assert_rc(rd_store_write(fx->s, fill_fn, &f), RD_ENOTFOUND);
	f.index = "cat";
	assert_rc(rd_store_write(fx->s, fill_fn, &f), 0);
	assert_int_equal(f.n, 6);
	ASSERT_IDS(scan_index(fx->s, tb, 1, NULL, NULL), 4, 6, 2); /* tenant 1: "high" 4 6, then "low" 2 */
	assert_clean(fx->s);
	/* Filling again changes nothing. */
	assert_rc(rd_store_write(fx->s, fill_fn, &f), 0);
	assert_clean(fx->s);

	struct rd_txn *t;
	struct rd_iter it;
	struct rd_item item;
	int rc, seen = 0;
	assert_rc(rd_store_read(fx->s, &t), 0);
	assert_rc(rd_iter_index(&it, t, tb, "cat", 2, NULL, 0, NULL, 0), 0);
	it.keys_only = true;
	while ((rc = rd_iter_next(&it, &item)) > 0) {
		assert_null(item.val);
		assert_int_equal(item.len, 0);
		assert_true(item.key_len == 4 || item.key_len == 5); /* "low\0", "high\0" */
		seen++;
	}
	assert_rc(rc, 0);
	rd_iter_close(&it);
	rd_txn_end(t);
	assert_int_equal(seen, 3); /* tenant 2: ids 1 3 5 (7 has no category) */
}

/* ---- bulk loads (rd_txn_bulk_begin) -------------------------------------------- */

static int key_tagged(const void *rec, size_t len, uint8_t *key, size_t cap)
{
	return cat_key(rec, len, key, cap, "t:");
}

/* "cat" is held back in a bulk load, "tag" stays live when named. */
static const struct rd_index_def bulk_idx[] = { { "cat", key_cat }, { "tag", key_tagged } };
static const struct rd_table_def bulk_def = { "bulky", bulk_idx, 2 };

struct bulk_run {
	struct rd_table *tb, *other;
	bool bulk;
	bool bad;          /* put a record the extractors refuse */
	int busy_rc;       /* rd_txn_bulk_begin on another table */
	int seen_cat, seen_tag; /* entries of id 101 (put once) seen inside the transaction */
};

static int put_one(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const char *cat, uint64_t num)
{
	struct rd_rec_writer w = { 0 };
	make_rec(&w, cat, num, (size_t)(num % 7) * 40);
	int rc = rd_txn_put(t, tb, tenant, id, w.buf, w.len, 0);
	rd_rec_writer_free(&w);
	return rc;
}

static int seen_in(struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t id)
{
	struct rd_iter it;
	struct rd_item item;
	int rc, n = 0;
	assert_rc(rd_iter_index(&it, t, tb, index, 1, NULL, 0, NULL, 0), 0);
	it.keys_only = true;
	while ((rc = rd_iter_next(&it, &item)) > 0)
		n += item.id == id;
	rd_iter_close(&it);
	return n;
}

/* The same writes, with or without a bulk load: new ids out of order,
 * keys scattered, a record put twice, one created then deleted, existing
 * records replaced, another tenant's records beside. */
static int bulk_fn(struct rd_txn *t, void *arg)
{
	struct bulk_run *b = arg;
	static const char *const live[] = { "tag", NULL };
	static const char *const cats[] = { "m", "c", NULL, "x", "a", "m", "zz", "b" };
	int rc;
	if (b->bulk) {
		if ((rc = rd_txn_bulk_begin(t, b->tb, 1, live)) < 0)
			return rc;
		assert_rc(rd_txn_bulk_begin(t, b->tb, 1, live), 0); /* the same again: nothing */
		b->busy_rc = rd_txn_bulk_begin(t, b->other, 1, NULL);
	}
	for (uint64_t i = 0; i < 40; i++)
		if ((rc = put_one(t, b->tb, 1, 100 + (i * 17) % 40, cats[i % 8], i)) < 0)
			return rc;
	if ((rc = put_one(t, b->tb, 1, 104, "q", 99)) < 0 || (rc = put_one(t, b->tb, 1, 2, "new", 2)) < 0 ||
	    (rc = put_one(t, b->tb, 2, 500, "m", 5)) < 0)
		return rc;
	if ((rc = rd_txn_del(t, b->tb, 1, 110)) < 0 || (rc = rd_txn_del(t, b->tb, 1, 3)) < 0)
		if (!b->bad) /* the second run: already deleted */
			return rc;
	b->seen_cat = seen_in(t, b->tb, "cat", 101);
	b->seen_tag = seen_in(t, b->tb, "tag", 101);
	if (b->bad && (rc = rd_txn_put(t, b->tb, 1, 300, "not a record", 12, 0)) < 0)
		return rc;
	return 0;
}

/* Every record and index entry of tb, in order, as one text. */
static char *dump_table(struct rd_store *s, struct rd_table *tb)
{
	size_t cap = 1 << 16, n = 0;
	char *out = calloc(1, cap);
	struct rd_txn *t;
	assert_rc(rd_store_read(s, &t), 0);
	for (uint64_t tenant = 1; tenant <= 2; tenant++) {
		struct rd_iter it;
		struct rd_item item;
		int rc;
		assert_rc(rd_iter_records(&it, t, tb, tenant, 0), 0);
		while ((rc = rd_iter_next(&it, &item)) > 0) {
			n += (size_t)snprintf(out + n, cap - n, "r%llu/%llu:", (unsigned long long)tenant, (unsigned long long)item.id);
			for (size_t i = 0; i < item.len; i++)
				n += (size_t)snprintf(out + n, cap - n, "%02x", ((const uint8_t *)item.val)[i]);
			n += (size_t)snprintf(out + n, cap - n, "\n");
			assert_true(n < cap - 4096);
		}
		assert_rc(rc, 0);
		rd_iter_close(&it);
		for (int x = 0; x < 2; x++) {
			assert_rc(rd_iter_index(&it, t, tb, x ? "tag" : "cat", tenant, NULL, 0, NULL, 0), 0);
			it.keys_only = true;
			while ((rc = rd_iter_next(&it, &item)) > 0) {
				n += (size_t)snprintf(out + n, cap - n, "i%d/%llu:%.*s/%llu\n", x, (unsigned long long)tenant,
						      (int)item.key_len, (const char *)item.key, (unsigned long long)item.id);
				assert_true(n < cap - 4096);
			}
			assert_rc(rc, 0);
			rd_iter_close(&it);
		}
	}
	rd_txn_end(t);
	return out;
}

/* fx->s and fx->other: two stores, side by side, for the same writes with
 * and without a bulk load. */
static struct fixture *two_stores(void **state)
{
	struct fixture *fx = *state;
	char other_dir[160];
	beside(fx, "rows", other_dir);
	assert_int_equal(mkdir(other_dir, 0755), 0);
	fx->s = open_at(fx->dir, NULL);
	fx->other = open_at(other_dir, NULL);
	return fx;
}

static void test_bulk_load(void **state)
{
	struct fixture *fx = two_stores(state);
	struct rd_table *tb, *tb2, *things, *things2;
	assert_rc(rd_store_register(fx->s, &bulk_def, &tb), 0);
	assert_rc(rd_store_register(fx->other, &bulk_def, &tb2), 0);
	assert_rc(rd_store_register(fx->s, &things_def, &things), 0);
	assert_rc(rd_store_register(fx->other, &things_def, &things2), 0);
	/* Records before the load, some of them after its ids (not appended). */
	for (uint64_t id = 1; id <= 4; id++) {
		assert_rc(put_rec(fx->s, tb, 1, id, id % 2 ? "b" : "n", id), 0);
		assert_rc(put_rec(fx->other, tb2, 1, id, id % 2 ? "b" : "n", id), 0);
	}
	assert_rc(put_rec(fx->s, tb, 1, 120, "zzz", 120), 0);
	assert_rc(put_rec(fx->other, tb2, 1, 120, "zzz", 120), 0);

	struct bulk_run a = { .tb = tb, .other = things, .bulk = true }, b = { .tb = tb2, .other = things2 };
	assert_rc(rd_store_write(fx->s, bulk_fn, &a), 0);
	assert_rc(rd_store_write(fx->other, bulk_fn, &b), 0);
	assert_rc(a.busy_rc, RD_EBUSY);
	/* Inside the load the held-back index did not show the new record yet,
	 * the live one did; without a load both did. */
	assert_int_equal(a.seen_cat, 0);
	assert_int_equal(a.seen_tag, 1);
	assert_int_equal(b.seen_cat, 1);
	assert_int_equal(b.seen_tag, 1);
	char *da = dump_table(fx->s, tb), *db = dump_table(fx->other, tb2);
	assert_string_equal(da, db);
	assert_non_null(strstr(da, "i0/1:q"));   /* 104's last key */
	assert_null(strstr(da, "/1/110\n"));    /* created, then deleted */
	free(da);
	free(db);
	assert_clean(fx->s);

	/* A record the extractors refuse fails the commit: nothing written. */
	da = dump_table(fx->s, tb);
	struct bulk_run c = { .tb = tb, .other = things, .bulk = true, .bad = true };
	assert_rc(rd_store_write(fx->s, bulk_fn, &c), RD_ECORRUPT);
	db = dump_table(fx->s, tb);
	assert_string_equal(da, db);
	free(da);
	free(db);
	assert_clean(fx->s);
}

/* The same as a load too large for one walk: the records walked once per
 * held-back index. */
static void test_bulk_load_index_by_index(void **state)
{
	size_t was = rd_store_bulk_one_walk_max;
	rd_store_bulk_one_walk_max = 3;
	test_bulk_load(state);
	rd_store_bulk_one_walk_max = was;
}

/* A load of new records only, half of them with ids drawn from the
 * table's sequence, half with given ids out of order, and another tenant's
 * beside: the held-back entries are taken as the records are put (no walk
 * of them at the flush), the sequence is held in memory while the load
 * allocates; a nested transaction after them draws the next id.  Every
 * record, entry and id as without a load. */
struct fresh_run {
	struct rd_table *tb;
	bool bulk;
	uint64_t drawn[20], child_id;
};

static int bulk_fresh_fn(struct rd_txn *t, void *arg)
{
	struct fresh_run *b = arg;
	static const char *const cats[] = { "m", "c", NULL, "x", "a", "m", "zz", "b" };
	int rc;
	if (b->bulk && (rc = rd_txn_bulk_begin(t, b->tb, 1, NULL)) < 0)
		return rc;
	for (uint64_t i = 0; i < 40; i++) {
		uint64_t id = 500 + (i * 17) % 40;
		if (i % 2 == 0 && (rc = rd_txn_next_id(t, b->tb, 1, &b->drawn[i / 2])) < 0)
			return rc;
		if (i % 2 == 0)
			id = b->drawn[i / 2];
		if ((rc = put_one(t, b->tb, 1, id, cats[i % 8], i)) < 0)
			return rc;
	}
	if ((rc = put_one(t, b->tb, 2, 9, "m", 9)) < 0)
		return rc;
	struct rd_txn *c;
	if ((rc = rd_txn_begin_child(t, &c)) < 0)
		return rc;
	rc = rd_txn_next_id(c, b->tb, 1, &b->child_id);
	if (rc >= 0)
		rc = rd_txn_commit_child(c);
	else
		rd_txn_abort_child(c);
	return rc;
}

static int next_id_fn(struct rd_txn *t, void *arg)
{
	struct fresh_run *b = arg;
	return rd_txn_next_id(t, b->tb, 1, &b->child_id);
}

static void test_bulk_load_new_only(void **state)
{
	struct fixture *fx = two_stores(state);
	struct rd_table *tb, *tb2;
	assert_rc(rd_store_register(fx->s, &bulk_def, &tb), 0);
	assert_rc(rd_store_register(fx->other, &bulk_def, &tb2), 0);
	for (uint64_t id = 1; id <= 3; id++) { /* the sequence does not start at nothing */
		struct fresh_run seq = { .tb = tb };
		assert_rc(rd_store_write(fx->s, next_id_fn, &seq), 0);
		seq.tb = tb2;
		assert_rc(rd_store_write(fx->other, next_id_fn, &seq), 0);
	}
	struct fresh_run a = { .tb = tb, .bulk = true }, b = { .tb = tb2 };
	assert_rc(rd_store_write(fx->s, bulk_fresh_fn, &a), 0);
	assert_rc(rd_store_write(fx->other, bulk_fresh_fn, &b), 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(a.drawn[i], 4 + (uint64_t)i);
		assert_int_equal(b.drawn[i], a.drawn[i]);
	}
	assert_int_equal(a.child_id, 24);
	assert_int_equal(b.child_id, 24);
	char *da = dump_table(fx->s, tb), *db = dump_table(fx->other, tb2);
	assert_string_equal(da, db);
	assert_non_null(strstr(da, "i0/1:zz/"));
	free(da);
	free(db);
	/* After the load, the next id follows the child's. */
	assert_rc(rd_store_write(fx->s, next_id_fn, &a), 0);
	assert_int_equal(a.child_id, 25);
	assert_clean(fx->s);
}

struct many_arg {
	struct rd_table *tb;
	uint64_t n;
	int child_rc;
};

static int many_fn(struct rd_txn *t, void *arg)
{
	struct many_arg *m = arg;
	int rc = rd_txn_bulk_begin(t, m->tb, 1, NULL);
	struct rd_txn *c = NULL;
	m->child_rc = rd_txn_begin_child(t, &c);
	if (c)
		rd_txn_abort_child(c);
	static const char *const cats[] = { "k", "b", "x", "d" };
	for (uint64_t i = 1; rc >= 0 && i <= m->n; i++)
		rc = put_one(t, m->tb, 1, i, cats[i * 7 % 4], i);
	return rc;
}

/* opts.writemap: a bulk load past the release interval (its pages handed
 * back as it goes and while it commits) leaves what it wrote, readable by a
 * store opened without it; no nested transactions there. */
static void test_bulk_load_writemap(void **state)
{
	struct fixture *fx = *state;
	struct rd_store_opts o = { .writemap = true };
	fx->s = open_at(fx->dir, &o);
	struct rd_table *tb;
	assert_rc(rd_store_register(fx->s, &bulk_def, &tb), 0);
	struct many_arg m = { tb, 70000, 0 };
	assert_rc(rd_store_write(fx->s, many_fn, &m), 0);
	assert_rc(m.child_rc, RD_EINVAL);
	assert_clean(fx->s);
	rd_store_close(&fx->s);
	fx->s = open_at(fx->dir, NULL);
	assert_rc(rd_store_register(fx->s, &bulk_def, &tb), 0);
	assert_int_equal(count(fx->s, tb, 1), 70000);
	assert_clean(fx->s);
	struct rd_txn *t;
	struct rd_iter it;
	struct rd_item item;
	int rc;
	uint64_t n = 0;
	assert_rc(rd_store_read(fx->s, &t), 0);
	assert_rc(rd_iter_index(&it, t, tb, "cat", 1, "d", 1, "e", 1), 0);
	while ((rc = rd_iter_next(&it, &item)) > 0)
		n++;
	assert_rc(rc, 0);
	rd_iter_close(&it);
	rd_txn_end(t);
	assert_int_equal(n, 17500); /* i * 7 % 4 == 3: a quarter */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_put_get_delete),
		T(test_put_new),
		T(test_get_missing),
		T(test_tenant_ranges),
		T(test_register_names),
		T(test_index_maintenance),
		T(test_next_id),
		T(test_map_growth),
		T(test_map_max),
		T(test_growth_waits_for_other_threads_readers),
		T(test_batch_append),
		T(test_batch_non_append),
		T(test_batch_duplicates),
		T(test_write_error_aborts),
		T(test_child_transactions),
		T(test_read_snapshot),
		T(test_reopen),
		T(test_schema_versions),
		T(test_dir_missing),
		T(test_dir_is_file),
		T(test_dir_not_empty),
		T(test_dir_garbage_data),
		T(test_dir_locked),
		T(test_readonly_empty),
		T(test_check_detects_damage),
		T(test_backup),
		T(test_index_fill),
		T(test_bulk_load),
		T(test_bulk_load_index_by_index),
		T(test_bulk_load_new_only),
		T(test_bulk_load_writemap),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
