/* tests/fuzz/validate.c: the validators on any text: what they accept keeps to their rules. */
#include "fuzz.h"
#include "validate.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    size_t len = strlen(text);
    bool utf8 = validate_utf8(text, len);
    if (validate_channel(text))
        fuzz_assert(len >= 1 && len <= VALIDATE_CHANNEL_MAX && utf8);
    if (validate_user(text))
        fuzz_assert(len >= 1 && len <= 64 && strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                          "0123456789_.=@-") == len);
    if (validate_callback(text))
        fuzz_assert(len >= 1 && len <= 64 && strchr("0123456789.", text[0]) == NULL &&
                    strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$.") == len);
    long long value;
    if (validate_int(text, -1000000, 1000000, &value)) {
        char back[32];
        snprintf(back, sizeof(back), "%lld", value);
        fuzz_assert(value >= -1000000 && value <= 1000000);
    }
    (void)validate_channel_needs_token(text);
    (void)validate_channel_user(text);
    free(text);
    return 0;
}
