/*
 * imports.h: the import engine (core/services/imports.c), shared by
 * POST /api/v1/imports and the vendor console's imports (a job: validation
 * on the thread pool, one write transaction on the loop) and
 * `renewctl import` (streaming straight into one write transaction).
 * It takes an actor and plain values, never a request: the caller has
 * checked the actor's rights to import the kind.
 *
 * Input: CSV (a header row naming the columns; UTF-8, with or without BOM)
 * or JSON Lines (one object per line).  Columns are the JSON field names of
 * the kind, plus reference columns resolved by external id
 * (docs/imports.md).  A row whose external id (SKU for products) exists
 * updates that record; otherwise it creates one, so re-importing a file
 * changes nothing.
 */
#ifndef RD_SERVICES_IMPORTS_H
#define RD_SERVICES_IMPORTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "auth/auth.h"
#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

struct rd_txn;

#define RD_IMPORT_MAX_ERRORS 100
#define RD_IMPORT_MAX_ROW (1 << 20) /* a row longer than this ends the import */

/* Reads up to cap bytes; returns 0 at the end, < 0 on error. */
typedef long (*rd_import_read_fn)(void *ctx, char *buf, size_t cap);
/* Takes one valid row's record (encoded without its id) for writing. */
typedef int (*rd_import_sink_fn)(void *ctx, struct rd_txn *t, uint64_t existing_id, const char *ext,
				 const uint8_t *rec, size_t len, const void *obj);

struct rd_import {
	/* what to do */
	struct rd_app *app;
	struct rd_actor who;       /* who imports (vendor, user) */
	struct rd_vendor vendor;   /* the importing vendor (defaults such as a contract's currency) */
	enum rd_resource res;      /* RD_RES_CUSTOMER, _CONTACT, _PRODUCT or _CONTRACT */
	bool csv;
	bool atomic_mode;          /* any bad row means nothing is applied */
	_Atomic bool cancel;       /* set from the loop: stop at the next row */
	/* progress, read from other threads while it runs */
	_Atomic uint64_t rows, bytes_done;
	uint64_t bytes_total;
	/* outcome */
	uint64_t rows_ok, rows_failed;
	json_t *errors;            /* [{row, column, message}], the first RD_IMPORT_MAX_ERRORS */
	char fatal[256];           /* set when the file could not be read to its end */
	rd_import_sink_fn sink;
	void *sink_ctx;
	/* A partner feed (a contracts import from a source): columns renamed by
	 * feed_mapping, the sender's channel enforced, the source recorded. */
	uint8_t feed_source;       /* enum rd_feed_source; 0: a plain import */
	uint64_t feed_partner;     /* the sending partner; 0: the vendor */
	uint8_t feed_partner_kind; /* enum rd_partner_kind */
	char feed_mapping[1024];   /* "Its Column=renewd_column;..."; "": renewd's names */
	uint64_t rows_unchanged;   /* feed rows that matched the store exactly (nothing written) */
	json_t *reviews;           /* values held for review: [{contract_id, field, current, proposed, owner}] */
	bool row_at_a_time;        /* no bulk load (rd_import_apply): each record's index entries written with it;
				    * the same tables and indexes, slower (renewctl import --row-at-a-time) */
	struct rd_txn *ext_found_in; /* while the engine hands a row to the sink: its transaction, when the
				      * existing id is what the external id's look-up in it found (rd_import_apply
				      * in that transaction need not look again); else NULL */
};

/* Parses and validates the whole input against the store as seen by t,
 * handing each valid row to im->sink.  Returns 0 (see rows_failed, fatal)
 * or < 0 when the sink or the store failed. */
int rd_import_run(struct rd_import *im, struct rd_txn *t, rd_import_read_fn read, void *read_ctx);
void rd_import_reset(struct rd_import *im);
/* "customers" -> RD_RES_CUSTOMER; -1 when not importable. */
int rd_import_kind(const char *name);
const char *rd_import_kind_name(enum rd_resource res);

/* Writes one row (the default sink's work): looks the external id up again
 * inside the write transaction, then creates or updates.  *created tells. */
int rd_import_apply(struct rd_import *im, struct rd_txn *t, uint64_t existing_id, const char *ext,
		    const uint8_t *rec, size_t len, bool *created);

/* Starts an import job of the daemon (the API's and the vendor console's)
 * for vendor v as who: stores the running import record, parses a copy of
 * data on the thread pool and writes the valid rows (with the audit entry)
 * back on the loop; *out is the record stored.  0, RD_EINVAL (a kind that
 * is not imported, an empty file) or the store's error, with e filled. */
int rd_import_start(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v, enum rd_resource res,
		    bool csv, bool dry_run, bool atomic, const void *data, size_t len, struct rd_import_rec *out,
		    struct rd_serr *e);
/* A partner feed's outcome, for a source that waits for it: called on the
 * loop once it finished; stopped: renewd is stopping and nothing was
 * applied or decided (the source should keep its data for the next start).
 * Not called when the start returned an error. */
typedef void (*rd_feed_done_fn)(void *arg, const struct rd_import_rec *r, bool stopped);

enum rd_feed_format { RD_FEED_CSV = 0, RD_FEED_JSONL = 1 };

/* How a feed arrives (rd_feed_submit).  Zeroed: CSV, no dry run, nobody
 * told. */
struct rd_feed_opts {
	enum rd_feed_format format;  /* CSV with a header row, or JSON Lines (one object a line) */
	bool dry_run;
	rd_feed_done_fn done;        /* NULL: nobody waits */
	void *done_arg;
	/* NULL, or called inside the write transaction that stores the feed's
	 * running import record (r->id is known): what the source records
	 * about the feed (an inbound batch's inbox entry) is stored with it or
	 * not at all.  < 0, with e filled, refuses the feed and stores
	 * nothing.  It may run more than once (a transaction replayed). */
	int (*with_record)(struct rd_txn *t, void *arg, const struct rd_import_rec *r, struct rd_serr *e);
	void *with_arg;
};

/* The one entry point of the feed engine for every source: contracts from
 * who (a vendor user: the vendor source; who->partner set: that partner's
 * kind as the source, its feed_mapping, its channel only), through the one
 * import engine, always atomic (all rows or none, with the per-row
 * report), merged with the stored contracts by external id, then licence
 * key, then customer + product + end date, under the vendor's precedence
 * table with the review queue.  A source that is not a CSV file (an EDI
 * resale report, an inbound webhook batch) hands its rows over as JSON
 * Lines, one object per row with contracts import column names (or the
 * partner's mapped names).  Like rd_import_start otherwise: 0 and *out the
 * running record; RD_EINVAL with e filled (an empty feed, a broken
 * mapping, an unknown format). */
int rd_feed_submit(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v,
		   const struct rd_feed_opts *o, const void *data, size_t len, struct rd_import_rec *out,
		   struct rd_serr *e);
/* rd_feed_submit in CSV (csv) or JSON Lines, nobody told. */
int rd_feed_start(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v, bool csv, bool dry_run,
		  const void *data, size_t len, struct rd_import_rec *out, struct rd_serr *e);
/* A drop folder's feed (connector-csv): rd_feed_submit of a CSV file, done
 * told the outcome. */
int rd_feed_start_file(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v, const void *data,
		       size_t len, rd_feed_done_fn done, void *done_arg, struct rd_import_rec *out, struct rd_serr *e);
/* Which source owns a contract field under vendor v's precedence table
 * (feed_precedence over the default); 0 when the field is not fed. */
uint8_t rd_feed_owner(const struct rd_vendor *v, const char *field);
/* Checks a precedence table: NULL when good, else why (into buf). */
const char *rd_feed_precedence_problem(const char *table, char *buf, size_t cap);
/* Decides a review: take the proposed value (applied to the contract, with
 * the same checks as an update) or keep the stored one.  0, RD_ENOTFOUND,
 * RD_EEXISTS (already decided), RD_EINVAL (the value no longer fits) or the
 * store's error, with e filled; *out is the decided review. */
int rd_feed_review_decide(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v, uint64_t id,
			  bool take, struct rd_feed_review *out, struct rd_serr *e);

/* Checks a feed mapping: NULL when good, else why (into buf). */
const char *rd_feed_mapping_problem(const char *mapping, char *buf, size_t cap);

/* An import record of vendor as JSON, with its progress while it runs. */
json_t *rd_import_json(uint64_t vendor, const struct rd_import_rec *r);

/* Marks imports a stopped daemon left running as failed (nothing of them
 * was applied: daemon imports write in one transaction at the end). */
int rd_imports_recover(struct rd_app *app);
/* Imports still parsing on the thread pool; cancel asks them to stop. */
bool rd_imports_busy(void);
void rd_imports_cancel(void);

#endif
