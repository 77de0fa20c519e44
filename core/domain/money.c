#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "domain/money.h"
#include "util/err.h"

/* ISO 4217 codes whose exponent is not 2 (every other code is 2).  From the
 * ISO 4217 list of currency codes, amendment 176 and later. */
static const struct {
	char code[4];
	int exponent;
} exponents[] = {
	{ "BHD", 3 }, { "BIF", 0 }, { "CLF", 4 }, { "CLP", 0 }, { "DJF", 0 }, { "GNF", 0 }, { "IQD", 3 },
	{ "ISK", 0 }, { "JOD", 3 }, { "JPY", 0 }, { "KMF", 0 }, { "KRW", 0 }, { "KWD", 3 }, { "LYD", 3 },
	{ "OMR", 3 }, { "PYG", 0 }, { "RWF", 0 }, { "TND", 3 }, { "UGX", 0 }, { "UYI", 0 }, { "UYW", 4 },
	{ "VND", 0 }, { "VUV", 0 }, { "XAF", 0 }, { "XOF", 0 }, { "XPF", 0 },
};

int rd_money_exponent(const char *currency)
{
	if (!currency)
		return 2;
	for (size_t i = 0; i < sizeof exponents / sizeof exponents[0]; i++)
		if (!strcmp(exponents[i].code, currency))
			return exponents[i].exponent;
	return 2;
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

void rd_money_format(int64_t amount, const char *currency, char *out, size_t cap)
{
	uint64_t major, minor;
	int exp;
	bool neg = split(amount, currency, &major, &minor, &exp);
	char digits[24], grouped[32], frac[8] = "";
	snprintf(digits, sizeof digits, "%llu", (unsigned long long)major);
	size_t n = strlen(digits), o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			grouped[o++] = ',';
		grouped[o++] = digits[i];
	}
	grouped[o] = 0;
	if (exp)
		snprintf(frac, sizeof frac, ".%0*llu", exp, (unsigned long long)minor);
	snprintf(out, cap, "%s %s%s%s", currency && *currency ? currency : "", neg ? "-" : "", grouped, frac);
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
