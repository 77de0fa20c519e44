/* metrics.h: request counters and latency histograms, the process_*
 * series, and a writer of the Prometheus text exposition format (0.0.4)
 * that the layers above use for their own series.  Loop thread only (no
 * locks). */
#ifndef RD_METRICS_METRICS_H
#define RD_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct rd_metrics;
struct rd_store_stats;

struct rd_metrics *rd_metrics_new(void);
void rd_metrics_free(struct rd_metrics **m);

/* route: the matched pattern (borrowed; route patterns are static) or NULL
 * for requests that matched none. */
void rd_metrics_request(struct rd_metrics *m, const char *route, const char *method, int status, double seconds);
void rd_metrics_connections(struct rd_metrics *m, int delta);

/* The renewal sweep's failed actions now (all vendors), for the next render. */
void rd_metrics_sweep_failures(struct rd_metrics *m, unsigned failing, unsigned vendors);

/* ---- the exposition text ---------------------------------------------------------- */

/* A growing text buffer (buf is malloc'd; the caller frees it). */
struct rd_mtext {
	char *buf;
	size_t len, cap;
};

/* "# HELP name help" (help escaped) and "# TYPE name type". */
void rd_mtext_family(struct rd_mtext *o, const char *name, const char *type, const char *help);
/* One sample: name{k="v",...} value.  labels: key, value, key, value, ...,
 * NULL (NULL itself: none).  Label values are escaped (backslash, double
 * quote, newline); values are written so that integers stay integers and
 * NaN and the infinities are spelled the way the format wants. */
void rd_mtext_sample(struct rd_mtext *o, const char *name, const char *const *labels, double value);
/* Writes value as the format spells it into buf (at least 32 bytes). */
void rd_mtext_value(char *buf, size_t cap, double value);
/* Writes s escaped as a label value (without the quotes). */
void rd_mtext_label_value(struct rd_mtext *o, const char *s);

/* A histogram with fixed bounds (upper bounds, ascending; +Inf implied). */
#define RD_HIST_MAX 16
struct rd_hist {
	uint64_t bucket[RD_HIST_MAX]; /* per bucket (not cumulative); [n]: above the last bound */
	uint64_t count;
	double sum;
};
void rd_hist_observe(struct rd_hist *h, const double *bounds, size_t n, double v);
/* name_bucket{labels...,le=...}, name_sum and name_count. */
void rd_mtext_hist(struct rd_mtext *o, const char *name, const char *const *labels, const double *bounds, size_t n,
		   const struct rd_hist *h);

/* Appends renewd's own series (HTTP, connections, store, sweep totals) and
 * the conventional process_* series read from /proc.  store may be NULL. */
void rd_metrics_render(const struct rd_metrics *m, const struct rd_store_stats *store, struct rd_mtext *o);
void rd_metrics_process(struct rd_mtext *o);

#endif
