/*
 * sales.c: the one rule for amending an opportunity (edge/sales.h), for the
 * sales view (POST /sales/opportunities/{id}) and the API (PATCH
 * /api/v1/opportunities/{id}).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/sales.h"
#include "services/renewal.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

#define NOTE_MAX 1000

/* ---- the rule ------------------------------------------------------------------------------ */

bool rd_sales_may_see(const struct call *c, const struct rd_opportunity *o)
{
	enum rd_scope s = rd_authz(c->who.role, RD_RES_OPPORTUNITY, RD_ACT_READ);
	return s == RD_SCOPE_ALL ||
	       (s == RD_SCOPE_OWN && (rd_call_in_scope(c, o->reseller_id) || rd_call_in_scope(c, o->distributor_id)));
}

/* Those who may update opportunities, and the sales roles where they read. */
static enum rd_scope amend_scope(uint8_t role)
{
	enum rd_scope s = rd_authz(role, RD_RES_OPPORTUNITY, RD_ACT_UPDATE);
	if (s == RD_SCOPE_NONE && (role == RD_ROLE_VENDOR_SALES || role == RD_ROLE_PARTNER_SALES))
		s = rd_authz(role, RD_RES_OPPORTUNITY, RD_ACT_READ);
	return s;
}

bool rd_sales_may_amend(const struct call *c, const struct rd_opportunity *o)
{
	enum rd_scope s = amend_scope(c->who.role);
	return s == RD_SCOPE_ALL ||
	       (s == RD_SCOPE_OWN && (rd_call_in_scope(c, o->reseller_id) || rd_call_in_scope(c, o->distributor_id)));
}

bool rd_sales_closed(uint8_t state)
{
	return state == RD_OPP_WON || state == RD_OPP_LOST || state == RD_OPP_EXPIRED;
}

static const char *state_name(uint8_t s)
{
	static const char *const n[] = { "", "pending_decision", "published_partner", "published_vendor", "accepted", "won",
					 "lost", "expired" };
	return s < 8 ? n[s] : "";
}

static int refuse(struct rd_sales_refusal *no, int status, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int refuse(struct rd_sales_refusal *no, int status, const char *code, const char *field, const char *fmt, ...)
{
	no->status = status;
	no->code = code;
	no->field = field;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(no->why, sizeof no->why, fmt, ap);
	va_end(ap);
	return RD_EINVAL;
}

bool rd_blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

struct amend {
	struct call *c;
	uint64_t id;
	const struct rd_sales_change *ch;
	struct rd_opportunity *o;
	struct rd_sales_refusal *no;
};

static json_t *amend_json(const struct rd_opportunity *o)
{
	return json_pack("{s:I, s:s, s:s}", "discount_bp", (json_int_t)o->discount_bp, "state", state_name(o->state),
			 "lost_reason", o->lost_reason);
}

/* Appends a note, dropping the oldest while the notes do not fit. */
static int add_note(struct rd_opportunity *o, uint64_t user, const char *text, struct rd_sales_refusal *no)
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
		return refuse(no, 400, "invalid", "note", "the note is too long");
	}
	memcpy(o->notes, s, strlen(s) + 1);
	free(s);
	return 0;
}

static int amend_write(struct rd_txn *t, void *arg)
{
	struct amend *a = arg;
	struct call *c = a->c;
	const struct rd_sales_change *ch = a->ch;
	struct rd_opportunity *o = a->o;
	struct rd_domain *d = c->app->domain;
	int rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, c->who.vendor, a->id, o);
	if (rc == RD_ENOTFOUND || (rc == 0 && !rd_sales_may_see(c, o)))
		return refuse(a->no, 404, "not_found", "id", "no such opportunity");
	if (rc < 0)
		return rc;
	if (!rd_sales_may_amend(c, o))
		return refuse(a->no, 403, "forbidden", NULL, "a %s may not amend this opportunity",
			      rd_role_name(c->who.role));
	if (rd_sales_closed(o->state))
		return refuse(a->no, 409, "conflict", "state", "the opportunity is %s: it changes no more", state_name(o->state));
	struct rd_vendor v;
	if ((rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, c->who.vendor, &v)) < 0)
		return rc;
	uint32_t bound = rd_vendor_max_discount(&v);
	if (ch->set_discount && ch->discount_bp > 10000)
		return refuse(a->no, 400, "invalid", "discount_bp", "a discount is 0-10000 basis points");
	if (ch->set_discount && ch->discount_bp > bound)
		return refuse(a->no, 422, "discount_beyond_bound", "discount_bp",
			      "a discount of %u.%02u %% is beyond what %s allows: at most %u.%02u %% (%u basis points)",
			      ch->discount_bp / 100, ch->discount_bp % 100, v.name, bound / 100, bound % 100, bound);
	if (ch->state == RD_OPP_WON && o->state != RD_OPP_PUBLISHED_PARTNER && o->state != RD_OPP_PUBLISHED_VENDOR &&
	    o->state != RD_OPP_ACCEPTED)
		return refuse(a->no, 409, "conflict", "state", "only a published or accepted quote can be won (this one is %s)",
			      state_name(o->state));
	json_t *before = amend_json(o);
	char note[256] = "", part[200];
	if (ch->set_discount && ch->discount_bp != o->discount_bp) {
		snprintf(part, sizeof part, "discount %u.%02u %% (was %u.%02u %%, bound %u.%02u %%); ", ch->discount_bp / 100,
			 ch->discount_bp % 100, o->discount_bp / 100, o->discount_bp % 100, bound / 100, bound % 100);
		strncat(note, part, sizeof note - strlen(note) - 1);
		o->discount_bp = ch->discount_bp;
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
		if ((rc = add_note(o, c->who.user, ch->note, a->no)) < 0) {
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
	if ((rc = rd_entity_put(t, d->opportunities, &rd_entity_opportunity, c->who.vendor, o, 0)) == 0)
		rc = rd_audit_write(t, d, c->who.vendor, c->who.user, RD_AUDIT_UPDATE, "opportunities", o->id, before, after,
				    note);
	/* Won in publish-partner mode: the partner of record sold it itself,
	 * and the contract renews in this transaction (services/renewal.c). */
	uint64_t renewed;
	if (rc == 0 && ch->state == RD_OPP_WON && o->publish == RD_PUBLISH_PARTNER)
		rc = rd_renewal_won(t, d, c->who.vendor, c->who.user, o, &renewed);
	json_decref(before);
	json_decref(after);
	return rc;
}

int rd_sales_amend(struct call *c, uint64_t id, const struct rd_sales_change *ch, struct rd_opportunity *out,
		   struct rd_sales_refusal *no)
{
	memset(no, 0, sizeof *no);
	if (amend_scope(c->who.role) == RD_SCOPE_NONE)
		return refuse(no, 403, "forbidden", NULL, "a %s may not amend opportunities", rd_role_name(c->who.role));
	if (!ch->set_discount && !ch->state && (!ch->note || !*ch->note))
		return refuse(no, 400, "invalid", NULL, "nothing to change: give discount_bp, state or note");
	if (ch->state && ch->state != RD_OPP_WON && ch->state != RD_OPP_LOST)
		return refuse(no, 400, "invalid", "state", "a sales person marks an opportunity won or lost");
	if (ch->state == RD_OPP_LOST && (rd_blank(ch->lost_reason) || strlen(ch->lost_reason) >= sizeof out->lost_reason))
		return refuse(no, 400, "invalid", "lost_reason", "a lost opportunity needs its reason (1-127 bytes)");
	if (ch->state != RD_OPP_LOST && ch->lost_reason && *ch->lost_reason)
		return refuse(no, 400, "invalid", "lost_reason", "lost_reason goes with state lost");
	if (ch->note && (rd_blank(ch->note) ? *ch->note != 0 : strlen(ch->note) > NOTE_MAX))
		return refuse(no, 400, "invalid", "note", "a note is 1-%d bytes of text", NOTE_MAX);
	if (!id)
		return refuse(no, 404, "not_found", "id", "no such opportunity");
	struct amend a = { c, id, ch, out, no };
	return rd_store_write(c->app->store, amend_write, &a);
}
