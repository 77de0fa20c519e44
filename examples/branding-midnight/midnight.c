/*
 * branding-midnight: a second branding pack, shipped out of tree, to show
 * how an integrator gives a partner a different look.  It overrides only
 * the page layout, its stylesheet and the customer notice e-mail; every
 * other template falls back to renewd's branding-default.
 *
 *   cc -shared -fPIC -O2 $(pkg-config --cflags renewd-plugin) -o branding-midnight.so midnight.c
 *
 * Enable it for one partner (or the whole vendor):
 *   POST /api/v1/plugins/branding-midnight/enablements {"partner_id": 3, "config": {}}
 */
#include <string.h>

#include <renewd/plugin.h>

struct asset {
	const char *name, *type, *data;
};

static const struct asset assets[] = {
	{ "page/layout.html", "text/html",
	  "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	  "<title>{{title}} - {{brand.name}}</title>"
	  "<link rel=\"stylesheet\" href=\"/static/branding-midnight/midnight.css\">"
	  "<script src=\"/static/portal.js\" defer></script></head><body class=\"midnight\">"
	  "<header class=\"brand\"><span class=\"brand-name\">{{brand.name}}</span>"
	  "{{#signed_in}}<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">"
	  "<button type=\"submit\">Sign out</button></form>{{/signed_in}}</header>"
	  "<main id=\"main\"><h1>{{title}}</h1>{{> body}}</main>"
	  "<footer class=\"contact\">{{brand.contact_block}}</footer></body></html>" },
	{ "static/midnight.css", "text/css",
	  "body.midnight{background:#0f172a;color:#e2e8f0;font-family:Georgia,serif;margin:0;line-height:1.5}"
	  ".midnight header.brand{display:flex;justify-content:space-between;padding:14px 18px;background:#020617;"
	  "border-bottom:2px solid #38bdf8}.midnight .brand-name{font-size:1.3em;letter-spacing:.05em}"
	  ".midnight main{max-width:900px;margin:0 auto;padding:18px}.midnight a{color:#38bdf8}"
	  ".midnight table{width:100%;border-collapse:collapse}.midnight th,.midnight td{padding:6px;border-bottom:1px solid #334155}"
	  ".midnight .colour-red td{background:#450a0a}.midnight .colour-amber td{background:#422006}"
	  ".midnight .colour-green td{background:#052e16}.midnight .colour-black td{background:#1e293b;color:#94a3b8}"
	  ".midnight .stack{display:flex;flex-direction:column;gap:6px;max-width:420px}"
	  ".midnight button{background:#38bdf8;color:#020617;border:0;padding:8px 14px;cursor:pointer}"
	  ".midnight button:disabled{opacity:.4}.midnight footer.contact{max-width:900px;margin:24px auto;padding:8px 18px;"
	  "color:#94a3b8;border-top:1px solid #334155}" },
	{ "email/customer_notice.html", "text/html",
	  "<!doctype html><html lang=\"en\"><body style=\"background:#0f172a;color:#e2e8f0;font-family:Georgia,serif\">"
	  "<h2 style=\"color:#38bdf8\">{{brand.name}}</h2><p>Dear {{customer.name}},</p>"
	  "<p>your {{product.name}} ends on {{contract.end}}. Quote {{quote.number}}: {{quote.price}}.</p>"
	  "<p><a href=\"{{link}}\" style=\"color:#38bdf8\">See your renewal</a></p>"
	  "<p style=\"color:#94a3b8\">{{brand.contact_block}}</p></body></html>" },
};

static int asset(rd_plugin_ctx *ctx, const char *name, const void **data, size_t *len, const char **type)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof assets / sizeof *assets; i++)
		if (!strcmp(assets[i].name, name)) {
			*data = assets[i].data;
			*len = strlen(assets[i].data);
			*type = assets[i].type;
			return 0;
		}
	return RD_ENOTFOUND; /* renewd falls back to branding-default */
}

static const struct rd_branding_ops ops = {
	.version = RD_BRANDING_OPS_V1,
	.asset = asset,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "branding-midnight",
	.version = "0.1.0",
	.kind = RD_PLUGIN_BRANDING,
	.description = "A dark look for a partner's pages and customer notices (an out-of-tree example)",
	.ops = &ops,
};

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return &desc;
}
