/*
 * documents.c: a contract's documents (the contract, its certificates,
 * invoices): uploaded by the vendor's people or the partner of record,
 * listed and downloaded through the API, and by the customer from the
 * portal (core/web/pages.c).
 *
 *   POST   /api/v1/contracts/{id}/documents?name=N[&kind=K]   the body is the file
 *   GET    /api/v1/contracts/{id}/documents                   the list
 *   GET    /api/v1/documents/{id}                             the record
 *   GET    /api/v1/documents/{id}/content                     the file
 *   DELETE /api/v1/documents/{id}
 *
 * Rights follow the contract's: who may read a contract reads its
 * documents; who may update it adds and removes them.  A document's bytes
 * live in their own table under the document's id, so lists never read
 * them.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/documents.h"
#include "http/http.h"
#include "services/documents.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

static const char *const kinds[] = { "", "contract", "certificate", "invoice", "other", NULL };

/* type/subtype, token characters only (RFC 9110), parameters dropped. */
bool rd_api_content_type(const char *h, char out[64])
{
	if (!h || !*h) {
		snprintf(out, 64, "application/octet-stream");
		return true;
	}
	size_t n = strcspn(h, ";");
	while (n && h[n - 1] == ' ')
		n--;
	if (n == 0 || n >= 64)
		return false;
	int slashes = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c == '/')
			slashes++;
		else if (!isalnum(c) && !strchr("!#$&^_.+-", c))
			return false;
		out[i] = (char)tolower(c);
	}
	out[n] = 0;
	return slashes == 1 && out[0] != '/' && out[n - 1] != '/';
}

/* The contract, if the caller may act on it (else RD_ENOTFOUND). */
static int contract_for(struct call *c, struct rd_txn *t, enum rd_scope scope, uint64_t id, struct rd_contract *k)
{
	int rc = id ? rd_entity_get(t, c->app->domain->contracts, &rd_entity_contract, c->who.vendor, id, k) : RD_ENOTFOUND;
	if (rc == 0 && scope == RD_SCOPE_OWN && (rc = rd_call_visible(c, t, RD_RES_CONTRACT, k)) >= 0)
		rc = rc ? 0 : RD_ENOTFOUND; /* < 0: the store failed, answered as such */
	return rc;
}

/* ---- upload ------------------------------------------------------------------------------ */

struct upload {
	struct call *c;
	enum rd_scope scope;
	uint64_t contract_id;
	struct rd_document doc;
	const void *body;
	size_t len;
};

static int upload_write(struct rd_txn *t, void *arg)
{
	struct upload *u = arg;
	struct rd_contract k;
	int rc = contract_for(u->c, t, u->scope, u->contract_id, &k);
	if (rc < 0)
		return rc;
	struct rd_document *d = &u->doc;
	d->id = 0;
	d->contract_id = k.id;
	d->customer_id = k.customer_id;
	if ((rc = rd_entity_put(t, u->c->app->domain->documents, &rd_entity_document, u->c->who.vendor, d, RD_PUT_NEW)) < 0 ||
	    (rc = rd_txn_put(t, u->c->app->domain->document_data, u->c->who.vendor, d->id, u->body, u->len, 0)) < 0)
		return rc;
	json_t *after = rd_entity_to_json(&rd_entity_document, d);
	rc = rd_audit_write(t, u->c->app->domain, u->c->who.vendor, u->c->who.user, RD_AUDIT_CREATE, "documents", d->id,
			    NULL, after, "document uploaded");
	json_decref(after);
	return rc;
}

int rd_api_documents_create(struct rd_req *req)
{
	struct call c;
	struct upload u = { .c = &c };
	if (rd_call_begin(req, &c) < 0 || (u.scope = rd_call_allow(&c, RD_RES_CONTRACT, RD_ACT_UPDATE)) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "name", "kind", NULL };
	const char *unknown = rd_req_query_unknown(req, known);
	if (unknown) {
		rd_reply_error(req, 400, "invalid", unknown, "unknown query parameter %s (name, kind)", unknown);
		return 0;
	}
	u.contract_id = rd_parse_id(rd_req_param(req, "id"));
	const char *name = rd_req_query(req, "name"), *kind = rd_req_query(req, "kind"), *why = rd_document_name_problem(name);
	if (why) {
		rd_reply_error(req, 400, "invalid", "name", "%s", why);
		return 0;
	}
	u.doc.kind = RD_DOC_CONTRACT;
	if (kind) {
		u.doc.kind = 0;
		for (uint8_t i = 1; kinds[i]; i++)
			if (!strcmp(kind, kinds[i]))
				u.doc.kind = i;
		if (!u.doc.kind) {
			rd_reply_error(req, 400, "invalid", "kind", "kind must be contract, certificate, invoice or other");
			return 0;
		}
	}
	if (!rd_api_content_type(rd_req_header(req, "content-type"), u.doc.content_type)) {
		rd_reply_error(req, 400, "invalid", "content-type", "the Content-Type must be a media type (type/subtype)");
		return 0;
	}
	u.body = rd_req_body(req, &u.len);
	if (!u.body || u.len == 0) {
		rd_reply_error(req, 400, "invalid", "body", "the request body is the file, and it is empty");
		return 0;
	}
	if (u.len > RD_DOCUMENT_MAX) {
		rd_reply_error(req, 413, "too_large", "body", "a document may be at most %d MiB", RD_DOCUMENT_MAX >> 20);
		return 0;
	}
	snprintf(u.doc.name, sizeof u.doc.name, "%s", name);
	u.doc.size = (uint32_t)u.len;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, u.body, u.len);
	sodium_bin2hex(u.doc.sha256, sizeof u.doc.sha256, h, sizeof h);
	u.doc.created_at = rd_clock_now();
	u.doc.user_id = c.who.user;
	int rc = rd_store_write(c.app->store, upload_write, &u);
	if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", "id", "no such contract");
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_reply_json(req, 201, rd_entity_to_json(&rd_entity_document, &u.doc));
	return 0;
}

/* ---- reading --------------------------------------------------------------------------- */

int rd_api_documents_list(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_CONTRACT, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_contract k;
	json_t *items = json_array();
	rc = contract_for(&c, t, scope, rd_parse_id(rd_req_param(req, "id")), &k);
	if (rc == 0)
		rc = rd_documents_json(t, c.app->domain, c.who.vendor, k.id, items);
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(items);
		if (rc != RD_ENOTFOUND)
			return rc;
		rd_reply_error(req, 404, "not_found", "id", "no such contract");
		return 0;
	}
	rd_reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
	return 0;
}

/* The document, if the caller may see its contract. */
static int document_for(struct call *c, struct rd_txn *t, enum rd_scope scope, struct rd_document *doc)
{
	uint64_t id = rd_parse_id(rd_req_param(c->req, "id"));
	int rc = id ? rd_entity_get(t, c->app->domain->documents, &rd_entity_document, c->who.vendor, id, doc) : RD_ENOTFOUND;
	struct rd_contract k;
	if (rc == 0)
		rc = contract_for(c, t, scope, doc->contract_id, &k);
	if (rc == 0)
		doc->customer_id = k.customer_id; /* the owner now, whatever moved the contract */
	return rc;
}

int rd_api_document_get(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_CONTRACT, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_document doc;
	rc = document_for(&c, t, scope, &doc);
	rd_txn_end(t);
	if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", "id", "no such document");
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_reply_json(req, 200, rd_entity_to_json(&rd_entity_document, &doc));
	return 0;
}

int rd_api_document_content(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_CONTRACT, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_document doc;
	const void *bytes = NULL;
	size_t len = 0;
	rc = document_for(&c, t, scope, &doc);
	if (rc == 0)
		rc = rd_txn_get(t, c.app->domain->document_data, c.who.vendor, doc.id, &bytes, &len);
	if (rc == RD_ENOTFOUND) {
		rd_txn_end(t);
		rd_reply_error(req, 404, "not_found", "id", "no such document");
		return 0;
	}
	if (rc == 0)
		rd_document_reply(req, &doc, bytes, len); /* copies the body before the transaction ends */
	rd_txn_end(t);
	return rc < 0 ? rc : 0;
}

/* ---- removal ------------------------------------------------------------------------------- */

struct removal {
	struct call *c;
	enum rd_scope scope;
};

static int remove_write(struct rd_txn *t, void *arg)
{
	struct removal *r = arg;
	struct rd_document doc;
	int rc = document_for(r->c, t, r->scope, &doc);
	if (rc < 0)
		return rc;
	struct rd_domain *d = r->c->app->domain;
	if ((rc = rd_txn_del(t, d->documents, r->c->who.vendor, doc.id)) < 0 ||
	    ((rc = rd_txn_del(t, d->document_data, r->c->who.vendor, doc.id)) < 0 && rc != RD_ENOTFOUND))
		return rc;
	json_t *before = rd_entity_to_json(&rd_entity_document, &doc);
	rc = rd_audit_write(t, d, r->c->who.vendor, r->c->who.user, RD_AUDIT_DELETE, "documents", doc.id, before, NULL,
			    "document removed");
	json_decref(before);
	return rc;
}

int rd_api_document_delete(struct rd_req *req)
{
	struct call c;
	struct removal r = { .c = &c };
	if (rd_call_begin(req, &c) < 0 || (r.scope = rd_call_allow(&c, RD_RES_CONTRACT, RD_ACT_UPDATE)) == RD_SCOPE_NONE)
		return 0;
	int rc = rd_store_write(c.app->store, remove_write, &r);
	if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", "id", "no such document");
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_reply_raw(req, 204, "application/json", "", 0);
	return 0;
}
