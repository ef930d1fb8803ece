/* tests/fuzz/sse_query.c: what GET /push/sse reads from its query (ws/sse_query.c) on any
 * input "<byte><query>[\n<Last-Event-ID>]": the byte sets the subscription limit, the query is
 * split at '&' into the decoded pairs libwebsockets hands over. Channel and token lists stay
 * within their bounds, the first invalid channel is the one reported, the cursor holds valid
 * channels only. */
#include "fuzz.h"
#include "sse_query.h"
#include "validate.h"

/* How many values name has in q once split on commas, as params_get_list counts them. */
static int count_values(const struct params *q, const char *name)
{
    int n = 0;
    for (size_t i = 0; i < q->count; i++)
        if (strcmp(q->items[i].name, name) == 0)
            for (const char *s = q->items[i].value; s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL)
                n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int max_channels = 1 + data[0] % (CURSOR_MAX_CHANNELS + 16);
    char *text = fuzz_text(data + 1, size - 1);
    size_t len = size - 1;
    char *newline = memchr(text, '\n', len);
    const char *last_event_id = NULL;
    if (newline) {
        *newline = '\0';
        last_event_id = newline + 1;
        len = (size_t)(newline - text);
    }
    struct params q = PARAMS_INIT;
    char err[300] = "";
    int added = 0;
    for (size_t start = 0; start <= len && added == 0;) {
        const char *amp = memchr(text + start, '&', len - start);
        size_t end = amp ? (size_t)(amp - text) : len;
        const char *frag = text + start;
        const char *eq = memchr(frag, '=', end - start);
        size_t name_len = eq ? (size_t)(eq - frag) : end - start;
        added = params_add_checked(&q, frag, name_len, eq ? eq + 1 : "", eq ? end - start - name_len - 1 : 0,
                                   err, sizeof(err));
        start = end + 1;
    }
    if (added < 0) {
        params_free(&q);
        free(text);
        return 0;
    }

    struct sse_query s;
    int rc = sse_query_read(&q, max_channels, last_event_id, &s, err, sizeof(err));
    int channels = count_values(&q, "channel"), tokens = count_values(&q, "token");
    if (rc == 400) {
        fuzz_assert(channels == 0 && strcmp(err, "channel: missing") == 0);
    } else if (rc == 429) {
        fuzz_assert(channels > max_channels || channels > CURSOR_MAX_CHANNELS);
        fuzz_assert(strncmp(err, "channel: at most ", 17) == 0);
    } else {
        fuzz_assert(rc == 0);
        fuzz_assert(s.nnames == channels && s.nnames >= 1 && s.nnames <= max_channels &&
                    s.nnames <= CURSOR_MAX_CHANNELS);
        for (int i = 0; i < s.nnames; i++) {
            fuzz_assert(s.names[i] && !strchr(s.names[i], ','));
            fuzz_assert(validate_channel(s.names[i]) == (i < s.bad_channel));
            if (i == s.bad_channel)
                break;
        }
        fuzz_assert(s.bad_channel >= 0 && s.bad_channel <= s.nnames);
        fuzz_assert(s.ntokens == (tokens > CURSOR_MAX_CHANNELS ? -1 : tokens));
        for (int i = 0; i < s.ntokens; i++)
            fuzz_assert(s.tokens[i] && !strchr(s.tokens[i], ','));
        if (s.since_ok) {
            fuzz_assert(s.since.count <= CURSOR_MAX_CHANNELS);
            for (size_t i = 0; i < s.since.count; i++)
                fuzz_assert(validate_channel(s.since.entries[i].channel) && s.since.entries[i].seq >= 0);
            const char *from = last_event_id ? last_event_id : params_get(&q, "since");
            if (!from || !*from)
                fuzz_assert(s.since.count == 0);
        } else {
            fuzz_assert(s.since_err[0] && validate_utf8(s.since_err, strlen(s.since_err)));
        }
    }
    sse_query_free(&s);
    fuzz_assert(s.names == NULL && s.tokens == NULL);
    params_free(&q);
    free(text);
    return 0;
}
