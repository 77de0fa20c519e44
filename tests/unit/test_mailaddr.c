/*
 * test_mailaddr.c: mail header text (core/util/mailaddr.c), read back the way
 * RFC 5322 and RFC 2047 say a reader must.
 *
 * Covers: a configured sender split into display name and address (quoted
 * names unquoted; bad addresses, control characters and text after ">"
 * refused with a reason); an address header encodes only the display name,
 * never the address; a non-ASCII name keeps its plain words as atoms and
 * encodes the runs of the others; a long run becomes several encoded words,
 * none over 75 characters and none cutting a UTF-8 character, on folded
 * lines no longer than 78; read back as a reader does, the name is whole; ASCII names with specials are one escaped
 * quoted-string; unstructured text with a line break cannot add a header.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"
#include "util/mailaddr.h"

static void parse_ok(const char *in, const char *want_name, const char *want_addr)
{
	char name[256], addr[256], why[300] = "";
	int rc = rd_mail_address_parse(in, name, sizeof name, addr, sizeof addr, why, sizeof why);
	if (rc != 0)
		fail_msg("rd_mail_address_parse(%s): %d (%s)", in, rc, why);
	if (strcmp(name, want_name) || strcmp(addr, want_addr))
		fail_msg("rd_mail_address_parse(%s): got [%s] [%s], want [%s] [%s]", in, name, addr, want_name, want_addr);
}

static void parse_bad(const char *in, const char *why_has)
{
	char name[256], addr[256], why[300] = "";
	assert_rc(rd_mail_address_parse(in, name, sizeof name, addr, sizeof addr, why, sizeof why), RD_EINVAL);
	assert_contains(why, why_has);
}

static void test_parse(void **state)
{
	(void)state;
	parse_ok("renewals@localhost", "", "renewals@localhost");
	parse_ok("  billing@acme.example ", "", "billing@acme.example");
	parse_ok("Acme Renewals <billing@acme.example>", "Acme Renewals", "billing@acme.example");
	parse_ok("\"Renewals, Acme \\\"EU\\\"\" <r@acme.example>", "Renewals, Acme \"EU\"", "r@acme.example");
	parse_ok("Société Générale Renouvellements <r@sg.example>", "Société Générale Renouvellements", "r@sg.example");
	parse_bad("not an address", "not an e-mail address");
	parse_bad("Acme <billing@acme.example> trailing", "angle brackets");
	parse_bad("Acme <bill ing@acme.example>", "not an e-mail address");
	parse_bad("Acme <rénovation@acme.example>", "not an e-mail address");
	parse_bad("Acme\r\nBcc: x@evil.example <a@acme.example>", "control characters");
	parse_bad("Acme <a@acme.example", "angle brackets");
	assert_true(rd_mail_addr_spec_ok("a.b+c@x-y.example"));
	assert_false(rd_mail_addr_spec_ok("a..b@x.example"));
	assert_false(rd_mail_addr_spec_ok("a@b@c"));
	assert_false(rd_mail_addr_spec_ok("<a@b.example>"));
	assert_false(rd_mail_addr_spec_ok("a@b.example\r\nBcc: c@d"));
}

/* The header's lines (CRLF-separated, the last CRLF ending the field). */
static void check_lines(const char *h, size_t max)
{
	size_t n = strlen(h);
	assert_true(n >= 2 && !strcmp(h + n - 2, "\r\n"));
	const char *p = h;
	while (*p) {
		const char *e = strstr(p, "\r\n");
		assert_non_null(e);
		if ((size_t)(e - p) > max)
			fail_msg("a line of %zu characters (at most %zu): %.*s", (size_t)(e - p), max, (int)(e - p), p);
		for (const char *q = p; q < e; q++)
			if ((unsigned char)*q >= 0x80 || *q == '\r' || *q == '\n')
				fail_msg("raw byte 0x%02x in the header: %s", (unsigned char)*q, h);
		p = e + 2;
		if (*p && *p != ' ')
			fail_msg("a continuation line that does not start with a space: %s", h);
	}
}

static int b64val(char c)
{
	const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(t, c);
	return p && c ? (int)(p - t) : -1;
}

/* Decodes every encoded word of the header in turn (their text joined, as a
 * reader joins adjacent encoded words); checks each is at most 75 characters
 * and holds whole UTF-8 characters. */
static void decode_words(const char *h, char *out, size_t cap)
{
	size_t o = 0;
	const char *p = h;
	while ((p = strstr(p, "=?UTF-8?B?"))) {
		const char *s = p + 10, *e = strstr(s, "?=");
		assert_non_null(e);
		if ((size_t)(e + 2 - p) > 75)
			fail_msg("an encoded word of %zu characters: %s", (size_t)(e + 2 - p), h);
		size_t start = o;
		for (const char *q = s; q + 3 < e + 1 && q < e; q += 4) {
			int v[4];
			for (int k = 0; k < 4; k++)
				v[k] = q[k] == '=' ? 0 : b64val(q[k]);
			assert_true(v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0);
			unsigned x = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
			out[o++] = (char)(x >> 16);
			if (q[2] != '=')
				out[o++] = (char)(x >> 8 & 255);
			if (q[3] != '=')
				out[o++] = (char)(x & 255);
			assert_true(o < cap);
		}
		/* whole characters: the word neither starts nor ends inside one */
		assert_true(((unsigned char)out[start] & 0xc0) != 0x80);
		unsigned char last = (unsigned char)out[o - 1];
		if (last >= 0x80) {
			size_t k = o - 1;
			while (((unsigned char)out[k] & 0xc0) == 0x80)
				k--;
			unsigned char lead = (unsigned char)out[k];
			size_t len = (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : 4;
			assert_int_equal(o - k, len);
		}
		p = e + 2;
	}
	out[o] = 0;
}

/* The display name a reader of RFC 5322 and RFC 2047 sees: the phrase's
 * words up to the "<", whitespace (with folding) between them one space,
 * except between two encoded words, where it is dropped. */
static void read_phrase(const char *h, char *out, size_t cap)
{
	const char *end = strchr(h, '<');
	assert_non_null(end);
	size_t o = 0;
	bool prev_ew = false, first = true;
	const char *p = h;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\r' || *p == '\n'))
			p++;
		if (p >= end)
			break;
		const char *e = p;
		while (e < end && *e != ' ' && *e != '\r' && *e != '\n')
			e++;
		bool ew = !strncmp(p, "=?UTF-8?B?", 10);
		if (!first && !(ew && prev_ew))
			out[o++] = ' ';
		if (ew) {
			char word[128], dec[128];
			snprintf(word, sizeof word, "%.*s", (int)(e - p), p);
			decode_words(word, dec, sizeof dec);
			memcpy(out + o, dec, strlen(dec));
			o += strlen(dec);
		} else {
			memcpy(out + o, p, (size_t)(e - p));
			o += (size_t)(e - p);
		}
		assert_true(o < cap);
		prev_ew = ew;
		first = false;
		p = e;
	}
	out[o] = 0;
}

static void test_address_header(void **state)
{
	(void)state;
	char *h = rd_mail_address_header("From", NULL, "renewals@localhost");
	assert_string_equal(h, "From: renewals@localhost\r\n");
	free(h);
	h = rd_mail_address_header("From", "Acme Renewals", "billing@acme.example");
	assert_string_equal(h, "From: Acme Renewals <billing@acme.example>\r\n");
	free(h);
	h = rd_mail_address_header("From", "Renewals, Acme \"EU\" \\ Ltd", "r@acme.example");
	assert_string_equal(h, "From: \"Renewals, Acme \\\"EU\\\" \\\\ Ltd\" <r@acme.example>\r\n");
	free(h);

	/* a non-ASCII name: encoded words; the address as it is, outside them */
	const char *name = "Société Générale — Renouvellements et abonnements 株式会社テスト 日本語の名前";
	h = rd_mail_address_header("From", name, "renewals@sg.example");
	check_lines(h, 78);
	assert_non_null(strstr(h, "<renewals@sg.example>\r\n"));
	char *lt = strstr(h, "<renewals@sg.example>");
	assert_null(strstr(lt + 1, "=?")); /* nothing encoded after the address */
	char decoded[512];
	read_phrase(h + strlen("From: "), decoded, sizeof decoded);
	assert_string_equal(decoded, name);
	assert_non_null(strstr(h, "?=\r\n =?UTF-8?B?")); /* a long run: folded into more than one word */
	assert_non_null(strstr(h, "?= Renouvellements")); /* atoms stay atoms */
	assert_non_null(strstr(h, " abonnements =?UTF-8?B?"));
	assert_null(strstr(h, "renewals@sg.example?=")); /* the address is in no word */
	free(h);
}

static void test_text_header(void **state)
{
	(void)state;
	char *h = rd_mail_text_header("Subject", "Your renewal quote Q-1");
	assert_string_equal(h, "Subject: Your renewal quote Q-1\r\n");
	free(h);
	const char *subject = "Votre devis de renouvellement — Société Générale, échéance prochaine, 50 postes ✓";
	h = rd_mail_text_header("Subject", subject);
	check_lines(h, 78);
	char decoded[512];
	decode_words(h, decoded, sizeof decoded);
	assert_string_equal(decoded, subject);
	free(h);
	/* a line break cannot start a header of its own */
	h = rd_mail_text_header("Subject", "Hello\r\nBcc: victim@evil.example");
	check_lines(h, 78);
	assert_null(strstr(h, "\r\nBcc:"));
	decode_words(h, decoded, sizeof decoded);
	assert_string_equal(decoded, "Hello\r\nBcc: victim@evil.example");
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_address_header),
		cmocka_unit_test(test_text_header),
	};
	return cmocka_run_group_tests_name("mailaddr", tests, NULL, NULL);
}
