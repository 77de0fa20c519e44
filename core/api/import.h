/*
 * import.h: the import engine, shared by POST /api/v1/imports (validation
 * on the thread pool, one write transaction on the loop) and
 * `renewctl import` (streaming straight into one write transaction).
 *
 * Input: CSV (a header row naming the columns; UTF-8, with or without BOM)
 * or JSON Lines (one object per line).  Columns are the JSON field names of
 * the kind, plus reference columns resolved by external id
 * (docs/imports.md).  A row whose external id (SKU for products) exists
 * updates that record; otherwise it creates one, so re-importing a file
 * changes nothing.
 */
#ifndef RD_API_IMPORT_H
#define RD_API_IMPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

#define RD_IMPORT_MAX_ERRORS 100
#define RD_IMPORT_MAX_ROW (1 << 20) /* a row longer than this ends the import */

/* Reads up to cap bytes; returns 0 at the end, < 0 on error. */
typedef long (*rd_import_read_fn)(void *ctx, char *buf, size_t cap);
/* Takes one valid row's record (encoded without its id) for writing. */
typedef int (*rd_import_sink_fn)(void *ctx, struct rd_txn *t, uint64_t existing_id, const char *ext,
				 const uint8_t *rec, size_t len, const void *obj);

struct rd_import {
	/* what to do */
	struct call call;          /* who imports (vendor, user, role) and the app */
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

/* Starts an import job of the daemon (the API's and the vendor console's):
 * stores the running import record, parses a copy of data on the thread
 * pool and writes the valid rows (with the audit entry) back on the loop.
 * The caller has checked the caller's rights; *out is the record stored. */
struct rd_import_rec;
int rd_import_start(const struct call *c, enum rd_resource res, bool csv, bool dry_run, bool atomic, const void *data,
		    size_t len, struct rd_import_rec *out);
/* An import record as JSON, with its progress while it runs. */
json_t *rd_import_json(uint64_t vendor, const struct rd_import_rec *r);

#endif
