/* tests/unit/params.c: query strings, form bodies and JSON bodies through the one parser. */
#include "../tap.h"
#include "buf.h"
#include "params.h"
#include "validate.h"

#include <json-c/json.h>

static const struct { const char *text; int valid; const char *name; const char *value; } forms[] = {
    { "a=1", 1, "a", "1" },
    { "a=x%20y", 1, "a", "x y" },
    { "a=x+y", 1, "a", "x y" },
    { "a=%E4%BD%A0", 1, "a", "\xe4\xbd\xa0" },
    { "a=", 1, "a", "" },
    { "a", 1, "a", "" },
    { "&&a=1&&", 1, "a", "1" },
    { "a=%2", 0, NULL, NULL },
    { "a=%zz", 0, NULL, NULL },
    { "a%=1", 0, NULL, NULL },
};

/* Bad bytes in any parameter, query string or body, url-encoded or JSON: refused at the parser
 * with the parameter named. */
static const struct { const char *type; const char *text; const char *err; } bad_bytes[] = {
    { NULL, "channel=trunc%00private-x", "channel: contains a NUL byte" },
    { NULL, "appkey=BC-%FF", "appkey: not valid UTF-8" },
    { NULL, "a=1&content=a%00b", "content: contains a NUL byte" },
    { NULL, "user=%C0%AF", "user: not valid UTF-8" },
    { NULL, "user=%ED%A0%80", "user: not valid UTF-8" },
    { NULL, "callback=%E4%BD", "callback: not valid UTF-8" },
    { NULL, "ch%00annel=x", "parameter name: contains a NUL byte" },
    { NULL, "%FF=x", "parameter name: not valid UTF-8" },
    { "application/x-www-form-urlencoded", "channel=news&sender=a%00b", "sender: contains a NUL byte" },
    { "application/json", "{\"channel\":\"trunc\\u0000private-x\"}", "channel: contains a NUL byte" },
    { "application/json", "{\"appkey\":\"BC-\xff\"}", "appkey: not valid UTF-8" },
    { "application/json", "{\"channel\":[\"ok\",\"a\\u0000\"]}", "channel[1]: contains a NUL byte" },
    { "application/json", "{\"messages\":[{\"channel\":\"b1\",\"content\":\"x\"},{\"channel\":\"x\\u0000y\"}]}", "messages[1].channel: contains a NUL byte" },
    { "application/json", "{\"messages\":[{\"content\":\"\xc3\"}]}", "messages[0].content: not valid UTF-8" },
    { "application/json", "{\"channel\\u0000x\":\"private-x\"}", "parameter name: contains a NUL byte" },
    { "application/json", "{\"\xff\":\"x\"}", "parameter name: not valid UTF-8" },
};

/* What must still pass: escapes that look like the bad ones, and non-ASCII text. */
static const struct { const char *type; const char *text; const char *name; const char *value; } good_bytes[] = {
    { NULL, "content=%E4%BD%A0%F0%9F%98%80", "content", "\xe4\xbd\xa0\xf0\x9f\x98\x80" },
    { NULL, "content=%25000", "content", "%000" },
    { "application/json", "{\"content\":\"a\\\\u0000\"}", "content", "a\\u0000" },
    { "application/json", "{\"content\":\"\\u4f60\"}", "content", "\xe4\xbd\xa0" },
    /* An object stands for its JSON text, non-ASCII and slashes as they are. */
    { "application/json", "{\"content\": {\"title\": \"\\u4f60\", \"url\": \"/a\"}}", "content",
      "{\"title\":\"\xe4\xbd\xa0\",\"url\":\"/a\"}" },
    { "application/json", "{\"content\":{}}", "content", "{}" },
};

/* The bounds of a JSON body, found by a scan before json-c allocates anything. Each text is built
 * from a head, a piece repeated n times (comma-separated) and a tail. */
static const struct { const char *head; const char *piece; int n; const char *tail; int rc; const char *err; } json_bounds[] = {
    { "{\"x\":[", "1", 1000, "]}", 0, NULL },
    { "{\"x\":[", "1", 1001, "]}", PARAMS_TOO_LARGE, "x: more than 1000 elements" },
    { "{\"x\":[", "\"a,]}\\\"\"", 1001, "]}", PARAMS_TOO_LARGE, "x: more than 1000 elements" },
    { "{\"messages\":[", "{\"channel\":\"a\",\"content\":\"b\"}", 1000, "]}", 0, NULL },
    { "{\"messages\":[", "{\"channel\":\"a\",\"content\":\"b\"}", 1001, "]}", PARAMS_TOO_LARGE,
      "messages: more than 1000 elements" },
    { "{\"deep\":[[[[[[[[[[[[[[", "1", 1, "]]]]]]]]]]]]]]}", 0, NULL },
    { "{\"deep\":[[[[[[[[[[[[[[[[", "1", 1, "]]]]]]]]]]]]]]]]}", PARAMS_BAD, "deep: nested deeper than 16 levels" },
    { "{\"messages\":[{\"content\":{\"a\":[{\"b\":[{\"c\":[{\"d\":[{\"e\":[{\"f\":[{\"g\":", "1", 1,
      "}]}]}]}]}]}]}}]}", 0, NULL },
    { "{\"messages\":[{\"content\":{\"a\":[{\"b\":[{\"c\":[{\"d\":[{\"e\":[{\"f\":[{\"g\":[", "1", 1,
      "]}]}]}]}]}]}]}}]}", PARAMS_BAD, "messages: nested deeper than 16 levels" },
    { "{\"a\":1,", "\"k\":1", 999, "}", 0, NULL },
    { "{\"a\":1,", "\"k\":1", 1000, "}", PARAMS_TOO_LARGE, "body: more than 1000 members in an object" },
    { "{\"m\":[{", "\"k\":1", 1001, "}]}", PARAMS_TOO_LARGE, "m: more than 1000 members in an object" },
    { "{\"a\":[", "1,1,1,1,1,1,1,1,1,1", 100, "],\"b\":[1]}", 0, NULL },
    { "{\"m\":[", "[[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]]", 1000, "]}", PARAMS_TOO_LARGE, "body: more than 32768 values" },
    { "{\"x\":[", "1", 2000000, "]}", PARAMS_TOO_LARGE, "x: more than 1000 elements" },
};

int main(void)
{
    char err[200];
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct params p = PARAMS_INIT;
        int rc = params_parse_urlencoded(&p, forms[i].text, strlen(forms[i].text), err, sizeof(err));
        if (forms[i].valid)
            ok(rc == 0 && params_get(&p, forms[i].name) && strcmp(params_get(&p, forms[i].name), forms[i].value) == 0,
               "form \"%s\" gives %s=\"%s\"", forms[i].text, forms[i].name, forms[i].value);
        else
            ok(rc < 0, "form \"%s\" rejected (%s)", forms[i].text, rc < 0 ? err : "accepted");
        params_free(&p);
    }

    struct params p = PARAMS_INIT;
    for (size_t i = 0; i < sizeof(bad_bytes) / sizeof(bad_bytes[0]); i++) {
        const char *text = bad_bytes[i].text;
        int rc = bad_bytes[i].type ? params_parse_body(&p, bad_bytes[i].type, text, strlen(text), err, sizeof(err))
                                   : params_parse_urlencoded(&p, text, strlen(text), err, sizeof(err));
        ok(rc < 0 && strcmp(err, bad_bytes[i].err) == 0, "%s %zu refused: \"%s\"",
           bad_bytes[i].type ? bad_bytes[i].type : "query", i, rc < 0 ? err : "accepted");
        params_free(&p);
    }
    for (size_t i = 0; i < sizeof(good_bytes) / sizeof(good_bytes[0]); i++) {
        const char *text = good_bytes[i].text;
        int rc = good_bytes[i].type ? params_parse_body(&p, good_bytes[i].type, text, strlen(text), err, sizeof(err))
                                    : params_parse_urlencoded(&p, text, strlen(text), err, sizeof(err));
        ok(rc == 0 && params_get(&p, good_bytes[i].name) &&
           strcmp(params_get(&p, good_bytes[i].name), good_bytes[i].value) == 0, "'%s' accepted (%s)", text,
           rc == 0 ? "ok" : err);
        params_free(&p);
    }
    char long_name[200];
    memset(long_name, 0, sizeof(long_name));
    memcpy(long_name, "x=", 2);
    for (int i = 0; i < 40; i++)
        memcpy(long_name + 2 + i * 3, "%E4", 3);
    /* Decoded, the value is invalid; its name is short. A long name is cut on a character. */
    ok(params_parse_urlencoded(&p, long_name, strlen(long_name), err, sizeof(err)) < 0 &&
       strcmp(err, "x: not valid UTF-8") == 0, "a bad value is refused whatever its length");
    params_free(&p);
    struct buf name = BUF_INIT;
    for (int i = 0; i < 30; i++)
        buf_puts(&name, "%E4%BD%A0");
    buf_puts(&name, "=%00");
    int long_rc = params_parse_urlencoded(&p, buf_str(&name), name.len, err, sizeof(err));
    ok(long_rc < 0 && strlen(err) == 63 + strlen(": contains a NUL byte") && validate_utf8(err, strlen(err)),
       "a long name is cut to whole characters in the error: %s", err);
    buf_free(&name);
    params_free(&p);

    ok(params_parse_urlencoded(&p, "channel=a,b&channel=c", 21, err, sizeof(err)) == 0, "repeated channel");
    char **list = NULL;
    int n = params_get_list(&p, "channel", &list, 64);
    ok(n == 3 && strcmp(list[0], "a") == 0 && strcmp(list[1], "b") == 0 && strcmp(list[2], "c") == 0,
       "repeat and comma lists flatten to a, b, c");
    params_list_free(list, n);
    ok(params_get_list(&p, "channel", &list, 2) == -1, "more than max is refused");
    params_free(&p);

    const char *json = "{\"appkey\":\"BC-1\",\"n\":5,\"flag\":true,\"channel\":[\"x\",\"y\"],"
                       "\"messages\":[{\"channel\":\"a\",\"content\":\"hi\"}]}";
    ok(params_parse_body(&p, "application/json; charset=utf-8", json, strlen(json), err, sizeof(err)) == 0,
       "JSON body parses");
    is_str(params_get(&p, "appkey"), "BC-1", "JSON string member");
    is_str(params_get(&p, "n"), "5", "JSON number member as text");
    is_str(params_get(&p, "flag"), "true", "JSON boolean member as text");
    n = params_get_list(&p, "channel", &list, 64);
    ok(n == 2, "JSON array of strings gives repeated values");
    params_list_free(list, n);
    struct json_object *messages = NULL;
    ok(p.json && json_object_object_get_ex(p.json, "messages", &messages) &&
       json_object_array_length(messages) == 1, "nested members stay in the parsed body");
    params_free(&p);

    static const char *bad_json[] = { "{", "[1,2]", "\"x\"", "{\"a\":1} trailing", "nul" };
    for (size_t i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
        int rc = params_parse_body(&p, "application/json", bad_json[i], strlen(bad_json[i]), err, sizeof(err));
        ok(rc < 0 && strncmp(err, "body: ", 6) == 0, "JSON body '%s' rejected (%s)", bad_json[i], err);
        params_free(&p);
    }
    ok(params_parse_body(&p, "application/x-www-form-urlencoded", "a=1&b=2", 7, err, sizeof(err)) == 0 &&
       p.count == 2, "form body by content type");
    params_free(&p);
    for (size_t i = 0; i < sizeof(json_bounds) / sizeof(json_bounds[0]); i++) {
        struct buf text = BUF_INIT;
        buf_puts(&text, json_bounds[i].head);
        for (int k = 0; k < json_bounds[i].n; k++)
            buf_printf(&text, "%s%s", k ? "," : "", json_bounds[i].piece);
        buf_puts(&text, json_bounds[i].tail);
        err[0] = '\0';
        int rc = params_parse_json(&p, buf_str(&text), text.len, err, sizeof(err));
        ok(rc == json_bounds[i].rc && (!json_bounds[i].err || strcmp(err, json_bounds[i].err) == 0),
           "JSON %s%s x %d%s: %d \"%s\"", json_bounds[i].head, json_bounds[i].piece, json_bounds[i].n,
           json_bounds[i].tail, rc, err);
        buf_free(&text);
        params_free(&p);
    }
    /* 2,000 members of 2 arrays of 1000 numbers become repeated values, over the pairs' bound. */
    struct buf many = BUF_INIT;
    buf_puts(&many, "{\"a\":[");
    for (int k = 0; k < 1000; k++)
        buf_puts(&many, k ? ",1" : "1");
    buf_puts(&many, "],\"b\":[");
    for (int k = 0; k < 1000; k++)
        buf_puts(&many, k ? ",1" : "1");
    buf_puts(&many, "]}");
    ok(params_parse_json(&p, buf_str(&many), many.len, err, sizeof(err)) == PARAMS_TOO_LARGE &&
       strcmp(err, "parameters: more than 1024") == 0 && p.count == 0,
       "2 arrays of 1000 numbers: more pairs than 1024, none kept (%s)", err);
    params_free(&p);
    buf_reset(&many);
    for (int k = 0; k < PARAMS_MAX_COUNT + 1; k++)
        buf_puts(&many, "x=1&");
    ok(params_parse_urlencoded(&p, buf_str(&many), many.len, err, sizeof(err)) == PARAMS_TOO_LARGE &&
       strcmp(err, "parameters: more than 1024") == 0, "a form of 1025 pairs: %s", err);
    params_free(&p);
    buf_free(&many);
    return tap_done();
}
