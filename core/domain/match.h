/*
 * match.h: how two customers are probably the same (the duplicate finder of
 * core/api/customers.c and the deal registrations' conflict report,
 * core/services/deals.c).
 *
 * A customer's match keys: its name normalised (case, punctuation and legal
 * suffixes such as Ltd or Inc ignored) and that name's first word; its
 * e-mail domain unless a public mail service; its postcode upper case
 * without spaces; its external id.
 */
#ifndef RD_DOMAIN_MATCH_H
#define RD_DOMAIN_MATCH_H

#include <stddef.h>

#include "domain/model.h"

enum rd_match_reason {
	RD_MATCH_NAME = 1,        /* the same normalised name */
	RD_MATCH_DOMAIN = 2,      /* the same e-mail domain (not a public mail service) */
	RD_MATCH_POSTCODE = 4,    /* the same postcode and first word of the name */
	RD_MATCH_EXTERNAL_ID = 8, /* the same external id */
};

struct rd_match_keys {
	char name[RD_NAME_MAX];
	char first[RD_NAME_MAX];
	char domain[RD_NAME_MAX];
	char postcode[16];
	char external_id[RD_EXT_MAX];
};

void rd_match_name(const char *in, char *out, size_t cap);
void rd_match_domain(const char *email, char *out, size_t cap);
void rd_match_keys(const struct rd_customer *c, struct rd_match_keys *k);
/* The reasons (enum rd_match_reason bits) two customers' keys match; 0: none. */
unsigned rd_match(const struct rd_match_keys *a, const struct rd_match_keys *b);
/* "name", "domain", "postcode", "external_id" for one reason bit. */
const char *rd_match_reason_name(unsigned bit);

#endif
