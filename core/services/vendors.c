/*
 * vendors.c: the platform operator (vendors.h).  An operator token lives in
 * its own table (operator_tokens), so no vendor's token or session can ever
 * be taken for one, and an operator token opens no vendor's routes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "domain/money.h"
#include "policy/runtime.h"
#include "services/imports.h"
#include "services/records.h"
#include "services/vendors.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

int rd_operator_verify(struct rd_app *app, const char *token, struct rd_operator *op, struct rd_serr *e)
{
	memset(op, 0, sizeof *op);
	char hash[RD_TOKEN_HASH_HEX];
	if (!token || !*token)
		return rd_serr_set(e, RD_EINVAL, "unauthenticated", NULL,
				   "the operator API needs an operator token (Authorization: Bearer ...; renewctl operator token create)");
	if (!rd_token_hash(token, hash))
		return rd_serr_set(e, RD_EINVAL, "unauthenticated", NULL, "the token is malformed");
	struct rd_domain *d = app->domain;
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	uint64_t id;
	struct rd_operator_token ot;
	if (rd_index_find(t, d->operator_tokens, "hash", 0, hash, strlen(hash) + 1, &id) == 0 &&
	    rd_entity_get(t, d->operator_tokens, &rd_entity_operator_token, 0, id, &ot) == 0 && rd_hash_equal(ot.hash, hash)) {
		rd_txn_end(t);
		if (ot.revoked_at)
			return rd_serr_set(e, RD_EINVAL, "unauthenticated", NULL, "the operator token was revoked");
		op->token = ot.id;
		snprintf(op->name, sizeof op->name, "%s", ot.name);
		return 0;
	}
	/* A vendor's token: known, but no operator's. */
	bool vendors = rd_index_find(t, d->tokens, "hash", 0, hash, strlen(hash) + 1, &id) == 0;
	rd_txn_end(t);
	if (vendors)
		return rd_serr_set(e, -EACCES, "forbidden", NULL,
				   "this is a vendor's token: the operator API takes operator tokens only");
	return rd_serr_set(e, RD_EINVAL, "unauthenticated", NULL, "the token is not known");
}

struct token_new {
	struct rd_domain *d;
	struct rd_operator_token *ot;
};

static int token_write(struct rd_txn *t, void *arg)
{
	struct token_new *n = arg;
	n->ot->id = 0;
	return rd_entity_put(t, n->d->operator_tokens, &rd_entity_operator_token, 0, n->ot, 0);
}

int rd_operator_token_create(struct rd_store *s, struct rd_domain *d, const char *name,
			     char secret[RD_TOKEN_LEN + 1], struct rd_operator_token *out, struct rd_serr *e)
{
	memset(out, 0, sizeof *out);
	if (!name || !*name || strlen(name) >= sizeof out->name)
		return rd_serr_set(e, RD_EINVAL, "invalid", "name", "an operator token needs a name of 1 to %zu bytes",
				   sizeof out->name - 1);
	snprintf(out->name, sizeof out->name, "%s", name);
	rd_token_new(secret, out->hash);
	out->created_at = rd_clock_now();
	struct token_new n = { .d = d, .ot = out };
	int rc = rd_store_write(s, token_write, &n);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "the operator token could not be stored: %s", rd_strerror(rc));
	return 0;
}

/* ---- vendors ------------------------------------------------------------------------- */

bool rd_vendor_slug_ok(const char *s)
{
	if (!s || !*s || *s == '-' || strlen(s) >= RD_EXT_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

void rd_vendor_defaults(struct rd_vendor *v)
{
	v->renewal_window_days = 90;
	v->decision_window_days = 14;
	v->publish_default = RD_PUBLISH_VENDOR;
	v->statement_day = 20;
	v->deal_bonus_bp = 500;
	v->distributor_bp = 300;
}

int rd_vendor_new_check(const struct rd_vendor_new *n, struct rd_serr *e)
{
	if (!n->name || !*n->name || strlen(n->name) >= RD_NAME_MAX)
		return rd_serr_set(e, RD_EINVAL, "invalid", "name", "name must be 1 to %d bytes", RD_NAME_MAX - 1);
	if (!rd_vendor_slug_ok(n->slug))
		return rd_serr_set(e, RD_EINVAL, "invalid", "slug", RD_VENDOR_SLUG_RULE, RD_EXT_MAX - 1);
	const char *c = n->currency;
	if (!c || strlen(c) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' || c[2] < 'A' || c[2] > 'Z')
		return rd_serr_set(e, RD_EINVAL, "invalid", "currency", "currency must be an ISO 4217 code such as GBP");
	const char *m = n->admin_email;
	if (!m || strlen(m) >= RD_NAME_MAX || !strchr(m, '@') || strchr(m, '@') == m || !strchr(m, '@')[1] ||
	    strpbrk(m, " \t\r\n<>,;\""))
		return rd_serr_set(e, RD_EINVAL, "invalid", "admin.email", "admin.email must be an e-mail address");
	if (n->admin_name && strlen(n->admin_name) >= RD_NAME_MAX)
		return rd_serr_set(e, RD_EINVAL, "invalid", "admin.name", "admin.name must be under %d bytes", RD_NAME_MAX);
	return 0;
}

struct vendor_new {
	struct rd_domain *d;
	const struct rd_operator *op;
	struct rd_vendor *v;
	struct rd_user *u;
	struct rd_token tok;
	struct rd_serr *e;
};

static int find_slug(struct rd_txn *t, struct rd_domain *d, const char *slug, uint64_t *id)
{
	struct rd_iter it;
	struct rd_item item;
	struct rd_vendor *v = rd_malloc(sizeof *v);
	int rc = rd_iter_records(&it, t, d->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_vendor, item.val, item.len, v) == 0 && !strcmp(v->slug, slug)) {
			*id = v->id;
			break;
		}
	rd_iter_close(&it);
	free(v);
	return rc < 0 ? rc : rc > 0 ? 0 : RD_ENOTFOUND;
}

static void operator_note(const struct rd_operator *op, const char *what, char *out, size_t cap)
{
	snprintf(out, cap, "operator %llu (%s): %s", (unsigned long long)op->token, op->name, what);
}

static int vendor_write(struct rd_txn *t, void *arg)
{
	struct vendor_new *n = arg;
	struct rd_domain *d = n->d;
	uint64_t other;
	int rc = find_slug(t, d, n->v->slug, &other);
	if (rc == 0)
		return rd_serr_set(n->e, RD_EEXISTS, "conflict", "slug", "a vendor with slug \"%s\" exists (id %llu)",
				   n->v->slug, (unsigned long long)other);
	if (rc != RD_ENOTFOUND)
		return rc;
	n->v->id = 0;
	if ((rc = rd_entity_put(t, d->vendors, &rd_entity_vendor, 0, n->v, 0)) < 0 ||
	    (rc = rd_policy_seed_defaults(t, d, n->v)) < 0)
		return rc;
	n->u->id = 0;
	if ((rc = rd_entity_put(t, d->users, &rd_entity_user, n->v->id, n->u, 0)) < 0)
		return rc;
	n->tok.id = 0;
	n->tok.vendor_id = n->v->id;
	n->tok.user_id = n->u->id;
	if ((rc = rd_entity_put(t, d->tokens, &rd_entity_token, 0, &n->tok, 0)) < 0)
		return rc;
	char note[400];
	operator_note(n->op, "vendor created with its first administrator", note, sizeof note);
	json_t *after = rd_entity_to_json(&rd_entity_vendor, n->v);
	rc = rd_audit_write(t, d, n->v->id, 0, RD_AUDIT_CREATE, "vendors", n->v->id, NULL, after, note);
	json_decref(after);
	if (rc < 0)
		return rc;
	after = rd_entity_to_json(&rd_entity_user, n->u);
	rc = rd_audit_write(t, d, n->v->id, 0, RD_AUDIT_CREATE, "users", n->u->id, NULL, after, note);
	json_decref(after);
	return rc;
}

int rd_vendor_create(struct rd_app *app, const struct rd_operator *op, const struct rd_vendor_new *n,
		     struct rd_vendor *v, struct rd_user *u, char secret[RD_TOKEN_LEN + 1], struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	memset(v, 0, sizeof *v);
	memset(u, 0, sizeof *u);
	int rc = rd_vendor_new_check(n, e);
	if (rc < 0)
		return rc;
	snprintf(v->name, sizeof v->name, "%s", n->name);
	snprintf(v->slug, sizeof v->slug, "%s", n->slug);
	memcpy(v->currency, n->currency, 4);
	rd_vendor_defaults(v);
	for (size_t i = 0; n->admin_email[i] && i + 1 < sizeof u->email; i++)
		u->email[i] = (char)(n->admin_email[i] >= 'A' && n->admin_email[i] <= 'Z' ? n->admin_email[i] + 32
											: n->admin_email[i]);
	snprintf(u->name, sizeof u->name, "%s", n->admin_name && *n->admin_name ? n->admin_name : n->admin_email);
	u->role = RD_ROLE_VENDOR_ADMIN;
	u->created_at = rd_clock_now();
	if (n->admin_password_hash)
		snprintf(u->password_hash, sizeof u->password_hash, "%s", n->admin_password_hash);
	struct vendor_new w = { .d = app->domain, .op = op, .v = v, .u = u, .e = e };
	rd_token_new(secret, w.tok.hash);
	snprintf(w.tok.name, sizeof w.tok.name, "first administrator (operator %.90s)", op->name);
	w.tok.kind = RD_TOKEN_API;
	w.tok.created_at = u->created_at;
	rc = rd_store_write(app->store, vendor_write, &w);
	if (rc < 0 && !e->rc)
		rd_serr_set(e, rc, "internal", NULL, "the vendor could not be stored: %s", rd_strerror(rc));
	if (rc < 0)
		memset(secret, 0, RD_TOKEN_LEN + 1);
	return rc < 0 ? e->rc : 0;
}

struct suspend {
	struct rd_domain *d;
	const struct rd_operator *op;
	uint64_t id;
	bool suspend;
	const char *reason;
	struct rd_vendor *v;
	struct rd_serr *e;
};

static int suspend_write(struct rd_txn *t, void *arg)
{
	struct suspend *s = arg;
	int rc = rd_entity_get(t, s->d->vendors, &rd_entity_vendor, 0, s->id, s->v);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(s->e, rc, "not_found", NULL, "no vendor %llu", (unsigned long long)s->id);
	if (rc < 0)
		return rc;
	if ((s->v->suspended != 0) == s->suspend)
		return 0; /* already so: nothing changes */
	json_t *before = json_pack("{s:b}", "suspended", s->v->suspended != 0);
	s->v->suspended = s->suspend;
	s->v->suspended_at = s->suspend ? rd_clock_now() : 0;
	snprintf(s->v->suspended_reason, sizeof s->v->suspended_reason, "%s", s->suspend && s->reason ? s->reason : "");
	if ((rc = rd_entity_put(t, s->d->vendors, &rd_entity_vendor, 0, s->v, 0)) < 0) {
		json_decref(before);
		return rc;
	}
	json_t *after = json_pack("{s:b, s:s}", "suspended", s->suspend, "reason", s->v->suspended_reason);
	char note[400];
	operator_note(s->op, s->suspend ? "vendor suspended" : "vendor resumed", note, sizeof note);
	rc = rd_audit_write(t, s->d, s->v->id, 0, RD_AUDIT_UPDATE, "vendors", s->v->id, before, after, note);
	json_decref(before);
	json_decref(after);
	return rc;
}

int rd_vendor_suspend(struct rd_app *app, const struct rd_operator *op, uint64_t id, bool suspend, const char *reason,
		      struct rd_vendor *out, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	if (reason && strlen(reason) >= sizeof out->suspended_reason)
		return rd_serr_set(e, RD_EINVAL, "invalid", "reason", "reason must be under %zu bytes",
				   sizeof out->suspended_reason);
	if (!id)
		return rd_serr_set(e, RD_ENOTFOUND, "not_found", NULL, "no such vendor");
	struct suspend s = { .d = app->domain, .op = op, .id = id, .suspend = suspend, .reason = reason, .v = out, .e = e };
	int rc = rd_store_write(app->store, suspend_write, &s);
	if (rc < 0 && !e->rc)
		rd_serr_set(e, rc, "internal", NULL, "the vendor could not be stored: %s", rd_strerror(rc));
	return rc < 0 ? e->rc : 0;
}

int rd_vendor_get(struct rd_app *app, uint64_t id, struct rd_vendor *out, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	rc = id ? rd_entity_get(t, app->domain->vendors, &rd_entity_vendor, 0, id, out) : RD_ENOTFOUND;
	rd_txn_end(t);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(e, rc, "not_found", NULL, "no vendor %llu", (unsigned long long)id);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	return 0;
}

/* ---- a vendor's own settings ----------------------------------------------------------- */

int rd_vendor_settings_check(struct rd_txn *t, const struct rd_app *app, const struct rd_vendor *v,
			     const struct rd_vendor *old, struct rd_serr *e)
{
	if (strcmp(v->slug, old->slug) != 0)
		return rd_serr_set(e, RD_EINVAL, "invalid", "slug", "a vendor's slug is fixed when it is created");
	if (!v->name[0])
		return rd_serr_set(e, RD_EINVAL, "invalid", "name", "name is required: the vendor's name on its pages and e-mails");
	if (strcmp(v->notify_email, old->notify_email) && !rd_record_valid_email(v->notify_email))
		return rd_serr_set(e, RD_EINVAL, "invalid", "notify_email", "notify_email is not an e-mail address");
	if (v->renewal_window_days == 0 || v->renewal_window_days > 365)
		return rd_serr_set(e, RD_EINVAL, "invalid", "renewal_window_days", "renewal_window_days must be 1-365");
	if (v->decision_window_days > 90)
		return rd_serr_set(e, RD_EINVAL, "invalid", "decision_window_days", "decision_window_days must be 0-90");
	if (v->statement_day < 1 || v->statement_day > 28)
		return rd_serr_set(e, RD_EINVAL, "invalid", "statement_day", "statement_day must be 1-28");
	if (v->deal_bonus_bp > 10000 || v->distributor_bp > 10000 || v->max_discount_bp > 10000)
		return rd_serr_set(e, RD_EINVAL, "invalid",
				   v->deal_bonus_bp > 10000 ? "deal_bonus_bp" : v->distributor_bp > 10000 ? "distributor_bp"
													: "max_discount_bp",
				   "basis points are 0-10000");
	if (v->deal_expiry_days > 3650 || v->deal_extension_days > 3650 || v->deal_extension_limit > 100 ||
	    v->deal_response_hours > 8760)
		return rd_serr_set(e, RD_EINVAL, "invalid",
				   v->deal_expiry_days > 3650	  ? "deal_expiry_days"
				   : v->deal_extension_days > 3650 ? "deal_extension_days"
				   : v->deal_extension_limit > 100  ? "deal_extension_limit"
								    : "deal_response_hours",
				   "deal_expiry_days and deal_extension_days are 0-3650, deal_extension_limit 0-100, "
				   "deal_response_hours 0-8760 (0: the default)");
	char why[256];
	if (rd_feed_precedence_problem(v->feed_precedence, why, sizeof why))
		return rd_serr_set(e, RD_EINVAL, "invalid", "feed_precedence", "%s", why);
	if ((v->policy_memory_kb && (v->policy_memory_kb < 1024 || v->policy_memory_kb > 262144)) ||
	    (v->policy_instructions && (v->policy_instructions < 10000 || v->policy_instructions > 100000000)))
		return rd_serr_set(e, RD_EINVAL, "invalid",
				   v->policy_memory_kb > 262144 || (v->policy_memory_kb && v->policy_memory_kb < 1024)
					   ? "policy_memory_kb"
					   : "policy_instructions",
				   "policy_memory_kb is 1024-262144 (0: 16384) and policy_instructions 10000-100000000 "
				   "(0: 1000000)");
	if (v->sales_user_id && v->sales_user_id != old->sales_user_id) {
		/* the vendor's sales person: one of the vendor's own people */
		struct rd_user *u = rd_malloc(sizeof *u);
		int rc = rd_entity_get(t, app->domain->users, &rd_entity_user, old->id, v->sales_user_id, u);
		bool ok = rc == 0 && !u->partner_id && !u->disabled;
		free(u);
		if (rc < 0 && rc != RD_ENOTFOUND)
			return rd_serr_store(e, rc);
		if (!ok)
			return rd_serr_set(e, RD_EINVAL, "invalid", "sales_user_id",
					   "sales_user_id must be the id of one of the vendor's users");
	}
	return 0;
}

struct settings_save {
	const struct rd_app *app;
	const struct rd_actor *who;
	const struct rd_vendor_text *f;
	size_t n;
	struct rd_vendor v, old;
	struct rd_serr *e;
};

static int settings_write(struct rd_txn *t, void *arg)
{
	struct settings_save *s = arg;
	int rc = rd_entity_get(t, s->app->domain->vendors, &rd_entity_vendor, 0, s->who->vendor, &s->old);
	if (rc < 0)
		return rd_serr_store(s->e, rc);
	s->v = s->old;
	for (size_t i = 0; i < s->n; i++) {
		const char *name = s->f[i].name, *text = s->f[i].text ? s->f[i].text : "";
		if (!strcmp(name, "max_discount")) { /* per cent, as a person writes it: 12.5 */
			int64_t bp; /* a per cent with up to two decimals is a whole number of basis points */
			if (rd_money_parse_decimal(text, "EUR", &bp) < 0 || bp < 0 || bp > 10000)
				return rd_serr_set(s->e, RD_EINVAL, "invalid", name,
						   "the largest discount is a per cent from 0 to 100, such as 10 or 12.5");
			s->v.max_discount_bp = (uint32_t)bp;
			s->v.max_discount_set = 1;
			continue;
		}
		const struct rd_field *f = rd_entity_field(&rd_entity_vendor, name);
		if (!f || !strcmp(name, "slug") || !strcmp(name, "currency") || !strcmp(name, "suspended") ||
		    !strcmp(name, "suspended_at") || !strcmp(name, "suspended_reason") || !strcmp(name, "margin_version") ||
		    !strcmp(name, "routing_version") || (f->flags & (RD_FF_READONLY | RD_FF_PRIVATE)))
			return rd_serr_set(s->e, RD_EINVAL, "invalid", name, "%s is not a setting of the form", name);
		if (!*text && f->type != RD_F_STR) {
			memset((char *)&s->v + f->off, 0, f->size);
			continue;
		}
		char why[256];
		if ((rc = rd_field_set_text(f, &s->v, text, why, sizeof why)) < 0)
			return rd_serr_set(s->e, RD_EINVAL, "invalid", name, "%s", why);
	}
	if ((rc = rd_vendor_settings_check(t, s->app, &s->v, &s->old, s->e)) < 0)
		return rc;
	if ((rc = rd_entity_put(t, s->app->domain->vendors, &rd_entity_vendor, 0, &s->v, 0)) < 0)
		return rd_serr_store(s->e, rc);
	json_t *before = rd_entity_to_json(&rd_entity_vendor, &s->old), *after = rd_entity_to_json(&rd_entity_vendor, &s->v);
	rc = rd_audit_write(t, s->app->domain, s->v.id, s->who->user, RD_AUDIT_UPDATE, "vendor", s->v.id, before, after,
			    NULL);
	json_decref(before);
	json_decref(after);
	return rc < 0 ? rd_serr_store(s->e, rc) : 0;
}

int rd_vendor_settings_save(const struct rd_app *app, const struct rd_actor *who, const struct rd_vendor_text *f,
			    size_t n, struct rd_vendor *out, struct rd_serr *e)
{
	struct settings_save *s = rd_calloc(1, sizeof *s);
	*s = (struct settings_save){ .app = app, .who = who, .f = f, .n = n, .e = e };
	memset(e, 0, sizeof *e);
	int rc = rd_store_write(app->store, settings_write, s);
	if (rc == 0)
		*out = s->v;
	else if (!e->code)
		rd_serr_store(e, rc);
	free(s);
	return rc;
}
