/*
 * orders.c: placing an order from an accepted quote, exactly once, and the
 * reconciliation at start of the orders left in created (orders.h).
 * Fulfilment is fulfil.c; the API's handlers are core/api/orders.c, the
 * portal's page core/web/pages.c.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "domain/audit.h"
#include "plugin/host.h"
#include "domain/events.h"
#include "services/orders.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

bool rd_order_text_ok(const char *s, size_t cap)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	json_t *j = json_string(s); /* NULL when s is not valid UTF-8 */
	json_decref(j);
	return j != NULL;
}

static void key_of(const char *s, size_t *len)
{
	*len = strlen(s) + 1; /* string index keys carry their NUL */
}

/* ---- the frozen lines ---------------------------------------------------------------- */

int rd_order_freeze(struct rd_txn *t, struct rd_domain *d, uint64_t v, const struct rd_opportunity *o,
		    struct rd_order *n, char *sku, size_t cap)
{
	int rc = rd_quote_select(o->lines, o->n_lines, n->lines, &n->n_lines);
	if (rc < 0)
		return rc;
	n->discount_bp = o->discount_bp;
	int missing = 0;
	for (uint8_t i = 0; i < n->n_lines; i++) {
		struct rd_quote_line *l = &n->lines[i];
		l->contract_id = 0;
		l->product_id = 0;
		if (l->kind == RD_LINE_RENEWAL) { /* the contract's own product */
			l->product_id = o->product_id;
			continue;
		}
		size_t klen;
		key_of(l->sku, &klen);
		rc = rd_index_find(t, d->products, "ext", v, l->sku, klen, &l->product_id);
		if (rc == RD_ENOTFOUND && !missing++) /* every line resolved that can be: the first missing named */
			snprintf(sku, cap, "%s", l->sku);
		else if (rc < 0 && rc != RD_ENOTFOUND)
			return rc;
	}
	return missing ? RD_ENOTFOUND : 0;
}

int rd_order_live(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t opportunity, struct rd_order *out)
{
	uint8_t okey[8];
	uint64_t id;
	rd_key_put_u64(okey, opportunity);
	int rc = rd_index_find(t, d->orders, "live", v, okey, 8, &id);
	return rc < 0 ? rc : rd_entity_get(t, d->orders, &rd_entity_order, v, id, out);
}

/* ---- placing an order ---------------------------------------------------------------- */

struct placing {
	struct rd_app *app;
	struct rd_actor who;
	struct rd_order_ask ask;
	struct rd_order_answer ans;
	char fingerprint[256];
	bool call;                /* the order is in created: authorise it */
	struct rd_quote_sum sum;  /* the frozen lines' total, once checked */
	uint32_t discount_bp;     /* the lines the order freezes (rd_order_freeze) */
	uint8_t n_lines;
	struct rd_quote_line lines[RD_QUOTE_MAX_LINES];
	char config[16384];       /* the enablement's configuration, for the call */
	rd_order_done_fn done;
	void *arg;
	struct placing *next;     /* waiters of one flight */
};

/* Orders whose authorise call is in flight (loop thread only): a second
 * request for the same order waits for the first call instead of making
 * another. */
struct flight {
	uint64_t vendor, order;
	struct placing *waiters;
	struct flight *next;
};
static struct flight *flights;

static void refuse(struct placing *p, int rc, const char *code, const char *field, const char *why)
{
	rd_serr_set(&p->ans.err, rc, code, field, "%s", why);
}

static void fingerprint(const struct rd_order_ask *a, char out[256])
{
	json_t *j = json_pack("{s:I, s:s, s:s}", "opportunity_id", (json_int_t)a->opportunity_id, "option", a->option,
			      "po_number", a->po_number);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	snprintf(out, 256, "%s", text ? text : "");
	free(text);
	json_decref(j);
}

static int terms_days(const char *config)
{
	json_t *j = json_loads(config, 0, NULL);
	json_int_t days = json_integer_value(json_object_get(j, "terms_days"));
	json_decref(j);
	return days >= 1 && days <= 120 ? (int)days : 30; /* the plugin's default terms */
}

int rd_order_audit(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t user, uint8_t action,
		   const struct rd_order *before, const struct rd_order *after, const char *note)
{
	json_t *b = before ? rd_entity_to_json(&rd_entity_order, before) : NULL;
	json_t *a = rd_entity_to_json(&rd_entity_order, after);
	int rc = rd_audit_write(t, d, v, user, action, "orders", after->id, b, a, note);
	json_decref(b);
	json_decref(a);
	return rc;
}

/* An existing order answers a replay: the same request, the same order. */
static int found(struct placing *p, struct rd_txn *t, uint64_t id, bool by_key)
{
	struct rd_domain *d = p->app->domain;
	int rc = rd_entity_get(t, d->orders, &rd_entity_order, p->who.vendor, id, &p->ans.order);
	if (rc < 0)
		return rc;
	if (by_key && strcmp(p->ans.order.fingerprint, p->fingerprint)) {
		refuse(p, RD_EEXISTS, "idempotency_conflict", "Idempotency-Key",
		       "this idempotency key was used for a different order request");
		return 0;
	}
	p->ans.created = false;
	if (p->ans.order.state == RD_ORDER_CREATED) { /* never authorised: reconcile now */
		struct rd_enablement *e = rd_malloc(sizeof *e);
		rc = rd_enablement_find(t, d, p->who.vendor, p->ans.order.payment_plugin, p->ans.order.reseller_id, e);
		if (rc == 0) {
			snprintf(p->config, sizeof p->config, "%s", e->config);
			p->call = true;
		} else if (rc == RD_ENOTFOUND) {
			rc = 0; /* disabled since: it stays created for a person to cancel */
		}
		free(e);
	}
	return rc;
}

static bool open_for_order(const struct placing *p, const struct rd_opportunity *o)
{
	if (o->state == RD_OPP_ACCEPTED)
		return true;
	/* The API may order a published quote as it stands (its partner sells it). */
	return !p->who.portal && (o->state == RD_OPP_PUBLISHED_VENDOR || o->state == RD_OPP_PUBLISHED_PARTNER);
}

static int create_order(struct placing *p, struct rd_txn *t, struct rd_opportunity *o, const char *plugin)
{
	struct rd_domain *d = p->app->domain;
	uint64_t v = p->who.vendor;
	struct rd_order *n = &p->ans.order;
	memset(n, 0, sizeof *n);
	int rc = rd_txn_next_id(t, d->orders, v, &n->id);
	if (rc < 0)
		return rc;
	int y, m, dd;
	rd_date today = rd_clock_today();
	rd_date_to_ymd(today, &y, &m, &dd);
	snprintf(n->number, sizeof n->number, "O-%04d-%06llu", y, (unsigned long long)n->id);
	n->opportunity_id = o->id;
	n->contract_id = o->contract_id;
	n->customer_id = o->customer_id;
	n->reseller_id = o->reseller_id;
	n->distributor_id = o->distributor_id;
	n->publish = o->publish;
	snprintf(n->payment_plugin, sizeof n->payment_plugin, "%s", plugin);
	snprintf(n->payment_option, sizeof n->payment_option, "%s", p->ask.option);
	snprintf(n->po_number, sizeof n->po_number, "%s", p->ask.po_number);
	memcpy(n->currency, o->currency, sizeof n->currency);
	n->discount_bp = p->discount_bp;
	n->n_lines = p->n_lines;
	memcpy(n->lines, p->lines, p->n_lines * sizeof *p->lines);
	n->total = p->sum.total;
	n->state = RD_ORDER_CREATED;
	if (!strcmp(p->ask.option, "bill_me_later"))
		n->due_date = today + terms_days(p->config);
	snprintf(n->idempotency_key, sizeof n->idempotency_key, "%.127s", p->ask.key); /* the callers check its length */
	snprintf(n->fingerprint, sizeof n->fingerprint, "%s", p->fingerprint);
	n->created_at = rd_clock_now();
	n->user_id = p->who.user;
	if ((rc = rd_checkout_created(t, d, v, p->who.user, n, p->ask.billing_given ? &p->ask.billing : NULL,
				      p->ask.update_customer)) < 0)
		return rc;
	if ((rc = rd_entity_put(t, d->orders, &rd_entity_order, v, n, RD_PUT_NEW)) < 0 ||
	    (rc = rd_order_audit(t, d, v, p->who.user, RD_AUDIT_CREATE, NULL, n, p->who.portal ? "ordered in the portal" : "ordered")) < 0 ||
	    (rc = rd_event_order(t, d, v, "order.placed", n)) < 0)
		return rc;
	if (o->state != RD_OPP_ACCEPTED) { /* the API's order accepts the quote as it stands */
		json_t *before = rd_entity_to_json(&rd_entity_opportunity, o);
		o->state = RD_OPP_ACCEPTED;
		json_t *after = rd_entity_to_json(&rd_entity_opportunity, o);
		if ((rc = rd_entity_put(t, d->opportunities, &rd_entity_opportunity, v, o, 0)) == 0)
			rc = rd_audit_write(t, d, v, p->who.user, RD_AUDIT_UPDATE, "opportunities", o->id, before, after,
					    "accepted by an order");
		json_decref(before);
		json_decref(after);
		if (rc < 0)
			return rc;
	}
	p->ans.created = true;
	p->call = true;
	return 0;
}

/* Step 1: the order of the key, else the live order of the opportunity,
 * else a new one.  Refusals write nothing. */
static int place_write(struct rd_txn *t, void *arg)
{
	struct placing *p = arg;
	struct rd_domain *d = p->app->domain;
	uint64_t v = p->who.vendor, id;
	size_t klen;
	p->call = false;
	p->ans.created = false;
	p->ans.err.rc = 0;
	key_of(p->ask.key, &klen);
	int rc = rd_index_find(t, d->orders, "idem", v, p->ask.key, klen, &id);
	if (rc != RD_ENOTFOUND)
		return rc < 0 ? rc : found(p, t, id, true);
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, v, p->ask.opportunity_id, o);
	if (rc == RD_ENOTFOUND || (rc == 0 && p->who.customer && o->customer_id != p->who.customer)) {
		refuse(p, RD_EINVAL, "invalid", "opportunity_id", "there is no such opportunity");
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	uint8_t okey[8];
	rd_key_put_u64(okey, o->id);
	rc = rd_index_find(t, d->orders, "live", v, okey, 8, &id);
	if (rc != RD_ENOTFOUND) { /* one live order per opportunity: a second attempt gets it */
		rc = rc < 0 ? rc : found(p, t, id, false);
		goto out;
	}
	if (!open_for_order(p, o)) {
		refuse(p, RD_EEXISTS, "conflict", "opportunity_id",
		       p->who.portal ? "accept the quote first" : "the quote is not published or accepted");
		rc = 0;
		goto out;
	}
	/* The order freezes the quote's chosen lines and charges their total
	 * (domain/quote.h): a quote with no priced line, or whose lines do not
	 * add up within an amount, waits for a person and is never ordered at 0
	 * or at a wrapped total. */
	char sku[64] = "";
	struct rd_order *fz = rd_malloc(sizeof *fz);
	int frc = o->n_lines && !o->lines[0].optional ? rd_order_freeze(t, d, v, o, fz, sku, sizeof sku) : RD_ERANGE;
	if (frc == 0) {
		p->discount_bp = fz->discount_bp;
		p->n_lines = fz->n_lines;
		memcpy(p->lines, fz->lines, fz->n_lines * sizeof *fz->lines);
	}
	free(fz);
	if (frc == RD_EINVAL) {
		refuse(p, RD_EEXISTS, "conflict", "opportunity_id",
		       "the quote has more than one upgrade chosen: an upgrade replaces the renewal, so choose one");
		rc = 0;
		goto out;
	}
	if (frc == RD_ENOTFOUND) {
		rd_serr_set(&p->ans.err, RD_EEXISTS, "conflict", "opportunity_id",
			    "the quote needs attention before it can be ordered: its product %s is no longer in the catalogue", sku);
		rc = 0;
		goto out;
	}
	if (frc < 0 && frc != RD_ERANGE) {
		rc = frc;
		goto out;
	}
	/* frc RD_ERANGE: no line, or the first (the renewal line, when priced) is optional */
	if (frc < 0 || rd_quote_total(p->lines, p->n_lines, p->discount_bp, &p->sum) < 0) {
		refuse(p, RD_EEXISTS, "conflict", "opportunity_id",
		       "the quote needs attention before it can be ordered: it has no price renewd can charge");
		rc = 0;
		goto out;
	}
	char plugin[64];
	if (!rd_plugins_offering(p->app->plugins, p->ask.option, plugin)) {
		refuse(p, RD_EINVAL, "invalid", "payment_option", "no payment plugin offers this option");
		rc = 0;
		goto out;
	}
	struct rd_enablement *e = rd_malloc(sizeof *e);
	rc = rd_enablement_find(t, d, v, plugin, o->reseller_id, e);
	if (rc == 0)
		snprintf(p->config, sizeof p->config, "%s", e->config);
	free(e);
	if (rc == RD_ENOTFOUND) {
		refuse(p, RD_EEXISTS, "not_enabled", "payment_option", "this payment option is not enabled for this partner");
		rc = 0;
		goto out;
	}
	if (rc == 0 && !strcmp(p->ask.option, "purchase_order") && !p->ask.po_number[0]) {
		refuse(p, RD_EINVAL, "invalid", "po_number", "a purchase order needs its number");
		goto out;
	}
	/* A card order pays with a token, or on the gateway's page when the
	 * caller has one to send the customer to (the portal): with neither
	 * (the API without card_token) nothing could pay it. */
	if (rc == 0 && !strcmp(p->ask.option, "card") && !p->ask.card_token[0] && !p->ask.return_url[0]) {
		refuse(p, RD_EINVAL, "invalid", "card_token",
		       "a card order needs card_token, the card gateway's token for the card (the API has no payment page)");
		goto out;
	}
	if (rc == 0 && p->ask.billing_given && rd_checkout_billing_check(&p->ask.billing, &p->ans.err) < 0)
		goto out; /* refused, naming the field (checkout.c) */
	if (rc == 0)
		rc = create_order(p, t, o, plugin);
out:
	free(o);
	return rc;
}

/* Step 2, on the thread pool: the plugin's authorise.  Shared by the pool
 * and the loop (the host may time the call out while it runs): freed by
 * whichever lets go last. */
struct auth_call {
	atomic_int refs;
	struct rd_app *app;
	uint64_t vendor, order;
	char number[24], key[64], option[32], currency[4];
	int64_t amount;
	char customer[1024], method[1024];
	struct rd_payment_result res;
};

static void auth_unref(struct auth_call *a)
{
	if (atomic_fetch_sub(&a->refs, 1) == 1)
		free(a);
}

static int auth_run(rd_plugin_ctx *ctx, const struct rd_plugin *desc, void *arg)
{
	struct auth_call *a = arg;
	const struct rd_payment_ops *ops = desc->ops;
	int rc = RD_EINTERNAL;
	if (desc->kind == RD_PLUGIN_PAYMENT && ops && ops->authorise) {
		struct rd_payment_request req = { .order_ref = a->number, .idempotency_key = a->key, .amount = a->amount,
						  .option = a->option, .customer_json = a->customer, .method_json = a->method };
		memcpy(req.currency, a->currency, sizeof req.currency);
		rc = ops->authorise(ctx, &req, &a->res);
		a->res.reference[sizeof a->res.reference - 1] = 0;
		a->res.message[sizeof a->res.message - 1] = 0;
		a->res.redirect_url[sizeof a->res.redirect_url - 1] = 0;
	}
	auth_unref(a);
	return rc;
}

struct authorised {
	struct rd_app *app;
	struct auth_call *call;
	int rc;
	struct rd_order order;
};

/* Step 3: the plugin's answer, once: an order no longer in created was
 * settled by an earlier answer and stays as it is. */
static int authorised_write(struct rd_txn *t, void *arg)
{
	struct authorised *w = arg;
	struct rd_domain *d = w->app->domain;
	uint64_t v = w->call->vendor;
	int rc = rd_entity_get(t, d->orders, &rd_entity_order, v, w->call->order, &w->order);
	if (rc == 0 && w->rc >= 0 && w->order.state == RD_ORDER_CANCELLED && w->call->res.state == RD_PAY_CAPTURED)
		rd_log(RD_LOG_ERROR, "orders", "order %s was cancelled, but the payment plugin reports payment %s taken: "
		       "refund it or place the order by hand", w->order.number, w->call->res.reference);
	if (rc < 0 || w->rc < 0 || w->order.state != RD_ORDER_CREATED)
		return rc;
	struct rd_order before = w->order;
	const struct rd_payment_result *r = &w->call->res;
	switch (r->state) {
	case RD_PAY_PENDING:
	case RD_PAY_AUTHORISED: w->order.state = RD_ORDER_AWAITING_PAYMENT; break;
	case RD_PAY_CAPTURED:
		w->order.state = RD_ORDER_PAID;
		w->order.paid_at = rd_clock_now();
		w->order.paid_amount = w->order.total;
		snprintf(w->order.paid_reference, sizeof w->order.paid_reference, "%s", r->reference);
		break;
	default: w->order.state = RD_ORDER_FAILED; break;
	}
	snprintf(w->order.payment_ref, sizeof w->order.payment_ref, "%s", r->reference);
	snprintf(w->order.payment_message, sizeof w->order.payment_message, "%s", r->message);
	if (!rd_order_text_ok(w->order.payment_ref, sizeof w->order.payment_ref))
		w->order.payment_ref[0] = 0; /* a plugin's bytes are not trusted to be text */
	if (!rd_order_text_ok(w->order.payment_message, sizeof w->order.payment_message))
		w->order.payment_message[0] = 0;
	/* a hosted card payment: the gateway's page, an http(s) URL on one line */
	const char *url = w->call->res.redirect_url;
	if (w->order.state == RD_ORDER_AWAITING_PAYMENT && (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7)) &&
	    rd_order_text_ok(url, sizeof w->order.checkout_url) && !strpbrk(url, " \"<>'"))
		snprintf(w->order.checkout_url, sizeof w->order.checkout_url, "%s", url);
	if ((rc = rd_checkout_placed(t, d, v, &w->order)) < 0)
		return rc;
	if ((rc = rd_entity_put(t, d->orders, &rd_entity_order, v, &w->order, 0)) < 0 ||
	    (rc = rd_order_audit(t, d, v, 0, RD_AUDIT_UPDATE, &before, &w->order, "payment plugin answered")) < 0)
		return rc;
	return w->order.state == RD_ORDER_PAID ? rd_order_fulfil(t, d, v, 0, &w->order) : 0;
}

static struct flight **flight_find(uint64_t vendor, uint64_t order)
{
	struct flight **f = &flights;
	while (*f && ((*f)->vendor != vendor || (*f)->order != order))
		f = &(*f)->next;
	return f;
}

static void answer(struct placing *p)
{
	p->done(&p->ans, p->arg);
	free(p);
}

static void auth_done(int rc, const char *message, void *arg)
{
	struct auth_call *a = arg;
	struct authorised *w = rd_calloc(1, sizeof *w);
	w->app = a->app;
	w->call = a;
	w->rc = rc;
	if (a->app->config && a->app->config->test_clock && a->app->config->test_crash_after_authorise && rc == 0 &&
	    a->res.state == RD_PAY_CAPTURED) { /* tests only: the crash between the charge and the commit */
		rd_log(RD_LOG_WARN, "orders", "order %s: test_crash_after_authorise: killed before the commit", a->number);
		raise(SIGKILL);
	}
	int wrc = rd_store_write_wait(a->app->store, authorised_write, w); /* charged: not to be lost */
	struct flight **fp = flight_find(a->vendor, a->order), *f = *fp;
	*fp = f->next;
	struct placing *p = f->waiters;
	free(f);
	while (p) {
		struct placing *next = p->next;
		if (wrc < 0)
			refuse(p, RD_EINTERNAL, "internal", NULL, rd_strerror(wrc));
		else if (rc == -ETIMEDOUT)
			refuse(p, -ETIMEDOUT, "plugin_timeout", "payment_option", "the payment option did not answer in time; try again");
		else if (rc < 0)
			refuse(p, -EIO, "plugin_failed", "payment_option", message && *message ? message : rd_strerror(rc));
		else
			p->ans.order = w->order;
		answer(p);
		p = next;
	}
	if (wrc < 0)
		rd_log(RD_LOG_ERROR, "orders", "order %llu: the payment answer could not be stored: %s",
		       (unsigned long long)a->order, rd_strerror(wrc));
	free(w);
	auth_unref(a);
}

static void customer_json(struct rd_app *app, uint64_t v, uint64_t id, char *out, size_t cap)
{
	struct rd_txn *t;
	struct rd_customer cu = { 0 };
	if (rd_store_read(app->store, &t) == 0) {
		rd_entity_get(t, app->domain->customers, &rd_entity_customer, v, id, &cu);
		rd_txn_end(t);
	}
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", cu.name, "email", cu.email, "city", cu.city,
			      "postcode", cu.postcode, "country", cu.country);
	char *text = json_dumps(j, JSON_COMPACT);
	snprintf(out, cap, "%s", text && strlen(text) < cap ? text : "{}");
	free(text);
	json_decref(j);
}

/* Joins the flight of this order, or starts it. */
static void authorise(struct placing *p)
{
	const struct rd_order *o = &p->ans.order;
	struct flight **fp = flight_find(p->who.vendor, o->id);
	if (*fp) {
		p->next = (*fp)->waiters;
		(*fp)->waiters = p;
		return;
	}
	struct rd_loaded *l = rd_plugins_find(p->app->plugins, o->payment_plugin);
	if (!l) {
		refuse(p, RD_EEXISTS, "not_enabled", "payment_option", "the payment plugin is not loaded");
		answer(p);
		return;
	}
	struct auth_call *a = rd_calloc(1, sizeof *a);
	atomic_init(&a->refs, 2);
	a->app = p->app;
	a->vendor = p->who.vendor;
	a->order = o->id;
	snprintf(a->number, sizeof a->number, "%s", o->number);
	snprintf(a->key, sizeof a->key, "order:%s", o->number);
	snprintf(a->option, sizeof a->option, "%s", o->payment_option);
	memcpy(a->currency, o->currency, sizeof a->currency);
	a->amount = o->total;
	customer_json(p->app, p->who.vendor, o->customer_id, a->customer, sizeof a->customer);
	/* The card token comes with the request and is never stored: a
	 * reconciliation (no token) makes the card plugin ask its gateway
	 * under the key instead. */
	json_t *m = json_pack("{s:s}", "po_number", o->po_number);
	if (p->ask.card_token[0])
		json_object_set_new(m, "token", json_string(p->ask.card_token));
	else if (p->ask.return_url[0]) /* the host takes a redirect_url back (a hosted payment page) */
		json_object_set_new(m, "return_url", json_string(p->ask.return_url));
	char *text = json_dumps(m, JSON_COMPACT);
	snprintf(a->method, sizeof a->method, "%s", text ? text : "{}");
	free(text);
	json_decref(m);
	struct flight *f = rd_calloc(1, sizeof *f);
	f->vendor = p->who.vendor;
	f->order = o->id;
	f->waiters = p;
	f->next = flights;
	flights = f;
	int rc = rd_plugins_call(p->app->plugins, l, p->who.vendor, o->reseller_id, p->config, RD_ORDER_PLUGIN_TIMEOUT_MS,
				 auth_run, auth_done, a);
	if (rc < 0) { /* not started: the order stays created; a retry authorises it */
		flights = f->next;
		free(f);
		free(a);
		refuse(p, RD_EBUSY, "plugin_busy", "payment_option", "the payment option is busy; try again");
		answer(p);
	}
}

int rd_order_place(struct rd_app *app, const struct rd_actor *who, const struct rd_order_ask *ask, rd_order_done_fn done,
		   void *arg)
{
	struct placing *p = rd_calloc(1, sizeof *p);
	p->app = app;
	p->who = *who;
	p->ask = *ask;
	p->done = done;
	p->arg = arg;
	fingerprint(ask, p->fingerprint);
	int rc = rd_store_write(app->store, place_write, p);
	if (rc < 0) {
		free(p);
		return rc;
	}
	if (p->call && p->ans.err.rc == 0)
		authorise(p);
	else
		answer(p);
	return 0;
}

/* ---- reconciliation ------------------------------------------------------------------------ */

static void reconciled(const struct rd_order_answer *a, void *arg)
{
	(void)arg;
	if (a->err.rc < 0)
		rd_log(RD_LOG_WARN, "orders", "reconciling an order: %s %s", a->err.code, a->err.message);
	else if (a->order.state != RD_ORDER_CREATED)
		rd_log(RD_LOG_INFO, "orders", "order %s reconciled (%s)", a->order.number, a->order.payment_message);
}

/* The orders left in created, read in one transaction and authorised
 * again after it (rd_order_place writes). */
void rd_orders_reconcile(struct rd_app *app)
{
	struct rd_txn *t;
	if (rd_store_read(app->store, &t) < 0)
		return;
	size_t n = 0, cap = 0;
	struct rd_order_ask *asks = NULL;
	uint64_t *vendors = NULL;
	struct rd_order *o = rd_malloc(sizeof *o);
	struct rd_iter vit, it;
	struct rd_item vitem, item;
	int rc = rd_iter_records(&vit, t, app->domain->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&vit, &vitem)) > 0) {
		int orc = rd_iter_records(&it, t, app->domain->orders, vitem.id, 0);
		while (orc >= 0 && (orc = rd_iter_next(&it, &item)) > 0) {
			if (rd_entity_decode(&rd_entity_order, item.val, item.len, o) < 0 || o->state != RD_ORDER_CREATED)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				asks = rd_realloc(asks, cap * sizeof *asks);
				vendors = rd_realloc(vendors, cap * sizeof *vendors);
			}
			struct rd_order_ask *a = &asks[n++];
			memset(a, 0, sizeof *a); /* renewd itself, not the portal: the fingerprint is the order's own */
			vendors[n - 1] = vitem.id;
			a->opportunity_id = o->opportunity_id;
			snprintf(a->option, sizeof a->option, "%s", o->payment_option);
			snprintf(a->po_number, sizeof a->po_number, "%s", o->po_number);
			snprintf(a->key, sizeof a->key, "%s", o->idempotency_key);
		}
		rd_iter_close(&it);
	}
	rd_iter_close(&vit);
	rd_txn_end(t);
	free(o);
	for (size_t i = 0; i < n; i++) {
		rd_log(RD_LOG_INFO, "orders", "reconciling an order left unconfirmed (key %s)", asks[i].key);
		struct rd_actor who = { .vendor = vendors[i] };
		rd_order_place(app, &who, &asks[i], reconciled, NULL);
	}
	free(asks);
	free(vendors);
}
