/*
 * test_quote_property.c: what is quoted is what is billed, fulfilled and
 * commissioned, for random quotes through the real functions.
 *
 * A temporary store and the purpose-built payment plugin tp-good (its path
 * is argv[1]), as test_services.c.  N_QUOTES random quotes (a seeded PRNG:
 * the seed is printed, RD_PROPERTY_SEED repeats a run): a renewal line and
 * up to eight up-sells and eight cross-sells, each its own product priced in
 * the quote's currency (GBP, EUR, USD, JPY, KWD, CLF), random seats, random
 * channel shares in both publish modes, a random discount, a random choice
 * of optional lines (at most one up-sell; one quote in twenty chooses two,
 * which the order refuses, writing nothing).  Each quote is ordered with
 * rd_order_place, paid and fulfilled with rd_order_fulfil, and then:
 *
 *   page total     rd_web_quote_lines (the portal's purchase page)
 *   order total    the order rd_order_place wrote, which the plugin is asked for
 *   charged        the payment recorded (paid_amount)
 *   fulfilled      the contracts the order made, found by their external ids
 *                  (ORDER, ORDER-2, ...): each product's price in the currency
 *                  times the contract's seats, summed, less the discount
 *   commission     the commission entries recorded for the order plus the
 *                  vendor's net (rd_commissions_base)
 *   PDF total      one quote in ten (RD_PROPERTY_PDF_EVERY=1: all): the
 *                  quote PDF drawn by rd_quote_pdf, read back with pdftotext
 *                  (poppler-utils), the amount after "Total"
 *
 * all agree.  The PDF check is a sample because each pdftotext is a process.
 */
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "domain/app.h"
#include "domain/date.h"
#include "domain/model.h"
#include "domain/money.h"
#include "domain/quote.h"
#include "pdf/quote.h"
#include "plugin/host.h"
#include "services/commissions.h"
#include "services/orders.h"
#include "store/store.h"
#include "web/web.h"
#include "fixture.h"
#include "unit.h"

#define V 1
#define CUSTOMER 7
#define RESELLER 3
#define DISTRIBUTOR 2
#define N_QUOTES 1000
#define PDF_EVERY 10 /* RD_PROPERTY_PDF_EVERY=1 reads every PDF back (about 4x the run's time) */

static const char *plugin_path;
static uint64_t rng_state;

static uint64_t rnd(void) /* xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* The fixture and the vendor the pages and the PDF are rendered for. */
struct fx {
	struct rd_fx *x;
	struct rd_vendor vendor;
};

struct seed {
	struct fx *f;
};

static int seed_write(struct rd_txn *t, void *arg)
{
	struct fx *f = ((struct seed *)arg)->f;
	struct rd_customer *c = calloc(1, sizeof *c);
	c->id = CUSTOMER;
	snprintf(c->name, sizeof c->name, "Property Customer Ltd");
	snprintf(c->external_id, sizeof c->external_id, "C-PROP");
	int rc = rd_entity_put(t, f->x->dom.customers, &rd_entity_customer, V, c, 0);
	free(c);
	return rc < 0 ? rc : rd_fx_enable(f->x, t, V, "tp-good", "{\"account\":\"ACME-1\"}");
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->x = rd_fx_new("qprop", &plugin_path, (const char *const[]){ "tp-good" }, 1);
	f->vendor.id = V;
	snprintf(f->vendor.name, sizeof f->vendor.name, "Property Vendor");
	memcpy(f->vendor.currency, "GBP", 4);
	struct seed s = { f };
	assert_rc(rd_store_write(f->x->store, seed_write, &s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rd_fx_free(f->x);
	free(f);
	return 0;
}

/* ---- one random quote ------------------------------------------------------------------- */

static const char *const currencies[] = { "GBP", "EUR", "USD", "JPY", "KWD", "CLF" };
static const uint8_t terms[] = { RD_TERM_ANNUAL, RD_TERM_QUARTERLY, RD_TERM_MONTHLY };

struct quote {
	int no;
	char currency[4];
	uint8_t term, publish;
	uint32_t discount_bp;
	bool two_upsells;        /* chose two: the order must be refused */
	uint8_t n;
	struct rd_quote_line lines[RD_QUOTE_MAX_LINES];
	uint64_t contract, opportunity;
};

static void margin(struct rd_quote_margin *m, int64_t list)
{
	m->n = 0;
	int64_t shares = 0;
	static const char *const parties[] = { "reseller", "distributor" };
	static const int32_t max_bp[] = { 3000, 1500 };
	for (int k = 0; k < 2; k++) {
		if (below(5) == 0) /* sometimes a party has no share */
			continue;
		struct rd_quote_share *s = &m->shares[m->n++];
		snprintf(s->party, sizeof s->party, "%s", parties[k]);
		s->bp = (int32_t)below((uint64_t)max_bp[k] + 1);
		s->amount = rd_money_share(list, s->bp);
		snprintf(s->reason, sizeof s->reason, "random %s share", parties[k]);
		shares += s->amount;
		m->channel_bp += s->bp;
	}
	m->net = list - shares;
}

static void random_line(struct quote *q, uint8_t kind)
{
	struct rd_quote_line *l = &q->lines[q->n];
	memset(l, 0, sizeof *l);
	l->kind = kind;
	l->optional = kind != RD_LINE_RENEWAL;
	snprintf(l->sku, sizeof l->sku, "P-%d-%u", q->no, (unsigned)q->n);
	snprintf(l->description, sizeof l->description, "%s product %d-%u", rd_quote_kind_name(kind), q->no,
		 (unsigned)q->n);
	uint64_t scale = 1;
	for (uint64_t e = below(10); e > 0; e--)
		scale *= 10;
	l->unit_list = (int64_t)(1 + below(scale * 9));
	l->quantity = kind == RD_LINE_CROSSSELL ? (uint32_t)(1 + below(500)) : q->lines[0].quantity;
	if (kind == RD_LINE_RENEWAL)
		l->quantity = (uint32_t)(1 + below(1000));
	l->list = l->unit_list * (int64_t)l->quantity;
	l->priced = RD_QUOTE_MARGINS | RD_QUOTE_PARTNER | RD_QUOTE_VENDOR;
	margin(&l->partner, l->list);
	margin(&l->vendor, l->list);
	q->n++;
}

static void random_quote(struct quote *q, int no)
{
	memset(q, 0, sizeof *q);
	q->no = no;
	memcpy(q->currency, currencies[below(sizeof currencies / sizeof *currencies)], 4);
	q->term = terms[below(3)];
	q->publish = below(2) ? RD_PUBLISH_VENDOR : RD_PUBLISH_PARTNER;
	q->discount_bp = below(2) ? 0 : (uint32_t)(1 + below(5000));
	random_line(q, RD_LINE_RENEWAL);
	uint8_t ups = (uint8_t)below(RD_MAX_RELATED + 1), crosses = (uint8_t)below(RD_MAX_RELATED + 1);
	for (uint8_t i = 0; i < ups; i++)
		random_line(q, RD_LINE_UPSELL);
	for (uint8_t i = 0; i < crosses; i++)
		random_line(q, RD_LINE_CROSSSELL);
	if (ups && below(2)) /* at most one up-sell ... */
		q->lines[1 + below(ups)].selected = true;
	if (ups >= 2 && below(20) == 0) { /* ... but one quote in twenty asks for two */
		q->lines[1].selected = q->lines[2].selected = true;
		q->two_upsells = true;
	}
	for (uint8_t i = 0; i < crosses; i++)
		q->lines[1 + ups + i].selected = below(2) != 0;
}

struct writing {
	struct fx *f;
	struct quote *q;
};

/* The quote's products (each line's SKU, priced in the currency), its
 * contract and its accepted opportunity. */
static int quote_write(struct rd_txn *t, void *arg)
{
	struct writing *w = arg;
	struct fx *f = w->f;
	struct quote *q = w->q;
	struct rd_product *p = calloc(1, sizeof *p);
	uint64_t renewal_product = 0;
	int rc = 0;
	for (uint8_t i = 0; rc == 0 && i < q->n; i++) {
		memset(p, 0, sizeof *p);
		snprintf(p->external_id, sizeof p->external_id, "%s", q->lines[i].sku);
		snprintf(p->name, sizeof p->name, "%s", q->lines[i].description);
		p->n_prices = 1;
		memcpy(p->prices[0].currency, q->currency, 4);
		p->prices[0].term = q->term;
		p->prices[0].amount = q->lines[i].unit_list;
		rc = rd_entity_put(t, f->x->dom.products, &rd_entity_product, V, p, RD_PUT_NEW);
		if (i == 0)
			renewal_product = p->id;
	}
	free(p);
	if (rc < 0)
		return rc;
	struct rd_contract k = { .customer_id = CUSTOMER, .product_id = renewal_product, .reseller_id = RESELLER,
				 .distributor_id = DISTRIBUTOR, .quantity = q->lines[0].quantity, .term = q->term,
				 .status = RD_CONTRACT_LIVE };
	snprintf(k.external_id, sizeof k.external_id, "K-%d", q->no);
	k.start = rd_date_from_ymd(2026, 1, 1);
	k.end = rd_term_end(k.start, q->term);
	memcpy(k.currency, q->currency, 4);
	if ((rc = rd_entity_put(t, f->x->dom.contracts, &rd_entity_contract, V, &k, RD_PUT_NEW)) < 0)
		return rc;
	struct rd_opportunity *o = calloc(1, sizeof *o);
	o->contract_id = k.id;
	o->customer_id = CUSTOMER;
	o->product_id = renewal_product;
	o->reseller_id = RESELLER;
	o->distributor_id = DISTRIBUTOR;
	o->state = RD_OPP_ACCEPTED;
	o->publish = q->publish;
	o->contract_end = k.end;
	o->discount_bp = q->discount_bp;
	snprintf(o->number, sizeof o->number, "Q-PROP-%06d", q->no);
	memcpy(o->currency, q->currency, 4);
	o->n_lines = q->n;
	memcpy(o->lines, q->lines, q->n * sizeof *q->lines);
	rc = rd_entity_put(t, f->x->dom.opportunities, &rd_entity_opportunity, V, o, RD_PUT_NEW);
	q->contract = k.id;
	q->opportunity = o->id;
	free(o);
	return rc;
}

/* ---- the order, paid ---------------------------------------------------------------------- */

struct got {
	bool done;
	struct rd_order_answer *a;
};

static void got_it(const struct rd_order_answer *a, void *arg)
{
	struct got *g = arg;
	*g->a = *a;
	g->done = true;
}

static void place(struct fx *f, struct quote *q, struct rd_order_answer *a)
{
	struct rd_order_ask ask = { .opportunity_id = q->opportunity };
	snprintf(ask.option, sizeof ask.option, "tp_card");
	snprintf(ask.key, sizeof ask.key, "prop-%d", q->no);
	struct rd_actor who = { .vendor = V, .user = 1 };
	struct got g = { .a = a };
	assert_rc(rd_order_place(&f->x->app, &who, &ask, got_it, &g), 0);
	time_t until = time(NULL) + 20; /* the plugin answers on the pool */
	while (!g.done && time(NULL) < until)
		uv_run(&f->x->loop, UV_RUN_ONCE);
	assert_true(g.done);
}

struct paying {
	struct rd_domain *d;
	uint64_t order;
	struct rd_order *o;
};

static int pay_write(struct rd_txn *t, void *arg)
{
	struct paying *p = arg;
	int rc = rd_entity_get(t, p->d->orders, &rd_entity_order, V, p->order, p->o);
	if (rc < 0)
		return rc;
	p->o->state = RD_ORDER_PAID;
	p->o->paid_amount = p->o->total;
	return rd_order_fulfil(t, p->d, V, 1, p->o);
}

/* ---- the measures ------------------------------------------------------------------------- */

static int64_t page_total(struct fx *f, struct rd_txn *t, const struct quote *q, struct rd_opportunity *o)
{
	assert_rc(rd_entity_get(t, f->x->dom.opportunities, &rd_entity_opportunity, V, q->opportunity, o), 0);
	struct rd_quote_sum sum = { 0 };
	json_t *shown = rd_web_quote_lines(o, NULL, &sum);
	assert_non_null(shown);
	json_decref(shown);
	return sum.total;
}

/* The contracts order n made, found by their external ids, valued at their
 * product's price in the currency times their seats. */
static int64_t fulfilled_value(struct fx *f, struct rd_txn *t, const struct rd_order *n, size_t *count)
{
	int64_t sum = 0;
	*count = 0;
	struct rd_product *p = malloc(sizeof *p);
	for (unsigned i = 0; i <= RD_QUOTE_MAX_LINES + 1; i++) {
		char ext[RD_EXT_MAX];
		if (i == 0)
			snprintf(ext, sizeof ext, "%s", n->number);
		else
			snprintf(ext, sizeof ext, "%s-%u", n->number, i);
		uint64_t id;
		int rc = rd_index_find(t, f->x->dom.contracts, "ext", V, ext, strlen(ext) + 1, &id);
		if (rc == RD_ENOTFOUND)
			continue;
		assert_rc(rc, 0);
		struct rd_contract k;
		assert_rc(rd_entity_get(t, f->x->dom.contracts, &rd_entity_contract, V, id, &k), 0);
		assert_rc(rd_entity_get(t, f->x->dom.products, &rd_entity_product, V, k.product_id, p), 0);
		assert_int_equal(k.status, RD_CONTRACT_LIVE);
		assert_string_equal(k.currency, n->currency);
		int64_t price = -1;
		for (uint8_t j = 0; j < p->n_prices; j++)
			if (!strcmp(p->prices[j].currency, n->currency))
				price = p->prices[j].amount;
		assert_true(price >= 0);
		sum += price * (int64_t)k.quantity;
		++*count;
	}
	free(p);
	return sum;
}

static int64_t commissions_recorded(struct fx *f, struct rd_txn *t, uint64_t order)
{
	uint8_t lo[8], hi[8];
	rd_key_put_u64(lo, order);
	rd_key_put_u64(hi, order + 1);
	struct rd_iter it;
	struct rd_item item;
	struct rd_commission c;
	int64_t sum = 0;
	int rc = rd_iter_index(&it, t, f->x->dom.commissions, "order", V, lo, 8, hi, 8);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		assert_rc(rd_entity_decode(&rd_entity_commission, item.val, item.len, &c), 0);
		if (c.order_id == order)
			sum += c.amount;
	}
	rd_iter_close(&it);
	assert_true(rc >= 0);
	return sum;
}

/* The amount after "Total" in the PDF's text (pdftotext), as printed. */
static void pdf_total(struct fx *f, struct rd_txn *t, const struct rd_opportunity *o, char *out, size_t cap)
{
	void *pdf = NULL;
	size_t len = 0;
	char err[256] = "", path[128], cmd[300];
	assert_rc(rd_quote_pdf(f->x->app.plugins, t, &f->x->dom, &f->vendor, o, &pdf, &len, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/q.pdf", getenv("RD_PROPERTY_KEEP") ? "/tmp" : f->x->root);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(pdf, 1, len, fp), len);
	fclose(fp);
	free(pdf);
	snprintf(cmd, sizeof cmd, "pdftotext -raw '%s' -", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	static char text[65536];
	size_t n = fread(text, 1, sizeof text - 1, p);
	text[n] = 0;
	assert_int_equal(pclose(p), 0);
	/* the line "Total", then the amount ("CUR 1,234.56") on the same line
	 * or the next one, whichever pdftotext makes of the two strings: the
	 * last such line (Subtotal is lower-case) */
	const char *at = NULL;
	for (const char *s = text; (s = strstr(s, "\nTotal")) != NULL; s++)
		at = s; /* "Total CUR", "Total\nCUR" or "TotalCUR" */
	assert_non_null(at);
	at += 6;
	while (*at == ' ' || *at == '\n')
		at++;
	size_t k = 0;
	while (at[k] && at[k] != '\n' && k + 1 < cap) {
		out[k] = at[k];
		k++;
	}
	out[k] = 0;
}

static void test_quoted_is_billed_fulfilled_and_commissioned(void **state)
{
	struct fx *f = *state;
	const char *env = getenv("RD_PROPERTY_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (!seed)
		seed = 1;
	rng_state = seed;
	printf("test_quote_property: seed %" PRIu64 " (RD_PROPERTY_SEED=%" PRIu64 " repeats this run)\n", seed, seed);
	fflush(stdout);
	struct quote *q = malloc(sizeof *q);
	struct rd_order_answer *a = malloc(sizeof *a);
	struct rd_order *paid = malloc(sizeof *paid);
	struct rd_opportunity *o = malloc(sizeof *o);
	int ordered = 0, refused = 0, pdfs = 0, upsold = 0, crosses = 0;
	const char *every_env = getenv("RD_PROPERTY_PDF_EVERY");
	int every = every_env && atoi(every_env) > 0 ? atoi(every_env) : PDF_EVERY;
	for (int i = 0; i < N_QUOTES; i++) {
		random_quote(q, i);
		struct writing w = { f, q };
		assert_rc(rd_store_write(f->x->store, quote_write, &w), 0);
		place(f, q, a);
		if (q->two_upsells) { /* refused, nothing written */
			if (a->err.rc != RD_EEXISTS || !strstr(a->err.message, "more than one upgrade"))
				fail_msg("seed %" PRIu64 " quote %d: two up-sells: %d %s", seed, i, a->err.rc, a->err.message);
			refused++;
			continue;
		}
		if (a->err.rc != 0)
			fail_msg("seed %" PRIu64 " quote %d: the order was refused: %s", seed, i, a->err.message);
		struct paying p = { &f->x->dom, a->order.id, paid };
		assert_rc(rd_store_write(f->x->store, pay_write, &p), 0);
		assert_int_equal(paid->state, RD_ORDER_FULFILLED);
		ordered++;

		struct rd_txn *t;
		assert_rc(rd_store_read(f->x->store, &t), 0);
		int64_t page = page_total(f, t, q, o);
		int64_t total = a->order.total, charged = paid->paid_amount;
		size_t n_contracts;
		int64_t contracts = rd_money_discounted(fulfilled_value(f, t, paid, &n_contracts), q->discount_bp);
		struct rd_commission_base base;
		assert_rc(rd_commissions_base(paid, &base), 0);
		int64_t recorded = commissions_recorded(f, t, paid->id);
		if (page != total || charged != total || contracts != total || recorded + base.vendor_net != total ||
		    recorded != base.shares || n_contracts != paid->n_lines)
			fail_msg("seed %" PRIu64 " quote %d (%s, discount %u bp, %u lines): page %" PRId64 ", order %" PRId64
				 ", charged %" PRId64 ", fulfilled %" PRId64 " (%zu contracts for %u lines), commission %" PRId64
				 " + vendor net %" PRId64 " (shares %" PRId64 ")",
				 seed, i, q->currency, q->discount_bp, (unsigned)q->n, page, total, charged, contracts,
				 n_contracts, (unsigned)paid->n_lines, recorded, base.vendor_net, base.shares);
		for (uint8_t j = 0; j < paid->n_lines; j++) {
			upsold += paid->lines[j].kind == RD_LINE_UPSELL;
			crosses += paid->lines[j].kind == RD_LINE_CROSSSELL;
		}
		if (i % every == 0) {
			char printed[128], want[64];
			pdf_total(f, t, o, printed, sizeof printed);
			rd_money_format(total, q->currency, want, sizeof want);
			if (strcmp(printed, want))
				fail_msg("seed %" PRIu64 " quote %d: the PDF says \"%s\", the order %s", seed, i, printed, want);
			pdfs++;
		}
		rd_txn_end(t);
	}
	printf("test_quote_property: %d quotes: %d ordered (%d up-sells, %d cross-sells fulfilled), %d refused "
	       "(two up-sells), %d PDFs read back\n",
	       N_QUOTES, ordered, upsold, crosses, refused, pdfs);
	assert_int_equal(ordered + refused, N_QUOTES);
	assert_true(upsold > 0 && crosses > 0 && refused > 0 && pdfs >= N_QUOTES / every / 2);
	free(q);
	free(a);
	free(paid);
	free(o);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_quote_property PATH-TO-tp-good.so\n");
		return 2;
	}
	plugin_path = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_quoted_is_billed_fulfilled_and_commissioned, setup, teardown),
	};
	return cmocka_run_group_tests_name("quote_property", tests, NULL, NULL);
}
