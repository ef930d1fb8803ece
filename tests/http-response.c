/* http-response.c: one HTTP/1.1 response parsed from a load client's input (Content-Length,
 * chunked or ended by the close), for the test and bench clients. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "http-response.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool header_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

void http_copy(char *dst, size_t size, const char *value, size_t len)
{
    if (len >= size)
        len = size - 1;
    memcpy(dst, value, len);
    dst[len] = '\0';
}

/* Walks a chunked body: 1 when it is complete (decoded in place when decode, *len then its
 * length), 0 when more is needed, -1 when malformed. */
static int http_chunks(char *body, size_t *len, bool decode)
{
    size_t in = 0, out = 0, avail = *len;
    for (;;) {
        char *eol = memmem(body + in, avail - in, "\r\n", 2);
        if (!eol)
            return avail - in > 64 ? -1 : 0;
        char *end;
        unsigned long size = strtoul(body + in, &end, 16);
        if (end == body + in)
            return -1;
        size_t data = (size_t)(eol - body) + 2;
        if (size == 0) {
            if (!memmem(eol, avail - (size_t)(eol - body), "\r\n\r\n", 4))
                return 0;
            if (decode)
                *len = out;
            return 1;
        }
        if (avail < data + size + 2)
            return 0;
        if (decode)
            memmove(body + out, body + data, size);
        out += size;
        in = data + size + 2;
    }
}

int http_response_parse(char *buf, size_t len, bool at_eof, struct http_response *r)
{
    char *head_end = memmem(buf, len, "\r\n\r\n", 4);
    if (!head_end)
        return len > HTTP_RESPONSE_HEAD_MAX ? -1 : 0;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0)
        return -1;
    memset(r, 0, sizeof(*r));
    r->keep_alive = buf[7] == '1';
    r->status = atoi(buf + 9);
    long long content_length = -1;
    bool chunked = false;
    const char *stop = head_end + 2;
    const char *line = memchr(buf, '\n', (size_t)(stop - buf));
    while (line && ++line < stop) {
        const char *eol = memchr(line, '\r', (size_t)(stop - line));
        if (!eol)
            break;
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon) {
            const char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t name_len = (size_t)(colon - line), vlen = (size_t)(eol - v);
            char value[64];
            http_copy(value, sizeof(value), v, vlen);
            if (header_is(line, name_len, "content-length"))
                content_length = strtoll(value, NULL, 10);
            else if (header_is(line, name_len, "transfer-encoding"))
                chunked = strcasestr(value, "chunked") != NULL;
            else if (header_is(line, name_len, "connection"))
                r->keep_alive = strcasestr(value, "close") ? false : strcasestr(value, "keep-alive") ? true : r->keep_alive;
            else if (header_is(line, name_len, "etag"))
                http_copy(r->etag, sizeof(r->etag), v, vlen);
            else if (header_is(line, name_len, "last-modified"))
                http_copy(r->last_modified, sizeof(r->last_modified), v, vlen);
        }
        line = memchr(eol, '\n', (size_t)(stop - eol));
    }
    char *body = head_end + 4;
    size_t avail = len - (size_t)(body - buf);
    r->body = body;
    if (r->status / 100 == 1 || r->status == 204 || r->status == 304) {
        r->body_len = 0;
    } else if (chunked) {
        int rc = http_chunks(body, &avail, false);
        if (rc <= 0)
            return rc;
        http_chunks(body, &avail, true);
        r->body_len = avail;
    } else if (content_length >= 0) {
        if (avail < (size_t)content_length)
            return 0;
        r->body_len = (size_t)content_length;
    } else {
        if (!at_eof)
            return 0;
        r->keep_alive = false;
        r->body_len = avail;
    }
    body[r->body_len] = '\0';
    return 1;
}
