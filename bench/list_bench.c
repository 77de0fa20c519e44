/*
 * list_bench: a filtered contract list as the API serves it (the walk of
 * core/services/listing.c, each record decoded, filtered and turned into
 * JSON, a page of 50), over a store of N contracts, for the filters an index
 * serves: customer (20 contracts each at every N), external_id (one), an end
 * date range of one day (N/3650 contracts), partner (the reseller OR the
 * distributor of record: partner 7 resells N/20000 contracts and is the
 * distributor of N/30000 others, a page's worth at 1M; the reseller and
 * distributor indexes merged).  Each figure beside the table
 * walk the list used before (the same row work over every record).
 *
 *   build/bench/list_bench N [N...]
 *
 * One line per (N, filter):
 *   list_bench: contracts=N filter=F hits=H page=P index_ms=... scan_ms=...
 * (hits: every contract the filter matches; page: the rows of the first page).
 * index_ms is the best of several runs (a shared machine), scan_ms of fewer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "domain/model.h"
#include "services/listing.h"
#include "store/record.h"
#include "store/store.h"
#include "util/log.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define BASE_END 20454 /* 2026-01-01 */

static void fill(struct rd_contract *c, uint64_t i, long n)
{
	memset(c, 0, sizeof *c);
	c->id = i;
	snprintf(c->external_id, sizeof c->external_id, "K-%08llu", (unsigned long long)i);
	c->customer_id = 1 + i % (uint64_t)(n / 20); /* 20 contracts per customer */
	c->product_id = 1 + i % 40;
	c->reseller_id = i % 20000 == 6 ? 7 : 1000 + i % 300;
	c->distributor_id = i % 30000 == 1 ? 7 : 2000 + i % 5;
	c->quantity = 1 + (uint32_t)(i % 250);
	c->end = BASE_END + (rd_date)(i * 7919 % 3650);
	c->start = c->end - 364;
	c->term = RD_TERM_ANNUAL;
	c->status = RD_CONTRACT_LIVE;
	memcpy(c->currency, "GBP", 4);
}

/* The query: which fields a record must have (as crud.c's filter checks). */
struct query {
	const char *name;
	uint64_t customer;
	char ext[32];
	rd_date lo, hi;
	uint64_t partner;
	int kind; /* 0 customer, 1 external_id, 2 end range, 3 partner */
};

struct page {
	const struct query *q;
	struct rd_contract c;
	json_t *items;
	size_t n, hits;
};

static int row(void *ctx, uint64_t id, const void *rec, size_t len)
{
	struct page *p = ctx;
	if (rd_entity_decode(&rd_entity_contract, rec, len, &p->c) < 0)
		return -1;
	const struct query *q = p->q;
	bool ok = q->kind == 0 ? p->c.customer_id == q->customer
		  : q->kind == 1 ? !strcmp(p->c.external_id, q->ext)
		  : q->kind == 2 ? p->c.end >= q->lo && p->c.end <= q->hi
				 : p->c.reseller_id == q->partner || p->c.distributor_id == q->partner;
	if (!ok)
		return 1;
	p->hits++;
	if (p->n == 50)
		return 0; /* the 51st says there is more */
	json_array_append_new(p->items, rd_entity_to_json(&rd_entity_contract, &p->c));
	p->n++;
	return 1;
}

static double run(struct rd_store *s, struct rd_table *tb, const struct query *q, bool index, size_t *hits)
{
	struct rd_list_source src;
	bool have = q->kind == 0   ? rd_list_source_id(&src, "customer", q->customer)
		    : q->kind == 1 ? rd_list_source_str(&src, "ext", q->ext)
		    : q->kind == 2 ? rd_list_source_dates(&src, RD_IDX_CONTRACT_END, true, q->lo, true, q->hi)
				   : rd_list_source_id2(&src, "reseller", RD_IDX_CONTRACT_DISTRIBUTOR, q->partner);
	struct page p = { .q = q, .items = json_array() };
	double t0 = now();
	struct rd_txn *t;
	rd_store_read(s, &t);
	int rc = rd_list_walk(t, tb, 1, 0, index && have ? &src : NULL, row, &p);
	char *body = json_dumps(p.items, JSON_COMPACT);
	rd_txn_end(t);
	double ms = (now() - t0) * 1e3;
	if (rc < 0 || !body) {
		fprintf(stderr, "list_bench: walk failed (%d)\n", rc);
		exit(1);
	}
	free(body);
	json_decref(p.items);
	*hits = p.n;
	return ms;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: list_bench N [N...]\n");
		return 2;
	}
	rd_log_set_level(RD_LOG_WARN); /* the map's growth is not a figure */
	for (int a = 1; a < argc; a++) {
		long n = atol(argv[a]);
		if (n < 40) {
			fprintf(stderr, "list_bench: N must be at least 40\n");
			return 2;
		}
		char dir[] = "/tmp/renewd-list-bench-XXXXXX";
		if (!mkdtemp(dir))
			return 1;
		char err[512];
		struct rd_store *s;
		struct rd_store_opts o = { .map_size = 1 << 20 };
		if (rd_store_open(&s, dir, &o, err, sizeof err) < 0) {
			fprintf(stderr, "list_bench: %s\n", err);
			return 1;
		}
		struct rd_domain d;
		rd_domain_register(s, &d);
		const long batch = 10000;
		struct rd_batch_item *items = calloc((size_t)batch, sizeof *items);
		struct rd_rec_writer *ws = calloc((size_t)batch, sizeof *ws);
		struct rd_contract c;
		double t0 = now();
		for (long base = 0; base < n; base += batch) {
			long m = n - base < batch ? n - base : batch;
			for (long i = 0; i < m; i++) {
				fill(&c, (uint64_t)(base + i + 1), n);
				ws[i].len = 0;
				rd_entity_encode(&rd_entity_contract, &c, &ws[i]);
				items[i] = (struct rd_batch_item){ c.id, ws[i].buf, ws[i].len };
			}
			if (rd_store_put_batch(s, d.contracts, 1, items, (size_t)m) < 0) {
				fprintf(stderr, "list_bench: batch failed\n");
				return 1;
			}
		}
		fprintf(stderr, "list_bench: %ld contracts stored in %.1f s\n", n, now() - t0);
		struct query qs[4] = {
			{ .name = "customer", .customer = 1 + (uint64_t)(n / 40), .kind = 0 },
			{ .name = "external_id", .kind = 1 },
			{ .name = "end_range", .lo = BASE_END + 1000, .hi = BASE_END + 1000, .kind = 2 },
			{ .name = "partner", .partner = 7, .kind = 3 },
		};
		snprintf(qs[1].ext, sizeof qs[1].ext, "K-%08llu", (unsigned long long)(n / 2 + 7));
		for (int k = 0; k < 4; k++) {
			size_t hi = 0, hs = 0;
			double best = 1e9, scan = 1e9;
			for (int r = 0; r < 7; r++) {
				double ms = run(s, d.contracts, &qs[k], true, &hi);
				best = ms < best ? ms : best;
			}
			for (int r = 0; r < 2; r++) {
				double ms = run(s, d.contracts, &qs[k], false, &hs);
				scan = ms < scan ? ms : scan;
			}
			if (hi != hs) {
				fprintf(stderr, "list_bench: %s: the index gave %zu rows, the walk %zu\n", qs[k].name, hi, hs);
				return 1;
			}
			/* Every record the filter matches (the page shows the first 50). */
			size_t matched = hi;
			if (qs[k].kind == 2) {
				struct rd_txn *t;
				struct rd_iter it;
				struct rd_item item;
				uint8_t lo[4], to[4];
				rd_date_key(qs[k].lo, lo);
				rd_date_key(qs[k].hi + 1, to);
				rd_store_read(s, &t);
				matched = 0;
				rd_iter_index(&it, t, d.contracts, RD_IDX_CONTRACT_END, 1, lo, 4, to, 4);
				while (rd_iter_next(&it, &item) > 0)
					matched++;
				rd_iter_close(&it);
				rd_txn_end(t);
			}
			if (qs[k].kind == 3) {
				struct rd_contract x;
				matched = 0;
				for (long i = 1; i <= n; i++) {
					fill(&x, (uint64_t)i, n);
					matched += x.reseller_id == qs[k].partner || x.distributor_id == qs[k].partner;
				}
			}
			printf("list_bench: contracts=%ld filter=%s hits=%zu page=%zu index_ms=%.3f scan_ms=%.1f\n", n,
			       qs[k].name, matched, hi, best, scan);
			fflush(stdout);
		}
		for (long i = 0; i < batch; i++)
			rd_rec_writer_free(&ws[i]);
		free(ws);
		free(items);
		rd_store_close(&s);
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "list_bench: could not remove %s\n", dir);
	}
	return 0;
}
