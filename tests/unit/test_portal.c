/*
 * test_portal.c: what a customer's link may show (core/services/portal.c)
 * and which document names are accepted (core/services/documents.c),
 * without HTTP.
 *
 * Covers: the channel rule (the quote's partner as reseller or distributor,
 * the customer owning the contract now); the customer views are allow-lists
 * (no lost reason, notes, margins, shares, net total, segment, external
 * id); document names: UTF-8 at every boundary (over-long forms, surrogates,
 * past U+10FFFF, truncated and stray bytes), C0/C1 controls, direction
 * marks, the 127-byte bound.  The routes are
 * tests/integration/test_trust_portal.py.
 */
#include <jansson.h>
#include <stdlib.h>

#include "services/documents.h"
#include "services/portal.h"
#include "unit.h"

static void test_shows_the_quotes_channel_only(void **state)
{
	(void)state;
	struct rd_opportunity o = { .reseller_id = 3, .customer_id = 7 };
	struct rd_contract own = { .customer_id = 7, .reseller_id = 3, .distributor_id = 1 };
	struct rd_contract rival = { .customer_id = 7, .reseller_id = 2, .distributor_id = 1 };
	struct rd_contract moved = { .customer_id = 8, .reseller_id = 3 };
	assert_true(rd_portal_shows(&o, 7, &own));
	assert_false(rd_portal_shows(&o, 7, &rival)); /* same customer, same distributor, another reseller */
	assert_false(rd_portal_shows(&o, 7, &moved)); /* the contract is another customer's now */
	assert_false(rd_portal_shows(&o, 8, &own));
	/* a distributor's quote: its resellers' contracts are in its channel */
	struct rd_opportunity od = { .reseller_id = 1, .customer_id = 7 };
	assert_true(rd_portal_shows(&od, 7, &rival));
	struct rd_opportunity none = { .customer_id = 7 };
	struct rd_contract orphan = { .customer_id = 7 };
	assert_false(rd_portal_shows(&none, 7, &orphan));
}

static void assert_keys(json_t *j, const char *const *want)
{
	size_t n = 0;
	for (; want[n]; n++)
		if (!json_object_get(j, want[n]))
			fail_msg("missing key %s", want[n]);
	assert_int_equal(json_object_size(j), n);
}

static void test_customer_views_are_allow_lists(void **state)
{
	(void)state;
	struct rd_customer cu = { .id = 7 };
	snprintf(cu.name, sizeof cu.name, "Abbott");
	snprintf(cu.segment, sizeof cu.segment, "SECRET");
	snprintf(cu.external_id, sizeof cu.external_id, "SECRET");
	json_t *j = rd_portal_customer_json(&cu);
	static const char *const ck[] = { "id", "name", "email", "phone", "address_line1", "address_line2", "city", "region",
					  "postcode", "country", NULL };
	assert_keys(j, ck);
	char *text = json_dumps(j, 0);
	assert_null(strstr(text, "SECRET"));
	free(text);
	json_decref(j);

	struct rd_opportunity *o = calloc(1, sizeof *o);
	o->id = 4;
	snprintf(o->number, sizeof o->number, "Q-1");
	snprintf(o->lost_reason, sizeof o->lost_reason, "SECRET lost");
	snprintf(o->notes, sizeof o->notes, "[{\"text\":\"SECRET note\"}]");
	snprintf(o->attention_reason, sizeof o->attention_reason, "SECRET attention");
	o->net_total = 1234567;
	const char *lines_json =
		 "[{\"kind\":\"renewal\",\"sku\":\"A\",\"description\":\"d\",\"quantity\":1,\"unit_list\":5,\"list\":5,"
		 "\"margins\":{\"partner\":{\"shares\":[{\"party\":\"SECRET\"}]}},\"reasons\":\"SECRET\"},"
		 "{\"kind\":\"upsell\",\"sku\":\"B\",\"description\":\"e\",\"quantity\":1,\"unit_list\":1,\"list\":1,"
		 "\"optional\":true,\"selected\":true,\"shares\":null}]";
	assert_rc(rd_quote_lines_from_json(lines_json, strlen(lines_json), o->lines, RD_QUOTE_MAX_LINES, &o->n_lines), 0);
	j = rd_portal_opportunity_json(o);
	static const char *const ok[] = { "id", "number", "contract_id", "state", "contract_end", "valid_until", "currency",
					  "list_total", "discount_bp", "lines", NULL };
	assert_keys(j, ok);
	text = json_dumps(j, 0);
	assert_null(strstr(text, "SECRET"));
	assert_null(strstr(text, "1234567"));
	assert_null(strstr(text, "shares"));
	free(text);
	json_t *lines = json_object_get(j, "lines");
	assert_int_equal(json_array_size(lines), 2);
	static const char *const l0[] = { "kind", "sku", "description", "quantity", "unit_list", "list", NULL };
	static const char *const l1[] = { "kind", "sku", "description", "quantity", "unit_list", "list", "optional",
					  "selected", NULL };
	assert_keys(json_array_get(lines, 0), l0);
	assert_keys(json_array_get(lines, 1), l1);
	json_decref(j);
	/* old lines that are not JSON: no lines, no crash */
	assert_rc(rd_quote_lines_from_json("{not json", 9, o->lines, RD_QUOTE_MAX_LINES, &o->n_lines), RD_ECORRUPT);
	assert_int_equal(o->n_lines, 0);
	j = rd_portal_opportunity_json(o);
	assert_int_equal(json_array_size(json_object_get(j, "lines")), 0);
	json_decref(j);
	free(o);
}

static void name_ok(const char *name)
{
	const char *why = rd_document_name_problem(name);
	if (why)
		fail_msg("\"%s\" refused: %s", name, why);
}

static void name_bad(const char *name, const char *says)
{
	const char *why = rd_document_name_problem(name);
	if (!why)
		fail_msg("\"%s\" accepted", name);
	assert_contains(why, says);
}

static void test_document_names(void **state)
{
	(void)state;
	name_ok("Contract K-20003.pdf");
	name_ok("Vertrag M\xc3\xbcller \xe2\x82\xac.pdf");
	name_ok("\xc2\xa0\xc2\xa9 nbsp and copyright");          /* U+00A0, U+00A9: after C1 */
	name_ok("\xdf\xbf \xe0\xa0\x80 \xef\xbf\xbd");            /* U+07FF, U+0800, U+FFFD */
	name_ok("\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf");             /* U+10000, U+10FFFF */
	name_ok("\xed\x9f\xbf \xee\x80\x80");                     /* U+D7FF, U+E000: either side of the surrogates */
	name_ok("\xe2\x80\x8d zwj \xe2\x80\xa7");                  /* U+200D, U+2027 are neither controls nor marks */
	char max[128];
	memset(max, 'x', 127);
	max[127] = 0;
	name_ok(max);
	max[126] = (char)0xc3; /* a 2-byte character cut by the bound */
	name_bad(max, "UTF-8");
	char longer[129];
	memset(longer, 'x', 128);
	longer[128] = 0;
	name_bad(longer, "127 bytes");
	name_bad("", "missing");
	name_bad(NULL, "missing");
	name_bad(".", ". or ..");
	name_bad("..", ". or ..");
	static const char *const not_utf8[] = { "\xff", "\x80", "a\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf",
						"\xe0\x9f\xbf", "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80",
						"\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80",
						"\xe2\x82", "\xe2\x82 x", "\xc3", "\xf0\x9f\x98", NULL };
	for (size_t i = 0; not_utf8[i]; i++)
		name_bad(not_utf8[i], "UTF-8");
	static const char *const controls[] = { "a\x01", "a\tb", "a\nb", "a\x1f", "a\x7f", "a\xc2\x80", "a\xc2\x85",
						"a\xc2\x9f", "a\xe2\x80\xa8", "a\xe2\x80\xa9", NULL };
	for (size_t i = 0; controls[i]; i++)
		name_bad(controls[i], "control");
	static const char *const marks[] = { "a\xd8\x9c", "a\xe2\x80\x8e", "a\xe2\x80\x8f", "a\xe2\x80\xaa",
					     "invoice\xe2\x80\xae" "fdp.exe", "a\xe2\x81\xa6", "a\xe2\x81\xa9", NULL };
	for (size_t i = 0; marks[i]; i++)
		name_bad(marks[i], "direction");
	name_bad("a/b", "slashes");
	name_bad("a\\b", "slashes");
	name_bad("a\"b", "double quotes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shows_the_quotes_channel_only),
		cmocka_unit_test(test_customer_views_are_allow_lists),
		cmocka_unit_test(test_document_names),
	};
	return cmocka_run_group_tests_name("portal", tests, NULL, NULL);
}
