/*
 * reply.c: replies the API and the pages answer alike (edge/call.h): the
 * quote PDF, drawn on the thread pool; a document's download; a service's
 * refusal, with the one map from its code to a status.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/call.h"
#include "pdf/quote.h"
#include "services/service.h"
#include "util/err.h"
#include "util/log.h"

struct quote_job {
	struct rd_quote_doc *q;
	void *pdf;
	size_t len;
	int rc;
	char err[200];
};

static void quote_work(void *arg)
{
	struct quote_job *j = arg;
	j->rc = rd_quote_render(j->q, &j->pdf, &j->len, j->err, sizeof j->err);
}

static void quote_done(struct rd_req *req, void *arg)
{
	struct quote_job *j = arg;
	if (req && j->rc == 0) {
		char name[80], disp[128];
		rd_quote_filename(j->q->o.number, name, sizeof name);
		snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
		rd_reply_header(req, "content-disposition", disp);
		rd_reply_header(req, "x-content-type-options", "nosniff");
		rd_reply_raw(req, 200, "application/pdf", j->pdf, j->len);
	} else if (req) {
		rd_log(RD_LOG_ERROR, "pdf", "quote %s: %s", j->q->o.number, j->err);
		rd_reply_error(req, 500, "internal", NULL, "the quote PDF could not be made");
	}
	free(j->pdf);
	free(j->q);
	free(j);
}

int rd_quote_reply(struct rd_req *req, struct rd_quote_doc *q)
{
	struct quote_job *j = rd_calloc(1, sizeof *j);
	j->q = q;
	int rc = rd_req_work(req, quote_work, quote_done, j);
	if (rc < 0) {
		free(q);
		free(j);
	}
	return rc;
}

int rd_serr_status(int rc)
{
	switch (rc) {
	case 0: return 200;
	case RD_EINVAL: return 400;
	case -EACCES: return 403;
	case RD_ENOTFOUND: return 404;
	case RD_EEXISTS: return 409;
	case RD_ETOOBIG: return 413;
	case RD_ERANGE: return 422;
	case -EIO: return 502;
	case RD_EBUSY: return 503;
	case -ETIMEDOUT: return 504;
	default: return 500;
	}
}

void rd_reply_serr(struct rd_req *req, const struct rd_serr *e)
{
	rd_reply_error(req, rd_serr_status(e->rc), e->code ? e->code : "internal", e->field, "%s", e->message);
}

void rd_document_reply(struct rd_req *req, const struct rd_document *doc, const void *bytes, size_t len)
{
	/* The name holds no quote.  A name beyond ASCII also goes as
	 * filename* (RFC 6266, RFC 8187), percent-encoded UTF-8, which browsers
	 * prefer; filename then gives the ASCII characters only. */
	char disp[700], ascii[128], enc[400];
	size_t a = 0, e = 0;
	bool plain = true;
	for (const unsigned char *p = (const unsigned char *)doc->name; *p && a + 1 < sizeof ascii && e + 4 < sizeof enc; p++) {
		plain &= *p < 0x80;
		if (*p < 0x80)
			ascii[a++] = (char)*p;
		if (isalnum(*p) || strchr("!#$&+-.^_`|~", *p))
			enc[e++] = (char)*p;
		else
			e += (size_t)snprintf(enc + e, sizeof enc - e, "%%%02X", *p);
	}
	ascii[a] = enc[e] = 0;
	if (plain)
		snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", doc->name);
	else
		snprintf(disp, sizeof disp, "attachment; filename=\"%s\"; filename*=UTF-8''%s", a ? ascii : "document", enc);
	rd_reply_header(req, "content-disposition", disp);
	rd_reply_header(req, "x-content-type-options", "nosniff");
	rd_reply_raw(req, 200, doc->content_type, bytes, len);
}
