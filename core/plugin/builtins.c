/* builtins.c: the shipped plugins compiled into renewd, registered through
 * the same registry (and the same checks) as loaded ones. */
#include "plugin/host.h"

const struct rd_plugin *rd_builtin_payment_po(void);
const struct rd_plugin *rd_builtin_payment_bml(void);
const struct rd_plugin *rd_builtin_payment_card(void);
const struct rd_plugin *rd_builtin_branding_default(void);
const struct rd_plugin *rd_builtin_connector_x12(void);
const struct rd_plugin *rd_builtin_connector_edifact(void);

void rd_plugins_add_builtins(struct rd_plugins *p)
{
	rd_plugins_add(p, rd_builtin_payment_po(), "built-in", NULL);
	rd_plugins_add(p, rd_builtin_payment_bml(), "built-in", NULL);
	rd_plugins_add(p, rd_builtin_payment_card(), "built-in", NULL);
	rd_plugins_add(p, rd_builtin_branding_default(), "built-in", NULL);
	rd_plugins_add(p, rd_builtin_connector_x12(), "built-in", NULL);
	rd_plugins_add(p, rd_builtin_connector_edifact(), "built-in", NULL);
	rd_plugins_set_fallback_branding(p, rd_builtin_branding_default());
}
