/*
 * records.c: the rules of imported records (records.h), for the API's
 * create and update and the import engine alike.
 */
#include <ctype.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "domain/money.h"
#include "services/imports.h"
#include "services/merge.h"
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
		    struct rd_contract *x, const struct rd_contract *old, struct rd_record_seen *seen, struct rd_serr *e)
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
	/* A contract moved to another reseller, its distributor left as it was:
	 * the new reseller's distributor is of record (the old one would go on
	 * seeing a contract no longer in its channel). */
	if (old && x->reseller_id != old->reseller_id && x->distributor_id == old->distributor_id)
		x->distributor_id = 0;
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
	case RD_RES_CONTRACT: return contract(t, app, who->vendor, v, obj, old, seen, e);
	default: return 0;
	}
}

int rd_record_prepare(struct rd_txn *t, const struct rd_app *app, const struct rd_actor *who,
		      const struct rd_vendor *v, enum rd_resource res, void *obj, const void *old, struct rd_serr *e)
{
	return rd_record_prepare_seen(t, app, who, v, res, obj, old, NULL, e);
}

/* ---- partners: their rules (the API's and the console's) ------------------------ */

static bool valid_colour(const char *s)
{
	if (!*s)
		return true;
	if (strlen(s) != 7 || s[0] != '#')
		return false;
	for (int i = 1; i < 7; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Whether a partner names id as its parent: 1, 0, or the store's error. */
static int has_resellers(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, uint64_t id)
{
	uint8_t key[8];
	rd_key_put_u64(key, id);
	struct rd_iter it;
	struct rd_item item;
	bool yes = false;
	int rc = rd_iter_index(&it, t, app->domain->partners, "parent", vendor, key, 8, NULL, 0);
	if (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		yes = item.key_len == 8 && memcmp(item.key, key, 8) == 0;
	rd_iter_close(&it);
	return yes ? 1 : rc < 0 ? rc : 0;
}

int rd_record_partner_rule(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, uint8_t role,
			   struct rd_partner *x, const struct rd_partner *o, struct rd_serr *e)
{
	bool partner_role = rd_role_is_partner(role);
	/* A partner's place in the channel is the vendor's to set: a partner
	 * admin changing it could promote itself or move records between
	 * distributors' scopes. */
	if (o && partner_role && (x->kind != o->kind || x->tier != o->tier || x->parent_id != o->parent_id))
		return rd_serr_set(e, RD_EINVAL, "invalid",
				   x->kind != o->kind ? "kind" : x->tier != o->tier ? "tier" : "parent_id",
				   "a partner's kind, tier and parent are set by the vendor");
	/* Its feed mapping is the vendor's too (services/imports.c checks it). */
	if (partner_role && x->feed_drop != (o ? o->feed_drop : 0))
		return rd_serr_set(e, RD_EINVAL, "invalid", "feed_drop", "a partner's drop folder is enabled by the vendor");
	if (x->feed_drop > 1)
		return rd_serr_set(e, RD_EINVAL, "invalid", "feed_drop",
				   "feed_drop is 1 (connector-csv watches its drop folder) or 0");
	if (partner_role && strcmp(x->feed_mapping, o ? o->feed_mapping : ""))
		return rd_serr_set(e, RD_EINVAL, "invalid", "feed_mapping", "a partner's feed mapping is kept by the vendor");
	char why[256];
	if (rd_feed_mapping_problem(x->feed_mapping, why, sizeof why))
		return rd_serr_set(e, RD_EINVAL, "invalid", "feed_mapping", "%s", why);
	if (x->kind == RD_PARTNER_DISTRIBUTOR && x->parent_id)
		return rd_serr_set(e, RD_EINVAL, "invalid", "parent_id", "a distributor has no parent");
	int rc;
	if (x->parent_id) {
		struct rd_partner *parent = rd_malloc(sizeof *parent);
		rc = x->parent_id == x->id ? RD_ENOTFOUND
					   : rd_entity_get(t, app->domain->partners, &rd_entity_partner, vendor, x->parent_id, parent);
		bool distributor = rc == 0 && parent->kind == RD_PARTNER_DISTRIBUTOR;
		free(parent);
		if (rc < 0 && rc != RD_ENOTFOUND)
			return rd_serr_store(e, rc); /* the store failed: 503, not "invalid" */
		if (!distributor)
			return rd_serr_set(e, RD_EINVAL, "invalid", "parent_id", "parent_id must be the id of a distributor");
	}
	if (!valid_colour(x->colour_primary))
		return rd_serr_set(e, RD_EINVAL, "invalid", "colour_primary", "colour_primary must look like #0b4f8a");
	if (!valid_colour(x->colour_accent))
		return rd_serr_set(e, RD_EINVAL, "invalid", "colour_accent", "colour_accent must look like #f2a900");
	if (!rd_record_valid_email(x->email))
		return rd_serr_set(e, RD_EINVAL, "invalid", "email", "email is not an e-mail address");
	/* Its sales contact (who the sales notice of the quotes it sells goes
	 * to) is one of its own people. */
	if (x->sales_user_id && (!o || x->sales_user_id != o->sales_user_id)) {
		struct rd_user *u = rd_malloc(sizeof *u);
		rc = rd_entity_get(t, app->domain->users, &rd_entity_user, vendor, x->sales_user_id, u);
		bool ok = rc == 0 && u->partner_id == x->id && x->id && !u->disabled;
		free(u);
		if (rc < 0 && rc != RD_ENOTFOUND)
			return rd_serr_store(e, rc);
		if (!ok)
			return rd_serr_set(e, RD_EINVAL, "invalid", "sales_user_id",
					   "sales_user_id must be the id of one of this partner's users");
	}
	if (o && o->kind != x->kind && x->kind == RD_PARTNER_RESELLER &&
	    (rc = has_resellers(t, app, vendor, x->id)) != 0) {
		if (rc < 0)
			return rd_serr_store(e, rc); /* the store failed: 503 */
		return rd_serr_set(e, RD_EINVAL, "invalid", "kind", "a distributor with resellers cannot become a reseller");
	}
	return 0;
}

/* ---- external ids; saving a record from text (the console's forms) --------------- */

static const struct saved_kind {
	enum rd_resource res;
	const struct rd_entity *e;
	size_t table; /* offsetof(struct rd_domain, ...) */
	size_t ext_off;
	const char *object; /* the audit's object */
} saved_kinds[] = {
	{ RD_RES_PARTNER, &rd_entity_partner, offsetof(struct rd_domain, partners), offsetof(struct rd_partner, external_id),
	  "partners" },
	{ RD_RES_CUSTOMER, &rd_entity_customer, offsetof(struct rd_domain, customers),
	  offsetof(struct rd_customer, external_id), "customers" },
	{ RD_RES_CONTACT, &rd_entity_contact, offsetof(struct rd_domain, contacts), offsetof(struct rd_contact, external_id),
	  "contacts" },
	{ RD_RES_PRODUCT, &rd_entity_product, offsetof(struct rd_domain, products), offsetof(struct rd_product, external_id),
	  "products" },
	{ RD_RES_CONTRACT, &rd_entity_contract, offsetof(struct rd_domain, contracts),
	  offsetof(struct rd_contract, external_id), "contracts" },
};

static const struct saved_kind *saved_kind(enum rd_resource res)
{
	for (size_t i = 0; i < sizeof saved_kinds / sizeof *saved_kinds; i++)
		if (saved_kinds[i].res == res)
			return &saved_kinds[i];
	return NULL;
}

static struct rd_table *table_of(const struct rd_app *app, const struct saved_kind *k)
{
	return *(struct rd_table **)((char *)app->domain + k->table);
}

int rd_record_ext_unique(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, enum rd_resource res,
			 const void *obj, struct rd_serr *e)
{
	const struct saved_kind *k = saved_kind(res);
	if (!k)
		return 0;
	const char *ext = (const char *)obj + k->ext_off;
	if (!*ext)
		return 0;
	uint64_t other;
	int rc = rd_index_find(t, table_of(app, k), "ext", vendor, ext, strlen(ext) + 1, &other);
	if (rc == 0 && other != *(const uint64_t *)obj) {
		const char *field = res == RD_RES_PRODUCT ? "sku" : "external_id";
		return rd_serr_set(e, RD_EEXISTS, "conflict", field, "%s \"%s\" already belongs to %s %llu", field, ext,
				   k->e->name, (unsigned long long)other);
	}
	return rc == RD_ENOTFOUND ? 0 : rc < 0 ? rd_serr_store(e, rc) : 0;
}

struct save {
	const struct rd_app *app;
	const struct rd_actor *who;
	uint8_t role;
	const struct rd_vendor *v;
	const struct saved_kind *k;
	uint64_t id;
	const struct rd_record_text *f;
	size_t n;
	void *obj, *old;
	struct rd_serr *e;
};

static const char *const price_terms[] = { "", "annual", "quarterly", "monthly", "flex" };

/* A product's "price_<term>": the vendor's currency, as a person writes it. */
static int set_price(struct save *s, const char *name, const char *text)
{
	struct rd_product *p = s->obj;
	uint8_t term = 0;
	for (uint8_t i = 1; i < 5; i++)
		if (!strcmp(name + 6, price_terms[i]))
			term = i;
	if (!term)
		return rd_serr_set(s->e, RD_EINVAL, "invalid", name, "%s is not a price renewd keeps", name);
	int slot = -1;
	for (int i = 0; i < p->n_prices; i++)
		if (p->prices[i].term == term && !strcmp(p->prices[i].currency, s->v->currency))
			slot = i;
	if (!*text) {
		if (slot >= 0) {
			memmove(&p->prices[slot], &p->prices[slot + 1], (size_t)(p->n_prices - slot - 1) * sizeof *p->prices);
			p->n_prices--;
		}
		return 0;
	}
	int64_t amount;
	int rc = rd_money_parse_decimal(text, s->v->currency, &amount);
	if (rc < 0 || amount < 0)
		return rd_serr_set(s->e, RD_EINVAL, "invalid", name,
				   "the %s price is an amount in %s such as 1200 or 1200.50 (no thousands separator)",
				   price_terms[term], s->v->currency);
	if (slot < 0) {
		if (p->n_prices == RD_MAX_PRICES)
			return rd_serr_set(s->e, RD_EINVAL, "invalid", name, "a product has at most %d prices", RD_MAX_PRICES);
		slot = p->n_prices++;
	}
	memcpy(p->prices[slot].currency, s->v->currency, 4);
	p->prices[slot].term = term;
	p->prices[slot].amount = amount;
	return 0;
}

static int save_write(struct rd_txn *t, void *arg)
{
	struct save *s = arg;
	const struct saved_kind *k = s->k;
	const struct rd_entity *en = k->e;
	struct rd_table *tb = table_of(s->app, k);
	uint64_t vendor = s->who->vendor;
	int rc;
	memset(s->e, 0, sizeof *s->e);
	memset(s->obj, 0, en->size);
	if (s->id) {
		if ((rc = rd_entity_get(t, tb, en, vendor, s->id, s->old)) < 0)
			return rc == RD_ENOTFOUND ? rd_serr_set(s->e, rc, "not_found", NULL, "there is no such %s", en->name)
						  : rd_serr_store(s->e, rc);
		memcpy(s->obj, s->old, en->size);
	}
	for (size_t i = 0; i < s->n; i++) {
		const char *name = s->f[i].name, *text = s->f[i].text ? s->f[i].text : "";
		if (k->res == RD_RES_PRODUCT && !strncmp(name, "price_", 6)) {
			if ((rc = set_price(s, name, text)) < 0)
				return rc;
			continue;
		}
		const struct rd_field *f = rd_entity_field(en, name);
		char why[256];
		if (!f || f->no == 1 || (f->flags & (RD_FF_READONLY | RD_FF_PRIVATE)))
			return rd_serr_set(s->e, RD_EINVAL, "invalid", name, "%s is not a field of a %s", name, en->name);
		if (!*text && f->type != RD_F_STR && f->type != RD_F_U8FLAGS) {
			memset((char *)s->obj + f->off, 0, f->size); /* cleared */
			continue;
		}
		rc = rd_field_set_text(f, s->obj, text, why, sizeof why);
		if (rc == RD_ENOTFOUND)
			return rd_serr_set(s->e, RD_EINVAL, "invalid", name, "%s is not a field of a %s", name, en->name);
		if (rc < 0)
			return rd_serr_set(s->e, RD_EINVAL, "invalid", f->json, "%s", why);
	}
	{ /* what a record needs, after a change too: a field cleared ("") is refused as the API refuses it */
		static const char *const partner_needs[] = { "name", "kind", "tier", NULL };
		const char *missing = NULL;
		if (k->res == RD_RES_PARTNER) {
			const struct rd_partner *p = s->obj;
			missing = !p->name[0] ? partner_needs[0] : !p->kind ? partner_needs[1] : !p->tier ? partner_needs[2] : NULL;
		} else {
			missing = rd_record_missing(k->res, s->obj);
		}
		if (missing)
			return rd_serr_set(s->e, RD_EINVAL, "invalid", missing, "%s is required", missing);
	}
	if (k->res == RD_RES_PARTNER)
		rc = rd_record_partner_rule(t, s->app, vendor, s->role, s->obj, s->id ? s->old : NULL, s->e);
	else
		rc = rd_record_prepare(t, s->app, s->who, s->v, k->res, s->obj, s->id ? s->old : NULL, s->e);
	if (rc < 0)
		return rc;
	if ((rc = rd_record_ext_unique(t, s->app, vendor, k->res, s->obj, s->e)) < 0)
		return rc;
	if ((rc = rd_entity_put(t, tb, en, vendor, s->obj, 0)) < 0)
		return rd_serr_store(s->e, rc);
	uint64_t id = *(uint64_t *)s->obj;
	/* A contract moved to another customer takes its opportunities, their
	 * orders and its documents along. */
	if (k->res == RD_RES_CONTRACT && s->id &&
	    ((struct rd_contract *)s->obj)->customer_id != ((struct rd_contract *)s->old)->customer_id &&
	    (rc = rd_contract_moved(t, s->app->domain, s->who, id, ((struct rd_contract *)s->obj)->customer_id)) < 0)
		return rd_serr_store(s->e, rc);
	json_t *before = s->id ? rd_entity_to_json(en, s->old) : NULL, *after = rd_entity_to_json(en, s->obj);
	rc = rd_audit_write(t, s->app->domain, vendor, s->who->user, s->id ? RD_AUDIT_UPDATE : RD_AUDIT_CREATE, k->object,
			    id, before, after, NULL);
	json_decref(before);
	json_decref(after);
	return rc < 0 ? rd_serr_store(s->e, rc) : 0;
}

int rd_record_save(const struct rd_app *app, const struct rd_actor *who, uint8_t role, const struct rd_vendor *v,
		   enum rd_resource res, uint64_t id, const struct rd_record_text *fields, size_t n, uint64_t *saved,
		   struct rd_serr *e)
{
	const struct saved_kind *k = saved_kind(res);
	if (!k || res == RD_RES_CONTACT)
		return rd_serr_set(e, RD_EINVAL, "invalid", NULL, "not a record kind saved from text");
	struct save s = { app, who, role, v, k, id, fields, n, rd_calloc(1, k->e->size), rd_calloc(1, k->e->size), e };
	int rc = rd_store_write(app->store, save_write, &s);
	if (rc == 0)
		*saved = *(uint64_t *)s.obj;
	else if (!e->code)
		rd_serr_store(e, rc);
	free(s.obj);
	free(s.old);
	return rc;
}
