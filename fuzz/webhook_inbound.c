/*
 * webhook_inbound.c: a partner's inbound batch (POST /api/v1/hooks/inbound/
 * {vendor}/{id}) through rd_hooks_inbound (core/services/hooks.c): the
 * webhook-id, webhook-timestamp and webhook-signature headers verified
 * (Standard Webhooks), then the batch (a JSON array of contract rows, or
 * one row) imported as the partner's feed.  The input is ID \n TIMESTAMP \n
 * SIGNATURE \n BODY.  Empty lines are replaced by what a good sender sends:
 * a fresh id, the time now, a valid signature of the body under the
 * endpoint's secret; a given id gets a counter in front, so a batch is
 * not refused as a replay of an earlier input.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "services/hooks.h"
#include "services/imports.h"

/* whsec_ and the base64 of 24 bytes */
#define SECRET "whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u"

struct outcome {
	bool done;
};

static void done(void *arg, uint64_t inbox_id, const struct rd_import_rec *feed, bool stopped)
{
	(void)inbox_id, (void)feed, (void)stopped;
	((struct outcome *)arg)->done = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t sub, counter;
	struct rd_app *app = fz_app();
	if (!sub) {
		json_t *body = json_pack("{s:s, s:[s], s:i, s:s}", "url", "https://partner.example/hooks", "events",
					 "*", "partner_id", 1, "secret", SECRET);
		struct rd_hook_sub *s = calloc(1, sizeof *s);
		char *plain = NULL;
		struct rd_serr e;
		const struct rd_actor who = { .vendor = fz_vendor()->id, .user = 1 };
		if (rd_hooks_create(app, &who, body, s, &plain, &e) < 0)
			abort();
		sub = s->id;
		free(s);
		free(plain);
		json_decref(body);
	}
	char *id_in, *r1, *ts_in, *r2, *sig_in, *body;
	size_t l1, l2, len;
	fz_split(data, size, '\n', &id_in, &r1, &l1);
	fz_split((const uint8_t *)r1, l1, '\n', &ts_in, &r2, &l2);
	fz_split((const uint8_t *)r2, l2, '\n', &sig_in, &body, &len);
	char id[300], ts[32], sig[128];
	snprintf(id, sizeof id, "%llu%s", (unsigned long long)++counter, id_in);
	snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
	if (!sig_in[0] && rd_hooks_sign(SECRET, id, ts_in[0] ? ts_in : ts, body, len, sig, sizeof sig) < 0)
		abort();
	struct outcome o = { false };
	uint64_t inbox_id, feed_id;
	struct rd_serr e;
	if (rd_hooks_inbound(app, fz_vendor()->id, sub, id, ts_in[0] ? ts_in : ts, sig_in[0] ? sig_in : sig, body, len,
			     done, &o, &inbox_id, &feed_id, &e) == 0)
		fz_run_until(&o.done);
	free(id_in);
	free(r1);
	free(ts_in);
	free(r2);
	free(sig_in);
	free(body);
	return 0;
}
