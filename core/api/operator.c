/*
 * operator.c: the platform operator's API, /api/v1/operator/ (the rules are
 * services/vendors.c's).  An operator token (renewctl operator token create)
 * is the only credential these routes take; a vendor's token or session is
 * refused with 403, and an operator token opens no vendor's route.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "services/vendors.h"
#include "util/err.h"

/* Authenticates the operator; on failure replies and returns false. */
static bool begin(struct rd_req *req, struct rd_operator *op)
{
	const char *auth = rd_req_header(req, "authorization");
	const char *token = auth && strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
	struct rd_serr e;
	if (rd_operator_verify(rd_req_app(req), token, op, &e) == 0)
		return true;
	if (e.rc == RD_EINVAL) {
		rd_reply_header(req, "www-authenticate", "Bearer");
		rd_reply_error(req, 401, e.code, NULL, "%s", e.message);
	} else {
		rd_reply_serr(req, &e);
	}
	return false;
}

static json_t *vendor_json(const struct rd_vendor *v)
{
	json_t *j = json_object();
	json_object_set_new(j, "id", json_integer((json_int_t)v->id));
	json_object_set_new(j, "name", json_string(v->name));
	json_object_set_new(j, "slug", json_string(v->slug));
	json_object_set_new(j, "currency", json_string(v->currency));
	json_object_set_new(j, "suspended", json_boolean(v->suspended));
	if (v->suspended) {
		char at[21];
		rd_time_format(v->suspended_at, at);
		json_object_set_new(j, "suspended_at", json_string(at));
		json_object_set_new(j, "suspended_reason", json_string(v->suspended_reason));
	}
	return j;
}

static json_t *row(void *ctx, const void *obj)
{
	(void)ctx;
	return vendor_json(obj);
}

int rd_api_operator_vendors_list(struct rd_req *req)
{
	struct rd_operator op;
	if (!begin(req, &op))
		return 0;
	static const char *const known[] = { "limit", "cursor", NULL };
	struct rd_page p;
	if (rd_page_begin(&p, req, known) < 0)
		return 0;
	struct call c = { .req = req, .app = rd_req_app(req) }; /* tenant 0: the vendors' table */
	return rd_page_records(&p, &c, c.app->domain->vendors, &rd_entity_vendor, row, NULL);
}

int rd_api_operator_vendor_get(struct rd_req *req)
{
	struct rd_operator op;
	if (!begin(req, &op))
		return 0;
	struct rd_vendor v;
	struct rd_serr e;
	if (rd_vendor_get(rd_req_app(req), rd_parse_id(rd_req_param(req, "id")), &v, &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_json(req, 200, vendor_json(&v));
	return 0;
}

/* ---- create: the admin's password is hashed on the thread pool -------------------------- */

struct create {
	struct rd_operator op;
	json_t *body;
	struct rd_vendor_new n;
	char *password;
	char hash[RD_PWHASH_MAX];
	bool hashed;
};

static void create_free(struct create *x)
{
	if (x->password) {
		sodium_memzero(x->password, strlen(x->password));
		free(x->password);
	}
	sodium_memzero(x->hash, sizeof x->hash);
	json_decref(x->body);
	free(x);
}

static void create_hash(void *arg)
{
	struct create *x = arg;
	x->hashed = rd_password_hash(x->password, x->hash) == 0;
}

static void create_done(struct rd_req *req, void *arg)
{
	struct create *x = arg;
	if (!req) {
		create_free(x);
		return;
	}
	struct rd_serr e;
	if (x->password && !x->hashed) {
		rd_reply_error(req, 500, "internal", NULL, "the password could not be hashed");
		create_free(x);
		return;
	}
	x->n.admin_password_hash = x->password ? x->hash : NULL;
	struct rd_vendor *v = rd_malloc(sizeof *v);
	struct rd_user *u = rd_malloc(sizeof *u);
	char secret[RD_TOKEN_LEN + 1];
	if (rd_vendor_create(rd_req_app(req), &x->op, &x->n, v, u, secret, &e) < 0) {
		rd_reply_serr(req, &e);
	} else {
		json_t *j = vendor_json(v);
		json_object_set_new(j, "admin", json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)u->id, "email",
							  u->email, "name", u->name, "role", "vendor-admin", "token", secret));
		sodium_memzero(secret, sizeof secret);
		rd_reply_json(req, 201, j);
	}
	free(v);
	free(u);
	create_free(x);
}

int rd_api_operator_vendors_create(struct rd_req *req)
{
	struct rd_operator op;
	json_t *body;
	if (!begin(req, &op) || rd_req_json(req, &body) < 0)
		return 0;
	struct create *x = rd_calloc(1, sizeof *x);
	x->op = op;
	x->body = body;
	json_t *admin = json_object_get(body, "admin");
	const char *bad = NULL;
	const char *const top[] = { "name", "slug", "currency", "admin", NULL };
	const char *const inner[] = { "email", "name", "password", NULL };
	const char *key;
	json_t *val;
	json_object_foreach(body, key, val) {
		bool known = false;
		for (size_t i = 0; top[i]; i++)
			known |= !strcmp(key, top[i]);
		if (!known || (strcmp(key, "admin") ? !json_is_string(val) : !json_is_object(val)))
			bad = key;
	}
	json_object_foreach(admin, key, val) {
		bool known = false;
		for (size_t i = 0; inner[i]; i++)
			known |= !strcmp(key, inner[i]);
		if (!known || !json_is_string(val))
			bad = "admin";
	}
	if (bad || !json_is_object(admin)) {
		rd_reply_error(req, 400, "invalid", bad ? bad : "admin",
			       "the body is {\"name\", \"slug\", \"currency\" (strings), \"admin\": {\"email\", \"name\", "
			       "\"password\"}}: %s", bad ? "an unknown member or one of the wrong type" : "admin is missing");
		create_free(x);
		return 0;
	}
	x->n = (struct rd_vendor_new){
		.name = json_string_value(json_object_get(body, "name")),
		.slug = json_string_value(json_object_get(body, "slug")),
		.currency = json_string_value(json_object_get(body, "currency")),
		.admin_email = json_string_value(json_object_get(admin, "email")),
		.admin_name = json_string_value(json_object_get(admin, "name")),
	};
	struct rd_serr e;
	if (rd_vendor_new_check(&x->n, &e) < 0) {
		rd_reply_serr(req, &e);
		create_free(x);
		return 0;
	}
	const char *pw = json_string_value(json_object_get(admin, "password"));
	if (pw) {
		const char *weak = rd_password_weak(pw);
		if (weak) {
			rd_reply_error(req, 400, "invalid", "admin.password", "%s", weak);
			create_free(x);
			return 0;
		}
		x->password = rd_strdup(pw);
		sodium_memzero((void *)pw, strlen(pw));
		int rc = rd_req_work(req, create_hash, create_done, x);
		if (rc < 0)
			create_free(x);
		return rc;
	}
	create_done(req, x);
	return 0;
}

static int suspend(struct rd_req *req, bool on)
{
	struct rd_operator op;
	json_t *body = NULL;
	if (!begin(req, &op))
		return 0;
	size_t len;
	rd_req_body(req, &len);
	if (len && rd_req_json(req, &body) < 0)
		return 0;
	json_t *r = json_object_get(body, "reason");
	if (r && !json_is_string(r)) {
		rd_reply_error(req, 400, "invalid", "reason", "reason must be a string");
		json_decref(body);
		return 0;
	}
	struct rd_vendor v;
	struct rd_serr e;
	if (rd_vendor_suspend(rd_req_app(req), &op, rd_parse_id(rd_req_param(req, "id")), on, json_string_value(r), &v,
			      &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_json(req, 200, vendor_json(&v));
	json_decref(body);
	return 0;
}

int rd_api_operator_vendor_suspend(struct rd_req *req)
{
	return suspend(req, true);
}

int rd_api_operator_vendor_resume(struct rd_req *req)
{
	return suspend(req, false);
}
