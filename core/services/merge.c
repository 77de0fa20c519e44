/*
 * merge.c: merging customers and moving contracts (merge.h).
 *
 * The records that name a customer are the rows of domain/refs.c whose
 * target is the customers table; a merge walks each of them, so a table
 * that gains a customer_id gains a row there and is re-pointed too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "domain/refs.h"
#include "services/documents.h"
#include "services/merge.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

#define DOM(f) offsetof(struct rd_domain, f)

static size_t *counter(struct rd_merge_result *m, size_t table)
{
	static size_t none;
	if (table == DOM(contracts)) return &m->contracts;
	if (table == DOM(contacts)) return &m->contacts;
	if (table == DOM(opportunities)) return &m->opportunities;
	if (table == DOM(orders)) return &m->orders;
	if (table == DOM(tasks)) return &m->tasks;
	if (table == DOM(links)) return &m->links;
	if (table == DOM(documents)) return &m->documents;
	if (table == DOM(outbox)) return &m->messages;
	if (table == DOM(tokens)) return &m->sessions;
	return &none;
}

static bool in(const uint64_t *set, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == id)
			return true;
	return false;
}

/* The ids of the records of r's table (this vendor's) whose r-field is one
 * of set[0..n_set). */
static int collect(struct rd_txn *t, struct rd_domain *d, const struct rd_ref *r, uint64_t vendor,
		   const uint64_t *set, size_t n_set, uint64_t **out, size_t *n)
{
	size_t cap = 16;
	*n = 0;
	*out = rd_malloc(cap * sizeof **out);
	bool shared = rd_refs_shared(r->table);
	struct rd_table *tb = rd_refs_table(d, r->table);
	void *obj = rd_malloc(r->e->size);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, tb, shared ? 0 : vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(r->e, item.val, item.len, obj)) < 0)
			break;
		if (!in(set, n_set, *(uint64_t *)((char *)obj + r->off)) ||
		    (shared && rd_refs_vendor_of(r->e, obj) != vendor))
			continue;
		if (*n == cap)
			*out = rd_realloc(*out, (cap *= 2) * sizeof **out);
		(*out)[(*n)++] = item.id;
	}
	rd_iter_close(&it);
	free(obj);
	return rc < 0 ? rc : 0;
}

/* Sets r's field of record id to `to`, audited as user with note (NULL: a
 * merge's, naming the customer it named); a link or a session is revoked
 * as well when `revoke`. */
static int repoint(struct rd_txn *t, struct rd_domain *d, const struct rd_ref *r, uint64_t vendor, uint64_t user,
		   uint64_t id, uint64_t to, bool revoke, const char *note)
{
	bool shared = rd_refs_shared(r->table);
	struct rd_table *tb = rd_refs_table(d, r->table);
	void *obj = rd_malloc(r->e->size);
	int rc = rd_entity_get(t, tb, r->e, shared ? 0 : vendor, id, obj);
	if (rc < 0) {
		free(obj);
		return rc;
	}
	uint64_t *field = (uint64_t *)((char *)obj + r->off);
	char merged[96];
	if (!note) {
		snprintf(merged, sizeof merged, "customer %llu merged into customer %llu", (unsigned long long)*field,
			 (unsigned long long)to);
		note = merged;
	}
	json_t *before = json_pack("{s:I}", r->field, (json_int_t)*field);
	json_t *after = json_pack("{s:I}", r->field, (json_int_t)to);
	*field = to;
	uint64_t *revoked = r->e == &rd_entity_link ? &((struct rd_link *)obj)->revoked_at
			    : r->e == &rd_entity_token ? &((struct rd_token *)obj)->revoked_at : NULL;
	if (revoke && revoked && !*revoked) {
		*revoked = rd_clock_now();
		json_object_set_new(after, "revoked", json_true());
	}
	rc = rd_entity_put(t, tb, r->e, shared ? 0 : vendor, obj, 0);
	if (rc >= 0)
		rc = rd_audit_write(t, d, vendor, user, RD_AUDIT_MERGE, rd_refs_table_name(r->table), id, before, after,
				    note);
	json_decref(before);
	json_decref(after);
	free(obj);
	return rc < 0 ? rc : 0;
}

/* Every record of the vendor naming one of the customers gone[0..n) names
 * `to` instead: one walk of each table that names customers. */
static int repoint_customers(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who,
			     const uint64_t *gone, size_t n_gone, uint64_t to, struct rd_merge_result *m)
{
	for (size_t i = 0; i < rd_n_refs; i++) {
		const struct rd_ref *r = &rd_refs[i];
		if (r->to != DOM(customers) || r->count_off != RD_REF_ONE)
			continue;
		uint64_t *ids;
		size_t n;
		int rc = collect(t, d, r, who->vendor, gone, n_gone, &ids, &n);
		for (size_t k = 0; rc >= 0 && k < n; k++)
			rc = repoint(t, d, r, who->vendor, who->user, ids[k], to, true, NULL);
		free(ids);
		if (rc < 0)
			return rc;
		*counter(m, r->table) += n;
	}
	return 0;
}

struct merge {
	struct rd_domain *d;
	const struct rd_actor *who;
	uint64_t survivor;
	const uint64_t *from;
	size_t n;
	struct rd_merge_result *out;
	struct rd_serr *e;
};

static int merge_write(struct rd_txn *t, void *arg)
{
	struct merge *m = arg;
	struct rd_domain *d = m->d;
	uint64_t v = m->who->vendor;
	struct rd_customer survivor, gone;
	memset(m->out, 0, sizeof *m->out);
	int rc = rd_entity_get(t, d->customers, &rd_entity_customer, v, m->survivor, &survivor);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(m->e, rc, "not_found", "id", "no such customer");
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < m->n; i++) {
		rc = m->from[i] == m->survivor || in(m->from, i, m->from[i])
			     ? RD_ENOTFOUND
			     : rd_entity_get(t, d->customers, &rd_entity_customer, v, m->from[i], &gone);
		if (rc == RD_ENOTFOUND)
			return rd_serr_set(m->e, RD_EINVAL, "invalid", "from", "from[%zu] is not another existing customer", i);
		if (rc < 0) /* the store failed: not the caller's "from" */
			return rd_serr_store(m->e, rc);
	}
	if ((rc = repoint_customers(t, d, m->who, m->from, m->n, survivor.id, m->out)) < 0)
		return rc;
	for (size_t i = 0; i < m->n; i++) {
		if ((rc = rd_entity_get(t, d->customers, &rd_entity_customer, v, m->from[i], &gone)) < 0)
			return rc;
		/* The survivor keeps its fields; it inherits what it lacks. */
		if (!survivor.email[0])
			memcpy(survivor.email, gone.email, sizeof gone.email);
		if (!survivor.phone[0])
			memcpy(survivor.phone, gone.phone, sizeof gone.phone);
		if (!survivor.address_line1[0]) {
			memcpy(survivor.address_line1, gone.address_line1, sizeof gone.address_line1);
			memcpy(survivor.address_line2, gone.address_line2, sizeof gone.address_line2);
			memcpy(survivor.city, gone.city, sizeof gone.city);
			memcpy(survivor.region, gone.region, sizeof gone.region);
			memcpy(survivor.postcode, gone.postcode, sizeof gone.postcode);
			memcpy(survivor.country, gone.country, sizeof gone.country);
		}
		json_t *before = rd_entity_to_json(&rd_entity_customer, &gone);
		if ((rc = rd_txn_del(t, d->customers, v, gone.id)) == 0) {
			char note[96];
			snprintf(note, sizeof note, "merged into customer %llu", (unsigned long long)survivor.id);
			rc = rd_audit_write(t, d, v, m->who->user, RD_AUDIT_MERGE, "customers", gone.id, before, NULL, note);
		}
		json_decref(before);
		if (rc < 0)
			return rc;
		m->out->merged++;
	}
	if ((rc = rd_entity_put(t, d->customers, &rd_entity_customer, v, &survivor, 0)) < 0)
		return rc;
	char note[256];
	snprintf(note, sizeof note,
		 "absorbed %zu customer(s): %zu contract(s), %zu contact(s), %zu opportunit%s, %zu order(s), %zu task(s), "
		 "%zu document(s), %zu message(s), %zu link(s), %zu session(s) moved",
		 m->n, m->out->contracts, m->out->contacts, m->out->opportunities, m->out->opportunities == 1 ? "y" : "ies",
		 m->out->orders, m->out->tasks, m->out->documents, m->out->messages, m->out->links, m->out->sessions);
	json_t *after = rd_entity_to_json(&rd_entity_customer, &survivor);
	rc = rd_audit_write(t, d, v, m->who->user, RD_AUDIT_MERGE, "customers", survivor.id, NULL, after, note);
	json_decref(after);
	return rc;
}

int rd_customers_merge(struct rd_app *app, const struct rd_actor *who, uint64_t survivor, const uint64_t *from,
		       size_t n, struct rd_merge_result *out, struct rd_serr *e)
{
	memset(out, 0, sizeof *out);
	e->rc = 0;
	if (n == 0 || n > RD_MERGE_MAX)
		return rd_serr_set(e, RD_EINVAL, "invalid", "from", "from must list 1-%d customer ids to merge into this one",
				   RD_MERGE_MAX);
	if (!survivor)
		return rd_serr_set(e, RD_ENOTFOUND, "not_found", "id", "no such customer");
	struct merge m = { app->domain, who, survivor, from, n, out, e };
	return rd_store_write(app->store, merge_write, &m);
}

/* Re-points the records of r's table whose field `by` is one of set[0..n_set)
 * and whose r-field is not `to`. */
static int follow(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, const struct rd_ref *r,
		  size_t by, const uint64_t *set, size_t n_set, uint64_t to, const char *note)
{
	struct rd_table *tb = rd_refs_table(d, r->table);
	size_t n = 0, cap = 16;
	uint64_t *ids = rd_malloc(cap * sizeof *ids);
	void *obj = rd_malloc(r->e->size);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, tb, who->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(r->e, item.val, item.len, obj)) < 0)
			break;
		if (!in(set, n_set, *(uint64_t *)((char *)obj + by)) || *(uint64_t *)((char *)obj + r->off) == to)
			continue;
		if (n == cap)
			ids = rd_realloc(ids, (cap *= 2) * sizeof *ids);
		ids[n++] = item.id;
	}
	rd_iter_close(&it);
	free(obj);
	for (size_t k = 0; rc >= 0 && k < n; k++)
		rc = repoint(t, d, r, who->vendor, who->user, ids[k], to, false, note);
	free(ids);
	return rc < 0 ? rc : 0;
}

static const struct rd_ref *ref_of(const struct rd_entity *e, const char *field)
{
	for (size_t i = 0; i < rd_n_refs; i++)
		if (rd_refs[i].e == e && !strcmp(rd_refs[i].field, field))
			return &rd_refs[i];
	return NULL;
}

int rd_contract_moved(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, uint64_t contract,
		      uint64_t to)
{
	char note[96];
	snprintf(note, sizeof note, "contract %llu moved to customer %llu", (unsigned long long)contract,
		 (unsigned long long)to);
	const struct rd_ref *opp = ref_of(&rd_entity_opportunity, "customer_id");
	const struct rd_ref *ord = ref_of(&rd_entity_order, "customer_id");
	const struct rd_ref *msg = ref_of(&rd_entity_message, "customer_id");
	const struct rd_ref *task = ref_of(&rd_entity_task, "customer_id");
	rd_require(opp && ord && msg && task);
	/* The contract's opportunities (by their index), then what belongs to
	 * them: a contract never quoted has no order, message or task, and a
	 * move of it (an import moving many) walks no other table. */
	size_t n_opps = 0, cap = 4;
	uint64_t *opps = rd_malloc(cap * sizeof *opps);
	uint8_t key[8];
	rd_key_put_u64(key, contract);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, t, d->opportunities, "contract", who->vendor, key, 8, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8) != 0)
			break;
		if (n_opps == cap)
			opps = rd_realloc(opps, (cap *= 2) * sizeof *opps);
		opps[n_opps++] = item.id;
	}
	rd_iter_close(&it);
	struct rd_opportunity o;
	for (size_t i = 0; rc >= 0 && i < n_opps; i++)
		if ((rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, who->vendor, opps[i], &o)) >= 0 &&
		    o.customer_id != to)
			rc = repoint(t, d, opp, who->vendor, who->user, opps[i], to, false, note);
	if (rc >= 0 && n_opps)
		rc = follow(t, d, who, ord, offsetof(struct rd_order, contract_id), &contract, 1, to, note);
	if (rc >= 0 && n_opps)
		rc = follow(t, d, who, msg, offsetof(struct rd_message, opportunity_id), opps, n_opps, to, note);
	if (rc >= 0 && n_opps)
		rc = follow(t, d, who, task, offsetof(struct rd_task, opportunity_id), opps, n_opps, to, note);
	free(opps);
	if (rc >= 0)
		rc = rd_documents_follow(t, d, who->vendor, contract, to);
	return rc;
}
