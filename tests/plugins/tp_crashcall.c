/* tp-crashcall: loads, then its probe crashes (SIGSEGV): renewd dies, and
 * its last line must name the plugin. */
#include <signal.h>

#include <renewd/plugin.h>

static int probe(rd_plugin_ctx *ctx)
{
	(void)ctx;
	raise(SIGSEGV); /* a crash (not a null store: UBSan would stop that first) */
	return 0;
}

static const char *const options[] = { "crash_pay", NULL };

static const struct rd_payment_ops ops = {
	.version = RD_PAYMENT_OPS_V1,
	.options = options,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-crashcall",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "probe crashes",
	.probe = probe,
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
