/*
 * edi.h: an inbound EDI file through a connector plugin's read_feed, as
 * renewd reads an inbound directory (core/services/edi.c read_run): on the
 * plugin host's thread pool, under the enablement's configuration, each
 * record handed to a sink that parses it as renewd's does.  Shared by the
 * x12 and edifact harnesses (plugins/connector-x12, plugins/connector-edifact
 * and the parser they share, plugins/edi-kit).
 */
#ifndef RD_FUZZ_EDI_H
#define RD_FUZZ_EDI_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "plugin/host.h"

struct fz_edi {
	const void *data;
	size_t len;
	json_t *records;
	bool done;
	int rc;
};

static int fz_edi_sink(void *arg, const char *kind, const char *record_json)
{
	struct fz_edi *j = arg;
	json_t *r = json_loads(record_json, 0, NULL);
	if (!json_is_object(r)) {
		json_decref(r);
		return -22;
	}
	json_object_set_new(r, "kind", json_string(kind ? kind : ""));
	json_array_append_new(j->records, r);
	return 0;
}

static int fz_edi_run(rd_plugin_ctx *ctx, const struct rd_plugin *desc, void *arg)
{
	struct fz_edi *j = arg;
	const struct rd_connector_ops *ops = desc->ops;
	if (!ops || !ops->read_feed)
		abort();
	return ops->read_feed(ctx, j->data, j->len, fz_edi_sink, j);
}

static void fz_edi_done(int rc, const char *message, void *arg)
{
	struct fz_edi *j = arg;
	(void)message;
	j->rc = rc;
	j->done = true;
}

/* settings: the enablement's JSON without its directories (both are
 * fz_dir()). */
static void fz_edi(const char *plugin, const char *settings, const uint8_t *data, size_t size)
{
	struct rd_app *app = fz_app();
	char config[512];
	snprintf(config, sizeof config, "{%s, \"outbound_dir\": \"%s\", \"inbound_dir\": \"%s\"}", settings, fz_dir(),
		 fz_dir());
	struct rd_loaded *l = rd_plugins_find(app->plugins, plugin);
	if (!l)
		abort();
	struct fz_edi j = { data, size, json_array(), false, 0 };
	if (rd_plugins_call(app->plugins, l, fz_vendor()->id, 2, config, 10000, fz_edi_run, fz_edi_done, &j) == 0)
		fz_run_until(&j.done);
	json_decref(j.records);
}

#endif
