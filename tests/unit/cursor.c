/* tests/unit/cursor.c: parsing and formatting delivery cursors, table-driven. */
#include "../tap.h"
#include "cursor.h"

static const struct { const char *text; int valid; size_t count; } cases[] = {
    { "", 1, 0 },
    { "news:41", 1, 1 },
    { "news:41,user-alice:7", 1, 2 },
    { "news:0", 1, 1 },
    { "a.b/c:9223372036854775807", 1, 1 },
    { "news", 0, 0 },
    { "news:", 0, 0 },
    { ":5", 0, 0 },
    { "news:-1", 0, 0 },
    { "news:1x", 0, 0 },
    { "news:1,news:2", 0, 0 },
    { "bad channel:1", 0, 0 },
    { "news:1,", 0, 0 },
    { "news:99999999999999999999", 0, 0 },
};

int main(void)
{
    char err[200];
    struct cursor c;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = cursor_parse(&c, cases[i].text, err, sizeof(err));
        ok((rc == 0) == cases[i].valid && (!cases[i].valid || c.count == cases[i].count),
           "cursor \"%s\" %s", cases[i].text, cases[i].valid ? "parses" : "is rejected");
        if (rc < 0)
            ok(strncmp(err, "since: ", 7) == 0, "its error names the parameter (%s)", err);
    }

    ok(cursor_parse(&c, "news:41,user-alice:7", err, sizeof(err)) == 0, "parse a two-channel cursor");
    int64_t seq = -1;
    ok(cursor_get(&c, "user-alice", &seq) && seq == 7, "get user-alice:7");
    ok(!cursor_get(&c, "other", &seq), "absent channel not found");
    ok(cursor_set(&c, "news", 42) == 0 && cursor_set(&c, "sports", 1) == 0, "set existing and new");
    struct buf out = BUF_INIT;
    cursor_format(&c, &out);
    is_str(buf_str(&out), "news:42,user-alice:7,sports:1", "format keeps entry order");
    buf_free(&out);

    struct buf many = BUF_INIT;
    for (int i = 0; i < CURSOR_MAX_CHANNELS + 1; i++)
        buf_printf(&many, "%sc%d:1", i ? "," : "", i);
    ok(cursor_parse(&c, buf_str(&many), err, sizeof(err)) < 0, "65 channels rejected");
    buf_free(&many);
    return tap_done();
}
