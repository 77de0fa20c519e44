/*
 * events.c: queueing outbound events (events.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/events.h"
#include "store/store.h"
#include "util/err.h"

int rd_event_wanted(const char *events, const char *type)
{
	size_t tl = strlen(type);
	for (const char *p = events; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		size_t n = (size_t)(e - p);
		while (n && p[n - 1] == ' ')
			n--;
		if (n == 1 && *p == '*' && strcmp(type, "webhook.exhausted") != 0)
			return 1;
		if (n == tl && !memcmp(p, type, n))
			return 1;
		p = e;
	}
	return 0;
}

int rd_event_emit(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *type, const char *subject,
		  json_t *data)
{
	if (!d->hook_subs || !d->hook_deliveries)
		return 0;
	struct rd_iter it;
	struct rd_item item;
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	struct rd_hook_delivery *x = NULL;
	char *text = NULL;
	char event_id[48] = "";
	uint64_t now = (uint64_t)time(NULL);
	int n = 0;
	/* The subscriptions first, then the puts: no write under an open iterator. */
	uint64_t ids[64];
	size_t nids = 0;
	int rc = rd_iter_records(&it, t, d->hook_subs, vendor, 0);
	while (rc >= 0 && nids < 64 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_hook_sub, item.val, item.len, s) == 0 && s->active == 1 &&
		    rd_event_wanted(s->events, type))
			ids[nids++] = s->id;
	rd_iter_close(&it);
	free(s);
	if (rc < 0 || nids == 0)
		return rc < 0 ? rc : 0;
	text = data ? json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	x = rd_malloc(sizeof *x);
	for (size_t i = 0; i < nids; i++) {
		memset(x, 0, sizeof *x);
		x->sub_id = ids[i];
		snprintf(x->type, sizeof x->type, "%s", type);
		snprintf(x->subject, sizeof x->subject, "%s", subject ? subject : "");
		snprintf(x->data, sizeof x->data, "%s", text && strlen(text) < sizeof x->data ? text : "{}");
		x->state = RD_HOOK_QUEUED;
		x->next_at = now;
		x->created_at = x->event_time = now;
		if ((rc = rd_entity_put(t, d->hook_deliveries, &rd_entity_hook_delivery, vendor, x, 0)) < 0)
			break;
		/* One event, one id, whichever subscription receives it. */
		if (!event_id[0])
			snprintf(event_id, sizeof event_id, "msg_%llu_%llu", (unsigned long long)vendor,
				 (unsigned long long)x->id);
		snprintf(x->event_id, sizeof x->event_id, "%s", event_id);
		if ((rc = rd_entity_put(t, d->hook_deliveries, &rd_entity_hook_delivery, vendor, x, 0)) < 0)
			break;
		n++;
	}
	free(x);
	free(text);
	return rc < 0 ? rc : n;
}

int rd_event_order(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *type, const struct rd_order *o)
{
	static const char *const states[] = { "", "created", "awaiting_payment", "paid", "failed", "cancelled",
					      "fulfilled", "refunded" };
	char subject[48];
	snprintf(subject, sizeof subject, "order/%llu", (unsigned long long)o->id);
	json_t *data = json_pack("{s:I, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:s}", "id", (json_int_t)o->id, "number",
				 o->number, "state", o->state < sizeof states / sizeof *states ? states[o->state] : "",
				 "total", (json_int_t)o->total, "currency", o->currency, "customer_id",
				 (json_int_t)o->customer_id, "opportunity_id", (json_int_t)o->opportunity_id, "reseller_id",
				 (json_int_t)o->reseller_id, "distributor_id", (json_int_t)o->distributor_id,
				 "payment_option", o->payment_option);
	int rc = rd_event_emit(t, d, vendor, type, subject, data);
	json_decref(data);
	return rc < 0 ? rc : 0;
}

int rd_event_record(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *type, const char *object,
		    uint64_t id, const char *state, json_t *extra)
{
	char subject[96];
	snprintf(subject, sizeof subject, "%s/%llu", object, (unsigned long long)id);
	json_t *data = json_pack("{s:I}", "id", (json_int_t)id);
	if (state)
		json_object_set_new(data, "state", json_string(state));
	if (extra)
		json_object_update(data, extra);
	int rc = rd_event_emit(t, d, vendor, type, subject, data);
	json_decref(data);
	return rc < 0 ? rc : 0;
}
