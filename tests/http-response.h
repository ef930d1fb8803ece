/* http-response.h: one HTTP/1.1 response parsed from a load client's input (Content-Length,
 * chunked or ended by the close), for the test and bench clients. */
#ifndef PUSH_HTTP_RESPONSE_H
#define PUSH_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_RESPONSE_HEAD_MAX 65536 /* the most a response head may take */

struct http_response {
    int status;
    bool keep_alive;
    char *body;               /* borrowed from the parsed buffer, NUL-terminated */
    size_t body_len;
    char etag[128];
    char last_modified[64];
};

/* Parses the response at the start of buf (len bytes, a spare byte after them): 1 when it is
 * whole (r filled, a chunked body decoded in place), 0 when more is needed, -1 when malformed.
 * at_eof: the server has closed, which ends a body without a length. The buffer stays the
 * caller's; r->body points into it. */
int http_response_parse(char *buf, size_t len, bool at_eof, struct http_response *r);
/* Copies len bytes of value to dst (size bytes), cut to fit, NUL-terminated. */
void http_copy(char *dst, size_t size, const char *value, size_t len);

#endif
