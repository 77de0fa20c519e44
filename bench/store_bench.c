/*
 * store_bench: write and read throughput of the store with the contract
 * table's four indexes maintained.  Prints records/s for
 *   - batch import (sorted ids, MDB_APPEND, 10 000 records per transaction)
 *   - single-record transactions (one synced commit each; fewer records)
 *   - a full scan and an end-date index range scan
 * and the resulting store size.
 *
 *   build/bench/store_bench [records] [dir]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "domain/model.h"
#include "store/record.h"
#include "store/store.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct one {
	struct rd_table *tb;
	uint64_t id;
	struct rd_rec_writer *w;
};

static int put_one(struct rd_txn *t, void *arg)
{
	struct one *o = arg;
	return rd_txn_put(t, o->tb, 1, o->id, o->w->buf, o->w->len, 0);
}

static void fill(struct rd_contract *c, uint64_t i)
{
	memset(c, 0, sizeof *c);
	c->id = i;
	snprintf(c->external_id, sizeof c->external_id, "K-%08llu", (unsigned long long)i);
	c->customer_id = 1 + i % 50000;
	c->product_id = 1 + i % 40;
	c->reseller_id = 1 + i % 300;
	c->distributor_id = 1 + i % 5;
	c->quantity = 1 + (uint32_t)(i % 250);
	c->end = 20454 + (rd_date)(i * 7919 % 730);
	c->start = c->end - 364;
	c->term = RD_TERM_ANNUAL;
	c->status = RD_CONTRACT_LIVE;
	memcpy(c->currency, "GBP", 4);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	char tmpl[] = "/tmp/renewd-bench-XXXXXX";
	const char *dir = argc > 2 ? argv[2] : mkdtemp(tmpl);
	char err[512];
	struct rd_store *s;
	struct rd_store_opts o = { .map_size = 1 << 20 };
	if (rd_store_open(&s, dir, &o, err, sizeof err) < 0) {
		fprintf(stderr, "store_bench: %s\n", err);
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
			fill(&c, (uint64_t)(base + i + 1));
			rd_entity_encode(&rd_entity_contract, &c, &ws[i]);
			items[i] = (struct rd_batch_item){ c.id, ws[i].buf, ws[i].len };
		}
		if (rd_store_put_batch(s, d.contracts, 1, items, (size_t)m) < 0) {
			fprintf(stderr, "store_bench: batch failed\n");
			return 1;
		}
	}
	double tb = now() - t0;

	long singles = n / 100 ? n / 100 : 1;
	t0 = now();
	for (long i = 0; i < singles; i++) {
		fill(&c, (uint64_t)(n + i + 1));
		rd_entity_encode(&rd_entity_contract, &c, &ws[0]);
		struct one one = { d.contracts, c.id, &ws[0] };
		rd_store_write(s, put_one, &one);
	}
	double ts = now() - t0;

	struct rd_txn *txn;
	struct rd_iter it;
	struct rd_item item;
	long seen = 0;
	t0 = now();
	rd_store_read(s, &txn);
	rd_iter_records(&it, txn, d.contracts, 1, 0);
	while (rd_iter_next(&it, &item) > 0) {
		rd_entity_decode(&rd_entity_contract, item.val, item.len, &c);
		seen++;
	}
	rd_iter_close(&it);
	double tscan = now() - t0;

	uint8_t from[4], to[4];
	rd_date_key(20454 + 100, from);
	rd_date_key(20454 + 190, to);
	long in_range = 0;
	t0 = now();
	rd_iter_index(&it, txn, d.contracts, RD_IDX_CONTRACT_END, 1, from, 4, to, 4);
	while (rd_iter_next(&it, &item) > 0)
		in_range++;
	rd_iter_close(&it);
	double trange = now() - t0;
	rd_txn_end(txn);

	struct rd_store_stats st;
	rd_store_stats(s, &st);
	printf("store_bench: %ld contracts with 4 indexes in %s\n", n, dir);
	printf("  batch import        %10.0f records/s  (%.2f s)\n", (double)n / tb, tb);
	printf("  single-record txns  %10.0f records/s  (%ld synced commits)\n", (double)singles / ts, singles);
	printf("  full scan + decode  %10.0f records/s  (%ld records)\n", (double)seen / tscan, seen);
	printf("  end-date range      %10.0f records/s  (%ld in 90 days)\n", (double)in_range / trange, in_range);
	printf("  store: %.1f MiB used, map %.1f MiB, %.0f bytes per contract\n", (double)st.used_bytes / 1048576.0,
	       (double)st.map_size / 1048576.0, (double)st.used_bytes / (double)(n + singles));
	for (long i = 0; i < batch; i++)
		rd_rec_writer_free(&ws[i]);
	free(ws);
	free(items);
	rd_store_close(&s);
	if (argc <= 2) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "store_bench: could not remove %s\n", dir);
	}
	return 0;
}
