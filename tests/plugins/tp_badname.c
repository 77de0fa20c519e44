/* tp-badname: a name outside [a-z0-9-]. */
#include <renewd/plugin.h>

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "Bad Name",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
