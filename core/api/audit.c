/* audit.c: GET /api/v1/audit, the change history by object or by user. */
#include <string.h>

#include "api/api.h"
#include "store/store.h"
#include "util/err.h"

static const char *const params[] = { "object", "object_id", "user", "limit", "cursor", NULL };

int rd_api_audit_list(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_AUDIT, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	const char *bad = rd_req_query_unknown(req, params);
	if (bad) {
		rd_reply_error(req, 400, "invalid", bad, "unknown query parameter \"%s\"", bad);
		return 0;
	}
	const char *object = rd_req_query(req, "object"), *oid = rd_req_query(req, "object_id");
	const char *user = rd_req_query(req, "user"), *ls = rd_req_query(req, "limit"), *cs = rd_req_query(req, "cursor");
	uint64_t limit = ls ? rd_parse_id(ls) : 50, cursor = cs ? rd_parse_id(cs) : 0, uid = user ? rd_parse_id(user) : 0;
	uint64_t obj_id = oid ? rd_parse_id(oid) : 0;
	if (limit < 1 || limit > 500 || (cs && !cursor) || (user && !uid) || (oid && !obj_id) || (oid && !object) ||
	    (object && (!*object || strlen(object) > 31))) {
		rd_reply_error(req, 400, "invalid", NULL,
			       "use object=<resource>[&object_id=<id>] or user=<id>, limit 1-500, cursor from next_cursor");
		return 0;
	}
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	/* Newest first would need a reverse cursor; entries come oldest first,
	 * and next_cursor walks forward. */
	struct rd_iter it;
	struct rd_item item;
	uint8_t key[48];
	size_t klen = 0;
	/* The object index orders an object's entries by object id before entry
	 * id, so paging by entry id through it would skip entries: an object
	 * without object_id walks the entries in id order and filters by name. */
	bool by_name = object && !obj_id;
	if (object && obj_id) {
		klen = strlen(object) + 1;
		memcpy(key, object, klen);
		rd_key_put_u64(key + klen, obj_id);
		klen += 8;
		rc = rd_iter_index(&it, t, c.app->domain->audit, "object", c.who.vendor, key, klen, NULL, 0);
	} else if (uid && !object) {
		rd_key_put_u64(key, uid);
		klen = 8;
		rc = rd_iter_index(&it, t, c.app->domain->audit, "user", c.who.vendor, key, klen, NULL, 0);
	} else {
		rc = rd_iter_records(&it, t, c.app->domain->audit, c.who.vendor, cursor + 1);
	}
	json_t *items = json_array();
	struct rd_audit *a = rd_malloc(sizeof *a);
	uint64_t n = 0, last = 0;
	bool more = false;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (klen && (item.key_len < klen || memcmp(item.key, key, klen) != 0))
			break; /* past the object or user */
		if (item.id <= cursor)
			continue;
		if ((rc = rd_entity_decode(&rd_entity_audit, item.val, item.len, a)) < 0)
			break;
		if ((by_name && strcmp(a->object, object) != 0) || (uid && a->user_id != uid))
			continue; /* every filter given applies, whichever index the walk takes */
		if (n == limit) {
			more = true;
			break;
		}
		json_t *j = rd_entity_to_json(&rd_entity_audit, a);
		/* before/after are stored as JSON text: hand them back as JSON. */
		const char *names[] = { "before", "after" };
		for (int k = 0; k < 2; k++) {
			const char *text = json_string_value(json_object_get(j, names[k]));
			json_t *v = text && *text ? json_loads(text, 0, NULL) : NULL;
			json_object_set_new(j, names[k], v ? v : json_null());
		}
		json_array_append_new(items, j);
		last = item.id;
		n++;
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	free(a);
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	char next[24];
	snprintf(next, sizeof next, "%llu", (unsigned long long)last);
	rd_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", more ? json_string(next) : json_null()));
	return 0;
}
