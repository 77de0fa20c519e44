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
