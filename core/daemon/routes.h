/* routes.h: the route table of renewd (core/daemon/routes.c): the one place
 * routes are added, above the API and the pages it dispatches to. */
#ifndef RD_DAEMON_ROUTES_H
#define RD_DAEMON_ROUTES_H

#include <stddef.h>

#include "http/http.h"

/* The route table: the one place routes are added. */
extern const struct rd_route rd_routes[];
extern const size_t rd_n_routes;

#endif
