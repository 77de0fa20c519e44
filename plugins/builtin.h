/*
 * builtin.h: how a shipped plugin names its entry point.  Built as a shared
 * object it exports renewd_plugin_entry like any third-party plugin; built
 * into renewd (RD_BUILTIN) the same code gets a unique name, and renewd
 * registers it through the same registry as loaded ones.
 */
#ifndef RD_PLUGINS_BUILTIN_H
#define RD_PLUGINS_BUILTIN_H

#include <renewd/plugin.h>

#ifdef RD_BUILTIN
#define RD_PLUGIN_ENTRY_DEFINE(builtin_name) const struct rd_plugin *builtin_name(void)
#else
#define RD_PLUGIN_ENTRY_DEFINE(builtin_name) RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void)
#endif

#endif
