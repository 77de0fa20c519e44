/*
 * console_users.c: people's accounts, from the pages.
 *   GET  /vendor/users, /partner/users         the users the role sees (the vendor's admins:
 *                                              all; a partner admin: its partner's)
 *   POST /vendor/users, /partner/users         create: email, name, role, partner_id
 *                                              (partner roles, vendor side), password
 *   POST /vendor/users/{id}, /partner/users/{id}
 *                                              action=role (role, partner_id), disable, enable
 * Who may see, create or change users at all is the role matrix's (users:
 * read, create, update), as for /api/v1/users; which users and roles is
 * core/services/users.c's, the rule the API uses.  Every form carries the
 * session's CSRF token; a refusal shows the page again with a sentence
 * naming the field.
 */
#include <stdlib.h>
#include <string.h>

#include "services/users.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/console_work.h"
#include "web/web.h"

#define USERS_SHOWN 500

static struct rd_user_caller caller_of(const struct web *w)
{
	return (struct rd_user_caller){ .vendor = w->c.who.vendor, .user = w->c.who.user, .partner = w->c.who.partner,
					.role = w->c.who.role };
}

static bool begin(struct rd_req *req, struct web *w, bool partner)
{
	if (rd_web_user(req, w) < 0)
		return false;
	if (rd_role_is_partner(w->c.who.role) != partner) {
		rd_web_redirect(req, partner ? "/vendor/users" : "/partner/users");
		return false;
	}
	return true;
}

static json_t *role_choices(struct web *w, uint8_t chosen)
{
	json_t *a = json_array();
	bool partner_admin = w->c.who.role == RD_ROLE_PARTNER_ADMIN;
	for (uint8_t r = 1; r <= 5; r++)
		if (!partner_admin || rd_role_is_partner(r))
			json_array_append_new(a, json_pack("{s:s, s:b}", "value", rd_role_name(r), "selected", r == chosen));
	return a;
}

/* The page; error and field: the last form's refusal (form: its values to show again). */
static int users_page(struct web *w, bool partner, int status, const char *error, const char *field)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w->app->domain;
	struct rd_user_caller by = caller_of(w);
	bool may_create = rd_console_may(w, RD_RES_USER, RD_ACT_CREATE);
	bool may_change = rd_console_may(w, RD_RES_USER, RD_ACT_UPDATE) &&
			  (rd_authz(w->c.who.role, RD_RES_USER, RD_ACT_UPDATE) == RD_SCOPE_ALL ||
			   w->c.who.role == RD_ROLE_PARTNER_ADMIN);
	json_t *rows = json_array(), *partners = json_array();
	struct rd_iter it;
	struct rd_item item;
	if (!partner) { /* the partners a vendor's admin gives partner roles to */
		struct rd_partner *p = rd_malloc(sizeof *p);
		rc = rd_iter_records(&it, t, d->partners, w->c.who.vendor, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_partner, item.val, item.len, p) == 0)
				json_array_append_new(partners, json_pack("{s:I, s:s}", "id", (json_int_t)p->id, "name", p->name));
		if (rc >= 0)
			rd_iter_close(&it);
		free(p);
	}
	struct rd_user *u = rd_malloc(sizeof *u);
	if (rc >= 0)
		rc = rd_iter_records(&it, t, d->users, w->c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_user, item.val, item.len, u) < 0 || !rd_user_visible(&by, u) ||
		    json_array_size(rows) >= USERS_SHOWN)
			continue;
		struct rd_partner pa;
		bool self = u->id == w->c.who.user;
		json_array_append_new(rows, json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:o}", "id", (json_int_t)u->id,
						      "email", u->email, "name", u->name, "role", rd_role_name(u->role),
						      "partner", rd_console_partner_name(t, w, u->partner_id, &pa), "disabled",
						      u->disabled != 0, "self", self, "may_change", may_change && !self, "roles",
						      role_choices(w, u->role)));
		/* Its partner chosen in the row's form. */
		json_t *mine = json_array(), *p;
		size_t k;
		json_array_foreach(partners, k, p) {
			json_t *c = json_copy(p);
			json_object_set_new(c, "selected",
					    json_boolean((uint64_t)json_integer_value(json_object_get(p, "id")) == u->partner_id));
			json_array_append_new(mine, c);
		}
		json_object_set_new(json_array_get(rows, json_array_size(rows) - 1), "partners", mine);
	}
	if (rc >= 0)
		rd_iter_close(&it);
	free(u);
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(rows);
		json_decref(partners);
		return rc;
	}
	const char *base = partner ? "/partner/users" : "/vendor/users";
	json_t *ctx = rd_console_page_ctx(w, "Users", base);
	json_object_set_new(ctx, "rows", rows);
	json_object_set_new(ctx, "partners", partners);
	json_object_set_new(ctx, "base", json_string(base));
	json_object_set_new(ctx, "csrf", json_string(w->csrf));
	json_object_set_new(ctx, "vendor_side", json_boolean(!partner));
	if (may_create) {
		/* A refused form is shown again as it was sent: what was typed and chosen. */
		bool again = error && w->req && rd_form(w->req, "password");
		const char *email = again ? rd_form(w->req, "email") : NULL, *name = again ? rd_form(w->req, "name") : NULL;
		const char *role = again ? rd_form(w->req, "role") : NULL;
		int r = role ? rd_role_parse(role) : -1;
		uint64_t pid = again && rd_form(w->req, "partner_id") ? rd_parse_id(rd_form(w->req, "partner_id")) : 0;
		json_t *chosen = json_array(), *p;
		size_t k;
		json_array_foreach(partners, k, p) {
			json_t *c = json_copy(p);
			json_object_set_new(c, "selected",
					    json_boolean(pid && (uint64_t)json_integer_value(json_object_get(p, "id")) == pid));
			json_array_append_new(chosen, c);
		}
		json_object_set_new(ctx, "create", json_pack("{s:s, s:s, s:o, s:o}", "email", email ? email : "", "name",
							     name ? name : "", "roles", role_choices(w, r > 0 ? (uint8_t)r : 0),
							     "partners", chosen));
	}
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	if (field)
		json_object_set_new(ctx, "error_field", json_string(field));
	rd_web_mark_lists(ctx);
	rd_web_page(w, status, partner ? "partner_users" : "vendor_users", partner ? w->c.who.partner : 0, ctx);
	return 0;
}

/* A field as the form labels it (the refusals name the API's fields). */
static const char *field_label(const char *field)
{
	static const char *const labels[][2] = { { "email", "E-mail" }, { "name", "Name" }, { "role", "Role" },
						 { "partner_id", "Partner" }, { "password", "Password" },
						 { "action", "Action" } };
	for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
		if (!strcmp(field, labels[i][0]))
			return labels[i][1];
	return field;
}

static int refused(struct web *w, bool partner, const struct rd_serr *e)
{
	char text[320];
	if (e->field)
		snprintf(text, sizeof text, "%s: %s", field_label(e->field), e->message);
	else
		snprintf(text, sizeof text, "%s", e->message);
	return users_page(w, partner, rd_serr_status(e->rc), text, e->field);
}

/* The role (and partner) a form names: 0, or -1 with the refusal in e. */
static int form_role(struct web *w, bool partner, struct rd_user_change *ch, struct rd_serr *e)
{
	const char *role = rd_form(w->req, "role"), *pid = rd_form(w->req, "partner_id");
	int r = role ? rd_role_parse(role) : -1;
	if (r < 0 || (partner && !rd_role_is_partner((uint8_t)r)))
		return rd_serr_set(e, RD_EINVAL, "invalid", "role", "choose one of the roles listed");
	ch->role = (uint8_t)r;
	ch->set_role = true;
	if (partner) {
		ch->partner_id = w->c.who.partner; /* a partner admin's users are its partner's */
	} else if (rd_role_is_partner(ch->role)) {
		if (!pid || !(ch->partner_id = rd_parse_id(pid)))
			return rd_serr_set(e, RD_EINVAL, "invalid", "partner_id", "a partner role needs one of the partners listed");
	}
	return 0;
}

struct create {
	struct web w;
	bool partner;
	char *password;
	struct rd_user_change ch;
	bool gone; /* still_allowed found the caller gone */
};

static void hash_work(void *arg)
{
	struct create *c = arg;
	if (rd_password_hash(c->password, c->ch.password_hash) < 0)
		c->ch.password_hash[0] = 0;
}

/* The save's guard: the caller checked again in the save's own write (a
 * disabled or re-roled admin, a revoked session, committed meanwhile by
 * this daemon, renewctl beside it or another node, stops the save). */
static int still_allowed(struct rd_txn *t, void *arg)
{
	struct create *c = arg;
	const char *why = NULL;
	int rc = rd_call_recheck(&c->w.c, t, &why);
	c->gone = rc == RD_EINVAL;
	return rc;
}

static void hash_done(struct rd_req *req, void *arg)
{
	struct create *c = arg;
	if (req) {
		/* The password was hashed after the caller was checked. */
		c->w.req = req;
		struct rd_user_caller by = caller_of(&c->w);
		struct rd_user *u = rd_malloc(sizeof *u);
		struct rd_serr e;
		int rc = c->ch.password_hash[0] ? rd_user_save_guarded(c->w.app, &by, &c->ch, u, &e, still_allowed, c) : -1;
		if (rc == 0)
			rd_web_redirect(req, c->partner ? "/partner/users" : "/vendor/users");
		else if (c->gone)
			rd_web_redirect(req, "/login");
		else if (!c->ch.password_hash[0])
			rd_web_message(&c->w, 500, "Something went wrong", "The password could not be hashed.");
		else if (e.code && strcmp(e.code, "internal"))
			refused(&c->w, c->partner, &e);
		else
			rd_web_message(&c->w, 500, "Something went wrong", "The user could not be saved.");
		free(u);
	}
	memset(c->password, 0, strlen(c->password));
	free(c->password);
	memset(&c->ch, 0, sizeof c->ch);
	free(c);
}

static int create_post(struct rd_req *req, bool partner)
{
	struct web w;
	if (!begin(req, &w, partner) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_USER, RD_ACT_CREATE))
		return 0;
	struct rd_serr e = { 0 };
	struct create *c = rd_calloc(1, sizeof *c);
	const char *email = rd_form(req, "email"), *name = rd_form(req, "name"), *pw = rd_form(req, "password");
	const char *weak = pw ? rd_password_weak(pw) : "password is required (10-256 characters)";
	if (!email || !*email || strlen(email) >= sizeof c->ch.email)
		rd_serr_set(&e, RD_EINVAL, "invalid", "email", "give the person's e-mail address");
	else if (!name || !*name || strlen(name) >= sizeof c->ch.name)
		rd_serr_set(&e, RD_EINVAL, "invalid", "name", "give the person's name (at most 127 bytes)");
	else if (form_role(&w, partner, &c->ch, &e) == 0 && weak)
		rd_serr_set(&e, RD_EINVAL, "invalid", "password", "%s", weak);
	if (e.rc) {
		free(c);
		return refused(&w, partner, &e);
	}
	snprintf(c->ch.email, sizeof c->ch.email, "%s", email);
	snprintf(c->ch.name, sizeof c->ch.name, "%s", name);
	c->w = w;
	c->partner = partner;
	c->password = rd_strdup(pw);
	return rd_req_work(req, hash_work, hash_done, c);
}

static int change_post(struct rd_req *req, bool partner)
{
	struct web w;
	if (!begin(req, &w, partner) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_USER, RD_ACT_UPDATE))
		return 0;
	const char *action = rd_form(req, "action");
	struct rd_user_change ch = { .id = rd_parse_id(rd_req_param(req, "id")) };
	struct rd_serr e = { 0 };
	if (action && !strcmp(action, "role"))
		form_role(&w, partner, &ch, &e);
	else if (action && (!strcmp(action, "disable") || !strcmp(action, "enable")))
		ch.set_disabled = true, ch.disabled = !strcmp(action, "disable");
	else
		rd_serr_set(&e, RD_EINVAL, "invalid", "action", "choose role, disable or enable");
	if (e.rc)
		return refused(&w, partner, &e);
	if (!ch.id) {
		rd_web_message(&w, 404, "Not found", "There is no such user.");
		return 0;
	}
	struct rd_user_caller by = caller_of(&w);
	struct rd_user *u = rd_malloc(sizeof *u);
	int rc = rd_user_save(w.app, &by, &ch, u, &e);
	free(u);
	if (rc == RD_ENOTFOUND) {
		rd_web_message(&w, 404, "Not found", "There is no such user.");
		return 0;
	}
	if (rc == RD_EINVAL || rc == RD_EEXISTS)
		return refused(&w, partner, &e);
	if (rc < 0)
		return rc;
	rd_web_redirect(req, partner ? "/partner/users" : "/vendor/users");
	return 0;
}

int rd_page_vendor_users(struct rd_req *req)
{
	struct web w;
	if (!begin(req, &w, false) || !rd_console_allowed(&w, RD_RES_USER, RD_ACT_READ))
		return 0;
	return users_page(&w, false, 200, NULL, NULL);
}

int rd_page_partner_users(struct rd_req *req)
{
	struct web w;
	if (!begin(req, &w, true) || !rd_console_allowed(&w, RD_RES_USER, RD_ACT_READ))
		return 0;
	return users_page(&w, true, 200, NULL, NULL);
}

int rd_page_vendor_users_post(struct rd_req *req)
{
	return create_post(req, false);
}

int rd_page_partner_users_post(struct rd_req *req)
{
	return create_post(req, true);
}

int rd_page_vendor_user_post(struct rd_req *req)
{
	return change_post(req, false);
}

int rd_page_partner_user_post(struct rd_req *req)
{
	return change_post(req, true);
}
