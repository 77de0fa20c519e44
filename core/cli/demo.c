/*
 * demo.c: loads a demo vendor data set.  The file is one JSON object:
 *   vendor     the vendor's fields
 *   partners   partners; "parent" names a distributor by external_id
 *   customers  customers
 *   products   products; "upsell_skus" / "crosssell_skus" name other SKUs
 *   contracts  contracts; "customer", "product", "reseller" name records by
 *              external id / SKU, and "ends_in_days" sets the end date
 *              relative to today (start = end - one term)
 * Everything is written in one transaction: all of it or none.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "domain/model.h"
#include "policy/runtime.h"
#include "store/store.h"
#include "util/err.h"

struct ref {
	const char *ext;
	uint64_t id;
	uint64_t parent;
};

struct load {
	json_t *root;
	struct rd_domain *d;
	char err[512];
	uint64_t vendor;
	struct ref partners[64], customers[256], products[64];
	size_t np, nc, nprod, ncontracts;
};

static const struct ref *lookup(const struct ref *refs, size_t n, const char *ext)
{
	for (size_t i = 0; ext && i < n; i++)
		if (strcmp(refs[i].ext, ext) == 0)
			return &refs[i];
	return NULL;
}

/* Decodes obj (minus the reference keys) into rec, with a clear error. */
static int from_json(struct load *l, const struct rd_entity *e, json_t *obj, size_t index, void *rec,
		     const char *const *drop)
{
	json_t *copy = json_copy(obj);
	for (size_t i = 0; drop && drop[i]; i++)
		json_object_del(copy, drop[i]);
	const char *bad;
	char why[256];
	memset(rec, 0, e->size);
	int rc = rd_entity_from_json(e, copy, rec, &bad, why, sizeof why);
	json_decref(copy);
	if (rc < 0)
		snprintf(l->err, sizeof l->err, "%s #%zu: %s", e->table, index + 1, why);
	return rc;
}

static int put(struct rd_txn *t, struct rd_table *tb, const struct rd_entity *e, uint64_t tenant, void *rec,
	       uint64_t *id)
{
	*(uint64_t *)rec = 0; /* every entity starts with its id; 0: allocate one */
	int rc = rd_entity_put(t, tb, e, tenant, rec, 0);
	*id = *(uint64_t *)rec;
	return rc;
}

static int list(struct load *l, const char *name, json_t **out)
{
	*out = json_object_get(l->root, name);
	if (!json_is_array(*out)) {
		snprintf(l->err, sizeof l->err, "\"%s\" must be a list", name);
		return RD_EINVAL;
	}
	return 0;
}

static int load_fn(struct rd_txn *t, void *arg)
{
	struct load *l = arg;
	struct rd_domain *d = l->d;
	json_t *arr, *o;
	size_t i;
	int rc;
	l->np = l->nc = l->nprod = l->ncontracts = 0;

	struct rd_vendor v;
	json_t *vj = json_object_get(l->root, "vendor");
	if (!json_is_object(vj)) {
		snprintf(l->err, sizeof l->err, "\"vendor\" must be an object");
		return RD_EINVAL;
	}
	if ((rc = from_json(l, &rd_entity_vendor, vj, 0, &v, NULL)) < 0)
		return rc;
	if (!v.renewal_window_days)
		v.renewal_window_days = 90;
	if (!v.decision_window_days)
		v.decision_window_days = 14;
	if (!v.statement_day)
		v.statement_day = 20;
	if (!v.publish_default)
		v.publish_default = RD_PUBLISH_VENDOR;
	/* One vendor per slug: a second load changes nothing. */
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, d->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_vendor other;
		if (rd_entity_decode(&rd_entity_vendor, item.val, item.len, &other) == 0 && !strcmp(other.slug, v.slug)) {
			rd_iter_close(&it);
			snprintf(l->err, sizeof l->err, "vendor \"%s\" is already loaded (id %llu)", v.slug,
				 (unsigned long long)item.id);
			return RD_EEXISTS;
		}
	}
	rd_iter_close(&it);
	if (!v.deal_bonus_bp)
		v.deal_bonus_bp = 500;
	if (!v.distributor_bp)
		v.distributor_bp = 300;
	if (rc < 0 || (rc = put(t, d->vendors, &rd_entity_vendor, 0, &v, &l->vendor)) < 0)
		return rc;
	if ((rc = rd_policy_seed_defaults(t, d, &v)) < 0) {
		snprintf(l->err, sizeof l->err, "the default policies could not be stored: %s", rd_strerror(rc));
		return rc;
	}

	static const char *const partner_refs[] = { "parent", NULL };
	if ((rc = list(l, "partners", &arr)) < 0)
		return rc;
	json_array_foreach(arr, i, o) {
		struct rd_partner p;
		if (l->np == sizeof l->partners / sizeof *l->partners) {
			snprintf(l->err, sizeof l->err, "too many partners for a demo");
			return RD_ETOOBIG;
		}
		if ((rc = from_json(l, &rd_entity_partner, o, i, &p, partner_refs)) < 0)
			return rc;
		const char *parent = json_string_value(json_object_get(o, "parent"));
		const struct ref *pr = lookup(l->partners, l->np, parent);
		if (parent && !pr) {
			snprintf(l->err, sizeof l->err, "partners #%zu: parent \"%s\" is not an earlier partner", i + 1, parent);
			return RD_EINVAL;
		}
		p.parent_id = pr ? pr->id : 0;
		struct ref *r = &l->partners[l->np];
		if ((rc = put(t, d->partners, &rd_entity_partner, l->vendor, &p, &r->id)) < 0)
			return rc;
		r->ext = json_string_value(json_object_get(o, "external_id"));
		r->parent = p.parent_id;
		l->np++;
	}

	if ((rc = list(l, "customers", &arr)) < 0)
		return rc;
	json_array_foreach(arr, i, o) {
		struct rd_customer c;
		if (l->nc == sizeof l->customers / sizeof *l->customers) {
			snprintf(l->err, sizeof l->err, "too many customers for a demo");
			return RD_ETOOBIG;
		}
		if ((rc = from_json(l, &rd_entity_customer, o, i, &c, NULL)) < 0)
			return rc;
		if ((rc = put(t, d->customers, &rd_entity_customer, l->vendor, &c, &l->customers[l->nc].id)) < 0)
			return rc;
		l->customers[l->nc++].ext = json_string_value(json_object_get(o, "external_id"));
	}

	static const char *const product_refs[] = { "upsell_skus", "crosssell_skus", NULL };
	if ((rc = list(l, "products", &arr)) < 0)
		return rc;
	json_array_foreach(arr, i, o) {
		struct rd_product p;
		if (l->nprod == sizeof l->products / sizeof *l->products) {
			snprintf(l->err, sizeof l->err, "too many products for a demo");
			return RD_ETOOBIG;
		}
		if ((rc = from_json(l, &rd_entity_product, o, i, &p, product_refs)) < 0)
			return rc;
		/* Relations may name products listed earlier only. */
		const char *rel[] = { "upsell_skus", "crosssell_skus" };
		for (int k = 0; k < 2; k++) {
			json_t *skus = json_object_get(o, rel[k]), *sku;
			size_t j;
			uint8_t *n = k ? &p.n_crosssell : &p.n_upsell;
			uint64_t *ids = k ? p.crosssell : p.upsell;
			json_array_foreach(skus, j, sku) {
				const struct ref *r = lookup(l->products, l->nprod, json_string_value(sku));
				if (!r || *n == RD_MAX_RELATED) {
					snprintf(l->err, sizeof l->err, "products #%zu: %s names an unknown earlier SKU", i + 1,
						 rel[k]);
					return RD_EINVAL;
				}
				ids[(*n)++] = r->id;
			}
		}
		if ((rc = put(t, d->products, &rd_entity_product, l->vendor, &p, &l->products[l->nprod].id)) < 0)
			return rc;
		l->products[l->nprod++].ext = json_string_value(json_object_get(o, "sku"));
	}

	static const char *const contract_refs[] = { "customer", "product", "reseller", "ends_in_days", NULL };
	if ((rc = list(l, "contracts", &arr)) < 0)
		return rc;
	rd_date today = rd_date_today();
	json_array_foreach(arr, i, o) {
		struct rd_contract c;
		if ((rc = from_json(l, &rd_entity_contract, o, i, &c, contract_refs)) < 0)
			return rc;
		const char *names[] = { "customer", "product", "reseller" };
		const struct ref *refs[3] = {
			lookup(l->customers, l->nc, json_string_value(json_object_get(o, "customer"))),
			lookup(l->products, l->nprod, json_string_value(json_object_get(o, "product"))),
			lookup(l->partners, l->np, json_string_value(json_object_get(o, "reseller"))),
		};
		for (int k = 0; k < 3; k++) {
			if (!refs[k]) {
				snprintf(l->err, sizeof l->err, "contracts #%zu: %s is missing or unknown", i + 1, names[k]);
				return RD_EINVAL;
			}
		}
		json_t *ends = json_object_get(o, "ends_in_days");
		if (!json_is_integer(ends) || json_integer_value(ends) < -3650 || json_integer_value(ends) > 3650) {
			snprintf(l->err, sizeof l->err, "contracts #%zu: ends_in_days must be a whole number of days", i + 1);
			return RD_EINVAL;
		}
		c.customer_id = refs[0]->id;
		c.product_id = refs[1]->id;
		c.reseller_id = refs[2]->id;
		c.distributor_id = refs[2]->parent;
		c.end = today + (rd_date)json_integer_value(ends);
		if (!c.term)
			c.term = RD_TERM_ANNUAL;
		int days = c.term == RD_TERM_MONTHLY ? 30 : c.term == RD_TERM_QUARTERLY ? 91 : 365;
		c.start = c.end - days + 1;
		if (!c.status)
			c.status = c.end < today ? RD_CONTRACT_EXPIRED : RD_CONTRACT_LIVE;
		if (!c.currency[0])
			memcpy(c.currency, v.currency, 4);
		uint64_t id;
		if ((rc = put(t, d->contracts, &rd_entity_contract, l->vendor, &c, &id)) < 0)
			return rc;
		l->ncontracts++;
	}
	return 0;
}

int rd_cli_demo_load(struct rd_store *s, struct rd_domain *d, const char *file)
{
	json_error_t je;
	struct load l = { .d = d };
	FILE *f = fopen(file, "r");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0 || S_ISDIR(st.st_mode)) {
		fprintf(stderr, "renewctl: %s: %s\n", file, f && S_ISDIR(st.st_mode) ? "is a directory, not a file" : strerror(errno));
		if (f)
			fclose(f);
		return RD_EINVAL;
	}
	l.root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (!l.root || !json_is_object(l.root)) {
		fprintf(stderr, "renewctl: %s: %s (line %d, column %d)\n", file, l.root ? "not a JSON object" : je.text,
			je.line, je.column);
		json_decref(l.root);
		return RD_EINVAL;
	}
	int rc = rd_store_write(s, load_fn, &l);
	if (rc == RD_EEXISTS) {
		printf("%s\n", l.err);
		rc = 0;
	} else if (rc < 0) {
		fprintf(stderr, "renewctl: %s: %s\n", file, l.err[0] ? l.err : rd_strerror(rc));
	} else {
		printf("loaded vendor %llu: %zu partners, %zu customers, %zu products, %zu contracts\n",
		       (unsigned long long)l.vendor, l.np, l.nc, l.nprod, l.ncontracts);
	}
	json_decref(l.root);
	return rc;
}
