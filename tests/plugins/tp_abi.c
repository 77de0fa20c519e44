/* tp-abi: claims to be built for the next plugin ABI. */
#include <renewd/plugin.h>

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI + 1,
	.size = sizeof(struct rd_plugin),
	.name = "tp-abi",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
