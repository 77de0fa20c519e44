/*
 * records.h: the rules of the records a vendor imports (customers, contacts,
 * products, contracts), shared by the API's create and update
 * (core/api/crud.c) and the import engine (services/imports.c): the fields a
 * create needs, defaults, references and the rules across fields.
 */
#ifndef RD_SERVICES_RECORDS_H
#define RD_SERVICES_RECORDS_H

#include "auth/auth.h"
#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

struct rd_txn;

/* The JSON names of the fields a create needs (NULL-terminated). */
extern const char *const rd_record_required_customer[];
extern const char *const rd_record_required_contact[];
extern const char *const rd_record_required_product[];
extern const char *const rd_record_required_contract[];

/* The first field a create of res needs that obj lacks, or NULL. */
const char *rd_record_missing(enum rd_resource res, const void *obj);

/* Fills obj's defaults (a contract's distributor, term, status, and
 * currency from the vendor v) and checks its references and cross-field
 * rules, as seen by t for the actor's vendor; old is the record before an
 * update (NULL: a create).  0, or RD_EINVAL with the field and a sentence
 * in e.  Kinds without rules here answer 0. */
int rd_record_prepare(struct rd_txn *t, const struct rd_app *app, const struct rd_actor *who,
		      const struct rd_vendor *v, enum rd_resource res, void *obj, const void *old, struct rd_serr *e);

/* The references rd_record_prepare_seen found in one write transaction
 * (customers, products and partners by id, a partner's kind and parent):
 * an import checks the same few thousand again and again.  Only what was
 * found is kept, and only for the transaction it was found in, which must
 * not delete those records meanwhile (an import adds and updates its own
 * kind's records only); zeroed to start, rd_record_seen_free to end. */
struct rd_record_seen {
	struct rd_record_seen_slot { uint64_t id, parent; uint8_t table, kind; } *slot; /* id 0: empty */
	size_t cap, n;
};
void rd_record_seen_free(struct rd_record_seen *s);

/* rd_record_prepare with the answers of seen (NULL: none) reused and
 * added to: the same outcome, the same errors. */
int rd_record_prepare_seen(struct rd_txn *t, const struct rd_app *app, const struct rd_actor *who,
			   const struct rd_vendor *v, enum rd_resource res, void *obj, const void *old,
			   struct rd_record_seen *seen, struct rd_serr *e);

/* Whether s is empty or looks like an e-mail address. */
bool rd_record_valid_email(const char *s);

#endif
