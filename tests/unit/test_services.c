/*
 * test_services.c: the orders and commissions services (core/services)
 * without HTTP: a temporary store, the purpose-built payment plugin tp-good
 * (tests/plugins, its path is argv[1]) enabled for the vendor, and the loop
 * run until each answer comes.
 *
 * Covers: placing an order is idempotent (the same key answers the same
 * order, the same key for another request is refused, another key finds
 * the opportunity's live order); refusals name their field and code (the
 * portal's customer, an unknown payment option, a quote not accepted);
 * fulfilment makes the renewed term (new contract, old one renewed,
 * opportunity won, order fulfilled) and accrues each channel share once;
 * a reversal answers each earned entry once; a policy upload's bounds
 * name the field at fault; the one map from a service's code to an HTTP
 * status (core/edge/reply.c).  The routes are
 * tests/integration/test_orders.py and test_commissions.py.  The purge of
 * expired tokens removes exactly the tokens expired at its instant (never
 * one that never expires or is still live), oldest first, at most its limit
 * per call, and leaves no index entry behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "domain/app.h"
#include "domain/date.h"
#include "domain/model.h"
#include "edge/call.h"
#include "plugin/host.h"
#include "services/commissions.h"
#include "services/orders.h"
#include "services/policies.h"
#include "services/renewal.h"
#include "services/users.h"
#include "store/store.h"
#include "util/clock.h"
#include "fixture.h"
#include "unit.h"

#define V 1
#define OPP 1
#define OLD 1

static const char *plugin_path;

struct seed {
	struct rd_fx *f;
	struct rd_domain *d;
	uint8_t opp_state;
};

static int seed_write(struct rd_txn *t, void *arg)
{
	struct seed *s = arg;
	int rc = rd_fx_seed_quote(t, s->d, V, s->opp_state);
	return rc < 0 ? rc : rd_fx_enable(s->f, t, V, "tp-good", "{\"account\":\"ACME-1\"}");
}

static int setup_state(void **state, uint8_t opp_state)
{
	struct rd_fx *f = rd_fx_new("services", &plugin_path, (const char *const[]){ "tp-good" }, 1);
	struct seed s = { f, &f->dom, opp_state };
	assert_rc(rd_store_write(f->store, seed_write, &s), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_state(state, RD_OPP_ACCEPTED);
}

static int setup_pending(void **state)
{
	return setup_state(state, RD_OPP_PENDING_DECISION);
}

static int teardown(void **state)
{
	rd_fx_free(*state);
	return 0;
}

/* ---- placing ------------------------------------------------------------------------------ */

struct got {
	bool done;
	struct rd_order_answer a;
};

static void got_it(const struct rd_order_answer *a, void *arg)
{
	struct got *g = arg;
	g->a = *a;
	g->done = true;
}

/* Places an order and runs the loop until its answer (bounded). */
static struct rd_order_answer place(struct rd_fx *f, const struct rd_actor *who, const char *key, const char *option,
				    const char *po)
{
	struct rd_order_ask ask = { .opportunity_id = OPP };
	snprintf(ask.option, sizeof ask.option, "%s", option);
	snprintf(ask.po_number, sizeof ask.po_number, "%s", po);
	snprintf(ask.key, sizeof ask.key, "%s", key);
	struct got g = { 0 };
	assert_rc(rd_order_place(&f->app, who, &ask, got_it, &g), 0);
	rd_fx_run_until(f, &g.done); /* the plugin answers on the pool */
	return g.a;
}

static const struct rd_actor vendor_user = { .vendor = V, .user = 1 };

static void test_placing_is_idempotent(void **state)
{
	struct rd_fx *f = *state;
	struct rd_order_answer a = place(f, &vendor_user, "key-1", "tp_card", "");
	assert_rc(a.err.rc, 0);
	assert_true(a.created);
	assert_int_equal(a.order.state, RD_ORDER_AWAITING_PAYMENT); /* tp-good authorises */
	assert_int_equal(a.order.total, 10000);
	assert_string_equal(a.order.payment_plugin, "tp-good");
	uint64_t id = a.order.id;

	struct rd_order_answer again = place(f, &vendor_user, "key-1", "tp_card", "");
	assert_rc(again.err.rc, 0);
	assert_false(again.created); /* a replay: the same order, not a second one */
	assert_int_equal(again.order.id, id);
	assert_int_equal(again.order.state, RD_ORDER_AWAITING_PAYMENT);

	struct rd_order_answer other = place(f, &vendor_user, "key-1", "tp_card", "PO-9");
	assert_rc(other.err.rc, RD_EEXISTS); /* the key of another request */
	assert_string_equal(other.err.code, "idempotency_conflict");
	assert_string_equal(other.err.field, "Idempotency-Key");

	struct rd_order_answer second = place(f, &vendor_user, "key-2", "tp_card", "");
	assert_rc(second.err.rc, 0);
	assert_false(second.created); /* one live order per opportunity */
	assert_int_equal(second.order.id, id);
}

static void test_refusals_name_the_field(void **state)
{
	struct rd_fx *f = *state;
	struct rd_actor stranger = { .vendor = V, .customer = 8, .portal = true };
	struct rd_order_answer a = place(f, &stranger, "key-p", "tp_card", "");
	assert_rc(a.err.rc, RD_EINVAL); /* another customer's quote does not exist for this one */
	assert_string_equal(a.err.field, "opportunity_id");
	a = place(f, &vendor_user, "key-u", "no_such_option", "");
	assert_rc(a.err.rc, RD_EINVAL);
	assert_string_equal(a.err.field, "payment_option");
	/* nothing was written by a refusal: the first real order is number 1 */
	a = place(f, &vendor_user, "key-ok", "tp_card", "");
	assert_rc(a.err.rc, 0);
	assert_int_equal(a.order.id, 1);
}

static void test_not_accepted_is_a_conflict(void **state)
{
	struct rd_fx *f = *state;
	struct rd_actor customer = { .vendor = V, .customer = 7, .portal = true };
	struct rd_order_answer a = place(f, &customer, "key-c", "tp_card", "");
	assert_rc(a.err.rc, RD_EEXISTS);
	assert_string_equal(a.err.code, "conflict");
	assert_contains(a.err.message, "accept the quote first");
}

/* ---- fulfilment and commissions ------------------------------------------------------------- */

struct paying {
	struct rd_domain *d;
	uint64_t order;
	struct rd_order o;
};

static int pay_write(struct rd_txn *t, void *arg)
{
	struct paying *p = arg;
	int rc = rd_entity_get(t, p->d->orders, &rd_entity_order, V, p->order, &p->o);
	if (rc < 0)
		return rc;
	p->o.state = RD_ORDER_PAID;
	p->o.paid_amount = p->o.total;
	return rd_order_fulfil(t, p->d, V, 1, &p->o);
}

static int accrue_again(struct rd_txn *t, void *arg)
{
	struct paying *p = arg;
	return rd_commissions_accrue(t, p->d, V, &p->o);
}

static int reverse(struct rd_txn *t, void *arg)
{
	struct paying *p = arg;
	return rd_commissions_reverse(t, p->d, V, &p->o);
}

/* Sums the entries of one kind; *n their count. */
static int64_t entries(struct rd_fx *f, uint8_t kind, const char *party, size_t *n)
{
	struct rd_txn *t;
	assert_rc(rd_store_read(f->store, &t), 0);
	struct rd_iter it;
	struct rd_item item;
	struct rd_commission c;
	int64_t sum = 0;
	*n = 0;
	int rc = rd_iter_records(&it, t, f->dom.commissions, V, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_commission, item.val, item.len, &c) == 0 && c.kind == kind &&
		    !strcmp(c.party, party)) {
			sum += c.amount;
			++*n;
		}
	rd_iter_close(&it);
	rd_txn_end(t);
	return sum;
}

static void test_fulfilment_and_commissions(void **state)
{
	struct rd_fx *f = *state;
	struct rd_order_answer a = place(f, &vendor_user, "key-f", "tp_card", "");
	assert_rc(a.err.rc, 0);
	struct paying p = { .d = &f->dom, .order = a.order.id };
	assert_rc(rd_store_write(f->store, pay_write, &p), 0);
	assert_int_equal(p.o.state, RD_ORDER_FULFILLED);
	assert_true(p.o.new_contract_id != 0);

	struct rd_txn *t;
	assert_rc(rd_store_read(f->store, &t), 0);
	struct rd_contract old, k;
	struct rd_opportunity *o = malloc(sizeof *o);
	assert_rc(rd_entity_get(t, f->dom.contracts, &rd_entity_contract, V, OLD, &old), 0);
	assert_rc(rd_entity_get(t, f->dom.contracts, &rd_entity_contract, V, p.o.new_contract_id, &k), 0);
	assert_rc(rd_entity_get(t, f->dom.opportunities, &rd_entity_opportunity, V, OPP, o), 0);
	rd_txn_end(t);
	assert_int_equal(old.status, RD_CONTRACT_RENEWED);
	assert_int_equal(k.status, RD_CONTRACT_LIVE);
	assert_int_equal(k.start, old.end + 1);
	assert_int_equal(k.end, rd_term_end(k.start, RD_TERM_ANNUAL));
	assert_int_equal(k.quantity, 10);
	assert_string_equal(k.external_id, p.o.number);
	assert_int_equal(o->state, RD_OPP_WON);
	free(o);

	size_t n;
	assert_int_equal(entries(f, RD_COMMISSION_EARNED, "reseller", &n), 1000);
	assert_int_equal(n, 1);
	assert_int_equal(entries(f, RD_COMMISSION_EARNED, "distributor", &n), 500);
	assert_int_equal(n, 1);
	assert_rc(rd_store_write(f->store, accrue_again, &p), 0); /* exactly once per order, kind and party */
	assert_int_equal(entries(f, RD_COMMISSION_EARNED, "reseller", &n), 1000);
	assert_int_equal(n, 1);

	assert_rc(rd_store_write(f->store, reverse, &p), 0);
	assert_rc(rd_store_write(f->store, reverse, &p), 0);
	assert_int_equal(entries(f, RD_COMMISSION_REVERSAL, "reseller", &n), -1000);
	assert_int_equal(n, 1);
	assert_int_equal(entries(f, RD_COMMISSION_REVERSAL, "distributor", &n), -500);
	assert_int_equal(n, 1);
}

/* ---- policy uploads and the status map ----------------------------------------------------- */

/* A quote the partner of record won itself renews by the paid order's
 * rule (rd_contract_renew): the renewal line renews the contract, a chosen
 * cross-sell becomes a contract of its own, an unchosen one does not, the
 * old contract is renewed; marking it again changes nothing. */
struct won {
	struct rd_domain *d;
	uint64_t renewed, cross, again;
};

static int won_write(struct rd_txn *t, void *arg)
{
	struct won *w = arg;
	struct rd_product pr = { 0 };
	snprintf(pr.external_id, sizeof pr.external_id, "XS-1");
	snprintf(pr.name, sizeof pr.name, "Backup add-on");
	int rc = rd_entity_put(t, w->d->products, &rd_entity_product, V, &pr, RD_PUT_NEW);
	if (rc < 0)
		return rc;
	struct rd_opportunity *o = calloc(1, sizeof *o);
	if ((rc = rd_entity_get(t, w->d->opportunities, &rd_entity_opportunity, V, OPP, o)) == 0) {
		o->publish = RD_PUBLISH_PARTNER;
		snprintf(o->number, sizeof o->number, "Q-WON-1");
		o->n_lines = 3;
		for (int i = 1; i < 3; i++) {
			struct rd_quote_line *l = &o->lines[i];
			memset(l, 0, sizeof *l);
			l->kind = RD_LINE_CROSSSELL;
			l->optional = true;
			l->selected = i == 1;
			snprintf(l->sku, sizeof l->sku, i == 1 ? "XS-1" : "XS-NOT-CHOSEN");
			l->quantity = 4;
			l->unit_list = 700;
			l->list = 2800;
		}
		rc = rd_renewal_won(t, w->d, V, 1, o, &w->renewed);
		if (rc == 0)
			rc = rd_renewal_won(t, w->d, V, 1, o, &w->again);
	}
	free(o);
	if (rc < 0)
		return rc;
	uint64_t id;
	rc = rd_index_find(t, w->d->contracts, "ext", V, "Q-WON-1-2", sizeof "Q-WON-1-2", &id);
	w->cross = rc == 0 ? id : 0;
	return rc == RD_ENOTFOUND ? 0 : rc;
}

static void test_partner_won_renews_like_an_order(void **state)
{
	struct rd_fx *f = *state;
	struct won w = { .d = &f->dom };
	assert_rc(rd_store_write(f->store, won_write, &w), 0);
	assert_true(w.renewed != 0);
	assert_true(w.cross != 0);
	assert_int_equal(w.again, 0); /* renewed already: nothing more */
	struct rd_txn *t;
	assert_rc(rd_store_read(f->store, &t), 0);
	struct rd_contract old, k, x;
	assert_rc(rd_entity_get(t, f->dom.contracts, &rd_entity_contract, V, OLD, &old), 0);
	assert_rc(rd_entity_get(t, f->dom.contracts, &rd_entity_contract, V, w.renewed, &k), 0);
	assert_rc(rd_entity_get(t, f->dom.contracts, &rd_entity_contract, V, w.cross, &x), 0);
	assert_int_equal(old.status, RD_CONTRACT_RENEWED);
	assert_int_equal(k.status, RD_CONTRACT_LIVE);
	assert_int_equal(k.product_id, old.product_id);
	assert_int_equal(k.quantity, 10);
	assert_int_equal(k.reseller_id, old.reseller_id); /* the partner stays incumbent */
	assert_int_equal(k.start, old.end + 1);
	assert_string_equal(k.external_id, "Q-WON-1");
	assert_int_equal(x.status, RD_CONTRACT_LIVE);
	assert_int_equal(x.quantity, 4);
	assert_int_equal(x.start, k.start);
	assert_int_equal(x.end, k.end);
	uint64_t id;
	assert_rc(rd_index_find(t, f->dom.contracts, "ext", V, "Q-WON-1-3", sizeof "Q-WON-1-3", &id), RD_ENOTFOUND);
	rd_txn_end(t);
}

static void test_policy_upload_bounds(void **state)
{
	(void)state;
	struct rd_policy_job *j = calloc(1, sizeof *j);
	j->who = (struct rd_actor){ .vendor = V, .user = 4 };
	struct rd_serr e;
	json_t *one = json_pack("[{s:s}]", "name", "v1"), *none = json_array(), *many = json_array();
	for (int i = 0; i < 1001; i++)
		json_array_append_new(many, json_object());
	char *big = malloc(sizeof j->rec.source + 1);
	memset(big, 'x', sizeof j->rec.source);
	big[sizeof j->rec.source] = 0;
	char note[300];
	memset(note, 'n', sizeof note - 1);
	note[sizeof note - 1] = 0;

	assert_rc(rd_policy_upload_prepare(j, "margin", big, one, NULL, &e), RD_EINVAL);
	assert_string_equal(e.field, "source");
	assert_rc(rd_policy_upload_prepare(j, "margin", "return {}", none, NULL, &e), RD_EINVAL);
	assert_string_equal(e.field, "vectors");
	assert_rc(rd_policy_upload_prepare(j, "margin", "return {}", many, NULL, &e), RD_EINVAL);
	assert_string_equal(e.field, "vectors");
	assert_rc(rd_policy_upload_prepare(j, "margin", "return {}", one, note, &e), RD_EINVAL);
	assert_string_equal(e.field, "note");
	assert_null(j->vectors); /* a refusal holds nothing */

	assert_rc(rd_policy_upload_prepare(j, "routing", "return {}", one, "first", &e), 0);
	assert_string_equal(j->rec.kind, "routing");
	assert_string_equal(j->rec.source, "return {}");
	assert_string_equal(j->rec.vectors, "[{\"name\":\"v1\"}]");
	assert_string_equal(j->rec.note, "first");
	assert_int_equal(j->rec.user_id, 4);
	assert_ptr_equal(j->vectors, one);
	rd_policy_job_clear(j);
	json_decref(one);
	json_decref(none);
	json_decref(many);
	free(big);
	free(j);
}

static void test_refusal_statuses(void **state)
{
	(void)state;
	assert_int_equal(rd_serr_status(0), 200);
	assert_int_equal(rd_serr_status(RD_EINVAL), 400);
	assert_int_equal(rd_serr_status(RD_ENOTFOUND), 404);
	assert_int_equal(rd_serr_status(RD_EEXISTS), 409);
	assert_int_equal(rd_serr_status(RD_ETOOBIG), 413);
	assert_int_equal(rd_serr_status(-EIO), 502);
	assert_int_equal(rd_serr_status(RD_EBUSY), 503);
	assert_int_equal(rd_serr_status(-ETIMEDOUT), 504);
	assert_int_equal(rd_serr_status(RD_EINTERNAL), 500);
	assert_int_equal(rd_serr_status(RD_ECORRUPT), 500);
}

/* ---- expired tokens ---------------------------------------------------------------------- */

struct toks {
	struct rd_domain *d;
	uint64_t ids[8];
};

/* Eight tokens: expiries 0 (never), 100, 200, 300, 0, 150, 400, 100, kinds
 * mixed; each with a hash the "hash" index finds. */
static const uint64_t tok_exp[8] = { 0, 100, 200, 300, 0, 150, 400, 100 };

static int toks_write(struct rd_txn *t, void *arg)
{
	struct toks *x = arg;
	for (int i = 0; i < 8; i++) {
		struct rd_token tok = { 0 };
		snprintf(tok.hash, sizeof tok.hash, "%064d", i + 1);
		tok.vendor_id = V;
		tok.user_id = 1 + (uint64_t)(i % 2);
		snprintf(tok.name, sizeof tok.name, "t%d", i);
		tok.kind = (uint8_t)(i % 3 == 0 ? RD_TOKEN_API : i % 3 == 1 ? RD_TOKEN_SESSION : RD_TOKEN_CUSTOMER);
		tok.created_at = 50;
		tok.expires_at = tok_exp[i];
		int rc = rd_entity_put(t, x->d->tokens, &rd_entity_token, 0, &tok, 0);
		if (rc < 0)
			return rc;
		x->ids[i] = tok.id;
	}
	return 0;
}

/* Which of the eight are still stored (bit i), each found by its hash too. */
static unsigned toks_left(struct rd_fx *f, const struct toks *x)
{
	struct rd_txn *t;
	assert_rc(rd_store_read(f->store, &t), 0);
	unsigned left = 0;
	for (int i = 0; i < 8; i++) {
		struct rd_token tok;
		char hash[65];
		uint64_t id = 0;
		snprintf(hash, sizeof hash, "%064d", i + 1);
		int a = rd_entity_get(t, f->dom.tokens, &rd_entity_token, 0, x->ids[i], &tok);
		int b = rd_index_find(t, f->dom.tokens, "hash", 0, hash, strlen(hash) + 1, &id);
		assert_int_equal(a == 0, b == 0); /* no index entry outlives its record */
		if (a == 0)
			left |= 1u << i;
	}
	uint64_t n = 0;
	assert_rc(rd_store_count(t, f->dom.tokens, 0, &n), 0);
	assert_int_equal(n, (uint64_t)__builtin_popcount(left));
	rd_txn_end(t);
	return left;
}

static void test_expired_tokens_are_purged(void **state)
{
	(void)state;
	struct rd_fx *f = rd_fx_new("tokens", NULL, NULL, 0);
	struct toks x = { &f->dom, { 0 } };
	assert_rc(rd_store_write(f->store, toks_write, &x), 0);
	assert_int_equal(toks_left(f, &x), 0xffu);
	assert_int_equal(rd_tokens_purge(f->store, &f->dom, 99, 100), 0); /* none expired yet */
	assert_int_equal(toks_left(f, &x), 0xffu);
	/* at 150: 100, 100 and 150 are expired (at their instant: expires_at <= now);
	 * a limit of 2 takes two of them, the oldest expiries first */
	assert_int_equal(rd_tokens_purge(f->store, &f->dom, 150, 2), 2);
	assert_int_equal(toks_left(f, &x), 0xffu & ~((1u << 1) | (1u << 7)));
	assert_int_equal(rd_tokens_purge(f->store, &f->dom, 150, 2), 1);
	assert_int_equal(toks_left(f, &x), 0xffu & ~((1u << 1) | (1u << 7) | (1u << 5)));
	assert_int_equal(rd_tokens_purge(f->store, &f->dom, 150, 2), 0);
	/* far in the future: every expiring one goes; the two that never expire stay */
	assert_int_equal(rd_tokens_purge(f->store, &f->dom, UINT64_MAX - 1, 100), 3);
	assert_int_equal(toks_left(f, &x), (1u << 0) | (1u << 4));
	assert_int_equal(rd_tokens_purge(f->store, &f->dom, UINT64_MAX - 1, 100), 0);
	rd_fx_free(f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_services PATH/tp-good.so\n");
		return 2;
	}
	plugin_path = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_placing_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_name_the_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_accepted_is_a_conflict, setup_pending, teardown),
		cmocka_unit_test_setup_teardown(test_fulfilment_and_commissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partner_won_renews_like_an_order, setup, teardown),
		cmocka_unit_test(test_policy_upload_bounds),
		cmocka_unit_test(test_refusal_statuses),
		cmocka_unit_test(test_expired_tokens_are_purged),
	};
	return cmocka_run_group_tests_name("services", tests, NULL, NULL);
}
