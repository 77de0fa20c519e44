/*
 * expiry.c: a contract's expiry (expiry.h).
 */
#include <stdlib.h>

#include "domain/audit.h"
#include "domain/expiry.h"
#include "store/store.h"
#include "util/err.h"

static int put(struct rd_txn *t, struct rd_domain *d, struct rd_table *tb, const struct rd_entity *e, uint64_t vendor,
	       uint64_t user, const void *before, void *after, uint64_t id, const char *note)
{
	int rc = rd_entity_put(t, tb, e, vendor, after, 0);
	if (rc < 0 || !note)
		return rc;
	json_t *b = rd_entity_to_json(e, before), *a = rd_entity_to_json(e, after);
	rc = rd_audit_write(t, d, vendor, user, RD_AUDIT_UPDATE, e->table, id, b, a, note);
	json_decref(b);
	json_decref(a);
	return rc;
}

int rd_contract_expire(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, struct rd_contract *k,
		       const char *note)
{
	struct rd_contract kb = *k;
	k->status = RD_CONTRACT_EXPIRED; /* red: expired and not renewed */
	int rc = put(t, d, d->contracts, &rd_entity_contract, vendor, user, &kb, k, k->id, note);
	if (rc < 0)
		return rc;
	uint8_t key[8];
	rd_key_put_u64(key, k->id);
	uint64_t id;
	if (rd_index_find(t, d->opportunities, "contract", vendor, key, 8, &id) < 0)
		return 0;
	struct rd_opportunity *o = rd_malloc(sizeof *o), *ob = rd_malloc(sizeof *ob);
	if (rd_entity_get(t, d->opportunities, &rd_entity_opportunity, vendor, id, o) == 0 && o->state != RD_OPP_WON &&
	    o->state != RD_OPP_LOST) {
		*ob = *o;
		o->state = RD_OPP_EXPIRED;
		rc = put(t, d, d->opportunities, &rd_entity_opportunity, vendor, user, ob, o, o->id, note);
	}
	free(o);
	free(ob);
	return rc;
}
