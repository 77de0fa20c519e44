/*
 * sales.c: the sales view of one opportunity (the rule for amending it,
 * shared with PATCH /api/v1/opportunities/{id}: core/edge/sales.c).
 *   GET  /sales/opportunities/{id}         the customer's contracts and quote as the customer sees
 *                                          them, the channel margins, notes, tasks, history
 *   POST /sales/opportunities/{id}         amend: discount_bp, state (won | lost + lost_reason), note
 *   POST /sales/opportunities/{id}/tasks   a task for the vendor's team or the reseller
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "edge/sales.h"
#include "renew/renew.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "web/web.h"

#define NOTE_MAX 1000

/* ---- the page -------------------------------------------------------------------------------- */

static const char *state_text(uint8_t s)
{
	static const char *const t[] = { "", "awaiting the partner's decision", "published by the partner",
					 "published by the vendor", "accepted by the customer", "won", "lost", "expired" };
	return s < 8 ? t[s] : "";
}

static const char *user_email(struct rd_txn *t, struct web *w, uint64_t id, struct rd_user *u)
{
	if (!id)
		return "renewd";
	if (rd_entity_get(t, w->app->domain->users, &rd_entity_user, w->c.who.vendor, id, u) == 0)
		return u->email;
	return "a former user";
}

static json_t *contracts_json(struct rd_txn *t, struct web *w, const struct rd_opportunity *o)
{
	json_t *out = json_array();
	enum rd_scope scope = rd_authz(w->c.who.role, RD_RES_CONTRACT, RD_ACT_READ);
	uint8_t key[8];
	rd_key_put_u64(key, o->customer_id);
	struct rd_iter it;
	struct rd_item item;
	static const char *const text[] = { "", "expired", "due for renewal", "active", "cancelled", "renewal ordered" };
	int rc = rd_iter_index(&it, t, w->app->domain->contracts, "customer", w->c.who.vendor, key, 8, NULL, 0);
	while (scope != RD_SCOPE_NONE && rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8))
			break;
		struct rd_contract k;
		struct rd_product pr;
		if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) < 0)
			continue;
		if (scope == RD_SCOPE_OWN && !rd_call_in_scope(&w->c, k.reseller_id) && !rd_call_in_scope(&w->c, k.distributor_id))
			continue;
		bool named = rd_entity_get(t, w->app->domain->products, &rd_entity_product, w->c.who.vendor, k.product_id, &pr) == 0;
		enum rd_colour c = rd_contract_colour(&k, rd_clock_today(), w->vendor.renewal_window_days);
		json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:o, s:s, s:s, s:b, s:b, s:b}", "external_id",
						     k.external_id, "product", named ? pr.name : "", "quantity",
						     (json_int_t)k.quantity, "end", rd_date_json(k.end), "colour", rd_colour_name(c),
						     "colour_text", text[c], "warranty_only", (k.flags & RD_FLAG_WARRANTY_ONLY) != 0,
						     "consolidated", (k.flags & RD_FLAG_CONSOLIDATED) != 0, "this",
						     k.id == o->contract_id));
	}
	rd_iter_close(&it);
	return out;
}

/* The channel's shares per line and publish mode. */
static json_t *margins_json(const struct rd_opportunity *o)
{
	json_t *out = json_array();
	static const char *const mode_text[] = { "the partner sells", "the vendor sells" };
	static const uint8_t modes[] = { RD_PUBLISH_PARTNER, RD_PUBLISH_VENDOR };
	for (uint8_t i = 0; i < o->n_lines; i++) {
		const struct rd_quote_line *l = &o->lines[i];
		for (int m = 0; m < 2; m++) {
			const struct rd_quote_margin *mg = rd_quote_margin(l, modes[m]);
			json_t *shares = json_array();
			for (uint8_t k = 0; mg && k < mg->n; k++)
				json_array_append_new(shares, json_pack("{s:s, s:o, s:o, s:s}", "party", mg->shares[k].party,
									"percent", rd_bp_json(mg->shares[k].bp), "amount",
									rd_money_json(mg->shares[k].amount, o->currency),
									"reason", mg->shares[k].reason));
			json_array_append_new(out, json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:b}", "line", l->description,
							     "mode", mode_text[m], "priced", mg != NULL, "channel",
							     rd_bp_json(mg ? mg->channel_bp : 0), "net",
							     rd_money_json(mg ? mg->net : 0, o->currency), "shares", shares,
							     "in_force", o->publish == modes[m]));
		}
	}
	return out;
}

static json_t *notes_json(struct rd_txn *t, struct web *w, const struct rd_opportunity *o)
{
	json_t *notes = json_loads(o->notes[0] ? o->notes : "[]", 0, NULL), *out = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(notes, i, n) {
		struct rd_user u;
		json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "at", json_string_value(json_object_get(n, "at")) ?: "",
						     "by", user_email(t, w, (uint64_t)json_integer_value(json_object_get(n, "user_id")), &u),
						     "text", json_string_value(json_object_get(n, "text")) ?: ""));
	}
	json_decref(notes);
	return out;
}

static json_t *tasks_json(struct rd_txn *t, struct web *w, const struct rd_opportunity *o)
{
	json_t *out = json_array();
	enum rd_scope scope = rd_authz(w->c.who.role, RD_RES_TASK, RD_ACT_READ);
	struct rd_task *task = rd_malloc(sizeof *task);
	struct rd_iter it;
	struct rd_item item;
	static const char *const kinds[] = { "", "call back", "contact the customer", "reply" };
	int rc = rd_iter_records(&it, t, w->app->domain->tasks, w->c.who.vendor, 0);
	while (scope != RD_SCOPE_NONE && rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_task, item.val, item.len, task) < 0 || task->opportunity_id != o->id ||
		    (scope == RD_SCOPE_OWN && !rd_call_in_scope(&w->c, task->partner_id)))
			continue;
		struct rd_partner p;
		const char *who = task->partner_id && rd_entity_get(t, w->app->domain->partners, &rd_entity_partner,
								    w->c.who.vendor, task->partner_id, &p) == 0
					  ? p.name
					  : w->vendor.name;
		char at[21];
		rd_time_format(task->created_at, at);
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:b, s:s}", "kind", kinds[task->kind < 4 ? task->kind : 0],
						     "message", task->message, "who", who, "done", task->done != 0, "at", at));
	}
	rd_iter_close(&it);
	free(task);
	return out;
}

static json_t *history_json(struct rd_txn *t, struct web *w, const struct rd_opportunity *o)
{
	json_t *out = json_array();
	if (rd_authz(w->c.who.role, RD_RES_AUDIT, RD_ACT_READ) == RD_SCOPE_NONE)
		return out;
	uint8_t key[32];
	size_t klen = sizeof "opportunities";
	memcpy(key, "opportunities", klen);
	rd_key_put_u64(key + klen, o->id);
	klen += 8;
	struct rd_audit *a = rd_malloc(sizeof *a);
	struct rd_iter it;
	struct rd_item item;
	static const char *const actions[] = { "", "created", "changed", "deleted", "merged", "imported", "opened", "revoked" };
	int rc = rd_iter_index(&it, t, w->app->domain->audit, "object", w->c.who.vendor, key, klen, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len < klen || memcmp(item.key, key, klen))
			break;
		if (rd_entity_decode(&rd_entity_audit, item.val, item.len, a) < 0)
			continue;
		struct rd_user u;
		char at[21];
		rd_time_format(a->at_ms / 1000, at);
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "at", at, "by", user_email(t, w, a->user_id, &u),
						     "action", actions[a->action < 8 ? a->action : 0], "note", a->note));
		if (json_array_size(out) > 100)
			json_array_remove(out, 0);
	}
	rd_iter_close(&it);
	free(a);
	return out;
}

/* The sales view, with an error from the last action (or none). */
static int sales_page(struct web *w, uint64_t id, int status, const char *error, const char *kept_discount)
{
	if (rd_authz(w->c.who.role, RD_RES_OPPORTUNITY, RD_ACT_READ) == RD_SCOPE_NONE) {
		rd_web_message(w, 403, "Not allowed", "Your role may not see opportunities.");
		return 0;
	}
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w->app->domain;
	uint64_t v = w->c.who.vendor;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	rc = id ? rd_entity_get(t, d->opportunities, &rd_entity_opportunity, v, id, o) : RD_ENOTFOUND;
	if (rc == RD_ENOTFOUND || (rc == 0 && !rd_sales_may_see(&w->c, o))) {
		rd_txn_end(t);
		free(o);
		rd_web_message(w, 404, "Not found", "There is no such opportunity.");
		return 0;
	}
	if (rc < 0) {
		rd_txn_end(t);
		free(o);
		return rc;
	}
	struct rd_customer cu = { 0 };
	struct rd_product pr = { 0 };
	struct rd_partner res = { 0 }, dist = { 0 };
	rd_entity_get(t, d->customers, &rd_entity_customer, v, o->customer_id, &cu);
	rd_entity_get(t, d->products, &rd_entity_product, v, o->product_id, &pr);
	if (o->reseller_id)
		rd_entity_get(t, d->partners, &rd_entity_partner, v, o->reseller_id, &res);
	if (o->distributor_id)
		rd_entity_get(t, d->partners, &rd_entity_partner, v, o->distributor_id, &dist);
	/* The quote as the customer sees it: the optional lines it chose. */
	struct rd_quote_sum sum = { 0 };
	json_t *lines = rd_web_quote_lines(o, NULL, &sum);
	if (!lines)
		lines = json_array(); /* the sums do not fit: the quote shows its attention reason */
	int64_t total = sum.total, before = sum.subtotal;
	uint32_t bound = rd_vendor_max_discount(&w->vendor);
	bool amend = rd_sales_may_amend(&w->c, o) && !rd_quote_closed(o->state);
	char title[80];
	snprintf(title, sizeof title, "Quote %s", o->number);
	json_t *ctx = json_pack("{s:s, s:s, s:I}", "title", title, "role", rd_role_name(w->c.who.role), "id", (json_int_t)o->id);
	json_object_set_new(ctx, "opportunity",
			    json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:s, s:s, s:s}", "number", o->number,
				      "state", state_text(o->state), "customer", cu.name, "product", pr.name, "reseller",
				      res.name, "contract_end", rd_date_json(o->contract_end), "decision_by",
				      rd_date_json(o->decision_by), "valid_until", rd_date_json(o->valid_until), "attention",
				      o->attention != 0, "attention_reason", o->attention_reason, "lost_reason",
				      o->lost_reason, "distributor", dist.name));
	json_object_set_new(ctx, "customer", rd_entity_to_json(&rd_entity_customer, &cu));
	json_object_set_new(ctx, "contracts", contracts_json(t, w, o));
	json_object_set_new(ctx, "quote",
			    json_pack("{s:o, s:o, s:o, s:o, s:b, s:o, s:o}", "lines", lines, "before", rd_money_json(before, o->currency),
				      "discount", rd_bp_json(o->discount_bp), "discount_amount",
				      rd_money_json(-(before - total), o->currency), "discounted", o->discount_bp != 0, "total",
				      rd_money_json(total, o->currency), "list_total", rd_money_json(o->list_total, o->currency)));
	json_object_set_new(ctx, "margins", margins_json(o));
	json_object_set_new(ctx, "notes", notes_json(t, w, o));
	json_object_set_new(ctx, "tasks", tasks_json(t, w, o));
	json_object_set_new(ctx, "history", history_json(t, w, o));
	json_object_set_new(ctx, "can_amend", json_boolean(amend));
	json_object_set_new(ctx, "can_task", json_boolean(rd_sales_may_amend(&w->c, o) &&
							  rd_authz(w->c.who.role, RD_RES_TASK, RD_ACT_UPDATE) != RD_SCOPE_NONE));
	json_object_set_new(ctx, "vendor_user", json_boolean(!rd_role_is_partner(w->c.who.role)));
	json_object_set_new(ctx, "discount", json_pack("{s:s, s:I, s:o}", "value", kept_discount ? kept_discount : "",
						       "bound", (json_int_t)bound, "bound_text", rd_bp_json(bound)));
	if (kept_discount == NULL) {
		char cur[32];
		rd_money_decimal(o->discount_bp, "EUR", cur, sizeof cur); /* basis points as a per cent: 12.50 */
		json_object_set_new(json_object_get(ctx, "discount"), "value", json_string(cur));
	}
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	rd_txn_end(t);
	free(o);
	rd_web_mark_lists(ctx);
	rd_web_page(w, status, "sales", rd_role_is_partner(w->c.who.role) ? w->c.who.partner : 0, ctx);
	return 0;
}

int rd_page_sales(struct rd_req *req)
{
	struct web w;
	if (rd_web_user(req, &w) < 0)
		return 0;
	return sales_page(&w, rd_parse_id(rd_req_param(req, "id")), 200, NULL, NULL);
}

/* A whole number of basis points from a form field: 0..99999, else -1. */
static long bp_field(const char *s)
{
	long v = 0;
	if (!*s || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int rd_page_sales_amend(struct rd_req *req)
{
	struct web w;
	if (rd_web_user(req, &w) < 0 || !rd_web_csrf_ok(&w))
		return 0;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	/* The page's form gives the discount in per cent as a person writes
	 * it (10, 12.5); discount_bp, whole basis points, is still taken from
	 * forms of before (a "10" there was 0.10 %). */
	const char *percent = rd_form(req, "discount"), *discount = percent ? percent : rd_form(req, "discount_bp");
	const char *state = rd_form(req, "state");
	struct rd_quote_amendment ch = { .lost_reason = rd_form(req, "lost_reason"), .note = rd_form(req, "note") };
	if (discount && *discount) {
		int64_t pbp = -1;
		long bp = percent ? (rd_money_parse_decimal(percent, "EUR", &pbp) < 0 || pbp < 0 || pbp > 10000 ? -1 : (long)pbp)
				  : bp_field(discount);
		if (bp < 0)
			return sales_page(&w, id, 400,
					  percent ? "Discount: a per cent from 0 to 100 such as 10 or 12.5 (a point before "
						    "the decimals, no % sign)."
						  : "The discount is a whole number of basis points (100 = 1 %).",
					  discount);
		ch.set_discount = true;
		ch.discount_bp = bp;
	}
	if (state && *state) {
		if (!strcmp(state, "won"))
			ch.state = RD_OPP_WON;
		else if (!strcmp(state, "lost"))
			ch.state = RD_OPP_LOST;
		else
			return sales_page(&w, id, 400, "Choose won or lost.", NULL);
	}
	if (ch.state != RD_OPP_LOST)
		ch.lost_reason = NULL; /* the form always sends the field */
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	struct rd_serr no;
	int rc = rd_sales_amend(&w.c, id, &ch, o, &no);
	free(o);
	int status = rd_serr_status(rc);
	if (rc < 0 && (status == 403 || status == 404)) {
		rd_web_message(&w, status, status == 403 ? "Not allowed" : "Not found",
			       status == 403 ? "Your role may not amend this opportunity." : "There is no such opportunity.");
		return 0;
	}
	if (rc < 0 && no.code && strcmp(no.code, "internal")) {
		char text[300];
		snprintf(text, sizeof text, "%s", no.message);
		text[0] = (char)(text[0] >= 'a' && text[0] <= 'z' ? text[0] - 'a' + 'A' : text[0]);
		return sales_page(&w, id, status, text, ch.set_discount ? discount : NULL);
	}
	if (rc < 0)
		return rc;
	char loc[64];
	snprintf(loc, sizeof loc, "/sales/opportunities/%llu", (unsigned long long)id);
	rd_web_redirect(req, loc);
	return 0;
}

/* ---- tasks ------------------------------------------------------------------------------------ */

struct task_new {
	struct web *w;
	uint64_t id;
	uint8_t kind;
	bool for_reseller;
	const char *message;
	int status;
	struct rd_task task;
};

static int task_write(struct rd_txn *t, void *arg)
{
	struct task_new *n = arg;
	struct web *w = n->w;
	struct rd_domain *d = w->app->domain;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	int rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, w->c.who.vendor, n->id, o);
	if (rc == RD_ENOTFOUND || (rc == 0 && !rd_sales_may_see(&w->c, o)))
		n->status = 404;
	else if (rc == 0 && (!rd_sales_may_amend(&w->c, o) ||
			     rd_authz(w->c.who.role, RD_RES_TASK, RD_ACT_UPDATE) == RD_SCOPE_NONE))
		n->status = 403;
	if (rc < 0 || n->status) {
		free(o);
		return rc < 0 && rc != RD_ENOTFOUND ? rc : RD_EINVAL;
	}
	struct rd_task *k = &n->task;
	k->kind = n->kind;
	k->opportunity_id = o->id;
	k->customer_id = o->customer_id;
	/* Partner users act for their own partner; the vendor's people choose. */
	k->partner_id = rd_role_is_partner(w->c.who.role) ? w->c.who.partner : n->for_reseller ? o->reseller_id : 0;
	snprintf(k->message, sizeof k->message, "%s", n->message);
	k->created_at = rd_clock_now();
	free(o);
	if ((rc = rd_entity_put(t, d->tasks, &rd_entity_task, w->c.who.vendor, k, 0)) < 0)
		return rc;
	json_t *after = rd_entity_to_json(&rd_entity_task, k);
	rc = rd_audit_write(t, d, w->c.who.vendor, w->c.who.user, RD_AUDIT_CREATE, "tasks", k->id, NULL, after,
			    "task added in the sales view");
	json_decref(after);
	return rc;
}

int rd_page_sales_task(struct rd_req *req)
{
	struct web w;
	if (rd_web_user(req, &w) < 0 || !rd_web_csrf_ok(&w))
		return 0;
	struct task_new n = { .w = &w, .id = rd_parse_id(rd_req_param(req, "id")) };
	const char *kind = rd_form(req, "kind"), *who = rd_form(req, "for");
	n.message = rd_form(req, "message");
	n.kind = !kind ? 0 : !strcmp(kind, "callback") ? RD_TASK_CALLBACK : !strcmp(kind, "contact_reseller")
		 ? RD_TASK_CONTACT_RESELLER : !strcmp(kind, "reply") ? RD_TASK_REPLY : 0;
	n.for_reseller = who && !strcmp(who, "reseller");
	if (!n.kind || rd_blank(n.message) || strlen(n.message) >= sizeof n.task.message)
		return sales_page(&w, n.id, 400, "A task needs its kind and a message: the message holds up to 2047 bytes (as many plain letters, fewer accented ones or in other scripts).", NULL);
	int rc = n.id ? rd_store_write(w.app->store, task_write, &n) : (n.status = 404, RD_EINVAL);
	if (rc == RD_EINVAL && (n.status == 403 || n.status == 404)) {
		rd_web_message(&w, n.status, n.status == 403 ? "Not allowed" : "Not found",
			       n.status == 403 ? "Your role may not add tasks to this opportunity." : "There is no such opportunity.");
		return 0;
	}
	if (rc < 0)
		return rc;
	char loc[64];
	snprintf(loc, sizeof loc, "/sales/opportunities/%llu", (unsigned long long)n.id);
	rd_web_redirect(req, loc);
	return 0;
}
