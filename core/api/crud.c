/*
 * crud.c: create, read, update, delete and list for the channel's records,
 * driven by one table of resources.  Each resource names its entity (the
 * field table in core/domain/model.c), its store table, the fields a create
 * needs, and hooks for the rules that span fields or records.
 *
 * Every write runs in one store transaction together with its audit entry;
 * a record outside the caller's scope answers 404, exactly as a missing one.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "domain/jsonw.h"
#include "domain/refs.h"
#include "services/documents.h"
#include "services/imports.h"
#include "services/merge.h"
#include "services/listing.h"
#include "services/records.h"
#include "services/users.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

#define MAX_OBJ 12288 /* larger than any entity struct */

struct problem {
	const char *field;
	char why[256];
	int status; /* 400 by default; 409 for conflicts */
};

struct res_def;
typedef int (*prepare_fn)(struct call *c, struct rd_txn *t, void *obj, const void *old, struct problem *p);
/* A list's filter: 1 keeps the record, 0 drops it, < 0 the store failed
 * (RD_E*; the list stops and answers it). */
typedef int (*filter_fn)(struct call *c, struct rd_txn *t, const void *obj, struct rd_req *req);
typedef int (*remove_fn)(struct call *c, struct rd_txn *t, const struct res_def *r, void *obj, struct problem *p);

struct res_def {
	const char *name;
	enum rd_resource res;
	const struct rd_entity *e;
	size_t table;                  /* offsetof(struct rd_domain, ...) */
	const char *const *required;   /* JSON names a create must give */
	ssize_t ext_off;               /* offset of external_id, or -1 */
	prepare_fn prepare;            /* defaults and cross-record rules */
	const char *const *filters;    /* query parameters the list takes */
	filter_fn filter;
	remove_fn remove;              /* NULL: delete the record */
};

static struct rd_table *table_of(const struct call *c, const struct res_def *r)
{
	return *(struct rd_table **)((char *)c->app->domain + r->table);
}

static int problem(struct problem *p, const char *field, const char *fmt, const char *arg)
{
	p->field = field;
	snprintf(p->why, sizeof p->why, fmt, arg);
	return RD_EINVAL;
}

/* Is any record of tb indexed under this id (e.g. contracts of a customer)? */
/* Whether a record of tb names id through index: 1 yes, 0 no, < 0 the
 * store failed to say (answered as such, never "not named"). */
static int referenced(struct call *c, struct rd_txn *t, struct rd_table *tb, const char *index, uint64_t id)
{
	uint8_t key[8];
	rd_key_put_u64(key, id);
	struct rd_iter it;
	struct rd_item item;
	bool yes = false;
	int rc = rd_iter_index(&it, t, tb, index, c->who.vendor, key, 8, NULL, 0);
	if (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		yes = item.key_len == 8 && memcmp(item.key, key, 8) == 0;
	rd_iter_close(&it);
	return yes ? 1 : rc < 0 ? rc : 0;
}

/* ---- per-resource rules ----------------------------------------------------- */

/* The partner's rules are the services' (records.h), shared with the console. */
static int prepare_partner(struct call *c, struct rd_txn *t, void *obj, const void *old, struct problem *p)
{
	struct rd_serr e = { 0 };
	int rc = rd_record_partner_rule(t, c->app, c->who.vendor, c->who.role, obj, old, &e);
	if (rc == RD_EINVAL)
		return problem(p, e.field, "%s", e.message);
	return rc < 0 ? rc : 0; /* the store failed: answered as what it is (503), not 400 */
}

/* The rules of the records a vendor imports are the services' (records.h),
 * shared with the import engine. */
static int record_rule(struct call *c, struct rd_txn *t, enum rd_resource res, void *obj, const void *old,
		       struct problem *p)
{
	struct rd_actor who = { .vendor = c->who.vendor, .user = c->who.user,
				.partner = rd_role_is_partner(c->who.role) ? c->who.partner : 0 };
	struct rd_serr e = { 0 };
	int rc = rd_record_prepare(t, c->app, &who, &c->vendor, res, obj, old, &e);
	if (rc == RD_EINVAL)
		return problem(p, e.field, "%s", e.message);
	return rc < 0 ? rc : 0; /* the store failed: answered as what it is (503), not 400 */
}

static int prepare_customer(struct call *c, struct rd_txn *t, void *obj, const void *old, struct problem *p)
{
	return record_rule(c, t, RD_RES_CUSTOMER, obj, old, p);
}

static int prepare_contact(struct call *c, struct rd_txn *t, void *obj, const void *old, struct problem *p)
{
	struct rd_contact *x = obj;
	struct rd_customer cu;
	if (rd_role_is_partner(c->who.role)) {
		/* Only "not found" or "not yours" is the caller's mistake: a
		 * look-up the store failed is answered as what it is (503). */
		int rc = rd_entity_get(t, c->app->domain->customers, &rd_entity_customer, c->who.vendor, x->customer_id, &cu);
		if (rc == 0)
			rc = rd_call_visible(c, t, RD_RES_CUSTOMER, &cu);
		if (rc < 0 && rc != RD_ENOTFOUND)
			return rc;
		if (rc <= 0)
			return problem(p, "customer_id", "%scustomer_id names no customer you can see", "");
	}
	return record_rule(c, t, RD_RES_CONTACT, obj, old, p);
}

static int prepare_product(struct call *c, struct rd_txn *t, void *obj, const void *old, struct problem *p)
{
	return record_rule(c, t, RD_RES_PRODUCT, obj, old, p);
}

static int prepare_contract(struct call *c, struct rd_txn *t, void *obj, const void *old, struct problem *p)
{
	return record_rule(c, t, RD_RES_CONTRACT, obj, old, p);
}

/* The rule is the users service's (services/users.h), shared with the pages. */
static int prepare_user(struct call *c, struct rd_txn *t, void *obj, const void *old, struct problem *p)
{
	struct rd_user_caller by = { .vendor = c->who.vendor, .user = c->who.user, .partner = c->who.partner,
				     .role = c->who.role };
	struct rd_serr e;
	int rc = rd_user_check(t, c->app->domain, &by, obj, old, &e);
	if (rc == 0)
		return 0;
	if (rc != RD_EINVAL && rc != RD_EEXISTS)
		return rc;
	if (rc == RD_EEXISTS)
		p->status = 409;
	return problem(p, e.field, "%s", e.message);
}

/* ---- list filters ----------------------------------------------------------- */

static const char *const list_params[] = { "limit", "cursor", NULL };
static const char *const contract_params[] = { "limit", "cursor", "status", "colour", "end_from", "end_to", "partner",
					       "customer", "product", "product_line", "external_id", NULL };
static const char *const customer_params[] = { "limit", "cursor", "name", "external_id", NULL };
static const char *const partner_params[] = { "limit", "cursor", "kind", "tier", "parent", "external_id", NULL };
static const char *const contact_params[] = { "limit", "cursor", "customer", NULL };
static const char *const user_params[] = { "limit", "cursor", "role", "partner", NULL };
static const char *const product_params[] = { "limit", "cursor", "line", "sku", NULL };

static bool eq_param(struct rd_req *req, const char *name, const char *value)
{
	const char *q = rd_req_query(req, name);
	return !q || strcmp(q, value) == 0;
}

static bool id_param(struct rd_req *req, const char *name, uint64_t a, uint64_t b)
{
	const char *q = rd_req_query(req, name);
	if (!q)
		return true;
	uint64_t v = rd_parse_id(q);
	return v && (v == a || v == b);
}

static bool contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return n == 0;
}

static const char *enum_name(const struct rd_entity *e, const char *json, uint8_t v)
{
	for (size_t i = 0; i < e->n_fields; i++)
		if (strcmp(e->fields[i].json, json) == 0) {
			size_t n = 0;
			while (e->fields[i].names[n])
				n++;
			return v < n ? e->fields[i].names[v] : "";
		}
	return "";
}

static int filter_contract(struct call *c, struct rd_txn *t, const void *obj, struct rd_req *req)
{
	const struct rd_contract *x = obj;
	rd_date d;
	const char *q;
	if (!eq_param(req, "status", enum_name(&rd_entity_contract, "status", x->status)) ||
	    !eq_param(req, "external_id", x->external_id) || !id_param(req, "partner", x->reseller_id, x->distributor_id) ||
	    !id_param(req, "customer", x->customer_id, x->customer_id) ||
	    !id_param(req, "product", x->product_id, x->product_id))
		return 0;
	if ((q = rd_req_query(req, "end_from")) && (rd_date_parse(q, &d) < 0 || x->end < d))
		return 0;
	if ((q = rd_req_query(req, "end_to")) && (rd_date_parse(q, &d) < 0 || x->end > d))
		return 0;
	if ((q = rd_req_query(req, "colour")) &&
	    strcmp(q, rd_colour_name(rd_contract_colour(x, rd_clock_today(), c->vendor.renewal_window_days))) != 0)
		return 0;
	if ((q = rd_req_query(req, "product_line"))) {
		/* No such product: no line to match.  Any other failure is the
		 * store's, not a contract left out of the list. */
		struct rd_product pr;
		int rc = rd_entity_get(t, c->app->domain->products, &rd_entity_product, c->who.vendor, x->product_id, &pr);
		if (rc < 0)
			return rc == RD_ENOTFOUND ? 0 : rc;
		if (strcmp(pr.line, q) != 0)
			return 0;
	}
	return 1;
}

static int filter_customer(struct call *c, struct rd_txn *t, const void *obj, struct rd_req *req)
{
	const struct rd_customer *x = obj;
	const char *q = rd_req_query(req, "name");
	return (!q || contains_nocase(x->name, q)) && eq_param(req, "external_id", x->external_id);
}

static int filter_partner(struct call *c, struct rd_txn *t, const void *obj, struct rd_req *req)
{
	const struct rd_partner *x = obj;
	return eq_param(req, "kind", enum_name(&rd_entity_partner, "kind", x->kind)) &&
	       eq_param(req, "tier", enum_name(&rd_entity_partner, "tier", x->tier)) &&
	       id_param(req, "parent", x->parent_id, x->parent_id) && eq_param(req, "external_id", x->external_id);
}

static int filter_contact(struct call *c, struct rd_txn *t, const void *obj, struct rd_req *req)
{
	return id_param(req, "customer", ((const struct rd_contact *)obj)->customer_id, 0);
}

static int filter_user(struct call *c, struct rd_txn *t, const void *obj, struct rd_req *req)
{
	const struct rd_user *x = obj;
	return eq_param(req, "role", rd_role_name(x->role)) && id_param(req, "partner", x->partner_id, x->partner_id);
}

static int filter_product(struct call *c, struct rd_txn *t, const void *obj, struct rd_req *req)
{
	const struct rd_product *x = obj;
	return eq_param(req, "line", x->line) && eq_param(req, "sku", x->external_id);
}

/* Whether the query names anything but the page's limit and cursor.
 * Without a filter parameter every resource's filter keeps every record
 * (each test is "absent, or equal"), so it is not run per record: it
 * decoded the query string once per parameter it asks for. */
static bool has_filter(struct rd_req *req)
{
	static const char *const paging[] = { "limit", "cursor", NULL };
	return rd_req_query_unknown(req, paging) != NULL;
}

/* Validates filter values up front so a typo is a 400, not an empty list.
 * filtered: the query names more than the page's limit and cursor
 * (has_filter); without, no filter is there to check. */
static int check_filters(struct rd_req *req, const struct res_def *r, bool filtered)
{
	const char *bad = rd_req_query_unknown(req, r->filters ? r->filters : list_params);
	if (bad) {
		rd_reply_error(req, 400, "invalid", bad, "unknown query parameter \"%s\"", bad);
		return RD_EINVAL;
	}
	if (!filtered)
		return 0;
	static const char *const dates[] = { "end_from", "end_to" };
	for (int i = 0; i < 2; i++) {
		const char *q = rd_req_query(req, dates[i]);
		rd_date d;
		if (q && rd_date_parse(q, &d) < 0) {
			rd_reply_error(req, 400, "invalid", dates[i], "%s must be a date YYYY-MM-DD", dates[i]);
			return RD_EINVAL;
		}
	}
	static const char *const ids[] = { "partner", "customer", "product", "parent" };
	for (int i = 0; i < 4; i++) {
		const char *q = rd_req_query(req, ids[i]);
		if (q && !rd_parse_id(q)) {
			rd_reply_error(req, 400, "invalid", ids[i], "%s must be an id", ids[i]);
			return RD_EINVAL;
		}
	}
	/* Enum filters: a value that cannot match is a mistake, not an empty list. */
	static const struct {
		const char *param;
		const struct rd_entity *e;
		const char *field;
	} enums[] = { { "status", &rd_entity_contract, "status" }, { "kind", &rd_entity_partner, "kind" },
		      { "tier", &rd_entity_partner, "tier" }, { "role", &rd_entity_user, "role" } };
	for (size_t i = 0; i < sizeof enums / sizeof *enums; i++) {
		const char *q = rd_req_query(req, enums[i].param);
		if (!q || enums[i].e != r->e)
			continue;
		bool known = false;
		for (size_t k = 0; k < r->e->n_fields && !known; k++) {
			const struct rd_field *f = &r->e->fields[k];
			for (int n = 1; !strcmp(f->json, enums[i].field) && f->names && f->names[n]; n++)
				known |= !strcmp(f->names[n], q);
		}
		if (!known) {
			rd_reply_error(req, 400, "invalid", enums[i].param, "%s \"%s\" is not one of its values", enums[i].param, q);
			return RD_EINVAL;
		}
	}
	const char *colour = rd_req_query(req, "colour");
	if (colour && strcmp(colour, "red") && strcmp(colour, "amber") && strcmp(colour, "green") && strcmp(colour, "black") &&
	    strcmp(colour, "blue")) {
		rd_reply_error(req, 400, "invalid", "colour", "colour must be red, amber, green, black or blue");
		return RD_EINVAL;
	}
	return 0;
}

/* ---- removal ------------------------------------------------------------------ */

static int remove_contract(struct call *c, struct rd_txn *t, const struct res_def *r, void *obj, struct problem *p)
{
	struct rd_contract *x = obj;
	x->status = RD_CONTRACT_CANCELLED; /* contracts are cancelled, never deleted */
	return rd_entity_put(t, table_of(c, r), r->e, c->who.vendor, x, 0);
}

/* 409 while any record of the vendor names the record (domain/refs.c): a
 * delete never leaves a reference naming nothing. */
static int named_elsewhere(struct call *c, struct rd_txn *t, size_t table, uint64_t id, const char *what,
			   struct problem *p)
{
	int rc;
	const char *named = rd_refs_named(t, c->app->domain, c->who.vendor, table, id, &rc);
	if (rc < 0)
		return rc;
	if (!named)
		return 0;
	p->status = 409;
	p->field = NULL;
	snprintf(p->why, sizeof p->why, "the %s is named by %s records: it cannot be deleted", what, named);
	return RD_EINVAL;
}

static int remove_partner(struct call *c, struct rd_txn *t, const struct res_def *r, void *obj, struct problem *p)
{
	uint64_t id = *(uint64_t *)obj;
	int named = referenced(c, t, c->app->domain->contracts, "reseller", id);
	if (named == 0)
		named = referenced(c, t, c->app->domain->partners, "parent", id);
	if (named < 0)
		return named; /* the store failed: 503, never a delete of a partner still named */
	if (named) {
		p->status = 409;
		return problem(p, NULL, "%sthe partner has contracts or resellers: it cannot be deleted", "");
	}
	/* Distributor of record: its index, not a decode of every contract. */
	if ((named = referenced(c, t, c->app->domain->contracts, RD_IDX_CONTRACT_DISTRIBUTOR, id)) < 0)
		return named;
	if (named) {
		p->status = 409;
		return problem(p, NULL, "%sthe partner is distributor of record on contracts: it cannot be deleted", "");
	}
	/* Its users would be left pointing at a partner that is gone. */
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, c->app->domain->users, c->who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_user u;
		if (rd_entity_decode(&rd_entity_user, item.val, item.len, &u) == 0 && u.partner_id == id) {
			rd_iter_close(&it);
			p->status = 409;
			return problem(p, NULL, "%sthe partner has users: it cannot be deleted", "");
		}
	}
	rd_iter_close(&it);
	if (rc < 0 || (rc = named_elsewhere(c, t, offsetof(struct rd_domain, partners), id, "partner", p)) < 0)
		return rc;
	return rd_txn_del(t, table_of(c, r), c->who.vendor, id);
}

static int remove_customer(struct call *c, struct rd_txn *t, const struct res_def *r, void *obj, struct problem *p)
{
	uint64_t id = *(uint64_t *)obj;
	int named = referenced(c, t, c->app->domain->contracts, "customer", id);
	if (named == 0)
		named = referenced(c, t, c->app->domain->contacts, "customer", id);
	if (named < 0)
		return named; /* the store failed: 503, never a delete of a customer still named */
	if (named) {
		p->status = 409;
		return problem(p, NULL, "%sthe customer has contracts or contacts: merge it into another instead", "");
	}
	/* Nor may it go while anything else names it. */
	int rc = named_elsewhere(c, t, offsetof(struct rd_domain, customers), id, "customer", p);
	if (rc < 0) {
		if (p->status == 409)
			strncat(p->why, "; merge it into another instead", sizeof p->why - strlen(p->why) - 1);
		return rc;
	}
	return rd_txn_del(t, table_of(c, r), c->who.vendor, id);
}

static int remove_product(struct call *c, struct rd_txn *t, const struct res_def *r, void *obj, struct problem *p)
{
	uint64_t id = *(uint64_t *)obj;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, c->app->domain->contracts, c->who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_contract k;
		if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) == 0 && k.product_id == id) {
			rd_iter_close(&it);
			p->status = 409;
			return problem(p, NULL, "%scontracts refer to the product: it cannot be deleted", "");
		}
	}
	rd_iter_close(&it);
	if (rc < 0)
		return rc;
	/* Other products' up-sell and cross-sell lists would name a product that is gone. */
	rc = rd_iter_records(&it, t, c->app->domain->products, c->who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_product pr;
		if (rd_entity_decode(&rd_entity_product, item.val, item.len, &pr) < 0)
			continue;
		for (int k = 0; k < pr.n_upsell + pr.n_crosssell; k++)
			if ((k < pr.n_upsell ? pr.upsell[k] : pr.crosssell[k - pr.n_upsell]) == id) {
				rd_iter_close(&it);
				p->status = 409;
				return problem(p, NULL, "%sother products list the product as an up-sell or cross-sell: it cannot be deleted", "");
			}
	}
	rd_iter_close(&it);
	if (rc < 0 || (rc = named_elsewhere(c, t, offsetof(struct rd_domain, products), id, "product", p)) < 0)
		return rc;
	return rd_txn_del(t, table_of(c, r), c->who.vendor, id);
}

static int remove_user(struct call *c, struct rd_txn *t, const struct res_def *r, void *obj, struct problem *p)
{
	uint64_t id = *(uint64_t *)obj;
	if (id == c->who.user)
		return problem(p, NULL, "%syou cannot delete yourself", "");
	return rd_txn_del(t, table_of(c, r), c->who.vendor, id);
}

/* ---- the resource table ----------------------------------------------------------- */

#define DOM(f) offsetof(struct rd_domain, f)
static const char *const req_partner[] = { "name", "kind", "tier", NULL };
#define req_customer rd_record_required_customer
#define req_contact rd_record_required_contact
#define req_product rd_record_required_product
#define req_contract rd_record_required_contract
static const char *const req_user[] = { "email", "name", "role", NULL };

static const struct res_def resources[] = {
	{ "partners", RD_RES_PARTNER, &rd_entity_partner, DOM(partners), req_partner,
	  offsetof(struct rd_partner, external_id), prepare_partner, partner_params, filter_partner, remove_partner },
	{ "customers", RD_RES_CUSTOMER, &rd_entity_customer, DOM(customers), req_customer,
	  offsetof(struct rd_customer, external_id), prepare_customer, customer_params, filter_customer, remove_customer },
	{ "contacts", RD_RES_CONTACT, &rd_entity_contact, DOM(contacts), req_contact,
	  offsetof(struct rd_contact, external_id), prepare_contact, contact_params, filter_contact, NULL },
	{ "products", RD_RES_PRODUCT, &rd_entity_product, DOM(products), req_product,
	  offsetof(struct rd_product, external_id), prepare_product, product_params, filter_product, remove_product },
	{ "contracts", RD_RES_CONTRACT, &rd_entity_contract, DOM(contracts), req_contract,
	  offsetof(struct rd_contract, external_id), prepare_contract, contract_params, filter_contract, remove_contract },
	{ "users", RD_RES_USER, &rd_entity_user, DOM(users), req_user, -1, prepare_user, user_params, filter_user,
	  remove_user },
};

static const struct res_def *resource_of(struct rd_req *req)
{
	const char *path = rd_req_route(req); /* "/api/v1/<name>..." */
	const char *name = path + strlen("/api/v1/");
	for (size_t i = 0; i < sizeof resources / sizeof *resources; i++) {
		size_t n = strlen(resources[i].name);
		if (strncmp(name, resources[i].name, n) == 0 && (name[n] == 0 || name[n] == '/'))
			return &resources[i];
	}
	return NULL;
}

/* ---- handlers --------------------------------------------------------------------- */

static void reply_problem(struct rd_req *req, int rc, const struct problem *p)
{
	if (rc == RD_EINVAL)
		rd_reply_error(req, p->status ? p->status : 400,
			       p->status == 409 ? "conflict" : p->status == 403 ? "forbidden" : "invalid", p->field, "%s",
			       p->why);
	else if (rc == RD_ENOTFOUND)
		rd_reply_error(req, 404, "not_found", NULL, "no such record");
	else if (rc == RD_EBUSY)
		rd_reply_error(req, 503, "unavailable", NULL, "the store is unavailable: try again later");
	else
		rd_reply_error(req, 500, "internal", NULL, "the change could not be stored: %s", rd_strerror(rc));
}

/* Loads a record the caller may see (RD_ENOTFOUND otherwise). */
static int load_visible(struct call *c, struct rd_txn *t, const struct res_def *r, enum rd_scope scope, uint64_t id,
			void *obj)
{
	int rc = rd_entity_get(t, table_of(c, r), r->e, c->who.vendor, id, obj);
	if (rc < 0 || scope != RD_SCOPE_OWN)
		return rc;
	rc = rd_call_visible(c, t, r->res, obj); /* < 0: the store failed, answered as such */
	return rc < 0 ? rc : rc ? 0 : RD_ENOTFOUND;
}

/* The filters an index serves, best first: the first one given picks the
 * index the list walks (the others, and that one again, are still checked
 * on each record by the resource's filter). */
enum ix_kind { IX_STR, IX_ID, IX_END, IX_PARTNER };
static const struct {
	enum rd_resource res;
	const char *param, *index;
	enum ix_kind kind;
} served[] = {
	{ RD_RES_CONTRACT, "external_id", "ext", IX_STR },
	{ RD_RES_CONTRACT, "customer", "customer", IX_ID },
	{ RD_RES_CONTRACT, "end_from", RD_IDX_CONTRACT_END, IX_END },
	{ RD_RES_CONTRACT, "end_to", RD_IDX_CONTRACT_END, IX_END },
	{ RD_RES_CONTRACT, "partner", "reseller", IX_PARTNER }, /* reseller or distributor of record */
	{ RD_RES_CUSTOMER, "external_id", "ext", IX_STR },
	{ RD_RES_PARTNER, "external_id", "ext", IX_STR },
	{ RD_RES_PARTNER, "parent", "parent", IX_ID },
	{ RD_RES_PRODUCT, "sku", "ext", IX_STR },
	{ RD_RES_CONTACT, "customer", "customer", IX_ID },
};

/* Picks the index source for the list's filters: the entry of served[]
 * it is for; -1: walk the table. */
static int list_source(struct rd_req *req, const struct res_def *r, struct rd_list_source *src)
{
	for (size_t i = 0; i < sizeof served / sizeof *served; i++) {
		const char *q;
		if (served[i].res != r->res || !(q = rd_req_query(req, served[i].param)))
			continue;
		switch (served[i].kind) {
		case IX_STR:
			if (rd_list_source_str(src, served[i].index, q))
				return (int)i;
			break;
		case IX_ID:
			if (rd_list_source_id(src, served[i].index, rd_parse_id(q)))
				return (int)i;
			break;
		case IX_PARTNER:
			if (rd_list_source_id2(src, served[i].index, RD_IDX_CONTRACT_DISTRIBUTOR, rd_parse_id(q)))
				return (int)i;
			break;
		case IX_END: {
			const char *f = rd_req_query(req, "end_from"), *to = rd_req_query(req, "end_to");
			rd_date lo = 0, hi = 0;
			if ((f && rd_date_parse(f, &lo) < 0) || (to && rd_date_parse(to, &hi) < 0))
				break;
			if (rd_list_source_dates(src, served[i].index, f != NULL, lo, to != NULL, hi))
				return (int)i;
			break;
		}
		}
	}
	return -1;
}

/* Whether the index entry served[i] picked answers the query alone: an id
 * filter (an id's entries are exactly the records that hold it; a
 * partner's, those with it as reseller or distributor) and no parameter
 * beside it but the page's.  Its records then need no filter, and with a
 * scope that reads nothing, no decode (list_row's plain path). */
static bool index_answers_alone(struct rd_req *req, int i)
{
	if (i < 0 || (served[i].kind != IX_ID && served[i].kind != IX_PARTNER))
		return false;
	const char *const only[] = { "limit", "cursor", served[i].param, NULL };
	return rd_req_query_unknown(req, only) == NULL;
}

struct list_walk {
	struct call *c;
	struct rd_txn *t;
	const struct res_def *r;
	enum rd_scope scope;
	struct rd_req *req;
	struct rd_page *pg;
	void *obj;
	bool filtered; /* r->filter runs per record (the query names a filter the index does not answer alone) */
	bool plain;    /* neither the scope nor a filter reads the record */
	rd_date today; /* the contracts' colour: today, once per list */
	uint64_t aux;  /* a kept entry's aux when it is written whole (list_aux) */
	/* A partner's customers, contacts or contracts (rd_api_list): records
	 * not the partner's the walk may still pass over before it stops (0:
	 * no bound); sparse: it stopped, at record sparse_at, for the
	 * partner's own set (scope_set). */
	unsigned passed_left;
	bool sparse;
	uint64_t sparse_at;
};

/* Records that are not a partner's a page's walk passes over before it
 * turns to the partner's own set (about 2 ms of the loop). */
#define SPARSE_WALK 1024

/* The aux a kept entry of r's records carries when its tail is the one to
 * write: a contract's colour for today and the vendor's window (the day
 * and window in the key, the top bit set); 0 (none, tail "}") otherwise. */
static uint64_t list_aux(const struct call *c, const struct res_def *r, rd_date today)
{
	return r->res != RD_RES_CONTRACT ? 0
					 : UINT64_C(1) << 63 | (uint64_t)(uint32_t)today << 32 |
						   c->vendor.renewal_window_days;
}

/* The record obj written into out (not from a kept entry, or one whose aux
 * is stale): with its colour if a contract; kept, or its entry's aux set. */
static void write_kept(struct rd_jsonw *out, struct call *c, const struct res_def *r, struct rd_jsonw_memo *m,
		       uint64_t aux, rd_date today, uint64_t id, const void *rec, size_t len, const void *obj)
{
	bool contract = r->res == RD_RES_CONTRACT;
	enum rd_colour k = contract ? rd_contract_colour(obj, today, c->vendor.renewal_window_days) : 0;
	const char *colour = contract ? rd_colour_name(k) : NULL;
	if (m) {
		if (contract && rd_jsonw_memo_aux(m, aux, k, "colour", colour))
			rd_jsonw_memo_write_whole(out, m);
		else
			rd_jsonw_memo_write(out, m, colour ? "colour" : NULL, colour);
	} else {
		rd_jsonw_entity_kept(out, r->e, c->who.vendor, id, rec, len, obj, colour ? "colour" : NULL, colour,
				     contract ? aux : 0, k);
	}
}

/* A record the list passed over as not the caller's: 1, the walk goes
 * on; 0 when a partner's walk has passed over SPARSE_WALK (it turns to the
 * partner's set after id).  A filter's misses do not count: they say
 * nothing of how sparse the partner's records are. */
static int passed(struct list_walk *w, uint64_t id)
{
	if (!w->passed_left || --w->passed_left)
		return 1;
	w->sparse = true;
	w->sparse_at = id;
	return 0;
}

/* list_row's record when it is not written whole at once: decoded, checked
 * against the scope and the filter, written (hit: from its entry m whole). */
static __attribute__((noinline)) int list_row_decoded(struct list_walk *w, uint64_t id, const void *rec, size_t len,
						      struct rd_jsonw_memo *m, bool hit)
{
	struct rd_jsonw *out = w->pg->raw;
	int rc = rd_entity_decode(w->r->e, rec, len, w->obj);
	if (rc < 0)
		return rc;
	if (w->scope == RD_SCOPE_OWN && (rc = rd_call_visible(w->c, w->t, w->r->res, w->obj)) <= 0)
		return rc < 0 ? rc : passed(w, id); /* < 0: the store failed; the walk stops with it */
	if (w->filtered && w->r->filter && (rc = w->r->filter(w->c, w->t, w->obj, w->req)) <= 0)
		return rc < 0 ? rc : 1; /* < 0: the store failed; the walk stops with it */
	if (out) {
		if (!rd_page_room(w->pg))
			return 0;
		if (hit)
			rd_jsonw_memo_write_whole(out, m);
		else
			write_kept(out, w->c, w->r, m, w->aux, w->today, id, rec, len, w->obj);
		rd_page_wrote(w->pg, id);
		return 1;
	}
	json_t *j = rd_entity_to_json(w->r->e, w->obj);
	if (w->r->res == RD_RES_CONTRACT)
		json_object_set_new(j, "colour", json_string(rd_colour_name(rd_contract_colour(
						     w->obj, w->today, w->c->vendor.renewal_window_days))));
	return rd_page_add(w->pg, id, j) ? 1 : 0;
}

/* A page's record written whole from its kept JSON when its stored bytes
 * are the ones kept (domain/jsonw.h, rd_jsonw_memo_*) and its aux is
 * today's: no decode unless the scope or a filter reads the record, the
 * contract's colour kept with it (in the entry's tail) for the day and
 * window it was worked out for. */
static int list_row(void *ctx, uint64_t id, const void *rec, size_t len)
{
	struct list_walk *w = ctx;
	struct rd_page *pg = w->pg;
	if (w->plain && pg->n == pg->limit) {
		/* Every record is given out: a full page has more (rd_page_room,
		 * without the record's look-up and decode). */
		pg->more = true;
		return 0;
	}
	struct rd_jsonw_memo *m = pg->raw ? rd_jsonw_memo_find(w->r->e, w->c->who.vendor, id, rec, len) : NULL;
	bool hit = m && m->aux_key == w->aux;
	if (!hit || !w->plain)
		return list_row_decoded(w, id, rec, len, m, hit);
	if (!rd_page_room(pg))
		return 0;
	rd_jsonw_memo_write_whole(pg->raw, m);
	rd_page_wrote(pg, id);
	return 1;
}

/* Records are written as JSON straight from the field table (domain/jsonw.h)
 * unless RENEWD_JSON_TREE is set in the daemon's environment: then as
 * jansson trees dumped, the path the writer's bytes are checked against
 * (tests/integration/test_json_writer.py). */
static bool json_tree(void)
{
	static int tree = -1;
	if (tree < 0) {
		const char *v = getenv("RENEWD_JSON_TREE");
		tree = v && *v && strcmp(v, "0") != 0;
	}
	return tree;
}

/* The ids of the customers (or their contacts, or the contracts) a partner
 * caller sees, ascending: its list walks these and no others. */
static int scope_set(struct call *c, struct rd_txn *t, const struct res_def *r, uint64_t **ids, size_t *n)
{
	if (r->res == RD_RES_CONTRACT)
		return rd_call_scope_contracts(c, t, ids, n);
	uint64_t *cust;
	size_t nc;
	int rc = rd_call_scope_customers(c, t, &cust, &nc);
	if (rc < 0 || r->res == RD_RES_CUSTOMER) {
		*ids = rc < 0 ? NULL : cust;
		*n = rc < 0 ? 0 : nc;
		return rc;
	}
	rc = rd_list_ids_under(t, table_of(c, r), "customer", c->who.vendor, cust, nc, ids, n);
	free(cust);
	return rc;
}

int rd_api_list(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	const struct res_def *r = resource_of(req);
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, r->res, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_page pg;
	bool filtered = has_filter(req);
	if (check_filters(req, r, filtered) < 0 || rd_page_begin(&pg, req, NULL) < 0)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rd_page_finish(&pg, rc);
	struct rd_jsonw out;
	if (!json_tree()) {
		rd_jsonw_for_req(&out, req, 1024 + 1024 * (pg.limit < 50 ? pg.limit : 50));
		rd_page_raw(&pg, &out);
	}
	struct rd_list_source src;
	/* Without a filter parameter no index is picked (list_source asks for
	 * each served one). */
	int served_by = filtered ? list_source(req, r, &src) : -1;
	bool check = filtered && r->filter && !index_answers_alone(req, served_by);
	_Alignas(max_align_t) uint8_t obj[MAX_OBJ];
	rd_date today = rd_clock_today();
	struct list_walk w = { &c, t, r, scope, req, &pg, obj, check, scope != RD_SCOPE_OWN && !check, today,
			       list_aux(&c, r, today) };
	bool by_index = served_by >= 0;
	/* A partner's customers, contacts and contracts: the table walk while
	 * it finds the partner's records (a large channel's are dense), its own
	 * set from its contracts once the walk passed over SPARSE_WALK that
	 * were not its (never a walk of the vendor's every record on the loop). */
	if (!by_index && scope == RD_SCOPE_OWN &&
	    (r->res == RD_RES_CUSTOMER || r->res == RD_RES_CONTACT || r->res == RD_RES_CONTRACT))
		w.passed_left = SPARSE_WALK;
	rc = rd_list_walk(t, table_of(&c, r), c.who.vendor, pg.cursor, by_index ? &src : NULL, list_row, &w);
	uint64_t *set = NULL;
	size_t n_set = 0;
	if (rc == 0 && w.sparse && (rc = scope_set(&c, t, r, &set, &n_set)) == 0) {
		rd_list_source_ids(&src, set, n_set);
		w.sparse = false;
		w.passed_left = 0;
		rc = rd_list_walk(t, table_of(&c, r), c.who.vendor, w.sparse_at, &src, list_row, &w);
	}
	free(set);
	rd_txn_end(t);
	return rd_page_finish(&pg, rc);
}

static json_t *with_colour(struct call *c, const struct res_def *r, const void *obj)
{
	json_t *j = rd_entity_to_json(r->e, obj);
	if (r->res == RD_RES_CONTRACT)
		json_object_set_new(j, "colour", json_string(rd_colour_name(rd_contract_colour(
						     obj, rd_clock_today(), c->vendor.renewal_window_days))));
	return j;
}

int rd_api_get(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	const struct res_def *r = resource_of(req);
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, r->res, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	_Alignas(max_align_t) uint8_t obj[MAX_OBJ];
	if (json_tree()) {
		rc = id ? load_visible(&c, t, r, scope, id, obj) : RD_ENOTFOUND;
		rd_txn_end(t);
		if (rc == 0)
			rd_reply_json(req, 200, with_colour(&c, r, obj));
	} else {
		/* As a list's record: from its kept JSON while its stored bytes
		 * are the ones kept and its aux today's (list_row). */
		const void *rec = NULL;
		size_t len = 0;
		rc = id ? rd_txn_get(t, table_of(&c, r), c.who.vendor, id, &rec, &len) : RD_ENOTFOUND;
		struct rd_jsonw_memo *m = rc == 0 ? rd_jsonw_memo_find(r->e, c.who.vendor, id, rec, len) : NULL;
		rd_date today = rd_clock_today();
		uint64_t aux = list_aux(&c, r, today);
		bool hit = m && m->aux_key == aux;
		if (rc == 0 && (!hit || scope == RD_SCOPE_OWN)) {
			rc = rd_entity_decode(r->e, rec, len, obj);
			if (rc == 0 && scope == RD_SCOPE_OWN) {
				int v = rd_call_visible(&c, t, r->res, obj); /* < 0: the store failed, answered as such */
				rc = v < 0 ? v : v == 0 ? RD_ENOTFOUND : 0;
			}
		}
		if (rc == 0) {
			struct rd_jsonw out;
			rd_jsonw_for_req(&out, req, 2048);
			if (hit)
				rd_jsonw_memo_write_whole(&out, m);
			else
				write_kept(&out, &c, r, m, aux, today, id, rec, len, obj);
			rd_txn_end(t);
			rd_reply_pooled(req, 200, "application/json", out.buf, out.len);
		} else {
			rd_txn_end(t);
		}
	}
	if (rc == RD_ENOTFOUND)
		rd_reply_error(req, 404, "not_found", "id", "no %s with id %s", r->e->name, rd_req_param(req, "id"));
	return rc == RD_ENOTFOUND ? 0 : rc;
}

/* A pending create or update: everything the write transaction needs. */
struct change {
	struct call c;
	const struct res_def *r;
	enum rd_scope scope;
	uint64_t id;          /* update/delete: the record */
	json_t *body;         /* the request's fields (update: applied to the old record) */
	char *password;       /* users: the new password, hashed off the loop */
	char pwhash[RD_PWHASH_MAX];
	uint8_t obj[MAX_OBJ];
	uint8_t old[MAX_OBJ];
	struct problem p;
	bool is_create, is_delete;
	const char *unauth; /* the caller was checked again and is not who it was (rd_call_recheck) */
};

static void change_free(struct change *ch)
{
	json_decref(ch->body);
	if (ch->password) {
		memset(ch->password, 0, strlen(ch->password));
		free(ch->password);
	}
	free(ch);
}

/* An external id (a SKU) is one record's (services/records.c). */
static int ext_unique(struct change *ch, struct rd_txn *t)
{
	if (ch->r->ext_off < 0)
		return 0;
	struct rd_serr e = { 0 };
	int rc = rd_record_ext_unique(t, ch->c.app, ch->c.who.vendor, ch->r->res, ch->obj, &e);
	if (rc == RD_EEXISTS) {
		ch->p.status = 409;
		ch->p.field = e.field;
		snprintf(ch->p.why, sizeof ch->p.why, "%s", e.message);
		return RD_EINVAL;
	}
	return rc;
}

/* The customer a customer or contact record belongs to. */
static uint64_t customer_of(const struct res_def *r, const void *obj)
{
	return r->res == RD_RES_CUSTOMER ? ((const struct rd_customer *)obj)->id : ((const struct rd_contact *)obj)->customer_id;
}

/* A customer's identity (its record: the e-mail its portal links go to;
 * its contacts) is not a partner's to redirect when the customer also buys
 * through another channel: a partner changes it only when every contract of
 * the customer that is not cancelled is in its own channel.  Otherwise the
 * vendor's people make the change.  The refusal names no other partner. */
static int identity_guard(struct change *ch, struct rd_txn *t, const void *obj)
{
	if (ch->scope != RD_SCOPE_OWN || (ch->r->res != RD_RES_CUSTOMER && ch->r->res != RD_RES_CONTACT))
		return 0;
	int owned = rd_call_customer_owned(&ch->c, t, customer_of(ch->r, obj));
	if (owned != 0)
		return owned < 0 ? owned : 0; /* < 0: the store failed (503), not "changed by the vendor" */
	ch->p.status = 403;
	ch->p.field = ch->r->res == RD_RES_CONTACT ? "customer_id" : NULL;
	snprintf(ch->p.why, sizeof ch->p.why,
		 "this customer's details and contacts are changed by the vendor: not all of its contracts are in your channel");
	return RD_EINVAL;
}

static int change_write(struct rd_txn *t, void *arg)
{
	struct change *ch = arg;
	const struct res_def *r = ch->r;
	struct call *c = &ch->c;
	int rc;
	memset(&ch->p, 0, sizeof ch->p);
	/* Its password was hashed on the thread pool after the caller was
	 * authenticated: a revocation (a disabled user, a new role) committed
	 * meanwhile stops it. */
	if (ch->password && (rc = rd_call_recheck(c, t, &ch->unauth)) < 0)
		return rc;
	if (!ch->is_create) {
		if ((rc = load_visible(c, t, r, ch->scope, ch->id, ch->old)) < 0)
			return rc;
		memcpy(ch->obj, ch->old, r->e->size);
		if ((rc = identity_guard(ch, t, ch->old)) < 0)
			return rc;
	} else {
		memset(ch->obj, 0, r->e->size);
	}
	if (ch->is_delete) {
		json_t *before = with_colour(c, r, ch->old);
		rc = r->remove ? r->remove(c, t, r, ch->obj, &ch->p) : rd_txn_del(t, table_of(c, r), c->who.vendor, ch->id);
		if (rc >= 0) {
			json_t *after = r->res == RD_RES_CONTRACT ? with_colour(c, r, ch->obj) : NULL;
			rc = rd_audit_write(t, c->app->domain, c->who.vendor, c->who.user,
					    after ? RD_AUDIT_UPDATE : RD_AUDIT_DELETE, r->name, ch->id, before, after,
					    after ? "cancelled" : NULL);
			json_decref(after);
		}
		json_decref(before);
		return rc;
	}
	if ((rc = rd_entity_from_json(r->e, ch->body, ch->obj, &ch->p.field, ch->p.why, sizeof ch->p.why)) < 0)
		return rc;
	if (r->res == RD_RES_USER && ch->pwhash[0])
		memcpy(((struct rd_user *)ch->obj)->password_hash, ch->pwhash, sizeof ch->pwhash);
	if (r->res == RD_RES_USER && ch->is_create)
		((struct rd_user *)ch->obj)->created_at = rd_clock_now();
	if (r->prepare && (rc = r->prepare(c, t, ch->obj, ch->is_create ? NULL : ch->old, &ch->p)) < 0)
		return rc;
	/* A contact created for, or moved to, a customer: that customer's too. */
	if (r->res == RD_RES_CONTACT && (rc = identity_guard(ch, t, ch->obj)) < 0)
		return rc;
	/* A partner-scoped caller may only write what stays within its scope. */
	if (ch->scope == RD_SCOPE_OWN && r->res != RD_RES_USER && r->res != RD_RES_CONTACT &&
	    (rc = rd_call_visible(c, t, r->res, ch->obj)) <= 0) {
		if (rc < 0)
			return rc; /* the store failed: 503, not "out of your scope" */
		ch->p.field = NULL;
		snprintf(ch->p.why, sizeof ch->p.why, "the change would take the %s out of your scope", r->e->name);
		return RD_EINVAL;
	}
	if ((rc = ext_unique(ch, t)) < 0)
		return rc;
	if ((rc = rd_entity_put(t, table_of(c, r), r->e, c->who.vendor, ch->obj, 0)) < 0)
		return rc;
	/* A new password signs out whoever signed in with the old one (the
	 * caller's own session goes on). */
	if (r->res == RD_RES_USER && !ch->is_create && ch->pwhash[0] &&
	    (rc = rd_user_sessions_end(t, c->app->domain, c->who.vendor, ch->id,
				       c->who.session ? c->who.token : 0)) < 0)
		return rc;
	/* A contract moved to another customer takes its opportunities, their
	 * orders and its documents along (services/merge.c). */
	if (r->res == RD_RES_CONTRACT && !ch->is_create &&
	    ((struct rd_contract *)ch->obj)->customer_id != ((struct rd_contract *)ch->old)->customer_id &&
	    (rc = rd_contract_moved(t, c->app->domain, &(struct rd_actor){ .vendor = c->who.vendor, .user = c->who.user },
				    ch->id, ((struct rd_contract *)ch->obj)->customer_id)) < 0)
		return rc;
	json_t *before = ch->is_create ? NULL : rd_entity_to_json(r->e, ch->old);
	json_t *after = rd_entity_to_json(r->e, ch->obj);
	rc = rd_audit_write(t, c->app->domain, c->who.vendor, c->who.user, ch->is_create ? RD_AUDIT_CREATE : RD_AUDIT_UPDATE,
			    r->name, *(uint64_t *)ch->obj, before, after, ch->pwhash[0] ? "password set" : NULL);
	json_decref(before);
	json_decref(after);
	return rc;
}

static void change_finish(struct rd_req *req, struct change *ch)
{
	int rc = rd_store_write(ch->c.app->store, change_write, ch);
	if (rc == RD_EINVAL && ch->unauth) {
		rd_call_reply_unauthenticated(req, ch->unauth);
		return;
	}
	if (rc < 0) {
		reply_problem(req, rc, &ch->p);
		return;
	}
	if (ch->is_delete) {
		if (ch->r->res == RD_RES_CONTRACT)
			rd_reply_json(req, 200, with_colour(&ch->c, ch->r, ch->obj));
		else
			rd_reply_raw(req, 204, "application/json", "", 0);
		return;
	}
	if (ch->is_create) {
		char loc[96];
		snprintf(loc, sizeof loc, "/api/v1/%s/%llu", ch->r->name, (unsigned long long)*(uint64_t *)ch->obj);
		rd_reply_header(req, "location", loc);
	}
	rd_reply_json(req, ch->is_create ? 201 : 200, with_colour(&ch->c, ch->r, ch->obj));
}

static void hash_password(void *arg)
{
	struct change *ch = arg;
	if (rd_password_hash(ch->password, ch->pwhash) < 0)
		ch->pwhash[0] = 0;
}

static void hashed(struct rd_req *req, void *arg)
{
	struct change *ch = arg;
	if (req) {
		if (!ch->pwhash[0])
			rd_reply_error(req, 500, "internal", "password", "the password could not be hashed");
		else
			change_finish(req, ch);
	}
	change_free(ch);
}

static int change_begin(struct rd_req *req, bool create)
{
	const struct res_def *r = resource_of(req);
	struct change *ch = rd_calloc(1, sizeof *ch);
	ch->r = r;
	ch->is_create = create;
	if (rd_call_begin(req, &ch->c) < 0 ||
	    (ch->scope = rd_call_allow(&ch->c, r->res, create ? RD_ACT_CREATE : RD_ACT_UPDATE)) == RD_SCOPE_NONE ||
	    rd_req_json(req, &ch->body) < 0) {
		change_free(ch);
		return 0;
	}
	if (!create && !(ch->id = rd_parse_id(rd_req_param(req, "id")))) {
		rd_reply_error(req, 404, "not_found", "id", "no %s with id %s", r->e->name, rd_req_param(req, "id"));
		change_free(ch);
		return 0;
	}
	if (create)
		for (size_t i = 0; r->required[i]; i++)
			if (!json_object_get(ch->body, r->required[i])) {
				rd_reply_error(req, 400, "invalid", r->required[i], "field %s is required", r->required[i]);
				change_free(ch);
				return 0;
			}
	json_t *pw = json_object_get(ch->body, "password");
	if (r->res == RD_RES_USER && pw) {
		const char *weak = json_is_string(pw) ? rd_password_weak(json_string_value(pw)) : "password must be a string";
		if (weak) {
			rd_reply_error(req, 400, "invalid", "password", "%s", weak);
			change_free(ch);
			return 0;
		}
		ch->password = rd_strdup(json_string_value(pw));
		json_object_del(ch->body, "password");
		return rd_req_work(req, hash_password, hashed, ch);
	}
	if (r->res == RD_RES_USER && create) {
		rd_reply_error(req, 400, "invalid", "password", "field password is required (10-256 characters)");
		change_free(ch);
		return 0;
	}
	change_finish(req, ch);
	change_free(ch);
	return 0;
}

int rd_api_create(struct rd_req *req)
{
	return change_begin(req, true);
}

int rd_api_patch(struct rd_req *req)
{
	return change_begin(req, false);
}

int rd_api_delete(struct rd_req *req)
{
	const struct res_def *r = resource_of(req);
	struct change *ch = rd_calloc(1, sizeof *ch);
	ch->r = r;
	ch->is_delete = true;
	if (rd_call_begin(req, &ch->c) < 0 ||
	    (ch->scope = rd_call_allow(&ch->c, r->res, RD_ACT_DELETE)) == RD_SCOPE_NONE) {
		change_free(ch);
		return 0;
	}
	if (!(ch->id = rd_parse_id(rd_req_param(req, "id")))) {
		rd_reply_error(req, 404, "not_found", "id", "no %s with id %s", r->e->name, rd_req_param(req, "id"));
		change_free(ch);
		return 0;
	}
	change_finish(req, ch);
	change_free(ch);
	return 0;
}
