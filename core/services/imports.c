/*
 * imports.c: the import engine (CSV through libcsv, JSON Lines through
 * jansson) and the daemon's import jobs (services/imports.h), for the API
 * (/api/v1/imports), the vendor console (/vendor/imports) and renewctl.
 *
 * Memory stays flat in the engine: rows are parsed and checked one at a
 * time and handed to a sink.  The daemon's sink keeps each valid row's
 * compact record (tens of bytes) until the single write transaction at the
 * end; renewctl's sink writes straight into its transaction.
 */
#include <csv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/audit.h"
#include "domain/money.h"
#include "services/imports.h"
#include "services/merge.h"
#include "services/records.h"
#include "store/record.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define MAX_OBJ 12288
#define MAX_COLS 64

/* ---- kinds and columns --------------------------------------------------------- */

struct kind {
	const char *name;
	enum rd_resource res;
	const struct rd_entity *e;
	size_t table;     /* offsetof(struct rd_domain, ...) */
	const char *ext;  /* the column holding the external id */
	size_t ext_off;
};

static const struct kind kinds[] = {
	{ "customers", RD_RES_CUSTOMER, &rd_entity_customer, offsetof(struct rd_domain, customers), "external_id",
	  offsetof(struct rd_customer, external_id) },
	{ "contacts", RD_RES_CONTACT, &rd_entity_contact, offsetof(struct rd_domain, contacts), "external_id",
	  offsetof(struct rd_contact, external_id) },
	{ "products", RD_RES_PRODUCT, &rd_entity_product, offsetof(struct rd_domain, products), "sku",
	  offsetof(struct rd_product, external_id) },
	{ "contracts", RD_RES_CONTRACT, &rd_entity_contract, offsetof(struct rd_domain, contracts), "external_id",
	  offsetof(struct rd_contract, external_id) },
	{ "leads", RD_RES_LEAD, &rd_entity_lead, offsetof(struct rd_domain, leads), "external_id",
	  offsetof(struct rd_lead, external_id) },
};

static const struct kind *kind_of(enum rd_resource res)
{
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (kinds[i].res == res)
			return &kinds[i];
	return NULL;
}

int rd_import_kind(const char *name)
{
	for (size_t i = 0; name && i < sizeof kinds / sizeof *kinds; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return (int)kinds[i].res;
	return -1;
}

const char *rd_import_kind_name(enum rd_resource res)
{
	const struct kind *k = kind_of(res);
	return k ? k->name : "";
}

/* Reference columns: an external id resolved to a record id. */
struct ref_col {
	enum rd_resource res;
	const char *column;
	size_t table;   /* where the external id is looked up */
	size_t off;     /* the uint64_t id field it fills */
};

static const struct ref_col refs[] = {
	{ RD_RES_CONTACT, "customer_external_id", offsetof(struct rd_domain, customers), offsetof(struct rd_contact, customer_id) },
	{ RD_RES_CONTRACT, "customer_external_id", offsetof(struct rd_domain, customers), offsetof(struct rd_contract, customer_id) },
	{ RD_RES_CONTRACT, "product_sku", offsetof(struct rd_domain, products), offsetof(struct rd_contract, product_id) },
	{ RD_RES_CONTRACT, "reseller_external_id", offsetof(struct rd_domain, partners), offsetof(struct rd_contract, reseller_id) },
	{ RD_RES_CONTRACT, "distributor_external_id", offsetof(struct rd_domain, partners),
	  offsetof(struct rd_contract, distributor_id) },
};

/* A column resolved once, from its name (CSV: at the header; JSON Lines:
 * per line, whose keys may differ), so that a cell is applied without a
 * search by name. */
enum col_kind { COL_FIELD, COL_REF, COL_PRICE, COL_UPSELL, COL_CROSSSELL };
struct colspec {
	uint8_t kind;                 /* enum col_kind */
	uint8_t term;                 /* COL_PRICE */
	bool ext;                     /* the kind's external id column */
	char cur[4];                  /* COL_PRICE */
	const struct ref_col *ref;    /* COL_REF */
	const struct rd_field *f;     /* COL_FIELD: NULL when the entity has none */
};

/* ---- references from memory -------------------------------------------------------- */

/* A referenced table's external ids (its "ext" index) in memory, loaded
 * once per import after REF_MAP_AFTER look-ups of that table: a row's
 * customer, product and partners are then found without an index search.
 * Only tables the import does not write are mapped (a products import's
 * upsell SKUs name products: looked up in the index), so the map answers
 * as the index would: the first entry of a key, in index order. */
#define REF_MAP_AFTER 64

struct ref_map {
	size_t table;          /* offsetof(struct rd_domain, ...); 0: unused */
	uint64_t lookups;
	bool loaded;
	struct ref_slot { uint64_t hash, id; size_t off; } *slot; /* off: into names; id 0: empty */
	size_t cap, n;
	char *names;
	size_t names_len, names_cap;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	h ^= h >> 33; /* FNV's low bits mix poorly: the slot is taken from them */
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

static void ref_map_add(struct ref_map *m, const char *name, size_t len, uint64_t id)
{
	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 1024;
		struct ref_slot *old = m->slot, *t = rd_calloc(cap, sizeof *t);
		for (size_t i = 0; i < m->cap; i++)
			if (old[i].id) {
				size_t at = old[i].hash & (cap - 1);
				while (t[at].id)
					at = (at + 1) & (cap - 1);
				t[at] = old[i];
			}
		free(old);
		m->slot = t;
		m->cap = cap;
	}
	uint64_t h = hash_str(name);
	size_t at = h & (m->cap - 1);
	for (; m->slot[at].id; at = (at + 1) & (m->cap - 1))
		if (m->slot[at].hash == h && !strcmp(m->names + m->slot[at].off, name))
			return; /* the index's first entry of a key wins */
	while (m->names_len + len + 1 > m->names_cap)
		m->names = rd_realloc(m->names, m->names_cap = m->names_cap ? 2 * m->names_cap : 65536);
	memcpy(m->names + m->names_len, name, len);
	m->names[m->names_len + len] = 0;
	m->slot[at] = (struct ref_slot){ h, id, m->names_len };
	m->names_len += len + 1;
	m->n++;
}

static int ref_map_load(struct ref_map *m, struct rd_txn *t, struct rd_table *tb, uint64_t tenant)
{
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, t, tb, "ext", tenant, NULL, 0, NULL, 0);
	if (rc >= 0)
		it.keys_only = true;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (item.key_len && item.key[item.key_len - 1] == 0 && item.id)
			ref_map_add(m, (const char *)item.key, item.key_len - 1, item.id);
	rd_iter_close(&it);
	m->loaded = rc >= 0;
	return rc < 0 ? rc : 0;
}

static void ref_map_free(struct ref_map *m)
{
	free(m->slot);
	free(m->names);
	memset(m, 0, sizeof *m);
}

/* 1 with *id when the map answers, 0 when it does not (not loaded). */
static int ref_map_find(const struct ref_map *m, const char *ext, uint64_t *id)
{
	if (!m->loaded)
		return 0;
	if (!m->cap)
		return RD_ENOTFOUND;
	uint64_t h = hash_str(ext);
	for (size_t at = h & (m->cap - 1); m->slot[at].id; at = (at + 1) & (m->cap - 1))
		if (m->slot[at].hash == h && !strcmp(m->names + m->slot[at].off, ext)) {
			*id = m->slot[at].id;
			return 1;
		}
	return RD_ENOTFOUND;
}

/* ---- the engine ------------------------------------------------------------------ */

struct engine {
	struct rd_import *im;
	const struct kind *k;
	struct rd_txn *t;
	uint64_t row;           /* 1-based line or CSV record number */
	/* header */
	char *cols[MAX_COLS];
	struct colspec specs[MAX_COLS]; /* cols[i] resolved */
	size_t n_cols;
	bool have_header;
	/* the row being read (CSV) */
	char *cells[MAX_COLS];
	size_t cell_off[MAX_COLS]; /* each value's place in rowbuf */
	char *rowbuf;
	size_t rowbuf_len, rowbuf_cap;
	bool cells_owned;       /* cells are the header's copies (free_cells frees them) */
	size_t n_cells;
	bool row_too_wide;
	size_t nul_cell;        /* 1 + the index of the first cell holding a NUL byte; 0: none */
	size_t row_bytes;       /* bytes read since the chunk in which the last row ended (an over-estimate) */
	size_t row_len;         /* the row's values and separators so far: its length */
	int rc;                 /* a sink or store failure stops everything */
	/* The stored records this run handed to the sink (an open-addressed
	 * set; 0 empty): the daemon's rows are compared with its read
	 * snapshot, so a record a file names twice is never skipped. */
	uint64_t *sent;
	size_t sent_n, sent_cap;
	struct ref_map maps[3];  /* referenced tables, from memory */
	/* The own table had none of the vendor's records with an external id
	 * when the engine first looked (own_known): a first import.  Then
	 * own_new holds a 32-bit fingerprint of each external id of the rows
	 * sent on as new since (4 bytes an id, 0 an empty slot), and a row's
	 * id whose fingerprint is not among them is new without a look-up
	 * (one that is, rarely another id's, is looked up). */
	bool own_known, own_empty;
	uint32_t *own_new;
	size_t own_n, own_cap;
	struct rd_record_seen seen; /* references rd_record_prepare found, in en->t */
	uint8_t *stored;        /* the bytes of the stored record this row read (read_stored) */
	size_t stored_len, stored_cap;
	uint64_t stored_id;     /* its id; 0: none this row */
	_Alignas(16) uint8_t obj[MAX_OBJ], old[MAX_OBJ]; /* hold entity structs */
	struct rd_rec_writer w;
};

static void row_error(struct engine *en, const char *column, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void row_error(struct engine *en, const char *column, const char *fmt, ...)
{
	struct rd_import *im = en->im;
	im->rows_failed++;
	if (json_array_size(im->errors) >= RD_IMPORT_MAX_ERRORS)
		return;
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	rd_utf8_mend(msg); /* a value quoted "%.64s" may be cut inside a character */
	json_array_append_new(im->errors, json_pack("{s:I, s:o, s:s}", "row", (json_int_t)en->row, "column",
						    column ? json_string(column) : json_null(), "message", msg));
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!len || i + len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
			return false;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		if (len == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0)))
			return false; /* over-long, surrogates */
		if (len == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90)))
			return false;
		i += len;
	}
	return true;
}

static struct rd_table *table_at(struct engine *en, size_t off)
{
	return *(struct rd_table **)((char *)en->im->app->domain + off);
}

static int lookup_ext(struct engine *en, size_t table, const char *ext, uint64_t *id)
{
	if (table != en->k->table) { /* a referenced table: from memory after the first few */
		struct ref_map *m = NULL;
		for (size_t i = 0; i < sizeof en->maps / sizeof *en->maps && !m; i++)
			if (en->maps[i].table == table || !en->maps[i].table)
				m = &en->maps[i];
		if (m) {
			m->table = table;
			if (!m->loaded && ++m->lookups == REF_MAP_AFTER) {
				int rc = ref_map_load(m, en->t, table_at(en, table), en->im->who.vendor);
				if (rc < 0)
					return rc;
			}
			int r = ref_map_find(m, ext, id);
			if (r != 0)
				return r < 0 ? r : 0;
		}
	}
	return rd_index_find(en->t, table_at(en, table), "ext", en->im->who.vendor, ext, strlen(ext) + 1, id);
}

/* A row's own record by its external id (lookup_ext), answered from
 * memory in a first import: 2.4 k instructions a row were the index's. */
static bool own_seen(struct engine *en, const char *ext, bool add);

static int own_lookup(struct engine *en, const char *ext, uint64_t *id)
{
	if (!en->own_known) {
		struct rd_iter it;
		struct rd_item item;
		int rc = rd_iter_index(&it, en->t, table_at(en, en->k->table), "ext", en->im->who.vendor, NULL, 0, NULL, 0);
		if (rc >= 0) {
			it.keys_only = true;
			rc = rd_iter_next(&it, &item);
		}
		rd_iter_close(&it);
		if (rc < 0)
			return rc;
		en->own_known = true;
		en->own_empty = rc == 0;
	}
	if (en->own_empty && !own_seen(en, ext, false))
		return RD_ENOTFOUND;
	return lookup_ext(en, en->k->table, ext, id);
}

/* Whether ext's fingerprint is among own_new's (add: put it there). */
static bool own_seen(struct engine *en, const char *ext, bool add)
{
	uint64_t h = hash_str(ext);
	uint32_t fp = (uint32_t)(h >> 32) ? (uint32_t)(h >> 32) : 1;
	if (add && 4 * (en->own_n + 1) > 3 * en->own_cap) {
		size_t cap = en->own_cap ? 2 * en->own_cap : 4096;
		uint32_t *t = rd_calloc(cap, sizeof *t);
		for (size_t i = 0; i < en->own_cap; i++)
			if (en->own_new[i]) {
				size_t at = en->own_new[i] & (cap - 1);
				while (t[at])
					at = (at + 1) & (cap - 1);
				t[at] = en->own_new[i];
			}
		free(en->own_new);
		en->own_new = t;
		en->own_cap = cap;
	}
	if (!en->own_cap)
		return false;
	size_t at = fp & (en->own_cap - 1);
	for (; en->own_new[at]; at = (at + 1) & (en->own_cap - 1))
		if (en->own_new[at] == fp)
			return true;
	if (add) {
		en->own_new[at] = fp;
		en->own_n++;
	}
	return false;
}

/* A row sent on as new under external id ext. */
static void own_sent(struct engine *en, const char *ext)
{
	if (en->own_empty && ext && *ext)
		own_seen(en, ext, true);
}

static const struct ref_col *ref_column(enum rd_resource res, const char *name)
{
	for (size_t i = 0; i < sizeof refs / sizeof *refs; i++)
		if (refs[i].res == res && strcmp(refs[i].column, name) == 0)
			return &refs[i];
	return NULL;
}

/* "price_annual_GBP" -> term and currency. */
static bool price_column(const char *name, uint8_t *term, char cur[4])
{
	static const char *const terms[] = { "", "annual", "quarterly", "monthly", "flex" };
	if (strncmp(name, "price_", 6) != 0)
		return false;
	const char *t = name + 6, *us = strrchr(t, '_');
	if (!us || strlen(us + 1) != 3)
		return false;
	for (uint8_t i = 1; i < 5; i++)
		if ((size_t)(us - t) == strlen(terms[i]) && strncmp(t, terms[i], (size_t)(us - t)) == 0) {
			*term = i;
			memcpy(cur, us + 1, 4);
			return rd_money_currency_valid(cur);
		}
	return false;
}

/* "price_annual_XYZ": a price column but for three capitals that are not an
 * active ISO 4217 currency (its own error, not "unknown column"). */
static bool price_currency_unknown(const struct kind *k, const char *name)
{
	uint8_t term;
	char cur[4];
	size_t n = strlen(name);
	if (k->res != RD_RES_PRODUCT || n < 4 || price_column(name, &term, cur))
		return false;
	for (size_t i = n - 3; i < n; i++) /* three capitals, as a code is written; else an unknown column */
		if (name[i] < 'A' || name[i] > 'Z')
			return false;
	char probe[128];
	snprintf(probe, sizeof probe, "%.*sUSD", (int)(n - 3), name);
	return name[n - 4] == '_' && price_column(probe, &term, cur);
}

/* Is this a column the kind understands?  (Checked once, on the header.) */
static bool known_column(const struct kind *k, const char *name)
{
	uint8_t term;
	char cur[4];
	if (ref_column(k->res, name))
		return true;
	if (k->res == RD_RES_PRODUCT &&
	    (price_column(name, &term, cur) || !strcmp(name, "upsell_skus") || !strcmp(name, "crosssell_skus")))
		return true;
	/* Not the list fields (prices, upsell, crosssell): a file gives those as
	 * price_<term>_<CUR> and *_skus columns, and would otherwise lose them. */
	for (size_t i = 0; i < k->e->n_fields; i++)
		if (!strcmp(k->e->fields[i].json, name) && k->e->fields[i].no != 1 &&
		    !(k->e->fields[i].flags & RD_FF_READONLY) && k->e->fields[i].type != RD_F_PRICES &&
		    k->e->fields[i].type != RD_F_IDS)
			return true;
	return false;
}

static void resolve_column(const struct kind *k, const char *name, struct colspec *cs)
{
	memset(cs, 0, sizeof *cs);
	cs->ext = !strcmp(name, k->ext);
	if ((cs->ref = ref_column(k->res, name))) {
		cs->kind = COL_REF;
		return;
	}
	if (k->res == RD_RES_PRODUCT) {
		if (price_column(name, &cs->term, cs->cur)) {
			cs->kind = COL_PRICE;
			return;
		}
		if (!strcmp(name, "upsell_skus") || !strcmp(name, "crosssell_skus")) {
			cs->kind = name[0] == 'u' ? COL_UPSELL : COL_CROSSSELL;
			return;
		}
	}
	cs->kind = COL_FIELD;
	cs->f = rd_entity_field(k->e, name);
}

/* Applies one cell (column col, resolved as cs) to the record being built. */
static int apply_cell(struct engine *en, const struct colspec *cs, const char *col, const char *text)
{
	const struct kind *k = en->k;
	char why[256];
	const struct ref_col *rc = cs->ref;
	if (cs->kind == COL_REF) {
		uint64_t id;
		int r = lookup_ext(en, rc->table, text, &id);
		if (r < 0 && r != RD_ENOTFOUND)
			return en->rc = r; /* the store failed: the whole import fails, no row is blamed */
		if (r < 0) {
			row_error(en, col, "%s \"%.64s\" names no record", col, text);
			return RD_EINVAL;
		}
		*(uint64_t *)(en->obj + rc->off) = id;
		return 0;
	}
	if (k->res == RD_RES_PRODUCT) {
		struct rd_product *p = (struct rd_product *)en->obj;
		uint8_t term = cs->term;
		const char *cur = cs->cur;
		if (cs->kind == COL_PRICE) {
			char *end;
			long long amount = strtoll(text, &end, 10);
			if (*end || end == text || amount < 0) {
				row_error(en, col, "%s must be an amount in minor units (a whole number >= 0)", col);
				return RD_EINVAL;
			}
			int slot = -1;
			for (int i = 0; i < p->n_prices; i++)
				if (p->prices[i].term == term && !strcmp(p->prices[i].currency, cur))
					slot = i;
			if (slot < 0) {
				if (p->n_prices == RD_MAX_PRICES) {
					row_error(en, col, "a product has at most %d prices", RD_MAX_PRICES);
					return RD_EINVAL;
				}
				slot = p->n_prices++;
			}
			memcpy(p->prices[slot].currency, cur, 4);
			p->prices[slot].term = term;
			p->prices[slot].amount = amount;
			return 0;
		}
		bool up = cs->kind == COL_UPSELL;
		if (up || cs->kind == COL_CROSSSELL) {
			uint8_t *n = up ? &p->n_upsell : &p->n_crosssell;
			uint64_t *ids = up ? p->upsell : p->crosssell;
			*n = 0;
			char sku[RD_EXT_MAX];
			for (const char *s = text; *s;) {
				size_t len = strcspn(s, "; ");
				if (len && len < sizeof sku) {
					memcpy(sku, s, len);
					sku[len] = 0;
					uint64_t id;
					if (lookup_ext(en, k->table, sku, &id) < 0 || *n == RD_MAX_RELATED) {
						row_error(en, col, "%s: \"%s\" is not a known SKU (or more than %d)", col, sku,
							  RD_MAX_RELATED);
						return RD_EINVAL;
					}
					ids[(*n)++] = id;
				}
				s += len;
				while (*s == ';' || *s == ' ')
					s++;
			}
			return 0;
		}
	}
	int r = rd_field_set_text(cs->f, en->obj, text, why, sizeof why);
	if (r < 0) {
		row_error(en, col, "%s", r == RD_ENOTFOUND ? "not a column of this kind" : why);
		return RD_EINVAL;
	}
	return 0;
}

static int hold_conflicts(struct engine *en, uint64_t contract);

static void take_old(struct engine *en, const struct rd_contract *c)
{
	memset(en->old, 0, sizeof(struct rd_contract));
	memcpy(en->old, c, sizeof *c);
}

/* A stored contract with x's serial or licence key: its id in *id (0:
 * none) and the record in en->old.  Several contracts may share a key (a
 * renewed term keeps its licence): the one of x's end date, else the only
 * one; more than one and none of x's end date is RD_EEXISTS (ambiguous).
 * Each entry's record is read and compared, so a stale entry never
 * matches. */
static int match_licence(struct engine *en, const struct rd_contract *x, uint64_t *id, unsigned *found)
{
	*id = 0;
	*found = 0;
	if (!x->licence_key[0])
		return 0;
	size_t kl = strlen(x->licence_key) + 1;
	struct rd_iter it;
	struct rd_item item;
	struct rd_contract *c = rd_malloc(sizeof *c);
	uint64_t only = 0;
	bool same_end = false;
	int rc = rd_iter_index(&it, en->t, en->im->app->domain->contracts, RD_IDX_CONTRACT_LICENCE, en->im->who.vendor,
			       x->licence_key, kl, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != kl || memcmp(item.key, x->licence_key, kl) != 0)
			break;
		if (rd_entity_decode(&rd_entity_contract, item.val, item.len, c) < 0 || strcmp(c->licence_key, x->licence_key))
			continue;
		(*found)++;
		if (x->end && c->end == x->end && !same_end) {
			same_end = true;
			*id = item.id;
			take_old(en, c);
		} else if (!same_end && *found == 1) {
			only = item.id;
			take_old(en, c);
		}
	}
	rd_iter_close(&it);
	free(c);
	if (rc < 0)
		return rc;
	if (!same_end && *found == 1)
		*id = only;
	return !*id && *found > 1 ? RD_EEXISTS : 0;
}

/* A stored contract of the same customer, product and end date as x; its
 * id in *id (0: none) and the record in en->old. */
static int match_contract(struct engine *en, const struct rd_contract *x, uint64_t *id)
{
	*id = 0;
	if (!x->customer_id || !x->product_id || !x->end)
		return 0;
	uint8_t key[8];
	rd_key_put_u64(key, x->customer_id);
	struct rd_iter it;
	struct rd_item item;
	struct rd_contract *c = rd_malloc(sizeof *c);
	int rc = rd_iter_index(&it, en->t, en->im->app->domain->contracts, "customer", en->im->who.vendor, key, 8, NULL, 0);
	while (rc >= 0 && !*id && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8) != 0)
			break;
		if (rd_entity_decode(&rd_entity_contract, item.val, item.len, c) == 0 && c->product_id == x->product_id &&
		    c->end == x->end) {
			*id = item.id;
			take_old(en, c);
		}
	}
	rd_iter_close(&it);
	free(c);
	return rc < 0 ? rc : 0;
}

static bool sent_has(const struct engine *en, uint64_t id)
{
	if (!en->sent_cap)
		return false;
	for (size_t i = (id * 0x9e3779b97f4a7c15ull) & (en->sent_cap - 1);; i = (i + 1) & (en->sent_cap - 1)) {
		if (en->sent[i] == id)
			return true;
		if (!en->sent[i])
			return false;
	}
}

static void sent_add(struct engine *en, uint64_t id)
{
	if (sent_has(en, id))
		return;
	if (2 * (en->sent_n + 1) > en->sent_cap) {
		size_t cap = en->sent_cap ? 2 * en->sent_cap : 1024;
		uint64_t *old = en->sent, *t = rd_calloc(cap, sizeof *t);
		size_t was = en->sent_cap;
		en->sent = t;
		en->sent_cap = cap;
		en->sent_n = 0;
		for (size_t i = 0; i < was; i++)
			if (old[i])
				sent_add(en, old[i]);
		free(old);
	}
	size_t i = (id * 0x9e3779b97f4a7c15ull) & (en->sent_cap - 1);
	while (en->sent[i])
		i = (i + 1) & (en->sent_cap - 1);
	en->sent[i] = id;
	en->sent_n++;
}

/* The stored record id of the row's kind, decoded into en->obj; its bytes
 * kept in en->stored for stored_same (nothing is written between). */
static int read_stored(struct engine *en, uint64_t id)
{
	const void *val;
	size_t len;
	int rc = rd_txn_get(en->t, table_at(en, en->k->table), en->im->who.vendor, id, &val, &len);
	if (rc < 0)
		return rc;
	if (len > en->stored_cap)
		en->stored = rd_realloc(en->stored, en->stored_cap = len);
	if (len)
		memcpy(en->stored, val, len);
	en->stored_len = len;
	en->stored_id = id;
	return rd_entity_decode(en->k->e, en->stored, len, en->obj);
}

/* Whether the record the sink would write for an existing row (its id put
 * back in) is byte for byte the stored one: then nothing is written. */
static int stored_same(struct engine *en, uint64_t id)
{
	const void *val;
	size_t len;
	int rc = 0;
	if (id && id == en->stored_id) { /* read by this row: the copy */
		val = en->stored;
		len = en->stored_len;
	} else {
		rc = rd_txn_get(en->t, table_at(en, en->k->table), en->im->who.vendor, id, &val, &len);
	}
	if (rc < 0)
		return rc == RD_ENOTFOUND ? 0 : rc;
	const uint8_t *rec = en->w.buf, *st = val;
	uint8_t idf[16];
	size_t idn = 1 + rd_uvarint_put(idf + 1, id);
	idf[0] = 1 << 3 | RD_WIRE_UINT; /* as rd_import_apply writes it: header, field 1, then the rest */
	return len == en->w.len + idn && !memcmp(st, rec, RD_REC_HEADER) && !memcmp(st + RD_REC_HEADER, idf, idn) &&
	       !memcmp(st + RD_REC_HEADER + idn, rec + RD_REC_HEADER, en->w.len - RD_REC_HEADER);
}

/* Builds, checks and hands on one row: cells[i] belongs to column names[i],
 * resolved as specs[i]. */
static void process_row(struct engine *en, char **names, const struct colspec *specs, char **cells, size_t n)
{
	const struct kind *k = en->k;
	struct rd_import *im = en->im;
	atomic_fetch_add(&im->rows, 1);
	if (atomic_load(&im->cancel)) {
		snprintf(im->fatal, sizeof im->fatal, "cancelled: renewd is stopping");
		return;
	}
	/* Whole-row checks first. */
	for (size_t i = 0; i < n; i++)
		if (cells[i] && !valid_utf8((const unsigned char *)cells[i], strlen(cells[i]))) {
			row_error(en, names[i], "the value is not valid UTF-8");
			return;
		}
	const char *ext = NULL;
	for (size_t i = 0; i < n; i++)
		if (specs[i].ext && cells[i] && *cells[i])
			ext = cells[i];
	const char *row_ext = ext; /* the row's own: a refusal never names a contract of another channel */
	uint64_t existing = 0;
	memset(en->obj, 0, k->e->size);
	en->stored_id = 0;
	if (ext) {
		int r = own_lookup(en, ext, &existing);
		if (r == 0 && (r = read_stored(en, existing)) < 0) {
			en->rc = r;
			return;
		}
		if (r < 0 && r != RD_ENOTFOUND) {
			en->rc = r;
			return;
		}
	}
	memcpy(en->old, en->obj, k->e->size);
	for (size_t i = 0; i < n; i++)
		if (cells[i] && *cells[i] && apply_cell(en, &specs[i], names[i], cells[i]) < 0)
			return;
	char stored_ext[RD_EXT_MAX];
	if (im->feed_source && !existing) {
		/* No contract by that external id (a partner's own numbering):
		 * the same serial or licence key is the same contract; without
		 * one, the same customer, product and end date. */
		unsigned n_keyed;
		const struct rd_contract *x = (const struct rd_contract *)en->obj;
		int r = match_licence(en, x, &existing, &n_keyed);
		if (r == RD_EEXISTS) {
			row_error(en, "licence_key",
				  "licence_key \"%.64s\" names %u contracts and none ends on the row's end date: which one is meant is unclear",
				  x->licence_key, n_keyed);
			return;
		}
		if (r == 0 && !existing)
			r = match_contract(en, x, &existing);
		if (r < 0) {
			en->rc = r;
			return;
		}
		if (existing) {
			memcpy(en->obj, en->old, k->e->size);
			for (size_t i = 0; i < n; i++)
				if (cells[i] && *cells[i] && apply_cell(en, &specs[i], names[i], cells[i]) < 0)
					return;
			struct rd_contract *y = (struct rd_contract *)en->obj;
			memcpy(y->external_id, ((struct rd_contract *)en->old)->external_id, sizeof y->external_id);
			memcpy(stored_ext, y->external_id, sizeof stored_ext);
			ext = stored_ext;
		}
	}
	if (im->feed_source && im->feed_partner && im->feed_partner_kind == RD_PARTNER_RESELLER &&
	    !((struct rd_contract *)en->obj)->reseller_id)
		((struct rd_contract *)en->obj)->reseller_id = im->feed_partner; /* a reseller's own contract */
	const char *missing = rd_record_missing(k->res, en->obj);
	if (missing) {
		row_error(en, missing, "%s is required", missing);
		return;
	}
	struct rd_serr e = { 0 };
	if (im->feed_source && im->feed_partner && existing) {
		/* A partner feeds only its own channel's contracts. */
		const struct rd_contract *was = (const struct rd_contract *)en->old;
		if (was->reseller_id != im->feed_partner && was->distributor_id != im->feed_partner) {
			if (row_ext)
				row_error(en, k->ext, "contract \"%.64s\" belongs to another partner's channel: a partner feeds its own contracts only",
					  row_ext);
			else
				row_error(en, k->ext, "the row's contract belongs to another partner's channel: a partner feeds its own contracts only");
			return;
		}
	}
	int prc = rd_record_prepare_seen(en->t, im->app, &im->who, &im->vendor, k->res, en->obj, existing ? en->old : NULL,
					 &en->seen, &e);
	if (prc < 0 && prc != RD_EINVAL) {
		en->rc = prc; /* the store failed: the whole import fails, no row is blamed */
		return;
	}
	if (prc < 0) {
		row_error(en, e.field, "%s", e.message);
		return;
	}
	if (im->feed_source) {
		struct rd_contract *x = (struct rd_contract *)en->obj;
		if (im->feed_partner && (im->feed_partner_kind == RD_PARTNER_RESELLER ? x->reseller_id != im->feed_partner
										   : x->distributor_id != im->feed_partner)) {
			row_error(en, im->feed_partner_kind == RD_PARTNER_RESELLER ? "reseller_external_id" : "distributor_external_id",
				  "the contract would belong to another partner's channel: a %s feeds its own contracts only",
				  im->feed_partner_kind == RD_PARTNER_RESELLER ? "reseller" : "distributor");
			return;
		}
		if (existing && (en->rc = hold_conflicts(en, existing)) < 0)
			return;
		x->feed_sources |= im->feed_source;
		if (existing && !memcmp(en->obj, en->old, k->e->size)) {
			im->rows_ok++;
			im->rows_unchanged++; /* a re-sent row: nothing to write */
			return;
		}
		uint64_t now = rd_clock_now();
		if (im->feed_source == RD_FEED_VENDOR)
			x->received_vendor = now;
		else if (im->feed_source == RD_FEED_DISTRIBUTOR)
			x->received_distributor = now;
		else
			x->received_reseller = now;
	}
	/* Encoded without its id: the sink knows (or allocates) it. */
	uint64_t id = *(uint64_t *)en->obj;
	*(uint64_t *)en->obj = 0;
	rd_entity_encode(k->e, en->obj, &en->w);
	*(uint64_t *)en->obj = id;
	if (existing && !im->feed_source && !sent_has(en, existing)) {
		/* A re-sent row: its record as stored, nothing to write (a feed's
		 * rows were compared above, before their received time). */
		int same = stored_same(en, existing);
		if (same < 0) {
			en->rc = same;
			return;
		}
		if (same) {
			im->rows_ok++;
			im->rows_unchanged++;
			return;
		}
	}
	/* The existing id is the external id's look-up in en->t unless a feed
	 * matched the row by licence or by customer, product and end date. */
	im->ext_found_in = ext && ext == row_ext ? en->t : NULL;
	int r = im->sink(im->sink_ctx, en->t, existing, ext ? ext : "", en->w.buf, en->w.len, en->obj);
	im->ext_found_in = NULL;
	if (r < 0) {
		en->rc = r;
		return;
	}
	if (existing && !im->feed_source)
		sent_add(en, existing);
	if (!existing)
		own_sent(en, ext);
	im->rows_ok++;
}

/* ---- partner feeds: the mapping -------------------------------------------------- */

/* The next "from=to" entry of a mapping (entries end at ';' or a newline);
 * false at the end.  Spaces around names are not part of them. */
static bool mapping_next(const char **s, char *from, size_t fcap, char *to, size_t tcap, bool *bad)
{
	const char *p = *s;
	while (*p == ';' || *p == '\n' || *p == '\r' || *p == ' ')
		p++;
	if (!*p)
		return false;
	size_t len = strcspn(p, ";\n");
	*s = p + len;
	const char *eq = memchr(p, '=', len);
	*bad = !eq;
	from[0] = to[0] = 0;
	if (!eq)
		return true;
	const char *a = p, *ae = eq, *b = eq + 1, *be = p + len;
	while (ae > a && ae[-1] == ' ')
		ae--;
	while (b < be && *b == ' ')
		b++;
	while (be > b && (be[-1] == ' ' || be[-1] == '\r'))
		be--;
	if (ae == a || be == b || (size_t)(ae - a) >= fcap || (size_t)(be - b) >= tcap) {
		*bad = true;
		return true;
	}
	memcpy(from, a, (size_t)(ae - a));
	from[ae - a] = 0;
	memcpy(to, b, (size_t)(be - b));
	to[be - b] = 0;
	return true;
}

const char *rd_feed_mapping_problem(const char *mapping, char *buf, size_t cap)
{
	const struct kind *k = kind_of(RD_RES_CONTRACT);
	char from[128], to[128];
	bool bad;
	const char *s = mapping;
	while (mapping_next(&s, from, sizeof from, to, sizeof to, &bad)) {
		if (bad) {
			snprintf(buf, cap, "each entry of a feed mapping is \"its column=renewd column\" (separated by ;)");
			return buf;
		}
		if (!known_column(k, to)) {
			snprintf(buf, cap, "the feed mapping maps \"%.64s\" to \"%.64s\", which is not a contracts column", from, to);
			return buf;
		}
	}
	return NULL;
}

/* A header name through the partner's mapping: the renewd column, or the
 * name itself when the mapping does not name it. */
static const char *map_column(const char *mapping, const char *name, char *out, size_t cap)
{
	char from[128], to[128];
	bool bad;
	const char *s = mapping;
	while (mapping_next(&s, from, sizeof from, to, sizeof to, &bad))
		if (!bad && !strcmp(from, name)) {
			snprintf(out, cap, "%s", to);
			return out;
		}
	return name;
}

/* ---- partner feeds: precedence and the review queue --------------------------------- */

static const char default_precedence[] =
	"customer_id=reseller;product_id=vendor;reseller_id=vendor;distributor_id=distributor;quantity=vendor;"
	"start=vendor;end=vendor;term=vendor;currency=vendor;status=vendor;flags=vendor;licence_key=vendor";

static uint8_t source_named(const char *name)
{
	return !strcmp(name, "vendor") ? RD_FEED_VENDOR : !strcmp(name, "distributor") ? RD_FEED_DISTRIBUTOR
	       : !strcmp(name, "reseller") ? RD_FEED_RESELLER : 0;
}

static uint8_t owner_in(const char *table, const char *field)
{
	char from[128], to[128];
	bool bad;
	const char *s = table;
	while (mapping_next(&s, from, sizeof from, to, sizeof to, &bad))
		if (!bad && !strcmp(from, field))
			return source_named(to);
	return 0;
}

uint8_t rd_feed_owner(const struct rd_vendor *v, const char *field)
{
	uint8_t o = v ? owner_in(v->feed_precedence, field) : 0;
	return o ? o : owner_in(default_precedence, field);
}

const char *rd_feed_precedence_problem(const char *table, char *buf, size_t cap)
{
	char from[128], to[128];
	bool bad;
	const char *s = table;
	while (mapping_next(&s, from, sizeof from, to, sizeof to, &bad)) {
		if (bad || !source_named(to)) {
			snprintf(buf, cap, "each entry of feed_precedence is \"field=vendor|distributor|reseller\" (separated by ;)");
			return buf;
		}
		if (!owner_in(default_precedence, from)) {
			snprintf(buf, cap, "feed_precedence names \"%.64s\", which is not a contract field a feed sets", from);
			return buf;
		}
	}
	return NULL;
}

/* A field's value as text, from a record's JSON. */
static void value_text(json_t *rec, const char *field, char *out, size_t cap)
{
	json_t *v = json_object_get(rec, field);
	out[0] = 0;
	if (json_is_string(v))
		snprintf(out, cap, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_array(v)) {
		size_t i, n = 0;
		json_t *it;
		json_array_foreach(v, i, it) if (json_is_string(it) && n < cap)
			n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ";" : "", json_string_value(it));
	}
}

/* Whether a review of this contract's field with this proposed value was
 * ever queued (open or decided): a re-sent file queues nothing again. */
static int review_known(struct engine *en, uint64_t contract, const char *field, const char *proposed)
{
	struct rd_feed_review *r = rd_malloc(sizeof *r);
	struct rd_iter it;
	struct rd_item item;
	int found = 0, rc = rd_iter_records(&it, en->t, en->im->app->domain->feed_reviews, en->im->who.vendor, 0);
	while (rc >= 0 && !found && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_feed_review, item.val, item.len, r) == 0 && r->contract_id == contract &&
		    !strcmp(r->field, field) && !strcmp(r->proposed, proposed))
			found = 1;
	rd_iter_close(&it);
	free(r);
	return rc < 0 ? rc : found;
}

/* For a feed row that updates a stored contract: each changed field that
 * the feed's source does not own, and that held a value, keeps the stored
 * value; the feed's value goes to the review queue instead. */
static int hold_conflicts(struct engine *en, uint64_t contract)
{
	struct rd_import *im = en->im;
	const struct rd_entity *e = &rd_entity_contract;
	json_t *jn = NULL, *jo = NULL;
	int rc = 0;
	for (size_t i = 0; i < e->n_fields && rc >= 0; i++) {
		const struct rd_field *f = &e->fields[i];
		uint8_t owner = owner_in(default_precedence, f->json) ? rd_feed_owner(&im->vendor, f->json) : 0;
		if (!owner || owner == im->feed_source || !memcmp(en->obj + f->off, en->old + f->off, f->size))
			continue;
		bool was_empty = true;
		for (size_t b = 0; b < f->size; b++)
			if (en->old[f->off + b])
				was_empty = false;
		if (was_empty)
			continue; /* filling a gap is no conflict */
		if (!jn) {
			jn = rd_entity_to_json(e, en->obj);
			jo = rd_entity_to_json(e, en->old);
		}
		char cur[128], prop[128];
		value_text(jo, f->json, cur, sizeof cur);
		value_text(jn, f->json, prop, sizeof prop);
		memcpy(en->obj + f->off, en->old + f->off, f->size);
		rc = review_known(en, contract, f->json, prop);
		for (size_t k = 0; rc == 0 && k < json_array_size(im->reviews); k++) {
			json_t *q = json_array_get(im->reviews, k);
			if (json_integer_value(json_object_get(q, "contract_id")) == (json_int_t)contract &&
			    !strcmp(json_string_value(json_object_get(q, "field")), f->json) &&
			    !strcmp(json_string_value(json_object_get(q, "proposed")), prop))
				rc = 1;
		}
		if (rc == 0)
			json_array_append_new(im->reviews, json_pack("{s:I, s:s, s:s, s:s, s:i}", "contract_id",
								     (json_int_t)contract, "field", f->json, "current",
								     cur, "proposed", prop, "owner", owner));
	}
	json_decref(jn);
	json_decref(jo);
	return rc < 0 ? rc : 0;
}

/* ---- CSV ---------------------------------------------------------------------- */

static void csv_cell(void *data, size_t len, void *arg)
{
	struct engine *en = arg;
	en->row_len += len + 1;
	if (en->n_cells == MAX_COLS) {
		en->row_too_wide = true;
		return;
	}
	if (len && !en->nul_cell && memchr(data, 0, len))
		en->nul_cell = en->n_cells + 1; /* C strings would silently cut the value short */
	/* The row's values, one after another in one buffer (not a malloc per
	 * value): csv_row points cells at them. */
	while (en->rowbuf_len + len + 1 > en->rowbuf_cap)
		en->rowbuf = rd_realloc(en->rowbuf, en->rowbuf_cap = en->rowbuf_cap ? 2 * en->rowbuf_cap : 4096);
	if (len)
		memcpy(en->rowbuf + en->rowbuf_len, data, len);
	en->rowbuf[en->rowbuf_len + len] = 0;
	en->cell_off[en->n_cells++] = en->rowbuf_len;
	en->rowbuf_len += len + 1;
}

static void free_cells(struct engine *en)
{
	for (size_t i = 0; en->cells_owned && i < en->n_cells; i++)
		free(en->cells[i]);
	en->cells_owned = false;
	en->rowbuf_len = 0;
	en->n_cells = 0;
	en->row_too_wide = false;
	en->nul_cell = 0;
}

static void csv_row(int c, void *arg)
{
	struct engine *en = arg;
	for (size_t i = 0; i < en->n_cells; i++)
		en->cells[i] = en->rowbuf + en->cell_off[i];
	en->row++;
	en->row_bytes = 0;
	size_t row_len = en->row_len ? en->row_len - 1 : 0; /* the last value has no separator after it */
	en->row_len = 0;
	if (!en->im->fatal[0] && row_len > RD_IMPORT_MAX_ROW)
		snprintf(en->im->fatal, sizeof en->im->fatal, "row %llu is longer than %d bytes",
			 (unsigned long long)en->row, RD_IMPORT_MAX_ROW);
	if (en->rc < 0 || en->im->fatal[0]) {
		free_cells(en);
		return;
	}
	if (!en->have_header) {
		en->have_header = true;
		if (en->row_too_wide || en->nul_cell) {
			if (en->row_too_wide)
				snprintf(en->im->fatal, sizeof en->im->fatal, "row 1: more than %d columns", MAX_COLS);
			else
				snprintf(en->im->fatal, sizeof en->im->fatal, "row 1: a column name holds a NUL byte");
			free_cells(en);
			return;
		}
		for (size_t i = 0; i < en->n_cells; i++) /* the header's names are kept: each its own copy */
			en->cells[i] = rd_strdup(en->cells[i]);
		en->cells_owned = true;
		for (size_t i = 0; i < en->n_cells; i++) {
			char *name = en->cells[i];
			if (i == 0 && (unsigned char)name[0] == 0xef && (unsigned char)name[1] == 0xbb &&
			    (unsigned char)name[2] == 0xbf)
				memmove(name, name + 3, strlen(name + 3) + 1); /* UTF-8 byte order mark */
			if (en->im->feed_source && en->im->feed_mapping[0]) {
				char mapped[128];
				const char *m = map_column(en->im->feed_mapping, name, mapped, sizeof mapped);
				if (m != name) {
					free(name);
					name = en->cells[i] = rd_strdup(m);
				}
			}
			if (price_currency_unknown(en->k, name)) {
				snprintf(en->im->fatal, sizeof en->im->fatal,
					 "row 1: column \"%.64s\": \"%.3s\" is not an active ISO 4217 currency code (such as EUR, JPY)",
					 name, name + strlen(name) - 3);
				break;
			}
			if (!known_column(en->k, name)) {
				if (en->im->feed_source) {
					snprintf(en->im->fatal, sizeof en->im->fatal,
						 "row 1: unknown column \"%.64s\": neither in the partner's feed mapping nor a contracts column",
						 name);
					break;
				}
				snprintf(en->im->fatal, sizeof en->im->fatal, "row 1: unknown column \"%.64s\" for %s (see docs/imports.md)",
					 name, en->k->name);
				break;
			}
			for (size_t j = 0; j < i; j++)
				if (!strcmp(en->cols[j], name)) {
					snprintf(en->im->fatal, sizeof en->im->fatal, "row 1: column \"%.64s\" appears twice", name);
					break;
				}
			resolve_column(en->k, name, &en->specs[en->n_cols]);
			en->cols[en->n_cols++] = name;
			en->cells[i] = NULL;
		}
		free_cells(en);
		return;
	}
	if (en->n_cells == 1 && en->cells[0][0] == 0) { /* a blank line */
		free_cells(en);
		return;
	}
	if (en->row_too_wide || en->n_cells != en->n_cols) {
		atomic_fetch_add(&en->im->rows, 1);
		row_error(en, NULL, "the row has %zu%s fields, the header %zu", en->n_cells, en->row_too_wide ? "+" : "",
			  en->n_cols);
		free_cells(en);
		return;
	}
	if (en->nul_cell) {
		atomic_fetch_add(&en->im->rows, 1);
		row_error(en, en->cols[en->nul_cell - 1], "the value holds a NUL byte");
		free_cells(en);
		return;
	}
	process_row(en, en->cols, en->specs, en->cells, en->n_cells);
	free_cells(en);
}

static int run_csv(struct engine *en, rd_import_read_fn read, void *ctx)
{
	struct csv_parser p;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		return -ENOMEM;
	csv_set_blk_size(&p, 65536); /* libcsv grows a value's buffer by this much: not 128 bytes at a time */
	char buf[65536];
	long n;
	while (en->rc >= 0 && !en->im->fatal[0] && (n = read(ctx, buf, sizeof buf)) > 0) {
		atomic_fetch_add(&en->im->bytes_done, (uint64_t)n);
		size_t done = csv_parse(&p, buf, (size_t)n, csv_cell, csv_row, en);
		en->row_bytes += (size_t)n;
		if (done != (size_t)n) {
			snprintf(en->im->fatal, sizeof en->im->fatal, "row %llu: %s; the rest of the file cannot be read",
				 (unsigned long long)en->row + 1, csv_strerror(csv_error(&p)));
			break;
		}
		/* A row that has not ended within the limit (plus the chunk the
		 * count started in) never will: an unclosed quote, or no newlines. */
		if (en->row_bytes > RD_IMPORT_MAX_ROW + sizeof buf) {
			snprintf(en->im->fatal, sizeof en->im->fatal, "row %llu is longer than %d bytes (an unclosed quote?)",
				 (unsigned long long)en->row + 1, RD_IMPORT_MAX_ROW);
			break;
		}
		if (n < 0)
			break;
	}
	if (!en->im->fatal[0] && en->rc >= 0 && csv_fini(&p, csv_cell, csv_row, en) != 0)
		snprintf(en->im->fatal, sizeof en->im->fatal, "row %llu: %s (an unclosed quote at the end of the file)",
			 (unsigned long long)en->row + 1, csv_strerror(csv_error(&p)));
	free_cells(en);
	csv_free(&p);
	if (!en->have_header && !en->im->fatal[0])
		snprintf(en->im->fatal, sizeof en->im->fatal, "the file is empty: a CSV import starts with a header row");
	return 0;
}

/* ---- JSON Lines -------------------------------------------------------------------- */

static void jsonl_line(struct engine *en, char *line, size_t len)
{
	en->row++;
	if (len && line[len - 1] == '\r')
		line[--len] = 0;
	if (en->row == 1 && len >= 3 && (unsigned char)line[0] == 0xef && (unsigned char)line[1] == 0xbb &&
	    (unsigned char)line[2] == 0xbf) {
		line += 3;
		len -= 3;
	}
	size_t sp = 0;
	while (sp < len && (line[sp] == ' ' || line[sp] == '\t'))
		sp++;
	if (sp == len)
		return; /* blank */
	atomic_fetch_add(&en->im->rows, 1);
	json_error_t je;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!o || !json_is_object(o)) {
		/* process_row counts rows itself; undo the count for this error */
		if (o)
			row_error(en, NULL, "the line is not a JSON object");
		else
			row_error(en, NULL, "malformed JSON at column %d: %s", je.column, je.text);
		json_decref(o);
		return;
	}
	atomic_fetch_sub(&en->im->rows, 1);
	char *names[MAX_COLS], *cells[MAX_COLS];
	struct colspec specs[MAX_COLS];
	size_t n = 0;
	const char *key;
	json_t *v;
	bool bad = false;
	json_object_foreach(o, key, v) {
		/* key walks the object: the renewd name is another variable */
		const char *given = key, *name = key;
		char mapped[128];
		if (en->im->feed_source && en->im->feed_mapping[0])
			name = map_column(en->im->feed_mapping, key, mapped, sizeof mapped);
		if (price_currency_unknown(en->k, name)) {
			atomic_fetch_add(&en->im->rows, 1);
			row_error(en, given, "field \"%.64s\": \"%.3s\" is not an active ISO 4217 currency code (such as EUR, JPY)",
				  name, name + strlen(name) - 3);
			bad = true;
			break;
		}
		if (n == MAX_COLS || !known_column(en->k, name)) {
			atomic_fetch_add(&en->im->rows, 1);
			if (en->im->feed_source)
				row_error(en, given,
					  "unknown field \"%.64s\": neither in the partner's feed mapping nor a contracts column",
					  given);
			else
				row_error(en, name, "unknown field \"%.64s\" for %s (or more than %d fields)", name, en->k->name,
					  MAX_COLS);
			bad = true;
			break;
		}
		bool twice = false;
		for (size_t i = 0; i < n; i++)
			twice |= !strcmp(names[i], name);
		if (twice) {
			atomic_fetch_add(&en->im->rows, 1);
			row_error(en, given, "field \"%.64s\" is given twice (through the feed mapping)", name);
			bad = true;
			break;
		}
		char buf[64];
		const char *text;
		if (json_is_string(v)) {
			text = json_string_value(v);
		} else if (json_is_integer(v)) {
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			text = buf;
		} else if (json_is_array(v)) { /* flags, SKU lists */
			size_t i, total = 1;
			json_t *it;
			bool strings = true;
			json_array_foreach(v, i, it) strings &= json_is_string(it);
			if (!strings) { /* not dropped in silence */
				atomic_fetch_add(&en->im->rows, 1);
				row_error(en, name, "%s must be a list of strings", name);
				bad = true;
				break;
			}
			json_array_foreach(v, i, it) total += (json_is_string(it) ? json_string_length(it) : 0) + 1;
			char *joined = rd_malloc(total);
			joined[0] = 0;
			json_array_foreach(v, i, it) {
				if (!json_is_string(it))
					continue;
				if (i)
					strcat(joined, ";");
				strcat(joined, json_string_value(it));
			}
			resolve_column(en->k, name, &specs[n]);
			names[n] = rd_strdup(name);
			cells[n++] = joined;
			continue;
		} else if (json_is_null(v)) {
			continue;
		} else {
			atomic_fetch_add(&en->im->rows, 1);
			row_error(en, name, "%s must be a string, a whole number or a list of strings", name);
			bad = true;
			break;
		}
		resolve_column(en->k, name, &specs[n]);
		names[n] = rd_strdup(name);
		cells[n++] = rd_strdup(text);
	}
	if (!bad)
		process_row(en, names, specs, cells, n);
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		free(cells[i]);
	}
	json_decref(o);
}

static int run_jsonl(struct engine *en, rd_import_read_fn read, void *ctx)
{
	size_t cap = 65536, len = 0;
	char *line = rd_malloc(cap);
	char buf[65536];
	long n;
	while (en->rc >= 0 && !en->im->fatal[0] && (n = read(ctx, buf, sizeof buf)) > 0) {
		atomic_fetch_add(&en->im->bytes_done, (uint64_t)n);
		for (long i = 0; i < n && en->rc >= 0; i++) {
			if (buf[i] != '\n') {
				if (len >= RD_IMPORT_MAX_ROW) {
					snprintf(en->im->fatal, sizeof en->im->fatal, "line %llu is longer than %d bytes",
						 (unsigned long long)en->row + 1, RD_IMPORT_MAX_ROW);
					break;
				}
				if (len + 1 >= cap)
					line = rd_realloc(line, cap *= 2);
				line[len++] = buf[i];
				continue;
			}
			line[len] = 0;
			jsonl_line(en, line, len);
			len = 0;
		}
		if (en->im->fatal[0])
			break;
	}
	if (len && en->rc >= 0 && !en->im->fatal[0]) {
		line[len] = 0;
		jsonl_line(en, line, len);
	}
	free(line);
	return 0;
}

void rd_import_reset(struct rd_import *im)
{
	atomic_store(&im->rows, 0);
	atomic_store(&im->bytes_done, 0);
	im->rows_ok = im->rows_failed = im->rows_unchanged = 0;
	if (im->feed_source) {
		json_decref(im->reviews);
		im->reviews = json_array();
	}
	im->fatal[0] = 0;
	json_decref(im->errors);
	im->errors = json_array();
}

int rd_import_run(struct rd_import *im, struct rd_txn *t, rd_import_read_fn read, void *read_ctx)
{
	struct engine *en = rd_calloc(1, sizeof *en);
	en->im = im;
	en->k = kind_of(im->res);
	en->t = t;
	rd_import_reset(im);
	if (!en->k) {
		free(en);
		return RD_EINVAL;
	}
	if (im->csv)
		run_csv(en, read, read_ctx);
	else
		run_jsonl(en, read, read_ctx);
	for (size_t i = 0; i < en->n_cols; i++)
		free(en->cols[i]);
	rd_rec_writer_free(&en->w);
	for (size_t i = 0; i < sizeof en->maps / sizeof *en->maps; i++)
		ref_map_free(&en->maps[i]);
	free(en->own_new);
	free(en->sent);
	rd_record_seen_free(&en->seen);
	free(en->stored);
	free(en->rowbuf);
	int rc = en->rc;
	free(en);
	return rc;
}

int rd_import_apply(struct rd_import *im, struct rd_txn *t, uint64_t existing_id, const char *ext, const uint8_t *rec,
		    size_t len, bool *created)
{
	const struct kind *k = kind_of(im->res);
	struct rd_table *tb = *(struct rd_table **)((char *)im->app->domain + k->table);
	uint64_t vendor = im->who.vendor, id = existing_id;
	int rc;
	/* A bulk load (store.h): new records appended, their index entries
	 * sorted and inserted at the commit; the external id index stays live,
	 * for the look-ups below and the engine's. */
	static const char *const live[] = { "ext", NULL };
	if (!im->row_at_a_time && (rc = rd_txn_bulk_begin(t, tb, vendor, live)) < 0)
		return rc;
	if (*ext && im->ext_found_in != t) {
		rc = rd_index_find(t, tb, "ext", vendor, ext, strlen(ext) + 1, &id);
		if (rc == RD_ENOTFOUND)
			id = 0;
		else if (rc < 0)
			return rc;
	}
	*created = id == 0;
	if (!id && (rc = rd_txn_next_id(t, tb, vendor, &id)) < 0)
		return rc;
	/* A contract the file moves to another customer takes its
	 * opportunities (and what hangs off them) along (services/merge.c). */
	struct rd_contract was = { 0 };
	if (im->res == RD_RES_CONTRACT && !*created &&
	    (rc = rd_entity_get(t, tb, &rd_entity_contract, vendor, id, &was)) < 0 && rc != RD_ENOTFOUND)
		return rc;
	/* The record with its id: header, field 1, then the rest. */
	uint8_t stack[1024];
	size_t need = len + 12;
	uint8_t *buf = need <= sizeof stack ? stack : rd_malloc(need);
	memcpy(buf, rec, RD_REC_HEADER);
	buf[RD_REC_HEADER] = 1 << 3 | RD_WIRE_UINT;
	size_t n = RD_REC_HEADER + 1 + rd_uvarint_put(buf + RD_REC_HEADER + 1, id);
	memcpy(buf + n, rec + RD_REC_HEADER, len - RD_REC_HEADER);
	n += len - RD_REC_HEADER;
	rc = rd_txn_put(t, tb, vendor, id, buf, n, *created ? RD_PUT_NEW : 0);
	struct rd_contract now;
	if (rc >= 0 && was.id && rd_entity_decode(&rd_entity_contract, buf, n, &now) == 0 &&
	    now.customer_id != was.customer_id)
		rc = rd_contract_moved(t, im->app->domain, &im->who, id, now.customer_id);
	if (buf != stack)
		free(buf);
	return rc;
}

/* ---- the daemon's import jobs ------------------------------------------------------- */

struct op {
	uint64_t existing;
	uint32_t ext_len, rec_len; /* ext (NUL-terminated) then the record, in the job's buffer */
};

struct job {
	struct rd_import im;
	uv_work_t uv;
	struct rd_import_rec rec; /* the stored import record */
	char *data;               /* the uploaded file (owned) */
	size_t len, pos;
	bool dry_run;
	uint64_t created, updated;
	/* valid rows, in order */
	struct op *ops;
	size_t n_ops, cap_ops;
	uint8_t *buf;
	size_t buf_len, buf_cap;
	double started;
	rd_feed_done_fn done;     /* a drop folder's feed: told the outcome */
	void *done_arg;
	/* stored with the running record (an inbound batch's inbox entry) */
	int (*with_record)(struct rd_txn *t, void *arg, const struct rd_import_rec *r, struct rd_serr *e);
	void *with_arg;
	struct rd_serr *e;        /* start's, while job_create runs */
	struct job *next;
	/* The outcome, decided and stored by the worker (job_work): the loop
	 * only hears of it in job_after. */
	_Atomic bool writing;     /* the rows are being written (progress "phase") */
	_Atomic uint64_t written; /* rows written so far in the write */
	bool finished;            /* job_work stored the outcome */
	int rc;                   /* the outcome's write: < 0 nothing applied */
};

static struct job *running; /* loop thread only */

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long read_memory(void *ctx, char *out, size_t cap)
{
	struct job *j = ctx;
	size_t n = j->len - j->pos < cap ? j->len - j->pos : cap;
	memcpy(out, j->data + j->pos, n);
	j->pos += n;
	return (long)n;
}

static int keep_op(void *ctx, struct rd_txn *t, uint64_t existing, const char *ext, const uint8_t *rec, size_t len,
		   const void *obj)
{
	struct job *j = ctx;
	size_t el = strlen(ext) + 1, need = el + len;
	if (j->n_ops == j->cap_ops)
		j->ops = rd_realloc(j->ops, (j->cap_ops = j->cap_ops ? 2 * j->cap_ops : 1024) * sizeof *j->ops);
	while (j->buf_len + need > j->buf_cap)
		j->buf = rd_realloc(j->buf, j->buf_cap = j->buf_cap ? 2 * j->buf_cap : 65536);
	memcpy(j->buf + j->buf_len, ext, el);
	memcpy(j->buf + j->buf_len + el, rec, len);
	j->buf_len += need;
	j->ops[j->n_ops++] = (struct op){ existing, (uint32_t)el, (uint32_t)len };
	if (existing)
		j->updated++;
	else
		j->created++;
	return 0;
}

static void job_work(uv_work_t *w)
{
	struct job *j = w->data;
	struct rd_txn *t;
	int rc = rd_store_read(j->im.app->store, &t);
	if (rc < 0) {
		snprintf(j->im.fatal, sizeof j->im.fatal, "the store could not be read: %s", rd_strerror(rc));
		return;
	}
	rc = rd_import_run(&j->im, t, read_memory, j);
	rd_txn_end(t);
	if (rc < 0 && !j->im.fatal[0])
		snprintf(j->im.fatal, sizeof j->im.fatal, "the import failed: the store failed (%s): no row is at fault, "
			 "try the import again", rd_strerror(rc));
	free(j->data); /* the parse is done: give the upload's memory back */
	j->data = NULL;
}

static void job_finish(struct job *j, bool cancelled);

/* On a thread of libuv's pool: the rows are checked against a read
 * transaction, then written (or the outcome stored) in one write
 * transaction on this same thread; the loop serves other requests all the
 * while.  job_after hears of it on the loop. */
static void job_run(uv_work_t *w)
{
	struct job *j = w->data;
	job_work(w);
	job_finish(j, false);
}

static int store_record(struct rd_txn *t, struct job *j)
{
	return rd_entity_put(t, j->im.app->domain->imports, &rd_entity_import, j->im.who.vendor, &j->rec, 0);
}

static int job_apply(struct rd_txn *t, void *arg)
{
	struct job *j = arg;
	size_t off = 0;
	j->created = j->updated = 0;
	atomic_store(&j->written, 0);
	for (size_t i = 0; i < j->n_ops; i++) {
		/* A stop (SIGTERM) rolls the write back: nothing of it is applied. */
		if ((i & 63) == 0) {
			if (atomic_load(&j->im.cancel))
				return RD_EBUSY;
			atomic_store(&j->written, (uint64_t)i);
		}
		const char *ext = (const char *)j->buf + off;
		bool created;
		int rc = rd_import_apply(&j->im, t, j->ops[i].existing, ext, j->buf + off + j->ops[i].ext_len,
					 j->ops[i].rec_len, &created);
		if (rc < 0)
			return rc;
		off += j->ops[i].ext_len + j->ops[i].rec_len;
		if (created)
			j->created++;
		else
			j->updated++;
	}
	atomic_store(&j->written, (uint64_t)j->n_ops);
	j->rec.created = j->created;
	j->rec.updated = j->updated;
	/* The values held for review, in the same transaction as the rows. */
	for (size_t i = 0; i < json_array_size(j->im.reviews); i++) {
		json_t *q = json_array_get(j->im.reviews, i);
		struct rd_feed_review rv = { 0 };
		rv.contract_id = (uint64_t)json_integer_value(json_object_get(q, "contract_id"));
		snprintf(rv.field, sizeof rv.field, "%s", json_string_value(json_object_get(q, "field")));
		snprintf(rv.current, sizeof rv.current, "%s", json_string_value(json_object_get(q, "current")));
		snprintf(rv.proposed, sizeof rv.proposed, "%s", json_string_value(json_object_get(q, "proposed")));
		rv.owner = (uint8_t)json_integer_value(json_object_get(q, "owner"));
		rv.source = j->im.feed_source;
		rv.import_id = j->rec.id;
		rv.partner_id = j->im.feed_partner;
		rv.state = RD_REVIEW_OPEN;
		rv.created_at = rd_clock_now();
		int r = rd_entity_put(t, j->im.app->domain->feed_reviews, &rd_entity_feed_review, j->im.who.vendor, &rv,
				      RD_PUT_NEW);
		if (r < 0)
			return r;
	}
	int rc = store_record(t, j);
	if (rc < 0)
		return rc;
	return rd_audit_write(t, j->im.app->domain, j->im.who.vendor, j->im.who.user, RD_AUDIT_IMPORT,
			      "imports", j->rec.id, NULL, NULL, j->rec.message);
}

static int job_record(struct rd_txn *t, void *arg)
{
	return store_record(t, arg);
}

/* Decides the import's outcome and stores it: its rows and its record in
 * one transaction when it applies, else the record alone.  On the worker
 * (job_run), or on the loop for an import cancelled before it began. */
static void job_finish(struct job *j, bool cancelled)
{
	struct rd_import_rec *r = &j->rec;
	r->rows = atomic_load(&j->im.rows);
	r->rows_ok = j->im.rows_ok;
	r->rows_failed = j->im.rows_failed;
	r->unchanged = j->im.rows_unchanged;
	r->queued = json_array_size(j->im.reviews);
	/* Keep as many of the first errors as the record holds (not none when
	 * a hundred long messages overflow it). */
	char *errs = json_dumps(j->im.errors, JSON_COMPACT);
	while (errs && strlen(errs) >= sizeof r->errors && json_array_size(j->im.errors)) {
		free(errs);
		json_array_remove(j->im.errors, json_array_size(j->im.errors) - 1);
		errs = json_dumps(j->im.errors, JSON_COMPACT);
	}
	if (errs && strlen(errs) < sizeof r->errors)
		memcpy(r->errors, errs, strlen(errs) + 1);
	else
		snprintf(r->errors, sizeof r->errors, "[]");
	free(errs);
	r->finished_at = rd_clock_now();
	double secs = mono() - j->started;
	int rc = 0;
	bool worker = !cancelled;
	if (cancelled || j->im.fatal[0] || atomic_load(&j->im.cancel)) {
		r->status = RD_IMPORT_FAILED;
		snprintf(r->message, sizeof r->message, "nothing applied: %.220s",
			 cancelled || atomic_load(&j->im.cancel) ? "the import was cancelled (renewd is stopping)" : j->im.fatal);
		rd_utf8_mend(r->message); /* a quoted column name cut at 64 bytes, or this cut, may split a character */
	} else if (j->dry_run) {
		r->status = RD_IMPORT_SUCCEEDED;
		r->created = j->created;
		r->updated = j->updated;
		snprintf(r->message, sizeof r->message,
			 "dry run, nothing written: %llu row(s) would apply (%llu new, %llu updates), %llu with errors",
			 (unsigned long long)r->rows_ok, (unsigned long long)j->created, (unsigned long long)j->updated,
			 (unsigned long long)r->rows_failed);
	} else if (j->im.atomic_mode && r->rows_failed) {
		r->status = RD_IMPORT_FAILED;
		snprintf(r->message, sizeof r->message, "nothing applied: %llu row(s) have errors (atomic import)",
			 (unsigned long long)r->rows_failed);
	} else {
		r->status = RD_IMPORT_SUCCEEDED;
		snprintf(r->message, sizeof r->message, "%llu row(s) applied in %.2f s, %llu with errors skipped",
			 (unsigned long long)r->rows_ok, secs, (unsigned long long)r->rows_failed);
		/* The rows, their reviews, the record and the audit entry: one
		 * transaction, all or nothing, written here on the worker. */
		atomic_store(&j->writing, true);
		rc = rd_store_write_long(j->im.app->store, job_apply, j);
		atomic_store(&j->writing, false);
		if (rc < 0) {
			bool stop = atomic_load(&j->im.cancel);
			r->status = RD_IMPORT_FAILED;
			r->created = r->updated = 0;
			if (stop)
				snprintf(r->message, sizeof r->message,
					 "nothing applied: the import was cancelled (renewd is stopping)");
			else
				snprintf(r->message, sizeof r->message, "nothing applied: the write failed: %s", rd_strerror(rc));
		}
	}
	if (r->status != RD_IMPORT_SUCCEEDED)
		r->queued = 0; /* nothing was applied, nothing queued */
	int wrc = 0;
	if (r->status != RD_IMPORT_SUCCEEDED || j->dry_run || rc < 0)
		wrc = worker ? rd_store_write_long(j->im.app->store, job_record, j)
			     : rd_store_write(j->im.app->store, job_record, j);
	if (wrc < 0)
		rd_log(RD_LOG_ERROR, "import", "import %llu: the result could not be stored: %s (a restart marks it failed)",
		       (unsigned long long)r->id, rd_strerror(wrc));
	j->rc = rc < 0 ? rc : wrc;
	j->finished = true;
}

static void job_after(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct rd_import_rec *r = &j->rec;
	if (!j->finished) /* cancelled before it began: nothing was checked */
		job_finish(j, true);
	int rc = j->rc;
	rd_log(RD_LOG_INFO, "import", "import %llu (%s, %s): %s", (unsigned long long)r->id, r->kind, r->format, r->message);
	for (struct job **p = &running; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	if (j->done)
		j->done(j->done_arg, r, status != 0 || atomic_load(&j->im.cancel) || rc < 0);
	json_decref(j->im.errors);
	json_decref(j->im.reviews);
	free(j->data);
	free(j->ops);
	free(j->buf);
	free(j);
}

static json_t *import_json(const struct rd_import_rec *r, const struct job *live)
{
	json_t *j = rd_entity_to_json(&rd_entity_import, r);
	json_t *errs = json_loads(r->errors[0] ? r->errors : "[]", 0, NULL);
	json_object_set_new(j, "errors", errs ? errs : json_array());
	json_object_set_new(j, "dry_run", json_boolean(r->dry_run));
	json_object_set_new(j, "atomic", json_boolean(r->atomic));
	if (live) {
		/* Running until the loop hears the worker is done (job_after), also
		 * when the stored record already says how it ended: a client that
		 * sees it finished finds the store's writer free again. */
		json_object_set_new(j, "status", json_string("running"));
		uint64_t rows = atomic_load(&live->im.rows), bytes = atomic_load(&live->im.bytes_done);
		uint64_t written = atomic_load(&live->written);
		bool writing = atomic_load(&live->writing);
		double secs = mono() - live->started;
		json_object_set_new(j, "rows", json_integer((json_int_t)rows));
		json_object_set_new(j, "progress", json_pack("{s:I, s:I, s:f, s:f, s:s, s:I}", "bytes_done", (json_int_t)bytes,
							      "bytes_total", (json_int_t)live->im.bytes_total, "percent",
							      live->im.bytes_total ? 100.0 * (double)bytes / (double)live->im.bytes_total : 0.0,
							      "rows_per_second", secs > 0 ? (double)rows / secs : 0.0,
							      "phase", writing ? "writing" : "checking",
							      "rows_written", (json_int_t)written));
	}
	return j;
}

static int job_create(struct rd_txn *t, void *arg)
{
	struct job *j = arg;
	int rc = store_record(t, j);
	if (rc == 0 && j->with_record) {
		j->e->rc = 0;
		rc = j->with_record(t, j->with_arg, &j->rec, j->e);
	}
	return rc;
}

struct feed {
	uint8_t source, partner_kind;
	uint64_t partner;
	const char *mapping;
	const struct rd_feed_opts *o;
};

static int start(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v, enum rd_resource res,
		 bool csv, bool dry_run, bool atomic, const void *data, size_t len, const struct feed *feed,
		 struct rd_import_rec *out, struct rd_serr *e)
{
	if (!kind_of(res))
		return rd_serr_set(e, RD_EINVAL, "invalid", "kind", "only customers, contacts, products and contracts are imported");
	if (len == 0)
		return rd_serr_set(e, RD_EINVAL, "invalid", NULL, "the file to import is empty");
	struct job *j = rd_calloc(1, sizeof *j);
	j->im.app = app;
	j->im.who = *who;
	j->im.vendor = *v;
	j->dry_run = dry_run;
	j->im.atomic_mode = atomic;
	j->im.res = res;
	j->im.csv = csv;
	j->im.sink = keep_op;
	j->im.sink_ctx = j;
	j->im.bytes_total = len;
	j->im.errors = json_array();
	j->e = e;
	if (feed) {
		j->im.feed_source = feed->source;
		j->im.feed_partner = feed->partner;
		j->im.feed_partner_kind = feed->partner_kind;
		snprintf(j->im.feed_mapping, sizeof j->im.feed_mapping, "%s", feed->mapping);
		j->rec.source = feed->source;
		j->rec.partner_id = feed->partner;
		j->done = feed->o->done;
		j->done_arg = feed->o->done_arg;
		j->with_record = feed->o->with_record;
		j->with_arg = feed->o->with_arg;
	}
	j->data = rd_malloc(len ? len : 1);
	memcpy(j->data, data, len);
	j->len = len;
	j->started = mono();
	struct rd_import_rec *r = &j->rec;
	snprintf(r->kind, sizeof r->kind, "%s", rd_import_kind_name(res));
	snprintf(r->format, sizeof r->format, "%s", csv ? "csv" : "jsonl");
	r->status = RD_IMPORT_RUNNING;
	r->dry_run = dry_run;
	r->atomic = atomic;
	r->user_id = who->user;
	r->bytes = len;
	r->started_at = rd_clock_now();
	snprintf(r->errors, sizeof r->errors, "[]");
	e->rc = 0;
	int rc = rd_store_write(app->store, job_create, j);
	if (rc < 0) {
		json_decref(j->im.errors);
		free(j->data);
		free(j);
		if (!e->rc && rc == RD_EBUSY) /* another import's rows are being written (rd_store_write_long) */
			return rd_serr_set(e, RD_EBUSY, "unavailable", NULL,
					   "another import's rows are being written: try again in a moment (Retry-After)");
		return e->rc ? e->rc : rd_serr_set(e, rc, "internal", NULL, "the import could not be stored: %s", rd_strerror(rc));
	}
	j->uv.data = j;
	*out = *r; /* before the worker may change it */
	atomic_init(&j->writing, false);
	atomic_init(&j->written, 0);
	if (uv_queue_work(app->loop, &j->uv, job_run, job_after) != 0) {
		json_decref(j->im.errors);
		free(j->data);
		free(j);
		return rd_serr_set(e, RD_EINTERNAL, "internal", NULL, "the import could not be queued");
	}
	j->next = running;
	running = j;
	return 0;
}

int rd_import_start(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v, enum rd_resource res,
		    bool csv, bool dry_run, bool atomic, const void *data, size_t len, struct rd_import_rec *out,
		    struct rd_serr *e)
{
	return start(app, who, v, res, csv, dry_run, atomic, data, len, NULL, out, e);
}

int rd_feed_start(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v, bool csv, bool dry_run,
		  const void *data, size_t len, struct rd_import_rec *out, struct rd_serr *e)
{
	struct rd_feed_opts o = { .format = csv ? RD_FEED_CSV : RD_FEED_JSONL, .dry_run = dry_run };
	return rd_feed_submit(app, who, v, &o, data, len, out, e);
}

int rd_feed_start_file(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v, const void *data,
		       size_t len, rd_feed_done_fn done, void *done_arg, struct rd_import_rec *out, struct rd_serr *e)
{
	struct rd_feed_opts o = { .format = RD_FEED_CSV, .done = done, .done_arg = done_arg };
	return rd_feed_submit(app, who, v, &o, data, len, out, e);
}

int rd_feed_submit(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v,
		   const struct rd_feed_opts *o, const void *data, size_t len, struct rd_import_rec *out,
		   struct rd_serr *e)
{
	struct feed f = { .source = RD_FEED_VENDOR, .mapping = "", .o = o };
	struct rd_partner *p = NULL;
	if (o->format != RD_FEED_CSV && o->format != RD_FEED_JSONL)
		return rd_serr_set(e, RD_EINVAL, "invalid", "format", "a feed is CSV (format=csv) or JSON Lines (format=jsonl)");
	if (who->partner) {
		p = rd_malloc(sizeof *p);
		struct rd_txn *t;
		int rc = rd_store_read(app->store, &t);
		if (rc == 0) {
			rc = rd_entity_get(t, app->domain->partners, &rd_entity_partner, who->vendor, who->partner, p);
			rd_txn_end(t);
		}
		if (rc < 0) {
			free(p);
			return rd_serr_set(e, rc == RD_ENOTFOUND ? RD_EINVAL : rc, rc == RD_ENOTFOUND ? "invalid" : "internal",
					   NULL, "the sending partner could not be read");
		}
		f.partner = p->id;
		f.partner_kind = p->kind;
		f.source = p->kind == RD_PARTNER_DISTRIBUTOR ? RD_FEED_DISTRIBUTOR : RD_FEED_RESELLER;
		f.mapping = p->feed_mapping;
		char why[256];
		if (rd_feed_mapping_problem(p->feed_mapping, why, sizeof why)) {
			int r = rd_serr_set(e, RD_EINVAL, "invalid", "feed_mapping", "nothing applied: %s (the vendor keeps the mapping)", why);
			free(p);
			return r;
		}
	}
	int rc = start(app, who, v, RD_RES_CONTRACT, o->format == RD_FEED_CSV, o->dry_run, true, data, len, &f, out, e);
	free(p);
	return rc;
}

json_t *rd_import_json(uint64_t vendor, const struct rd_import_rec *r)
{
	const struct job *live = NULL;
	for (const struct job *j = running; j; j = j->next)
		if (j->rec.id == r->id && j->im.who.vendor == vendor)
			live = j;
	return import_json(r, live);
}

/* ---- start-up ----------------------------------------------------------------------------- */

struct recover {
	struct rd_app *app;
	unsigned n;
};

static int recover_fn(struct rd_txn *t, void *arg)
{
	struct recover *rv = arg;
	struct rd_domain *d = rv->app->domain;
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_iter vit, it;
	struct rd_item v, item;
	int rc = rd_iter_records(&vit, t, d->vendors, 0, 0);
	rv->n = 0;
	while (rc >= 0 && (rc = rd_iter_next(&vit, &v)) > 0) {
		/* Collect first, then rewrite: never write under a live cursor. */
		uint64_t ids[256];
		size_t n = 0;
		rc = rd_iter_records(&it, t, d->imports, v.id, 0);
		while (rc >= 0 && n < 256 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_import, item.val, item.len, r) == 0 && r->status == RD_IMPORT_RUNNING)
				ids[n++] = item.id;
		rd_iter_close(&it);
		for (size_t i = 0; rc >= 0 && i < n; i++) {
			if ((rc = rd_entity_get(t, d->imports, &rd_entity_import, v.id, ids[i], r)) < 0)
				break;
			r->status = RD_IMPORT_FAILED;
			r->finished_at = rd_clock_now();
			snprintf(r->message, sizeof r->message, "nothing applied: renewd stopped before the import finished");
			rc = rd_entity_put(t, d->imports, &rd_entity_import, v.id, r, 0);
			rv->n++;
		}
	}
	rd_iter_close(&vit);
	free(r);
	return rc < 0 ? rc : 0;
}

int rd_imports_recover(struct rd_app *app)
{
	struct recover rv = { app, 0 };
	int rc = rd_store_write(app->store, recover_fn, &rv);
	if (rc == 0 && rv.n)
		rd_log(RD_LOG_WARN, "import", "%u import(s) interrupted by a stop were marked failed", rv.n);
	return rc;
}

bool rd_imports_busy(void)
{
	return running != NULL;
}

void rd_imports_cancel(void)
{
	for (struct job *j = running; j; j = j->next) {
		atomic_store(&j->im.cancel, true);
		uv_cancel((uv_req_t *)&j->uv);
	}
}

/* ---- partner feeds: deciding a review ------------------------------------------------ */

struct decide {
	struct rd_app *app;
	const struct rd_actor *who;
	const struct rd_vendor *v;
	uint64_t id;
	bool take;
	struct rd_feed_review *out;
	struct rd_serr *e;
};

static int decide_fn(struct rd_txn *t, void *arg)
{
	struct decide *dc = arg;
	struct rd_domain *d = dc->app->domain;
	struct rd_feed_review *r = dc->out;
	uint64_t vendor = dc->who->vendor;
	int rc = rd_entity_get(t, d->feed_reviews, &rd_entity_feed_review, vendor, dc->id, r);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(dc->e, RD_ENOTFOUND, "not_found", "id", "no such review");
	if (rc < 0)
		return rc;
	if (r->state != RD_REVIEW_OPEN)
		return rd_serr_set(dc->e, RD_EEXISTS, "conflict", "id", "the review was already decided (%s)",
				   r->state == RD_REVIEW_TAKEN ? "the proposed value was taken" : "the stored value was kept");
	if (dc->take) {
		struct rd_contract *c = rd_malloc(sizeof *c), *old = rd_malloc(sizeof *old);
		char why[256];
		rc = rd_entity_get(t, d->contracts, &rd_entity_contract, vendor, r->contract_id, c);
		if (rc == RD_ENOTFOUND)
			rc = rd_serr_set(dc->e, RD_EINVAL, "invalid", "contract_id", "the contract is gone");
		if (rc == 0) {
			*old = *c;
			if (rd_entity_set_text(&rd_entity_contract, c, r->field, r->proposed, why, sizeof why) < 0)
				rc = rd_serr_set(dc->e, RD_EINVAL, "invalid", r->field, "%s", why);
		}
		if (rc == 0)
			rc = rd_record_prepare(t, dc->app, dc->who, dc->v, RD_RES_CONTRACT, c, old, dc->e);
		if (rc == 0) {
			if (r->source == RD_FEED_VENDOR)
				c->received_vendor = rd_clock_now();
			else if (r->source == RD_FEED_DISTRIBUTOR)
				c->received_distributor = rd_clock_now();
			else
				c->received_reseller = rd_clock_now();
			rc = rd_entity_put(t, d->contracts, &rd_entity_contract, vendor, c, 0);
		}
		if (rc == 0) {
			json_t *before = json_pack("{s:s}", r->field, r->current), *after = json_pack("{s:s}", r->field, r->proposed);
			rc = rd_audit_write(t, d, vendor, dc->who->user, RD_AUDIT_UPDATE, "contracts", c->id, before, after,
					    "a feed's value taken from the review queue");
			json_decref(before);
			json_decref(after);
		}
		free(c);
		free(old);
		if (rc < 0)
			return rc;
	}
	r->state = dc->take ? RD_REVIEW_TAKEN : RD_REVIEW_KEPT;
	r->decided_at = rd_clock_now();
	r->decided_by = dc->who->user;
	return rd_entity_put(t, d->feed_reviews, &rd_entity_feed_review, vendor, r, 0);
}

int rd_feed_review_decide(struct rd_app *app, const struct rd_actor *who, const struct rd_vendor *v, uint64_t id,
			  bool take, struct rd_feed_review *out, struct rd_serr *e)
{
	struct decide dc = { app, who, v, id, take, out, e };
	int rc = rd_store_write(app->store, decide_fn, &dc);
	if (rc < 0 && !e->rc)
		rd_serr_set(e, rc, "internal", NULL, "the review could not be decided: %s", rd_strerror(rc));
	return rc;
}
