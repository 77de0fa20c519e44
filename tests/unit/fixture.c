/*
 * fixture.c: the services' unit tests' temporary store (fixture.h).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/date.h"
#include "fixture.h"
#include "plugin/host.h"
#include "store/store.h"
#include "unit.h"

static int rm_entry(const char *p, const struct stat *s, int flag, struct FTW *f)
{
	(void)s, (void)flag, (void)f;
	return remove(p);
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	assert_non_null(in);
	assert_non_null(out);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
	chmod(to, 0755);
}

struct rd_fx *rd_fx_new(const char *tag, const char *const *paths, const char *const *names, size_t n)
{
	struct rd_fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->root, sizeof f->root, "/dev/shm/rd-%s-XXXXXX", tag);
	if (!mkdtemp(f->root)) {
		snprintf(f->root, sizeof f->root, "/tmp/rd-%s-XXXXXX", tag);
		if (!mkdtemp(f->root))
			fail_msg("mkdtemp: %s", f->root);
	}
	snprintf(f->data, sizeof f->data, "%s/data", f->root);
	snprintf(f->plugins, sizeof f->plugins, "%s/plugins", f->root);
	mkdir(f->data, 0700);
	mkdir(f->plugins, 0700);
	for (size_t i = 0; i < n; i++) {
		char to[160];
		snprintf(to, sizeof to, "%s/%s.so", f->plugins, names[i]);
		copy_file(paths[i], to);
	}
	char err[512] = "";
	if (rd_store_open(&f->store, f->data, NULL, err, sizeof err) < 0 || rd_domain_register(f->store, &f->dom) < 0)
		fail_msg("store: %s", err);
	uv_loop_init(&f->loop);
	f->app = (struct rd_app){ .loop = &f->loop, .store = f->store, .domain = &f->dom };
	f->app.plugins = rd_plugins_new(f->store, &f->dom, &f->loop);
	rd_plugins_load_dir(f->app.plugins, f->plugins);
	if (rd_plugins_open_secrets(f->app.plugins, true, err, sizeof err) < 0)
		fail_msg("secrets: %s", err);
	for (size_t i = 0; i < n; i++)
		assert_non_null(rd_plugins_find(f->app.plugins, names[i]));
	return f;
}

void rd_fx_free(struct rd_fx *f)
{
	/* calls still on the pool (a capture after a payment) end first; the
	 * plugin host's own handle stays active until it is freed */
	for (int i = 0; i < 2000 && (f->loop.active_reqs.count || f->loop.active_handles > 1); i++)
		if (uv_run(&f->loop, UV_RUN_NOWAIT))
			usleep(10000);
	rd_plugins_free(&f->app.plugins);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_loop_close(&f->loop);
	rd_store_close(&f->store);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
}

void rd_fx_run_until(struct rd_fx *f, const bool *flag)
{
	for (int i = 0; !*flag && i < 2000; i++) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		if (!*flag)
			usleep(10000);
	}
	assert_true(*flag);
}

int rd_fx_enable(struct rd_fx *f, struct rd_txn *t, uint64_t v, const char *plugin, const char *config)
{
	struct rd_enablement *e = calloc(1, sizeof *e);
	snprintf(e->plugin, sizeof e->plugin, "%s", plugin);
	char err[256] = "";
	json_t *fields = json_array();
	int rc = rd_enablement_prepare(f->app.plugins, rd_plugins_find(f->app.plugins, plugin), v, e, config, fields, err,
				       sizeof err);
	json_decref(fields);
	bool replaced;
	if (rc == 0)
		rc = rd_enablement_put(t, &f->dom, v, 0, e, &replaced);
	free(e);
	return rc;
}

int rd_fx_seed_quote(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint8_t opp_state)
{
	struct rd_contract k = { .customer_id = 7, .product_id = 5, .reseller_id = 3, .distributor_id = 2, .quantity = 10,
				 .term = RD_TERM_ANNUAL, .status = RD_CONTRACT_LIVE };
	k.start = rd_date_from_ymd(2026, 1, 1);
	k.end = rd_term_end(k.start, RD_TERM_ANNUAL);
	memcpy(k.currency, "EUR", 4);
	int rc = rd_entity_put(t, d->contracts, &rd_entity_contract, v, &k, RD_PUT_NEW);
	if (rc < 0)
		return rc;
	struct rd_opportunity *o = calloc(1, sizeof *o);
	o->contract_id = k.id;
	o->customer_id = 7;
	o->reseller_id = 3;
	o->distributor_id = 2;
	o->state = opp_state;
	o->publish = RD_PUBLISH_VENDOR;
	memcpy(o->currency, "EUR", 4);
	o->n_lines = 1;
	struct rd_quote_line *l = &o->lines[0];
	l->kind = RD_LINE_RENEWAL;
	l->quantity = 10;
	l->unit_list = 1000;
	l->list = 10000;
	l->priced = RD_QUOTE_MARGINS | RD_QUOTE_VENDOR;
	l->vendor.n = 2;
	snprintf(l->vendor.shares[0].party, 16, "reseller");
	l->vendor.shares[0].bp = 1000;
	l->vendor.shares[0].amount = 1000;
	snprintf(l->vendor.shares[1].party, 16, "distributor");
	l->vendor.shares[1].bp = 500;
	l->vendor.shares[1].amount = 500;
	l->vendor.channel_bp = 1500;
	l->vendor.net = 8500;
	rc = rd_entity_put(t, d->opportunities, &rd_entity_opportunity, v, o, RD_PUT_NEW);
	free(o);
	return rc;
}
