/*
 * console_work_pages.h: the default templates of the console's working pages
 * (core/web/console_orders.c, console_detail.c, console_users.c,
 * console_work.c): rows of branding_default.c's asset table, included inside
 * it (its CONSOLE_NAV, TABLE, CSRF and NEXT_PAGE apply).
 */
#define TOTALS_TABLE(list, label)                                                                                 \
	"{{#has_" list "}}<h3>" label "</h3>" TABLE(label) "<thead><tr><th scope=\"col\">Currency</th>"               \
	"<th scope=\"col\">Count</th><th scope=\"col\">Total</th></tr></thead><tbody>{{#" list "}}"                    \
	"<tr class=\"total\" data-currency=\"{{currency}}\"><th scope=\"row\">{{currency}}</th><td>{{count}}</td>"   \
	"<td class=\"money\">{{amount}}</td></tr>{{/" list "}}</tbody>" TABLE_END "{{/has_" list "}}"
#define ORDERS_OF(list)                                                                                           \
	"{{#has_" list "}}" TABLE("Orders") "<thead><tr><th scope=\"col\">Order</th><th scope=\"col\">Placed</th>"   \
	"<th scope=\"col\">Option</th><th scope=\"col\">State</th><th scope=\"col\">Total</th></tr></thead><tbody>"   \
	"{{#" list "}}<tr><th scope=\"row\">{{#vendor_side}}<a href=\"/vendor/orders/{{id}}\">{{number}}</a>"        \
	"{{/vendor_side}}{{^vendor_side}}{{number}}{{/vendor_side}}</th><td>{{created}}</td><td>{{option}}</td>"     \
	"<td>{{state}}</td><td class=\"money\">{{total}}</td></tr>{{/" list "}}</tbody>" TABLE_END "{{/has_" list "}}" \
	"{{^has_" list "}}<p>No orders.</p>{{/has_" list "}}"

	{ "page/vendor_orders.html", "text/html",
	  CONSOLE_NAV
	  "<form method=\"get\" action=\"/vendor/orders\" class=\"filter\"><label for=\"state\">State</label> "
	  "<select id=\"state\" name=\"state\">{{#states}}<option value=\"{{value}}\"{{#selected}} selected{{/selected}}>"
	  "{{label}}</option>{{/states}}</select> <label for=\"option\">Payment option</label> <select id=\"option\" "
	  "name=\"option\">{{#options}}<option value=\"{{value}}\"{{#selected}} selected{{/selected}}>{{label}}</option>"
	  "{{/options}}</select> <label for=\"partner\">Partner</label> <select id=\"partner\" name=\"partner\">"
	  "<option value=\"\">all</option>{{#partners}}<option value=\"{{id}}\"{{#selected}} selected{{/selected}}>"
	  "{{name}}</option>{{/partners}}</select> <label for=\"from\">Placed from</label> <input type=\"date\" id=\"from\" "
	  "name=\"from\" value=\"{{from}}\"> <label for=\"to\">to</label> <input type=\"date\" id=\"to\" name=\"to\" "
	  "value=\"{{to}}\"> <button type=\"submit\">Show</button></form>"
	  "<p><span id=\"order-count\">{{matched}}</span> order(s) match.</p>"
	  TOTALS_TABLE("totals", "Totals per currency")
	  "{{#totals_overflow}}<p class=\"error\">Some totals could not be added up.</p>{{/totals_overflow}}"
	  "{{#has_rows}}" TABLE("Orders") "<thead><tr><th scope=\"col\">Order</th><th scope=\"col\">Placed</th>"
	  "<th scope=\"col\">Customer</th><th scope=\"col\">Reseller</th><th scope=\"col\">Option</th>"
	  "<th scope=\"col\">PO</th><th scope=\"col\">State</th><th scope=\"col\">Due</th><th scope=\"col\">Total</th>"
	  "<th scope=\"col\">Contract</th></tr></thead><tbody>{{#rows}}<tr id=\"order-{{id}}\"><th scope=\"row\">"
	  "<a href=\"/vendor/orders/{{id}}\">{{number}}</a></th><td>{{created}}</td><td><a href=\"/vendor/customers/"
	  "{{customer_id}}\">{{customer}}</a></td><td>{{reseller}}</td><td>{{option}}</td><td>{{po_number}}</td>"
	  "<td class=\"order-state\">{{state}}</td><td>{{due}}</td><td class=\"money\">{{total}}</td><td>{{#contract_id}}"
	  "<a href=\"/vendor/contracts/{{contract_id}}\">contract</a>{{/contract_id}}</td></tr>{{/rows}}</tbody>" TABLE_END
	  "{{/has_rows}}{{^has_rows}}<p>No orders match.</p>{{/has_rows}}" NEXT_PAGE },
	{ "page/vendor_order.html", "text/html",
	  CONSOLE_NAV
	  "{{#order}}<dl class=\"facts\"><dt>Order</dt><dd id=\"order-number\">{{number}}</dd><dt>State</dt>"
	  "<dd id=\"order-state\">{{state}}</dd><dt>Customer</dt><dd><a href=\"/vendor/customers/{{customer_id}}\">"
	  "{{customer}}</a></dd><dt>Contract</dt><dd>{{#contract_id}}<a id=\"order-contract\" href=\"/vendor/contracts/"
	  "{{contract_id}}\">the renewed contract</a>{{/contract_id}}{{#new_contract_id}}, <a href=\"/vendor/contracts/"
	  "{{new_contract_id}}\">the new contract</a>{{/new_contract_id}}</dd><dt>Quote</dt><dd><a href=\"/sales/"
	  "opportunities/{{opportunity_id}}\">open the sales view</a></dd><dt>Channel</dt><dd>{{reseller}}"
	  "{{#distributor}} via {{distributor}}{{/distributor}}; {{publish}}</dd><dt>Placed</dt><dd>{{created}}</dd>"
	  "<dt>Payment option</dt><dd>{{option}}{{#po_number}}, PO {{po_number}}{{/po_number}}{{#due}}, due {{due}}"
	  "{{/due}}</dd><dt>Total</dt><dd id=\"order-total\" class=\"money\">{{total}}{{#discount}} (discount "
	  "{{discount}}){{/discount}}</dd>{{#paid_reference}}<dt>Paid</dt><dd id=\"order-paid\">{{paid_amount}} on "
	  "{{paid}}, reference {{paid_reference}}</dd>{{/paid_reference}}{{#invoice_number}}<dt>Invoice</dt><dd>"
	  "{{invoice_number}}</dd>{{/invoice_number}}{{#payment_message}}<dt>Payment note</dt><dd>{{payment_message}}"
	  "</dd>{{/payment_message}}</dl>"
	  "{{#has_lines}}<h2>Lines</h2>" TABLE("Order lines") "<thead><tr><th scope=\"col\">SKU</th><th scope=\"col\">"
	  "Description</th><th scope=\"col\">Seats</th><th scope=\"col\">Per seat</th><th scope=\"col\">Amount</th></tr>"
	  "</thead><tbody>{{#lines}}<tr><th scope=\"row\">{{sku}}</th><td>{{description}}</td><td>{{quantity}}</td>"
	  "<td class=\"money\">{{unit}}</td><td class=\"money\">{{amount}}</td></tr>{{/lines}}</tbody>" TABLE_END
	  "{{/has_lines}}{{/order}}"
	  "{{#pay}}<h2>Record the payment</h2><p>The purchase order or Bill Me Later invoice was paid: record the amount "
	  "received and its reference. The order is then fulfilled.</p><form method=\"post\" id=\"pay-form\" action=\""
	  "/vendor/orders/{{order.id}}/payment\" class=\"stack\">" CSRF "<label for=\"amount\">Amount paid ({{currency}})"
	  "</label><input id=\"amount\" name=\"amount\" inputmode=\"decimal\" value=\"{{amount}}\" required>"
	  "<label for=\"reference\">Payment reference</label><input id=\"reference\" name=\"reference\" maxlength=\"127\" data-maxbytes=\"127\" "
	  "value=\"{{reference}}\" required><button type=\"submit\">Record the payment</button></form>{{/pay}}"
	  "{{#refund}}<h2>Refund</h2><p>Refunds the whole order: the renewed contract is cancelled and the channel's "
	  "commissions reversed.</p><form method=\"post\" id=\"refund-form\" action=\"/vendor/orders/{{order.id}}/refund\" "
	  "class=\"stack\">" CSRF "<label for=\"reason\">Reason</label><input id=\"reason\" name=\"reason\" "
	  "maxlength=\"127\" data-maxbytes=\"127\" required><button type=\"submit\">Refund the order</button></form>{{/refund}}"
	  "<p><a href=\"/vendor/orders\">All orders</a></p>" },
	{ "page/contract.html", "text/html",
	  CONSOLE_NAV "{{#edit_href}}<p class=\"actions\"><a href=\"{{edit_href}}\" id=\"edit-record\">{{edit_label}}</a></p>{{/edit_href}}" "{{#contract}}<dl class=\"facts\"><dt>Contract</dt><dd id=\"contract-id\">{{external_id}}</dd>"
	  "<dt>Customer</dt><dd><a id=\"contract-customer\" href=\"{{base}}/customers/{{customer_id}}\">{{customer}}</a>"
	  "</dd><dt>Product</dt><dd>{{product}}{{#line}} ({{line}}){{/line}}</dd><dt>Channel</dt><dd>{{reseller}}"
	  "{{#distributor}} via {{distributor}}{{/distributor}}</dd><dt>Seats</dt><dd>{{quantity}}</dd><dt>Term</dt>"
	  "<dd>{{term}}, {{start}} to {{end}}</dd><dt>Status</dt><dd id=\"contract-status\"><span class=\"dot "
	  "dot-{{colour}}\" aria-hidden=\"true\"></span>{{colour_text}} ({{status}})</dd><dt>List value</dt>"
	  "<dd class=\"money\" id=\"contract-value\">{{value}}</dd></dl>{{/contract}}"
	  "<h2>Renewal quotes</h2>{{#has_quotes}}" TABLE("Renewal quotes") "<thead><tr><th scope=\"col\">Quote</th>"
	  "<th scope=\"col\">State</th><th scope=\"col\">List</th><th scope=\"col\">Contract ends</th></tr></thead><tbody>"
	  "{{#quotes}}<tr><th scope=\"row\"><a href=\"/sales/opportunities/{{id}}\">{{number}}</a></th><td>{{state}}</td>"
	  "<td class=\"money\">{{list}}</td><td>{{end}}</td></tr>{{/quotes}}</tbody>" TABLE_END "{{/has_quotes}}"
	  "{{^has_quotes}}<p>No quotes.</p>{{/has_quotes}}"
	  "{{#vendor_side}}<h2>Orders</h2>" ORDERS_OF("orders") "{{/vendor_side}}" },
	{ "page/customer.html", "text/html",
	  CONSOLE_NAV "{{#edit_href}}<p class=\"actions\"><a href=\"{{edit_href}}\" id=\"edit-record\">{{edit_label}}</a></p>{{/edit_href}}" "{{#customer}}<dl class=\"facts\"><dt>Customer</dt><dd id=\"customer-name\">{{name}}</dd>"
	  "<dt>Reference</dt><dd>{{external_id}}</dd><dt>E-mail</dt><dd>{{email}}</dd><dt>Phone</dt><dd>{{phone}}</dd>"
	  "<dt>Address</dt><dd>{{address1}} {{address2}} {{postcode}} {{city}} {{region}} {{country}}</dd>"
	  "<dt>Segment</dt><dd>{{segment}}</dd></dl>{{/customer}}"
	  "<h2>Contracts</h2>{{#has_contracts}}" TABLE("Contracts") "<thead><tr><th scope=\"col\">Contract</th>"
	  "<th scope=\"col\">Product</th><th scope=\"col\">Reseller</th><th scope=\"col\">Seats</th><th scope=\"col\">"
	  "Ends</th><th scope=\"col\">Status</th><th scope=\"col\">List value</th></tr></thead><tbody>{{#contracts}}"
	  "<tr class=\"colour-{{colour}}\"><th scope=\"row\"><a href=\"{{base}}/contracts/{{id}}\">{{external_id}}</a></th>"
	  "<td>{{product}}</td><td>{{reseller}}</td><td>{{quantity}}</td><td>{{end}}</td><td>{{colour_text}} ({{status}})"
	  "</td><td class=\"money\">{{value}}</td></tr>{{/contracts}}</tbody>" TABLE_END "{{/has_contracts}}"
	  "{{^has_contracts}}<p>No contracts.</p>{{/has_contracts}}" TOTALS_TABLE("totals", "Contract value per currency")
	  "{{#vendor_side}}<h2>Orders</h2>" ORDERS_OF("orders") TOTALS_TABLE("order_totals", "Orders per currency")
	  "{{/vendor_side}}" },
#define USERS_BODY                                                                                                \
	CONSOLE_NAV                                                                                      \
	"{{#create}}<h2>New user</h2><form method=\"post\" action=\"{{base}}\" id=\"user-create\" class=\"stack\">"   \
	CSRF "<label for=\"email\">E-mail</label><input id=\"email\" name=\"email\" type=\"email\" value=\"{{email}}\" maxlength=\"127\" data-maxbytes=\"127\" " \
	"required><label for=\"name\">Name</label><input id=\"name\" name=\"name\" value=\"{{name}}\" maxlength=\"127\" data-maxbytes=\"127\" required>"       \
	"<label for=\"role\">Role</label><select id=\"role\" name=\"role\">{{#roles}}<option value=\"{{value}}\""    \
	"{{#selected}} selected{{/selected}}>{{value}}</option>{{/roles}}</select>{{#vendor_side}}<label "            \
	"for=\"partner_id\">Partner (partner roles)</label><select id=\"partner_id\" name=\"partner_id\"><option "    \
	"value=\"\">none</option>{{#partners}}<option value=\"{{id}}\"{{#selected}} selected{{/selected}}>{{name}}"   \
	"</option>{{/partners}}</select>{{/vendor_side}}<label for=\"password\">Password "                             \
	"(10 characters or more)</label><input id=\"password\" name=\"password\" type=\"password\" "                  \
	"autocomplete=\"new-password\" required><button type=\"submit\">Create the user</button></form>{{/create}}"    \
	"<h2>Users</h2>" TABLE("Users") "<thead><tr><th scope=\"col\">E-mail</th><th scope=\"col\">Name</th>"         \
	"<th scope=\"col\">Role</th><th scope=\"col\">Partner</th><th scope=\"col\">Status</th><th scope=\"col\">"     \
	"Change</th></tr></thead><tbody>{{#rows}}<tr id=\"user-{{id}}\"><th scope=\"row\">{{email}}</th><td>{{name}}"  \
	"</td><td class=\"user-role\">{{role}}</td><td>{{partner}}</td><td class=\"user-status\">{{#disabled}}disabled" \
	"{{/disabled}}{{^disabled}}active{{/disabled}}</td><td>{{#may_change}}<form method=\"post\" action=\"{{base}}/" \
	"{{id}}\">" CSRF "<input type=\"hidden\" name=\"action\" value=\"role\"><label for=\"role-{{id}}\">Role</label> " \
	"<select id=\"role-{{id}}\" name=\"role\">{{#roles}}<option value=\"{{value}}\"{{#selected}} selected"        \
	"{{/selected}}>{{value}}</option>{{/roles}}</select>{{#vendor_side}} <label for=\"partner-{{id}}\">Partner"    \
	"</label> <select id=\"partner-{{id}}\" name=\"partner_id\"><option value=\"\">none</option>{{#partners}}"     \
	"<option value=\"{{id}}\"{{#selected}} selected{{/selected}}>{{name}}</option>{{/partners}}</select>{{/vendor_side}} <button type=\"submit\">"     \
	"Change the role</button></form><form method=\"post\" action=\"{{base}}/{{id}}\">" CSRF "{{#disabled}}<button " \
	"type=\"submit\" name=\"action\" value=\"enable\">Enable</button>{{/disabled}}{{^disabled}}<button "           \
	"type=\"submit\" name=\"action\" value=\"disable\">Disable</button>{{/disabled}}</form>{{/may_change}}"         \
	"{{#self}}you{{/self}}</td></tr>{{/rows}}</tbody>" TABLE_END
	{ "page/vendor_users.html", "text/html", USERS_BODY },
	/* A record's form (console_records.c): each field's hint and error
	 * read with it; a text field's limit in bytes (data-maxbytes: portal.js
	 * counts a letter such as "é" as the two bytes the server counts). */
	{ "page/vendor_record.html", "text/html",
	  CONSOLE_NAV "{{#add_customer}}<p>A customer not in the list? <a href=\"/vendor/customers/new\">Add the customer"
	  "</a> first.</p>{{/add_customer}}<form method=\"post\" action=\"{{action}}\" id=\"record-form\" class=\"stack\">" CSRF
	  "{{#fields}}<label for=\"f-{{name}}\">{{label}}{{#required}} (required){{/required}}</label>"
	  "{{#hint}}<span class=\"hint\" id=\"f-{{name}}-hint\">{{hint}}</span>{{/hint}}"
	  "{{#problem}}<span class=\"error field-error\" id=\"f-{{name}}-error\">{{problem}}</span>{{/problem}}"
	  "{{#has_options}}<select id=\"f-{{name}}\" name=\"{{name}}\"{{#required}} required{{/required}}"
	  "{{#wrong}} aria-invalid=\"true\"{{/wrong}}{{#describedby}} aria-describedby=\"{{describedby}}\"{{/describedby}}>"
	  "{{#options}}<option value=\"{{value}}\"{{#selected}} selected{{/selected}}>{{label}}</option>{{/options}}"
	  "</select>{{/has_options}}{{^has_options}}<input id=\"f-{{name}}\" name=\"{{name}}\" type=\"{{type}}\" "
	  "value=\"{{value}}\"{{#maxbytes}} maxlength=\"{{maxbytes}}\" data-maxbytes=\"{{maxbytes}}\"{{/maxbytes}}"
	  "{{#inputmode}} inputmode=\"{{inputmode}}\"{{/inputmode}}{{#required}} required{{/required}}"
	  "{{#wrong}} aria-invalid=\"true\"{{/wrong}}{{#describedby}} aria-describedby=\"{{describedby}}\"{{/describedby}}>"
	  "{{/has_options}}{{/fields}}<button type=\"submit\">{{submit}}</button></form>"
	  "{{#back}}<p><a href=\"{{back}}\">{{back_label}}</a></p>{{/back}}" },
	{ "page/partner_users.html", "text/html", USERS_BODY },
	{ "page/vendor_message.html", "text/html",
	  CONSOLE_NAV "{{#message}}<dl class=\"facts\"><dt>Kind</dt><dd>{{kind}}</dd><dt>To</dt><dd>{{to}}</dd>"
	  "<dt>Subject</dt><dd id=\"message-subject\">{{subject}}</dd><dt>State</dt><dd>{{state}}, {{attempts}} "
	  "attempt(s){{#last_error}}: {{last_error}}{{/last_error}}</dd><dt>Queued</dt><dd>{{created}}</dd><dt>Sent</dt>"
	  "<dd>{{sent}}</dd>{{#customer_id}}<dt>Customer</dt><dd><a href=\"/vendor/customers/{{customer_id}}\">"
	  "{{customer}}</a></dd>{{/customer_id}}{{#partner}}<dt>Partner</dt><dd>{{partner}}</dd>{{/partner}}"
	  "{{#opportunity_id}}<dt>Quote</dt><dd><a href=\"/sales/opportunities/{{opportunity_id}}\">open the sales view"
	  "</a></dd>{{/opportunity_id}}</dl><p>Link tokens are shown as [redacted]: the customer's link opens their "
	  "renewal without a password.</p><h2>Text</h2><pre id=\"message-text\" class=\"message\">{{text}}</pre>"
	  "{{/message}}<p><a href=\"/vendor/outbox\">The outbox</a></p>" },
	{ "page/vendor_margins.html", "text/html",
	  CONSOLE_NAV "<p>The reseller's share of each renewal line, in per cent, by who sells and the partner's tier. "
	  "On top: a won deal registration adds the deal bonus ({{deal_bonus}}); the distributor of record is paid "
	  "the distributor share ({{distributor_share}}); a distributor of record is paid the tier's share itself; the "
	  "vendor's own tier earns nothing. For anything else, write the policy in Lua on the "
	  "<a href=\"/vendor/policies\">Policies</a> page.</p>"
	  "<p id=\"margins-source\">{{#from_active}}The active margin policy (version {{active}}) was made from this table."
	  "{{/from_active}}{{^from_active}}The active margin policy was written in Lua: the table shows the seed "
	  "programme.{{/from_active}}</p>"
	  "{{#can_upload}}<form method=\"post\" action=\"/vendor/margins\" id=\"margins-form\">" CSRF "{{/can_upload}}"
	  TABLE("Margin table") "<thead><tr><th scope=\"col\">Who sells</th>{{#tiers}}<th scope=\"col\">{{.}}</th>"
	  "{{/tiers}}</tr></thead><tbody>{{#rows}}<tr><th scope=\"row\">{{mode}}</th>{{#cells}}<td><input id=\"{{name}}\" "
	  "name=\"{{name}}\" aria-label=\"{{mode}}, {{tier}}, per cent\" "
	  "inputmode=\"decimal\" size=\"6\" value=\"{{value}}\"{{^can_upload}} readonly{{/can_upload}}{{#wrong}} "
	  "aria-invalid=\"true\"{{/wrong}}> %</td>{{/cells}}</tr>{{/rows}}</tbody>" TABLE_END
	  "{{#can_upload}}<p>Making the policy checks it with a test vector for every cell, then stores it as a new "
	  "version: dry-run and activate it on the Policies page.</p><button type=\"submit\">Make the policy"
	  "</button></form>{{/can_upload}}" },
