/* sse_query.h: what GET /push/sse asks for, read from its query parameters (handshake_query)
 * without any connection or database state: the channels, the tokens and the since cursor. */
#ifndef PUSH_WS_SSE_QUERY_H
#define PUSH_WS_SSE_QUERY_H

#include <stddef.h>

#include "cursor.h"
#include "params.h"

struct sse_query {
    char **names;         /* owned: the channel= values split on commas, nnames of them */
    int nnames;           /* 1..max_channels once sse_query_read() returned 0 */
    char **tokens;        /* owned: the token= values split on commas */
    int ntokens;          /* -1 when over CURSOR_MAX_CHANNELS (then no tokens) */
    int bad_channel;      /* index of the first invalid channel name, or nnames when all are valid */
    struct cursor since;  /* what to resume from, when since_ok */
    int since_ok;         /* 1, or 0 with the reason in since_err */
    char since_err[200];
};

/* Reads q into s: the channel list (at most max_channels, and never more than
 * CURSOR_MAX_CHANNELS), the token list, which channel names are invalid, and the cursor of
 * last_event_id when it is not NULL (a reconnecting EventSource), else of since=.
 * Returns 0, or 400 ("channel: missing") or 429 ("channel: at most N channels") with err.
 * Either way the caller frees s with sse_query_free(). */
int sse_query_read(const struct params *q, int max_channels, const char *last_event_id,
                   struct sse_query *s, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Frees what s owns; s may then be read into again. */
void sse_query_free(struct sse_query *s);

#endif
