/*
 * refs.c: the references between records (refs.h), and their check.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/refs.h"
#include "store/store.h"
#include "util/err.h"

#define DOM(f) offsetof(struct rd_domain, f)
#define ONE(ent, tbl, type, member, target) \
	{ &rd_entity_##ent, DOM(tbl), #member, offsetof(type, member), RD_REF_ONE, DOM(target) }
#define LIST(ent, tbl, type, member, count, name, target) \
	{ &rd_entity_##ent, DOM(tbl), name, offsetof(type, member), offsetof(type, count), DOM(target) }

/* Grouped by the table that holds the reference (the check decodes each
 * record once). */
const struct rd_ref rd_refs[] = {
	ONE(partner, partners, struct rd_partner, parent_id, partners),
	LIST(product, products, struct rd_product, upsell, n_upsell, "upsell", products),
	LIST(product, products, struct rd_product, crosssell, n_crosssell, "crosssell", products),
	ONE(contract, contracts, struct rd_contract, customer_id, customers),
	ONE(contract, contracts, struct rd_contract, product_id, products),
	ONE(contract, contracts, struct rd_contract, reseller_id, partners),
	ONE(contract, contracts, struct rd_contract, distributor_id, partners),
	ONE(user, users, struct rd_user, partner_id, partners),
	ONE(token, tokens, struct rd_token, vendor_id, vendors),
	ONE(token, tokens, struct rd_token, customer_id, customers),
	ONE(token, tokens, struct rd_token, opportunity_id, opportunities),
	ONE(token, tokens, struct rd_token, link_id, links),
	ONE(contact, contacts, struct rd_contact, customer_id, customers),
	ONE(enablement, enablements, struct rd_enablement, partner_id, partners),
	ONE(opportunity, opportunities, struct rd_opportunity, contract_id, contracts),
	ONE(opportunity, opportunities, struct rd_opportunity, customer_id, customers),
	ONE(opportunity, opportunities, struct rd_opportunity, product_id, products),
	ONE(opportunity, opportunities, struct rd_opportunity, reseller_id, partners),
	ONE(opportunity, opportunities, struct rd_opportunity, distributor_id, partners),
	ONE(message, outbox, struct rd_message, opportunity_id, opportunities),
	ONE(message, outbox, struct rd_message, partner_id, partners),
	ONE(message, outbox, struct rd_message, customer_id, customers),
	ONE(task, tasks, struct rd_task, opportunity_id, opportunities),
	ONE(task, tasks, struct rd_task, customer_id, customers),
	ONE(task, tasks, struct rd_task, partner_id, partners),
	ONE(link, links, struct rd_link, vendor_id, vendors),
	ONE(link, links, struct rd_link, customer_id, customers),
	ONE(link, links, struct rd_link, opportunity_id, opportunities),
	ONE(document, documents, struct rd_document, contract_id, contracts),
	ONE(document, documents, struct rd_document, customer_id, customers),
	ONE(order, orders, struct rd_order, opportunity_id, opportunities),
	ONE(order, orders, struct rd_order, contract_id, contracts),
	ONE(order, orders, struct rd_order, customer_id, customers),
	ONE(order, orders, struct rd_order, reseller_id, partners),
	ONE(order, orders, struct rd_order, distributor_id, partners),
	ONE(order, orders, struct rd_order, new_contract_id, contracts),
	ONE(commission, commissions, struct rd_commission, partner_id, partners),
	ONE(commission, commissions, struct rd_commission, order_id, orders),
	ONE(commission, commissions, struct rd_commission, opportunity_id, opportunities),
	ONE(statement, statements, struct rd_statement, partner_id, partners),
	ONE(deal, deals, struct rd_dealreg, partner_id, partners),
	ONE(deal, deals, struct rd_dealreg, customer_id, customers),
	LIST(deal, deals, struct rd_dealreg, products, n_products, "products", products),
	ONE(deal, deals, struct rd_dealreg, previous_id, deals),
	ONE(deal, deals, struct rd_dealreg, next_id, deals),
	ONE(deal, deals, struct rd_dealreg, proof_document_id, documents),
};
const size_t rd_n_refs = sizeof rd_refs / sizeof *rd_refs;

static const struct {
	size_t off;
	const char *name;
} names[] = {
	{ DOM(vendors), "vendors" }, { DOM(partners), "partners" }, { DOM(customers), "customers" },
	{ DOM(products), "products" }, { DOM(contracts), "contracts" }, { DOM(users), "users" },
	{ DOM(tokens), "tokens" }, { DOM(contacts), "contacts" }, { DOM(enablements), "enablements" },
	{ DOM(opportunities), "opportunities" }, { DOM(outbox), "outbox" }, { DOM(tasks), "tasks" },
	{ DOM(links), "links" }, { DOM(documents), "documents" }, { DOM(orders), "orders" },
	{ DOM(commissions), "commissions" }, { DOM(statements), "statements" }, { DOM(deals), "deals" },
};

struct rd_table *rd_refs_table(struct rd_domain *d, size_t off)
{
	return *(struct rd_table **)((char *)d + off);
}

const char *rd_refs_table_name(size_t off)
{
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (names[i].off == off)
			return names[i].name;
	return "?";
}

int rd_refs_shared(size_t table)
{
	return table == DOM(vendors) || table == DOM(tokens) || table == DOM(links);
}

uint64_t rd_refs_vendor_of(const struct rd_entity *e, const void *obj)
{
	if (e == &rd_entity_token)
		return ((const struct rd_token *)obj)->vendor_id;
	if (e == &rd_entity_link)
		return ((const struct rd_link *)obj)->vendor_id;
	return 0;
}

const char *rd_refs_named(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, size_t table, uint64_t id,
			  int *rc)
{
	*rc = 0;
	for (size_t i = 0; i < rd_n_refs; i++) {
		const struct rd_ref *r = &rd_refs[i];
		if (r->to != table)
			continue;
		bool shared = rd_refs_shared(r->table);
		void *obj = rd_malloc(r->e->size);
		struct rd_iter it;
		struct rd_item item;
		bool found = false;
		*rc = rd_iter_records(&it, t, rd_refs_table(d, r->table), shared ? 0 : vendor, 0);
		while (!found && *rc >= 0 && (*rc = rd_iter_next(&it, &item)) > 0) {
			if ((*rc = rd_entity_decode(r->e, item.val, item.len, obj)) < 0)
				break;
			if (shared && rd_refs_vendor_of(r->e, obj) != vendor)
				continue;
			const uint64_t *ids = (const uint64_t *)((const char *)obj + r->off);
			size_t n = r->count_off == RD_REF_ONE ? 1 : *((const uint8_t *)obj + r->count_off);
			for (size_t k = 0; k < n; k++)
				found |= ids[k] == id;
		}
		rd_iter_close(&it);
		free(obj);
		if (*rc < 0)
			return NULL;
		*rc = 0;
		if (found)
			return rd_refs_table_name(r->table);
	}
	return NULL;
}

struct check {
	struct rd_txn *t;
	struct rd_domain *d;
	rd_refs_report_fn report;
	void *arg;
	int problems;
};

static void problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct check *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	c->report(line, c->arg);
	c->problems++;
}

static bool exists(struct check *c, size_t table, uint64_t vendor, uint64_t id)
{
	const void *v;
	size_t n;
	uint64_t tenant = rd_refs_shared(table) ? 0 : vendor;
	if (table == DOM(vendors))
		return rd_txn_get(c->t, c->d->vendors, 0, id, &v, &n) == 0;
	return rd_txn_get(c->t, rd_refs_table(c->d, table), tenant, id, &v, &n) == 0;
}

/* The references of one record: refs[from, to) all belong to its table. */
static void check_record(struct check *c, size_t from, size_t to, uint64_t vendor, const void *obj)
{
	const char *tname = rd_refs_table_name(rd_refs[from].table);
	uint64_t id = *(const uint64_t *)obj;
	for (size_t i = from; i < to; i++) {
		const struct rd_ref *r = &rd_refs[i];
		const uint64_t *ids = (const uint64_t *)((const char *)obj + r->off);
		size_t n = r->count_off == RD_REF_ONE ? 1 : *((const uint8_t *)obj + r->count_off);
		for (size_t k = 0; k < n; k++)
			if (ids[k] && !exists(c, r->to, vendor, ids[k]))
				problem(c, "vendor %llu: %s %llu: %s %llu names no record in %s", (unsigned long long)vendor,
					tname, (unsigned long long)id, r->field, (unsigned long long)ids[k],
					rd_refs_table_name(r->to));
	}
}

/* Walks one tenant of the table holding refs[from, to). */
static int check_tenant(struct check *c, size_t from, size_t to, uint64_t tenant, void *obj)
{
	const struct rd_ref *r = &rd_refs[from];
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, c->t, rd_refs_table(c->d, r->table), tenant, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(r->e, item.val, item.len, obj) < 0) {
			problem(c, "vendor %llu: %s %llu cannot be read", (unsigned long long)tenant,
				rd_refs_table_name(r->table), (unsigned long long)item.id);
			continue;
		}
		uint64_t vendor = rd_refs_shared(r->table) ? rd_refs_vendor_of(r->e, obj) : tenant;
		check_record(c, from, to, vendor, obj);
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

int rd_refs_check(struct rd_store *s, struct rd_domain *d, rd_refs_report_fn report, void *arg)
{
	struct check c = { .d = d, .report = report, .arg = arg };
	int rc = rd_store_read(s, &c.t);
	if (rc < 0)
		return rc;
	size_t nv = 0, cap = 16;
	uint64_t *vendors = rd_malloc(cap * sizeof *vendors);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, c.t, d->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (nv == cap)
			vendors = rd_realloc(vendors, (cap *= 2) * sizeof *vendors);
		vendors[nv++] = item.id;
	}
	rd_iter_close(&it);
	for (size_t from = 0; rc >= 0 && from < rd_n_refs;) {
		size_t to = from + 1;
		while (to < rd_n_refs && rd_refs[to].table == rd_refs[from].table)
			to++;
		void *obj = rd_malloc(rd_refs[from].e->size);
		if (rd_refs_shared(rd_refs[from].table))
			rc = check_tenant(&c, from, to, 0, obj);
		else
			for (size_t v = 0; rc >= 0 && v < nv; v++)
				rc = check_tenant(&c, from, to, vendors[v], obj);
		free(obj);
		from = to;
	}
	free(vendors);
	rd_txn_end(c.t);
	return rc < 0 ? rc : c.problems;
}
