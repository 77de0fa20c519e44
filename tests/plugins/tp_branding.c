/* tp-branding: a well-formed branding plugin with one asset, no init, no
 * configure (any configuration object is accepted). */
#include <string.h>

#include <renewd/plugin.h>

static const char css[] = "body { color: #123456; }\n";

static int asset(rd_plugin_ctx *ctx, const char *name, const void **data, size_t *len, const char **content_type)
{
	if (strcmp(name, "portal.css") != 0)
		return RD_ENOTFOUND;
	*data = css;
	*len = sizeof css - 1;
	*content_type = "text/css";
	return 0;
}

static const struct rd_branding_ops ops = {
	.version = RD_BRANDING_OPS_V1,
	.asset = asset,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "tp-branding",
	.version = "0.1.0",
	.kind = RD_PLUGIN_BRANDING,
	.description = "Test branding pack",
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
