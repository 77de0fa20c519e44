/*
 * portal.c: the audit of each use of a customer's link, by the request
 * that used it (edge/portal.h), for the portal pages and the portal API.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "domain/audit.h"
#include "edge/call.h"
#include "edge/portal.h"
#include "store/store.h"
#include "util/err.h"

struct use {
	struct rd_app *app;
	uint64_t vendor, link;
	uint8_t action;
	char note[256];
};

static int use_write(struct rd_txn *t, void *arg)
{
	struct use *u = arg;
	return rd_audit_write(t, u->app->domain, u->vendor, 0, u->action, "links", u->link, NULL, NULL, u->note);
}

int rd_portal_audit(struct rd_app *app, struct rd_req *req, uint64_t vendor, uint64_t link, uint8_t action,
		    const char *note_extra)
{
	struct use u = { .app = app, .vendor = vendor, .link = link, .action = action };
	char method[16];
	rd_methods_format(rd_req_method(req), method, sizeof method);
	/* The route's pattern, not the path: /c/{token} would carry the token.
	 * The only parameter named besides is a record id. */
	const char *route = rd_req_route(req), *id = rd_req_param(req, "id");
	int n = snprintf(u.note, sizeof u.note, "customer link: %s %s", method, route ? route : "?");
	if (id && rd_parse_id(id) && n > 0 && (size_t)n < sizeof u.note)
		n += snprintf(u.note + n, sizeof u.note - (size_t)n, " (id %s)", id);
	if (note_extra && n > 0 && (size_t)n < sizeof u.note)
		snprintf(u.note + n, sizeof u.note - (size_t)n, ": %s", note_extra);
	return rd_store_write(app->store, use_write, &u);
}

#define REFUSALS 64        /* links whose last refused use is remembered */
#define REFUSAL_EVERY_S 60 /* one audited refusal per link and action in this time */

bool rd_portal_refusal_to_audit(uint64_t link, uint8_t action)
{
	static struct {
		uint64_t link, at; /* at: CLOCK_MONOTONIC seconds + 1 (0: a free slot) */
		uint8_t action;
	} seen[REFUSALS];
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec + 1;
	size_t oldest = 0;
	for (size_t i = 0; i < REFUSALS; i++) {
		if (seen[i].at && seen[i].link == link && seen[i].action == action) {
			if (now < seen[i].at + REFUSAL_EVERY_S)
				return false;
			seen[i].at = now;
			return true;
		}
		if (seen[i].at < seen[oldest].at)
			oldest = i;
	}
	seen[oldest].link = link;
	seen[oldest].action = action;
	seen[oldest].at = now;
	return true;
}
