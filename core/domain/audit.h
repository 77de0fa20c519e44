/* audit.h: the audit trail's one writer, for every layer that changes
 * records (handlers, services, the renewal engine, the plugin host, the
 * policy runtime). */
#ifndef RD_DOMAIN_AUDIT_H
#define RD_DOMAIN_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "domain/model.h"

struct rd_txn;

/* Appends an audit entry in the caller's write transaction. before/after
 * may be NULL; they are serialised as JSON (private fields omitted). */
int rd_audit_write(struct rd_txn *t, struct rd_domain *d, uint64_t tenant, uint64_t user, uint8_t action,
		   const char *object, uint64_t object_id, json_t *before, json_t *after, const char *note);

#endif
