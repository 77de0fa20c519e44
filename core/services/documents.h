/*
 * documents.h: the rules of a contract's documents (core/services/documents.c),
 * for the API and the customer portal.
 */
#ifndef RD_SERVICES_DOCUMENTS_H
#define RD_SERVICES_DOCUMENTS_H

#include <jansson.h>
#include <stdint.h>

#include "domain/model.h"

struct rd_txn;
struct rd_domain;

enum { RD_DOCUMENT_MAX = 16 << 20 }; /* bytes in one document */

/* Appends the contract's documents (records, as JSON) to out. */
int rd_documents_json(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t contract, json_t *out);

/* Why a document name is refused (a sentence for the refusal), or NULL when
 * it is fine: 1-127 bytes of valid UTF-8 without control characters (C0,
 * DEL, C1, U+2028, U+2029), characters that change the direction of text,
 * slashes, backslashes or double quotes, and not "." or "..". */
const char *rd_document_name_problem(const char *name);

/* Files the contract's documents under its customer now (after an edit of
 * the contract's customer or a customer merge), in the caller's write
 * transaction. */
int rd_documents_follow(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t contract, uint64_t customer);

#endif
