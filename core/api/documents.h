/*
 * documents.h: the API's document handlers (documents.c); the rules are
 * services/documents.h.
 */
#ifndef RD_API_DOCUMENTS_H
#define RD_API_DOCUMENTS_H

#include <stdbool.h>

struct rd_req;

/* A Content-Type header as type/subtype (token characters, lower case,
 * parameters dropped; none: application/octet-stream); false when it is not one. */
bool rd_api_content_type(const char *h, char out[64]);

int rd_api_documents_create(struct rd_req *req);
int rd_api_documents_list(struct rd_req *req);
int rd_api_document_get(struct rd_req *req);
int rd_api_document_content(struct rd_req *req);
int rd_api_document_delete(struct rd_req *req);

#endif
