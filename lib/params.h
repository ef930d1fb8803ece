/* params.h: the one request-parameter parser: query strings, form bodies and JSON bodies. */
#ifndef PUSH_PARAMS_H
#define PUSH_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

struct param {
    char *name;   /* owned, NUL-terminated */
    char *value;  /* owned, NUL-terminated; value_len excludes the NUL and may count embedded NULs */
    size_t value_len;
};

struct params {
    struct param *items; /* owned */
    size_t count;
    size_t cap;
    struct json_object *json; /* owned: the parsed JSON body, NULL for other bodies */
};

#define PARAMS_INIT { NULL, 0, 0, NULL }

/* Error texts name a parameter by at most this many bytes of its name. */
#define PARAMS_LABEL_MAX 64

/* Bounds on one request's parameters, checked before anything is allocated per element: the
 * name/value pairs of a query and a body together, and in a JSON body the nesting (the API's
 * own is {"messages":[{..}]}; a message's content may be JSON of its own), the elements of one
 * array (a batch's 1000 messages), the members of one object and the values of the whole body. */
#define PARAMS_MAX_COUNT 1024
#define PARAMS_JSON_MAX_DEPTH 16
#define PARAMS_JSON_MAX_ELEMENTS 1000
#define PARAMS_JSON_MAX_MEMBERS 1000
#define PARAMS_JSON_MAX_VALUES 32768

/* The parsers' results: 0, PARAMS_BAD (a 400) or PARAMS_TOO_LARGE (over a bound above, a 413). */
enum params_result {
    PARAMS_BAD = -1,
    PARAMS_TOO_LARGE = -2,
};

/* Every parser below refuses a name or value that, decoded, holds a NUL byte or is not
 * well-formed UTF-8: err is then "NAME: contains a NUL byte" or "NAME: not valid UTF-8"
 * ("parameter name: ..." when the name itself is bad), and nothing after it is added. A pair
 * past PARAMS_MAX_COUNT gives PARAMS_TOO_LARGE with "parameters: more than 1024". */

/* Adds the pairs of "a=1&b=x%20y" (also a form body); '+' is a space.
 * Returns 0, or PARAMS_BAD with the offending parameter's name in err (bad %-escape, NUL,
 * UTF-8), or PARAMS_TOO_LARGE. */
int params_parse_urlencoded(struct params *p, const char *text, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* text (len bytes) parsed whole as one JSON object, nested at most depth levels (0: json-c's
 * default), strictly with strict (RFC 8259 only). Returns it (the caller puts it), or NULL for
 * anything else. */
struct json_object *params_json_object(const char *text, size_t len, int depth, bool strict);

/* Adds the members of a top-level JSON object: strings as they are, numbers and booleans as
 * text, objects as their JSON text, arrays of strings, numbers and booleans as repeated
 * values; other members are kept only in p->json.
 * Every string at any depth is checked, named by its path ("messages[1].channel").
 * The text is first scanned without allocating: nesting past PARAMS_JSON_MAX_DEPTH is
 * PARAMS_BAD ("deep: nested deeper than 16 levels", the top-level member named), more elements,
 * members or values than the bounds PARAMS_TOO_LARGE ("x: more than 1000 elements").
 * Returns 0, or PARAMS_BAD with a message in err (not JSON, not an object, NUL, UTF-8), or
 * PARAMS_TOO_LARGE; on an error nothing of the body is added. */
int params_parse_json(struct params *p, const char *text, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Adds one pair decoded elsewhere (the sidecar's query, which libwebsockets decodes), after the
 * same checks; name_len and value_len may count NULs; a pair without a name is skipped.
 * Returns 0, or PARAMS_BAD / PARAMS_TOO_LARGE with err as above. */
int params_add_checked(struct params *p, const char *name, size_t name_len, const char *value,
                       size_t value_len, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Parses a body by its Content-Type (application/json, else form). Same results. */
int params_parse_body(struct params *p, const char *content_type, const char *body, size_t len,
                      char *err, size_t errlen) __attribute__((warn_unused_result));

/* First value of name, or NULL. Borrowed from p. */
const char *params_get(const struct params *p, const char *name);
/* The param itself (for the length of values with NULs), or NULL. Borrowed. */
const struct param *params_find(const struct params *p, const char *name);
/* Every value of name, each split further on commas (a=x,y&a=z gives x, y, z), appended to
 * out (at most max entries, strings owned by out). Returns the number, or -1 over max. */
int params_get_list(const struct params *p, const char *name, char ***out, size_t max);
void params_list_free(char **list, int count);

void params_add(struct params *p, const char *name, const char *value, size_t value_len);
/* Frees everything p owns; p can be reused after. */
void params_free(struct params *p);

#endif
