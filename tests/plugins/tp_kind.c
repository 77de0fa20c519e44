/* tp-kind: a kind renewd does not know. */
#include <renewd/plugin.h>

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-kind",
	.version = "0.1.0",
	.kind = 9,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
