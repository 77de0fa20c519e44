/*
 * test_config.c: rd_config_load (core/config/config.c).
 *
 * Covers: defaults for every option; a JSON config file overridden by flags
 * (wherever --config appears); unknown flags and file keys named in the
 * error; non-numbers and out-of-range numbers; --listen parsing for IPv4,
 * bracketed IPv6 and malformed addresses; the required --data; --help.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/config.h"
#include "unit.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof *(a)))

/* Runs rd_config_load on argv (argv[0] is the program); the caller frees c. */
static int load(struct rd_config *c, int argc, char **argv, char *err, size_t errlen)
{
	bool help = true;
	err[0] = 0;
	int rc = rd_config_load(c, argc, argv, &help, err, errlen);
	assert_false(help);
	return rc;
}

/* Loads argv, which must fail with want and an error naming what. */
static void expect_error(int argc, char **argv, int want, const char *what)
{
	struct rd_config c;
	char err[512];
	assert_rc(load(&c, argc, argv, err, sizeof err), want);
	assert_contains(err, what);
	rd_config_free(&c);
}

/* Temporary config files of the running test; teardown removes them even
 * when an assertion ended the test early. */
static char temp_files[8][64];
static size_t n_temp_files;

static int remove_temp_files(void **state)
{
	for (size_t i = 0; i < n_temp_files; i++)
		unlink(temp_files[i]);
	n_temp_files = 0;
	return 0;
}

/* Writes text to a new temporary file; returns its path. */
static const char *write_file(const char *text)
{
	assert_true(n_temp_files < sizeof temp_files / sizeof *temp_files);
	char *path = temp_files[n_temp_files];
	snprintf(path, sizeof temp_files[0], "/tmp/rd-test-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	n_temp_files++;
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return path;
}

static void test_defaults(void **state)
{
	char *argv[] = { "renewd", "--data", "/tmp/somewhere" };
	struct rd_config c;
	char err[512];
	assert_rc(load(&c, ARGC(argv), argv, err, sizeof err), 0);
	assert_string_equal(c.data, "/tmp/somewhere");
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_string_equal(c.host, "127.0.0.1");
	assert_int_equal(c.port, 8080);
	assert_string_equal(c.log_level, "info");
	assert_int_equal(c.max_body_bytes, 1048576);
	assert_int_equal(c.request_timeout_ms, 10000);
	assert_int_equal(c.shutdown_timeout_ms, 10000);
	assert_int_equal(c.map_size_bytes, (uint64_t)64 << 20);
	assert_int_equal(c.map_max_bytes, (uint64_t)1 << 40);
	/* Every default in the table is the value set. */
	for (size_t i = 0; i < rd_n_options; i++) {
		const struct rd_option *o = &rd_options[i];
		if (!o->def)
			continue;
		const char *slot = (const char *)&c + o->offset;
		if (o->type == RD_OPT_UINT)
			assert_int_equal(*(const uint64_t *)slot, strtoull(o->def, NULL, 10));
		else
			assert_string_equal(*(char *const *)slot, o->def);
	}
	rd_config_free(&c);
	assert_null(c.data);
	assert_null(c.listen);
	rd_config_free(&c); /* harmless twice */
}

static void test_file_then_flags(void **state)
{
	const char *path = write_file("{\"data\": \"/from/file\", \"listen\": \"0.0.0.0:9000\", "
				      "\"max_body_bytes\": 2048, \"log_level\": \"warn\", \"request_timeout_ms\": 500}");
	char cfg[80];
	snprintf(cfg, sizeof cfg, "--config=%s", path);
	struct rd_config c;
	char err[512];

	/* The file alone. */
	char *argv1[] = { "renewd", "--config", (char *)path };
	assert_rc(load(&c, ARGC(argv1), argv1, err, sizeof err), 0);
	assert_string_equal(c.data, "/from/file");
	assert_string_equal(c.host, "0.0.0.0");
	assert_int_equal(c.port, 9000);
	assert_int_equal(c.max_body_bytes, 2048);
	assert_string_equal(c.log_level, "warn");
	assert_int_equal(c.request_timeout_ms, 500);
	assert_int_equal(c.shutdown_timeout_ms, 10000); /* not in the file: default */
	rd_config_free(&c);

	/* Flags win, both before and after --config. */
	char *argv2[] = { "renewd", "--max-body-bytes", "4096", cfg, "--listen=127.0.0.1:7000", "--data", "/from/flag" };
	assert_rc(load(&c, ARGC(argv2), argv2, err, sizeof err), 0);
	assert_string_equal(c.data, "/from/flag");
	assert_int_equal(c.max_body_bytes, 4096);
	assert_string_equal(c.listen, "127.0.0.1:7000");
	assert_int_equal(c.port, 7000);
	assert_string_equal(c.log_level, "warn"); /* from the file */
	assert_int_equal(c.request_timeout_ms, 500);
	rd_config_free(&c);
}

static void test_unknown_options(void **state)
{
	char *flag[] = { "renewd", "--data", "/d", "--bogus-flag", "1" };
	expect_error(ARGC(flag), flag, RD_EINVAL, "bogus-flag");
	char *flag_eq[] = { "renewd", "--data=/d", "--colour=red" };
	expect_error(ARGC(flag_eq), flag_eq, RD_EINVAL, "colour");
	char *bare[] = { "renewd", "--data", "/d", "stray" };
	expect_error(ARGC(bare), bare, RD_EINVAL, "stray");

	const char *path = write_file("{\"data\": \"/d\", \"frobnicate\": true}");
	char *file[] = { "renewd", "--config", (char *)path };
	expect_error(ARGC(file), file, RD_EINVAL, "frobnicate");
}

static void test_bad_numbers(void **state)
{
	char *word[] = { "renewd", "--data", "/d", "--max-body-bytes", "lots" };
	expect_error(ARGC(word), word, RD_EINVAL, "max_body_bytes");
	char *suffix[] = { "renewd", "--data", "/d", "--max-body-bytes=12k" };
	expect_error(ARGC(suffix), suffix, RD_EINVAL, "max_body_bytes");
	char *negative[] = { "renewd", "--data", "/d", "--max-body-bytes=-5" };
	expect_error(ARGC(negative), negative, RD_EINVAL, "max_body_bytes");
	char *empty[] = { "renewd", "--data", "/d", "--max-body-bytes=" };
	expect_error(ARGC(empty), empty, RD_EINVAL, "max_body_bytes");
	char *huge[] = { "renewd", "--data", "/d", "--max-body-bytes=99999999999999999999999" };
	expect_error(ARGC(huge), huge, RD_EINVAL, "max_body_bytes");

	const char *path = write_file("{\"data\": \"/d\", \"max_body_bytes\": \"big\"}");
	char *file[] = { "renewd", "--config", (char *)path };
	expect_error(ARGC(file), file, RD_EINVAL, "max_body_bytes");
	path = write_file("{\"data\": \"/d\", \"max_body_bytes\": 1.5}");
	char *file_real[] = { "renewd", "--config", (char *)path };
	expect_error(ARGC(file_real), file_real, RD_EINVAL, "max_body_bytes");
	path = write_file("{\"data\": \"/d\", \"max_body_bytes\": -1}");
	char *file_neg[] = { "renewd", "--config", (char *)path };
	expect_error(ARGC(file_neg), file_neg, RD_EINVAL, "max_body_bytes");
}

static void test_out_of_range(void **state)
{
	char *zero[] = { "renewd", "--data", "/d", "--max-body-bytes", "0" };
	expect_error(ARGC(zero), zero, RD_ERANGE, "max_body_bytes");
	char *big[] = { "renewd", "--data", "/d", "--max-body-bytes", "1073741825" }; /* 1 GiB + 1 */
	expect_error(ARGC(big), big, RD_ERANGE, "max_body_bytes");
	char *fast[] = { "renewd", "--data", "/d", "--request-timeout-ms", "99" };
	expect_error(ARGC(fast), fast, RD_ERANGE, "request_timeout_ms");
	char *small_map[] = { "renewd", "--data", "/d", "--map-size-bytes", "1000" };
	expect_error(ARGC(small_map), small_map, RD_ERANGE, "map_size_bytes");

	/* The limits themselves are accepted. */
	char *edges[] = { "renewd", "--data", "/d", "--max-body-bytes", "1073741824", "--request-timeout-ms", "100",
			  "--shutdown-timeout-ms", "0" };
	struct rd_config c;
	char err[512];
	assert_rc(load(&c, ARGC(edges), edges, err, sizeof err), 0);
	assert_int_equal(c.max_body_bytes, (uint64_t)1 << 30);
	assert_int_equal(c.request_timeout_ms, 100);
	assert_int_equal(c.shutdown_timeout_ms, 0);
	rd_config_free(&c);

	const char *path = write_file("{\"data\": \"/d\", \"max_body_bytes\": 1099511627776}");
	char *file[] = { "renewd", "--config", (char *)path };
	expect_error(ARGC(file), file, RD_ERANGE, "max_body_bytes");

	/* Each in range, but the maximum below the initial size. */
	char *inverted[] = { "renewd", "--data", "/d", "--map-size-bytes", "4194304", "--map-max-bytes", "2097152" };
	expect_error(ARGC(inverted), inverted, RD_EINVAL, "map_max_bytes");
}

/* Loads --listen addr and checks host and port. */
static void expect_listen(const char *addr, const char *host, int port)
{
	char flag[128];
	snprintf(flag, sizeof flag, "--listen=%s", addr);
	char *argv[] = { "renewd", "--data", "/d", flag };
	struct rd_config c;
	char err[512];
	assert_rc(load(&c, ARGC(argv), argv, err, sizeof err), 0);
	assert_string_equal(c.host, host);
	assert_int_equal(c.port, port);
	rd_config_free(&c);
}

static void test_listen(void **state)
{
	expect_listen("127.0.0.1:0", "127.0.0.1", 0);
	expect_listen("[::1]:8080", "::1", 8080);
	expect_listen("localhost:65535", "localhost", 65535);
	expect_listen("0.0.0.0:1", "0.0.0.0", 1);

	static const char *const bad[] = { "nohost", ":8080", "host:", "host:80x", "host:65536", "host:-1", "[::1]" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char flag[128];
		snprintf(flag, sizeof flag, "--listen=%s", bad[i]);
		char *argv[] = { "renewd", "--data", "/d", flag };
		expect_error(ARGC(argv), argv, RD_EINVAL, "listen");
	}
	/* A host too long for the host buffer is refused, not cut. */
	char flag[200];
	snprintf(flag, sizeof flag, "--listen=%0100d:80", 0);
	char *argv[] = { "renewd", "--data", "/d", flag };
	expect_error(ARGC(argv), argv, RD_EINVAL, "listen");
}

static void test_data_required(void **state)
{
	char *none[] = { "renewd" };
	expect_error(ARGC(none), none, RD_EINVAL, "--data");
	char *other[] = { "renewd", "--listen", "127.0.0.1:1" };
	expect_error(ARGC(other), other, RD_EINVAL, "data");
	char *empty[] = { "renewd", "--data=" };
	expect_error(ARGC(empty), empty, RD_EINVAL, "data");
	char *no_value[] = { "renewd", "--data" };
	expect_error(ARGC(no_value), no_value, RD_EINVAL, "data");
	char *next_flag[] = { "renewd", "--data", "--listen", "127.0.0.1:1" };
	expect_error(ARGC(next_flag), next_flag, RD_EINVAL, "data");
}

static void test_bad_file(void **state)
{
	char *missing[] = { "renewd", "--config", "/nonexistent/renewd.json" };
	expect_error(ARGC(missing), missing, RD_EINVAL, "/nonexistent/renewd.json");
	char *no_name[] = { "renewd", "--data", "/d", "--config" };
	expect_error(ARGC(no_name), no_name, RD_EINVAL, "--config");

	const char *path = write_file("{\"data\": \"/d\",");
	char *broken[] = { "renewd", "--config", (char *)path };
	expect_error(ARGC(broken), broken, RD_EINVAL, path);
	path = write_file("[1, 2]");
	char *array[] = { "renewd", "--config", (char *)path };
	expect_error(ARGC(array), array, RD_EINVAL, "object");
	path = write_file("{\"data\": 5}");
	char *typed[] = { "renewd", "--config", (char *)path };
	expect_error(ARGC(typed), typed, RD_EINVAL, "data");
}

static void test_log_level_and_help(void **state)
{
	char *level[] = { "renewd", "--data", "/d", "--log-level", "chatty" };
	expect_error(ARGC(level), level, RD_EINVAL, "log_level");

	char *argv[] = { "renewd", "--bogus", "--help" };
	struct rd_config c;
	char err[512];
	bool help = false;
	/* --help wins over everything after the file, even a missing --data. */
	char *help_only[] = { "renewd", "--help" };
	assert_rc(rd_config_load(&c, ARGC(help_only), help_only, &help, err, sizeof err), 0);
	assert_true(help);
	rd_config_free(&c);
	/* An unknown flag before --help is still an error. */
	help = false;
	assert_rc(rd_config_load(&c, ARGC(argv), argv, &help, err, sizeof err), RD_EINVAL);
	assert_contains(err, "bogus");
	rd_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, remove_temp_files),
		cmocka_unit_test_teardown(test_file_then_flags, remove_temp_files),
		cmocka_unit_test_teardown(test_unknown_options, remove_temp_files),
		cmocka_unit_test_teardown(test_bad_numbers, remove_temp_files),
		cmocka_unit_test_teardown(test_out_of_range, remove_temp_files),
		cmocka_unit_test_teardown(test_listen, remove_temp_files),
		cmocka_unit_test_teardown(test_data_required, remove_temp_files),
		cmocka_unit_test_teardown(test_bad_file, remove_temp_files),
		cmocka_unit_test_teardown(test_log_level_and_help, remove_temp_files),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
