/* tp-small: a descriptor that says it is smaller than ABI 1's (as if built
 * against a header without ABI 1's last field, ops; fields appended later,
 * such as secret_settings, are optional and do not count). */
#include <renewd/plugin.h>

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = offsetof(struct rd_plugin, ops),
	.name = "tp-small",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
