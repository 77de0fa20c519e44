/*
 * test_shared.c: the helpers that each replaced several hand-written copies:
 * month arithmetic and term ends (core/domain/date.c), the big-endian u64 of
 * index keys (core/store/store.h) and the Cookie header parser
 * (core/edge/call.c).
 *
 * Covers: adding months at the end of a month, across a year and into a
 * leap February; each term's last day; a key's bytes and that byte order is
 * numeric order, round trip; a cookie first, last, among others, absent,
 * a name that is only a prefix of another, an empty value, no header; a
 * day number at the ends of int32 (a damaged record's date); rd_strcopy
 * (core/util/err.c) against snprintf's "%s" at every cut, and a NULL; the brand's contact block;
 * rd_utf8_mend (core/util/err.c) at every cut of a text of 1- to 4-byte
 * characters and on bytes that are not UTF-8.
 */
#include <jansson.h>
#include <stdio.h>

#include "domain/date.h"
#include "domain/model.h"
#include "edge/call.h"
#include "store/store.h"
#include "unit.h"

static rd_date day(const char *s)
{
	rd_date d;
	assert_int_equal(rd_date_parse(s, &d), 0);
	return d;
}

static void check_date(rd_date got, const char *want)
{
	char s[11];
	rd_date_format(got, s);
	if (strcmp(s, want) != 0)
		fail_msg("got %s, want %s", s, want);
}

static void months(void **state)
{
	(void)state;
	check_date(rd_date_add_months(day("2027-01-31"), 1), "2027-02-28");
	check_date(rd_date_add_months(day("2028-01-31"), 1), "2028-02-29");
	check_date(rd_date_add_months(day("2027-11-30"), 3), "2028-02-29");
	check_date(rd_date_add_months(day("2027-12-15"), 1), "2028-01-15");
	check_date(rd_date_add_months(day("2027-03-31"), 12), "2028-03-31");
	check_date(rd_date_add_months(day("2100-01-31"), 1), "2100-02-28");
}

static void terms(void **state)
{
	(void)state;
	check_date(rd_term_end(day("2027-03-01"), RD_TERM_ANNUAL), "2028-02-29");
	check_date(rd_term_end(day("2027-01-31"), RD_TERM_QUARTERLY), "2027-04-29");
	check_date(rd_term_end(day("2027-01-31"), RD_TERM_MONTHLY), "2027-02-27");
	check_date(rd_term_end(day("2027-02-01"), RD_TERM_FLEX), "2027-02-28");
	check_date(rd_term_end(day("2027-02-01"), 0), "2028-01-31");
}

static void keys(void **state)
{
	(void)state;
	uint8_t k[8];
	rd_key_put_u64(k, 0x0102030405060708ull);
	static const uint8_t want[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_memory_equal(k, want, 8);
	assert_int_equal(rd_key_get_u64(k), 0x0102030405060708ull);
	static const uint64_t ordered[] = { 0, 1, 255, 256, 65535, 1ull << 32, (1ull << 63) + 7, UINT64_MAX };
	for (size_t i = 0; i + 1 < sizeof ordered / sizeof *ordered; i++) {
		uint8_t a[8], b[8];
		rd_key_put_u64(a, ordered[i]);
		rd_key_put_u64(b, ordered[i + 1]);
		if (memcmp(a, b, 8) >= 0)
			fail_msg("the key of %llu does not sort before the key of %llu", (unsigned long long)ordered[i],
				 (unsigned long long)ordered[i + 1]);
		assert_int_equal(rd_key_get_u64(b), ordered[i + 1]);
	}
}

static void check_cookie(const char *header, const char *name, const char *want)
{
	size_t len = 0;
	const char *v = rd_cookie_find(header, name, &len);
	if (!want && v)
		fail_msg("cookie %s in \"%s\": got \"%.*s\", want none", name, header ? header : "(none)", (int)len, v);
	if (want && (!v || len != strlen(want) || strncmp(v, want, len) != 0))
		fail_msg("cookie %s in \"%s\": got \"%.*s\", want \"%s\"", name, header ? header : "(none)", v ? (int)len : 4,
			 v ? v : "none", want);
}

static void cookies(void **state)
{
	(void)state;
	check_cookie("rd_session=abc", "rd_session", "abc");
	check_cookie("a=1; rd_session=abc; b=2", "rd_session", "abc");
	check_cookie("a=1;rd_customer=xyz", "rd_customer", "xyz");
	check_cookie("rd_session_old=1; rd_session=new", "rd_session", "new");
	check_cookie("rd_sessionx=1", "rd_session", NULL);
	check_cookie("x_rd_session=1", "rd_session", NULL);
	check_cookie("rd_session=", "rd_session", "");
	check_cookie("a=1; b=2", "rd_session", NULL);
	check_cookie("", "rd_session", NULL);
	check_cookie(NULL, "rd_session", NULL);
}

/* A date field of a damaged record can hold any int32 (fuzz/record.c
 * found 2147483611 overflowing rd_date_to_ymd's int arithmetic, undefined
 * behaviour): every day number converts, the far ends too. */
static void dates_at_the_ends(void **state)
{
	(void)state;
	int y, m, d;
	rd_date_to_ymd(INT32_MAX, &y, &m, &d);
	assert_int_equal(y, 5881580);
	assert_int_equal(m, 7);
	assert_int_equal(d, 11);
	rd_date_to_ymd(2147483611, &y, &m, &d);
	assert_int_equal(y, 5881580);
	assert_int_equal(m, 6);
	assert_int_equal(d, 5);
	rd_date_to_ymd(0, &y, &m, &d);
	assert_true(y == 1970 && m == 1 && d == 1);
	check_date(INT32_MAX, "1580-07-11"); /* the year's last four digits: ten bytes, never more */
	check_date(day("2026-01-01"), "2026-01-01");
}

static void strcopy(void **state)
{
	(void)state;
	const char *src[] = { "", "a", "abcdefgh", "caf\xc3\xa9 au lait", "0123456789abcdefghij" };
	for (size_t i = 0; i < sizeof src / sizeof *src; i++)
		for (size_t cap = 0; cap < 24; cap++) {
			char got[24], want[24];
			memset(got, '#', sizeof got);
			memset(want, '#', sizeof want);
			rd_strcopy(got, cap, src[i]);
			snprintf(want, cap, "%s", src[i]);
			if (memcmp(got, want, sizeof got))
				fail_msg("rd_strcopy(\"%s\", cap %zu) differs from snprintf's %%s", src[i], cap);
		}
	char out[4] = "xyz";
	rd_strcopy(out, sizeof out, NULL);
	assert_string_equal(out, "");
}

/* The brand's contact block: the partner's own, else its name, phone and
 * e-mail joined (", " only between parts there), else the vendor's name;
 * as snprintf wrote it at every cut. */
static void contact_block(void **state)
{
	(void)state;
	static struct rd_partner p;
	static struct rd_vendor v;
	snprintf(v.name, sizeof v.name, "Acme");
	const char *phones[] = { "", "+44 20 7946 0000" }, *emails[] = { "", "gold@example.com" };
	for (int k = 0; k < 4; k++)
		for (size_t cap = 1; cap < 400; cap++) {
			snprintf(p.name, sizeof p.name, "Gold");
			snprintf(p.phone, sizeof p.phone, "%s", phones[k & 1]);
			snprintf(p.email, sizeof p.email, "%s", emails[k >> 1]);
			char got[400], want[400];
			memset(got, '#', sizeof got);
			rd_brand_contact_block(&p, &v, got, cap);
			snprintf(want, cap, "%s%s%s%s%s", p.name, p.phone[0] ? ", " : "", p.phone, p.email[0] ? ", " : "",
				 p.email);
			if (strcmp(got, want))
				fail_msg("cap %zu: \"%s\", want \"%s\"", cap, got, want);
		}
	char out[64];
	rd_brand_contact_block(NULL, &v, out, sizeof out);
	assert_string_equal(out, "Acme");
	snprintf(p.contact_block, sizeof p.contact_block, "Call us");
	rd_brand_contact_block(&p, &v, out, sizeof out);
	assert_string_equal(out, "Call us");
}

/* rd_utf8_mend: valid UTF-8 untouched; a character cut at the end dropped,
 * at every cut of a text of one-, two-, three- and four-byte characters (the
 * result is a prefix and jansson takes it); other bad bytes made '?'. */
static void utf8_mend(void **state)
{
	(void)state;
	static const char text[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x80z";
	for (size_t cut = 0; cut <= sizeof text - 1; cut++) {
		char s[sizeof text];
		memcpy(s, text, cut);
		s[cut] = 0;
		rd_utf8_mend(s);
		if (strncmp(s, text, strlen(s)) || cut - strlen(s) > 3)
			fail_msg("cut %zu: \"%s\" is not the text's prefix less a cut character", cut, s);
		json_t *j = json_string(s);
		if (!j)
			fail_msg("cut %zu: not UTF-8 after mending", cut);
		json_decref(j);
	}
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" }, { "caf\xe9 ok", "caf? ok" }, { "\xff\xfe", "??" }, { "a\xc0\xaf" "b", "a??b" },
		{ "\xed\xa0\x80x", "???x" }, { "\xf4\x90\x80\x80", "????" }, { "\xe0\x80\xaf", "???" },
		{ "ok\xe2\x82", "ok" }, { "\xc3\xa9\xc3", "\xc3\xa9" }, { "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char s[32];
		snprintf(s, sizeof s, "%s", cases[i].in);
		rd_utf8_mend(s);
		if (strcmp(s, cases[i].out))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, s, cases[i].out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(months),
		cmocka_unit_test(terms),
		cmocka_unit_test(keys),
		cmocka_unit_test(cookies),
		cmocka_unit_test(dates_at_the_ends),
		cmocka_unit_test(strcopy),
		cmocka_unit_test(contact_block),
		cmocka_unit_test(utf8_mend),
	};
	return cmocka_run_group_tests_name("shared", tests, NULL, NULL);
}
