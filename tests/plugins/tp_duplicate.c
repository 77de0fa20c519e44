/* tp-x-duplicate: a second plugin named tp-good (loads after tp-good.so). */
#include <renewd/plugin.h>

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	return 0;
}

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-good",
	.version = "9.9.9",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "An impostor",
	.init = init,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
