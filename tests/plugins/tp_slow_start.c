/* tp-slow-start: init takes 5.5 s (when TP_SLOW_INIT is set) and configure
 * of "{}" 2.5 s: longer than renewd allows (5 s, 2 s), which
 * renewd-plugin-check must say. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <renewd/plugin.h>

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	(void)ctx;
	(void)h;
	if (getenv("TP_SLOW_INIT"))
		pause_ms(5500);
	return 0;
}

static int configure(rd_plugin_ctx *ctx, const char *config_json)
{
	(void)ctx;
	if (!strcmp(config_json, "{}"))
		pause_ms(2500);
	return 0;
}

static const char *const options[] = { "slow_start", NULL };

static const struct rd_payment_ops ops = {
	.version = RD_PAYMENT_OPS_V1,
	.options = options,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-slow-start",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "slow init and configure",
	.init = init,
	.configure = configure,
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
