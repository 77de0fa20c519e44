/*
 * leads.c: the lead distribution API (the rules are core/services/leads.c):
 *   GET  /api/v1/leads[?state=]           the leads the caller may see
 *   POST /api/v1/leads                    a new lead (source "api")
 *   GET  /api/v1/leads/{id}               the lead and why it went where it went
 *   POST /api/v1/leads/{id}/qualify       {situation, product, time_frame, company_size, region, country}
 *   POST /api/v1/leads/{id}/route         ask the vendor's routing policy
 *   POST /api/v1/leads/{id}/accept
 *   POST /api/v1/leads/{id}/decline       {reason}
 *   POST /api/v1/leads/{id}/close         {outcome: won, value} | {outcome: lost, reason}
 *   POST /api/v1/leads/dry-run            {version, last}
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "services/leads.h"
#include "store/store.h"
#include "util/err.h"

static struct rd_actor actor_of(const struct call *c)
{
	return (struct rd_actor){ .vendor = c->who.vendor, .user = c->who.user,
				  .partner = rd_role_is_partner(c->who.role) ? c->who.partner : 0 };
}

static json_t *lead_json(const struct rd_lead *l)
{
	return rd_entity_to_json(&rd_entity_lead, l);
}

/* Replies the lead (200) or the refusal. */
static int reply_lead(struct rd_req *req, int rc, const struct rd_lead *l, const struct rd_serr *e, int status)
{
	if (rc == 0)
		rd_reply_json(req, status, lead_json(l));
	else
		rd_reply_serr(req, e);
	return 0;
}

struct lead_filter {
	struct rd_actor who;
	const char *state;
};

static json_t *lead_row(void *ctx, const void *obj)
{
	const struct lead_filter *f = ctx;
	const struct rd_lead *l = obj;
	if (!rd_lead_visible(NULL, NULL, &f->who, l, NULL))
		return NULL;
	return rd_page_if(lead_json(l), "state", f->state);
}

int rd_api_leads_list(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_LEAD, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "limit", "cursor", "state", NULL };
	struct rd_page pg;
	if (rd_page_begin(&pg, req, known) < 0 || rd_page_enum_field(&pg, "state", &rd_entity_lead, "state") < 0)
		return 0;
	struct lead_filter f = { actor_of(&c), rd_req_query(req, "state") };
	return rd_page_records(&pg, &c, c.app->domain->leads, &rd_entity_lead, lead_row, &f);
}

int rd_api_leads_create(struct rd_req *req)
{
	struct call c;
	json_t *body;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_LEAD, RD_ACT_CREATE) == RD_SCOPE_NONE ||
	    rd_req_json(req, &body) < 0)
		return 0;
	struct rd_lead *in = rd_calloc(1, sizeof *in), *out = rd_malloc(sizeof *out);
	const char *bad = NULL;
	char why[256] = "";
	if (!json_is_object(body)) {
		rd_reply_error(req, 400, "invalid", NULL, "a lead is a JSON object");
	} else if (rd_entity_from_json(&rd_entity_lead, body, in, &bad, why, sizeof why) < 0) {
		rd_reply_error(req, 400, "invalid", bad, "%s", why);
	} else {
		struct rd_actor who = actor_of(&c);
		struct rd_serr e;
		reply_lead(req, rd_lead_create(c.app, &who, in, "api", out, &e), out, &e, 201);
	}
	json_decref(body);
	free(in);
	free(out);
	return 0;
}

int rd_api_lead_get(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_LEAD, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	struct rd_actor who = actor_of(&c);
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	struct rd_serr e;
	json_t *why = NULL;
	if (rd_lead_explain(c.app, &who, id, &why, &e) < 0) {
		rd_reply_serr(req, &e);
		return 0;
	}
	struct rd_txn *t;
	struct rd_lead *l = rd_malloc(sizeof *l);
	int rc = rd_store_read(c.app->store, &t);
	if (rc == 0) {
		rc = rd_entity_get(t, c.app->domain->leads, &rd_entity_lead, who.vendor, id, l);
		rd_txn_end(t);
	}
	if (rc < 0) {
		json_decref(why);
		free(l);
		return rc;
	}
	json_t *j = lead_json(l);
	json_object_set_new(j, "assignments", why);
	rd_reply_json(req, 200, j);
	free(l);
	return 0;
}

/* The body's string member (NULL when absent); false after replying 400
 * when it is there but not a string. */
static bool opt_str(struct rd_req *req, json_t *body, const char *name, const char **out)
{
	json_t *v = json_object_get(body, name);
	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		rd_reply_error(req, 400, "invalid", name, "%s is a string", name);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

/* Refuses members other than the known ones. */
static bool only(struct rd_req *req, json_t *body, const char *const *known)
{
	if (!json_is_object(body)) {
		rd_reply_error(req, 400, "invalid", NULL, "the body is a JSON object");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		bool ok = false;
		for (size_t i = 0; known[i]; i++)
			ok |= !strcmp(key, known[i]);
		if (!ok) {
			rd_reply_error(req, 400, "invalid", key, "unknown field %s", key);
			return false;
		}
	}
	return true;
}

int rd_api_lead_qualify(struct rd_req *req)
{
	struct call c;
	json_t *body;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_LEAD, RD_ACT_UPDATE) == RD_SCOPE_NONE ||
	    rd_req_json(req, &body) < 0)
		return 0;
	static const char *const known[] = { "situation", "product", "time_frame", "company_size", "region", "country", NULL };
	struct rd_lead_qual q;
	if (only(req, body, known) && opt_str(req, body, "situation", &q.situation) &&
	    opt_str(req, body, "product", &q.product) && opt_str(req, body, "time_frame", &q.time_frame) &&
	    opt_str(req, body, "company_size", &q.company_size) && opt_str(req, body, "region", &q.region) &&
	    opt_str(req, body, "country", &q.country)) {
		struct rd_actor who = actor_of(&c);
		struct rd_lead *l = rd_malloc(sizeof *l);
		struct rd_serr e;
		reply_lead(req, rd_lead_qualify(c.app, &who, rd_parse_id(rd_req_param(req, "id")), &q, l, &e), l, &e, 200);
		free(l);
	}
	json_decref(body);
	return 0;
}

/* POST with no body (or {}): route and accept. */
static int simple(struct rd_req *req, int op)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_LEAD, RD_ACT_UPDATE) == RD_SCOPE_NONE)
		return 0;
	struct rd_actor who = actor_of(&c);
	struct rd_lead *l = rd_malloc(sizeof *l);
	struct rd_serr e;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	int rc = op ? rd_lead_accept(c.app, &who, id, l, &e) : rd_lead_route(c.app, &who, id, l, &e);
	reply_lead(req, rc, l, &e, 200);
	free(l);
	return 0;
}

int rd_api_lead_route(struct rd_req *req)
{
	return simple(req, 0);
}

int rd_api_lead_accept(struct rd_req *req)
{
	return simple(req, 1);
}

int rd_api_lead_decline(struct rd_req *req)
{
	struct call c;
	json_t *body;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_LEAD, RD_ACT_UPDATE) == RD_SCOPE_NONE ||
	    rd_req_json(req, &body) < 0)
		return 0;
	static const char *const known[] = { "reason", NULL };
	const char *reason;
	if (only(req, body, known) && opt_str(req, body, "reason", &reason)) {
		struct rd_actor who = actor_of(&c);
		struct rd_lead *l = rd_malloc(sizeof *l);
		struct rd_serr e;
		reply_lead(req, rd_lead_decline(c.app, &who, rd_parse_id(rd_req_param(req, "id")), reason, l, &e), l, &e, 200);
		free(l);
	}
	json_decref(body);
	return 0;
}

int rd_api_lead_close(struct rd_req *req)
{
	struct call c;
	json_t *body;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_LEAD, RD_ACT_UPDATE) == RD_SCOPE_NONE ||
	    rd_req_json(req, &body) < 0)
		return 0;
	static const char *const known[] = { "outcome", "value", "reason", NULL };
	const char *outcome, *reason;
	json_t *value = json_object_get(body, "value");
	if (only(req, body, known) && opt_str(req, body, "outcome", &outcome) && opt_str(req, body, "reason", &reason)) {
		if (!outcome || (strcmp(outcome, "won") && strcmp(outcome, "lost"))) {
			rd_reply_error(req, 400, "invalid", "outcome", "outcome is \"won\" (with value) or \"lost\" (with reason)");
		} else if (value && (!json_is_integer(value) || json_integer_value(value) < 1)) {
			rd_reply_error(req, 400, "invalid", "value", "value is the won amount in minor units, a positive integer");
		} else {
			struct rd_actor who = actor_of(&c);
			struct rd_lead *l = rd_malloc(sizeof *l);
			struct rd_serr e;
			bool won = !strcmp(outcome, "won");
			int rc = rd_lead_close(c.app, &who, rd_parse_id(rd_req_param(req, "id")), won,
					       value ? (uint64_t)json_integer_value(value) : 0, reason, l, &e);
			reply_lead(req, rc, l, &e, 200);
			free(l);
		}
	}
	json_decref(body);
	return 0;
}

int rd_api_leads_dry_run(struct rd_req *req)
{
	struct call c;
	json_t *body;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_LEAD, RD_ACT_UPDATE)) == RD_SCOPE_NONE)
		return 0;
	/* Refused before the body is read: a partner learns nothing from it. */
	if (scope != RD_SCOPE_ALL) {
		rd_reply_error(req, 403, "forbidden", NULL, "the vendor's people run routing dry runs");
		return 0;
	}
	if (rd_req_json(req, &body) < 0)
		return 0;
	static const char *const known[] = { "version", "last", NULL };
	json_t *version = json_object_get(body, "version"), *last = json_object_get(body, "last");
	if (only(req, body, known)) {
		if (!json_is_integer(version) || json_integer_value(version) < 1 || json_integer_value(version) > UINT32_MAX) {
			rd_reply_error(req, 400, "invalid", "version", "version is the routing policy version to try (1, 2, ...)");
		} else if (last && (!json_is_integer(last) || json_integer_value(last) < 1 || json_integer_value(last) > 200)) {
			rd_reply_error(req, 400, "invalid", "last", "last is how many of the latest routed leads: 1..200");
		} else {
			struct rd_actor who = actor_of(&c);
			struct rd_serr e;
			json_t *report;
			if (rd_lead_dry_run(c.app, &who, (uint32_t)json_integer_value(version),
					    last ? (uint32_t)json_integer_value(last) : 20, &report, &e) == 0)
				rd_reply_json(req, 200, report);
			else
				rd_reply_serr(req, &e);
		}
	}
	json_decref(body);
	return 0;
}
