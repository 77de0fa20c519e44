/*
 * import.h: the import engine (core/services/imports.c) on an input held
 * in memory, shared by the import_csv, import_jsonl and feed_mapping
 * harnesses.  Each input is validated as the daemon's job does (a read
 * transaction, every valid row handed to a sink) and then applied as
 * renewctl does (rd_import_apply into a write transaction), which is
 * aborted afterwards so every input meets the same store: vendor 1 with
 * customer CUST-1001, product SKU-1 and contract K-1 (fuzz.c).
 */
#ifndef RD_FUZZ_IMPORT_H
#define RD_FUZZ_IMPORT_H

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "services/imports.h"
#include "store/store.h"

struct fz_src {
	const uint8_t *p;
	size_t len, at;
	size_t chunk; /* bytes per read: rows cut across reads too */
};

static long fz_read(void *ctx, char *buf, size_t cap)
{
	struct fz_src *s = ctx;
	size_t n = s->len - s->at;
	if (n > cap)
		n = cap;
	if (n > s->chunk)
		n = s->chunk;
	memcpy(buf, s->p + s->at, n);
	s->at += n;
	return (long)n;
}

static int fz_count(void *ctx, struct rd_txn *t, uint64_t existing_id, const char *ext, const uint8_t *rec, size_t len,
		    const void *obj)
{
	(void)t, (void)existing_id, (void)ext, (void)rec, (void)len, (void)obj;
	(*(uint64_t *)ctx)++;
	return 0;
}

static int fz_apply(void *ctx, struct rd_txn *t, uint64_t existing_id, const char *ext, const uint8_t *rec, size_t len,
		    const void *obj)
{
	(void)obj;
	bool created;
	return rd_import_apply(ctx, t, existing_id, ext, rec, len, &created);
}

struct fz_job {
	struct rd_import *im;
	struct fz_src src;
};

#define FZ_ABORT (-9999) /* what the write returns to be rolled back */

static int fz_write(struct rd_txn *t, void *arg)
{
	struct fz_job *j = arg;
	j->src.at = 0;
	j->im->sink = fz_apply;
	j->im->sink_ctx = j->im;
	int rc = rd_import_run(j->im, t, fz_read, &j->src);
	return rc < 0 ? rc : FZ_ABORT;
}

/* One import of data as res (csv or JSON Lines); feed: as partner 1's feed
 * (a reseller) with mapping. */
static void fz_import(const uint8_t *data, size_t size, enum rd_resource res, bool csv, bool feed, const char *mapping,
		      size_t chunk)
{
	struct rd_app *app = fz_app();
	struct rd_import *im = calloc(1, sizeof *im);
	im->app = app;
	im->who = (struct rd_actor){ .vendor = fz_vendor()->id, .user = 1 };
	im->vendor = *fz_vendor();
	im->res = res;
	im->csv = csv;
	im->atomic_mode = true;
	im->bytes_total = size;
	if (feed) {
		im->feed_source = RD_FEED_RESELLER;
		im->feed_partner = 1;
		im->feed_partner_kind = RD_PARTNER_RESELLER;
		snprintf(im->feed_mapping, sizeof im->feed_mapping, "%s", mapping);
	}
	uint64_t rows = 0;
	im->sink = fz_count;
	im->sink_ctx = &rows;
	struct fz_job j = { im, { data, size, 0, chunk ? chunk : 65536 } };
	struct rd_txn *t;
	if (rd_store_read(app->store, &t) == 0) {
		rd_import_run(im, t, fz_read, &j.src);
		rd_txn_end(t);
	}
	if (im->rows_ok)
		(void)rd_store_write(app->store, fz_write, &j);
	json_decref(im->errors);
	json_decref(im->reviews);
	free(im);
}

#endif
