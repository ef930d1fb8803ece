/* tests/fuzz/cursor.c: the cursor parser on any text: what it accepts formats back to a text
 * that parses to the same cursor. */
#include "cursor.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    struct cursor c, again;
    char err[200];
    if (cursor_parse(&c, text, err, sizeof(err)) == 0) {
        struct buf out = BUF_INIT;
        cursor_format(&c, &out);
        fuzz_assert(cursor_parse(&again, buf_str(&out), err, sizeof(err)) == 0);
        fuzz_assert(again.count == c.count);
        for (size_t i = 0; i < c.count; i++) {
            int64_t seq;
            fuzz_assert(validate_channel(c.entries[i].channel));
            fuzz_assert(cursor_get(&again, c.entries[i].channel, &seq) && seq == c.entries[i].seq);
        }
        buf_free(&out);
    }
    free(text);
    return 0;
}
