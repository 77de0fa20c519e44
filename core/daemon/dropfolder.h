/*
 * dropfolder.h: connector-csv, the partners' drop folders (docs/connectors.md).
 * Under feeds_dir, each partner the vendor enabled (feed_drop) has
 * VENDOR-SLUG/PARTNER-EXTERNAL-ID/ with processed/ and failed/ inside.  A
 * file put there is imported as the partner's feed (services/imports.h),
 * then moved to processed/ or failed/ beside a per-file report.  Found by
 * inotify (libuv's fs events) and, as a fallback, by a scan every
 * feeds_poll_ms.
 */
#ifndef RD_DAEMON_DROPFOLDER_H
#define RD_DAEMON_DROPFOLDER_H

#include <uv.h>

#include "domain/app.h"

struct rd_dropfolder;

struct rd_dropfolder *rd_dropfolder_start(struct rd_app *app, uv_loop_t *loop, const char *root, uint64_t poll_ms,
					  uint64_t max_bytes);
/* Stops watching (closes its handles; frees itself once they are closed).
 * Feeds in flight are cancelled with the other imports; their files stay. */
void rd_dropfolder_stop(struct rd_dropfolder *f);

#endif
