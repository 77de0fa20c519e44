/*
 * failures.c: the sweep's failed actions.  An action of a vendor-day that
 * fails (a quote, a reminder, a pullback, a digest, a statement ...) is
 * left out of that day, which proceeds without it, and recorded here: one
 * list per vendor in the store's settings (key "sweep_failures:VENDOR"),
 * written in the transaction of the day or of the retry, each entry
 *
 *   {key, day, error, attempts, first_at, last_at}
 *
 * The next sweep retries each one (sched.c) and removes it once it has
 * been taken, or is no longer due.  What the API, the console, /healthz
 * and /metrics show comes from here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renew/internal.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

/* A vendor's list holds at most this many (the rest of a bad day is still
 * left out of it, and logged; the list fills again as these clear). */
#define RD_FAILURES_MAX 200

static void meta_key(uint64_t vendor, char *key, size_t cap)
{
	snprintf(key, cap, "sweep_failures:%llu", (unsigned long long)vendor);
}

int rd_failures_load(struct rd_txn *t, uint64_t vendor, json_t **out)
{
	char key[64];
	meta_key(vendor, key, sizeof key);
	const void *v;
	size_t len;
	*out = NULL;
	int rc = rd_txn_meta_get(t, key, &v, &len);
	if (rc == RD_ENOTFOUND) {
		*out = json_array();
		return 0;
	}
	if (rc < 0)
		return rc;
	json_t *list = json_loadb(v, len, 0, NULL);
	if (!json_is_array(list)) {
		json_decref(list);
		return RD_ECORRUPT;
	}
	*out = list;
	return 0;
}

int rd_failures_save(struct rd_renew *r, struct rd_txn *t, uint64_t vendor, json_t *list)
{
	(void)r;
	char key[64];
	meta_key(vendor, key, sizeof key);
	char *text = json_dumps(list, JSON_COMPACT);
	if (!text)
		return RD_EINTERNAL;
	int rc = rd_txn_meta_put(t, key, text, strlen(text));
	free(text);
	return rc;
}

static json_t *find(json_t *list, const char *key, size_t *at)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		if (!strcmp(json_string_value(json_object_get(e, "key")) ?: "", key)) {
			*at = i;
			return e;
		}
	}
	return NULL;
}

void rd_failures_note(json_t *list, const char *key, rd_date day, const char *error, uint64_t now)
{
	size_t at;
	json_t *e = find(list, key, &at);
	if (e) {
		/* to the end: the list runs from the least recently tried, which
		 * the next retry takes first (sched.c) */
		json_incref(e);
		json_array_remove(list, at);
		json_object_set_new(e, "attempts", json_integer(json_integer_value(json_object_get(e, "attempts")) + 1));
		json_object_set_new(e, "error", json_string(error));
		json_object_set_new(e, "last_at", json_integer((json_int_t)now));
		json_array_append_new(list, e);
		return;
	}
	if (json_array_size(list) >= RD_FAILURES_MAX) {
		rd_log(RD_LOG_WARN, "renew", "the list of failed sweep actions is full (%d): %s is not listed", RD_FAILURES_MAX,
		       key);
		return;
	}
	json_array_append_new(list, json_pack("{s:s, s:i, s:s, s:i, s:I, s:I}", "key", key, "day", (int)day, "error",
					      error, "attempts", 1, "first_at", (json_int_t)now, "last_at",
					      (json_int_t)now));
}

void rd_failures_drop(json_t *list, const char *key)
{
	size_t at;
	if (find(list, key, &at))
		json_array_remove(list, at);
}

void rd_failures_count(struct rd_renew *r, uint64_t vendor, unsigned n)
{
	for (size_t i = 0; i < r->n_failing; i++)
		if (r->failing[i].vendor == vendor) {
			r->failing[i].n = n;
			return;
		}
	if (!n)
		return;
	if (r->n_failing == r->cap_failing)
		r->failing = rd_realloc(r->failing, (r->cap_failing = r->cap_failing ? 2 * r->cap_failing : 8) *
							    sizeof *r->failing);
	r->failing[r->n_failing++] = (struct rd_failing){ vendor, n };
}

unsigned rd_renew_failing(const struct rd_renew *r, unsigned *vendors)
{
	unsigned n = 0, v = 0;
	for (size_t i = 0; r && i < r->n_failing; i++)
		if (r->failing[i].n) {
			n += r->failing[i].n;
			v++;
		}
	if (vendors)
		*vendors = v;
	return n;
}

/* What a key names: its kind and the record it acts on. */
static void describe(const char *key, json_t *e)
{
	static const struct {
		const char *kind, *record;
		int field; /* which ':'-separated field holds the record's id */
	} kinds[] = {
		{ "quote", "contract", 1 },	    { "ineligible", "contract", 1 }, { "expire", "contract", 1 },
		{ "pullback", "opportunity", 1 },   { "notice", "opportunity", 1 },  { "reminder", "opportunity", 2 },
		{ "payment_reminder", "order", 2 }, { "digest", "partner", 1 },	    { "statement", "partner", 1 },
		{ "hold", "contract", 1 },
	};
	size_t klen = strcspn(key, ":");
	json_object_set_new(e, "kind", json_stringn(key, klen));
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
		if (strlen(kinds[i].kind) != klen || strncmp(kinds[i].kind, key, klen))
			continue;
		const char *p = key;
		for (int f = 0; f < kinds[i].field && p; f++)
			if ((p = strchr(p, ':')))
				p++;
		if (!p)
			break;
		json_object_set_new(e, "record", json_pack("{s:s, s:I}", "type", kinds[i].record, "id",
							   (json_int_t)strtoull(p, NULL, 10)));
		if (!strcmp(kinds[i].kind, "reminder") || !strcmp(kinds[i].kind, "payment_reminder"))
			json_object_set_new(e, "days_before", json_integer(strtol(key + klen + 1, NULL, 10)));
		break;
	}
}

int rd_renew_failures(struct rd_renew *r, uint64_t vendor, json_t **out)
{
	struct rd_txn *t;
	*out = NULL;
	int rc = rd_store_read(r->app->store, &t);
	if (rc < 0)
		return rc;
	json_t *list;
	rc = rd_failures_load(t, vendor, &list);
	rd_txn_end(t);
	if (rc < 0)
		return rc;
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		char d[11];
		rd_date_format((rd_date)json_integer_value(json_object_get(e, "day")), d);
		json_object_set_new(e, "day", json_string(d));
		char at[21];
		rd_time_format((uint64_t)json_integer_value(json_object_get(e, "first_at")), at);
		json_object_set_new(e, "first_at", json_string(at));
		rd_time_format((uint64_t)json_integer_value(json_object_get(e, "last_at")), at);
		json_object_set_new(e, "last_at", json_string(at));
		describe(json_string_value(json_object_get(e, "key")) ?: "", e);
	}
	*out = list;
	return 0;
}
