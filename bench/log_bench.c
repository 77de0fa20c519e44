/*
 * log_bench: the cost of one access-log line as the server writes it
 * (rd_log_req_fields at info, to a log file), kept by the loop's buffer and
 * written once per "iteration" of 64 lines (rd_log_buffer_here, rd_log_flush)
 * beside one write per line (what every request paid before).
 *
 *   build/bench/log_bench [lines] [file]
 *
 * Prints: log_bench: lines=N buffered_ns=... unbuffered_ns=...
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long lines;

static void burst(void)
{
	for (long i = 0; i < lines; i++) {
		rd_log_req_fields(RD_LOG_INFO, "http", "5f2c9a1e0b7d4c3a", "client=127.0.0.1 vendor=1 user=3",
				  "%s %s %d %.3fms", "GET", "/api/v1/contracts/123456", 200, 0.042);
		if (i % 64 == 63)
			rd_log_flush();
	}
	rd_log_flush();
}

static double unbuffered_ns;

static void *unbuffered(void *arg)
{
	(void)arg; /* a thread that never asked for the buffer: one write per line */
	double t0 = now();
	burst();
	unbuffered_ns = (now() - t0) * 1e9 / (double)lines;
	return NULL;
}

int main(int argc, char **argv)
{
	lines = argc > 1 ? atol(argv[1]) : 200000;
	char path[] = "/tmp/renewd-log-bench-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	const char *file = argc > 2 ? argv[2] : path;
	if (rd_log_open(file) < 0) {
		fprintf(stderr, "log_bench: cannot open %s\n", file);
		return 1;
	}
	double best_b = 1e18, best_u = 1e18;
	for (int rep = 0; rep < 3; rep++) {
		pthread_t th;
		pthread_create(&th, NULL, unbuffered, NULL);
		pthread_join(th, NULL);
		best_u = unbuffered_ns < best_u ? unbuffered_ns : best_u;
		rd_log_buffer_here();
		double t0 = now();
		burst();
		double b = (now() - t0) * 1e9 / (double)lines;
		best_b = b < best_b ? b : best_b;
		if (truncate(file, 0) != 0)
			perror("log_bench: truncate");
	}
	printf("log_bench: lines=%ld buffered_ns=%.1f unbuffered_ns=%.1f\n", lines, best_b, best_u);
	unlink(path);
	return 0;
}
