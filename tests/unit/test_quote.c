/*
 * test_quote.c: the quote PDF's renderer (core/pdf/quote.c) on odd input.
 *
 * Covers: UTF-8 to Windows-1252 (Latin-1, the 0x80..0x9F characters,
 * replacement of the rest and of malformed UTF-8, control characters);
 * the attachment's file name; rendering never fails on a 2000-character
 * line description (with and without spaces), a 127-byte customer name
 * with no space, a long contact block with newlines, bad colours, lines
 * that are not what the engine writes, malformed lines JSON, a logo that
 * is a valid PNG, garbage, a truncated PNG or a remote URL; enough lines
 * to run over several pages.  The HTTP and e-mail paths, and what the PDF
 * says as text, are tests/integration/test_quote_pdf.py.
 */
#include <png.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "pdf/quote.h"
#include "unit.h"

static void winansi_is(const char *in, bool keep, const char *want)
{
	char out[256];
	size_t n = rd_quote_winansi(in, out, sizeof out, keep);
	assert_int_equal(n, strlen(want));
	if (strcmp(out, want) != 0)
		fail_msg("winansi(\"%s\"): got \"%s\", want \"%s\"", in, out, want);
}

static void test_winansi(void **state)
{
	winansi_is("Fenwick & Hale", false, "Fenwick & Hale");
	winansi_is("M\xc3\xbcller", false, "M\xfcller");
	winansi_is("\xe2\x82\xac 5 \xe2\x80\x9cok\xe2\x80\x9d \xe2\x80\x93 \xe2\x80\x94 \xe2\x80\xa6 \xc5\x92", false,
		   "\x80 5 \x93ok\x94 \x96 \x97 \x85 \x8c");
	winansi_is("\xe6\x9d\xb1\xe4\xba\xac 1", false, "?? 1");               /* no such characters: '?' */
	winansi_is("\xf0\x9f\x98\x80!", false, "?!");                           /* an emoji: one '?' */
	winansi_is("a\xff" "b\xc3(c", false, "a?b?(c");                           /* stray bytes */
	winansi_is("\xc0\xaf", false, "??");                                    /* overlong */
	winansi_is("\xed\xa0\x80x", false, "?x");                               /* a surrogate */
	winansi_is("x\xe2\x82", false, "x?");                                   /* truncated at the end */
	winansi_is("\xc2\x85", false, "?");                                     /* a C1 control */
	winansi_is("a\tb\r\nc\x01", false, "a b  c ");
	winansi_is("a\r\nb", true, "a \nb");
	winansi_is("", false, "");
	winansi_is(NULL, false, "");
	char small[4];
	assert_int_equal(rd_quote_winansi("M\xc3\xbcller", small, sizeof small, false), 3);
	assert_string_equal(small, "M\xfcl");
}

static void test_filename(void **state)
{
	char out[80];
	rd_quote_filename("Q-2026-000123", out, sizeof out);
	assert_string_equal(out, "Q-2026-000123.pdf");
	rd_quote_filename("../x\"y;\r\nz", out, sizeof out);
	assert_string_equal(out, "xyz.pdf");
	rd_quote_filename("", out, sizeof out);
	assert_string_equal(out, "quote.pdf");
	rd_quote_filename(NULL, out, sizeof out);
	assert_string_equal(out, "quote.pdf");
}

/* A small PNG as a data: URL (RGBA, so the composition over the band runs). */
static void png_url(char *out, size_t cap, bool truncate)
{
	png_image img;
	memset(&img, 0, sizeof img);
	img.version = PNG_IMAGE_VERSION;
	img.width = 6;
	img.height = 3;
	img.format = PNG_FORMAT_RGBA;
	unsigned char px[6 * 3 * 4];
	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (unsigned char)(i * 37);
	unsigned char mem[512];
	png_alloc_size_t len = sizeof mem;
	assert_true(png_image_write_to_memory(&img, mem, &len, 0, px, 0, NULL));
	if (truncate)
		len /= 2;
	int n = snprintf(out, cap, "data:image/png;base64,");
	sodium_bin2base64(out + n, cap - (size_t)n, mem, len, sodium_base64_VARIANT_ORIGINAL);
	assert_true(strlen(out) < sizeof ((struct rd_partner *)0)->logo_url);
}

/* The lines as the engine's JSON of old (domain/quote.h reads that form). */
static void set_lines(struct rd_opportunity *o, const char *json)
{
	if (rd_quote_lines_from_json(json, strlen(json), o->lines, RD_QUOTE_MAX_LINES, &o->n_lines) < 0)
		o->n_lines = 0;
}

static struct rd_quote_doc *doc(void)
{
	struct rd_quote_doc *q = calloc(1, sizeof *q);
	snprintf(q->v.name, sizeof q->v.name, "Sentinel Web Security");
	q->v.id = 1;
	snprintf(q->o.number, sizeof q->o.number, "Q-2026-000042");
	snprintf(q->o.currency, sizeof q->o.currency, "GBP");
	q->o.state = RD_OPP_PUBLISHED_VENDOR;
	q->o.contract_end = rd_date_from_ymd(2027, 2, 28);
	q->o.valid_until = q->o.contract_end;
	q->o.created_at = 1790000000;
	set_lines(&q->o,
		 "[{\"kind\":\"renewal\",\"sku\":\"EML-SEC\",\"description\":\"E-mail Security\",\"quantity\":100,"
		 "\"unit_list\":2900,\"list\":290000},"
		 "{\"kind\":\"crosssell\",\"sku\":\"DLP-EP\",\"description\":\"Endpoint Data Loss Prevention\","
		 "\"quantity\":100,\"unit_list\":2400,\"list\":240000,\"optional\":true,\"selected\":true}]");
	snprintf(q->c.name, sizeof q->c.name, "<script>alert(1)</script> M\xc3\xbcller & Co");
	snprintf(q->c.address_line1, sizeof q->c.address_line1, "10 High Street");
	snprintf(q->c.city, sizeof q->c.city, "London");
	snprintf(q->c.country, sizeof q->c.country, "GB");
	q->have_res = true;
	snprintf(q->res.name, sizeof q->res.name, "Fenwick & Hale \xe2\x80\x93 \xe2\x80\x9cNetworks\xe2\x80\x9d");
	snprintf(q->res.colour_primary, sizeof q->res.colour_primary, "#14532d");
	snprintf(q->res.colour_accent, sizeof q->res.colour_accent, "#84cc16");
	snprintf(q->res.contact_block, sizeof q->res.contact_block, "Fenwick & Hale, 3 Quay Street, Bristol");
	q->term = RD_TERM_ANNUAL;
	snprintf(q->payment, sizeof q->payment, "Payment: by purchase order.");
	return q;
}

static void renders(const struct rd_quote_doc *q, int min_pages)
{
	void *pdf = NULL;
	size_t len = 0;
	char err[200] = "";
	int rc = rd_quote_render(q, &pdf, &len, err, sizeof err);
	if (rc != 0)
		fail_msg("rd_quote_render: %d (%s): %s", rc, rd_strerror(rc), err);
	assert_non_null(pdf);
	assert_true(len > 500);
	assert_memory_equal(pdf, "%PDF-", 5);
	/* the page tree's count, uncompressed: "/Count N" */
	const char *s = pdf, *end = s + len;
	int pages = 0;
	for (const char *p = s; p + 7 < end; p++)
		if (!memcmp(p, "/Count ", 7)) { /* the PDF is not NUL-terminated: no atoi */
			pages = 0;
			for (const char *d = p + 7; d < end && *d >= '0' && *d <= '9' && pages < 100000; d++)
				pages = pages * 10 + (*d - '0');
		}
	if (pages < min_pages)
		fail_msg("%d page(s), want at least %d", pages, min_pages);
	const char *dump = getenv("RD_QUOTE_DUMP"); /* a directory: keep each PDF there, to look at */
	if (dump) {
		static int seq;
		char path[4200];
		snprintf(path, sizeof path, "%s/quote-%03d.pdf", dump, ++seq);
		FILE *f = fopen(path, "wb");
		if (f) {
			fwrite(pdf, 1, len, f);
			fclose(f);
		}
	}
	free(pdf);
}

static void test_renders_ordinary_and_hostile_text(void **state)
{
	struct rd_quote_doc *q = doc();
	renders(q, 1);
	q->o.discount_bp = 1250;
	renders(q, 1);
	q->o.state = RD_OPP_PUBLISHED_PARTNER;
	q->term = RD_TERM_FLEX;
	renders(q, 1);
	q->term = 0;
	q->o.valid_until = 0;
	q->o.created_at = 0;
	q->o.number[0] = 0;
	q->o.currency[0] = 0;
	renders(q, 1);
	/* 127 bytes without a space: cut with an ellipsis after three lines */
	memset(q->c.name, 'W', sizeof q->c.name - 1);
	q->c.name[sizeof q->c.name - 1] = 0;
	memset(q->res.name, 'M', sizeof q->res.name - 1);
	q->res.name[sizeof q->res.name - 1] = 0;
	memset(q->c.address_line1, 'x', sizeof q->c.address_line1 - 1);
	/* a long contact block: words, newlines, a very long word, malformed UTF-8 */
	char *cb = q->res.contact_block;
	size_t n = 0;
	while (n + 12 < sizeof q->res.contact_block) {
		static const char *const parts[] = { "Fenwick & Hale ", "\n", "\xff\xfe", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "\t" };
		const char *p = parts[n % 5];
		memcpy(cb + n, p, strlen(p));
		n += strlen(p);
	}
	cb[n] = 0;
	renders(q, 1);
	free(q);
}

static void test_renders_a_2000_character_description(void **state)
{
	struct rd_quote_doc *q = doc();
	char *words = malloc(2001), *solid = malloc(2001);
	for (int i = 0; i < 2000; i++) {
		words[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 26);
		solid[i] = 'W';
	}
	words[2000] = solid[2000] = 0;
	json_t *lines = json_pack("[{s:s, s:s, s:i, s:i, s:i}, {s:s, s:s, s:i, s:i, s:i, s:b, s:b}]", "kind", "renewal",
				  "description", words, "quantity", 5, "unit_list", 100, "list", 500, "kind", "upsell",
				  "description", solid, "quantity", 5, "unit_list", 200, "list", 1000, "optional", 1,
				  "selected", 1);
	char *text = json_dumps(lines, JSON_COMPACT);
	set_lines(&q->o, text);
	assert_int_equal(q->o.n_lines, 2);
	renders(q, 1);
	free(text);
	json_decref(lines);
	free(words);
	free(solid);
	free(q);
}

static void test_renders_whatever_the_lines_hold(void **state)
{
	struct rd_quote_doc *q = doc();
	static const char *const odd[] = {
		"", "[not json", "{}", "null", "[1, \"x\", null, [], {}]",
		"[{\"description\": 5, \"quantity\": \"many\", \"list\": \"lots\", \"unit_list\": null, \"kind\": 7}]",
		"[{\"description\": \"\", \"sku\": \"\", \"quantity\": -3, \"list\": -9223372036854775807, "
		"\"unit_list\": 9223372036854775807}]",
		"[{\"description\": \"optional, not chosen\", \"optional\": true, \"list\": 100}]",
		"[{\"description\": \"a\\u0000b\", \"list\": 1}]",
		"[{\"list\": 9223372036854775807}, {\"list\": -9223372036854775807}]",
	};
	static const uint32_t discounts[] = { 0, 1, 1000, 10000, 4000000000u };
	for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
		for (size_t k = 0; k < sizeof discounts / sizeof *discounts; k++) {
			set_lines(&q->o, odd[i]);
			q->o.discount_bp = discounts[k];
			renders(q, 1);
		}
	q->o.discount_bp = 0;
	/* lines that add up beyond an amount: refused, never printed wrapped */
	static const char *const huge[] = {
		"[{\"list\": 9223372036854775807}, {\"list\": 9223372036854775807}, {\"list\": -9223372036854775807}]",
		"[{\"list\": -9223372036854775807}, {\"list\": -9223372036854775807}]",
	};
	for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
		void *pdf = NULL;
		size_t len = 0;
		char err[200] = "";
		set_lines(&q->o, huge[i]);
		assert_rc(rd_quote_render(q, &pdf, &len, err, sizeof err), RD_ERANGE);
		assert_null(pdf);
		assert_contains(err, "largest amount");
	}
	/* every line the engine can make, each description as long as a product
	 * name: more than one page */
	q->o.n_lines = RD_QUOTE_MAX_LINES;
	for (int i = 0; i < RD_QUOTE_MAX_LINES; i++) {
		struct rd_quote_line *l = &q->o.lines[i];
		memset(l, 0, sizeof *l);
		l->kind = i ? RD_LINE_CROSSSELL : RD_LINE_RENEWAL;
		l->optional = l->selected = i > 0;
		for (size_t k = 0; k < sizeof l->description - 1; k++)
			l->description[k] = k % 9 == 8 ? ' ' : (char)('a' + (i + (int)k) % 26);
		l->quantity = 3;
		l->unit_list = 100;
		l->list = 300;
	}
	renders(q, 2);
	free(q);
}

static void test_colours_and_logos(void **state)
{
	struct rd_quote_doc *q = doc();
	static const char *const colours[] = { "", "#", "#zzzzzz", "#fff", "#FFFFFF", "red", "#1234567", "#00000" };
	for (size_t i = 0; i < sizeof colours / sizeof *colours; i++) {
		snprintf(q->res.colour_primary, sizeof q->res.colour_primary, "%s", colours[i]);
		snprintf(q->res.colour_accent, sizeof q->res.colour_accent, "%s", colours[i]);
		renders(q, 1);
	}
	char url[256];
	png_url(url, sizeof url, false);
	snprintf(q->res.logo_url, sizeof q->res.logo_url, "%s", url);
	renders(q, 1);
	png_url(url, sizeof url, true);
	snprintf(q->res.logo_url, sizeof q->res.logo_url, "%s", url);
	renders(q, 1);
	static const char *const logos[] = {
		"https://bluefin.example/logo.png", "data:image/png;base64,", "data:image/png;base64,!!!!",
		"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB", "data:image/svg+xml;base64,PHN2Zy8+",
		"data:image/png;base64,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	for (size_t i = 0; i < sizeof logos / sizeof *logos; i++) {
		snprintf(q->res.logo_url, sizeof q->res.logo_url, "%s", logos[i]);
		renders(q, 1);
	}
	/* no reseller: the vendor's name and the default colours */
	q->have_res = false;
	renders(q, 1);
	free(q);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_winansi),
		cmocka_unit_test(test_filename),
		cmocka_unit_test(test_renders_ordinary_and_hostile_text),
		cmocka_unit_test(test_renders_a_2000_character_description),
		cmocka_unit_test(test_renders_whatever_the_lines_hold),
		cmocka_unit_test(test_colours_and_logos),
	};
	return cmocka_run_group_tests_name("quote", tests, NULL, NULL);
}
