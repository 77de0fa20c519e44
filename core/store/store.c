/*
 * store.c: the store's dispatch.  rd_store_open picks a backend (LMDB in the
 * data directory, the default; PostgreSQL when opts->url names a server) and
 * every other call goes through that backend's ops table.  The backends keep
 * their structures to themselves (store_impl.h says the two layout rules this
 * file relies on).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "store/store_impl.h"
#include "util/err.h"
#include "util/log.h"

static const struct rd_store_ops *store_ops(const struct rd_store *s)
{
	/* The first member of every backend's struct rd_store. */
	return *(const struct rd_store_ops *const *)(const void *)s;
}

static const struct rd_store_ops *txn_ops(const struct rd_txn *t)
{
	/* The first member of every backend's struct rd_txn is its store. */
	return store_ops(*(struct rd_store *const *)(const void *)t);
}

/* Big-endian, so that keys compare as their numbers (a byte swap and one
 * 8-byte copy where the host is little-endian: every key goes through these). */
void rd_key_put_u64(uint8_t out[8], uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
	memcpy(out, &v, 8);
#else
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
#endif
}

uint64_t rd_key_get_u64(const uint8_t p[8])
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
#else
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
#endif
}

bool rd_store_valid_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

bool rd_store_is_pg_url(const char *url)
{
	return url && (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0);
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = ((const struct rd_batch_item *)a)->id, y = ((const struct rd_batch_item *)b)->id;
	return x < y ? -1 : x > y;
}

int rd_store_batch_sort(struct rd_batch_item *items, size_t n)
{
	qsort(items, n, sizeof *items, by_id);
	for (size_t i = 1; i < n; i++)
		if (items[i].id == items[i - 1].id)
			return RD_EINVAL;
	return 0;
}

void rd_store_iter_init(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, uint64_t tenant)
{
	memset(it, 0, sizeof *it);
	it->txn = t;
	it->tb = tb;
	it->index = -1;
	it->tenant = tenant;
}

int rd_store_index_of(const struct rd_table_def *def, const char *index)
{
	int at = -1;
	for (unsigned i = 0; i < def->n_indexes; i++)
		if (strcmp(def->indexes[i].name, index) == 0)
			at = (int)i;
	return at;
}

void rd_store_check_problem(rd_check_report_fn report, void *arg, int *problems, enum rd_check_problem what,
			    const char *table, const char *index, uint64_t tenant, uint64_t id, int err)
{
	char msg[512];
	unsigned long long tn = (unsigned long long)tenant, in = (unsigned long long)id;
	switch (what) {
	case RD_CHECK_UNDECODABLE:
		snprintf(msg, sizeof msg, "table %s: record %llu/%llu does not decode for index %s: %s", table, tn, in, index,
			 rd_strerror(err));
		break;
	case RD_CHECK_MISSING:
		snprintf(msg, sizeof msg, "index %s.%s: missing the entry for record %llu/%llu", table, index, tn, in);
		break;
	case RD_CHECK_UNKNOWN:
		snprintf(msg, sizeof msg, "index %s.%s: an index this renewd does not define (entry for %llu/%llu)", table,
			 index, tn, in);
		break;
	case RD_CHECK_DANGLING:
		snprintf(msg, sizeof msg, "index %s.%s: entry points to record %llu/%llu, which does not exist", table, index,
			 tn, in);
		break;
	default:
		snprintf(msg, sizeof msg, "index %s.%s: stale entry for record %llu/%llu (the record yields another key)",
			 table, index, tn, in);
		break;
	}
	report(msg, arg);
	(*problems)++;
}

uint32_t rd_store_schema_want(const struct rd_store_opts *o)
{
	return o && o->schema ? o->schema : RD_SCHEMA;
}

void rd_store_schema_put(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)v;
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)(v >> 16);
	out[3] = (uint8_t)(v >> 24);
}

uint32_t rd_store_schema_get(const void *v)
{
	const uint8_t *p = v;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int rd_store_schema_check(uint32_t schema, uint32_t want, bool readonly, const char *kind, const char *name, char *err,
			  size_t errlen)
{
	if (schema > want) {
		snprintf(err, errlen, "%s %s holds schema version %u, newer than this renewd understands (%u): upgrade renewd",
			 kind, name, schema, want);
		return RD_EVERSION;
	}
	if (schema < want && readonly) {
		snprintf(err, errlen, "%s %s holds schema version %u and needs migrating to %u: start renewd on it once", kind,
			 name, schema, want);
		return RD_EVERSION;
	}
	return 0;
}

struct migrate_step {
	rd_migrate_fn fn;
	uint32_t from;
};

static int migrate_one(struct rd_txn *t, void *arg)
{
	struct migrate_step *m = arg;
	int rc = m->fn(t, m->from);
	if (rc < 0)
		return rc;
	uint8_t sv[4];
	rd_store_schema_put(sv, m->from + 1);
	return rd_txn_meta_put(t, "schema", sv, 4);
}

int rd_store_migrate(struct rd_store *s, const struct rd_store_opts *o, uint32_t *schema, const char *kind,
		     const char *name, char *err, size_t errlen)
{
	uint32_t want = rd_store_schema_want(o);
	while (*schema < want) {
		if (!o || !o->migrate) {
			snprintf(err, errlen, "%s %s: no migration from schema %u to %u", kind, name, *schema, want);
			return RD_EVERSION;
		}
		struct migrate_step m = { o->migrate, *schema };
		int rc = rd_store_write(s, migrate_one, &m);
		if (rc < 0) {
			snprintf(err, errlen, "%s %s: migration from schema %u failed: %s", kind, name, *schema, rd_strerror(rc));
			return rc;
		}
		rd_log(RD_LOG_INFO, "store", "migrated %s from schema %u to %u", name, *schema, *schema + 1);
		(*schema)++;
	}
	return 0;
}

int rd_store_open(struct rd_store **out, const char *dir, const struct rd_store_opts *opts, char *err, size_t errlen)
{
	const char *url = opts ? opts->url : NULL;
	*out = NULL;
	if (!url || !*url || strcmp(url, "lmdb") == 0)
		return rd_store_lmdb_open(out, dir, opts, err, errlen);
	if (rd_store_is_pg_url(url)) {
		return rd_store_pg_open(out, dir, opts, err, errlen);
	}
	snprintf(err, errlen, "option store: \"%.40s\" is neither lmdb nor a postgresql:// URL", url);
	return RD_EINVAL;
}

void rd_store_close(struct rd_store **s)
{
	if (*s)
		store_ops(*s)->close(s);
}

const char *rd_store_dir(const struct rd_store *s)
{
	return store_ops(s)->dir(s);
}

const char *rd_store_backend(const struct rd_store *s)
{
	return store_ops(s)->name;
}

const char *rd_txn_backend(const struct rd_txn *t)
{
	return txn_ops(t)->name;
}

int rd_store_health(struct rd_store *s, struct rd_store_health *h)
{
	if (store_ops(s) == &rd_store_pg_ops)
		return rd_store_pg_health(s, h);
	memset(h, 0, sizeof *h);
	h->backend = store_ops(s)->name;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	struct rd_txn *t;
	int rc = rd_store_read(s, &t);
	if (rc == 0) {
		rd_txn_end(t);
		clock_gettime(CLOCK_MONOTONIC, &b);
		h->reachable = true;
		h->latency_seconds = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	} else {
		snprintf(h->last_error, sizeof h->last_error, "%s", rd_strerror(rc));
	}
	return rc;
}

int rd_store_register(struct rd_store *s, const struct rd_table_def *def, struct rd_table **out)
{
	if (rd_fails_assert(rd_store_valid_name(def->name)))
		return RD_EINVAL;
	for (unsigned i = 0; i < def->n_indexes; i++)
		if (rd_fails_assert(rd_store_valid_name(def->indexes[i].name)))
			return RD_EINVAL;
	return store_ops(s)->reg(s, def, out);
}

struct rd_table *rd_store_table(struct rd_store *s, const char *name)
{
	return store_ops(s)->table(s, name);
}

int rd_store_read(struct rd_store *s, struct rd_txn **out)
{
	return store_ops(s)->read(s, out);
}

void rd_txn_end(struct rd_txn *t)
{
	if (t)
		txn_ops(t)->txn_end(t);
}

/* ---- writes: one at a time in this process (store_impl.h rd_store_writer) ---- */

/* How long a write on the owner (loop) thread waits behind a long write. */
#define LOOP_WAIT_NS (100ull * 1000 * 1000)

/* The write this thread is in (a write function must not write again). */
static _Thread_local bool this_thread_writes;
_Thread_local bool rd_store_loop_nowait;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void rd_store_writer_init(struct rd_store_writer *w)
{
	w->owner = pthread_self();
	rd_require(pthread_mutex_init(&w->lock, NULL) == 0);
	atomic_init(&w->long_writes, 0);
	atomic_init(&w->long_since, 0);
}

void rd_store_writer_destroy(struct rd_store_writer *w)
{
	pthread_mutex_destroy(&w->lock);
}

/* The backend's write with the writer's lock held (the caller took it). */
static int write_held(struct rd_store *s, struct rd_store_writer *w, rd_write_fn fn, void *arg)
{
	this_thread_writes = true;
	int rc = store_ops(s)->write(s, fn, arg);
	this_thread_writes = false;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

uint64_t rd_txn_snapshot(struct rd_txn *t)
{
	const struct rd_store_ops *o = t ? txn_ops(t) : NULL;
	return o && o->snapshot ? o->snapshot(t) : 0;
}

uint64_t rd_store_snapshot(struct rd_store *s)
{
	const struct rd_store_ops *o = s ? store_ops(s) : NULL;
	return o && o->store_snapshot ? o->store_snapshot(s) : 0;
}

int rd_store_write(struct rd_store *s, rd_write_fn fn, void *arg)
{
	if (rd_fails_assert(!this_thread_writes))
		return RD_EINTERNAL;
	struct rd_store_writer *w = store_ops(s)->writer(s);
	if (!pthread_equal(w->owner, pthread_self())) {
		pthread_mutex_lock(&w->lock);
		return write_held(s, w, fn, arg);
	}
	/* The loop thread does not wait behind a long write: once one has held
	 * the writer for LOOP_WAIT_NS (an import's rows), or the loop has waited
	 * that long for one, the write is refused RD_EBUSY (the caller answers
	 * 503 with Retry-After, or tries again later).  Behind a short write (a
	 * small import's record, another thread's write) it waits, in slices. */
	uint64_t t0 = 0;
	while (pthread_mutex_trylock(&w->lock) != 0) {
		if (atomic_load(&w->long_writes) > 0) {
			uint64_t now = mono_ns(), since = atomic_load(&w->long_since);
			if (!t0)
				t0 = now;
			if ((since && now - since >= LOOP_WAIT_NS) || now - t0 >= LOOP_WAIT_NS)
				return RD_EBUSY;
		}
		struct timespec ts = { 0, 200 * 1000 };
		nanosleep(&ts, NULL);
	}
	rd_store_loop_nowait = true;
	int rc = write_held(s, w, fn, arg);
	rd_store_loop_nowait = false;
	return rc;
}

int rd_store_write_wait(struct rd_store *s, rd_write_fn fn, void *arg)
{
	if (rd_fails_assert(!this_thread_writes))
		return RD_EINTERNAL;
	struct rd_store_writer *w = store_ops(s)->writer(s);
	pthread_mutex_lock(&w->lock);
	return write_held(s, w, fn, arg);
}

int rd_store_write_long(struct rd_store *s, rd_write_fn fn, void *arg)
{
	if (rd_fails_assert(!this_thread_writes))
		return RD_EINTERNAL;
	struct rd_store_writer *w = store_ops(s)->writer(s);
	/* Counted before it waits: from now on the loop's writes wait for the
	 * lock only so long (rd_store_write). */
	atomic_fetch_add(&w->long_writes, 1);
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->long_since, mono_ns());
	this_thread_writes = true;
	int rc = store_ops(s)->write(s, fn, arg);
	this_thread_writes = false;
	atomic_store(&w->long_since, 0);
	pthread_mutex_unlock(&w->lock);
	atomic_fetch_sub(&w->long_writes, 1);
	return rc;
}

int rd_txn_begin_child(struct rd_txn *t, struct rd_txn **child)
{
	*child = NULL;
	if (rd_fails_assert(t))
		return RD_EINTERNAL;
	return txn_ops(t)->begin_child(t, child);
}

int rd_txn_commit_child(struct rd_txn *child)
{
	if (rd_fails_assert(child))
		return RD_EINTERNAL;
	return txn_ops(child)->commit_child(child);
}

void rd_txn_abort_child(struct rd_txn *child)
{
	if (child)
		txn_ops(child)->abort_child(child);
}

int rd_txn_get(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void **val, size_t *len)
{
	return txn_ops(t)->get(t, tb, tenant, id, val, len);
}

static int counted_write(struct rd_txn *t, struct rd_table *tb, const struct rd_counter_def *def, uint64_t tenant,
			 uint64_t id, const void *val, size_t len, unsigned flags);
static int counted_batch(struct rd_txn *t, struct rd_table *tb, const struct rd_counter_def *def, uint64_t tenant,
			 struct rd_batch_item *items, size_t n);

int rd_txn_put(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void *val, size_t len,
	       unsigned flags)
{
	const struct rd_counter_def *def = txn_ops(t)->get_counters(tb);
	if (def)
		return counted_write(t, tb, def, tenant, id, val ? val : "", len, flags);
	return txn_ops(t)->put(t, tb, tenant, id, val, len, flags);
}

int rd_txn_del(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id)
{
	const struct rd_counter_def *def = txn_ops(t)->get_counters(tb);
	if (def)
		return counted_write(t, tb, def, tenant, id, NULL, 0, 0);
	return txn_ops(t)->del(t, tb, tenant, id);
}

int rd_txn_index_fill(struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t *n)
{
	return txn_ops(t)->index_fill(t, tb, index, n);
}

int rd_store_dir_lock(const char *dir, int *fd_out, long *holder)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/renewd.lock", dir);
	*fd_out = -1;
	*holder = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		long p = atol(pid);
		*holder = p > 0 ? p : -1;
		close(fd);
		return RD_ELOCKED;
	}
	/* A clean close empties the file (rd_store_dir_unlock): a pid still
	 * in it is a process that never closed the store (killed, crashed, or
	 * the machine stopped).  Its committed writes are all here and nothing
	 * it had not committed is; the operator is told, as nothing else
	 * would. */
	char before[32] = "";
	ssize_t got = pread(fd, before, sizeof before - 1, 0);
	before[got > 0 ? got : 0] = 0;
	before[strcspn(before, "\n")] = 0;
	if (atol(before) > 0)
		rd_log(RD_LOG_WARN, "store",
		       "the last process that wrote to %s (pid %s) did not close it: it was killed, crashed or the machine "
		       "stopped; every write it committed is kept and nothing it had not committed is in the store, and "
		       "queued work (mail, webhooks, orders to distributors, the sweep's days) goes on from here",
		       dir, before);
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		int e = errno;
		close(fd);
		return -e;
	}
	*fd_out = fd;
	return 0;
}

void rd_store_dir_unlock(int fd)
{
	if (fd < 0)
		return;
	if (ftruncate(fd, 0) != 0) {
		/* the pid is only advisory; the lock goes with the fd */
	}
	close(fd);
}

long rd_store_beside_pid(const struct rd_store *s)
{
	return store_ops(s)->beside_pid(s);
}

int rd_txn_next_id(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t *id)
{
	return txn_ops(t)->next_id(t, tb, tenant, id);
}

int rd_txn_meta_get(struct rd_txn *t, const char *key, const void **val, size_t *len)
{
	return txn_ops(t)->meta_get(t, key, val, len);
}

int rd_txn_meta_put(struct rd_txn *t, const char *key, const void *val, size_t len)
{
	return txn_ops(t)->meta_put(t, key, val, len);
}

int rd_txn_bulk_begin(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const char *const *live)
{
	return txn_ops(t)->bulk_begin ? txn_ops(t)->bulk_begin(t, tb, tenant, live) : 0;
}

int rd_txn_bulk_flush(struct rd_txn *t)
{
	return txn_ops(t)->bulk_flush ? txn_ops(t)->bulk_flush(t) : 0;
}

int rd_txn_put_batch(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, struct rd_batch_item *items, size_t n)
{
	const struct rd_counter_def *def = txn_ops(t)->get_counters(tb);
	if (def && n)
		return counted_batch(t, tb, def, tenant, items, n);
	return txn_ops(t)->put_batch(t, tb, tenant, items, n);
}

struct batch_arg {
	struct rd_table *tb;
	uint64_t tenant;
	struct rd_batch_item *items;
	size_t n;
};

static int batch_fn(struct rd_txn *t, void *arg)
{
	struct batch_arg *b = arg;
	return rd_txn_put_batch(t, b->tb, b->tenant, b->items, b->n);
}

int rd_store_put_batch(struct rd_store *s, struct rd_table *tb, uint64_t tenant, struct rd_batch_item *items, size_t n)
{
	struct batch_arg b = { tb, tenant, items, n };
	return rd_store_write(s, batch_fn, &b);
}

int rd_iter_records(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t from_id)
{
	return txn_ops(t)->iter_records(it, t, tb, tenant, from_id);
}

int rd_iter_index(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t tenant,
		  const void *from, size_t from_len, const void *to, size_t to_len)
{
	return txn_ops(t)->iter_index(it, t, tb, index, tenant, from, from_len, to, to_len);
}

int rd_iter_next(struct rd_iter *it, struct rd_item *out)
{
	if (it->done || !it->txn)
		return 0;
	return txn_ops(it->txn)->iter_next(it, out);
}

void rd_iter_close(struct rd_iter *it)
{
	if (it->txn)
		txn_ops(it->txn)->iter_close(it);
	it->done = true;
}

int rd_store_count(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t *n)
{
	if (txn_ops(t)->count)
		return txn_ops(t)->count(t, tb, tenant, n);
	struct rd_iter it;
	struct rd_item item;
	*n = 0;
	int rc = rd_iter_records(&it, t, tb, tenant, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		(*n)++;
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

int rd_store_reserve(struct rd_store *s, uint64_t extra_bytes)
{
	return store_ops(s)->reserve(s, extra_bytes);
}

int rd_store_stats(struct rd_store *s, struct rd_store_stats *st)
{
	return store_ops(s)->stats(s, st);
}

int rd_store_check(struct rd_store *s, rd_check_report_fn report, void *arg)
{
	return store_ops(s)->check(s, report, arg);
}

int rd_store_backup(struct rd_store *s, const char *dir, char *err, size_t errlen)
{
	return store_ops(s)->backup(s, dir, err, errlen);
}

/* ---- the whole store, raw: walk, load, digest --------------------------- */

int rd_store_walk(struct rd_store *s, rd_raw_fn fn, void *arg)
{
	return store_ops(s)->walk(s, fn, arg);
}

int rd_store_load_begin(struct rd_store *s, struct rd_store_load **out, char *err, size_t errlen)
{
	*out = NULL;
	err[0] = 0;
	return store_ops(s)->load_begin(s, out, err, errlen);
}

static const struct rd_store_ops *load_ops(const struct rd_store_load *l)
{
	/* The first member of every backend's struct rd_store_load is its store. */
	return store_ops(*(struct rd_store *const *)(const void *)l);
}

int rd_store_load_item(struct rd_store_load *l, const struct rd_raw_item *item)
{
	return load_ops(l)->load_item(l, item);
}

int rd_store_load_walk(struct rd_store_load *l, rd_raw_fn fn, void *arg)
{
	return load_ops(l)->load_walk(l, fn, arg);
}

int rd_store_load_end(struct rd_store_load *l, bool commit)
{
	return l ? load_ops(l)->load_end(l, commit) : 0;
}

/* What the digest leaves out, and why (docs/scaling.md, "The store digest"):
 *   - meta "claim:*": which node holds a vendor's sweep or a message and
 *     until when (node ids and leases), rewritten by every node's work and
 *     meaningless on another store;
 *   - the table action_keys: PostgreSQL's second copy of each action's
 *     idempotency key (claims.c), written only by nodes on PostgreSQL; the
 *     keys themselves are in the actions and their index, which count. */
bool rd_store_digest_skips(const struct rd_raw_item *it)
{
	if (it->kind == RD_RAW_META)
		return it->key_len >= 6 && memcmp(it->key, "claim:", 6) == 0;
	return it->table && strcmp(it->table, "action_keys") == 0;
}

struct rd_digest_state {
	crypto_generichash_state h;
	struct rd_store_digest out;
	bool any;
	/* the previous item, for the order check */
	enum rd_raw_kind kind;
	char table[72], index[72];
	uint64_t tenant, id;
	uint8_t *key;
	size_t key_len, key_cap;
};

struct rd_digest_state *rd_digest_new(void)
{
	/* the hash state wants its own alignment (64 bytes), more than malloc's */
	size_t size = (sizeof(struct rd_digest_state) + 63) / 64 * 64;
	struct rd_digest_state *d = aligned_alloc(64, size);
	rd_require(d != NULL);
	memset(d, 0, size);
	crypto_generichash_init(&d->h, NULL, 0, sizeof d->out.hash);
	static const char magic[] = "renewd-store-digest v1\n";
	crypto_generichash_update(&d->h, (const uint8_t *)magic, sizeof magic - 1);
	return d;
}

static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
	int c = an && bn ? memcmp(a, b, an < bn ? an : bn) : 0;
	return c ? c : (an > bn) - (an < bn);
}

static int u64_cmp(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

/* The canonical order (store.h, rd_store_walk): < 0 when the previous item
 * comes before it. */
static int order_cmp(const struct rd_digest_state *d, const struct rd_raw_item *it)
{
	int ra = d->kind == RD_RAW_META ? 0 : d->kind == RD_RAW_SEQ ? 1 : 2;
	int rb = it->kind == RD_RAW_META ? 0 : it->kind == RD_RAW_SEQ ? 1 : 2;
	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ra == 0)
		return bytes_cmp(d->key, d->key_len, it->key, it->key_len);
	int c = bytes_cmp(d->table, strlen(d->table), it->table, strlen(it->table));
	if (c)
		return c;
	if (ra == 1)
		return u64_cmp(d->tenant, it->tenant);
	if (d->kind != it->kind)
		return d->kind == RD_RAW_RECORD ? -1 : 1;
	if (it->kind == RD_RAW_INDEX && (c = bytes_cmp(d->index, strlen(d->index), it->index, strlen(it->index))))
		return c;
	if ((c = u64_cmp(d->tenant, it->tenant)))
		return c;
	if (it->kind == RD_RAW_RECORD)
		return u64_cmp(d->id, it->id);
	/* An index entry's key and id as both backends order them: the bytes
	 * of the key followed by the id's 8 (big-endian). */
	uint8_t b[RD_INDEX_KEY_MAX + 8];
	if (it->key_len > RD_INDEX_KEY_MAX)
		return 1;
	if (it->key_len)
		memcpy(b, it->key, it->key_len);
	rd_key_put_u64(b + it->key_len, it->id);
	return bytes_cmp(d->key, d->key_len, b, it->key_len + 8);
}

static void put_u64(crypto_generichash_state *h, uint64_t v)
{
	uint8_t b[8];
	rd_key_put_u64(b, v);
	crypto_generichash_update(h, b, 8);
}

static void put_bytes(crypto_generichash_state *h, const void *p, size_t n)
{
	uint8_t b[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	crypto_generichash_update(h, b, 4);
	if (n)
		crypto_generichash_update(h, p, n);
}

static struct rd_digest_table *digest_table(struct rd_store_digest *o, const char *name)
{
	if (o->n_tables && strcmp(o->tables[o->n_tables - 1].name, name) == 0)
		return &o->tables[o->n_tables - 1];
	if (o->n_tables == RD_DIGEST_TABLES)
		return NULL;
	struct rd_digest_table *t = &o->tables[o->n_tables++];
	snprintf(t->name, sizeof t->name, "%s", name);
	return t;
}

int rd_digest_add(struct rd_digest_state *d, const struct rd_raw_item *it)
{
	bool named = it->kind != RD_RAW_META;
	if (named && (!it->table || strlen(it->table) >= sizeof d->table ||
		      (it->kind == RD_RAW_INDEX && (!it->index || strlen(it->index) >= sizeof d->index ||
						     it->key_len > RD_INDEX_KEY_MAX))))
		return RD_EINVAL;
	if (d->any && order_cmp(d, it) >= 0) {
		rd_log(RD_LOG_ERROR, "store", "digest: the store's walk is out of the canonical order at %s %s",
		       named ? it->table : "meta", it->kind == RD_RAW_INDEX ? it->index : "");
		return RD_ECORRUPT;
	}
	d->any = true;
	d->kind = it->kind;
	snprintf(d->table, sizeof d->table, "%s", named ? it->table : "");
	snprintf(d->index, sizeof d->index, "%s", it->kind == RD_RAW_INDEX ? it->index : "");
	d->tenant = it->tenant;
	d->id = it->id;
	if (it->key_len + 8 > d->key_cap) {
		d->key_cap = (it->key_len + 8) * 2;
		d->key = rd_realloc(d->key, d->key_cap);
	}
	if (it->key_len)
		memcpy(d->key, it->key, it->key_len);
	d->key_len = it->key_len;
	if (it->kind == RD_RAW_INDEX) { /* key and id, as order_cmp compares them */
		rd_key_put_u64(d->key + it->key_len, it->id);
		d->key_len += 8;
	}

	struct rd_store_digest *o = &d->out;
	bool skip = rd_store_digest_skips(it);
	struct rd_digest_table *tb = NULL;
	if (it->kind == RD_RAW_RECORD || it->kind == RD_RAW_INDEX) {
		if (!(tb = digest_table(o, it->table)))
			return RD_ERANGE;
		tb->skipped = skip;
		if (it->kind == RD_RAW_RECORD)
			tb->records++;
		else
			tb->entries++;
	}
	if (skip) {
		if (it->kind == RD_RAW_META)
			o->meta_skipped++;
		else
			o->items_skipped++;
		return 0;
	}
	crypto_generichash_state *h = &d->h;
	switch (it->kind) {
	case RD_RAW_META:
		crypto_generichash_update(h, (const uint8_t *)"M", 1);
		put_bytes(h, it->key, it->key_len);
		put_bytes(h, it->val, it->len);
		o->meta++;
		break;
	case RD_RAW_SEQ:
		crypto_generichash_update(h, (const uint8_t *)"S", 1);
		put_bytes(h, it->table, strlen(it->table));
		put_u64(h, it->tenant);
		put_u64(h, it->id);
		o->seqs++;
		break;
	case RD_RAW_RECORD:
		crypto_generichash_update(h, (const uint8_t *)"R", 1);
		put_bytes(h, it->table, strlen(it->table));
		put_u64(h, it->tenant);
		put_u64(h, it->id);
		put_bytes(h, it->val, it->len);
		o->records++;
		break;
	case RD_RAW_INDEX:
		crypto_generichash_update(h, (const uint8_t *)"I", 1);
		put_bytes(h, it->table, strlen(it->table));
		put_bytes(h, it->index, strlen(it->index));
		put_u64(h, it->tenant);
		put_bytes(h, it->key, it->key_len);
		put_u64(h, it->id);
		o->entries++;
		break;
	default:
		return RD_EINVAL;
	}
	return 0;
}

void rd_digest_end(struct rd_digest_state *d, struct rd_store_digest *out)
{
	crypto_generichash_final(&d->h, d->out.hash, sizeof d->out.hash);
	*out = d->out;
	free(d->key);
	free(d);
}

static int digest_one(const struct rd_raw_item *it, void *arg)
{
	return rd_digest_add(arg, it);
}

int rd_store_digest(struct rd_store *s, struct rd_store_digest *out)
{
	struct rd_digest_state *d = rd_digest_new();
	int rc = rd_store_walk(s, digest_one, d);
	rd_digest_end(d, out);
	if (rc < 0)
		memset(out->hash, 0, sizeof out->hash);
	return rc < 0 ? rc : 0;
}

/* ---- counters (store.h "Counters") ---------------------------------------- */

/* Deltas gathered for one write (or a fill's, a check's recount). */
struct cdelta {
	uint8_t key[RD_COUNTER_KEY_MAX];
	size_t klen;
	struct rd_counter_val v;
};

struct cacc {
	struct cdelta *d;
	size_t n, cap;
	int sign;
	bool unmerged; /* a new record's contributions alone: nothing to cancel out, not sorted */
};

static int acc_emit(void *arg, const uint8_t *key, size_t klen, int64_t n, int64_t a, int64_t b)
{
	struct cacc *c = arg;
	if (rd_fails_assert(klen > 0 && klen <= RD_COUNTER_KEY_MAX))
		return RD_EINVAL;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->d = rd_realloc(c->d, c->cap * sizeof *c->d);
	}
	struct cdelta *x = &c->d[c->n++];
	memcpy(x->key, key, klen);
	x->klen = klen;
	x->v.n = c->sign < 0 ? -n : n;
	x->v.a = c->sign < 0 ? -(__int128)a : a;
	x->v.b = c->sign < 0 ? -(__int128)b : b;
	return 0;
}

static int key_order(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : an < bn ? -1 : an > bn;
}

static int by_cdelta(const void *a, const void *b)
{
	const struct cdelta *x = a, *y = b;
	return key_order(x->key, x->klen, y->key, y->klen);
}

static bool cval_zero(const struct rd_counter_val *v)
{
	return !v->n && !v->a && !v->b;
}

/* Sorts the deltas by key and sums those of one key; zero sums go. */
static void acc_merge(struct cacc *c)
{
	if (!c->n)
		return;
	qsort(c->d, c->n, sizeof *c->d, by_cdelta);
	size_t o = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (o && by_cdelta(&c->d[o - 1], &c->d[i]) == 0) {
			c->d[o - 1].v.n += c->d[i].v.n; /* a count: far from 2^63 */
			c->d[o - 1].v.a += c->d[i].v.a;
			c->d[o - 1].v.b += c->d[i].v.b;
		} else {
			if (o != i)
				c->d[o] = c->d[i];
			o++;
		}
		if (o && i + 1 < c->n && by_cdelta(&c->d[o - 1], &c->d[i + 1]) != 0 && cval_zero(&c->d[o - 1].v))
			o--;
	}
	if (o && cval_zero(&c->d[o - 1].v))
		o--;
	c->n = o;
}

/* The contributions of record tenant/id of tb as it stands in t. */
static int contrib_of(struct rd_txn *t, struct rd_table *tb, const struct rd_counter_def *def, uint64_t tenant,
		      uint64_t id, struct cacc *acc)
{
	const void *v;
	size_t len;
	int rc = rd_txn_get(t, tb, tenant, id, &v, &len);
	if (rc == RD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	return def->contrib(t, tenant, id, v, len, acc_emit, acc);
}

struct ids {
	uint64_t *v;
	size_t n, cap;
};

static int ids_add(void *arg, uint64_t id)
{
	struct ids *x = arg;
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 16;
		x->v = rd_realloc(x->v, x->cap * sizeof *x->v);
	}
	x->v[x->n++] = id;
	return 0;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The owners a write (or a batch) names, each once and in id order (the
 * contributions are taken in the same order before and after the write). */
static void ids_sort_unique(struct ids *x)
{
	if (x->n < 2)
		return;
	qsort(x->v, x->n, sizeof *x->v, by_u64);
	size_t o = 1;
	for (size_t i = 1; i < x->n; i++)
		if (x->v[i] != x->v[o - 1])
			x->v[o++] = x->v[i];
	x->n = o;
}

/* A new record's contributions added as they are emitted, with no
 * accumulator (counted_write: nothing before to subtract, sums commute). */
struct direct {
	struct rd_txn *t;
	struct rd_table *tb;
	uint64_t tenant;
};

static int direct_emit(void *arg, const uint8_t *key, size_t klen, int64_t n, int64_t a, int64_t b)
{
	struct direct *d = arg;
	if (rd_fails_assert(klen > 0 && klen <= RD_COUNTER_KEY_MAX))
		return RD_EINVAL;
	struct rd_counter_val v = { n, a, b };
	return txn_ops(d->t)->counter_add(d->t, d->tb, d->tenant, key, klen, &v);
}

static int acc_apply(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, struct cacc *acc)
{
	if (!acc->unmerged) /* one record's contributions alone: added as they are (sums commute) */
		acc_merge(acc);
	if (txn_ops(t)->counter_apply && acc->n > 1) {
		struct rd_counter_delta *d = rd_malloc(acc->n * sizeof *d);
		for (size_t i = 0; i < acc->n; i++)
			d[i] = (struct rd_counter_delta){ acc->d[i].key, acc->d[i].klen, acc->d[i].v };
		int rc = txn_ops(t)->counter_apply(t, tb, tenant, d, acc->n);
		free(d);
		return rc;
	}
	for (size_t i = 0; i < acc->n; i++) {
		int rc = txn_ops(t)->counter_add(t, tb, tenant, acc->d[i].key, acc->d[i].klen, &acc->d[i].v);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A put (val) or a delete (val NULL) of tenant/id in tb, with its counters. */
static int counted_write(struct rd_txn *t, struct rd_table *tb, const struct rd_counter_def *def, uint64_t tenant,
			 uint64_t id, const void *val, size_t len, unsigned flags)
{
	struct rd_table *ctb = tb; /* whose counters change */
	const struct rd_counter_def *cdef = def;
	struct ids ids = { 0 };
	int rc = 0;
	if (def->contrib)
		ids_add(&ids, id);
	if (def->owners) {
		struct rd_store *s = *(struct rd_store **)(void *)t;
		ctb = rd_store_table(s, def->owner);
		cdef = ctb ? txn_ops(t)->get_counters(ctb) : NULL;
		if (rd_fails_assert(cdef && cdef->contrib))
			return RD_EINTERNAL;
		const void *ov = NULL;
		size_t olen = 0;
		void *copy = NULL;
		rc = rd_txn_get(t, tb, tenant, id, &ov, &olen);
		if (rc == 0) {
			copy = rd_malloc(olen ? olen : 1);
			memcpy(copy, ov, olen);
		} else if (rc != RD_ENOTFOUND) {
			return rc;
		}
		rc = def->owners(t, tenant, copy, olen, val, len, ids_add, &ids);
		free(copy);
		if (rc < 0) {
			free(ids.v);
			return rc;
		}
	}
	ids_sort_unique(&ids);
	struct cacc acc = { .sign = -1 };
	/* A record's own contributions (not an owner's): a new one (RD_PUT_NEW:
	 * the put fails if it exists) had none before, and after the put they
	 * are the value's, without reading it back. */
	bool own = def->contrib && !def->owners && ids.n == 1 && ids.v[0] == id;
	for (size_t i = 0; rc >= 0 && i < ids.n && !(own && (flags & RD_PUT_NEW)); i++)
		rc = contrib_of(t, ctb, cdef, tenant, ids.v[i], &acc);
	if (rc >= 0)
		rc = val ? txn_ops(t)->put(t, tb, tenant, id, val, len, flags) : txn_ops(t)->del(t, tb, tenant, id);
	acc.sign = 1;
	if (own && val && rc >= 0 && (flags & RD_PUT_NEW) && !txn_ops(t)->counter_apply) {
		struct direct d = { t, ctb, tenant };
		rc = cdef->contrib(t, tenant, id, val, len, direct_emit, &d);
	} else if (own && val && rc >= 0) {
		rc = cdef->contrib(t, tenant, id, val, len, acc_emit, &acc);
	}
	acc.unmerged = own && (flags & RD_PUT_NEW) && !txn_ops(t)->counter_apply;
	for (size_t i = 0; rc >= 0 && i < ids.n && !(own && val); i++)
		rc = contrib_of(t, ctb, cdef, tenant, ids.v[i], &acc);
	if (rc >= 0)
		rc = acc_apply(t, ctb, tenant, &acc);
	free(acc.d);
	free(ids.v);
	return rc;
}

/* A batch with counters: every record's (or owner's) contributions before
 * the batch, the backend's own batch write (it writes plain records, with
 * MDB_APPEND where it can: a contribution reads other tables only, never
 * another record of the batch's table), the contributions after it; the
 * deltas merged as they go, applied once. */
static int counted_batch(struct rd_txn *t, struct rd_table *tb, const struct rd_counter_def *def, uint64_t tenant,
			 struct rd_batch_item *items, size_t n)
{
	int rc = rd_store_batch_sort(items, n);
	if (rc < 0)
		return rc;
	struct rd_table *ctb = tb;
	const struct rd_counter_def *cdef = def;
	struct ids ids = { 0 };
	if (def->contrib) {
		for (size_t i = 0; i < n; i++)
			ids_add(&ids, items[i].id);
	} else {
		ctb = rd_txn_table(t, def->owner);
		cdef = ctb ? txn_ops(t)->get_counters(ctb) : NULL;
		if (rd_fails_assert(cdef && cdef->contrib))
			return RD_EINTERNAL;
		for (size_t i = 0; rc >= 0 && i < n; i++) {
			const void *ov = NULL;
			size_t olen = 0;
			void *copy = NULL;
			rc = rd_txn_get(t, tb, tenant, items[i].id, &ov, &olen);
			if (rc == 0) {
				copy = rd_malloc(olen ? olen : 1);
				memcpy(copy, ov, olen);
			} else if (rc == RD_ENOTFOUND) {
				rc = 0;
			}
			if (rc >= 0)
				rc = def->owners(t, tenant, copy, olen, items[i].len ? items[i].val : "", items[i].len, ids_add,
						 &ids);
			free(copy);
		}
	}
	if (rc >= 0)
		ids_sort_unique(&ids);
	struct cacc acc = { .sign = -1 };
	size_t merge_at = 16384; /* merged as they grow: twice what the last merge left */
	for (size_t i = 0; rc >= 0 && i < ids.n; i++) {
		rc = contrib_of(t, ctb, cdef, tenant, ids.v[i], &acc);
		if (acc.n >= merge_at) {
			acc_merge(&acc);
			merge_at = acc.n * 2 > 16384 ? acc.n * 2 : 16384;
		}
	}
	if (rc >= 0)
		rc = txn_ops(t)->put_batch(t, tb, tenant, items, n);
	acc.sign = 1;
	for (size_t i = 0; rc >= 0 && i < ids.n; i++) {
		rc = contrib_of(t, ctb, cdef, tenant, ids.v[i], &acc);
		if (acc.n >= merge_at) {
			acc_merge(&acc);
			merge_at = acc.n * 2 > 16384 ? acc.n * 2 : 16384;
		}
	}
	if (rc >= 0)
		rc = acc_apply(t, ctb, tenant, &acc);
	free(acc.d);
	free(ids.v);
	return rc;
}

int rd_store_register_counters(struct rd_store *s, struct rd_table *tb, const struct rd_counter_def *def)
{
	if (rd_fails_assert(def && (def->contrib || (def->owner && def->owners))))
		return RD_EINVAL;
	store_ops(s)->set_counters(tb, def);
	return 0;
}

struct rd_table *rd_txn_table(struct rd_txn *t, const char *name)
{
	return rd_store_table(*(struct rd_store **)(void *)t, name);
}

const struct rd_counter_def *rd_table_counters(struct rd_txn *t, struct rd_table *tb)
{
	return txn_ops(t)->get_counters(tb);
}

int rd_txn_counters(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const void *from, size_t from_len,
		    const void *to, size_t to_len, rd_counter_row_fn fn, void *arg)
{
	return txn_ops(t)->counter_iter(t, tb, tenant, from, from_len, to, to_len, fn, arg);
}

/* Every contribution of tenant's records of tb, merged (sorted by key). */
static int recount(struct rd_txn *t, struct rd_table *tb, const struct rd_counter_def *def, uint64_t tenant,
		   struct cacc *acc)
{
	struct rd_iter it;
	struct rd_item item;
	acc->sign = 1;
	size_t since = 65536;
	int rc = rd_iter_records(&it, t, tb, tenant, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		rc = def->contrib(t, tenant, item.id, item.val, item.len, acc_emit, acc);
		if (rc >= 0 && acc->n >= since) { /* keeps the gathered deltas near the buckets' number */
			acc_merge(acc);
			since = acc->n * 2 > 65536 ? acc->n * 2 : 65536;
		}
	}
	rd_iter_close(&it);
	acc_merge(acc);
	return rc < 0 ? rc : 0;
}

int rd_txn_counter_add(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const void *key, size_t klen, int64_t n,
		       int64_t a, int64_t b)
{
	if (!klen || klen > RD_COUNTER_KEY_MAX)
		return RD_EINVAL;
	struct rd_counter_val v = { n, a, b };
	return txn_ops(t)->counter_add(t, tb, tenant, key, klen, &v);
}

int rd_txn_counters_fill(struct rd_txn *t, struct rd_table *tb, uint64_t tenant)
{
	const struct rd_counter_def *def = txn_ops(t)->get_counters(tb);
	if (!def || !def->contrib)
		return RD_ENOTFOUND;
	int rc = txn_ops(t)->counter_clear(t, tb, tenant);
	struct cacc acc = { .sign = 1 };
	if (rc >= 0)
		rc = recount(t, tb, def, tenant, &acc);
	if (rc >= 0)
		rc = acc_apply(t, tb, tenant, &acc);
	free(acc.d);
	return rc;
}

static void i128_text(__int128 v, char *out)
{
	char tmp[48];
	int n = 0;
	bool neg = v < 0;
	unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
	do {
		tmp[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	int o = 0;
	if (neg)
		out[o++] = '-';
	while (n)
		out[o++] = tmp[--n];
	out[o] = 0;
}

static void cval_text(const struct rd_counter_val *v, char *out, size_t cap)
{
	char a[48], b[48];
	i128_text(v->a, a);
	i128_text(v->b, b);
	snprintf(out, cap, "count %lld, amounts %s and %s", (long long)v->n, a, b);
}

struct ccheck {
	struct cacc *acc;
	bool *seen;
	const char *table;
	uint64_t tenant;
	void (*report)(const char *, void *);
	void *arg;
	int problems;
};

static void bucket_text(const uint8_t *k, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", k[i]);
}

static void counter_problem(struct ccheck *c, const uint8_t *k, size_t kn, const struct rd_counter_val *held,
			    const struct rd_counter_val *want)
{
	char hex[2 * RD_COUNTER_KEY_MAX + 1], h[160], w[160], msg[900];
	bucket_text(k, kn, hex);
	if (held)
		cval_text(held, h, sizeof h);
	if (want)
		cval_text(want, w, sizeof w);
	snprintf(msg, sizeof msg, "counters %s: tenant %llu bucket %s %s%s, a recount gives %s", c->table,
		 (unsigned long long)c->tenant, hex, held ? "holds " : "is missing", held ? h : "", want ? w : "nothing");
	c->report(msg, c->arg);
	c->problems++;
}

static int check_row(void *arg, const uint8_t *key, size_t klen, const struct rd_counter_val *v)
{
	struct ccheck *c = arg;
	size_t lo = 0, hi = c->acc->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int o = key_order(c->acc->d[mid].key, c->acc->d[mid].klen, key, klen);
		if (o == 0) {
			c->seen[mid] = true;
			const struct rd_counter_val *w = &c->acc->d[mid].v;
			if (w->n != v->n || w->a != v->a || w->b != v->b)
				counter_problem(c, key, klen, v, w);
			return 0;
		}
		if (o < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	counter_problem(c, key, klen, v, NULL);
	return 0;
}

int rd_txn_counters_check(struct rd_txn *t, struct rd_table *tb, uint64_t tenant,
			  void (*report)(const char *problem, void *arg), void *arg)
{
	const struct rd_counter_def *def = txn_ops(t)->get_counters(tb);
	if (!def || !def->contrib)
		return 0;
	struct cacc acc = { .sign = 1 };
	int rc = recount(t, tb, def, tenant, &acc);
	struct ccheck c = { &acc, rd_calloc(acc.n + 1, sizeof(bool)), def->name, tenant, report, arg, 0 };
	if (rc >= 0)
		rc = rd_txn_counters(t, tb, tenant, NULL, 0, NULL, 0, check_row, &c);
	for (size_t i = 0; rc >= 0 && i < acc.n; i++)
		if (!c.seen[i])
			counter_problem(&c, acc.d[i].key, acc.d[i].klen, NULL, &acc.d[i].v);
	free(c.seen);
	free(acc.d);
	return rc < 0 ? rc : c.problems;
}
