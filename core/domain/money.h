/* money.h: amounts in minor units, as people read them. */
#ifndef RD_DOMAIN_MONEY_H
#define RD_DOMAIN_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* Formats minor units: "GBP 1,234.56". */
void rd_money_format(int64_t amount, const char *currency, char *out, size_t cap);

#endif
