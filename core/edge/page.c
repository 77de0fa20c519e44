/* page.c: one page of a list: {"items": [...], "next_cursor": "ID" | null}.
 * Lists walk records in id order; the cursor is the last id given out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/call.h"
#include "services/listing.h"
#include "store/store.h"
#include "util/err.h"

int rd_page_begin(struct rd_page *p, struct rd_req *req, const char *const *known)
{
	*p = (struct rd_page){ .req = req };
	const char *bad = known ? rd_req_query_unknown(req, known) : NULL;
	if (bad) {
		rd_reply_error(req, 400, "invalid", bad, "unknown query parameter \"%s\"", bad);
		return RD_EINVAL;
	}
	const char *ls = rd_req_query(req, "limit"), *cs = rd_req_query(req, "cursor");
	p->limit = ls ? rd_parse_id(ls) : 50;
	p->cursor = cs ? rd_parse_id(cs) : 0;
	if (p->limit < 1 || p->limit > 500) {
		rd_reply_error(req, 400, "invalid", "limit", "limit must be 1-500");
		return RD_EINVAL;
	}
	if (cs && !p->cursor) {
		rd_reply_error(req, 400, "invalid", "cursor", "cursor is not one this API gave out");
		return RD_EINVAL;
	}
	p->items = json_array();
	return 0;
}

int rd_page_enum(struct rd_page *p, const char *param, const char *const *names)
{
	const char *q = rd_req_query(p->req, param);
	if (!q)
		return 0;
	char list[512];
	size_t n = 0;
	list[0] = 0;
	for (size_t i = 0; names[i]; i++) {
		if (!names[i][0])
			continue;
		if (!strcmp(names[i], q))
			return 0;
		n += (size_t)snprintf(list + n, n < sizeof list ? sizeof list - n : 0, "%s%s", n ? ", " : "", names[i]);
		if (n >= sizeof list)
			n = sizeof list - 1;
	}
	rd_reply_error(p->req, 400, "invalid", param, "%s \"%.40s\" is not one of: %s", param, q, list);
	rd_page_finish(p, RD_EINVAL);
	return RD_EINVAL;
}

int rd_page_enum_field(struct rd_page *p, const char *param, const struct rd_entity *e, const char *field)
{
	for (size_t i = 0; i < e->n_fields; i++)
		if (!strcmp(e->fields[i].json, field) && e->fields[i].names)
			return rd_page_enum(p, param, e->fields[i].names);
	return 0;
}

bool rd_page_add(struct rd_page *p, uint64_t id, json_t *j)
{
	if (p->n == p->limit) {
		json_decref(j);
		p->more = true;
		return false;
	}
	json_array_append_new(p->items, j);
	p->last = id;
	p->n++;
	return true;
}

static void *pool_alloc(void *req, size_t n)
{
	return rd_req_alloc(req, n);
}

void rd_jsonw_for_req(struct rd_jsonw *w, struct rd_req *req, size_t cap)
{
	rd_jsonw_init(w, cap, pool_alloc, req);
}

void rd_page_raw(struct rd_page *p, struct rd_jsonw *w)
{
	json_decref(p->items);
	p->items = NULL;
	p->raw = w;
	rd_jsonw_raw(w, "{\"items\":[", 10);
}

int rd_page_finish(struct rd_page *p, int rc)
{
	if (rc < 0) {
		json_decref(p->items);
		return rc;
	}
	char next[24];
	snprintf(next, sizeof next, "%llu", (unsigned long long)p->last);
	if (p->raw) {
		/* The tree path's bytes: {"items":[...],"next_cursor":"ID"|null}. */
		struct rd_jsonw *w = p->raw;
		rd_jsonw_raw(w, "],\"next_cursor\":", 16);
		if (p->more)
			rd_jsonw_str(w, next, strlen(next));
		else
			rd_jsonw_raw(w, "null", 4);
		rd_jsonw_raw(w, "}", 1);
		if (w->alloc) /* the request's pool (rd_jsonw_for_req): sent from there */
			rd_reply_pooled(p->req, 200, "application/json", w->buf, w->len);
		else
			rd_reply_raw(p->req, 200, "application/json", w->buf, w->len);
		return 0;
	}
	rd_reply_json(p->req, 200, json_pack("{s:o, s:o}", "items", p->items, "next_cursor",
					     p->more ? json_string(next) : json_null()));
	return 0;
}

int rd_page_records(struct rd_page *p, struct call *c, struct rd_table *tb, const struct rd_entity *e, rd_page_row_fn row,
		    void *ctx)
{
	struct rd_txn *t;
	int rc = rd_store_read(c->app->store, &t);
	if (rc < 0)
		return rd_page_finish(p, rc);
	p->t = t;
	void *obj = rd_malloc(e->size);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, tb, c->who.vendor, p->cursor + 1);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(e, item.val, item.len, obj)) < 0)
			break;
		json_t *j = row(ctx, obj);
		if (j && !rd_page_add(p, item.id, j))
			break;
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	p->t = NULL;
	free(obj);
	return rd_page_finish(p, rc);
}

int rd_call_scope_ids(struct call *c, struct rd_txn *t, struct rd_table *tb, const char *const *indexes, size_t n,
		      uint64_t after, uint64_t **out, size_t *n_out)
{
	size_t m = 0, cap = 64;
	uint64_t *ids = rd_malloc(cap * sizeof *ids);
	int rc = 0;
	for (unsigned s = 0; rc >= 0 && s < c->who.n_scope; s++)
		for (size_t i = 0; rc >= 0 && i < n; i++) {
			uint8_t from[16], to[16];
			rd_key_put_u64(from, c->who.scope[s]);
			rd_key_put_u64(from + 8, after + 1);
			rd_key_put_u64(to, c->who.scope[s]);
			memset(to + 8, 0xff, 8);
			struct rd_iter it;
			struct rd_item item;
			rc = rd_iter_index(&it, t, tb, indexes[i], c->who.vendor, from, 16, to, 16);
			while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
				if (item.key_len != 8 || memcmp(item.key, from, 8) != 0)
					break;
				if (item.id <= after)
					continue;
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
	rd_list_ids_unique(ids, &m); /* in id order; one under two of the partner's keys: once */
	*out = ids;
	*n_out = m;
	return 0;
}

int rd_page_records_scoped(struct rd_page *p, struct call *c, struct rd_table *tb, const struct rd_entity *e,
			   const char *const *indexes, size_t n, rd_page_row_fn row, void *ctx)
{
	if (!rd_role_is_partner(c->who.role) || !c->who.n_scope)
		return rd_page_records(p, c, tb, e, row, ctx);
	struct rd_txn *t;
	int rc = rd_store_read(c->app->store, &t);
	if (rc < 0)
		return rd_page_finish(p, rc);
	p->t = t;
	uint64_t *ids = NULL;
	size_t m = 0;
	if ((rc = rd_call_scope_ids(c, t, tb, indexes, n, p->cursor, &ids, &m)) >= 0) {
		void *obj = rd_malloc(e->size);
		for (size_t i = 0; rc >= 0 && i < m; i++) {
			const void *rec;
			size_t len;
			if ((rc = rd_txn_get(t, tb, c->who.vendor, ids[i], &rec, &len)) == RD_ENOTFOUND) {
				rc = 0;
				continue;
			}
			if (rc < 0 || (rc = rd_entity_decode(e, rec, len, obj)) < 0)
				break;
			json_t *j = row(ctx, obj);
			if (j && !rd_page_add(p, ids[i], j))
				break;
		}
		free(obj);
	}
	free(ids);
	rd_txn_end(t);
	p->t = NULL;
	return rd_page_finish(p, rc < 0 ? rc : 0);
}

json_t *rd_page_if(json_t *j, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(j, key));
	if (want && (!v || strcmp(v, want))) {
		json_decref(j);
		return NULL;
	}
	return j;
}
