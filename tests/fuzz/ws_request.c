/* tests/fuzz/ws_request.c: the WebSocket request reader (ws/request.c) on any text frame: a
 * request is one JSON object, its members come back only when of the right type and within
 * their bounds, and its channel is valid or refused with one of the two reasons. */
#include "fuzz.h"
#include "request.h"
#include "validate.h"

#include <json-c/json.h>
#include <stdint.h>

static const char *const ops_names[] = { "subscribe", "unsubscribe", "publish", "history", "presence", "read",
                                         "unread" };

/* A number member within [min, max]: present means *out set in bounds, absent leaves it. */
static void check_number(struct json_object *req, const char *name, long long min, long long max)
{
    long long out = -7;
    int rc = request_number(req, name, min, max, &out);
    fuzz_assert(rc == 1 || rc == 0 || rc == -1);
    if (rc == 1)
        fuzz_assert(out >= min && out <= max);
    else
        fuzz_assert(out == -7);
    struct json_object *v;
    if (!json_object_object_get_ex(req, name, &v))
        fuzz_assert(rc == 0);
}

/* An array member of numbers within [min, max]: 1..cap of them, each in bounds, or -1/0. */
static void check_numbers(struct json_object *req, const char *name, long long min, long long max, size_t cap)
{
    long long out[4];
    int rc = request_numbers(req, name, min, max, out, cap);
    fuzz_assert(rc >= -1 && rc <= (int)cap);
    for (int i = 0; i < rc; i++)
        fuzz_assert(out[i] >= min && out[i] <= max);
    struct json_object *v;
    if (!json_object_object_get_ex(req, name, &v))
        fuzz_assert(rc == 0);
}

/* A string or array of strings member: at most cap, each a string of the object. */
static void check_strings(struct json_object *req, const char *name, size_t cap)
{
    const char *out[4];
    int rc = request_strings(req, name, out, cap);
    fuzz_assert(rc >= -1 && rc <= (int)cap);
    for (int i = 0; i < rc; i++)
        fuzz_assert(out[i] != NULL);
    struct json_object *v;
    if (!json_object_object_get_ex(req, name, &v))
        fuzz_assert(rc == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    struct json_object *req = request_parse(text, size);
    if (!req) {
        free(text);
        return 0;
    }
    fuzz_assert(json_object_is_type(req, json_type_object));
    /* What was accepted is an object that writes out and reads back as one. */
    const char *again_text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    struct json_object *again = request_parse(again_text, strlen(again_text));
    fuzz_assert(again && json_object_is_type(again, json_type_object));
    json_object_put(again);

    const char *op = request_string(req, "op");
    if (op) {
        struct json_object *v;
        fuzz_assert(json_object_object_get_ex(req, "op", &v) && json_object_is_type(v, json_type_string));
        size_t known = 0;
        for (size_t i = 0; i < sizeof(ops_names) / sizeof(ops_names[0]); i++)
            known += strcmp(ops_names[i], op) == 0;
        fuzz_assert(known <= 1);
    }
    const char *err = NULL;
    const char *channel = request_channel(req, &err);
    if (channel) {
        fuzz_assert(err == NULL && validate_channel(channel) && strlen(channel) <= VALIDATE_CHANNEL_MAX);
        fuzz_assert(request_string(req, "channel") == channel);
    } else {
        fuzz_assert(err && (strcmp(err, "channel: missing") == 0 ||
                            strcmp(err, "channel: must be " VALIDATE_CHANNEL_RULE) == 0 ||
                            strcmp(err, "channel: " VALIDATE_NFC_RULE) == 0));
        fuzz_assert((strcmp(err, "channel: missing") == 0) == (request_string(req, "channel") == NULL));
    }
    check_number(req, "since", 0, INT64_MAX);
    check_number(req, "limit", 1, 1000);
    check_number(req, "before", 0, INT64_MAX);
    check_number(req, "after", 0, INT64_MAX);
    check_numbers(req, "seqs", 1, INT64_MAX, 4);
    check_strings(req, "channels", 4);
    check_strings(req, "token", 4);
    json_object_put(req);
    free(text);
    return 0;
}
