/*
 * claims.c: which node does a piece of shared work when several renewd
 * nodes share one PostgreSQL store (docs/scaling.md, "Claims and leases").
 *
 * A claim is a store-wide setting "claim:NAME" holding who has the work and
 * until when: 8 bytes little-endian, the lease's end in real milliseconds
 * since the epoch, then the owner's node id (text).  It is taken, renewed
 * and checked inside a write transaction, which on PostgreSQL is
 * SERIALIZABLE: of two nodes taking the same claim at once, one commits and
 * the other is replayed and then sees the first one's claim.  A claim whose
 * lease has run out (its node died, or stalled past the lease) is free for
 * any node.  On LMDB there is one process: claims are not used at all.
 *
 * Actions' idempotency keys: on a shared store each action's key is also a
 * record of the table action_keys, keyed (vendor, 63 bits of the key's
 * hash), so that two transactions recording one key collide on that
 * table's primary key (engine.c, rd_action_once).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <unistd.h>

#include "config/config.h"
#include "renew/internal.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define OWNER_MAX 120

/* Several nodes: each action's key, by its hash (rd_action_key_hold). */
static const struct rd_table_def action_keys_def = { "action_keys", NULL, 0 };

uint64_t rd_claim_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool rd_claims_used(const struct rd_renew *r)
{
	return strcmp(rd_store_backend(r->app->store), "lmdb") != 0;
}

/* This node's id: the host name and a random id kept in DATA/node-id,
 * made on first use, so that a node restarted on its data directory (after a
 * crash) takes its own claims back at once instead of waiting out their
 * leases. */
static void node_id(struct rd_renew *r)
{
	char host[64] = "";
	if (gethostname(host, sizeof host - 1) != 0 || !host[0])
		snprintf(host, sizeof host, "node");
	host[sizeof host - 1] = 0;
	char path[4200], id[33] = "";
	snprintf(path, sizeof path, "%s/node-id", r->app->config->data);
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(id, sizeof id, f))
			id[0] = 0;
		fclose(f);
		id[strcspn(id, "\r\n")] = 0;
	}
	if (strlen(id) != 32) {
		uint8_t rnd[16];
		randombytes_buf(rnd, sizeof rnd);
		sodium_bin2hex(id, sizeof id, rnd, sizeof rnd);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, id, 32) != 32 || write(fd, "\n", 1) != 1)
			rd_log(RD_LOG_WARN, "renew", "%s could not be written: a restart of this node will wait for its "
			       "claims' leases", path);
		if (fd >= 0)
			close(fd);
	}
	snprintf(r->node, sizeof r->node, "%.63s/%s", host, id);
}

void rd_claims_init(struct rd_renew *r)
{
	if (!rd_claims_used(r))
		return; /* LMDB: one process, no claims */
	node_id(r);
	int rc = rd_store_register(r->app->store, &action_keys_def, &r->action_keys);
	if (rc < 0) {
		rd_log(RD_LOG_ERROR, "renew", "the table of action keys could not be made: %s", rd_strerror(rc));
		r->action_keys = NULL;
	}
}

/* The id of an action's key in action_keys: 63 bits of its BLAKE2b hash
 * (ids stay below 2^63; never 0). */
static uint64_t key_id(const char *key)
{
	uint8_t h[crypto_generichash_BYTES_MIN];
	crypto_generichash(h, sizeof h, (const uint8_t *)key, strlen(key), NULL, 0);
	uint64_t id = rd_key_get_u64(h) & 0x7fffffffffffffffULL;
	return id ? id : 1;
}

/* 1: the key is there; 0: it is not, or another key with the same hash is
 * (the actions' index still answers for that one); < 0 error. */
int rd_action_key_taken(struct rd_renew *r, struct rd_txn *t, uint64_t vendor, const char *key)
{
	if (!r->action_keys)
		return 0;
	const void *v;
	size_t len;
	int rc = rd_txn_get(t, r->action_keys, vendor, key_id(key), &v, &len);
	if (rc == RD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	return len == strlen(key) && memcmp(v, key, len) == 0;
}

int rd_action_key_hold(struct rd_renew *r, struct rd_txn *t, uint64_t vendor, const char *key)
{
	if (!r->action_keys)
		return 0;
	int rc = rd_action_key_taken(r, t, vendor, key);
	if (rc != 0)
		return rc > 0 ? RD_EEXISTS : rc;
	uint64_t id = key_id(key);
	const void *v;
	size_t len;
	if (rd_txn_get(t, r->action_keys, vendor, id, &v, &len) == 0)
		return 0; /* another key's hash: left to the index */
	return rd_txn_put(t, r->action_keys, vendor, id, key, strlen(key), RD_PUT_NEW);
}

static void claim_key(const char *name, char *key, size_t cap)
{
	snprintf(key, cap, "claim:%s", name);
}

int rd_claim_hold(struct rd_renew *r, struct rd_txn *t, const char *name, uint64_t now_ms)
{
	char key[96];
	claim_key(name, key, sizeof key);
	const void *v;
	size_t len;
	int rc = rd_txn_meta_get(t, key, &v, &len);
	if (rc < 0 && rc != RD_ENOTFOUND)
		return rc;
	if (rc == 0 && len >= 8) {
		uint64_t until;
		memcpy(&until, v, 8);
		size_t olen = len - 8;
		bool mine = olen == strlen(r->node) && memcmp((const char *)v + 8, r->node, olen) == 0;
		if (!mine && until > now_ms)
			return RD_ELOCKED; /* another node's, its lease running */
	}
	uint8_t val[8 + OWNER_MAX];
	uint64_t until = now_ms + r->app->config->claim_lease_ms;
	size_t olen = strlen(r->node);
	if (olen > OWNER_MAX)
		olen = OWNER_MAX;
	memcpy(val, &until, 8);
	memcpy(val + 8, r->node, olen);
	return rd_txn_meta_put(t, key, val, 8 + olen);
}

int rd_claim_release(struct rd_renew *r, struct rd_txn *t, const char *name)
{
	char key[96];
	claim_key(name, key, sizeof key);
	const void *v;
	size_t len;
	int rc = rd_txn_meta_get(t, key, &v, &len);
	if (rc == RD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	size_t olen = len >= 8 ? len - 8 : 0;
	if (len < 8 || olen != strlen(r->node) || memcmp((const char *)v + 8, r->node, olen) != 0)
		return 0; /* not ours (any more): left as it is */
	uint8_t val[8] = { 0 }; /* lease over, no owner */
	return rd_txn_meta_put(t, key, val, sizeof val);
}

struct claim_job {
	struct rd_renew *r;
	const char *name;
	uint64_t now_ms;
	bool release;
};

static int claim_write(struct rd_txn *t, void *arg)
{
	struct claim_job *j = arg;
	return j->release ? rd_claim_release(j->r, t, j->name) : rd_claim_hold(j->r, t, j->name, j->now_ms);
}

int rd_claim_take(struct rd_renew *r, const char *name)
{
	if (!rd_claims_used(r))
		return 0;
	struct claim_job j = { r, name, rd_claim_real_ms(), false };
	return rd_store_write(r->app->store, claim_write, &j);
}

void rd_claim_drop(struct rd_renew *r, const char *name)
{
	if (!rd_claims_used(r))
		return;
	struct claim_job j = { r, name, 0, true };
	(void)rd_store_write(r->app->store, claim_write, &j); /* not dropped: the lease runs out */
}
