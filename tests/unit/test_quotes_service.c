/*
 * test_quotes_service.c: the quotes service (core/services/quotes.c)
 * without HTTP: a temporary store with one vendor (its discount bound 10 %),
 * two channels (distributor D1 with reseller R1, distributor D2 with
 * reseller R2) and their opportunities.
 *
 * Covers: a discount below 0 or above the vendor's bound is refused naming
 * discount_bp, and the record is unchanged; a closed (won) opportunity and
 * an ordered one (a live order fixed its total) refuse a new discount; a
 * partner's user outside its channel gets RD_ENOTFOUND, as for a missing
 * opportunity, while its distributor reaches its reseller's; a valid
 * amendment is stored with its audit entry; the customer's acceptance keeps
 * the optional lines chosen and refuses another customer's quote and one
 * the vendor does not sell online.  The
 * routes are tests/integration/test_pages_console.py and test_renewals.py.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/app.h"
#include "domain/model.h"
#include "edge/call.h"
#include "services/quotes.h"
#include "store/store.h"
#include "unit.h"

struct fx {
	char root[64];
	struct rd_store *store;
	struct rd_domain dom;
	struct rd_app app;
	uint64_t vendor, d1, r1, d2, r2, customer, contract;
	uint64_t open, won, other_channel, ordered;
};

static int rm_entry(const char *p, const struct stat *s, int flag, struct FTW *f)
{
	(void)s, (void)flag, (void)f;
	return remove(p);
}

static int put_partner(struct rd_txn *t, struct fx *f, uint8_t kind, uint64_t parent, uint64_t *id)
{
	struct rd_partner p = { .kind = kind, .parent_id = parent };
	snprintf(p.name, sizeof p.name, "partner");
	int rc = rd_entity_put(t, f->dom.partners, &rd_entity_partner, f->vendor, &p, RD_PUT_NEW);
	*id = p.id;
	return rc;
}

static int put_opp(struct rd_txn *t, struct fx *f, uint64_t reseller, uint64_t distributor, uint8_t state, uint64_t *id)
{
	struct rd_opportunity *o = calloc(1, sizeof *o);
	o->customer_id = f->customer;
	o->contract_id = f->contract;
	o->reseller_id = reseller;
	o->distributor_id = distributor;
	o->state = state;
	o->publish = RD_PUBLISH_VENDOR;
	memcpy(o->currency, "EUR", 4);
	o->n_lines = 2;
	o->lines[0] = (struct rd_quote_line){ .kind = RD_LINE_RENEWAL, .quantity = 10, .unit_list = 1000, .list = 10000 };
	o->lines[1] = (struct rd_quote_line){ .kind = RD_LINE_UPSELL, .quantity = 1, .unit_list = 500, .list = 500,
					      .optional = true };
	snprintf(o->lines[1].sku, sizeof o->lines[1].sku, "ADDON");
	int rc = rd_entity_put(t, f->dom.opportunities, &rd_entity_opportunity, f->vendor, o, RD_PUT_NEW);
	*id = o->id;
	free(o);
	return rc;
}

static int seed(struct rd_txn *t, void *arg)
{
	struct fx *f = arg;
	struct rd_vendor v = { .max_discount_bp = 1000, .max_discount_set = 1 };
	snprintf(v.name, sizeof v.name, "Acme");
	snprintf(v.slug, sizeof v.slug, "acme");
	memcpy(v.currency, "EUR", 4);
	int rc = rd_entity_put(t, f->dom.vendors, &rd_entity_vendor, 0, &v, RD_PUT_NEW);
	f->vendor = v.id;
	struct rd_customer c = { 0 };
	snprintf(c.name, sizeof c.name, "Customer");
	if (rc == 0)
		rc = rd_entity_put(t, f->dom.customers, &rd_entity_customer, f->vendor, &c, RD_PUT_NEW);
	f->customer = c.id;
	if (rc == 0)
		rc = put_partner(t, f, RD_PARTNER_DISTRIBUTOR, 0, &f->d1);
	if (rc == 0)
		rc = put_partner(t, f, RD_PARTNER_RESELLER, f->d1, &f->r1);
	if (rc == 0)
		rc = put_partner(t, f, RD_PARTNER_DISTRIBUTOR, 0, &f->d2);
	if (rc == 0)
		rc = put_partner(t, f, RD_PARTNER_RESELLER, f->d2, &f->r2);
	struct rd_contract k = { .customer_id = f->customer, .reseller_id = f->r1, .distributor_id = f->d1, .quantity = 10,
				 .term = RD_TERM_ANNUAL, .status = RD_CONTRACT_LIVE };
	memcpy(k.currency, "EUR", 4);
	if (rc == 0)
		rc = rd_entity_put(t, f->dom.contracts, &rd_entity_contract, f->vendor, &k, RD_PUT_NEW);
	f->contract = k.id;
	if (rc == 0)
		rc = put_opp(t, f, f->r1, f->d1, RD_OPP_PUBLISHED_VENDOR, &f->open);
	if (rc == 0)
		rc = put_opp(t, f, f->r1, f->d1, RD_OPP_WON, &f->won);
	if (rc == 0)
		rc = put_opp(t, f, f->r2, f->d2, RD_OPP_PUBLISHED_VENDOR, &f->other_channel);
	if (rc == 0)
		rc = put_opp(t, f, f->r1, f->d1, RD_OPP_ACCEPTED, &f->ordered);
	if (rc == 0) {
		struct rd_order *ord = calloc(1, sizeof *ord);
		ord->opportunity_id = f->ordered;
		ord->customer_id = f->customer;
		ord->state = RD_ORDER_AWAITING_PAYMENT;
		ord->total = 10500;
		memcpy(ord->currency, "EUR", 4);
		snprintf(ord->idempotency_key, sizeof ord->idempotency_key, "k1");
		rc = rd_entity_put(t, f->dom.orders, &rd_entity_order, f->vendor, ord, RD_PUT_NEW);
		free(ord);
	}
	return rc;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	snprintf(f->root, sizeof f->root, "/tmp/rd-quotes-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	char err[512] = "";
	if (rd_store_open(&f->store, f->root, NULL, err, sizeof err) < 0 || rd_domain_register(f->store, &f->dom) < 0)
		fail_msg("store: %s", err);
	f->app = (struct rd_app){ .store = f->store, .domain = &f->dom };
	assert_rc(rd_store_write(f->store, seed, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rd_store_close(&f->store);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct rd_opportunity load(struct fx *f, uint64_t id)
{
	struct rd_opportunity o;
	struct rd_txn *t;
	assert_rc(rd_store_read(f->store, &t), 0);
	assert_rc(rd_entity_get(t, f->dom.opportunities, &rd_entity_opportunity, f->vendor, id, &o), 0);
	rd_txn_end(t);
	return o;
}

/* The number of audit entries on opportunity id, and the last one's note. */
static int audits(struct fx *f, uint64_t id, char note[256])
{
	struct rd_txn *t;
	assert_rc(rd_store_read(f->store, &t), 0);
	struct rd_iter it;
	struct rd_item item;
	struct rd_audit *a = malloc(sizeof *a);
	int n = 0, rc = rd_iter_records(&it, t, f->dom.audit, f->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_audit, item.val, item.len, a) == 0 && !strcmp(a->object, "opportunities") &&
		    a->object_id == id) {
			n++;
			memcpy(note, a->note, sizeof a->note);
		}
	rd_iter_close(&it);
	rd_txn_end(t);
	free(a);
	assert_true(rc >= 0);
	return n;
}

static int amend_discount(struct fx *f, const struct rd_actor *who, uint64_t id, int64_t bp, struct rd_serr *e)
{
	struct rd_quote_amendment ch = { .set_discount = true, .discount_bp = bp };
	struct rd_opportunity out;
	return rd_quote_amend(&f->app, who, id, &ch, &out, e);
}

static void test_discount_bounds_name_the_field(void **state)
{
	struct fx *f = *state;
	struct rd_actor vendor_user = { .vendor = f->vendor, .user = 1 };
	struct rd_serr e;
	assert_rc(amend_discount(f, &vendor_user, f->open, -1, &e), RD_EINVAL);
	assert_string_equal(e.field, "discount_bp");
	assert_string_equal(e.code, "invalid");
	assert_rc(amend_discount(f, &vendor_user, f->open, 1001, &e), RD_ERANGE);
	assert_string_equal(e.field, "discount_bp");
	assert_string_equal(e.code, "discount_beyond_bound");
	assert_contains(e.message, "1000 basis points");
	assert_int_equal(rd_serr_status(e.rc), 422);
	assert_rc(amend_discount(f, &vendor_user, f->open, 10001, &e), RD_EINVAL);
	assert_string_equal(e.field, "discount_bp");
	char note[256];
	assert_int_equal(load(f, f->open).discount_bp, 0);
	assert_int_equal(audits(f, f->open, note), 0);
}

static void test_closed_and_ordered_refuse(void **state)
{
	struct fx *f = *state;
	struct rd_actor vendor_user = { .vendor = f->vendor, .user = 1 };
	struct rd_serr e;
	assert_rc(amend_discount(f, &vendor_user, f->won, 100, &e), RD_EEXISTS);
	assert_string_equal(e.field, "state");
	assert_int_equal(rd_serr_status(e.rc), 409);
	assert_rc(amend_discount(f, &vendor_user, f->ordered, 100, &e), RD_EEXISTS);
	assert_string_equal(e.field, "discount_bp");
	assert_contains(e.message, "ordered");
	assert_int_equal(load(f, f->ordered).discount_bp, 0);
	struct rd_quote_amendment lost = { .state = RD_OPP_LOST, .lost_reason = "budget" };
	struct rd_opportunity out;
	assert_rc(rd_quote_amend(&f->app, &vendor_user, f->ordered, &lost, &out, &e), RD_EEXISTS);
	assert_string_equal(e.field, "state");
	assert_int_equal(load(f, f->ordered).state, RD_OPP_ACCEPTED);
	/* A note still goes on an ordered quote. */
	struct rd_quote_amendment note_only = { .note = "customer called" };
	assert_rc(rd_quote_amend(&f->app, &vendor_user, f->ordered, &note_only, &out, &e), 0);
	assert_contains(out.notes, "customer called");
}

static void test_partner_scope(void **state)
{
	struct fx *f = *state;
	struct rd_serr e;
	struct rd_actor r2_user = { .vendor = f->vendor, .user = 7, .partner = f->r2 };
	assert_rc(amend_discount(f, &r2_user, f->open, 100, &e), RD_ENOTFOUND);
	assert_string_equal(e.code, "not_found");
	assert_int_equal(rd_serr_status(e.rc), 404);
	assert_int_equal(rd_serr_status(-EACCES), 403); /* edge's refusal of a role that may not amend */
	struct rd_actor d2_user = { .vendor = f->vendor, .user = 8, .partner = f->d2 };
	assert_rc(amend_discount(f, &d2_user, f->open, 100, &e), RD_ENOTFOUND);
	assert_int_equal(load(f, f->open).discount_bp, 0);
	/* Its own channel: the reseller, and the distributor over it. */
	assert_rc(amend_discount(f, &r2_user, f->other_channel, 100, &e), 0);
	struct rd_actor d1_user = { .vendor = f->vendor, .user = 9, .partner = f->d1 };
	assert_rc(amend_discount(f, &d1_user, f->open, 200, &e), 0);
	assert_int_equal(load(f, f->open).discount_bp, 200);
	/* Another vendor's actor sees nothing of this vendor. */
	struct rd_actor stranger = { .vendor = f->vendor + 100, .user = 1 };
	assert_rc(amend_discount(f, &stranger, f->open, 100, &e), RD_ENOTFOUND);
}

static void test_valid_amendment_is_stored_and_audited(void **state)
{
	struct fx *f = *state;
	struct rd_actor vendor_user = { .vendor = f->vendor, .user = 1 };
	struct rd_quote_amendment ch = { .set_discount = true, .discount_bp = 1000, .note = "best price" };
	struct rd_opportunity out;
	struct rd_serr e;
	assert_rc(rd_quote_amend(&f->app, &vendor_user, f->open, &ch, &out, &e), 0);
	struct rd_opportunity o = load(f, f->open);
	assert_int_equal(o.discount_bp, 1000);
	assert_contains(o.notes, "best price");
	char note[256] = "";
	assert_int_equal(audits(f, f->open, note), 1);
	assert_contains(note, "discount 10.00 %");
	/* Nothing to change, and a lost without its reason, are refused. */
	struct rd_quote_amendment none = { 0 };
	assert_rc(rd_quote_amend(&f->app, &vendor_user, f->open, &none, &out, &e), RD_EINVAL);
	struct rd_quote_amendment lost = { .state = RD_OPP_LOST, .lost_reason = "  " };
	assert_rc(rd_quote_amend(&f->app, &vendor_user, f->open, &lost, &out, &e), RD_EINVAL);
	assert_string_equal(e.field, "lost_reason");
	assert_int_equal(audits(f, f->open, note), 1);
}

static void test_acceptance(void **state)
{
	struct fx *f = *state;
	struct rd_serr e;
	json_t *chosen = json_pack("[s, s]", "ADDON", "NOT-A-LINE");
	struct rd_actor other = { .vendor = f->vendor, .customer = f->customer + 1, .portal = true };
	assert_rc(rd_quote_accept(&f->app, &other, f->open, chosen, &e), RD_EEXISTS);
	assert_int_equal(load(f, f->open).state, RD_OPP_PUBLISHED_VENDOR);
	struct rd_actor customer = { .vendor = f->vendor, .customer = f->customer, .portal = true };
	assert_rc(rd_quote_accept(&f->app, &customer, f->open, chosen, &e), 0);
	struct rd_opportunity o = load(f, f->open);
	assert_int_equal(o.state, RD_OPP_ACCEPTED);
	assert_false(o.lines[0].selected);
	assert_true(o.lines[1].selected);
	assert_rc(rd_quote_accept(&f->app, &customer, f->won, chosen, &e), RD_EEXISTS);
	assert_contains(e.message, "cannot be bought online");
	json_decref(chosen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_discount_bounds_name_the_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_and_ordered_refuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partner_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_valid_amendment_is_stored_and_audited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acceptance, setup, teardown),
	};
	return cmocka_run_group_tests_name("quotes_service", tests, NULL, NULL);
}
