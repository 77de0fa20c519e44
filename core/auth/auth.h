/*
 * auth.h: who is calling, and may they do this?
 *
 * Authentication: passwords hashed with argon2id (libsodium crypto_pwhash),
 * API tokens and session cookies that are 256-bit random values shown once
 * and stored only as their BLAKE2b hash.  Authorisation: one role x action x
 * resource matrix (authz.c, documented in docs/security.md).
 */
#ifndef RD_AUTH_AUTH_H
#define RD_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rd_role {
	RD_ROLE_VENDOR_ADMIN = 1,
	RD_ROLE_CHANNEL_MANAGER = 2,
	RD_ROLE_VENDOR_SALES = 3,
	RD_ROLE_PARTNER_ADMIN = 4,
	RD_ROLE_PARTNER_SALES = 5,
};

/* The caller of one request. */
struct rd_principal {
	uint64_t vendor;   /* tenant */
	uint64_t user;
	uint64_t partner;  /* partner roles: the partner the user belongs to */
	uint8_t role;      /* enum rd_role */
	uint64_t token;    /* the token or session record that authenticated it */
	bool session;      /* cookie session rather than bearer token */
	/* Partner roles: the partners whose records the caller sees (its own and,
	 * for a distributor, its resellers).  Filled by the API layer. */
	uint64_t scope[64];
	unsigned n_scope;
	bool scope_truncated;
};

bool rd_role_is_partner(uint8_t role);

/* Must be called once before anything below (sodium_init). */
int rd_auth_init(void);

#define RD_PWHASH_MAX 128
/* argon2id, interactive limits.  Slow on purpose (tens of ms): call it off
 * the loop thread. */
int rd_password_hash(const char *password, char out[RD_PWHASH_MAX]);
bool rd_password_verify(const char *hash, const char *password);
/* Passwords: 10..256 bytes.  Returns NULL or why not. */
const char *rd_password_weak(const char *password);

#define RD_TOKEN_LEN 46      /* "rd_" + 43 base64url characters */
#define RD_TOKEN_HASH_HEX 65 /* 64 hex digits + NUL */
/* A new random token (NUL-terminated) and the hex hash that is stored. */
void rd_token_new(char token[RD_TOKEN_LEN + 1], char hash[RD_TOKEN_HASH_HEX]);
/* The stored form of a presented token; false when it is not shaped like one. */
bool rd_token_hash(const char *token, char hash[RD_TOKEN_HASH_HEX]);
/* Zeroes n bytes at p (a secret's copy), in a way the compiler keeps. */
void rd_wipe(void *p, size_t n);
/* Constant-time comparison of two hashes. */
bool rd_hash_equal(const char *a, const char *b);

/* ---- authorisation -------------------------------------------------------- */

enum rd_action { RD_ACT_READ = 1, RD_ACT_CREATE = 2, RD_ACT_UPDATE = 4, RD_ACT_DELETE = 8 };

enum rd_resource {
	RD_RES_VENDOR,    /* the vendor's own settings */
	RD_RES_PARTNER,
	RD_RES_USER,
	RD_RES_TOKEN,
	RD_RES_CUSTOMER,
	RD_RES_CONTACT,
	RD_RES_PRODUCT,
	RD_RES_CONTRACT,
	RD_RES_IMPORT,
	RD_RES_AUDIT,
	RD_RES_POLICY,    /* margin and routing scripts; update = activate */
	RD_RES_PLUGIN,    /* plugins and their enablements; update = probe */
	RD_RES_OPPORTUNITY, /* renewal opportunities and quotes; update = the publish decision */
	RD_RES_OUTBOX,    /* messages and their delivery */
	RD_RES_TASK,      /* customer requests for people to act on */
	RD_RES_CLOCK,     /* the test clock and the schedule preview */
	RD_RES_ORDER,     /* orders from accepted quotes; update = record a payment */
	RD_RES_COMMISSION, /* commission entries and monthly statements (read only) */
	RD_RES_DEAL,      /* deal registrations; create = register, update = decide or close (services/deals.c) */
	RD_RES_LEAD,      /* leads for the channel; update = qualify, route, accept, decline, close */
	RD_RES_COUNT,
};

enum rd_scope {
	RD_SCOPE_NONE = 0,  /* not allowed */
	RD_SCOPE_OWN = 1,   /* only records within the caller's partner scope (or itself) */
	RD_SCOPE_ALL = 2,   /* every record of the vendor */
};

/* The matrix: what a role may do with a resource. */
enum rd_scope rd_authz(uint8_t role, enum rd_resource res, enum rd_action action);
const char *rd_role_name(uint8_t role);
int rd_role_parse(const char *name);
const char *rd_resource_name(enum rd_resource res);

/* ---- failed-login rate limiting (loop thread) ------------------------------ */

/* true: this key (an e-mail or an address) may try now; else *retry_after
 * holds the seconds to wait.  Memory is bounded whatever the traffic. */
bool rd_login_allowed(const char *key, uint64_t now_s, unsigned *retry_after);
void rd_login_failed(const char *key, uint64_t now_s);
void rd_login_succeeded(const char *key);
/* Takes back one failure (an attempt counted before it was verified). */
void rd_login_forgive(const char *key);

#endif
