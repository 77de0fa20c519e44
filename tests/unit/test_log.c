/*
 * test_log.c: rd_redact_links (core/util/log.c), the redaction every log
 * line and the outbox API go through: a customer's link token never shows.
 *
 * Covers: a link in a sentence, several links, a link at the end and with
 * a query, text without links, "/c/" with nothing or a short word after it
 * (kept), and a buffer of only a link.
 *
 * And the buffered thread (rd_log_buffer_here): its info lines wait for
 * rd_log_flush, a warning goes out at once after the lines kept before it,
 * nothing is lost or reordered past the buffer's size, and the lines of
 * other threads are written at once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

static char log_path[64];

static char *slurp(void)
{
	FILE *f = fopen(log_path, "r");
	assert_non_null(f);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void *other_thread(void *arg)
{
	(void)arg;
	rd_log(RD_LOG_INFO, "test", "from another thread");
	return NULL;
}

static void buffered_lines_wait_for_a_flush(void **state)
{
	(void)state;
	snprintf(log_path, sizeof log_path, "/tmp/renewd-test-log-%d", (int)getpid());
	unlink(log_path);
	assert_int_equal(rd_log_open(log_path), 0);
	rd_log_set_level(RD_LOG_INFO);
	rd_log(RD_LOG_INFO, "test", "before buffering");
	assert_int_equal(count(slurp(), "before buffering"), 1);

	rd_log_buffer_here();
	rd_log_req_fields(RD_LOG_INFO, "http", "r-1", "client=127.0.0.1 vendor=- user=-", "GET /c/%s 200",
			  "rd_heJFeb7Kn3t4tBt5sE_-mJp_Qz-Tx57V-uY3I6C1VMY");
	rd_log(RD_LOG_DEBUG, "test", "below the level");
	assert_null(strstr(slurp(), "r-1")); /* kept */

	/* Another thread's line is written at once (with what was kept first). */
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, other_thread, NULL), 0);
	pthread_join(th, NULL);
	char *s = slurp();
	assert_non_null(strstr(s, "from another thread"));
	assert_true(strstr(s, "req=r-1 client=127.0.0.1 vendor=- user=- msg=\"GET /c/\xe2\x80\xa6 200\"") != NULL);
	assert_true(strstr(s, "r-1") < strstr(s, "from another thread"));
	assert_null(strstr(s, "below the level"));

	rd_log(RD_LOG_INFO, "test", "kept one");
	rd_log(RD_LOG_WARN, "test", "a warning");
	s = slurp();
	assert_non_null(strstr(s, "a warning"));
	assert_true(strstr(s, "kept one") && strstr(s, "kept one") < strstr(s, "a warning"));

	rd_log(RD_LOG_INFO, "test", "until the flush");
	assert_null(strstr(slurp(), "until the flush"));
	rd_log_flush();
	assert_non_null(strstr(slurp(), "until the flush"));

	/* Past 64 KiB the buffer is written out: nothing lost, in order. */
	for (int i = 0; i < 3000; i++)
		rd_log(RD_LOG_INFO, "test", "line %05d of many", i);
	rd_log_flush();
	s = slurp();
	assert_int_equal(count(s, " of many"), 3000);
	char prev[32] = "", want[32];
	const char *p = s;
	for (int i = 0; i < 3000; i++) {
		snprintf(want, sizeof want, "line %05d of many", i);
		const char *q = strstr(p, want);
		if (!q)
			fail_msg("%s missing or out of order (after %s)", want, prev);
		snprintf(prev, sizeof prev, "%s", want);
		p = q;
	}
	/* Every line whole. */
	for (const char *line = s; *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, "ts=", 3) != 0)
			fail_msg("a line does not start with ts=: %.60s", line);
		if (!strchr(line, '\n'))
			fail_msg("a line without its newline");
	}
	unlink(log_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redacts_links),
		cmocka_unit_test(keeps_other_text),
		cmocka_unit_test(buffered_lines_wait_for_a_flush),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
