/* params.c: the one request-parameter parser: query strings, form bodies and JSON bodies. */
#include "params.h"
#include "buf.h"
#include "validate.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void params_add(struct params *p, const char *name, const char *value, size_t value_len)
{
    if (p->count == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->items = xrealloc(p->items, p->cap * sizeof(*p->items));
    }
    struct param *item = &p->items[p->count++];
    item->name = xstrdup(name);
    item->value = xmalloc(value_len + 1);
    memcpy(item->value, value, value_len);
    item->value[value_len] = '\0';
    item->value_len = value_len;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX and '+' into out; returns -1 on a bad escape. */
static int url_decode(const char *s, size_t len, struct buf *out)
{
    buf_reset(out);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 1 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        buf_append(out, &c, 1);
    }
    return 0;
}

/* Copies name into out (at most outsize - 1 bytes, never ending inside a UTF-8 sequence), for
 * error texts that name a parameter. name is valid UTF-8. */
static void params_label(const char *name, char *out, size_t outsize)
{
    size_t len = strlen(name);
    if (len >= outsize) {
        len = outsize - 1;
        while (len > 0 && ((unsigned char)name[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(out, name, len);
    out[len] = '\0';
}

/* Checks one decoded text: no NUL byte, well-formed UTF-8. Returns 0, or -1 with
 * "LABEL: contains a NUL byte" or "LABEL: not valid UTF-8" in err. */
static int params_check_text(const char *label, const char *text, size_t len, char *err, size_t errlen)
{
    const char *problem = memchr(text, '\0', len) ? "contains a NUL byte"
                          : !validate_utf8(text, len) ? "not valid UTF-8" : NULL;
    if (!problem)
        return 0;
    char name[PARAMS_LABEL_MAX + 1];
    params_label(label, name, sizeof(name));
    snprintf(err, errlen, "%s: %s", name, problem);
    return -1;
}

int params_add_checked(struct params *p, const char *name, size_t name_len, const char *value,
                       size_t value_len, char *err, size_t errlen)
{
    if (params_check_text("parameter name", name, name_len, err, errlen) < 0)
        return -1;
    char *copy = xmalloc(name_len + 1);
    memcpy(copy, name, name_len);
    copy[name_len] = '\0';
    int rc = params_check_text(copy, value, value_len, err, errlen);
    if (rc == 0 && name_len > 0)
        params_add(p, copy, value, value_len);
    free(copy);
    return rc;
}

int params_parse_urlencoded(struct params *p, const char *text, size_t len, char *err, size_t errlen)
{
    struct buf name = BUF_INIT, value = BUF_INIT;
    int rc = 0;
    size_t start = 0;
    while (start < len && rc == 0) {
        size_t end = start;
        while (end < len && text[end] != '&')
            end++;
        if (end > start) {
            const char *pair = text + start;
            size_t plen = end - start;
            const char *eq = memchr(pair, '=', plen);
            size_t nlen = eq ? (size_t)(eq - pair) : plen;
            if (url_decode(pair, nlen, &name) < 0) {
                snprintf(err, errlen, "parameters: bad %%-escape in a name");
                rc = -1;
            } else if (params_check_text("parameter name", buf_str(&name), name.len, err, errlen) < 0) {
                rc = -1;
            } else if (url_decode(eq ? eq + 1 : "", eq ? plen - nlen - 1 : 0, &value) < 0) {
                char label[PARAMS_LABEL_MAX + 1];
                params_label(buf_str(&name), label, sizeof(label));
                snprintf(err, errlen, "%s: bad %%-escape", label);
                rc = -1;
            } else {
                rc = params_add_checked(p, buf_str(&name), name.len, buf_str(&value), value.len, err, errlen);
            }
        }
        start = end + 1;
    }
    buf_free(&name);
    buf_free(&value);
    return rc;
}

static void params_add_json_value(struct params *p, const char *name, struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        params_add(p, name, json_object_get_string(v), (size_t)json_object_get_string_len(v));
        break;
    case json_type_int:
    case json_type_double:
    case json_type_boolean: {
        const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        params_add(p, name, s, strlen(s));
        break;
    }
    default:
        break;
    }
}

/* True when the JSON text escapes a NUL (\u0000) anywhere: json-c cuts member names there. */
static bool params_json_escapes_nul(const char *text, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] != '\\')
            continue;
        if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
            return true;
        i++; /* the escaped character, which may be a backslash */
    }
    return false;
}

/* Checks every string under v (member names and values, at any depth), v's path being path
 * ("messages[1].channel"). Returns 0, or -1 with the offending path in err. */
static int params_check_json(struct json_object *v, struct buf *path, char *err, size_t errlen)
{
    size_t mark = path->len;
    int rc = 0;
    switch (json_object_get_type(v)) {
    case json_type_string:
        return params_check_text(buf_str(path), json_object_get_string(v),
                                 (size_t)json_object_get_string_len(v), err, errlen);
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v) && rc == 0; i++) {
            buf_printf(path, "[%zu]", i);
            rc = params_check_json(json_object_array_get_idx(v, i), path, err, errlen);
            buf_truncate(path, mark);
        }
        return rc;
    case json_type_object: {
        json_object_object_foreach(v, key, member) {
            if (params_check_text("parameter name", key, strlen(key), err, errlen) < 0)
                return -1;
            buf_printf(path, "%s%s", mark ? "." : "", key);
            rc = params_check_json(member, path, err, errlen);
            buf_truncate(path, mark);
            if (rc < 0)
                return -1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

int params_parse_json(struct params *p, const char *text, size_t len, char *err, size_t errlen)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (root && used < len && (text[used] == ' ' || text[used] == '\n' || text[used] == '\r' ||
                                  text[used] == '\t'))
        used++;
    if (!root || jerr != json_tokener_success || used != len) {
        snprintf(err, errlen, "body: not valid JSON%s%s", jerr != json_tokener_success ? " (" : "",
                 jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "");
        if (jerr != json_tokener_success)
            strncat(err, ")", errlen - strlen(err) - 1);
        json_object_put(root);
        return -1;
    }
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "body: a JSON object is expected");
        json_object_put(root);
        return -1;
    }
    struct buf path = BUF_INIT;
    int checked = params_check_json(root, &path, err, errlen);
    buf_free(&path);
    if (checked == 0 && params_json_escapes_nul(text, len)) {
        /* No value holds the NUL, so a member name did (json-c keeps names only up to it). */
        snprintf(err, errlen, "parameter name: contains a NUL byte");
        checked = -1;
    }
    if (checked < 0) {
        json_object_put(root);
        return -1;
    }
    json_object_object_foreach(root, key, val) {
        if (json_object_is_type(val, json_type_array)) {
            size_t n = json_object_array_length(val);
            for (size_t i = 0; i < n; i++)
                params_add_json_value(p, key, json_object_array_get_idx(val, i));
        } else if (json_object_is_type(val, json_type_object)) {
            /* An object (a message's content, say) stands for its JSON text. */
            const char *s = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
            params_add(p, key, s, strlen(s));
        } else {
            params_add_json_value(p, key, val);
        }
    }
    json_object_put(p->json);
    p->json = root;
    return 0;
}

int params_parse_body(struct params *p, const char *content_type, const char *body, size_t len,
                      char *err, size_t errlen)
{
    if (len == 0)
        return 0;
    if (content_type && strncasecmp(content_type, "application/json", 16) == 0)
        return params_parse_json(p, body, len, err, errlen);
    return params_parse_urlencoded(p, body, len, err, errlen);
}

const struct param *params_find(const struct params *p, const char *name)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return &p->items[i];
    return NULL;
}

const char *params_get(const struct params *p, const char *name)
{
    const struct param *item = params_find(p, name);
    return item ? item->value : NULL;
}

int params_get_list(const struct params *p, const char *name, char ***out, size_t max)
{
    char **list = NULL;
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(p->items[i].name, name) != 0)
            continue;
        const char *s = p->items[i].value;
        for (;;) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            if (n == max) {
                params_list_free(list, (int)n);
                *out = NULL;
                return -1;
            }
            list = xrealloc(list, (n + 1) * sizeof(*list));
            list[n] = xmalloc(len + 1);
            memcpy(list[n], s, len);
            list[n][len] = '\0';
            n++;
            if (!comma)
                break;
            s = comma + 1;
        }
    }
    *out = list;
    return (int)n;
}

void params_list_free(char **list, int count)
{
    for (int i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

void params_free(struct params *p)
{
    for (size_t i = 0; i < p->count; i++) {
        free(p->items[i].name);
        free(p->items[i].value);
    }
    free(p->items);
    json_object_put(p->json);
    memset(p, 0, sizeof(*p));
}
