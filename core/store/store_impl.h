/*
 * store_impl.h: what the store's dispatch (store.c) and its backends
 * (store_lmdb.c, store_pg.c) share.  Nothing outside core/store includes it.
 *
 * Each backend defines struct rd_store, struct rd_txn and struct rd_table
 * privately, in its own file, with two rules the dispatch relies on:
 *   - the FIRST member of struct rd_store is `const struct rd_store_ops *ops`;
 *   - the FIRST member of struct rd_txn is `struct rd_store *s`.
 * The dispatch never looks further into them (the types stay incomplete in
 * store.c), so one backend's layout is never seen by another's code.
 */
#ifndef RD_STORE_IMPL_H
#define RD_STORE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "store/store.h"

/* This process's writes, one at a time: every backend embeds one in its
 * struct rd_store and hands it to the dispatch through ops->writer; the
 * dispatch (store.c rd_store_write, _wait, _long) keeps the rule of who
 * waits for it and how long.  long_writes counts the rd_store_write_long
 * calls waiting for or holding the lock, long_since is when the one holding
 * it took it (monotonic ns; 0: none holds it): a write on the owner (the
 * loop thread that opened the store) waits behind them at most ~100 ms, and
 * not at all once one has held the lock that long (RD_EBUSY: the caller
 * answers 503 with Retry-After, or tries again later). */
struct rd_store_writer {
	pthread_t owner;
	pthread_mutex_t lock;
	atomic_int long_writes;
	_Atomic uint64_t long_since;
};

/* True while the owner (loop) thread writes through rd_store_write, which
 * must not wait long for the writer: a backend that finds another process
 * writing (LMDB: renewctl beside renewd) answers RD_EBUSY rather than
 * blocking the loop (store.c sets it; store_lmdb.c reads it). */
extern _Thread_local bool rd_store_loop_nowait;

/* The data directory's lock, on either backend: DIR/renewd.lock (0600),
 * locked with flock and holding the holder's pid, so that a second renewd
 * on the directory is refused and renewctl knows it writes beside one.
 * Returns 0 with *fd (this process holds the lock until rd_store_dir_unlock),
 * RD_ELOCKED with *holder (the pid the file names, -1 unknown; nothing kept
 * open), or -errno when the file cannot be opened or written. */
int rd_store_dir_lock(const char *dir, int *fd, long *holder);
void rd_store_dir_unlock(int fd);

/* At open, on the thread that becomes the owner; at close. */
void rd_store_writer_init(struct rd_store_writer *w);
void rd_store_writer_destroy(struct rd_store_writer *w);

/* One net change to a counters' row (store.c gathers them per write). */
struct rd_counter_delta {
	const uint8_t *key;
	size_t klen;
	struct rd_counter_val v;
};

struct rd_store_ops {
	const char *name; /* "lmdb", "postgresql" */
	void (*close)(struct rd_store **s);
	const char *(*dir)(const struct rd_store *s);
	int (*reg)(struct rd_store *s, const struct rd_table_def *def, struct rd_table **out);
	struct rd_table *(*table)(struct rd_store *s, const char *name);
	int (*read)(struct rd_store *s, struct rd_txn **out);
	void (*txn_end)(struct rd_txn *t);
	/* one write, the writer's lock already held (store.c took it): begin,
	 * fn, commit or abort, and the backend's own replays */
	int (*write)(struct rd_store *s, rd_write_fn fn, void *arg);
	struct rd_store_writer *(*writer)(struct rd_store *s);
	int (*begin_child)(struct rd_txn *t, struct rd_txn **child);
	int (*commit_child)(struct rd_txn *child);
	void (*abort_child)(struct rd_txn *child);
	int (*get)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void **val, size_t *len);
	int (*put)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void *val, size_t len,
		   unsigned flags);
	int (*del)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id);
	int (*next_id)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t *id);
	int (*meta_get)(struct rd_txn *t, const char *key, const void **val, size_t *len);
	int (*meta_put)(struct rd_txn *t, const char *key, const void *val, size_t len);
	int (*put_batch)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, struct rd_batch_item *items, size_t n);
	int (*iter_records)(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t from_id);
	int (*iter_index)(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t tenant,
			  const void *from, size_t from_len, const void *to, size_t to_len);
	int (*iter_next)(struct rd_iter *it, struct rd_item *out);
	void (*iter_close)(struct rd_iter *it);
	int (*count)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t *n); /* NULL: walk */
	int (*index_fill)(struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t *n);
	long (*beside_pid)(const struct rd_store *s);
	int (*reserve)(struct rd_store *s, uint64_t extra_bytes);
	int (*stats)(struct rd_store *s, struct rd_store_stats *st);
	int (*check)(struct rd_store *s, rd_check_report_fn report, void *arg);
	int (*backup)(struct rd_store *s, const char *dir, char *err, size_t errlen);
	/* the whole store, raw (store.h rd_store_walk, rd_store_load_*): the FIRST
	 * member of a backend's struct rd_store_load is its `struct rd_store *s` */
	int (*walk)(struct rd_store *s, rd_raw_fn fn, void *arg);
	int (*load_begin)(struct rd_store *s, struct rd_store_load **out, char *err, size_t errlen);
	int (*load_item)(struct rd_store_load *l, const struct rd_raw_item *item);
	int (*load_walk)(struct rd_store_load *l, rd_raw_fn fn, void *arg);
	int (*load_end)(struct rd_store_load *l, bool commit);
	int (*bulk_begin)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const char *const *live); /* NULL: none */
	int (*bulk_flush)(struct rd_txn *t);
	/* counters (store.c keeps them; the backends store the rows) */
	int (*counter_add)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const uint8_t *key, size_t klen,
			   const struct rd_counter_val *d);
	int (*counter_iter)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const uint8_t *from, size_t from_len,
			    const uint8_t *to, size_t to_len, rd_counter_row_fn fn, void *arg);
	int (*counter_clear)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant);
	void (*set_counters)(struct rd_table *tb, const struct rd_counter_def *def);
	const struct rd_counter_def *(*get_counters)(struct rd_table *tb);
	/* NULL: counter_add per delta.  Else a write's deltas (distinct keys) at once. */
	int (*counter_apply)(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const struct rd_counter_delta *d,
			     size_t n);
	/* rd_txn_snapshot, rd_store_snapshot; NULL: 0 (not known) */
	uint64_t (*snapshot)(struct rd_txn *t);
	uint64_t (*store_snapshot)(struct rd_store *s);
};

extern const struct rd_store_ops rd_store_lmdb_ops;
int rd_store_lmdb_open(struct rd_store **out, const char *dir, const struct rd_store_opts *opts, char *err,
		       size_t errlen);
extern const struct rd_store_ops rd_store_pg_ops;
int rd_store_pg_open(struct rd_store **out, const char *dir, const struct rd_store_opts *opts, char *err,
		     size_t errlen);
/* rd_store_health for a PostgreSQL store. */
int rd_store_pg_health(struct rd_store *s, struct rd_store_health *h);

/* Table and index names: [a-z0-9_], 1..64 bytes. */
bool rd_store_valid_name(const char *name);

/* True when url names a PostgreSQL server (postgresql:// or postgres://). */
bool rd_store_is_pg_url(const char *url);

/* ---- what every backend does alike (store.c) ---- */

/* Sorts a batch by id; RD_EINVAL when an id comes twice. */
int rd_store_batch_sort(struct rd_batch_item *items, size_t n);

/* Starts it over tb's records of tenant: no index, no bounds yet. */
void rd_store_iter_init(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, uint64_t tenant);

/* The position of the index named index among def's, or -1. */
int rd_store_index_of(const struct rd_table_def *def, const char *index);

/* What rd_store_check finds wrong with a record and an index entry, in the
 * words every backend reports it in. */
enum rd_check_problem {
	RD_CHECK_UNDECODABLE, /* the record does not decode for the index (err says why) */
	RD_CHECK_MISSING,     /* the record's index entry is missing */
	RD_CHECK_UNKNOWN,     /* an entry of an index this renewd does not define */
	RD_CHECK_DANGLING,    /* an entry whose record does not exist */
	RD_CHECK_STALE,       /* an entry the record no longer yields */
};

/* Reports one problem of table's record tenant/id in index, and counts it. */
void rd_store_check_problem(rd_check_report_fn report, void *arg, int *problems, enum rd_check_problem what,
			    const char *table, const char *index, uint64_t tenant, uint64_t id, int err);

/* ---- the schema version, the same in every backend (store.c) ---- */

/* The schema version an open wants: opts->schema, else RD_SCHEMA. */
uint32_t rd_store_schema_want(const struct rd_store_opts *o);

/* The version as the meta key "schema" holds it: 4 bytes, little-endian. */
void rd_store_schema_put(uint8_t out[4], uint32_t v);
uint32_t rd_store_schema_get(const void *p);

/* RD_EVERSION with err set when a store holding schema cannot open for a
 * renewd that wants want: newer than it understands, or older and readonly.
 * The store is named "<kind> <name>" ("data directory /x", "store url"). */
int rd_store_schema_check(uint32_t schema, uint32_t want, bool readonly, const char *kind, const char *name, char *err,
			  size_t errlen);

/* Migrates an open, writable store from *schema up to the wanted version
 * with o->migrate, one write transaction a step that also records the new
 * version; *schema follows.  Named as for rd_store_schema_check. */
int rd_store_migrate(struct rd_store *s, const struct rd_store_opts *o, uint32_t *schema, const char *kind,
		     const char *name, char *err, size_t errlen);

#endif
