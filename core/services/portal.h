/*
 * portal.h: what a customer's link shows, for the portal pages
 * (core/web/pages.c) and the portal API (GET /api/v1/portal), so both
 * follow one rule (core/services/portal.c):
 *
 *   - A link is sent for one quote, on behalf of that quote's partner.  It
 *     shows the customer's contracts in that partner's channel (those whose
 *     reseller or distributor is the quote's partner): a reseller's link
 *     never lists a competing reseller's contract of the same customer, nor
 *     its documents, whoever holds the link.
 *   - Ownership is read when the page is asked for, never copied: a
 *     contract that moved to another customer (an edit, a merge) shows, with
 *     its documents, for its new customer only.
 *   - Only what is the customer's: no margins, no net totals, no policy
 *     versions, no sales notes, no lost reason, no attention reason, no
 *     engine state, no ids of the channel's people.
 *   - Every use of a link, or of the session it opened, is audited under
 *     the link's id (object "links"); never with the link's token
 *     (edge/portal.h: the audit names the request's route).
 */
#ifndef RD_SERVICES_PORTAL_H
#define RD_SERVICES_PORTAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/model.h"

struct rd_domain;

struct rd_txn;

/* Whether the link of quote o, for customer, shows contract k: the
 * customer owns k now and k is in the quote's partner's channel. */
bool rd_portal_shows(const struct rd_opportunity *o, uint64_t customer, const struct rd_contract *k);

/* Whether quote o is still the customer's: it was made for the customer
 * and its contract belongs to the customer now (a contract moved to
 * another customer takes its quote along). */
bool rd_portal_quote_owned(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_opportunity *o,
			   uint64_t customer);

/* The customer as the customer sees it (new reference): name, e-mail,
 * phone and address; no external id, no segment. */
json_t *rd_portal_customer_json(const struct rd_customer *cu);

/* The quote as the customer sees it (new reference): its lines without
 * margins or shares; no net total, notes, lost reason or attention. */
json_t *rd_portal_opportunity_json(const struct rd_opportunity *o);

/* Appends contract k's documents as the customer sees them (id, name,
 * kind, content_type, size, created_at) to out (borrowed). */
int rd_portal_documents(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t contract, json_t *out);

/* Appends the contracts the link shows (rd_portal_shows), each with its
 * colour and documents, to out (borrowed): the API's form. */
int rd_portal_contracts(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_opportunity *o,
			uint64_t customer, uint32_t window_days, json_t *out);

/* Loads document id for the link of quote o and customer: RD_ENOTFOUND
 * unless its contract is one the link shows now. */
int rd_portal_document(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_opportunity *o,
		       uint64_t customer, uint64_t id, struct rd_document *doc);

#endif
