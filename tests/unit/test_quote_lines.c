/*
 * test_quote_lines.c: a quote's lines as C values (core/domain/quote.c) and
 * their place in the opportunity record (core/domain/model.c).
 *
 * Covers: every line the engine can make, with long non-ASCII reasons,
 * survives the record codec (the JSON of the same lines is over 8 KiB: the
 * old text field stored such a quote with no lines, ordered at 0); an
 * opportunity written by an older renewd, its lines as JSON text in field
 * 20, opens with the same lines and is written back in the typed form; a
 * damaged line is RD_ECORRUPT, never a shorter quote; the one total rule
 * (base, a chosen up-sell replacing the renewal line, chosen cross-sells,
 * the discount, at most one up-sell) and its overflow; the lines an order
 * freezes (rd_quote_select) and their place in the order record; the
 * channel shares plus the net are the line.
 */
#include <stdio.h>
#include <stdlib.h>

#include "domain/model.h"
#include "domain/money.h"
#include "domain/quote.h"
#include "store/record.h"
#include "unit.h"

/* A quote with every line the engine can make, reasons 119 bytes long. */
static void fill(struct rd_opportunity *o)
{
	memset(o, 0, sizeof *o);
	o->id = 9;
	snprintf(o->number, sizeof o->number, "Q-2027-000009");
	snprintf(o->currency, sizeof o->currency, "JPY");
	o->n_lines = RD_QUOTE_MAX_LINES;
	for (int i = 0; i < RD_QUOTE_MAX_LINES; i++) {
		struct rd_quote_line *l = &o->lines[i];
		l->kind = i == 0 ? RD_LINE_RENEWAL : i <= 8 ? RD_LINE_UPSELL : RD_LINE_CROSSSELL;
		l->optional = i > 0;
		snprintf(l->sku, sizeof l->sku, "SKU-%02d", i);
		snprintf(l->description, sizeof l->description, "Produkt Nr. %d f\xc3\xbcr M\xc3\xbcller", i);
		l->quantity = 100;
		l->unit_list = 5000 + i;
		l->list = l->unit_list * 100;
		l->priced = RD_QUOTE_MARGINS | RD_QUOTE_PARTNER | RD_QUOTE_VENDOR;
		struct rd_quote_margin *ms[] = { &l->partner, &l->vendor };
		for (int m = 0; m < 2; m++) {
			ms[m]->n = 3;
			ms[m]->net = l->list;
			static const char *const parties[] = { "reseller", "distributor", "referral" };
			for (int k = 0; k < 3; k++) {
				struct rd_quote_share *s = &ms[m]->shares[k];
				snprintf(s->party, sizeof s->party, "%s", parties[k]);
				s->bp = 1000 + 333 * k + m;
				s->amount = rd_money_share(l->list, s->bp);
				ms[m]->net -= s->amount;
				ms[m]->channel_bp += s->bp;
				size_t n = 0;
				while (n + 2 < sizeof s->reason) { /* "é" repeated: 118 bytes */
					s->reason[n++] = '\xc3';
					s->reason[n++] = '\xa9';
				}
				s->reason[n] = 0;
			}
		}
	}
}

static void test_every_line_survives(void **state)
{
	(void)state;
	struct rd_opportunity *in = calloc(1, sizeof *in), *out = malloc(sizeof *out);
	fill(in);
	json_t *j = rd_quote_lines_json(in->lines, in->n_lines);
	char *text = json_dumps(j, JSON_COMPACT);
	assert_true(strlen(text) > 8192); /* the old field's cap */
	struct rd_rec_writer w = { 0 };
	rd_entity_encode(&rd_entity_opportunity, in, &w);
	memset(out, 0x5a, sizeof *out);
	assert_rc(rd_entity_decode(&rd_entity_opportunity, w.buf, w.len, out), 0);
	assert_int_equal(out->n_lines, RD_QUOTE_MAX_LINES);
	assert_memory_equal(in->lines, out->lines, sizeof in->lines);
	/* the API's JSON of the decoded lines is the JSON of the written ones */
	json_t *j2 = rd_quote_lines_json(out->lines, out->n_lines);
	assert_true(json_equal(j, j2));
	json_t *api = rd_entity_to_json(&rd_entity_opportunity, out);
	assert_true(json_equal(json_object_get(api, "lines"), j));
	json_decref(api);
	/* no JSON text in the record: the typed lines only (field 26) */
	struct rd_rec_reader r;
	struct rd_rec_field f;
	int lines = 0;
	assert_rc(rd_rec_open(&r, w.buf, w.len, RD_KIND_OPPORTUNITY, 1), 0);
	while (rd_rec_next(&r, &f) > 0) {
		assert_int_not_equal(f.no, 20);
		lines += f.no == 26;
	}
	assert_int_equal(lines, RD_QUOTE_MAX_LINES);
	json_decref(j);
	json_decref(j2);
	free(text);
	rd_rec_writer_free(&w);
	free(in);
	free(out);
}

/* An opportunity as an older renewd wrote it: its lines as JSON text. */
static void test_old_store_opens(void **state)
{
	(void)state;
	struct rd_opportunity *o = calloc(1, sizeof *o), *again = calloc(1, sizeof *again);
	static const char old[] =
		"[{\"kind\":\"renewal\",\"sku\":\"EML-SEC\",\"description\":\"E-mail Security\",\"quantity\":100,"
		"\"unit_list\":2900,\"list\":290000,\"margins\":{\"partner\":{\"shares\":[{\"party\":\"reseller\",\"bp\":2000,"
		"\"amount\":58000,\"reason\":\"gold\"}],\"channel_bp\":2000,\"net\":232000},\"vendor\":null}},"
		"{\"kind\":\"upsell\",\"sku\":\"EML-ADV\",\"description\":\"Advanced\",\"quantity\":100,\"unit_list\":3500,"
		"\"list\":350000,\"shares\":null,\"optional\":true,\"selected\":true},"
		"{\"kind\":\"crosssell\",\"sku\":\"DLP\",\"description\":\"DLP\",\"quantity\":100,\"unit_list\":100,"
		"\"list\":10000,\"shares\":null,\"optional\":true}]";
	struct rd_rec_writer w = { 0 };
	rd_rec_begin(&w, RD_KIND_OPPORTUNITY, 1);
	rd_rec_uint(&w, 1, 5);
	rd_rec_str(&w, 2, "Q-2026-000005");
	rd_rec_str(&w, 14, "GBP");
	rd_rec_str(&w, 20, old);
	rd_rec_uint(&w, 24, 1000);
	assert_rc(rd_entity_decode(&rd_entity_opportunity, w.buf, w.len, o), 0);
	assert_int_equal(o->n_lines, 3);
	assert_int_equal(o->lines[0].kind, RD_LINE_RENEWAL);
	assert_false(o->lines[0].optional);
	assert_string_equal(o->lines[0].sku, "EML-SEC");
	assert_int_equal(o->lines[0].list, 290000);
	const struct rd_quote_margin *pm = rd_quote_margin(&o->lines[0], RD_PUBLISH_PARTNER);
	assert_non_null(pm);
	assert_null(rd_quote_margin(&o->lines[0], RD_PUBLISH_VENDOR));
	assert_int_equal(pm->n, 1);
	assert_int_equal(pm->shares[0].amount, 58000);
	assert_string_equal(pm->shares[0].reason, "gold");
	assert_int_equal(pm->net, 232000);
	assert_true(o->lines[1].optional && o->lines[1].selected);
	assert_int_equal(o->lines[1].kind, RD_LINE_UPSELL);
	assert_false(o->lines[2].selected);
	struct rd_quote_sum sum;
	assert_rc(rd_quote_total(o->lines, o->n_lines, o->discount_bp, &sum), 0);
	assert_int_equal(sum.base, 290000);
	assert_int_equal(sum.subtotal, 350000); /* the chosen up-sell replaces the renewal line */
	assert_int_equal(sum.total, 315000);
	/* written back: typed, and the same lines */
	struct rd_rec_writer w2 = { 0 };
	rd_entity_encode(&rd_entity_opportunity, o, &w2);
	assert_rc(rd_entity_decode(&rd_entity_opportunity, w2.buf, w2.len, again), 0);
	assert_int_equal(again->n_lines, 3);
	assert_memory_equal(o->lines, again->lines, 3 * sizeof o->lines[0]);
	/* old lines that are not JSON open as none (as they were shown) */
	rd_rec_begin(&w, RD_KIND_OPPORTUNITY, 1);
	rd_rec_str(&w, 20, "[{\"kind\":");
	assert_rc(rd_entity_decode(&rd_entity_opportunity, w.buf, w.len, o), 0);
	assert_int_equal(o->n_lines, 0);
	rd_rec_writer_free(&w);
	rd_rec_writer_free(&w2);
	free(o);
	free(again);
}

static void test_damaged_line_refused(void **state)
{
	(void)state;
	struct rd_opportunity *o = calloc(1, sizeof *o);
	struct rd_rec_writer w = { 0 };
	/* a line that is not a line record */
	rd_rec_begin(&w, RD_KIND_OPPORTUNITY, 1);
	rd_rec_bytes(&w, 26, "\x01\x02", 2);
	assert_rc(rd_entity_decode(&rd_entity_opportunity, w.buf, w.len, o), RD_ECORRUPT);
	/* more lines than a quote holds */
	struct rd_quote_line l = { .kind = RD_LINE_RENEWAL, .sku = "A", .quantity = 1, .list = 1 };
	struct rd_rec_writer lw = { 0 };
	rd_quote_line_encode(&l, &lw);
	rd_rec_begin(&w, RD_KIND_OPPORTUNITY, 1);
	for (int i = 0; i <= RD_QUOTE_MAX_LINES; i++)
		rd_rec_bytes(&w, 26, lw.buf, lw.len);
	assert_rc(rd_entity_decode(&rd_entity_opportunity, w.buf, w.len, o), RD_ECORRUPT);
	/* a share with no publish mode */
	rd_quote_line_encode(&l, &lw);
	struct rd_rec_writer sw = { 0 };
	rd_rec_begin(&sw, RD_KIND_QUOTE_LINE, 1);
	rd_rec_str(&sw, 2, "reseller");
	rd_rec_bytes(&lw, 14, sw.buf, sw.len);
	assert_rc(rd_quote_line_decode(lw.buf, lw.len, &l), RD_ECORRUPT);
	rd_rec_writer_free(&sw);
	rd_rec_writer_free(&lw);
	rd_rec_writer_free(&w);
	free(o);
}

static void test_total_rule(void **state)
{
	(void)state;
	struct rd_quote_line l[3] = {
		{ .kind = RD_LINE_RENEWAL, .list = 10005 },
		{ .kind = RD_LINE_UPSELL, .optional = true, .selected = true, .list = 2000 },
		{ .kind = RD_LINE_CROSSSELL, .optional = true, .list = 700 },
	};
	struct rd_quote_sum s;
	/* a chosen up-sell replaces the renewal line: it is not charged too */
	assert_rc(rd_quote_total(l, 3, 0, &s), 0);
	assert_int_equal(s.base, 10005);
	assert_int_equal(s.subtotal, 2000);
	assert_int_equal(s.total, 2000);
	assert_true(rd_quote_upsell_chosen(l, 3));
	assert_false(rd_quote_line_charged(&l[0], true));
	assert_true(rd_quote_line_charged(&l[1], true));
	/* no up-sell: the renewal line; a chosen cross-sell adds */
	l[1].selected = false;
	l[2].selected = true;
	assert_rc(rd_quote_total(l, 3, 0, &s), 0);
	assert_int_equal(s.subtotal, 10705);
	assert_rc(rd_quote_total(l, 3, 1000, &s), 0);
	assert_int_equal(s.total, 10705 - 1070); /* the discount rounds down to a whole unit */
	assert_true(rd_quote_line_ordered(&l[2]));
	assert_false(rd_quote_line_ordered(&l[1]));
	/* the frozen lines: what the order charges, each marked chosen */
	struct rd_quote_line out[3];
	uint8_t n;
	assert_rc(rd_quote_select(l, 3, out, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].kind, RD_LINE_RENEWAL);
	assert_int_equal(out[1].kind, RD_LINE_CROSSSELL);
	l[1].selected = true;
	assert_rc(rd_quote_select(l, 3, out, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].kind, RD_LINE_UPSELL);
	assert_true(out[0].selected && out[1].selected);
	/* two up-sells are two replacements of one contract: refused */
	struct rd_quote_line two[3] = { l[0], l[1], l[1] };
	assert_rc(rd_quote_select(two, 3, out, &n), RD_EINVAL);
	assert_rc(rd_quote_total(two, 3, 0, &s), RD_EINVAL);
	/* overflow is an error, never a wrapped total */
	l[1].selected = false;
	l[0].list = INT64_MAX;
	s.total = 42;
	assert_rc(rd_quote_total(l, 3, 0, &s), RD_ERANGE);
	assert_int_equal(s.total, 42);
	l[2].selected = false;
	l[2].list = INT64_MAX; /* not chosen: still counted in no sum */
	assert_rc(rd_quote_total(l, 3, 0, &s), 0);
	assert_true(s.total == INT64_MAX);
	assert_rc(rd_quote_total(l, 0, 0, &s), 0);
	assert_int_equal(s.total, 0);
}

/* An order's frozen lines (field 40): every line a quote can hold, with the
 * product and contract each became, and the discount (41). */
static void test_order_lines_survive(void **state)
{
	(void)state;
	struct rd_opportunity *o = calloc(1, sizeof *o);
	struct rd_order *n = calloc(1, sizeof *n), *again = calloc(1, sizeof *again);
	fill(o);
	n->id = 4;
	n->discount_bp = 1250;
	n->n_lines = o->n_lines;
	memcpy(n->lines, o->lines, o->n_lines * sizeof *o->lines);
	for (uint8_t i = 0; i < n->n_lines; i++) {
		n->lines[i].product_id = 100 + i;
		n->lines[i].contract_id = 200 + i;
	}
	struct rd_rec_writer w = { 0 };
	rd_entity_encode(&rd_entity_order, n, &w);
	assert_rc(rd_entity_decode(&rd_entity_order, w.buf, w.len, again), 0);
	assert_int_equal(again->n_lines, RD_QUOTE_MAX_LINES);
	assert_int_equal(again->discount_bp, 1250);
	assert_memory_equal(n->lines, again->lines, RD_QUOTE_MAX_LINES * sizeof n->lines[0]);
	json_t *j = rd_entity_to_json(&rd_entity_order, again);
	json_t *last = json_array_get(json_object_get(j, "lines"), RD_QUOTE_MAX_LINES - 1);
	assert_int_equal(json_integer_value(json_object_get(last, "contract_id")), 200 + RD_QUOTE_MAX_LINES - 1);
	assert_int_equal(json_integer_value(json_object_get(last, "product_id")), 100 + RD_QUOTE_MAX_LINES - 1);
	json_decref(j);
	rd_rec_writer_free(&w);
	free(o);
	free(n);
	free(again);
}

static void test_share_text(void **state)
{
	(void)state;
	struct rd_opportunity *o = calloc(1, sizeof *o);
	fill(o);
	char t[80] = "-";
	assert_true(rd_quote_share_text(o->lines, o->n_lines, RD_PUBLISH_PARTNER, "JPY", t, sizeof t));
	assert_string_equal(t, "10% (JPY 50,000)");
	o->lines[0].priced &= (uint8_t)~RD_QUOTE_VENDOR;
	assert_false(rd_quote_share_text(o->lines, o->n_lines, RD_PUBLISH_VENDOR, "JPY", t, sizeof t));
	assert_false(rd_quote_share_text(o->lines, 0, RD_PUBLISH_PARTNER, "JPY", t, sizeof t));
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_line_survives),
		cmocka_unit_test(test_old_store_opens),
		cmocka_unit_test(test_damaged_line_refused),
		cmocka_unit_test(test_total_rule),
		cmocka_unit_test(test_order_lines_survive),
		cmocka_unit_test(test_share_text),
	};
	return cmocka_run_group_tests_name("quote_lines", tests, NULL, NULL);
}
