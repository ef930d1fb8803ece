/* frame.h: an outgoing text frame, built once and shared by every connection that sends it. */
#ifndef PUSH_WS_FRAME_H
#define PUSH_WS_FRAME_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

#include "validate.h"

struct json_object;

/* Reference-counted; built on any thread, then held and released on the event loop thread
 * only. The payload (JSON text) sits after LWS_PRE bytes of headroom, and the end of that
 * headroom holds the WebSocket header of an unmasked final text frame: the same bytes for
 * every receiver, so connections copy frame_wire() into one write with others. */
struct frame {
    int refs;
    const char *op;                          /* "message", "subscribed", "error", ... (static) */
    char channel[VALIDATE_CHANNEL_MAX + 1];  /* the channel a message or subscription is about, or "" */
    int64_t seq;                             /* message seq; for "subscribed", the position reached */
    size_t len;                              /* payload bytes */
    size_t header;                           /* WebSocket header bytes before the payload */
    unsigned char data[];                    /* LWS_PRE bytes (header at their end), payload, NUL */
};

/* A frame holding the JSON text of obj (obj is not taken). op must be a string literal.
 * Returns it with one reference; never NULL (aborts on out-of-memory). */
struct frame *frame_from_json(const char *op, struct json_object *obj);

/* {"op":"message","channel":..,"seq":..,"content":..,"time":..} with one reference. */
struct frame *frame_message(const char *channel, int64_t seq, const char *content,
                            size_t content_len, int64_t time_ms);

/* {"op":"error","id":..,"code":..,"content":..[,"channel":..]} with one reference; id (not
 * taken) and channel may be NULL. */
struct frame *frame_error(struct json_object *id, int code, const char *content, const char *channel);

static inline unsigned char *frame_payload(struct frame *f)
{
    return f->data + LWS_PRE;
}

/* The complete WebSocket frame: header and payload, frame_wire_len(f) bytes. */
static inline const unsigned char *frame_wire(const struct frame *f)
{
    return f->data + LWS_PRE - f->header;
}

static inline size_t frame_wire_len(const struct frame *f)
{
    return f->header + f->len;
}

void frame_hold(struct frame *f);
/* Frees the frame when the last reference goes. NULL is a no-op. */
void frame_release(struct frame *f);

#endif
