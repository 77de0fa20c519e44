/* clock.h: the one clock every component asks.  Real time by default. */
#ifndef RD_UTIL_CLOCK_H
#define RD_UTIL_CLOCK_H

#include <stdint.h>

/* Unix seconds now. */
uint64_t rd_clock_now(void);
/* Today's date (days since 1970-01-01, UTC). */
int32_t rd_clock_today(void);

#endif
