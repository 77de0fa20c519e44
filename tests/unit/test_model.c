/*
 * test_model.c: the domain codecs and rules (core/domain/model.c, date.c).
 *
 * Covers: binary encode/decode and JSON to/from round trips for every
 * entity; decode skipping unknown fields and refusing damaged ones;
 * rd_entity_from_json errors (each names the bad field); the contract
 * colours; rd_date_parse/format over two centuries of days and the dates
 * that must be refused.
 */
#include <stdio.h>
#include <stdlib.h>

#include "domain/model.h"
#include "store/record.h"
#include "unit.h"

/* ---- sample entities: every field set, enums non-zero ------------------- */

static void fill_vendor(void *obj)
{
	struct rd_vendor *v = obj;
	memset(v, 0, sizeof *v);
	v->id = 7;
	strcpy(v->name, "Acme Software GmbH");
	strcpy(v->slug, "acme");
	strcpy(v->currency, "EUR");
	v->renewal_window_days = 90;
	v->decision_window_days = 14;
	v->publish_default = RD_PUBLISH_PARTNER;
	v->max_seats = 500;
	v->statement_day = 20;
}

static void fill_partner(void *obj)
{
	struct rd_partner *p = obj;
	memset(p, 0, sizeof *p);
	p->id = 12;
	strcpy(p->external_id, "P-0012");
	strcpy(p->name, "Northwind Reseller \xc3\xa9"); /* UTF-8 survives */
	p->kind = RD_PARTNER_RESELLER;
	p->tier = RD_TIER_GOLD;
	p->parent_id = 3;
	strcpy(p->email, "renewals@northwind.example");
	strcpy(p->phone, "+49 30 1234567");
	strcpy(p->logo_url, "https://northwind.example/logo.png");
	strcpy(p->colour_primary, "#1a2b3c");
	strcpy(p->colour_accent, "#ffcc00");
	strcpy(p->contact_block, "Northwind\nMain Street 1\n10115 Berlin");
}

static void fill_customer(void *obj)
{
	struct rd_customer *c = obj;
	memset(c, 0, sizeof *c);
	c->id = 99;
	strcpy(c->external_id, "C-99");
	strcpy(c->name, "Contoso Ltd");
	strcpy(c->email, "it@contoso.example");
	strcpy(c->phone, "+44 20 7946 0000");
	strcpy(c->address_line1, "1 High Street");
	strcpy(c->address_line2, "Floor 3");
	strcpy(c->city, "London");
	strcpy(c->region, "Greater London");
	strcpy(c->postcode, "EC1A 1BB");
	strcpy(c->country, "GB");
	strcpy(c->segment, "mid-market");
}

static void fill_product(void *obj)
{
	struct rd_product *p = obj;
	memset(p, 0, sizeof *p);
	p->id = 4;
	strcpy(p->external_id, "SKU-ENDPOINT-1Y");
	strcpy(p->name, "Endpoint Protection");
	strcpy(p->line, "security");
	p->n_prices = 3;
	strcpy(p->prices[0].currency, "EUR");
	p->prices[0].term = RD_TERM_ANNUAL;
	p->prices[0].amount = 12000;
	strcpy(p->prices[1].currency, "USD");
	p->prices[1].term = RD_TERM_MONTHLY;
	p->prices[1].amount = 1100;
	strcpy(p->prices[2].currency, "GBP");
	p->prices[2].term = RD_TERM_FLEX;
	p->prices[2].amount = 0;
	p->n_upsell = 2;
	p->upsell[0] = 5;
	p->upsell[1] = (uint64_t)1 << 40;
	p->n_crosssell = 1;
	p->crosssell[0] = 6;
}

static void fill_contract(void *obj)
{
	struct rd_contract *c = obj;
	memset(c, 0, sizeof *c);
	c->id = 1001;
	strcpy(c->external_id, "K-2024-0001");
	c->customer_id = 99;
	c->product_id = 4;
	c->reseller_id = 12;
	c->distributor_id = 3;
	c->quantity = 250;
	c->start = rd_date_from_ymd(2024, 2, 29);
	c->end = rd_date_from_ymd(2025, 2, 28);
	c->term = RD_TERM_QUARTERLY;
	strcpy(c->currency, "EUR");
	c->status = RD_CONTRACT_LIVE;
	c->flags = RD_FLAG_WARRANTY_ONLY | RD_FLAG_CONSOLIDATED;
}

/* One sample of each entity, in a buffer big enough for any of them. */
static void fill_opportunity(void *obj)
{
	struct rd_opportunity *o = obj;
	memset(o, 0, sizeof *o);
	o->id = 77;
	strcpy(o->number, "Q-2026-000077");
	o->contract_id = 1001;
	o->reseller_id = 12;
	o->state = RD_OPP_PENDING_DECISION;
	o->contract_end = rd_date_from_ymd(2027, 1, 31);
	strcpy(o->currency, "GBP");
	o->list_total = 123456;
	strcpy(o->attention_reason, "the margin policy failed");
	o->n_lines = 2; /* typed lines: every member survives the codec */
	o->lines[0] = (struct rd_quote_line){ .kind = RD_LINE_RENEWAL, .sku = "EML-SEC", .description = "E-mail Security",
					      .quantity = 100, .unit_list = 2900, .list = 290000,
					      .priced = RD_QUOTE_MARGINS | RD_QUOTE_PARTNER | RD_QUOTE_VENDOR };
	o->lines[0].partner = (struct rd_quote_margin){ .n = 2, .channel_bp = 3000, .net = 203000,
		.shares = { { "reseller", 2000, 58000, "gold tier \xc3\xa9" }, { "distributor", 1000, 29000, "" } } };
	o->lines[0].vendor = (struct rd_quote_margin){ .n = 1, .channel_bp = 1000, .net = 261000,
		.shares = { { "referral", 1000, 29000, "referral" } } };
	o->lines[1] = (struct rd_quote_line){ .kind = RD_LINE_UPSELL, .optional = true, .selected = true, .sku = "X",
					      .quantity = 1, .unit_list = -5, .list = INT64_MIN };
	o->created_at = 1790000000;
	o->discount_bp = 250;
	strcpy(o->notes, "[]");
}

union any_entity {
	struct rd_opportunity opportunity;
	struct rd_vendor vendor;
	struct rd_partner partner;
	struct rd_customer customer;
	struct rd_product product;
	struct rd_contract contract;
};

static const struct {
	const struct rd_entity *e;
	void (*fill)(void *);
} samples[] = {
	{ &rd_entity_vendor, fill_vendor },
	{ &rd_entity_partner, fill_partner },
	{ &rd_entity_customer, fill_customer },
	{ &rd_entity_product, fill_product },
	{ &rd_entity_contract, fill_contract },
	{ &rd_entity_opportunity, fill_opportunity },
};
#define N_SAMPLES (sizeof samples / sizeof *samples)

/* ---- binary codec ----------------------------------------------------------- */

/* A text field's bytes after its NUL are nobody's (decode leaves the tails
 * of large ones alone): zero them before comparing whole structs. */
static void canon(const struct rd_entity *e, void *obj)
{
	for (size_t i = 0; i < e->n_fields; i++) {
		const struct rd_field *f = &e->fields[i];
		if (f->type == RD_F_QUOTE) { /* the lines after the count are nobody's */
			uint8_t n = *((uint8_t *)obj + f->count_off);
			memset((char *)obj + f->off + n * sizeof(struct rd_quote_line), 0,
			       f->size - n * sizeof(struct rd_quote_line));
		}
		if (f->type != RD_F_STR)
			continue;
		char *p = (char *)obj + f->off;
		size_t n = strnlen(p, f->size);
		memset(p + n, 0, f->size - n);
	}
}

static void test_encode_decode(void **state)
{
	for (size_t i = 0; i < N_SAMPLES; i++) {
		const struct rd_entity *e = samples[i].e;
		union any_entity in, out;
		samples[i].fill(&in);
		memset(&out, 0x5a, sizeof out); /* decode must zero what the record lacks */
		struct rd_rec_writer w = { 0 };
		rd_entity_encode(e, &in, &w);
		assert_int_equal(w.buf[1], e->kind);
		assert_rc(rd_entity_decode(e, w.buf, w.len, &out), 0);
		canon(e, &in);
		canon(e, &out);
		if (memcmp(&in, &out, e->size) != 0)
			fail_msg("%s: decoded struct differs from the encoded one", e->name);
		rd_rec_writer_free(&w);
	}
}

/* Zero values are absent fields, and decode back to zero. */
static void test_encode_empty(void **state)
{
	struct rd_contract c, out;
	memset(&c, 0, sizeof c);
	struct rd_rec_writer w = { 0 };
	rd_entity_encode(&rd_entity_contract, &c, &w);
	assert_int_equal(w.len, RD_REC_HEADER);
	memset(&out, 0x5a, sizeof out);
	assert_rc(rd_entity_decode(&rd_entity_contract, w.buf, w.len, &out), 0);
	assert_memory_equal(&c, &out, sizeof c);
	rd_rec_writer_free(&w);
}

/* Negative amounts and dates before 1970 survive the binary codec. */
static void test_encode_negative(void **state)
{
	struct rd_product p, out;
	fill_product(&p);
	p.prices[1].amount = -250;
	p.prices[2].amount = INT64_MIN;
	struct rd_contract c, cout;
	fill_contract(&c);
	c.start = rd_date_from_ymd(1969, 12, 31);
	assert_int_equal(c.start, -1);

	struct rd_rec_writer w = { 0 };
	rd_entity_encode(&rd_entity_product, &p, &w);
	assert_rc(rd_entity_decode(&rd_entity_product, w.buf, w.len, &out), 0);
	assert_memory_equal(&p, &out, sizeof p);
	rd_entity_encode(&rd_entity_contract, &c, &w);
	assert_rc(rd_entity_decode(&rd_entity_contract, w.buf, w.len, &cout), 0);
	assert_memory_equal(&c, &cout, sizeof c);
	rd_rec_writer_free(&w);
}

/* A record written by a newer layout (extra fields) still decodes. */
static void test_decode_skips_unknown(void **state)
{
	struct rd_contract c, out;
	fill_contract(&c);
	struct rd_rec_writer w = { 0 };
	rd_entity_encode(&rd_entity_contract, &c, &w);
	rd_rec_bytes(&w, 99, "future", 6);
	rd_rec_uint(&w, 100, 12345);
	rd_rec_sint(&w, 101, -7);
	assert_rc(rd_entity_decode(&rd_entity_contract, w.buf, w.len, &out), 0);
	assert_memory_equal(&c, &out, sizeof c);
	rd_rec_writer_free(&w);
}

static void test_decode_refuses(void **state)
{
	struct rd_contract c, out;
	fill_contract(&c);
	struct rd_rec_writer w = { 0 };

	/* Another kind. */
	rd_entity_encode(&rd_entity_contract, &c, &w);
	struct rd_customer cust;
	assert_rc(rd_entity_decode(&rd_entity_customer, w.buf, w.len, &cust), RD_EINVAL);
	/* A newer layout version. */
	w.buf[2] = 2;
	assert_rc(rd_entity_decode(&rd_entity_contract, w.buf, w.len, &out), RD_EVERSION);
	/* Cut in the middle of the last field. */
	rd_entity_encode(&rd_entity_contract, &c, &w);
	assert_rc(rd_entity_decode(&rd_entity_contract, w.buf, w.len - 1, &out), RD_ECORRUPT);

	/* A string that does not fit its member (external_id holds 63 bytes). */
	char longer[64];
	memset(longer, 'x', sizeof longer);
	rd_rec_begin(&w, RD_KIND_CONTRACT, 1);
	rd_rec_bytes(&w, 2, longer, 64);
	assert_rc(rd_entity_decode(&rd_entity_contract, w.buf, w.len, &out), RD_ECORRUPT);
	rd_rec_begin(&w, RD_KIND_CONTRACT, 1);
	rd_rec_bytes(&w, 2, longer, 63);
	assert_rc(rd_entity_decode(&rd_entity_contract, w.buf, w.len, &out), 0);
	assert_int_equal(strlen(out.external_id), 63);

	/* The wrong wire type for a field. */
	rd_rec_begin(&w, RD_KIND_CONTRACT, 1);
	rd_rec_bytes(&w, 7, "250", 3); /* quantity is a uint */
	assert_rc(rd_entity_decode(&rd_entity_contract, w.buf, w.len, &out), RD_ECORRUPT);
	rd_rec_begin(&w, RD_KIND_CONTRACT, 1);
	rd_rec_uint(&w, 9, 5); /* end is a sint */
	assert_rc(rd_entity_decode(&rd_entity_contract, w.buf, w.len, &out), RD_ECORRUPT);

	/* More repeated entries than the arrays hold. */
	rd_rec_begin(&w, RD_KIND_PRODUCT, 1);
	for (int i = 0; i <= RD_MAX_RELATED; i++)
		rd_rec_uint(&w, 6, (uint64_t)i + 1);
	struct rd_product p;
	assert_rc(rd_entity_decode(&rd_entity_product, w.buf, w.len, &p), RD_ECORRUPT);
	rd_rec_begin(&w, RD_KIND_PRODUCT, 1);
	for (int i = 0; i <= RD_MAX_PRICES; i++)
		rd_rec_bytes(&w, 5, "EUR\x01\x02", 5);
	assert_rc(rd_entity_decode(&rd_entity_product, w.buf, w.len, &p), RD_ECORRUPT);
	/* A price too short to hold currency, term and amount. */
	rd_rec_begin(&w, RD_KIND_PRODUCT, 1);
	rd_rec_bytes(&w, 5, "EUR\x01", 4);
	assert_rc(rd_entity_decode(&rd_entity_product, w.buf, w.len, &p), RD_ECORRUPT);
	rd_rec_writer_free(&w);
}

/* ---- JSON ------------------------------------------------------------------------ */

static void test_json_round_trip(void **state)
{
	for (size_t i = 0; i < N_SAMPLES; i++) {
		const struct rd_entity *e = samples[i].e;
		union any_entity in, out;
		samples[i].fill(&in);
		json_t *j = rd_entity_to_json(e, &in);
		assert_non_null(j);
		assert_true(json_is_integer(json_object_get(j, "id")));
		/* "id" and the fields renewd sets (read-only, private) cannot go back
		 * in through from_json; everything else does. */
		assert_int_equal(json_object_del(j, "id"), 0);
		for (size_t k = 0; k < e->n_fields; k++)
			if (e->fields[k].flags & (RD_FF_READONLY | RD_FF_PRIVATE))
				json_object_del(j, e->fields[k].json);
		memset(&out, 0, sizeof out);
		const char *bad = "unset";
		char why[256] = "";
		int rc = rd_entity_from_json(e, j, &out, &bad, why, sizeof why);
		if (rc != 0) {
			json_decref(j);
			fail_msg("%s: from_json failed on field %s: %s", e->name, bad ? bad : "?", why);
		}
		assert_null(bad);
		memcpy(&out, &in, sizeof(uint64_t)); /* the id is the first member of each */
		for (size_t k = 0; k < e->n_fields; k++)
			if (e->fields[k].flags & (RD_FF_READONLY | RD_FF_PRIVATE)) {
				memcpy((char *)&out + e->fields[k].off, (const char *)&in + e->fields[k].off, e->fields[k].size);
				if (e->fields[k].type == RD_F_QUOTE) /* and its count */
					((char *)&out)[e->fields[k].count_off] = ((const char *)&in)[e->fields[k].count_off];
			}
		if (memcmp(&in, &out, e->size) != 0) {
			char *text = json_dumps(j, JSON_SORT_KEYS);
			fail_msg("%s: JSON round trip differs; JSON was %s", e->name, text);
		}
		json_decref(j);
	}
}

static void test_json_shape(void **state)
{
	struct rd_contract c;
	fill_contract(&c);
	json_t *j = rd_entity_to_json(&rd_entity_contract, &c);
	assert_string_equal(json_string_value(json_object_get(j, "start")), "2024-02-29");
	assert_string_equal(json_string_value(json_object_get(j, "end")), "2025-02-28");
	assert_string_equal(json_string_value(json_object_get(j, "term")), "quarterly");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "live");
	json_t *flags = json_object_get(j, "flags");
	assert_int_equal(json_array_size(flags), 2);
	assert_string_equal(json_string_value(json_array_get(flags, 0)), "warranty_only");
	assert_string_equal(json_string_value(json_array_get(flags, 1)), "consolidated");
	assert_int_equal(json_integer_value(json_object_get(j, "quantity")), 250);
	json_decref(j);

	/* Unset references and dates are null, unset enums too. */
	memset(&c, 0, sizeof c);
	j = rd_entity_to_json(&rd_entity_contract, &c);
	assert_true(json_is_null(json_object_get(j, "customer_id")));
	assert_true(json_is_null(json_object_get(j, "end")));
	assert_true(json_is_null(json_object_get(j, "status")));
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 0);
	json_decref(j);

	struct rd_product p;
	fill_product(&p);
	j = rd_entity_to_json(&rd_entity_product, &p);
	assert_string_equal(json_string_value(json_object_get(j, "sku")), "SKU-ENDPOINT-1Y");
	json_t *price = json_array_get(json_object_get(j, "prices"), 1);
	assert_string_equal(json_string_value(json_object_get(price, "currency")), "USD");
	assert_string_equal(json_string_value(json_object_get(price, "term")), "monthly");
	assert_int_equal(json_integer_value(json_object_get(price, "amount")), 1100);
	json_decref(j);
}

/* from_json on text must fail with RD_EINVAL naming field. */
static void expect_json_error(const struct rd_entity *e, const char *text, const char *field)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &je);
	if (!j)
		fail_msg("test JSON does not parse: %s: %s", text, je.text);
	union any_entity obj;
	memset(&obj, 0, sizeof obj);
	const char *bad = NULL;
	char why[256] = "";
	int rc = rd_entity_from_json(e, j, &obj, &bad, why, sizeof why);
	if (rc != RD_EINVAL)
		fail_msg("%s: got %d (%s), want RD_EINVAL", text, rc, rd_strerror(rc));
	if (!bad || strcmp(bad, field) != 0)
		fail_msg("%s: bad_field is %s, want %s", text, bad ? bad : "NULL", field);
	if (!why[0])
		fail_msg("%s: no reason given", text);
	json_decref(j);
}

static void test_json_errors(void **state)
{
	const struct rd_entity *k = &rd_entity_contract;
	expect_json_error(k, "{\"colour\": \"red\"}", "colour");           /* unknown field */
	expect_json_error(k, "{\"quantity\": 1, \"nonsense\": 1}", "nonsense");
	expect_json_error(k, "{\"id\": 5}", "id");                         /* read-only */
	expect_json_error(k, "{\"quantity\": \"ten\"}", "quantity");       /* wrong type */
	expect_json_error(k, "{\"quantity\": -1}", "quantity");
	expect_json_error(k, "{\"quantity\": 4294967296}", "quantity");    /* past u32 */
	expect_json_error(k, "{\"quantity\": 2.5}", "quantity");
	expect_json_error(k, "{\"customer_id\": \"7\"}", "customer_id");
	expect_json_error(k, "{\"external_id\": 12}", "external_id");
	expect_json_error(k, "{\"status\": \"pending\"}", "status");       /* enum name not in the list */
	expect_json_error(k, "{\"status\": \"\"}", "status");              /* [0] is not a name */
	expect_json_error(k, "{\"status\": 1}", "status");
	expect_json_error(k, "{\"flags\": [\"gold_plated\"]}", "flags");
	expect_json_error(k, "{\"flags\": \"consolidated\"}", "flags");
	expect_json_error(k, "{\"end\": \"2025-02-30\"}", "end");          /* not a calendar day */
	expect_json_error(k, "{\"start\": \"yesterday\"}", "start");
	expect_json_error(k, "{\"start\": null}", "start");
	expect_json_error(k, "{\"currency\": \"eur\"}", "currency");       /* ISO 4217 is upper case */
	expect_json_error(k, "{\"currency\": \"EURO\"}", "currency");
	expect_json_error(k, "{\"currency\": \"\"}", "currency");

	/* Over-long strings: external_id holds 63 bytes. */
	char text[256];
	snprintf(text, sizeof text, "{\"external_id\": \"%064d\"}", 0);
	expect_json_error(k, text, "external_id");
	snprintf(text, sizeof text, "{\"external_id\": \"a\\u0000b\"}"); /* embedded NUL */
	expect_json_error(k, text, "external_id");

	const struct rd_entity *p = &rd_entity_product;
	expect_json_error(p, "{\"prices\": [{\"currency\": \"eur\", \"term\": \"annual\", \"amount\": 1}]}", "prices");
	expect_json_error(p, "{\"prices\": [{\"currency\": \"EUR\", \"term\": \"weekly\", \"amount\": 1}]}", "prices");
	expect_json_error(p, "{\"prices\": [{\"currency\": \"EUR\", \"term\": \"annual\", \"amount\": -1}]}", "prices");
	expect_json_error(p, "{\"prices\": [{\"currency\": \"EUR\", \"term\": \"annual\", \"amount\": 1, \"x\": 1}]}",
			  "prices");
	expect_json_error(p, "{\"upsell\": [1, 0]}", "upsell");
	expect_json_error(p, "{\"upsell\": [1,2,3,4,5,6,7,8,9]}", "upsell");
	expect_json_error(p, "{\"id\": 1}", "id");
	expect_json_error(&rd_entity_partner, "{\"tier\": \"bronze\"}", "tier");
	expect_json_error(&rd_entity_vendor, "{\"currency\": \"eur\"}", "currency");
}

/* A string of exactly the member's capacity minus the NUL is accepted. */
static void test_json_limits(void **state)
{
	char text[256];
	snprintf(text, sizeof text, "{\"external_id\": \"%063d\", \"customer_id\": null, \"quantity\": 4294967295}", 0);
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	struct rd_contract c;
	fill_contract(&c);
	const char *bad = "unset";
	char why[256];
	assert_rc(rd_entity_from_json(&rd_entity_contract, j, &c, &bad, why, sizeof why), 0);
	assert_null(bad);
	assert_int_equal(strlen(c.external_id), 63);
	assert_int_equal(c.customer_id, 0);
	assert_int_equal(c.quantity, UINT32_MAX);
	assert_int_equal(c.product_id, 4); /* fields absent from the JSON stay as they were */
	json_decref(j);
}

/* ---- colours ----------------------------------------------------------------------- */

static enum rd_colour colour(uint8_t status, rd_date end, rd_date today, uint32_t window)
{
	struct rd_contract c;
	fill_contract(&c);
	c.status = status;
	c.end = end;
	return rd_contract_colour(&c, today, window);
}

static void test_contract_colour(void **state)
{
	rd_date today = rd_date_from_ymd(2025, 6, 1);
	/* cancelled -> black, whatever the dates */
	assert_int_equal(colour(RD_CONTRACT_CANCELLED, today - 100, today, 90), RD_BLACK);
	assert_int_equal(colour(RD_CONTRACT_CANCELLED, today + 10, today, 90), RD_BLACK);
	assert_int_equal(colour(RD_CONTRACT_CANCELLED, today + 1000, today, 90), RD_BLACK);
	/* renewed -> green, even once its end has passed */
	assert_int_equal(colour(RD_CONTRACT_RENEWED, today - 1, today, 90), RD_GREEN);
	assert_int_equal(colour(RD_CONTRACT_RENEWED, today + 5, today, 90), RD_GREEN);
	/* live, ended -> red */
	assert_int_equal(colour(RD_CONTRACT_LIVE, today - 1, today, 90), RD_RED);
	assert_int_equal(colour(RD_CONTRACT_LIVE, today - 400, today, 90), RD_RED);
	assert_int_equal(colour(RD_CONTRACT_EXPIRED, today + 30, today, 90), RD_RED);
	/* live, ending within the window (the end day is still covered) -> amber */
	assert_int_equal(colour(RD_CONTRACT_LIVE, today, today, 90), RD_AMBER);
	assert_int_equal(colour(RD_CONTRACT_LIVE, today + 1, today, 90), RD_AMBER);
	assert_int_equal(colour(RD_CONTRACT_LIVE, today + 90, today, 90), RD_AMBER);
	/* live, further out -> green */
	assert_int_equal(colour(RD_CONTRACT_LIVE, today + 91, today, 90), RD_GREEN);
	assert_int_equal(colour(RD_CONTRACT_LIVE, today + 3650, today, 90), RD_GREEN);
	/* the window is a parameter */
	assert_int_equal(colour(RD_CONTRACT_LIVE, today + 1, today, 0), RD_GREEN);
	assert_int_equal(colour(RD_CONTRACT_LIVE, today, today, 0), RD_AMBER);
	assert_int_equal(colour(RD_CONTRACT_LIVE, today + 200, today, 365), RD_AMBER);
	assert_int_equal(colour(RD_CONTRACT_LIVE, today + 5, today, UINT32_MAX), RD_AMBER);

	assert_string_equal(rd_colour_name(RD_RED), "red");
	assert_string_equal(rd_colour_name(RD_AMBER), "amber");
	assert_string_equal(rd_colour_name(RD_GREEN), "green");
	assert_string_equal(rd_colour_name(RD_BLACK), "black");
	assert_string_equal(rd_colour_name((enum rd_colour)0), "");
	assert_string_equal(rd_colour_name((enum rd_colour)9), "");
}

/* ---- dates --------------------------------------------------------------------------- */

static void test_date_round_trip(void **state)
{
	rd_date first = rd_date_from_ymd(1900, 1, 1), last = rd_date_from_ymd(2100, 12, 31);
	int leap_days = 0, py = 1899, pm = 12, pd = 31;
	for (rd_date d = first; d <= last; d++) {
		char s[11];
		rd_date_format(d, s);
		rd_date back = 0;
		if (rd_date_parse(s, &back) != 0 || back != d)
			fail_msg("day %d formats as %s, which parses to %d", (int)d, s, (int)back);
		int y, m, dd;
		rd_date_to_ymd(d, &y, &m, &dd);
		assert_int_equal(rd_date_from_ymd(y, m, dd), d);
		/* Consecutive days are consecutive calendar days. */
		bool next_day = y == py && m == pm && dd == pd + 1;
		bool next_month = ((y == py && m == pm + 1) || (y == py + 1 && m == 1 && pm == 12)) && dd == 1;
		if (!next_day && !next_month)
			fail_msg("%s does not follow %04d-%02d-%02d", s, py, pm, pd);
		py = y;
		pm = m;
		pd = dd;
		if (m == 2 && dd == 29)
			leap_days++;
	}
	assert_int_equal(leap_days, 49); /* 1904..2096, with 2000, without 1900 and 2100 */

	rd_date d;
	assert_rc(rd_date_parse("1970-01-01", &d), 0);
	assert_int_equal(d, 0);
	assert_rc(rd_date_parse("1969-12-31", &d), 0);
	assert_int_equal(d, -1);
	assert_rc(rd_date_parse("2000-03-01", &d), 0);
	assert_int_equal(d, 11017);
	assert_rc(rd_date_parse("2024-02-29", &d), 0);
	assert_rc(rd_date_parse("2000-02-29", &d), 0);
	assert_rc(rd_date_parse("9999-12-31", &d), 0);
	char s[11];
	rd_date_format(d, s);
	assert_string_equal(s, "9999-12-31");
	/* written digit by digit: as "%04u-%02u-%02u" of each part (the year
	 * modulo 10000) wrote it, from year 1 to past 10000 */
	for (rd_date x = rd_date_from_ymd(1, 1, 1); x <= rd_date_from_ymd(12000, 12, 31); x++) {
		int y, m, dd;
		rd_date_to_ymd(x, &y, &m, &dd);
		char want[11], got[12];
		snprintf(want, sizeof want, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)dd % 100u);
		got[11] = '#';
		rd_date_format(x, got);
		if (strcmp(got, want) || got[11] != '#')
			fail_msg("day %d: \"%s\", want \"%s\"", (int)x, got, want);
	}
}

static void test_date_rejects(void **state)
{
	static const char *const bad[] = {
		"2023-02-29", "1900-02-29", "2100-02-29", "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32",
		"2024-04-31", "2024-06-31", "24-01-01",   "2024-1-01",  "2024-01-1",  "2024/01/01", "2024-01-01x",
		" 2024-01-01", "2024-01-0a", "20a4-01-01", "1899-12-31", "0000-01-01", "",          "2024-01",
		"+024-01-01", "2024--1-01",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		rd_date d = 12345;
		if (rd_date_parse(bad[i], &d) != RD_EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_int_equal(d, 12345); /* untouched */
	}
	rd_date d;
	assert_rc(rd_date_parse(NULL, &d), RD_EINVAL);
}

/* The end-date index key sorts like the dates, negative ones first. */
static void test_date_key_order(void **state)
{
	static const rd_date days[] = { INT32_MIN, -100000, -1, 0, 1, 20000, INT32_MAX };
	for (size_t i = 1; i < sizeof days / sizeof *days; i++) {
		uint8_t a[4], b[4];
		rd_date_key(days[i - 1], a);
		rd_date_key(days[i], b);
		assert_true(memcmp(a, b, 4) < 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_encode_empty),
		cmocka_unit_test(test_encode_negative),
		cmocka_unit_test(test_decode_skips_unknown),
		cmocka_unit_test(test_decode_refuses),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_contract_colour),
		cmocka_unit_test(test_date_round_trip),
		cmocka_unit_test(test_date_rejects),
		cmocka_unit_test(test_date_key_order),
	};
	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
