/* request.h: a WebSocket client's text message read as a request object, and its members
 * checked, without any connection or database state (ops.c answers them). */
#ifndef PUSH_WS_REQUEST_H
#define PUSH_WS_REQUEST_H

#include <stddef.h>

struct json_object;

/* The one JSON object of text (only white space may follow it), or NULL when text is anything
 * else. The caller json_object_put()s it. */
struct json_object *request_parse(const char *text, size_t len);

/* The string member name, or NULL when absent or not a string. Borrowed from req. */
const char *request_string(struct json_object *req, const char *name);

/* An optional whole number in [min, max] (a JSON integer or its text). Returns 1 present
 * (*out set), 0 absent (or null), -1 bad. */
int request_number(struct json_object *req, const char *name, long long min, long long max,
                   long long *out);

/* An optional array of 1 to cap whole numbers in [min, max] (integers or their texts), into
 * out. Returns how many (>= 1), 0 absent (or null), -1 bad (not an array, empty, over cap, an
 * item out of range). */
int request_numbers(struct json_object *req, const char *name, long long min, long long max,
                    long long *out, size_t cap);

/* An optional string, or array of at most cap strings, into out (borrowed from req). Returns
 * how many, 0 absent (or null, or an empty array), -1 anything else. */
int request_strings(struct json_object *req, const char *name, const char **out, size_t cap);

/* The channel member when it is a valid channel name (borrowed from req), else NULL with *err
 * the reason ("channel: missing" or "channel: must be ..."), a static text. */
const char *request_channel(struct json_object *req, const char **err);

#endif
