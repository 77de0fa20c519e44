#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "util/err.h"

/* Every active ISO 4217 currency code (list one: national currencies and
 * the funds codes such as CHE, CLF, COU, MXV, USN, UYI, UYW) with its
 * exponent, the number of its minor-unit digits; sorted for bsearch.  Codes
 * without a minor unit (the metals XAU, XAG, XPD, XPT, the bond units XBA to
 * XBD, XDR, XSU, XUA) and the testing codes XTS and XXX are not currencies a
 * price is kept in, and are refused.  Withdrawn codes (HRK, SLL, ZWL, VEF,
 * CUC, ANG after XCG replaced it, ...) are refused too. */
static const struct currency {
	char code[4];
	int exponent;
} currencies[] = {
	{ "AED", 2 }, { "AFN", 2 }, { "ALL", 2 }, { "AMD", 2 }, { "AOA", 2 }, { "ARS", 2 }, { "AUD", 2 },
	{ "AWG", 2 }, { "AZN", 2 }, { "BAM", 2 }, { "BBD", 2 }, { "BDT", 2 }, { "BGN", 2 }, { "BHD", 3 },
	{ "BIF", 0 }, { "BMD", 2 }, { "BND", 2 }, { "BOB", 2 }, { "BOV", 2 }, { "BRL", 2 }, { "BSD", 2 },
	{ "BTN", 2 }, { "BWP", 2 }, { "BYN", 2 }, { "BZD", 2 }, { "CAD", 2 }, { "CDF", 2 }, { "CHE", 2 },
	{ "CHF", 2 }, { "CHW", 2 }, { "CLF", 4 }, { "CLP", 0 }, { "CNY", 2 }, { "COP", 2 }, { "COU", 2 },
	{ "CRC", 2 }, { "CUP", 2 }, { "CVE", 2 }, { "CZK", 2 }, { "DJF", 0 }, { "DKK", 2 }, { "DOP", 2 },
	{ "DZD", 2 }, { "EGP", 2 }, { "ERN", 2 }, { "ETB", 2 }, { "EUR", 2 }, { "FJD", 2 }, { "FKP", 2 },
	{ "GBP", 2 }, { "GEL", 2 }, { "GHS", 2 }, { "GIP", 2 }, { "GMD", 2 }, { "GNF", 0 }, { "GTQ", 2 },
	{ "GYD", 2 }, { "HKD", 2 }, { "HNL", 2 }, { "HTG", 2 }, { "HUF", 2 }, { "IDR", 2 }, { "ILS", 2 },
	{ "INR", 2 }, { "IQD", 3 }, { "IRR", 2 }, { "ISK", 0 }, { "JMD", 2 }, { "JOD", 3 }, { "JPY", 0 },
	{ "KES", 2 }, { "KGS", 2 }, { "KHR", 2 }, { "KMF", 0 }, { "KPW", 2 }, { "KRW", 0 }, { "KWD", 3 },
	{ "KYD", 2 }, { "KZT", 2 }, { "LAK", 2 }, { "LBP", 2 }, { "LKR", 2 }, { "LRD", 2 }, { "LSL", 2 },
	{ "LYD", 3 }, { "MAD", 2 }, { "MDL", 2 }, { "MGA", 2 }, { "MKD", 2 }, { "MMK", 2 }, { "MNT", 2 },
	{ "MOP", 2 }, { "MRU", 2 }, { "MUR", 2 }, { "MVR", 2 }, { "MWK", 2 }, { "MXN", 2 }, { "MXV", 2 },
	{ "MYR", 2 }, { "MZN", 2 }, { "NAD", 2 }, { "NGN", 2 }, { "NIO", 2 }, { "NOK", 2 }, { "NPR", 2 },
	{ "NZD", 2 }, { "OMR", 3 }, { "PAB", 2 }, { "PEN", 2 }, { "PGK", 2 }, { "PHP", 2 }, { "PKR", 2 },
	{ "PLN", 2 }, { "PYG", 0 }, { "QAR", 2 }, { "RON", 2 }, { "RSD", 2 }, { "RUB", 2 }, { "RWF", 0 },
	{ "SAR", 2 }, { "SBD", 2 }, { "SCR", 2 }, { "SDG", 2 }, { "SEK", 2 }, { "SGD", 2 }, { "SHP", 2 },
	{ "SLE", 2 }, { "SOS", 2 }, { "SRD", 2 }, { "SSP", 2 }, { "STN", 2 }, { "SVC", 2 }, { "SYP", 2 },
	{ "SZL", 2 }, { "THB", 2 }, { "TJS", 2 }, { "TMT", 2 }, { "TND", 3 }, { "TOP", 2 }, { "TRY", 2 },
	{ "TTD", 2 }, { "TWD", 2 }, { "TZS", 2 }, { "UAH", 2 }, { "UGX", 0 }, { "USD", 2 }, { "USN", 2 },
	{ "UYI", 0 }, { "UYU", 2 }, { "UYW", 4 }, { "UZS", 2 }, { "VED", 2 }, { "VES", 2 }, { "VND", 0 },
	{ "VUV", 0 }, { "WST", 2 }, { "XAF", 0 }, { "XCD", 2 }, { "XCG", 2 }, { "XOF", 0 }, { "XPF", 0 },
	{ "YER", 2 }, { "ZAR", 2 }, { "ZMW", 2 }, { "ZWG", 2 },
};

static int by_code(const void *key, const void *elem)
{
	return strcmp(key, ((const struct currency *)elem)->code);
}

static const struct currency *find(const char *code)
{
	if (!code || strlen(code) != 3)
		return NULL;
	return bsearch(code, currencies, sizeof currencies / sizeof currencies[0], sizeof currencies[0], by_code);
}

bool rd_money_currency_valid(const char *code)
{
	return find(code) != NULL;
}

int rd_money_exponent(const char *currency)
{
	const struct currency *c = find(currency);
	return c ? c->exponent : 2;
}

int rd_money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return RD_ERANGE;
	*out = r;
	return 0;
}

int rd_money_mul(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (__builtin_mul_overflow(a, b, &r))
		return RD_ERANGE;
	*out = r;
	return 0;
}

int64_t rd_money_share(int64_t amount, int64_t bp)
{
	return (int64_t)((__int128)amount * bp / 10000);
}

int64_t rd_money_discounted(int64_t amount, uint32_t bp)
{
	return amount - rd_money_share(amount, bp > 10000 ? 10000 : bp);
}

static const uint64_t pow10s[] = { 1, 10, 100, 1000, 10000 };

/* Splits |amount| into its major and minor parts. */
static bool split(int64_t amount, const char *currency, uint64_t *major, uint64_t *minor, int *exp)
{
	bool neg = amount < 0;
	uint64_t a = neg ? (uint64_t)(-(amount + 1)) + 1 : (uint64_t)amount;
	*exp = rd_money_exponent(currency);
	*major = a / pow10s[*exp];
	*minor = a % pow10s[*exp];
	return neg;
}

/* "CUR -1,234.56": written digit by digit (snprintf was most of the cost
 * of a message's amounts); cut at cap - 1 bytes as snprintf would. */
void rd_money_format(int64_t amount, const char *currency, char *out, size_t cap)
{
	uint64_t major, minor;
	int exp;
	bool neg = split(amount, currency, &major, &minor, &exp);
	char text[64], *e = text + sizeof text, *p = e;
	for (int i = 0; i < exp; i++, minor /= 10)
		*--p = (char)('0' + minor % 10);
	if (exp)
		*--p = '.';
	for (int i = 0;; i++, major /= 10) {
		if (i && i % 3 == 0)
			*--p = ',';
		*--p = (char)('0' + major % 10);
		if (major < 10)
			break;
	}
	if (neg)
		*--p = '-';
	*--p = ' ';
	size_t cur = currency ? strlen(currency) : 0, n = (size_t)(e - p);
	if (!cap)
		return;
	if (cur > cap - 1)
		cur = cap - 1;
	if (cur)
		memcpy(out, currency, cur);
	if (n > cap - 1 - cur)
		n = cap - 1 - cur;
	memcpy(out + cur, p, n);
	out[cur + n] = 0;
}

void rd_money_decimal(int64_t amount, const char *currency, char *out, size_t cap)
{
	uint64_t major, minor;
	int exp;
	bool neg = split(amount, currency, &major, &minor, &exp);
	if (exp)
		snprintf(out, cap, "%s%llu.%0*llu", neg ? "-" : "", (unsigned long long)major, exp,
			 (unsigned long long)minor);
	else
		snprintf(out, cap, "%s%llu", neg ? "-" : "", (unsigned long long)major);
}

int rd_money_parse_decimal(const char *s, const char *currency, int64_t *out)
{
	int exp = rd_money_exponent(currency);
	bool neg = *s == '-';
	const char *p = s + neg;
	int64_t v = 0;
	int digits = 0, frac = -1; /* frac: digits read after the point, -1 before it */
	for (; *p; p++) {
		if (*p == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			return RD_EINVAL;
		digits++;
		if (frac >= 0 && frac >= exp) { /* beyond the currency's decimals: zeros only */
			if (*p != '0')
				return RD_EINVAL;
			continue;
		}
		if (rd_money_mul(v, 10, &v) < 0 || rd_money_add(v, *p - '0', &v) < 0)
			return RD_ERANGE;
		if (frac >= 0)
			frac++;
	}
	if (!digits)
		return RD_EINVAL;
	for (int k = frac < 0 ? 0 : frac; k < exp; k++)
		if (rd_money_mul(v, 10, &v) < 0)
			return RD_ERANGE;
	*out = neg ? -v : v;
	return 0;
}

void rd_bp_format(int64_t bp, char *out, size_t cap)
{
	uint64_t a = bp < 0 ? (uint64_t)(-(bp + 1)) + 1 : (uint64_t)bp;
	snprintf(out, cap, "%s%llu.%02llu %%", bp < 0 ? "-" : "", (unsigned long long)(a / 100),
		 (unsigned long long)(a % 100));
}

json_t *rd_money_json(int64_t amount, const char *currency)
{
	char s[64];
	rd_money_format(amount, currency, s, sizeof s);
	return json_string(s);
}

json_t *rd_bp_json(int64_t bp)
{
	char s[32];
	rd_bp_format(bp, s, sizeof s);
	return json_string(s);
}
