/*
 * users.h: the rule for people's accounts (core/services/users.c): one rule
 * for the API (POST and PATCH /api/v1/users) and the console's and the
 * partner portal's users pages (/vendor/users, /partner/users).
 *
 *   - an e-mail address is stored lower-case and is unique within the vendor;
 *   - a partner role belongs to one of the vendor's partners, a vendor role
 *     to none;
 *   - a caller who manages users of its own scope only (the role matrix's
 *     "own": a partner admin) creates and changes users of its own partner,
 *     with partner roles only; any other "own" caller (a sales person)
 *     changes its own name and e-mail, never a role, a partner or whether
 *     an account is disabled;
 *   - nobody disables themself or changes their own role.
 * Whether the caller may create or change users at all is the role
 * matrix's (the caller checks it).
 */
#ifndef RD_SERVICES_USERS_H
#define RD_SERVICES_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"
#include "store/store.h"

/* Who manages users: the actor with its role. */
struct rd_user_caller {
	uint64_t vendor, user, partner; /* partner: a partner role's partner */
	uint8_t role;                   /* enum rd_role */
};

/* Inside a transaction: checks (and normalises: the e-mail lower-cased) x,
 * a new user (old NULL) or old changed into x, as by.  0, or a refusal in
 * e: RD_EINVAL with field email, role or partner_id; RD_EEXISTS (field
 * email, code "conflict") for an address another user has. */
int rd_user_check(struct rd_txn *t, struct rd_domain *d, const struct rd_user_caller *by, struct rd_user *x,
		  const struct rd_user *old, struct rd_serr *e);

/* Whether by may see user u (its scope: every user of the vendor, its
 * partner's users, or itself). */
bool rd_user_visible(const struct rd_user_caller *by, const struct rd_user *u);

/* Inside a transaction: a user's password was changed, so whoever signed
 * in with the old one is signed out: every live session (token kind
 * session) of user in vendor is revoked, but keep (the session that made
 * the change; 0: none).  API tokens are credentials of their own and are
 * kept.  The number revoked, or the store's error. */
int rd_user_sessions_end(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, uint64_t keep);

/* Removes up to limit tokens (sessions, customer sessions, API tokens) whose
 * expiry is at or before now: an expired token authenticates nobody, and
 * its record would otherwise stay for ever (a flood of logins, or time
 * alone, would grow the tokens table without end).  By the tokens' expiry
 * index: O(the tokens removed), oldest expiry first; a token that never
 * expires is never removed.  One write; the number removed (limit: more may
 * wait), or the store's error.  The daemon calls it every minute
 * (docs/operations.md "Expired sessions"). */
int rd_tokens_purge(struct rd_store *s, struct rd_domain *d, uint64_t now, size_t limit);

/* What a page or an API call changes: a new user (id 0: email, name, role,
 * partner_id and the password's hash are taken), or user id's role and
 * whether it is disabled. */
struct rd_user_change {
	uint64_t id;
	bool set_role, set_disabled;
	uint8_t role;
	uint64_t partner_id;
	uint32_t disabled;
	char email[RD_NAME_MAX], name[RD_NAME_MAX];
	char password_hash[128];
};

/* Creates or changes a user as by, in a write of its own, audited
 * ("users").  0 with the user in *out (its hash cleared), or a refusal in
 * e: RD_ENOTFOUND (field id: no such user in by's scope of changes, as
 * for PATCH /api/v1/users/{id}), the refusals of
 * rd_user_check; or the store's error. */
int rd_user_save(struct rd_app *app, const struct rd_user_caller *by, const struct rd_user_change *ch,
		 struct rd_user *out, struct rd_serr *e);

/* rd_user_save with guard called first in the same write transaction: a
 * guard's error (< 0) is returned as it is and nothing is written (the
 * caller's own re-check of who asked, e.g. after the password was hashed
 * on another thread: in the write, no other writer can come between). */
typedef int (*rd_user_guard_fn)(struct rd_txn *t, void *arg);
int rd_user_save_guarded(struct rd_app *app, const struct rd_user_caller *by, const struct rd_user_change *ch,
			 struct rd_user *out, struct rd_serr *e, rd_user_guard_fn guard, void *guard_arg);

#endif
