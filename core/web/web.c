/* web.c: sessions, CSRF, forms, rendering and headers for the pages. */
#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "edge/portal.h"
#include "plugin/host.h"
#include "store/store.h"
#include "template/mustache.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "web/web.h"

void rd_web_headers(struct rd_req *req)
{
	/* Scripts and styles only from renewd itself; never framed. */
	rd_reply_header(req, "content-security-policy",
			"default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
	rd_reply_header(req, "x-frame-options", "DENY");
	rd_reply_header(req, "x-content-type-options", "nosniff");
	rd_reply_header(req, "referrer-policy", "no-referrer");
}

void rd_web_redirect(struct rd_req *req, const char *to)
{
	rd_reply_header(req, "location", to);
	rd_web_headers(req);
	rd_reply_raw(req, 303, "text/html; charset=utf-8", "", 0);
}

static const char *cookie(struct rd_req *req, const char *name)
{
	size_t len;
	const char *v = rd_cookie_find(rd_req_header(req, "cookie"), name, &len);
	if (!v)
		return NULL;
	char *out = rd_req_alloc(req, len + 1);
	memcpy(out, v, len);
	out[len] = 0;
	return out;
}

/* The CSRF token of a session: a keyed hash of its stored hash, so it needs
 * no storage and changes with each session. */
static void csrf_of(const char *session_hash, char out[65])
{
	uint8_t h[32];
	static const uint8_t key[] = "renewd csrf v1 ................."; /* 32 bytes: a domain separator */
	crypto_generichash(h, sizeof h, (const uint8_t *)session_hash, strlen(session_hash), key, 32);
	sodium_bin2hex(out, 65, h, sizeof h);
}

/* A look-up the store failed (a database lost, a statement past its
 * timeout, an LMDB error): the store's trouble, not the caller's.  503 with
 * Retry-After; the session (or link) is kept, never answered as unknown. */
void rd_web_unavailable(struct web *w)
{
	rd_reply_header(w->req, "retry-after", "5");
	rd_web_message(w, 503, "Briefly unavailable",
		       "The service is briefly unavailable. Nothing is lost: reload this page in a few seconds.");
}

int rd_web_user(struct rd_req *req, struct web *w)
{
	memset(w, 0, sizeof *w);
	w->req = req;
	w->app = rd_req_app(req);
	const char *token = cookie(req, "rd_session");
	char hash[RD_TOKEN_HASH_HEX];
	int rc = token && rd_token_hash(token, hash) ? rd_call_session(req, &w->c, token) : RD_EINVAL;
	if (rc == RD_EINVAL) { /* no session, or not one that is valid */
		rd_web_redirect(req, "/login");
		return RD_EINVAL;
	}
	if (rc < 0) {
		rd_web_unavailable(w);
		return rc;
	}
	w->user = true;
	w->vendor = w->c.vendor;
	csrf_of(hash, w->csrf);
	return 0;
}

int rd_web_customer(struct rd_req *req, struct web *w)
{
	memset(w, 0, sizeof *w);
	w->req = req;
	w->app = rd_req_app(req);
	const char *token = cookie(req, "rd_customer");
	char hash[RD_TOKEN_HASH_HEX];
	uint64_t id;
	struct rd_txn *t;
	int rc = RD_EINVAL;
	if (token && rd_token_hash(token, hash) && (rc = rd_store_read(w->app->store, &t)) == 0) {
		rc = rd_index_find(t, w->app->domain->tokens, "hash", 0, hash, strlen(hash) + 1, &id);
		if (rc == 0)
			rc = rd_entity_get(t, w->app->domain->tokens, &rd_entity_token, 0, id, &w->tok);
		if (rc == 0 && (w->tok.kind != RD_TOKEN_CUSTOMER || !rd_hash_equal(w->tok.hash, hash) || w->tok.revoked_at ||
				w->tok.expires_at <= rd_clock_now()))
			rc = RD_EINVAL;
		/* A revoked link ends its sessions too. */
		struct rd_link l;
		if (rc == 0 && (rc = rd_entity_get(t, w->app->domain->links, &rd_entity_link, 0, w->tok.link_id, &l)) == 0 &&
		    l.revoked_at)
			rc = RD_EINVAL;
		if (rc == 0)
			rc = rd_entity_get(t, w->app->domain->vendors, &rd_entity_vendor, 0, w->tok.vendor_id, &w->vendor);
		if (rc == 0 && w->vendor.suspended) /* by the platform operator */
			rc = RD_EINVAL;
		rd_txn_end(t);
	}
	/* Only "not found" or "not valid" says the link is not the caller's. */
	if (rc < 0 && rc != RD_EINVAL && rc != RD_ENOTFOUND) {
		rd_web_unavailable(w);
		return rc;
	}
	if (rc < 0) {
		rd_web_message(w, 401, "This page needs your renewal link",
			       "Open the link in your renewal e-mail again. Links expire after the renewal date and can be revoked.");
		return RD_EINVAL;
	}
	/* Every use of the session a link opened is audited under the link
	 * (edge/portal.h); a page that could not be audited is not served. */
	if (rd_portal_audit(w->app, req, w->tok.vendor_id, w->tok.link_id, RD_AUDIT_ACCESS, NULL) < 0) {
		rd_web_message(w, 503, "Please try again", "This page could not be opened just now.");
		return RD_EINVAL;
	}
	w->customer = true;
	csrf_of(hash, w->csrf);
	return 0;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

const char *rd_form_next(struct rd_req *req, const char *name, size_t *at)
{
	size_t len;
	const char *body = rd_req_body(req, &len), *end = body + len, *b = body + (*at < len ? *at : len);
	size_t nl = strlen(name);
	while (b < end) {
		const char *amp = memchr(b, '&', (size_t)(end - b));
		if (!amp)
			amp = end;
		const char *eq = memchr(b, '=', (size_t)(amp - b));
		if (eq && (size_t)(eq - b) == nl && !memcmp(b, name, nl)) {
			size_t vl = (size_t)(amp - eq - 1);
			char *out = rd_req_alloc(req, vl + 1), *o = out;
			for (const char *p = eq + 1; p < amp; p++) {
				if (*p == '+') {
					*o++ = ' ';
				} else if (*p == '%' && p + 2 < amp && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
					*o++ = (char)(hexv(p[1]) << 4 | hexv(p[2]));
					p += 2;
				} else {
					*o++ = *p;
				}
			}
			*o = 0;
			*at = (size_t)(amp - body) + 1;
			return out;
		}
		b = amp + 1;
	}
	*at = len;
	return NULL;
}

const char *rd_form(struct rd_req *req, const char *name)
{
	size_t at = 0;
	return rd_form_next(req, name, &at);
}

/* A urlencoded form's first field whose value, decoded, is not text
 * (UTF-8), written into name[cap] ("" when its name is not text either);
 * false when every field is text (and for a multipart form, whose handler
 * reads its parts). */
static bool form_not_text(struct rd_req *req, char *name, size_t cap)
{
	const char *type = rd_req_header(req, "content-type");
	if (type && strncmp(type, "application/x-www-form-urlencoded", 33))
		return false;
	size_t len;
	const char *b = rd_req_body(req, &len), *end = b + len;
	char *out = rd_malloc(len + 1);
	bool bad = false;
	while (b < end && !bad) {
		const char *amp = memchr(b, '&', (size_t)(end - b));
		if (!amp)
			amp = end;
		const char *eq = memchr(b, '=', (size_t)(amp - b));
		char *o = out;
		for (const char *p = eq ? eq + 1 : amp; p < amp; p++) {
			if (*p == '+') {
				*o++ = ' ';
			} else if (*p == '%' && p + 2 < amp && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
				*o++ = (char)(hexv(p[1]) << 4 | hexv(p[2]));
				p += 2;
			} else {
				*o++ = *p;
			}
		}
		json_t *j = json_stringn(out, (size_t)(o - out)); /* NULL when it is not UTF-8 */
		json_decref(j);
		if (!j) {
			bad = true;
			size_t n = eq ? (size_t)(eq - b) : 0;
			snprintf(name, cap, "%.*s", (int)(n < cap ? n : cap - 1), b);
			for (char *c = name; *c; c++) /* form names are plain: anything else is not shown */
				if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *c)) {
					name[0] = 0;
					break;
				}
		}
		b = amp + 1;
	}
	free(out);
	return bad;
}

bool rd_web_csrf_ok(struct web *w)
{
	const char *got = rd_form(w->req, "csrf");
	if (!got || strlen(got) != 64 || !rd_hash_equal(got, w->csrf)) {
		rd_web_message(w, 403, "This form has expired", "Reload the page and try again.");
		return false;
	}
	/* every form's text is UTF-8 (a browser sends a UTF-8 page's forms so): a
	 * field that is not would be stored and then read back without it */
	char field[48];
	if (form_not_text(w->req, field, sizeof field)) {
		char text[200];
		snprintf(text, sizeof text, "What was sent in %s%s%s could not be read as text: go back, check it and send the "
			 "form again.", field[0] ? "the field \"" : "a field", field, field[0] ? "\"" : "");
		rd_web_message(w, 400, "Please check what you typed", text);
		return false;
	}
	return true;
}

struct partials {
	const char *body;
	size_t len;
};

static const char *partial(void *ctx, const char *name, size_t *len)
{
	struct partials *p = ctx;
	if (strcmp(name, "body") != 0)
		return NULL;
	*len = p->len;
	return p->body;
}

void rd_web_page(struct web *w, int status, const char *name, uint64_t partner, json_t *ctx)
{
	char asset[96], err[300];
	const char *layout, *body;
	size_t llen, blen;
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc == 0) {
		snprintf(asset, sizeof asset, "page/%s.html", name);
		uint64_t vendor = w->vendor.id;
		rc = rd_plugins_asset(w->app->plugins, t, w->app->domain, vendor, partner, "page/layout.html", &layout, &llen);
		if (rc == 0)
			rc = rd_plugins_asset(w->app->plugins, t, w->app->domain, vendor, partner, asset, &body, &blen);
		/* The brand: the partner's, else the vendor's. */
		if (!json_object_get(ctx, "brand")) {
			struct rd_partner p;
			bool have = partner && rd_entity_get(t, w->app->domain->partners, &rd_entity_partner, vendor, partner, &p) == 0;
			json_object_set_new(ctx, "brand", rd_brand_json(have ? &p : NULL, &w->vendor));
		}
		rd_txn_end(t);
	}
	if (rc < 0) {
		rd_log(RD_LOG_ERROR, "web", "the branding pack has no template for %s", name);
		rd_reply_error(w->req, 500, "internal", NULL, "the page %s has no template", name);
		json_decref(ctx);
		return;
	}
	json_object_set_new(ctx, "csrf", json_string(w->csrf));
	json_object_set_new(ctx, "vendor_name", json_string(w->vendor.name));
	json_object_set_new(ctx, "signed_in", json_boolean(w->user));
	struct partials parts = { body, blen };
	char *html;
	size_t len;
	rc = rd_mustache_render(layout, llen, ctx, partial, &parts, &html, &len, err, sizeof err);
	json_decref(ctx);
	if (rc < 0) {
		rd_log(RD_LOG_ERROR, "web", "page %s: %s", name, err);
		rd_reply_error(w->req, 500, "internal", NULL, "the page %s could not be rendered", name);
		return;
	}
	rd_web_headers(w->req);
	rd_reply_raw(w->req, status, "text/html; charset=utf-8", html, len);
	free(html);
}

void rd_web_message(struct web *w, int status, const char *title, const char *text)
{
	rd_web_page(w, status, "message", 0, json_pack("{s:s, s:s}", "title", title, "text", text));
}

bool rd_web_route_error(struct rd_req *req, int status)
{
	struct web w = { .req = req, .app = rd_req_app(req) };
	if (status == 413)
		rd_web_message(&w, 413, "Too much to send",
			       "What this form sent is larger than this address takes, so nothing was saved. Go back, send "
			       "less (shorter text, a smaller file, or a file split in parts) and try again.");
	else if (status == 405)
		rd_web_message(&w, 405, "This address takes a form",
			       "It is where a form on another page is sent, not a page to open: go back to that page and use "
			       "its form, or open the page from its menu.");
	else
		rd_web_message(&w, 404, "Page not found",
			       "There is no page at this address: check it, or start again from your portal's front page "
			       "or the sign-in page.");
	return true;
}

/* GET /static/{pack}/{name}: a file of another branding pack, which its own
 * layout links to (the default pack's files are at /static/{name}). */
int rd_page_static_pack(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	const char *pack = rd_req_param(req, "pack"), *name = rd_req_param(req, "name");
	size_t n = name ? strlen(name) : 0;
	bool css = n > 4 && !strcmp(name + n - 4, ".css"), js = n > 3 && !strcmp(name + n - 3, ".js");
	if (pack && (css || js) && !strchr(name, '/')) {
		char asset[96];
		snprintf(asset, sizeof asset, "static/%s", name);
		const char *data;
		size_t len;
		if (rd_plugins_asset_of(app->plugins, pack, asset, &data, &len) == 0) {
			rd_reply_header(req, "x-content-type-options", "nosniff");
			rd_reply_raw(req, 200, css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8", data, len);
			return 0;
		}
	}
	rd_reply_error(req, 404, "not_found", "name", "no such file");
	return 0;
}

int rd_page_static(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	const char *name = rd_req_param(req, "name");
	static const struct {
		const char *name, *type;
	} files[] = { { "site.css", "text/css; charset=utf-8" }, { "portal.js", "text/javascript; charset=utf-8" } };
	for (size_t i = 0; name && i < sizeof files / sizeof *files; i++) {
		if (strcmp(files[i].name, name) != 0)
			continue;
		char asset[64];
		snprintf(asset, sizeof asset, "static/%s", name);
		const char *data;
		size_t len;
		struct rd_txn *t;
		if (rd_store_read(app->store, &t) < 0)
			break;
		int rc = rd_plugins_asset(app->plugins, t, app->domain, 0, 0, asset, &data, &len);
		rd_txn_end(t);
		if (rc < 0)
			break;
		rd_reply_header(req, "x-content-type-options", "nosniff");
		rd_reply_raw(req, 200, files[i].type, data, len);
		return 0;
	}
	rd_reply_error(req, 404, "not_found", "name", "no such file");
	return 0;
}
