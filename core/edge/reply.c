/*
 * reply.c: replies the API and the pages answer alike (edge/call.h): the
 * quote PDF, drawn on the thread pool; a service's refusal, with the one
 * map from its code to a status.
 */
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
	case RD_ENOTFOUND: return 404;
	case RD_EEXISTS: return 409;
	case RD_ETOOBIG: return 413;
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
