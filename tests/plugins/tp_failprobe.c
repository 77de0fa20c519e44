/* tp-failprobe: a payment plugin whose probe fails with a message. */
#include <errno.h>

#include <renewd/plugin.h>

static const struct rd_host_api *host;

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	host = h;
	return 0;
}

static int probe(rd_plugin_ctx *ctx)
{
	host->error(ctx, "the tp-failprobe gateway answered 503");
	return -EIO;
}

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-failprobe",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "Test plugin whose probe fails",
	.init = init,
	.probe = probe,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
