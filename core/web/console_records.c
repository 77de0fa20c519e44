/*
 * console_records.c: the console's forms for the channel's records, so a
 * new vendor needs neither the API nor an import to start:
 *   GET  /vendor/{partners,customers,products,contracts}/new   the form to add one
 *   POST /vendor/{partners,customers,products,contracts}       add it
 *   GET, POST /vendor/{...}/{id}/edit                         change one
 * Who may add or change which is the role matrix's (create, update), as for
 * /api/v1/{partners,...}: a role that may not sees neither the links nor
 * the forms, and a post answers 403.  The rules are the services'
 * (rd_record_save, services/records.c: the API's own); this file only
 * turns the form's fields into text for it.  Every form carries the
 * session's CSRF token; a refusal shows the form again as it was typed,
 * the field at fault marked with the sentence saying what is wrong.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "services/records.h"
#include "services/vendors.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/web.h"

#define CHOICES_MAX 1000 /* beyond: a number to type, not a list */

enum fkind { F_TEXT, F_EMAIL, F_NUMBER, F_DATE, F_ENUM, F_PARTNER, F_DISTRIBUTOR, F_PRODUCT, F_CUSTOMER, F_PRICE, F_PERCENT };

struct ffield {
	const char *name, *label, *hint;
	enum fkind kind;
	bool required;
};

struct fdef {
	enum rd_resource res;
	const struct rd_entity *e;
	const char *base, *one, *list; /* "/vendor/partners", "partner", the list's page (NULL: none) */
	const struct ffield *fields;
	const char *title; /* the page's title when it is not "Add a ONE" / "Change the ONE" */
};

static const struct ffield partner_fields[] = {
	{ "name", "Name", NULL, F_TEXT, true },
	{ "kind", "Kind", "A distributor supplies resellers; a reseller sells to customers.", F_ENUM, true },
	{ "tier", "Tier", "Sets the partner's margins (the Margins page).", F_ENUM, true },
	{ "parent_id", "Distributor", "A reseller's distributor, if it buys through one.", F_DISTRIBUTOR, false },
	{ "email", "E-mail", "Where the partner's notices go.", F_EMAIL, false },
	{ "phone", "Phone", NULL, F_TEXT, false },
	{ "external_id", "Your reference", "Your own id for the partner, as your other systems know it (optional).", F_TEXT,
	  false },
	{ NULL },
};

static const struct ffield customer_fields[] = {
	{ "name", "Name", NULL, F_TEXT, true },
	{ "email", "E-mail", "Where the renewal notices and the customer's links go.", F_EMAIL, false },
	{ "phone", "Phone", NULL, F_TEXT, false },
	{ "city", "City", NULL, F_TEXT, false },
	{ "country", "Country", "Two capital letters (ISO 3166), such as GB.", F_TEXT, false },
	{ "segment", "Segment", "Such as smb, mid-market or enterprise.", F_TEXT, false },
	{ "external_id", "Your reference", "Your own id for the customer (optional).", F_TEXT, false },
	{ NULL },
};

static const struct ffield product_fields[] = {
	{ "sku", "SKU", "The product's code, unique among your products.", F_TEXT, true },
	{ "name", "Name", NULL, F_TEXT, true },
	{ "line", "Product line", "Products of one line are reported together.", F_TEXT, false },
	{ "price_annual", "List price per seat, a year", NULL, F_PRICE, false },
	{ NULL },
};

static const struct ffield contract_fields[] = {
	{ "customer_id", "Customer", NULL, F_CUSTOMER, true },
	{ "product_id", "Product", NULL, F_PRODUCT, true },
	{ "reseller_id", "Reseller", "The partner of record, who is offered the renewal.", F_PARTNER, true },
	{ "quantity", "Seats", NULL, F_NUMBER, true },
	{ "start", "Starts", NULL, F_DATE, true },
	{ "end", "Ends", "The last day covered.", F_DATE, true },
	{ "term", "Term", NULL, F_ENUM, false },
	{ "external_id", "Your reference", "Your own id for the contract (optional).", F_TEXT, false },
	{ NULL },
};

/* The vendor's own settings (GET, POST /vendor/settings; the vendor's admins). */
static const struct ffield settings_fields[] = {
	{ "name", "Your company's name", "Shown on your pages and e-mails.", F_TEXT, true },
	{ "notify_email", "Renewals team's e-mail", "Customers' requests for your team and pullbacks go there.", F_EMAIL,
	  false },
	{ "portal_url", "Address of these pages",
	  "The start of the links in e-mails, such as https://renewals.example.com; empty: this server's own address.",
	  F_TEXT, false },
	{ "renewal_window_days", "Renewal window, days", "Renewal quotes are made this many days before a contract ends (1-365).",
	  F_NUMBER, true },
	{ "decision_window_days", "Partner's decision, days", "The days a partner has to decide who sells a quote (0-90).",
	  F_NUMBER, false },
	{ "publish_default", "Without a decision", "Who sells when the partner does not decide in time.", F_ENUM, true },
	{ "reminder_days", "Reminders, days before the end",
	  "The customer is reminded this many days before the contract ends (a minus: after it); empty: 60 30 14 7 0 -7.",
	  F_TEXT, false },
	{ "max_discount", "Largest discount, per cent", "The most a sales person may take off a quote, such as 10 or 12.5.",
	  F_PERCENT, false },
	{ "statement_day", "Commission statements by day", "The partners' statements are issued by this day of the month (1-28).",
	  F_NUMBER, true },
	{ NULL },
};

static const struct fdef settings_def = { RD_RES_VENDOR, &rd_entity_vendor, "/vendor/settings", "settings", NULL,
					  settings_fields, "Settings" };

static const struct fdef defs[] = {
	{ RD_RES_PARTNER, &rd_entity_partner, "/vendor/partners", "partner", "/vendor/partners", partner_fields },
	{ RD_RES_CUSTOMER, &rd_entity_customer, "/vendor/customers", "customer", "/vendor/customers", customer_fields },
	{ RD_RES_PRODUCT, &rd_entity_product, "/vendor/products", "product", "/vendor/products", product_fields },
	{ RD_RES_CONTRACT, &rd_entity_contract, "/vendor/contracts", "contract", "/vendor/contracts", contract_fields },
};

/* The definition a route is for: its path's second segment. */
static const struct fdef *def_of(struct rd_req *req)
{
	const char *path = rd_req_route(req) + strlen("/vendor/");
	for (size_t i = 0; i < sizeof defs / sizeof *defs; i++) {
		size_t n = strlen(defs[i].base + strlen("/vendor/"));
		if (!strncmp(path, defs[i].base + strlen("/vendor/"), n) && (path[n] == '/' || !path[n]))
			return &defs[i];
	}
	return NULL;
}

static struct rd_table *table_of(struct web *w, enum rd_resource res)
{
	struct rd_domain *d = w->app->domain;
	return res == RD_RES_PARTNER ? d->partners : res == RD_RES_CUSTOMER ? d->customers
						     : res == RD_RES_PRODUCT  ? d->products
									      : d->contracts;
}

/* A text field's limit in bytes: its member's size less the NUL. */
static size_t text_bytes(const struct rd_entity *e, const char *name)
{
	const struct rd_field *f = rd_entity_field(e, name);
	return f && f->type == RD_F_STR ? f->size - 1 : 0;
}

static json_t *option(const char *value, const char *label, bool selected)
{
	return json_pack("{s:s, s:s, s:b}", "value", value, "label", label, "selected", selected);
}

/* The records to choose from (partners, distributors, products, customers):
 * NULL when there are more than CHOICES_MAX (the field is then a number). */
static json_t *record_choices(struct web *w, struct rd_txn *t, enum fkind kind, const char *chosen, bool required)
{
	struct rd_table *tb = kind == F_PRODUCT ? w->app->domain->products
			      : kind == F_CUSTOMER ? w->app->domain->customers
						   : w->app->domain->partners;
	const struct rd_entity *e = kind == F_PRODUCT ? &rd_entity_product
				    : kind == F_CUSTOMER ? &rd_entity_customer
							 : &rd_entity_partner;
	json_t *a = json_array();
	json_array_append_new(a, option("", required ? "choose one" : "none", !chosen || !*chosen));
	union {
		struct rd_partner p;
		struct rd_product pr;
		struct rd_customer c;
	} *x = rd_malloc(sizeof *x);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, tb, w->c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(e, item.val, item.len, x) < 0)
			continue;
		if (kind == F_DISTRIBUTOR && x->p.kind != RD_PARTNER_DISTRIBUTOR)
			continue;
		if (json_array_size(a) > CHOICES_MAX) {
			json_decref(a);
			a = NULL;
			break;
		}
		char id[24], label[RD_NAME_MAX + RD_EXT_MAX + 8];
		snprintf(id, sizeof id, "%llu", (unsigned long long)item.id);
		const char *name = kind == F_PRODUCT ? x->pr.name : kind == F_CUSTOMER ? x->c.name : x->p.name;
		const char *ext = kind == F_PRODUCT ? x->pr.external_id : kind == F_CUSTOMER ? x->c.external_id : x->p.external_id;
		snprintf(label, sizeof label, "%s%s%s%s", name, *ext ? " (" : "", ext, *ext ? ")" : "");
		json_array_append_new(a, option(id, label, chosen && !strcmp(chosen, id)));
	}
	rd_iter_close(&it);
	free(x);
	return a;
}

static json_t *enum_choices(const struct rd_entity *e, const char *name, const char *chosen, bool required)
{
	const struct rd_field *f = rd_entity_field(e, name);
	json_t *a = json_array();
	if (required || !f)
		json_array_append_new(a, option("", "choose one", !chosen || !*chosen));
	for (size_t i = 1; f && f->names && f->names[i]; i++)
		json_array_append_new(a, option(f->names[i], f->names[i],
						chosen ? !strcmp(chosen, f->names[i]) : !required && i == 1));
	return a;
}

/* A stored record's fields as the form's text. */
static json_t *record_values(struct web *w, const struct fdef *def, const void *obj)
{
	json_t *j = rd_entity_to_json(def->e, obj), *out = json_object();
	for (const struct ffield *f = def->fields; f->name; f++) {
		json_t *v = json_object_get(j, f->name);
		char buf[64];
		const char *s = "";
		if (f->kind == F_PERCENT) {
			rd_money_decimal(rd_vendor_max_discount(obj), "EUR", buf, sizeof buf); /* basis points: 12.50 */
			s = buf;
		} else if (f->kind == F_PRICE) {
			const struct rd_product *p = obj;
			for (int i = 0; i < p->n_prices; i++)
				if (p->prices[i].term == 1 /* annual */ && !strcmp(p->prices[i].currency, w->vendor.currency)) {
					rd_money_decimal(p->prices[i].amount, p->prices[i].currency, buf, sizeof buf);
					s = buf;
				}
		} else if (json_is_string(v)) {
			s = json_string_value(v);
		} else if (json_is_integer(v) && json_integer_value(v)) {
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			s = buf;
		}
		json_object_set_new(out, f->name, json_string(s));
	}
	json_decref(j);
	return out;
}

/* The form's page: values (taken) the fields' text, e the last refusal (or NULL). */
static int form_page(struct web *w, const struct fdef *def, uint64_t id, json_t *values, const struct rd_serr *e)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0) {
		json_decref(values);
		return rc;
	}
	char title[96], action[96], label[96];
	snprintf(title, sizeof title, "%s %s", id ? "Change the" : "Add a", def->one);
	if (def->title)
		snprintf(title, sizeof title, "%s", def->title);
	if (id && def->res != RD_RES_VENDOR)
		snprintf(action, sizeof action, "%s/%llu/edit", def->base, (unsigned long long)id);
	else
		snprintf(action, sizeof action, "%s", def->base);
	json_t *fields = json_array();
	char top[300] = ""; /* the refusal as its field says it */
	for (const struct ffield *f = def->fields; f->name; f++) {
		const char *v = json_string_value(json_object_get(values, f->name));
		v = v ? v : "";
		bool wrong = e && e->field && (!strcmp(e->field, f->name) ||
					       (f->kind == F_PRICE && !strcmp(e->field, "prices")));
		json_t *x = json_pack("{s:s, s:s, s:s, s:b, s:b}", "name", f->name, "label", f->label, "value", v, "required",
				      f->required, "wrong", wrong);
		if (f->hint)
			json_object_set_new(x, "hint", json_string(f->hint));
		if (wrong) {
			/* The sentence begins with the field's own name: say it as the label does. */
			size_t n = strlen(f->name);
			const char *m = e->message;
			char said[300];
			bool listed = f->kind == F_PARTNER || f->kind == F_DISTRIBUTOR || f->kind == F_PRODUCT ||
				      f->kind == F_CUSTOMER;
			if (listed && (strstr(m, " names no ") || strstr(m, "must be the id of")))
				/* "customer_id names no customer": a choice from the list, gone meanwhile */
				snprintf(said, sizeof said, "Choose the %s from the list: the one sent is not one of yours%s",
					 f->kind == F_DISTRIBUTOR ? "distributor" : f->kind == F_PRODUCT ? "product"
					 : f->kind == F_CUSTOMER ? "customer" : "partner",
					 f->kind == F_DISTRIBUTOR ? " or not a distributor" : "");
			else if (!strncmp(m, f->name, n) && m[n] == ' ')
				snprintf(said, sizeof said, "%s %s", f->label, m + n + 1);
			else
				snprintf(said, sizeof said, "%s", m);
			if (said[0] >= 'a' && said[0] <= 'z')
				said[0] = (char)(said[0] - 'a' + 'A');
			/* "problem", not "error": a field without one must not show the page's */
			json_object_set_new(x, "problem", json_string(said));
			snprintf(top, sizeof top, "%s", said);
		}
		json_t *options = NULL;
		const char *type = "text";
		switch (f->kind) {
		case F_ENUM: options = enum_choices(def->e, f->name, id || e ? v : NULL, f->required); break;
		case F_PARTNER:
		case F_DISTRIBUTOR:
		case F_PRODUCT:
		case F_CUSTOMER:
			options = record_choices(w, t, f->kind, v, f->required);
			if (!options) {
				type = "number";
				json_object_set_new(x, "hint", json_string("Its number: the one in its page's address."));
			}
			break;
		case F_EMAIL: type = "email"; break;
		case F_NUMBER: type = "number"; break;
		case F_DATE: type = "date"; break;
		case F_PERCENT: json_object_set_new(x, "inputmode", json_string("decimal")); break;
		case F_PRICE: {
			char hint[128];
			snprintf(hint, sizeof hint, "In %s, such as 1200 or 1200.50; renewal quotes are priced from it.",
				 w->vendor.currency);
			json_object_set_new(x, "hint", json_string(hint));
			json_object_set_new(x, "inputmode", json_string("decimal"));
			break;
		}
		case F_TEXT: {
			size_t max = text_bytes(def->e, f->name);
			if (max) {
				char s[24];
				snprintf(s, sizeof s, "%zu", max);
				json_object_set_new(x, "maxbytes", json_string(s));
			}
			break;
		}
		}
		if (f->kind == F_EMAIL) {
			size_t max = text_bytes(def->e, f->name);
			char s[24];
			snprintf(s, sizeof s, "%zu", max);
			json_object_set_new(x, "maxbytes", json_string(s));
		}
		if (options)
			json_object_set_new(x, "options", options);
		/* Its hint and its error, read with the field. */
		bool hint = json_object_get(x, "hint") != NULL;
		if (hint || wrong) {
			char describe[160];
			snprintf(describe, sizeof describe, "%s%s%s%s%s%s%s", hint ? "f-" : "", hint ? f->name : "",
				 hint ? "-hint" : "", hint && wrong ? " " : "", wrong ? "f-" : "", wrong ? f->name : "",
				 wrong ? "-error" : "");
			json_object_set_new(x, "describedby", json_string(describe));
		}
		json_object_set_new(x, "type", json_string(type));
		json_array_append_new(fields, x);
	}
	rd_txn_end(t);
	json_decref(values);
	json_t *ctx = rd_console_page_ctx(w, title, def->list ? def->list : "/vendor");
	json_object_set_new(ctx, "fields", fields);
	json_object_set_new(ctx, "action", json_string(action));
	json_object_set_new(ctx, "csrf", json_string(w->csrf));
	snprintf(label, sizeof label, "%s the %s", id ? "Save" : "Add", def->one);
	json_object_set_new(ctx, "submit", json_string(label));
	if (def->list) {
		json_object_set_new(ctx, "back", json_string(def->list));
		snprintf(label, sizeof label, "Back to the %ss", def->one);
		json_object_set_new(ctx, "back_label", json_string(label));
	}
	if (def->res == RD_RES_CONTRACT && rd_console_may(w, RD_RES_CUSTOMER, RD_ACT_CREATE))
		json_object_set_new(ctx, "add_customer", json_true());
	if (e) {
		char text[320];
		snprintf(text, sizeof text, "The %s %s not saved. %s", def->one, def->res == RD_RES_VENDOR ? "were" : "was",
			 *top ? top : e->message);
		json_object_set_new(ctx, "error", json_string(text));
	}
	if (!e && def->res == RD_RES_VENDOR && rd_req_query(w->req, "saved"))
		json_object_set_new(ctx, "notice", json_string("The settings are saved."));
	rd_console_page(w, e ? rd_serr_status(e->rc) : 200, "vendor_record", ctx);
	return 0;
}

/* Where a saved record is shown. */
static void saved_redirect(struct rd_req *req, const struct fdef *def, uint64_t id)
{
	char to[96];
	if (def->res == RD_RES_CONTRACT || def->res == RD_RES_CUSTOMER)
		snprintf(to, sizeof to, "%s/%llu", def->base, (unsigned long long)id);
	else
		snprintf(to, sizeof to, "%s", def->base);
	rd_web_redirect(req, to);
}

static bool begin(struct rd_req *req, struct web *w, const struct fdef *def, enum rd_action act)
{
	return def && rd_console_begin(req, w) && rd_console_allowed(w, def->res, act);
}

/* GET .../new and .../{id}/edit */
static int form_get(struct rd_req *req, bool edit)
{
	struct web w;
	const struct fdef *def = def_of(req);
	if (!begin(req, &w, def, edit ? RD_ACT_UPDATE : RD_ACT_CREATE))
		return 0;
	if (!edit)
		return form_page(&w, def, 0, json_object(), NULL);
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	void *obj = rd_malloc(def->e->size);
	rc = id ? rd_entity_get(t, table_of(&w, def->res), def->e, w.c.who.vendor, id, obj) : RD_ENOTFOUND;
	rd_txn_end(t);
	json_t *values = rc == 0 ? record_values(&w, def, obj) : NULL;
	free(obj);
	if (rc == RD_ENOTFOUND) {
		char text[96];
		snprintf(text, sizeof text, "There is no such %s.", def->one);
		rd_web_message(&w, 404, "Not found", text);
		return 0;
	}
	if (rc < 0)
		return rc;
	return form_page(&w, def, id, values, NULL);
}

/* POST .../ (add) and .../{id}/edit (change) */
static int form_post(struct rd_req *req, bool edit)
{
	struct web w;
	const struct fdef *def = def_of(req);
	if (!def || !rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) ||
	    !rd_console_allowed(&w, def->res, edit ? RD_ACT_UPDATE : RD_ACT_CREATE))
		return 0;
	uint64_t id = edit ? rd_parse_id(rd_req_param(req, "id")) : 0;
	if (edit && !id) {
		rd_web_message(&w, 404, "Not found", "There is no such record.");
		return 0;
	}
	struct rd_record_text text[16];
	size_t n = 0;
	json_t *values = json_object();
	for (const struct ffield *f = def->fields; f->name && n < sizeof text / sizeof *text; f++) {
		const char *v = rd_form(req, f->name);
		if (!v)
			continue; /* not sent: left as it is */
		text[n++] = (struct rd_record_text){ f->name, v };
		json_object_set_new(values, f->name, json_string(v));
	}
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user };
	struct rd_serr e = { 0 };
	uint64_t saved = 0;
	int rc = rd_record_save(w.app, &who, w.c.who.role, &w.vendor, def->res, id, text, n, &saved, &e);
	if (rc == 0) {
		json_decref(values);
		saved_redirect(req, def, saved);
		return 0;
	}
	if (rc == RD_ENOTFOUND) {
		json_decref(values);
		rd_web_message(&w, 404, "Not found", "There is no such record.");
		return 0;
	}
	if (rc == RD_EINVAL || rc == RD_EEXISTS)
		return form_page(&w, def, id, values, &e);
	json_decref(values);
	return rc;
}

int rd_page_vendor_record_new(struct rd_req *req)
{
	return form_get(req, false);
}

int rd_page_vendor_record_edit(struct rd_req *req)
{
	return form_get(req, true);
}

int rd_page_vendor_record_create(struct rd_req *req)
{
	return form_post(req, false);
}

int rd_page_vendor_record_update(struct rd_req *req)
{
	return form_post(req, true);
}

/* ---- the vendor's settings ------------------------------------------------------------------ */

int rd_page_vendor_settings(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_VENDOR, RD_ACT_UPDATE))
		return 0;
	json_t *values = record_values(&w, &settings_def, &w.vendor);
	return form_page(&w, &settings_def, w.vendor.id, values, NULL);
}

int rd_page_vendor_settings_post(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_VENDOR, RD_ACT_UPDATE))
		return 0;
	struct rd_vendor_text text[16];
	size_t n = 0;
	json_t *values = json_object();
	for (const struct ffield *f = settings_fields; f->name && n < sizeof text / sizeof *text; f++) {
		const char *v = rd_form(req, f->name);
		if (!v)
			continue;
		text[n++] = (struct rd_vendor_text){ f->name, v };
		json_object_set_new(values, f->name, json_string(v));
	}
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user };
	struct rd_serr e = { 0 };
	struct rd_vendor *v = rd_malloc(sizeof *v);
	int rc = rd_vendor_settings_save(w.app, &who, text, n, v, &e);
	free(v);
	if (rc == 0) {
		json_decref(values);
		rd_web_redirect(req, "/vendor/settings?saved=1");
		return 0;
	}
	if (rc == RD_EINVAL)
		return form_page(&w, &settings_def, w.vendor.id, values, &e);
	json_decref(values);
	return rc;
}
