#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/metrics.h"
#include "rd_config.h"
#include "store/store.h"
#include "util/err.h"

static const double buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NB (sizeof buckets / sizeof *buckets)

struct series {
	const char *route; /* static pattern, or "unmatched" */
	char method[8];
	int status;
	uint64_t count;
	double sum;
	uint64_t bucket[NB]; /* cumulative on render, per-bucket here */
	struct series *next;
};

struct rd_metrics {
	struct series *head;
	size_t n_series;
	int64_t connections;
	uint64_t connections_total;
	struct timespec started;
	unsigned sweep_failing, sweep_failing_vendors;
};

struct rd_metrics *rd_metrics_new(void)
{
	struct rd_metrics *m = rd_calloc(1, sizeof *m);
	clock_gettime(CLOCK_MONOTONIC, &m->started);
	return m;
}

void rd_metrics_free(struct rd_metrics **mp)
{
	struct rd_metrics *m = *mp;
	if (!m)
		return;
	while (m->head) {
		struct series *s = m->head;
		m->head = s->next;
		free(s);
	}
	free(m);
	*mp = NULL;
}

void rd_metrics_connections(struct rd_metrics *m, int delta)
{
	m->connections += delta;
	if (delta > 0)
		m->connections_total += (uint64_t)delta;
}

void rd_metrics_request(struct rd_metrics *m, const char *route, const char *method, int status, double seconds)
{
	if (!route)
		route = "unmatched";
	/* Unknown methods are folded so a client cannot grow the series set. */
	if (strlen(method) >= sizeof((struct series *)0)->method)
		method = "OTHER";
	struct series *s;
	for (s = m->head; s; s = s->next)
		if (s->status == status && strcmp(s->route, route) == 0 && strcmp(s->method, method) == 0)
			break;
	if (!s) {
		s = rd_calloc(1, sizeof *s);
		s->route = route;
		snprintf(s->method, sizeof s->method, "%s", method);
		s->status = status;
		s->next = m->head;
		m->head = s;
		m->n_series++;
	}
	s->count++;
	s->sum += seconds;
	for (size_t i = 0; i < NB; i++) {
		if (seconds <= buckets[i]) {
			s->bucket[i]++;
			break;
		}
	}
}

struct out {
	char *buf;
	size_t len, cap;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		o->cap = o->cap * 2 + (size_t)n + 64;
		o->buf = rd_realloc(o->buf, o->cap);
	}
}

void rd_metrics_sweep_failures(struct rd_metrics *m, unsigned failing, unsigned vendors)
{
	m->sweep_failing = failing;
	m->sweep_failing_vendors = vendors;
}

void rd_metrics_render(const struct rd_metrics *m, const struct rd_store_stats *st, char **outp, size_t *lenp)
{
	struct out o = { rd_malloc(4096), 0, 4096 };
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double up = (double)(now.tv_sec - m->started.tv_sec) + (double)(now.tv_nsec - m->started.tv_nsec) / 1e9;

	emit(&o, "# HELP renewd_build_info The running renewd version.\n# TYPE renewd_build_info gauge\n");
	emit(&o, "renewd_build_info{version=\"%s\"} 1\n", RD_VERSION);
	emit(&o, "# HELP renewd_uptime_seconds Seconds since the daemon started.\n# TYPE renewd_uptime_seconds gauge\n");
	emit(&o, "renewd_uptime_seconds %.3f\n", up);

	emit(&o, "# HELP renewd_sweep_failures Sweep actions that failed and wait for a retry (GET /api/v1/sweep/failures).\n"
	     "# TYPE renewd_sweep_failures gauge\nrenewd_sweep_failures %u\n", m->sweep_failing);
	emit(&o, "# HELP renewd_sweep_failing_vendors Vendors with at least one failed sweep action.\n"
	     "# TYPE renewd_sweep_failing_vendors gauge\nrenewd_sweep_failing_vendors %u\n", m->sweep_failing_vendors);

	emit(&o, "# HELP renewd_http_requests_total HTTP requests by route, method and status.\n");
	emit(&o, "# TYPE renewd_http_requests_total counter\n");
	for (const struct series *s = m->head; s; s = s->next)
		emit(&o, "renewd_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n", s->route,
		     s->method, s->status, (unsigned long long)s->count);

	emit(&o, "# HELP renewd_http_request_duration_seconds Time from request to response, by route.\n");
	emit(&o, "# TYPE renewd_http_request_duration_seconds histogram\n");
	/* One histogram per (route, method): merge statuses. */
	for (const struct series *s = m->head; s; s = s->next) {
		bool first = true;
		for (const struct series *p = m->head; p != s; p = p->next)
			if (strcmp(p->route, s->route) == 0 && strcmp(p->method, s->method) == 0)
				first = false;
		if (!first)
			continue;
		uint64_t b[NB] = { 0 }, count = 0;
		double sum = 0;
		for (const struct series *p = s; p; p = p->next) {
			if (strcmp(p->route, s->route) != 0 || strcmp(p->method, s->method) != 0)
				continue;
			for (size_t i = 0; i < NB; i++)
				b[i] += p->bucket[i];
			count += p->count;
			sum += p->sum;
		}
		uint64_t cum = 0;
		for (size_t i = 0; i < NB; i++) {
			cum += b[i];
			emit(&o, "renewd_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%g\"} %llu\n",
			     s->route, s->method, buckets[i], (unsigned long long)cum);
		}
		emit(&o, "renewd_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} %llu\n",
		     s->route, s->method, (unsigned long long)count);
		emit(&o, "renewd_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n", s->route,
		     s->method, sum);
		emit(&o, "renewd_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n", s->route,
		     s->method, (unsigned long long)count);
	}

	emit(&o, "# HELP renewd_http_connections Open client connections.\n# TYPE renewd_http_connections gauge\n");
	emit(&o, "renewd_http_connections %lld\n", (long long)m->connections);
	emit(&o, "# HELP renewd_http_connections_total Client connections accepted.\n");
	emit(&o, "# TYPE renewd_http_connections_total counter\n");
	emit(&o, "renewd_http_connections_total %llu\n", (unsigned long long)m->connections_total);

	if (st) {
		emit(&o, "# HELP renewd_store_map_bytes Size of the store's memory map.\n");
		emit(&o, "# TYPE renewd_store_map_bytes gauge\nrenewd_store_map_bytes %llu\n",
		     (unsigned long long)st->map_size);
		emit(&o, "# HELP renewd_store_used_bytes Bytes of the map in use (pages x page size).\n");
		emit(&o, "# TYPE renewd_store_used_bytes gauge\nrenewd_store_used_bytes %llu\n",
		     (unsigned long long)st->used_bytes);
		emit(&o, "# HELP renewd_store_file_bytes Size of data.mdb on disk.\n");
		emit(&o, "# TYPE renewd_store_file_bytes gauge\nrenewd_store_file_bytes %llu\n",
		     (unsigned long long)st->file_bytes);
		emit(&o, "# HELP renewd_store_map_use_ratio Used bytes over map size (the map grows by itself).\n");
		emit(&o, "# TYPE renewd_store_map_use_ratio gauge\nrenewd_store_map_use_ratio %.6f\n",
		     st->map_size ? (double)st->used_bytes / (double)st->map_size : 0.0);
		emit(&o, "# HELP renewd_store_readers Reader slots in use.\n");
		emit(&o, "# TYPE renewd_store_readers gauge\nrenewd_store_readers %u\n", st->readers_used);
	}
	*outp = o.buf;
	*lenp = o.len;
}
