/*
 * portal.h: the audit of the uses of a customer's link (core/edge/portal.c),
 * shared by the portal pages and the portal API; what the link shows is the
 * portal service (services/portal.h).
 */
#ifndef RD_EDGE_PORTAL_H
#define RD_EDGE_PORTAL_H

#include <stdbool.h>
#include <stdint.h>

struct rd_app;
struct rd_req;

/* Audits one use of link `link` by the request (its method and route, and
 * the route's id, never the path of /c/{token} nor any token), in its own
 * write transaction.  action: RD_AUDIT_ACCESS for a use, RD_AUDIT_LOGIN for
 * an opening; note_extra (may be NULL) is appended. */
int rd_portal_audit(struct rd_app *app, struct rd_req *req, uint64_t vendor, uint64_t link, uint8_t action,
		    const char *note_extra);

/* Whether a refused use of known link `link` (a revoked or expired one:
 * every old renewal e-mail holds one, and anyone may send it) is to be
 * audited now: once a minute at most per link and action, so that such
 * requests cannot make renewd commit to the store without end.  The loop
 * thread only. */
bool rd_portal_refusal_to_audit(uint64_t link, uint8_t action);

#endif
