/*
 * fixture.h: what the services' unit tests share: a temporary store with
 * renewd's tables, a loop, the purpose-built test plugins (tests/plugins)
 * loaded from a plugin directory of its own, and the loop run until an
 * asynchronous answer comes.
 */
#ifndef RD_TEST_FIXTURE_H
#define RD_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "domain/app.h"
#include "domain/model.h"

struct rd_txn;

struct rd_fx {
	char root[64], data[96], plugins[96];
	uv_loop_t loop;
	struct rd_store *store;
	struct rd_domain dom;
	struct rd_app app;
};

/* A fresh fixture (calloc'd) under /dev/shm when there is one, else /tmp
 * (three commits per order, each an fsync on a disk, would be most of a
 * test's time): the store open, the n plugin files (paths) copied in as
 * names[i].so, loaded, each found, and the secrets key made.  Fails the
 * test on any error. */
struct rd_fx *rd_fx_new(const char *tag, const char *const *paths, const char *const *names, size_t n);

/* Lets calls still on the pool end, then frees the plugins, closes the
 * store and the loop and removes the directory. */
void rd_fx_free(struct rd_fx *f);

/* Runs the loop until *flag, for 20 s at most (then the test fails). */
void rd_fx_run_until(struct rd_fx *f, const bool *flag);

/* Inside a write: enables plugin for vendor v with its configuration. */
int rd_fx_enable(struct rd_fx *f, struct rd_txn *t, uint64_t v, const char *plugin, const char *config);

/* Inside a write: a live annual EUR contract (customer 7, product 5,
 * reseller 3, distributor 2, 10 seats from 2026-01-01) and its quote in
 * opp_state, publish-vendor: one renewal line of 10000 with the reseller's
 * share of 1000 and the distributor's of 500.  The n-th call makes
 * contract n and opportunity n. */
int rd_fx_seed_quote(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint8_t opp_state);

#endif
