/*
 * operator.c: renewctl's operator tokens, the platform operator's credential
 * for /api/v1/operator/ (services/vendors.c):
 *   operator token create --name N      prints the token once (stdout)
 *   operator token list                 id, name, created, revoked
 *   operator token revoke ID
 * They run beside a running renewd (LMDB's multi-process writes), which
 * takes or refuses the token from its next request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "domain/model.h"
#include "services/vendors.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

struct revoke {
	struct rd_domain *d;
	uint64_t id;
	bool already;
};

static int revoke_write(struct rd_txn *t, void *arg)
{
	struct revoke *r = arg;
	struct rd_operator_token ot;
	int rc = rd_entity_get(t, r->d->operator_tokens, &rd_entity_operator_token, 0, r->id, &ot);
	if (rc < 0)
		return rc;
	if (ot.revoked_at) {
		r->already = true;
		return 0;
	}
	ot.revoked_at = rd_clock_now();
	return rd_entity_put(t, r->d->operator_tokens, &rd_entity_operator_token, 0, &ot, 0);
}

int rd_cli_operator(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[0], "token") && !strcmp(argv[1], "create")) {
		const char *name = argc == 4 && !strcmp(argv[2], "--name") ? argv[3] : NULL;
		if (!name) {
			fprintf(stderr, "renewctl: operator token create --name NAME\n");
			return 2;
		}
		if (!rd_cli_text_ok("--name", name, 0)) /* shown in audit entries' JSON */
			return 2;
		char secret[RD_TOKEN_LEN + 1];
		struct rd_operator_token ot;
		struct rd_serr e;
		if (rd_operator_token_create(s, d, name, secret, &ot, &e) < 0) {
			fprintf(stderr, "renewctl: %s\n", e.message);
			return e.rc == RD_EINVAL ? 2 : 1;
		}
		fprintf(stderr, "operator token %llu \"%s\" created; the token (shown once) opens /api/v1/operator/:\n",
			(unsigned long long)ot.id, ot.name);
		printf("%s\n", secret);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[0], "token") && !strcmp(argv[1], "list")) {
		struct rd_txn *t;
		int rc = rd_store_read(s, &t);
		if (rc < 0) {
			fprintf(stderr, "renewctl: %s\n", rd_strerror(rc));
			return 1;
		}
		struct rd_iter it;
		struct rd_item item;
		printf("%-6s %-32s %-21s %s\n", "id", "name", "created", "revoked");
		rc = rd_iter_records(&it, t, d->operator_tokens, 0, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			struct rd_operator_token ot;
			if (rd_entity_decode(&rd_entity_operator_token, item.val, item.len, &ot) < 0)
				continue;
			char c[21], r[21] = "-";
			rd_time_format(ot.created_at, c);
			if (ot.revoked_at)
				rd_time_format(ot.revoked_at, r);
			printf("%-6llu %-32s %-21s %s\n", (unsigned long long)ot.id, ot.name, c, r);
		}
		rd_iter_close(&it);
		rd_txn_end(t);
		return rc < 0 ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[0], "token") && !strcmp(argv[1], "revoke")) {
		struct revoke r = { .d = d };
		if (!rd_cli_whole(argv[2], 1, UINT64_MAX, &r.id)) {
			fprintf(stderr, "renewctl: operator token revoke takes a token's id (a whole number), not \"%s\"\n",
				argv[2]);
			return 2;
		}
		int rc = rd_store_write(s, revoke_write, &r);
		if (rc < 0) {
			fprintf(stderr, "renewctl: no operator token %s\n", argv[2]);
			return 1;
		}
		printf("operator token %llu %s\n", (unsigned long long)r.id, r.already ? "was already revoked" : "revoked");
		return 0;
	}
	fprintf(stderr, "renewctl: operator token create --name N | operator token list | operator token revoke ID\n");
	return 2;
}
