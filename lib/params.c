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

/* Frees the pairs of p from the count-th on. */
static void params_truncate(struct params *p, size_t count)
{
    while (p->count > count) {
        p->count--;
        free(p->items[p->count].name);
        free(p->items[p->count].value);
    }
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

/* Returns 0 while p can take one more pair, else PARAMS_TOO_LARGE with err filled. */
static int params_check_room(const struct params *p, char *err, size_t errlen)
{
    if (p->count < PARAMS_MAX_COUNT)
        return 0;
    snprintf(err, errlen, "parameters: more than %d", PARAMS_MAX_COUNT);
    return PARAMS_TOO_LARGE;
}

int params_add_checked(struct params *p, const char *name, size_t name_len, const char *value,
                       size_t value_len, char *err, size_t errlen)
{
    if (params_check_text("parameter name", name, name_len, err, errlen) < 0)
        return PARAMS_BAD;
    if (name_len > 0 && params_check_room(p, err, errlen) < 0)
        return PARAMS_TOO_LARGE;
    char *copy = xmalloc(name_len + 1);
    memcpy(copy, name, name_len);
    copy[name_len] = '\0';
    int rc = params_check_text(copy, value, value_len, err, errlen) < 0 ? PARAMS_BAD : 0;
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
                rc = PARAMS_BAD;
            } else if (params_check_text("parameter name", buf_str(&name), name.len, err, errlen) < 0) {
                rc = PARAMS_BAD;
            } else if (url_decode(eq ? eq + 1 : "", eq ? plen - nlen - 1 : 0, &value) < 0) {
                char label[PARAMS_LABEL_MAX + 1];
                params_label(buf_str(&name), label, sizeof(label));
                snprintf(err, errlen, "%s: bad %%-escape", label);
                rc = PARAMS_BAD;
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

/* Adds v under name when it is a string, number or boolean, or with object_as_text an object
 * as its JSON text (others are kept in p->json only). Returns 0, or PARAMS_TOO_LARGE with err
 * filled when p is full. */
static int params_add_json_value(struct params *p, const char *name, struct json_object *v, bool object_as_text,
                                 char *err, size_t errlen)
{
    enum json_type type = json_object_get_type(v);
    bool as_text = object_as_text && type == json_type_object;
    if (type != json_type_string && type != json_type_int && type != json_type_double &&
        type != json_type_boolean && !as_text)
        return 0;
    if (params_check_room(p, err, errlen) < 0)
        return PARAMS_TOO_LARGE;
    if (type == json_type_string) {
        params_add(p, name, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    } else {
        /* An object (a message's content, say) stands for its JSON text. */
        const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        params_add(p, name, s, strlen(s));
    }
    return 0;
}

/* The scan of a JSON text before it is parsed: one level per open array or object. */
struct params_scan_level {
    bool array;     /* an array, else an object */
    size_t items;   /* elements or members so far */
};

/* Fills err with "NAME: what", NAME the top-level member being scanned (key, raw, keylen bytes)
 * when it is plain UTF-8 without escapes, else "body". */
static void params_scan_fail(const char *key, size_t keylen, const char *what, char *err, size_t errlen)
{
    char name[PARAMS_LABEL_MAX + 1] = "body";
    if (key && keylen > 0 && !memchr(key, '\\', keylen) && !memchr(key, '\0', keylen) &&
        validate_utf8(key, keylen)) {
        char *copy = xmalloc(keylen + 1);
        memcpy(copy, key, keylen);
        copy[keylen] = '\0';
        params_label(copy, name, sizeof(name));
        free(copy);
    }
    snprintf(err, errlen, "%s: %s", name, what);
}

/* Counts the nesting, elements, members and values of a JSON text without allocating, so that
 * a body of a million elements is refused before json-c makes an object of each. Malformed
 * text is left to the parser. Returns 0, PARAMS_BAD (too deep) or PARAMS_TOO_LARGE. */
static int params_scan_json(const char *text, size_t len, char *err, size_t errlen)
{
    struct params_scan_level stack[PARAMS_JSON_MAX_DEPTH];
    size_t depth = 0, values = 0;
    const char *key = NULL; /* the top-level member's name, raw */
    size_t keylen = 0;
    bool want_value = true; /* the next token starts a value, else a member's name */
    char what[64];
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        switch (c) {
        case ' ': case '\n': case '\r': case '\t':
            continue;
        case ':':
            want_value = true;
            continue;
        case ',':
            want_value = depth > 0 && stack[depth - 1].array;
            continue;
        case ']': case '}':
            if (depth == 0)
                return 0;
            depth--;
            want_value = false;
            continue;
        case '"': {
            size_t start = ++i;
            while (i < len && text[i] != '"')
                i += text[i] == '\\' ? 2 : 1;
            if (want_value)
                break;
            /* A member's name. */
            if (depth == 1) {
                key = text + start;
                keylen = (i < len ? i : len) - start;
            }
            if (depth > 0 && ++stack[depth - 1].items > PARAMS_JSON_MAX_MEMBERS) {
                snprintf(what, sizeof(what), "more than %d members in an object", PARAMS_JSON_MAX_MEMBERS);
                params_scan_fail(depth == 1 ? NULL : key, keylen, what, err, errlen);
                return PARAMS_TOO_LARGE;
            }
            continue;
        }
        default:
            if (c == '[' || c == '{')
                break;
            /* A number or a literal: skip to its end. */
            while (i + 1 < len && !strchr(",]}: \n\r\t\"", text[i + 1]))
                i++;
            break;
        }
        /* A value starts at c. */
        if (depth > 0 && stack[depth - 1].array && ++stack[depth - 1].items > PARAMS_JSON_MAX_ELEMENTS) {
            snprintf(what, sizeof(what), "more than %d elements", PARAMS_JSON_MAX_ELEMENTS);
            params_scan_fail(key, keylen, what, err, errlen);
            return PARAMS_TOO_LARGE;
        }
        if (++values > PARAMS_JSON_MAX_VALUES) {
            snprintf(err, errlen, "body: more than %d values", PARAMS_JSON_MAX_VALUES);
            return PARAMS_TOO_LARGE;
        }
        want_value = false;
        if (c == '[' || c == '{') {
            if (depth == PARAMS_JSON_MAX_DEPTH) {
                snprintf(what, sizeof(what), "nested deeper than %d levels", PARAMS_JSON_MAX_DEPTH);
                params_scan_fail(key, keylen, what, err, errlen);
                return PARAMS_BAD;
            }
            stack[depth].array = c == '[';
            stack[depth].items = 0;
            depth++;
            want_value = c == '[';
        }
    }
    return 0;
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

struct json_object *params_json_object(const char *text, size_t len, int depth, bool strict)
{
    struct json_tokener *tok = depth > 0 ? json_tokener_new_ex(depth) : json_tokener_new();
    if (!tok)
        return NULL;
    if (strict)
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    bool whole = obj && json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    if (!whole || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

int params_parse_json(struct params *p, const char *text, size_t len, char *err, size_t errlen)
{
    int scanned = params_scan_json(text, len, err, errlen);
    if (scanned < 0)
        return scanned;
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
        return PARAMS_BAD;
    }
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "body: a JSON object is expected");
        json_object_put(root);
        return PARAMS_BAD;
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
        return PARAMS_BAD;
    }
    size_t mark = p->count;
    json_object_object_foreach(root, key, val) {
        bool array = json_object_is_type(val, json_type_array);
        size_t n = array ? json_object_array_length(val) : 1;
        for (size_t i = 0; i < n; i++) {
            if (params_add_json_value(p, key, array ? json_object_array_get_idx(val, i) : val, !array, err,
                                      errlen) < 0) {
                params_truncate(p, mark);
                json_object_put(root);
                return PARAMS_TOO_LARGE;
            }
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
    params_truncate(p, 0);
    free(p->items);
    json_object_put(p->json);
    memset(p, 0, sizeof(*p));
}
