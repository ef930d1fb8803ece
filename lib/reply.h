/* reply.h: the one response writer: JSON or JSONP bodies, status, CORS and cache headers. */
#ifndef PUSH_REPLY_H
#define PUSH_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct json_object;

struct reply {
    int status;          /* HTTP status to send (200 for JSONP whatever the code) */
    struct buf headers;  /* "Name: value\r\n" lines, owned */
    struct buf body;     /* owned */
};

#define REPLY_INIT { 200, BUF_INIT, BUF_INIT }

/* Serializes obj as the body. obj must hold "code"; the HTTP status is that code, or 200 with
 * the body wrapped as "/" "**" "/NAME(<json>);" when callback is set (already validated).
 * Takes ownership of obj. Adds Content-Type, Cache-Control: no-store and, for JSONP,
 * X-Content-Type-Options: nosniff. */
void reply_json(struct reply *r, struct json_object *obj, const char *callback);

/* The headers reply_json adds (for a body that follows later). */
void reply_json_headers(struct reply *r, const char *callback);

/* {"code": code, "content": content} through reply_json. */
void reply_error(struct reply *r, int code, const char *content, const char *callback);

/* A new {"code": code, "content": content} object to add members to. Caller owns it. */
struct json_object *reply_object(int code, const char *content);

void reply_header(struct reply *r, const char *name, const char *value);

/* CORS: when the request has an Origin, allows it if origins is empty (any origin, never with
 * credentials) or lists it. Adds the Access-Control-* headers when allowed.
 * Returns false when an Origin was given and is not allowed. */
bool reply_cors(struct reply *r, const char *origin, const char *const *origins, size_t norigins);

/* True when origin is allowed by the list (empty list or no origin: true). */
bool reply_origin_allowed(const char *origin, const char *const *origins, size_t norigins);

/* Appends the JSON text of obj (plain, no slash escaping) to out. */
void reply_serialize(struct json_object *obj, struct buf *out);

void reply_free(struct reply *r);

#endif
