/*
 * refs.h: which fields of which records name another record (refs.c).
 *
 * One table of references drives both the merge of customers and the move
 * of a contract (core/services/merge.c: every record naming a customer is
 * re-pointed) and renewctl check (every reference must name a record that
 * exists, in the same vendor).  A field that records who did something in
 * the past (an order's, a document's, an import's, a policy's or an
 * enablement's user_id, and the audit log) is history, not a reference:
 * users may be deleted and their past acts keep their id.  So is a token's
 * user_id: a deleted user's tokens stop working ("the user is disabled or
 * gone", edge/call.c).
 */
#ifndef RD_DOMAIN_REFS_H
#define RD_DOMAIN_REFS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/model.h"

struct rd_store;

#define RD_REF_ONE ((size_t)-1)

struct rd_ref {
	const struct rd_entity *e; /* the record that names another */
	size_t table;              /* offsetof(struct rd_domain, its table) */
	const char *field;         /* the field's JSON name */
	size_t off;                /* its uint64_t id (or the first of a list) */
	size_t count_off;          /* a list: its uint8_t count; RD_REF_ONE: one id */
	size_t to;                 /* offsetof(struct rd_domain, the table it names) */
};

extern const struct rd_ref rd_refs[];
extern const size_t rd_n_refs;

/* The table at offset off of d, and its name. */
struct rd_table *rd_refs_table(struct rd_domain *d, size_t off);
const char *rd_refs_table_name(size_t off);
/* Tables whose records live under tenant 0 (vendors, tokens, links); a
 * token's or link's vendor is its vendor_id. */
int rd_refs_shared(size_t table);
/* The vendor of a record of a shared table (its vendor_id), else 0. */
uint64_t rd_refs_vendor_of(const struct rd_entity *e, const void *obj);

/* The name of a table with a record of the vendor that names record id of
 * the table at offset table (a customer, a partner...), or NULL when none
 * does; *rc < 0 on a store error. */
const char *rd_refs_named(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, size_t table, uint64_t id,
			  int *rc);

/* Every reference of every record, in one read transaction: each id that
 * names no record of its table in the same vendor is reported as
 * "vendor V: TABLE ID: FIELD X names no record in TARGET"; a record that
 * cannot be read is reported too.  Returns the number of problems or a
 * negative RD_E* code. */
typedef void (*rd_refs_report_fn)(const char *problem, void *arg);
int rd_refs_check(struct rd_store *s, struct rd_domain *d, rd_refs_report_fn report, void *arg);

#endif
