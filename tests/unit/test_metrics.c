/*
 * test_metrics.c: the Prometheus text writer (core/metrics): label values
 * and HELP text escaped the way the exposition format wants, values spelled
 * as it wants (integers, NaN, the infinities), histograms cumulative with
 * +Inf equal to the count, and the process_* series present.
 *
 * Covers: a label value with a double quote, a backslash and a newline (one
 * line per sample whatever the value), HELP text with a backslash and a
 * newline, no braces without labels, a value's spelling, a histogram with an
 * observation above every bound, and process_* read from /proc.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics/metrics.h"
#include "unit.h"

static void label_values_escaped(void **state)
{
	(void)state;
	struct rd_mtext o = { 0 };
	const char *labels[] = { "vendor", "a\"b\\c\nd", "plugin", "p", NULL };
	rd_mtext_family(&o, "x_total", "counter", "help with \\ and\nnewline");
	rd_mtext_sample(&o, "x_total", labels, 3);
	rd_mtext_sample(&o, "y", NULL, 0.5);
	const char *want = "# HELP x_total help with \\\\ and\\nnewline\n# TYPE x_total counter\n"
			   "x_total{vendor=\"a\\\"b\\\\c\\nd\",plugin=\"p\"} 3\n"
			   "y 0.5\n";
	assert_non_null(o.buf);
	assert_string_equal(o.buf, want);
	free(o.buf);
}

static void values_spelled(void **state)
{
	(void)state;
	char b[48];
	rd_mtext_value(b, sizeof b, 12);
	assert_string_equal(b, "12");
	rd_mtext_value(b, sizeof b, 1796626060.47);
	assert_string_equal(b, "1796626060.47");
	rd_mtext_value(b, sizeof b, NAN);
	assert_string_equal(b, "NaN");
	rd_mtext_value(b, sizeof b, INFINITY);
	assert_string_equal(b, "+Inf");
	rd_mtext_value(b, sizeof b, -INFINITY);
	assert_string_equal(b, "-Inf");
}

static void histogram_cumulative(void **state)
{
	(void)state;
	static const double bounds[] = { 0.1, 1 };
	struct rd_hist h = { 0 };
	rd_hist_observe(&h, bounds, 2, 0.05);
	rd_hist_observe(&h, bounds, 2, 0.1); /* on the bound: le="0.1" */
	rd_hist_observe(&h, bounds, 2, 0.5);
	rd_hist_observe(&h, bounds, 2, 7);   /* above every bound: +Inf only */
	struct rd_mtext o = { 0 };
	const char *labels[] = { "plugin", "p", NULL };
	rd_mtext_hist(&o, "d_seconds", labels, bounds, 2, &h);
	const char *want = "d_seconds_bucket{plugin=\"p\",le=\"0.1\"} 2\n"
			   "d_seconds_bucket{plugin=\"p\",le=\"1\"} 3\n"
			   "d_seconds_bucket{plugin=\"p\",le=\"+Inf\"} 4\n"
			   "d_seconds_sum{plugin=\"p\"} 7.65\n"
			   "d_seconds_count{plugin=\"p\"} 4\n";
	assert_string_equal(o.buf, want);
	free(o.buf);
}

static void process_series(void **state)
{
	(void)state;
	struct rd_mtext o = { 0 };
	rd_metrics_process(&o);
	assert_non_null(o.buf);
	static const char *const names[] = { "\nprocess_cpu_seconds_total ", "\nprocess_resident_memory_bytes ",
					     "\nprocess_virtual_memory_bytes ", "\nprocess_open_fds ",
					     "\nprocess_max_fds ", "\nprocess_start_time_seconds " };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strstr(o.buf, names[i]))
			fail_msg("%s missing from:\n%s", names[i] + 1, o.buf);
	double start = atof(strstr(o.buf, "\nprocess_start_time_seconds ") + 28);
	assert_true(start > 1.6e9 && start < 4e9);
	free(o.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(label_values_escaped),
		cmocka_unit_test(values_spelled),
		cmocka_unit_test(histogram_cumulative),
		cmocka_unit_test(process_series),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
