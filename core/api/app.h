/* app.h: what every route handler reaches through rd_req_app(). */
#ifndef RD_API_APP_H
#define RD_API_APP_H

#include <stddef.h>
#include <uv.h>

#include "http/http.h"

struct rd_store;
struct rd_metrics;
struct rd_config;
struct rd_domain;
struct rd_plugins;
struct rd_renew;

struct rd_app {
	uv_loop_t *loop;
	struct rd_store *store;       /* owned by the daemon's main */
	struct rd_domain *domain;     /* table handles */
	struct rd_metrics *metrics;
	const struct rd_config *config;
	struct rd_plugins *plugins;
	struct rd_policy_runtime *policies;
	struct rd_renew *renew;
};

/* The route table: the one place routes are added (core/api/routes.c). */
extern const struct rd_route rd_routes[];
extern const size_t rd_n_routes;

/* The cookie attributes that depend on how people reach renewd: "; Secure"
 * when its public_url is https (TLS ends at a proxy in front), else "". */
const char *rd_cookie_secure(const struct rd_app *app);

int rd_api_healthz(struct rd_req *req);
int rd_api_metrics(struct rd_req *req);
int rd_api_index(struct rd_req *req);

#endif
