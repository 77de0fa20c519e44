/*
 * branding-default: renewd's default branding pack.  Mustache templates for
 * every e-mail renewd sends, in plain text and HTML, with the partner's
 * logo, colours and contact block.  A vendor or partner can enable another
 * branding plugin; any template it lacks falls back to these.
 *
 * Each message kind K has three assets: email/K.subject, email/K.txt and
 * email/K.html.  The context every template sees is described in
 * docs/plugins.md (branding).
 */
#include <string.h>

#include "../builtin.h"

#define HTML_HEAD                                                                                                   \
	"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{{subject}}</title></head>"            \
	"<body style=\"font-family:Arial,Helvetica,sans-serif;margin:0;padding:0;background:#f5f5f5\">"              \
	"<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\"><tr><td align=\"center\">"   \
	"<table role=\"presentation\" width=\"600\" cellpadding=\"16\" cellspacing=\"0\" style=\"background:#ffffff\">" \
	"<tr><td style=\"background:{{brand.colour_primary}};color:#ffffff\">"                                        \
	"{{#brand.logo_url}}<img src=\"{{brand.logo_url}}\" alt=\"{{brand.name}}\" height=\"40\">{{/brand.logo_url}}" \
	"{{^brand.logo_url}}<strong>{{brand.name}}</strong>{{/brand.logo_url}}</td></tr><tr><td>"
#define HTML_FOOT                                                                                                   \
	"</td></tr><tr><td style=\"border-top:3px solid {{brand.colour_accent}};font-size:12px;color:#555\">"         \
	"{{brand.contact_block}}</td></tr></table></td></tr></table></body></html>"
#define TEXT_FOOT "\n--\n{{{brand.contact_block}}}\n"

struct asset {
	const char *name, *type, *data;
};

static const struct asset assets[] = {
	{ "email/quote_notice.subject", "text/plain",
	  "Renewal opportunity {{{quote.number}}}: {{{customer.name}}}, {{{product.name}}} ends {{{contract.end}}}" },
	{ "email/quote_notice.txt", "text/plain",
	  "Hello {{{partner.name}}},\n\n"
	  "{{{customer.name}}}'s {{{product.name}}} ({{{contract.quantity}}} seats) ends on {{{contract.end}}}.\n"
	  "Renewal quote {{{quote.number}}}: {{{quote.list}}} at list.\n"
	  "  Partner-published, you keep {{{quote.partner_margin}}}.\n"
	  "  Vendor-published, you earn {{{quote.vendor_margin}}} commission.\n\n"
	  "Decide who sells by {{{quote.decision_by}}}: {{{decision_url}}}\n"
	  "Without a decision, {{{vendor.name}}} {{{default_action}}}.\n" TEXT_FOOT },
	{ "email/quote_notice.html", "text/html",
	  HTML_HEAD "<p>Hello {{partner.name}},</p><p>{{customer.name}}'s <strong>{{product.name}}</strong> "
		    "({{contract.quantity}} seats) ends on {{contract.end}}.</p>"
		    "<p>Renewal quote <strong>{{quote.number}}</strong>: {{quote.list}} at list.</p><ul>"
		    "<li>Partner-published: you keep {{quote.partner_margin}}.</li>"
		    "<li>Vendor-published: you earn {{quote.vendor_margin}} commission.</li></ul>"
		    "<p><a href=\"{{decision_url}}\">Decide who sells</a> by {{quote.decision_by}}. Without a decision, "
		    "{{vendor.name}} {{default_action}}.</p>" HTML_FOOT },

	{ "email/pullback.subject", "text/plain", "Decision window passed for {{{quote.number}}}: {{{mode_text}}}" },
	{ "email/pullback.txt", "text/plain",
	  "The decision window for {{{quote.number}}} ({{{customer.name}}}, {{{product.name}}}) closed on {{{quote.decision_by}}} "
	  "without a decision.\n{{{vendor.name}}}'s default applies: {{{mode_text}}}.\n" TEXT_FOOT },
	{ "email/pullback.html", "text/html",
	  HTML_HEAD "<p>The decision window for <strong>{{quote.number}}</strong> ({{customer.name}}, {{product.name}}) "
		    "closed on {{quote.decision_by}} without a decision.</p><p>{{vendor.name}}'s default applies: "
		    "{{mode_text}}.</p>" HTML_FOOT },

	{ "email/customer_notice.subject", "text/plain", "Time to renew {{{product.name}}}: quote {{{quote.number}}}" },
	{ "email/customer_notice.txt", "text/plain",
	  "Dear {{{customer.name}}},\n\nyour {{{product.name}}} ({{{contract.quantity}}} seats) ends on {{{contract.end}}}.\n"
	  "Your renewal quote {{{quote.number}}}: {{{quote.price}}}, valid until {{{quote.valid_until}}}.\n\n"
	  "{{#publish_vendor}}Review and renew online: {{{link}}}\n{{/publish_vendor}}"
	  "{{#publish_partner}}To renew, contact {{{brand.name}}}{{#brand.phone}} on {{{brand.phone}}}{{/brand.phone}}"
	  "{{#brand.email}} or at {{{brand.email}}}{{/brand.email}}. Your quote: {{{link}}}\n{{/publish_partner}}" TEXT_FOOT },
	{ "email/customer_notice.html", "text/html",
	  HTML_HEAD "<p>Dear {{customer.name}},</p><p>your <strong>{{product.name}}</strong> ({{contract.quantity}} seats) "
		    "ends on {{contract.end}}.</p><p>Your renewal quote <strong>{{quote.number}}</strong>: {{quote.price}}, "
		    "valid until {{quote.valid_until}}.</p>"
		    "{{#publish_vendor}}<p><a href=\"{{link}}\" style=\"background:{{brand.colour_primary}};color:#fff;"
		    "padding:10px 16px;text-decoration:none\">Review and renew online</a></p>{{/publish_vendor}}"
		    "{{#publish_partner}}<p>To renew, contact {{brand.name}}{{#brand.phone}} on {{brand.phone}}"
		    "{{/brand.phone}}{{#brand.email}} or at <a href=\"mailto:{{brand.email}}\">{{brand.email}}</a>"
		    "{{/brand.email}}. <a href=\"{{link}}\">See your quote</a>.</p>{{/publish_partner}}" HTML_FOOT },

	{ "email/reminder.subject", "text/plain",
	  "{{#overdue}}Overdue: {{/overdue}}{{{product.name}}} {{#overdue}}ended on{{/overdue}}{{^overdue}}ends on{{/overdue}} "
	  "{{{contract.end}}}: quote {{{quote.number}}}" },
	{ "email/reminder.txt", "text/plain",
	  "Dear {{{customer.name}}},\n\n{{#overdue}}your {{{product.name}}} ended on {{{contract.end}}}, {{{days_overdue}}} days ago."
	  "{{/overdue}}{{^overdue}}your {{{product.name}}} ends on {{{contract.end}}}, in {{{days_left}}} days.{{/overdue}}\n"
	  "Renewal quote {{{quote.number}}}: {{{quote.price}}}.\n"
	  "{{#publish_vendor}}Renew online: {{{link}}}\n{{/publish_vendor}}"
	  "{{#publish_partner}}Contact {{{brand.name}}} to renew. Your quote: {{{link}}}\n{{/publish_partner}}" TEXT_FOOT },
	{ "email/reminder.html", "text/html",
	  HTML_HEAD "<p>Dear {{customer.name}},</p><p>{{#overdue}}your <strong>{{product.name}}</strong> ended on "
		    "{{contract.end}}, {{days_overdue}} days ago.{{/overdue}}{{^overdue}}your <strong>{{product.name}}"
		    "</strong> ends on {{contract.end}}, in {{days_left}} days.{{/overdue}}</p><p>Renewal quote "
		    "<strong>{{quote.number}}</strong>: {{quote.price}}.</p>{{#publish_vendor}}<p><a href=\"{{link}}\">"
		    "Renew online</a></p>{{/publish_vendor}}{{#publish_partner}}<p>Contact {{brand.name}} to renew. "
		    "<a href=\"{{link}}\">Your quote</a></p>{{/publish_partner}}" HTML_FOOT },

	{ "email/digest.subject", "text/plain", "This week: {{{count}}} renewal opportunities for {{{partner.name}}}" },
	{ "email/digest.txt", "text/plain",
	  "Hello {{{partner.name}}},\n\n"
	  "Awaiting your decision:\n{{#pending}}  {{{number}}}  {{{customer}}}  {{{product}}}  ends {{{end}}}  decide by {{{decide_by}}}\n"
	  "{{/pending}}{{^pending}}  nothing\n{{/pending}}\nEnding in the next 30 days:\n"
	  "{{#ending}}  {{{number}}}  {{{customer}}}  {{{product}}}  ends {{{end}}}  ({{{state}}})\n{{/ending}}{{^ending}}  nothing\n"
	  "{{/ending}}" TEXT_FOOT },
	{ "email/digest.html", "text/html",
	  HTML_HEAD "<p>Hello {{partner.name}},</p><h3>Awaiting your decision</h3><ul>{{#pending}}<li>{{number}} "
		    "{{customer}}, {{product}}: ends {{end}}, decide by {{decide_by}}</li>{{/pending}}{{^pending}}<li>nothing"
		    "</li>{{/pending}}</ul><h3>Ending in the next 30 days</h3><ul>{{#ending}}<li>{{number}} {{customer}}, "
		    "{{product}}: ends {{end}} ({{state}})</li>{{/ending}}{{^ending}}<li>nothing</li>{{/ending}}</ul>" HTML_FOOT },

	{ "email/task.subject", "text/plain", "{{{customer.name}}} asks: {{{task_text}}} ({{{quote.number}}})" },
	{ "email/task.txt", "text/plain",
	  "{{{customer.name}}} {{{task_text}}} about quote {{{quote.number}}} ({{{product.name}}}, ends {{{contract.end}}}).\n"
	  "{{#message}}Their message:\n{{{message}}}\n{{/message}}" TEXT_FOOT },
	{ "email/task.html", "text/html",
	  HTML_HEAD "<p>{{customer.name}} {{task_text}} about quote <strong>{{quote.number}}</strong> ({{product.name}}, "
		    "ends {{contract.end}}).</p>{{#message}}<blockquote>{{message}}</blockquote>{{/message}}" HTML_FOOT },

	/* ---- pages: page/layout.html wraps page/NAME.html ({{> body}}) ---- */
	{ "page/layout.html", "text/html",
	  "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	  "<title>{{title}} - {{brand.name}}</title><link rel=\"stylesheet\" href=\"/static/site.css\">"
	  "<script src=\"/static/portal.js\" defer></script></head><body>"
	  "<header class=\"brand\" data-primary=\"{{brand.colour_primary}}\" data-accent=\"{{brand.colour_accent}}\">"
	  "{{#brand.logo_url}}<img src=\"{{brand.logo_url}}\" alt=\"{{brand.name}}\" height=\"40\">{{/brand.logo_url}}"
	  "{{^brand.logo_url}}<span class=\"brand-name\">{{brand.name}}</span>{{/brand.logo_url}}"
	  "{{#signed_in}}<form method=\"post\" action=\"/logout\" class=\"logout\"><input type=\"hidden\" name=\"csrf\" "
	  "value=\"{{csrf}}\"><button type=\"submit\">Sign out</button></form>{{/signed_in}}</header>"
	  "<main id=\"main\"><h1>{{title}}</h1>{{> body}}</main>"
	  "<footer class=\"contact\">{{brand.contact_block}}</footer></body></html>" },
	{ "page/message.html", "text/html", "<p>{{text}}</p>" },
	{ "page/login.html", "text/html",
	  "{{#failed}}<p class=\"error\" role=\"alert\">The vendor, e-mail or password is wrong, or there were too many "
	  "attempts. Try again.</p>{{/failed}}"
	  "<form method=\"post\" action=\"/login\" class=\"stack\">"
	  "<label for=\"vendor\">Vendor</label><input id=\"vendor\" name=\"vendor\" autocomplete=\"organization\" required "
	  "value=\"{{vendor}}\">"
	  "<label for=\"email\">E-mail</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>"
	  "<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" "
	  "autocomplete=\"current-password\" required>"
	  "<button type=\"submit\">Sign in</button></form>" },
	{ "page/portal.html", "text/html",
	  "<p>Dear {{customer.name}}, here are your contracts with {{vendor_name}}.</p>"
	  "<h2>Your contracts</h2><table class=\"contracts\"><thead><tr><th scope=\"col\">Product</th><th scope=\"col\">Seats</th>"
	  "<th scope=\"col\">Ends</th><th scope=\"col\">Status</th></tr></thead><tbody>"
	  "{{#contracts}}<tr class=\"colour-{{colour}}\" data-colour=\"{{colour}}\"><td>{{product}}</td><td>{{quantity}}</td>"
	  "<td>{{end}}</td><td><span class=\"dot dot-{{colour}}\" aria-hidden=\"true\"></span>{{colour_text}}"
	  "{{#warranty_only}} &middot; warranty only{{/warranty_only}}{{#consolidated}} &middot; consolidated{{/consolidated}}"
	  "</td></tr>{{/contracts}}</tbody></table>"
	  "{{#quote}}<h2>Your renewal quote {{number}}</h2>"
	  "<form method=\"post\" action=\"/portal/accept\" id=\"quote\"><input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">"
	  "<table class=\"lines\"><thead><tr><th scope=\"col\">Item</th><th scope=\"col\">Seats</th><th scope=\"col\">Price</th>"
	  "</tr></thead><tbody>{{#lines}}<tr><td>{{#optional}}<label><input type=\"checkbox\" name=\"add\" value=\"{{sku}}\" "
	  "data-amount=\"{{amount}}\" class=\"optional\"{{#selected}} checked{{/selected}}> {{kind_text}}: {{description}}</label>"
	  "{{/optional}}{{^optional}}{{description}}{{/optional}}</td><td>{{quantity}}</td><td>{{price}}</td></tr>{{/lines}}"
	  "</tbody><tfoot><tr><th scope=\"row\" colspan=\"2\">Total</th><td><output id=\"total\" data-base=\"{{base_amount}}\" "
	  "data-currency=\"{{currency}}\">{{total}}</output></td></tr></tfoot></table>"
	  "<p>Valid until {{valid_until}}.</p>"
	  "{{#can_buy}}<p><label><input type=\"checkbox\" name=\"accept\" id=\"accept\" value=\"yes\" required> I accept this quote "
	  "and its terms</label></p><p><button type=\"submit\" id=\"buy\">Buy</button></p>{{/can_buy}}"
	  "{{^can_buy}}<p>To renew, contact {{brand.name}}{{#brand.phone}} on {{brand.phone}}{{/brand.phone}}.</p>{{/can_buy}}"
	  "</form>{{/quote}}"
	  "<h2>Need something else?</h2><form method=\"post\" action=\"/portal/request\" class=\"stack\">"
	  "<input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">"
	  "<fieldset><legend>I would like to</legend>"
	  "<label><input type=\"radio\" name=\"action\" value=\"callback\" checked> be called back</label>"
	  "<label><input type=\"radio\" name=\"action\" value=\"contact_reseller\"> be contacted by {{brand.name}}</label>"
	  "<label><input type=\"radio\" name=\"action\" value=\"reply\"> reply to the sales centre</label></fieldset>"
	  "<label for=\"message\">Message (optional)</label><textarea id=\"message\" name=\"message\" maxlength=\"2000\"></textarea>"
	  "<button type=\"submit\">Send</button></form>" },
	{ "page/purchase.html", "text/html",
	  "<p>Quote {{number}}: <strong>{{total}}</strong></p>"
	  "<form method=\"post\" action=\"/portal/order\" class=\"stack\"><input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">"
	  "<fieldset><legend>Billing address</legend>"
	  "<label for=\"name\">Company</label><input id=\"name\" name=\"name\" value=\"{{customer.name}}\" required>"
	  "<label for=\"address_line1\">Address</label><input id=\"address_line1\" name=\"address_line1\" "
	  "value=\"{{customer.address_line1}}\" required>"
	  "<label for=\"address_line2\">Address (line 2)</label><input id=\"address_line2\" name=\"address_line2\" "
	  "value=\"{{customer.address_line2}}\">"
	  "<label for=\"city\">City</label><input id=\"city\" name=\"city\" value=\"{{customer.city}}\" required>"
	  "<label for=\"postcode\">Postcode</label><input id=\"postcode\" name=\"postcode\" value=\"{{customer.postcode}}\" required>"
	  "<label for=\"country\">Country</label><input id=\"country\" name=\"country\" value=\"{{customer.country}}\" required>"
	  "<label for=\"email\">E-mail</label><input id=\"email\" name=\"email\" type=\"email\" value=\"{{customer.email}}\" required>"
	  "</fieldset><fieldset><legend>Pay by</legend>"
	  "{{#options}}<label><input type=\"radio\" name=\"option\" value=\"{{option}}\" required> {{label}}</label>{{/options}}"
	  "{{^options}}<p>No payment option is enabled yet: {{brand.name}} will contact you.</p>{{/options}}</fieldset>"
	  "<label for=\"po_number\">Purchase order number (for purchase orders)</label><input id=\"po_number\" name=\"po_number\">"
	  "<button type=\"submit\">Place order</button></form>" },
	{ "page/partner.html", "text/html",
	  "<p>Signed in as {{user}} for {{partner_name}}.</p>"
	  "<h2>Awaiting your decision</h2>{{^pending}}<p>Nothing awaits a decision.</p>{{/pending}}"
	  "<ul class=\"cards\">{{#pending}}<li><h3>{{number}}: {{customer}}</h3><p>{{product}}, {{quantity}} seats, ends {{end}}. "
	  "List {{list}}. Decide by {{decide_by}}.</p><p>You sell: you keep {{partner_margin}}. {{vendor_name}} sells: you earn "
	  "{{vendor_margin}}.</p>"
	  "<form method=\"post\" action=\"/partner/opportunities/{{id}}/decision\"><input type=\"hidden\" name=\"csrf\" "
	  "value=\"{{csrf}}\"><button type=\"submit\" name=\"publish\" value=\"partner\">We sell it</button> "
	  "<button type=\"submit\" name=\"publish\" value=\"vendor\">{{vendor_name}} sells it</button></form></li>{{/pending}}</ul>"
	  "<h2>Quotes</h2><table><thead><tr><th scope=\"col\">Quote</th><th scope=\"col\">Customer</th><th scope=\"col\">Ends</th>"
	  "<th scope=\"col\">State</th></tr></thead><tbody>{{#quotes}}<tr><td>{{number}}</td><td>{{customer}}</td><td>{{end}}</td>"
	  "<td>{{state}}</td></tr>{{/quotes}}</tbody></table>"
	  "<h2>Tasks</h2>{{^tasks}}<p>No open tasks.</p>{{/tasks}}<ul>{{#tasks}}<li>{{kind}}: {{message}}</li>{{/tasks}}</ul>" },
	{ "static/site.css", "text/css",
	  "body{font-family:system-ui,Arial,sans-serif;margin:0;color:#1d1d1d;line-height:1.45}"
	  "header.brand{display:flex;align-items:center;justify-content:space-between;padding:12px 16px;background:#1f3a5f;color:#fff}"
	  ".brand-name{font-weight:bold;font-size:1.2em}main{max-width:960px;margin:0 auto;padding:16px}"
	  "table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #ddd}"
	  ".dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.4em;vertical-align:middle}"
	  ".dot-red{background:#c62828}.dot-amber{background:#f9a825}.dot-green{background:#2e7d32}.dot-black{background:#111}"
	  ".colour-red td{background:#fdecea}.colour-amber td{background:#fff8e1}.colour-green td{background:#edf7ed}"
	  ".colour-black td{background:#eee;color:#555}.stack{display:flex;flex-direction:column;gap:6px;max-width:420px}"
	  "button{padding:8px 14px;font-size:1em;cursor:pointer}button:disabled{opacity:.5;cursor:not-allowed}"
	  ".error{color:#b00020}.cards{list-style:none;padding:0}.cards li{border:1px solid #ddd;padding:8px 12px;margin:8px 0}"
	  "footer.contact{max-width:960px;margin:24px auto;padding:8px 16px;border-top:3px solid #f2a900;font-size:.9em;color:#555}"
	  "@media (max-width:600px){th,td{padding:4px}main{padding:8px}}" },
	{ "static/portal.js", "text/javascript",
	  "(function(){\n"
	  "  var h = document.querySelector('header.brand');\n"
	  "  if (h) { h.style.background = h.dataset.primary; }\n"
	  "  var accept = document.getElementById('accept'), buy = document.getElementById('buy');\n"
	  "  if (accept && buy) { buy.disabled = !accept.checked;\n"
	  "    accept.addEventListener('change', function(){ buy.disabled = !accept.checked; }); }\n"
	  "  var total = document.getElementById('total');\n"
	  "  function money(n, c){ var s = (n/100).toFixed(2).replace(/\\B(?=(\\d{3})+(?!\\d))/g, ','); return c + ' ' + s; }\n"
	  "  function update(){ if (!total) return; var sum = parseInt(total.dataset.base, 10);\n"
	  "    document.querySelectorAll('input.optional:checked').forEach(function(i){ sum += parseInt(i.dataset.amount, 10); });\n"
	  "    total.textContent = money(sum, total.dataset.currency); }\n"
	  "  document.querySelectorAll('input.optional').forEach(function(i){ i.addEventListener('change', update); });\n"
	  "  update();\n"
	  "})();\n" },
};

static int asset(rd_plugin_ctx *ctx, const char *name, const void **data, size_t *len, const char **type)
{
	for (size_t i = 0; i < sizeof assets / sizeof *assets; i++)
		if (!strcmp(assets[i].name, name)) {
			*data = assets[i].data;
			*len = strlen(assets[i].data);
			*type = assets[i].type;
			return 0;
		}
	return RD_ENOTFOUND;
}

static const struct rd_branding_ops ops = {
	.version = RD_BRANDING_OPS_V1,
	.asset = asset,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "branding-default",
	.version = "1.0.0",
	.kind = RD_PLUGIN_BRANDING,
	.description = "renewd's default e-mail templates, with the partner's logo, colours and contact block",
	.ops = &ops,
};

RD_PLUGIN_ENTRY_DEFINE(rd_builtin_branding_default)
{
	return &desc;
}
