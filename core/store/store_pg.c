/*
 * store_pg.c: the PostgreSQL backend (libpq).  The only file in renewd that
 * includes libpq-fe.h; store.c dispatches to it through rd_store_pg_ops when
 * the store is opened with opts.url = "postgresql://...".
 *
 * Schema (docs/scaling.md): every relation leads with the tenant, so that
 * Citus can distribute them all by it, colocated.
 *   rd_meta(key text PRIMARY KEY, val bytea)                    store-wide
 *   rd_seq(tenant bigint, tbl text, last bigint, PK (tenant, tbl))
 *   t_<table>(tenant bigint, id bigint, val bytea, PK (tenant, id))
 *   i_<table>(tenant bigint, ix text, key bytea, id bigint, PK (tenant, ix, key))
 * where val is the record codec's bytes and key is the index extractor's
 * output followed by the id (8 bytes big-endian): bytea orders by memcmp
 * and then length, exactly as LMDB orders its keys, so index ranges and
 * their order are the same on both backends.  u64 tenants and ids are kept
 * as bigint (the same 64 bits); ids are sequences well below 2^63.
 *
 * Transactions: reads are REPEATABLE READ READ ONLY (one snapshot, like an
 * LMDB read transaction); writes are SERIALIZABLE.  A write that fails with
 * a serialization failure or a deadlock (SQLSTATE 40001, 40P01), whether
 * during the write function or at COMMIT, is rolled back and the write
 * function replayed (store.h: it is a pure function of its argument and the
 * store).  Child transactions are SAVEPOINTs.  Every result whose bytes a
 * read hands out is kept until the transaction ends, so pointers stay valid
 * as long as LMDB's do.
 *
 * Connections: a small pool shared by all threads (a transaction holds one
 * connection from BEGIN to COMMIT).  A connection that breaks is dropped; a
 * transaction that cannot get a working connection fails with RD_EBUSY
 * ("try again later", 503 at the HTTP edge), and the next one connects
 * afresh, so a node recovers by itself when the database returns.
 *
 * Timeouts: a connection attempt gives up after opts.connect_timeout_s;
 * once the store is open, every connection runs with statement_timeout =
 * opts.statement_timeout_ms, and a statement the server cancels for it
 * (SQLSTATE 57014) fails its transaction with RD_EBUSY (503), counted.
 *
 * Health: the store keeps what /healthz and /metrics report (reachable, the
 * last error as a fixed phrase, reconnects, replays, statement timeouts);
 * rd_store_pg_health probes with a timed SELECT 1.
 *
 * Limitation of this first cut: queries are synchronous and the store is
 * called from the loop thread, so a slow query stalls the node, at most for
 * the statement timeout (or, for a connection, the connect timeout) a
 * statement: docs/scaling.md, "What blocks the loop".
 */
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store_impl.h"
#include "util/err.h"
#include "util/log.h"

#define MAGIC "renewd-store"
#define POOL_MAX 16
#define PAGE_ROWS 512  /* check's page */
#define ITER_FIRST 8   /* an iterator's first page: callers often stop after a few items... */
#define ITER_MAX 1024  /* ...so pages double from here up to this */
#define MAX_REPLAYS 64
#define MAX_PARAMS 40 /* one statement's parameters: the index batch's 2 + 2 x 16 at most */
#define SETUP_LOCK "7240115001" /* pg_advisory_xact_lock key serialising DDL between nodes */

/* One pooled connection and the statements prepared on it (by SQL text). */
#define STMT_SLOTS 1024
struct pg_conn {
	PGconn *c;
	unsigned n_stmts;
	struct stmt {
		char *sql;
		uint32_t hash;
	} stmts[STMT_SLOTS];
};

struct rd_table {
	const struct rd_table_def *def;
	bool missing; /* read-only store opened before this table existed */
	struct rd_table *next;
	const struct rd_counter_def *counters; /* rd_store_register_counters */
};

struct rd_txn {
	struct rd_store *s; /* first: store_impl.h */
	struct pg_conn *pc;
	PGconn *c; /* pc->c */
	struct rd_txn *root; /* the top-level transaction (itself for the root) */
	bool write, child;
	unsigned depth; /* savepoint number of a child */
	/* root only */
	PGresult **keep;
	size_t n_keep, cap_keep;
	int failed;    /* the first statement failure (0: none): the transaction is aborted */
	bool conflict; /* a serialization failure or deadlock: replay */
	bool broken;   /* the connection broke: drop it */
	int saved_failed; /* child: the root's `failed` when it began */
};

struct rd_store {
	const struct rd_store_ops *ops; /* first: store_impl.h */
	char *dir, *url, *shown;        /* shown: the URL without credentials, for messages */
	bool readonly;
	/* The data directory's lock (rd_store_dir_lock), as on LMDB: the
	 * directory holds this node's node-id, secrets.key and mail folder, so
	 * a second renewd on it is refused; renewctl writes beside the one that
	 * holds it (beside_pid). */
	int lock_fd;
	long beside_pid;
	uint32_t schema;
	/* This process's writes one at a time, as on LMDB (store.c keeps the
	 * rule): an import's long write on its worker would otherwise lose
	 * every SERIALIZABLE conflict to the loop's short writes (an audit
	 * entry's id, a session) and be replayed from its start. */
	struct rd_store_writer writer;
	struct rd_table *tables;
	pthread_mutex_t mu;
	struct pg_conn *idle[POOL_MAX];
	unsigned n_idle, n_open;
	unsigned long long replays;
	/* operations (under mu) */
	unsigned stmt_timeout_ms, connect_timeout_s;
	bool opened;    /* open is done: new connections get the statement timeout */
	bool lost;      /* the database was lost (a connection broke or could not be made) */
	unsigned long long reconnects, stmt_timeouts, connect_failures;
	char last_error[120];
	unsigned long long last_error_ms;
};

struct pg_iter {
	PGresult *page;
	int row, rows, limit;
	bool last_page;
	uint8_t after[8 + RD_INDEX_KEY_MAX + 8]; /* records: the last id; indexes: the last key */
	size_t after_len;
};

/* ---- connections -------------------------------------------------------- */

/* postgresql://user:secret@host/db?password=x -> postgresql://host/db */
static char *redact(const char *url)
{
	const char *p = strstr(url, "://");
	size_t scheme = p ? (size_t)(p - url) + 3 : 0;
	const char *rest = url + scheme;
	const char *at = strchr(rest, '@');
	const char *slash = strchr(rest, '/');
	if (at && (!slash || at < slash))
		rest = at + 1;
	size_t n = strcspn(rest, "?");
	char *out = rd_malloc(scheme + n + 1);
	memcpy(out, url, scheme);
	memcpy(out + scheme, rest, n);
	out[scheme + n] = 0;
	return out;
}

static unsigned long long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

/* Records a failure for /healthz: what (a fixed phrase, never the server's
 * text, which the log has) and whether the database is lost with it. */
static void note_error(struct rd_store *s, const char *what, bool lost)
{
	pthread_mutex_lock(&s->mu);
	snprintf(s->last_error, sizeof s->last_error, "%s", what);
	s->last_error_ms = wall_ms();
	if (lost) {
		s->lost = true;
	}
	pthread_mutex_unlock(&s->mu);
}

static void conn_free(struct pg_conn *pc)
{
	if (!pc)
		return;
	PQfinish(pc->c);
	for (unsigned i = 0; i < STMT_SLOTS; i++)
		free(pc->stmts[i].sql);
	free(pc);
}

/* The server's notices ("relation already exists, skipping") are not for
 * renewd's stderr: debug level. */
static void quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	rd_log(RD_LOG_DEBUG, "store", "PostgreSQL notice: %.*s", (int)strcspn(msg, "\n"), msg);
}

static struct pg_conn *connect_new(struct rd_store *s, char *err, size_t errlen)
{
	/* Defaults first; the URL's own settings (given last) override them. */
	char ct[16];
	snprintf(ct, sizeof ct, "%u", s->connect_timeout_s ? s->connect_timeout_s : 5);
	const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *const vals[] = { ct, "renewd", s->url, NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	bool set_failed = false; /* the statement timeout could not be set: the message says why */
	if (c && PQstatus(c) == CONNECTION_OK && s->opened && s->stmt_timeout_ms) {
		char set[64];
		snprintf(set, sizeof set, "SET statement_timeout = %u", s->stmt_timeout_ms);
		PGresult *r = PQexec(c, set);
		set_failed = !r || PQresultStatus(r) != PGRES_COMMAND_OK;
		PQclear(r);
	}
	if (!c || PQstatus(c) != CONNECTION_OK || set_failed) {
		pthread_mutex_lock(&s->mu);
		s->connect_failures++;
		pthread_mutex_unlock(&s->mu);
		note_error(s, set_failed ? "cannot set the statement timeout" : "cannot connect", true);
		const char *m = c ? PQerrorMessage(c) : "out of memory";
		char one[512];
		snprintf(one, sizeof one, "%s", m);
		one[strcspn(one, "\n")] = 0;
		if (err)
			snprintf(err, errlen, "store %s: cannot connect: %s", s->shown, one);
		else
			rd_log(RD_LOG_ERROR, "store", "store %s: cannot connect: %s", s->shown, one);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet_notice, NULL);
	pthread_mutex_lock(&s->mu);
	if (s->lost) {
		s->reconnects++;
		s->lost = false;
		rd_log(RD_LOG_INFO, "store", "store %s: connected again", s->shown);
	}
	pthread_mutex_unlock(&s->mu);
	struct pg_conn *pc = rd_calloc(1, sizeof *pc);
	pc->c = c;
	return pc;
}

static struct pg_conn *pool_get(struct rd_store *s, bool *fresh)
{
	pthread_mutex_lock(&s->mu);
	struct pg_conn *c = s->n_idle ? s->idle[--s->n_idle] : NULL;
	if (c) {
		pthread_mutex_unlock(&s->mu);
		*fresh = false;
		return c;
	}
	s->n_open++;
	pthread_mutex_unlock(&s->mu);
	*fresh = true;
	c = connect_new(s, NULL, 0);
	if (!c) {
		pthread_mutex_lock(&s->mu);
		s->n_open--;
		pthread_mutex_unlock(&s->mu);
	}
	return c;
}

static void pool_put(struct rd_store *s, struct pg_conn *c, bool broken)
{
	if (!c)
		return;
	if (!broken && PQstatus(c->c) == CONNECTION_OK && PQtransactionStatus(c->c) == PQTRANS_IDLE) {
		pthread_mutex_lock(&s->mu);
		if (s->n_idle < POOL_MAX) {
			s->idle[s->n_idle++] = c;
			pthread_mutex_unlock(&s->mu);
			return;
		}
		s->n_open--;
		pthread_mutex_unlock(&s->mu);
		conn_free(c);
		return;
	}
	conn_free(c);
	pthread_mutex_lock(&s->mu);
	s->n_open--;
	pthread_mutex_unlock(&s->mu);
}

/* ---- statements --------------------------------------------------------- */

static bool conn_lost(PGconn *c, const char *state)
{
	return PQstatus(c) != CONNECTION_OK || (state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
							   strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0));
}

/* Translates a failed result and records it on the transaction. */
static int failure(struct rd_txn *t, PGresult *r)
{
	struct rd_txn *root = t->root;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	int rc;
	if (conn_lost(t->c, state)) {
		root->broken = true;
		rd_log(RD_LOG_ERROR, "store", "store %s: connection lost: %s", t->s->shown,
		       r ? PQresultErrorMessage(r) : PQerrorMessage(t->c));
		note_error(t->s, "connection lost", true);
		rc = RD_EBUSY;
	} else if (state && strcmp(state, "57014") == 0) {
		/* Cancelled: by statement_timeout (or an operator's pg_cancel_backend).
		 * The transaction is aborted; the request gets 503. */
		bool timeout = r && strstr(PQresultErrorMessage(r), "statement timeout") != NULL;
		rd_log(RD_LOG_ERROR, "store", "store %s: %s", t->s->shown,
		       timeout ? "a statement ran past statement_timeout_ms and was cancelled"
			       : "a statement was cancelled by the server");
		pthread_mutex_lock(&t->s->mu);
		t->s->stmt_timeouts += timeout;
		pthread_mutex_unlock(&t->s->mu);
		note_error(t->s, timeout ? "statement timeout" : "statement cancelled", false);
		rc = RD_EBUSY;
	} else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)) {
		root->conflict = true;
		rc = RD_EBUSY;
	} else if (state && strcmp(state, "23505") == 0) {
		rc = RD_EEXISTS;
	} else if (state && strcmp(state, "25P02") == 0 && root->failed) {
		rc = root->failed; /* an earlier statement already failed */
	} else {
		rd_log(RD_LOG_ERROR, "store", "PostgreSQL (%s): %s", state ? state : "?",
		       r ? PQresultErrorMessage(r) : PQerrorMessage(t->c));
		char what[64];
		snprintf(what, sizeof what, "statement failed (SQLSTATE %.5s)", state ? state : "?");
		note_error(t->s, what, false);
		rc = RD_EINTERNAL;
	}
	if (!root->failed)
		root->failed = rc;
	PQclear(r);
	return rc;
}

/* The name of sql prepared on t's connection (prepared now on first use):
 * returns 1 (name set), 0 when the cache is full (run it unprepared), or -1
 * with *fail set when PREPARE failed.  Statements are prepared once per
 * connection and kept for its life (they outlive transactions). */
static int prepared(struct rd_txn *t, const char *sql, int n, char name[16], PGresult **fail)
{
	struct pg_conn *pc = t->pc;
	uint32_t h = 2166136261u;
	for (const char *p = sql; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	unsigned i = h % STMT_SLOTS;
	for (unsigned probe = 0; probe < STMT_SLOTS; probe++, i = (i + 1) % STMT_SLOTS) {
		struct stmt *st = &pc->stmts[i];
		if (st->sql && st->hash == h && strcmp(st->sql, sql) == 0) {
			snprintf(name, 16, "rd%u", i);
			return 1;
		}
		if (!st->sql)
			break;
	}
	if (pc->stmts[i].sql || pc->n_stmts >= STMT_SLOTS * 3 / 4) {
		/* Full (more distinct statements than renewd has): run unprepared. */
		return 0;
	}
	snprintf(name, 16, "rd%u", i);
	PGresult *r = PQprepare(pc->c, name, sql, n, NULL);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		*fail = r;
		return -1;
	}
	PQclear(r);
	pc->stmts[i].sql = rd_strdup(sql);
	pc->stmts[i].hash = h;
	pc->n_stmts++;
	return 1;
}

/* Runs one statement with binary parameters and results.  fmt: one letter
 * per parameter, 't' text, 'b' binary.  Returns the result (tuples or
 * command ok) or NULL with *rc set. */
static PGresult *run(struct rd_txn *t, const char *sql, int n, const char *const *vals, const int *lens,
		     const char *fmt, int *rc)
{
	int fmts[MAX_PARAMS];
	if (rd_fails_assert(n <= MAX_PARAMS))
		return *rc = RD_EINTERNAL, NULL;
	for (int i = 0; i < n; i++)
		fmts[i] = fmt[i] == 'b';
	PGresult *r = NULL;
	char name[16];
	int p = n ? prepared(t, sql, n, name, &r) : 0;
	if (p < 0) {
		*rc = failure(t, r);
		return NULL;
	}
	r = p ? PQexecPrepared(t->c, name, n, vals, lens, fmts, 1) : PQexecParams(t->c, sql, n, NULL, vals, lens, fmts, 1);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		*rc = 0;
		return r;
	}
	*rc = failure(t, r);
	return NULL;
}

static int exec_simple(struct rd_txn *t, const char *sql)
{
	int rc;
	PGresult *r = run(t, sql, 0, NULL, NULL, "", &rc);
	PQclear(r);
	return rc;
}

static void keep(struct rd_txn *t, PGresult *r)
{
	struct rd_txn *root = t->root;
	if (root->n_keep == root->cap_keep) {
		root->cap_keep = root->cap_keep ? root->cap_keep * 2 : 16;
		root->keep = rd_realloc(root->keep, root->cap_keep * sizeof *root->keep);
	}
	root->keep[root->n_keep++] = r;
}

static void release_kept(struct rd_txn *t)
{
	for (size_t i = 0; i < t->n_keep; i++)
		PQclear(t->keep[i]);
	free(t->keep);
	t->keep = NULL;
	t->n_keep = t->cap_keep = 0;
}

static uint64_t col_u64(const PGresult *r, int row, int col)
{
	if (PQgetlength(r, row, col) != 8)
		return 0;
	return rd_key_get_u64((const uint8_t *)PQgetvalue(r, row, col));
}

/* Begins a transaction on a pooled connection; a pooled connection found
 * dead (the database restarted) is dropped and the next one tried. */
static int begin_on(struct rd_store *s, struct rd_txn *t, const char *sql)
{
	for (int tries = 0; tries <= POOL_MAX; tries++) {
		bool fresh;
		t->pc = pool_get(s, &fresh);
		if (!t->pc)
			return RD_EBUSY;
		t->c = t->pc->c;
		PGresult *r = PQexec(t->c, sql);
		if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
			PQclear(r);
			return 0;
		}
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		bool lost = conn_lost(t->c, state);
		if (!lost || fresh) {
			rd_log(RD_LOG_ERROR, "store", "store %s: cannot begin a transaction: %s", s->shown,
			       r ? PQresultErrorMessage(r) : PQerrorMessage(t->c));
			note_error(s, "cannot begin a transaction", lost);
			PQclear(r);
			pool_put(s, t->pc, true);
			t->c = NULL;
			t->pc = NULL;
			return RD_EBUSY;
		}
		PQclear(r);
		note_error(s, "connection lost", true); /* a pooled connection found dead */
		pool_put(s, t->pc, true);
		t->c = NULL;
		t->pc = NULL;
	}
	return RD_EBUSY;
}

static void finish(struct rd_txn *t, bool commit, int *rc)
{
	PGresult *r = PQexec(t->c, commit ? "COMMIT" : "ROLLBACK");
	if (commit && (!r || PQresultStatus(r) != PGRES_COMMAND_OK)) {
		*rc = failure(t, r);
		r = NULL;
		if (PQtransactionStatus(t->c) != PQTRANS_IDLE)
			PQclear(PQexec(t->c, "ROLLBACK"));
	}
	PQclear(r);
	release_kept(t);
	pool_put(t->s, t->pc, t->broken);
	t->c = NULL;
	t->pc = NULL;
}

/* ---- opening ------------------------------------------------------------ */

static int txn_plain(struct rd_store *s, struct rd_txn *t, bool write)
{
	*t = (struct rd_txn){ .s = s, .write = write };
	t->root = t;
	return begin_on(s, t, write ? "BEGIN ISOLATION LEVEL SERIALIZABLE" : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
}

static int table_exists(struct rd_txn *t, const char *rel, bool *yes)
{
	const char *v[1] = { rel };
	int rc;
	PGresult *r = run(t, "SELECT to_regclass($1) IS NOT NULL", 1, v, NULL, "t", &rc);
	if (!r)
		return rc;
	*yes = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 1 && PQgetvalue(r, 0, 0)[0] == 1;
	PQclear(r);
	return 0;
}

static int open_meta(struct rd_store *s, const struct rd_store_opts *o, char *err, size_t errlen)
{
	struct rd_txn t;
	uint32_t want = rd_store_schema_want(o);
	int rc = txn_plain(s, &t, false);
	if (rc < 0) {
		snprintf(err, errlen, "store %s: cannot begin a transaction", s->shown);
		return rc;
	}
	if (!s->readonly) {
		/* Plain READ COMMITTED for the DDL, serialised between nodes. */
		PQclear(PQexec(t.c, "ROLLBACK"));
		PGresult *r = PQexec(t.c, "BEGIN");
		PQclear(r);
		t.write = true;
		static const char *const ddl[] = {
			"SELECT pg_advisory_xact_lock(" SETUP_LOCK ")",
			"CREATE TABLE IF NOT EXISTS rd_meta (key text PRIMARY KEY, val bytea NOT NULL)",
			"CREATE TABLE IF NOT EXISTS rd_seq (tenant bigint NOT NULL, tbl text NOT NULL, last bigint NOT NULL,"
			" PRIMARY KEY (tenant, tbl))",
			"CREATE TABLE IF NOT EXISTS rd_counters (tbl text NOT NULL, tenant bigint NOT NULL, k bytea NOT NULL,"
			" n bigint NOT NULL, a numeric NOT NULL, b numeric NOT NULL, PRIMARY KEY (tbl, tenant, k))",
		};
		for (size_t i = 0; i < sizeof ddl / sizeof *ddl && rc == 0; i++)
			rc = exec_simple(&t, ddl[i]);
		if (rc < 0)
			goto fail_msg;
	} else {
		bool yes = false;
		if ((rc = table_exists(&t, "rd_meta", &yes)) < 0)
			goto fail_msg;
		if (!yes) {
			snprintf(err, errlen, "store %s holds no renewd store yet", s->shown);
			rc = RD_ENOTSTORE;
			goto fail;
		}
	}
	PGresult *r = run(&t, "SELECT key, val FROM rd_meta WHERE key IN ('magic', 'schema')", 0, NULL, NULL, "", &rc);
	if (!r)
		goto fail_msg;
	const char *magic = NULL, *schema = NULL;
	int magic_len = 0, schema_len = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		if (strcmp(PQgetvalue(r, i, 0), "magic") == 0) {
			magic = PQgetvalue(r, i, 1);
			magic_len = PQgetlength(r, i, 1);
		} else {
			schema = PQgetvalue(r, i, 1);
			schema_len = PQgetlength(r, i, 1);
		}
	}
	bool any = PQntuples(r) > 0;
	if (!any) {
		PGresult *r2 = run(&t, "SELECT 1 FROM rd_meta LIMIT 1", 0, NULL, NULL, "", &rc);
		any = !r2 || PQntuples(r2) > 0;
		PQclear(r2);
	}
	if (!magic && !any) {
		if (s->readonly) {
			PQclear(r);
			snprintf(err, errlen, "store %s holds no renewd store yet", s->shown);
			rc = RD_ENOTSTORE;
			goto fail;
		}
		uint8_t sv[4];
		rd_store_schema_put(sv, want);
		const char *v[2] = { MAGIC, (const char *)sv };
		const int l[2] = { (int)strlen(MAGIC), 4 };
		PGresult *w = run(&t, "INSERT INTO rd_meta VALUES ('magic', $1), ('schema', $2)", 2, v, l, "bb", &rc);
		PQclear(w);
		if (rc < 0) {
			PQclear(r);
			goto fail_msg;
		}
		s->schema = want;
	} else {
		if (!magic || magic_len != (int)strlen(MAGIC) || memcmp(magic, MAGIC, strlen(MAGIC)) != 0) {
			PQclear(r);
			snprintf(err, errlen, "store %s is not a renewd store (rd_meta holds no renewd marker)", s->shown);
			rc = RD_ENOTSTORE;
			goto fail;
		}
		if (!schema || schema_len != 4) {
			PQclear(r);
			snprintf(err, errlen, "store %s: the store has no schema version", s->shown);
			rc = RD_ECORRUPT;
			goto fail;
		}
		s->schema = rd_store_schema_get(schema);
	}
	PQclear(r);
	if ((rc = rd_store_schema_check(s->schema, want, s->readonly, "store", s->shown, err, errlen)) < 0)
		goto fail;
	rc = 0;
	finish(&t, true, &rc);
	if (rc < 0)
		snprintf(err, errlen, "store %s: cannot initialise the store: %s", s->shown, rd_strerror(rc));
	return rc;
fail_msg:
	snprintf(err, errlen, "store %s: cannot open the store: %s", s->shown, rd_strerror(rc));
fail:
	finish(&t, false, &(int){ 0 });
	return rc;
}

static int pg_close_and_fail(struct rd_store **s, int rc);

int rd_store_pg_open(struct rd_store **out, const char *dir, const struct rd_store_opts *o, char *err, size_t errlen)
{
	struct rd_store *s = rd_calloc(1, sizeof *s);
	s->ops = &rd_store_pg_ops;
	s->dir = rd_strdup(dir ? dir : "");
	s->url = rd_strdup(o->url);
	s->shown = redact(o->url);
	s->readonly = o->readonly;
	s->stmt_timeout_ms = o->statement_timeout_ms;
	s->connect_timeout_s = o->connect_timeout_s;
	s->lock_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	rd_store_writer_init(&s->writer);
	*out = NULL;
	if (!s->readonly && *s->dir && !o->dir_locked) {
		int lrc = rd_store_dir_lock(s->dir, &s->lock_fd, &s->beside_pid);
		if (lrc == RD_ELOCKED && !o->beside) {
			char pid[32] = "unknown";
			if (s->beside_pid > 0)
				snprintf(pid, sizeof pid, "%ld", s->beside_pid);
			snprintf(err, errlen, "data directory %s is in use by another renewd (pid %s)", s->dir, pid);
			return pg_close_and_fail(&s, RD_ELOCKED);
		}
		if (lrc < 0 && lrc != RD_ELOCKED) {
			if (lrc == -ENOENT)
				snprintf(err, errlen, "data directory %s does not exist (create it with mkdir first)", s->dir);
			else
				snprintf(err, errlen, "data directory %s is not writable: %s", s->dir, strerror(-lrc));
			return pg_close_and_fail(&s, lrc);
		}
	}
	struct pg_conn *c = connect_new(s, err, errlen);
	if (!c)
		return pg_close_and_fail(&s, RD_EBUSY);
	s->idle[s->n_idle++] = c;
	s->n_open = 1;
	int rc = open_meta(s, o, err, errlen);
	if (rc < 0)
		return pg_close_and_fail(&s, rc);
	if (!s->readonly && (rc = rd_store_migrate(s, o, &s->schema, "store", s->shown, err, errlen)) < 0)
		return pg_close_and_fail(&s, rc);
	/* Open (its DDL and migrations may take long): from now on every
	 * connection runs with the statement timeout; the ones opened so far
	 * are dropped and made again with it. */
	if (s->stmt_timeout_ms) {
		for (unsigned i = 0; i < s->n_idle; i++)
			conn_free(s->idle[i]);
		s->n_open -= s->n_idle;
		s->n_idle = 0;
	}
	s->opened = true;
	*out = s;
	return 0;
}

static void pg_close(struct rd_store **sp)
{
	struct rd_store *s = *sp;
	if (!s)
		return;
	for (unsigned i = 0; i < s->n_idle; i++)
		conn_free(s->idle[i]);
	while (s->tables) {
		struct rd_table *t = s->tables;
		s->tables = t->next;
		free(t);
	}
	pthread_mutex_destroy(&s->mu);
	rd_store_writer_destroy(&s->writer);
	rd_store_dir_unlock(s->lock_fd);
	free(s->dir);
	free(s->url);
	free(s->shown);
	free(s);
	*sp = NULL;
}

static int pg_close_and_fail(struct rd_store **s, int rc)
{
	pg_close(s);
	return rc;
}

static const char *pg_dir(const struct rd_store *s)
{
	return s->dir;
}

/* ---- tables ------------------------------------------------------------- */

static struct rd_table *pg_table(struct rd_store *s, const char *name)
{
	for (struct rd_table *t = s->tables; t; t = t->next)
		if (strcmp(t->def->name, name) == 0)
			return t;
	return NULL;
}

static int pg_register(struct rd_store *s, const struct rd_table_def *def, struct rd_table **out)
{
	if (rd_fails_assert(def->n_indexes <= 16))
		return RD_ERANGE;
	if ((*out = pg_table(s, def->name)))
		return 0;
	struct rd_table *tb = rd_calloc(1, sizeof *tb);
	tb->def = def;
	struct rd_txn t;
	int rc = txn_plain(s, &t, false);
	if (rc < 0) {
		free(tb);
		return rc;
	}
	char sql[512], rel[80];
	if (s->readonly) {
		bool yes = false;
		snprintf(rel, sizeof rel, "t_%s", def->name);
		rc = table_exists(&t, rel, &yes);
		tb->missing = !yes;
	} else {
		PQclear(PQexec(t.c, "ROLLBACK"));
		PQclear(PQexec(t.c, "BEGIN"));
		rc = exec_simple(&t, "SELECT pg_advisory_xact_lock(" SETUP_LOCK ")");
		snprintf(sql, sizeof sql,
			 "CREATE TABLE IF NOT EXISTS t_%s (tenant bigint NOT NULL, id bigint NOT NULL, val bytea NOT NULL,"
			 " PRIMARY KEY (tenant, id))",
			 def->name);
		if (rc == 0)
			rc = exec_simple(&t, sql);
		snprintf(sql, sizeof sql,
			 "CREATE TABLE IF NOT EXISTS i_%s (tenant bigint NOT NULL, ix text NOT NULL, key bytea NOT NULL,"
			 " id bigint NOT NULL, PRIMARY KEY (tenant, ix, key))",
			 def->name);
		if (rc == 0)
			rc = exec_simple(&t, sql);
	}
	finish(&t, rc == 0, &rc);
	if (rc < 0) {
		free(tb);
		return rc;
	}
	tb->next = s->tables;
	s->tables = tb;
	*out = tb;
	return 0;
}

/* ---- transactions ------------------------------------------------------- */

static int pg_read(struct rd_store *s, struct rd_txn **out)
{
	struct rd_txn *t = rd_malloc(sizeof *t);
	int rc = txn_plain(s, t, false);
	if (rc < 0) {
		free(t);
		*out = NULL;
		return rc;
	}
	*out = t;
	return 0;
}

static void pg_txn_end(struct rd_txn *t)
{
	if (rd_fails_assert(!t->write))
		return;
	int rc = 0;
	finish(t, false, &rc);
	free(t);
}

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* ops->write: writes run on the loop thread and, for an import's rows
 * (rd_store_write_long), on a worker thread, one at a time in this process
 * (store.c holds the writer's lock), each on a connection from the pool (mu). */
static int pg_store_write(struct rd_store *s, rd_write_fn fn, void *arg)
{
	if (rd_fails_assert(!s->readonly))
		return RD_EINTERNAL;
	for (unsigned attempt = 0;; attempt++) {
		struct rd_txn t;
		int rc = txn_plain(s, &t, true);
		if (rc < 0)
			return rc;
		rc = fn(&t, arg);
		bool commit = rc >= 0 && !t.failed;
		finish(&t, commit, &rc);
		if (t.conflict && attempt < MAX_REPLAYS) {
			/* Another transaction won: replay fn against the store as it is now,
			 * after a short, growing, jittered pause. */
			pthread_mutex_lock(&s->mu);
			s->replays++;
			pthread_mutex_unlock(&s->mu);
			unsigned cap = 200u << (attempt < 6 ? attempt : 6);
			usleep((useconds_t)(now_ns() % cap));
			continue;
		}
		if (rc >= 0 && t.failed)
			rc = t.failed; /* fn went on past a failed statement: nothing was committed */
		return rc;
	}
}

static struct rd_store_writer *pg_store_writer(struct rd_store *s)
{
	return &s->writer;
}

static int pg_begin_child(struct rd_txn *p, struct rd_txn **out)
{
	if (rd_fails_assert(p->write))
		return RD_EINTERNAL;
	struct rd_txn *c = rd_calloc(1, sizeof *c);
	*c = (struct rd_txn){ .s = p->s, .pc = p->pc, .c = p->c, .root = p->root, .write = true, .child = true,
			      .depth = p->depth + 1, .saved_failed = p->root->failed };
	char sql[48];
	snprintf(sql, sizeof sql, "SAVEPOINT rd_sp%u", c->depth);
	int rc = exec_simple(c, sql);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static int pg_commit_child(struct rd_txn *c)
{
	if (rd_fails_assert(c->child))
		return RD_EINTERNAL;
	int rc = c->root->failed;
	if (rc == 0) {
		char sql[48];
		snprintf(sql, sizeof sql, "RELEASE SAVEPOINT rd_sp%u", c->depth);
		rc = exec_simple(c, sql);
	}
	if (rc < 0) {
		/* The parent is as before the child began. */
		char sql[80];
		snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT rd_sp%u", c->depth);
		PQclear(PQexec(c->c, sql));
		if (!c->root->conflict && !c->root->broken)
			c->root->failed = c->saved_failed;
	}
	free(c);
	return rc;
}

static void pg_abort_child(struct rd_txn *c)
{
	if (rd_fails_assert(c->child))
		return;
	char sql[80];
	snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT rd_sp%u", c->depth);
	PGresult *r = PQexec(c->c, sql);
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (ok) {
		snprintf(sql, sizeof sql, "RELEASE SAVEPOINT rd_sp%u", c->depth);
		PQclear(PQexec(c->c, sql));
		/* A failed statement inside the child is undone with it, unless it
		 * doomed the whole transaction (conflict: replayed; lost connection). */
		if (!c->root->conflict && !c->root->broken)
			c->root->failed = c->saved_failed;
	} else if (!c->root->failed) {
		c->root->failed = conn_lost(c->c, NULL) ? RD_EBUSY : RD_EINTERNAL;
	}
	free(c);
}

/* ---- records ------------------------------------------------------------ */

static int not_usable(struct rd_txn *t)
{
	return t->root->failed; /* the transaction is aborted: every statement would fail */
}

/* Runs a query for one value (bytea) and hands the first row's, kept until
 * the transaction ends; RD_ENOTFOUND when no row answers. */
static int get_one(struct rd_txn *t, const char *sql, int n, const char *const *v, const int *l, const char *fmt,
		   const void **val, size_t *len)
{
	int rc = 0;
	PGresult *r = run(t, sql, n, v, l, fmt, &rc);
	if (!r)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return RD_ENOTFOUND;
	}
	keep(t, r);
	*val = PQgetvalue(r, 0, 0);
	*len = (size_t)PQgetlength(r, 0, 0);
	return 0;
}

static int pg_get(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void **val, size_t *len)
{
	if (tb->missing)
		return RD_ENOTFOUND;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT val FROM t_%s WHERE tenant = $1 AND id = $2", tb->def->name);
	uint8_t a[8], b[8];
	rd_key_put_u64(a, tenant);
	rd_key_put_u64(b, id);
	const char *v[2] = { (char *)a, (char *)b };
	const int l[2] = { 8, 8 };
	return get_one(t, sql, 2, v, l, "bb", val, len);
}

/* The index entry key: the extractor's output and the id.  Returns its
 * length, 0 when the record has no entry, < 0 on extractor failure. */
static int entry_key(const struct rd_index_def *ix, uint64_t id, const void *rec, size_t len, uint8_t *out)
{
	int n = ix->key(rec, len, out, RD_INDEX_KEY_MAX);
	if (n <= 0)
		return n;
	if (rd_fails_assert(n <= RD_INDEX_KEY_MAX))
		return RD_EINTERNAL;
	rd_key_put_u64(out + n, id);
	return n + 8;
}

/* Brings the table's index entries from old's to val's (either may be NULL):
 * the entries that go in one DELETE, those that come in one INSERT, so a
 * put costs at most two statements for its indexes however many it has. */
static int update_indexes(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void *old,
			  size_t old_len, const void *val, size_t len)
{
	uint8_t tk[8], ik[8];
	rd_key_put_u64(tk, tenant);
	rd_key_put_u64(ik, id);
	uint8_t ok[16][RD_INDEX_KEY_MAX + 8], nk[16][RD_INDEX_KEY_MAX + 8];
	const char *dv[MAX_PARAMS], *iv[MAX_PARAMS];
	int dl[MAX_PARAMS], il[MAX_PARAMS];
	char dfmt[MAX_PARAMS + 1], ifmt[MAX_PARAMS + 1];
	int nd = 1, ni = 2; /* parameters so far: $1 tenant (both), $2 id (insert) */
	dv[0] = iv[0] = (char *)tk;
	dl[0] = il[0] = 8;
	iv[1] = (char *)ik;
	il[1] = 8;
	char del[2048], ins[2048];
	size_t dn = (size_t)snprintf(del, sizeof del, "DELETE FROM i_%s WHERE tenant = $1 AND (ix, key) IN (", tb->def->name);
	size_t in = (size_t)snprintf(ins, sizeof ins, "INSERT INTO i_%s (tenant, ix, key, id) VALUES ", tb->def->name);
	for (unsigned i = 0; i < tb->def->n_indexes; i++) {
		const struct rd_index_def *ix = &tb->def->indexes[i];
		int on = old ? entry_key(ix, id, old, old_len, ok[i]) : 0;
		int nn = val ? entry_key(ix, id, val, len, nk[i]) : 0;
		if (on < 0)
			on = 0; /* an undecodable old record: nothing to remove we can name */
		if (nn < 0)
			return nn;
		if (on == nn && on > 0 && memcmp(ok[i], nk[i], (size_t)on) == 0)
			continue;
		if (on > 0) {
			dn += (size_t)snprintf(del + dn, sizeof del - dn, "%s($%d, $%d)", nd > 1 ? ", " : "", nd + 1, nd + 2);
			dv[nd] = ix->name, dl[nd] = 0;
			dv[nd + 1] = (char *)ok[i], dl[nd + 1] = on;
			nd += 2;
		}
		if (nn > 0) {
			in += (size_t)snprintf(ins + in, sizeof ins - in, "%s($1, $%d, $%d, $2)", ni > 2 ? ", " : "", ni + 1,
					       ni + 2);
			iv[ni] = ix->name, il[ni] = 0;
			iv[ni + 1] = (char *)nk[i], il[ni + 1] = nn;
			ni += 2;
		}
	}
	int rc = 0;
	if (nd > 1) {
		snprintf(del + dn, sizeof del - dn, ")");
		for (int k = 0; k < nd; k++)
			dfmt[k] = k == 0 || k % 2 == 0 ? 'b' : 't';
		dfmt[nd] = 0;
		PQclear(run(t, del, nd, dv, dl, dfmt, &rc));
		if (rc < 0)
			return rc;
	}
	if (ni > 2) {
		for (int k = 0; k < ni; k++)
			ifmt[k] = k < 2 || k % 2 == 1 ? 'b' : 't';
		ifmt[ni] = 0;
		PQclear(run(t, ins, ni, iv, il, ifmt, &rc));
	}
	return rc;
}

static int pg_put(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id, const void *val, size_t len,
		  unsigned flags)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	if (len > 0x7fffffff)
		return RD_ETOOBIG;
	const void *old = NULL;
	size_t old_len = 0;
	if (tb->def->n_indexes || (flags & RD_PUT_NEW)) {
		rc = pg_get(t, tb, tenant, id, &old, &old_len);
		if (rc < 0 && rc != RD_ENOTFOUND)
			return rc;
		if (rc == 0 && (flags & RD_PUT_NEW))
			return RD_EEXISTS;
		if (rc == RD_ENOTFOUND)
			old = NULL;
	}
	if ((rc = update_indexes(t, tb, tenant, id, old, old_len, val, len)) < 0)
		return rc;
	char sql[200];
	snprintf(sql, sizeof sql,
		 "INSERT INTO t_%s (tenant, id, val) VALUES ($1, $2, $3)"
		 " ON CONFLICT (tenant, id) DO UPDATE SET val = excluded.val",
		 tb->def->name);
	uint8_t a[8], b[8];
	rd_key_put_u64(a, tenant);
	rd_key_put_u64(b, id);
	const char *v[3] = { (char *)a, (char *)b, len ? val : "" };
	const int l[3] = { 8, 8, (int)len };
	PQclear(run(t, sql, 3, v, l, "bbb", &rc));
	return rc;
}

static int pg_del(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t id)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	char sql[160];
	snprintf(sql, sizeof sql, "DELETE FROM t_%s WHERE tenant = $1 AND id = $2 RETURNING val", tb->def->name);
	uint8_t a[8], b[8];
	rd_key_put_u64(a, tenant);
	rd_key_put_u64(b, id);
	const char *v[2] = { (char *)a, (char *)b };
	const int l[2] = { 8, 8 };
	PGresult *r = run(t, sql, 2, v, l, "bb", &rc);
	if (!r)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return RD_ENOTFOUND;
	}
	rc = update_indexes(t, tb, tenant, id, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), NULL, 0);
	PQclear(r);
	return rc;
}

static int pg_next_id(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t *id)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	uint8_t a[8];
	rd_key_put_u64(a, tenant);
	const char *v[2] = { (char *)a, tb->def->name };
	const int l[2] = { 8, 0 };
	PGresult *r = run(t,
			  "INSERT INTO rd_seq (tenant, tbl, last) VALUES ($1, $2, 1)"
			  " ON CONFLICT (tenant, tbl) DO UPDATE SET last = rd_seq.last + 1 RETURNING last",
			  2, v, l, "bt", &rc);
	if (!r)
		return rc;
	*id = col_u64(r, 0, 0);
	PQclear(r);
	return *id ? 0 : RD_EINTERNAL;
}

static int pg_meta_get(struct rd_txn *t, const char *key, const void **val, size_t *len)
{
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	const char *v[1] = { key };
	return get_one(t, "SELECT val FROM rd_meta WHERE key = $1", 1, v, NULL, "t", val, len);
}

static int pg_meta_put(struct rd_txn *t, const char *key, const void *val, size_t len)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	const char *v[2] = { key, len ? val : "" };
	const int l[2] = { 0, (int)len };
	PQclear(run(t, "INSERT INTO rd_meta (key, val) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET val = excluded.val",
		    2, v, l, "tb", &rc));
	return rc;
}

static int pg_put_batch(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, struct rd_batch_item *items, size_t n)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	if (n == 0)
		return 0;
	int rc = rd_store_batch_sort(items, n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pg_put(t, tb, tenant, items[i].id, items[i].val, items[i].len, 0);
	return rc;
}

/* ---- iterators ---------------------------------------------------------- */

static int pg_iter_records(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t from_id)
{
	rd_store_iter_init(it, t, tb, tenant);
	if (tb->missing) {
		it->done = true;
		return 0;
	}
	rd_key_put_u64(it->from, from_id);
	it->from_len = 8;
	it->cursor = rd_calloc(1, sizeof(struct pg_iter));
	return 0;
}

static int pg_iter_index(struct rd_iter *it, struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t tenant,
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
	if (from_len)
		memcpy(it->from, from, from_len);
	it->from_len = from_len;
	if (to) {
		if (to_len)
			memcpy(it->to, to, to_len);
		it->to_len = to_len;
		it->started = false;
	}
	/* to_len == 0 with to != NULL is an empty range, as on LMDB. */
	it->cursor = rd_calloc(1, sizeof(struct pg_iter));
	((struct pg_iter *)it->cursor)->last_page = false;
	if (to && to_len == 0)
		it->done = true;
	return 0;
}

static int fetch_page(struct rd_iter *it, struct pg_iter *pi)
{
	struct rd_txn *t = it->txn;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	char sql[512];
	uint8_t tk[8];
	rd_key_put_u64(tk, it->tenant);
	bool first = !it->started;
	pi->limit = !pi->limit ? ITER_FIRST : pi->limit < ITER_MAX ? pi->limit * 2 : ITER_MAX;
	PGresult *r;
	if (it->index < 0) {
		snprintf(sql, sizeof sql,
			 "SELECT id, val FROM t_%s WHERE tenant = $1 AND id %s $2 ORDER BY id LIMIT %d", it->tb->def->name,
			 first ? ">=" : ">", pi->limit);
		const char *v[2] = { (char *)tk, first ? (char *)it->from : (char *)pi->after };
		const int l[2] = { 8, 8 };
		r = run(t, sql, 2, v, l, "bb", &rc);
	} else {
		snprintf(sql, sizeof sql,
			 "SELECT i.key, r.val, i.id, r.id IS NULL FROM i_%s i LEFT JOIN t_%s r"
			 " ON r.tenant = i.tenant AND r.id = i.id"
			 " WHERE i.tenant = $1 AND i.ix = $2 AND i.key %s $3%s ORDER BY i.key LIMIT %d",
			 it->tb->def->name, it->tb->def->name, first ? ">=" : ">", it->to_len ? " AND i.key < $4" : "",
			 pi->limit);
		const char *v[4] = { (char *)tk, it->tb->def->indexes[it->index].name,
				     first ? (char *)it->from : (char *)pi->after, (char *)it->to };
		const int l[4] = { 8, 0, first ? (int)it->from_len : (int)pi->after_len, (int)it->to_len };
		r = run(t, sql, it->to_len ? 4 : 3, v, l, "btbb", &rc);
	}
	if (!r)
		return rc;
	keep(t, r); /* the rows' bytes stay valid until the transaction ends */
	pi->page = r;
	pi->row = 0;
	pi->rows = PQntuples(r);
	pi->last_page = pi->rows < pi->limit;
	it->started = true;
	return 0;
}

static int pg_iter_next(struct rd_iter *it, struct rd_item *out)
{
	struct pg_iter *pi = it->cursor;
	if (it->done || !pi)
		return 0;
	if (!pi->page || pi->row >= pi->rows) {
		if (pi->page && pi->last_page) {
			it->done = true;
			return 0;
		}
		int rc = fetch_page(it, pi);
		if (rc < 0)
			return rc;
		if (pi->rows == 0) {
			it->done = true;
			return 0;
		}
	}
	PGresult *r = pi->page;
	int row = pi->row++;
	if (it->index < 0) {
		out->id = col_u64(r, row, 0);
		out->val = PQgetvalue(r, row, 1);
		out->len = (size_t)PQgetlength(r, row, 1);
		out->key = NULL;
		out->key_len = 0;
		rd_key_put_u64(pi->after, out->id);
		pi->after_len = 8;
		return 1;
	}
	int klen = PQgetlength(r, row, 0);
	const uint8_t *k = (const uint8_t *)PQgetvalue(r, row, 0);
	if (klen < 9 || (size_t)klen > sizeof pi->after)
		return RD_ECORRUPT;
	memcpy(pi->after, k, (size_t)klen);
	pi->after_len = (size_t)klen;
	out->id = col_u64(r, row, 2);
	if (PQgetvalue(r, row, 3)[0]) {
		rd_log(RD_LOG_ERROR, "store", "index %s.%s: entry for id %llu has no record (run renewctl check)",
		       it->tb->def->name, it->tb->def->indexes[it->index].name, (unsigned long long)out->id);
		return RD_ECORRUPT;
	}
	out->key = k;
	out->key_len = (size_t)klen - 8;
	out->val = PQgetvalue(r, row, 1);
	out->len = (size_t)PQgetlength(r, row, 1);
	return 1;
}

static void pg_iter_close(struct rd_iter *it)
{
	free(it->cursor); /* the pages themselves belong to the transaction */
	it->cursor = NULL;
	it->done = true;
}

/* One index's entries for every record of the table, all tenants (an index
 * added to a store that already holds records): paged through the records
 * like check, each entry inserted unless there (idempotent). */
static int pg_index_fill(struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t *n)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	unsigned i = 0;
	while (i < tb->def->n_indexes && strcmp(tb->def->indexes[i].name, index) != 0)
		i++;
	if (i == tb->def->n_indexes)
		return RD_ENOTFOUND;
	const struct rd_index_def *ix = &tb->def->indexes[i];
	*n = 0;
	char sql[256], ins[200];
	snprintf(ins, sizeof ins, "INSERT INTO i_%s (tenant, ix, key, id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
		 tb->def->name);
	uint8_t lt[8] = { 0 }, li[8] = { 0 };
	bool first = true;
	for (;;) {
		snprintf(sql, sizeof sql, "SELECT tenant, id, val FROM t_%s WHERE %s ORDER BY tenant, id LIMIT %d",
			 tb->def->name, first ? "true" : "(tenant, id) > ($1, $2)", PAGE_ROWS);
		const char *v[2] = { (char *)lt, (char *)li };
		const int l[2] = { 8, 8 };
		PGresult *r = run(t, sql, first ? 0 : 2, v, l, "bb", &rc);
		if (!r)
			return rc;
		first = false;
		int rows = PQntuples(r);
		for (int row = 0; rc == 0 && row < rows; row++) {
			uint64_t tenant = col_u64(r, row, 0), id = col_u64(r, row, 1);
			uint8_t k[RD_INDEX_KEY_MAX + 8], tk[8], ik[8];
			int kn = entry_key(ix, id, PQgetvalue(r, row, 2), (size_t)PQgetlength(r, row, 2), k);
			if (kn < 0)
				rc = kn;
			if (kn <= 0)
				continue;
			rd_key_put_u64(tk, tenant);
			rd_key_put_u64(ik, id);
			const char *iv[4] = { (char *)tk, ix->name, (char *)k, (char *)ik };
			const int il[4] = { 8, 0, kn, 8 };
			PQclear(run(t, ins, 4, iv, il, "btbb", &rc));
			if (rc == 0)
				(*n)++;
		}
		if (rows > 0) {
			rd_key_put_u64(lt, col_u64(r, rows - 1, 0));
			rd_key_put_u64(li, col_u64(r, rows - 1, 1));
		}
		PQclear(r);
		if (rc < 0 || rows < PAGE_ROWS)
			return rc;
	}
}

static long pg_beside_pid(const struct rd_store *s)
{
	return s->beside_pid; /* the renewd on this data directory; other nodes share the database by design */
}

static int pg_count(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t *n)
{
	*n = 0;
	if (tb->missing)
		return 0;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM t_%s WHERE tenant = $1", tb->def->name);
	uint8_t a[8];
	rd_key_put_u64(a, tenant);
	const char *v[1] = { (char *)a };
	const int l[1] = { 8 };
	PGresult *r = run(t, sql, 1, v, l, "b", &rc);
	if (!r)
		return rc;
	*n = col_u64(r, 0, 0);
	PQclear(r);
	return 0;
}

/* ---- operations --------------------------------------------------------- */

static int pg_reserve(struct rd_store *s, uint64_t extra)
{
	(void)s;
	(void)extra;
	return 0; /* PostgreSQL grows its files itself */
}

static int pg_stats(struct rd_store *s, struct rd_store_stats *st)
{
	struct rd_txn t;
	int rc = txn_plain(s, &t, false);
	if (rc < 0)
		return rc;
	PGresult *r = run(&t, "SELECT pg_database_size(current_database())", 0, NULL, NULL, "", &rc);
	memset(st, 0, sizeof *st);
	if (r) {
		st->used_bytes = st->file_bytes = col_u64(r, 0, 0);
		PQclear(r);
	}
	finish(&t, false, &(int){ 0 });
	pthread_mutex_lock(&s->mu);
	st->readers_used = s->n_open - s->n_idle;
	pthread_mutex_unlock(&s->mu);
	st->readers_max = POOL_MAX;
	st->schema = s->schema;
	return rc;
}

struct entry {
	uint64_t tenant;
	const char *ix;
	const uint8_t *key;
	int len;
	uint64_t id;
	bool seen;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->tenant != y->tenant)
		return x->tenant < y->tenant ? -1 : 1;
	int c = strcmp(x->ix, y->ix);
	if (c)
		return c;
	c = memcmp(x->key, y->key, (size_t)(x->len < y->len ? x->len : y->len));
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int check_table(struct rd_txn *t, struct rd_table *tb, rd_check_report_fn report, void *arg)
{
	char sql[256];
	int rc, problems = 0;
	snprintf(sql, sizeof sql, "SELECT tenant, ix, key, id FROM i_%s", tb->def->name);
	PGresult *ir = run(t, sql, 0, NULL, NULL, "", &rc);
	if (!ir)
		return rc;
	size_t n = (size_t)PQntuples(ir);
	struct entry *e = rd_calloc(n ? n : 1, sizeof *e);
	for (size_t i = 0; i < n; i++)
		e[i] = (struct entry){ col_u64(ir, (int)i, 0), PQgetvalue(ir, (int)i, 1), (const uint8_t *)PQgetvalue(ir, (int)i, 2),
				       PQgetlength(ir, (int)i, 2), col_u64(ir, (int)i, 3), false };
	qsort(e, n, sizeof *e, entry_cmp);
	/* Every record has its index entries (paged through all tenants). */
	uint8_t lt[8] = { 0 }, li[8] = { 0 };
	bool first = true;
	for (;;) {
		snprintf(sql, sizeof sql,
			 "SELECT tenant, id, val FROM t_%s WHERE %s ORDER BY tenant, id LIMIT %d", tb->def->name,
			 first ? "true" : "(tenant, id) > ($1, $2)", PAGE_ROWS);
		const char *v[2] = { (char *)lt, (char *)li };
		const int l[2] = { 8, 8 };
		PGresult *r = run(t, sql, first ? 0 : 2, v, l, "bb", &rc);
		if (!r)
			break;
		first = false;
		int rows = PQntuples(r);
		for (int row = 0; row < rows; row++) {
			uint64_t tenant = col_u64(r, row, 0), id = col_u64(r, row, 1);
			const void *val = PQgetvalue(r, row, 2);
			size_t len = (size_t)PQgetlength(r, row, 2);
			for (unsigned i = 0; i < tb->def->n_indexes; i++) {
				uint8_t k[RD_INDEX_KEY_MAX + 8];
				int kn = entry_key(&tb->def->indexes[i], id, val, len, k);
				if (kn < 0) {
					rd_store_check_problem(report, arg, &problems, RD_CHECK_UNDECODABLE, tb->def->name,
							       tb->def->indexes[i].name, tenant, id, kn);
					continue;
				}
				if (kn == 0)
					continue;
				struct entry want = { tenant, tb->def->indexes[i].name, k, kn, id, false };
				struct entry *hit = bsearch(&want, e, n, sizeof *e, entry_cmp);
				if (hit && hit->id == id)
					hit->seen = true;
				else
					rd_store_check_problem(report, arg, &problems, RD_CHECK_MISSING, tb->def->name,
							       tb->def->indexes[i].name, tenant, id, 0);
			}
		}
		if (rows > 0) {
			rd_key_put_u64(lt, col_u64(r, rows - 1, 0));
			rd_key_put_u64(li, col_u64(r, rows - 1, 1));
		}
		PQclear(r);
		if (rows < PAGE_ROWS)
			break;
	}
	/* Every index entry belongs to a record that yields exactly that key. */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (e[i].seen)
			continue;
		bool known = false;
		for (unsigned j = 0; j < tb->def->n_indexes; j++)
			known |= strcmp(tb->def->indexes[j].name, e[i].ix) == 0;
		const void *val;
		size_t len;
		int g = pg_get(t, tb, e[i].tenant, e[i].id, &val, &len);
		if (g < 0 && g != RD_ENOTFOUND) {
			rc = g;
			break;
		}
		rd_store_check_problem(report, arg, &problems,
				       !known ? RD_CHECK_UNKNOWN : g == RD_ENOTFOUND ? RD_CHECK_DANGLING : RD_CHECK_STALE,
				       tb->def->name, e[i].ix, e[i].tenant, e[i].id, 0);
	}
	free(e);
	PQclear(ir);
	return rc < 0 ? rc : problems;
}

static int pg_check(struct rd_store *s, rd_check_report_fn report, void *arg)
{
	struct rd_txn t;
	int rc = txn_plain(s, &t, false);
	if (rc < 0)
		return rc;
	int problems = 0;
	for (struct rd_table *tb = s->tables; tb; tb = tb->next) {
		if (tb->missing)
			continue;
		rc = check_table(&t, tb, report, arg);
		if (rc < 0)
			break;
		problems += rc;
	}
	finish(&t, false, &(int){ 0 });
	return rc < 0 ? rc : problems;
}

static int pg_backup(struct rd_store *s, const char *dir, char *err, size_t errlen)
{
	(void)dir;
	snprintf(err, errlen,
		 "store %s is PostgreSQL: back it up with pg_dump or a physical backup (docs/scaling.md), not renewctl backup",
		 s->shown);
	return RD_EINVAL;
}

/* ---- the whole store, raw (rd_store_walk, rd_store_load_*) -------------- */

/* A binary COPY's stream (COPY ... TO STDOUT (FORMAT binary)): its bytes
 * gathered until whole tuples can be taken off the front. */
struct copy_in {
	char *buf;
	size_t len, cap, off;
	bool header;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The next tuple's fields (at most max): 1 with the fields set, 0 when more
 * bytes are needed, 2 at the trailer, RD_ECORRUPT for a malformed stream. */
static int copy_tuple(struct copy_in *ci, const uint8_t **f, int *fl, int max)
{
	const uint8_t *p = (const uint8_t *)ci->buf + ci->off, *end = (const uint8_t *)ci->buf + ci->len;
	if (!ci->header) {
		if (end - p < 19)
			return 0;
		if (memcmp(p, "PGCOPY\n\377\r\n\0", 11) != 0)
			return RD_ECORRUPT;
		uint32_t ext = be32(p + 15);
		if ((size_t)(end - p) < 19 + (size_t)ext)
			return 0;
		p += 19 + ext;
		ci->off = (size_t)(p - (const uint8_t *)ci->buf);
		ci->header = true;
	}
	if (end - p < 2)
		return 0;
	int16_t n = (int16_t)((uint16_t)p[0] << 8 | p[1]);
	if (n == -1)
		return 2;
	if (n != max)
		return RD_ECORRUPT;
	const uint8_t *q = p + 2;
	for (int i = 0; i < n; i++) {
		if (end - q < 4)
			return 0;
		uint32_t l = be32(q);
		if (l == 0xffffffffu)
			return RD_ECORRUPT; /* no column here is ever NULL */
		if ((size_t)(end - q - 4) < l)
			return 0;
		f[i] = q + 4;
		fl[i] = (int)l;
		q += 4 + l;
	}
	ci->off = (size_t)(q - (const uint8_t *)ci->buf);
	return 1;
}

/* Runs a COPY ... TO STDOUT (FORMAT binary) of nf columns and hands each
 * row to row(). */
static int copy_out(struct rd_txn *t, const char *sql, int nf,
		    int (*row)(const uint8_t **f, const int *fl, void *a), void *a)
{
	PGresult *r = PQexec(t->c, sql);
	if (!r || PQresultStatus(r) != PGRES_COPY_OUT)
		return failure(t, r);
	PQclear(r);
	struct copy_in ci = { 0 };
	int rc = 0, got;
	bool trailer = false;
	char *chunk;
	while ((got = PQgetCopyData(t->c, &chunk, 0)) > 0) {
		if (rc < 0 || trailer) {
			PQfreemem(chunk);
			continue; /* drain the stream */
		}
		if (ci.off && ci.off == ci.len)
			ci.off = ci.len = 0;
		if (ci.len + (size_t)got > ci.cap) {
			if (ci.off) {
				memmove(ci.buf, ci.buf + ci.off, ci.len - ci.off);
				ci.len -= ci.off;
				ci.off = 0;
			}
			if (ci.len + (size_t)got > ci.cap) {
				ci.cap = (ci.len + (size_t)got) * 2;
				ci.buf = rd_realloc(ci.buf, ci.cap);
			}
		}
		memcpy(ci.buf + ci.len, chunk, (size_t)got);
		ci.len += (size_t)got;
		PQfreemem(chunk);
		const uint8_t *f[4];
		int fl[4];
		int k = 0;
		while (rc >= 0 && (k = copy_tuple(&ci, f, fl, nf)) == 1)
			rc = row(f, fl, a);
		if (rc >= 0 && k < 0)
			rc = k;
		if (k == 2)
			trailer = true;
	}
	free(ci.buf);
	r = PQgetResult(t->c);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		int frc = failure(t, r);
		rc = rc < 0 ? rc : frc;
	} else {
		PQclear(r);
	}
	while ((r = PQgetResult(t->c)))
		PQclear(r);
	if (rc >= 0 && !trailer)
		rc = RD_ECORRUPT;
	return rc;
}

struct pg_walk {
	rd_raw_fn fn;
	void *arg;
	const char *table;
	char index[80];
};

static int walk_record_row(const uint8_t **f, const int *fl, void *a)
{
	struct pg_walk *w = a;
	if (fl[0] != 8 || fl[1] != 8)
		return RD_ECORRUPT;
	struct rd_raw_item it = { .kind = RD_RAW_RECORD, .table = w->table, .tenant = rd_key_get_u64(f[0]),
				  .id = rd_key_get_u64(f[1]), .val = f[2], .len = (size_t)fl[2] };
	return w->fn(&it, w->arg);
}

static int walk_entry_row(const uint8_t **f, const int *fl, void *a)
{
	struct pg_walk *w = a;
	if (fl[0] <= 0 || fl[0] >= (int)sizeof w->index || fl[1] != 8 || fl[2] < 8)
		return RD_ECORRUPT;
	memcpy(w->index, f[0], (size_t)fl[0]);
	w->index[fl[0]] = 0;
	struct rd_raw_item it = { .kind = RD_RAW_INDEX, .table = w->table, .index = w->index,
				  .tenant = rd_key_get_u64(f[1]), .id = rd_key_get_u64(f[2] + fl[2] - 8),
				  .key = f[2], .key_len = (size_t)fl[2] - 8 };
	return w->fn(&it, w->arg);
}

/* The store's relations named prefix + a table name, by that name. */
static PGresult *relations(struct rd_txn *t, const char *prefix, int *rc)
{
	const char *v[1] = { prefix };
	return run(t,
		   "SELECT substr(c.relname, 3) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
		   " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND left(c.relname, 2) = $1"
		   " ORDER BY substr(c.relname, 3) COLLATE \"C\"",
		   1, v, NULL, "t", rc);
}

static bool listed(const PGresult *r, const char *name)
{
	for (int i = 0; i < PQntuples(r); i++)
		if (strcmp(PQgetvalue(r, i, 0), name) == 0)
			return true;
	return false;
}

static int walk_txn(struct rd_store *s, struct rd_txn *t, rd_raw_fn fn, void *arg)
{
	int rc = 0;
	struct pg_walk w = { .fn = fn, .arg = arg };
	PGresult *tr = NULL, *ir = NULL;
	PGresult *r = run(t, "SELECT key, val FROM rd_meta ORDER BY key COLLATE \"C\"", 0, NULL, NULL, "", &rc);
	for (int i = 0; r && rc >= 0 && i < PQntuples(r); i++) {
		struct rd_raw_item it = { .kind = RD_RAW_META, .key = PQgetvalue(r, i, 0),
					  .key_len = (size_t)PQgetlength(r, i, 0), .val = PQgetvalue(r, i, 1),
					  .len = (size_t)PQgetlength(r, i, 1) };
		rc = fn(&it, arg);
	}
	PQclear(r);
	if (rc < 0)
		goto out;
	r = run(t, "SELECT tbl, tenant, last FROM rd_seq ORDER BY tbl COLLATE \"C\", tenant", 0, NULL, NULL, "", &rc);
	for (int i = 0; r && rc >= 0 && i < PQntuples(r); i++) {
		struct rd_raw_item it = { .kind = RD_RAW_SEQ, .table = PQgetvalue(r, i, 0), .tenant = col_u64(r, i, 1),
					  .id = col_u64(r, i, 2) };
		rc = fn(&it, arg);
	}
	PQclear(r);
	if (rc < 0 || !(tr = relations(t, "t_", &rc)) || !(ir = relations(t, "i_", &rc)))
		goto out;
	for (int i = 0; i < PQntuples(ir); i++)
		if (!listed(tr, PQgetvalue(ir, i, 0))) {
			rd_log(RD_LOG_ERROR, "store", "store %s: index relation i_%s has no table t_%s", s->shown,
			       PQgetvalue(ir, i, 0), PQgetvalue(ir, i, 0));
			rc = RD_ECORRUPT;
			goto out;
		}
	for (int i = 0; rc >= 0 && i < PQntuples(tr); i++) {
		w.table = PQgetvalue(tr, i, 0);
		if (!rd_store_valid_name(w.table))
			continue; /* not one of renewd's */
		char sql[256];
		snprintf(sql, sizeof sql,
			 "COPY (SELECT tenant, id, val FROM t_%s ORDER BY tenant, id) TO STDOUT (FORMAT binary)", w.table);
		if ((rc = copy_out(t, sql, 3, walk_record_row, &w)) < 0 || !listed(ir, w.table))
			continue;
		snprintf(sql, sizeof sql,
			 "COPY (SELECT ix, tenant, key FROM i_%s ORDER BY ix COLLATE \"C\", tenant, key) TO STDOUT (FORMAT binary)",
			 w.table);
		rc = copy_out(t, sql, 3, walk_entry_row, &w);
	}
out:
	PQclear(tr);
	PQclear(ir);
	return rc;
}

static int pg_walk(struct rd_store *s, rd_raw_fn fn, void *arg)
{
	struct rd_txn t;
	int rc = txn_plain(s, &t, false);
	if (rc < 0)
		return rc;
	rc = walk_txn(s, &t, fn, arg);
	finish(&t, false, &(int){ 0 });
	return rc;
}

struct rd_store_load {
	struct rd_store *s; /* first: store_impl.h */
	struct rd_txn t;
	char table[80];
	enum rd_raw_kind copying; /* RD_RAW_RECORD or RD_RAW_INDEX while a COPY is open, else 0 */
	char *buf;
	size_t len, cap;
};

static void load_bytes(struct rd_store_load *l, const void *p, size_t n)
{
	if (l->len + n > l->cap) {
		l->cap = (l->len + n) * 2;
		l->buf = rd_realloc(l->buf, l->cap);
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

static void load_field(struct rd_store_load *l, const void *p, size_t n)
{
	uint8_t b[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	load_bytes(l, b, 4);
	if (n)
		load_bytes(l, p, n);
}

static int load_flush(struct rd_store_load *l)
{
	if (!l->len)
		return 0;
	int ok = PQputCopyData(l->t.c, l->buf, (int)l->len);
	l->len = 0;
	return ok == 1 ? 0 : failure(&l->t, NULL);
}

/* Ends the open COPY, if any: its rows are in (or the load failed). */
static int load_copy_end(struct rd_store_load *l)
{
	if (!l->copying)
		return 0;
	l->copying = 0;
	load_bytes(l, "\377\377", 2);
	int rc = load_flush(l);
	if (PQputCopyEnd(l->t.c, rc < 0 ? "renewd: load failed" : NULL) != 1 && rc == 0)
		rc = failure(&l->t, NULL);
	PGresult *r;
	while ((r = PQgetResult(l->t.c))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			int frc = failure(&l->t, r);
			rc = rc < 0 ? rc : frc;
		} else {
			PQclear(r);
		}
	}
	return rc;
}

static int load_copy_begin(struct rd_store_load *l, enum rd_raw_kind kind, const char *table)
{
	if (l->copying == kind && strcmp(l->table, table) == 0)
		return 0;
	int rc = load_copy_end(l);
	if (rc < 0)
		return rc;
	if (!rd_store_valid_name(table))
		return RD_EINVAL;
	char sql[512];
	/* The relations as pg_register makes them (inside this transaction:
	 * a failed load takes them away again). */
	snprintf(sql, sizeof sql,
		 "CREATE TABLE IF NOT EXISTS t_%s (tenant bigint NOT NULL, id bigint NOT NULL, val bytea NOT NULL,"
		 " PRIMARY KEY (tenant, id))",
		 table);
	if ((rc = exec_simple(&l->t, sql)) < 0)
		return rc;
	snprintf(sql, sizeof sql,
		 "CREATE TABLE IF NOT EXISTS i_%s (tenant bigint NOT NULL, ix text NOT NULL, key bytea NOT NULL,"
		 " id bigint NOT NULL, PRIMARY KEY (tenant, ix, key))",
		 table);
	if ((rc = exec_simple(&l->t, sql)) < 0)
		return rc;
	if (kind == RD_RAW_RECORD)
		snprintf(sql, sizeof sql, "COPY t_%s (tenant, id, val) FROM STDIN (FORMAT binary)", table);
	else
		snprintf(sql, sizeof sql, "COPY i_%s (tenant, ix, key, id) FROM STDIN (FORMAT binary)", table);
	PGresult *r = PQexec(l->t.c, sql);
	if (!r || PQresultStatus(r) != PGRES_COPY_IN)
		return failure(&l->t, r);
	PQclear(r);
	l->copying = kind;
	snprintf(l->table, sizeof l->table, "%s", table);
	static const uint8_t header[19] = { 'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0 };
	load_bytes(l, header, sizeof header);
	return 0;
}

static int pg_load_begin(struct rd_store *s, struct rd_store_load **out, char *err, size_t errlen)
{
	if (rd_fails_assert(!s->readonly))
		return RD_EINTERNAL;
	struct rd_store_load *l = rd_calloc(1, sizeof *l);
	l->s = s;
	int rc = txn_plain(s, &l->t, false);
	if (rc < 0) {
		snprintf(err, errlen, "store %s: cannot begin a transaction", s->shown);
		free(l);
		return rc;
	}
	/* One plain transaction for the whole load; DDL serialised with the
	 * nodes' (SETUP_LOCK), renewd's own relations locked against writers. */
	PQclear(PQexec(l->t.c, "ROLLBACK"));
	PQclear(PQexec(l->t.c, "BEGIN"));
	l->t.write = true;
	rc = exec_simple(&l->t, "SELECT pg_advisory_xact_lock(" SETUP_LOCK ")");
	if (rc == 0)
		rc = exec_simple(&l->t, "LOCK TABLE rd_meta, rd_seq IN EXCLUSIVE MODE");
	PGresult *r = rc == 0 ? run(&l->t,
				    "SELECT (SELECT count(*) FROM rd_meta WHERE key NOT IN ('magic', 'schema')),"
				    " (SELECT count(*) FROM rd_seq)", 0, NULL, NULL, "", &rc) : NULL;
	if (r) {
		uint64_t m = col_u64(r, 0, 0), q = col_u64(r, 0, 1);
		if (m || q) {
			snprintf(err, errlen, "store %s is not empty: it holds %llu %s", s->shown,
				 (unsigned long long)(q ? q : m), q ? "id sequences" : "store-wide settings");
			rc = RD_EEXISTS;
		}
		PQclear(r);
	}
	const char *const prefixes[] = { "t_", "i_" };
	for (int p = 0; p < 2 && rc == 0; p++) {
		PGresult *tr = relations(&l->t, prefixes[p], &rc);
		for (int i = 0; tr && rc == 0 && i < PQntuples(tr); i++) {
			const char *name = PQgetvalue(tr, i, 0);
			if (!rd_store_valid_name(name))
				continue;
			char sql[200];
			snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT 1 FROM %s%s LIMIT 1) x", prefixes[p], name);
			PGresult *cr = run(&l->t, sql, 0, NULL, NULL, "", &rc);
			if (cr && col_u64(cr, 0, 0)) {
				snprintf(err, errlen, "store %s is not empty: %s %s holds rows", s->shown,
					 p == 0 ? "table" : "the indexes of table", name);
				rc = RD_EEXISTS;
			}
			PQclear(cr);
		}
		PQclear(tr);
	}
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errlen, "store %s: cannot inspect the store: %s", s->shown, rd_strerror(rc));
		finish(&l->t, false, &(int){ 0 });
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

static int pg_load_item(struct rd_store_load *l, const struct rd_raw_item *it)
{
	int rc = not_usable(&l->t);
	if (rc < 0)
		return rc;
	uint8_t a[8], b[8];
	rd_key_put_u64(a, it->tenant);
	rd_key_put_u64(b, it->id);
	switch (it->kind) {
	case RD_RAW_META: {
		if ((rc = load_copy_end(l)) < 0)
			return rc;
		const char *v[2] = { it->key, it->len ? it->val : "" };
		const int ln[2] = { (int)it->key_len, (int)it->len };
		PQclear(run(&l->t, "INSERT INTO rd_meta (key, val) VALUES ($1, $2)"
			    " ON CONFLICT (key) DO UPDATE SET val = excluded.val", 2, v, ln, "bb", &rc));
		return rc;
	}
	case RD_RAW_SEQ: {
		if ((rc = load_copy_end(l)) < 0)
			return rc;
		const char *v[3] = { (char *)a, it->table, (char *)b };
		const int ln[3] = { 8, 0, 8 };
		PQclear(run(&l->t, "INSERT INTO rd_seq (tenant, tbl, last) VALUES ($1, $2, $3)", 3, v, ln, "btb", &rc));
		return rc;
	}
	case RD_RAW_RECORD:
		if ((rc = load_copy_begin(l, RD_RAW_RECORD, it->table)) < 0)
			return rc;
		if (it->len > 0x7fffffff)
			return RD_ETOOBIG;
		load_bytes(l, "\0\3", 2);
		load_field(l, a, 8);
		load_field(l, b, 8);
		load_field(l, it->val, it->len);
		break;
	case RD_RAW_INDEX: {
		if (it->key_len > RD_INDEX_KEY_MAX || !it->index || !rd_store_valid_name(it->index))
			return RD_EINVAL;
		if ((rc = load_copy_begin(l, RD_RAW_INDEX, it->table)) < 0)
			return rc;
		uint8_t k[RD_INDEX_KEY_MAX + 8];
		if (it->key_len)
			memcpy(k, it->key, it->key_len);
		memcpy(k + it->key_len, b, 8);
		load_bytes(l, "\0\4", 2);
		load_field(l, a, 8);
		load_field(l, it->index, strlen(it->index));
		load_field(l, k, it->key_len + 8);
		load_field(l, b, 8);
		break;
	}
	default:
		return RD_EINVAL;
	}
	return l->len >= (1u << 20) ? load_flush(l) : 0;
}

static int pg_load_walk(struct rd_store_load *l, rd_raw_fn fn, void *arg)
{
	int rc = load_copy_end(l);
	return rc < 0 ? rc : walk_txn(l->s, &l->t, fn, arg);
}

static int pg_load_end(struct rd_store_load *l, bool commit)
{
	int rc = load_copy_end(l);
	if (rc < 0 || l->t.failed)
		commit = false;
	finish(&l->t, commit, &rc);
	if (rc >= 0 && !commit)
		rc = l->t.failed;
	free(l->buf);
	free(l);
	return rc;
}

/* The probe: SELECT 1 on a pooled connection, timed; a pooled connection
 * found dead is dropped and the next tried, as when a transaction begins. */
int rd_store_pg_health(struct rd_store *s, struct rd_store_health *h)
{
	memset(h, 0, sizeof *h);
	h->backend = rd_store_pg_ops.name;
	int rc = RD_EBUSY;
	for (int tries = 0; tries <= POOL_MAX; tries++) {
		bool fresh;
		struct pg_conn *pc = pool_get(s, &fresh);
		if (!pc)
			break;
		unsigned long long t0 = now_ns();
		PGresult *r = PQexec(pc->c, "SELECT 1");
		unsigned long long t1 = now_ns();
		bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
		PQclear(r);
		if (ok) {
			pool_put(s, pc, false);
			h->latency_seconds = (double)(t1 - t0) / 1e9;
			rc = 0;
			break;
		}
		bool lost = PQstatus(pc->c) != CONNECTION_OK;
		rd_log(RD_LOG_ERROR, "store", "store %s: the health probe failed: %s", s->shown, PQerrorMessage(pc->c));
		note_error(s, lost ? "connection lost" : "the health probe failed", true);
		pool_put(s, pc, true);
		if (!lost || fresh)
			break;
	}
	pthread_mutex_lock(&s->mu);
	h->reachable = rc == 0;
	h->reconnects = s->reconnects;
	h->retries = s->replays;
	h->statement_timeouts = s->stmt_timeouts;
	h->connect_failures = s->connect_failures;
	snprintf(h->last_error, sizeof h->last_error, "%s", s->last_error);
	h->last_error_ms = s->last_error_ms;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- counters (store.c keeps them; store.h "Counters") --------------------
 * rd_counters(tbl, tenant, k bytea, n bigint, a numeric, b numeric): a row
 * per bucket; the sums travel as text (numeric holds the 128-bit sums). */

static void pg_set_counters(struct rd_table *tb, const struct rd_counter_def *def) { tb->counters = def; }
static const struct rd_counter_def *pg_get_counters(struct rd_table *tb) { return tb->counters; }

static void i128_put(__int128 v, char *out)
{
	char tmp[48];
	int n = 0, o = 0;
	unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
	do {
		tmp[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		out[o++] = '-';
	while (n)
		out[o++] = tmp[--n];
	out[o] = 0;
}

static __int128 i128_get(const char *p, int len)
{
	bool neg = len > 0 && p[0] == '-';
	__int128 v = 0;
	for (int i = neg; i < len && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (p[i] - '0');
	return neg ? -v : v;
}

static int pg_counter_add(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const uint8_t *key, size_t klen,
			  const struct rd_counter_val *d)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	uint8_t tk[8];
	rd_key_put_u64(tk, tenant);
	char n[32], a[48], b[48];
	snprintf(n, sizeof n, "%lld", (long long)d->n);
	i128_put(d->a, a);
	i128_put(d->b, b);
	const char *v[6] = { tb->def->name, (char *)tk, (const char *)key, n, a, b };
	const int l[6] = { 0, 8, (int)klen, 0, 0, 0 };
	PGresult *r = run(t,
			  "INSERT INTO rd_counters AS c (tbl, tenant, k, n, a, b) VALUES ($1, $2, $3, $4::bigint, $5::numeric,"
			  " $6::numeric) ON CONFLICT (tbl, tenant, k) DO UPDATE SET n = c.n + excluded.n, a = c.a + excluded.a,"
			  " b = c.b + excluded.b RETURNING (n = 0 AND a = 0 AND b = 0)",
			  6, v, l, "tbbttt", &rc);
	if (!r)
		return rc;
	bool zero = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 1 && PQgetvalue(r, 0, 0)[0];
	PQclear(r);
	if (zero)
		PQclear(run(t, "DELETE FROM rd_counters WHERE tbl = $1 AND tenant = $2 AND k = $3", 3, v, l, "tbb", &rc));
	return rc;
}

/* A text array literal's element appended to b: a bytea as "\\x..." or a number. */
static void arr_add(char **b, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 2 > *cap) {
		*cap = (*len + n + 2) * 2;
		*b = rd_realloc(*b, *cap);
	}
	memcpy(*b + *len, s, n + 1);
	*len += n;
}

/* A write's deltas in two statements: the sums added (unnest of four
 * arrays), then the rows back at zero deleted. */
static int pg_counter_apply(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const struct rd_counter_delta *d,
			    size_t n)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	char *arr[4] = { NULL, NULL, NULL, NULL };
	size_t len[4] = { 0, 0, 0, 0 }, cap[4] = { 0, 0, 0, 0 };
	for (int j = 0; j < 4; j++)
		arr_add(&arr[j], &len[j], &cap[j], "{");
	for (size_t i = 0; i < n; i++) {
		char num[64], hex[2 * RD_COUNTER_KEY_MAX + 8];
		const char *sep = i ? "," : "";
		int o = snprintf(hex, sizeof hex, "%s\"\\\\x", sep);
		for (size_t k = 0; k < d[i].klen && k < RD_COUNTER_KEY_MAX; k++)
			o += snprintf(hex + o, sizeof hex - (size_t)o, "%02x", d[i].key[k]);
		snprintf(hex + o, sizeof hex - (size_t)o, "\"");
		arr_add(&arr[0], &len[0], &cap[0], hex);
		snprintf(num, sizeof num, "%s%lld", sep, (long long)d[i].v.n);
		arr_add(&arr[1], &len[1], &cap[1], num);
		char w[48];
		i128_put(d[i].v.a, w);
		snprintf(num, sizeof num, "%s%s", sep, w);
		arr_add(&arr[2], &len[2], &cap[2], num);
		i128_put(d[i].v.b, w);
		snprintf(num, sizeof num, "%s%s", sep, w);
		arr_add(&arr[3], &len[3], &cap[3], num);
	}
	for (int j = 0; j < 4; j++)
		arr_add(&arr[j], &len[j], &cap[j], "}");
	uint8_t tk[8];
	rd_key_put_u64(tk, tenant);
	const char *v[6] = { tb->def->name, (char *)tk, arr[0], arr[1], arr[2], arr[3] };
	const int l[6] = { 0, 8, 0, 0, 0, 0 };
	PQclear(run(t,
		    "INSERT INTO rd_counters AS c (tbl, tenant, k, n, a, b) SELECT $1, $2, u.k, u.n, u.a, u.b FROM"
		    " unnest($3::bytea[], $4::bigint[], $5::numeric[], $6::numeric[]) AS u(k, n, a, b)"
		    " ON CONFLICT (tbl, tenant, k) DO UPDATE SET n = c.n + excluded.n, a = c.a + excluded.a,"
		    " b = c.b + excluded.b",
		    6, v, l, "tbtttt", &rc));
	if (rc == 0)
		PQclear(run(t,
			    "DELETE FROM rd_counters WHERE tbl = $1 AND tenant = $2 AND k = ANY($3::bytea[]) AND n = 0"
			    " AND a = 0 AND b = 0",
			    3, v, l, "tbt", &rc));
	for (int j = 0; j < 4; j++)
		free(arr[j]);
	return rc;
}

static int pg_counter_iter(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, const uint8_t *from, size_t from_len,
			   const uint8_t *to, size_t to_len, rd_counter_row_fn fn, void *arg)
{
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	uint8_t tk[8];
	rd_key_put_u64(tk, tenant);
	const char *v[4] = { tb->def->name, (char *)tk, from_len ? (const char *)from : "", to ? (const char *)to : "" };
	const int l[4] = { 0, 8, (int)from_len, (int)to_len };
	PGresult *r = run(t,
			  to ? "SELECT k, n::text, a::text, b::text FROM rd_counters WHERE tbl = $1 AND tenant = $2 AND k >= $3"
			       " AND k < $4 ORDER BY k"
			     : "SELECT k, n::text, a::text, b::text FROM rd_counters WHERE tbl = $1 AND tenant = $2 AND k >= $3"
			       " ORDER BY k",
			  to ? 4 : 3, v, l, "tbbb", &rc);
	if (!r)
		return rc;
	int out = 0;
	for (int i = 0; i < PQntuples(r) && !out; i++) {
		struct rd_counter_val cv;
		cv.n = (int64_t)i128_get(PQgetvalue(r, i, 1), PQgetlength(r, i, 1));
		cv.a = i128_get(PQgetvalue(r, i, 2), PQgetlength(r, i, 2));
		cv.b = i128_get(PQgetvalue(r, i, 3), PQgetlength(r, i, 3));
		out = fn(arg, (const uint8_t *)PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0), &cv);
	}
	PQclear(r);
	return out;
}

static int pg_counter_clear(struct rd_txn *t, struct rd_table *tb, uint64_t tenant)
{
	if (rd_fails_assert(t->write))
		return RD_EINTERNAL;
	int rc = not_usable(t);
	if (rc < 0)
		return rc;
	uint8_t tk[8];
	rd_key_put_u64(tk, tenant);
	const char *v[2] = { tb->def->name, (char *)tk };
	const int l[2] = { 0, 8 };
	PQclear(run(t, "DELETE FROM rd_counters WHERE tbl = $1 AND tenant = $2", 2, v, l, "tb", &rc));
	return rc;
}

const struct rd_store_ops rd_store_pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.dir = pg_dir,
	.reg = pg_register,
	.table = pg_table,
	.read = pg_read,
	.txn_end = pg_txn_end,
	.write = pg_store_write,
	.writer = pg_store_writer,
	.begin_child = pg_begin_child,
	.commit_child = pg_commit_child,
	.abort_child = pg_abort_child,
	.get = pg_get,
	.put = pg_put,
	.del = pg_del,
	.next_id = pg_next_id,
	.meta_get = pg_meta_get,
	.meta_put = pg_meta_put,
	.put_batch = pg_put_batch,
	.iter_records = pg_iter_records,
	.iter_index = pg_iter_index,
	.iter_next = pg_iter_next,
	.iter_close = pg_iter_close,
	.count = pg_count,
	.index_fill = pg_index_fill,
	.beside_pid = pg_beside_pid,
	.reserve = pg_reserve,
	.stats = pg_stats,
	.check = pg_check,
	.backup = pg_backup,
	.walk = pg_walk,
	.load_begin = pg_load_begin,
	.load_item = pg_load_item,
	.load_walk = pg_load_walk,
	.load_end = pg_load_end,
	.counter_add = pg_counter_add,
	.counter_iter = pg_counter_iter,
	.counter_clear = pg_counter_clear,
	.set_counters = pg_set_counters,
	.get_counters = pg_get_counters,
	.counter_apply = pg_counter_apply,
};
