/*
 * store.h: renewd's storage interface.  core/store is the only place that
 * includes lmdb.h or libpq-fe.h; everything else sees tables, transactions
 * and iterators.  Two backends sit behind it (store.c dispatches through a
 * small ops table chosen at rd_store_open): LMDB in the data directory, the
 * default, described below, and PostgreSQL (opts.url = "postgresql://...",
 * store_pg.c; docs/scaling.md has its schema and what differs: write
 * transactions are SERIALIZABLE and replayed on serialization failures, a
 * lost database shows as RD_EBUSY).
 *
 * Model
 *   One environment in the data directory.  A table holds records keyed by
 *   (tenant, id), both u64, stored big-endian so that every tenant is one
 *   contiguous, id-ordered range.  A table may have secondary indexes: each
 *   index is a table of its own whose keys are (tenant, index key, id); the
 *   store maintains them in the same write transaction as the record, using
 *   the extractor the table definition provides.  Tenant 0 holds data that
 *   belongs to no vendor (the vendor list itself, the clock, ...).
 *
 * Threads and transactions (invariants)
 *   - Writes happen one write transaction at a time (LMDB; PostgreSQL runs
 *     them side by side, SERIALIZABLE), always through rd_store_write() or
 *     rd_store_write_long(), which own begin/commit/abort and the map-growth
 *     replay.  Callers never see MDB_MAP_FULL.  Most writes run on the loop
 *     thread; a long one (an import's rows) runs on a worker thread through
 *     rd_store_write_long(), and while it waits for or holds LMDB's writer
 *     the loop thread's rd_store_write() answers RD_EBUSY at once instead of
 *     stopping the loop behind it.
 *   - rd_store_read() hands out the store's one cached read transaction when
 *     it is free (reset/renew, not begin per request) and a fresh one
 *     otherwise; every read transaction is ended with rd_txn_end().  Values
 *     returned by a read stay valid until then.
 *   - A write function must not hold a read transaction across the call to
 *     rd_store_write(): the map can only grow with no transaction active.
 *
 * Ownership: a struct rd_store owns the environment and the tables; table
 * handles stay valid until rd_store_close().  Definitions passed to
 * rd_store_register() are borrowed and must outlive the store (they are
 * static tables in practice).
 */
#ifndef RD_STORE_STORE_H
#define RD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd_store;
struct rd_txn;
struct rd_table;

/* The one encoding of a u64 inside a key: 8 bytes big-endian, so that byte
 * order is numeric order (ids, dates, timestamps in index keys). */
void rd_key_put_u64(uint8_t out[8], uint64_t v);
uint64_t rd_key_get_u64(const uint8_t in[8]);

/* Largest index key an extractor may produce. */
#define RD_INDEX_KEY_MAX 200

/* Extracts the index key of one record into key[0..cap).  Returns the key
 * length (> 0), 0 when the record has no entry in this index, or a negative
 * error (the write fails).  Keys must be self-delimiting (fixed width, or
 * NUL-terminated) so that range scans never mix two keys' ids. */
typedef int (*rd_index_key_fn)(const void *rec, size_t len, uint8_t *key, size_t cap);

struct rd_index_def {
	const char *name; /* [a-z0-9_], 1..64 bytes */
	rd_index_key_fn key;
};

struct rd_table_def {
	const char *name;                   /* [a-z0-9_], 1..64 bytes, unique (else RD_EINVAL) */
	const struct rd_index_def *indexes; /* may be NULL */
	unsigned n_indexes;
};

/* Counters (rd_store_register_counters): a kind of index beside the plain ones.  A table that declares
 * `contrib` keeps aggregated rows keyed by (tenant, bucket key), each a
 * count and two amounts (an amount's currency is part of its bucket key:
 * amounts of two currencies never meet in one row).  Each record of the
 * table contributes zero or more (bucket key, count, amount, amount);
 * contrib may read other records through t (a contract's opportunity, its
 * product's price).  A table that declares `owner` and `owners` holds
 * records the owner table's contributions read: a change to one of them
 * re-derives the contributions of the owner records `owners` names.
 *
 * The store keeps the rows in the write transaction of every rd_txn_put,
 * rd_txn_del and rd_txn_put_batch (both backends): the contributions of the
 * records concerned are taken before the write (subtracted) and after it
 * (added), merged, and only the net deltas touch the rows; a row that comes
 * back to zero is removed.  Sums are 128-bit in the row (a write never
 * fails on a sum); the reader narrows them to amounts with checked
 * arithmetic.  Counters are derived data: rd_txn_counters_fill rebuilds a
 * tenant's rows from the records, rd_txn_counters_check compares them with
 * a recount.  A bulk path that writes records and index keys itself must
 * hand a table whose def has counters back to rd_txn_put (or call
 * rd_txn_put_batch, which keeps them). */
#define RD_COUNTER_KEY_MAX 160
struct rd_counter_val {
	int64_t n;
	__int128 a, b;
};
typedef int (*rd_counter_emit_fn)(void *arg, const uint8_t *key, size_t klen, int64_t n, int64_t a, int64_t b);
typedef int (*rd_counter_visit_fn)(void *arg, uint64_t id);
struct rd_counter_def {
	const char *name; /* in problem reports */
	int (*contrib)(struct rd_txn *t, uint64_t tenant, uint64_t id, const void *rec, size_t len,
		       rd_counter_emit_fn emit, void *arg);
	const char *owner; /* the table whose contributions read this one's records */
	/* The owner records a change from old to rec reads (either may be NULL). */
	int (*owners)(struct rd_txn *t, uint64_t tenant, const void *old, size_t old_len, const void *rec, size_t len,
		      rd_counter_visit_fn visit, void *arg);
};
/* Declares tb's counters (def borrowed for the store's life; after
 * rd_store_register, before the store is shared). */
int rd_store_register_counters(struct rd_store *s, struct rd_table *tb, const struct rd_counter_def *def);
/* The store's table named name, seen from one of its transactions (a
 * counters' contrib reads other tables through it), or NULL. */
struct rd_table *rd_txn_table(struct rd_txn *t, const char *name);
/* tb's counters' definition, or NULL.  A bulk path that writes records and
 * index keys itself hands a table with one back to rd_txn_put. */
const struct rd_counter_def *rd_table_counters(struct rd_txn *t, struct rd_table *tb);
/* Calls fn for each stored row of tb's counters of tenant with a bucket key
 * in [from, to) (to NULL: to the end), in key order; fn's non-zero result
 * stops the walk and is returned. */
typedef int (*rd_counter_row_fn)(void *arg, const uint8_t *key, size_t klen, const struct rd_counter_val *v);
int rd_txn_counters(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const void *from, size_t from_len,
		    const void *to, size_t to_len, rd_counter_row_fn fn, void *arg);
/* Adds to one row as a write would (for a marker row of the caller's own;
 * a recount knows nothing of it: keep such rows out of the tenants checked). */
int rd_txn_counter_add(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const void *key, size_t klen, int64_t n,
		       int64_t a, int64_t b);
/* Rebuilds tenant's rows of tb's counters from its records (the rows are
 * cleared first: idempotent; in the caller's transaction: all or nothing). */
int rd_txn_counters_fill(struct rd_txn *t, struct rd_table *tb, uint64_t tenant);
/* Compares tenant's rows with a recount; each drifted, missing or extra row
 * is reported (one sentence) and counted.  Returns the problems or < 0. */
int rd_txn_counters_check(struct rd_txn *t, struct rd_table *tb, uint64_t tenant,
			  void (*report)(const char *problem, void *arg), void *arg);

/* Migration hook: brings a store at schema `from` to `from + 1`, inside the
 * write transaction that also records the new version. */
typedef int (*rd_migrate_fn)(struct rd_txn *txn, uint32_t from);

struct rd_store_opts {
	bool readonly;          /* open without the directory lock (backup, check) */
	size_t map_size;        /* initial map size in bytes; 0: 64 MiB */
	size_t map_max;         /* growth stops here; 0: 1 TiB */
	uint32_t schema;        /* the schema version this program understands; 0: RD_SCHEMA */
	rd_migrate_fn migrate;  /* NULL: no migrations known */
	bool beside;            /* renewctl's writes: when a running renewd holds the directory lock,
				 * open without it and write beside that renewd (LMDB serialises the
				 * two processes' writers; on PostgreSQL the database does); LMDB never
				 * migrates then */
	bool dir_locked;        /* PostgreSQL: this process holds dir's lock already (renewctl
				 * migrate-store's LMDB source in the same directory): not taken again */
	const char *url;        /* NULL, "" or "lmdb": LMDB in dir; "postgresql://...": a PostgreSQL
				 * server (dir stays the local directory rd_store_dir names) */
	uint32_t statement_timeout_ms; /* PostgreSQL: a statement running longer is cancelled and its
					* transaction fails with RD_EBUSY; 0: no limit (set once open) */
	uint32_t connect_timeout_s;    /* PostgreSQL: a connection attempt gives up after this; 0: 5 s */
	bool writemap;          /* LMDB: a write's new pages are written in the data file's own pages
				 * (MDB_WRITEMAP), not held in memory until the commit, and a bulk load
				 * (rd_txn_bulk_begin) hands its mapped pages back to the kernel as it
				 * goes: memory stays flat however large the write (renewctl import).
				 * The file is sized to the map (sparse); no nested transactions
				 * (rd_txn_begin_child: RD_EINVAL).  PostgreSQL: no effect. */
};

/* The pid of the running renewd a store opened with opts.beside writes
 * beside (its lock file's), or 0 when this process holds the lock. */
long rd_store_beside_pid(const struct rd_store *s);

/* The current schema version of renewd's own tables. */
#define RD_SCHEMA 1

/* Opens (and in an empty directory, creates) the store.  On failure returns
 * a negative code and writes one sentence naming the directory and what is
 * wrong into err (RD_ENOTSTORE, RD_ELOCKED, -ENOENT, -EACCES, ...). */
int rd_store_open(struct rd_store **out, const char *dir, const struct rd_store_opts *opts, char *err,
		  size_t errlen);
/* Closes the environment; *s becomes NULL, so a second close is harmless. */
void rd_store_close(struct rd_store **s);

/* Declares a table (and its indexes), creating it on first use.  Call before
 * the store is shared; the definition is borrowed for the store's life. */
int rd_store_register(struct rd_store *s, const struct rd_table_def *def, struct rd_table **out);
struct rd_table *rd_store_table(struct rd_store *s, const char *name);

int rd_store_read(struct rd_store *s, struct rd_txn **out);
void rd_txn_end(struct rd_txn *txn);
/* The committed state a read transaction sees, as a number: two read
 * transactions of this process with the same non-zero number see the same
 * contents (LMDB: the id of the last write transaction committed, by this
 * process or another beside it, when the read began).  0: not known (a
 * PostgreSQL store): a caller must then check the contents themselves. */
uint64_t rd_txn_snapshot(struct rd_txn *txn);
/* The snapshot a read transaction begun now would see, without beginning
 * one (LMDB: the newest meta page's id); 0: not known. */
uint64_t rd_store_snapshot(struct rd_store *s);

/* Runs fn inside one write transaction: commits when fn returns >= 0 and
 * aborts otherwise (fn's result is returned).  When the map fills up, the
 * transaction is aborted, the map grows geometrically and fn is replayed, so
 * fn must be a pure function of arg and the store's contents. */
typedef int (*rd_write_fn)(struct rd_txn *txn, void *arg);
int rd_store_write(struct rd_store *s, rd_write_fn fn, void *arg);

/* rd_store_write for a long write on a thread other than the store's own
 * (the loop thread that opened it): an import's rows.  It waits for the
 * writer like any write; from the moment it asks until it has committed or
 * aborted, rd_store_write on the store's own thread waits for the writer at
 * most ~100 ms, then returns RD_EBUSY (the loop must not wait behind a write
 * of seconds).  Other threads' writes wait their turn.  The rule is the
 * dispatch's (store.c), the same on every backend: on PostgreSQL too this
 * process's writes go one at a time (a long write would otherwise lose every
 * SERIALIZABLE conflict to the loop's short ones and be replayed). */
int rd_store_write_long(struct rd_store *s, rd_write_fn fn, void *arg);

/* rd_store_write that waits behind a long write even on the store's own
 * thread (the behaviour before rd_store_write_long): for a write that
 * records an effect already had outside renewd (a mail sent, a webhook
 * delivered), which a refusal would lose (it would be sent again).  The
 * loop stalls for the rest of the long write, so use it for nothing else. */
int rd_store_write_wait(struct rd_store *s, rd_write_fn fn, void *arg);

/* A nested write transaction inside t (a write transaction, or a child
 * itself): its writes are seen by the parent once committed, and vanish
 * with it when aborted, the parent going on as before the child began.
 * While the child is open only the child is used.  Commit and abort free
 * the child (also when the commit fails: the parent is as before).  A
 * full map shows as RD_EMAPFULL here; rd_store_write still grows the map
 * and replays the whole write function. */
int rd_txn_begin_child(struct rd_txn *t, struct rd_txn **child);
int rd_txn_commit_child(struct rd_txn *child);
void rd_txn_abort_child(struct rd_txn *child);

/* Record access.  rd_txn_get borrows the value until the transaction ends. */
int rd_txn_get(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void **val,
	       size_t *len);
enum { RD_PUT_NEW = 1 }; /* fail with RD_EEXISTS if the record exists */
int rd_txn_put(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void *val,
	       size_t len, unsigned flags);
int rd_txn_del(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id);
/* Writes the entries of one index for every record of the table, all
 * tenants (an index added to a store that already holds records); *n the
 * entries written.  RD_ENOTFOUND when the table has no such index. */
int rd_txn_index_fill(struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t *n);
/* Allocates the next id for (table, tenant): 1, 2, 3, ...  Never reused. */
int rd_txn_next_id(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t *id);
/* Store-wide settings (key: short text). */
int rd_txn_meta_get(struct rd_txn *t, const char *key, const void **val, size_t *len);
int rd_txn_meta_put(struct rd_txn *t, const char *key, const void *val, size_t len);

/* Batch writes for imports: many records of one tenant in one call.  Items
 * are sorted by id in place; when they all lie beyond the table's last key,
 * records go in with MDB_APPEND (no page splits, no lookups). */
struct rd_batch_item {
	uint64_t id;
	const void *val;
	size_t len;
};
int rd_txn_put_batch(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, struct rd_batch_item *items,
		     size_t n);
/* The same in a transaction of its own. */
int rd_store_put_batch(struct rd_store *s, struct rd_table *tb, uint64_t tenant, struct rd_batch_item *items,
		       size_t n);

/* Bulk loads (large imports).  From rd_txn_bulk_begin until the write
 * transaction ends, each record of tb (tenant) that rd_txn_put CREATES is
 * appended (MDB_APPEND while its key sorts after the table's last) and its
 * entries in tb's plain key indexes are held back, except in the indexes
 * named in live (NULL-terminated, may be NULL), which are written with the
 * record as ever.  rd_txn_bulk_flush (which the commit calls) sorts each
 * held-back index's entries and inserts them in order (MDB_APPEND while
 * they sort after the index's last key): entries taken from each new
 * record as it was put, or, when a load's record was replaced or deleted,
 * a nested transaction began or the load outgrew rd_store_bulk_one_walk_max,
 * from the stored records.  The load's table's id sequence is held in
 * memory while it allocates and written back at the flush.
 * Until then a held-back index does not show the new records: look up
 * only the live ones.  Puts that replace a record, deletes, and indexes of
 * another kind are written as ever.  The tables and indexes end byte for
 * byte as rd_txn_put alone leaves them.  One bulk load per transaction
 * (another table: RD_EBUSY; the same again: nothing); none in a nested
 * transaction.  PostgreSQL: nothing (every put writes its entries). */
int rd_txn_bulk_begin(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const char *const *live);
int rd_txn_bulk_flush(struct rd_txn *t);
/* LMDB: a bulk load of up to this many new records takes all its held-back
 * index entries in one walk of the records (all held at once); a larger one
 * walks them once per index.  A setting for tests, 1 << 20 by default. */
extern size_t rd_store_bulk_one_walk_max;

/* Iterators over one tenant's records, in id order, or over an index range
 * [from, to) in key order (to == NULL: to the end of the tenant). */
struct rd_iter {
	struct rd_txn *txn;
	struct rd_table *tb;
	void *cursor;    /* the backend's cursor (LMDB cursor, PostgreSQL page state); owned */
	int index;       /* -1: records */
	uint64_t tenant;
	bool started, done;
	uint8_t from[8 + RD_INDEX_KEY_MAX + 8];
	size_t from_len;
	uint8_t to[8 + RD_INDEX_KEY_MAX];
	size_t to_len;
	bool keys_only;  /* index iterators: set after rd_iter_index to skip
			  * reading the records (rd_item val NULL, len 0) */
};
struct rd_item {
	uint64_t id;
	const void *val;       /* the record (borrowed) */
	size_t len;
	const uint8_t *key;    /* index iterators: the index key (borrowed) */
	size_t key_len;
};
int rd_iter_records(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t from_id);
int rd_iter_index(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t tenant,
		  const void *from, size_t from_len, const void *to, size_t to_len);
/* 1: *out holds the next item; 0: no more; < 0: error. */
int rd_iter_next(struct rd_iter *it, struct rd_item *out);
void rd_iter_close(struct rd_iter *it);

/* The backend of t's store, as rd_store_backend names it: a reader that
 * could read many records by id instead of walking a range asks (on
 * PostgreSQL each read is a statement). */
const char *rd_txn_backend(const struct rd_txn *t);

/* Counts the records of one tenant (walks the range). */
int rd_store_count(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t *n);

/* Grows the map ahead of a large write (an import), so that its write
 * function is not replayed once per doubling.  No transaction may be active.
 * The map never grows past map_max. */
int rd_store_reserve(struct rd_store *s, uint64_t extra_bytes);

struct rd_store_stats {
	uint64_t map_size;    /* bytes mapped */
	uint64_t used_bytes;  /* pages in use x page size */
	uint64_t file_bytes;  /* data.mdb on disk */
	uint32_t readers_used, readers_max;
	uint32_t schema;
};
int rd_store_stats(struct rd_store *s, struct rd_store_stats *st);

/* Integrity check: every index entry points to a record that yields that
 * key, and every record has all its index entries.  Each problem is passed
 * to report (one sentence); returns the number of problems or < 0. */
typedef void (*rd_check_report_fn)(const char *problem, void *arg);
int rd_store_check(struct rd_store *s, rd_check_report_fn report, void *arg);

/* Hot, compacted copy into dir (which must not exist or be empty), taken from
 * one read snapshot while writers carry on. */
int rd_store_backup(struct rd_store *s, const char *dir, char *err, size_t errlen);

/* The database as /healthz and /metrics report it.  rd_store_health probes
 * it (LMDB: a read transaction begins; PostgreSQL: SELECT 1 on a pooled
 * connection, timed) and fills h; returns 0 when reachable, else < 0. */
struct rd_store_health {
	const char *backend;       /* "lmdb" or "postgresql" */
	bool reachable;            /* the probe succeeded */
	double latency_seconds;    /* the probe's round trip (0 when unreachable) */
	uint64_t reconnects;       /* working connections made again after the database was lost */
	uint64_t retries;          /* write transactions replayed after a serialization failure or deadlock */
	uint64_t statement_timeouts; /* statements cancelled by the statement timeout */
	uint64_t connect_failures; /* connection attempts that failed */
	char last_error[120];      /* "" or a fixed phrase naming the last failure (no server text: the log has it) */
	uint64_t last_error_ms;    /* when (unix ms; 0: none) */
};
int rd_store_health(struct rd_store *s, struct rd_store_health *h);

const char *rd_store_dir(const struct rd_store *s);
/* "lmdb" or "postgresql". */
const char *rd_store_backend(const struct rd_store *s);

/* ---- the whole store, raw (renewctl check's digest, renewctl migrate-store) ----
 *
 * rd_store_walk hands every stored item of the store to fn from ONE read
 * snapshot, whatever tables this program registered, in the canonical order
 * (docs/scaling.md, "The store digest"):
 *   1. store-wide settings (meta) by key bytes;
 *   2. id sequences by (table name bytes, tenant);
 *   3. then for each table by name bytes: its records by (tenant, id), then
 *      its indexes by name bytes, each index's entries by (tenant, key, id).
 * The pointers in an item are valid during the call only.  fn returns < 0
 * to stop the walk with that result. */
enum rd_raw_kind { RD_RAW_META = 1, RD_RAW_SEQ, RD_RAW_RECORD, RD_RAW_INDEX };
struct rd_raw_item {
	enum rd_raw_kind kind;
	const char *table;   /* SEQ, RECORD, INDEX */
	const char *index;   /* INDEX */
	uint64_t tenant;     /* SEQ, RECORD, INDEX */
	uint64_t id;         /* RECORD, INDEX; SEQ: the last id handed out */
	const void *key;     /* META: the key (not NUL-terminated); INDEX: the extractor's key, without the id */
	size_t key_len;
	const void *val;     /* META, RECORD */
	size_t len;
};
typedef int (*rd_raw_fn)(const struct rd_raw_item *item, void *arg);
int rd_store_walk(struct rd_store *s, rd_raw_fn fn, void *arg);

/* Filling an empty store from a walk (renewctl migrate-store): begin refuses
 * (RD_EEXISTS, err says what it found) a store that holds any record, index
 * entry, sequence or setting other than the marker and the schema version;
 * items go in as given, in one transaction; end commits (commit true) or
 * throws everything away.  On LMDB a full map shows as RD_EMAPFULL from
 * load_item or load_end (nothing committed): reserve and start again. */
struct rd_store_load;
int rd_store_load_begin(struct rd_store *s, struct rd_store_load **out, char *err, size_t errlen);
int rd_store_load_item(struct rd_store_load *l, const struct rd_raw_item *item);
/* rd_store_walk over what the load holds so far, inside its transaction
 * (verified before it commits). */
int rd_store_load_walk(struct rd_store_load *l, rd_raw_fn fn, void *arg);
int rd_store_load_end(struct rd_store_load *l, bool commit);

/* The store's content digest: BLAKE2b-256 over the walk's items that are
 * content (not the node-local claims "claim:*" nor the PostgreSQL-only
 * action_keys table: rd_store_digest_skips), each framed as
 * docs/scaling.md says.  Identical for the same content on either backend. */
#define RD_DIGEST_TABLES 128
struct rd_store_digest {
	uint8_t hash[32];
	uint64_t meta, meta_skipped, seqs, records, entries, items_skipped;
	unsigned n_tables;
	struct rd_digest_table {
		char name[72];
		uint64_t records, entries;
		bool skipped;
	} tables[RD_DIGEST_TABLES];
};
bool rd_store_digest_skips(const struct rd_raw_item *item);
/* Digest of the items in the order given (a running digest: init, add..., end). */
struct rd_digest_state;
struct rd_digest_state *rd_digest_new(void);
int rd_digest_add(struct rd_digest_state *d, const struct rd_raw_item *item);
void rd_digest_end(struct rd_digest_state *d, struct rd_store_digest *out);
/* rd_digest_* over rd_store_walk. */
int rd_store_digest(struct rd_store *s, struct rd_store_digest *out);

#endif
