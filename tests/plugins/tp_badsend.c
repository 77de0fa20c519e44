/* tp-badsend: a connector whose send writes its reference past ref_cap
 * (renewd-plugin-check must fail it: renewd's buffer is 64 bytes). */
#include <string.h>

#include <renewd/plugin.h>

static int read_feed(rd_plugin_ctx *ctx, const void *data, size_t len, rd_feed_sink sink, void *sink_ctx)
{
	(void)ctx;
	(void)data;
	(void)len;
	(void)sink;
	(void)sink_ctx;
	return 0;
}

static int send(rd_plugin_ctx *ctx, const char *what, const char *json, char *reference, size_t ref_cap)
{
	(void)ctx;
	(void)what;
	(void)json;
	(void)ref_cap;
	memset(reference, 'x', 79);
	reference[79] = 0;
	return 0;
}

static const struct rd_connector_ops ops = {
	.version = RD_CONNECTOR_OPS_V2,
	.read_feed = read_feed,
	.send = send,
	.order_format = "csv",
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-badsend",
	.version = "0.1.0",
	.kind = RD_PLUGIN_CONNECTOR,
	.description = "send writes past its reference",
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
