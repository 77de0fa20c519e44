/* tp-cfghang: a payment plugin whose configure never returns (docs say no
 * I/O there; a plugin waiting on a licence server does it anyway).  It
 * froze renewd whole: configure ran on the event loop. */
#include <unistd.h>

#include <renewd/plugin.h>

static int configure(rd_plugin_ctx *ctx, const char *config_json)
{
	(void)ctx;
	(void)config_json;
	for (;;)
		sleep(1);
	return 0;
}

static const char *const options[] = { "stuck_pay", NULL };

static const struct rd_payment_ops ops = {
	.version = RD_PAYMENT_OPS_V1,
	.options = options,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-cfghang",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "configure never returns",
	.configure = configure,
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
