/*
 * json_body.c: JSON request bodies, through the decoding and validation the
 * API's handlers call (core/api/crud.c, session.c, leads.c, deals.c; the
 * services they hand plain values to).  The first byte picks the route
 * family; the rest is the body:
 *   records   customers, contacts, products, contracts, partners, users,
 *             the vendor's settings, leads, deal registrations:
 *             rd_entity_from_json, then (customers, contacts, products,
 *             contracts) rd_record_missing and rd_record_prepare against
 *             the store, as a create and as an update of the decoded record
 *   policies  a dry run's or a vector's line (rd_margin_line_from_json)
 *   webhooks  a subscription (rd_hooks_create / rd_hooks_update's checks;
 *             a valid one is stored, then updated with the same body)
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "policy/policy.h"
#include "policy/vectors.h"
#include "services/hooks.h"
#include "services/records.h"
#include "store/store.h"

static const struct {
	const struct rd_entity *e;
	int res; /* enum rd_resource with rules in rd_record_prepare, else -1 */
} kinds[] = {
	{ &rd_entity_customer, RD_RES_CUSTOMER }, { &rd_entity_contact, RD_RES_CONTACT },
	{ &rd_entity_product, RD_RES_PRODUCT },   { &rd_entity_contract, RD_RES_CONTRACT },
	{ &rd_entity_partner, -1 },               { &rd_entity_user, -1 },
	{ &rd_entity_vendor, -1 },                { &rd_entity_lead, -1 },
	{ &rd_entity_deal, -1 },
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static void record(json_t *j, unsigned k)
{
	const struct rd_entity *e = kinds[k].e;
	void *obj = calloc(1, e->size);
	const char *bad = NULL;
	char why[256];
	if (rd_entity_from_json(e, j, obj, &bad, why, sizeof why) == 0 && kinds[k].res >= 0) {
		struct rd_app *app = fz_app();
		const struct rd_actor who = { .vendor = fz_vendor()->id, .user = 1 };
		(void)rd_record_missing((enum rd_resource)kinds[k].res, obj);
		struct rd_txn *t;
		if (rd_store_read(app->store, &t) == 0) {
			struct rd_serr err = { 0 };
			void *old = malloc(e->size);
			memcpy(old, obj, e->size);
			rd_record_prepare(t, app, &who, fz_vendor(), (enum rd_resource)kinds[k].res, obj, NULL, &err);
			memset(&err, 0, sizeof err);
			rd_record_prepare(t, app, &who, fz_vendor(), (enum rd_resource)kinds[k].res, obj, old, &err);
			free(old);
			rd_txn_end(t);
		}
		json_decref(rd_entity_to_json(e, obj));
	}
	free(obj);
}

static void hook(json_t *j)
{
	struct rd_app *app = fz_app();
	const struct rd_actor who = { .vendor = fz_vendor()->id, .user = 1 };
	struct rd_hook_sub *s = calloc(1, sizeof *s);
	char *secret = NULL;
	struct rd_serr err;
	if (rd_hooks_create(app, &who, j, s, &secret, &err) == 0) {
		struct rd_hook_sub *u = calloc(1, sizeof *u);
		json_object_del(j, "partner_id");
		json_object_del(j, "secret");
		rd_hooks_update(app, &who, s->id, j, u, &err);
		rd_hooks_delete(app, &who, s->id, &err);
		free(u);
	}
	free(secret);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return 0;
	unsigned k = data[0] % (N_KINDS + 2);
	if (k < N_KINDS) {
		record(j, k);
	} else if (k == N_KINDS) {
		struct rd_margin_line l;
		(void)rd_margin_line_from_json(j, &l);
	} else {
		hook(j);
	}
	json_decref(j);
	return 0;
}
