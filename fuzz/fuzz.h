/*
 * fuzz.h: what the fuzzing harnesses (fuzz/<name>.c, docs/fuzzing.md)
 * share.  Each harness defines LLVMFuzzerTestOneInput and drives renewd's
 * own parser or validator; the fuzz build links it with libFuzzer, the
 * normal build with replay.c (the regression inputs as a unit test).
 */
#ifndef RD_FUZZ_H
#define RD_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "domain/app.h"
#include "domain/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One renewd for the whole process, made at the first call: a temporary
 * store (under /dev/shm when there is one) with renewd's tables, a loop,
 * the built-in plugins and a secrets key, vendor 1 ("acme", EUR) and its
 * reseller partner 1 and distributor partner 2.  Removed at exit. */
struct rd_app *fz_app(void);
/* fz_app with what the daemon's main adds for the handlers and services:
 * a configuration (the defaults, with test_clock), metrics and the policy
 * runtime.  Freed at exit. */
struct rd_app *fz_app_configured(void);
/* The loop run until *flag (10 s at most; then the harness aborts: a hang). */
void fz_run_until(const bool *flag);
/* The temporary directory (for settings that name a directory). */
const char *fz_dir(void);
/* The vendor, as stored. */
const struct rd_vendor *fz_vendor(void);

/* Enables plugin for the vendor (partner 0) or one partner with config,
 * as an administrator would (rd_enablement_prepare, then stored); aborts
 * when that fails. */
void fz_enable(const char *plugin, uint64_t partner, const char *config);

/* The input cut at the first byte sep: *head is a NUL-terminated copy of
 * what comes before (the whole input when there is no sep), *tail (may be
 * NULL) a NUL-terminated copy of the rest, *tail_len its length.  Free
 * both. */
void fz_split(const uint8_t *data, size_t size, char sep, char **head, char **tail, size_t *tail_len);

#endif
