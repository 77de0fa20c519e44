/*
 * enablements.h: enabling and disabling a plugin for a vendor or one of its
 * partners (core/services/enablements.c): one rule for the API
 * (/api/v1/plugins/{name}/enablements) and the console (/vendor/plugins).
 */
#ifndef RD_SERVICES_ENABLEMENTS_H
#define RD_SERVICES_ENABLEMENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

struct rd_loaded;

/* Whether partner is one of the vendor's partners (0, the whole vendor: yes). */
bool rd_enablement_partner_ok(struct rd_app *app, uint64_t vendor, uint64_t partner);

/* Enables plugin l for who's vendor (partner 0: the whole vendor) with
 * config (a JSON object as compact text): the plugin validates it, its
 * secrets are sealed, and it replaces the enablement of the same plugin
 * and partner (*replaced), audited as who.  0 with the stored enablement
 * in *out; or a refusal in e:
 *   RD_ETOOBIG, code "too_large"   the configuration is over 16 KiB
 *   RD_EINVAL, field partner_id    no such partner
 *   RD_ETOOBIG, code "invalid"     sealed, it would not fit
 *   RD_EINVAL, "invalid_config"    the plugin refused it (field errors appended to fields)
 * or the store's error. */
int rd_enablement_enable(struct rd_app *app, const struct rd_actor *who, struct rd_loaded *l, uint64_t partner,
			 const char *config, json_t *fields, struct rd_enablement *out, bool *replaced, struct rd_serr *e);

/* Removes enablement id of plugin, audited as who: 0 or RD_ENOTFOUND. */
/* Whether an EDI folder (an enablement's inbound_dir or outbound_dir) is, or
 * is inside, one of renewd's own folders (the data directory, with its mail
 * folder and the store's files; the feeds directory; the plugin directory):
 * the reason (a sentence naming the folder's kind) or NULL.  Every regular
 * file of an inbound folder is read and, when it is no interchange, moved
 * into failed/: such a folder would move the store's own files away.  Symbolic
 * links and "." or ".." are resolved first (the nearest folder that exists). */
const char *rd_edi_folder_refusal(const struct rd_app *app, const char *dir);

int rd_enablement_disable(struct rd_app *app, const struct rd_actor *who, const char *plugin, uint64_t id);

#endif
