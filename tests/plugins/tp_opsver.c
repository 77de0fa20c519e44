/* tp-opsver: a payment ops table of a version this renewd does not know. */
#include <renewd/plugin.h>

static const struct rd_payment_ops ops = { .version = RD_PAYMENT_OPS_V2 + 1 };

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-opsver",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
