/*
 * test_money.c: amounts of money (core/domain/money.c).
 *
 * Covers: each currency's exponent from the ISO 4217 table (JPY 5,000 is
 * "JPY 5,000", not "JPY 50.00"; KWD and CLF keep 3 and 4 decimals); the
 * CSV decimal; grouping and signs at the int64_t limits; percentages;
 * checked addition and multiplication (overflow is RD_ERANGE, never a
 * wrapped amount); shares that never overflow, and the rounding rule: the
 * shares plus the vendor's net are the line exactly; currency codes
 * checked against the table of active ISO 4217 codes (made-up, lower-case,
 * withdrawn and minor-unit-less codes refused).
 */
#include <stdbool.h>
#include <stdio.h>

#include "domain/money.h"
#include "unit.h"

static void format_is(int64_t amount, const char *cur, const char *want)
{
	char out[64];
	rd_money_format(amount, cur, out, sizeof out);
	if (strcmp(out, want))
		fail_msg("rd_money_format(%lld, %s): got \"%s\", want \"%s\"", (long long)amount, cur, out, want);
}

static void decimal_is(int64_t amount, const char *cur, const char *want)
{
	char out[64];
	rd_money_decimal(amount, cur, out, sizeof out);
	if (strcmp(out, want))
		fail_msg("rd_money_decimal(%lld, %s): got \"%s\", want \"%s\"", (long long)amount, cur, out, want);
}

static void test_exponents(void **state)
{
	(void)state;
	assert_int_equal(rd_money_exponent("JPY"), 0);
	assert_int_equal(rd_money_exponent("KRW"), 0);
	assert_int_equal(rd_money_exponent("KWD"), 3);
	assert_int_equal(rd_money_exponent("BHD"), 3);
	assert_int_equal(rd_money_exponent("CLF"), 4);
	assert_int_equal(rd_money_exponent("EUR"), 2);
	assert_int_equal(rd_money_exponent("GBP"), 2);
	assert_int_equal(rd_money_exponent("XYZ"), 2);
	assert_int_equal(rd_money_exponent(""), 2);
	assert_int_equal(rd_money_exponent(NULL), 2);
}

static void test_currency_codes(void **state)
{
	(void)state;
	static const char *const active[] = { "JPY", "KWD", "CLF", "EUR", "GBP", "USD", "CHF", "BHD", "UYW", "XOF",
					      "XCG", "ZWG", "SLE", "VES", "MRU", "AED", "ZMW" };
	for (size_t i = 0; i < sizeof active / sizeof *active; i++)
		if (!rd_money_currency_valid(active[i]))
			fail_msg("%s is an active ISO 4217 code", active[i]);
	static const char *const refused[] = { "XYZ", "ABC", "jpy", "JP", "JPYY", "", "HRK", "SLL", "ZWL", "VEF",
					       "CUC", "XAU", "XDR", "XTS", "XXX" };
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
		if (rd_money_currency_valid(refused[i]))
			fail_msg("\"%s\" is not an active ISO 4217 currency code", refused[i]);
	assert_false(rd_money_currency_valid(NULL));
	/* the table and the exponents agree */
	assert_int_equal(rd_money_exponent("UYW"), 4);
	assert_int_equal(rd_money_exponent("IQD"), 3);
	assert_int_equal(rd_money_exponent("VUV"), 0);
}

static void parse_is(const char *text, const char *cur, int64_t want)
{
	int64_t got = 42;
	int rc = rd_money_parse_decimal(text, cur, &got);
	if (rc != 0 || got != want)
		fail_msg("rd_money_parse_decimal(%s, %s): rc %d, %lld, want %lld", text, cur, rc, (long long)got,
			 (long long)want);
}

static void test_parse_decimal(void **state)
{
	(void)state;
	parse_is("5000", "JPY", 5000);
	parse_is("5000.00", "JPY", 5000);
	parse_is("24.69", "KWD", 24690);
	parse_is("24.690", "KWD", 24690);
	parse_is("2.469", "CLF", 24690);
	parse_is("-1.5", "GBP", -150);
	parse_is("0.05", "EUR", 5);
	parse_is("12", "EUR", 1200);
	int64_t v = 7;
	assert_rc(rd_money_parse_decimal("12.5", "JPY", &v), RD_EINVAL);
	assert_rc(rd_money_parse_decimal("1.2345", "KWD", &v), RD_EINVAL);
	assert_rc(rd_money_parse_decimal("", "GBP", &v), RD_EINVAL);
	assert_rc(rd_money_parse_decimal(".", "GBP", &v), RD_EINVAL);
	assert_rc(rd_money_parse_decimal("1.2.3", "GBP", &v), RD_EINVAL);
	assert_rc(rd_money_parse_decimal("1e5", "GBP", &v), RD_EINVAL);
	assert_rc(rd_money_parse_decimal("99999999999999999999", "JPY", &v), RD_ERANGE);
	assert_rc(rd_money_parse_decimal("92233720368547758.08", "USD", &v), RD_ERANGE);
	assert_int_equal(v, 7); /* untouched */
}

static void test_format(void **state)
{
	(void)state;
	format_is(5000, "JPY", "JPY 5,000");
	format_is(1234567, "JPY", "JPY 1,234,567");
	format_is(-5000, "JPY", "JPY -5,000");
	format_is(123450, "EUR", "EUR 1,234.50");
	format_is(5, "GBP", "GBP 0.05");
	format_is(0, "USD", "USD 0.00");
	format_is(1234567, "KWD", "KWD 1,234.567");
	format_is(-125, "KWD", "KWD -0.125");
	format_is(12345, "CLF", "CLF 1.2345");
	format_is(INT64_MAX, "USD", "USD 92,233,720,368,547,758.07");
	format_is(INT64_MIN, "JPY", "JPY -9,223,372,036,854,775,808");
	char small[8];
	rd_money_format(123450, "EUR", small, sizeof small);
	assert_string_equal(small, "EUR 1,2");
}

/* The format as snprintf wrote it before it was written digit by digit:
 * the reference for random amounts, every exponent and every cut. */
static void format_ref(int64_t amount, const char *cur, char *out, size_t cap)
{
	int exp = rd_money_exponent(cur);
	static const uint64_t p10[] = { 1, 10, 100, 1000, 10000 };
	bool neg = amount < 0;
	uint64_t a = neg ? (uint64_t)(-(amount + 1)) + 1 : (uint64_t)amount;
	uint64_t major = a / p10[exp], minor = a % p10[exp];
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
	snprintf(out, cap, "%s %s%s%s", cur && *cur ? cur : "", neg ? "-" : "", grouped, frac);
}

static void test_format_as_snprintf(void **state)
{
	(void)state;
	static const char *const curs[] = { "JPY", "EUR", "KWD", "CLF", "XYZ", "", NULL };
	uint64_t seed = 88172645463325252ull;
	for (int round = 0; round < 200000; round++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		/* amounts of every length, the limits among them */
		int64_t amount = round < 4 ? (int64_t[]){ INT64_MIN, INT64_MAX, 0, -1 }[round]
					   : (int64_t)(seed >> (seed % 64));
		if (seed & 1 && amount != INT64_MIN)
			amount = -amount;
		const char *cur = curs[(seed >> 8) % (sizeof curs / sizeof *curs)];
		size_t cap = round % 5 ? 64 : 1 + (size_t)((seed >> 16) % 40);
		char got[64], want[64];
		memset(got, '#', sizeof got);
		rd_money_format(amount, cur, got, cap);
		format_ref(amount, cur, want, cap);
		if (strcmp(got, want))
			fail_msg("rd_money_format(%lld, %s, cap %zu): got \"%s\", want \"%s\"", (long long)amount,
				 cur ? cur : "NULL", cap, got, want);
	}
}

static void test_decimal(void **state)
{
	(void)state;
	decimal_is(5000, "JPY", "5000");
	decimal_is(-123450, "EUR", "-1234.50");
	decimal_is(125, "KWD", "0.125");
	decimal_is(7, "CLF", "0.0007");
	decimal_is(INT64_MIN, "USD", "-92233720368547758.08");
}

static void test_percent(void **state)
{
	(void)state;
	char s[32];
	rd_bp_format(1250, s, sizeof s);
	assert_string_equal(s, "12.50 %");
	rd_bp_format(-5, s, sizeof s);
	assert_string_equal(s, "-0.05 %");
	rd_bp_format(0, s, sizeof s);
	assert_string_equal(s, "0.00 %");
	json_t *j = rd_money_json(5000, "JPY");
	assert_string_equal(json_string_value(j), "JPY 5,000");
	json_decref(j);
}

static void test_checked(void **state)
{
	(void)state;
	int64_t r = 42;
	assert_rc(rd_money_mul(INT64_C(1) << 62, 100, &r), RD_ERANGE);
	assert_int_equal(r, 42); /* untouched */
	assert_rc(rd_money_mul(INT64_C(1) << 62, 1, &r), 0);
	assert_true(r == INT64_C(1) << 62);
	assert_rc(rd_money_mul(-3, 7, &r), 0);
	assert_int_equal(r, -21);
	assert_rc(rd_money_add(INT64_MAX, 1, &r), RD_ERANGE);
	assert_rc(rd_money_add(INT64_MIN, -1, &r), RD_ERANGE);
	assert_rc(rd_money_add(INT64_MAX - 1, 1, &r), 0);
	assert_true(r == INT64_MAX);
}

static void test_shares_sum_to_the_line(void **state)
{
	(void)state;
	/* Two shares of 50 % of an odd line: each rounds down by half a unit. */
	int64_t line = 10005;
	int64_t a = rd_money_share(line, 5000), b = rd_money_share(line, 5000);
	assert_int_equal(a, 5002);
	int64_t net = line - a - b;
	assert_int_equal(net, 1);
	assert_int_equal(a + b + net, line);
	/* The old rule, net = line - line * (sum of bp) / 10000, lost that unit. */
	assert_int_equal(line - line * 10000 / 10000, 0);
	/* Shares of huge amounts do not overflow. */
	assert_true(rd_money_share(INT64_MAX, 10000) == INT64_MAX);
	assert_true(rd_money_share(INT64_MAX, 5000) == INT64_MAX / 2);
	assert_true(rd_money_share(-10001, 5000) == -5000); /* toward zero */
	assert_true(rd_money_discounted(10001, 1000) == 9001);
	assert_true(rd_money_discounted(100, 20000) == 0); /* capped at 100 % */
	assert_true(rd_money_discounted(INT64_MAX, 5000) == INT64_MAX - INT64_MAX / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exponents),
		cmocka_unit_test(test_currency_codes),
		cmocka_unit_test(test_parse_decimal),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_as_snprintf),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_checked),
		cmocka_unit_test(test_shares_sum_to_the_line),
	};
	return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
