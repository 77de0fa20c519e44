/* discount.h: a sales discount applied to a quote's total, one rule for
 * the pages, the API, the orders and the quote PDF. */
#ifndef RD_DOMAIN_DISCOUNT_H
#define RD_DOMAIN_DISCOUNT_H

#include <stdint.h>

/* The customer's total after a discount: the discount is rounded down to a
 * whole minor unit, the same here and in portal.js. */
static inline int64_t rd_discounted(int64_t amount, uint32_t bp)
{
	if (bp > 10000)
		bp = 10000;
	/* amount * bp / 10000 without overflowing on absurd amounts */
	return amount - ((amount / 10000) * (int64_t)bp + (amount % 10000) * (int64_t)bp / 10000);
}

#endif
