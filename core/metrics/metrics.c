#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

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
	uint64_t over;       /* above the last bound */
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
	size_t i = 0;
	while (i < NB && seconds > buckets[i])
		i++;
	if (i < NB)
		s->bucket[i]++;
	else
		s->over++;
}

static void emit(struct rd_mtext *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct rd_mtext *o, const char *fmt, ...)
{
	if (!o->buf) {
		o->cap = 4096;
		o->buf = rd_malloc(o->cap);
		o->len = 0;
	}
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

static void put_char(struct rd_mtext *o, char c)
{
	emit(o, "%c", c);
}

/* HELP text escapes backslash and newline; label values also the double
 * quote (the exposition format, "Text format details"). */
static void escaped(struct rd_mtext *o, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			emit(o, "\\\\");
		else if (*s == '\n')
			emit(o, "\\n");
		else if (*s == '"' && quote)
			emit(o, "\\\"");
		else
			put_char(o, *s);
	}
}

void rd_mtext_label_value(struct rd_mtext *o, const char *s)
{
	escaped(o, s ? s : "", true);
}

void rd_mtext_family(struct rd_mtext *o, const char *name, const char *type, const char *help)
{
	emit(o, "# HELP %s ", name);
	escaped(o, help, false);
	emit(o, "\n# TYPE %s %s\n", name, type);
}

void rd_mtext_value(char *buf, size_t cap, double v)
{
	if (isnan(v))
		snprintf(buf, cap, "NaN");
	else if (isinf(v))
		snprintf(buf, cap, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0) /* 2^53: exact as an integer */
		snprintf(buf, cap, "%.0f", v);
	else
		snprintf(buf, cap, "%.15g", v);
}

static void labels_of(struct rd_mtext *o, const char *const *labels, const char *le)
{
	bool any = false;
	for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		emit(o, "%s%s=\"", any ? "," : "{", labels[i]);
		escaped(o, labels[i + 1], true);
		put_char(o, '"');
		any = true;
	}
	if (le) {
		emit(o, "%sle=\"%s\"", any ? "," : "{", le);
		any = true;
	}
	if (any)
		put_char(o, '}');
}

void rd_mtext_sample(struct rd_mtext *o, const char *name, const char *const *labels, double value)
{
	char v[48];
	rd_mtext_value(v, sizeof v, value);
	emit(o, "%s", name);
	labels_of(o, labels, NULL);
	emit(o, " %s\n", v);
}

void rd_hist_observe(struct rd_hist *h, const double *bounds, size_t n, double v)
{
	size_t i = 0;
	while (i < n && i < RD_HIST_MAX - 1 && v > bounds[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

void rd_mtext_hist(struct rd_mtext *o, const char *name, const char *const *labels, const double *bounds, size_t n,
		   const struct rd_hist *h)
{
	char metric[160], le[48];
	uint64_t cum = 0;
	snprintf(metric, sizeof metric, "%s_bucket", name);
	for (size_t i = 0; i < n && i < RD_HIST_MAX - 1; i++) {
		cum += h->bucket[i];
		rd_mtext_value(le, sizeof le, bounds[i]);
		emit(o, "%s", metric);
		labels_of(o, labels, le);
		emit(o, " %llu\n", (unsigned long long)cum);
	}
	emit(o, "%s", metric);
	labels_of(o, labels, "+Inf");
	emit(o, " %llu\n", (unsigned long long)h->count);
	snprintf(metric, sizeof metric, "%s_sum", name);
	rd_mtext_sample(o, metric, labels, h->sum);
	snprintf(metric, sizeof metric, "%s_count", name);
	rd_mtext_sample(o, metric, labels, (double)h->count);
}

/* ---- process_*: what the Prometheus client libraries export, from /proc ---- */

static double proc_btime(void)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	char line[256];
	double bt = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "btime %lf", &bt) == 1)
			break;
	fclose(f);
	return bt;
}

void rd_metrics_process(struct rd_mtext *o)
{
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/stat", "re");
	char buf[1024];
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	/* after the command name's closing parenthesis: field 3 (state) on */
	const char *p = strrchr(buf, ')');
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
	long long rss = 0;
	bool have = p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
				"%llu %llu %lld", &utime, &stime, &start, &vsize, &rss) == 5;
	if (have && tick > 0) {
		rd_mtext_family(o, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
		rd_mtext_sample(o, "process_cpu_seconds_total", NULL, (double)(utime + stime) / (double)tick);
		rd_mtext_family(o, "process_start_time_seconds", "gauge",
				"Start time of the process since unix epoch in seconds.");
		rd_mtext_sample(o, "process_start_time_seconds", NULL, proc_btime() + (double)start / (double)tick);
		rd_mtext_family(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
		rd_mtext_sample(o, "process_virtual_memory_bytes", NULL, (double)vsize);
		rd_mtext_family(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
		rd_mtext_sample(o, "process_resident_memory_bytes", NULL, (double)rss * (double)page);
	}
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		unsigned fds = 0;
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				fds++;
		closedir(d);
		rd_mtext_family(o, "process_open_fds", "gauge", "Number of open file descriptors.");
		rd_mtext_sample(o, "process_open_fds", NULL, (double)(fds ? fds - 1 : 0)); /* less the directory's own */
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rd_mtext_family(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		rd_mtext_sample(o, "process_max_fds", NULL, rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
	}
}

void rd_metrics_sweep_failures(struct rd_metrics *m, unsigned failing, unsigned vendors)
{
	m->sweep_failing = failing;
	m->sweep_failing_vendors = vendors;
}

void rd_metrics_render(const struct rd_metrics *m, const struct rd_store_stats *st, struct rd_mtext *out)
{
	struct rd_mtext o = *out;
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

	rd_mtext_family(&o, "renewd_http_requests_total", "counter", "HTTP requests by route, method and status.");
	for (const struct series *s = m->head; s; s = s->next) {
		char status[16];
		snprintf(status, sizeof status, "%d", s->status);
		const char *labels[] = { "route", s->route, "method", s->method, "status", status, NULL };
		rd_mtext_sample(&o, "renewd_http_requests_total", labels, (double)s->count);
	}

	rd_mtext_family(&o, "renewd_http_request_duration_seconds", "histogram", "Time from request to response, by route.");
	/* One histogram per (route, method): merge statuses. */
	for (const struct series *s = m->head; s; s = s->next) {
		bool first = true;
		for (const struct series *p = m->head; p != s; p = p->next)
			if (strcmp(p->route, s->route) == 0 && strcmp(p->method, s->method) == 0)
				first = false;
		if (!first)
			continue;
		struct rd_hist h = { 0 };
		for (const struct series *p = s; p; p = p->next) {
			if (strcmp(p->route, s->route) != 0 || strcmp(p->method, s->method) != 0)
				continue;
			for (size_t i = 0; i < NB; i++)
				h.bucket[i] += p->bucket[i];
			h.bucket[NB] += p->over;
			h.count += p->count;
			h.sum += p->sum;
		}
		const char *labels[] = { "route", s->route, "method", s->method, NULL };
		rd_mtext_hist(&o, "renewd_http_request_duration_seconds", labels, buckets, NB, &h);
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
	*out = o;
}
