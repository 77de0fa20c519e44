/*
 * portal.c: the customer's view, shared by the portal pages and the portal
 * API (the rules are in portal.h; the audit of a link's use is
 * core/edge/portal.c).  The views are allow-lists: a field
 * added to a record later stays out of the customer's sight until someone
 * decides it belongs there.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "domain/money.h"
#include "services/documents.h"
#include "services/portal.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

bool rd_portal_shows(const struct rd_opportunity *o, uint64_t customer, const struct rd_contract *k)
{
	/* The quote's partner: its own contracts, and (a distributor) those it
	 * is the distributor of: what that partner reads through the API. */
	return k->customer_id == customer && o->reseller_id &&
	       (k->reseller_id == o->reseller_id || k->distributor_id == o->reseller_id);
}

bool rd_portal_quote_owned(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_opportunity *o,
			   uint64_t customer)
{
	struct rd_contract k;
	return o->customer_id == customer &&
	       rd_entity_get(t, d->contracts, &rd_entity_contract, vendor, o->contract_id, &k) == 0 &&
	       k.customer_id == customer;
}

/* Copies the named members of src into a new object. */
static json_t *pick(json_t *src, const char *const *names)
{
	json_t *out = json_object();
	for (size_t i = 0; names[i]; i++) {
		json_t *v = json_object_get(src, names[i]);
		if (v)
			json_object_set(out, names[i], v);
	}
	return out;
}

json_t *rd_portal_customer_json(const struct rd_customer *cu)
{
	static const char *const keep[] = { "id", "name", "email", "phone", "address_line1", "address_line2", "city",
					    "region", "postcode", "country", NULL };
	json_t *all = rd_entity_to_json(&rd_entity_customer, cu);
	json_t *j = pick(all, keep);
	json_decref(all);
	return j;
}

json_t *rd_portal_opportunity_json(const struct rd_opportunity *o)
{
	static const char *const keep[] = { "id", "number", "contract_id", "state", "contract_end", "valid_until",
					    "currency", "list_total", "discount_bp", NULL };
	static const char *const line_keep[] = { "kind", "sku", "description", "quantity", "unit_list", "list",
						 "optional", "selected", NULL };
	json_t *all = rd_entity_to_json(&rd_entity_opportunity, o);
	json_t *j = pick(all, keep), *out = json_array(), *line;
	size_t i;
	json_array_foreach(json_object_get(all, "lines"), i, line) json_array_append_new(out, pick(line, line_keep));
	json_decref(all);
	json_object_set_new(j, "lines", out);
	return j;
}

int rd_portal_documents(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t contract, json_t *out)
{
	static const char *const keep[] = { "id", "name", "kind", "content_type", "size", "created_at", NULL };
	json_t *all = json_array(), *doc;
	size_t i;
	int rc = rd_documents_json(t, d, vendor, contract, all);
	json_array_foreach(all, i, doc)
		json_array_append_new(out, pick(doc, keep));
	json_decref(all);
	return rc;
}

int rd_portal_contracts(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_opportunity *o,
			uint64_t customer, uint32_t window_days, json_t *out)
{
	static const char *const keep[] = { "id", "product_id", "quantity", "start", "end", "term", "currency", "status",
					    "flags", NULL };
	uint8_t key[8];
	rd_key_put_u64(key, customer);
	struct rd_iter it;
	struct rd_item item;
	struct rd_contract k;
	struct rd_product pr;
	int rc = rd_iter_index(&it, t, d->contracts, "customer", vendor, key, 8, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8))
			break;
		if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) < 0 || !rd_portal_shows(o, customer, &k))
			continue;
		json_t *all = rd_entity_to_json(&rd_entity_contract, &k), *j = pick(all, keep);
		json_decref(all);
		bool named = rd_entity_get(t, d->products, &rd_entity_product, vendor, k.product_id, &pr) == 0;
		json_object_set_new(j, "product", json_string(named ? pr.name : ""));
		json_object_set_new(j, "colour",
				    json_string(rd_colour_name(rd_contract_colour(&k, rd_clock_today(), window_days))));
		json_t *docs = json_array();
		json_object_set_new(j, "documents", docs);
		json_array_append_new(out, j);
		if ((rc = rd_portal_documents(t, d, vendor, k.id, docs)) < 0)
			break;
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

int rd_portal_document(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_opportunity *o,
		       uint64_t customer, uint64_t id, struct rd_document *doc)
{
	struct rd_contract k;
	int rc = id ? rd_entity_get(t, d->documents, &rd_entity_document, vendor, id, doc) : RD_ENOTFOUND;
	/* The contract as it is now, not the owner the document was filed under. */
	if (rc == 0)
		rc = rd_entity_get(t, d->contracts, &rd_entity_contract, vendor, doc->contract_id, &k);
	if (rc == 0 && !rd_portal_shows(o, customer, &k))
		rc = RD_ENOTFOUND;
	return rc;
}
