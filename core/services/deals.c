/*
 * deals.c: deal registration (deals.h): the rules, the conflict report,
 * the expiry step and the e-mails of each transition.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "domain/audit.h"
#include "domain/events.h"
#include "domain/match.h"
#include "domain/money.h"
#include "plugin/host.h"
#include "services/checkout.h"
#include "services/deals.h"
#include "services/documents.h"
#include "store/store.h"
#include "template/mustache.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

static const char *const state_names[] = { "", "submitted", "approved", "rejected", "won", "lost", "expired" };

static uint32_t or_default(uint32_t v, uint32_t d) { return v ? v : d; }

/* ---- e-mail ------------------------------------------------------------------------------ */

/* Escapes s for HTML into out. */
static void html_escape(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		const char *r = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" : *s == '"' ? "&quot;" : NULL;
		if (r) {
			size_t k = strlen(r);
			memcpy(out + n, r, k);
			n += k;
		} else {
			out[n++] = *s;
		}
	}
	out[n] = 0;
}

/* The plain form of a message, when the branding pack cannot render it:
 * the text, and the same text as HTML paragraphs (one per line). */
static void plain(struct rd_message *m, const struct rd_vendor *vendor, const char *text)
{
	snprintf(m->text, sizeof m->text, "%s\n\n%s\n", text, vendor->name);
	size_t n = (size_t)snprintf(m->html, sizeof m->html, "<!doctype html><html><body>\n");
	const char *p = text;
	char line[1024], esc[4096];
	while (*p && n < sizeof m->html) {
		size_t k = strcspn(p, "\n");
		snprintf(line, sizeof line, "%.*s", (int)k, p);
		html_escape(line, esc, sizeof esc);
		n += (size_t)snprintf(m->html + n, sizeof m->html - n, "<p>%s</p>\n", esc);
		p += k + (p[k] == '\n');
	}
	html_escape(vendor->name, esc, sizeof esc);
	if (n < sizeof m->html)
		snprintf(m->html + n, sizeof m->html - n, "<p>%s</p>\n</body></html>\n", esc);
}

/* Renders the branding pack's email/deal.EXT (the partner's pack and brand
 * for a message to the partner, the vendor's for the channel managers) into
 * out; false when the pack has no such template or it fails. */
static bool branded(struct rd_app *app, struct rd_txn *t, uint64_t v, uint64_t partner, const char *ext, json_t *ctx,
		    char *out, size_t cap)
{
	char name[32], err[200];
	snprintf(name, sizeof name, "email/deal.%s", ext);
	const char *tmpl;
	size_t len, n;
	char *text = NULL;
	if (!app->plugins || rd_plugins_asset(app->plugins, t, app->domain, v, partner, name, &tmpl, &len) < 0)
		return false;
	if (rd_mustache_render(tmpl, len, ctx, NULL, NULL, &text, &n, err, sizeof err) < 0) {
		rd_log(RD_LOG_ERROR, "deals", "template %s: %s", name, err);
		return false;
	}
	snprintf(out, cap, "%s", text);
	free(text);
	return true;
}

/* Queues one message in the caller's transaction, branded like the renewal
 * mails: the pack's email/deal.txt and .html with {subject, lines, vendor,
 * brand}; partner: the partner whose brand it carries (0: the vendor's). */
static int mail(struct rd_app *app, struct rd_txn *t, uint64_t v, const struct rd_vendor *vendor, const char *to,
		const char *kind, const char *ref, uint64_t partner, uint64_t customer, const char *subject,
		const char *text)
{
	struct rd_domain *d = app->domain;
	if (!rd_checkout_email_ok(to)) {
		rd_log(RD_LOG_WARN, "deals", "%s: no e-mail address to send it to", ref);
		return 0;
	}
	struct rd_message *m = rd_calloc(1, sizeof *m);
	snprintf(m->kind, sizeof m->kind, "%s", kind);
	snprintf(m->to, sizeof m->to, "%s", to);
	snprintf(m->subject, sizeof m->subject, "%s", subject);
	struct rd_partner p;
	bool have = partner && rd_entity_get(t, d->partners, &rd_entity_partner, v, partner, &p) == 0;
	json_t *lines = json_array();
	for (const char *q = text; *q;) {
		size_t k = strcspn(q, "\n");
		json_array_append_new(lines, json_stringn(q, k));
		q += k + (q[k] == '\n');
	}
	json_t *ctx = json_pack("{s:s, s:o, s:{s:s}, s:o}", "subject", subject, "lines", lines, "vendor", "name",
				vendor->name, "brand", rd_brand_json(have ? &p : NULL, vendor));
	if (!branded(app, t, v, have ? partner : 0, "txt", ctx, m->text, sizeof m->text) ||
	    !branded(app, t, v, have ? partner : 0, "html", ctx, m->html, sizeof m->html))
		plain(m, vendor, text);
	json_decref(ctx);
	m->state = RD_MSG_QUEUED;
	m->created_at = rd_clock_now();
	m->partner_id = partner;
	m->customer_id = customer;
	snprintf(m->ref, sizeof m->ref, "%s", ref);
	int rc = rd_entity_put(t, d->outbox, &rd_entity_message, v, m, 0);
	free(m);
	return rc;
}

/* Who hears of the partner's registration: the user who registered it,
 * else the partner's address. */
static void partner_address(struct rd_txn *t, struct rd_domain *d, uint64_t v, const struct rd_dealreg *x, char *to,
			    size_t cap)
{
	struct rd_user u;
	struct rd_partner p;
	to[0] = 0;
	if (x->user_id && rd_entity_get(t, d->users, &rd_entity_user, v, x->user_id, &u) == 0 && u.partner_id == x->partner_id)
		snprintf(to, cap, "%s", u.email);
	else if (rd_entity_get(t, d->partners, &rd_entity_partner, v, x->partner_id, &p) == 0)
		snprintf(to, cap, "%s", p.email);
}

static void describe(struct rd_txn *t, struct rd_domain *d, uint64_t v, const struct rd_dealreg *x, char *out, size_t cap)
{
	struct rd_customer c;
	const char *name = rd_entity_get(t, d->customers, &rd_entity_customer, v, x->customer_id, &c) == 0 ? c.name : "?";
	snprintf(out, cap, "deal registration %llu (%s, %s)", (unsigned long long)x->id, name, x->product_line);
}

/* The e-mail to the partner of a transition. */
static int mail_partner(struct rd_app *app, struct rd_txn *t, uint64_t v, const struct rd_dealreg *x, const char *what)
{
	struct rd_domain *d = app->domain;
	struct rd_vendor vendor;
	int rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, v, &vendor);
	if (rc < 0)
		return rc;
	char to[RD_NAME_MAX], about[300], subject[512], text[1200], ref[96], kind[24], day[11];
	partner_address(t, d, v, x, to, sizeof to);
	describe(t, d, v, x, about, sizeof about);
	rd_date_format(x->expires_on, day);
	if (!strcmp(what, "submitted")) {
		snprintf(subject, sizeof subject, "We received your %s", about);
		snprintf(text, sizeof text, "Thank you: we received your %s.\nWe will answer within %u hours.", about,
			 or_default(vendor.deal_response_hours, RD_DEAL_RESPONSE_HOURS));
	} else if (!strcmp(what, "approved")) {
		snprintf(subject, sizeof subject, "Your %s is approved", about);
		snprintf(text, sizeof text, "Your %s is approved until %s.", about, day);
	} else if (!strcmp(what, "rejected")) {
		snprintf(subject, sizeof subject, "Your %s is rejected", about);
		snprintf(text, sizeof text, "Your %s is rejected.\nThe reason: %s\nYou may resubmit it with more information.",
			 about, x->reason);
	} else if (!strcmp(what, "extended")) {
		snprintf(subject, sizeof subject, "Your %s is extended", about);
		snprintf(text, sizeof text, "Your %s is extended until %s (extension %u).", about, day, x->extensions);
	} else { /* expired */
		snprintf(subject, sizeof subject, "Your %s has expired", about);
		snprintf(text, sizeof text, "Your %s expired after %s.\nYou may resubmit it with more information or ask "
			 "for an extension.", about, day);
	}
	snprintf(kind, sizeof kind, "deal_%s", what);
	if (!strcmp(what, "extended"))
		snprintf(ref, sizeof ref, "deal:%llu:extended:%u", (unsigned long long)x->id, x->extensions);
	else
		snprintf(ref, sizeof ref, "deal:%llu:%s", (unsigned long long)x->id, what);
	return mail(app, t, v, &vendor, to, kind, ref, x->partner_id, x->customer_id, subject, text);
}

/* The channel managers (each enabled one; none: the vendor's address)
 * hear of a new registration, or of a partner's request for an extension. */
static int mail_channel(struct rd_app *app, struct rd_txn *t, uint64_t v, const struct rd_dealreg *x, bool extension)
{
	struct rd_domain *d = app->domain;
	struct rd_vendor vendor;
	struct rd_partner p;
	int rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, v, &vendor);
	if (rc < 0)
		return rc;
	if (rd_entity_get(t, d->partners, &rd_entity_partner, v, x->partner_id, &p) < 0)
		snprintf(p.name, sizeof p.name, "partner %llu", (unsigned long long)x->partner_id);
	char about[300], subject[512], text[1200], ref[96], day[11];
	const char *kind = extension ? "deal_extension_request" : "deal_review";
	describe(t, d, v, x, about, sizeof about);
	rd_date_format(x->expires_on, day);
	if (extension) {
		snprintf(subject, sizeof subject, "%s asks to extend its %s", p.name, about);
		snprintf(text, sizeof text, "%s asks for an extension of its %s (%s on %s; %u extension(s) so far).\n"
			 "Extend it in the vendor console, or tell the partner to resubmit it.", p.name, about,
			 x->state == RD_DEALREG_EXPIRED ? "expired" : "expiring", day, x->extensions);
	} else {
		snprintf(subject, sizeof subject, "New %s from %s", about, p.name);
		snprintf(text, sizeof text, "%s registered %s.\nReview it and its conflict report in the vendor console; "
			 "the partner was promised an answer within %u hours.", p.name, about,
			 or_default(vendor.deal_response_hours, RD_DEAL_RESPONSE_HOURS));
	}
	struct rd_iter it;
	struct rd_item item;
	struct rd_user u;
	int sent = 0;
	rc = rd_iter_records(&it, t, d->users, v, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_user, item.val, item.len, &u) < 0 || u.disabled ||
		    u.role != RD_ROLE_CHANNEL_MANAGER)
			continue;
		if (extension)
			snprintf(ref, sizeof ref, "deal:%llu:extension-request:%u:%llu", (unsigned long long)x->id,
				 x->extensions, (unsigned long long)u.id);
		else
			snprintf(ref, sizeof ref, "deal:%llu:review:%llu", (unsigned long long)x->id, (unsigned long long)u.id);
		int r2 = mail(app, t, v, &vendor, u.email, kind, ref, 0, x->customer_id, subject, text);
		if (r2 < 0) {
			rc = r2;
			break;
		}
		sent++;
	}
	rd_iter_close(&it);
	if (rc < 0)
		return rc;
	if (!sent) {
		if (extension)
			snprintf(ref, sizeof ref, "deal:%llu:extension-request:%u", (unsigned long long)x->id, x->extensions);
		else
			snprintf(ref, sizeof ref, "deal:%llu:review", (unsigned long long)x->id);
		return mail(app, t, v, &vendor, vendor.notify_email, kind, ref, 0, x->customer_id, subject, text);
	}
	return 0;
}

/* ---- reading ----------------------------------------------------------------------------- */

int rd_deal_get(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, uint64_t id, struct rd_dealreg *out)
{
	int rc = id ? rd_entity_get(t, d->deals, &rd_entity_deal, who->vendor, id, out) : RD_ENOTFOUND;
	if (rc == 0 && who->partner && out->partner_id != who->partner)
		rc = RD_ENOTFOUND;
	return rc;
}

json_t *rd_deal_json(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_dealreg *x)
{
	json_t *j = rd_entity_to_json(&rd_entity_deal, x);
	struct rd_customer c;
	struct rd_partner p;
	if (rd_entity_get(t, d->customers, &rd_entity_customer, vendor, x->customer_id, &c) == 0)
		json_object_set_new(j, "customer_name", json_string(c.name));
	if (rd_entity_get(t, d->partners, &rd_entity_partner, vendor, x->partner_id, &p) == 0)
		json_object_set_new(j, "partner_name", json_string(p.name));
	return j;
}

/* ---- the conflict report ---------------------------------------------------------------- */

struct matched {
	uint64_t id;
	unsigned why;
	char name[RD_NAME_MAX];
};

static json_t *reasons_json(unsigned why)
{
	json_t *a = json_array();
	for (unsigned bit = 1; bit <= RD_MATCH_EXTERNAL_ID; bit <<= 1)
		if (why & bit)
			json_array_append_new(a, json_string(rd_match_reason_name(bit)));
	return a;
}

static const struct matched *find_match(const struct matched *m, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].id == id)
			return &m[i];
	return NULL;
}

static json_t *entry(const struct matched *m, const char *kind, const char *idname, uint64_t id, uint64_t partner)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:s, s:o}", "kind", kind, idname, (json_int_t)id, "partner_id",
			 (json_int_t)partner, "customer_id", (json_int_t)m->id, "customer_name", m->name, "reasons",
			 reasons_json(m->why));
}

struct rd_deal_matcher {
	size_t n;
	uint64_t *ids;
	struct rd_match_keys *keys;
};

int rd_deal_matcher_new(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, struct rd_deal_matcher **out)
{
	struct rd_deal_matcher *mt = rd_calloc(1, sizeof *mt);
	size_t cap = 64;
	mt->ids = rd_malloc(cap * sizeof *mt->ids);
	mt->keys = rd_malloc(cap * sizeof *mt->keys);
	struct rd_customer c;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, d->customers, vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_customer, item.val, item.len, &c) < 0)
			continue;
		if (mt->n == cap) {
			cap *= 2;
			mt->ids = rd_realloc(mt->ids, cap * sizeof *mt->ids);
			mt->keys = rd_realloc(mt->keys, cap * sizeof *mt->keys);
		}
		mt->ids[mt->n] = c.id;
		rd_match_keys(&c, &mt->keys[mt->n]);
		mt->n++;
	}
	rd_iter_close(&it);
	if (rc < 0) {
		rd_deal_matcher_free(mt);
		return rc;
	}
	*out = mt;
	return 0;
}

void rd_deal_matcher_free(struct rd_deal_matcher *mt)
{
	if (!mt)
		return;
	free(mt->ids);
	free(mt->keys);
	free(mt);
}

static void add_match(struct matched **m, size_t *n, size_t *cap, uint64_t id, unsigned why)
{
	if (*n == *cap)
		*m = rd_realloc(*m, (*cap *= 2) * sizeof **m);
	(*m)[*n].id = id;
	(*m)[*n].why = why;
	(*m)[*n].name[0] = 0;
	(*n)++;
}

int rd_deal_conflicts(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_dealreg *deal,
		      const struct rd_deal_matcher *mt, json_t **out)
{
	struct rd_customer c;
	int rc = rd_entity_get(t, d->customers, &rd_entity_customer, vendor, deal->customer_id, &c);
	if (rc < 0)
		return rc;
	struct rd_match_keys mine, theirs;
	rd_match_keys(&c, &mine);
	if (deal->customer_ref[0])
		snprintf(mine.external_id, sizeof mine.external_id, "%s", deal->customer_ref);
	/* The customers that are probably this one (itself included): from the
	 * matcher's keys, else one walk of the customers. */
	size_t n = 0, cap = 16;
	struct matched *m = rd_malloc(cap * sizeof *m);
	struct rd_iter it;
	struct rd_item item;
	if (mt) {
		for (size_t i = 0; i < mt->n; i++) {
			unsigned why = rd_match(&mine, &mt->keys[i]);
			if (why)
				add_match(&m, &n, &cap, mt->ids[i], why);
		}
	} else {
		rc = rd_iter_records(&it, t, d->customers, vendor, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (rd_entity_decode(&rd_entity_customer, item.val, item.len, &c) < 0)
				continue;
			rd_match_keys(&c, &theirs);
			unsigned why = rd_match(&mine, &theirs);
			if (why)
				add_match(&m, &n, &cap, c.id, why);
		}
		rd_iter_close(&it);
	}
	for (size_t i = 0; rc >= 0 && i < n; i++)
		if (rd_entity_get(t, d->customers, &rd_entity_customer, vendor, m[i].id, &c) == 0)
			snprintf(m[i].name, sizeof m[i].name, "%s", c.name);
	json_t *regs = json_array(), *base = json_array(), *opps = json_array();
	/* For each of those customers (by the "customer" indexes): other
	 * partners' open registrations of the same product line, and the live
	 * contracts another partner owns (the installed base). */
	struct rd_dealreg *x = rd_malloc(sizeof *x);
	struct rd_contract k;
	struct rd_product pr;
	struct kid {
		uint64_t contract;
		size_t match;
	};
	size_t n_kids = 0, cap_kids = 16;
	struct kid *kids = rd_malloc(cap_kids * sizeof *kids); /* every contract of those customers */
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		uint8_t key[8];
		rd_key_put_u64(key, m[i].id);
		rc = rd_iter_index(&it, t, d->deals, "customer", vendor, key, 8, NULL, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (item.key_len != 8 || memcmp(item.key, key, 8) != 0)
				break;
			if (rd_entity_decode(&rd_entity_deal, item.val, item.len, x) < 0 || x->id == deal->id ||
			    x->partner_id == deal->partner_id || strcmp(x->product_line, deal->product_line) ||
			    (x->state != RD_DEALREG_SUBMITTED && x->state != RD_DEALREG_APPROVED))
				continue;
			json_t *e = entry(&m[i], "registration", "deal_id", x->id, x->partner_id);
			json_object_set_new(e, "state", json_string(state_names[x->state]));
			json_object_set_new(e, "product_line", json_string(x->product_line));
			json_array_append_new(regs, e);
		}
		rd_iter_close(&it);
		if (rc < 0)
			break;
		rc = rd_iter_index(&it, t, d->contracts, "customer", vendor, key, 8, NULL, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (item.key_len != 8 || memcmp(item.key, key, 8) != 0)
				break;
			if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) < 0)
				continue;
			if (n_kids == cap_kids)
				kids = rd_realloc(kids, (cap_kids *= 2) * sizeof *kids);
			kids[n_kids].contract = k.id;
			kids[n_kids++].match = i;
			if ((k.status != RD_CONTRACT_LIVE && k.status != RD_CONTRACT_ORDERED) || k.reseller_id == deal->partner_id)
				continue;
			json_t *e = entry(&m[i], "contract", "contract_id", k.id, k.reseller_id);
			json_object_set_new(e, "external_id", json_string(k.external_id));
			bool have = rd_entity_get(t, d->products, &rd_entity_product, vendor, k.product_id, &pr) == 0;
			json_object_set_new(e, "product_line", json_string(have ? pr.line : ""));
			json_object_set_new(e, "same_line", json_boolean(have && !strcmp(pr.line, deal->product_line)));
			char end[11];
			rd_date_format(k.end, end);
			json_object_set_new(e, "end", json_string(end));
			json_array_append_new(base, e);
		}
		rd_iter_close(&it);
	}
	free(x);
	/* The vendor's own open opportunities (published to the vendor's
	 * sales) of those customers' contracts, by the "contract" index. */
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	for (size_t i = 0; rc >= 0 && i < n_kids; i++) {
		uint8_t key[8];
		rd_key_put_u64(key, kids[i].contract);
		rc = rd_iter_index(&it, t, d->opportunities, "contract", vendor, key, 8, NULL, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (item.key_len != 8 || memcmp(item.key, key, 8) != 0)
				break;
			if (rd_entity_decode(&rd_entity_opportunity, item.val, item.len, o) < 0 ||
			    !(o->state == RD_OPP_PUBLISHED_VENDOR || (o->state == RD_OPP_ACCEPTED && o->publish == RD_PUBLISH_VENDOR)))
				continue;
			const struct matched *mm = find_match(m, n, o->customer_id);
			json_t *e = entry(mm ? mm : &m[kids[i].match], "opportunity", "opportunity_id", o->id, o->reseller_id);
			json_object_set_new(e, "number", json_string(o->number));
			json_array_append_new(opps, e);
		}
		rd_iter_close(&it);
	}
	free(kids);
	free(o);
	free(m);
	if (rc < 0) {
		json_decref(regs);
		json_decref(base);
		json_decref(opps);
		return rc;
	}
	*out = json_pack("{s:o, s:o, s:o}", "registrations", regs, "installed_base", base, "opportunities", opps);
	return 0;
}

/* ---- submitting ------------------------------------------------------------------------- */

struct submit {
	struct rd_app *app;
	const struct rd_actor *who;
	const struct rd_deal_input *in;
	struct rd_dealreg *out;
	struct rd_serr *e;
};

/* Whether the partner sells to the customer (a contract of its, or its
 * reseller's, names the customer) or registered it. */
static bool partner_knows(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t partner, uint64_t customer)
{
	uint8_t key[8];
	rd_key_put_u64(key, customer);
	struct rd_iter it;
	struct rd_item item;
	struct rd_contract k;
	bool yes = false;
	int rc = rd_iter_index(&it, t, d->contracts, "customer", v, key, 8, NULL, 0);
	while (!yes && rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0 && item.key_len == 8 && !memcmp(item.key, key, 8))
		yes = rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) == 0 &&
		      (k.reseller_id == partner || k.distributor_id == partner);
	rd_iter_close(&it);
	if (yes)
		return true;
	struct rd_dealreg *x = rd_malloc(sizeof *x);
	rc = rd_iter_index(&it, t, d->deals, "customer", v, key, 8, NULL, 0);
	while (!yes && rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0 && item.key_len == 8 && !memcmp(item.key, key, 8))
		yes = rd_entity_decode(&rd_entity_deal, item.val, item.len, x) == 0 && x->partner_id == partner;
	rd_iter_close(&it);
	free(x);
	return yes;
}


/* The deal's webhook event (deal.<state>) when its state changed. */
static int deal_event(struct rd_txn *t, struct rd_domain *d, uint64_t v, const struct rd_dealreg *x, json_t *before,
		      json_t *after)
{
	const char *was = before ? json_string_value(json_object_get(before, "state")) : NULL;
	const char *now = json_string_value(json_object_get(after, "state"));
	if (!now || (was && !strcmp(was, now)))
		return 0;
	char type[40];
	snprintf(type, sizeof type, "deal.%s", now);
	json_t *ev = json_pack("{s:I}", "partner_id", (json_int_t)x->partner_id);
	int rc = rd_event_record(t, d, v, type, "deal", x->id, now, ev);
	json_decref(ev);
	return rc;
}

static int submit_write(struct rd_txn *t, void *arg)
{
	struct submit *s = arg;
	struct rd_domain *d = s->app->domain;
	const struct rd_deal_input *in = s->in;
	uint64_t v = s->who->vendor;
	struct rd_dealreg *x = s->out;
	memset(x, 0, sizeof *x);
	struct rd_vendor vendor;
	int rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, v, &vendor);
	if (rc < 0)
		return rc;
	x->partner_id = s->who->partner ? s->who->partner : in->partner_id;
	struct rd_partner p;
	rc = x->partner_id ? rd_entity_get(t, d->partners, &rd_entity_partner, v, x->partner_id, &p) : RD_ENOTFOUND;
	if (rc < 0 && rc != RD_ENOTFOUND)
		return rc; /* the store failed: 503, not "names no partner" */
	if (rc < 0)
		return rd_serr_set(s->e, RD_EINVAL, "invalid", "partner_id", "a registration names the partner that registers it "
				   "(partner_id, an existing partner)");
	struct rd_dealreg prev;
	if (in->previous_id) {
		rc = rd_entity_get(t, d->deals, &rd_entity_deal, v, in->previous_id, &prev);
		if (rc == RD_ENOTFOUND || (rc == 0 && prev.partner_id != x->partner_id))
			return rd_serr_set(s->e, RD_ENOTFOUND, "not_found", "previous_id", "no such registration of the partner");
		if (rc < 0)
			return rc;
		if (prev.state != RD_DEALREG_REJECTED && prev.state != RD_DEALREG_EXPIRED)
			return rd_serr_set(s->e, RD_EEXISTS, "conflict", "previous_id", "registration %llu is %s: only a rejected "
					   "or expired registration is resubmitted", (unsigned long long)prev.id,
					   state_names[prev.state]);
		if (prev.next_id)
			return rd_serr_set(s->e, RD_EEXISTS, "conflict", "previous_id", "registration %llu was resubmitted "
					   "already, as %llu", (unsigned long long)prev.id, (unsigned long long)prev.next_id);
		if (in->customer_id && in->customer_id != prev.customer_id)
			return rd_serr_set(s->e, RD_EINVAL, "invalid", "customer_id", "a resubmission is for the same customer");
		x->customer_id = prev.customer_id;
		x->previous_id = prev.id;
	}
	/* The products: of one product line. */
	if (!in->n_products)
		return rd_serr_set(s->e, RD_EINVAL, "invalid", "products", "name the products of interest (product ids)");
	for (uint8_t i = 0; i < in->n_products; i++) {
		struct rd_product pr;
		rc = rd_entity_get(t, d->products, &rd_entity_product, v, in->products[i], &pr);
		if (rc == RD_ENOTFOUND)
			return rd_serr_set(s->e, RD_EINVAL, "invalid", "products", "no product with id %llu",
					   (unsigned long long)in->products[i]);
		if (rc < 0)
			return rc;
		if (i == 0)
			snprintf(x->product_line, sizeof x->product_line, "%s", pr.line);
		else if (strcmp(pr.line, x->product_line))
			return rd_serr_set(s->e, RD_EINVAL, "invalid", "products", "the products are of one product line (%s), "
					   "and product %llu is of %s: register each line on its own", x->product_line,
					   (unsigned long long)pr.id, pr.line);
		x->products[i] = pr.id;
	}
	x->n_products = in->n_products;
	if (!x->product_line[0])
		return rd_serr_set(s->e, RD_EINVAL, "invalid", "products", "the products have no product line");
	/* The customer: existing, or new. */
	if (!x->customer_id) {
		if (in->customer_id && in->new_customer)
			return rd_serr_set(s->e, RD_EINVAL, "invalid", "customer", "name an existing customer (customer_id) or "
					   "a new one (customer), not both");
		if (in->customer_id) {
			struct rd_customer c;
			rc = rd_entity_get(t, d->customers, &rd_entity_customer, v, in->customer_id, &c);
			if (rc == RD_ENOTFOUND || (rc == 0 && s->who->partner && !partner_knows(t, d, v, x->partner_id, c.id)))
				return rd_serr_set(s->e, RD_EINVAL, "invalid", "customer_id", "no customer %llu that the partner "
						   "sells to: register a new customer (customer) instead",
						   (unsigned long long)in->customer_id);
			if (rc < 0)
				return rc;
			x->customer_id = c.id;
		} else if (in->new_customer) {
			struct rd_customer c = *in->new_customer;
			c.id = 0;
			snprintf(x->customer_ref, sizeof x->customer_ref, "%s", c.external_id);
			if (!c.name[0])
				return rd_serr_set(s->e, RD_EINVAL, "invalid", "customer.name", "a new customer has a name");
			if (c.external_id[0]) {
				uint64_t other;
				rc = rd_index_find(t, d->customers, "ext", v, c.external_id, strlen(c.external_id), &other);
				if (rc == 0) /* taken: the conflict report shows whose it is (by name, domain or postcode) */
					c.external_id[0] = 0;
				else if (rc != RD_ENOTFOUND)
					return rc;
			}
			if ((rc = rd_entity_put(t, d->customers, &rd_entity_customer, v, &c, RD_PUT_NEW)) < 0)
				return rc;
			json_t *after = rd_entity_to_json(&rd_entity_customer, &c);
			rc = rd_audit_write(t, d, v, s->who->user, RD_AUDIT_CREATE, "customers", c.id, NULL, after,
					    "customer of a deal registration");
			json_decref(after);
			if (rc < 0)
				return rc;
			x->customer_id = c.id;
		} else {
			return rd_serr_set(s->e, RD_EINVAL, "invalid", "customer", "name the customer: customer_id of an "
					   "existing one, or customer {name, email, postcode, external_id, country} for a new one");
		}
	}
	/* One open registration per partner, customer and product line. */
	uint8_t key[8];
	rd_key_put_u64(key, x->customer_id);
	struct rd_iter it;
	struct rd_item item;
	struct rd_dealreg *y = rd_malloc(sizeof *y);
	uint64_t open = 0;
	rc = rd_iter_index(&it, t, d->deals, "customer", v, key, 8, NULL, 0);
	while (!open && rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0 && item.key_len == 8 && !memcmp(item.key, key, 8))
		if (rd_entity_decode(&rd_entity_deal, item.val, item.len, y) == 0 && y->partner_id == x->partner_id &&
		    !strcmp(y->product_line, x->product_line) &&
		    (y->state == RD_DEALREG_SUBMITTED || y->state == RD_DEALREG_APPROVED))
			open = y->id;
	rd_iter_close(&it);
	free(y);
	if (rc < 0)
		return rc;
	if (open)
		return rd_serr_set(s->e, RD_EEXISTS, "conflict", "customer_id", "the partner's registration %llu for this "
				   "customer and product line (%s) is open", (unsigned long long)open, x->product_line);
	x->seats = in->seats;
	x->expected_value = in->expected_value;
	if (in->expected_value < 0)
		return rd_serr_set(s->e, RD_EINVAL, "invalid", "expected_value", "the expected value is at least 0");
	snprintf(x->currency, sizeof x->currency, "%s", in->currency && in->currency[0] ? in->currency : vendor.currency);
	if (in->currency && in->currency[0] && !rd_money_currency_valid(in->currency))
		return rd_serr_set(s->e, RD_EINVAL, "invalid", "currency", "\"%.16s\" is not an active ISO 4217 currency "
				   "code (such as GBP, JPY)", in->currency);
	rd_date today = rd_clock_today();
	if (!in->close_date || in->close_date < today)
		return rd_serr_set(s->e, RD_EINVAL, "invalid", "close_date", "the expected close date (YYYY-MM-DD) is today "
				   "or later");
	x->close_date = in->close_date;
	snprintf(x->situation, sizeof x->situation, "%s", in->situation ? in->situation : "");
	snprintf(x->notes, sizeof x->notes, "%s", in->notes ? in->notes : "");
	if ((in->situation && strlen(in->situation) >= sizeof x->situation) ||
	    (in->notes && strlen(in->notes) >= sizeof x->notes))
		return rd_serr_set(s->e, RD_EINVAL, "invalid", in->notes && strlen(in->notes) >= sizeof x->notes ? "notes" :
				   "situation", "too long (situation: up to 511 bytes, notes: up to 2047)");
	x->state = RD_DEALREG_SUBMITTED;
	x->user_id = s->who->user;
	x->submitted_at = rd_clock_now();
	if ((rc = rd_entity_put(t, d->deals, &rd_entity_deal, v, x, 0)) < 0)
		return rc;
	json_t *after = rd_entity_to_json(&rd_entity_deal, x);
	if ((rc = deal_event(t, d, v, x, NULL, after)) < 0) {
		json_decref(after);
		return rc;
	}
	rc = rd_audit_write(t, d, v, s->who->user, RD_AUDIT_CREATE, "deals", x->id, NULL, after,
			    x->previous_id ? "deal resubmitted" : "deal registered");
	json_decref(after);
	if (rc < 0)
		return rc;
	if (x->previous_id) {
		json_t *before = rd_entity_to_json(&rd_entity_deal, &prev);
		prev.next_id = x->id;
		if ((rc = rd_entity_put(t, d->deals, &rd_entity_deal, v, &prev, 0)) == 0) {
			json_t *a2 = rd_entity_to_json(&rd_entity_deal, &prev);
			rc = rd_audit_write(t, d, v, s->who->user, RD_AUDIT_UPDATE, "deals", prev.id, before, a2,
					    "deal resubmitted as a new registration");
			json_decref(a2);
		}
		json_decref(before);
		if (rc < 0)
			return rc;
	}
	if ((rc = mail_partner(s->app, t, v, x, "submitted")) < 0)
		return rc;
	return mail_channel(s->app, t, v, x, false);
}

/* Text a registration keeps: UTF-8 that fits its field whole (never cut,
 * and so never cut inside a character). */
static bool text_fits(const char *s, size_t cap)
{
	if (!s || !*s)
		return true;
	if (strlen(s) >= cap)
		return false;
	json_t *j = json_string(s); /* NULL when s is not valid UTF-8 */
	json_decref(j);
	return j != NULL;
}

int rd_deal_submit(struct rd_app *app, const struct rd_actor *who, const struct rd_deal_input *in,
		   struct rd_dealreg *out, struct rd_serr *e)
{
	e->rc = 0;
	if (!text_fits(in->situation, sizeof out->situation))
		return rd_serr_set(e, RD_EINVAL, "invalid", "situation", "the situation is text of at most %zu bytes",
				   sizeof out->situation - 1);
	if (!text_fits(in->notes, sizeof out->notes))
		return rd_serr_set(e, RD_EINVAL, "invalid", "notes", "the notes are text of at most %zu bytes",
				   sizeof out->notes - 1);
	if (in->new_customer && (!text_fits(in->new_customer->name, sizeof in->new_customer->name) ||
				 !text_fits(in->new_customer->email, sizeof in->new_customer->email) ||
				 !text_fits(in->new_customer->postcode, sizeof in->new_customer->postcode) ||
				 !text_fits(in->new_customer->external_id, sizeof in->new_customer->external_id)))
		return rd_serr_set(e, RD_EINVAL, "invalid", "customer", "a new customer's name, e-mail, postcode and "
				   "external id are text");
	if (in->new_customer && in->new_customer->email[0] && !rd_checkout_email_ok(in->new_customer->email))
		return rd_serr_set(e, RD_EINVAL, "invalid", "customer.email", "the new customer's e-mail address is not "
				   "valid (name@example.com)");
	struct submit s = { app, who, in, out, e };
	int rc = rd_store_write(app->store, submit_write, &s);
	if (rc < 0 && e->rc != rc)
		rd_serr_store(e, rc);
	return rc;
}

/* ---- the steps ---------------------------------------------------------------------------- */

struct change {
	struct rd_app *app;
	const struct rd_actor *who;
	uint64_t id;
	const struct rd_deal_change *ch;
	struct rd_dealreg *out;
	struct rd_serr *e;
};

static bool has_text(const char *s)
{
	if (!s)
		return false;
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return true;
	return false;
}

static int change_write(struct rd_txn *t, void *arg)
{
	struct change *c = arg;
	struct rd_domain *d = c->app->domain;
	const struct rd_deal_change *ch = c->ch;
	uint64_t v = c->who->vendor;
	struct rd_dealreg *x = c->out;
	int rc = rd_deal_get(t, d, c->who, c->id, x);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(c->e, RD_ENOTFOUND, "not_found", "id", "no such deal registration");
	if (rc < 0)
		return rc;
	bool vendor_step = ch->step == RD_DEAL_STEP_APPROVE || ch->step == RD_DEAL_STEP_REJECT ||
			   ch->step == RD_DEAL_STEP_EXTEND;
	if (vendor_step && c->who->partner)
		return rd_serr_set(c->e, -EACCES, "forbidden", NULL, "the vendor's channel managers approve, reject and "
				   "extend registrations");
	struct rd_vendor vendor;
	if ((rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, v, &vendor)) < 0)
		return rc;
	rd_date today = rd_clock_today();
	json_t *before = rd_entity_to_json(&rd_entity_deal, x);
	const char *note = "", *what = NULL;
	uint64_t now = rd_clock_now();
	rc = 0;
	switch (ch->step) {
	case RD_DEAL_STEP_APPROVE:
	case RD_DEAL_STEP_REJECT:
		if (x->state != RD_DEALREG_SUBMITTED) {
			rc = rd_serr_set(c->e, RD_EEXISTS, "conflict", "state", "the registration is %s: only a submitted one "
					 "is approved or rejected", state_names[x->state]);
			break;
		}
		if (ch->step == RD_DEAL_STEP_REJECT) {
			if (!has_text(ch->reason)) {
				rc = rd_serr_set(c->e, RD_EINVAL, "invalid", "reason", "a rejection gives the partner its reason");
				break;
			}
			snprintf(x->reason, sizeof x->reason, "%s", ch->reason);
			x->state = RD_DEALREG_REJECTED;
			note = "deal rejected";
			what = "rejected";
		} else {
			rd_date until = ch->expires_on ? ch->expires_on
						       : today + (rd_date)or_default(vendor.deal_expiry_days, RD_DEAL_EXPIRY_DAYS);
			if (until < today) {
				rc = rd_serr_set(c->e, RD_EINVAL, "invalid", "expires_on", "the expiry is today or later");
				break;
			}
			x->expires_on = until;
			x->state = RD_DEALREG_APPROVED;
			note = "deal approved";
			what = "approved";
		}
		x->decided_at = now;
		x->decided_by = c->who->user;
		break;
	case RD_DEAL_STEP_EXTEND: {
		if (x->state != RD_DEALREG_APPROVED && x->state != RD_DEALREG_EXPIRED) {
			rc = rd_serr_set(c->e, RD_EEXISTS, "conflict", "state", "the registration is %s: only an approved or "
					 "expired one is extended", state_names[x->state]);
			break;
		}
		if (x->next_id) {
			rc = rd_serr_set(c->e, RD_EEXISTS, "conflict", "state", "the registration was resubmitted as %llu",
					 (unsigned long long)x->next_id);
			break;
		}
		uint32_t limit = or_default(vendor.deal_extension_limit, RD_DEAL_EXTENSION_LIMIT);
		if (x->extensions >= limit) {
			rc = rd_serr_set(c->e, RD_ERANGE, "limit", "extensions", "the registration had its %u extension%s: the "
					 "vendor's limit (deal_extension_limit); resubmit it instead", x->extensions,
					 x->extensions == 1 ? "" : "s");
			break;
		}
		if (ch->days > 3650) {
			rc = rd_serr_set(c->e, RD_EINVAL, "invalid", "days", "an extension is 1 to 3650 days");
			break;
		}
		uint32_t days = ch->days ? ch->days : or_default(vendor.deal_extension_days, RD_DEAL_EXTENSION_DAYS);
		rd_date from = x->expires_on > today ? x->expires_on : today;
		x->expires_on = from + (rd_date)days;
		x->extensions++;
		x->extension_requested_at = 0;
		x->state = RD_DEALREG_APPROVED;
		note = "deal extended";
		what = "extended";
		break;
	}
	case RD_DEAL_STEP_ASK_EXTENSION: {
		if (!c->who->partner) {
			rc = rd_serr_set(c->e, -EACCES, "forbidden", NULL, "the partner asks for an extension; the vendor's "
					 "people extend (POST /api/v1/deals/{id}/extend)");
			break;
		}
		if ((x->state != RD_DEALREG_APPROVED && x->state != RD_DEALREG_EXPIRED) || x->next_id) {
			rc = rd_serr_set(c->e, RD_EEXISTS, "conflict", "state", "the registration is %s: an extension is asked "
					 "for an approved or expired one", x->next_id ? "resubmitted" : state_names[x->state]);
			break;
		}
		uint32_t limit = or_default(vendor.deal_extension_limit, RD_DEAL_EXTENSION_LIMIT);
		if (x->extensions >= limit) {
			rc = rd_serr_set(c->e, RD_ERANGE, "limit", "extensions", "the registration had its %u extension%s: the "
					 "vendor's limit; resubmit it instead", x->extensions, x->extensions == 1 ? "" : "s");
			break;
		}
		if (x->extension_requested_at) {
			rc = rd_serr_set(c->e, RD_EEXISTS, "conflict", "state", "an extension was asked for already; the "
					 "channel managers have it");
			break;
		}
		x->extension_requested_at = now;
		note = "deal extension requested";
		break;
	}
	case RD_DEAL_STEP_LOSE:
	case RD_DEAL_STEP_WIN:
		if (x->state != RD_DEALREG_APPROVED) {
			rc = rd_serr_set(c->e, RD_EEXISTS, "conflict", "state", "the registration is %s: only an approved one "
					 "is closed won or lost", state_names[x->state]);
			break;
		}
		if (ch->step == RD_DEAL_STEP_LOSE) {
			if (!has_text(ch->reason)) {
				rc = rd_serr_set(c->e, RD_EINVAL, "invalid", "reason", "a lost registration says why it was lost");
				break;
			}
			snprintf(x->reason, sizeof x->reason, "%s", ch->reason);
			x->state = RD_DEALREG_LOST;
			note = "deal lost";
		} else {
			const char *why = rd_document_name_problem(ch->proof_name);
			if (why) {
				rc = rd_serr_set(c->e, RD_EINVAL, "invalid", "name", "%s", why);
				break;
			}
			if (!ch->proof || !ch->proof_len) {
				rc = rd_serr_set(c->e, RD_EINVAL, "invalid", "body", "a won registration carries its proof of "
						 "performance: the request body is the document, and it is empty");
				break;
			}
			if (ch->proof_len > RD_DOCUMENT_MAX) {
				rc = rd_serr_set(c->e, RD_ETOOBIG, "too_large", "body", "a document may be at most %d MiB",
						 RD_DOCUMENT_MAX >> 20);
				break;
			}
			struct rd_document doc = { 0 };
			doc.customer_id = x->customer_id;
			doc.kind = RD_DOC_OTHER;
			snprintf(doc.name, sizeof doc.name, "%s", ch->proof_name);
			snprintf(doc.content_type, sizeof doc.content_type, "%s",
				 ch->proof_type ? ch->proof_type : "application/octet-stream");
			doc.size = (uint32_t)ch->proof_len;
			unsigned char h[crypto_hash_sha256_BYTES];
			crypto_hash_sha256(h, ch->proof, ch->proof_len);
			sodium_bin2hex(doc.sha256, sizeof doc.sha256, h, sizeof h);
			doc.created_at = now;
			doc.user_id = c->who->user;
			if ((rc = rd_entity_put(t, d->documents, &rd_entity_document, v, &doc, RD_PUT_NEW)) < 0 ||
			    (rc = rd_txn_put(t, d->document_data, v, doc.id, ch->proof, ch->proof_len, 0)) < 0)
				break;
			json_t *after = rd_entity_to_json(&rd_entity_document, &doc);
			rc = rd_audit_write(t, d, v, c->who->user, RD_AUDIT_CREATE, "documents", doc.id, NULL, after,
					    "proof of performance of a deal registration");
			json_decref(after);
			if (rc < 0)
				break;
			x->proof_document_id = doc.id;
			x->state = RD_DEALREG_WON;
			note = "deal won";
		}
		x->closed_at = now;
		break;
	default:
		rc = rd_serr_set(c->e, RD_EINVAL, "invalid", NULL, "no such step");
	}
	if (rc == 0 && (rc = rd_entity_put(t, d->deals, &rd_entity_deal, v, x, 0)) == 0) {
		json_t *after = rd_entity_to_json(&rd_entity_deal, x);
		rc = rd_audit_write(t, d, v, c->who->user, RD_AUDIT_UPDATE, "deals", x->id, before, after, note);
		if (rc == 0)
			rc = deal_event(t, d, v, x, before, after);
		json_decref(after);
	}
	json_decref(before);
	if (rc == 0 && what)
		rc = mail_partner(c->app, t, v, x, what);
	if (rc == 0 && ch->step == RD_DEAL_STEP_ASK_EXTENSION)
		rc = mail_channel(c->app, t, v, x, true);
	return rc;
}

int rd_deal_change(struct rd_app *app, const struct rd_actor *who, uint64_t id, const struct rd_deal_change *ch,
		   struct rd_dealreg *out, struct rd_serr *e)
{
	e->rc = 0;
	struct change c = { app, who, id, ch, out, e };
	int rc = rd_store_write(app->store, change_write, &c);
	if (rc < 0 && e->rc != rc)
		rd_serr_set(e, rc, "internal", NULL, "%s", rd_strerror(rc));
	return rc;
}

/* ---- expiry -------------------------------------------------------------------------------- */

struct expire {
	struct rd_app *app;
	uint64_t vendor;
	rd_date today;
	int n;
};

/* Each approved registration whose expiry day has passed: expired, in one
 * transaction with its audit entry and e-mail; one already expired is not
 * found again, so a second sweep of the day does nothing. */
static int expire_write(struct rd_txn *t, void *arg)
{
	struct expire *ex = arg;
	struct rd_domain *d = ex->app->domain;
	ex->n = 0;
	size_t n = 0, cap = 8;
	uint64_t *ids = rd_malloc(cap * sizeof *ids);
	struct rd_dealreg *x = rd_malloc(sizeof *x);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, d->deals, ex->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_deal, item.val, item.len, x) < 0 || x->state != RD_DEALREG_APPROVED ||
		    x->expires_on >= ex->today)
			continue;
		if (n == cap)
			ids = rd_realloc(ids, (cap *= 2) * sizeof *ids);
		ids[n++] = x->id;
	}
	rd_iter_close(&it);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		if ((rc = rd_entity_get(t, d->deals, &rd_entity_deal, ex->vendor, ids[i], x)) < 0)
			break;
		json_t *before = rd_entity_to_json(&rd_entity_deal, x);
		x->state = RD_DEALREG_EXPIRED;
		if ((rc = rd_entity_put(t, d->deals, &rd_entity_deal, ex->vendor, x, 0)) == 0) {
			json_t *after = rd_entity_to_json(&rd_entity_deal, x);
			rc = rd_audit_write(t, d, ex->vendor, 0, RD_AUDIT_UPDATE, "deals", x->id, before, after,
					    "deal expired");
			if (rc == 0)
				rc = deal_event(t, d, ex->vendor, x, before, after);
			json_decref(after);
		}
		json_decref(before);
		if (rc == 0)
			rc = mail_partner(ex->app, t, ex->vendor, x, "expired");
		ex->n++;
	}
	free(ids);
	free(x);
	return rc < 0 ? rc : 0;
}

int rd_deals_expire(struct rd_app *app, uint64_t vendor, rd_date today)
{
	struct expire ex = { app, vendor, today, 0 };
	int rc = rd_store_write(app->store, expire_write, &ex);
	return rc < 0 ? rc : ex.n;
}
