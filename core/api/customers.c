/*
 * customers.c: probable duplicate customers, and merging them.
 *
 * Two customers are probable duplicates when their normalised names match
 * (case, punctuation and legal suffixes such as Ltd or Inc ignored), when
 * they share an e-mail domain that is not a public mail service, or when
 * they share a postcode and the first word of their name.  Groups are the
 * connected sets of such pairs, each with its reasons.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "services/listing.h"
#include "domain/match.h"
#include "services/merge.h"
#include "store/store.h"
#include "util/err.h"

struct cust {
	uint64_t id;
	char name[RD_NAME_MAX];   /* normalised */
	char first[RD_NAME_MAX];  /* its first word */
	char domain[RD_NAME_MAX]; /* e-mail domain, "" when public or none */
	char postcode[16];        /* upper case, no spaces */
	size_t parent;            /* union-find */
	unsigned reasons;
};

enum { SAME_NAME = 1, SAME_DOMAIN = 2, SAME_POSTCODE = 4 };

static size_t find(struct cust *c, size_t i)
{
	while (c[i].parent != i) {
		c[i].parent = c[c[i].parent].parent;
		i = c[i].parent;
	}
	return i;
}

static void join(struct cust *c, size_t a, size_t b, unsigned reason)
{
	c[a].reasons |= reason;
	c[b].reasons |= reason;
	size_t ra = find(c, a), rb = find(c, b);
	if (ra != rb)
		c[rb].parent = ra;
}

/* Sorting by one key puts equal keys next to each other (and, when the
 * first word must match too, equal first words within equal keys: else a
 * customer with the same postcode but another name could sit between two
 * that match and part them). */
static size_t key_off;
static bool key_first;
static int by_key(const void *a, const void *b)
{
	const struct cust *const *x = a, *const *y = b;
	int r = strcmp((const char *)*x + key_off, (const char *)*y + key_off);
	if (!r && key_first)
		r = strcmp((*x)->first, (*y)->first);
	return r ? r : ((*x)->id > (*y)->id) - ((*x)->id < (*y)->id);
}

static void pair_up(struct cust *all, struct cust **order, size_t n, size_t off, unsigned reason, bool with_first)
{
	key_off = off;
	key_first = with_first;
	qsort(order, n, sizeof *order, by_key);
	for (size_t i = 1; i < n; i++) {
		const char *k = (const char *)order[i] + off;
		if (!*k || strcmp(k, (const char *)order[i - 1] + off) != 0)
			continue;
		if (with_first && strcmp(order[i]->first, order[i - 1]->first) != 0)
			continue;
		join(all, (size_t)(order[i - 1] - all), (size_t)(order[i] - all), reason);
	}
}

struct dup_walk {
	struct call *c;
	struct rd_txn *t;
	bool own;
	struct cust *all;
	size_t n, cap;
};

/* One customer of the walk: kept with its match keys when the caller sees it. */
static int dup_row(void *ctx, uint64_t id, const void *rec, size_t len)
{
	struct dup_walk *w = ctx;
	struct rd_customer cu;
	int rc = rd_entity_decode(&rd_entity_customer, rec, len, &cu);
	if (rc < 0)
		return rc;
	int sees = w->own ? rd_call_visible(w->c, w->t, RD_RES_CUSTOMER, &cu) : 1;
	if (sees <= 0)
		return sees < 0 ? sees : 1; /* < 0: the store failed, answered as such, not a shorter list */
	if (w->n == w->cap)
		w->all = rd_realloc(w->all, (w->cap *= 2) * sizeof *w->all);
	struct cust *x = &w->all[w->n];
	memset(x, 0, sizeof *x);
	x->id = cu.id;
	x->parent = w->n;
	struct rd_match_keys mk; /* the keys the deal registrations' conflict report matches on too */
	rd_match_keys(&cu, &mk);
	snprintf(x->name, sizeof x->name, "%s", mk.name);
	snprintf(x->first, sizeof x->first, "%s", mk.first);
	snprintf(x->domain, sizeof x->domain, "%s", mk.domain);
	snprintf(x->postcode, sizeof x->postcode, "%s", mk.postcode);
	w->n++;
	return 1;
}

int rd_api_duplicates(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_CUSTOMER, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	static const char *const none[] = { NULL };
	const char *bad = rd_req_query_unknown(req, none);
	if (bad) {
		rd_reply_error(req, 400, "invalid", bad, "unknown query parameter \"%s\"", bad);
		return 0;
	}
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	/* Every customer the caller sees: a partner's from its own contracts
	 * (rd_call_scope_customers), never a walk of the vendor's every one. */
	struct dup_walk dw = { .c = &c, .t = t, .own = scope == RD_SCOPE_OWN, .cap = 256 };
	dw.all = rd_malloc(dw.cap * sizeof *dw.all);
	struct rd_list_source src;
	uint64_t *set = NULL;
	size_t n_set = 0;
	if (dw.own && (rc = rd_call_scope_customers(&c, t, &set, &n_set)) == 0)
		rd_list_source_ids(&src, set, n_set);
	if (rc == 0)
		rc = rd_list_walk(t, c.app->domain->customers, c.who.vendor, UINT64_MAX, dw.own ? &src : NULL, dup_row, &dw);
	free(set);
	rd_txn_end(t);
	struct cust *all = dw.all;
	size_t n = dw.n;
	if (rc < 0) {
		free(all);
		return rc;
	}
	struct cust **order = rd_malloc((n ? n : 1) * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = &all[i];
	pair_up(all, order, n, offsetof(struct cust, name), SAME_NAME, false);
	pair_up(all, order, n, offsetof(struct cust, domain), SAME_DOMAIN, false);
	pair_up(all, order, n, offsetof(struct cust, postcode), SAME_POSTCODE, true);

	/* Collect groups of two or more, in the order of their smallest id. */
	json_t *groups = json_array();
	json_t **by_root = rd_calloc(n ? n : 1, sizeof *by_root);
	unsigned *why = rd_calloc(n ? n : 1, sizeof *why);
	for (size_t i = 0; i < n; i++) {
		size_t r = find(all, i);
		if (!by_root[r])
			by_root[r] = json_array();
		json_array_append_new(by_root[r], json_integer((json_int_t)all[i].id));
		why[r] |= all[i].reasons;
	}
	for (size_t i = 0; i < n; i++) {
		if (!by_root[i])
			continue;
		if (json_array_size(by_root[i]) < 2) {
			json_decref(by_root[i]);
			continue;
		}
		json_t *reasons = json_array();
		if (why[i] & SAME_NAME)
			json_array_append_new(reasons, json_string("same name"));
		if (why[i] & SAME_DOMAIN)
			json_array_append_new(reasons, json_string("same e-mail domain"));
		if (why[i] & SAME_POSTCODE)
			json_array_append_new(reasons, json_string("same postcode and first word of the name"));
		json_array_append_new(groups, json_pack("{s:o, s:o}", "customers", by_root[i], "reasons", reasons));
	}
	free(by_root);
	free(why);
	free(order);
	free(all);
	rd_reply_json(req, 200, json_pack("{s:o}", "groups", groups));
	return 0;
}

/* ---- merge ------------------------------------------------------------------ */

/* The rule is the service's (services/merge.c): every record naming a
 * merged customer is re-pointed in the merge's transaction. */
int rd_api_merge(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_CUSTOMER, RD_ACT_UPDATE) == RD_SCOPE_NONE ||
	    rd_call_allow(&c, RD_RES_CUSTOMER, RD_ACT_DELETE) == RD_SCOPE_NONE)
		return 0;
	uint64_t survivor = rd_parse_id(rd_req_param(req, "id")), from[RD_MERGE_MAX];
	size_t n = 0;
	json_t *body, *list;
	if (rd_req_json(req, &body) < 0)
		return 0;
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "from") != 0) {
			rd_reply_error(req, 400, "invalid", key, "unknown field \"%s\": a merge is {\"from\": [customer ids]}", key);
			json_decref(body);
			return 0;
		}
	}
	list = json_object_get(body, "from");
	size_t i;
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > RD_MERGE_MAX) {
		rd_reply_error(req, 400, "invalid", "from", "from must list 1-%d customer ids to merge into this one",
			       RD_MERGE_MAX);
		json_decref(body);
		return 0;
	}
	json_array_foreach(list, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			rd_reply_error(req, 400, "invalid", "from", "from[%zu] must be a customer id", i);
			json_decref(body);
			return 0;
		}
		from[n++] = (uint64_t)json_integer_value(v);
	}
	json_decref(body);
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user };
	struct rd_merge_result m;
	struct rd_serr e = { 0 };
	int rc = rd_customers_merge(c.app, &who, survivor, from, n, &m, &e);
	if (rc == RD_EINVAL || rc == RD_ENOTFOUND) {
		rd_reply_serr(req, &e);
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_reply_json(req, 200, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "customer_id",
					  (json_int_t)survivor, "merged", (json_int_t)m.merged, "contracts_moved",
					  (json_int_t)m.contracts, "contacts_moved", (json_int_t)m.contacts,
					  "opportunities_moved", (json_int_t)m.opportunities, "orders_moved",
					  (json_int_t)m.orders, "tasks_moved", (json_int_t)m.tasks, "documents_moved",
					  (json_int_t)m.documents, "messages_moved", (json_int_t)m.messages, "links_moved",
					  (json_int_t)m.links, "sessions_moved", (json_int_t)m.sessions));
	return 0;
}
