/* tests/fuzz/validate.c: the validators on any text: what they accept keeps to their rules. */
#include "fuzz.h"
#include "validate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Whether every ASCII byte of text is a letter, a digit or one of extra. */
static bool ascii_within(const char *text, const char *extra)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x80 && !isalnum(*p) && !strchr(extra, *p))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    size_t len = strlen(text);
    bool utf8 = validate_utf8(text, len);
    if (validate_channel(text))
        fuzz_assert(len >= 1 && len <= VALIDATE_CHANNEL_MAX && utf8);
    /* Names of any script: UTF-8, bounded, and of ASCII only letters, digits and their extras. */
    if (validate_user(text))
        fuzz_assert(len >= 1 && len <= 64 && utf8 && ascii_within(text, "_.=@-"));
    if (validate_channel(text))
        fuzz_assert(ascii_within(text, "_.=@/-"));
    /* NFC: a name is told why it is refused, and only a name otherwise valid hears of NFC. */
    const char *why = validate_channel_error(text);
    fuzz_assert((why == NULL) == validate_channel(text));
    fuzz_assert(why == NULL || strcmp(why, VALIDATE_NFC_RULE) != 0 || (utf8 && !validate_nfc(text, len)));
    fuzz_assert((validate_user_error(text) == NULL) == validate_user(text));
    if (utf8 && strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.") == len)
        fuzz_assert(validate_nfc(text, len));
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
