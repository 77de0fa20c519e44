/*
 * records.c: the rules of imported records (records.h), for the API's
 * create and update and the import engine alike.
 */
#include <ctype.h>
#include <stdio.h>
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

const char *rd_record_missing(enum rd_resource res, const void *obj)
{
	for (size_t r = 0; r < sizeof kinds / sizeof *kinds; r++) {
		if (kinds[r].res != res)
			continue;
		const struct rd_entity *e = kinds[r].e;
		for (size_t i = 0; kinds[r].required[i]; i++)
			for (size_t k = 0; k < e->n_fields; k++) {
				const struct rd_field *f = &e->fields[k];
				if (strcmp(f->json, kinds[r].required[i]) != 0)
					continue;
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

/* 0: the record exists; RD_ENOTFOUND: it does not (or id is 0); else the
 * store failed to say. */
static int find(struct rd_txn *t, struct rd_table *tb, uint64_t vendor, uint64_t id)
{
	const void *v;
	size_t n;
	return id ? rd_txn_get(t, tb, vendor, id, &v, &n) : RD_ENOTFOUND;
}

/* A look-up the store failed: its failure (503 when the store is away),
 * never "names no such record", which is the caller's fault. */
static int store_failed(struct rd_serr *e, int rc)
{
	return rd_serr_set(e, rc, rc == RD_EBUSY ? "unavailable" : "internal", NULL, "the store could not be read: %s",
			   rd_strerror(rc));
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

static int contact(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, struct rd_contact *x, struct rd_serr *e)
{
	int rc = find(t, app->domain->customers, vendor, x->customer_id);
	if (rc < 0 && rc != RD_ENOTFOUND)
		return store_failed(e, rc);
	if (rc < 0)
		return rd_serr_set(e, RD_EINVAL, "invalid", "customer_id", "customer_id names no customer you can see");
	if (!rd_record_valid_email(x->email))
		return rd_serr_set(e, RD_EINVAL, "invalid", "email", "email is not an e-mail address");
	return 0;
}

static int product(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, struct rd_product *x, struct rd_serr *e)
{
	for (int k = 0; k < x->n_prices; k++)
		for (int j = 0; j < k; j++)
			if (!strcmp(x->prices[k].currency, x->prices[j].currency) && x->prices[k].term == x->prices[j].term)
				return rd_serr_set(e, RD_EINVAL, "invalid", "prices", "prices lists one currency and term twice");
	for (int k = 0; k < x->n_upsell + x->n_crosssell; k++) {
		uint64_t id = k < x->n_upsell ? x->upsell[k] : x->crosssell[k - x->n_upsell];
		int rc = id == x->id ? RD_ENOTFOUND : find(t, app->domain->products, vendor, id);
		if (rc < 0 && rc != RD_ENOTFOUND)
			return store_failed(e, rc);
		if (rc < 0)
			return rd_serr_set(e, RD_EINVAL, "invalid", k < x->n_upsell ? "upsell" : "crosssell",
					   "a related product id is unknown");
	}
	return 0;
}

static int contract(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, const struct rd_vendor *v,
		    struct rd_contract *x, struct rd_serr *e)
{
	struct rd_domain *d = app->domain;
	struct rd_partner res, dist;
	int rc;
	if ((rc = find(t, d->customers, vendor, x->customer_id)) < 0)
		return rc != RD_ENOTFOUND ? store_failed(e, rc)
					  : rd_serr_set(e, RD_EINVAL, "invalid", "customer_id", "customer_id names no customer");
	if ((rc = find(t, d->products, vendor, x->product_id)) < 0)
		return rc != RD_ENOTFOUND ? store_failed(e, rc)
					  : rd_serr_set(e, RD_EINVAL, "invalid", "product_id", "product_id names no product");
	rc = x->reseller_id ? rd_entity_get(t, d->partners, &rd_entity_partner, vendor, x->reseller_id, &res) : RD_ENOTFOUND;
	if (rc < 0)
		return rc != RD_ENOTFOUND ? store_failed(e, rc)
					  : rd_serr_set(e, RD_EINVAL, "invalid", "reseller_id", "reseller_id names no partner");
	if (!x->distributor_id && res.kind == RD_PARTNER_RESELLER)
		x->distributor_id = res.parent_id; /* the reseller's distributor is of record */
	if (x->distributor_id && (rc = rd_entity_get(t, d->partners, &rd_entity_partner, vendor, x->distributor_id, &dist)) < 0 &&
	    rc != RD_ENOTFOUND)
		return store_failed(e, rc);
	if (x->distributor_id && (rc < 0 || dist.kind != RD_PARTNER_DISTRIBUTOR))
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

int rd_record_prepare(struct rd_txn *t, const struct rd_app *app, const struct rd_actor *who,
		      const struct rd_vendor *v, enum rd_resource res, void *obj, const void *old, struct rd_serr *e)
{
	switch (res) {
	case RD_RES_LEAD: return lead(obj, old, e);
	case RD_RES_CUSTOMER: return customer(obj, e);
	case RD_RES_CONTACT: return contact(t, app, who->vendor, obj, e);
	case RD_RES_PRODUCT: return product(t, app, who->vendor, obj, e);
	case RD_RES_CONTRACT: return contract(t, app, who->vendor, v, obj, e);
	default: return 0;
	}
}
