/*
 * console.h: what the vendor console's sections share (console.c holds these
 * helpers and the overview; console_lists.c, console_imports.c,
 * console_policies.c and console_plugins.c one section each).  Internal to
 * core/web.
 */
#ifndef RD_WEB_CONSOLE_H
#define RD_WEB_CONSOLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "web/web.h"

/* "YYYY-MM-DD HH:MM UTC", or "" for 0. */
json_t *rd_console_time_json(uint64_t unix_s);
/* A vendor role's page: false (answered: login or /partner) otherwise. */
bool rd_console_begin(struct rd_req *req, struct web *w);
/* Whether the role may act on the resource. */
bool rd_console_may(struct web *w, enum rd_resource res, enum rd_action act);
/* Answers a 403 page unless the role may. */
bool rd_console_allowed(struct web *w, enum rd_resource res, enum rd_action act);
/* Renders a console page (ctx is taken). */
void rd_console_page(struct web *w, int status, const char *name, json_t *ctx);
/* A page's context: title, navigation, role. */
json_t *rd_console_page_ctx(struct web *w, const char *title, const char *section);
/* Names of the vendor's records by id, "" when none (buf holds the record). */
const char *rd_console_partner_name(struct rd_txn *t, struct web *w, uint64_t id, struct rd_partner *buf);
const char *rd_console_customer_name(struct rd_txn *t, struct web *w, uint64_t id, struct rd_customer *buf);
/* The name of an enum field's value, "" when out of range. */
const char *rd_console_enum_text(const struct rd_entity *e, const char *field, unsigned v);

#endif
