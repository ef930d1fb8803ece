/* tests/unit/kick.c: the kicks kept in memory: NOTIFY push_kick payloads (and the ones of
 * another form), the later time winning, per app and user, and the change counter a held
 * poll compares. */
#include "../tap.h"
#include "kick.h"
#include "log.h"
#include "validate.h"

int main(void)
{
    log_init("kick-test", LOG_LEVEL_ERROR);
    char user[VALIDATE_USER_MAX + 1];
    int app = 0;
    ok(kick_stale(), "at start the kicks are to be loaded");
    ok(!kick_app_has(7) && kick_time(7, "alice") == 0, "nobody is kicked yet");

    uint64_t before = kick_serial();
    ok(kick_notified("7 1700000000123 alice", &app, user, sizeof(user)) && app == 7 && strcmp(user, "alice") == 0,
       "a payload '<app_id> <kicked_ms> <user>' names the app and the user");
    is_int(kick_time(7, "alice"), 1700000000123, "alice of app 7 was kicked at that millisecond");
    ok(kick_app_has(7) && !kick_app_has(8), "app 7 has a kick, app 8 none");
    ok(kick_time(8, "alice") == 0 && kick_time(7, "bob") == 0, "alice of another app and bob are untouched");
    ok(kick_since(7, "alice", before) && !kick_since(7, "bob", before),
       "kick_since: alice was kicked after the serial was read");
    uint64_t after = kick_serial();
    ok(!kick_since(7, "alice", after), "and not after the next one");

    ok(kick_notified("7 1600000000000 alice", &app, user, sizeof(user)), "an older kick of alice is taken");
    is_int(kick_time(7, "alice"), 1700000000123, "but the later time stays");
    ok(!kick_since(7, "alice", after), "and it is no new kick");
    ok(kick_notified("7 1800000000000 alice", &app, user, sizeof(user)) && kick_time(7, "alice") == 1800000000000 &&
       kick_since(7, "alice", after), "a later kick moves the time on and counts as new");
    ok(kick_notified("7 1700000000000 张三", &app, user, sizeof(user)) && kick_time(7, "张三") == 1700000000000,
       "a user id of any script");

    static const char *const bad[] = {
        "", "7", "7 1700000000000", "x 1700000000000 alice", "7 x alice", "7 1700000000000 a b",
        "7 0 alice", "7 -5 alice",
        "7 1700000000000 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 69 bytes */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok(!kick_notified(bad[i], &app, user, sizeof(user)), "a payload of another form is ignored: '%s'", bad[i]);
    ok(kick_time(7, "a") == 0 && kick_time(7, "b") == 0, "and kicks nobody");

    ok(!kick_notified(NULL, &app, user, sizeof(user)) && kick_stale(),
       "NULL (the listener connected again) asks for a reload");
    return tap_done();
}
