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

/* A set of folders watched by inotify (libuv's fs events), with a scan every
 * poll_ms as the fallback: fn runs on the loop on any notice, each poll, and
 * each kick.  connector-csv's drop folders and the EDI connectors' inbound
 * folders (services/edi.c) are watched this way. */
struct rd_dirwatch;
typedef void (*rd_dirwatch_fn)(struct rd_dirwatch *w, void *arg);
struct rd_dirwatch *rd_dirwatch_start(uv_loop_t *loop, const char *name, uint64_t poll_ms, rd_dirwatch_fn fn,
				      void *arg);
/* Watches dir too (once; a folder that is not there yet is found by the scan). */
void rd_dirwatch_add(struct rd_dirwatch *w, const char *dir);
/* fn runs once after delay_ms (an earlier kick armed wins). */
void rd_dirwatch_kick(struct rd_dirwatch *w, uint64_t delay_ms);
/* Stops: fn is not called again; the handles close and free themselves. */
void rd_dirwatch_stop(struct rd_dirwatch *w);

struct rd_dropfolder;

struct rd_dropfolder *rd_dropfolder_start(struct rd_app *app, uv_loop_t *loop, const char *root, uint64_t poll_ms,
					  uint64_t max_bytes);
/* Stops watching (closes its handles; frees itself once they are closed).
 * Feeds in flight are cancelled with the other imports; their files stay. */
void rd_dropfolder_stop(struct rd_dropfolder *f);

#endif
