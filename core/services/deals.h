/*
 * deals.h: deal registration (core/services/deals.c), for the API and the
 * pages.
 *
 * A partner registers a deal it sourced (one customer, products of one
 * product line); the channel manager sees a conflict report and approves it
 * with an expiry or rejects it with a reason; the partner closes an approved
 * one won (with proof of performance, a document) or lost (with a reason);
 * the sweep expires approved ones past their expiry; a rejected or expired
 * one is resubmitted as a new registration linked to it; an approved or
 * expired one gets an extension, up to the vendor's limit.  States:
 * submitted -> approved -> won | lost | expired; rejected.  Every change is
 * audited and e-mailed (the outbox).
 */
#ifndef RD_SERVICES_DEALS_H
#define RD_SERVICES_DEALS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

struct rd_txn;

/* What a registration is made of.  The customer: customer_id of an
 * existing one the partner sells to, or new_customer (name required;
 * email, postcode, external_id, country optional), which is created. */
struct rd_deal_input {
	uint64_t partner_id;          /* the vendor's people registering for a partner; partners: their own */
	uint64_t customer_id;
	const struct rd_customer *new_customer;
	uint8_t n_products;
	uint64_t products[RD_DEAL_MAX_PRODUCTS];
	uint32_t seats;
	int64_t expected_value;
	const char *currency;         /* NULL: the vendor's */
	rd_date close_date;
	const char *situation, *notes;
	uint64_t previous_id;         /* a resubmission of this rejected or expired registration */
};

/* Registers a deal (state submitted), acknowledges it by e-mail with the
 * vendor's promised response time and tells the channel managers.
 * RD_EINVAL with the field; RD_ENOTFOUND (previous_id not the partner's);
 * RD_EEXISTS (previous_id not rejected or expired, or resubmitted already). */
int rd_deal_submit(struct rd_app *app, const struct rd_actor *who, const struct rd_deal_input *in,
		   struct rd_dealreg *out, struct rd_serr *e);

enum rd_deal_step {
	RD_DEAL_STEP_APPROVE = 1, /* expires_on: 0 the vendor's default from today */
	RD_DEAL_STEP_REJECT,      /* reason required */
	RD_DEAL_STEP_EXTEND,      /* days: 0 the vendor's default; up to the vendor's limit */
	RD_DEAL_STEP_LOSE,        /* reason required */
	RD_DEAL_STEP_WIN,         /* proof required */
	RD_DEAL_STEP_ASK_EXTENSION, /* the partner asks the channel managers for an extension */
};

struct rd_deal_change {
	enum rd_deal_step step;
	rd_date expires_on;
	uint32_t days;
	const char *reason;
	/* win: the proof of performance */
	const char *proof_name, *proof_type;
	const void *proof;
	size_t proof_len;
};

/* One step of a registration's life.  Approve, reject and extend are the
 * vendor's people's (-EACCES for a partner); win and lose the registering
 * partner's or the vendor's; asking for an extension (of an approved or
 * expired one, within the vendor's limit, once until it is granted) the
 * partner's, and the channel managers are told.  RD_ENOTFOUND (not the actor's), RD_EEXISTS
 * (the state refuses the step), RD_EINVAL (a field), RD_ERANGE (the
 * extension limit). */
int rd_deal_change(struct rd_app *app, const struct rd_actor *who, uint64_t id, const struct rd_deal_change *ch,
		   struct rd_dealreg *out, struct rd_serr *e);

/* A registration the actor may see (a partner: its own); RD_ENOTFOUND. */
int rd_deal_get(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, uint64_t id, struct rd_dealreg *out);

/* The match keys of every customer of the vendor, read once for many
 * conflict reports (a page of them). */
struct rd_deal_matcher;
int rd_deal_matcher_new(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, struct rd_deal_matcher **out);
void rd_deal_matcher_free(struct rd_deal_matcher *mt);

/* The conflict report of a registration, for the vendor's people:
 * {registrations: [...], installed_base: [...], opportunities: [...]},
 * each entry with the matched customer and its reasons (name, domain,
 * postcode, external_id).  mt: the keys read before (NULL: one walk of the
 * customers now).  The records found for those customers come by the
 * "customer" and "contract" indexes.  New reference in *out. */
int rd_deal_conflicts(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_dealreg *deal,
		      const struct rd_deal_matcher *mt, json_t **out);

/* The sweep's step (renew.h rd_sweep_hook_fn): approved registrations past
 * their expiry become expired, audited and e-mailed; idempotent. */
int rd_deals_expire(struct rd_app *app, uint64_t vendor, rd_date today);

/* The registration as JSON, with customer_name and partner_name. */
json_t *rd_deal_json(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_dealreg *deal);

#endif
