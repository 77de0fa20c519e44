/*
 * console_work.c: two of the console's working pages.
 *   GET  /vendor/outbox/{id}                 one message: who, what, its delivery and its
 *                                            text, with every customer link token redacted
 *   POST /vendor/opportunities/{id}/decision publish=partner|vendor: decide on behalf of a
 *                                            partner that stays silent, as POST
 *                                            /api/v1/opportunities/{id}/decision allows
 *                                            (opportunities: update; renew/rd_renew_decide)
 * Forms carry the session's CSRF token.
 */
#include <stdlib.h>
#include <string.h>

#include "renew/renew.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "web/console.h"
#include "web/console_work.h"
#include "web/web.h"

/* ---- a message --------------------------------------------------------------------------------- */

static bool token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* The text with what could open a customer's session taken out: the token
 * of every link ("/c/TOKEN") and anything shaped like a token ("rd_" and
 * 20 or more token characters).  A new string. */
static char *redacted(const char *s)
{
	static const char mark[] = "[redacted]";
	size_t n = strlen(s);
	char *out = rd_malloc(n * (sizeof mark) + 1), *o = out; /* generous: each byte at most one mark */
	while (*s) {
		size_t run = 0;
		if (!strncmp(s, "/c/", 3)) {
			while (token_char(s[3 + run]))
				run++;
			if (run) {
				memcpy(o, "/c/", 3);
				o += 3;
				memcpy(o, mark, sizeof mark - 1);
				o += sizeof mark - 1;
				s += 3 + run;
				continue;
			}
		}
		if (!strncmp(s, "rd_", 3)) {
			while (token_char(s[3 + run]))
				run++;
			if (run >= 20) {
				memcpy(o, mark, sizeof mark - 1);
				o += sizeof mark - 1;
				s += 3 + run;
				continue;
			}
		}
		*o++ = *s++;
	}
	*o = 0;
	return out;
}

int rd_page_vendor_message(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_OUTBOX, RD_ACT_READ))
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_message *m = rd_malloc(sizeof *m);
	rc = rd_entity_get(t, w.app->domain->outbox, &rd_entity_message, w.c.who.vendor,
			   rd_parse_id(rd_req_param(req, "id")), m);
	if (rc < 0) {
		rd_txn_end(t);
		free(m);
		if (rc != RD_ENOTFOUND)
			return rc;
		rd_web_message(&w, 404, "Not found", "There is no such message.");
		return 0;
	}
	char err[300]; /* queued as templates and parameters: the text it is sent with */
	if (rd_message_render(w.app->renew, t, m, err, sizeof err) < 0)
		rd_log(RD_LOG_ERROR, "web", "%s", err);
	struct rd_customer cu;
	struct rd_partner pa;
	json_t *ctx = rd_console_page_ctx(&w, "Message", "/vendor/outbox");
	char *subject = redacted(m->subject), *text = redacted(m->text), *to = redacted(m->to);
	json_object_set_new(ctx, "message",
			    json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s, s:I, s:s, s:I, s:s, s:I}", "id",
				      (json_int_t)m->id, "kind", m->kind, "to", to, "subject", subject, "state",
				      rd_console_enum_text(&rd_entity_message, "state", m->state), "attempts",
				      (json_int_t)m->attempts, "created", rd_console_time_json(m->created_at), "sent",
				      rd_console_time_json(m->sent_at), "last_error", m->last_error, "text", text,
				      "customer_id", (json_int_t)m->customer_id, "customer",
				      rd_console_customer_name(t, &w, m->customer_id, &cu), "partner_id",
				      (json_int_t)m->partner_id, "partner", rd_console_partner_name(t, &w, m->partner_id, &pa),
				      "opportunity_id", (json_int_t)m->opportunity_id));
	free(subject);
	free(text);
	free(to);
	rd_txn_end(t);
	free(m);
	rd_console_page(&w, 200, "vendor_message", ctx);
	return 0;
}

/* ---- deciding for a silent partner ----------------------------------------------------------- */

int rd_page_vendor_decide(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_OPPORTUNITY, RD_ACT_UPDATE))
		return 0;
	const char *publish = rd_form(req, "publish");
	if (!publish || (strcmp(publish, "partner") && strcmp(publish, "vendor"))) {
		rd_web_message(&w, 400, "Please choose who sells",
			       "publish: choose partner (the partner sells) or vendor (the vendor sells).");
		return 0;
	}
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	rc = id ? rd_entity_get(t, w.app->domain->opportunities, &rd_entity_opportunity, w.c.who.vendor, id, o)
		: RD_ENOTFOUND;
	rd_txn_end(t);
	free(o);
	if (rc == RD_ENOTFOUND) {
		rd_web_message(&w, 404, "Not found", "There is no such quote.");
		return 0;
	}
	if (rc < 0)
		return rc;
	char why[200] = "";
	rc = rd_renew_decide(w.app->renew, w.c.who.vendor, w.c.who.user, id,
			     !strcmp(publish, "partner") ? RD_PUBLISH_PARTNER : RD_PUBLISH_VENDOR, why, sizeof why);
	if (rc == RD_EINVAL) {
		char text[260];
		snprintf(text, sizeof text, "publish: %s", why);
		rd_web_message(&w, 409, "Not decided", text);
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_web_redirect(req, "/vendor/opportunities?state=pending_decision");
	return 0;
}
