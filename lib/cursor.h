/* cursor.h: the delivery cursor, a comma list of channel:seq pairs ("news:41,user-alice:7"). */
#ifndef PUSH_CURSOR_H
#define PUSH_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "validate.h"

#define CURSOR_MAX_CHANNELS 64

struct cursor_entry {
    char channel[VALIDATE_CHANNEL_MAX + 1];
    int64_t seq;
};

struct cursor {
    struct cursor_entry entries[CURSOR_MAX_CHANNELS];
    size_t count;
};

/* Parses text (NULL or "" is an empty cursor). Each channel valid, each seq a whole number
 * >= 0, no channel twice, at most CURSOR_MAX_CHANNELS.
 * Returns 0, or -1 with the reason in err. */
int cursor_parse(struct cursor *c, const char *text, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Looks a channel up; returns true and its seq when present. */
bool cursor_get(const struct cursor *c, const char *channel, int64_t *seq);

/* Sets or adds a channel. Returns 0, or -1 when full. */
int cursor_set(struct cursor *c, const char *channel, int64_t seq) __attribute__((warn_unused_result));

/* Appends "a:1,b:2" in entry order. */
void cursor_format(const struct cursor *c, struct buf *out);

#endif
