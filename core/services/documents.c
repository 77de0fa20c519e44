/*
 * documents.c: the rules of a contract's documents (documents.h): which
 * names are accepted, the list of a contract's documents, and documents
 * that follow their contract to its customer.  The API's handlers are
 * core/api/documents.c; the download reply core/edge/reply.c.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "services/documents.h"
#include "store/store.h"
#include "util/err.h"

/* The next code point of valid UTF-8 at *p (advanced past it), or -1:
 * a stray continuation byte, a truncated sequence, an over-long form, a
 * surrogate or a value past U+10FFFF. */
static long utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned char c = s[0];
	size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (!len)
		return -1;
	long cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const long least[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*p = s + len;
	return cp;
}

/* A name people see and a browser saves: valid UTF-8, printable (no C0 or
 * C1 controls, no characters that reorder the text around them and so
 * could make "invoice<U+202E>fdp.exe" read as a PDF), no path, no quotes,
 * 1-127 bytes. */
const char *rd_document_name_problem(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0)
		return "the file name is missing (?name=)";
	if (n >= sizeof ((struct rd_document *)0)->name)
		return "the file name is longer than 127 bytes";
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "the file name cannot be . or ..";
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		long cp = utf8_next(&p);
		if (cp < 0)
			return "the file name is not valid UTF-8";
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
			return "the file name may not hold control characters";
		if (cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			return "the file name may not hold characters that change the direction of text";
		if (cp == '/' || cp == '\\' || cp == '"')
			return "the file name may not hold slashes or double quotes";
	}
	return NULL;
}

int rd_documents_json(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t contract, json_t *out)
{
	uint8_t key[8];
	rd_key_put_u64(key, contract);
	struct rd_iter it;
	struct rd_item item;
	struct rd_document doc;
	struct rd_contract k;
	bool have_k = rd_entity_get(t, d->contracts, &rd_entity_contract, vendor, contract, &k) == 0;
	int rc = rd_iter_index(&it, t, d->documents, "contract", vendor, key, 8, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8))
			break;
		if (rd_entity_decode(&rd_entity_document, item.val, item.len, &doc) < 0)
			continue;
		if (have_k)
			doc.customer_id = k.customer_id; /* the owner now */
		json_array_append_new(out, rd_entity_to_json(&rd_entity_document, &doc));
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

int rd_documents_follow(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t contract, uint64_t customer)
{
	uint8_t key[8];
	rd_key_put_u64(key, contract);
	/* Collect first: the writes below touch the table being walked. */
	size_t n = 0, cap = 16;
	uint64_t *ids = rd_malloc(cap * sizeof *ids);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, t, d->documents, "contract", vendor, key, 8, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8))
			break;
		if (n == cap)
			ids = rd_realloc(ids, (cap *= 2) * sizeof *ids);
		ids[n++] = item.id;
	}
	rd_iter_close(&it);
	struct rd_document doc;
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		if ((rc = rd_entity_get(t, d->documents, &rd_entity_document, vendor, ids[i], &doc)) < 0)
			break;
		if (doc.customer_id == customer)
			continue;
		doc.customer_id = customer;
		rc = rd_entity_put(t, d->documents, &rd_entity_document, vendor, &doc, 0);
	}
	free(ids);
	return rc < 0 ? rc : 0;
}
