/*
 * record_bench: what a contract costs to encode and decode in the stored
 * binary layout versus as JSON with jansson (the choice docs/storage.md
 * explains).  Prints ns per operation and bytes per record.
 *
 *   build/bench/record_bench [iterations]
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/model.h"
#include "store/record.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	struct rd_contract c = { .id = 123456, .customer_id = 4242, .product_id = 17, .reseller_id = 88,
				 .distributor_id = 3, .quantity = 50, .term = RD_TERM_ANNUAL,
				 .status = RD_CONTRACT_LIVE, .flags = RD_FLAG_CONSOLIDATED };
	snprintf(c.external_id, sizeof c.external_id, "K-2026-000123456");
	memcpy(c.currency, "GBP", 4);
	rd_date_parse("2026-01-01", &c.start);
	rd_date_parse("2026-12-31", &c.end);

	struct rd_rec_writer w = { 0 };
	volatile size_t sink = 0;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		c.id = (uint64_t)i;
		rd_entity_encode(&rd_entity_contract, &c, &w);
		sink += w.len;
	}
	double enc = (now() - t0) / (double)n * 1e9;
	size_t bin_len = w.len;

	struct rd_contract out;
	t0 = now();
	for (long i = 0; i < n; i++) {
		rd_entity_decode(&rd_entity_contract, w.buf, w.len, &out);
		sink += out.quantity;
	}
	double dec = (now() - t0) / (double)n * 1e9;

	long nj = n / 10 ? n / 10 : 1;
	size_t json_len = 0;
	t0 = now();
	for (long i = 0; i < nj; i++) {
		json_t *j = rd_entity_to_json(&rd_entity_contract, &c);
		char *s = json_dumps(j, JSON_COMPACT);
		json_len = strlen(s);
		sink += json_len;
		free(s);
		json_decref(j);
	}
	double jenc = (now() - t0) / (double)nj * 1e9;

	json_t *j = rd_entity_to_json(&rd_entity_contract, &c);
	json_object_del(j, "id");
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	t0 = now();
	for (long i = 0; i < nj; i++) {
		json_t *p = json_loads(text, 0, NULL);
		const char *bad;
		char why[128];
		rd_entity_from_json(&rd_entity_contract, p, &out, &bad, why, sizeof why);
		json_decref(p);
	}
	double jdec = (now() - t0) / (double)nj * 1e9;
	free(text);
	rd_rec_writer_free(&w);

	printf("record_bench: contract record, %ld iterations (JSON: %ld)\n", n, nj);
	printf("  binary  encode %8.1f ns   decode %8.1f ns   %4zu bytes\n", enc, dec, bin_len);
	printf("  jansson encode %8.1f ns   decode %8.1f ns   %4zu bytes\n", jenc, jdec, json_len);
	printf("  ratio   encode %8.1fx    decode %8.1fx\n", jenc / enc, jdec / dec);
	return sink == 0;
}
