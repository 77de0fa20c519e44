/* tp-noentry: a shared object that exports something, but not
 * renewd_plugin_entry. */
#include <renewd/plugin.h>

RENEWD_PLUGIN_EXPORT int tp_noentry_something(void)
{
	return 42;
}
