/*
 * checkout.h: what an order carries besides its price (core/services/checkout.c):
 * the billing details it was placed with, the customer record they may
 * update, its invoice number, and the e-mails the customer gets.
 *
 *   - billing: company, address, city, postcode, country, e-mail; checked
 *     (rd_checkout_billing_check) and stored on the order (order fields
 *     50-56), else copied from the customer record at placement;
 *   - update_customer (opt-in): the customer record takes the billing
 *     details, audited, in the transaction that creates the order;
 *   - invoice numbers: INV-000001, per vendor, sequential, never reused: a
 *     counter in the store taken in the transaction that invoices the order
 *     (placed to be paid on an invoice, or paid);
 *   - mail, queued in the same transaction to the billing e-mail: the
 *     confirmation when the order is placed (order_confirmation) and the
 *     receipt when it is paid (order_receipt), each with the invoice PDF once
 *     the order has its number (drawn at send time, core/pdf/invoice.c).
 */
#ifndef RD_SERVICES_CHECKOUT_H
#define RD_SERVICES_CHECKOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/model.h"
#include "services/service.h"

struct rd_txn;
struct rd_domain;

struct rd_billing {
	char company[RD_NAME_MAX];
	char address1[RD_NAME_MAX];
	char address2[RD_NAME_MAX];
	char city[64];
	char postcode[16];
	char country[3];
	char email[RD_NAME_MAX];
};

/* Sets the billing field named (company, address1, address2, city,
 * postcode, country, email) from outside input: RD_EINVAL with err naming
 * the field when it is too long or not text on one line. */
int rd_checkout_billing_set(struct rd_billing *b, const char *field, const char *value, struct rd_serr *err);

/* Every rule of a billing address: a company, an address line, a city, a
 * postcode, a two-letter country, an e-mail address.  0, or RD_EINVAL with
 * err naming the first field at fault. */
int rd_checkout_billing_check(const struct rd_billing *b, struct rd_serr *err);

/* An e-mail address as renewd takes one: local@domain.tld, printable ASCII,
 * no spaces, under RD_NAME_MAX bytes. */
bool rd_checkout_email_ok(const char *s);

/* Inside the write transaction that creates order n (before it is put):
 * its billing details (b, else the customer record's); with
 * update_customer, the customer record takes b, audited (user 0: the
 * customer in the portal). */
int rd_checkout_created(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, struct rd_order *n,
			const struct rd_billing *b, bool update_customer);

/* Inside the write transaction where the payment plugin's first answer is
 * applied to n (before it is put): an order to be paid on an invoice gets
 * its invoice number, and the customer the confirmation.  A failed order
 * gets nothing. */
int rd_checkout_placed(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, struct rd_order *n);

/* Inside the write transaction that pays n (before it is put): its invoice
 * number when it has none yet, and the receipt. */
int rd_checkout_paid(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, struct rd_order *n);

#endif
