/*
 * http.c: the request parsers that read outside bytes before any handler
 * decides (core/http/server.c, core/edge/call.c, core/web/web.c): query
 * strings (rd_req_query for every parameter name the routes read, and
 * rd_req_query_unknown), the Cookie header (rd_cookie_find for renewd's
 * cookies, through rd_req_header) and url-encoded form bodies (rd_form).
 * The input is TARGET \n COOKIE \n FORM-BODY, on a request that never came
 * over a connection (rd_req_detached).
 */
#include <stdlib.h>
#include <string.h>

#include "edge/call.h"
#include "fuzz.h"
#include "http/http.h"
#include "web/web.h"

static const char *const params[] = {
	"attention", "by", "colour", "currency", "cursor", "days", "disabled", "done", "dry_run", "enabled", "end_from",
	"end_to", "failed", "format", "from", "kind", "limit", "line", "name", "object", "object_id", "option",
	"partner", "partner_id", "product_line", "state", "subscription_id", "table", "to", "user", "vendor", "before",
	"q", "status", "", "a b", NULL,
};
static const char *const cookies[] = { "rd_session", "rd_customer", "rd_csrf", "rd_partner", "", NULL };
static const char *const fields[] = { "csrf", "email", "password", "vendor", "amount", "reason", "", NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *target, *rest, *cookie, *body;
	size_t rest_len, body_len;
	fz_split(data, size, '\n', &target, &rest, &rest_len);
	fz_split((const uint8_t *)rest, rest_len, '\n', &cookie, &body, &body_len);
	struct rd_req *req = rd_req_detached(target, strlen(target), cookie[0] ? cookie : NULL, body, body_len);
	for (size_t i = 0; params[i]; i++) {
		const char *v = rd_req_query(req, params[i]);
		if (v)
			(void)strlen(v);
		(void)rd_parse_id(v);
	}
	(void)rd_req_query_unknown(req, params);
	(void)rd_req_path(req);
	const char *h = rd_req_header(req, "cookie");
	for (size_t i = 0; cookies[i]; i++) {
		size_t n = 0;
		const char *v = rd_cookie_find(h, cookies[i], &n);
		if (v && n)
			(void)*(volatile const char *)(v + n - 1);
	}
	for (size_t i = 0; fields[i]; i++) {
		const char *v = rd_form(req, fields[i]);
		if (v)
			(void)strlen(v);
	}
	rd_req_detached_free(req);
	free(target);
	free(rest);
	free(cookie);
	free(body);
	return 0;
}
