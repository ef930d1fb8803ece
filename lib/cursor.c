/* cursor.c: the delivery cursor, a comma list of channel:seq pairs ("news:41,user-alice:7"). */
#include "cursor.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int cursor_parse(struct cursor *c, const char *text, char *err, size_t errlen)
{
    c->count = 0;
    if (!text || !*text)
        return 0;
    const char *s = text;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        const char *colon = memchr(s, ':', len);
        /* The seq is after the last colon; channel names have none. */
        char channel[VALIDATE_CHANNEL_MAX + 2];
        char number[24];
        size_t clen = colon ? (size_t)(colon - s) : 0;
        size_t nlen = colon ? len - clen - 1 : 0;
        if (!colon || clen == 0 || clen > VALIDATE_CHANNEL_MAX || nlen == 0 || nlen >= sizeof(number)) {
            snprintf(err, errlen, "since: expected channel:seq pairs separated by commas");
            return -1;
        }
        memcpy(channel, s, clen);
        channel[clen] = '\0';
        memcpy(number, colon + 1, nlen);
        number[nlen] = '\0';
        long long seq;
        if (!validate_channel(channel)) {
            snprintf(err, errlen, "since: bad channel name in the cursor");
            return -1;
        }
        if (!validate_int(number, 0, INT64_MAX, &seq) || number[0] == '-') {
            snprintf(err, errlen, "since: the seq of %s is not a whole number >= 0", channel);
            return -1;
        }
        if (cursor_get(c, channel, NULL)) {
            snprintf(err, errlen, "since: %s appears twice", channel);
            return -1;
        }
        if (cursor_set(c, channel, seq) < 0) {
            snprintf(err, errlen, "since: more than %d channels", CURSOR_MAX_CHANNELS);
            return -1;
        }
        if (!comma)
            return 0;
        s = comma + 1;
    }
}

bool cursor_get(const struct cursor *c, const char *channel, int64_t *seq)
{
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->entries[i].channel, channel) == 0) {
            if (seq)
                *seq = c->entries[i].seq;
            return true;
        }
    }
    return false;
}

int cursor_set(struct cursor *c, const char *channel, int64_t seq)
{
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->entries[i].channel, channel) == 0) {
            c->entries[i].seq = seq;
            return 0;
        }
    }
    if (c->count == CURSOR_MAX_CHANNELS || strlen(channel) > VALIDATE_CHANNEL_MAX)
        return -1;
    strcpy(c->entries[c->count].channel, channel);
    c->entries[c->count].seq = seq;
    c->count++;
    return 0;
}

void cursor_format(const struct cursor *c, struct buf *out)
{
    for (size_t i = 0; i < c->count; i++)
        buf_printf(out, "%s%s:%" PRId64, i ? "," : "", c->entries[i].channel, c->entries[i].seq);
}
