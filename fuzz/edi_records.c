/*
 * edi_records.c: what renewd does with the records an EDI connector hands
 * it (core/services/edi.c): acknowledgements (order_ack), invoices
 * (order_invoice), functional acknowledgements (functional_ack), the
 * groups a file carried (group) and an 867's resale reports (contract),
 * with values a distributor's file, or a connector with a bug, could put
 * there.  The x12 and edifact harnesses fuzz the parsers that make these
 * records; this one fuzzes the records themselves.
 *
 * A connector of the harness's own ("connector-fuzz", order format "fuzz")
 * is enabled for the distributor (partner 2) with an inbound folder; its
 * read_feed hands each line of the file to renewd as KIND \t RECORD-JSON.
 * Each input is one file in that folder, read through rd_edi_tick as the
 * daemon's folder watch reads it: the records applied to vendor 1's orders
 * sent to the distributor (all or none), the file moved with its report,
 * the groups answered through the connector's send, an 867's contracts
 * imported as the distributor's feed.  The store's integrity check runs
 * every 64th input and at exit.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "plugin/host.h"
#include "renewd/plugin.h"
#include "services/edi.h"
#include "store/store.h"

static char inbound[160];
static unsigned long inputs;

static int read_feed(rd_plugin_ctx *ctx, const void *data, size_t len, rd_feed_sink sink, void *sink_ctx)
{
	(void)ctx;
	const char *p = data, *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = malloc(n + 1);
		memcpy(line, p, n);
		line[n] = 0;
		char *tab = strchr(line, '\t');
		int rc = 0;
		if (tab) {
			*tab = 0;
			rc = sink(sink_ctx, line, tab + 1);
		}
		free(line);
		if (rc < 0)
			return rc;
		p += n + 1;
	}
	return 0;
}

static int send_doc(rd_plugin_ctx *ctx, const char *what, const char *json, char *reference, size_t ref_cap)
{
	(void)ctx, (void)what, (void)json;
	snprintf(reference, ref_cap, "fuzz");
	return 0;
}

static const struct rd_connector_ops ops = {
	.version = RD_CONNECTOR_OPS_V2,
	.read_feed = read_feed,
	.send = send_doc,
	.order_format = "fuzz",
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "connector-fuzz",
	.version = "1.0.0",
	.kind = RD_PLUGIN_CONNECTOR,
	.description = "the edi_records harness's connector: lines of KIND \\t RECORD-JSON",
	.ops = &ops,
};

static void no_kick(void *arg, uint64_t ms)
{
	(void)arg, (void)ms;
}

static void no_watch(void *arg, const char *dir)
{
	(void)arg, (void)dir;
}

/* Orders of vendor 1 sent to the distributor: EUR, JPY (no minor unit)
 * and BHD (three), one already invoiced, one of the reseller's. */
static int orders(struct rd_txn *t, void *arg)
{
	struct rd_app *app = arg;
	static const char *const cur[] = { "EUR", "JPY", "BHD", "EUR", "EUR" };
	static const char *const st[] = { "sent", "sent", "acknowledged", "invoiced", "sent" };
	int rc = 0;
	for (int i = 0; i < 5 && rc == 0; i++) {
		struct rd_order *o = calloc(1, sizeof *o);
		snprintf(o->number, sizeof o->number, "O-2026-%06d", i + 1);
		o->contract_id = 1;
		o->customer_id = 1;
		o->reseller_id = 1;
		o->distributor_id = i == 4 ? 0 : 2;
		memcpy(o->currency, cur[i], 4);
		o->total = 100000;
		o->state = RD_ORDER_PAID;
		snprintf(o->idempotency_key, sizeof o->idempotency_key, "fuzz-%d", i);
		snprintf(o->edi_status, sizeof o->edi_status, "%s", st[i]);
		snprintf(o->edi_control, sizeof o->edi_control, "%09d", i + 1);
		rc = rd_entity_put(t, app->domain->orders, &rd_entity_order, fz_vendor()->id, o, RD_PUT_NEW);
		free(o);
	}
	return rc;
}

static void report(const char *problem, void *arg)
{
	(void)arg;
	fprintf(stderr, "fuzz_edi_records: store check: %s\n", problem);
}

static void check_store(void)
{
	int n = rd_store_check(fz_app()->store, report, NULL);
	if (n != 0) {
		fprintf(stderr, "fuzz_edi_records: the store check %s\n", n < 0 ? "failed to run" : "found problems");
		abort();
	}
}

static void at_exit(void)
{
	rd_edi_stop();
	check_store();
}

static void setup(void)
{
	struct rd_app *app = fz_app_configured();
	if (rd_plugins_add(app->plugins, &desc, "fuzz", NULL) < 0)
		abort();
	snprintf(inbound, sizeof inbound, "%s/inbound", fz_dir());
	mkdir(inbound, 0700);
	char config[400];
	snprintf(config, sizeof config, "{\"inbound_dir\": \"%s\", \"outbound_dir\": \"%s\"}", inbound, fz_dir());
	fz_enable("connector-fuzz", 2, config);
	if (rd_store_write(app->store, orders, app) < 0)
		abort();
	rd_edi_start(app, no_kick, no_watch, NULL);
	atexit(at_exit);
}

/* Empties processed/ and failed/ (each file and its report). */
static void sweep(const char *sub)
{
	char dir[300];
	snprintf(dir, sizeof dir, "%s/%s", inbound, sub);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char p[600];
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	struct rd_app *app = fz_app();
	char path[300];
	snprintf(path, sizeof path, "%s/records.txt", inbound);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	/* the call, the apply, an 867's import and the groups' answers (the
	 * plugin host may still count a call that has just ended: the file is
	 * then read at a later tick, as the daemon's kick does) */
	struct stat sb;
	for (int i = 0; i < 50000 && (rd_edi_busy() || stat(path, &sb) == 0); i++) {
		rd_edi_tick(app);
		uv_run(app->loop, UV_RUN_NOWAIT);
		if (rd_edi_busy() || stat(path, &sb) == 0)
			usleep(200);
	}
	if (rd_edi_busy() || stat(path, &sb) == 0) {
		fprintf(stderr, "fuzz_edi_records: the file was not done within 10 s\n");
		abort();
	}
	sweep("processed");
	sweep("failed");
	if (++inputs % 64 == 0)
		check_store();
	return 0;
}
