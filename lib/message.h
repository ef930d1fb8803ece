/* message.h: a message as every transport shows it, and the statements that publish and read
 * them, shared by push-api, push-poll and push-ws. */
#ifndef PUSH_MESSAGE_H
#define PUSH_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct json_object;

/* {"op": op (when not NULL), "channel", "seq", "content", "time"}. Caller owns the object. */
struct json_object *message_object(const char *op, const char *channel, int64_t seq,
                                   const char *content, size_t content_len, int64_t time_ms);

/* Reads the next item of a push_message notification payload, "<channel_id>:<seq>" items
 * separated by commas (one commit, each channel with its newest seq), from *cursor and moves
 * *cursor past it. Returns true with the item; false at the end or at a malformed item. */
bool message_notice_next(const char **cursor, int64_t *channel_id, int64_t *seq);

/* One publish as a group of one: $1 key, $2 channel, $3 content, $4 sender (or NULL), $5 msgid
 * (or NULL) -> (seq, time ms, duplicate, status, error); a refusal is a row with status (400,
 * 401, 403, 413, 429) and error, not a failed statement. */
extern const struct db_statement message_publish_sql;

/* $1 channel id, $2 after seq, $3 limit -> (seq, content, time ms) ascending by seq: the rows
 * a subscriber has not seen. */
extern const struct db_statement message_after_sql;

/* $1 app id, $2 channel, $3 before (or NULL), $4 after (or NULL), $5 limit ->
 * (last_seq, seq, content, time ms) ascending by seq; one row with NULL seq when the channel
 * has no messages in range, none when the channel does not exist. */
extern const struct db_statement message_history_sql;

/* $1 key, $2 user, $3 channel, $4 seq -> (the user's read mark on the channel now). */
extern const struct db_statement message_mark_read_sql;

/* $1 key, $2 user, $3 channel, $4 seqs (an array literal) -> (how many were not read before). */
extern const struct db_statement message_mark_read_each_sql;

/* $1 app name, $2 user -> (channel, last_seq, read_seq, unread) by channel name. */
extern const struct db_statement message_unread_sql;

#endif
