/* sse_query.c: the channels, tokens and since cursor of GET /push/sse, read from its query. */
#include "sse_query.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

int sse_query_read(const struct params *q, int max_channels, const char *last_event_id,
                   struct sse_query *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->nnames = params_get_list(q, "channel", &s->names, CURSOR_MAX_CHANNELS);
    if (s->nnames <= 0 || s->nnames > max_channels) {
        snprintf(err, errlen, s->nnames == 0 ? "channel: missing" : "channel: at most %d channels",
                 s->nnames < 0 ? CURSOR_MAX_CHANNELS : max_channels);
        return s->nnames == 0 ? 400 : 429;
    }
    s->ntokens = params_get_list(q, "token", &s->tokens, CURSOR_MAX_CHANNELS);
    s->bad_channel = 0;
    while (s->bad_channel < s->nnames && validate_channel(s->names[s->bad_channel]))
        s->bad_channel++;
    const char *from = last_event_id ? last_event_id : params_get(q, "since");
    s->since_ok = cursor_parse(&s->since, from, s->since_err, sizeof(s->since_err)) == 0;
    return 0;
}

void sse_query_free(struct sse_query *s)
{
    params_list_free(s->names, s->nnames);
    params_list_free(s->tokens, s->ntokens);
    s->names = s->tokens = NULL;
    s->nnames = s->ntokens = 0;
}
