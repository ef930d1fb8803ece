/* clock.c: the one monotonic clock of the programs (and of the test and bench clients). */
#include "clock.h"

#include <time.h>

int64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_ms(void)
{
    return clock_ns() / 1000000;
}

double clock_seconds(void)
{
    return (double)clock_ns() / 1e9;
}
