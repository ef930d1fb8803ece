/* tests/unit/message.c: reading push_message notification payloads, table-driven. */
#include "../tap.h"
#include "message.h"

#include <string.h>

/* Each payload, the items read from it as "id:seq id:seq" and what is left unread. */
static const struct { const char *payload; const char *items; const char *rest; } cases[] = {
    { "12:7", "12:7", "" },
    { "12:7,3:1", "12:7 3:1", "" },
    { "1:1,2:2,3:3", "1:1 2:2 3:3", "" },
    { "", "", "" },
    { "12", "", "12" },
    { "12:", "", "12:" },
    { ":7", "", ":7" },
    { "12:7,", "12:7", "," },
    { "12:7,x:1", "12:7", ",x:1" },
    { "12:7x", "", "12:7x" },
    { "-1:5", "", "-1:5" },
    { "99999999999999999999:1", "", "99999999999999999999:1" },
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *cursor = cases[i].payload;
        char items[200] = "";
        int64_t id, seq;
        while (message_notice_next(&cursor, &id, &seq))
            snprintf(items + strlen(items), sizeof(items) - strlen(items), "%s%lld:%lld", items[0] ? " " : "",
                     (long long)id, (long long)seq);
        ok(strcmp(items, cases[i].items) == 0 && strcmp(cursor, cases[i].rest) == 0,
           "payload \"%s\" gives \"%s\", leaving \"%s\"", cases[i].payload, cases[i].items, cases[i].rest);
    }
    return tap_done();
}
