#include <time.h>

#include "util/clock.h"

uint64_t rd_clock_now(void)
{
	return (uint64_t)time(NULL);
}

int32_t rd_clock_today(void)
{
	return (int32_t)(rd_clock_now() / 86400);
}
