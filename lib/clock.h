/* clock.h: the one monotonic clock of the programs (and of the test and bench clients). */
#ifndef PUSH_CLOCK_H
#define PUSH_CLOCK_H

#include <stdint.h>

/* Nanoseconds on CLOCK_MONOTONIC: for timeouts, intervals and latencies, never for dates.
 * The other two are the same reading in coarser units. */
int64_t clock_ns(void);
/* Milliseconds on CLOCK_MONOTONIC. */
int64_t clock_ms(void);
/* Seconds on CLOCK_MONOTONIC. */
double clock_seconds(void);

#endif
