/*
 * test_payments.c: the payment services (core/services/payments.c,
 * refunds.c, payfiles.c, webhooks.c) without HTTP: a temporary store, the
 * purpose-built payment plugins tp-good (authorise) and tp-hook (refund,
 * webhook callback) from tests/plugins (their paths are argv[1] and
 * argv[2]), enabled for the vendor, and the loop run until each answer comes.
 *
 * Covers: a payment is recorded once (the same reference again changes
 * nothing; an amount that is not the total is refused naming "amount",
 * with nothing written); a refund of more than was paid (or of an order
 * not paid) is refused and changes nothing; a refund (through tp-hook's
 * refund) reverses each earned commission once, cancels the renewed
 * contract and loses the opportunity, and a second refund changes nothing;
 * a payment file with one wrong row (a wrong amount, an order that does not
 * read) writes nothing and names the row and its column, put right it pays
 * each order once, and the same file again changes nothing; a webhook
 * (tp-hook's callback) is refused when its signature does not verify, and
 * delivered twice pays and fulfils the order once.  The routes are tests/integration/test_orders.py,
 * test_card_orders.py and test_commissions.py.
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
#include "services/orders.h"
#include "services/payfiles.h"
#include "services/payments.h"
#include "services/refunds.h"
#include "services/webhooks.h"
#include "store/store.h"
#include "fixture.h"
#include "unit.h"

#define V 1
#define OPP 1

static const char *plugin_paths[2];
static const char *const plugin_names[2] = { "tp-good", "tp-hook" };

struct seed {
	struct rd_fx *f;
};

static int seed_write(struct rd_txn *t, void *arg)
{
	struct seed *s = arg;
	int rc = 0;
	for (int i = 0; i < 3 && rc == 0; i++) /* opportunities 1, 2 and 3 */
		rc = rd_fx_seed_quote(t, &s->f->dom, V, RD_OPP_ACCEPTED);
	for (int i = 0; i < 2 && rc == 0; i++)
		rc = rd_fx_enable(s->f, t, V, plugin_names[i], i == 0 ? "{\"account\":\"ACME-1\"}" : "{}");
	return rc;
}

static int setup(void **state)
{
	struct rd_fx *f = rd_fx_new("payments", plugin_paths, plugin_names, 2);
	struct seed s = { f };
	assert_rc(rd_store_write(f->store, seed_write, &s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	rd_fx_free(*state);
	return 0;
}

static const struct rd_actor vendor_user = { .vendor = V, .user = 1 };

struct placed {
	bool done;
	struct rd_order_answer a;
};

static void placed(const struct rd_order_answer *a, void *arg)
{
	struct placed *p = arg;
	p->a = *a;
	p->done = true;
}

/* Places the order of opportunity opp through option; it awaits payment. */
static struct rd_order place(struct rd_fx *f, uint64_t opp, const char *option)
{
	struct rd_order_ask ask = { .opportunity_id = opp };
	snprintf(ask.option, sizeof ask.option, "%s", option);
	snprintf(ask.key, sizeof ask.key, "key-%llu", (unsigned long long)opp);
	struct placed p = { 0 };
	assert_rc(rd_order_place(&f->app, &vendor_user, &ask, placed, &p), 0);
	rd_fx_run_until(f, &p.done);
	assert_rc(p.a.err.rc, 0);
	assert_int_equal(p.a.order.state, RD_ORDER_AWAITING_PAYMENT);
	assert_int_equal(p.a.order.total, 10000);
	return p.a.order;
}

static struct rd_order get_order(struct rd_fx *f, uint64_t id)
{
	struct rd_txn *t;
	struct rd_order o;
	assert_rc(rd_store_read(f->store, &t), 0);
	assert_rc(rd_entity_get(t, f->dom.orders, &rd_entity_order, V, id, &o), 0);
	rd_txn_end(t);
	return o;
}

/* Counts the commission entries of one kind for order; *sum their amounts. */
static size_t entries(struct rd_fx *f, uint8_t kind, uint64_t order, int64_t *sum)
{
	struct rd_txn *t;
	assert_rc(rd_store_read(f->store, &t), 0);
	struct rd_iter it;
	struct rd_item item;
	struct rd_commission c;
	size_t n = 0;
	*sum = 0;
	int rc = rd_iter_records(&it, t, f->dom.commissions, V, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_commission, item.val, item.len, &c) == 0 && c.kind == kind &&
		    c.order_id == order) {
			*sum += c.amount;
			n++;
		}
	rd_iter_close(&it);
	rd_txn_end(t);
	return n;
}

/* ---- recording a payment ------------------------------------------------------------------- */

static void test_payment_is_recorded_once(void **state)
{
	struct rd_fx *f = *state;
	struct rd_order o = place(f, OPP, "tp_card");
	struct rd_payment_answer a;

	assert_rc(rd_payment_record(&f->app, &vendor_user, o.id, 9999, "BANK-1", &a), RD_ERANGE);
	assert_string_equal(a.err.code, "amount_mismatch");
	assert_string_equal(a.err.field, "amount");
	assert_int_equal(rd_serr_status(a.err.rc), 422);
	assert_int_equal(get_order(f, o.id).state, RD_ORDER_AWAITING_PAYMENT); /* nothing written */

	assert_rc(rd_payment_record(&f->app, &vendor_user, o.id, 10000, "BANK-1", &a), 0);
	assert_false(a.unchanged);
	assert_int_equal(a.order.state, RD_ORDER_FULFILLED);
	assert_int_equal(a.order.paid_amount, 10000);
	assert_string_equal(a.order.paid_reference, "BANK-1");
	int64_t sum;
	assert_int_equal(entries(f, RD_COMMISSION_EARNED, o.id, &sum), 2);
	assert_int_equal(sum, 1500);

	assert_rc(rd_payment_record(&f->app, &vendor_user, o.id, 10000, "BANK-1", &a), 0); /* a replay */
	assert_true(a.unchanged);
	assert_int_equal(a.order.state, RD_ORDER_FULFILLED);
	assert_int_equal(entries(f, RD_COMMISSION_EARNED, o.id, &sum), 2);
	assert_int_equal(sum, 1500);

	assert_rc(rd_payment_record(&f->app, &vendor_user, o.id, 10000, "BANK-2", &a), RD_EEXISTS);
	assert_string_equal(a.err.field, "reference");
	assert_string_equal(get_order(f, o.id).paid_reference, "BANK-1");

	assert_rc(rd_payment_record(&f->app, &vendor_user, 999, 10000, "BANK-3", &a), RD_ENOTFOUND);
	assert_string_equal(a.err.field, "id");
	assert_rc(rd_payment_record(&f->app, &vendor_user, o.id, 0, "BANK-1", &a), RD_EINVAL);
	assert_string_equal(a.err.field, "amount");
	assert_rc(rd_payment_record(&f->app, &vendor_user, o.id, 10000, "BANK\x01", &a), RD_EINVAL);
	assert_string_equal(a.err.field, "reference");
}

/* ---- refunds -------------------------------------------------------------------------------- */

struct refunded {
	bool done;
	struct rd_refund_answer a;
};

static void refunded(const struct rd_refund_answer *a, void *arg)
{
	struct refunded *r = arg;
	r->a = *a;
	r->done = true;
}

static struct rd_refund_answer refund(struct rd_fx *f, uint64_t id, int64_t amount, const char *reason)
{
	struct refunded r = { 0 };
	assert_rc(rd_refund(&f->app, &vendor_user, id, amount, reason, refunded, &r), 0);
	rd_fx_run_until(f, &r.done);
	return r.a;
}

/* A paid order of opportunity opp through option. */
static struct rd_order paid(struct rd_fx *f, uint64_t opp, const char *option)
{
	struct rd_order o = place(f, opp, option);
	struct rd_payment_answer a;
	char ref[32];
	snprintf(ref, sizeof ref, "BANK-%llu", (unsigned long long)opp);
	assert_rc(rd_payment_record(&f->app, &vendor_user, o.id, o.total, ref, &a), 0);
	assert_int_equal(a.order.state, RD_ORDER_FULFILLED);
	return a.order;
}

static void test_refund_more_than_paid_is_refused(void **state)
{
	struct rd_fx *f = *state;
	struct rd_order waiting = place(f, 2, "tp_card");
	struct rd_refund_answer a = refund(f, waiting.id, 0, "changed their mind");
	assert_rc(a.err.rc, RD_EEXISTS); /* nothing was paid */
	assert_string_equal(a.err.field, "id");

	struct rd_order o = paid(f, OPP, "tp_hook");
	a = refund(f, o.id, 10001, "changed their mind");
	assert_rc(a.err.rc, RD_ERANGE);
	assert_string_equal(a.err.field, "amount");
	assert_contains(a.err.message, "at most what was paid (10000");
	assert_int_equal(rd_serr_status(a.err.rc), 422);
	a = refund(f, o.id, 5000, "changed their mind");
	assert_rc(a.err.rc, RD_EINVAL); /* refunds are in full */
	assert_string_equal(a.err.field, "amount");
	a = refund(f, o.id, 0, "bad\nreason");
	assert_rc(a.err.rc, RD_EINVAL);
	assert_string_equal(a.err.field, "reason");
	a = refund(f, 999, 0, "changed their mind");
	assert_rc(a.err.rc, RD_ENOTFOUND);

	assert_int_equal(get_order(f, o.id).state, RD_ORDER_FULFILLED); /* none of it changed anything */
	int64_t sum;
	assert_int_equal(entries(f, RD_COMMISSION_REVERSAL, o.id, &sum), 0);
}

static void test_refund_reverses_commissions_once(void **state)
{
	struct rd_fx *f = *state;
	struct rd_order o = paid(f, OPP, "tp_hook");
	int64_t sum;
	assert_int_equal(entries(f, RD_COMMISSION_EARNED, o.id, &sum), 2);

	struct rd_refund_answer a = refund(f, o.id, 10000, "customer left");
	assert_rc(a.err.rc, 0);
	assert_int_equal(a.order.state, RD_ORDER_REFUNDED);
	assert_string_equal(a.order.payment_message, "refunded: customer left");
	assert_int_equal(entries(f, RD_COMMISSION_REVERSAL, o.id, &sum), 2);
	assert_int_equal(sum, -1500);

	a = refund(f, o.id, 0, "customer left");
	assert_rc(a.err.rc, 0); /* refunded already: nothing changes */
	assert_int_equal(a.order.state, RD_ORDER_REFUNDED);
	assert_int_equal(entries(f, RD_COMMISSION_REVERSAL, o.id, &sum), 2);
	assert_int_equal(sum, -1500);

	struct rd_txn *t;
	struct rd_contract k;
	struct rd_opportunity *opp = malloc(sizeof *opp);
	assert_rc(rd_store_read(f->store, &t), 0);
	assert_rc(rd_entity_get(t, f->dom.contracts, &rd_entity_contract, V, o.new_contract_id, &k), 0);
	assert_rc(rd_entity_get(t, f->dom.opportunities, &rd_entity_opportunity, V, OPP, opp), 0);
	rd_txn_end(t);
	assert_int_equal(k.status, RD_CONTRACT_CANCELLED);
	assert_int_equal(opp->state, RD_OPP_LOST);
	free(opp);
}

/* ---- payment files ---------------------------------------------------------------------------- */

static void test_payment_file_is_all_or_nothing(void **state)
{
	struct rd_fx *f = *state;
	struct rd_order a1 = place(f, 1, "tp_card"), a2 = place(f, 2, "tp_card");
	char csv[512];
	struct rd_payfile_answer a;

	/* row 3 pays the wrong amount: nothing of the file is written */
	snprintf(csv, sizeof csv, "reference,order,amount\r\nR-1,%s,10000\r\nR-2,%llu,9999\r\n", a1.number,
		 (unsigned long long)a2.id);
	assert_rc(rd_payfile_apply(&f->app, &vendor_user, csv, strlen(csv), &a), RD_ERANGE);
	assert_string_equal(a.err.code, "rows_invalid");
	assert_int_equal(rd_serr_status(a.err.rc), 422);
	assert_int_equal(a.rows, 2);
	assert_int_equal(a.n_errors, 1);
	assert_int_equal(a.errors[0].row, 3);
	assert_string_equal(a.errors[0].field, "amount");
	assert_int_equal(a.n_items, 0);
	rd_payfile_answer_clear(&a);
	assert_int_equal(get_order(f, a1.id).state, RD_ORDER_AWAITING_PAYMENT);
	assert_int_equal(get_order(f, a2.id).state, RD_ORDER_AWAITING_PAYMENT);

	/* a row that does not read: named, with the others still checked */
	snprintf(csv, sizeof csv, "order,amount,reference\nO-bad,10000,R-1\n%llu,10000,R-2\n", (unsigned long long)a2.id);
	assert_rc(rd_payfile_apply(&f->app, &vendor_user, csv, strlen(csv), &a), RD_ERANGE);
	assert_int_equal(a.n_errors, 1);
	assert_int_equal(a.errors[0].row, 2);
	assert_string_equal(a.errors[0].field, "order");
	rd_payfile_answer_clear(&a);
	assert_int_equal(get_order(f, a2.id).state, RD_ORDER_AWAITING_PAYMENT);

	/* the file put right: both paid, once */
	snprintf(csv, sizeof csv, "order,amount,reference\n%s,10000,R-1\n%llu,10000,R-2\n", a1.number,
		 (unsigned long long)a2.id);
	assert_rc(rd_payfile_apply(&f->app, &vendor_user, csv, strlen(csv), &a), 0);
	assert_int_equal(a.paid, 2);
	assert_int_equal(a.n_items, 2);
	assert_string_equal(a.items[0].order, a1.number);
	assert_false(a.items[1].unchanged);
	rd_payfile_answer_clear(&a);
	assert_int_equal(get_order(f, a1.id).state, RD_ORDER_FULFILLED);
	assert_string_equal(get_order(f, a2.id).paid_reference, "R-2");
	assert_rc(rd_payfile_apply(&f->app, &vendor_user, csv, strlen(csv), &a), 0); /* the file again */
	assert_int_equal(a.paid, 0);
	assert_true(a.items[0].unchanged && a.items[1].unchanged);
	rd_payfile_answer_clear(&a);
	int64_t sum;
	assert_int_equal(entries(f, RD_COMMISSION_EARNED, a1.id, &sum), 2);

	assert_rc(rd_payfile_apply(&f->app, &vendor_user, "order,amount\n", 13, &a), RD_ERANGE);
	assert_string_equal(a.errors[0].field, "reference"); /* the header names the column missing */
	rd_payfile_answer_clear(&a);
}

/* ---- webhooks ------------------------------------------------------------------------------ */

struct hooked {
	bool done;
	struct rd_webhook_answer a;
};

static void hooked(const struct rd_webhook_answer *a, void *arg)
{
	struct hooked *h = arg;
	h->a = *a;
	h->done = true;
}

static struct rd_webhook_answer hook(struct rd_fx *f, uint64_t vendor, const char *plugin, const char *body, const char *sig)
{
	struct rd_actor who = { .vendor = vendor };
	struct hooked h = { 0 };
	assert_rc(rd_webhook_receive(&f->app, &who, plugin, body, strlen(body), sig, hooked, &h), 0);
	rd_fx_run_until(f, &h.done);
	return h.a;
}

static void test_webhook_replayed_applies_once(void **state)
{
	struct rd_fx *f = *state;
	struct rd_order o = place(f, OPP, "tp_hook");
	assert_string_equal(o.payment_plugin, "tp-hook");
	char event[200];
	snprintf(event, sizeof event, "%s captured %s", o.number, o.payment_ref);

	struct rd_webhook_answer a = hook(f, V, "tp-hook", event, "sig-forged");
	assert_rc(a.err.rc, RD_EINVAL); /* the plugin's verification refuses it */
	assert_string_equal(a.err.field, "Gateway-Signature");
	assert_contains(a.err.message, "does not verify");
	a = hook(f, V, "tp-hook", event, NULL);
	assert_rc(a.err.rc, RD_EINVAL);
	assert_string_equal(a.err.field, "Gateway-Signature");
	a = hook(f, V, "tp-good", event, "sig-ok");
	assert_rc(a.err.rc, RD_ENOTFOUND); /* tp-good takes no webhooks */
	assert_string_equal(a.err.field, "plugin");
	a = hook(f, 0, "tp-hook", event, "sig-ok");
	assert_rc(a.err.rc, RD_EINVAL);
	assert_string_equal(a.err.field, "vendor");
	a = hook(f, 2, "tp-hook", event, "sig-ok");
	assert_rc(a.err.rc, RD_ENOTFOUND); /* not enabled for vendor 2 */
	assert_string_equal(a.err.field, "vendor");
	assert_int_equal(get_order(f, o.id).state, RD_ORDER_AWAITING_PAYMENT);

	a = hook(f, V, "tp-hook", event, "sig-ok");
	assert_rc(a.err.rc, 0);
	assert_string_equal(a.result, "applied");
	assert_string_equal(a.order_ref, o.number);
	assert_int_equal(a.order.state, RD_ORDER_FULFILLED);
	struct rd_order first = get_order(f, o.id);
	assert_int_equal(first.paid_amount, 10000);
	int64_t sum;
	assert_int_equal(entries(f, RD_COMMISSION_EARNED, o.id, &sum), 2);

	a = hook(f, V, "tp-hook", event, "sig-ok"); /* the gateway delivers it again */
	assert_rc(a.err.rc, 0);
	assert_contains(a.result, "nothing changed");
	assert_int_equal(a.order.state, RD_ORDER_FULFILLED);
	struct rd_order again = get_order(f, o.id);
	assert_int_equal(again.paid_at, first.paid_at);
	assert_int_equal(again.new_contract_id, first.new_contract_id);
	assert_int_equal(entries(f, RD_COMMISSION_EARNED, o.id, &sum), 2);
	assert_int_equal(sum, 1500);

	snprintf(event, sizeof event, "%s disputed %s", o.number, o.payment_ref);
	a = hook(f, V, "tp-hook", event, "sig-ok");
	assert_rc(a.err.rc, 0);
	assert_true(a.ignored); /* not about a payment's outcome */
	a = hook(f, V, "tp-hook", "O-2099-000009 captured X", "sig-ok");
	assert_rc(a.err.rc, 0);
	assert_contains(a.result, "ignored"); /* no such order: acknowledged, nothing to retry */
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: test_payments PATH/tp-good.so PATH/tp-hook.so\n");
		return 2;
	}
	plugin_paths[0] = argv[1];
	plugin_paths[1] = argv[2];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_payment_is_recorded_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refund_more_than_paid_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refund_reverses_commissions_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_payment_file_is_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_replayed_applies_once, setup, teardown),
	};
	return cmocka_run_group_tests_name("payments", tests, NULL, NULL);
}
