/*
 * router_bench: route dispatch over renewd's own route table
 * (core/daemon/routes.c): the table walk (rd_route_match, what every request
 * paid before) beside the segment tree (rd_router_match), on one path per
 * route (parameters filled in with ids) and on paths that match nothing.
 * Both must give the same route for every path (checked first).
 *
 *   build/bench/router_bench [rounds]
 *
 * Prints: router_bench: routes=N paths=P walk_ns=... tree_ns=...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/routes.h"
#include "http/http.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 2000;
	size_t np = rd_n_routes + 4;
	char **paths = calloc(np, sizeof *paths);
	unsigned *methods = calloc(np, sizeof *methods);
	for (size_t i = 0; i < rd_n_routes; i++) {
		char buf[512];
		size_t o = 0;
		for (const char *p = rd_routes[i].pattern; *p && o < sizeof buf - 16;) {
			if (*p == '{') {
				o += (size_t)snprintf(buf + o, sizeof buf - o, "%zu", 1000 + i);
				while (*p && *p != '}')
					p++;
				if (*p)
					p++;
			} else {
				buf[o++] = *p++;
			}
		}
		buf[o] = 0;
		paths[i] = strdup(buf);
		methods[i] = rd_routes[i].method;
	}
	const char *misses[] = { "/api/v1/nothing/here", "/api/v1/contracts/1/2/3/4", "/favicon.ico", "/c" };
	for (size_t k = 0; k < 4; k++) {
		paths[rd_n_routes + k] = strdup(misses[k]);
		methods[rd_n_routes + k] = RD_GET;
	}
	struct rd_router *tree = rd_router_new(rd_routes, rd_n_routes);
	struct rd_param params[RD_MAX_PARAMS];
	size_t n;
	unsigned allowed, a2;
	for (size_t i = 0; i < np; i++) {
		const struct rd_route *x =
			rd_route_match(rd_routes, rd_n_routes, methods[i], paths[i], strlen(paths[i]), params, &n, &allowed);
		const struct rd_route *y = rd_router_match(tree, methods[i], paths[i], strlen(paths[i]), params, &n, &a2);
		if (x != y || allowed != a2) {
			fprintf(stderr, "router_bench: %s: the walk and the tree differ\n", paths[i]);
			return 1;
		}
	}
	size_t *lens = calloc(np, sizeof *lens);
	for (size_t i = 0; i < np; i++)
		lens[i] = strlen(paths[i]);
	volatile size_t sink = 0;
	double best_walk = 1e9, best_tree = 1e9;
	for (int rep = 0; rep < 5; rep++) {
		double t0 = now();
		for (long r = 0; r < rounds; r++)
			for (size_t i = 0; i < np; i++)
				sink += (size_t)rd_route_match(rd_routes, rd_n_routes, methods[i], paths[i], lens[i], params, &n,
							       &allowed);
		double w = (now() - t0) * 1e9 / ((double)rounds * (double)np);
		t0 = now();
		for (long r = 0; r < rounds; r++)
			for (size_t i = 0; i < np; i++)
				sink += (size_t)rd_router_match(tree, methods[i], paths[i], lens[i], params, &n, &allowed);
		double t = (now() - t0) * 1e9 / ((double)rounds * (double)np);
		best_walk = w < best_walk ? w : best_walk;
		best_tree = t < best_tree ? t : best_tree;
	}
	printf("router_bench: routes=%zu paths=%zu walk_ns=%.1f tree_ns=%.1f\n", rd_n_routes, np, best_walk, best_tree);
	rd_router_free(tree);
	for (size_t i = 0; i < np; i++)
		free(paths[i]);
	free(paths);
	free(methods);
	free(lens);
	return (int)(sink & 0);
}
