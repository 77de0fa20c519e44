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

/* A partner's rules on a create (old NULL) or update by a caller of role:
 * its place in the channel (kind, tier, parent: the vendor's to set), its
 * feed mapping and drop folder (the vendor's), its colours, e-mail and
 * sales contact.  0, RD_EINVAL with the field and a sentence in e, or the
 * store's error. */
int rd_record_partner_rule(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, uint8_t role,
			   struct rd_partner *x, const struct rd_partner *old, struct rd_serr *e);

/* A partner's, customer's, contact's, product's or contract's external id
 * (a product's SKU) is its own: RD_EEXISTS ("conflict", field external_id
 * or sku) when another record of the vendor holds it, else 0 or the store's
 * error.  Other kinds answer 0. */
int rd_record_ext_unique(struct rd_txn *t, const struct rd_app *app, uint64_t vendor, enum rd_resource res,
			 const void *obj, struct rd_serr *e);

/* One field of a record as text, as a form gives it. */
struct rd_record_text {
	const char *name, *text;
};

/* A vendor's person creates (id 0) or changes (id) a partner, customer,
 * product or contract from fields as text (the console's forms): numbers in
 * decimal, dates YYYY-MM-DD, enums by name, "" clears an optional field, a
 * product's "price_<term>" (annual, quarterly, monthly, flex) is an amount
 * in the vendor's currency as a person writes it ("1200", "1200.50"; ""
 * removes it).  The API's rules: a create gives the fields it needs, then
 * rd_record_partner_rule or rd_record_prepare and rd_record_ext_unique; a
 * contract moved to another customer takes its records along
 * (rd_contract_moved); the record and its audit entry in one write.  0 with
 * *saved its id; RD_EINVAL or RD_EEXISTS with the field and a sentence in
 * e; RD_ENOTFOUND: no such record; or the store's error (e filled). */
int rd_record_save(const struct rd_app *app, const struct rd_actor *who, uint8_t role, const struct rd_vendor *v,
		   enum rd_resource res, uint64_t id, const struct rd_record_text *fields, size_t n, uint64_t *saved,
		   struct rd_serr *e);

/* Whether s is empty or looks like an e-mail address. */
bool rd_record_valid_email(const char *s);

#endif
