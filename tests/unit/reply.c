/* tests/unit/reply.c: JSON and JSONP bodies, statuses, CORS and cache headers. */
#include "../tap.h"
#include "reply.h"

#include <json-c/json.h>

int main(void)
{
    struct reply r = REPLY_INIT;
    reply_error(&r, 403, "appkey: wrong role", NULL);
    is_int(r.status, 403, "HTTP status is the code");
    is_str(buf_str(&r.body), "{\"code\":403,\"content\":\"appkey: wrong role\"}", "JSON body");
    ok(strstr(buf_str(&r.headers), "Cache-Control: no-store\r\n") != NULL, "no-store");
    ok(strstr(buf_str(&r.headers), "Content-Type: application/json; charset=utf-8\r\n") != NULL, "JSON type");
    reply_free(&r);

    struct reply j = REPLY_INIT;
    struct json_object *obj = reply_object(404, "a/b \xe2\x80\xa8 line");
    reply_json(&j, obj, "cb.x");
    is_int(j.status, 200, "JSONP always answers 200");
    is_str(buf_str(&j.body), "/**/cb.x({\"code\":404,\"content\":\"a/b \\u2028 line\"});",
           "JSONP body: comment guard, real code inside, U+2028 escaped, slash kept");
    ok(strstr(buf_str(&j.headers), "Content-Type: application/javascript; charset=utf-8\r\n") != NULL, "script type");
    ok(strstr(buf_str(&j.headers), "X-Content-Type-Options: nosniff\r\n") != NULL, "nosniff");
    reply_free(&j);

    const char *allowed[] = { "https://shop.example" };
    struct reply c = REPLY_INIT;
    ok(reply_cors(&c, "https://shop.example", allowed, 1), "listed origin allowed");
    ok(strstr(buf_str(&c.headers), "Access-Control-Allow-Origin: https://shop.example\r\n") != NULL, "echoed");
    ok(strstr(buf_str(&c.headers), "Allow-Credentials") == NULL, "never with credentials");
    reply_free(&c);
    struct reply d = REPLY_INIT;
    ok(!reply_cors(&d, "https://evil.example", allowed, 1), "unlisted origin refused");
    ok(d.headers.len == 0, "no CORS headers for a refused origin");
    reply_free(&d);
    struct reply e = REPLY_INIT;
    ok(reply_cors(&e, "https://any.example", NULL, 0), "no list: any origin");
    ok(strstr(buf_str(&e.headers), "Access-Control-Allow-Origin: *\r\n") != NULL, "as *");
    reply_free(&e);
    ok(reply_origin_allowed(NULL, allowed, 1), "no Origin header (not a browser) is allowed");
    return tap_done();
}
