/* tests/fuzz/jsonp.c: the JSONP writer: input before the first newline is a callback name (used
 * when it validates), the rest the content of a reply; the body is "/" "**" "/NAME(<json>);"
 * around JSON that parses back to the same content, or that JSON alone. */
#include "fuzz.h"
#include "reply.h"
#include "validate.h"

#include <json-c/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *newline = memchr(data, '\n', size);
    size_t name_len = newline ? (size_t)(newline - data) : 0;
    char *callback = fuzz_text(data, name_len);
    const char *content = (const char *)data + (newline ? name_len + 1 : 0);
    size_t content_len = size - (newline ? name_len + 1 : 0);
    bool jsonp = strlen(callback) == name_len && validate_callback(callback);
    if (!validate_utf8(content, content_len)) { /* replies carry checked text only */
        free(callback);
        return 0;
    }
    struct reply r = REPLY_INIT;
    struct json_object *obj = reply_object(200, "OK");
    json_object_object_add(obj, "data", json_object_new_string_len(content, (int)content_len));
    reply_json(&r, obj, jsonp ? callback : NULL);
    const char *body = buf_str(&r.body);
    size_t len = r.body.len;
    if (jsonp) {
        size_t head = 4 + name_len + 1;
        fuzz_assert(len > head + 2 && memcmp(body, "/**/", 4) == 0 &&
                    memcmp(body + 4, callback, name_len) == 0 && body[4 + name_len] == '(' &&
                    memcmp(body + len - 2, ");", 2) == 0);
        body += head;
        len -= head + 2;
    }
    /* In a script no line or paragraph separator is left raw: old engines end a line there. */
    fuzz_assert(!jsonp || (memmem(body, len, "\xe2\x80\xa8", 3) == NULL &&
                           memmem(body, len, "\xe2\x80\xa9", 3) == NULL));
    struct json_tokener *tok = json_tokener_new();
    struct json_object *back = json_tokener_parse_ex(tok, body, (int)len);
    fuzz_assert(back != NULL);
    struct json_object *member = NULL;
    fuzz_assert(json_object_object_get_ex(back, "data", &member));
    fuzz_assert((size_t)json_object_get_string_len(member) == content_len &&
                memcmp(json_object_get_string(member), content, content_len) == 0);
    json_object_put(back);
    json_tokener_free(tok);
    reply_free(&r);
    free(callback);
    return 0;
}
