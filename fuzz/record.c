/*
 * record.c: the record codec (core/store/record.c) and each entity's
 * decoder (core/domain/model.c rd_entity_decode) on arbitrary bytes: what
 * a damaged or foreign store hands renewd.  The first byte picks the
 * entity; the rest is the record.  A record that decodes is encoded again,
 * and that encoding must decode to the same encoding (nothing is lost or
 * invented on the second pass), and turned into JSON.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store/record.h"

static const struct rd_entity *const entities[] = {
	&rd_entity_vendor, &rd_entity_partner, &rd_entity_customer, &rd_entity_product, &rd_entity_contract,
	&rd_entity_user, &rd_entity_token, &rd_entity_contact, &rd_entity_audit, &rd_entity_import, &rd_entity_policy,
	&rd_entity_plugin_kv, &rd_entity_enablement, &rd_entity_opportunity, &rd_entity_action, &rd_entity_message,
	&rd_entity_task, &rd_entity_link, &rd_entity_order, &rd_entity_document, &rd_entity_commission,
	&rd_entity_statement, &rd_entity_deal, &rd_entity_lead, &rd_entity_lead_assignment, &rd_entity_hook_sub,
	&rd_entity_hook_delivery, &rd_entity_hook_inbox, &rd_entity_feed_review, &rd_entity_operator_token,
};
#define N_ENTITIES (sizeof entities / sizeof entities[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *rec = data + 1;
	size_t len = size - 1;
	/* The codec alone: every field of any kind. */
	struct rd_rec_reader r;
	struct rd_rec_field f;
	if (rd_rec_open(&r, rec, len, 0, UINT16_MAX) == 0)
		while (rd_rec_next(&r, &f) == 1)
			if (f.wire == RD_WIRE_BYTES && f.len)
				(void)*(volatile const uint8_t *)(f.data + f.len - 1);
	/* One entity's decoder. */
	const struct rd_entity *e = entities[data[0] % N_ENTITIES];
	void *obj = calloc(1, e->size), *again = calloc(1, e->size);
	if (rd_entity_decode(e, rec, len, obj) == 0) {
		json_decref(rd_entity_to_json(e, obj));
		struct rd_rec_writer w1 = { 0 }, w2 = { 0 };
		rd_entity_encode(e, obj, &w1);
		if (rd_entity_decode(e, w1.buf, w1.len, again) != 0)
			abort(); /* renewd's own encoding refused */
		rd_entity_encode(e, again, &w2);
		if (w1.len != w2.len || memcmp(w1.buf, w2.buf, w1.len) != 0)
			abort(); /* a second pass changed the record */
		rd_rec_writer_free(&w1);
		rd_rec_writer_free(&w2);
	}
	free(obj);
	free(again);
	return 0;
}
