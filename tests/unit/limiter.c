/* tests/unit/limiter.c: the per-address rate limit: exact counts per address, a new second
 * starts afresh, and a full table refuses nobody. */
#include "../tap.h"
#include "../../fcgi/limiter.c"

#include <stdio.h>

int main(void)
{
    ok(limiter_new(0, 10) == NULL && limiter_new(5, 0) == NULL, "a limit or a table below 1 is refused");

    struct limiter *l = limiter_new(3, 1000);
    int allowed = 0;
    for (int i = 0; i < 10; i++)
        allowed += limiter_take(l, "192.0.2.1", 100.2);
    ok(allowed == 3, "3 a second: 3 of 10 events of one address in one second pass (%d)", allowed);
    ok(limiter_take(l, "192.0.2.2", 100.5), "meanwhile another address passes");
    ok(limiter_take(l, "192.0.2.1", 101.0), "the next second the first address passes again");

    /* 1000 addresses, every one at its limit: each counted alone, whatever their hashes share. */
    char address[64];
    int refused = 0, passed = 0;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 1000; i++) {
            snprintf(address, sizeof(address), "2001:db8::%x", i);
            if (limiter_take(l, address, 200.0))
                passed++;
            else
                refused++;
        }
    }
    ok(passed == 3000 && refused == 1000, "1000 addresses, 4 events each in one second: 3000 pass, 1000 refused (%d, %d)",
       passed, refused);

    /* The table is full: an address new in this second passes uncounted, the ones kept keep
     * their exact counts. */
    ok(limiter_take(l, "198.51.100.7", 200.5) && limiter_take(l, "198.51.100.7", 200.6) &&
           limiter_take(l, "198.51.100.7", 200.7) && limiter_take(l, "198.51.100.7", 200.8),
       "with 1000 addresses kept this second, the 1001st is never refused");
    ok(!limiter_take(l, "2001:db8::0", 200.9), "a kept address at its limit is still refused");
    ok(limiter_take(l, "198.51.100.7", 201.0) && l->used == 1, "a new second starts with an empty table");

    /* A long address is cut to LIMITER_ADDRESS_MAX bytes, a NULL one counts as "". */
    char long_address[200];
    memset(long_address, 'a', sizeof(long_address) - 1);
    long_address[sizeof(long_address) - 1] = '\0';
    allowed = 0;
    for (int i = 0; i < 5; i++)
        allowed += limiter_take(l, long_address, 300.0) + limiter_take(l, NULL, 300.0);
    ok(allowed == 6, "a 199-byte address and a missing one are counted too (%d of 10 pass)", allowed);
    limiter_free(l);
    limiter_free(NULL);
    return tap_done();
}
