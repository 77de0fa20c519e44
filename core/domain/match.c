/* match.c: customers that are probably the same (match.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "domain/match.h"

void rd_match_name(const char *in, char *out, size_t cap)
{
	static const char *const suffixes[] = { "ltd", "limited", "inc", "incorporated", "llc", "plc", "gmbh", "co",
						"corp", "corporation", "company", "sa", "ag", "bv", "the", "and", NULL };
	char word[RD_NAME_MAX];
	size_t n = 0, w = 0;
	out[0] = 0;
	for (const char *p = in;; p++) {
		if (isalnum((unsigned char)*p)) {
			if (w + 1 < sizeof word)
				word[w++] = (char)tolower((unsigned char)*p);
			continue;
		}
		if (*p == '\'' || *p == '.')
			continue; /* O'Brien, L.L.C. */
		if (w) {
			word[w] = 0;
			bool drop = false;
			for (size_t i = 0; suffixes[i]; i++)
				drop |= strcmp(word, suffixes[i]) == 0;
			if (!drop && n + w + 2 < cap) {
				if (n)
					out[n++] = ' ';
				memcpy(out + n, word, w);
				n += w;
				out[n] = 0;
			}
			w = 0;
		}
		if (!*p)
			break;
	}
}

void rd_match_domain(const char *email, char *out, size_t cap)
{
	static const char *const public_mail[] = { "gmail.com", "googlemail.com", "outlook.com", "hotmail.com",
						   "hotmail.co.uk", "yahoo.com", "yahoo.co.uk", "icloud.com",
						   "aol.com", "proton.me", "protonmail.com", "live.com", "gmx.com",
						   "btinternet.com", NULL };
	const char *at = strrchr(email, '@');
	out[0] = 0;
	if (!at || !at[1])
		return;
	snprintf(out, cap, "%s", at + 1);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (size_t i = 0; public_mail[i]; i++)
		if (strcmp(out, public_mail[i]) == 0)
			out[0] = 0;
}

void rd_match_keys(const struct rd_customer *c, struct rd_match_keys *k)
{
	memset(k, 0, sizeof *k);
	rd_match_name(c->name, k->name, sizeof k->name);
	size_t fw = strcspn(k->name, " ");
	memcpy(k->first, k->name, fw);
	k->first[fw] = 0;
	rd_match_domain(c->email, k->domain, sizeof k->domain);
	size_t n = 0;
	for (const char *p = c->postcode; *p && n + 1 < sizeof k->postcode; p++)
		if (!isspace((unsigned char)*p))
			k->postcode[n++] = (char)toupper((unsigned char)*p);
	snprintf(k->external_id, sizeof k->external_id, "%s", c->external_id);
}

unsigned rd_match(const struct rd_match_keys *a, const struct rd_match_keys *b)
{
	unsigned r = 0;
	if (a->name[0] && !strcmp(a->name, b->name))
		r |= RD_MATCH_NAME;
	if (a->domain[0] && !strcmp(a->domain, b->domain))
		r |= RD_MATCH_DOMAIN;
	if (a->postcode[0] && !strcmp(a->postcode, b->postcode) && !strcmp(a->first, b->first))
		r |= RD_MATCH_POSTCODE;
	if (a->external_id[0] && !strcmp(a->external_id, b->external_id))
		r |= RD_MATCH_EXTERNAL_ID;
	return r;
}

const char *rd_match_reason_name(unsigned bit)
{
	switch (bit) {
	case RD_MATCH_NAME: return "name";
	case RD_MATCH_DOMAIN: return "domain";
	case RD_MATCH_POSTCODE: return "postcode";
	case RD_MATCH_EXTERNAL_ID: return "external_id";
	default: return "unknown";
	}
}
