/* message.c: a message as every transport shows it, and the statements that publish and read
 * them, shared by push-api, push-poll and push-ws. */
#include "message.h"

#include <json-c/json.h>

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

const struct db_statement message_publish_sql = {
    "message_publish",
    "SELECT push.publish($1, $2, $3, $4), (extract(epoch from now()) * 1000)::bigint",
    4,
};

const struct db_statement message_after_sql = {
    "message_after",
    "SELECT seq, content, (extract(epoch from created_at) * 1000)::bigint FROM push.message"
    " WHERE channel_id = $1 AND seq > $2 ORDER BY seq LIMIT $3::int",
    3,
};

/* Two index-ordered branches, one of them switched off by $4: the latest rows walk the
 * primary key backwards, rows after a seq walk it forwards; neither sorts the channel. */
const struct db_statement message_history_sql = {
    "message_history",
    "SELECT c.last_seq, h.seq, h.content, h.time FROM push.channel c LEFT JOIN LATERAL ("
    " (SELECT m.seq, m.content, (extract(epoch from m.created_at) * 1000)::bigint AS time"
    "  FROM push.message m WHERE $4::bigint IS NULL AND m.channel_id = c.id"
    "  AND ($3::bigint IS NULL OR m.seq < $3) ORDER BY m.seq DESC LIMIT $5::int)"
    " UNION ALL"
    " (SELECT m.seq, m.content, (extract(epoch from m.created_at) * 1000)::bigint AS time"
    "  FROM push.message m WHERE $4::bigint IS NOT NULL AND m.channel_id = c.id AND m.seq > $4"
    "  AND ($3::bigint IS NULL OR m.seq < $3) ORDER BY m.seq LIMIT $5::int)"
    ") h ON true WHERE c.app_id = $1 AND c.name = $2 ORDER BY h.seq",
    5,
};
