/* tp-kvinit: init writes its storage and reads it back (docs/plugins.md:
 * during init, the plugin's global space).  `renewctl plugins`, over a
 * store opened read-only, refused it with an internal error. */
#include <string.h>

#include <renewd/plugin.h>

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	char buf[16];
	size_t n = 0;
	int rc = h->kv_put(ctx, "installed", "yes", 3);
	if (rc < 0) {
		h->error(ctx, "kv_put in init answered %d", rc);
		return rc;
	}
	rc = h->kv_get(ctx, "installed", buf, sizeof buf, &n);
	if (rc < 0 || n != 3 || memcmp(buf, "yes", 3) != 0) {
		h->error(ctx, "kv_get in init answered %d (%zu bytes)", rc, n);
		return rc < 0 ? rc : RD_EINVAL;
	}
	return 0;
}

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-kvinit",
	.version = "0.1.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "init writes its storage",
	.init = init,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
