/*
 * clock.h: the one clock every component asks for business time (quote
 * dates, reminders, digests, expiry, plugin calls).  Real by default.  A
 * daemon started with --test-clock has a settable clock instead: it stands
 * still at the instant it was set to (kept in the store, so a restart
 * resumes there) and moves only when set, so a test or the demo can run a
 * year of renewals in seconds.  A production configuration refuses it.
 * Thread-safe.
 */
#ifndef RD_UTIL_CLOCK_H
#define RD_UTIL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Unix seconds now. */
uint64_t rd_clock_now(void);
/* Today's date (days since 1970-01-01, UTC). */
int32_t rd_clock_today(void);

/* Switches to the settable clock, starting at `at` (0: the real now). */
void rd_clock_make_settable(uint64_t at);
bool rd_clock_settable(void);
/* Sets the settable clock; RD_EINVAL when the clock is the real one. */
int rd_clock_set(uint64_t at);

#endif
