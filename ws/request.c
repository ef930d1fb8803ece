/* request.c: a WebSocket client's text message read as a request object and its members. */
#include "request.h"
#include "validate.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

struct json_object *request_parse(const char *text, size_t len)
{
    struct json_tokener *tok = json_tokener_new_ex(16);
    struct json_object *req = json_tokener_parse_ex(tok, text, (int)len);
    bool complete = req && json_tokener_get_error(tok) == json_tokener_success;
    /* Only white space may follow the object. */
    for (size_t i = complete ? json_tokener_get_parse_end(tok) : len; i < len; i++)
        if (!strchr(" \t\r\n", text[i]))
            complete = false;
    json_tokener_free(tok);
    if (!complete || !json_object_is_type(req, json_type_object)) {
        json_object_put(req);
        return NULL;
    }
    return req;
}

const char *request_string(struct json_object *req, const char *name)
{
    struct json_object *v;
    if (!json_object_object_get_ex(req, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* A whole number in [min, max], a JSON integer or its text: 1 (*out set), or -1. */
static int request_value_number(struct json_object *v, long long min, long long max, long long *out)
{
    if (json_object_is_type(v, json_type_int)) {
        errno = 0;
        long long n = json_object_get_int64(v);
        if (errno || n < min || n > max)
            return -1;
        *out = n;
        return 1;
    }
    if (json_object_is_type(v, json_type_string))
        return validate_int(json_object_get_string(v), min, max, out) ? 1 : -1;
    return -1;
}

int request_number(struct json_object *req, const char *name, long long min, long long max,
                   long long *out)
{
    struct json_object *v;
    if (!json_object_object_get_ex(req, name, &v) || json_object_is_type(v, json_type_null))
        return 0;
    return request_value_number(v, min, max, out);
}

int request_numbers(struct json_object *req, const char *name, long long min, long long max,
                    long long *out, size_t cap)
{
    struct json_object *v;
    if (!json_object_object_get_ex(req, name, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_array))
        return -1;
    size_t n = json_object_array_length(v);
    if (n == 0 || n > cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (request_value_number(json_object_array_get_idx(v, i), min, max, &out[i]) < 0)
            return -1;
    return (int)n;
}

int request_strings(struct json_object *req, const char *name, const char **out, size_t cap)
{
    struct json_object *v;
    if (!json_object_object_get_ex(req, name, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (json_object_is_type(v, json_type_string)) {
        out[0] = json_object_get_string(v);
        return cap > 0 ? 1 : -1;
    }
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > cap)
        return -1;
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(v, i);
        if (!json_object_is_type(item, json_type_string))
            return -1;
        out[i] = json_object_get_string(item);
    }
    return (int)n;
}

const char *request_channel(struct json_object *req, const char **err)
{
    const char *channel = request_string(req, "channel");
    if (!channel) {
        *err = "channel: missing";
        return NULL;
    }
    if (validate_channel_error(channel)) {
        *err = strcmp(validate_channel_error(channel), VALIDATE_NFC_RULE) == 0 ? "channel: " VALIDATE_NFC_RULE
                                                                             : "channel: must be " VALIDATE_CHANNEL_RULE;
        return NULL;
    }
    return channel;
}
