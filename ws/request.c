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

int request_number(struct json_object *req, const char *name, long long min, long long max,
                   long long *out)
{
    struct json_object *v;
    if (!json_object_object_get_ex(req, name, &v) || json_object_is_type(v, json_type_null))
        return 0;
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

const char *request_channel(struct json_object *req, const char **err)
{
    const char *channel = request_string(req, "channel");
    if (!channel) {
        *err = "channel: missing";
        return NULL;
    }
    if (!validate_channel(channel)) {
        *err = "channel: must be " VALIDATE_CHANNEL_RULE;
        return NULL;
    }
    return channel;
}
