/* reply.c: the one response writer: JSON or JSONP bodies, status, CORS and cache headers. */
#include "reply.h"

#include <json-c/json.h>
#include <string.h>
#include <strings.h>

void reply_header(struct reply *r, const char *name, const char *value)
{
    buf_printf(&r->headers, "%s: %s\r\n", name, value);
}

void reply_serialize(struct json_object *obj, struct buf *out)
{
    const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    buf_puts(out, text);
}

/* JSON allows U+2028 and U+2029 raw, older JavaScript does not: escape them for JSONP. */
static void append_js_safe(struct buf *out, const char *json)
{
    const char *s = json;
    for (;;) {
        const char *hit = strstr(s, "\xE2\x80");
        while (hit && hit[2] != '\xA8' && hit[2] != '\xA9')
            hit = strstr(hit + 2, "\xE2\x80");
        if (!hit) {
            buf_puts(out, s);
            return;
        }
        buf_append(out, s, (size_t)(hit - s));
        buf_puts(out, hit[2] == '\xA8' ? "\\u2028" : "\\u2029");
        s = hit + 3;
    }
}

void reply_json_headers(struct reply *r, const char *callback)
{
    reply_header(r, "Cache-Control", "no-store");
    if (callback) {
        reply_header(r, "Content-Type", "application/javascript; charset=utf-8");
        reply_header(r, "X-Content-Type-Options", "nosniff");
    } else {
        reply_header(r, "Content-Type", "application/json; charset=utf-8");
    }
}

void reply_json(struct reply *r, struct json_object *obj, const char *callback)
{
    struct json_object *code = NULL;
    r->status = json_object_object_get_ex(obj, "code", &code) ? json_object_get_int(code) : 200;
    reply_json_headers(r, callback);
    buf_reset(&r->body);
    if (callback) {
        r->status = 200;
        buf_printf(&r->body, "/**/%s(", callback);
        struct buf json = BUF_INIT;
        reply_serialize(obj, &json);
        append_js_safe(&r->body, buf_str(&json));
        buf_free(&json);
        buf_puts(&r->body, ");");
    } else {
        reply_serialize(obj, &r->body);
    }
    json_object_put(obj);
}

struct json_object *reply_object(int code, const char *content)
{
    struct json_object *obj = json_object_new_object();
    json_object_object_add(obj, "code", json_object_new_int(code));
    json_object_object_add(obj, "content", json_object_new_string(content));
    return obj;
}

void reply_error(struct reply *r, int code, const char *content, const char *callback)
{
    reply_json(r, reply_object(code, content), callback);
}

bool reply_origin_allowed(const char *origin, const char *const *origins, size_t norigins)
{
    if (!origin || !*origin || norigins == 0)
        return true;
    for (size_t i = 0; i < norigins; i++)
        if (strcasecmp(origins[i], origin) == 0)
            return true;
    return false;
}

bool reply_cors(struct reply *r, const char *origin, const char *const *origins, size_t norigins)
{
    if (!origin || !*origin)
        return true;
    if (!reply_origin_allowed(origin, origins, norigins))
        return false;
    if (norigins == 0) {
        reply_header(r, "Access-Control-Allow-Origin", "*");
    } else {
        reply_header(r, "Access-Control-Allow-Origin", origin);
        reply_header(r, "Vary", "Origin");
    }
    reply_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    reply_header(r, "Access-Control-Allow-Headers", "Content-Type");
    reply_header(r, "Access-Control-Max-Age", "600");
    return true;
}

void reply_free(struct reply *r)
{
    buf_free(&r->headers);
    buf_free(&r->body);
}
