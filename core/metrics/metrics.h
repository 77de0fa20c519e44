/* metrics.h: request counters and latency histograms, rendered as
 * Prometheus text.  Loop thread only (no locks). */
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

/* Appends the exposition text to a malloc'd buffer (*out, *len); the
 * caller frees *out. store may be NULL. */
void rd_metrics_render(const struct rd_metrics *m, const struct rd_store_stats *store, char **out, size_t *len);

#endif
