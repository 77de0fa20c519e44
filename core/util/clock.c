#include <stdatomic.h>
#include <time.h>

#include "util/clock.h"
#include "util/err.h"

static atomic_bool settable;
static _Atomic uint64_t fixed;

uint64_t rd_clock_now(void)
{
	if (atomic_load(&settable))
		return atomic_load(&fixed);
	return (uint64_t)time(NULL);
}

int32_t rd_clock_today(void)
{
	return (int32_t)(rd_clock_now() / 86400);
}

void rd_clock_make_settable(uint64_t at)
{
	atomic_store(&fixed, at ? at : (uint64_t)time(NULL));
	atomic_store(&settable, true);
}

bool rd_clock_settable(void)
{
	return atomic_load(&settable);
}

int rd_clock_set(uint64_t at)
{
	if (!atomic_load(&settable))
		return RD_EINVAL;
	atomic_store(&fixed, at);
	return 0;
}
