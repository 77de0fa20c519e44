/* service.c: the refusal every service answers with (service.h). */
#include <stdarg.h>
#include <stdio.h>

#include "services/service.h"
#include "util/err.h"

int rd_serr_set(struct rd_serr *e, int rc, const char *code, const char *field, const char *fmt, ...)
{
	e->rc = rc;
	e->code = code;
	e->field = field;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return rc;
}

int rd_serr_store(struct rd_serr *e, int rc)
{
	return rd_serr_set(e, rc, rc == RD_EBUSY ? "unavailable" : "internal", NULL, "the store could not be read: %s",
			   rd_strerror(rc));
}
