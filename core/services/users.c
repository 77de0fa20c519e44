/*
 * users.c: the rule for people's accounts (users.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "domain/audit.h"
#include "services/records.h"
#include "services/users.h"
#include "util/clock.h"
#include "util/err.h"

static bool visible_for(const struct rd_user_caller *by, const struct rd_user *u, enum rd_action act)
{
	switch (rd_authz(by->role, RD_RES_USER, act)) {
	case RD_SCOPE_ALL:
		return true;
	case RD_SCOPE_OWN:
		return by->role == RD_ROLE_PARTNER_ADMIN ? u->partner_id == by->partner : u->id == by->user;
	default:
		return false;
	}
}

bool rd_user_visible(const struct rd_user_caller *by, const struct rd_user *u)
{
	return visible_for(by, u, RD_ACT_READ);
}

int rd_user_check(struct rd_txn *t, struct rd_domain *d, const struct rd_user_caller *by, struct rd_user *x,
		  const struct rd_user *old, struct rd_serr *e)
{
	for (char *s = x->email; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	if (!x->email[0] || !rd_record_valid_email(x->email))
		return rd_serr_set(e, RD_EINVAL, "invalid", "email", "email is not an e-mail address");
	uint64_t other;
	int rc = rd_index_find(t, d->users, "email", by->vendor, x->email, strlen(x->email) + 1, &other);
	if (rc < 0 && rc != RD_ENOTFOUND)
		return rd_serr_store(e, rc);
	if (rc == 0 && other != x->id)
		return rd_serr_set(e, RD_EEXISTS, "conflict", "email", "a user with this e-mail exists");
	if (x->role < 1 || x->role > 5)
		return rd_serr_set(e, RD_EINVAL, "invalid", "role", "role is not one of the roles");
	if (rd_role_is_partner(x->role)) {
		struct rd_partner pa;
		if ((rc = rd_entity_get(t, d->partners, &rd_entity_partner, by->vendor, x->partner_id, &pa)) < 0)
			return rc != RD_ENOTFOUND ? rd_serr_store(e, rc)
						  : rd_serr_set(e, RD_EINVAL, "invalid", "partner_id",
								"a partner role needs the partner_id of a partner");
	} else if (x->partner_id) {
		return rd_serr_set(e, RD_EINVAL, "invalid", "partner_id", "a vendor role has no partner_id");
	}
	/* Callers who manage only their own user (or their partner's) cannot
	 * raise roles or move users between partners. */
	if (rd_authz(by->role, RD_RES_USER, old ? RD_ACT_UPDATE : RD_ACT_CREATE) == RD_SCOPE_OWN) {
		if (by->role == RD_ROLE_PARTNER_ADMIN) {
			if (!rd_role_is_partner(x->role) || x->partner_id != by->partner)
				return rd_serr_set(e, RD_EINVAL, "invalid", "role",
						   "a partner admin manages users of its own partner only");
		} else if (!old || x->role != old->role || x->partner_id != old->partner_id || x->disabled != old->disabled) {
			return rd_serr_set(e, RD_EINVAL, "invalid", "role", "you may change your own name and e-mail only");
		}
	}
	if (old && x->id == by->user && (x->disabled || x->role != old->role))
		return rd_serr_set(e, RD_EINVAL, "invalid", "role", "you cannot disable yourself or change your own role");
	return 0;
}

struct save {
	struct rd_app *app;
	const struct rd_user_caller *by;
	const struct rd_user_change *ch;
	struct rd_user *out;
	struct rd_serr *e;
	rd_user_guard_fn guard;
	void *guard_arg;
};

static int save_write(struct rd_txn *t, void *arg)
{
	struct save *s = arg;
	struct rd_domain *d = s->app->domain;
	const struct rd_user_change *ch = s->ch;
	struct rd_user old, *x = s->out;
	int rc;
	s->e->rc = 0;
	if (s->guard && (rc = s->guard(t, s->guard_arg)) < 0)
		return rc; /* the caller is no longer allowed: nothing written */
	if (ch->id) {
		rc = rd_entity_get(t, d->users, &rd_entity_user, s->by->vendor, ch->id, &old);
		if (rc == RD_ENOTFOUND || (rc == 0 && !visible_for(s->by, &old, RD_ACT_UPDATE)))
			return rd_serr_set(s->e, RD_ENOTFOUND, "not_found", "id", "no such user");
		if (rc < 0)
			return rc;
		*x = old;
		if (ch->set_role) {
			x->role = ch->role;
			x->partner_id = ch->partner_id;
		}
		if (ch->set_disabled)
			x->disabled = ch->disabled;
	} else {
		memset(x, 0, sizeof *x);
		snprintf(x->email, sizeof x->email, "%s", ch->email);
		snprintf(x->name, sizeof x->name, "%s", ch->name);
		memcpy(x->password_hash, ch->password_hash, sizeof x->password_hash);
		x->role = ch->role;
		x->partner_id = ch->partner_id;
		x->created_at = rd_clock_now();
		if (!x->name[0])
			return rd_serr_set(s->e, RD_EINVAL, "invalid", "name", "name is required");
	}
	if ((rc = rd_user_check(t, d, s->by, x, ch->id ? &old : NULL, s->e)) < 0)
		return rc;
	if ((rc = rd_entity_put(t, d->users, &rd_entity_user, s->by->vendor, x, 0)) < 0)
		return rc;
	json_t *before = ch->id ? rd_entity_to_json(&rd_entity_user, &old) : NULL;
	json_t *after = rd_entity_to_json(&rd_entity_user, x);
	rc = rd_audit_write(t, d, s->by->vendor, s->by->user, ch->id ? RD_AUDIT_UPDATE : RD_AUDIT_CREATE, "users", x->id,
			    before, after, ch->id ? NULL : "password set");
	json_decref(before);
	json_decref(after);
	return rc;
}

int rd_user_sessions_end(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, uint64_t keep)
{
	/* The user's tokens by the tokens' user index (a walk of every token
	 * grew with every sign-in ever made); the ones to revoke are gathered
	 * first, then written. */
	size_t n = 0, cap = 0;
	uint64_t *ids = NULL;
	struct rd_iter it;
	struct rd_item item;
	uint8_t from[16], to[16];
	rd_key_put_u64(from, vendor);
	rd_key_put_u64(from + 8, user);
	rd_key_put_u64(to, vendor);
	rd_key_put_u64(to + 8, user + 1);
	int rc = rd_iter_index(&it, t, d->tokens, RD_IDX_TOKEN_USER, 0, from, 16, to, 16);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_token tok;
		if (rd_entity_decode(&rd_entity_token, item.val, item.len, &tok) < 0 || tok.kind != RD_TOKEN_SESSION ||
		    tok.vendor_id != vendor || tok.user_id != user || tok.revoked_at || tok.id == keep)
			continue;
		if (n == cap)
			ids = rd_realloc(ids, (cap = cap ? cap * 2 : 8) * sizeof *ids);
		ids[n++] = tok.id;
	}
	rd_iter_close(&it);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		struct rd_token tok;
		if ((rc = rd_entity_get(t, d->tokens, &rd_entity_token, 0, ids[i], &tok)) < 0)
			break;
		tok.revoked_at = rd_clock_now();
		rc = rd_entity_put(t, d->tokens, &rd_entity_token, 0, &tok, 0);
	}
	free(ids);
	return rc < 0 ? rc : (int)n;
}

struct purge {
	struct rd_domain *d;
	uint64_t now;
	size_t limit, n;
};

static int purge_write(struct rd_txn *t, void *arg)
{
	struct purge *p = arg;
	p->n = 0;
	if (!p->limit || p->now == UINT64_MAX)
		return 0;
	uint64_t *ids = rd_malloc(p->limit * sizeof *ids);
	struct rd_iter it;
	struct rd_item item;
	uint8_t from[8], to[8];
	rd_key_put_u64(from, 1);
	rd_key_put_u64(to, p->now + 1); /* exclusive: expires_at <= now */
	int rc = rd_iter_index(&it, t, p->d->tokens, RD_IDX_TOKEN_EXPIRES, 0, from, 8, to, 8);
	size_t m = 0;
	while (rc >= 0 && m < p->limit && (rc = rd_iter_next(&it, &item)) > 0)
		ids[m++] = item.id;
	rd_iter_close(&it);
	for (size_t i = 0; rc >= 0 && i < m; i++) {
		/* the record itself says when it expires: the index only finds it */
		struct rd_token tok;
		rc = rd_entity_get(t, p->d->tokens, &rd_entity_token, 0, ids[i], &tok);
		if (rc == RD_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc >= 0 && tok.expires_at && tok.expires_at <= p->now && (rc = rd_txn_del(t, p->d->tokens, 0, ids[i])) >= 0)
			p->n++;
	}
	free(ids);
	return rc < 0 ? rc : 0;
}

int rd_tokens_purge(struct rd_store *s, struct rd_domain *d, uint64_t now, size_t limit)
{
	struct purge p = { d, now, limit, 0 };
	int rc = rd_store_write(s, purge_write, &p);
	return rc < 0 ? rc : (int)p.n;
}

int rd_user_save(struct rd_app *app, const struct rd_user_caller *by, const struct rd_user_change *ch,
		 struct rd_user *out, struct rd_serr *e)
{
	return rd_user_save_guarded(app, by, ch, out, e, NULL, NULL);
}

int rd_user_save_guarded(struct rd_app *app, const struct rd_user_caller *by, const struct rd_user_change *ch,
			 struct rd_user *out, struct rd_serr *e, rd_user_guard_fn guard, void *guard_arg)
{
	struct save s = { app, by, ch, out, e, guard, guard_arg };
	e->rc = 0;
	int rc = rd_store_write(app->store, save_write, &s);
	memset(out->password_hash, 0, sizeof out->password_hash);
	if (rc < 0 && e->rc != rc)
		rd_serr_set(e, rc, "internal", NULL, "%s", rd_strerror(rc));
	return rc;
}
