/* tests/fuzz/fuzz.h: what every libFuzzer target of tests/fuzz/ shares: the entry point and a
 * NUL-terminated copy of the input. */
#ifndef PUSH_FUZZ_H
#define PUSH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd copy of data with a NUL after it; the caller frees it. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* Stops the fuzzer with a crash when a property does not hold. */
#define fuzz_assert(cond) \
    do {                  \
        if (!(cond))      \
            abort();      \
    } while (0)

#endif
