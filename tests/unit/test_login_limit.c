/*
 * test_login_limit.c: the failed-login limiter (core/auth/auth.c).
 *
 * Covers: five failures in the window refuse a key, with a Retry-After
 * inside the window, and the window's end lets it in again; a success
 * clears the key and a forgiven attempt gives one back; a key's failures
 * are never forgotten because other keys failed (a flood of 20,000 other
 * keys failing once each, as an attacker with many addresses would send to
 * push a victim's failures out of a fixed table, leaves the victim
 * refused); under such a flood, keys may share a budget (refused sooner),
 * never get a fresh one; and without a flood, keys that fail do not touch
 * a key that has not.
 *
 * The table is the process's own: each test keeps to its own hour of the
 * (given) clock, so what an earlier test left has expired.
 */
#include <stdio.h>

#include "auth/auth.h"
#include "unit.h"

#define WINDOW 900

static void fail_n(const char *key, uint64_t now, int n)
{
	for (int i = 0; i < n; i++)
		rd_login_failed(key, now);
}

static void five_failures_refuse_until_the_window_ends(void **state)
{
	(void)state;
	uint64_t t = 1000000;
	unsigned retry = 0;
	fail_n("v1:alice@example.com", t, 4);
	assert_true(rd_login_allowed("v1:alice@example.com", t + 1, &retry));
	rd_login_failed("v1:alice@example.com", t + 10);
	assert_false(rd_login_allowed("v1:alice@example.com", t + 20, &retry));
	assert_true(retry > 0 && retry <= WINDOW);
	assert_int_equal(retry, WINDOW - 20);
	assert_true(rd_login_allowed("v1:alice@example.com", t + WINDOW, &retry));
	/* another key never had a failure */
	assert_true(rd_login_allowed("v1:bob@example.com", t + 20, &retry));
}

static void a_success_clears_and_a_forgiven_attempt_gives_one_back(void **state)
{
	(void)state;
	uint64_t t = 2000000;
	unsigned retry = 0;
	fail_n("v1:carol@example.com", t, 5);
	assert_false(rd_login_allowed("v1:carol@example.com", t, &retry));
	rd_login_forgive("v1:carol@example.com");
	assert_true(rd_login_allowed("v1:carol@example.com", t, &retry));
	fail_n("v1:carol@example.com", t, 1);
	assert_false(rd_login_allowed("v1:carol@example.com", t, &retry));
	rd_login_succeeded("v1:carol@example.com");
	assert_true(rd_login_allowed("v1:carol@example.com", t, &retry));
}

/* The attack: five guesses at a victim, then thousands of failed logins
 * for other addresses (from as many client addresses), then five more. */
static void other_keys_failing_never_erase_a_keys_failures(void **state)
{
	(void)state;
	uint64_t t = 3000000;
	unsigned retry = 0;
	char key[64];
	fail_n("v1:victim@example.com", t, 5);
	assert_false(rd_login_allowed("v1:victim@example.com", t, &retry));
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof key, "v1:junk%d@example.com", i);
		rd_login_failed(key, t + 1);
		snprintf(key, sizeof key, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		rd_login_failed(key, t + 1);
		if (i % 1000 == 0 && rd_login_allowed("v1:victim@example.com", t + 1, &retry))
			fail_msg("the victim's failures were forgotten after %d other keys failed", i + 1);
	}
	assert_false(rd_login_allowed("v1:victim@example.com", t + 2, &retry));
	assert_true(retry > 0 && retry <= WINDOW);
	/* and a key that only ever failed during the flood keeps its failures too */
	fail_n("v1:victim2@example.com", t + 3, 5);
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof key, "v1:more%d@example.com", i);
		rd_login_failed(key, t + 4);
	}
	assert_false(rd_login_allowed("v1:victim2@example.com", t + 5, &retry));
	/* once the window is over, everyone may try again */
	assert_true(rd_login_allowed("v1:victim@example.com", t + 4 + WINDOW, &retry));
	assert_true(rd_login_allowed("v1:victim2@example.com", t + 4 + WINDOW, &retry));
}

/* Ordinary traffic: a few hundred keys with a failure or two do not cost a
 * key that never failed anything, nor one that failed once, its budget. */
static void without_a_flood_keys_do_not_share(void **state)
{
	(void)state;
	uint64_t t = 4000000;
	unsigned retry = 0;
	char key[64];
	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof key, "v1:user%d@example.com", i);
		fail_n(key, t, 1 + i % 5);
	}
	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof key, "v1:user%d@example.com", i);
		assert_true(rd_login_allowed(key, t + 1, &retry) == (1 + i % 5 < 5));
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof key, "v1:fresh%d@example.com", i);
		if (!rd_login_allowed(key, t + 1, &retry))
			fail_msg("%s never failed and is refused", key);
		fail_n(key, t + 1, 4);
		if (!rd_login_allowed(key, t + 1, &retry))
			fail_msg("%s failed 4 times and is refused", key);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(five_failures_refuse_until_the_window_ends),
		cmocka_unit_test(a_success_clears_and_a_forgiven_attempt_gives_one_back),
		cmocka_unit_test(other_keys_failing_never_erase_a_keys_failures),
		cmocka_unit_test(without_a_flood_keys_do_not_share),
	};
	return cmocka_run_group_tests_name("login_limit", tests, NULL, NULL);
}
