/*
 * console_work.h: what the console's working pages share (console_orders.c,
 * console_detail.c, console_users.c, console_margins.c): per-currency totals
 * of a list's money column, amounts typed into a form, the actor of a page.
 * Internal to core/web.
 */
#ifndef RD_WEB_CONSOLE_WORK_H
#define RD_WEB_CONSOLE_WORK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "services/service.h"
#include "store/store.h"
#include "web/web.h"

#define RD_TOTALS_MAX 32

/* A money column's sums, one per currency (never added across currencies). */
struct rd_totals {
	unsigned n;
	bool overflow; /* a sum did not fit, or more than RD_TOTALS_MAX currencies */
	char currency[RD_TOTALS_MAX][4];
	int64_t sum[RD_TOTALS_MAX];
	uint64_t count[RD_TOTALS_MAX];
};

void rd_totals_add(struct rd_totals *t, const char *currency, int64_t amount);
/* [{currency, amount (formatted), count}], by currency code. */
json_t *rd_totals_json(const struct rd_totals *t);

/* An amount typed into a form in the currency's major units ("1234.50",
 * "1,234.50"; at most the currency's decimals) into minor units: 0, or -1
 * when it is not such a number or does not fit. */
int rd_form_amount(const char *s, const char *currency, int64_t *out);

/* A contract's list value: its product's list price for the contract's
 * currency and term, times its seats; false when the catalogue has none
 * (console_detail.c). */
bool rd_console_contract_value(struct rd_txn *t, struct web *w, const struct rd_contract *k, int64_t *out);

/* The actor of a page's user (a partner's user: its partner). */
struct rd_actor rd_console_actor(const struct web *w);

#endif
