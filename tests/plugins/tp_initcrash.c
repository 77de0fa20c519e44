/* tp-initcrash: init crashes (SIGSEGV).  renewd cannot survive that (the
 * plugin runs in its process), but it must say which plugin it was. */
#include <signal.h>

#include <renewd/plugin.h>

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	(void)ctx;
	(void)h;
	raise(SIGSEGV); /* a crash (not a null store: UBSan would stop that first) */
	return 0;
}

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-initcrash",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "init crashes",
	.init = init,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
