/*
 * money.h: amounts of money, in one place.
 *
 * An amount is an int64_t count of the currency's minor units (cents,
 * yen, fils) with an ISO 4217 code beside it.  How many minor units make
 * a major one is the currency's exponent, taken from one table of every
 * active ISO 4217 code: JPY 0, EUR 2, KWD 3, CLF 4.  Every entry point that
 * takes a currency checks it against the same table (rd_money_currency_valid);
 * a code the table does not know (an old record) is shown with 2.
 *
 * Arithmetic is checked: a sum or product that does not fit in int64_t is
 * RD_ERANGE, never a wrapped number.  Every page, e-mail, PDF and CSV
 * formats through rd_money_format / rd_money_decimal.
 *
 * Channel shares (the one rounding rule, docs/commissions.md): a party's
 * share of a line is floor(line * bp / 10000) minor units, computed without
 * overflow; the vendor's net is the line less the sum of the shares, so the
 * shares plus the net equal the line exactly and no minor unit is lost.
 * A discount (rd_money_discounted) rounds the same way: the customer pays
 * the line less floor(line * bp / 10000).
 */
#ifndef RD_DOMAIN_MONEY_H
#define RD_DOMAIN_MONEY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Is this an active ISO 4217 code with a minor unit ("JPY", "KWD", "CLF";
 * not "XYZ", "jpy", "HRK", "XAU")? */
bool rd_money_currency_valid(const char *code);

/* The currency's exponent (minor units per major: 10^exponent); 2 for a
 * code the table does not know, NULL or "". */
int rd_money_exponent(const char *currency);

/* *out = a + b, or a * b; RD_ERANGE (and *out untouched) on overflow. */
int rd_money_add(int64_t a, int64_t b, int64_t *out);
int rd_money_mul(int64_t a, int64_t b, int64_t *out);

/* amount * bp / 10000 rounded toward zero, exact for every int64_t amount
 * (for bp in 0..10000 the result never exceeds |amount|). */
int64_t rd_money_share(int64_t amount, int64_t bp);
/* amount less its bp share (bp capped at 10000): what a discount of bp
 * leaves to pay. */
int64_t rd_money_discounted(int64_t amount, uint32_t bp);

/* "JPY 5,000", "EUR 1,234.50", "KWD -0.125": the code, the sign, grouped
 * digits and the currency's exponent of decimals.  Always NUL-terminated. */
void rd_money_format(int64_t amount, const char *currency, char *out, size_t cap);
/* The plain decimal for CSV files: "5000", "-1234.50", "0.125". */
void rd_money_decimal(int64_t amount, const char *currency, char *out, size_t cap);
/* Reads a plain decimal amount of the currency ("5000", "5000.00" for JPY;
 * "24.69", "24.690" for KWD; a leading "-" allowed) into minor units:
 * digits after the point beyond the currency's exponent must be zeros.
 * RD_EINVAL when it is not such a number or has more decimals than the
 * currency (JPY "12.5"), RD_ERANGE when it does not fit. */
int rd_money_parse_decimal(const char *s, const char *currency, int64_t *out);
/* Basis points as a percentage: 1250 -> "12.50 %", -5 -> "-0.05 %". */
void rd_bp_format(int64_t bp, char *out, size_t cap);

/* The same as JSON strings, for pages and e-mail templates (new references). */
json_t *rd_money_json(int64_t amount, const char *currency);
json_t *rd_bp_json(int64_t bp);

#endif
