/* tp-inithang: init never returns (a licence server that does not answer,
 * a deadlock): renewd must refuse it after its init timeout and start. */
#include <unistd.h>

#include <renewd/plugin.h>

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	(void)ctx;
	(void)h;
	for (;;)
		sleep(1);
	return 0;
}

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-inithang",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "init never returns",
	.init = init,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
