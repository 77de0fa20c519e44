/* routes.c: every HTTP route renewd serves.  Later subsystems add rows
 * here, and docs/openapi.yaml describes each one. */
#include "api/app.h"

const struct rd_route rd_routes[] = {
	{ RD_GET, "/", rd_api_index },
	{ RD_GET, "/healthz", rd_api_healthz },
	{ RD_GET, "/metrics", rd_api_metrics },
};

const size_t rd_n_routes = sizeof rd_routes / sizeof *rd_routes;
