/*
 * stats.c: what the engine tells /metrics and /healthz.  The delivery
 * worker's and the scheduler's counters live in memory (loop thread; they
 * start again at zero with the process, as Prometheus counters may); the
 * outbox's gauges are read from the store when asked, from the queued
 * messages' index, a few fields of each record without decoding it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "renew/internal.h"
#include "store/record.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

static uint64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void rd_renew_mail_counted(struct rd_renew *r, bool delivered, uint64_t now_ms)
{
	struct rd_mail_stats *m = &r->mail_stats;
	if (delivered) {
		m->attempts_ok++;
		m->last_success_ms = now_ms;
		m->failing_since_ms = 0;
	} else {
		m->attempts_failed++;
		m->last_failure_ms = now_ms;
		if (!m->failing_since_ms)
			m->failing_since_ms = now_ms;
	}
}

void rd_renew_mail_stats(const struct rd_renew *r, struct rd_mail_stats *out)
{
	if (r)
		*out = r->mail_stats;
	else
		memset(out, 0, sizeof *out);
}

static struct rd_sweep_stat *sweep_stat(struct rd_renew *r, const struct rd_vendor *v)
{
	for (size_t i = 0; i < r->n_sweep_stats; i++)
		if (r->sweep_stats[i].vendor == v->id)
			return &r->sweep_stats[i];
	if (r->n_sweep_stats == r->cap_sweep_stats)
		r->sweep_stats = rd_realloc(r->sweep_stats, (r->cap_sweep_stats = r->cap_sweep_stats ? 2 * r->cap_sweep_stats
												: 8) *
								    sizeof *r->sweep_stats);
	struct rd_sweep_stat *s = &r->sweep_stats[r->n_sweep_stats++];
	memset(s, 0, sizeof *s);
	s->vendor = v->id;
	return s;
}

void rd_renew_sweep_counted(struct rd_renew *r, const struct rd_vendor *v, double seconds, int actions, bool failed)
{
	struct rd_sweep_stat *s = sweep_stat(r, v);
	snprintf(s->slug, sizeof s->slug, "%s", v->slug); /* (a vendor's slug may change) */
	s->last_ms = real_ms();
	s->last_seconds = seconds;
	if (actions > 0)
		s->actions += (uint64_t)actions;
	if (failed)
		s->errors++;
	s->failing = 0;
	for (size_t i = 0; i < r->n_failing; i++)
		if (r->failing[i].vendor == v->id)
			s->failing = r->failing[i].n;
	s->last_failed = failed || s->failing;
	if (!s->last_failed)
		s->failing_since_ms = 0;
	else if (!s->failing_since_ms)
		s->failing_since_ms = s->last_ms;
}

size_t rd_renew_sweep_stats(const struct rd_renew *r, const struct rd_sweep_stat **out)
{
	*out = r ? r->sweep_stats : NULL;
	return r ? r->n_sweep_stats : 0;
}

/* The fields of a queued message the gauges need (record fields 8 and 11:
 * domain/model.c). */
static void message_fields(const struct rd_item *item, uint64_t *attempts, uint64_t *created)
{
	struct rd_rec_reader rr;
	struct rd_rec_field f;
	*attempts = *created = 0;
	if (rd_rec_open(&rr, item->val, item->len, rd_entity_message.kind, rd_entity_message.version) < 0)
		return;
	while (rd_rec_next(&rr, &f) > 0) {
		if (f.no == 8 && f.wire == RD_WIRE_UINT)
			*attempts = f.u;
		else if (f.no == 11 && f.wire == RD_WIRE_UINT)
			*created = f.u;
	}
}

int rd_renew_outbox_stats(struct rd_renew *r, struct rd_txn *t, struct rd_outbox_stats *out)
{
	memset(out, 0, sizeof *out);
	uint64_t now = rd_clock_now(), oldest = 0;
	struct rd_iter vit, it;
	struct rd_item v, item;
	int rc = rd_iter_records(&vit, t, r->app->domain->vendors, 0, 0);
	while (rc >= 0 && !out->truncated && (rc = rd_iter_next(&vit, &v)) > 0) {
		/* the "due" index holds the queued messages only, whenever due */
		rc = rd_iter_index(&it, t, r->app->domain->outbox, "due", v.id, NULL, 0, NULL, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (out->queued == RD_OUTBOX_SCAN_MAX) {
				out->truncated = true;
				break;
			}
			uint64_t attempts, created;
			message_fields(&item, &attempts, &created);
			out->queued++;
			if (attempts)
				out->failing++;
			if (attempts > out->max_attempts)
				out->max_attempts = attempts;
			if (created && (!oldest || created < oldest))
				oldest = created;
		}
		rd_iter_close(&it);
	}
	rd_iter_close(&vit);
	if (oldest && oldest < now)
		out->oldest_age_s = (double)(now - oldest);
	return rc < 0 ? rc : 0;
}
