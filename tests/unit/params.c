/* tests/unit/params.c: query strings, form bodies and JSON bodies through the one parser. */
#include "../tap.h"
#include "params.h"

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
    ok(params_parse_urlencoded(&p, "content=a%00b", 13, err, sizeof(err)) == 0, "escaped NUL parses");
    const struct param *content = params_find(&p, "content");
    ok(content && content->value_len == 3, "its length counts the NUL, so validation sees it");
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
    return tap_done();
}
