/*
 * service.h: what every service takes and answers (core/services).
 *
 * A service holds one business rule for the API and the pages alike.  It
 * takes an actor (who acts, for which vendor, in which partner scope) and
 * plain C values, never an HTTP request, and answers 0 or a negative RD_E*
 * code with a struct rd_serr saying which field is wrong and why.  The one
 * place that turns these codes into HTTP statuses is edge (rd_serr_status,
 * core/edge/call.h), shared by the API and the pages.
 */
#ifndef RD_SERVICES_SERVICE_H
#define RD_SERVICES_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

/* Who acts.  user 0 with customer set: a customer through the portal's
 * link; user 0 and customer 0: renewd itself (reconciliation, a webhook). */
struct rd_actor {
	uint64_t vendor;
	uint64_t user;
	uint64_t customer;  /* the portal: the link's customer */
	uint64_t partner;   /* a partner's user: its partner (0: the vendor's own people) */
	bool portal;        /* acting through the customer portal */
};

/* A refusal: rc is the RD_E* code (or a negated errno) the edge maps to a
 * status; code is the public error code ("invalid", "conflict", ...),
 * field the input at fault (or NULL), message a sentence for a person.
 *   RD_EINVAL    the input is wrong                    RD_ENOTFOUND  no such record (for this actor)
 *   RD_EEXISTS   the record's state refuses the change RD_EBUSY      try again later
 *   -ETIMEDOUT   a plugin did not answer in time       -EIO          a plugin failed
 *   RD_ETOOBIG   over a configured limit               -EACCES       the actor may not do this at all
 *   RD_ERANGE    well-formed, but beyond a rule's bound or not what the record takes
 *   other        a fault of renewd */
struct rd_serr {
	int rc;
	const char *code, *field;
	char message[256];
};

/* Fills e and returns rc. */
int rd_serr_set(struct rd_serr *e, int rc, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* A store that could not answer (rc < 0, not RD_ENOTFOUND): "unavailable"
 * for RD_EBUSY (the API's 503 with Retry-After), else "internal"; never
 * blamed on the caller's input.  Fills e and returns rc. */
int rd_serr_store(struct rd_serr *e, int rc);

#endif
