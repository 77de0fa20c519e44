/* log.h: structured log lines.
 *
 * One line per event on stderr, logfmt-shaped so both people and log
 * shippers read it:
 *   ts=2026-11-23T16:48:42.123Z level=info comp=http req=5f2c.. msg="..."
 * Safe to call from any thread (the line is written under stdio's lock).
 * The thread that called rd_log_buffer_here (the server's loop) keeps its
 * debug and info lines in memory until rd_log_flush: the server flushes on
 * every loop iteration, and at exit (exit() and the daemon's own ends);
 * a warning or an error from it is written at once, after what was kept.
 * A customer's link token never reaches the log: every message goes
 * through rd_redact_links first. */
#ifndef RD_UTIL_LOG_H
#define RD_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum rd_log_level { RD_LOG_DEBUG, RD_LOG_INFO, RD_LOG_WARN, RD_LOG_ERROR };

void rd_log_set_level(enum rd_log_level level);
/* Parses "debug", "info", "warn" or "error"; returns <0 for anything else. */
int rd_log_parse_level(const char *name, enum rd_log_level *out);

/* Sends the log to the file at path (appended, created 0600) instead of
 * stderr; rd_log_reopen opens the same path again (after log rotation,
 * on SIGHUP).  Return 0 or -errno; on failure the old stream stays. */
int rd_log_open(const char *path);
int rd_log_reopen(void);

/* The calling thread's debug and info lines are kept (64 KiB at most)
 * until rd_log_flush; an exit() flushes too. */
void rd_log_buffer_here(void);
/* Writes the kept lines (any thread). */
void rd_log_flush(void);

/* Replaces, in place, every customer link token in s ("/c/" followed by
 * token characters) with "/c/…"; returns how many it replaced. */
unsigned rd_redact_links(char *s);

void rd_log(enum rd_log_level level, const char *comp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* As rd_log, with the request id of the HTTP request being served. */
void rd_log_req(enum rd_log_level level, const char *comp, const char *req_id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* As rd_log_req, with fields: more logfmt fields (key=value ..., values
 * without spaces or quotes: the caller's duty) written before msg. */
void rd_log_req_fields(enum rd_log_level level, const char *comp, const char *req_id, const char *fields,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* As rd_log_req_fields with the message's text as it is (len bytes, no
 * format): a line formatted by its caller (the access log). */
void rd_log_req_text(enum rd_log_level level, const char *comp, const char *req_id, const char *fields,
		     const char *text, size_t len);
/* Whether a line at this level is written (the threshold lets it through). */
bool rd_log_enabled(enum rd_log_level level);

/* The HTTP request the calling thread works for now (the server sets it
 * around a handler and its callbacks, on the loop): code that logs on its
 * behalf elsewhere (a plugin call on the thread pool) copies the id.  NULL
 * clears it; rd_log_current_req answers NULL when none. */
void rd_log_set_current_req(const char *id);
const char *rd_log_current_req(void);

#endif
