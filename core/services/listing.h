/*
 * listing.h: the records of a list in id order after a cursor, walked either
 * over the whole table or over the index entries a filter names (an exact
 * key, or a range of end dates), so that a filtered list costs O(hits)
 * instead of a decode of every record.
 *
 * The walk only narrows: every record it hands over is still checked by the
 * caller's own filter, so a list served from an index is the list the table
 * walk gives (tests/integration/test_perf_paths.py compares both).  A source
 * is used only where every record the filter can match has an entry under
 * it (a non-empty string, a non-zero id, a date range that leaves out the
 * "no date" 0, which has no index entry).
 */
#ifndef RD_SERVICES_LISTING_H
#define RD_SERVICES_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/model.h"
#include "store/store.h"

struct rd_list_source {
	const char *index; /* NULL: the whole table in id order */
	bool exact;        /* one key (ids come in id order); else a key range */
	const char *index2; /* exact only: the same key in a second index too, both
			     * walked at once in id order (a record in both comes once) */
	uint8_t lo[RD_INDEX_KEY_MAX];
	size_t lo_len;
	uint8_t hi[RD_INDEX_KEY_MAX]; /* range: exclusive upper bound; hi_len 0: to the end */
	size_t hi_len;
	const uint64_t *ids; /* rd_list_source_ids: these records (ascending, each once; borrowed) */
	size_t n_ids;
	bool by_ids;
};

/* Fill a source; false when the value cannot be served from the index (the
 * caller walks the table: same result). */
bool rd_list_source_str(struct rd_list_source *s, const char *index, const char *value);
bool rd_list_source_id(struct rd_list_source *s, const char *index, uint64_t id);
/* The records under id in index or in index2 (a contract's reseller or its
 * distributor of record). */
bool rd_list_source_id2(struct rd_list_source *s, const char *index, const char *index2, uint64_t id);
/* The records whose ids are ids[0..n) (ascending, each once; borrowed for
 * the walk): a set worked out elsewhere, e.g. a partner's customers. */
void rd_list_source_ids(struct rd_list_source *s, const uint64_t *ids, size_t n);
/* The ids of tb's records indexed (8-byte id keys) under any of keys[0..n)
 * in index, ascending and each once, into *out (malloc'd: free it). */
int rd_list_ids_under(struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t tenant, const uint64_t *keys,
		      size_t n, uint64_t **out, size_t *n_out);
/* Sorts ids[0..*n) ascending and drops repeats. */
void rd_list_ids_unique(uint64_t *ids, size_t *n);
/* Dates lo..hi inclusive; has_lo/has_hi false: unbounded on that side. */
bool rd_list_source_dates(struct rd_list_source *s, const char *index, bool has_lo, rd_date lo, bool has_hi, rd_date hi);

/* row gets each record with id >= after + 1 (wrapping, as a table walk
 * from the cursor always did), in id order: 1 goes on, 0 stops,
 * < 0 stops with that error.  src NULL or src->index NULL: the table. */
typedef int (*rd_list_row_fn)(void *ctx, uint64_t id, const void *rec, size_t len);
int rd_list_walk(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t after,
		 const struct rd_list_source *src, rd_list_row_fn row, void *ctx);

/* Fills, once per store, the list indexes added after stores held records
 * (the contracts' RD_IDX_CONTRACT_DISTRIBUTOR), under the meta flag
 * "list_index"; at start, before the first request. */
int rd_list_prepare(struct rd_store *store, struct rd_domain *d);

#endif
