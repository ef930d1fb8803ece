/* tests/fuzz/params.c: the parameter parser on any bytes: the first byte picks a query string,
 * a form body or a JSON body; whatever it accepts must be UTF-8 without NUL and within bounds. */
#include "fuzz.h"
#include "params.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct params p = PARAMS_INIT;
    char err[200];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int rc;
    switch (data[0] % 3) {
    case 0:
        rc = params_parse_urlencoded(&p, text, len, err, sizeof(err));
        break;
    case 1:
        rc = params_parse_body(&p, "application/json", text, len, err, sizeof(err));
        break;
    default:
        rc = params_parse_body(&p, "application/x-www-form-urlencoded", text, len, err, sizeof(err));
        break;
    }
    fuzz_assert(rc == 0 || rc == PARAMS_BAD || rc == PARAMS_TOO_LARGE);
    if (rc == 0) {
        fuzz_assert(p.count <= PARAMS_MAX_COUNT);
        for (size_t i = 0; i < p.count; i++) {
            fuzz_assert(validate_utf8(p.items[i].name, strlen(p.items[i].name)));
            fuzz_assert(validate_utf8(p.items[i].value, p.items[i].value_len));
            fuzz_assert(memchr(p.items[i].value, '\0', p.items[i].value_len) == NULL);
        }
        char **list = NULL;
        int n = params_get_list(&p, "channel", &list, 64);
        params_list_free(list, n);
    } else {
        /* A JSON body is all or nothing; a query keeps the pairs before the bad one. */
        fuzz_assert((data[0] % 3 != 1 || p.count == 0) && validate_utf8(err, strlen(err)));
    }
    params_free(&p);
    return 0;
}
