/*
 * test_log.c: rd_redact_links (core/util/log.c), the redaction every log
 * line and the outbox API go through: a customer's link token never shows.
 *
 * Covers: a link in a sentence, several links, a link at the end and with
 * a query, text without links, "/c/" with nothing or a short word after it
 * (kept), and a buffer of only a link.
 */
#include <stdio.h>

#include "util/log.h"
#include "unit.h"

#define TOKEN "rd_heJFeb7Kn3t4tBt5sE_-mJp_Qz-Tx57V-uY3I6C1VMY"

static void check(const char *in, const char *want, unsigned n)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", in);
	unsigned got = rd_redact_links(buf);
	if (strcmp(buf, want) != 0 || got != n)
		fail_msg("rd_redact_links(\"%s\"): got \"%s\" (%u), want \"%s\" (%u)", in, buf, got, want, n);
}

static void redacts_links(void **state)
{
	(void)state;
	check("Open https://r.example/c/" TOKEN " today.", "Open https://r.example/c/\xe2\x80\xa6 today.", 1);
	check("GET /c/" TOKEN " 303 0.2ms", "GET /c/\xe2\x80\xa6 303 0.2ms", 1);
	check("/c/" TOKEN "?x=1 and <a href=\"/c/" TOKEN "\">", "/c/\xe2\x80\xa6?x=1 and <a href=\"/c/\xe2\x80\xa6\">", 2);
	check("/c/" TOKEN, "/c/\xe2\x80\xa6", 1);
}

static void keeps_other_text(void **state)
{
	(void)state;
	check("no link here", "no link here", 0);
	check("GET /c/ 404", "GET /c/ 404", 0);
	check("a/c/ab b", "a/c/ab b", 0);
	check("", "", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redacts_links),
		cmocka_unit_test(keeps_other_text),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
