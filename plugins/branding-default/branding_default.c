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

/* Pages of the vendor console: its navigation, and the error or notice of
 * the last action. */
#define CONSOLE_NAV                                                                                               \
	"<nav class=\"console\" aria-label=\"{{nav_label}}\"><ul>{{#nav}}<li><a href=\"{{href}}\"{{#current}} "       \
	"aria-current=\"page\"{{/current}}>{{label}}</a></li>{{/nav}}</ul></nav><div id=\"content\" tabindex=\"-1\"></div>" \
	"{{#error}}<p class=\"error\" role=\"alert\">{{error}}</p>{{/error}}"                                        \
	"{{#notice}}<p class=\"notice\" role=\"status\">{{notice}}</p>{{/notice}}"
/* A table that scrolls sideways on a phone, reachable by keyboard. */
#define TABLE(label) "<div class=\"table-wrap\" role=\"region\" tabindex=\"0\" aria-label=\"" label "\"><table>"
#define TABLE_END "</table></div>"
#define CSRF "<input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">"
/* A list's link to the form adding one, for the roles that may (console_records.c). */
#define NEW_LINK "{{#new}}<p class=\"actions\"><a href=\"{{href}}\" id=\"new-record\">{{label}}</a></p>{{/new}}"
#define NEXT_PAGE "{{#next}}<p><a href=\"{{next}}\" rel=\"next\">Next page</a></p>{{/next}}"
/* The contracts table of the console and of the partner portal. */
#define CONTRACT_TABLE                                                                                            \
	TABLE("Contracts") "<thead><tr><th scope=\"col\">Contract</th><th scope=\"col\">Customer</th>"                \
	"<th scope=\"col\">Product</th><th scope=\"col\">Reseller</th><th scope=\"col\">Seats</th><th scope=\"col\">Ends</th>" \
	"<th scope=\"col\">Status</th><th scope=\"col\">List value</th></tr></thead><tbody>{{#rows}}<tr class=\"colour-{{colour}}\" " \
	"data-colour=\"{{colour}}\">" \
	"<th scope=\"row\"><a href=\"{{href}}\">{{external_id}}</a></th><td>{{#customer_href}}<a href=\""             \
	"{{customer_href}}\">{{customer}}</a>{{/customer_href}}{{^customer_href}}{{customer}}{{/customer_href}}</td><td>{{product}}</td><td>{{reseller}}</td>"            \
	"<td>{{quantity}}</td><td>{{end}}</td><td><span class=\"dot dot-{{colour}}\" aria-hidden=\"true\"></span>"          \
	"{{colour_text}} ({{status}}){{#warranty_only}} &middot; warranty only{{/warranty_only}}{{#consolidated}} &middot; " \
	"consolidated{{/consolidated}}</td><td class=\"money\">{{value}}</td></tr>{{/rows}}</tbody>" TABLE_END           \
	"{{^rows}}<p>{{#filtered}}No contracts match.{{/filtered}}{{^filtered}}No contracts yet.{{#new}} Add one with "  \
	"\"{{label}}\" above, or import them on the <a href=\"/vendor/imports\">Imports</a> page.{{/new}}{{/filtered}}"  \
	"</p>{{/rows}}" PAGE_TOTALS \
	NEXT_PAGE
/* A list's money column summed per currency (never across currencies), this page's rows. */
#define PAGE_TOTALS                                                                                               \
	"{{#has_totals}}<h3>This page's totals per currency</h3>" TABLE("Totals per currency") "<thead><tr>"           \
	"<th scope=\"col\">Currency</th><th scope=\"col\">Rows</th><th scope=\"col\">Total</th></tr></thead><tbody>" \
	"{{#totals}}<tr class=\"total\" data-currency=\"{{currency}}\"><th scope=\"row\">{{currency}}</th>"          \
	"<td>{{count}}</td><td class=\"money\">{{amount}}</td></tr>{{/totals}}</tbody>" TABLE_END "{{/has_totals}}"
#define FILTER(path, name, label)                                                                                 \
	"<form method=\"get\" action=\"" path "\" class=\"filter\"><label for=\"" name "\">" label "</label> "         \
	"<select id=\"" name "\" name=\"" name "\">{{#choices}}<option value=\"{{value}}\"{{#selected}} selected"      \
	"{{/selected}}>{{label}}</option>{{/choices}}</select> <button type=\"submit\">Show</button></form>"

/* The tasks inbox of the console and of the partner portal (core/web/console_tasks.c). */
#define TASKS_BODY                                                                                                \
	"<form method=\"get\" action=\"{{base}}\" class=\"filter\"><label for=\"state\">Show</label> <select "      \
	"id=\"state\" name=\"state\">{{#choices}}<option value=\"{{value}}\"{{#selected}} selected{{/selected}}>"      \
	"{{label}}</option>{{/choices}}</select> <label for=\"owner\">Owner</label> <select id=\"owner\" "             \
	"name=\"owner\">{{#owners}}<option value=\"{{value}}\"{{#selected}} selected{{/selected}}>{{label}}</option>"  \
	"{{/owners}}</select> <button type=\"submit\">Show</button></form>"                                           \
	"{{#no_address}}<p class=\"error\" role=\"alert\">No renewals address is set: customer requests for the "   \
	"vendor's team are only listed here, and no e-mail tells your team of them. A vendor admin sets the renewals " \
	"team's e-mail in <a href=\"/vendor/settings\">Settings</a>.</p>{{/no_address}}"                               \
	"{{#error}}<div class=\"error\" role=\"alert\"><p>{{error}}</p></div>{{/error}}"                              \
	"<p><span id=\"task-count\">{{count}}</span> task(s){{#more}}, the newest 200 shown{{/more}}.</p>"             \
	"{{^tasks}}<p>No tasks.</p>{{/tasks}}<ul class=\"cards\">{{#tasks}}<li id=\"task-{{id}}\"><h3>"            \
	"{{#customer_id}}<a href=\"{{root}}/customers/{{customer_id}}\">{{customer}}</a>{{/customer_id}}"          \
	"{{^customer_id}}{{customer}}{{/customer_id}}: {{kind}}</h3><p>For {{for}}, {{at}}. Quote {{#partner}}<a href=\"/partner/opportunities/{{opportunity_id}}\">" \
	"{{/partner}}{{^partner}}<a href=\"/sales/opportunities/{{opportunity_id}}\">{{/partner}}{{number}}</a>.</p>" \
	"{{#message}}<blockquote>{{message}}</blockquote>{{/message}}<p>{{#done}}Closed.{{/done}}{{^done}}Open.{{/done}} " \
	"Assigned to: <span class=\"assignee\">{{#assignee}}{{assignee}}{{/assignee}}{{^assignee}}nobody{{/assignee}}"  \
	"</span>. Due: <span class=\"due{{#overdue}} overdue{{/overdue}}\">{{#due}}{{due}}{{/due}}{{^due}}no date"    \
	"{{/due}}</span>{{#overdue}} (overdue){{/overdue}}</p>{{#may_change}}{{^done}}<form method=\"post\" "        \
	"action=\"{{base}}/{{id}}\">" CSRF "<input type=\"hidden\" name=\"action\" value=\"due\"><label for=\"due-{{id}}\">" \
	"Due on</label> <input type=\"date\" id=\"due-{{id}}\" name=\"due_on\" value=\"{{due}}\"> <button "   \
	"type=\"submit\">Set the due date</button></form>"                                                          \
	"<form method=\"post\" action=\"{{base}}/{{id}}\"><input type=\"hidden\" " \
	"name=\"csrf\" value=\"{{csrf}}\"><input type=\"hidden\" name=\"action\" value=\"assign\"><label for=\""   \
	"assign-{{id}}\">Assign to</label> <select id=\"assign-{{id}}\" name=\"assigned_to\"><option value=\"\">"   \
	"nobody</option>{{#choices}}<option value=\"{{id}}\"{{#selected}} selected{{/selected}}>{{email}}</option>"    \
	"{{/choices}}</select> <button type=\"submit\">Assign</button></form><form method=\"post\" action=\"{{base}}/" \
	"{{id}}\"><input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\"><button type=\"submit\" name=\"action\" " \
	"value=\"close\">Close</button></form>{{/done}}{{#done}}<form method=\"post\" action=\"{{base}}/{{id}}\">"     \
	"<input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\"><button type=\"submit\" name=\"action\" "         \
	"value=\"reopen\">Reopen</button></form>{{/done}}{{/may_change}}</li>{{/tasks}}</ul>"

/* Deal registration (core/web/deals.c): the partner portal's and the console's. */
#define DEAL_FACTS                                                                                                \
	"<p>{{line}} &middot; expected {{value}} by {{close_date}} &middot; <span class=\"deal-state\">{{state}}</span>" \
	"{{#expires_on}} &middot; until <span class=\"deal-expiry\">{{expires_on}}</span>{{/expires_on}}"            \
	"{{#extensions}} &middot; {{extensions}} extension(s){{/extensions}}</p>{{#reason}}<p>Reason: {{reason}}</p>" \
	"{{/reason}}{{#previous_id}}<p>Resubmits registration {{previous_id}}.</p>{{/previous_id}}{{#next_id}}<p>"    \
	"Resubmitted as registration {{next_id}}.</p>{{/next_id}}{{#asked}}<p class=\"deal-asked\">An extension was " \
	"asked for on {{asked}}.</p>{{/asked}}"
#define PARTNER_DEALS_BODY                                                                                        \
	"<h2>Register a deal</h2>{{^has_products}}<p id=\"no-products\">No products to register a deal for yet: "  \
	"deals are registered for the vendor's products, and it has none yet.</p>{{/has_products}}"                    \
	"{{#has_products}}<p>We answer within {{response_hours}} hours.</p>"                                          \
	"<form method=\"post\" action=\"/partner/deals\" id=\"register-deal\">" CSRF                                  \
	"<p><label for=\"customer_id\">Customer</label> <select id=\"customer_id\" name=\"customer_id\"><option "     \
	"value=\"new\">A new customer</option>{{#customers}}<option value=\"{{id}}\"{{#chosen}} selected{{/chosen}}>"  \
	"{{name}}</option>{{/customers}}"                                                                            \
	"</select></p><fieldset><legend>A new customer</legend><p><label for=\"customer_name\">Name</label> <input "  \
	"id=\"customer_name\" name=\"customer_name\" maxlength=\"127\" data-maxbytes=\"127\" value=\"{{form.customer_name}}\"></p><p><label for=\"customer_email\">E-mail"  \
	"</label> <input id=\"customer_email\" name=\"customer_email\" type=\"email\" maxlength=\"127\" data-maxbytes=\"127\" value=\"{{form.customer_email}}\"></p><p><label " \
	"for=\"customer_postcode\">Postcode</label> <input id=\"customer_postcode\" name=\"customer_postcode\" "      \
	"maxlength=\"15\" data-maxbytes=\"15\" value=\"{{form.customer_postcode}}\"></p><p><label for=\"customer_external_id\">Customer number</label> <input "                \
	"id=\"customer_external_id\" name=\"customer_external_id\" maxlength=\"63\" data-maxbytes=\"63\" "                           \
	"value=\"{{form.customer_external_id}}\"></p></fieldset>"                  \
	"<p><label for=\"product\">Product of interest</label> <select id=\"product\" name=\"product\">{{#products}}"  \
	"<option value=\"{{id}}\"{{#chosen}} selected{{/chosen}}>{{name}} ({{line}})</option>{{/products}}</select>"  \
	"</p><p><label for=\"seats\">Seats" \
	"</label> <input id=\"seats\" name=\"seats\" type=\"number\" min=\"0\" max=\"100000000\" "    \
	"value=\"{{form.seats}}\"></p><p><label for=\"value\">Expected " \
	"value ({{currency}})</label> <input id=\"value\" name=\"value\" inputmode=\"decimal\" value=\"{{form.value}}\"></p><p><label "        \
	"for=\"close_date\">Expected close date</label> <input id=\"close_date\" name=\"close_date\" type=\"date\" "  \
	"value=\"{{form.close_date}}\" required></p><p><label for=\"situation\">Current situation</label> <textarea id=\"situation\" "             \
	"name=\"situation\" maxlength=\"511\" data-maxbytes=\"511\">{{form.situation}}</textarea></p><p><label for=\"notes\">Notes</label> <textarea "        \
	"id=\"notes\" name=\"notes\" maxlength=\"2047\" data-maxbytes=\"2047\">{{form.notes}}</textarea></p><p><button type=\"submit\">Register</button>" \
	"</p></form>{{/has_products}}<h2>My registrations</h2>{{^deals}}<p>No registrations yet.</p>{{/deals}}<ul class=\"cards\">"   \
	"{{#deals}}<li id=\"deal-{{id}}\" data-state=\"{{state}}\"><h3>{{customer}}: registration {{id}}</h3>"       \
	DEAL_FACTS "{{#approved}}<form method=\"post\" action=\"/partner/deals/{{id}}/win\" "                         \
	"enctype=\"multipart/form-data\">" CSRF "<label for=\"proof-{{id}}\">Proof of performance</label> <input "     \
	"id=\"proof-{{id}}\" name=\"proof\" type=\"file\" required> <button type=\"submit\">Close won</button></form>" \
	"<form method=\"post\" action=\"/partner/deals/{{id}}\">" CSRF "<input type=\"hidden\" name=\"action\" "      \
	"value=\"lose\"><label for=\"lost-{{id}}\">Why lost</label> <input id=\"lost-{{id}}\" name=\"reason\" "       \
	"maxlength=\"255\" data-maxbytes=\"255\" required> <button type=\"submit\">Close lost</button></form>{{/approved}}{{#extendable}}"  \
	"{{^asked}}<form method=\"post\" action=\"/partner/deals/{{id}}\">" CSRF "<input type=\"hidden\" "      \
	"name=\"action\" value=\"extension\"><button type=\"submit\">Ask for an extension</button></form>{{/asked}}" \
	"{{/extendable}}{{#reopenable}}"  \
	"<form method=\"post\" action=\"/partner/deals\">" CSRF "<input type=\"hidden\" name=\"previous_id\" "        \
	"value=\"{{id}}\"><p><label for=\"again-{{id}}\">What is "  \
	"new</label> <textarea id=\"again-{{id}}\" name=\"notes\" maxlength=\"2047\" data-maxbytes=\"2047\"></textarea></p><p><label "        \
	"for=\"again-product-{{id}}\">Product of interest</label> <select id=\"again-product-{{id}}\" name=\"product\">" \
	"{{#products}}<option value=\"{{id}}\">{{name}} ({{line}})</option>{{/products}}</select> <label "            \
	"for=\"again-close-{{id}}\">Expected close date</label> <input id=\"again-close-{{id}}\" name=\"close_date\" " \
	"type=\"date\" required> <button type=\"submit\">Resubmit</button></p></form>{{/reopenable}}</li>{{/deals}}</ul>"
#define CONFLICTS(key, title)                                                                                     \
	"{{#has_" key "}}<h4>" title "</h4><ul>{{#" key "}}<li>{{partner}}: {{what}} &middot; {{customer}}, "          \
	"matched by <span class=\"match\">{{reasons}}</span></li>{{/" key "}}</ul>{{/has_" key "}}"
#define VENDOR_DEALS_BODY                                                                                         \
	FILTER("/vendor/deals", "state", "Show")                                                                     \
	"{{^deals}}<p>No registrations.</p>{{/deals}}<ul class=\"cards\">{{#deals}}<li id=\"deal-{{id}}\" "           \
	"data-state=\"{{state}}\"><h3>{{partner}}: {{customer}} (registration {{id}})</h3>" DEAL_FACTS               \
	"{{#situation}}<p>Situation: {{situation}}</p>{{/situation}}{{#notes}}<blockquote>{{notes}}</blockquote>"   \
	"{{/notes}}{{#checked}}<section class=\"conflicts\" aria-label=\"Conflict report\">{{#conflict}}<p "          \
	"class=\"error\">Conflicts found:</p>{{/conflict}}{{^conflict}}<p class=\"no-conflict\">No conflicts found."   \
	"</p>{{/conflict}}" CONFLICTS("registrations", "Other partners' open registrations")                         \
	CONFLICTS("installed_base", "Other partners' live contracts (installed base)")                               \
	CONFLICTS("opportunities", "The vendor's own open quotes") "</section>{{/checked}}{{#may_change}}"            \
	"{{#submitted}}<form method=\"post\" action=\"/vendor/deals/{{id}}\">" CSRF "<input type=\"hidden\" "          \
	"name=\"action\" value=\"approve\"><label for=\"until-{{id}}\">Expires on (empty: the default)</label> "       \
	"<input id=\"until-{{id}}\" name=\"expires_on\" type=\"date\"> <button type=\"submit\">Approve</button></form>" \
	"<form method=\"post\" action=\"/vendor/deals/{{id}}\">" CSRF "<input type=\"hidden\" name=\"action\" "      \
	"value=\"reject\"><label for=\"why-{{id}}\">Reason</label> <input id=\"why-{{id}}\" name=\"reason\" "          \
	"maxlength=\"255\" data-maxbytes=\"255\" required> <button type=\"submit\">Reject</button></form>{{/submitted}}{{#extendable}}"      \
	"<form method=\"post\" action=\"/vendor/deals/{{id}}\">" CSRF "<input type=\"hidden\" name=\"action\" "      \
	"value=\"extend\"><label for=\"days-{{id}}\">Days (empty: the default)</label> <input id=\"days-{{id}}\" "     \
	"name=\"days\" type=\"number\" min=\"1\" max=\"3650\"> <button type=\"submit\">Extend</button></form>"         \
	"{{/extendable}}{{/may_change}}</li>{{/deals}}</ul>"
/* The leads of the partner portal and of the console (core/web/programmes_leads.c). */
#define LEAD_FACTS                                                                                                \
	"<h3>L-{{id}}: {{company}}</h3><p>{{country}} {{region}}, {{size}}, interested in {{product}}. State: "       \
	"<strong class=\"lead-state\">{{state}}</strong>.</p>{{#reason}}<p class=\"why\">Why: {{reason}} (routing "     \
	"policy v{{policy_version}}){{#targets}}, offered to {{targets}}{{/targets}}.</p>{{/reason}}"
#define LEADS_BODY                                                                                                \
	"<h2>Offered{{#vendor_view}}: pools and offers in progress{{/vendor_view}}</h2>{{^offered}}<p>None.</p>"      \
	"{{/offered}}<ul class=\"cards\">{{#offered}}<li id=\"lead-{{id}}\">" LEAD_FACTS "<p>{{#pool}}A pool: the "   \
	"first to accept takes it. {{/pool}}Accept by <strong>{{deadline}}</strong>.</p>{{#act}}<form "                \
	"method=\"post\" action=\"{{base}}/{{id}}\">" CSRF "<button type=\"submit\" name=\"action\" "                 \
	"value=\"accept\">Accept</button></form><form method=\"post\" action=\"{{base}}/{{id}}\">" CSRF                 \
	"<label for=\"decline-{{id}}\">Reason</label> <input id=\"decline-{{id}}\" name=\"reason\" maxlength=\"255\" data-maxbytes=\"255\" required> <button " \
	"type=\"submit\" name=\"action\" value=\"decline\">Decline</button></form>{{/act}}</li>{{/offered}}"            \
	"</ul><h2>Being worked</h2>{{^working}}<p>None.</p>{{/working}}<ul class=\"cards\">{{#working}}<li "          \
	"id=\"lead-{{id}}\">" LEAD_FACTS "{{#act}}<form method=\"post\" action=\"{{base}}/{{id}}\">"                  \
	CSRF "<label for=\"value-{{id}}\">Value ({{currency}})</label> <input id=\"value-{{id}}\" name=\"value\" "   \
	"inputmode=\"decimal\" required> <button type=\"submit\" name=\"action\" value=\"won\">Won</button></form>"   \
	"<form method=\"post\" action=\"{{base}}/{{id}}\">" CSRF "<label for=\"lost-{{id}}\">Reason</label> "           \
	"<input id=\"lost-{{id}}\" name=\"reason\" maxlength=\"255\" data-maxbytes=\"255\" required> <button type=\"submit\" name=\"action\" value=\"lost\">" \
	"Lost</button></form>{{/act}}</li>{{/working}}</ul><h2>Other leads</h2>{{^others}}<p>None.</p>"               \
	"{{/others}}<ul class=\"cards\">{{#others}}<li id=\"lead-{{id}}\">" LEAD_FACTS "{{#value}}<p>Won: {{value}}" \
	".</p>{{/value}}{{#lost_reason}}<p>Lost: {{lost_reason}}</p>{{/lost_reason}}{{#returned_reason}}<p>Returned:" \
	" {{returned_reason}}</p>{{/returned_reason}}{{#vendor_view}}{{#to_qualify}}<form method=\"post\" "          \
	"action=\"/vendor/leads/{{id}}\">" CSRF "<label for=\"product-{{id}}\">Product</label> <input "               \
	"id=\"product-{{id}}\" name=\"product\" maxlength=\"63\" data-maxbytes=\"63\" value=\"{{product}}\" required> <label for=\"region-{{id}}\">Region"  \
	"</label> <input id=\"region-{{id}}\" name=\"region\" maxlength=\"63\" data-maxbytes=\"63\" value=\"{{region}}\"> <label for=\"size-{{id}}\">Size"  \
	"</label> <input id=\"size-{{id}}\" name=\"company_size\" maxlength=\"31\" data-maxbytes=\"31\" value=\"{{size}}\"> <label for=\"sit-{{id}}\">"     \
	"Situation</label> <input id=\"sit-{{id}}\" name=\"situation\" maxlength=\"511\" data-maxbytes=\"511\"> <label for=\"tf-{{id}}\">Time frame</label> " \
	"<input id=\"tf-{{id}}\" name=\"time_frame\" maxlength=\"63\" data-maxbytes=\"63\"> <button type=\"submit\" name=\"action\" value=\"qualify\">"    \
	"Qualify</button></form>{{/to_qualify}}{{#to_route}}<form method=\"post\" action=\"/vendor/leads/{{id}}\">"   \
	CSRF "<button type=\"submit\" name=\"action\" value=\"route\">Route</button></form>{{/to_route}}"            \
	"{{/vendor_view}}</li>{{/others}}</ul>"                                                                       \
	"{{#can_dry_run}}<h2>Routing dry run</h2><form method=\"get\" action=\"/vendor/leads\"><label for=\"dry-v\">" \
	"Routing policy version</label> <input id=\"dry-v\" name=\"dry_run\" inputmode=\"numeric\" required> <label "  \
	"for=\"dry-last\">over the last</label> <input id=\"dry-last\" name=\"last\" value=\"20\" inputmode=\"numeric\"" \
	"> routed leads <button type=\"submit\">Dry run</button></form>{{/can_dry_run}}{{#dry_run_error}}<p "        \
	"class=\"error\" role=\"alert\">{{dry_run_error}}</p>{{/dry_run_error}}{{#dry_run}}<p id=\"dry-summary\">" \
	"Version {{version}} over the last {{leads}} routed lead(s): {{changed}} would go elsewhere.</p>"           \
	TABLE("Routing dry run") "<thead><tr><th scope=\"col\">Lead</th><th scope=\"col\">Went to</th><th "         \
	"scope=\"col\">Would go to</th><th scope=\"col\">Why</th></tr></thead><tbody>{{#items}}<tr class=\"dry{{#changed}}" \
	" changed{{/changed}}\"><td>L-{{lead_id}}</td><td>{{actual}}</td><td>{{would}}</td><td>{{reason}}</td></tr>"  \
	"{{/items}}</tbody>" TABLE_END "{{/dry_run}}"

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
	  "without a decision.\n{{{vendor.name}}}'s default applies: {{{mode_text}}}.\n"
	  "{{#partner_copy}}The quote: {{{decision_url}}}\n{{/partner_copy}}{{^partner_copy}}The sales view: {{{sales_url}}}\n"
	  "{{/partner_copy}}" TEXT_FOOT },
	{ "email/pullback.html", "text/html",
	  HTML_HEAD "<p>The decision window for <strong>{{quote.number}}</strong> ({{customer.name}}, {{product.name}}) "
		    "closed on {{quote.decision_by}} without a decision.</p><p>{{vendor.name}}'s default applies: "
		    "{{mode_text}}.</p>{{#partner_copy}}<p><a href=\"{{decision_url}}\">See the quote</a></p>{{/partner_copy}}"
		    "{{^partner_copy}}<p><a href=\"{{sales_url}}\">Open the sales view</a></p>{{/partner_copy}}" HTML_FOOT },

	{ "email/sales_notice.subject", "text/plain",
	  "Published: {{{quote.number}}} for {{{customer.name}}} ({{{product.name}}}), sold by {{{seller}}}" },
	{ "email/sales_notice.txt", "text/plain",
	  "{{{customer.name}}} has been sent renewal quote {{{quote.number}}} in {{{seller}}}'s name: {{{product.name}}}, "
	  "{{{contract.quantity}}} seats, ending {{{contract.end}}}, {{{quote.list}}} at list, valid until "
	  "{{{quote.valid_until}}}.\n{{#customer.email}}Customer e-mail: {{{customer.email}}}\n{{/customer.email}}"
	  "{{#customer.phone}}Customer phone: {{{customer.phone}}}\n{{/customer.phone}}\n"
	  "The customer's contracts and quote as they see them, with the status and pricing to amend: {{{sales_url}}}\n"
	  TEXT_FOOT },
	{ "email/sales_notice.html", "text/html",
	  HTML_HEAD "<p>{{customer.name}} has been sent renewal quote <strong>{{quote.number}}</strong> in {{seller}}'s "
		    "name: {{product.name}}, {{contract.quantity}} seats, ending {{contract.end}}, {{quote.list}} at list, "
		    "valid until {{quote.valid_until}}.</p><p>{{#customer.email}}Customer e-mail: {{customer.email}}<br>"
		    "{{/customer.email}}{{#customer.phone}}Customer phone: {{customer.phone}}{{/customer.phone}}</p>"
		    "<p><a href=\"{{sales_url}}\">Open the sales view</a>: the customer's contracts and quote as they see "
		    "them, with the status and pricing to amend.</p>" HTML_FOOT },

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
	  "    {{{url}}}\n{{/pending}}{{^pending}}  nothing\n{{/pending}}{{#more_pending}}  and {{{more_pending}}} more: see the partner "
	  "portal\n{{/more_pending}}\nEnding in the next 30 days:\n"
	  "{{#ending}}  {{{number}}}  {{{customer}}}  {{{product}}}  ends {{{end}}}  ({{{state}}})\n    {{{url}}}\n{{/ending}}"
	  "{{^ending}}  nothing\n{{/ending}}{{#more_ending}}  and {{{more_ending}}} more: see the partner portal\n{{/more_ending}}"
	  "\nAll your opportunities: {{{portal_url}}}\n" TEXT_FOOT },
	{ "email/digest.html", "text/html",
	  HTML_HEAD "<p>Hello {{partner.name}},</p><h3>Awaiting your decision</h3><ul>{{#pending}}<li><a href=\"{{url}}\">"
		    "{{number}}</a> {{customer}}, {{product}}: ends {{end}}, decide by {{decide_by}}</li>{{/pending}}{{^pending}}"
		    "<li>nothing</li>{{/pending}}{{#more_pending}}<li>and {{more_pending}} more: see the partner portal</li>"
		    "{{/more_pending}}</ul><h3>Ending in the next 30 days</h3><ul>{{#ending}}<li><a href=\"{{url}}\">{{number}}</a> "
		    "{{customer}}, {{product}}: ends {{end}} ({{state}})</li>{{/ending}}{{^ending}}<li>nothing</li>{{/ending}}"
		    "{{#more_ending}}<li>and {{more_ending}} more: see the partner portal</li>{{/more_ending}}</ul>"
		    "<p><a href=\"{{portal_url}}\">All your opportunities in the partner portal</a></p>" HTML_FOOT },

	{ "email/payment_reminder.subject", "text/plain",
	  "{{#overdue}}Overdue: {{/overdue}}order {{{order.number}}}, {{{order.total}}} {{#overdue}}was{{/overdue}}{{^overdue}}is{{/overdue}} "
	  "due on {{{order.due_date}}}" },
	{ "email/payment_reminder.txt", "text/plain",
	  "Dear {{{customer.name}}},\n\n{{#overdue}}the payment for your order {{{order.number}}} ({{{order.total}}}) was due on "
	  "{{{order.due_date}}}, {{{days_overdue}}} days ago.{{/overdue}}{{^overdue}}the payment for your order {{{order.number}}} "
	  "({{{order.total}}}) is due on {{{order.due_date}}}{{#days_left}}, in {{{days_left}}} days{{/days_left}}.{{/overdue}}\n"
	  "If you have paid already, thank you: please ignore this message.\n" TEXT_FOOT },
	{ "email/payment_reminder.html", "text/html",
	  HTML_HEAD "<p>Dear {{customer.name}},</p><p>{{#overdue}}the payment for your order <strong>{{order.number}}</strong> "
		    "({{order.total}}) was due on {{order.due_date}}, {{days_overdue}} days ago.{{/overdue}}{{^overdue}}the "
		    "payment for your order <strong>{{order.number}}</strong> ({{order.total}}) is due on {{order.due_date}}"
		    "{{#days_left}}, in {{days_left}} days{{/days_left}}.{{/overdue}}</p><p>If you have paid already, thank you: "
		    "please ignore this message.</p>" HTML_FOOT },

	{ "email/task.subject", "text/plain", "{{{customer.name}}} asks: {{{task_text}}} ({{{quote.number}}})" },
	{ "email/task.txt", "text/plain",
	  "{{{customer.name}}} {{{task_text}}} about quote {{{quote.number}}} ({{{product.name}}}, ends {{{contract.end}}}).\n"
	  "{{#message}}Their message:\n{{{message}}}\n{{/message}}\nAssign and close it in your tasks inbox: {{{tasks_url}}}\n"
	  TEXT_FOOT },
	{ "email/task.html", "text/html",
	  HTML_HEAD "<p>{{customer.name}} {{task_text}} about quote <strong>{{quote.number}}</strong> ({{product.name}}, "
		    "ends {{contract.end}}).</p>{{#message}}<blockquote>{{message}}</blockquote>{{/message}}"
		    "<p><a href=\"{{tasks_url}}\">Assign and close it in your tasks inbox</a></p>" HTML_FOOT },

	/* Deal registration (core/services/deals.c): one template for every transition, its lines written by
	 * renewd: {subject, lines, vendor.name, brand}. */
	{ "email/deal.txt", "text/plain", "{{#lines}}{{{.}}}\n{{/lines}}\n{{{vendor.name}}}\n" TEXT_FOOT },
	{ "email/deal.html", "text/html", HTML_HEAD "{{#lines}}<p>{{.}}</p>{{/lines}}<p>{{vendor.name}}</p>" HTML_FOOT },
	/* Lead distribution (core/services/leads.c): one template for every
	 * transition; headline and body are renewd's sentences, link where the
	 * recipient acts ("" for none). */
	{ "email/lead.subject", "text/plain", "{{{headline}}}" },
	{ "email/lead.txt", "text/plain",
	  "{{#recipient}}Hello {{{recipient}}},\n\n{{/recipient}}{{{body}}}\n{{#link}}\n{{{link}}}\n{{/link}}" TEXT_FOOT },
	{ "email/lead.html", "text/html",
	  HTML_HEAD "{{#recipient}}<p>Hello {{recipient}},</p>{{/recipient}}<p style=\"white-space:pre-line\">{{body}}</p>"
		    "{{#link}}<p><a href=\"{{link}}\">Open your leads</a></p>{{/link}}" HTML_FOOT },

	{ "email/statement.subject", "text/plain", "Commission statement {{{statement.number}}} for {{{statement.month}}}" },
	{ "email/statement.txt", "text/plain",
	  "Hello {{{partner.name}}},\n\n"
	  "Your commission statement from {{{vendor.name}}} for {{{statement.month}}} ({{{statement.lines}}} line(s)):\n"
	  "{{#totals}}  {{{amount}}} ({{{lines}}} line(s))\n{{/totals}}{{^totals}}  nothing this month\n{{/totals}}\n"
	  "The statement is attached as a PDF; the CSV is in the partner portal: {{{link}}}\n" TEXT_FOOT },
	{ "email/statement.html", "text/html",
	  HTML_HEAD "<p>Hello {{partner.name}},</p><p>Your commission statement from {{vendor.name}} for "
		    "<strong>{{statement.month}}</strong> ({{statement.lines}} line(s)):</p><ul>{{#totals}}<li>{{amount}} "
		    "({{lines}} line(s))</li>{{/totals}}{{^totals}}<li>nothing this month</li>{{/totals}}</ul>"
		    "<p>The statement is attached as a PDF. <a href=\"{{link}}\">Your statements in the partner portal</a>"
		    "</p>" HTML_FOOT },

	/* ---- pages: page/layout.html wraps page/NAME.html ({{> body}}) ---- */
	{ "page/layout.html", "text/html",
	  "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	  "<title>{{title}} - {{brand.name}}</title><link rel=\"stylesheet\" href=\"/static/site.css\">"
	  "<script src=\"/static/portal.js\" defer></script></head><body>"
	  "<a class=\"skip\" href=\"#{{#has_nav}}content{{/has_nav}}{{^has_nav}}main{{/has_nav}}\">Skip to the content</a>"
	  "<header class=\"brand\" data-primary=\"{{brand.colour_primary}}\" data-accent=\"{{brand.colour_accent}}\">"
	  "{{#brand.logo_url}}<img src=\"{{brand.logo_url}}\" alt=\"{{brand.name}}\" height=\"40\">{{/brand.logo_url}}"
	  "{{^brand.logo_url}}<span class=\"brand-name\">{{brand.name}}</span>{{/brand.logo_url}}"
	  "{{#signed_in}}<form method=\"post\" action=\"/logout\" class=\"logout\"><input type=\"hidden\" name=\"csrf\" "
	  "value=\"{{csrf}}\"><button type=\"submit\">Sign out</button></form>{{/signed_in}}</header>"
	  "<main id=\"main\" tabindex=\"-1\"><h1>{{title}}</h1>{{> body}}</main>"
	  "<footer class=\"contact\">{{brand.contact_block}}</footer></body></html>" },
	{ "page/message.html", "text/html", "<p>{{text}}</p>" },
	{ "page/login.html", "text/html",
	  "{{#failed}}<p class=\"error\" role=\"alert\">The vendor, e-mail or password is wrong, or there were too many "
	  "attempts. Try again.</p>{{/failed}}{{#too_many}}<p class=\"error\" role=\"alert\">Too many attempts to sign "
	  "in: wait a few minutes, then try again.</p>{{/too_many}}"
	  "<form method=\"post\" action=\"/login\" class=\"stack\">"
	  "<label for=\"vendor\">Vendor</label><span class=\"hint\" id=\"vendor-hint\">Your company's short name in "
	  "renewd, such as acme: the one your administrator gave you.</span><input id=\"vendor\" name=\"vendor\" "
	  "autocomplete=\"organization\" aria-describedby=\"vendor-hint\" required value=\"{{vendor}}\">"
	  "<label for=\"email\">E-mail</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required>"
	  "<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" "
	  "autocomplete=\"current-password\" required>"
	  "<button type=\"submit\">Sign in</button></form>" },
	{ "page/portal.html", "text/html",
	  "<p>Dear {{customer.name}}, here are your contracts with {{vendor_name}}.</p>"
	  "<h2>Your contracts</h2><div class=\"table-wrap\" role=\"region\" tabindex=\"0\" aria-label=\"Your contracts\">"
	  "<table class=\"contracts\"><thead><tr><th scope=\"col\">Product</th><th scope=\"col\">Seats</th>"
	  "<th scope=\"col\">Ends</th><th scope=\"col\">Status</th><th scope=\"col\">Documents</th></tr></thead><tbody>"
	  "{{#contracts}}<tr class=\"colour-{{colour}}\" data-colour=\"{{colour}}\"><td>{{product}}</td><td>{{quantity}}</td>"
	  "<td>{{end}}</td><td><span class=\"dot dot-{{colour}}\" aria-hidden=\"true\"></span>{{colour_text}}"
	  "{{#warranty_only}} &middot; warranty only{{/warranty_only}}{{#consolidated}} &middot; consolidated{{/consolidated}}"
	  "</td><td><ul class=\"plain\">{{#documents}}<li><a href=\"{{href}}\" download>{{name}}</a> "
	  "({{kind}})</li>{{/documents}}</ul></td></tr>{{/contracts}}</tbody></table></div>"
	  "{{#quote}}<h2>Your renewal quote {{number}}</h2>"
	  "<form method=\"post\" action=\"/portal/accept\" id=\"quote\"><input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">"
	  "<table class=\"lines\"><thead><tr><th scope=\"col\">Item</th><th scope=\"col\">Seats</th><th scope=\"col\">Price</th>"
	  "</tr></thead><tbody>{{#lines}}<tr><td>{{#optional}}<label><input type=\"checkbox\" name=\"add\" value=\"{{sku}}\" "
	  "data-amount=\"{{amount}}\" class=\"optional {{kind}}\"{{#selected}} checked{{/selected}}> {{kind_text}}: {{description}}</label>"
	  "{{/optional}}{{^optional}}{{description}}{{/optional}}</td><td>{{quantity}}</td><td>{{price}}</td></tr>{{/lines}}"
	  "</tbody><tfoot>{{#discount}}<tr><th scope=\"row\" colspan=\"2\">Discount ({{percent}})</th><td><output id=\"discount\">"
	  "{{amount}}</output></td></tr>{{/discount}}<tr><th scope=\"row\" colspan=\"2\">Total</th><td><output id=\"total\" "
	  "data-base=\"{{base_amount}}\" data-discount=\"{{discount.bp}}\" data-currency=\"{{currency}}\" data-exponent=\"{{exponent}}\">{{total}}</output></td>"
	  "</tr></tfoot></table>"
	  "<p>Valid until {{valid_until}}.</p>"
	  "<p><a href=\"/portal/quote.pdf\" class=\"quote-pdf\" type=\"application/pdf\" download>Download quote "
	  "{{number}} (PDF)</a></p>"
	  "{{#ordered}}<p id=\"ordered\">You ordered this renewal: <a href=\"/portal/order\">order {{number}}</a> for "
	  "{{total}}{{^paid}}, awaiting payment{{/paid}}{{#paid}}, paid{{/paid}}.</p>{{/ordered}}"
	  "{{#can_buy}}<p><label><input type=\"checkbox\" name=\"accept\" id=\"accept\" value=\"yes\" required> I accept this quote "
	  "and its terms</label></p><p><button type=\"submit\" id=\"buy\">Buy</button></p>{{/can_buy}}"
	  "{{^can_buy}}{{^ordered}}<p>To renew, contact {{brand.name}}{{#brand.phone}} on {{brand.phone}}{{/brand.phone}}.</p>"
	  "{{/ordered}}{{/can_buy}}"
	  "</form>{{/quote}}"
	  "<h2>Need something else?</h2><form method=\"post\" action=\"/portal/request\" class=\"stack\">"
	  "<input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">"
	  "<fieldset><legend>I would like to</legend>"
	  "<label><input type=\"radio\" name=\"action\" value=\"callback\" checked> be called back</label>"
	  "<label><input type=\"radio\" name=\"action\" value=\"contact_reseller\"> be contacted by {{brand.name}}</label>"
	  "<label><input type=\"radio\" name=\"action\" value=\"reply\"> reply to the sales centre</label></fieldset>"
	  "<label for=\"message\">Message (optional)</label><textarea id=\"message\" name=\"message\" maxlength=\"1999\" data-maxbytes=\"1999\"></textarea>"
	  "<button type=\"submit\">Send</button></form>" },
	{ "page/purchase.html", "text/html",
	  "<h2>Quote {{number}}</h2>"
	  "<table class=\"lines\" id=\"purchase-lines\"><thead><tr><th scope=\"col\">Item</th><th scope=\"col\">Seats</th>"
	  "<th scope=\"col\">Price</th></tr></thead><tbody>{{#lines}}<tr><td>{{#optional}}{{kind_text}}: {{/optional}}"
	  "{{description}}</td><td>{{quantity}}</td><td>{{price}}</td></tr>{{/lines}}</tbody><tfoot>"
	  "{{#discount}}<tr><th scope=\"row\" colspan=\"2\">Subtotal</th><td>{{subtotal}}</td></tr>"
	  "<tr><th scope=\"row\" colspan=\"2\">Discount ({{percent}})</th><td>{{amount}}</td></tr>{{/discount}}"
	  "<tr><th scope=\"row\" colspan=\"2\">Total</th><td><strong id=\"purchase-total\">{{total}}</strong></td></tr>"
	  "</tfoot></table>"
	  "<form method=\"post\" action=\"/portal/order\" class=\"stack\"><input type=\"hidden\" name=\"csrf\" value=\"{{csrf}}\">"
	  "<input type=\"hidden\" name=\"order_key\" value=\"{{order_key}}\">"
	  "<fieldset><legend>Billing details</legend>"
	  "<label for=\"company\">Company</label><input id=\"company\" name=\"company\" value=\"{{customer.name}}\" "
	  "maxlength=\"127\" data-maxbytes=\"127\" "
	  "autocomplete=\"organization\" required>"
	  "<label for=\"address_line1\">Address</label><input id=\"address_line1\" name=\"address_line1\" "
	  "value=\"{{customer.address_line1}}\" maxlength=\"127\" data-maxbytes=\"127\" required>"
	  "<label for=\"address_line2\">Address (line 2)</label><input id=\"address_line2\" name=\"address_line2\" "
	  "value=\"{{customer.address_line2}}\" maxlength=\"127\" data-maxbytes=\"127\">"
	  "<label for=\"city\">City</label><input id=\"city\" name=\"city\" value=\"{{customer.city}}\" maxlength=\"63\" "
	  "data-maxbytes=\"63\" required>"
	  "<label for=\"postcode\">Postcode</label><input id=\"postcode\" name=\"postcode\" value=\"{{customer.postcode}}\" "
	  "maxlength=\"15\" data-maxbytes=\"15\" required>"
	  "<label for=\"country\">Country (two letters)</label><input id=\"country\" name=\"country\" "
	  "value=\"{{customer.country}}\" maxlength=\"2\" data-maxbytes=\"2\" required>"
	  "<label for=\"email\">E-mail for the confirmation, receipt and invoice</label><input id=\"email\" name=\"email\" "
	  "type=\"email\" value=\"{{customer.email}}\" maxlength=\"127\" data-maxbytes=\"127\" required>"
	  "<label><input type=\"checkbox\" name=\"update_customer\" id=\"update_customer\" value=\"yes\"> Also keep "
	  "these details for my future renewals</label>"
	  "</fieldset><fieldset><legend>Pay by</legend>"
	  "{{#options}}<label><input type=\"radio\" name=\"option\" value=\"{{option}}\" required> {{label}}</label>{{/options}}"
	  "{{^options}}<p>No payment option is enabled yet: {{brand.name}} will contact you.</p>{{/options}}</fieldset>"
	  "<label for=\"po_number\">Purchase order number (for purchase orders)</label><input id=\"po_number\" name=\"po_number\" maxlength=\"63\" data-maxbytes=\"63\">"
	  "<p class=\"hint\">Card: you pay on the card payment page of our payment provider, then come back here; "
	  "your card details are never entered on this site.</p>"
	  "<button type=\"submit\">Place order</button></form>" },
	{ "page/order.html", "text/html",
	  "{{#failed}}<p class=\"error\" role=\"alert\">Your order {{number}} could not be placed with {{option_label}}"
	  "{{#message}}: {{message}}{{/message}}. Go back and choose another way to pay, or contact {{brand.name}}.</p>{{/failed}}"
	  "{{^failed}}<p>Thank you. Your order number is <strong id=\"order-number\">{{number}}</strong> for "
	  "<strong>{{total}}</strong>.</p>"
	  "{{#has_lines}}<table class=\"order-lines\"><thead><tr><th scope=\"col\">Ordered</th><th scope=\"col\">Seats</th>"
	  "<th scope=\"col\">Amount</th></tr></thead><tbody>{{#lines}}<tr><td>{{description}}</td><td>{{quantity}}</td>"
	  "<td>{{amount}}</td></tr>{{/lines}}</tbody></table>{{/has_lines}}"
	  "{{#pending}}<p>We are confirming your payment option: refresh this page in a moment.</p>{{/pending}}"
	  "{{#purchase_order}}<p>We will invoice purchase order {{po_number}} on its terms; your renewal starts when the "
	  "invoice is paid.</p>{{/purchase_order}}"
	  "{{#bill_me_later}}<p>Bill Me Later: the invoice is due by <strong id=\"due-date\">{{due_date}}</strong>; your "
	  "renewal starts when it is paid.</p>{{/bill_me_later}}"
	  "{{#checkout_url}}<p>To pay by card, continue to the card payment page; you come back here when it is done.</p>"
	  "<p><a id=\"pay-by-card\" class=\"button\" href=\"{{checkout_url}}\" rel=\"noreferrer\">Continue to the card "
	  "payment page</a></p>{{/checkout_url}}"
	  "{{#done}}<p>Your payment is received and your renewal is in place.</p>{{/done}}"
	  "{{#billing_email}}<p>We send the confirmation{{#done}}, the receipt{{/done}} and the invoice to "
	  "<strong id=\"billing-email\">{{billing_email}}</strong>.</p>{{/billing_email}}"
	  "{{#invoice}}<p><a id=\"invoice\" href=\"/portal/invoices/{{order_id}}\" download>Download invoice {{number}} "
	  "(PDF)</a></p>{{/invoice}}{{/failed}}" },
	{ "page/partner.html", "text/html",
	  CONSOLE_NAV "<p>Signed in as {{user}} for {{partner_name}}.</p>"
	  "<h2>Awaiting your decision</h2>{{^pending}}<p>Nothing awaits a decision.</p>{{/pending}}"
	  "<ul class=\"cards\">{{#pending}}<li><h3><a href=\"/partner/opportunities/{{id}}\">{{number}}</a>: {{customer}}</h3><p>{{product}}, {{quantity}} seats, ends {{end}}. "
	  "List {{list}}. Decide by {{decide_by}}.</p><p>You sell: you keep {{partner_margin}}. {{vendor_name}} sells: you earn "
	  "{{vendor_margin}}.</p>"
	  "<form method=\"post\" action=\"/partner/opportunities/{{id}}/decision\"><input type=\"hidden\" name=\"csrf\" "
	  "value=\"{{csrf}}\"><button type=\"submit\" name=\"publish\" value=\"partner\">We sell it</button> "
	  "<button type=\"submit\" name=\"publish\" value=\"vendor\">{{vendor_name}} sells it</button></form></li>{{/pending}}</ul>"
	  "<h2>Quotes</h2><table><thead><tr><th scope=\"col\">Quote</th><th scope=\"col\">Customer</th><th scope=\"col\">Ends</th>"
	  "<th scope=\"col\">State</th></tr></thead><tbody>{{#quotes}}<tr><td><a href=\"/sales/opportunities/{{id}}\">{{number}}</a></td><td>{{customer}}</td><td>{{end}}</td>"
	  "<td>{{state}}</td></tr>{{/quotes}}</tbody></table>"
	  "<h2>Tasks</h2>{{^tasks}}<p>No open tasks.</p>{{/tasks}}<ul>{{#tasks}}<li>{{kind}}: {{message}}</li>{{/tasks}}</ul>" },
	{ "page/partner_opportunity.html", "text/html",
	  CONSOLE_NAV "<p>{{customer}}: {{product}}, {{quantity}} seats, ends {{end}}. Reseller {{reseller}}.</p>"
	  "<p>State: <strong id=\"state\">{{state}}</strong>. List {{list}}.</p>"
	  "{{#pending}}<h2>Who sells</h2><p>Decide by {{decide_by}}. You sell: you keep {{partner_margin}}. {{vendor_name}} "
	  "sells: you earn {{vendor_margin}}.</p>{{#may_decide}}<form method=\"post\" action=\"/partner/opportunities/{{id}}"
	  "/decision\">" CSRF "<button type=\"submit\" name=\"publish\" value=\"partner\">We sell it</button> "
	  "<button type=\"submit\" name=\"publish\" value=\"vendor\">{{vendor_name}} sells it</button></form>{{/may_decide}}"
	  "{{/pending}}<h2>The quote</h2>" TABLE("Quote lines") "<thead><tr><th scope=\"col\">Line</th><th scope=\"col\">"
	  "Seats</th><th scope=\"col\">Price</th></tr></thead><tbody>{{#lines}}<tr><th scope=\"row\">{{description}}"
	  "{{#optional}} ({{kind_text}}, optional){{/optional}}</th><td>{{quantity}}</td><td>{{price}}</td></tr>{{/lines}}"
	  "</tbody>" TABLE_END "{{#total}}<p>Total <strong id=\"total\">{{total}}</strong></p>{{/total}}"
	  "<p><a href=\"/sales/opportunities/{{id}}\">Open the sales view</a> &middot; <a href=\"/partner\">All your "
	  "opportunities</a></p><h2>Tasks</h2>{{^tasks}}<p>No tasks.</p>{{/tasks}}<ul>{{#tasks}}<li>{{kind}}: {{message}}"
	  "{{#done}} (done){{/done}}</li>{{/tasks}}</ul>" },
	{ "page/partner_tasks.html", "text/html", CONSOLE_NAV TASKS_BODY },
	{ "page/partner_leads.html", "text/html", CONSOLE_NAV LEADS_BODY },
	{ "page/vendor_leads.html", "text/html", CONSOLE_NAV LEADS_BODY },
	{ "page/vendor_tasks.html", "text/html", CONSOLE_NAV TASKS_BODY },
	{ "page/partner_deals.html", "text/html", CONSOLE_NAV PARTNER_DEALS_BODY },
	{ "page/vendor_deals.html", "text/html", CONSOLE_NAV VENDOR_DEALS_BODY },
#include "console_work_pages.h"
	/* ---- reports (core/web/reports.c): charts are SVG the server drew and escaped ---- */
	{ "page/reports.html", "text/html",
	  CONSOLE_NAV "{{#has_crumbs}}<nav aria-label=\"Drill-down\" class=\"crumbs\"><ol>{{#crumbs}}<li>{{#href}}<a href=\"{{href}}\">"
	  "{{label}}</a>{{/href}}{{^href}}<span aria-current=\"page\">{{label}}</span>{{/href}}</li>{{/crumbs}}</ol></nav>{{/has_crumbs}}"
	  "<p class=\"report-period\">Contracts ending from <strong>{{from}}</strong> to <strong>{{to}}</strong>; due windows "
	  "count from {{today}}. {{#counted}}<strong id=\"report-contracts\">{{contracts}}</strong> contract(s) in your view. "
	  "{{/counted}}Money is "
	  "shown per currency and never added across currencies.</p>"
	  "{{#has_links}}<ul class=\"report-links\">{{#links}}<li><a href=\"{{href}}\">{{label}}</a></li>{{/links}}</ul>{{/has_links}}"
	  "{{#charts}}<figure class=\"chart\">{{{svg}}}</figure>{{/charts}}"
	  "{{#tables}}<section class=\"report-table\" id=\"table-{{name}}\"><h2>{{title}}</h2><p><a class=\"csv\" href=\"{{csv}}\" "
	  "download>Export {{title}} as CSV</a></p>{{#has_rows}}<div class=\"table-wrap\" role=\"region\" tabindex=\"0\" "
	  "aria-label=\"{{title}}\"><table><thead><tr>{{#head}}<th scope=\"col\">{{label}}</th>{{/head}}</tr></thead><tbody>"
	  "{{#rows}}<tr>{{#cells}}<td{{#num}} class=\"num\"{{/num}}>{{#href}}<a href=\"{{href}}\">{{text}}</a>{{/href}}"
	  "{{^href}}{{text}}{{/href}}</td>{{/cells}}</tr>{{/rows}}</tbody></table></div>{{/has_rows}}{{^has_rows}}<p>No figures "
	  "yet.</p>{{/has_rows}}</section>{{/tables}}" },
	/* ---- the vendor console (core/web/console.c) ---- */
	{ "page/vendor.html", "text/html",
	  CONSOLE_NAV "<p>Signed in as {{role}}.</p>"
	  "{{#start}}<section id=\"getting-started\" aria-labelledby=\"getting-started-title\"><h2 id=\"getting-started-"
	  "title\">Getting started</h2><p>No contracts yet. renewd renews your contracts through your channel: it needs "
	  "your partners, products and contracts.</p><ol>{{#steps}}<li>{{#done}}<a href=\"{{list}}\">{{todo}}</a>: "
	  "done.{{/done}}{{^done}}{{#may}}<a href=\"{{href}}\">{{todo}}</a>{{/may}}{{^may}}{{todo}} (your role may not: "
	  "ask a vendor admin){{/may}}: {{why}}.{{/done}}</li>{{/steps}}</ol>{{#may_import}}<p>Many at once? Import them "
	  "from CSV or JSON Lines files on the <a href=\"/vendor/imports\">Imports</a> page.</p>{{/may_import}}"
	  "{{#may_users}}<p>Your team and your partners' people sign in as <a href=\"/vendor/users\">users</a>.</p>"
	  "{{/may_users}}</section>{{/start}}"
	  "{{#contracts}}<h2>Contracts</h2><ul class=\"counts\">{{#colours}}<li><a href=\"/vendor/contracts?colour={{colour}}\">"
	  "<span class=\"dot dot-{{colour}}\" aria-hidden=\"true\"></span><strong>{{count}}</strong> {{text}}</a></li>{{/colours}}"
	  "</ul>{{/contracts}}"
	  "{{#opportunities}}<h2>Renewal quotes</h2><ul class=\"counts\"><li><a href=\"/vendor/opportunities?state=pending_decision\">"
	  "<strong id=\"pending-count\">{{pending}}</strong> awaiting the partner's decision</a></li><li><strong id=\"attention-count\">"
	  "{{attention}}</strong> need attention</li></ul>{{#has_attention_list}}<h3>Quotes needing attention</h3>"
	  "<ul>{{#attention_list}}<li><a href=\"/sales/opportunities/{{id}}\">{{number}}</a> {{customer}}: {{reason}}</li>"
	  "{{/attention_list}}</ul>{{/has_attention_list}}{{/opportunities}}"
	  "{{#outbox}}<h2>Outbox</h2><ul class=\"counts\"><li><a href=\"/vendor/outbox?state=queued\"><strong id=\"queued-count\">"
	  "{{queued}}</strong> queued</a></li><li><a href=\"/vendor/outbox?state=dead\"><strong id=\"dead-count\">{{dead}}</strong> "
	  "undeliverable</a></li><li><a href=\"/vendor/outbox?state=sent\"><strong>{{sent}}</strong> sent</a></li></ul>{{/outbox}}"
	  "{{#sweep}}<h2>Renewal sweep</h2><p><strong id=\"sweep-failing\">{{failing}}</strong> failed action(s) waiting "
	  "for a retry.</p>{{#has_failures}}<table id=\"sweep-failures\"><thead><tr><th scope=\"col\">Day</th>"
	  "<th scope=\"col\">Action</th><th scope=\"col\">Error</th><th scope=\"col\">Attempts</th>"
	  "<th scope=\"col\">Last tried</th></tr></thead><tbody>{{#failures}}<tr><td>{{day}}</td><td>{{key}}</td>"
	  "<td>{{error}}</td><td>{{attempts}}</td><td>{{last_at}}</td></tr>{{/failures}}</tbody></table>{{/has_failures}}"
	  "{{/sweep}}" },
	{ "page/vendor_partners.html", "text/html",
	  CONSOLE_NAV NEW_LINK "{{#has_rows}}" TABLE("Partners") "<thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Name</th><th scope=\"col\">Kind</th>"
	  "<th scope=\"col\">Tier</th><th scope=\"col\">Distributor</th><th scope=\"col\">E-mail</th><th scope=\"col\">Phone</th>"
	  "{{#may_edit}}<th scope=\"col\">Change</th>{{/may_edit}}"
	  "</tr></thead><tbody>{{#rows}}<tr><td>{{external_id}}</td><th scope=\"row\">{{name}}</th><td>{{kind}}</td><td>{{tier}}</td>"
	  "<td>{{parent}}</td><td>{{email}}</td><td>{{phone}}</td>{{#may_edit}}<td><a href=\"/vendor/partners/{{id}}/edit\" "
	  "aria-label=\"Change {{name}}\">Change</a></td>{{/may_edit}}</tr>{{/rows}}</tbody>" TABLE_END "{{/has_rows}}"
	  "{{^rows}}<p>No partners yet: the resellers and distributors who sell your renewals. {{#new}}Add each with "
	  "\"{{label}}\" above, or {{/new}}{{^new}}A vendor admin or channel manager adds them, or {{/new}}import them "
	  "from a file on the <a href=\"/vendor/imports\">Imports</a> page.</p>{{/rows}}" NEXT_PAGE },
	{ "page/vendor_products.html", "text/html",
	  CONSOLE_NAV NEW_LINK "{{#has_rows}}" TABLE("Products") "<thead><tr><th scope=\"col\">SKU</th><th scope=\"col\">Name</th><th scope=\"col\">Line</th>"
	  "<th scope=\"col\">List prices</th><th scope=\"col\">Up-sell and cross-sell</th>{{#may_edit}}<th scope=\"col\">"
	  "Change</th>{{/may_edit}}</tr></thead><tbody>{{#rows}}<tr>"
	  "<td>{{sku}}</td><th scope=\"row\">{{name}}</th><td>{{line}}</td><td><ul class=\"plain\">{{#prices}}<li>{{.}}</li>"
	  "{{/prices}}</ul></td><td><ul class=\"plain\">{{#related}}<li>{{kind}}: {{sku}}</li>{{/related}}</ul></td>"
	  "{{#may_edit}}<td><a href=\"/vendor/products/{{id}}/edit\" aria-label=\"Change {{name}}\">Change</a></td>"
	  "{{/may_edit}}</tr>{{/rows}}</tbody>" TABLE_END "{{/has_rows}}"
	  "{{^rows}}<p>No products yet: what your contracts are for, with their list prices. {{#new}}Add each with "
	  "\"{{label}}\" above, or {{/new}}{{^new}}A vendor admin adds them, or {{/new}}import them from a file on the "
	  "<a href=\"/vendor/imports\">Imports</a> page.</p>{{/rows}}" NEXT_PAGE },
	{ "page/vendor_contracts.html", "text/html",
	  CONSOLE_NAV NEW_LINK FILTER("/vendor/contracts", "colour", "Colour")
	  CONTRACT_TABLE },
	{ "page/partner_contracts.html", "text/html",
	  CONSOLE_NAV FILTER("/partner/contracts", "colour", "Colour")
	  CONTRACT_TABLE },
	{ "page/partner_statements.html", "text/html",
	  CONSOLE_NAV TABLE("Commission statements") "<thead><tr><th scope=\"col\">Statement</th><th scope=\"col\">Month"
	  "</th><th scope=\"col\">Lines</th><th scope=\"col\">Total</th><th scope=\"col\">Issued</th><th scope=\"col\">"
	  "Download</th></tr></thead><tbody>{{#rows}}<tr><th scope=\"row\">{{number}}</th><td>{{month}}</td><td>{{lines}}"
	  "</td><td>{{#totals}}<span class=\"total\">{{amount}}</span> {{/totals}}</td><td>{{issued_on}}</td><td><a href=\""
	  "{{pdf}}\" download>PDF</a> <a href=\"{{csv}}\" download>CSV</a></td></tr>{{/rows}}</tbody>" TABLE_END
	  "{{^rows}}<p>No statements yet: each month's is issued in the following month.</p>{{/rows}}" NEXT_PAGE },
	{ "page/vendor_customers.html", "text/html",
	  CONSOLE_NAV NEW_LINK "{{#has_rows}}" TABLE("Customers") "<thead><tr><th scope=\"col\">Customer</th><th scope=\"col\">"
	  "Name</th><th scope=\"col\">Segment</th><th scope=\"col\">City</th><th scope=\"col\">Country</th><th scope=\"col\">"
	  "E-mail</th><th scope=\"col\">Phone</th></tr></thead><tbody>{{#rows}}<tr><td>{{external_id}}</td><th scope=\"row\">"
	  "<a href=\"{{href}}/{{id}}\">{{name}}</a></th><td>{{segment}}</td><td>{{city}}</td><td>{{country}}</td><td>{{email}}"
	  "</td><td>{{phone}}</td></tr>{{/rows}}</tbody>" TABLE_END "{{/has_rows}}"
	  "{{^rows}}<p>No customers yet: who your contracts are with. {{#new}}Add each with \"{{label}}\" above, or "
	  "{{/new}}import them from a file on the <a href=\"/vendor/imports\">Imports</a> page.</p>{{/rows}}" NEXT_PAGE },
	{ "page/partner_customers.html", "text/html",
	  CONSOLE_NAV TABLE("Customers") "<thead><tr><th scope=\"col\">Customer</th><th scope=\"col\">Name</th>"
	  "<th scope=\"col\">Segment</th><th scope=\"col\">City</th><th scope=\"col\">Country</th><th scope=\"col\">E-mail</th>"
	  "<th scope=\"col\">Phone</th></tr></thead><tbody>{{#rows}}<tr><td>{{external_id}}</td><th scope=\"row\"><a href=\""
	  "{{href}}/{{id}}\">{{name}}</a></th>"
	  "<td>{{segment}}</td><td>{{city}}</td><td>{{country}}</td><td>{{email}}</td><td>{{phone}}</td></tr>{{/rows}}</tbody>"
	  TABLE_END "{{^rows}}<p>No customers yet.</p>{{/rows}}" NEXT_PAGE },
	{ "page/vendor_opportunities.html", "text/html",
	  CONSOLE_NAV FILTER("/vendor/opportunities", "state", "State")
	  TABLE("Renewal quotes") "<thead><tr><th scope=\"col\">Quote</th><th scope=\"col\">Customer</th><th scope=\"col\">Product</th>"
	  "<th scope=\"col\">Reseller</th><th scope=\"col\">State</th><th scope=\"col\">List</th><th scope=\"col\">Discount</th>"
	  "<th scope=\"col\">Contract ends</th></tr></thead><tbody>{{#rows}}<tr><th scope=\"row\"><a href=\"/sales/opportunities/{{id}}\">"
	  "{{number}}</a></th><td><a href=\"/vendor/customers/{{customer_id}}\">{{customer}}</a></td><td><a href=\""
	  "/vendor/contracts/{{contract_id}}\">{{product}}</a></td><td>{{reseller}}</td><td>{{state}}{{#may_decide}}"
	  "<form method=\"post\" action=\"/vendor/opportunities/{{id}}/decision\" class=\"decide\">" CSRF
	  "<span>Decide for the partner:</span> <button type=\"submit\" name=\"publish\" value=\"partner\">The partner "
	  "sells</button> <button type=\"submit\" name=\"publish\" value=\"vendor\">The vendor sells</button></form>"
	  "{{/may_decide}}{{#attention}}"
	  "<br><span class=\"error\">needs attention: {{attention_reason}}</span>{{/attention}}</td><td>{{list}}</td><td>{{discount}}</td>"
	  "<td>{{end}}</td></tr>{{/rows}}</tbody>" TABLE_END "{{^rows}}<p>No quotes match.</p>{{/rows}}" PAGE_TOTALS NEXT_PAGE },
	{ "page/vendor_outbox.html", "text/html",
	  CONSOLE_NAV FILTER("/vendor/outbox", "state", "State")
	  TABLE("Outbox") "<thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Kind</th><th scope=\"col\">To</th>"
	  "<th scope=\"col\">Subject</th><th scope=\"col\">State</th><th scope=\"col\">Attempts</th><th scope=\"col\">Queued</th>"
	  "<th scope=\"col\">Sent</th><th scope=\"col\">Last error</th></tr></thead><tbody>{{#rows}}<tr class=\"msg-{{state}}\">"
	  "<td><a href=\"/vendor/outbox/{{id}}\">{{id}}</a></td><td>{{kind}}</td><td>{{to}}</td><th scope=\"row\"><a href=\""
	  "/vendor/outbox/{{id}}\">{{subject}}</a></th><td>{{state}}</td><td>{{attempts}}</td>"
	  "<td>{{created}}</td><td>{{sent}}</td><td>{{last_error}}</td></tr>{{/rows}}</tbody>" TABLE_END
	  "{{^rows}}<p>No messages match.</p>{{/rows}}" NEXT_PAGE },
	{ "page/vendor_imports.html", "text/html",
	  CONSOLE_NAV "{{#can_import}}<h2>New import</h2>{{#form}}<form method=\"post\" action=\"/vendor/imports\" class=\"stack wide\">"
	  CSRF "<label for=\"kind\">Records</label><select id=\"kind\" name=\"kind\">{{#kinds}}<option value=\"{{value}}\""
	  "{{#selected}} selected{{/selected}}>{{value}}</option>{{/kinds}}</select>"
	  "<label for=\"format\">Format</label><select id=\"format\" name=\"format\"><option value=\"csv\">CSV (a header row names "
	  "the columns)</option><option value=\"jsonl\"{{#jsonl}} selected{{/jsonl}}>JSON Lines (one object per line)</option></select>"
	  "<label><input type=\"checkbox\" name=\"dry_run\" value=\"1\"{{#dry_run}} checked{{/dry_run}}> Dry run: check every row, "
	  "write nothing</label><label><input type=\"checkbox\" name=\"atomic\" value=\"1\"{{#atomic}} checked{{/atomic}}> All or "
	  "nothing: any bad row means nothing is applied</label>"
	  "<label for=\"import-file\">Choose a file (its text fills the box below)</label><input type=\"file\" id=\"import-file\" "
	  "accept=\".csv,.jsonl,.json,.txt,text/csv\">"
	  "<label for=\"data\">File contents</label><textarea id=\"data\" name=\"data\" rows=\"10\" spellcheck=\"false\" required>"
	  "{{data}}</textarea><button type=\"submit\">Import</button></form>{{/form}}{{/can_import}}"
	  "<h2>Imports</h2>" TABLE("Imports") "<thead><tr><th scope=\"col\">Import</th><th scope=\"col\">Started</th>"
	  "<th scope=\"col\">Records</th><th scope=\"col\">Status</th><th scope=\"col\">Rows</th><th scope=\"col\">Valid</th>"
	  "<th scope=\"col\">With errors</th><th scope=\"col\">New</th><th scope=\"col\">Updated</th><th scope=\"col\">Result</th>"
	  "</tr></thead><tbody>{{#rows}}<tr class=\"import-{{status}}\"><th scope=\"row\"><a href=\"/vendor/imports/{{id}}\">{{id}}</a>"
	  "</th><td>{{started}}</td><td>{{kind}} ({{format}}){{#dry_run}}, dry run{{/dry_run}}</td><td>{{status}}{{#running}} "
	  "({{percent}} %){{/running}}</td><td>{{rows}}</td><td>{{rows_ok}}</td><td>{{rows_failed}}</td><td>{{created}}</td>"
	  "<td>{{updated}}</td><td>{{message}}</td></tr>{{/rows}}</tbody>" TABLE_END "{{^rows}}<p>No imports yet.</p>{{/rows}}" },
	{ "page/partner_feeds.html", "text/html",
	  CONSOLE_NAV "{{#can_send}}<h2>Send a feed</h2><p>Your contracts as CSV or JSON Lines, in your own columns (the vendor "
	  "keeps your column mapping). Nothing is applied when any row has an error.</p>{{#error}}<p class=\"error\" role=\"alert\">"
	  "{{error}}</p>{{/error}}<form method=\"post\" action=\"/partner/feeds\" class=\"stack wide\">" CSRF
	  "<label for=\"format\">Format</label><select id=\"format\" name=\"format\"><option value=\"csv\">CSV (a header row "
	  "names the columns)</option><option value=\"jsonl\"{{#jsonl}} selected{{/jsonl}}>JSON Lines (one object per line)</option>"
	  "</select><label for=\"data\">Feed</label><textarea id=\"data\" name=\"data\" rows=\"10\">{{data}}</textarea>"
	  "<button type=\"submit\">Send the feed</button></form>{{/can_send}}"
	  "<h2>Your feeds</h2>" TABLE("Feeds") "<thead><tr><th scope=\"col\">Feed</th><th scope=\"col\">Received</th>"
	  "<th scope=\"col\">Status</th><th scope=\"col\">Valid</th><th scope=\"col\">With errors</th><th scope=\"col\">New</th>"
	  "<th scope=\"col\">Updated</th><th scope=\"col\">Unchanged</th><th scope=\"col\">Held for review</th>"
	  "<th scope=\"col\">Result</th></tr></thead><tbody>{{#feeds}}<tr class=\"feed-{{status}}\"><th scope=\"row\">"
	  "<a href=\"/partner/feeds/{{id}}\">{{id}}</a></th><td>{{started}}</td><td>{{status}}</td><td>{{rows_ok}}</td>"
	  "<td>{{rows_failed}}</td><td>{{created}}</td><td>{{updated}}</td><td>{{unchanged}}</td><td>{{queued}}</td>"
	  "<td>{{message}}</td></tr>{{/feeds}}</tbody>" TABLE_END "{{^feeds}}<p>No feeds yet.</p>{{/feeds}}" },
	{ "page/partner_feed.html", "text/html",
	  CONSOLE_NAV "{{#feed}}<dl class=\"facts\"><dt>Status</dt><dd id=\"feed-status\">{{status}}</dd><dt>Received</dt>"
	  "<dd>{{started}}</dd><dt>Rows</dt><dd>{{rows_ok}} valid, {{rows_failed}} with errors</dd><dt>Contracts</dt>"
	  "<dd>{{created}} new, {{updated}} updated, {{unchanged}} unchanged, {{queued}} values held for the vendor's review</dd>"
	  "</dl>{{#running}}<p>The feed is being checked: reload this page.</p>{{/running}}<p id=\"feed-message\">{{message}}</p>"
	  "{{/feed}}<h2>Row errors</h2>{{^has_errors}}<p>None.</p>{{/has_errors}}{{#has_errors}}" TABLE("Row errors")
	  "<thead><tr><th scope=\"col\">Row</th><th scope=\"col\">Column</th><th scope=\"col\">Problem</th></tr></thead><tbody>"
	  "{{#errors}}<tr><th scope=\"row\">{{row}}</th><td>{{column}}</td><td>{{message}}</td></tr>{{/errors}}</tbody>" TABLE_END
	  "{{/has_errors}}<p><a href=\"/partner/feeds\">All your feeds</a></p>" },
	{ "page/vendor_feeds.html", "text/html",
	  CONSOLE_NAV "<h2>Review queue</h2><p>A feed's value for a field another source owns waits here instead of "
	  "overwriting: take the feed's value or keep the stored one.</p>{{#reviews}}{{#open}}<section class=\"review\" "
	  "id=\"review-{{id}}\"><h3>Contract {{contract_id}}: {{field}}</h3><dl class=\"facts\"><dt>Stored ({{owner}} owns it)</dt>"
	  "<dd class=\"current\">{{current}}</dd><dt>From the {{source}}'s feed</dt><dd class=\"proposed\">{{proposed}}</dd></dl>"
	  "{{#can_decide}}<form method=\"post\" action=\"/vendor/feed-reviews/{{id}}\" class=\"inline\">" CSRF
	  "<input type=\"hidden\" name=\"value\" value=\"proposed\"><button type=\"submit\">Take {{proposed}}</button></form> "
	  "<form method=\"post\" action=\"/vendor/feed-reviews/{{id}}\" class=\"inline\">" CSRF
	  "<input type=\"hidden\" name=\"value\" value=\"current\"><button type=\"submit\">Keep {{current}}</button></form>"
	  "{{/can_decide}}</section>{{/open}}{{/reviews}}"
	  TABLE("Decided and open reviews") "<thead><tr><th scope=\"col\">Review</th><th scope=\"col\">Contract</th>"
	  "<th scope=\"col\">Field</th><th scope=\"col\">Stored</th><th scope=\"col\">Proposed</th><th scope=\"col\">Owner</th>"
	  "<th scope=\"col\">From</th><th scope=\"col\">State</th></tr></thead><tbody>{{#reviews}}<tr class=\"review-{{state}}\">"
	  "<th scope=\"row\">{{id}}</th><td>{{contract_id}}</td><td>{{field}}</td><td>{{current}}</td><td>{{proposed}}</td>"
	  "<td>{{owner}}</td><td>{{source}}</td><td>{{state}}</td></tr>{{/reviews}}</tbody>" TABLE_END
	  "{{^reviews}}<p>No reviews.</p>{{/reviews}}"
	  "<h2>Feeds</h2>" TABLE("Feeds") "<thead><tr><th scope=\"col\">Feed</th><th scope=\"col\">Received</th>"
	  "<th scope=\"col\">Source</th><th scope=\"col\">Partner</th><th scope=\"col\">Status</th><th scope=\"col\">Valid</th>"
	  "<th scope=\"col\">With errors</th><th scope=\"col\">New</th><th scope=\"col\">Updated</th><th scope=\"col\">Unchanged</th>"
	  "<th scope=\"col\">Queued</th><th scope=\"col\">Result</th></tr></thead><tbody>{{#feeds}}<tr class=\"feed-{{status}}\">"
	  "<th scope=\"row\"><a href=\"/vendor/imports/{{id}}\">{{id}}</a></th><td>{{started}}</td><td>{{source}}</td>"
	  "<td>{{partner_id}}</td><td>{{status}}</td><td>{{rows_ok}}</td><td>{{rows_failed}}</td><td>{{created}}</td>"
	  "<td>{{updated}}</td><td>{{unchanged}}</td><td>{{queued}}</td><td>{{message}}</td></tr>{{/feeds}}</tbody>" TABLE_END
	  "{{^feeds}}<p>No feeds yet.</p>{{/feeds}}" },
	{ "page/vendor_webhooks.html", "text/html",
	  CONSOLE_NAV "<p><a href=\"/vendor/webhooks/deliveries\">Delivery log</a> · <a href=\"/vendor/webhooks/inbox\">Inbound "
	  "inbox</a></p>{{#secret}}<section class=\"secret\" role=\"status\"><h2>The secret of subscription {{secret_for}}</h2>"
	  "<p>Shown once: copy it now into the receiver (it verifies each delivery, and signs the partner's inbound batches).</p>"
	  "<p><code id=\"new-secret\">{{secret}}</code></p></section>{{/secret}}"
	  "<h2>Subscriptions</h2>" TABLE("Subscriptions") "<thead><tr><th scope=\"col\">Subscription</th><th scope=\"col\">URL</th>"
	  "<th scope=\"col\">Events</th><th scope=\"col\">Inbound for</th><th scope=\"col\">State</th><th scope=\"col\">Previous "
	  "secret signs until</th><th scope=\"col\">Actions</th></tr></thead><tbody>{{#subs}}<tr id=\"sub-{{id}}\"><th scope=\"row\">"
	  "{{id}}{{#description}}: {{description}}{{/description}}</th><td>{{url}}</td><td>{{events_text}}</td><td>{{#inbound}}"
	  "{{partner_name}} (partner {{partner_id}}){{/inbound}}</td><td>{{state}}</td><td>{{previous_secret_until}}</td><td>"
	  "<a href=\"/vendor/webhooks/deliveries?subscription_id={{id}}\">Deliveries</a>{{#can_manage}} <form method=\"post\" "
	  "action=\"/vendor/webhooks/{{id}}/rotate\" class=\"inline\">" CSRF "<button type=\"submit\">Rotate the secret</button>"
	  "</form>{{/can_manage}}</td></tr>{{/subs}}</tbody>" TABLE_END "{{^subs}}<p>No subscriptions yet.</p>{{/subs}}"
	  "{{#can_manage}}<h2>New subscription</h2><form method=\"post\" action=\"/vendor/webhooks\" class=\"stack wide\">" CSRF
	  "<label for=\"url\">URL (renewd POSTs each event there)</label><input id=\"url\" name=\"url\" maxlength=\"511\" data-maxbytes=\"511\" type=\"url\" value=\"{{url}}\" "
	  "required><fieldset><legend>Events</legend>{{#types}}<label><input type=\"checkbox\" name=\"{{name}}\" value=\"1\""
	  "{{#checked}} checked{{/checked}}> {{type}}</label>{{/types}}</fieldset><label for=\"description\">Description</label>"
	  "<input id=\"description\" name=\"description\" maxlength=\"255\" data-maxbytes=\"255\" value=\"{{description}}\"><label for=\"partner_id\">Inbound endpoint for "
	  "a partner (its signed batches are imported as its feeds)</label><select id=\"partner_id\" name=\"partner_id\"><option "
	  "value=\"\">None: outbound only</option>{{#partners}}<option value=\"{{id}}\"{{#selected}} selected{{/selected}}>{{name}}"
	  "</option>{{/partners}}</select><button type=\"submit\">Create the subscription</button></form>{{/can_manage}}" },
	{ "page/vendor_webhook_deliveries.html", "text/html",
	  CONSOLE_NAV "<p><a href=\"/vendor/webhooks\">Subscriptions</a> · <a href=\"/vendor/webhooks/inbox\">Inbound inbox</a></p>"
	  "{{#subscription_id}}<p>The deliveries of subscription {{subscription_id}} (<a href=\"/vendor/webhooks/deliveries\">all"
	  "</a>).</p>{{/subscription_id}}" TABLE("Deliveries") "<thead><tr><th scope=\"col\">Delivery</th><th scope=\"col\">"
	  "Subscription</th><th scope=\"col\">Event</th><th scope=\"col\">Subject</th><th scope=\"col\">State</th><th scope=\"col\">"
	  "Attempts</th><th scope=\"col\">Last status</th><th scope=\"col\">Last error</th><th scope=\"col\">Created</th>"
	  "<th scope=\"col\">Action</th></tr></thead><tbody>{{#deliveries}}<tr id=\"delivery-{{id}}\" class=\"delivery-{{state}}\">"
	  "<th scope=\"row\">{{id}}</th><td>{{subscription_id}}</td><td>{{type}}</td><td>{{subject}}</td><td class=\"state\">"
	  "{{state}}</td><td>{{attempts}}</td><td>{{last_status}}</td><td>{{last_error}}</td><td>{{created_at}}</td><td>"
	  "{{#can_redeliver}}<form method=\"post\" action=\"/vendor/webhooks/deliveries/{{id}}/redeliver\" class=\"inline\">" CSRF
	  "<button type=\"submit\">Redeliver</button></form>{{/can_redeliver}}</td></tr>{{/deliveries}}</tbody>" TABLE_END
	  "{{^deliveries}}<p>No deliveries.</p>{{/deliveries}}" NEXT_PAGE },
	{ "page/vendor_webhook_inbox.html", "text/html",
	  CONSOLE_NAV "<p><a href=\"/vendor/webhooks\">Subscriptions</a> · <a href=\"/vendor/webhooks/deliveries\">Delivery log</a>"
	  "</p><p>Partners' signed batches, each imported as the partner's feed: all its rows or none.</p>"
	  "{{#batches}}<section class=\"batch batch-{{status}}\" id=\"batch-{{id}}\"><h2>Batch {{id}} from {{partner_name}}</h2>"
	  "<dl class=\"facts\"><dt>webhook-id</dt><dd>{{webhook_id}}</dd><dt>Received</dt><dd>{{received_at}}</dd><dt>Status</dt>"
	  "<dd class=\"status\">{{status}}</dd>{{#feed_id}}<dt>Feed</dt><dd><a href=\"/vendor/imports/{{feed_id}}\">{{feed_id}}</a>"
	  "</dd>{{/feed_id}}{{#outcome}}<dt>Rows</dt><dd class=\"outcome\">{{accepted}} accepted, {{created}} new, {{merged}} "
	  "merged, {{unchanged}} unchanged, {{queued}} queued for review, {{rejected}} rejected</dd><dt>Result</dt><dd>{{message}}"
	  "</dd>{{/outcome}}<dt>Body</dt><dd><code>{{body_text}}</code></dd></dl>{{#outcome}}{{#has_errors}}" TABLE("Row errors")
	  "<thead><tr><th scope=\"col\">Row</th><th scope=\"col\">Column</th><th scope=\"col\">Problem</th></tr></thead><tbody>"
	  "{{#errors}}<tr><th scope=\"row\">{{row}}</th><td>{{column}}</td><td>{{message}}</td></tr>{{/errors}}</tbody>" TABLE_END
	  "{{/has_errors}}{{/outcome}}</section>{{/batches}}{{^batches}}<p>No inbound batches.</p>{{/batches}}" NEXT_PAGE },
	{ "page/vendor_import.html", "text/html",
	  CONSOLE_NAV "{{#import}}<dl class=\"facts\"><dt>Import of</dt><dd>{{kind}} ({{format}}){{#dry_run}}, dry run{{/dry_run}}"
	  "{{#atomic}}, all or nothing{{/atomic}}</dd><dt>Status</dt><dd id=\"import-status\">{{status}}</dd><dt>Started</dt>"
	  "<dd>{{started}}</dd><dt>Finished</dt><dd>{{finished}}</dd><dt>Rows</dt><dd><span id=\"import-rows\">{{rows}}</span> read, "
	  "{{rows_ok}} valid, {{rows_failed}} with errors</dd><dt>Records</dt><dd>{{created}} new, {{updated}} updated</dd></dl>"
	  "{{#running}}<p><label for=\"import-progress\">Progress</label> <progress id=\"import-progress\" max=\"100\" "
	  "value=\"{{percent}}\" data-import=\"{{id}}\">{{percent}} %</progress></p><p>The import is running: this page follows it "
	  "(or reload it).</p>{{/running}}<p id=\"import-message\">{{message}}</p>{{/import}}"
	  "<h2>Row errors</h2>{{^errors}}<p>None.</p>{{/errors}}{{#has_errors}}" TABLE("Row errors") "<thead><tr><th scope=\"col\">Row"
	  "</th><th scope=\"col\">Column</th><th scope=\"col\">Problem</th></tr></thead><tbody>{{/has_errors}}{{#errors}}<tr>"
	  "<th scope=\"row\">{{row}}</th><td>{{column}}</td><td>{{message}}</td></tr>{{/errors}}{{#has_errors}}</tbody>" TABLE_END
	  "{{/has_errors}}<p><a href=\"/vendor/imports\">All imports</a></p>" },
	{ "page/vendor_policies.html", "text/html",
	  CONSOLE_NAV "{{#kinds}}<section aria-labelledby=\"h-{{kind}}\"><h2 id=\"h-{{kind}}\">The {{kind}} policy</h2>"
	  "<p>Active version: <strong id=\"active-{{kind}}\">{{active}}</strong>. Activating an older version rolls back to it.</p>"
	  TABLE("Versions") "<thead><tr><th scope=\"col\">Version</th><th scope=\"col\">Status</th><th scope=\"col\">Uploaded</th>"
	  "<th scope=\"col\">Vectors passed</th><th scope=\"col\">Note</th><th scope=\"col\">Actions</th></tr></thead><tbody>"
	  "{{#versions}}<tr{{#active}} class=\"active\"{{/active}}><th scope=\"row\">{{version}}{{#active}} (active){{/active}}</th>"
	  "<td>{{status}}</td><td>{{created}}</td><td>{{vectors_passed}}</td><td>{{note}}</td><td>{{#can_dry_run}}<form "
	  "method=\"post\" action=\"/vendor/policies/{{kind}}/{{version}}/dry-run\" class=\"inline\">" CSRF "<button type=\"submit\">"
	  "Dry run version {{version}}</button></form> {{/can_dry_run}}{{#can_activate}}<form method=\"post\" "
	  "action=\"/vendor/policies/{{kind}}/{{version}}/activate\" class=\"inline\">" CSRF "<button type=\"submit\">{{#rollback}}"
	  "Roll back to{{/rollback}}{{^rollback}}Activate{{/rollback}} version {{version}}</button></form>{{/can_activate}}</td></tr>"
	  "{{/versions}}</tbody>" TABLE_END
	  "{{#can_upload}}{{#form}}<h3>Upload a new {{kind}} version</h3>{{#error}}<div class=\"error\" role=\"alert\" "
	  "id=\"error-{{kind}}\"><p>{{#line}}Line {{line}}: {{/line}}{{error}}</p>{{#has_failures}}<ul>{{/has_failures}}{{#failures}}"
	  "<li>{{vector}}: {{message}}</li>{{/failures}}{{#has_failures}}</ul>{{/has_failures}}</div>{{/error}}"
	  "<form method=\"post\" action=\"/vendor/policies/{{kind}}\" class=\"stack wide\">" CSRF
	  "<label for=\"source-{{kind}}\">Lua source</label><textarea id=\"source-{{kind}}\" name=\"source\" rows=\"16\" "
	  "spellcheck=\"false\" required{{#error}} aria-describedby=\"error-{{kind}}\"{{/error}}>{{source}}</textarea>"
	  "<label for=\"vectors-{{kind}}\">Test vectors (a JSON list)</label><textarea id=\"vectors-{{kind}}\" name=\"vectors\" "
	  "rows=\"8\" spellcheck=\"false\" required>{{vectors}}</textarea><label for=\"note-{{kind}}\">Note</label>"
	  "<input id=\"note-{{kind}}\" name=\"note\" maxlength=\"255\" data-maxbytes=\"255\" value=\"{{note}}\"><button type=\"submit\">Check and store"
	  "</button></form>{{/form}}{{/can_upload}}</section>{{/kinds}}" },
	{ "page/vendor_dry_run.html", "text/html",
	  CONSOLE_NAV "{{#report}}<p>Version {{version}} against the active version {{compared_with}}, on the live contracts.</p>"
	  "<dl class=\"facts\"><dt>Lines priced</dt><dd id=\"lines\">{{lines}}</dd><dt>Lines that change</dt><dd id=\"lines-changed\">"
	  "{{lines_changed}}</dd><dt>Lines the new version fails</dt><dd>{{lines_failed}}</dd><dt>Lines the active version fails</dt>"
	  "<dd>{{lines_failed_before}}</dd><dt>Contracts without a list price</dt><dd>{{contracts_without_price}}</dd></dl>"
	  "<h2>Change per partner</h2>{{^per_partner}}<p>No partner's margin changes.</p>{{/per_partner}}{{#has_per_partner}}"
	  "<p>Each line is priced in both publish modes: the partner sells, or the vendor sells (a partner may choose either).</p>"
	  TABLE("Change per partner") "<thead><tr><th scope=\"col\">Partner</th><th scope=\"col\">Who sells</th><th scope=\"col\">"
	  "Paid now</th><th scope=\"col\">Paid with this version</th><th scope=\"col\">Change in margin</th></tr></thead>"
	  "<tbody>{{/has_per_partner}}{{#per_partner}}<tr><th scope=\"row\">{{partner}}</th><td>{{mode}}</td><td>{{before}}</td>"
	  "<td>{{after}}</td><td>{{delta}}</td></tr>{{/per_partner}}"
	  "{{#has_per_partner}}</tbody>" TABLE_END "{{/has_per_partner}}"
	  "<h2>Largest changes</h2>{{^largest_changes}}<p>None.</p>{{/largest_changes}}{{#has_largest_changes}}"
	  TABLE("Largest changes") "<thead><tr><th scope=\"col\">Contract</th><th scope=\"col\">Customer</th><th scope=\"col\">"
	  "Who sells</th><th scope=\"col\">Change</th><th scope=\"col\">Shares before</th><th scope=\"col\">Shares after</th></tr>"
	  "</thead><tbody>{{/has_largest_changes}}{{#largest_changes}}<tr><th scope=\"row\">{{contract}}</th><td>{{customer}}</td>"
	  "<td>{{mode}}</td><td>{{delta}}</td><td>{{#before}}{{.}}<br>"
	  "{{/before}}</td><td>{{#after}}{{.}}<br>{{/after}}</td></tr>{{/largest_changes}}{{#has_largest_changes}}</tbody>" TABLE_END
	  "{{/has_largest_changes}}{{#has_errors}}<h2>Errors</h2><ul>{{/has_errors}}{{#errors}}<li>Contract {{contract_id}}: {{message}}</li>"
	  "{{/errors}}{{#has_errors}}</ul>{{/has_errors}}{{/report}}"
	  "{{#can_activate}}{{#report}}<form method=\"post\" action=\"/vendor/policies/{{kind}}/{{version}}/activate\">" CSRF
	  "<button type=\"submit\">{{#rollback}}Roll back to{{/rollback}}{{^rollback}}Activate{{/rollback}} version {{version}}"
	  "</button></form>{{/report}}{{/can_activate}}<p><a href=\"/vendor/policies\">All policy versions</a></p>" },
	{ "page/vendor_plugins.html", "text/html",
	  CONSOLE_NAV "{{#plugins}}<section class=\"plugin\" aria-labelledby=\"p-{{name}}\"><h2 id=\"p-{{name}}\">{{name}} "
	  "<small>{{version}}</small></h2><p>{{#kind}}{{kind}} plugin{{/kind}} from {{origin}}: {{#loaded}}<strong>loaded</strong>."
	  " {{description}}{{/loaded}}{{^loaded}}<strong class=\"error\">refused</strong>: {{reason}}{{/loaded}}</p>"
	  "{{#last_error}}<p class=\"error\">Last error: {{last_error}}</p>{{/last_error}}"
	  "{{#has_enablements}}" TABLE("Enablements") "<thead><tr><th scope=\"col\">Enabled for</th><th scope=\"col\">Configuration"
	  "</th><th scope=\"col\">Since</th><th scope=\"col\">Action</th></tr></thead><tbody>{{/has_enablements}}{{#enablements}}<tr>"
	  "<th scope=\"row\">{{#partner}}{{partner}}{{/partner}}{{^partner}}All partners (the vendor){{/partner}}</th><td><code>"
	  "{{config}}</code></td><td>{{enabled}}</td><td>{{#can_disable}}<form method=\"post\" "
	  "action=\"/vendor/plugins/{{plugin}}/enablements/{{id}}/disable\" class=\"inline\">" CSRF "<button type=\"submit\">Disable"
	  "</button></form>{{/can_disable}}</td></tr>{{/enablements}}{{#has_enablements}}</tbody>" TABLE_END "{{/has_enablements}}"
	  "{{^enablements}}{{#loaded}}<p>Not enabled.</p>{{/loaded}}{{/enablements}}"
	  "{{#form}}<h3>Enable {{plugin}}</h3>{{#error}}<div class=\"error\" role=\"alert\" id=\"error-{{plugin}}\"><p>{{error}}</p>"
	  "{{#has_fields}}<ul>{{/has_fields}}{{#fields}}<li>{{#field}}<code>{{field}}</code>: {{/field}}{{message}}</li>{{/fields}}"
	  "{{#has_fields}}</ul>{{/has_fields}}</div>{{/error}}<form method=\"post\" action=\"/vendor/plugins/{{plugin}}/enablements\" "
	  "class=\"stack wide\">" CSRF "<label for=\"partner-{{plugin}}\">For</label><select id=\"partner-{{plugin}}\" "
	  "name=\"partner\">{{#partners}}<option value=\"{{id}}\"{{#selected}} selected{{/selected}}>{{name}}</option>{{/partners}}"
	  "</select><label for=\"config-{{plugin}}\">Configuration (a JSON object)</label><textarea id=\"config-{{plugin}}\" "
	  "name=\"config\" rows=\"4\" spellcheck=\"false\"{{#error}} aria-describedby=\"error-{{plugin}}\"{{/error}}>{{config}}"
	  "</textarea><button type=\"submit\">Enable</button></form>{{/form}}</section>{{/plugins}}" },

	/* ---- the sales view (core/web/sales.c) ---- */
	{ "page/sales.html", "text/html",
	  "<p>{{#vendor_user}}<a href=\"/vendor/opportunities\">All quotes</a>{{/vendor_user}}{{^vendor_user}}"
	  "<a href=\"/partner\">Your renewal opportunities</a>{{/vendor_user}}</p>"
	  "{{#error}}<p class=\"error\" role=\"alert\" id=\"sales-error\">{{error}}</p>{{/error}}"
	  "{{#opportunity}}<dl class=\"facts\"><dt>Customer</dt><dd>{{customer}}</dd><dt>Product</dt><dd>{{product}}</dd>"
	  "<dt>State</dt><dd id=\"state\">{{state}}</dd>{{#lost_reason}}<dt>Lost because</dt><dd id=\"lost-reason\">{{lost_reason}}"
	  "</dd>{{/lost_reason}}<dt>Reseller</dt><dd>{{reseller}}</dd>{{#distributor}}<dt>Distributor</dt><dd>{{distributor}}</dd>"
	  "{{/distributor}}<dt>Contract ends</dt><dd>{{contract_end}}</dd><dt>Decision by</dt><dd>{{decision_by}}</dd>"
	  "<dt>Quote valid until</dt><dd>{{valid_until}}</dd></dl>{{#attention}}<p class=\"error\">Needs attention: "
	  "{{attention_reason}}</p>{{/attention}}{{/opportunity}}"
	  "<h2>The customer's contracts</h2>" TABLE("The customer's contracts") "<thead><tr><th scope=\"col\">Product</th>"
	  "<th scope=\"col\">Seats</th><th scope=\"col\">Ends</th><th scope=\"col\">Status</th></tr></thead><tbody>{{#contracts}}"
	  "<tr class=\"colour-{{colour}}\" data-colour=\"{{colour}}\"><th scope=\"row\">{{product}}{{#this}} (this renewal){{/this}}"
	  "</th><td>{{quantity}}</td><td>{{end}}</td><td><span class=\"dot dot-{{colour}}\" aria-hidden=\"true\"></span>{{colour_text}}"
	  "{{#warranty_only}} &middot; warranty only{{/warranty_only}}{{#consolidated}} &middot; consolidated{{/consolidated}}</td>"
	  "</tr>{{/contracts}}</tbody>" TABLE_END
	  "<h2>The quote as the customer sees it</h2>{{#quote}}" TABLE("The quote") "<thead><tr><th scope=\"col\">Item</th>"
	  "<th scope=\"col\">Seats</th><th scope=\"col\">Price</th></tr></thead><tbody>{{#lines}}<tr><th scope=\"row\">{{#optional}}"
	  "{{kind_text}}: {{/optional}}{{description}}{{#optional}} ({{#selected}}chosen{{/selected}}{{^selected}}offered{{/selected}})"
	  "{{/optional}}</th><td>{{quantity}}</td><td>{{price}}</td></tr>{{/lines}}</tbody><tfoot>{{#discounted}}<tr>"
	  "<th scope=\"row\" colspan=\"2\">Before the discount</th><td>{{before}}</td></tr><tr><th scope=\"row\" colspan=\"2\">Discount "
	  "({{discount}})</th><td id=\"quote-discount\">{{discount_amount}}</td></tr>{{/discounted}}<tr><th scope=\"row\" "
	  "colspan=\"2\">Total</th><td id=\"quote-total\">{{total}}</td></tr></tfoot>" TABLE_END "{{/quote}}"
	  "<h2>Channel margins</h2>" TABLE("Channel margins") "<thead><tr><th scope=\"col\">Line</th><th scope=\"col\">Who sells</th>"
	  "<th scope=\"col\">Shares</th><th scope=\"col\">Channel</th><th scope=\"col\">Net</th></tr></thead><tbody>{{#margins}}"
	  "<tr{{#in_force}} class=\"in-force\"{{/in_force}}><th scope=\"row\">{{line}}</th><td>{{mode}}{{#in_force}} (in force)"
	  "{{/in_force}}</td><td>{{#priced}}<ul class=\"plain\">{{#shares}}<li>{{party}}: {{percent}}, {{amount}} <small>{{reason}}"
	  "</small></li>{{/shares}}</ul>{{/priced}}{{^priced}}not priced{{/priced}}</td><td>{{channel}}</td><td>{{net}}</td></tr>"
	  "{{/margins}}</tbody>" TABLE_END
	  "{{#can_amend}}<h2>Amend</h2><form method=\"post\" action=\"/sales/opportunities/{{id}}\" class=\"stack\" id=\"discount-form\">"
	  CSRF "{{#discount}}<label for=\"discount\">Discount, per cent ({{vendor_name}} allows at most {{bound_text}})"
	  "</label><input id=\"discount\" name=\"discount\" inputmode=\"decimal\" maxlength=\"8\" value=\"{{value}}\" "
	  "required>{{/discount}}<button type=\"submit\">Set the discount</button></form>"
	  "<form method=\"post\" action=\"/sales/opportunities/{{id}}\" class=\"stack\" id=\"outcome-form\">" CSRF
	  "<fieldset><legend>Outcome</legend><label><input type=\"radio\" name=\"state\" value=\"won\" required> Won</label>"
	  "<label><input type=\"radio\" name=\"state\" value=\"lost\"> Lost</label></fieldset><label for=\"lost_reason\">Why it was "
	  "lost (when lost)</label><input id=\"lost_reason\" name=\"lost_reason\" maxlength=\"127\" data-maxbytes=\"127\"><button type=\"submit\">Record "
	  "the outcome</button></form>"
	  "<form method=\"post\" action=\"/sales/opportunities/{{id}}\" class=\"stack\" id=\"note-form\">" CSRF
	  "<label for=\"note\">Note</label><textarea id=\"note\" name=\"note\" rows=\"3\" maxlength=\"1000\" data-maxbytes=\"1000\" required></textarea>"
	  "<button type=\"submit\">Add the note</button></form>{{/can_amend}}"
	  "{{#can_task}}<h2>Add a task</h2><form method=\"post\" action=\"/sales/opportunities/{{id}}/tasks\" class=\"stack\" "
	  "id=\"task-form\">" CSRF "<label for=\"task-kind\">Task</label><select id=\"task-kind\" name=\"kind\"><option "
	  "value=\"callback\">Call the customer back</option><option value=\"contact_reseller\">Contact the customer through the "
	  "reseller</option><option value=\"reply\">Reply to the customer</option></select>{{#vendor_user}}<label for=\"task-for\">"
	  "Who acts</label><select id=\"task-for\" name=\"for\"><option value=\"vendor\">{{vendor_name}}</option><option "
	  "value=\"reseller\">The reseller</option></select>{{/vendor_user}}<label for=\"task-message\">What to do</label><textarea "
	  "id=\"task-message\" name=\"message\" rows=\"3\" maxlength=\"2047\" data-maxbytes=\"2047\" required></textarea><button type=\"submit\">Add the task"
	  "</button></form>{{/can_task}}"
	  "<h2>Notes</h2>{{^notes}}<p>No notes yet.</p>{{/notes}}<ul class=\"notes\">{{#notes}}<li><p>{{text}}</p><small>{{by}}, {{at}}"
	  "</small></li>{{/notes}}</ul>"
	  "<h2>Tasks</h2>{{^tasks}}<p>No tasks.</p>{{/tasks}}<ul class=\"tasks\">{{#tasks}}<li>{{kind}} ({{who}}{{#done}}, done"
	  "{{/done}}): {{message}}</li>{{/tasks}}</ul>"
	  "{{#has_history}}<h2>History</h2><ul class=\"history\">{{/has_history}}{{#history}}<li>{{at}} {{by}} {{action}}: {{note}}</li>"
	  "{{/history}}{{#has_history}}</ul>{{/has_history}}" },
	{ "static/site.css", "text/css",
	  "body{font-family:system-ui,Arial,sans-serif;margin:0;color:#1d1d1d;line-height:1.45}"
	  "header.brand{display:flex;align-items:center;justify-content:space-between;padding:12px 16px;background:#1f3a5f;color:#fff}"
	  ".brand-name{font-weight:bold;font-size:1.2em}main{max-width:960px;margin:0 auto;padding:16px}"
	  "table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #ddd}"
	  ".dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.4em;vertical-align:middle}"
	  ".dot-red{background:#c62828}.dot-amber{background:#f9a825}.dot-green{background:#2e7d32}.dot-black{background:#111}.dot-blue{background:#1565c0}"
	  ".colour-red td{background:#fdecea}.colour-amber td{background:#fff8e1}.colour-green td{background:#edf7ed}.colour-blue td{background:#e3f2fd}"
	  ".colour-black td{background:#eee;color:#555}.stack{display:flex;flex-direction:column;gap:6px;max-width:420px}"
	  ".stack fieldset{display:flex;flex-direction:column;gap:6px}"
	  "button{padding:8px 14px;font-size:1em;cursor:pointer}button:disabled{opacity:.5;cursor:not-allowed}"
	  ".error{color:#b00020}.cards{list-style:none;padding:0}.cards li{border:1px solid #ddd;padding:8px 12px;margin:8px 0}"
	  "footer.contact{max-width:960px;margin:24px auto;padding:8px 16px;border-top:3px solid #f2a900;font-size:.9em;color:#555}"
	  "@media (max-width:600px){th,td{padding:4px}main{padding:8px}}"
	  ":focus-visible{outline:3px solid #f2a900;outline-offset:2px}"
	  /* the keyboard's first stop, past the header and the navigation; seen only when focused */
	  ".skip{position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}"
	  ".skip:focus{position:absolute;left:8px;top:8px;width:auto;height:auto;padding:8px 12px;background:#fff;"
	  "color:#1d1d1d;z-index:10}main:focus,#content:focus{outline:none}"
	  "nav.console ul{display:flex;flex-wrap:wrap;gap:4px 12px;list-style:none;padding:0;margin:0 0 12px}"
	  "nav.console a{display:inline-block;padding:6px 2px}nav.console a[aria-current=page]{font-weight:bold;text-decoration:none;"
	  "border-bottom:3px solid #1f3a5f}.table-wrap{overflow-x:auto;max-width:100%}.notice{color:#1b5e20}"
	  "form.inline{display:inline}.stack.wide{max-width:none}textarea{width:100%;box-sizing:border-box;font-family:ui-monospace,"
	  "monospace;font-size:.9em}input,select,textarea{font-size:1em;padding:4px}.counts{list-style:none;padding:0;display:flex;"
	  "flex-wrap:wrap;gap:8px 24px}.plain{list-style:none;padding:0;margin:0}dl.facts{display:grid;grid-template-columns:"
	  "max-content 1fr;gap:4px 16px}dl.facts dd{margin:0}tr.active th,tr.in-force td{font-weight:bold}fieldset{border:1px solid "
	  "#ccc}progress{width:min(100%,320px)}.notes li,.tasks li,.history li{margin:6px 0}"
	  "dl.facts dt{font-weight:bold}.colour-red th{background:#fdecea}.colour-amber th{background:#fff8e1}"
	  ".colour-green th{background:#edf7ed}.colour-black th{background:#eee;color:#555}.colour-blue th{background:#e3f2fd}"
	  "@media (max-width:600px){dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:6px}}"
	  /* a phone's width: a long word wraps (a table's words stay whole: its box
	   * scrolls), a chart and a select shrink to it */
	  "main,footer.contact{overflow-wrap:break-word}h1,h2,h3,dd,.cards li,td .plain a{overflow-wrap:anywhere}"
	  "pre{white-space:pre-wrap;overflow-wrap:anywhere}"
	  "dl.facts{grid-template-columns:max-content minmax(0,1fr)}svg.chart{max-width:100%;height:auto}select{max-width:100%}"
	  "@media (max-width:600px){dl.facts{grid-template-columns:minmax(0,1fr)}}"
	  /* the web-to-lead form's honeypot: off screen for people, there for bots */
	  ".hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}" },
	{ "static/portal.js", "text/javascript",
	  "(function(){\n"
	  "  var h = document.querySelector('header.brand');\n"
	  "  if (h) { h.style.background = h.dataset.primary; }\n"
	  "  var f = document.querySelector('footer.contact');\n"
	  "  if (f && h && h.dataset.accent) { f.style.borderTopColor = h.dataset.accent; }\n"
	  "  var accept = document.getElementById('accept'), buy = document.getElementById('buy');\n"
	  "  if (accept && buy) { buy.disabled = !accept.checked;\n"
	  "    accept.addEventListener('change', function(){ buy.disabled = !accept.checked; }); }\n"
	  "  var total = document.getElementById('total'), discount = document.getElementById('discount');\n"
	  "  if (total && !total.dataset.base) total = null; /* only the quote form's live total (data-base) */\n"
	  "  function money(n, c){ var e = parseInt(total.dataset.exponent, 10); if (isNaN(e)) e = 2;\n"
	  "    var p = Math.pow(10, e), a = Math.abs(n), s = Math.floor(a / p).toString().replace(/\\B(?=(\\d{3})+(?!\\d))/g, ',');\n"
	  "    if (e) s += '.' + String(a % p).padStart(e, '0');\n"
	  "    return c + ' ' + (n < 0 ? '-' : '') + s; }\n"
	  "  function update(){ if (!total) return; var base = parseInt(total.dataset.base, 10), sum = base, up = false;\n"
	  "    document.querySelectorAll('input.optional:checked').forEach(function(i){ sum += parseInt(i.dataset.amount, 10);\n"
	  "      if (i.classList.contains('upsell')) up = true; });\n"
	  "    if (up) sum -= base; /* an upgrade replaces the renewal */\n"
	  "    var off = Math.floor(sum * (parseInt(total.dataset.discount, 10) || 0) / 10000);\n"
	  "    if (discount) discount.textContent = money(-off, total.dataset.currency);\n"
	  "    total.textContent = money(sum - off, total.dataset.currency); }\n"
	  "  document.querySelectorAll('input.optional').forEach(function(i){ i.addEventListener('change', function(){\n"
	  "    if (i.checked && i.classList.contains('upsell')) document.querySelectorAll('input.optional.upsell')\n"
	  "      .forEach(function(o){ if (o !== i) o.checked = false; }); /* one upgrade at most */\n"
	  "    update(); }); });\n"
	  "  update();\n"
	  "  var file = document.getElementById('import-file'), data = document.getElementById('data');\n"
	  "  if (file && data && window.FileReader) file.addEventListener('change', function(){\n"
	  "    var f = file.files[0]; if (!f) return; var r = new FileReader();\n"
	  "    r.onload = function(){ data.value = r.result; }; r.readAsText(f); });\n"
	  "  var prog = document.getElementById('import-progress');\n"
	  "  function poll(){ fetch('/api/v1/imports/' + encodeURIComponent(prog.dataset.import), { credentials: 'same-origin' })\n"
	  "    .then(function(r){ return r.json(); }).then(function(j){\n"
	  "      if (j.status !== 'running') { location.reload(); return; }\n"
	  "      if (j.progress) { prog.value = Math.round(j.progress.percent); prog.textContent = prog.value + ' %'; }\n"
	  "      var rows = document.getElementById('import-rows'); if (rows) rows.textContent = j.rows;\n"
	  "      setTimeout(poll, 500); }, function(){ setTimeout(poll, 2000); }); }\n"
	  "  if (prog && window.fetch) setTimeout(poll, 300);\n"
	  "  /* A field's limit is in bytes (data-maxbytes), as the server counts it; maxlength counts characters,\n"
	  "     and a letter such as \u00e9 is two bytes: say so before the form is sent, naming the field. */\n"
	  "  if (window.TextEncoder) document.querySelectorAll('[data-maxbytes]').forEach(function(i){\n"
	  "    var max = parseInt(i.dataset.maxbytes, 10), enc = new TextEncoder();\n"
	  "    var l = i.labels && i.labels.length ? i.labels[0].textContent.replace(/ \\(required\\)$/, '') : i.name;\n"
	  "    function check(){ var n = enc.encode(i.value).length;\n"
	  "      i.setCustomValidity(n > max ? l + ': at most ' + max + ' bytes, and this is ' + n +\n"
	  "        ' (a letter such as \u00e9 takes 2, most other scripts 3, an emoji 4): make it shorter.' : ''); }\n"
	  "    i.addEventListener('input', check); check(); });\n"
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
