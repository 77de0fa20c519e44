/*
 * jsonw_bench: one contract of a list page as the API writes it, per item:
 * the record decoded (decode), then decoded and written by the field-table
 * writer (writer: core/domain/jsonw.c, what GET and the lists do now), then
 * decoded, built as a jansson tree and dumped (tree: what they did before).
 * CPU time of one thread, no I/O: the load of other processes changes it
 * little.  Also checks that the two give the same bytes.
 *
 *   build/bench/jsonw_bench [rounds]
 *
 * Prints: jsonw_bench: name=decode|writer|tree ns=... per item, and
 *         jsonw_bench: same identical=0|1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "domain/jsonw.h"
#include "domain/model.h"
#include "store/record.h"

#define N 50

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct rd_rec_writer recs[N];

/* A page of contracts as bench/gen_contracts.py makes them. */
static void make(void)
{
	for (int i = 0; i < N; i++) {
		struct rd_contract c;
		memset(&c, 0, sizeof c);
		c.id = 100000 + (uint64_t)i;
		snprintf(c.external_id, sizeof c.external_id, "K-%07d", 100000 + i);
		c.customer_id = 1000 + (uint64_t)i * 7;
		c.product_id = 3 + (uint64_t)i % 40;
		c.reseller_id = 10 + (uint64_t)i % 20;
		c.distributor_id = i % 3 ? 2 : 0;
		c.quantity = 5 + (uint32_t)i;
		c.start = 19700 + i;
		c.end = c.start + 364;
		c.term = 1;
		strcpy(c.currency, "EUR");
		c.status = 1;
		rd_entity_encode(&rd_entity_contract, &c, &recs[i]);
	}
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 4000;
	make();
	struct rd_contract c;
	volatile size_t sink = 0;
	bool same = true;
	double t[3] = { 0, 0, 0 };
	for (int pass = 0; pass < 2; pass++) { /* the first warms up */
		double t0 = cpu_ns();
		for (long r = 0; r < rounds; r++)
			for (int i = 0; i < N; i++) {
				rd_entity_decode(&rd_entity_contract, recs[i].buf, recs[i].len, &c);
				sink += c.quantity;
			}
		double t1 = cpu_ns();
		for (long r = 0; r < rounds; r++) {
			struct rd_jsonw w;
			rd_jsonw_init(&w, 1024 + 1024 * N, NULL, NULL);
			rd_jsonw_raw(&w, "{\"items\":[", 10);
			for (int i = 0; i < N; i++) {
				rd_entity_decode(&rd_entity_contract, recs[i].buf, recs[i].len, &c);
				if (i)
					rd_jsonw_raw(&w, ",", 1);
				rd_jsonw_entity(&w, &rd_entity_contract, &c, "colour", "green");
			}
			rd_jsonw_raw(&w, "],\"next_cursor\":null}", 21);
			sink += w.len;
			if (r == 0 && pass == 1) {
				json_t *items = json_array();
				for (int i = 0; i < N; i++) {
					rd_entity_decode(&rd_entity_contract, recs[i].buf, recs[i].len, &c);
					json_t *j = rd_entity_to_json(&rd_entity_contract, &c);
					json_object_set_new(j, "colour", json_string("green"));
					json_array_append_new(items, j);
				}
				json_t *page = json_pack("{s:o, s:o}", "items", items, "next_cursor", json_null());
				char *s = json_dumps(page, JSON_COMPACT);
				same = s && strlen(s) == w.len && memcmp(s, w.buf, w.len) == 0;
				free(s);
				json_decref(page);
			}
			rd_jsonw_free(&w);
		}
		double t2 = cpu_ns();
		for (long r = 0; r < rounds; r++) {
			json_t *items = json_array();
			for (int i = 0; i < N; i++) {
				rd_entity_decode(&rd_entity_contract, recs[i].buf, recs[i].len, &c);
				json_t *j = rd_entity_to_json(&rd_entity_contract, &c);
				json_object_set_new(j, "colour", json_string("green"));
				json_array_append_new(items, j);
			}
			json_t *page = json_pack("{s:o, s:o}", "items", items, "next_cursor", json_null());
			char *s = json_dumps(page, JSON_COMPACT);
			sink += strlen(s);
			free(s);
			json_decref(page);
		}
		double t3 = cpu_ns();
		t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t3 - t2;
	}
	double per = (double)rounds * N;
	printf("jsonw_bench: name=decode ns=%.1f\n", t[0] / per);
	printf("jsonw_bench: name=writer ns=%.1f\n", t[1] / per);
	printf("jsonw_bench: name=tree ns=%.1f\n", t[2] / per);
	printf("jsonw_bench: same identical=%d\n", same ? 1 : 0);
	for (int i = 0; i < N; i++)
		rd_rec_writer_free(&recs[i]);
	return sink == 0;
}
