/* audit.c: the audit trail's one writer (domain/audit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/audit.h"
#include "util/err.h"

static void dump_into(json_t *j, char *out, size_t cap)
{
	out[0] = 0;
	if (!j)
		return;
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return;
	size_t n = strlen(s);
	if (n >= cap) { /* keep it valid JSON: note the truncation instead */
		free(s);
		snprintf(out, cap, "{\"truncated\":true,\"bytes\":%zu}", n);
		return;
	}
	memcpy(out, s, n + 1);
	free(s);
}

int rd_audit_write(struct rd_txn *t, struct rd_domain *d, uint64_t tenant, uint64_t user, uint8_t action,
		   const char *object, uint64_t object_id, json_t *before, json_t *after, const char *note)
{
	struct rd_audit *a = rd_calloc(1, sizeof *a);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	a->at_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	a->user_id = user;
	a->action = action;
	snprintf(a->object, sizeof a->object, "%s", object);
	a->object_id = object_id;
	dump_into(before, a->before, sizeof a->before);
	dump_into(after, a->after, sizeof a->after);
	snprintf(a->note, sizeof a->note, "%s", note ? note : "");
	rd_utf8_mend(a->note); /* a cut (here, or a caller's "%.150s") may split a character */
	int rc = rd_entity_put(t, d->audit, &rd_entity_audit, tenant, a, 0);
	free(a);
	return rc;
}

