/* app.h: what every handler (API and pages) reaches through rd_req_app(),
 * and the HTTP edge's settings that depend on it. */
#ifndef RD_EDGE_APP_H
#define RD_EDGE_APP_H

#include <stddef.h>
#include <uv.h>

#include "domain/app.h"
#include "http/http.h"

/* The cookie attributes that depend on how people reach renewd: "; Secure"
 * when its public_url is https (TLS ends at a proxy in front), else "". */
const char *rd_cookie_secure(const struct rd_app *app);

#endif
