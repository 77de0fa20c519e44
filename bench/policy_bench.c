/*
 * policy_bench: margin policy evaluations per second on the production path
 * (the vendor's sandbox with its memory cap and instruction budget on, the
 * cached function, the reused argument tables) next to the same rule
 * written in plain C.  Prints ns per evaluation and the ratio.
 *
 * Three Lua figures: memo hits (the 24 lines again and again: after the
 * first round every answer comes from the policy's memo), memo misses
 * (every line new to the memo: a won deal with a bonus never seen before,
 * so the script runs, reads its fields and its answer is kept), and the
 * script on every call (the memo turned off, as a script that sets
 * `memoise = false` runs).  The hits' sum is checked against the C rule's.
 *
 *   build/bench/policy_bench [evaluations] [hits|miss|nomemo]
 *
 * With a phase named, only that loop runs (after one round of the 24 lines
 * to fill the memo), for a profile of it; the output then has that line
 * only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/model.h"
#include "policy/policy.h"
#include "policy/runtime.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This thread's CPU time: on a machine shared with other work, what the
 * evaluations cost this thread, without the time it waited for a CPU. */
static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The default policy's rule, in C. */
static int margin_c(const struct rd_margin_line *l, struct rd_margin_result *out)
{
	static const int32_t partner[] = { 0, 3300, 2500, 2000, 0 }, vendor[] = { 0, 2000, 2000, 1500, 0 };
	int32_t bp = (l->publish == RD_PUBLISH_PARTNER ? partner : vendor)[l->partner_tier];
	if (l->deal == RD_DEAL_WON)
		bp += (int32_t)l->deal_bonus_bp;
	out->n = 1;
	out->shares[0].bp = bp;
	strcpy(out->shares[0].party, l->partner_kind == RD_PARTNER_DISTRIBUTOR ? "distributor" : "reseller");
	out->total_bp = bp;
	if (l->distributor_id && l->partner_kind != RD_PARTNER_DISTRIBUTOR) {
		out->shares[1].bp = (int32_t)l->distributor_bp;
		strcpy(out->shares[1].party, "distributor");
		out->n = 2;
		out->total_bp += out->shares[1].bp;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2400000;
	const char *phase = argc > 2 ? argv[2] : NULL;
	n -= n % 24; /* whole rounds of the 24 lines, so both loops see the same mix */
	if (n <= 0)
		n = 24;
	struct rd_sandbox *sb;
	struct rd_sandbox_limits lim = { 0 }; /* the defaults: 16 MiB, 1,000,000 instructions per call */
	struct rd_margin_policy p;
	char err[512];
	if (rd_sandbox_new(&sb, &lim) < 0 ||
	    rd_margin_load(&p, sb, "margin v1", rd_default_margin_lua, strlen(rd_default_margin_lua), err, sizeof err) < 0) {
		fprintf(stderr, "policy_bench: %s\n", err);
		return 1;
	}
	/* A spread of lines: every tier, both modes, with and without a
	 * distributor, some won deals. */
	struct rd_margin_line lines[24];
	for (int i = 0; i < 24; i++)
		lines[i] = (struct rd_margin_line){ .partner_id = (uint64_t)(2 + i % 3), .partner_kind = RD_PARTNER_RESELLER,
						    .partner_tier = (uint8_t)(1 + i % 3), .distributor_id = (uint64_t)(i % 2),
						    .publish = (uint8_t)(1 + (i / 3) % 2), .sku = "WSG-STD",
						    .product_line = "Web Security", .term = RD_TERM_ANNUAL, .quantity = 25,
						    .list_amount = 90000, .currency = "GBP", .segment = "smb", .country = "GB",
						    .deal = (uint8_t)(i % 5 == 0 ? RD_DEAL_WON : RD_DEAL_NONE),
						    .deal_bonus_bp = 500, .distributor_bp = 300 };
	struct rd_margin_result r;
	volatile int64_t sink = 0;
	if (phase) {
		for (int i = 0; i < 24; i++)
			rd_margin_eval(&p, &lines[i], &r, err, sizeof err);
		if (!strcmp(phase, "nomemo"))
			rd_margin_memo_enable(&p, false);
		double t0 = now(), c0 = cpu();
		for (long i = 0; i < n; i++) {
			struct rd_margin_line l = lines[i % 24];
			if (!strcmp(phase, "miss")) {
				l.deal = RD_DEAL_WON;
				l.deal_bonus_bp = (uint32_t)(i % 6000);
			}
			if (rd_margin_eval(&p, &l, &r, err, sizeof err) < 0) {
				fprintf(stderr, "policy_bench: %s\n", err);
				return 1;
			}
		}
		printf("  %s  %8.1f ns/eval  (%.1f ns of CPU time)\n", phase, (now() - t0) / (double)n * 1e9,
		       (cpu() - c0) / (double)n * 1e9);
		rd_margin_unload(&p);
		rd_sandbox_free(&sb);
		return 0;
	}
	double t0 = now(), c0 = cpu();
	for (long i = 0; i < n; i++) {
		if (rd_margin_eval(&p, &lines[i % 24], &r, err, sizeof err) < 0) {
			fprintf(stderr, "policy_bench: %s\n", err);
			return 1;
		}
		sink += r.total_bp;
	}
	double lua = (now() - t0) / (double)n * 1e9, lua_cpu = (cpu() - c0) / (double)n * 1e9;
	int64_t lua_sum = sink;
	/* Misses: every line a won deal with a bonus the memo has not seen. */
	long n_miss = n / 4 > 24 ? n / 4 : 24;
	t0 = now();
	c0 = cpu();
	for (long i = 0; i < n_miss; i++) {
		struct rd_margin_line l = lines[i % 24];
		l.deal = RD_DEAL_WON;
		l.deal_bonus_bp = (uint32_t)(i % 6000); /* at most 6,000: with a 3,300 share and 300 for the distributor, within 10,000 */
		if (rd_margin_eval(&p, &l, &r, err, sizeof err) < 0) {
			fprintf(stderr, "policy_bench: %s\n", err);
			return 1;
		}
	}
	double miss = (now() - t0) / (double)n_miss * 1e9, miss_cpu = (cpu() - c0) / (double)n_miss * 1e9;
	uint64_t hits = p.hits;
	/* The script on every call. */
	rd_margin_memo_enable(&p, false);
	t0 = now();
	c0 = cpu();
	for (long i = 0; i < n_miss; i++) {
		if (rd_margin_eval(&p, &lines[i % 24], &r, err, sizeof err) < 0) {
			fprintf(stderr, "policy_bench: %s\n", err);
			return 1;
		}
	}
	double nomemo = (now() - t0) / (double)n_miss * 1e9, nomemo_cpu = (cpu() - c0) / (double)n_miss * 1e9;
	sink = 0;
	t0 = now();
	for (long i = 0; i < n * 10; i++) {
		margin_c(&lines[i % 24], &r);
		sink += r.total_bp;
	}
	double c = (now() - t0) / (double)(n * 10) * 1e9;
	if (lua_sum * 10 != sink) {
		fprintf(stderr, "policy_bench: the Lua and C rules disagree (%lld vs %lld)\n", (long long)lua_sum * 10,
			(long long)sink);
		return 1;
	}
	printf("policy_bench: default margin policy, %ld evaluations, sandbox on (16 MiB cap, 1M-instruction budget)\n", n);
	printf("  Lua sandbox  %8.1f ns/eval  %10.0f evals/s   (memo hits: %llu of %ld; %.1f ns of CPU time)\n", lua,
	       1e9 / lua, (unsigned long long)hits, n, lua_cpu);
	printf("  memo miss    %8.1f ns/eval  %10.0f evals/s   (%.1f ns of CPU time)\n", miss, 1e9 / miss, miss_cpu);
	printf("  no memo      %8.1f ns/eval  %10.0f evals/s   (%.1f ns of CPU time)\n", nomemo, 1e9 / nomemo, nomemo_cpu);
	printf("  plain C      %8.1f ns/eval  %10.0f evals/s\n", c, 1e9 / c);
	printf("  ratio        %8.1fx   (targets: hits >= 10,000,000 evals/s, misses <= 400 ns)\n", lua / c);
	printf("  sandbox memory in use: %zu bytes\n", rd_sandbox_memory(sb));
	rd_margin_unload(&p);
	rd_sandbox_free(&sb);
	return 0;
}
