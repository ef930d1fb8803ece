/* limiter.h: per-address rate limit: each client address's events in the current second,
 * counted exactly (an address never shares a count), in memory bounded by a fixed table. */
#ifndef PUSH_LIMITER_H
#define PUSH_LIMITER_H

#include <stdbool.h>
#include <stddef.h>

/* Longest address kept (an IPv6 text with zone fits); longer ones are cut here. */
#define LIMITER_ADDRESS_MAX 63

struct limiter;

/* A limiter letting each address have per_second events in one second, tracking at most
 * max_addresses addresses in that second (the table takes about 160 bytes each). Returns
 * NULL when per_second or max_addresses is below 1. Caller limiter_free()s. */
struct limiter *limiter_new(int per_second, size_t max_addresses);

/* Counts one event of address at now (monotonic seconds). Returns true when it is allowed:
 * the address's count in now's second is within per_second, or the table is full with other
 * addresses of this second (nobody is refused for want of room: such events go uncounted).
 * Safe from any thread. */
bool limiter_take(struct limiter *l, const char *address, double now);

/* Frees l; NULL is a no-op. */
void limiter_free(struct limiter *l);

#endif
