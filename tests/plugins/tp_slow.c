/* tp-slow: a payment plugin whose probe hangs longer than renewd's probe
 * timeout (5 s).  Configuration: {"sleep_ms": 0-60000} (default 8000). */
#include <errno.h>
#include <jansson.h>
#include <time.h>

#include <renewd/plugin.h>

static const struct rd_host_api *host;

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	host = h;
	return 0;
}

static long sleep_ms(const char *config)
{
	json_t *j = json_loads(config, 0, NULL);
	json_t *v = json_object_get(j, "sleep_ms");
	long ms = json_is_integer(v) ? (long)json_integer_value(v) : -1;
	if (!v)
		ms = 8000;
	json_decref(j);
	return ms;
}

static int configure(rd_plugin_ctx *ctx, const char *config)
{
	long ms = sleep_ms(config);
	if (ms < 0 || ms > 60000) {
		host->field_error(ctx, "sleep_ms", "must be 0-60000");
		return RD_EINVAL;
	}
	return 0;
}

static int probe(rd_plugin_ctx *ctx)
{
	long ms = sleep_ms(host->config(ctx));
	host->log(ctx, RD_PLOG_INFO, "probe sleeps %ld ms", ms); /* the test waits for this line */
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 0;
}

static const char *const options[] = { "slow", NULL };
static const struct rd_payment_ops ops = { .version = RD_PAYMENT_OPS_V1, .options = options };

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-slow",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "Test plugin whose probe hangs",
	.init = init,
	.configure = configure,
	.probe = probe,
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
