/* page.c: one page of a list: {"items": [...], "next_cursor": "ID" | null}.
 * Lists walk records in id order; the cursor is the last id given out. */
#include <stdio.h>

#include "api/call.h"
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

int rd_page_finish(struct rd_page *p, int rc)
{
	if (rc < 0) {
		json_decref(p->items);
		return rc;
	}
	char next[24];
	snprintf(next, sizeof next, "%llu", (unsigned long long)p->last);
	rd_reply_json(p->req, 200, json_pack("{s:o, s:o}", "items", p->items, "next_cursor",
					     p->more ? json_string(next) : json_null()));
	return 0;
}
