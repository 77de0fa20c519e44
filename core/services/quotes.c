/*
 * quotes.c: the rules of changing a quote (quotes.h): the sales person's
 * amendment and the customer's acceptance, for the API and the pages alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "services/orders.h"
#include "services/portal.h"
#include "services/quotes.h"
#include "services/renewal.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

#define NOTE_MAX 1000

bool rd_quote_closed(uint8_t state)
{
	return state == RD_OPP_WON || state == RD_OPP_LOST || state == RD_OPP_EXPIRED;
}

/* Whether partner x is the actor's partner or one of its resellers. */
static bool partner_in_channel(struct rd_txn *t, const struct rd_app *app, const struct rd_actor *who, uint64_t x)
{
	if (!x)
		return false;
	if (x == who->partner)
		return true;
	struct rd_partner p;
	return rd_entity_get(t, app->domain->partners, &rd_entity_partner, who->vendor, x, &p) == 0 &&
	       p.parent_id == who->partner;
}

bool rd_quote_in_channel(struct rd_txn *t, const struct rd_app *app, const struct rd_actor *who,
			 const struct rd_opportunity *o)
{
	return !who->partner || partner_in_channel(t, app, who, o->reseller_id) ||
	       partner_in_channel(t, app, who, o->distributor_id);
}

static const char *state_name(uint8_t s)
{
	static const char *const n[] = { "", "pending_decision", "published_partner", "published_vendor", "accepted", "won",
					 "lost", "expired" };
	return s < 8 ? n[s] : "";
}

static bool blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

/* ---- amendment --------------------------------------------------------------------------- */

struct amend {
	struct rd_app *app;
	const struct rd_actor *who;
	uint64_t id;
	const struct rd_quote_amendment *ch;
	struct rd_opportunity *o;
	struct rd_serr *e;
};

static json_t *amend_json(const struct rd_opportunity *o)
{
	return json_pack("{s:I, s:s, s:s}", "discount_bp", (json_int_t)o->discount_bp, "state", state_name(o->state),
			 "lost_reason", o->lost_reason);
}

/* Appends a note, dropping the oldest while the notes do not fit. */
static int add_note(struct rd_opportunity *o, uint64_t user, const char *text, struct rd_serr *e)
{
	json_t *notes = json_loads(o->notes[0] ? o->notes : "[]", 0, NULL);
	if (!json_is_array(notes)) {
		json_decref(notes);
		notes = json_array();
	}
	char at[21];
	rd_time_format(rd_clock_now(), at);
	json_array_append_new(notes, json_pack("{s:s, s:I, s:s}", "at", at, "user_id", (json_int_t)user, "text", text));
	char *s = json_dumps(notes, JSON_COMPACT);
	while (s && strlen(s) >= sizeof o->notes && json_array_size(notes) > 1) {
		free(s);
		json_array_remove(notes, 0);
		s = json_dumps(notes, JSON_COMPACT);
	}
	json_decref(notes);
	if (!s || strlen(s) >= sizeof o->notes) {
		free(s);
		return rd_serr_set(e, RD_EINVAL, "invalid", "note", "the note is too long");
	}
	memcpy(o->notes, s, strlen(s) + 1);
	free(s);
	return 0;
}

static int amend_write(struct rd_txn *t, void *arg)
{
	struct amend *a = arg;
	const struct rd_actor *who = a->who;
	const struct rd_quote_amendment *ch = a->ch;
	struct rd_opportunity *o = a->o;
	struct rd_domain *d = a->app->domain;
	int rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, who->vendor, a->id, o);
	if (rc == RD_ENOTFOUND || (rc == 0 && !rd_quote_in_channel(t, a->app, who, o)))
		return rd_serr_set(a->e, RD_ENOTFOUND, "not_found", "id", "no such opportunity");
	if (rc < 0)
		return rc;
	if (rd_quote_closed(o->state))
		return rd_serr_set(a->e, RD_EEXISTS, "conflict", "state", "the opportunity is %s: it changes no more",
				   state_name(o->state));
	/* An order fixed the quote's total (and the shares fulfilment pays):
	 * its discount and state are the order's now; a note may still go on. */
	uint8_t okey[8];
	uint64_t order_id;
	rd_key_put_u64(okey, o->id);
	rc = rd_index_find(t, d->orders, "live", who->vendor, okey, 8, &order_id);
	if (rc < 0 && rc != RD_ENOTFOUND)
		return rc;
	if (rc == 0 && (ch->set_discount || ch->state))
		return rd_serr_set(a->e, RD_EEXISTS, "conflict", ch->set_discount ? "discount_bp" : "state",
				   "the quote is ordered (order %llu): its discount and state change no more",
				   (unsigned long long)order_id);
	struct rd_vendor v;
	if ((rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, who->vendor, &v)) < 0)
		return rc;
	uint32_t bound = rd_vendor_max_discount(&v);
	if (ch->set_discount && (ch->discount_bp < 0 || ch->discount_bp > 10000))
		return rd_serr_set(a->e, RD_EINVAL, "invalid", "discount_bp", "a discount is 0-10000 basis points");
	uint32_t bp = ch->set_discount ? (uint32_t)ch->discount_bp : 0;
	if (ch->set_discount && bp > bound)
		return rd_serr_set(a->e, RD_ERANGE, "discount_beyond_bound", "discount_bp",
				   "a discount of %u.%02u %% is beyond what %s allows: at most %u.%02u %% (%u basis points)",
				   bp / 100, bp % 100, v.name, bound / 100, bound % 100, bound);
	if (ch->state == RD_OPP_WON && o->state != RD_OPP_PUBLISHED_PARTNER && o->state != RD_OPP_PUBLISHED_VENDOR &&
	    o->state != RD_OPP_ACCEPTED)
		return rd_serr_set(a->e, RD_EEXISTS, "conflict", "state",
				   "only a published or accepted quote can be won (this one is %s)", state_name(o->state));
	json_t *before = amend_json(o);
	char note[256] = "", part[200];
	if (ch->set_discount && bp != o->discount_bp) {
		snprintf(part, sizeof part, "discount %u.%02u %% (was %u.%02u %%, bound %u.%02u %%); ", bp / 100, bp % 100,
			 o->discount_bp / 100, o->discount_bp % 100, bound / 100, bound % 100);
		strncat(note, part, sizeof note - strlen(note) - 1);
		o->discount_bp = bp;
	}
	if (ch->state == RD_OPP_LOST) {
		o->state = RD_OPP_LOST;
		snprintf(o->lost_reason, sizeof o->lost_reason, "%s", ch->lost_reason);
		o->lost_reason_set = rd_clock_now();
		snprintf(part, sizeof part, "marked lost: %.150s; ", ch->lost_reason);
		strncat(note, part, sizeof note - strlen(note) - 1);
	} else if (ch->state == RD_OPP_WON) {
		o->state = RD_OPP_WON;
		strncat(note, "marked won; ", sizeof note - strlen(note) - 1);
	}
	if (ch->note && *ch->note) {
		if ((rc = add_note(o, who->user, ch->note, a->e)) < 0) {
			json_decref(before);
			return rc;
		}
		snprintf(part, sizeof part, "note: %.150s; ", ch->note);
		strncat(note, part, sizeof note - strlen(note) - 1);
	}
	size_t n = strlen(note);
	if (n >= 2)
		note[n - 2] = 0; /* the last "; " */
	else
		snprintf(note, sizeof note, "no change");
	json_t *after = amend_json(o);
	if (ch->note && *ch->note)
		json_object_set_new(after, "note", json_string(ch->note));
	if ((rc = rd_entity_put(t, d->opportunities, &rd_entity_opportunity, who->vendor, o, 0)) == 0)
		rc = rd_audit_write(t, d, who->vendor, who->user, RD_AUDIT_UPDATE, "opportunities", o->id, before, after, note);
	/* Won in publish-partner mode: the partner of record sold it itself,
	 * and the contract renews in this transaction (services/renewal.c). */
	uint64_t renewed;
	if (rc == 0 && ch->state == RD_OPP_WON && o->publish == RD_PUBLISH_PARTNER)
		rc = rd_renewal_won(t, d, who->vendor, who->user, o, &renewed);
	json_decref(before);
	json_decref(after);
	return rc;
}

/* NULL or UTF-8 (what a JSON string holds: an API's always is, a form's may not be). */
static bool utf8(const char *s)
{
	if (!s)
		return true;
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

int rd_quote_amend(struct rd_app *app, const struct rd_actor *who, uint64_t id, const struct rd_quote_amendment *ch,
		   struct rd_opportunity *out, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	if (!ch->set_discount && !ch->state && (!ch->note || !*ch->note))
		return rd_serr_set(e, RD_EINVAL, "invalid", NULL, "nothing to change: give discount_bp, state or note");
	if (ch->state && ch->state != RD_OPP_WON && ch->state != RD_OPP_LOST)
		return rd_serr_set(e, RD_EINVAL, "invalid", "state", "a sales person marks an opportunity won or lost");
	if (ch->state == RD_OPP_LOST && (blank(ch->lost_reason) || strlen(ch->lost_reason) >= sizeof out->lost_reason))
		return rd_serr_set(e, RD_EINVAL, "invalid", "lost_reason", "a lost opportunity needs its reason (1-127 bytes)");
	if (ch->state != RD_OPP_LOST && ch->lost_reason && *ch->lost_reason)
		return rd_serr_set(e, RD_EINVAL, "invalid", "lost_reason", "lost_reason goes with state lost");
	if (ch->note && (blank(ch->note) ? *ch->note != 0 : strlen(ch->note) > NOTE_MAX))
		return rd_serr_set(e, RD_EINVAL, "invalid", "note", "a note is 1-%d bytes of text", NOTE_MAX);
	if (!utf8(ch->note))
		return rd_serr_set(e, RD_EINVAL, "invalid", "note", "a note is text (UTF-8)");
	if (!utf8(ch->lost_reason))
		return rd_serr_set(e, RD_EINVAL, "invalid", "lost_reason", "the reason is text (UTF-8)");
	if (!id)
		return rd_serr_set(e, RD_ENOTFOUND, "not_found", "id", "no such opportunity");
	struct amend a = { app, who, id, ch, out, e };
	int rc = rd_store_write(app->store, amend_write, &a);
	if (rc < 0 && !e->code)
		rd_serr_set(e, rc, "internal", NULL, "the opportunity could not be changed: %s", rd_strerror(rc));
	return rc;
}

/* ---- acceptance ------------------------------------------------------------------------------ */

struct accept {
	const struct rd_actor *who;
	struct rd_domain *d;
	uint64_t id;
	json_t *selected;
	struct rd_serr *e;
};

static int accept_write(struct rd_txn *t, void *arg)
{
	struct accept *a = arg;
	struct rd_domain *d = a->d;
	uint64_t v = a->who->vendor;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	int rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, v, a->id, o);
	if (rc == RD_ENOTFOUND)
		rd_serr_set(a->e, rc, "not_found", "id", "no such quote");
	if (rc == 0 && (!a->who->portal || !rd_portal_quote_owned(t, d, v, o, a->who->customer)))
		rc = rd_serr_set(a->e, RD_EEXISTS, "conflict", NULL, "This quote is no longer available.");
	if (rc == 0 && o->state != RD_OPP_PUBLISHED_VENDOR && o->state != RD_OPP_ACCEPTED)
		rc = rd_serr_set(a->e, RD_EEXISTS, "conflict", "state",
				 "This quote cannot be bought online: contact your reseller.");
	if (rc == 0) { /* an ordered quote is frozen: the order is what was chosen (services/orders.h) */
		struct rd_order *n = rd_malloc(sizeof *n);
		rc = rd_order_live(t, d, v, o->id, n);
		if (rc == 0)
			rc = rd_serr_set(a->e, RD_EEXISTS, "conflict", "state",
					 "This quote was ordered (order %s): what was ordered can no longer be changed. "
					 "Contact your reseller to change your order.", n->number);
		else if (rc == RD_ENOTFOUND)
			rc = 0;
		free(n);
	}
	if (rc == 0) {
		json_t *before = rd_entity_to_json(&rd_entity_opportunity, o);
		o->state = RD_OPP_ACCEPTED;
		/* The chosen optional lines are kept on the quote's lines. */
		for (uint8_t i = 0; i < o->n_lines; i++) {
			struct rd_quote_line *l = &o->lines[i];
			size_t k;
			json_t *s;
			l->selected = false;
			json_array_foreach(a->selected, k, s) l->selected |= l->optional && json_is_string(s) &&
									     !strcmp(json_string_value(s), l->sku);
		}
		struct rd_quote_sum sum; /* an upgrade replaces the renewal (domain/quote.h): one at most */
		if (rd_quote_total(o->lines, o->n_lines, o->discount_bp, &sum) == RD_EINVAL)
			rc = rd_serr_set(a->e, RD_EINVAL, "invalid", "add",
					 "Choose one upgrade at most: an upgrade replaces your current product, so only one can be bought.");
		else if ((rc = rd_entity_put(t, d->opportunities, &rd_entity_opportunity, v, o, 0)) == 0) {
			json_t *after = rd_entity_to_json(&rd_entity_opportunity, o);
			rc = rd_audit_write(t, d, v, 0, RD_AUDIT_UPDATE, "opportunities", o->id, before, after,
					    "accepted by the customer");
			json_decref(after);
		}
		json_decref(before);
	}
	free(o);
	return rc;
}

int rd_quote_accept(struct rd_app *app, const struct rd_actor *who, uint64_t id, json_t *selected, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	struct accept a = { who, app->domain, id, selected, e };
	int rc = rd_store_write(app->store, accept_write, &a);
	if (rc < 0 && !e->code)
		rd_serr_set(e, rc, "internal", NULL, "the quote could not be accepted: %s", rd_strerror(rc));
	return rc;
}
