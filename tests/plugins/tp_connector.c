/* tp-connector: a well-formed connector plugin.  Configuration:
 * {"endpoint": "https://..."} (required). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include <renewd/plugin.h>

static const struct rd_host_api *host;

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	host = h;
	return 0;
}

static int configure(rd_plugin_ctx *ctx, const char *config)
{
	json_t *j = json_loads(config, 0, NULL);
	const char *ep = json_string_value(json_object_get(j, "endpoint"));
	int bad = 0;
	if (!ep || strncmp(ep, "https://", 8) != 0) {
		host->field_error(ctx, "endpoint", "must be an https:// URL");
		bad = 1;
	}
	if (json_object_size(j) > (json_object_get(j, "endpoint") ? 1u : 0u)) {
		host->field_error(ctx, "", "only endpoint is a setting");
		bad = 1;
	}
	json_decref(j);
	return bad ? RD_EINVAL : 0;
}

static int read_feed(rd_plugin_ctx *ctx, const void *data, size_t len, rd_feed_sink sink, void *sink_ctx)
{
	return sink(sink_ctx, "customer", "{\"external_id\": \"TPC-1\", \"name\": \"Connector Customer\"}");
}

static int send(rd_plugin_ctx *ctx, const char *what, const char *json, char *reference, size_t ref_cap)
{
	snprintf(reference, ref_cap, "TPC-%s", what);
	return 0;
}

static const struct rd_connector_ops ops = {
	.version = RD_CONNECTOR_OPS_V1,
	.read_feed = read_feed,
	.send = send,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-connector",
	.version = "0.1.0",
	.kind = RD_PLUGIN_CONNECTOR,
	.description = "Test connector plugin",
	.init = init,
	.configure = configure,
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
