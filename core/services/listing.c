/* listing.c: lists walked over the table or over the index a filter names
 * (listing.h). */
#include <stdlib.h>
#include <string.h>

#include "services/listing.h"
#include "util/err.h"

bool rd_list_source_str(struct rd_list_source *s, const char *index, const char *value)
{
	size_t n = strlen(value);
	/* Index keys are the string and its NUL; the walk appends an id. */
	if (n == 0 || n + 1 + 8 > RD_INDEX_KEY_MAX)
		return false;
	memset(s, 0, sizeof *s);
	s->index = index;
	s->exact = true;
	memcpy(s->lo, value, n + 1);
	s->lo_len = n + 1;
	return true;
}

bool rd_list_source_id(struct rd_list_source *s, const char *index, uint64_t id)
{
	if (!id)
		return false;
	memset(s, 0, sizeof *s);
	s->index = index;
	s->exact = true;
	rd_key_put_u64(s->lo, id);
	s->lo_len = 8;
	return true;
}

bool rd_list_source_id2(struct rd_list_source *s, const char *index, const char *index2, uint64_t id)
{
	if (!rd_list_source_id(s, index, id))
		return false;
	s->index2 = index2;
	return true;
}

bool rd_list_source_dates(struct rd_list_source *s, const char *index, bool has_lo, rd_date lo, bool has_hi, rd_date hi)
{
	/* A record without the date (0) has no index entry: a range that
	 * takes 0 in is the table's to answer. */
	if ((!has_lo || lo <= 0) && (!has_hi || hi >= 0))
		return false;
	memset(s, 0, sizeof *s);
	s->index = index;
	if (has_hi && has_lo && hi < lo)
		hi = lo - 1; /* empty */
	if (has_lo) {
		rd_date_key(lo, s->lo);
		s->lo_len = 4;
	}
	if (has_hi && hi < INT32_MAX) {
		rd_date_key(hi + 1, s->hi);
		s->hi_len = 4;
	}
	return true;
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* An exact key's entries from id first on: [from, to) of the index. */
static size_t exact_bounds(const struct rd_list_source *src, uint64_t first, uint8_t *from, uint8_t *to)
{
	memcpy(from, src->lo, src->lo_len);
	rd_key_put_u64(from + src->lo_len, first);
	memcpy(to, src->lo, src->lo_len);
	memset(to + src->lo_len, 0xff, 8);
	return src->lo_len + 8;
}

/* One key in two indexes: both walks in id order, merged; an id under
 * both keys is handed over once.  O(the entries up to where row stops). */
static int walk_two(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t first,
		    const struct rd_list_source *src, rd_list_row_fn row, void *ctx)
{
	uint8_t from[RD_INDEX_KEY_MAX], to[RD_INDEX_KEY_MAX];
	size_t len = exact_bounds(src, first, from, to);
	struct rd_iter a, b;
	struct rd_item ia, ib;
	/* Closed after a failed start too, as every walk here does. */
	int ra = rd_iter_index(&a, t, tb, src->index, tenant, from, len, to, len);
	if (ra < 0) {
		rd_iter_close(&a);
		return ra;
	}
	int rb = rd_iter_index(&b, t, tb, src->index2, tenant, from, len, to, len);
	if (rb < 0) {
		rd_iter_close(&b);
		rd_iter_close(&a);
		return rb;
	}
	ra = rd_iter_next(&a, &ia);
	rb = rd_iter_next(&b, &ib);
	int rc = 0;
	while (ra >= 0 && rb >= 0 && (ra > 0 || rb > 0)) {
		/* The lower id first; the same id in both: once, both move on. */
		bool take_a = ra > 0 && (rb == 0 || ia.id <= ib.id), take_b = rb > 0 && (ra == 0 || ib.id <= ia.id);
		const struct rd_item *it = take_a ? &ia : &ib;
		if ((rc = row(ctx, it->id, it->val, it->len)) <= 0)
			break;
		if (take_a)
			ra = rd_iter_next(&a, &ia);
		if (take_b)
			rb = rd_iter_next(&b, &ib);
	}
	rd_iter_close(&a);
	rd_iter_close(&b);
	if (ra < 0)
		return ra;
	if (rb < 0)
		return rb;
	return rc < 0 ? rc : 0;
}

void rd_list_source_ids(struct rd_list_source *s, const uint64_t *ids, size_t n)
{
	memset(s, 0, sizeof *s);
	s->by_ids = true;
	s->ids = ids;
	s->n_ids = n;
}

void rd_list_ids_unique(uint64_t *ids, size_t *n)
{
	if (!*n)
		return;
	qsort(ids, *n, sizeof *ids, cmp_id);
	size_t k = 1;
	for (size_t i = 1; i < *n; i++)
		if (ids[i] != ids[k - 1])
			ids[k++] = ids[i];
	*n = k;
}

int rd_list_ids_under(struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t tenant, const uint64_t *keys,
		      size_t n, uint64_t **out, size_t *n_out)
{
	size_t m = 0, cap = 64;
	uint64_t *ids = rd_malloc(cap * sizeof *ids);
	int rc = 0;
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		uint8_t key[8];
		rd_key_put_u64(key, keys[i]);
		struct rd_iter it;
		struct rd_item item;
		rc = rd_iter_index(&it, t, tb, index, tenant, key, 8, NULL, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (item.key_len != 8 || memcmp(item.key, key, 8) != 0)
				break;
			if (m == cap)
				ids = rd_realloc(ids, (cap *= 2) * sizeof *ids);
			ids[m++] = item.id;
		}
		rd_iter_close(&it);
	}
	if (rc < 0) {
		free(ids);
		return rc;
	}
	rd_list_ids_unique(ids, &m);
	*out = ids;
	*n_out = m;
	return 0;
}

/* A set's records after the cursor, in id order (a record gone since the
 * set was read is passed over). */
static int walk_ids(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t first,
		    const struct rd_list_source *src, rd_list_row_fn row, void *ctx)
{
	size_t lo = 0, hi = src->n_ids;
	while (lo < hi) { /* the first id >= first */
		size_t mid = lo + (hi - lo) / 2;
		if (src->ids[mid] < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	int rc = 0;
	for (size_t i = lo; i < src->n_ids; i++) {
		const void *rec;
		size_t len;
		if ((rc = rd_txn_get(t, tb, tenant, src->ids[i], &rec, &len)) == RD_ENOTFOUND)
			continue;
		if (rc < 0 || (rc = row(ctx, src->ids[i], rec, len)) <= 0)
			break;
	}
	return rc < 0 ? rc : 0;
}

int rd_list_walk(struct rd_txn *t, struct rd_table *tb, uint64_t tenant, uint64_t after,
		 const struct rd_list_source *src, rd_list_row_fn row, void *ctx)
{
	struct rd_iter it;
	struct rd_item item;
	int rc;
	uint64_t first = after + 1; /* wraps as the table walk always did */
	if (src && src->by_ids)
		return walk_ids(t, tb, tenant, first, src, row, ctx);
	if (!src || !src->index) {
		rc = rd_iter_records(&it, t, tb, tenant, first);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if ((rc = row(ctx, item.id, item.val, item.len)) <= 0)
				break;
		rd_iter_close(&it);
		return rc < 0 ? rc : 0;
	}
	if (src->exact && src->index2)
		return walk_two(t, tb, tenant, first, src, row, ctx);
	if (src->exact) {
		/* (key, id) entries: start right after the cursor, ids ascending. */
		uint8_t from[RD_INDEX_KEY_MAX], to[RD_INDEX_KEY_MAX];
		size_t len = exact_bounds(src, first, from, to);
		rc = rd_iter_index(&it, t, tb, src->index, tenant, from, len, to, len);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if ((rc = row(ctx, item.id, item.val, item.len)) <= 0)
				break;
		rd_iter_close(&it);
		return rc < 0 ? rc : 0;
	}
	/* A key range: its ids after the cursor, sorted, then each record. */
	size_t n = 0, cap = 256;
	uint64_t *ids = rd_malloc(cap * sizeof *ids);
	rc = rd_iter_index(&it, t, tb, src->index, tenant, src->lo, src->lo_len, src->hi_len ? src->hi : NULL,
			   src->hi_len);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.id < first)
			continue;
		if (n == cap) {
			cap *= 2;
			ids = rd_realloc(ids, cap * sizeof *ids);
		}
		ids[n++] = item.id;
	}
	rd_iter_close(&it);
	if (rc >= 0) {
		qsort(ids, n, sizeof *ids, cmp_id);
		rc = 0;
		for (size_t i = 0; i < n; i++) {
			const void *rec;
			size_t len;
			if ((rc = rd_txn_get(t, tb, tenant, ids[i], &rec, &len)) < 0)
				break;
			if ((rc = row(ctx, ids[i], rec, len)) <= 0)
				break;
		}
	}
	free(ids);
	return rc < 0 ? rc : 0;
}

/* ---- existing stores ---------------------------------------------------------------------- */

/* Indexes added after stores existed, filled once at start: "list_index"
 * 1, the contracts' distributor index; 2, the tokens' user index too; 3,
 * the tokens' expiry index too; 4, the partner indexes of opportunities,
 * orders, deals, tasks and statements too (model.h RD_IDX_PARTNER). */
static int fill(struct rd_txn *t, void *arg)
{
	struct rd_domain *d = arg;
	const void *v;
	size_t len;
	char had = rd_txn_meta_get(t, "list_index", &v, &len) == 0 && len == 1 ? *(const char *)v : '0';
	if (had >= '4')
		return 0;
	uint64_t n;
	int rc = 0;
	if (had < '1')
		rc = rd_txn_index_fill(t, d->contracts, RD_IDX_CONTRACT_DISTRIBUTOR, &n); /* idempotent */
	if (rc >= 0 && had < '2')
		rc = rd_txn_index_fill(t, d->tokens, RD_IDX_TOKEN_USER, &n);
	if (rc >= 0 && had < '3')
		rc = rd_txn_index_fill(t, d->tokens, RD_IDX_TOKEN_EXPIRES, &n);
	const struct {
		struct rd_table *tb;
		const char *index;
	} partner[] = { { d->opportunities, RD_IDX_PARTNER_DISTRIBUTOR }, { d->orders, RD_IDX_PARTNER_RESELLER },
			{ d->orders, RD_IDX_PARTNER_DISTRIBUTOR }, { d->deals, RD_IDX_PARTNER },
			{ d->tasks, RD_IDX_PARTNER }, { d->statements, RD_IDX_PARTNER } };
	for (size_t i = 0; rc >= 0 && i < sizeof partner / sizeof *partner; i++)
		rc = rd_txn_index_fill(t, partner[i].tb, partner[i].index, &n);
	if (rc < 0)
		return rc;
	return rd_txn_meta_put(t, "list_index", "4", 1);
}

int rd_list_prepare(struct rd_store *store, struct rd_domain *d)
{
	return rd_store_write(store, fill, d);
}
