/* frame.c: an outgoing text frame, built once and shared by every connection that sends it. */
#include "frame.h"
#include "buf.h"
#include "message.h"
#include "reply.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes the header of an unmasked, final text frame of len bytes before the payload. */
static void frame_put_header(struct frame *f)
{
    unsigned char *payload = frame_payload(f);
    uint64_t len = f->len;
    if (len < 126) {
        f->header = 2;
        payload[-1] = (unsigned char)len;
    } else if (len < 65536) {
        f->header = 4;
        payload[-3] = 126;
        payload[-2] = (unsigned char)(len >> 8);
        payload[-1] = (unsigned char)len;
    } else {
        f->header = 10;
        payload[-9] = 127;
        for (int i = 0; i < 8; i++)
            payload[-1 - i] = (unsigned char)(len >> (8 * i));
    }
    payload[-(int)f->header] = 0x81; /* FIN, text */
}

struct frame *frame_from_json(const char *op, struct json_object *obj)
{
    struct buf text = BUF_INIT;
    reply_serialize(obj, &text);
    struct frame *f = xmalloc(sizeof(*f) + LWS_PRE + text.len + 1);
    f->refs = 1;
    f->op = op;
    f->channel[0] = '\0';
    f->seq = 0;
    f->len = text.len;
    memcpy(frame_payload(f), buf_str(&text), text.len + 1);
    buf_free(&text);
    frame_put_header(f);
    return f;
}

struct frame *frame_message(const char *channel, int64_t seq, const char *content,
                            size_t content_len, int64_t time_ms)
{
    struct json_object *obj = message_object("message", channel, seq, content, content_len, time_ms);
    struct frame *f = frame_from_json("message", obj);
    json_object_put(obj);
    snprintf(f->channel, sizeof(f->channel), "%s", channel);
    f->seq = seq;
    return f;
}

struct frame *frame_error(struct json_object *id, int code, const char *content, const char *channel)
{
    struct json_object *obj = json_object_new_object();
    json_object_object_add(obj, "op", json_object_new_string("error"));
    if (id)
        json_object_object_add(obj, "id", json_object_get(id));
    json_object_object_add(obj, "code", json_object_new_int(code));
    json_object_object_add(obj, "content", json_object_new_string(content));
    if (channel)
        json_object_object_add(obj, "channel", json_object_new_string(channel));
    struct frame *f = frame_from_json("error", obj);
    json_object_put(obj);
    return f;
}

void frame_hold(struct frame *f)
{
    f->refs++;
}

void frame_release(struct frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}
