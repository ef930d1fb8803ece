/* clock.h: the one monotonic clock of the programs. */
#ifndef PUSH_CLOCK_H
#define PUSH_CLOCK_H

/* Seconds on CLOCK_MONOTONIC (for timeouts and intervals, never for dates). */
double clock_seconds(void);

#endif
