/* message.c: a message as every transport shows it, and the statements that publish and read
 * them, shared by push-api, push-poll and push-ws. */
#include "message.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>

struct json_object *message_object(const char *op, const char *channel, int64_t seq,
                                   const char *content, size_t content_len, int64_t time_ms)
{
    struct json_object *obj = json_object_new_object();
    if (op)
        json_object_object_add(obj, "op", json_object_new_string(op));
    json_object_object_add(obj, "channel", json_object_new_string(channel));
    json_object_object_add(obj, "seq", json_object_new_int64(seq));
    json_object_object_add(obj, "content", json_object_new_string_len(content, (int)content_len));
    json_object_object_add(obj, "time", json_object_new_int64(time_ms));
    return obj;
}

bool message_notice_next(const char **cursor, int64_t *channel_id, int64_t *seq)
{
    const char *s = *cursor;
    char *end;
    if (*s == ',')
        s++;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    long long id = strtoll(s, &end, 10);
    if (errno || *end != ':' || end[1] < '0' || end[1] > '9')
        return false;
    long long n = strtoll(end + 1, &end, 10);
    if (errno || (*end != ',' && *end != '\0'))
        return false;
    *channel_id = id;
    *seq = n;
    *cursor = end;
    return true;
}

const struct db_statement message_publish_sql = {
    "message_publish",
    "SELECT g.seq, g.time_ms, g.duplicate, g.status, g.error FROM push.publish_group(ARRAY[$1::text],"
    " ARRAY[$2::text], ARRAY[$3::text], ARRAY[coalesce($4::text, '')], ARRAY[$5::text]) g",
    5,
};

const struct db_statement message_after_sql = {
    "message_after",
    "SELECT seq, content, time_ms FROM push.message_after($1, $2, $3::int)",
    3,
};

const struct db_statement message_history_sql = {
    "message_history",
    "SELECT last_seq, seq, content, time_ms FROM push.message_history($1, $2, $3, $4, $5::int)",
    5,
};

const struct db_statement message_mark_read_sql = {
    "message_mark_read",
    "SELECT push.mark_read($1, $2, $3, $4::bigint)",
    4,
};

const struct db_statement message_mark_read_each_sql = {
    "message_mark_read_each",
    "SELECT push.mark_read_each($1, $2, $3, $4::bigint[])",
    4,
};

const struct db_statement message_unread_sql = {
    "message_unread",
    "SELECT channel, last_seq, read_seq, unread FROM push.unread_of($1, $2)",
    2,
};
