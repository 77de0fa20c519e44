/*
 * plugin_config.c: a plugin's configuration as an administrator enables it
 * (PUT /api/v1/plugins/{name}/enablements): rd_enablement_prepare, which
 * parses it, lets the plugin validate it (each built-in plugin's
 * configure), checks every URL against the allow-list and seals the
 * secrets; then the enablement is shown as the API shows it.  The first
 * byte picks the plugin and whether the enablement is the vendor's or
 * partner 1's; the rest is the configuration.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "plugin/host.h"

static const char *const plugins[] = { "payment-po", "payment-bml", "payment-card", "branding-default",
				       "connector-x12", "connector-edifact" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct rd_app *app = fz_app();
	const char *name = plugins[(data[0] & 0x7f) % 6];
	struct rd_loaded *l = rd_plugins_find(app->plugins, name);
	if (!l)
		abort();
	char *config = malloc(size);
	memcpy(config, data + 1, size - 1);
	config[size - 1] = 0;
	struct rd_enablement *e = calloc(1, sizeof *e);
	snprintf(e->plugin, sizeof e->plugin, "%s", name);
	e->partner_id = (data[0] & 0x80) ? 1 : 0;
	json_t *fields = json_array();
	char err[512];
	if (rd_enablement_prepare(app->plugins, l, fz_vendor()->id, e, config, fields, err, sizeof err) == 0) {
		json_t *j = rd_enablement_json(e);
		rd_plugins_show_secrets(l, j);
		json_decref(j);
		json_decref(rd_enablement_config(e));
	}
	json_decref(fields);
	free(e);
	free(config);
	return 0;
}
