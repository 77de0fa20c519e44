/*
 * records.c: the rules of imported records (records.h), for the API's
 * create and update and the import engine alike.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/records.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

const char *const rd_record_required_customer[] = { "name", NULL };
const char *const rd_record_required_contact[] = { "customer_id", "name", NULL };
const char *const rd_record_required_product[] = { "sku", "name", NULL };
const char *const rd_record_required_contract[] = { "customer_id", "product_id", "reseller_id", "quantity",
						     "start", "end", NULL };

static const struct {
	enum rd_resource res;
	const struct rd_entity *e;
	const char *const *required;
} kinds[] = {
	{ RD_RES_CUSTOMER, &rd_entity_customer, rd_record_required_customer },
	{ RD_RES_CONTACT, &rd_entity_contact, rd_record_required_contact },
	{ RD_RES_PRODUCT, &rd_entity_product, rd_record_required_product },
	{ RD_RES_CONTRACT, &rd_entity_contract, rd_record_required_contract },
};

/* Each kind's required fields, found by name once (not per record). */
#define MAX_REQUIRED 8
static const struct rd_field *required_fields[sizeof kinds / sizeof *kinds][MAX_REQUIRED + 1];
static pthread_once_t required_once = PTHREAD_ONCE_INIT;

static void required_resolve(void)
{
	for (size_t r = 0; r < sizeof kinds / sizeof *kinds; r++) {
		size_t o = 0;
		const struct rd_entity *e = kinds[r].e;
		for (size_t i = 0; kinds[r].required[i]; i++)
			for (size_t k = 0; k < e->n_fields && o < MAX_REQUIRED; k++)
				if (!strcmp(e->fields[k].json, kinds[r].required[i]))
					required_fields[r][o++] = &e->fields[k];
		required_fields[r][o] = NULL;
	}
}

const char *rd_record_missing(enum rd_resource res, const void *obj)
{
	pthread_once(&required_once, required_resolve);
	for (size_t r = 0; r < sizeof kinds / sizeof *kinds; r++) {
		if (kinds[r].res != res)
			continue;
		for (size_t i = 0; required_fields[r][i]; i++) {
			const struct rd_field *f = required_fields[r][i];
			const uint8_t *p = (const uint8_t *)obj + f->off;
			bool zero = true;
			size_t n = f->type == RD_F_STR ? 1 : f->size; /* a string: its first byte */
			for (size_t b = 0; b < n; b++)
				zero &= p[b] == 0;
			if (zero)
				return f->json;
		}
	}
	return NULL;
}

bool rd_record_valid_email(const char *s)
{
	const char *at = strchr(s, '@');
	return !*s || (at && at > s && strchr(at + 1, '.') && !strchr(s, ' ') && !strchr(at + 1, '@'));
}

enum { SEEN_CUSTOMER = 1, SEEN_PRODUCT, SEEN_PARTNER };

void rd_record_seen_free(struct rd_record_seen *s)
{
	free(s->slot);
	memset(s, 0, sizeof *s);
}

static size_t seen_at(const struct rd_record_seen *s, uint8_t table, uint64_t id)
{
	uint64_t h = (id ^ (uint64_t)table << 56) * 0x9e3779b97f4a7c15ull;
	size_t at = (size_t)(h >> 20) & (s->cap - 1);
	while (s->slot[at].id && (s->slot[at].id != id || s->slot[at].table != table))
		at = (at + 1) & (s->cap - 1);
	return at;
}

static const struct rd_record_seen_slot *seen_find(const struct rd_record_seen *s, uint8_t table, uint64_t id)
{
	if (!s || !s->cap || !id)
		return NULL;
	const struct rd_record_seen_slot *x = &s->slot[seen_at(s, table, id)];
	return x->id ? x : NULL;
}

static void seen_add(struct rd_record_seen *s, uint8_t table, uint64_t id, uint8_t kind, uint64_t parent)
{
	if (!s || !id)
		return;
	if (2 * (s->n + 1) > s->cap) {
		struct rd_record_seen grown = { rd_calloc(s->cap ? 2 * s->cap : 256, sizeof *s->slot), s->cap ? 2 * s->cap : 256, 0 };
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i].id)
				grown.slot[seen_at(&grown, s->slot[i].table, s->slot[i].id)] = s->slot[i];
		grown.n = s->n;
		free(s->slot);
		*s = grown;
	}
	struct rd_record_seen_slot *x = &s->slot[seen_at(s, table, id)];
	if (!x->id)
		s->n++;
	*x = (struct rd_record_seen_slot){ id, parent, table, kind };
}

/* 0: the record exists; RD_ENOTFOUND: it does not (or id is 0); else the
 * store failed to say.  A record found once in an import is answered from
 * `seen` after that. */
static int find(struct rd_txn *t, struct rd_table *tb, uint64_t vendor, uint64_t id, struct rd_record_seen *seen,
		uint8_t table)
{
	const void *v;
	size_t n;
	if (!id)
		return RD_ENOTFOUND;
	if (seen_find(seen, table, id))
		return 0;
	int rc = rd_txn_get(t, tb, vendor, id, &v, &n);
	if (rc == 0)
		seen_add(seen, table, id, 0, 0);
	return rc;
}


/* A partner's kind and parent: 0, or < 0 as rd_entity_get. */
static int partner(struct rd_txn *t, struct rd_table *tb, uint64_t vendor, uint64_t id, struct rd_record_seen *seen,
		   uint8_t *kind, uint64_t *parent)
{
	const struct rd_record_seen_slot *x = seen_find(seen, SEEN_PARTNER, id);
	if (x) {
		*kind = x->kind;
		*parent = x->parent;
		return 0;
	}
	if (!id)
		return RD_ENOTFOUND;
	struct rd_partner *p = rd_malloc(sizeof *p);
	int rc = rd_entity_get(t, tb, &rd_entity_partner, vendor, id, p);
	if (rc >= 0) {
		*kind = p->kind;
		*parent = p->parent_id;
		seen_add(seen, SEEN_PARTNER, id, p->kind, p->parent_id);
	}
	free(p);
	return rc;
}

static int customer(struct rd_customer *x, struct rd_serr *e)
{
	if (x->country[0] && (strlen(x->country) != 2 || !isupper((unsigned char)x->country[0]) ||
			      !isupper((unsigned char)x->country[1])))
		return rd_serr_set(e, RD_EINVAL, "invalid", "country", "country must be an ISO 3166 code such as GB");
	if (!rd_record_valid_email(x->email))
		return rd_serr_set(e, RD_EINVAL, "invalid", "email", "email is not an e-mail address");
	return 0;
}

static int contact(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, struct rd_contact *x,
		   struct rd_record_seen *seen, struct rd_serr *e)
{
	int rc = find(t, app->domain->customers, vendor, x->customer_id, seen, SEEN_CUSTOMER);
	if (rc < 0 && rc != RD_ENOTFOUND)
		return rd_serr_store(e, rc);
	if (rc < 0)
		return rd_serr_set(e, RD_EINVAL, "invalid", "customer_id", "customer_id names no customer you can see");
	if (!rd_record_valid_email(x->email))
		return rd_serr_set(e, RD_EINVAL, "invalid", "email", "email is not an e-mail address");
	return 0;
}

static int product(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, struct rd_product *x,
		   struct rd_record_seen *seen, struct rd_serr *e)
{
	for (int k = 0; k < x->n_prices; k++)
		for (int j = 0; j < k; j++)
			if (!strcmp(x->prices[k].currency, x->prices[j].currency) && x->prices[k].term == x->prices[j].term)
				return rd_serr_set(e, RD_EINVAL, "invalid", "prices", "prices lists one currency and term twice");
	for (int k = 0; k < x->n_upsell + x->n_crosssell; k++) {
		uint64_t id = k < x->n_upsell ? x->upsell[k] : x->crosssell[k - x->n_upsell];
		int rc = id == x->id ? RD_ENOTFOUND : find(t, app->domain->products, vendor, id, seen, SEEN_PRODUCT);
		if (rc < 0 && rc != RD_ENOTFOUND)
			return rd_serr_store(e, rc);
		if (rc < 0)
			return rd_serr_set(e, RD_EINVAL, "invalid", k < x->n_upsell ? "upsell" : "crosssell",
					   "a related product id is unknown");
	}
	return 0;
}

static int contract(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, const struct rd_vendor *v,
		    struct rd_contract *x, struct rd_record_seen *seen, struct rd_serr *e)
{
	struct rd_domain *d = app->domain;
	uint8_t res_kind = 0, dist_kind = 0;
	uint64_t res_parent = 0, dist_parent = 0;
	int rc;
	if ((rc = find(t, d->customers, vendor, x->customer_id, seen, SEEN_CUSTOMER)) < 0)
		return rc != RD_ENOTFOUND ? rd_serr_store(e, rc)
					  : rd_serr_set(e, RD_EINVAL, "invalid", "customer_id", "customer_id names no customer");
	if ((rc = find(t, d->products, vendor, x->product_id, seen, SEEN_PRODUCT)) < 0)
		return rc != RD_ENOTFOUND ? rd_serr_store(e, rc)
					  : rd_serr_set(e, RD_EINVAL, "invalid", "product_id", "product_id names no product");
	if ((rc = partner(t, d->partners, vendor, x->reseller_id, seen, &res_kind, &res_parent)) < 0)
		return rc != RD_ENOTFOUND ? rd_serr_store(e, rc)
					  : rd_serr_set(e, RD_EINVAL, "invalid", "reseller_id", "reseller_id names no partner");
	if (!x->distributor_id && res_kind == RD_PARTNER_RESELLER)
		x->distributor_id = res_parent; /* the reseller's distributor is of record */
	if (x->distributor_id && (rc = partner(t, d->partners, vendor, x->distributor_id, seen, &dist_kind, &dist_parent)) < 0 &&
	    rc != RD_ENOTFOUND)
		return rd_serr_store(e, rc);
	if (x->distributor_id && (rc < 0 || dist_kind != RD_PARTNER_DISTRIBUTOR))
		return rd_serr_set(e, RD_EINVAL, "invalid", "distributor_id", "distributor_id names no distributor");
	if (x->quantity == 0)
		return rd_serr_set(e, RD_EINVAL, "invalid", "quantity", "quantity must be at least 1");
	if (x->end < x->start)
		return rd_serr_set(e, RD_EINVAL, "invalid", "end", "end is before start");
	if (!x->term)
		x->term = RD_TERM_ANNUAL;
	if (!x->status)
		x->status = RD_CONTRACT_LIVE;
	if (!x->currency[0])
		memcpy(x->currency, v->currency, 4);
	return 0;
}

/* An imported lead (services/leads.c has the rest of its rules): a new one
 * starts `new`, from the source "import"; an update changes what it says,
 * never its state. */
static int lead(struct rd_lead *l, const struct rd_lead *old, struct rd_serr *e)
{
	if (!l->company[0] && !l->contact_name[0])
		return rd_serr_set(e, RD_EINVAL, "invalid", "company", "a lead needs a company or a contact name");
	if (!rd_record_valid_email(l->email))
		return rd_serr_set(e, RD_EINVAL, "invalid", "email", "the e-mail address is not valid (name@example.com)");
	if (l->country[0] && (strlen(l->country) != 2 || !isupper((unsigned char)l->country[0]) ||
			      !isupper((unsigned char)l->country[1])))
		return rd_serr_set(e, RD_EINVAL, "invalid", "country", "the country is two capital letters (ISO 3166-1, GB)");
	if (!old) {
		snprintf(l->source, sizeof l->source, "import");
		l->state = RD_LEAD_NEW;
		l->created_at = rd_clock_now();
	}
	return 0;
}

int rd_record_prepare_seen(struct rd_txn *t, const struct rd_app *app, const struct rd_actor *who,
			   const struct rd_vendor *v, enum rd_resource res, void *obj, const void *old,
			   struct rd_record_seen *seen, struct rd_serr *e)
{
	switch (res) {
	case RD_RES_LEAD: return lead(obj, old, e);
	case RD_RES_CUSTOMER: return customer(obj, e);
	case RD_RES_CONTACT: return contact(t, app, who->vendor, obj, seen, e);
	case RD_RES_PRODUCT: return product(t, app, who->vendor, obj, seen, e);
	case RD_RES_CONTRACT: return contract(t, app, who->vendor, v, obj, seen, e);
	default: return 0;
	}
}

int rd_record_prepare(struct rd_txn *t, const struct rd_app *app, const struct rd_actor *who,
		      const struct rd_vendor *v, enum rd_resource res, void *obj, const void *old, struct rd_serr *e)
{
	return rd_record_prepare_seen(t, app, who, v, res, obj, old, NULL, e);
}
