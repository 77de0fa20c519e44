/*
 * test_jsonw.c: the field-table JSON writer (core/domain/jsonw.c) against
 * the jansson path it replaces on the API's reads: for every entity of the
 * model, records whose every field holds tricky values (empty and
 * full-length strings, quotes, backslashes, slashes, every control
 * character, DEL, non-ASCII, emoji, bytes that are not UTF-8, the integer
 * extremes, zero and odd dates, enum values in and out of range, every flag,
 * prices, ids and quote lines with margins, absent references) must give
 * byte for byte what json_dumps(rd_entity_to_json(), JSON_COMPACT) gives,
 * and the same with the contract's extra "colour" key.  Strings alone are
 * compared with jansson over every byte and many random byte runs.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "domain/jsonw.h"
#include "domain/model.h"
#include "domain/quote.h"
#include "store/record.h"
#include "unit.h"

static const struct rd_entity *const entities[] = {
	&rd_entity_vendor, &rd_entity_partner, &rd_entity_customer, &rd_entity_product, &rd_entity_contract,
	&rd_entity_user, &rd_entity_token, &rd_entity_contact, &rd_entity_audit, &rd_entity_import,
	&rd_entity_policy, &rd_entity_plugin_kv, &rd_entity_enablement, &rd_entity_opportunity, &rd_entity_action,
	&rd_entity_message, &rd_entity_task, &rd_entity_link, &rd_entity_order, &rd_entity_document,
	&rd_entity_commission, &rd_entity_statement, &rd_entity_deal, &rd_entity_lead, &rd_entity_lead_assignment,
	&rd_entity_hook_sub, &rd_entity_hook_delivery, &rd_entity_hook_inbox, &rd_entity_feed_review,
	&rd_entity_operator_token,
};

static uint64_t seed = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static const char *const tricky[] = {
	"",
	"plain",
	"\"quoted\" and \\back\\slashed",
	"a/b </script> http://x/y",
	"\x01\x02\x03\x04\x05\x06\x07\b\t\n\x0b\f\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f",
	"caf\xc3\xa9 M\xc3\xbcller \xe6\x97\xa5\xe6\x9c\xac \xd0\x9f\xd1\x80\xd0\xb8",
	"emoji \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd end",
	"\xef\xbb\xbf BOM and U+2028 \xe2\x80\xa8 U+FFFF \xef\xbf\xbf max \xf4\x8f\xbf\xbf",
	"bad \xff byte",
	"overlong \xc0\xaf",
	"surrogate \xed\xa0\x80",
	"cut \xe6\x97",
	"past max \xf4\x90\x80\x80",
	"lone continuation \x80",
	"=cmd|' /C calc'!A0",
	"1e308",
};
#define N_TRICKY (sizeof tricky / sizeof *tricky)

/* A string member of cap bytes: a tricky value, or (sometimes) filled to
 * the last byte without a terminator (strnlen's edge). */
static void set_str(char *p, size_t cap)
{
	memset(p, 0, cap);
	uint64_t r = rnd() % (N_TRICKY + 2);
	if (r == N_TRICKY) {
		for (size_t i = 0; i < cap; i++)
			p[i] = (char)('a' + i % 26);
		return;
	}
	if (r == N_TRICKY + 1) { /* a multi-byte character cut by the member's end */
		for (size_t i = 0; i + 1 < cap; i++)
			p[i] = 'x';
		if (cap >= 2)
			p[cap - 2] = '\xc3', p[cap - 1] = '\xa9';
		if (cap >= 3)
			p[cap - 1] = '\xe6';
		return;
	}
	size_t n = strlen(tricky[r]);
	memcpy(p, tricky[r], n < cap ? n : cap);
}

static uint64_t some_int(void)
{
	static const uint64_t v[] = { 0, 1, 9, 10, 255, 65535, 4294967295u, 4294967296ull, 9007199254740993ull,
				      INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX, 1712345678 };
	return rnd() % 3 == 0 ? rnd() : v[rnd() % (sizeof v / sizeof *v)];
}

static void set_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: *(uint16_t *)p = (uint16_t)v; break;
	case 4: *(uint32_t *)p = (uint32_t)v; break;
	default: *(uint64_t *)p = v; break;
	}
}

static void fill_margin(struct rd_quote_margin *m)
{
	m->n = (uint8_t)(rnd() % (RD_QUOTE_MAX_SHARES + 1));
	for (uint8_t k = 0; k < m->n; k++) {
		set_str(m->shares[k].party, sizeof m->shares[k].party);
		set_str(m->shares[k].reason, sizeof m->shares[k].reason);
		m->shares[k].bp = (int32_t)some_int();
		m->shares[k].amount = (int64_t)some_int();
	}
	m->channel_bp = (int32_t)some_int();
	m->net = (int64_t)some_int();
}

/* Every field of obj set at random among the tricky values; zero (absent)
 * one time in five. */
static void fill(const struct rd_entity *e, void *obj)
{
	char *base = obj;
	memset(obj, 0, e->size);
	for (size_t i = 0; i < e->n_fields; i++) {
		const struct rd_field *f = &e->fields[i];
		void *p = base + f->off;
		if (rnd() % 5 == 0)
			continue;
		switch (f->type) {
		case RD_F_U64:
		case RD_F_U32:
		case RD_F_TIME:
			set_uint(p, f->size, some_int());
			break;
		case RD_F_I32DATE: {
			static const int32_t d[] = { 1, -1, 19000, 20454, 2932896, INT32_MAX, INT32_MIN, -719468 };
			*(int32_t *)p = rnd() % 2 ? d[rnd() % 8] : (int32_t)(rnd() % 60000) - 10000;
			break;
		}
		case RD_F_U8ENUM:
			*(uint8_t *)p = (uint8_t)(rnd() % 4 == 0 ? rnd() : rnd() % 12);
			break;
		case RD_F_U8FLAGS:
			*(uint8_t *)p = (uint8_t)rnd();
			break;
		case RD_F_STR:
			set_str(p, f->size);
			break;
		case RD_F_PRICES: {
			struct rd_price *pr = p;
			size_t max = f->size / sizeof *pr;
			uint8_t n = (uint8_t)(rnd() % (max + 1));
			*(uint8_t *)(base + f->count_off) = n;
			for (uint8_t k = 0; k < n; k++) {
				static const char cur[][4] = { "EUR", "USD", "", "\xff\xfe", "JP" };
				memcpy(pr[k].currency, cur[rnd() % 5], sizeof pr[k].currency);
				pr[k].term = (uint8_t)(rnd() % 8);
				pr[k].amount = (int64_t)some_int();
			}
			break;
		}
		case RD_F_IDS: {
			size_t max = f->size / sizeof(uint64_t);
			uint8_t n = (uint8_t)(rnd() % (max + 1));
			*(uint8_t *)(base + f->count_off) = n;
			for (uint8_t k = 0; k < n; k++)
				((uint64_t *)p)[k] = some_int();
			break;
		}
		case RD_F_QUOTE: {
			struct rd_quote_line *l = p;
			size_t max = f->size / sizeof *l;
			uint8_t n = (uint8_t)(rnd() % (max < 6 ? max + 1 : 6));
			*(uint8_t *)(base + f->count_off) = n;
			for (uint8_t k = 0; k < n; k++) {
				l[k].kind = (uint8_t)(rnd() % 5);
				l[k].optional = rnd() % 2;
				l[k].selected = rnd() % 2;
				l[k].priced = (uint8_t)(rnd() % 8);
				set_str(l[k].sku, sizeof l[k].sku);
				set_str(l[k].description, sizeof l[k].description);
				l[k].quantity = (uint32_t)some_int();
				l[k].unit_list = (int64_t)some_int();
				l[k].list = (int64_t)some_int();
				fill_margin(&l[k].partner);
				fill_margin(&l[k].vendor);
				l[k].product_id = rnd() % 2 ? some_int() : 0;
				l[k].contract_id = rnd() % 2 ? some_int() : 0;
			}
			break;
		}
		case RD_F_BYTES:
		case RD_F_QUOTE_JSON:
			break; /* never shown */
		}
	}
}

/* A kept entry written whole gives want's bytes. */
static void assert_written_whole(const struct rd_jsonw_memo *m, const char *want)
{
	struct rd_jsonw w;
	rd_jsonw_init(&w, 1, NULL, NULL);
	rd_jsonw_memo_write_whole(&w, m);
	assert_int_equal(w.len, strlen(want));
	assert_memory_equal(w.buf, want, w.len);
	rd_jsonw_free(&w);
}

static char *tree_text(const struct rd_entity *e, const void *obj, const char *colour)
{
	json_t *j = rd_entity_to_json(e, obj);
	if (colour)
		json_object_set_new(j, "colour", json_string(colour));
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static void same(const struct rd_entity *e, const void *obj, const char *colour, int round)
{
	char *want = tree_text(e, obj, colour);
	struct rd_jsonw w;
	rd_jsonw_init(&w, rnd() % 2 ? 1 : 4096, NULL, NULL); /* a small start grows */
	rd_jsonw_entity(&w, e, obj, colour ? "colour" : NULL, colour);
	if (w.len != strlen(want) || memcmp(w.buf, want, w.len) != 0)
		fail_msg("%s round %d:\n jansson %s\n writer  %.*s", e->name, round, want, (int)w.len, w.buf);
	rd_jsonw_free(&w);
	free(want);
}

/* Every entity: an empty record, then many filled at random. */
static void test_every_entity_as_jansson(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof entities / sizeof *entities; k++) {
		const struct rd_entity *e = entities[k];
		void *obj = calloc(1, e->size);
		same(e, obj, NULL, -1);
		for (int round = 0; round < 400; round++) {
			fill(e, obj);
			same(e, obj, NULL, round);
			same(e, obj, round % 3 ? "amber" : "", round);
		}
		free(obj);
	}
}

/* Records of the kinds that go through the writer on every GET and list
 * really reach every branch: the sample sets carry the tricky values. */
static void test_tricky_strings_reach_the_output(void **state)
{
	(void)state;
	struct rd_contract c;
	memset(&c, 0, sizeof c);
	c.id = 1;
	strcpy(c.external_id, "\"\\/\x01\x1f\x7f\xc3\xa9\xf0\x9f\x98\x80");
	c.quantity = UINT32_MAX;
	struct rd_jsonw w;
	rd_jsonw_init(&w, 0, NULL, NULL);
	rd_jsonw_entity(&w, &rd_entity_contract, &c, "colour", "red");
	rd_jsonw_raw(&w, "", 1);
	assert_contains(w.buf, "\"external_id\":\"\\\"\\\\/\\u0001\\u001F\x7f\xc3\xa9\xf0\x9f\x98\x80\"");
	assert_contains(w.buf, "\"quantity\":4294967295");
	assert_contains(w.buf, "\"customer_id\":null");
	assert_contains(w.buf, ",\"colour\":\"red\"}");
	rd_jsonw_free(&w);
	/* An extra key that needs escaping (long, quoted, non-ASCII) and
	 * one that is not UTF-8 (left out with its value). */
	static const char *const keys[] = { "a \"quoted\" key\x01 caf\xc3\xa9 and a name longer than thirty-two bytes",
					    "bad \xff key", "" };
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
		json_t *j = rd_entity_to_json(&rd_entity_contract, &c);
		json_object_set_new(j, keys[k], json_string("v"));
		char *want = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		rd_jsonw_init(&w, 0, NULL, NULL);
		rd_jsonw_entity(&w, &rd_entity_contract, &c, keys[k], "v");
		if (w.len != strlen(want) || memcmp(w.buf, want, w.len) != 0)
			fail_msg("extra key %zu:\n jansson %s\n writer  %.*s", k, want, (int)w.len, w.buf);
		rd_jsonw_free(&w);
		free(want);
	}
	/* A string that is not UTF-8 leaves its key out, as jansson did. */
	strcpy(c.external_id, "bad \xff");
	char *want = tree_text(&rd_entity_contract, &c, NULL);
	assert_null(strstr(want, "external_id"));
	free(want);
}

static void str_same(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *want = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	struct rd_jsonw w;
	rd_jsonw_init(&w, 1, NULL, NULL);
	bool ok = rd_jsonw_str(&w, s, n);
	if (ok != (want != NULL))
		fail_msg("string of %zu bytes (first 0x%02x): jansson %s, writer %s", n, n ? (unsigned char)s[0] : 0,
			 want ? "takes it" : "refuses it", ok ? "takes it" : "refuses it");
	if (ok && (w.len != strlen(want) || memcmp(w.buf, want, w.len)))
		fail_msg("string: jansson %s, writer %.*s", want, (int)w.len, w.buf);
	if (!ok)
		assert_int_equal(w.len, 0);
	rd_jsonw_free(&w);
	free(want);
}

/* Each byte alone and after a lead byte, every two-byte pair starting above
 * 0xBF, and random runs of bytes weighted to UTF-8's edges. */
static void test_strings_as_jansson(void **state)
{
	(void)state;
	char b[8];
	for (int c = 0; c < 256; c++) {
		b[0] = (char)c;
		str_same(b, 1);
	}
	for (int c = 0xC0; c < 256; c++)
		for (int d = 0; d < 256; d++) {
			b[0] = (char)c, b[1] = (char)d;
			str_same(b, 2);
			b[2] = (char)0x80, b[3] = (char)0xBF;
			str_same(b, 3);
			str_same(b, 4);
		}
	static const unsigned char edge[] = { 0x00, 0x01, 0x1f, 0x20, 0x22, 0x2f, 0x5c, 0x7f, 0x80, 0x8f, 0x90,
					      0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0,
					      0xf4, 0xf5, 0xff, 'a' };
	for (int i = 0; i < 200000; i++) {
		size_t n = 1 + rnd() % 7;
		for (size_t k = 0; k < n; k++)
			b[k] = (char)(rnd() % 2 ? edge[rnd() % sizeof edge] : rnd());
		str_same(b, n);
	}
}

static void test_integers(void **state)
{
	(void)state;
	static const int64_t v[] = { 0, 1, -1, 9, 10, -10, INT64_MAX, INT64_MIN, INT64_MIN + 1, 4294967296 };
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		char want[32];
		snprintf(want, sizeof want, "%" JSON_INTEGER_FORMAT, (json_int_t)v[i]);
		struct rd_jsonw w;
		rd_jsonw_init(&w, 1, NULL, NULL);
		rd_jsonw_int(&w, v[i]);
		assert_int_equal(w.len, strlen(want));
		assert_memory_equal(w.buf, want, w.len);
		rd_jsonw_free(&w);
	}
}

/* Records' JSON kept per stored version (rd_jsonw_memo_*): for every
 * entity, records filled at random are encoded as the store keeps them,
 * decoded, kept, and written from the entry: the bytes are jansson's (with
 * and without the colour, and written whole with the tail kept by
 * rd_jsonw_memo_aux; a tail too long is not kept); the entry is found for those exact bytes only
 * (one byte changed, a byte more or less, another id, tenant or entity:
 * none). */
static void test_memo_writes_the_same_bytes(void **state)
{
	(void)state;
	unsigned kept = 0, tried = 0;
	for (size_t k = 0; k < sizeof entities / sizeof *entities; k++) {
		const struct rd_entity *e = entities[k];
		void *obj = calloc(1, e->size), *back = calloc(1, e->size);
		for (int round = 0; round < 60; round++) {
			if (round)
				fill(e, obj);
			struct rd_rec_writer rw = { 0 };
			rd_entity_encode(e, obj, &rw);
			if (rd_entity_decode(e, rw.buf, rw.len, back) < 0) {
				rd_rec_writer_free(&rw);
				continue;
			}
			uint64_t id = 1000 + (uint64_t)round, tenant = 7;
			struct rd_jsonw_memo *m = rd_jsonw_memo_put(e, tenant, id, rw.buf, rw.len, back);
			tried++;
			if (m) {
				kept++;
				assert_ptr_equal(rd_jsonw_memo_find(e, tenant, id, rw.buf, rw.len), m);
				for (int c = 0; c < 3; c++) {
					const char *colour = c == 0 ? NULL : c == 1 ? "amber" : "";
					char *want = tree_text(e, back, colour);
					struct rd_jsonw w;
					rd_jsonw_init(&w, rnd() % 2 ? 1 : 4096, NULL, NULL);
					rd_jsonw_memo_write(&w, m, colour ? "colour" : NULL, colour);
					if (w.len != strlen(want) || memcmp(w.buf, want, w.len) != 0)
						fail_msg("%s round %d:\n jansson %s\n memo    %.*s", e->name, round, want,
							 (int)w.len, w.buf);
					rd_jsonw_free(&w);
					/* Written whole: the tail kept with the aux. */
					assert_true(rd_jsonw_memo_aux(m, 100 + (uint64_t)c, (unsigned)c,
								      colour ? "colour" : NULL, colour));
					assert_true(m->aux_key == 100 + (uint64_t)c && m->aux_val == (unsigned)c);
					rd_jsonw_init(&w, rnd() % 2 ? 1 : 4096, NULL, NULL);
					rd_jsonw_memo_write_whole(&w, m);
					if (w.len != strlen(want) || memcmp(w.buf, want, w.len) != 0)
						fail_msg("%s round %d:\n jansson %s\n whole   %.*s", e->name, round, want,
							 (int)w.len, w.buf);
					rd_jsonw_free(&w);
					free(want);
				}
				/* A tail over RD_JSONW_MEMO_TAIL bytes is not kept: no aux, the
				 * entry written whole as the record alone. */
				char long_val[RD_JSONW_MEMO_TAIL + 1];
				memset(long_val, 'x', sizeof long_val - 1);
				long_val[sizeof long_val - 1] = 0;
				assert_false(rd_jsonw_memo_aux(m, 7, 1, "colour", long_val));
				assert_true(m->aux_key == 0);
				char *plain = tree_text(e, back, NULL);
				assert_written_whole(m, plain);
				free(plain);
				struct rd_jsonw w;
				/* Kept as it is written, with its aux: the tail taken from
				 * what was written. */
				char *red = tree_text(e, back, "red");
				rd_jsonw_init(&w, rnd() % 2 ? 1 : 4096, NULL, NULL);
				struct rd_jsonw_memo *k2 = rd_jsonw_entity_kept(&w, e, tenant, id, rw.buf, rw.len, back,
										"colour", "red", 55, 2);
				assert_int_equal(w.len, strlen(red));
				assert_memory_equal(w.buf, red, w.len);
				rd_jsonw_free(&w);
				assert_non_null(k2);
				assert_true(k2->aux_key == 55 && k2->aux_val == 2);
				assert_written_whole(k2, red);
				free(red);
				m = k2; /* the slot's entry now */
				assert_null(rd_jsonw_memo_find(e, tenant + 1, id, rw.buf, rw.len));
				assert_null(rd_jsonw_memo_find(e, tenant, id + 1, rw.buf, rw.len));
				assert_null(rd_jsonw_memo_find(entities[(k + 1) % (sizeof entities / sizeof *entities)], tenant,
							       id, rw.buf, rw.len));
				assert_null(rd_jsonw_memo_find(e, tenant, id, rw.buf, rw.len - 1));
				size_t at = rnd() % rw.len;
				rw.buf[at] ^= 0x01;
				assert_null(rd_jsonw_memo_find(e, tenant, id, rw.buf, rw.len));
				rw.buf[at] ^= 0x01;
				assert_ptr_equal(rd_jsonw_memo_find(e, tenant, id, rw.buf, rw.len), m);
			}
			rd_rec_writer_free(&rw);
		}
		free(obj);
		free(back);
	}
	/* Records over 4 KB (JSON and bytes) are not kept: most are. */
	if (kept * 2 < tried)
		fail_msg("only %u of %u records kept", kept, tried);
	printf("# %u of %u records kept\n", kept, tried);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_entity_as_jansson),
		cmocka_unit_test(test_tricky_strings_reach_the_output),
		cmocka_unit_test(test_strings_as_jansson),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_memo_writes_the_same_bytes),
	};
	return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
