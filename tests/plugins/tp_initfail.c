/* tp-initfail: init refuses, saying why; deinit must then never run. */
#include <stdlib.h>

#include <renewd/plugin.h>

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	h->error(ctx, "the tp-initfail licence file is missing");
	return RD_EINVAL;
}

static void deinit(rd_plugin_ctx *ctx)
{
	abort(); /* never after a failed init */
}

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-initfail",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.init = init,
	.deinit = deinit,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
