/* tp-null: renewd_plugin_entry returns no descriptor. */
#include <renewd/plugin.h>

RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
{
	return NULL;
}
