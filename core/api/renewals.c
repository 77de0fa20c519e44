/*
 * renewals.c: the renewal engine over HTTP.
 *   GET  /api/v1/clock, POST /api/v1/clock {"date"}   the (test) clock
 *   GET  /api/v1/schedule?days=N                      every action due, none taken
 *   GET  /api/v1/opportunities[?state=&partner=&attention=]
 *   GET  /api/v1/opportunities/{id}
 *   POST /api/v1/opportunities/{id}/decision {"publish": "partner"|"vendor"}
 *   GET  /api/v1/opportunities/{id}/quote.pdf       the quote as a PDF (core/pdf/quote.c)
 *   GET  /api/v1/outbox[?state=&kind=]
 *   GET  /api/v1/tasks, PATCH /api/v1/tasks/{id} {"done": 1, "assigned_to": USER} (core/services/tasks.c)
 *   GET  /api/v1/portal, POST /api/v1/portal/actions  (the customer's link token as the bearer)
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "edge/portal.h"
#include "edge/sales.h"
#include "pdf/quote.h"
#include "renew/renew.h"
#include "services/portal.h"
#include "services/leads.h"
#include "services/tasks.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

/* ---- clock and schedule ------------------------------------------------------------ */

static json_t *clock_json(void)
{
	char at[21], day[11];
	rd_time_format(rd_clock_now(), at);
	rd_date_format(rd_clock_today(), day);
	return json_pack("{s:s, s:s, s:b}", "now", at, "today", day, "settable", rd_clock_settable());
}

int rd_api_clock_get(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_CLOCK, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	rd_reply_json(req, 200, clock_json());
	return 0;
}

static int clock_store(struct rd_txn *t, void *arg)
{
	uint64_t at = *(uint64_t *)arg;
	return rd_txn_meta_put(t, "clock", &at, sizeof at);
}

int rd_api_clock_set(struct rd_req *req)
{
	struct call c;
	json_t *body;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_CLOCK, RD_ACT_UPDATE) == RD_SCOPE_NONE ||
	    rd_req_json(req, &body) < 0)
		return 0;
	const char *date = NULL;
	json_error_t je;
	rd_date d;
	int ok = json_unpack_ex(body, &je, JSON_STRICT, "{s:s}", "date", &date) == 0 && rd_date_parse(date, &d) == 0;
	json_decref(body);
	if (!ok) {
		rd_reply_error(req, 400, "invalid", "date", "the clock is set with {\"date\": \"YYYY-MM-DD\"}");
		return 0;
	}
	if (!rd_clock_settable()) {
		rd_reply_error(req, 409, "real_clock", NULL, "this renewd runs on the real clock (start it with --test-clock to set it)");
		return 0;
	}
	uint64_t at = (uint64_t)d * 86400 + 12 * 3600; /* midday: the day is unambiguous */
	if (at < rd_clock_now()) {
		rd_reply_error(req, 409, "clock_backwards", "date", "the clock only moves forward");
		return 0;
	}
	int rc = rd_store_write(c.app->store, clock_store, &at);
	if (rc < 0)
		return rc;
	rd_clock_set(at);
	int taken = rd_renew_sweep(c.app->renew);
	rd_leads_lapse(c.app); /* lead offers past their deadline (services/leads.c) */
	json_t *j = clock_json();
	json_object_set_new(j, "actions", json_integer(taken < 0 ? 0 : taken));
	rd_reply_json(req, 200, j);
	return 0;
}

int rd_api_schedule(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_CLOCK, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "days", NULL };
	const char *bad = rd_req_query_unknown(req, known), *ds = rd_req_query(req, "days");
	uint64_t days = ds ? rd_parse_id(ds) : 30;
	if (bad || (ds && !strcmp(ds, "0") ? false : days < 1) || days > 400) {
		rd_reply_error(req, 400, "invalid", bad ? bad : "days", "the preview takes days=1..400");
		return 0;
	}
	json_t *actions;
	int rc = rd_renew_preview(c.app->renew, c.who.vendor, (int)days, &actions);
	if (rc < 0)
		return rc;
	char from[11];
	rd_date_format(rd_clock_today(), from);
	rd_reply_json(req, 200, json_pack("{s:s, s:I, s:o}", "from", from, "days", (json_int_t)days, "actions", actions));
	return 0;
}

/* ---- opportunities ------------------------------------------------------------------- */

static bool sees_opp(struct call *c, enum rd_scope scope, const struct rd_opportunity *o)
{
	return scope == RD_SCOPE_ALL || rd_call_in_scope(c, o->reseller_id) || rd_call_in_scope(c, o->distributor_id);
}

static json_t *opp_json(const struct rd_opportunity *o)
{
	json_t *j = rd_entity_to_json(&rd_entity_opportunity, o);
	json_t *notes = json_loads(o->notes[0] ? o->notes : "[]", 0, NULL);
	json_object_set_new(j, "notes", notes ? notes : json_array());
	return j;
}

struct opp_filter {
	struct call *c;
	enum rd_scope scope;
	const char *state;
	uint64_t partner;
	const char *attention;
};

static json_t *opp_row(void *ctx, const void *obj)
{
	const struct opp_filter *f = ctx;
	const struct rd_opportunity *o = obj;
	if (!sees_opp(f->c, f->scope, o) || (f->partner && o->reseller_id != f->partner && o->distributor_id != f->partner) ||
	    (f->attention && (o->attention != 0) != !strcmp(f->attention, "true")))
		return NULL;
	return rd_page_if(opp_json(o), "state", f->state);
}

int rd_api_opportunities_list(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_OPPORTUNITY, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "limit", "cursor", "state", "partner", "attention", NULL };
	struct rd_page pg;
	if (rd_page_begin(&pg, req, known) < 0 ||
	    rd_page_enum_field(&pg, "state", &rd_entity_opportunity, "state") < 0)
		return 0;
	const char *state = rd_req_query(req, "state"), *partner = rd_req_query(req, "partner"),
		   *attention = rd_req_query(req, "attention");
	uint64_t pid = partner ? rd_parse_id(partner) : 0;
	if ((partner && !pid) || (attention && strcmp(attention, "true") && strcmp(attention, "false"))) {
		rd_reply_error(req, 400, "invalid", partner && !pid ? "partner" : "attention", "partner is an id, attention true or false");
		rd_page_finish(&pg, RD_EINVAL);
		return 0;
	}
	struct opp_filter f = { &c, scope, state, pid, attention };
	/* a partner's own: the reseller and distributor indexes (sees_opp) */
	static const char *const own[] = { "reseller", RD_IDX_PARTNER_DISTRIBUTOR };
	if (scope != RD_SCOPE_ALL)
		return rd_page_records_scoped(&pg, &c, c.app->domain->opportunities, &rd_entity_opportunity, own, 2,
					      opp_row, &f);
	return rd_page_records(&pg, &c, c.app->domain->opportunities, &rd_entity_opportunity, opp_row, &f);
}

/* The opportunity of the path's id as the caller may see it, read in *t
 * (left open) into *o (malloc'd); opp_end lets both go.  RD_ENOTFOUND
 * has answered 404: the handler returns 0. */
static int opp_begin(struct call *c, enum rd_scope scope, struct rd_txn **t, struct rd_opportunity **o)
{
	*o = NULL;
	int rc = rd_store_read(c->app->store, t);
	if (rc < 0) {
		*t = NULL;
		return rc;
	}
	*o = rd_malloc(sizeof **o);
	rc = rd_call_opportunity(c, scope, *t, rd_parse_id(rd_req_param(c->req, "id")), *o);
	if (rc == RD_ENOTFOUND)
		rd_reply_error(c->req, 404, "not_found", "id", "no such opportunity");
	return rc;
}

static void opp_end(struct rd_txn *t, struct rd_opportunity *o)
{
	if (t)
		rd_txn_end(t);
	free(o);
}

int rd_api_opportunity_get(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_OPPORTUNITY, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_txn *t;
	struct rd_opportunity *o;
	int rc = opp_begin(&c, scope, &t, &o);
	if (rc == 0)
		rd_reply_json(req, 200, opp_json(o));
	opp_end(t, o);
	return rc == RD_ENOTFOUND ? 0 : rc;
}

/* ---- the quote PDF ------------------------------------------------------------------- */

/* GET /api/v1/opportunities/{id}/quote.pdf: whoever may read the opportunity. */
int rd_api_opportunity_quote_pdf(struct rd_req *req)
{
	struct rd_txn *t;
	struct rd_opportunity *o;
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_OPPORTUNITY, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_quote_doc *q = rd_malloc(sizeof *q);
	int rc = opp_begin(&c, scope, &t, &o);
	if (rc == 0 && (rc = rd_quote_load(c.app->plugins, t, c.app->domain, &c.vendor, o, q)) == RD_ENOTFOUND)
		rd_reply_error(req, 404, "not_found", "id", "no such opportunity");
	opp_end(t, o);
	if (rc < 0) {
		free(q);
		return rc == RD_ENOTFOUND ? 0 : rc;
	}
	return rd_quote_reply(req, q);
}

int rd_api_opportunity_decide(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	json_t *body;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_OPPORTUNITY, RD_ACT_UPDATE)) == RD_SCOPE_NONE ||
	    rd_req_json(req, &body) < 0)
		return 0;
	const char *publish = NULL;
	json_error_t je;
	int ok = json_unpack_ex(body, &je, JSON_STRICT, "{s:s}", "publish", &publish) == 0 &&
		 (!strcmp(publish, "partner") || !strcmp(publish, "vendor"));
	uint8_t mode = ok && !strcmp(publish, "partner") ? RD_PUBLISH_PARTNER : RD_PUBLISH_VENDOR;
	json_decref(body);
	if (!ok) {
		rd_reply_error(req, 400, "invalid", "publish", "a decision is {\"publish\": \"partner\"} or {\"publish\": \"vendor\"}");
		return 0;
	}
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	/* Scope first: the partner of record (or its distributor) decides. */
	struct rd_txn *t;
	struct rd_opportunity *o;
	int rc = opp_begin(&c, scope, &t, &o);
	opp_end(t, o);
	if (rc < 0)
		return rc == RD_ENOTFOUND ? 0 : rc;
	char why[200] = "";
	rc = rd_renew_decide(c.app->renew, c.who.vendor, c.who.user, id, mode, why, sizeof why);
	if (rc == RD_EINVAL) {
		rd_reply_error(req, 409, "conflict", NULL, "%s", why);
		return 0;
	}
	if (rc < 0)
		return rc;
	return rd_api_opportunity_get(req);
}

/* PATCH /api/v1/opportunities/{id} {"discount_bp", "state": "won"|"lost", "lost_reason", "note"}:
 * the sales person's amendments, by the rule of the sales view (core/web/sales.c). */
int rd_api_opportunity_patch(struct rd_req *req)
{
	struct call c;
	json_t *body;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_OPPORTUNITY, RD_ACT_READ) == RD_SCOPE_NONE ||
	    rd_req_json(req, &body) < 0)
		return 0;
	json_t *discount = NULL;
	const char *state = NULL;
	struct rd_quote_amendment ch = { 0 };
	json_error_t je;
	const char *bad = NULL, *key;
	json_t *v;
	json_object_foreach(body, key, v)
		if (strcmp(key, "discount_bp") && strcmp(key, "state") && strcmp(key, "lost_reason") && strcmp(key, "note"))
			bad = key;
	if (!bad && json_unpack_ex(body, &je, JSON_STRICT, "{s?:o, s?:s, s?:s, s?:s}", "discount_bp", &discount, "state",
				   &state, "lost_reason", &ch.lost_reason, "note", &ch.note) != 0)
		bad = je.text[0] ? "state" : NULL;
	if (!bad && discount && (!json_is_integer(discount) || json_integer_value(discount) < 0 ||
				 json_integer_value(discount) > 10000))
		bad = "discount_bp";
	if (!bad && state && strcmp(state, "won") && strcmp(state, "lost"))
		bad = "state";
	if (bad) {
		rd_reply_error(req, 400, "invalid", bad,
			       "an amendment is {\"discount_bp\": 0-10000, \"state\": \"won\"|\"lost\", \"lost_reason\": text, "
			       "\"note\": text}");
		json_decref(body);
		return 0;
	}
	if (discount) {
		ch.set_discount = true;
		ch.discount_bp = json_integer_value(discount);
	}
	ch.state = !state ? 0 : !strcmp(state, "won") ? RD_OPP_WON : RD_OPP_LOST;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	struct rd_serr no;
	int rc = rd_sales_amend(&c, rd_parse_id(rd_req_param(req, "id")), &ch, o, &no);
	json_decref(body);
	if (rc == 0)
		rd_reply_json(req, 200, opp_json(o));
	else
		rd_reply_serr(req, &no);
	free(o);
	return 0;
}

/* ---- outbox and tasks ----------------------------------------------------------------- */

struct outbox_filter {
	const char *state, *kind, *to;
	struct rd_app *app;
	struct rd_page *pg;
};

/* Staff never see what opens a customer's portal: every text field of a
 * message shows its links as /c/… (the e-mail itself carries the link). */
static json_t *redacted(json_t *j)
{
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v) {
		if (!json_is_string(v) || !strstr(json_string_value(v), "/c/"))
			continue;
		char *s = rd_strdup(json_string_value(v));
		if (rd_redact_links(s))
			json_object_set_new(j, key, json_string(s));
		free(s);
	}
	return j;
}

static json_t *message_row(void *ctx, const void *obj)
{
	const struct outbox_filter *f = ctx;
	struct rd_message *m = (struct rd_message *)obj; /* rd_page_records' own copy */
	if ((f->kind && strcmp(m->kind, f->kind)) || (f->to && strcmp(m->to, f->to)))
		return NULL;
	/* A message queued as templates and parameters shows the text it is
	 * (or was) sent with. */
	char err[300];
	if (rd_message_render(f->app->renew, f->pg->t, m, err, sizeof err) < 0)
		rd_log(RD_LOG_ERROR, "api", "%s", err);
	return rd_page_if(redacted(rd_entity_to_json(&rd_entity_message, m)), "state", f->state);
}

int rd_api_outbox(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_OUTBOX, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "limit", "cursor", "state", "kind", "to", NULL };
	/* Every kind of message renewd queues (docs/openapi.yaml MessageKind). */
	static const char *const kinds[] = {
		"quote_notice", "pullback", "customer_notice", "reminder", "digest", "task", "statement",
		"payment_reminder", "order_confirmation", "order_receipt", "sales_notice", "deal_submitted",
		"deal_review", "deal_approved", "deal_rejected", "deal_extended", "deal_expired",
		"deal_extension_request", "lead_received", "lead_offer", "lead_accepted", "lead_gone",
		"lead_declined", "lead_lapsed", "lead_returned", "lead_won", "lead_lost", NULL
	};
	struct rd_page pg;
	if (rd_page_begin(&pg, req, known) < 0 || rd_page_enum_field(&pg, "state", &rd_entity_message, "state") < 0 ||
	    rd_page_enum(&pg, "kind", kinds) < 0)
		return 0;
	struct outbox_filter f = { rd_req_query(req, "state"), rd_req_query(req, "kind"), rd_req_query(req, "to"), c.app,
				   &pg };
	return rd_page_records(&pg, &c, c.app->domain->outbox, &rd_entity_message, message_row, &f);
}

struct task_filter {
	struct call *c;
	enum rd_scope scope;
};

static json_t *task_row(void *ctx, const void *obj)
{
	const struct task_filter *f = ctx;
	const struct rd_task *task = obj;
	if (f->scope == RD_SCOPE_OWN && !rd_call_in_scope(f->c, task->partner_id))
		return NULL;
	return rd_entity_to_json(&rd_entity_task, task);
}

int rd_api_tasks_list(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_TASK, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "limit", "cursor", NULL };
	struct rd_page pg;
	if (rd_page_begin(&pg, req, known) < 0)
		return 0;
	struct task_filter f = { &c, scope };
	static const char *const own[] = { RD_IDX_PARTNER }; /* task_row: its partner in the scope */
	if (scope == RD_SCOPE_OWN)
		return rd_page_records_scoped(&pg, &c, c.app->domain->tasks, &rd_entity_task, own, 1, task_row, &f);
	return rd_page_records(&pg, &c, c.app->domain->tasks, &rd_entity_task, task_row, &f);
}

/* A task's change (core/services/tasks.c holds the rules): {"done": 0|1}
 * and/or {"assigned_to": USER_ID|null}. */
int rd_api_task_patch(struct rd_req *req)
{
	struct call c;
	json_t *body;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_TASK, RD_ACT_UPDATE) == RD_SCOPE_NONE ||
	    rd_req_json(req, &body) < 0)
		return 0;
	struct rd_task_change ch = { 0 };
	json_t *done = json_object_get(body, "done"), *to = json_object_get(body, "assigned_to"),
	       *due = json_object_get(body, "due_on");
	const char *key;
	json_t *val;
	const char *bad = NULL;
	json_object_foreach(body, key, val) if (strcmp(key, "done") && strcmp(key, "assigned_to") && strcmp(key, "due_on")) bad = key;
	if (!json_is_object(body) || bad || (!done && !to && !due)) {
		json_decref(body);
		rd_reply_error(req, 400, "invalid", bad ? "done" : NULL,
			       "a task update is {\"done\": 0 or 1}, {\"assigned_to\": a user id or null} and/or "
			       "{\"due_on\": a date or null}");
		return 0;
	}
	if (due && !json_is_null(due) && (!json_is_string(due) || rd_date_parse(json_string_value(due), &ch.due) < 0)) {
		json_decref(body);
		rd_reply_error(req, 400, "invalid", "due_on", "due_on is a date (YYYY-MM-DD), or null for none");
		return 0;
	}
	ch.set_due = due != NULL;
	if (done && (!json_is_integer(done) || (json_integer_value(done) != 0 && json_integer_value(done) != 1))) {
		json_decref(body);
		rd_reply_error(req, 400, "invalid", "done", "done is 1 (closed) or 0 (open)");
		return 0;
	}
	if (to && !json_is_null(to) && (!json_is_integer(to) || json_integer_value(to) < 1)) {
		json_decref(body);
		rd_reply_error(req, 400, "invalid", "assigned_to", "assigned_to is a user id, or null for nobody");
		return 0;
	}
	ch.set_done = done != NULL;
	ch.done = done ? (uint8_t)json_integer_value(done) : 0;
	ch.set_assignee = to != NULL;
	ch.assignee = to && json_is_integer(to) ? (uint64_t)json_integer_value(to) : 0;
	json_decref(body);
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user,
				.partner = rd_role_is_partner(c.who.role) ? c.who.partner : 0 };
	struct rd_task task;
	struct rd_serr e;
	int rc = rd_task_update(c.app, &who, rd_parse_id(rd_req_param(req, "id")), &ch, &task, &e);
	if (rc == RD_ENOTFOUND || rc == RD_EINVAL || rc == RD_EEXISTS) {
		rd_reply_error(req, rd_serr_status(rc), e.code, e.field, "%s", e.message);
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_reply_json(req, 200, rd_entity_to_json(&rd_entity_task, &task));
	return 0;
}

/* ---- the customer's link ------------------------------------------------------------------- */

/* Authenticates a customer's link token (Authorization: Bearer rd_...). */
static int link_begin(struct rd_req *req, struct rd_app *app, struct rd_link *l)
{
	const char *auth = rd_req_header(req, "authorization");
	char hash[RD_TOKEN_HASH_HEX];
	uint64_t id;
	struct rd_txn *t;
	if (!auth || strncasecmp(auth, "Bearer ", 7) || !rd_token_hash(auth + 7, hash)) {
		rd_reply_error(req, 401, "unauthenticated", NULL, "this route needs the customer's link token as a bearer token");
		return RD_EINVAL;
	}
	int rc = rd_store_read(app->store, &t);
	bool suspended = false;
	if (rc == 0) {
		rc = rd_index_find(t, app->domain->links, "hash", 0, hash, strlen(hash) + 1, &id);
		if (rc == 0)
			rc = rd_entity_get(t, app->domain->links, &rd_entity_link, 0, id, l);
		struct rd_vendor *lv = rd_malloc(sizeof *lv);
		int vrc = rc == 0 ? rd_entity_get(t, app->domain->vendors, &rd_entity_vendor, 0, l->vendor_id, lv) : 0;
		suspended = vrc == 0 && rc == 0 && lv->suspended; /* by the platform operator */
		if (vrc < 0 && vrc != RD_ENOTFOUND)
			rc = vrc;
		free(lv);
		rd_txn_end(t);
	}
	/* A look-up the store failed is the store's trouble: 503 (or 500), never
	 * 401 "the link is not known", which tells the customer a good link is
	 * dead. */
	if (rc < 0 && rc != RD_ENOTFOUND) {
		if (rc == RD_EBUSY)
			rd_reply_error(req, 503, "unavailable", NULL, "the store is unavailable: try again later");
		else
			rd_reply_error(req, 500, "internal", NULL, "the link could not be checked: %s", rd_strerror(rc));
		return rc;
	}
	if (suspended) {
		rd_reply_error(req, 403, "suspended", NULL, "this vendor is suspended by the platform operator");
		return RD_EINVAL;
	}
	bool known = rc == 0 && rd_hash_equal(l->hash, hash);
	if (!known || l->revoked_at || l->expires_at <= rd_clock_now()) {
		/* A known link's refused use is audited too; never the token. */
		if (known && rd_portal_refusal_to_audit(l->id, RD_AUDIT_ACCESS))
			(void)rd_portal_audit(app, req, l->vendor_id, l->id, RD_AUDIT_ACCESS,
					      l->revoked_at ? "refused: revoked" : "refused: expired");
		rd_reply_error(req, 401, "unauthenticated", NULL, "the link is not known, has expired or was revoked");
		return RD_EINVAL;
	}
	/* Every use is audited (edge/portal.h); one that cannot be is refused. */
	if (rd_portal_audit(app, req, l->vendor_id, l->id, RD_AUDIT_ACCESS, NULL) < 0) {
		rd_reply_error(req, 503, "unavailable", NULL, "the use of the link could not be recorded: try again");
		return RD_EINVAL;
	}
	return 0;
}

int rd_api_portal(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	struct rd_link l;
	if (link_begin(req, app, &l) < 0)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_customer cu;
	struct rd_vendor v;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	json_t *j = NULL;
	if ((rc = rd_entity_get(t, app->domain->customers, &rd_entity_customer, l.vendor_id, l.customer_id, &cu)) == 0 &&
	    (rc = rd_entity_get(t, app->domain->vendors, &rd_entity_vendor, 0, l.vendor_id, &v)) == 0 &&
	    (rc = rd_entity_get(t, app->domain->opportunities, &rd_entity_opportunity, l.vendor_id, l.opportunity_id, o)) == 0 &&
	    (rc = rd_portal_quote_owned(t, app->domain, l.vendor_id, o, cu.id) ? 0 : RD_ENOTFOUND) == 0) {
		/* The customer's view (services/portal.h): the link's channel only, no
		 * margins, notes, lost reason or other internal fields. */
		json_t *contracts = json_array();
		rc = rd_portal_contracts(t, app->domain, l.vendor_id, o, cu.id, v.renewal_window_days, contracts);
		j = json_pack("{s:o, s:o, s:o}", "customer", rd_portal_customer_json(&cu), "contracts", contracts,
			      "opportunity", rd_portal_opportunity_json(o));
	}
	rd_txn_end(t);
	free(o);
	if (rc < 0) {
		json_decref(j);
		return rc == RD_ENOTFOUND ? (rd_reply_error(req, 404, "not_found", NULL, "the quote is gone"), 0) : rc;
	}
	rd_reply_json(req, 200, j);
	return 0;
}

int rd_api_portal_action(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	struct rd_link l;
	json_t *body;
	if (link_begin(req, app, &l) < 0 || rd_req_json(req, &body) < 0)
		return 0;
	const char *action = NULL, *message = "";
	json_error_t je;
	int ok = json_unpack_ex(body, &je, JSON_STRICT, "{s:s, s?:s}", "action", &action, "message", &message) == 0;
	uint8_t kind = !ok ? 0 : !strcmp(action, "callback") ? RD_TASK_CALLBACK : !strcmp(action, "contact_reseller")
		       ? RD_TASK_CONTACT_RESELLER : !strcmp(action, "reply") ? RD_TASK_REPLY : 0;
	bool long_msg = ok && strlen(message) >= 2000;
	char *msg = ok ? rd_strdup(message) : NULL;
	json_decref(body);
	if (!kind || long_msg) {
		free(msg);
		rd_reply_error(req, 400, "invalid", long_msg ? "message" : "action",
			       "an action is {\"action\": \"callback\"|\"contact_reseller\"|\"reply\", \"message\": text up to 2000 bytes}");
		return 0;
	}
	uint64_t task;
	int rc = rd_renew_customer_action(app->renew, l.vendor_id, l.customer_id, l.opportunity_id, kind, msg, &task);
	free(msg);
	if (rc < 0)
		return rc;
	rd_reply_json(req, 201, json_pack("{s:I, s:s}", "task_id", (json_int_t)task, "message",
					  "thank you: the right person will get back to you"));
	return 0;
}

/* ---- customer links -------------------------------------------------------------- */

/* GET /api/v1/opportunities/{id}/links: the customer links sent for it. */
int rd_api_links_list(struct rd_req *req)
{
	struct rd_txn *t;
	struct rd_opportunity *o;
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_OPPORTUNITY, RD_ACT_UPDATE)) == RD_SCOPE_NONE)
		return 0;
	int rc = opp_begin(&c, scope, &t, &o);
	uint64_t id = o ? o->id : 0;
	json_t *items = json_array();
	if (rc == 0) {
		struct rd_iter it;
		struct rd_item item;
		struct rd_link l;
		rc = rd_iter_records(&it, t, c.app->domain->links, 0, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_link, item.val, item.len, &l) == 0 && l.vendor_id == c.who.vendor &&
			    l.opportunity_id == id)
				json_array_append_new(items, rd_entity_to_json(&rd_entity_link, &l));
		rd_iter_close(&it);
	}
	opp_end(t, o);
	if (rc < 0) {
		json_decref(items);
		return rc == RD_ENOTFOUND ? 0 : rc;
	}
	rd_reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
	return 0;
}

struct revoke_link {
	struct call *c;
	enum rd_scope scope;
	uint64_t id;
	struct rd_link l;
};

static int revoke_link_write(struct rd_txn *t, void *arg)
{
	struct revoke_link *r = arg;
	struct rd_domain *d = r->c->app->domain;
	int rc = rd_entity_get(t, d->links, &rd_entity_link, 0, r->id, &r->l);
	if (rc == 0 && r->l.vendor_id != r->c->who.vendor)
		rc = RD_ENOTFOUND;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	if (rc == 0)
		rc = rd_call_opportunity(r->c, r->scope, t, r->l.opportunity_id, o);
	free(o);
	if (rc < 0)
		return rc; /* RD_ENOTFOUND: 404; the store failed: 503, not 404 */
	if (r->l.revoked_at)
		return 0;
	r->l.revoked_at = rd_clock_now();
	if ((rc = rd_entity_put(t, d->links, &rd_entity_link, 0, &r->l, 0)) < 0)
		return rc;
	return rd_audit_write(t, d, r->c->who.vendor, r->c->who.user, RD_AUDIT_REVOKE, "links", r->id, NULL, NULL,
			      "customer link revoked");
}

/* DELETE /api/v1/links/{id}: revokes a customer link (and the sessions it started). */
int rd_api_link_revoke(struct rd_req *req)
{
	struct call c;
	struct revoke_link r = { .c = &c };
	if (rd_call_begin(req, &c) < 0 || (r.scope = rd_call_allow(&c, RD_RES_OPPORTUNITY, RD_ACT_UPDATE)) == RD_SCOPE_NONE)
		return 0;
	r.id = rd_parse_id(rd_req_param(req, "id"));
	int rc = r.id ? rd_store_write(c.app->store, revoke_link_write, &r) : RD_ENOTFOUND;
	if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", "id", "no such link");
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_reply_raw(req, 204, "application/json", "", 0);
	return 0;
}
