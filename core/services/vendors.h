/*
 * vendors.h: the platform operator's rules (core/services/vendors.c): who
 * an operator is (a token made by renewctl operator token create, outside
 * every vendor), and creating, suspending and resuming vendors with their
 * first administrator.  The API's /api/v1/operator/ routes and renewctl use
 * them; docs/security.md ("Operator") states the promises.
 */
#ifndef RD_SERVICES_VENDORS_H
#define RD_SERVICES_VENDORS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

/* The operator of one request. */
struct rd_operator {
	uint64_t token;               /* its operator token's id */
	char name[RD_NAME_MAX];       /* the token's name, for the audit */
};

/* Verifies a presented operator token: 0 with *op filled; else a refusal:
 *   RD_EINVAL, "unauthenticated"   no token, malformed, unknown or revoked
 *   -EACCES, "forbidden"           a vendor's own token or session: valid,
 *                                  but not an operator's */
int rd_operator_verify(struct rd_app *app, const char *token, struct rd_operator *op, struct rd_serr *e);

/* Makes an operator token named name in the store (renewctl): 0 with the
 * secret (shown once) in secret and the record in *out. */
int rd_operator_token_create(struct rd_store *s, struct rd_domain *d, const char *name,
			     char secret[RD_TOKEN_LEN + 1], struct rd_operator_token *out, struct rd_serr *e);

/* A new vendor and its first administrator. */
struct rd_vendor_new {
	const char *name, *slug, *currency;
	const char *admin_email, *admin_name;
	const char *admin_password_hash; /* argon2id (rd_password_hash, off the loop); NULL: token only */
};

/* The one rule for a vendor's slug (the operator API and renewctl vendor
 * create): 1 to RD_EXT_MAX - 1 of a-z, 0-9 and '-', not starting with '-'. */
bool rd_vendor_slug_ok(const char *slug);
#define RD_VENDOR_SLUG_RULE "slug must be 1 to %d of a-z, 0-9 and '-', not starting with '-'"

/* A new vendor's settings as renewd gives them (the operator API and
 * renewctl vendor create): renewal and decision windows, who sells by
 * default, the statement day and the commission rates. */
void rd_vendor_defaults(struct rd_vendor *v);

/* Checks n's values before any hashing: 0 or RD_EINVAL naming the field. */
int rd_vendor_new_check(const struct rd_vendor_new *n, struct rd_serr *e);

/* Creates the vendor (its default policies seeded), its vendor-admin user
 * and an API token for that user (secret shown once), audited under the
 * new vendor as the operator's act.  RD_EINVAL (field), RD_EEXISTS (slug
 * taken, code "conflict"), or the store's error. */
int rd_vendor_create(struct rd_app *app, const struct rd_operator *op, const struct rd_vendor_new *n,
		     struct rd_vendor *v, struct rd_user *u, char secret[RD_TOKEN_LEN + 1], struct rd_serr *e);

/* Suspends (suspend true, with a reason) or resumes vendor id, audited.
 * 0 with the vendor in *out, RD_ENOTFOUND, RD_EINVAL (reason too long). */
int rd_vendor_suspend(struct rd_app *app, const struct rd_operator *op, uint64_t id, bool suspend, const char *reason,
		      struct rd_vendor *out, struct rd_serr *e);

/* Reads vendor id for the operator: 0 or RD_ENOTFOUND. */
int rd_vendor_get(struct rd_app *app, uint64_t id, struct rd_vendor *out, struct rd_serr *e);

/* A vendor's own settings (PATCH /api/v1/vendor and the console's settings
 * form): its slug is fixed; the windows, days and basis points within their
 * bounds; the feed precedence table well formed; its sales person one of
 * the vendor's own people, enabled (looked up in t when it changed from
 * old's).  0, RD_EINVAL with the field and a sentence in e, or the store's
 * error. */
int rd_vendor_settings_check(struct rd_txn *t, const struct rd_app *app, const struct rd_vendor *v,
			     const struct rd_vendor *old, struct rd_serr *e);

/* One setting as text, as a form gives it. */
struct rd_vendor_text {
	const char *name, *text;
};

/* A vendor's person changes its settings from text (the console's form:
 * numbers in decimal, enums by name, "" clears an optional one; the
 * vendor's discount bound in per cent as a person writes it, 12.5), read
 * and written in one write with its audit entry (object "vendor"), under
 * rd_vendor_settings_check.  0 with *out the vendor saved; RD_EINVAL with
 * the field and a sentence in e; or the store's error. */
int rd_vendor_settings_save(const struct rd_app *app, const struct rd_actor *who, const struct rd_vendor_text *f,
			    size_t n, struct rd_vendor *out, struct rd_serr *e);

#endif
