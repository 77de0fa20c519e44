/* app.h: the handles of one running renewd (its loop, store, tables,
 * configuration, plugins, policies, engine), which every layer above the
 * domain reaches through one pointer.  Pointers only: this header adds no
 * dependency on the layers that own them. */
#ifndef RD_DOMAIN_APP_H
#define RD_DOMAIN_APP_H

#include <uv.h>

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

#endif
