/*
 * store_lmdb.c: the LMDB backend (the default).  The only file in renewd that
 * includes lmdb.h; store.c dispatches to it through rd_store_lmdb_ops.
 *
 * Key layouts (all integers big-endian so byte order is numeric order):
 *   table  "t:<name>"          tenant(8) id(8)               -> record
 *   index  "i:<name>:<index>"  tenant(8) index-key(n) id(8)  -> (empty)
 *   "_seq"                     <name> NUL tenant(8)          -> last id(8)
 *   "_meta"                    <key>                         -> value
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_impl.h"
#include "util/err.h"
#include "util/log.h"

static void bus_watch(struct rd_store *s); /* a SIGBUS in a writemap store's map (below) */

#define MAGIC "renewd-store"
#define DEFAULT_MAP (64u << 20)
#define DEFAULT_MAP_MAX ((size_t)1 << 40)
#define MAX_TABLES 120

struct rd_table {
	const struct rd_table_def *def;
	MDB_dbi dbi;
	MDB_dbi idx[16];
	bool missing; /* read-only store opened before this table existed */
	struct rd_table *next;
	const struct rd_counter_def *counters; /* rd_store_register_counters */
};

/* One index's entries for a bulk load.  An entry's key past the tenant
 * (the same in every entry) is the extractor's key and the id: its first
 * 16 bytes, zero-padded, are held as two numbers (big-endian, so that
 * comparing them compares the bytes), the rest in buf, so that sorting
 * and writing keys of up to 16 bytes (ids, dates) never leave the array. */
struct entry {
	uint64_t p1, p2;
	uint32_t off;  /* the bytes past the first 16, in buf */
	uint16_t len;  /* the key's length past the tenant */
};

struct entries {
	struct entry *e;
	size_t n, cap;
	uint8_t *buf;
	size_t len, cap_buf;
};

/* A write transaction's bulk load (rd_txn_bulk_begin): the ids of the
 * records of one table and tenant it created, whose entries in the
 * deferred indexes are written by bulk_flush. */
struct bulk {
	struct rd_table *tb;
	uint64_t tenant;
	bool live[16];  /* indexes written with each record, as ever */
	uint64_t *ids;
	size_t n, cap;
	uint64_t ops; /* records and entries written: bulk_release every BULK_RELEASE_EVERY */
	/* Counter deltas of the whole load (lm_counter_add), summed in memory
	 * per row key and written once, in key order, by bulk_counters_apply:
	 * at the flush, and before anything reads or clears counters. */
	struct bulk_cnt { uint64_t hash; uint32_t off; uint16_t klen; struct rd_counter_val v; } *cnt;
	size_t cnt_n, cnt_cap;
	struct bulk_slot { uint32_t tag, at; } *cnt_slot; /* at: 1 + the index into cnt, 0: empty; tag: the hash's top half */
	size_t cnt_slots;
	uint8_t *cnt_keys;
	size_t cnt_keys_len, cnt_keys_cap;
	/* Deltas not summed yet (bulk_cnt_drain): summed CNT_PENDING at a
	 * time, their slots and entries fetched from memory together rather
	 * than one miss after another (a first load's deltas land all over a
	 * table of a million rows). */
	struct cnt_pending *pend;
	unsigned pend_n;
	/* The held-back plain indexes' entries, taken from each new record as
	 * it is put (its fields are at hand then: model.c keeps the last
	 * records' fields), while nothing else changes the load's records and
	 * there are at most rd_store_bulk_one_walk_max of them; else (collect
	 * false) bulk_flush takes them from the stored records. */
	bool collect;
	unsigned which[16], m; /* the held-back plain indexes */
	struct entries *es;    /* [m] */
	uint64_t min_id;       /* the smallest new id of the load */
	/* The table's id sequence while the load allocates (lm_txn_next_id):
	 * written back at the flush and before a nested transaction. */
	bool seq_held;
	uint64_t seq_last;
};

#define BULK_RELEASE_EVERY 32768

struct rd_txn {
	struct rd_store *s; /* first: store_impl.h */
	MDB_txn *txn;
	bool write;
	bool cached;
	bool child; /* a nested write transaction (rd_txn_begin_child) */
	struct bulk *bulk; /* rd_txn_bulk_begin: records whose index entries wait for bulk_flush */
};

struct rd_store {
	const struct rd_store_ops *ops; /* first: store_impl.h */
	MDB_env *env;
	uint64_t opened; /* which store this process opened, 1, 2, ...: part of rd_txn_snapshot */
	char *dir;
	int lock_fd;
	int gate_fd; /* beside a running renewd: renewd.lock, for the write gate (write_gate) */
	uint64_t gate_busy_since; /* the loop's write first found the gate taken (monotonic ns), or 0 */
	bool readonly;
	long beside_pid; /* opts.beside and the lock was held: that renewd's pid (-1 unknown) */
	size_t map_size, map_max;
	MDB_dbi meta, seq;
	uint32_t schema;
	MDB_dbi counters;      /* "_counters": tenant(8) table NUL bucket -> struct rd_counter_val */
	bool counters_missing; /* read-only store opened before counters existed */
	struct rd_table *tables;
	unsigned n_tables;
	/* The tables by name (the latest registered of a name, as the list
	 * answers): rd_txn_table is asked per record (the counters' joins). */
	struct rd_table *by_name[256];
	/* The cached read transaction belongs to the thread that opened the
	 * store (the loop thread); other threads always begin their own. */
	pthread_t owner;
	struct rd_txn cached;
	bool cached_busy;
	bool writing;
	/* LMDB remaps (mdb_env_set_mapsize: our own growth, or adopting the
	 * size renewctl grew beside us) only while no transaction of this
	 * process is open, and renewd's threads each open their own: every
	 * open transaction holds this lock shared, a remap takes it exclusive
	 * (remap_exclusive: a bounded wait, never a deadlock). */
	pthread_rwlock_t remap;
	bool remap_init;
	/* One write at a time in this process, taken (store.c) before LMDB's
	 * own writer lock: a thread asks for it without holding a transaction. */
	struct rd_store_writer writer;
	bool writemap; /* opts.writemap: MDB_WRITEMAP */
};

/* The one translation point for LMDB results. */
static int lmdb_error(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_NOTFOUND: return RD_ENOTFOUND;
	case MDB_KEYEXIST: return RD_EEXISTS;
	case MDB_MAP_FULL: return RD_EMAPFULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_BAD_TXN: return RD_ECORRUPT;
	case MDB_INVALID:
	case MDB_INCOMPATIBLE: return RD_ENOTSTORE;
	case MDB_VERSION_MISMATCH: return RD_EVERSION;
	case MDB_READERS_FULL:
	case MDB_TXN_FULL: return RD_EBUSY;
	case MDB_BAD_VALSIZE: return RD_ETOOBIG;
	default: break;
	}
	if (rc > 0)
		return -rc; /* an errno */
	rd_log(RD_LOG_ERROR, "store", "LMDB: %s", mdb_strerror(rc));
	return RD_EINTERNAL;
}


static const char *lm_store_dir(const struct rd_store *s)
{
	return s->dir;
}

/* ---- opening ------------------------------------------------------------ */

/* The data directory 0700 and the files renewd keeps in it 0600, also for
 * a store made before renewd set them so (best effort: a file renewd does
 * not own keeps its mode). */
static void private_modes(const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "renewd.lock" };
	char path[4200];
	chmod(dir, 0700);
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		chmod(path, 0600);
	}
}

/* "not writable", naming the store's file this process cannot write and
 * its owner when one is the cause (a store file made by root, say, under a
 * directory the service user owns), else the directory. */
static void not_writable(const struct rd_store *s, int e, char *err, size_t errlen)
{
	static const char *const files[] = { "renewd.lock", "lock.mdb", "data.mdb" };
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char path[4200];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", s->dir, files[i]);
		if (stat(path, &st) == 0 && faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0) {
			snprintf(err, errlen,
				 "data directory %s is not writable: its %s belongs to uid %u and this process (uid %u) "
				 "may not write it: give the store's files to the user renewd runs as (chown)",
				 s->dir, files[i], (unsigned)st.st_uid, (unsigned)geteuid());
			return;
		}
	}
	snprintf(err, errlen, "data directory %s is not writable: %s", s->dir, strerror(e));
}

static int take_lock(struct rd_store *s, char *err, size_t errlen)
{
	int rc = rd_store_dir_lock(s->dir, &s->lock_fd, &s->beside_pid);
	if (rc == RD_ELOCKED) {
		char pid[32] = "unknown";
		if (s->beside_pid > 0)
			snprintf(pid, sizeof pid, "%ld", s->beside_pid);
		snprintf(err, errlen, "data directory %s is in use by another renewd (pid %s)", s->dir, pid);
	} else if (rc < 0) {
		not_writable(s, -rc, err, errlen);
	}
	return rc;
}

/* Is there a store here, and if not, may we make one?  Returns 1 for an
 * existing store, 0 for an empty directory, < 0 (with err) otherwise. */
static int inspect_dir(struct rd_store *s, char *err, size_t errlen)
{
	struct stat st;
	if (stat(s->dir, &st) != 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "data directory %s does not exist (create it with mkdir first)", s->dir);
		else
			snprintf(err, errlen, "data directory %s: %s", s->dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "data directory %s is not a directory", s->dir);
		return -ENOTDIR;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/data.mdb", s->dir);
	if (stat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "data directory %s is not a renewd store (data.mdb is not a file)", s->dir);
			return RD_ENOTSTORE;
		}
		return 1;
	}
	DIR *d = opendir(s->dir);
	if (!d) {
		int e = errno;
		snprintf(err, errlen, "data directory %s cannot be read: %s", s->dir, strerror(e));
		return -e;
	}
	struct dirent *de;
	const char *stranger = NULL;
	char name[256];
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "renewd.lock") ||
		    !strcmp(de->d_name, "lock.mdb"))
			continue;
		snprintf(name, sizeof name, "%s", de->d_name);
		stranger = name;
		break;
	}
	closedir(d);
	if (stranger) {
		snprintf(err, errlen, "data directory %s is not a renewd store: it is not empty (holds %s) and has no data.mdb",
			 s->dir, stranger);
		return RD_ENOTSTORE;
	}
	if (s->readonly) {
		snprintf(err, errlen, "data directory %s holds no renewd store yet", s->dir);
		return RD_ENOTSTORE;
	}
	return 0;
}

/* Takes the remap lock exclusive: every other transaction of this process
 * has ended.  Waits at most ~5 s (a thread that holds a transaction while it
 * asks, or one that keeps one open that long, makes it RD_EBUSY instead of
 * a deadlock); 0 with the lock held. */
static int remap_exclusive(struct rd_store *s)
{
	for (int i = 0; i < 5000; i++) {
		if (pthread_rwlock_trywrlock(&s->remap) == 0)
			return 0;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	rd_log(RD_LOG_WARN, "store", "the map was not resized: transactions of this process stayed open for 5 s");
	return RD_EBUSY;
}

/* Sets the map size (0: adopt the size another process set) with no other
 * transaction of this process open. */
static int remap(struct rd_store *s, size_t size)
{
	int rc = remap_exclusive(s);
	if (rc < 0)
		return rc;
	rc = mdb_env_set_mapsize(s->env, size);
	pthread_rwlock_unlock(&s->remap);
	return lmdb_error(rc);
}

/* Every transaction begins here and ends in txn_commit or txn_abort: it
 * holds the remap lock shared while it is open. */
static int begin(struct rd_store *s, unsigned flags, MDB_txn **out)
{
	for (int tries = 0;; tries++) {
		pthread_rwlock_rdlock(&s->remap);
		int rc = mdb_txn_begin(s->env, NULL, flags, out);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&s->remap);
		if (rc == MDB_MAP_RESIZED && tries < 3) {
			/* Another process grew the map: adopt its size. */
			int mrc = remap(s, 0);
			if (mrc < 0)
				return mrc;
			continue;
		}
		if (rc == MDB_READERS_FULL && tries < 3) {
			int dead = 0;
			mdb_reader_check(s->env, &dead);
			continue;
		}
		return lmdb_error(rc);
	}
}

static int txn_commit(struct rd_store *s, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);
	pthread_rwlock_unlock(&s->remap);
	return rc;
}

static void txn_abort(struct rd_store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->remap);
}

/* True when data.mdb holds no named DB at all: LMDB wrote its meta pages
 * but no transaction ever committed, i.e. a first start was cut off. */
static bool never_committed(MDB_txn *txn)
{
	MDB_dbi main;
	MDB_stat st;
	return mdb_dbi_open(txn, NULL, 0, &main) == 0 && mdb_stat(txn, main, &st) == 0 && st.ms_entries == 0;
}

static int open_meta(struct rd_store *s, bool fresh, const struct rd_store_opts *o, char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc = begin(s, s->readonly ? MDB_RDONLY : 0, &txn);
	if (rc < 0) {
		snprintf(err, errlen, "data directory %s: cannot begin a transaction: %s", s->dir, rd_strerror(rc));
		return rc;
	}
	unsigned create = s->readonly ? 0 : MDB_CREATE;
	uint32_t want = rd_store_schema_want(o);
	int mrc = mdb_dbi_open(txn, "_meta", fresh ? create : 0, &s->meta);
	if (mrc == MDB_NOTFOUND && never_committed(txn)) {
		if (s->readonly) {
			snprintf(err, errlen, "data directory %s holds no renewd store yet", s->dir);
			rc = RD_ENOTSTORE;
			goto fail;
		}
		fresh = true; /* finish the interrupted first start */
		mrc = mdb_dbi_open(txn, "_meta", create, &s->meta);
	}
	if (mrc == MDB_NOTFOUND) {
		snprintf(err, errlen, "data directory %s is not a renewd store (an LMDB environment of something else)",
			 s->dir);
		rc = RD_ENOTSTORE;
		goto fail;
	}
	if ((rc = lmdb_error(mrc)) < 0)
		goto fail_msg;
	if ((rc = lmdb_error(mdb_dbi_open(txn, "_seq", create, &s->seq))) < 0)
		goto fail_msg;
	int crc = mdb_dbi_open(txn, "_counters", create, &s->counters);
	if (crc == MDB_NOTFOUND && s->readonly)
		s->counters_missing = true;
	else if ((rc = lmdb_error(crc)) < 0)
		goto fail_msg;

	MDB_val k = { 5, "magic" }, v;
	if (fresh) {
		v = (MDB_val){ strlen(MAGIC), MAGIC };
		if ((rc = lmdb_error(mdb_put(txn, s->meta, &k, &v, 0))) < 0)
			goto fail_msg;
		uint8_t sv[4];
		rd_store_schema_put(sv, want);
		MDB_val sk = { 6, "schema" }, svv = { 4, sv };
		if ((rc = lmdb_error(mdb_put(txn, s->meta, &sk, &svv, 0))) < 0)
			goto fail_msg;
		s->schema = want;
	} else {
		if (mdb_get(txn, s->meta, &k, &v) != 0 || v.mv_size != strlen(MAGIC) ||
		    memcmp(v.mv_data, MAGIC, v.mv_size) != 0) {
			snprintf(err, errlen, "data directory %s is not a renewd store (no renewd marker)", s->dir);
			rc = RD_ENOTSTORE;
			goto fail;
		}
		MDB_val sk = { 6, "schema" };
		if (mdb_get(txn, s->meta, &sk, &v) != 0 || v.mv_size != 4) {
			snprintf(err, errlen, "data directory %s: the store has no schema version", s->dir);
			rc = RD_ECORRUPT;
			goto fail;
		}
		s->schema = rd_store_schema_get(v.mv_data);
	}
	if ((rc = rd_store_schema_check(s->schema, want, s->readonly, "data directory", s->dir, err, errlen)) < 0)
		goto fail;
	/* Committing (even a read-only transaction) keeps the DBI handles. */
	if ((rc = lmdb_error(txn_commit(s, txn))) < 0) {
		snprintf(err, errlen, "data directory %s: cannot initialise the store: %s", s->dir, rd_strerror(rc));
		return rc;
	}
	return 0;
fail_msg:
	snprintf(err, errlen, "data directory %s: cannot open the store: %s", s->dir, rd_strerror(rc));
fail:
	txn_abort(s, txn);
	return rc;
}

int rd_store_lmdb_open(struct rd_store **out, const char *dir, const struct rd_store_opts *o, char *err, size_t errlen)
{
	struct rd_store *s = rd_calloc(1, sizeof *s);
	s->ops = &rd_store_lmdb_ops;
	static atomic_uint_fast64_t n_opened;
	s->opened = atomic_fetch_add(&n_opened, 1) + 1;
	s->dir = rd_strdup(dir);
	s->lock_fd = s->gate_fd = -1;
	/* reader-preferring (glibc's default): a thread may hold two
	 * transactions at once without waiting for a remap queued between */
	rd_require(pthread_rwlock_init(&s->remap, NULL) == 0);
	rd_store_writer_init(&s->writer);
	s->remap_init = true;
	s->readonly = o && o->readonly;
	s->writemap = o && o->writemap && !s->readonly;
	s->map_size = o && o->map_size ? o->map_size : DEFAULT_MAP;
	s->map_max = o && o->map_max ? o->map_max : DEFAULT_MAP_MAX;
	if (s->map_max < s->map_size)
		s->map_max = s->map_size;
	s->owner = pthread_self();
	*out = NULL;

	int rc = inspect_dir(s, err, errlen);
	if (rc < 0)
		goto fail;
	bool fresh = rc == 0;
	if (!s->readonly && (rc = take_lock(s, err, errlen)) < 0) {
		if (rc != RD_ELOCKED || !o || !o->beside)
			goto fail;
		/* A running renewd holds it (its pid, as its lock file says,
		 * in s->beside_pid): write beside it. */
		char path[4096];
		snprintf(path, sizeof path, "%s/renewd.lock", s->dir);
		s->gate_fd = open(path, O_RDWR | O_CLOEXEC); /* -1: no gate, writes as before */
		err[0] = 0;
	}
	if (!s->readonly) /* the store is the service user's alone, whatever made it */
		private_modes(s->dir);

	/* MDB_WRITEMAP sizes data.mdb to the map (ftruncate, at the open and
	 * at each growth): only while this process holds the directory lock
	 * (no renewd beside us writes past the file's end), and from a map no
	 * smaller than the file, which it must never shorten. */
	if (s->writemap && s->beside_pid)
		s->writemap = false;
	if (s->writemap) {
		char path[4200];
		struct stat fst;
		snprintf(path, sizeof path, "%s/data.mdb", s->dir);
		if (stat(path, &fst) == 0 && (uint64_t)fst.st_size > s->map_size)
			s->map_size = ((size_t)fst.st_size + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
		if (s->map_max < s->map_size)
			s->map_max = s->map_size;
	}
	if ((rc = lmdb_error(mdb_env_create(&s->env))) < 0)
		goto fail_msg;
	mdb_env_set_maxdbs(s->env, MAX_TABLES);
	mdb_env_set_maxreaders(s->env, 256);
	mdb_env_set_mapsize(s->env, s->map_size);
	/* A writemap store (a bulk import) faults in new pages of the file's
	 * holes: with readahead the kernel zeroes a large folio around each
	 * fault (3.4 s of system time in a 1 M contract import, 1.3 s
	 * without), and the load reads nothing in order anyway. */
	int mrc = mdb_env_open(s->env, s->dir,
			       MDB_NOTLS | (s->readonly ? MDB_RDONLY : 0) | (s->writemap ? MDB_WRITEMAP | MDB_NORDAHEAD : 0),
			       0600);
	if (mrc == MDB_INVALID || mrc == MDB_VERSION_MISMATCH) {
		snprintf(err, errlen, "data directory %s is not a renewd store (data.mdb is not a readable LMDB file)", s->dir);
		rc = RD_ENOTSTORE;
		goto fail;
	}
	if (mrc == EACCES || mrc == EROFS) {
		not_writable(s, mrc, err, errlen);
		rc = -mrc;
		goto fail;
	}
	if ((rc = lmdb_error(mrc)) < 0)
		goto fail_msg;
	if (s->writemap)
		bus_watch(s);
	int dead = 0;
	mdb_reader_check(s->env, &dead);
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	s->map_size = info.me_mapsize;
	/* A data.mdb shorter than the pages its meta page counts (a copy or a
	 * backup that stopped half-way) would be read past its end through the
	 * map: SIGBUS at the first transaction.  Refused here with a sentence. */
	MDB_stat est;
	struct stat fst;
	char dpath[4200];
	snprintf(dpath, sizeof dpath, "%s/data.mdb", s->dir);
	if (mdb_env_stat(s->env, &est) == 0 && stat(dpath, &fst) == 0 &&
	    (uint64_t)fst.st_size < ((uint64_t)info.me_last_pgno + 1) * est.ms_psize) {
		snprintf(err, errlen,
			 "data directory %s: data.mdb is shorter than the store it describes (%llu bytes of %llu): a "
			 "truncated copy (a backup or copy that stopped before its end?); restore a whole backup",
			 s->dir, (unsigned long long)fst.st_size,
			 (unsigned long long)(((uint64_t)info.me_last_pgno + 1) * est.ms_psize));
		rc = RD_ENOTSTORE;
		goto fail;
	}

	if ((rc = open_meta(s, fresh, o, err, errlen)) < 0)
		goto fail;
	if (s->beside_pid && s->schema != rd_store_schema_want(o)) {
		snprintf(err, errlen, "data directory %s holds schema version %u and the renewd running on it (pid %ld) "
			 "must migrate it: restart renewd first", s->dir, s->schema, s->beside_pid);
		rc = RD_EVERSION;
		goto fail;
	}
	if (!s->readonly && (rc = rd_store_migrate(s, o, &s->schema, "data directory", s->dir, err, errlen)) < 0)
		goto fail;
	*out = s;
	return 0;
fail_msg:
	snprintf(err, errlen, "data directory %s: cannot open the store: %s", s->dir, rd_strerror(rc));
fail:
	rd_store_close(&s);
	return rc;
}

static void lm_store_close(struct rd_store **sp)
{
	struct rd_store *s = *sp;
	if (!s)
		return;
	if (s->cached.txn)
		mdb_txn_abort(s->cached.txn);
	if (s->env)
		mdb_env_close(s->env);
	if (s->remap_init) {
		pthread_rwlock_destroy(&s->remap);
		rd_store_writer_destroy(&s->writer);
	}
	while (s->tables) {
		struct rd_table *t = s->tables;
		s->tables = t->next;
		free(t);
	}
	if (s->gate_fd >= 0)
		close(s->gate_fd);
	rd_store_dir_unlock(s->lock_fd);
	free(s->dir);
	free(s);
	*sp = NULL;
}

/* ---- tables ------------------------------------------------------------- */

static int open_dbi(MDB_txn *txn, const char *prefix, const char *name, const char *sub, unsigned flags,
		    MDB_dbi *out)
{
	char dbname[160];
	if (sub)
		snprintf(dbname, sizeof dbname, "%s%s:%s", prefix, name, sub);
	else
		snprintf(dbname, sizeof dbname, "%s%s", prefix, name);
	return mdb_dbi_open(txn, dbname, flags, out);
}

/* Table and index names: [a-z0-9_], 1..NAME_MAX_LEN bytes.  The length keeps
 * "i:<table>:<index>" within open_dbi's buffer and "<table> NUL tenant"
 * within rd_txn_next_id's; the alphabet keeps ':' from making two
 * definitions share one LMDB database. */
#define NAME_MAX_LEN 64

static bool valid_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

/* A table name's first slot in rd_store.by_name. */
static size_t name_slot(const char *name)
{
	uint32_t h = 2166136261u;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return (h ^ h >> 16) % 256;
}

static int lm_store_register(struct rd_store *s, const struct rd_table_def *def, struct rd_table **out)
{
	if (rd_fails_assert(def->n_indexes <= 16 && s->n_tables + 1 + def->n_indexes < MAX_TABLES - 3))
		return RD_ERANGE;
	if (rd_fails_assert(valid_name(def->name)))
		return RD_EINVAL;
	for (unsigned i = 0; i < def->n_indexes; i++)
		if (rd_fails_assert(valid_name(def->indexes[i].name)))
			return RD_EINVAL;
	if (rd_store_table(s, def->name)) {
		*out = rd_store_table(s, def->name);
		return 0;
	}
	struct rd_table *tb = rd_calloc(1, sizeof *tb);
	tb->def = def;
	MDB_txn *txn;
	int rc = begin(s, s->readonly ? MDB_RDONLY : 0, &txn);
	if (rc < 0) {
		free(tb);
		return rc;
	}
	unsigned flags = s->readonly ? 0 : MDB_CREATE;
	int mrc = open_dbi(txn, "t:", def->name, NULL, flags, &tb->dbi);
	for (unsigned i = 0; mrc == 0 && i < def->n_indexes; i++)
		mrc = open_dbi(txn, "i:", def->name, def->indexes[i].name, flags, &tb->idx[i]);
	if (mrc == MDB_NOTFOUND && s->readonly) {
		tb->missing = true; /* nothing was ever written to it */
		mrc = 0;
	}
	rc = lmdb_error(mrc);
	if (rc == 0)
		rc = lmdb_error(txn_commit(s, txn)); /* keeps the handles, read-only too */
	else
		txn_abort(s, txn);
	if (rc < 0) {
		free(tb);
		return rc;
	}
	tb->next = s->tables;
	s->tables = tb;
	s->n_tables += 1 + def->n_indexes;
	size_t at = name_slot(def->name);
	while (s->by_name[at] && strcmp(s->by_name[at]->def->name, def->name) != 0)
		at = (at + 1) % (sizeof s->by_name / sizeof *s->by_name);
	s->by_name[at] = tb;
	*out = tb;
	return 0;
}

static long lm_store_beside_pid(const struct rd_store *s)
{
	return s->beside_pid;
}

static struct rd_table *lm_store_table(struct rd_store *s, const char *name)
{
	for (size_t at = name_slot(name); s->by_name[at]; at = (at + 1) % (sizeof s->by_name / sizeof *s->by_name))
		if (strcmp(s->by_name[at]->def->name, name) == 0)
			return s->by_name[at];
	return NULL;
}

/* ---- transactions ------------------------------------------------------- */

static int lm_store_read(struct rd_store *s, struct rd_txn **out)
{
	bool mine = pthread_equal(s->owner, pthread_self());
	if (mine && !s->cached_busy) {
		int rc;
		if (s->cached.txn) {
			/* a reset transaction holds no lock; renewed, it does */
			pthread_rwlock_rdlock(&s->remap);
			rc = mdb_txn_renew(s->cached.txn);
			if (rc != 0) {
				pthread_rwlock_unlock(&s->remap);
				if (rc == MDB_MAP_RESIZED) { /* begin adopts the new size */
					mdb_txn_abort(s->cached.txn);
					s->cached.txn = NULL;
					rc = begin(s, MDB_RDONLY, &s->cached.txn);
				} else {
					rc = lmdb_error(rc);
				}
			}
		} else {
			rc = begin(s, MDB_RDONLY, &s->cached.txn);
		}
		if (rc < 0) {
			s->cached.txn = NULL;
			return rc;
		}
		s->cached.s = s;
		s->cached.cached = true;
		s->cached_busy = true;
		*out = &s->cached;
		return 0;
	}
	struct rd_txn *t = rd_calloc(1, sizeof *t);
	int rc = begin(s, MDB_RDONLY, &t->txn);
	if (rc < 0) {
		free(t);
		return rc;
	}
	t->s = s;
	*out = t;
	return 0;
}

static void lm_txn_end(struct rd_txn *t)
{
	if (!t)
		return;
	if (rd_fails_assert(!t->write))
		return;
	if (t->cached) {
		mdb_txn_reset(t->txn);
		pthread_rwlock_unlock(&t->s->remap);
		t->s->cached_busy = false;
		return;
	}
	txn_abort(t->s, t->txn);
	free(t);
}

/* A read transaction's snapshot: the id of the last committed write it
 * sees (LMDB numbers every committed write transaction), with the number
 * of the store in this process above bit 44, so that two stores opened one
 * after the other never share one. */
static uint64_t lm_txn_snapshot(struct rd_txn *t)
{
	uint64_t id = (uint64_t)mdb_txn_id(t->txn);
	if (t->write || id >= (UINT64_C(1) << 44) || t->s->opened >= (UINT64_C(1) << 20))
		return 0;
	return t->s->opened << 44 | id;
}

/* The snapshot a read transaction begun now sees: the newest meta page's
 * transaction id (what mdb_txn_renew would pick), numbered as above.  The
 * meta pages are in the map: read with the remap lock held shared, as a
 * transaction holds it (another thread growing the map unmaps them); 0,
 * "not known", while a remap has it. */
static uint64_t lm_store_snapshot(struct rd_store *s)
{
	MDB_envinfo info;
	if (pthread_rwlock_tryrdlock(&s->remap) != 0)
		return 0;
	int rc = mdb_env_info(s->env, &info);
	pthread_rwlock_unlock(&s->remap);
	if (rc != 0)
		return 0;
	uint64_t id = (uint64_t)info.me_last_txnid;
	if (id >= (UINT64_C(1) << 44) || s->opened >= (UINT64_C(1) << 20))
		return 0;
	return s->opened << 44 | id;
}

/* A store opened with MDB_WRITEMAP writes its new pages straight into
 * data.mdb's pages through the map, and the file is sparse up to the map's
 * size: when the file system cannot back a page (it is full, or the disk
 * fails) the kernel answers the write with SIGBUS, which killed the process
 * with a bare "Bus error".  While such a store is open, a SIGBUS inside its
 * map says so and exits 1: the transaction in progress never reached its
 * meta page, so nothing of it is committed.  The message is made before
 * the handler is installed (async-signal-safe). */
static char bus_msg[4700];
static size_t bus_len;
static volatile uintptr_t bus_lo, bus_hi;
static struct sigaction bus_saved;
static bool bus_installed;

static bool find_map(struct rd_store *s, unsigned long *lo, unsigned long *hi);

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	uintptr_t a = (uintptr_t)si->si_addr;
	if (bus_len && a >= bus_lo && a < bus_hi) {
		ssize_t w = write(STDERR_FILENO, bus_msg, bus_len);
		(void)w;
		_exit(1);
	}
	sigaction(sig, &bus_saved, NULL); /* not ours: as it was handled before */
	raise(sig);
}

/* (Again) after the map moved: where it is now. */
static void bus_watch(struct rd_store *s)
{
	unsigned long lo, hi;
	if (find_map(s, &lo, &hi)) {
		bus_lo = lo;
		bus_hi = hi;
	} else { /* not found: any SIGBUS while the store is open is taken for it */
		bus_lo = 0;
		bus_hi = UINTPTR_MAX;
	}
	if (bus_installed)
		return;
	int n = snprintf(bus_msg, sizeof bus_msg,
			 "store %s: a page of data.mdb could not be written: the file system holding it is full (or "
			 "failing). The write in progress was not committed (a --no-atomic import keeps the batches "
			 "before it; nothing else changed): free space and run it again; renewctl check shows the store\n",
			 s->dir);
	bus_len = n < 0 ? 0 : (size_t)n >= sizeof bus_msg ? sizeof bus_msg - 1 : (size_t)n;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	bus_installed = sigaction(SIGBUS, &sa, &bus_saved) == 0;
}

static int grow(struct rd_store *s)
{
	if (s->map_size >= s->map_max) {
		rd_log(RD_LOG_ERROR, "store", "store map is full at its maximum of %zu bytes (raise map_max)", s->map_max);
		return RD_EMAPFULL;
	}
	size_t next = s->map_size * 2;
	if (next > s->map_max)
		next = s->map_max;
	int rc = remap(s, next);
	if (rc < 0)
		return rc;
	rd_log(RD_LOG_INFO, "store", "map grown from %zu to %zu bytes", s->map_size, next);
	s->map_size = next;
	if (s->writemap)
		bus_watch(s);
	return 0;
}

static int lm_txn_bulk_flush(struct rd_txn *t);
/* With MDB_WRITEMAP the write's pages are the data file's pages in the
 * page cache, mapped into this process: counted as its memory while
 * mapped.  Dropping the mapping (MADV_DONTNEED on a shared file mapping)
 * keeps their contents in the page cache, dirty ones included, and a later
 * access maps them again: the bulk load's memory stays flat. */
/* The mapping of DIR/data.mdb (by its inode) as the kernel lists it: LMDB
 * names its map's address only for MDB_FIXEDMAP, and it moves when the
 * map grows.  false when it cannot be found. */
static bool find_map(struct rd_store *s, unsigned long *lo, unsigned long *hi)
{
	char path[4200], line[4400];
	struct stat st;
	snprintf(path, sizeof path, "%s/data.mdb", s->dir);
	if (stat(path, &st) != 0)
		return false;
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return false;
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long off, ino;
		char perms[8];
		unsigned maj, min;
		found = sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", lo, hi, perms, &off, &maj, &min, &ino) == 7 &&
			ino == (unsigned long)st.st_ino && perms[3] == 's' && *hi > *lo;
	}
	fclose(f);
	return found;
}

static void bulk_release(struct rd_txn *t)
{
	unsigned long lo, hi;
	if (!t->s->writemap || ++t->bulk->ops % BULK_RELEASE_EVERY)
		return;
	if (find_map(t->s, &lo, &hi))
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* The commit of a bulk load with MDB_WRITEMAP: LMDB clears a flag in each
 * page of its dirty list (up to 512 MiB of pages), mapping every one of
 * them again.  A helper thread hands them back while it does. */
struct releaser {
	void *lo;
	size_t len;
	atomic_bool done;
};

static void *release_loop(void *arg)
{
	struct releaser *r = arg;
	while (!atomic_load(&r->done)) {
		madvise(r->lo, r->len, MADV_DONTNEED);
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int commit_releasing(struct rd_store *s, MDB_txn *txn)
{
	unsigned long lo, hi;
	struct releaser r = { 0 };
	pthread_t th;
	bool started = false;
	if (find_map(s, &lo, &hi)) {
		r.lo = (void *)lo;
		r.len = hi - lo;
		atomic_init(&r.done, false);
		started = pthread_create(&th, NULL, release_loop, &r) == 0;
	}
	int rc = txn_commit(s, txn);
	if (started) {
		atomic_store(&r.done, true);
		pthread_join(th, NULL);
		madvise(r.lo, r.len, MADV_DONTNEED);
	}
	return rc;
}

static void bulk_free(struct rd_txn *t);
static int bulk_counters_apply(struct rd_txn *t);
static int bulk_seq_write(struct rd_txn *t);
static void bulk_drop_keys(struct bulk *b);
static void bulk_touch(struct rd_txn *t, const struct rd_table *tb, uint64_t tenant, uint64_t id);

/* The write gate: one byte of renewd.lock, far past the pid it holds,
 * locked with POSIX record locks (apart from the flock that marks renewd
 * running).  LMDB's writer lock is one across processes and has no
 * try-lock: a renewctl write beside renewd (an import's rows: seconds)
 * would hold renewd's loop thread in mdb_txn_begin for all that time.  So
 * renewctl beside renewd takes the gate exclusively around each write, and
 * renewd takes it shared around each of its own: a loop write that finds
 * it taken waits at most GATE_WAIT_NS (none once the gate has been taken
 * that long) and is refused RD_EBUSY, as behind renewd's own imports
 * (store.c, rd_store_write); renewd's other writes wait for it.  One write
 * at a time in each process (store.c's writer lock), so a process never
 * holds the byte twice. */
#define GATE_BYTE ((off_t)1 << 30)
#define GATE_WAIT_NS (100ull * 1000 * 1000)

static uint64_t gate_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int gate_lock(int fd, short type, bool wait)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = GATE_BYTE, .l_len = 1 };
	while (fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) != 0) {
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EACCES ? RD_EBUSY : 0; /* no record locks there: as before */
	}
	return 0;
}

/* 0 with the gate held (or no gate), RD_EBUSY: a loop write refused. */
static int write_gate(struct rd_store *s, int *held)
{
	*held = s->beside_pid ? s->gate_fd : s->lock_fd;
	if (*held < 0)
		return 0;
	short type = s->beside_pid ? F_WRLCK : F_RDLCK;
	if (s->beside_pid || !rd_store_loop_nowait)
		return gate_lock(*held, type, true);
	uint64_t t0 = gate_now_ns();
	for (;;) {
		if (gate_lock(*held, type, false) == 0) {
			s->gate_busy_since = 0;
			return 0;
		}
		uint64_t now = gate_now_ns();
		if (!s->gate_busy_since)
			s->gate_busy_since = now;
		if (now - s->gate_busy_since >= GATE_WAIT_NS || now - t0 >= GATE_WAIT_NS) {
			*held = -1;
			return RD_EBUSY;
		}
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static void write_ungate(int held)
{
	if (held >= 0) {
		struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = GATE_BYTE, .l_len = 1 };
		(void)fcntl(held, F_SETLK, &fl);
	}
}

static int write_gated(struct rd_store *s, rd_write_fn fn, void *arg);

/* One write, with the process's write lock held (store.c takes it;
 * s->writing and the map's size belong to its holder), inside the write
 * gate (write_gate). */
static int write_locked(struct rd_store *s, rd_write_fn fn, void *arg)
{
	int held;
	int rc = write_gate(s, &held);
	if (rc < 0)
		return rc;
	rc = write_gated(s, fn, arg);
	write_ungate(held);
	return rc;
}

static int write_gated(struct rd_store *s, rd_write_fn fn, void *arg)
{
	bool mine = pthread_equal(s->owner, pthread_self());
	for (;;) {
		struct rd_txn t = { .s = s, .write = true };
		int rc = begin(s, 0, &t.txn);
		if (rc < 0)
			return rc;
		/* Another process (renewctl beside renewd, or renewd beside it)
		 * may have grown the map: grow from its size, not a stale one. */
		MDB_envinfo info;
		if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->map_size)
			s->map_size = info.me_mapsize;
		s->writing = true;
		rc = fn(&t, arg);
		bool bulk = t.bulk != NULL;
		if (rc >= 0 && t.bulk) {
			int frc = lm_txn_bulk_flush(&t);
			if (frc < 0)
				rc = frc;
		}
		bulk_free(&t);
		if (rc >= 0) {
			int crc = bulk && s->writemap ? commit_releasing(s, t.txn) : txn_commit(s, t.txn);
			s->writing = false;
			if (crc == 0)
				return rc;
			rc = lmdb_error(crc);
		} else {
			txn_abort(s, t.txn);
			s->writing = false;
		}
		if (rc != RD_EMAPFULL)
			return rc;
		/* Abort is done; no transaction of ours is active unless a caller
		 * breaks the "no read across write" rule.  (The cached read
		 * transaction is the owner thread's: another thread's write waits
		 * in remap_exclusive for the owner's reads to end.) */
		if (mine && rd_fails_assert(!s->cached_busy))
			return RD_EMAPFULL;
		if ((rc = grow(s)) < 0)
			return rc;
	}
}

/* ops->write: store.c holds the writer's lock (rd_store_write, _wait, _long). */
static int lm_store_write(struct rd_store *s, rd_write_fn fn, void *arg)
{
	if (rd_fails_assert(!s->readonly))
		return RD_EINTERNAL;
	return write_locked(s, fn, arg);
}

static struct rd_store_writer *lm_store_writer(struct rd_store *s)
{
	return &s->writer;
}

/* Nested write transactions: LMDB's own (the environment is opened without
 * MDB_WRITEMAP, which they need).  While the child is open the parent is
 * not used; committing merges the child's pages into the parent, aborting
 * drops them: records, indexes, ids and settings alike. */
static int lm_txn_begin_child(struct rd_txn *parent, struct rd_txn **out)
{
	*out = NULL;
	if (rd_fails_assert(parent && parent->write))
		return RD_EINTERNAL;
	if (parent->s->writemap)
		return RD_EINVAL; /* LMDB has no nested transactions with MDB_WRITEMAP */
	int brc = bulk_counters_apply(parent); /* the child reads the parent's counters as written */
	if (brc >= 0)
		brc = bulk_seq_write(parent); /* and allocates ids after the parent's */
	if (brc < 0)
		return brc;
	if (parent->bulk) /* the child may change the load's records */
		bulk_drop_keys(parent->bulk);
	struct rd_txn *c = rd_malloc(sizeof *c);
	*c = (struct rd_txn){ .s = parent->s, .write = true, .child = true };
	int rc = mdb_txn_begin(parent->s->env, parent->txn, 0, &c->txn);
	if (rc != 0) {
		free(c);
		return lmdb_error(rc);
	}
	*out = c;
	return 0;
}

static int lm_txn_commit_child(struct rd_txn *c)
{
	if (rd_fails_assert(c && c->child))
		return RD_EINTERNAL;
	int rc = mdb_txn_commit(c->txn); /* frees the child, also when it fails */
	free(c);
	return lmdb_error(rc);
}

static void lm_txn_abort_child(struct rd_txn *c)
{
	if (!c || rd_fails_assert(c->child))
		return;
	mdb_txn_abort(c->txn);
	free(c);
}

static int lm_store_reserve(struct rd_store *s, uint64_t extra)
{
	if (rd_fails_assert(!s->readonly && !s->writing && !s->cached_busy))
		return RD_EINTERNAL;
	MDB_envinfo info;
	MDB_stat ms;
	if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &ms) != 0)
		return RD_EINTERNAL;
	uint64_t used = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
	size_t want = s->map_size;
	while (want < used + extra && want < s->map_max)
		want = want * 2 > s->map_max ? s->map_max : want * 2;
	if (want == s->map_size)
		return 0;
	int rc = remap(s, want);
	if (rc < 0)
		return rc;
	rd_log(RD_LOG_INFO, "store", "map grown from %zu to %zu bytes ahead of a large write", s->map_size, want);
	s->map_size = want;
	return 0;
}

static MDB_val record_key(uint8_t buf[16], uint64_t tenant, uint64_t id)
{
	rd_key_put_u64(buf, tenant);
	rd_key_put_u64(buf + 8, id);
	return (MDB_val){ 16, buf };
}

static int table_ready(struct rd_txn *t, struct rd_table *tb)
{
	if (tb->missing)
		return RD_ENOTFOUND;
	(void)t;
	return 0;
}

static int lm_txn_get(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void **val, size_t *len)
{
	int rc = table_ready(t, tb);
	if (rc < 0)
		return rc;
	uint8_t kb[16];
	MDB_val k = record_key(kb, tenant, id), v;
	rc = lmdb_error(mdb_get(t->txn, tb->dbi, &k, &v));
	if (rc < 0)
		return rc;
	*val = v.mv_data;
	*len = v.mv_size;
	return 0;
}

/* Index entry key: tenant, extractor output, id.  Returns its length, 0 when
 * the record has no entry, < 0 on extractor failure. */
static int index_key(const struct rd_index_def *ix, uint64_t tenant, uint64_t id, const void *rec, size_t len,
		     uint8_t *out)
{
	int n = ix->key(rec, len, out + 8, RD_INDEX_KEY_MAX);
	if (n <= 0)
		return n;
	if (rd_fails_assert(n <= RD_INDEX_KEY_MAX))
		return RD_EINTERNAL;
	rd_key_put_u64(out, tenant);
	rd_key_put_u64(out + 8 + n, id);
	return n + 16;
}

static int update_indexes(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const MDB_val *old,
			  const void *val, size_t len)
{
	for (unsigned i = 0; i < tb->def->n_indexes; i++) {
		const struct rd_index_def *ix = &tb->def->indexes[i];
		uint8_t ok[16 + RD_INDEX_KEY_MAX], nk[16 + RD_INDEX_KEY_MAX];
		int on = old ? index_key(ix, tenant, id, old->mv_data, old->mv_size, ok) : 0;
		int nn = val ? index_key(ix, tenant, id, val, len, nk) : 0;
		if (on < 0)
			on = 0; /* an undecodable old record: nothing to remove we can name */
		if (nn < 0)
			return nn;
		if (on == nn && on > 0 && memcmp(ok, nk, (size_t)on) == 0)
			continue;
		if (on > 0) {
			MDB_val k = { (size_t)on, ok };
			int rc = mdb_del(t->txn, tb->idx[i], &k, NULL);
			if (rc != 0 && rc != MDB_NOTFOUND)
				return lmdb_error(rc);
		}
		if (nn > 0) {
			MDB_val k = { (size_t)nn, nk }, v = { 0, "" };
			int rc = mdb_put(t->txn, tb->idx[i], &k, &v, 0);
			if (rc != 0)
				return lmdb_error(rc);
		}
	}
	return 0;
}

static int bulk_put(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void *val, size_t len,
		    unsigned flags);

static int lm_txn_put(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void *val, size_t len,
	       unsigned flags)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	if (t->bulk && t->bulk->tb == tb && t->bulk->tenant == tenant) {
		int brc = bulk_put(t, tb, tenant, id, val, len, flags);
		if (brc != 1)
			return brc; /* 1: the record exists, the ordinary put replaces it */
		bulk_touch(t, tb, tenant, id);
	}
	uint8_t kb[16];
	MDB_val k = record_key(kb, tenant, id), old = { 0, NULL };
	bool had = false;
	if (tb->def->n_indexes || (flags & RD_PUT_NEW)) {
		int rc = mdb_get(t->txn, tb->dbi, &k, &old);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return lmdb_error(rc);
		had = rc == 0;
		if (had && (flags & RD_PUT_NEW))
			return RD_EEXISTS;
	}
	/* `old` points into the map, and index writes may spill or reuse dirty
	 * pages: work from a private copy. */
	uint8_t small[1024];
	MDB_val copy = old;
	if (had && tb->def->n_indexes) {
		copy.mv_data = old.mv_size <= sizeof small ? small : rd_malloc(old.mv_size);
		memcpy(copy.mv_data, old.mv_data, old.mv_size);
	}
	int rc = update_indexes(t, tb, tenant, id, had ? &copy : NULL, val, len);
	if (copy.mv_data != small && copy.mv_data != old.mv_data)
		free(copy.mv_data);
	if (rc < 0)
		return rc;
	MDB_val v = { len, (void *)val };
	return lmdb_error(mdb_put(t->txn, tb->dbi, &k, &v, 0));
}

static int lm_txn_index_fill(struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t *n)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	unsigned i = 0;
	while (i < tb->def->n_indexes && strcmp(tb->def->indexes[i].name, index) != 0)
		i++;
	if (i == tb->def->n_indexes)
		return RD_ENOTFOUND;
	*n = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(t->txn, tb->dbi, &cur);
	if (rc != 0)
		return lmdb_error(rc);
	/* Entries go into another database than the one walked, so the
	 * cursor stays valid; each record's key copied before the put. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16)
			continue;
		uint8_t nk[16 + RD_INDEX_KEY_MAX];
		uint64_t tenant = rd_key_get_u64(k.mv_data), id = rd_key_get_u64((const uint8_t *)k.mv_data + 8);
		int nn = index_key(&tb->def->indexes[i], tenant, id, v.mv_data, v.mv_size, nk);
		if (nn < 0) {
			mdb_cursor_close(cur);
			return nn;
		}
		if (nn == 0)
			continue;
		MDB_val ik = { (size_t)nn, nk }, iv = { 0, "" };
		int prc = mdb_put(t->txn, tb->idx[i], &ik, &iv, 0);
		if (prc != 0) {
			mdb_cursor_close(cur);
			return lmdb_error(prc);
		}
		(*n)++;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : lmdb_error(rc);
}

static int lm_txn_del(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	bulk_touch(t, tb, tenant, id);
	uint8_t kb[16];
	MDB_val k = record_key(kb, tenant, id), old;
	int rc = lmdb_error(mdb_get(t->txn, tb->dbi, &k, &old));
	if (rc < 0)
		return rc;
	uint8_t small[1024];
	MDB_val copy = old;
	if (tb->def->n_indexes) {
		copy.mv_data = old.mv_size <= sizeof small ? small : rd_malloc(old.mv_size);
		memcpy(copy.mv_data, old.mv_data, old.mv_size);
	}
	rc = update_indexes(t, tb, tenant, id, &copy, NULL, 0);
	if (copy.mv_data != small && copy.mv_data != old.mv_data)
		free(copy.mv_data);
	if (rc < 0)
		return rc;
	return lmdb_error(mdb_del(t->txn, tb->dbi, &k, NULL));
}

/* A table's id sequence: its key in _seq (the table's name, a NUL, the tenant). */
static MDB_val seq_key(uint8_t kb[128], const struct rd_table *tb, uint64_t tenant)
{
	size_t n = strlen(tb->def->name);
	if (n > 128 - 9)
		n = 128 - 9;
	memcpy(kb, tb->def->name, n);
	kb[n] = 0;
	rd_key_put_u64(kb + n + 1, tenant);
	return (MDB_val){ n + 9, kb };
}

static int seq_put(struct rd_txn *t, const struct rd_table *tb, uint64_t tenant, uint64_t last)
{
	uint8_t kb[128], vb[8];
	MDB_val k = seq_key(kb, tb, tenant), v = { 8, vb };
	rd_key_put_u64(vb, last);
	return lmdb_error(mdb_put(t->txn, t->s->seq, &k, &v, 0));
}

/* A bulk load's held sequence, written back (bulk_flush, a nested
 * transaction's start). */
static int bulk_seq_write(struct rd_txn *t)
{
	struct bulk *b = t->bulk;
	if (!b || !b->seq_held)
		return 0;
	b->seq_held = false;
	return seq_put(t, b->tb, b->tenant, b->seq_last);
}

static int lm_txn_next_id(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t *id)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	/* The load's own table: the sequence is read once and written back
	 * at the flush (a get and a put per id were 3 % of a first import). */
	struct bulk *b = t->bulk;
	bool load = b && b->tb == tb && b->tenant == tenant;
	if (load && b->seq_held) {
		if (b->seq_last == UINT64_MAX)
			return RD_ETOOBIG;
		*id = ++b->seq_last;
		return 0;
	}
	uint8_t kb[128];
	MDB_val k = seq_key(kb, tb, tenant), v;
	uint64_t last = 0;
	int rc = mdb_get(t->txn, t->s->seq, &k, &v);
	if (rc == 0 && v.mv_size == 8)
		last = rd_key_get_u64(v.mv_data);
	else if (rc != MDB_NOTFOUND && rc != 0)
		return lmdb_error(rc);
	if (last == UINT64_MAX)
		return RD_ETOOBIG;
	if (load) {
		b->seq_held = true;
		b->seq_last = last + 1;
	} else if ((rc = seq_put(t, tb, tenant, last + 1)) < 0) {
		return rc;
	}
	*id = last + 1;
	return 0;
}

static int lm_txn_meta_get(struct rd_txn *t, const char *key, const void **val, size_t *len)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc = lmdb_error(mdb_get(t->txn, t->s->meta, &k, &v));
	if (rc < 0)
		return rc;
	*val = v.mv_data;
	*len = v.mv_size;
	return 0;
}

static int lm_txn_meta_put(struct rd_txn *t, const char *key, const void *val, size_t len)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)val };
	return lmdb_error(mdb_put(t->txn, t->s->meta, &k, &v, 0));
}

/* ---- batches ------------------------------------------------------------ */

static int lm_txn_put_batch(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, struct rd_batch_item *items, size_t n)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	if (n == 0)
		return 0;
	int rc = rd_store_batch_sort(items, n);
	if (rc < 0)
		return rc;

	/* Append mode when every key lies beyond the table's current last key. */
	MDB_cursor *cur;
	if ((rc = lmdb_error(mdb_cursor_open(t->txn, tb->dbi, &cur))) < 0)
		return rc;
	MDB_val lk, lv;
	uint8_t first[16];
	record_key(first, tenant, items[0].id);
	int lrc = mdb_cursor_get(cur, &lk, &lv, MDB_LAST);
	bool append = lrc == MDB_NOTFOUND ||
		      (lrc == 0 && (lk.mv_size != 16 || memcmp(lk.mv_data, first, 16) < 0));
	if (lrc != 0 && lrc != MDB_NOTFOUND) {
		mdb_cursor_close(cur);
		return lmdb_error(lrc);
	}
	if (!append) {
		mdb_cursor_close(cur);
		for (size_t i = 0; i < n; i++)
			if ((rc = lm_txn_put(t, tb, tenant, items[i].id, items[i].val, items[i].len, 0)) < 0) /* plain: store.c
												 * keeps the counters */
				return rc;
		return 0;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint8_t kb[16];
		MDB_val k = record_key(kb, tenant, items[i].id), v = { items[i].len, (void *)items[i].val };
		rc = lmdb_error(mdb_cursor_put(cur, &k, &v, MDB_APPEND));
		/* New records: no old index entries to remove. */
		if (rc == 0 && tb->def->n_indexes)
			rc = update_indexes(t, tb, tenant, items[i].id, NULL, items[i].val, items[i].len);
	}
	mdb_cursor_close(cur);
	return rc;
}


/* ---- bulk loads --------------------------------------------------------- */

/* Whether the store writes index ix's entries itself in a bulk load: a
 * plain key index (tenant, key, id), whose entries are only the keys.  An
 * index of another kind is maintained by update_indexes record by record,
 * in the bulk load too (bulk_flush hands it each new record). */
static bool bulk_plain(const struct rd_index_def *ix)
{
	return ix->key != NULL;
}

static void bulk_free(struct rd_txn *t)
{
	if (!t->bulk)
		return;
	free(t->bulk->ids);
	free(t->bulk->cnt);
	free(t->bulk->cnt_slot);
	free(t->bulk->cnt_keys);
	free(t->bulk->pend);
	bulk_drop_keys(t->bulk);
	free(t->bulk->es);
	free(t->bulk);
	t->bulk = NULL;
}

/* update_indexes for index i of tb alone: a one-index view of the table. */
static int update_one_index(struct rd_txn *t, struct rd_table *tb, unsigned i, uint64_t tenant, uint64_t id,
			    const MDB_val *old, const void *val, size_t len)
{
	struct rd_table_def one = *tb->def;
	one.indexes = &tb->def->indexes[i];
	one.n_indexes = 1;
	struct rd_table view = *tb;
	view.def = &one;
	view.idx[0] = tb->idx[i];
	return update_indexes(t, &view, tenant, id, old, val, len);
}

static int lm_txn_bulk_begin(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const char *const *live)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	if (t->child || tb->missing)
		return 0; /* a nested transaction writes as ever */
	if (t->bulk)
		return t->bulk->tb == tb && t->bulk->tenant == tenant ? 0 : RD_EBUSY;
	struct bulk *b = rd_calloc(1, sizeof *b);
	b->tb = tb;
	b->tenant = tenant;
	for (unsigned i = 0; i < tb->def->n_indexes && i < 16; i++) {
		b->live[i] = !bulk_plain(&tb->def->indexes[i]);
		for (size_t j = 0; live && live[j]; j++)
			if (!strcmp(live[j], tb->def->indexes[i].name))
				b->live[i] = true;
		if (!b->live[i])
			b->which[b->m++] = i;
	}
	b->es = rd_calloc(b->m ? b->m : 1, sizeof *b->es);
	b->collect = b->m > 0;
	b->min_id = UINT64_MAX;
	t->bulk = b;
	return 0;
}

/* Something other than the load's own appends writes tb's record id of
 * tenant (a replacing put, a delete): the entries taken so far may no
 * longer be the records', and bulk_flush takes them from the records. */
static void bulk_touch(struct rd_txn *t, const struct rd_table *tb, uint64_t tenant, uint64_t id)
{
	struct bulk *b = t->bulk;
	if (b && b->collect && b->tb == tb && b->tenant == tenant && id >= b->min_id)
		bulk_drop_keys(b);
}

static int add_entry(struct entries *es, const uint8_t *key, size_t len);

/* A new record's entries of the held-back indexes, taken as it is put. */
static void bulk_take_keys(struct bulk *b, uint64_t id, const void *val, size_t len)
{
	if (b->n > rd_store_bulk_one_walk_max) {
		bulk_drop_keys(b);
		return;
	}
	uint8_t key[16 + RD_INDEX_KEY_MAX];
	for (unsigned x = 0; x < b->m; x++) {
		int n = index_key(&b->tb->def->indexes[b->which[x]], b->tenant, id, val, len, key);
		if (n < 0 || (n > 0 && add_entry(&b->es[x], key + 8, (size_t)n - 8) < 0)) {
			bulk_drop_keys(b); /* bulk_flush's walk meets the failure again and reports it */
			return;
		}
	}
}

/* A put in a bulk load: 1 when the record exists (the ordinary put
 * replaces it, index entries and all); else the new record is appended
 * (MDB_APPEND while ids ascend), the live indexes are written now and its
 * id is kept for bulk_flush. */
static int bulk_put(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void *val, size_t len,
		    unsigned flags)
{
	struct bulk *b = t->bulk;
	uint8_t kb[16];
	MDB_val k = record_key(kb, tenant, id), old, v = { len, (void *)val };
	int rc = MDB_NOTFOUND;
	if (!(flags & RD_PUT_NEW)) { /* RD_PUT_NEW: the put below refuses one that exists */
		rc = mdb_get(t->txn, tb->dbi, &k, &old);
		if (rc == 0)
			return 1;
		if (rc != MDB_NOTFOUND)
			return lmdb_error(rc);
	}
	rc = mdb_put(t->txn, tb->dbi, &k, &v, MDB_APPEND);
	if (rc == MDB_KEYEXIST) /* not after the table's last key */
		rc = mdb_put(t->txn, tb->dbi, &k, &v, MDB_NOOVERWRITE);
	if (rc != 0)
		return lmdb_error(rc);
	for (unsigned i = 0; i < tb->def->n_indexes; i++) {
		if (!b->live[i])
			continue;
		const struct rd_index_def *ix = &tb->def->indexes[i];
		if (!bulk_plain(ix)) {
			if ((rc = update_one_index(t, tb, i, tenant, id, NULL, val, len)) < 0)
				return rc;
			continue;
		}
		/* A new record's entry, as update_indexes writes it; appended
		 * when it sorts last (a file's ascending external ids): half
		 * the instructions of a put found by a search. */
		uint8_t ik[16 + RD_INDEX_KEY_MAX];
		int n = index_key(ix, tenant, id, val, len, ik);
		if (n < 0)
			return n;
		if (n == 0)
			continue;
		MDB_val ek = { (size_t)n, ik }, ev = { 0, "" };
		rc = mdb_put(t->txn, tb->idx[i], &ek, &ev, MDB_APPEND);
		if (rc == MDB_KEYEXIST)
			rc = mdb_put(t->txn, tb->idx[i], &ek, &ev, 0);
		if (rc != 0)
			return lmdb_error(rc);
	}
	if (b->n == b->cap)
		b->ids = rd_realloc(b->ids, (b->cap = b->cap ? 2 * b->cap : 4096) * sizeof *b->ids);
	b->ids[b->n++] = id;
	if (id < b->min_id)
		b->min_id = id;
	if (b->collect)
		bulk_take_keys(b, id, val, len);
	bulk_release(t);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static _Thread_local const uint8_t *entries_buf; /* for the comparison: qsort has no argument */

/* LMDB's default order: bytes, then the shorter first (zero padding keeps
 * a prefix first, the lengths decide a tie). */
static inline int cmp_entry(const struct entry *x, const struct entry *y)
{
	if (x->p1 != y->p1)
		return x->p1 < y->p1 ? -1 : 1;
	if (x->p2 != y->p2)
		return x->p2 < y->p2 ? -1 : 1;
	if (x->len > 16 && y->len > 16) {
		size_t xn = x->len - 16u, yn = y->len - 16u;
		int c = memcmp(entries_buf + x->off, entries_buf + y->off, xn < yn ? xn : yn);
		if (c)
			return c;
	}
	return (x->len > y->len) - (x->len < y->len);
}

/* An in-place sort (no second array as large as the first): quicksort on
 * the median of three, the smaller side first, insertion sort for short
 * runs; CMP(x, y) compares two elements by pointer, inlined (qsort's call
 * per comparison was half of a sort's instructions).  For the index entries
 * and the counter rows of a bulk load. */
#define DEFINE_SORT(name, T, CMP)                                                          \
	static void name(T *a, size_t n)                                                   \
	{                                                                                  \
		while (n > 16) {                                                           \
			size_t m = n / 2;                                                  \
			if (CMP(&a[m], &a[0]) < 0) {                                       \
				T x = a[m]; a[m] = a[0]; a[0] = x;                         \
			}                                                                  \
			if (CMP(&a[n - 1], &a[0]) < 0) {                                   \
				T x = a[n - 1]; a[n - 1] = a[0]; a[0] = x;                 \
			}                                                                  \
			if (CMP(&a[n - 1], &a[m]) < 0) {                                   \
				T x = a[n - 1]; a[n - 1] = a[m]; a[m] = x;                 \
			}                                                                  \
			T pivot = a[m];                                                    \
			size_t i = 0, j = n - 1;                                           \
			for (;;) {                                                         \
				while (CMP(&a[i], &pivot) < 0)                             \
					i++;                                               \
				while (CMP(&pivot, &a[j]) < 0)                             \
					j--;                                               \
				if (i >= j)                                                \
					break;                                             \
				T x = a[i]; a[i] = a[j]; a[j] = x;                         \
				i++;                                                       \
				j--;                                                       \
			}                                                                  \
			/* [0, j] <= pivot <= [j + 1, n) */                                \
			if (j + 1 < n - j - 1) {                                           \
				name(a, j + 1);                                            \
				a += j + 1;                                                \
				n -= j + 1;                                                \
			} else {                                                           \
				name(a + j + 1, n - j - 1);                                \
				n = j + 1;                                                 \
			}                                                                  \
		}                                                                          \
		for (size_t i = 1; i < n; i++) {                                           \
			T x = a[i];                                                        \
			size_t j = i;                                                      \
			while (j > 0 && CMP(&x, &a[j - 1]) < 0) {                          \
				a[j] = a[j - 1];                                           \
				j--;                                                       \
			}                                                                  \
			a[j] = x;                                                          \
		}                                                                          \
	}

DEFINE_SORT(sort_entries, struct entry, cmp_entry)

static int add_entry(struct entries *es, const uint8_t *key, size_t len)
{
	if (es->n == es->cap)
		es->e = rd_realloc(es->e, (es->cap = es->cap ? 2 * es->cap : 4096) * sizeof *es->e);
	uint8_t pad[16] = { 0 };
	memcpy(pad, key, len < 16 ? len : 16);
	struct entry *e = &es->e[es->n++];
	e->p1 = rd_key_get_u64(pad);
	e->p2 = rd_key_get_u64(pad + 8);
	e->len = (uint16_t)len;
	e->off = 0;
	if (len > 16) {
		if (es->len + len - 16 > UINT32_MAX)
			return RD_ETOOBIG;
		while (es->len + len - 16 > es->cap_buf)
			es->buf = rd_realloc(es->buf, es->cap_buf = es->cap_buf ? 2 * es->cap_buf : 1 << 20);
		e->off = (uint32_t)es->len;
		memcpy(es->buf + es->len, key + 16, len - 16);
		es->len += len - 16;
	}
	return 0;
}

/* One index's collected entries sorted, then written in order: MDB_APPEND
 * while they sort after the index's last key. */
static int write_entries(struct rd_txn *t, struct rd_table *tb, unsigned i, uint64_t tenant, struct entries *es)
{
	if (!es->n)
		return 0;
	bool sorted = true;
	entries_buf = es->buf;
	for (size_t e = 1; e < es->n && sorted; e++)
		sorted = cmp_entry(&es->e[e - 1], &es->e[e]) < 0;
	if (!sorted)
		sort_entries(es->e, es->n);
	entries_buf = NULL;
	MDB_cursor *cur;
	int mrc = mdb_cursor_open(t->txn, tb->idx[i], &cur);
	bool opened = mrc == 0;
	unsigned fl = MDB_APPEND;
	uint8_t key[16 + RD_INDEX_KEY_MAX];
	rd_key_put_u64(key, tenant);
	for (size_t e = 0; e < es->n && mrc == 0; e++) {
		const struct entry *x = &es->e[e];
		rd_key_put_u64(key + 8, x->p1);
		rd_key_put_u64(key + 16, x->p2);
		if (x->len > 16)
			memcpy(key + 24, es->buf + x->off, x->len - 16u);
		MDB_val ik = { 8u + x->len, key }, iv = { 0, "" };
		mrc = mdb_cursor_put(cur, &ik, &iv, fl);
		if (mrc == MDB_KEYEXIST && fl) { /* not after the last key: ordinary puts from here */
			fl = 0;
			mrc = mdb_cursor_put(cur, &ik, &iv, 0);
		}
		bulk_release(t);
	}
	if (opened)
		mdb_cursor_close(cur);
	return lmdb_error(mrc);
}

static void bulk_drop_keys(struct bulk *b)
{
	for (unsigned x = 0; b->es && x < b->m; x++) {
		free(b->es[x].e);
		free(b->es[x].buf);
		b->es[x] = (struct entries){ 0 };
	}
	b->collect = false;
}

/* A load of up to this many records takes every held-back index's key from
 * each record in one walk (the record decoded once for all of them: the key
 * functions keep the last records' fields, model.c), holding all those
 * indexes' entries at once (24 bytes each and the key bytes past 16: about
 * 300 MB at 2^20 contracts); a larger load walks its records once per index,
 * holding one index's entries at a time (the peak stays bounded: 4 M
 * contracts under 512 MiB). */
size_t rd_store_bulk_one_walk_max = (size_t)1 << 20;

/* Calls fn for each of the load's records still in the table, in id order
 * (a record created, then deleted, is skipped).  reseek: fn writes to the
 * table (its pages may move), so the cursor finds its place again after
 * each call. */
static int walk_load(struct rd_txn *t, struct bulk *b, bool reseek,
		     int (*fn)(struct rd_txn *t, struct bulk *b, void *arg, uint64_t id, const MDB_val *v), void *arg)
{
	MDB_cursor *cur;
	int rc = 0, mrc = mdb_cursor_open(t->txn, b->tb->dbi, &cur);
	if (mrc != 0)
		return lmdb_error(mrc);
	uint8_t kb[16];
	MDB_val k = record_key(kb, b->tenant, b->ids[0]), v;
	size_t j = 0;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && j < b->n;
	     mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16 || rd_key_get_u64(k.mv_data) != b->tenant)
			break;
		uint64_t id = rd_key_get_u64((const uint8_t *)k.mv_data + 8);
		while (j < b->n && b->ids[j] < id)
			j++; /* created, then deleted */
		if (j == b->n || b->ids[j] != id)
			continue;
		j++;
		if ((rc = fn(t, b, arg, id, &v)) < 0)
			break;
		if (reseek) {
			record_key(kb, b->tenant, id);
			k = (MDB_val){ 16, kb };
			if ((mrc = mdb_cursor_get(cur, &k, &v, MDB_SET)) != 0)
				break;
		}
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = lmdb_error(mrc);
	return rc;
}

struct keys_walk {
	const unsigned *which;
	unsigned m;
	struct entries *es;
};

/* One record's keys of every index of the walk. */
static int record_keys(struct rd_txn *t, struct bulk *b, void *arg, uint64_t id, const MDB_val *v)
{
	struct keys_walk *w = arg;
	uint8_t key[16 + RD_INDEX_KEY_MAX];
	int rc = 0;
	for (unsigned x = 0; x < w->m && rc == 0; x++) {
		int n = index_key(&b->tb->def->indexes[w->which[x]], b->tenant, id, v->mv_data, v->mv_size, key);
		if (n < 0)
			rc = n;
		else if (n > 0)
			rc = add_entry(&w->es[x], key + 8, (size_t)n - 8);
	}
	if (rc == 0)
		bulk_release(t);
	return rc;
}

/* Indexes which[0..m) of the load's records: one walk of the records in id
 * order (they are the table's last ones in a fresh import), each index's
 * key taken from each record in turn, then each index's entries sorted and
 * written. */
static int bulk_indexes(struct rd_txn *t, struct bulk *b, const unsigned *which, unsigned m)
{
	struct entries es[16];
	memset(es, 0, sizeof es);
	struct keys_walk w = { which, m, es };
	int rc = walk_load(t, b, false, record_keys, &w);
	for (unsigned x = 0; x < m; x++) {
		if (rc == 0)
			rc = write_entries(t, b->tb, which[x], b->tenant, &es[x]);
		free(es[x].e);
		free(es[x].buf);
		es[x] = (struct entries){ 0 };
	}
	return rc;
}

/* One record's entry in index *arg, by the per-record update. */
static int record_index(struct rd_txn *t, struct bulk *b, void *arg, uint64_t id, const MDB_val *v)
{
	/* From a copy (the update writes pages the cursor's value may sit in). */
	uint8_t *copy = rd_malloc(v->mv_size ? v->mv_size : 1);
	memcpy(copy, v->mv_data, v->mv_size);
	int rc = update_one_index(t, b->tb, *(const unsigned *)arg, b->tenant, id, NULL, copy, v->mv_size);
	free(copy);
	return rc;
}

/* An index the store does not write itself (not a plain key index): the
 * per-record update for each of the load's records, in id order. */
static int bulk_index(struct rd_txn *t, struct bulk *b, unsigned i)
{
	return walk_load(t, b, true, record_index, &i);
}

static int counter_row_add(struct rd_txn *t, const uint8_t *kb, size_t kn, const struct rd_counter_val *d);
static int key_cmp(const void *a, size_t an, const void *b, size_t bn);
#define COUNTER_ROW (8 + 16 + 16)

static uint64_t bulk_cnt_hash(const uint8_t *k, size_t n)
{
	/* Eight bytes at a time (the keys are 30-60 bytes; a byte loop was a
	 * tenth of a first load's instructions), the tail zero-padded, the
	 * length mixed in; only the slots depend on it, never what is written. */
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, k + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	if (i < n) {
		uint64_t w = 0;
		memcpy(&w, k + i, n - i);
		h = (h ^ w) * 0x100000001b3ull;
	}
	h ^= h >> 33; /* the low bits mix poorly: the slot is taken from them */
	h *= 0xff51afd7ed558ccdull;
	return h ^ h >> 33;
}

/* The row key: tenant(8), the table's name, NUL, the bucket key. */
static size_t counter_key(uint8_t *out, const struct rd_table *tb, uint64_t tenant, const uint8_t *key, size_t klen)
{
	size_t n = strlen(tb->def->name);
	rd_key_put_u64(out, tenant);
	memcpy(out + 8, tb->def->name, n + 1);
	if (klen)
		memcpy(out + 9 + n, key, klen);
	return 9 + n + klen;
}

#define CNT_KEY_MAX (8 + NAME_MAX_LEN + 1 + RD_COUNTER_KEY_MAX)
#define CNT_PENDING 32

struct cnt_pending {
	uint64_t hash;
	struct rd_counter_val d;
	uint16_t klen;
	uint8_t key[CNT_KEY_MAX];
};

/* A counter row's delta in a bulk load (its key and hash h): summed with
 * the load's others. */
static int bulk_counter_sum(struct bulk *b, const uint8_t *kb, size_t kn, uint64_t h, const struct rd_counter_val *d)
{
	if (2 * (b->cnt_n + 1) > b->cnt_slots) {
		size_t slots = b->cnt_slots ? 2 * b->cnt_slots : 4096;
		struct bulk_slot *t = rd_calloc(slots, sizeof *t);
		for (size_t i = 0; i < b->cnt_n; i++) {
			size_t at = b->cnt[i].hash & (slots - 1);
			while (t[at].at)
				at = (at + 1) & (slots - 1);
			t[at] = (struct bulk_slot){ (uint32_t)(b->cnt[i].hash >> 32), (uint32_t)(i + 1) };
		}
		free(b->cnt_slot);
		b->cnt_slot = t;
		b->cnt_slots = slots;
	}
	size_t at = h & (b->cnt_slots - 1);
	for (; b->cnt_slot[at].at; at = (at + 1) & (b->cnt_slots - 1)) {
		if (b->cnt_slot[at].tag != (uint32_t)(h >> 32))
			continue; /* another key: its entry not read */
		struct bulk_cnt *c = &b->cnt[b->cnt_slot[at].at - 1];
		if (c->hash == h && c->klen == kn && !memcmp(b->cnt_keys + c->off, kb, kn)) {
			if (__builtin_add_overflow(c->v.n, d->n, &c->v.n))
				return RD_ERANGE;
			c->v.a += d->a;
			c->v.b += d->b;
			return 0;
		}
	}
	if (b->cnt_n >= UINT32_MAX - 1 || b->cnt_keys_len + kn > UINT32_MAX)
		return RD_ETOOBIG;
	if (b->cnt_n == b->cnt_cap)
		b->cnt = rd_realloc(b->cnt, (b->cnt_cap = b->cnt_cap ? 2 * b->cnt_cap : 1024) * sizeof *b->cnt);
	while (b->cnt_keys_len + kn > b->cnt_keys_cap)
		b->cnt_keys = rd_realloc(b->cnt_keys, b->cnt_keys_cap = b->cnt_keys_cap ? 2 * b->cnt_keys_cap : 65536);
	memcpy(b->cnt_keys + b->cnt_keys_len, kb, kn);
	b->cnt[b->cnt_n] = (struct bulk_cnt){ h, (uint32_t)b->cnt_keys_len, (uint16_t)kn, *d };
	b->cnt_keys_len += kn;
	b->cnt_slot[at] = (struct bulk_slot){ (uint32_t)(h >> 32), (uint32_t)++b->cnt_n };
	return 0;
}

/* The pending deltas summed: first each one's slot is read (fetched when
 * it was queued) and the entry it names asked for, then each entry's key,
 * then they are summed in order, from memory already fetched. */
static int bulk_cnt_drain(struct bulk *b)
{
	unsigned n = b->pend_n;
	b->pend_n = 0;
	uint32_t cand[CNT_PENDING];
	for (unsigned i = 0; i < n && b->cnt_slots; i++) {
		uint64_t h = b->pend[i].hash;
		cand[i] = 0;
		for (size_t at = h & (b->cnt_slots - 1); b->cnt_slot[at].at; at = (at + 1) & (b->cnt_slots - 1))
			if (b->cnt_slot[at].tag == (uint32_t)(h >> 32)) {
				cand[i] = b->cnt_slot[at].at;
				__builtin_prefetch(&b->cnt[cand[i] - 1]);
				break;
			}
	}
	for (unsigned i = 0; i < n && b->cnt_slots; i++)
		if (cand[i])
			__builtin_prefetch(b->cnt_keys + b->cnt[cand[i] - 1].off);
	int rc = 0;
	for (unsigned i = 0; i < n && rc >= 0; i++)
		rc = bulk_counter_sum(b, b->pend[i].key, b->pend[i].klen, b->pend[i].hash, &b->pend[i].d);
	return rc;
}

/* A counter row's delta in a bulk load: queued (its slot asked for), and
 * summed with the others queued once CNT_PENDING are; the key is tenant,
 * table name and bucket key (counter_key).  An error of the sum (a count
 * past its range) is returned by the add that drains, or by the flush. */
static int bulk_counter_add(struct bulk *b, struct rd_table *tb, uint64_t tenant, const uint8_t *key, size_t klen,
			    const struct rd_counter_val *d)
{
	if (!b->pend)
		b->pend = rd_malloc(CNT_PENDING * sizeof *b->pend);
	struct cnt_pending *p = &b->pend[b->pend_n++];
	p->klen = (uint16_t)counter_key(p->key, tb, tenant, key, klen);
	p->hash = bulk_cnt_hash(p->key, p->klen);
	p->d = *d;
	if (b->cnt_slots)
		__builtin_prefetch(&b->cnt_slot[p->hash & (b->cnt_slots - 1)]);
	return b->pend_n == CNT_PENDING ? bulk_cnt_drain(b) : 0;
}

/* The order of a load's rows: each by the 16 bytes after the prefix all
 * its keys share (tenant and table name, as a rule), big-endian and
 * zero-padded; keys compared whole only when those are equal.  The sort
 * reads its own array, not keys scattered over the load's memory. */
struct cnt_order {
	uint64_t p0, p1;
	uint32_t i;
};

static _Thread_local const struct bulk *cnt_of; /* for the comparison */

static inline int cmp_order(const struct cnt_order *x, const struct cnt_order *y)
{
	if (x->p0 != y->p0)
		return x->p0 < y->p0 ? -1 : 1;
	if (x->p1 != y->p1)
		return x->p1 < y->p1 ? -1 : 1;
	const struct bulk_cnt *cx = &cnt_of->cnt[x->i], *cy = &cnt_of->cnt[y->i];
	return key_cmp(cnt_of->cnt_keys + cx->off, cx->klen, cnt_of->cnt_keys + cy->off, cy->klen);
}

static uint64_t be_load(const uint8_t *k, size_t n, size_t at)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (at + i < n ? k[at + i] : 0);
	return v;
}

DEFINE_SORT(sort_order, struct cnt_order, cmp_order)

/* The load's rows in key order (an array the caller frees). */
static struct cnt_order *cnt_sorted(const struct bulk *b)
{
	const uint8_t *k0 = b->cnt_keys + b->cnt[0].off;
	size_t pre = b->cnt[0].klen;
	for (size_t i = 1; i < b->cnt_n && pre; i++) {
		const uint8_t *k = b->cnt_keys + b->cnt[i].off;
		size_t m = b->cnt[i].klen < pre ? b->cnt[i].klen : pre, j = 0;
		while (j < m && k[j] == k0[j])
			j++;
		pre = j;
	}
	struct cnt_order *o = rd_malloc(b->cnt_n * sizeof *o);
	for (size_t i = 0; i < b->cnt_n; i++) {
		const uint8_t *k = b->cnt_keys + b->cnt[i].off;
		o[i] = (struct cnt_order){ be_load(k, b->cnt[i].klen, pre), be_load(k, b->cnt[i].klen, pre + 8),
					   (uint32_t)i };
	}
	cnt_of = b;
	sort_order(o, b->cnt_n);
	cnt_of = NULL;
	return o;
}

/* The load's counter deltas into their rows, in key order; a delta that
 * summed to nothing changes nothing and is not written. */
static int bulk_counters_apply(struct rd_txn *t)
{
	struct bulk *b = t->bulk;
	int drc = b && b->pend_n ? bulk_cnt_drain(b) : 0;
	if (drc < 0 || !b || !b->cnt_n)
		return drc;
	struct cnt_order *order = cnt_sorted(b);
	/* Rows past the table's last key (all of them in a first load) are new:
	 * their value is the delta, appended (MDB_APPEND) without a look-up;
	 * the rows before it are added to what they hold, as one by one. */
	MDB_cursor *cur = NULL;
	int rc = lmdb_error(mdb_cursor_open(t->txn, t->s->counters, &cur));
	uint8_t last[8 + NAME_MAX_LEN + 1 + RD_COUNTER_KEY_MAX];
	size_t last_n = 0;
	bool append = false;
	if (rc >= 0) {
		MDB_val lk, lv;
		int lrc = mdb_cursor_get(cur, &lk, &lv, MDB_LAST);
		if (lrc == MDB_NOTFOUND)
			append = true;
		else if (lrc != 0)
			rc = lmdb_error(lrc);
		else if (lk.mv_size > sizeof last)
			last_n = SIZE_MAX; /* a key longer than ours: the look-up path throughout */
		else
			memcpy(last, lk.mv_data, last_n = lk.mv_size);
	}
	for (size_t i = 0; i < b->cnt_n && rc >= 0; i++) {
		if (i + 8 < b->cnt_n) {
			const struct bulk_cnt *ahead = &b->cnt[order[i + 8].i];
			__builtin_prefetch(ahead);
			if (i + 4 < b->cnt_n)
				__builtin_prefetch(b->cnt_keys + b->cnt[order[i + 4].i].off);
		}
		const struct bulk_cnt *c = &b->cnt[order[i].i];
		if (!(c->v.n || c->v.a || c->v.b))
			continue;
		const uint8_t *kb = b->cnt_keys + c->off;
		if (!append && last_n != SIZE_MAX && key_cmp(kb, c->klen, last, last_n) > 0)
			append = true; /* sorted: every key from here is past the last */
		if (!append) {
			rc = counter_row_add(t, kb, c->klen, &c->v);
			continue;
		}
		uint8_t row[COUNTER_ROW];
		memcpy(row, &c->v.n, 8);
		memcpy(row + 8, &c->v.a, 16);
		memcpy(row + 24, &c->v.b, 16);
		MDB_val k = { c->klen, (void *)kb }, v = { COUNTER_ROW, row };
		rc = lmdb_error(mdb_cursor_put(cur, &k, &v, MDB_APPEND));
	}
	if (cur)
		mdb_cursor_close(cur);
	free(order);
	b->cnt_n = 0;
	b->cnt_keys_len = 0;
	if (b->cnt_slot)
		memset(b->cnt_slot, 0, b->cnt_slots * sizeof *b->cnt_slot);
	return rc;
}

/* The held-back indexes' entries of the load's new records: sorted and
 * written, from the keys taken as they were put or from the records. */
static int bulk_flush_indexes(struct rd_txn *t, struct bulk *b)
{
	bool ascending = true; /* as a load's new ids mostly are */
	for (size_t i = 1; i < b->n && ascending; i++)
		ascending = b->ids[i - 1] < b->ids[i];
	if (!ascending)
		qsort(b->ids, b->n, sizeof *b->ids, cmp_u64);
	size_t w = 0;
	for (size_t i = 0; i < b->n; i++)
		if (!w || b->ids[w - 1] != b->ids[i])
			b->ids[w++] = b->ids[i];
	b->n = w;
	for (unsigned i = 0; i < b->tb->def->n_indexes; i++) {
		if (b->live[i] || bulk_plain(&b->tb->def->indexes[i]))
			continue;
		int rc = bulk_index(t, b, i);
		if (rc < 0)
			return rc;
	}
	if (b->collect) { /* taken as the records were put */
		for (unsigned x = 0; x < b->m; x++) {
			int rc = write_entries(t, b->tb, b->which[x], b->tenant, &b->es[x]);
			free(b->es[x].e);
			free(b->es[x].buf);
			b->es[x] = (struct entries){ 0 };
			if (rc < 0)
				return rc;
		}
		bulk_drop_keys(b);
		return 0;
	}
	bool one_walk = b->n <= rd_store_bulk_one_walk_max;
	for (unsigned x = 0; x < b->m; x += one_walk ? b->m : 1) {
		int rc = bulk_indexes(t, b, b->which + x, one_walk ? b->m : 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int lm_txn_bulk_flush(struct rd_txn *t)
{
	struct bulk *b = t->bulk;
	if (!b)
		return 0;
	int rc = bulk_seq_write(t);
	if (rc >= 0 && b->n)
		rc = bulk_flush_indexes(t, b);
	/* The counters after the entries: the counters' sort order is not held
	 * beside them (the peak memory of a large load). */
	if (rc >= 0)
		rc = bulk_counters_apply(t);
	b->n = 0;
	b->collect = b->m > 0; /* a load that goes on after the flush starts afresh */
	b->min_id = UINT64_MAX;
	return rc;
}


/* ---- iterators ---------------------------------------------------------- */

static int lm_iter_records(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t from_id)
{
	rd_store_iter_init(it, t, tb, tenant);
	if (tb->missing) {
		it->done = true;
		return 0;
	}
	record_key(it->from, tenant, from_id);
	it->from_len = 16;
	return lmdb_error(mdb_cursor_open(t->txn, tb->dbi, (MDB_cursor **)&it->cursor));
}

static int lm_iter_index(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t tenant,
		  const void *from, size_t from_len, const void *to, size_t to_len)
{
	rd_store_iter_init(it, t, tb, tenant);
	it->index = rd_store_index_of(tb->def, index);
	if (it->index < 0 || from_len > RD_INDEX_KEY_MAX || to_len > RD_INDEX_KEY_MAX)
		return RD_EINVAL;
	if (tb->missing) {
		it->done = true;
		return 0;
	}
	rd_key_put_u64(it->from, tenant);
	if (from_len)
		memcpy(it->from + 8, from, from_len);
	it->from_len = 8 + from_len;
	if (to) {
		rd_key_put_u64(it->to, tenant);
		if (to_len)
			memcpy(it->to + 8, to, to_len);
		it->to_len = 8 + to_len;
	}
	return lmdb_error(mdb_cursor_open(t->txn, tb->idx[it->index], (MDB_cursor **)&it->cursor));
}

static int key_cmp(const void *a, size_t an, const void *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

/* rd_key_get_u64 where the walk calls it per record: inline. */
static inline uint64_t key_u64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
#else
	return rd_key_get_u64(p);
#endif
}

static int lm_iter_next(struct rd_iter *it, struct rd_item *out)
{
	if (it->done)
		return 0;
	MDB_val k = { it->from_len, it->from }, v;
	int rc = mdb_cursor_get(it->cursor, &k, &v, it->started ? MDB_NEXT : MDB_SET_RANGE);
	it->started = true;
	if (rc == MDB_NOTFOUND) {
		it->done = true;
		return 0;
	}
	if (rc != 0)
		return lmdb_error(rc);
	const uint8_t *kp = k.mv_data;
	if (k.mv_size < 16 || key_u64(kp) != it->tenant ||
	    (it->to_len && key_cmp(kp, k.mv_size, it->to, it->to_len) >= 0)) {
		it->done = true;
		return 0;
	}
	out->id = key_u64(kp + k.mv_size - 8);
	if (it->index < 0) {
		out->val = v.mv_data;
		out->len = v.mv_size;
		out->key = NULL;
		out->key_len = 0;
		return 1;
	}
	out->key = kp + 8;
	out->key_len = k.mv_size - 16;
	if (it->keys_only) {
		out->val = NULL;
		out->len = 0;
		return 1;
	}
	const void *rv;
	size_t rl;
	rc = rd_txn_get(it->txn, it->tb, it->tenant, out->id, &rv, &rl);
	if (rc == RD_ENOTFOUND) {
		rd_log(RD_LOG_ERROR, "store", "index %s.%s: entry for id %llu has no record (run renewctl check)",
		       it->tb->def->name, it->tb->def->indexes[it->index].name, (unsigned long long)out->id);
		return RD_ECORRUPT;
	}
	if (rc < 0)
		return rc;
	out->val = rv;
	out->len = rl;
	return 1;
}

static void lm_iter_close(struct rd_iter *it)
{
	if (it->cursor)
		mdb_cursor_close(it->cursor);
	it->cursor = NULL;
	it->done = true;
}


/* ---- operations --------------------------------------------------------- */

static int lm_store_stats(struct rd_store *s, struct rd_store_stats *st)
{
	MDB_envinfo info;
	MDB_stat ms;
	/* The meta pages are in the map: read with the remap lock held shared
	 * (lm_store_snapshot). */
	pthread_rwlock_rdlock(&s->remap);
	int rc = mdb_env_info(s->env, &info);
	if (rc == 0)
		rc = mdb_env_stat(s->env, &ms);
	pthread_rwlock_unlock(&s->remap);
	if (rc != 0)
		return lmdb_error(rc);
	st->map_size = info.me_mapsize;
	st->used_bytes = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
	st->readers_used = info.me_numreaders;
	st->readers_max = info.me_maxreaders;
	st->schema = s->schema;
	char path[4096];
	struct stat fs;
	snprintf(path, sizeof path, "%s/data.mdb", s->dir);
	st->file_bytes = stat(path, &fs) == 0 ? (uint64_t)fs.st_size : 0;
	return 0;
}

static int check_table(struct rd_store *s, MDB_txn *txn, struct rd_table *tb, rd_check_report_fn report, void *arg)
{
	int problems = 0;
	char msg[512];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, tb->dbi, &cur);
	if (rc != 0)
		return lmdb_error(rc);
	/* Every record has its index entries. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16) {
			snprintf(msg, sizeof msg, "table %s: a key of %zu bytes (expected 16)", tb->def->name, k.mv_size);
			report(msg, arg);
			problems++;
			continue;
		}
		uint64_t tenant = rd_key_get_u64(k.mv_data), id = rd_key_get_u64((uint8_t *)k.mv_data + 8);
		for (unsigned i = 0; i < tb->def->n_indexes; i++) {
			uint8_t ik[16 + RD_INDEX_KEY_MAX];
			int n = index_key(&tb->def->indexes[i], tenant, id, v.mv_data, v.mv_size, ik);
			if (n < 0) {
				rd_store_check_problem(report, arg, &problems, RD_CHECK_UNDECODABLE, tb->def->name,
						       tb->def->indexes[i].name, tenant, id, n);
				continue;
			}
			if (n == 0)
				continue;
			MDB_val ikv = { (size_t)n, ik }, iv;
			if (mdb_get(txn, tb->idx[i], &ikv, &iv) != 0)
				rd_store_check_problem(report, arg, &problems, RD_CHECK_MISSING, tb->def->name,
						       tb->def->indexes[i].name, tenant, id, 0);
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return lmdb_error(rc);

	/* Every index entry points to a record that yields exactly that key. */
	for (unsigned i = 0; i < tb->def->n_indexes; i++) {
		if ((rc = mdb_cursor_open(txn, tb->idx[i], &cur)) != 0)
			return lmdb_error(rc);
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			const uint8_t *kp = k.mv_data;
			if (k.mv_size < 17) {
				snprintf(msg, sizeof msg, "index %s.%s: a key of %zu bytes is too short", tb->def->name,
					 tb->def->indexes[i].name, k.mv_size);
				report(msg, arg);
				problems++;
				continue;
			}
			uint64_t tenant = rd_key_get_u64(kp), id = rd_key_get_u64(kp + k.mv_size - 8);
			uint8_t rk[16];
			MDB_val rkv = record_key(rk, tenant, id), rv;
			if (mdb_get(txn, tb->dbi, &rkv, &rv) != 0) {
				rd_store_check_problem(report, arg, &problems, RD_CHECK_DANGLING, tb->def->name,
						       tb->def->indexes[i].name, tenant, id, 0);
				continue;
			}
			uint8_t ik[16 + RD_INDEX_KEY_MAX];
			int n = index_key(&tb->def->indexes[i], tenant, id, rv.mv_data, rv.mv_size, ik);
			if (n != (int)k.mv_size || memcmp(ik, kp, k.mv_size) != 0)
				rd_store_check_problem(report, arg, &problems, RD_CHECK_STALE, tb->def->name,
						       tb->def->indexes[i].name, tenant, id, 0);
		}
		mdb_cursor_close(cur);
		if (rc != MDB_NOTFOUND)
			return lmdb_error(rc);
	}
	(void)s;
	return problems;
}

static int lm_store_check(struct rd_store *s, rd_check_report_fn report, void *arg)
{
	MDB_txn *txn;
	int rc = begin(s, MDB_RDONLY, &txn);
	if (rc < 0)
		return rc;
	int problems = 0;
	for (struct rd_table *tb = s->tables; tb; tb = tb->next) {
		if (tb->missing)
			continue;
		rc = check_table(s, txn, tb, report, arg);
		if (rc < 0)
			break;
		problems += rc;
	}
	txn_abort(s, txn);
	return rc < 0 ? rc : problems;
}

static int lm_store_backup(struct rd_store *s, const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "backup directory %s cannot be created: %s", dir, strerror(e));
		return -e;
	}
	DIR *d = opendir(dir);
	if (!d) {
		int e = errno;
		snprintf(err, errlen, "backup directory %s: %s", dir, strerror(e));
		return -e;
	}
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	if (!empty) {
		snprintf(err, errlen, "backup directory %s is not empty: refusing to overwrite", dir);
		return RD_EEXISTS;
	}
	/* Written as data.mdb.partial and renamed to data.mdb once whole and on
	 * disk: a backup that stops half-way (killed, a full disk, a reboot)
	 * leaves no data.mdb that looks like a store but is cut short. */
	char part[4200], whole[4200];
	snprintf(part, sizeof part, "%s/data.mdb.partial", dir);
	snprintf(whole, sizeof whole, "%s/data.mdb", dir);
	int fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "backup into %s failed: %s: %s", dir, part, strerror(e));
		return -e;
	}
	/* The copy reads in a transaction of LMDB's own: no remap meanwhile. */
	pthread_rwlock_rdlock(&s->remap);
	int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
	pthread_rwlock_unlock(&s->remap);
	const char *step = "copying";
	if (rc == 0 && fsync(fd) != 0) {
		rc = errno;
		step = "syncing the copy";
	}
	if (close(fd) != 0 && rc == 0) {
		rc = errno;
		step = "closing the copy";
	}
	if (rc == 0 && rename(part, whole) != 0) {
		rc = errno;
		step = "naming the copy data.mdb";
	}
	if (rc != 0) {
		unlink(part);
		rc = lmdb_error(rc);
		snprintf(err, errlen, "backup into %s failed (%s): %s", dir, step, rd_strerror(rc));
		return rc;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) { /* the rename itself on disk */
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- the whole store, raw (rd_store_walk, rd_store_load_*) -------------- */

/* The named databases of the environment, in LMDB's (byte) order. */
struct dbnames {
	char (*v)[160];
	size_t n;
};

static int list_dbs(MDB_txn *txn, struct dbnames *out)
{
	MDB_dbi main;
	MDB_cursor *cur;
	MDB_val k, v;
	*out = (struct dbnames){ 0 };
	int rc = mdb_dbi_open(txn, NULL, 0, &main);
	if (rc == 0)
		rc = mdb_cursor_open(txn, main, &cur);
	if (rc != 0)
		return lmdb_error(rc);
	size_t cap = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size >= 160)
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			out->v = rd_realloc(out->v, cap * sizeof *out->v);
		}
		memcpy(out->v[out->n], k.mv_data, k.mv_size);
		out->v[out->n++][k.mv_size] = 0;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : lmdb_error(rc);
}

/* Walks one named database in key order, handing each entry to each(). */
static int walk_db(MDB_txn *txn, const char *name, int (*each)(MDB_val *k, MDB_val *v, void *a), void *a)
{
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_dbi_open(txn, name, 0, &dbi);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc == 0)
		rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0)
		return lmdb_error(rc);
	int frc = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && frc >= 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		frc = each(&k, &v, a);
	mdb_cursor_close(cur);
	if (frc < 0)
		return frc;
	return rc == MDB_NOTFOUND ? 0 : lmdb_error(rc);
}

struct walk_ctx {
	rd_raw_fn fn;
	void *arg;
	struct rd_raw_item it;
};

static int walk_meta(MDB_val *k, MDB_val *v, void *a)
{
	struct walk_ctx *w = a;
	w->it = (struct rd_raw_item){ .kind = RD_RAW_META, .key = k->mv_data, .key_len = k->mv_size, .val = v->mv_data,
				      .len = v->mv_size };
	return w->fn(&w->it, w->arg);
}

static int walk_seq(MDB_val *k, MDB_val *v, void *a)
{
	struct walk_ctx *w = a;
	const uint8_t *p = k->mv_data;
	const uint8_t *nul = k->mv_size > 9 ? memchr(p, 0, k->mv_size) : NULL;
	if (!nul || (size_t)(nul - p) + 9 != k->mv_size || v->mv_size != 8)
		return RD_ECORRUPT;
	char name[80];
	size_t n = (size_t)(nul - p);
	if (n >= sizeof name)
		return RD_ECORRUPT;
	memcpy(name, p, n);
	name[n] = 0;
	w->it = (struct rd_raw_item){ .kind = RD_RAW_SEQ, .table = name, .tenant = rd_key_get_u64(nul + 1),
				      .id = rd_key_get_u64(v->mv_data) };
	return w->fn(&w->it, w->arg);
}

static int walk_record(MDB_val *k, MDB_val *v, void *a)
{
	struct walk_ctx *w = a;
	if (k->mv_size != 16)
		return RD_ECORRUPT;
	w->it.kind = RD_RAW_RECORD;
	w->it.tenant = rd_key_get_u64(k->mv_data);
	w->it.id = rd_key_get_u64((const uint8_t *)k->mv_data + 8);
	w->it.val = v->mv_data;
	w->it.len = v->mv_size;
	return w->fn(&w->it, w->arg);
}

static int walk_entry(MDB_val *k, MDB_val *v, void *a)
{
	struct walk_ctx *w = a;
	(void)v;
	if (k->mv_size < 16)
		return RD_ECORRUPT;
	const uint8_t *p = k->mv_data;
	w->it.kind = RD_RAW_INDEX;
	w->it.tenant = rd_key_get_u64(p);
	w->it.id = rd_key_get_u64(p + k->mv_size - 8);
	w->it.key = p + 8;
	w->it.key_len = k->mv_size - 16;
	return w->fn(&w->it, w->arg);
}

static int walk_txn(struct rd_store *s, MDB_txn *txn, rd_raw_fn fn, void *arg)
{
	int rc;
	struct dbnames db = { 0 };
	struct walk_ctx w = { .fn = fn, .arg = arg };
	if ((rc = list_dbs(txn, &db)) < 0)
		goto out;
	if ((rc = walk_db(txn, "_meta", walk_meta, &w)) < 0 || (rc = walk_db(txn, "_seq", walk_seq, &w)) < 0)
		goto out;
	/* Tables by name: "t:<table>" and "i:<table>:<index>" (':' sorts below
	 * every name character, so LMDB's order of "i:..." is (table, index)). */
	for (size_t i = 0; i < db.n && rc >= 0; i++) {
		const char *tname;
		if (strncmp(db.v[i], "t:", 2) == 0)
			tname = db.v[i] + 2;
		else if (strncmp(db.v[i], "i:", 2) == 0 && strchr(db.v[i] + 2, ':'))
			continue; /* with its table below */
		else
			continue;
		w.it = (struct rd_raw_item){ .table = tname };
		if ((rc = walk_db(txn, db.v[i], walk_record, &w)) < 0)
			break;
		size_t tl = strlen(tname);
		for (size_t j = 0; j < db.n && rc >= 0; j++) {
			if (strncmp(db.v[j], "i:", 2) != 0 || strncmp(db.v[j] + 2, tname, tl) != 0 || db.v[j][2 + tl] != ':')
				continue;
			w.it = (struct rd_raw_item){ .table = tname, .index = db.v[j] + 3 + tl };
			rc = walk_db(txn, db.v[j], walk_entry, &w);
		}
	}
	/* An index without its table's records database (never written by
	 * renewd, which opens both at once) would be left out: say so. */
	for (size_t i = 0; i < db.n && rc >= 0; i++) {
		if (strncmp(db.v[i], "i:", 2) != 0)
			continue;
		char t[170];
		snprintf(t, sizeof t, "t:%.*s", (int)strcspn(db.v[i] + 2, ":"), db.v[i] + 2);
		bool found = false;
		for (size_t j = 0; j < db.n && !found; j++)
			found = strcmp(db.v[j], t) == 0;
		if (!found) {
			rd_log(RD_LOG_ERROR, "store", "data directory %s: index database %s has no table %s", s->dir, db.v[i], t);
			rc = RD_ECORRUPT;
		}
	}
out:
	free(db.v);
	return rc;
}

static int lm_walk(struct rd_store *s, rd_raw_fn fn, void *arg)
{
	MDB_txn *txn;
	int rc = begin(s, MDB_RDONLY, &txn);
	if (rc < 0)
		return rc;
	rc = walk_txn(s, txn, fn, arg);
	/* Committing (read-only) keeps the handles the walk opened. */
	int crc = lmdb_error(txn_commit(s, txn));
	return rc < 0 ? rc : crc;
}

struct rd_store_load {
	struct rd_store *s; /* first: store_impl.h */
	MDB_txn *txn;
	char db[160]; /* the database of the last item */
	MDB_dbi dbi;
	uint8_t *key;
	size_t key_cap;
};

static int lm_load_begin(struct rd_store *s, struct rd_store_load **out, char *err, size_t errlen)
{
	if (rd_fails_assert(!s->readonly && !s->writing))
		return RD_EINTERNAL;
	struct rd_store_load *l = rd_calloc(1, sizeof *l);
	l->s = s;
	int rc = begin(s, 0, &l->txn);
	if (rc < 0) {
		snprintf(err, errlen, "data directory %s: cannot begin a transaction: %s", s->dir, rd_strerror(rc));
		free(l);
		return rc;
	}
	struct dbnames db;
	if ((rc = list_dbs(l->txn, &db)) < 0)
		snprintf(err, errlen, "data directory %s: %s", s->dir, rd_strerror(rc));
	for (size_t i = 0; rc == 0 && i < db.n; i++) {
		MDB_dbi dbi;
		MDB_stat st;
		if (mdb_dbi_open(l->txn, db.v[i], 0, &dbi) != 0 || mdb_stat(l->txn, dbi, &st) != 0)
			continue;
		if (strcmp(db.v[i], "_meta") == 0) {
			MDB_val k = { 5, "magic" }, sk = { 6, "schema" }, v;
			size_t known = (mdb_get(l->txn, dbi, &k, &v) == 0) + (mdb_get(l->txn, dbi, &sk, &v) == 0);
			if (st.ms_entries > known) {
				snprintf(err, errlen, "data directory %s is not empty: it holds %zu store-wide settings",
					 s->dir, (size_t)st.ms_entries - known);
				rc = RD_EEXISTS;
			}
		} else if (st.ms_entries) {
			if (strcmp(db.v[i], "_seq") == 0)
				snprintf(err, errlen, "data directory %s is not empty: it holds %zu id sequences", s->dir,
					 (size_t)st.ms_entries);
			else if (strcmp(db.v[i], "_counters") == 0)
				snprintf(err, errlen, "data directory %s is not empty: it holds %zu report counter rows",
					 s->dir, (size_t)st.ms_entries);
			else
				snprintf(err, errlen, "data directory %s is not empty: it holds %zu %s %s", s->dir,
					 (size_t)st.ms_entries,
					 strncmp(db.v[i], "t:", 2) == 0 ? "records of table" :
					 strncmp(db.v[i], "i:", 2) == 0 ? "entries of index" : "entries of",
					 db.v[i][1] == ':' ? db.v[i] + 2 : db.v[i]);
			rc = RD_EEXISTS;
		}
	}
	free(db.v);
	if (rc < 0) {
		txn_abort(s, l->txn);
		free(l);
		return rc;
	}
	l->db[0] = 0;
	*out = l;
	return 0;
}

/* Puts k/v into the load's current database: appended when it comes after
 * the last key (the walk's order is the key order), else an ordinary put. */
static int load_put(struct rd_store_load *l, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
	int rc = mdb_put(l->txn, dbi, k, v, MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		rc = mdb_put(l->txn, dbi, k, v, 0);
	return lmdb_error(rc);
}

static int load_db(struct rd_store_load *l, const char *name)
{
	if (strcmp(l->db, name) == 0)
		return 0;
	int rc = lmdb_error(mdb_dbi_open(l->txn, name, MDB_CREATE, &l->dbi));
	if (rc == 0)
		snprintf(l->db, sizeof l->db, "%s", name);
	return rc;
}

static int lm_load_item(struct rd_store_load *l, const struct rd_raw_item *it)
{
	struct rd_store *s = l->s;
	char name[160];
	uint8_t kb[16 + 80], vb[8];
	MDB_val k, v;
	switch (it->kind) {
	case RD_RAW_META:
		k = (MDB_val){ it->key_len, (void *)it->key };
		v = (MDB_val){ it->len, (void *)it->val };
		return lmdb_error(mdb_put(l->txn, s->meta, &k, &v, 0));
	case RD_RAW_SEQ: {
		size_t n = strlen(it->table);
		if (!valid_name(it->table))
			return RD_EINVAL;
		memcpy(kb, it->table, n);
		kb[n] = 0;
		rd_key_put_u64(kb + n + 1, it->tenant);
		rd_key_put_u64(vb, it->id);
		k = (MDB_val){ n + 9, kb };
		v = (MDB_val){ 8, vb };
		return load_put(l, s->seq, &k, &v);
	}
	case RD_RAW_RECORD: {
		if (!valid_name(it->table))
			return RD_EINVAL;
		snprintf(name, sizeof name, "t:%s", it->table);
		int rc = load_db(l, name);
		if (rc < 0)
			return rc;
		k = record_key(kb, it->tenant, it->id);
		v = (MDB_val){ it->len, (void *)it->val };
		return load_put(l, l->dbi, &k, &v);
	}
	case RD_RAW_INDEX: {
		if (!valid_name(it->table) || !valid_name(it->index) || it->key_len > RD_INDEX_KEY_MAX)
			return RD_EINVAL;
		snprintf(name, sizeof name, "i:%s:%s", it->table, it->index);
		int rc = load_db(l, name);
		if (rc < 0)
			return rc;
		uint8_t ik[16 + RD_INDEX_KEY_MAX];
		rd_key_put_u64(ik, it->tenant);
		if (it->key_len)
			memcpy(ik + 8, it->key, it->key_len);
		rd_key_put_u64(ik + 8 + it->key_len, it->id);
		k = (MDB_val){ 16 + it->key_len, ik };
		v = (MDB_val){ 0, "" };
		return load_put(l, l->dbi, &k, &v);
	}
	}
	return RD_EINVAL;
}

static int lm_load_walk(struct rd_store_load *l, rd_raw_fn fn, void *arg)
{
	l->db[0] = 0; /* the walk may open handles of its own */
	return walk_txn(l->s, l->txn, fn, arg);
}

static int lm_load_end(struct rd_store_load *l, bool commit)
{
	struct rd_store *s = l->s;
	int rc = 0;
	if (commit)
		rc = lmdb_error(txn_commit(s, l->txn));
	else
		txn_abort(s, l->txn);
	free(l->key);
	free(l);
	return rc;
}

/* ---- counters (store.c keeps them; store.h "Counters") -------------------- */

static void lm_set_counters(struct rd_table *tb, const struct rd_counter_def *def) { tb->counters = def; }
static const struct rd_counter_def *lm_get_counters(struct rd_table *tb) { return tb->counters; }


static void row_get(const void *p, struct rd_counter_val *v)
{
	memcpy(&v->n, p, 8);
	memcpy(&v->a, (const uint8_t *)p + 8, 16);
	memcpy(&v->b, (const uint8_t *)p + 24, 16);
}

static int counter_row_add(struct rd_txn *t, const uint8_t *kb, size_t kn, const struct rd_counter_val *d)
{
	/* One cursor: a row already there is found once and rewritten or
	 * deleted where the cursor stands (a get and then a put descended the
	 * tree twice; most of a write's rows exist). */
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->s->counters, &c);
	if (rc != 0)
		return lmdb_error(rc);
	MDB_val k = { kn, (void *)kb }, v;
	struct rd_counter_val cur = { 0, 0, 0 };
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
	bool found = rc == 0;
	if (found && v.mv_size == COUNTER_ROW)
		row_get(v.mv_data, &cur);
	if (!found && rc != MDB_NOTFOUND) {
		mdb_cursor_close(c);
		return lmdb_error(rc);
	}
	if (__builtin_add_overflow(cur.n, d->n, &cur.n)) {
		mdb_cursor_close(c);
		return RD_ERANGE;
	}
	cur.a += d->a;
	cur.b += d->b;
	if (!cur.n && !cur.a && !cur.b)
		rc = found ? mdb_cursor_del(c, 0) : 0;
	else {
		uint8_t row[COUNTER_ROW];
		memcpy(row, &cur.n, 8);
		memcpy(row + 8, &cur.a, 16);
		memcpy(row + 24, &cur.b, 16);
		v = (MDB_val){ COUNTER_ROW, row };
		k = (MDB_val){ kn, (void *)kb };
		rc = mdb_cursor_put(c, &k, &v, found ? MDB_CURRENT : 0);
	}
	mdb_cursor_close(c);
	return lmdb_error(rc);
}

static int lm_counter_add(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const uint8_t *key, size_t klen,
			  const struct rd_counter_val *d)
{
	if (rd_fails_assert(t->write && klen <= RD_COUNTER_KEY_MAX))
		return RD_EINTERNAL;
	if (t->bulk) /* summed in memory, written at the flush (bulk_counters_apply) */
		return bulk_counter_add(t->bulk, tb, tenant, key, klen, d);
	uint8_t kb[CNT_KEY_MAX];
	size_t kn = counter_key(kb, tb, tenant, key, klen);
	return counter_row_add(t, kb, kn, d);
}

static int lm_counter_iter(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const uint8_t *from, size_t from_len,
			   const uint8_t *to, size_t to_len, rd_counter_row_fn fn, void *arg)
{
	if (t->s->counters_missing)
		return 0;
	int brc = bulk_counters_apply(t); /* a bulk load's deltas: read as written */
	if (brc < 0)
		return brc;
	uint8_t fb[8 + NAME_MAX_LEN + 1 + RD_COUNTER_KEY_MAX], tb2[sizeof fb];
	size_t pre = counter_key(fb, tb, tenant, NULL, 0);
	if (from_len > RD_COUNTER_KEY_MAX || to_len > RD_COUNTER_KEY_MAX)
		return RD_EINVAL;
	size_t fl = counter_key(fb, tb, tenant, from, from_len), tl = to ? counter_key(tb2, tb, tenant, to, to_len) : 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(t->txn, t->s->counters, &cur);
	if (rc != 0)
		return lmdb_error(rc);
	MDB_val k = { fl, fb }, v;
	int out = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < pre || memcmp(k.mv_data, fb, pre) != 0)
			break;
		if (to && key_cmp(k.mv_data, k.mv_size, tb2, tl) >= 0)
			break;
		if (v.mv_size != COUNTER_ROW)
			continue;
		struct rd_counter_val cv;
		row_get(v.mv_data, &cv);
		if ((out = fn(arg, (const uint8_t *)k.mv_data + pre, k.mv_size - pre, &cv)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (out)
		return out;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_error(rc);
}

static int lm_counter_clear(struct rd_txn *t, struct rd_table *tb, uint64_t tenant)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	int brc = bulk_counters_apply(t); /* a bulk load's deltas first: then cleared with the rest */
	if (brc < 0)
		return brc;
	uint8_t fb[8 + NAME_MAX_LEN + 1];
	size_t pre = counter_key(fb, tb, tenant, NULL, 0);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(t->txn, t->s->counters, &cur);
	if (rc != 0)
		return lmdb_error(rc);
	for (;;) {
		MDB_val k = { pre, fb }, v;
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) != 0)
			break;
		if (k.mv_size < pre || memcmp(k.mv_data, fb, pre) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_error(rc);
}

const struct rd_store_ops rd_store_lmdb_ops = {
	.name = "lmdb",
	.close = lm_store_close,
	.dir = lm_store_dir,
	.reg = lm_store_register,
	.table = lm_store_table,
	.read = lm_store_read,
	.txn_end = lm_txn_end,
	.write = lm_store_write,
	.writer = lm_store_writer,
	.snapshot = lm_txn_snapshot,
	.store_snapshot = lm_store_snapshot,
	.begin_child = lm_txn_begin_child,
	.commit_child = lm_txn_commit_child,
	.abort_child = lm_txn_abort_child,
	.get = lm_txn_get,
	.put = lm_txn_put,
	.del = lm_txn_del,
	.next_id = lm_txn_next_id,
	.meta_get = lm_txn_meta_get,
	.meta_put = lm_txn_meta_put,
	.put_batch = lm_txn_put_batch,
	.iter_records = lm_iter_records,
	.iter_index = lm_iter_index,
	.iter_next = lm_iter_next,
	.iter_close = lm_iter_close,
	.count = NULL,
	.index_fill = lm_txn_index_fill,
	.beside_pid = lm_store_beside_pid,
	.reserve = lm_store_reserve,
	.stats = lm_store_stats,
	.check = lm_store_check,
	.backup = lm_store_backup,
	.walk = lm_walk,
	.load_begin = lm_load_begin,
	.load_item = lm_load_item,
	.load_walk = lm_load_walk,
	.load_end = lm_load_end,
	.bulk_begin = lm_txn_bulk_begin,
	.bulk_flush = lm_txn_bulk_flush,
	.counter_add = lm_counter_add,
	.counter_iter = lm_counter_iter,
	.counter_clear = lm_counter_clear,
	.set_counters = lm_set_counters,
	.get_counters = lm_get_counters,
};
