/*
 * fuzz.c: the harnesses' shared renewd (fuzz.h).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "domain/date.h"
#include "metrics/metrics.h"
#include "policy/runtime.h"
#include "fuzz.h"
#include "plugin/host.h"
#include "store/store.h"
#include "util/log.h"

static char root[64];
static uv_loop_t loop;
static struct rd_store *store;
static struct rd_domain dom;
static struct rd_app app;
static struct rd_vendor vendor;
static bool ready;

static void die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz: %s: %s\n", what, err);
	abort();
}

static int rm_entry(const char *p, const struct stat *s, int flag, struct FTW *f)
{
	(void)s, (void)flag, (void)f;
	return remove(p);
}

static void cleanup(void)
{
	if (!ready)
		return;
	ready = false;
	for (int i = 0; i < 500 && (loop.active_reqs.count || loop.active_handles > 1); i++)
		if (uv_run(&loop, UV_RUN_NOWAIT))
			usleep(10000);
	rd_plugins_free(&app.plugins);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	rd_store_close(&store);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int seed(struct rd_txn *t, void *arg)
{
	(void)arg;
	struct rd_vendor *v = calloc(1, sizeof *v);
	snprintf(v->name, sizeof v->name, "Acme");
	snprintf(v->slug, sizeof v->slug, "acme");
	memcpy(v->currency, "EUR", 4);
	v->renewal_window_days = 90;
	v->decision_window_days = 14;
	v->statement_day = 20;
	int rc = rd_entity_put(t, dom.vendors, &rd_entity_vendor, 0, v, RD_PUT_NEW);
	if (rc == 0)
		vendor = *v;
	free(v);
	const char *names[] = { "Resell Ltd", "Distri GmbH" }, *exts[] = { "RES-GOLD", "DIST-NW" };
	const uint8_t kinds[] = { RD_PARTNER_RESELLER, RD_PARTNER_DISTRIBUTOR };
	for (int i = 0; i < 2 && rc == 0; i++) {
		struct rd_partner *p = calloc(1, sizeof *p);
		snprintf(p->name, sizeof p->name, "%s", names[i]);
		snprintf(p->external_id, sizeof p->external_id, "%s", exts[i]);
		p->kind = kinds[i];
		rc = rd_entity_put(t, dom.partners, &rd_entity_partner, vendor.id, p, RD_PUT_NEW);
		free(p);
	}
	/* what import rows refer to: a customer, a product and a contract */
	struct rd_customer *c = calloc(1, sizeof *c);
	snprintf(c->external_id, sizeof c->external_id, "CUST-1001");
	snprintf(c->name, sizeof c->name, "Example Ltd");
	if (rc == 0)
		rc = rd_entity_put(t, dom.customers, &rd_entity_customer, vendor.id, c, RD_PUT_NEW);
	struct rd_product *pr = calloc(1, sizeof *pr);
	snprintf(pr->external_id, sizeof pr->external_id, "SKU-1");
	snprintf(pr->name, sizeof pr->name, "Widget");
	if (rc == 0)
		rc = rd_entity_put(t, dom.products, &rd_entity_product, vendor.id, pr, RD_PUT_NEW);
	struct rd_contract *k = calloc(1, sizeof *k);
	snprintf(k->external_id, sizeof k->external_id, "K-1");
	k->customer_id = c->id;
	k->product_id = pr->id;
	k->reseller_id = 1;
	k->distributor_id = 2;
	k->quantity = 10;
	k->term = RD_TERM_ANNUAL;
	k->status = RD_CONTRACT_LIVE;
	k->start = rd_date_from_ymd(2026, 1, 1);
	k->end = rd_term_end(k->start, RD_TERM_ANNUAL);
	memcpy(k->currency, "EUR", 4);
	if (rc == 0)
		rc = rd_entity_put(t, dom.contracts, &rd_entity_contract, vendor.id, k, RD_PUT_NEW);
	free(c);
	free(pr);
	free(k);
	return rc;
}

struct rd_app *fz_app(void)
{
	if (ready)
		return &app;
	/* named by the pid: fuzz/run removes what a crashed harness left */
	snprintf(root, sizeof root, "/dev/shm/rd-fuzz-%ld-XXXXXX", (long)getpid());
	if (!mkdtemp(root)) {
		snprintf(root, sizeof root, "/tmp/rd-fuzz-%ld-XXXXXX", (long)getpid());
		if (!mkdtemp(root))
			die("mkdtemp", root);
	}
	char data[96], err[512] = "";
	snprintf(data, sizeof data, "%s/data", root);
	mkdir(data, 0700);
	if (rd_store_open(&store, data, NULL, err, sizeof err) < 0 || rd_domain_register(store, &dom) < 0)
		die("store", err);
	/* the log only for what goes wrong: a harness runs thousands of inputs a second */
	rd_log_set_level(getenv("RENEWD_FUZZ_LOG") ? RD_LOG_DEBUG : RD_LOG_ERROR);
	uv_loop_init(&loop);
	app = (struct rd_app){ .loop = &loop, .store = store, .domain = &dom };
	app.plugins = rd_plugins_new(store, &dom, &loop);
	rd_plugins_add_builtins(app.plugins);
	if (rd_plugins_open_secrets(app.plugins, true, err, sizeof err) < 0)
		die("secrets", err);
	/* where plugins' URLs may point (nothing listens there: no call leaves) */
	if (rd_plugins_set_outbound(app.plugins, "127.0.0.1:9, partner.example, hooks.example", err, sizeof err) < 0)
		die("outbound_hosts", err);
	if (rd_store_write(store, seed, NULL) < 0)
		die("seed", "the vendor could not be stored");
	ready = true;
	atexit(cleanup);
	return &app;
}

const char *fz_dir(void)
{
	fz_app();
	return root;
}

const struct rd_vendor *fz_vendor(void)
{
	fz_app();
	return &vendor;
}

struct enable {
	struct rd_enablement *e;
};

static int put_enablement(struct rd_txn *t, void *arg)
{
	bool replaced;
	return rd_enablement_put(t, &dom, vendor.id, 0, ((struct enable *)arg)->e, &replaced);
}

void fz_enable(const char *plugin, uint64_t partner, const char *config)
{
	fz_app();
	struct rd_enablement *e = calloc(1, sizeof *e);
	snprintf(e->plugin, sizeof e->plugin, "%s", plugin);
	e->partner_id = partner;
	char err[256] = "";
	json_t *fields = json_array();
	struct enable en = { e };
	if (rd_enablement_prepare(app.plugins, rd_plugins_find(app.plugins, plugin), vendor.id, e, config, fields, err,
				  sizeof err) < 0 ||
	    rd_store_write(store, put_enablement, &en) < 0) {
		char *f = json_dumps(fields, 0);
		fprintf(stderr, "fuzz: %s: %s\n", plugin, f ? f : "");
		die(plugin, err[0] ? err : "the enablement could not be stored");
	}
	json_decref(fields);
	free(e);
}

void fz_run_until(const bool *flag)
{
	for (int i = 0; !*flag && i < 10000; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		if (!*flag)
			usleep(1000);
	}
	if (!*flag)
		die("hang", "no answer within 10 s");
}

void fz_split(const uint8_t *data, size_t size, char sep, char **head, char **tail, size_t *tail_len)
{
	const uint8_t *cut = size ? memchr(data, sep, size) : NULL;
	size_t hl = cut ? (size_t)(cut - data) : size;
	*head = malloc(hl + 1);
	memcpy(*head, data, hl);
	(*head)[hl] = 0;
	if (tail) {
		size_t tl = cut ? size - hl - 1 : 0;
		*tail = malloc(tl + 1);
		if (tl)
			memcpy(*tail, cut + 1, tl);
		(*tail)[tl] = 0;
		*tail_len = tl;
	}
}

static struct rd_config config;
static bool configured;

static void unconfigure(void)
{
	if (!configured)
		return;
	configured = false;
	rd_policy_runtime_free(&app.policies);
	rd_metrics_free(&app.metrics);
	app.config = NULL;
	rd_config_free(&config);
}

struct rd_app *fz_app_configured(void)
{
	fz_app();
	if (configured)
		return &app;
	char data[200], err[512] = "";
	snprintf(data, sizeof data, "--data=%s/data", root);
	char *argv[] = { "renewd", data, "--test_clock=1", NULL };
	bool help = false;
	if (rd_config_load(&config, 3, argv, &help, err, sizeof err) < 0)
		die("config", err);
	rd_config_default_public_url(&config, 8080);
	app.config = &config;
	app.metrics = rd_metrics_new();
	app.policies = rd_policy_runtime_new();
	configured = true;
	atexit(unconfigure); /* before cleanup (atexit runs the last first) */
	return &app;
}
