/* tap.h: a tiny TAP producer for the C unit tests (ok, is, done). */
#ifndef PUSH_TAP_H
#define PUSH_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failures;

static inline void tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static inline void tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failures++;
        printf("#   failed at %s:%d\n", file, line);
    }
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...)                                                          \
    do {                                                                                \
        const char *g_ = (got), *w_ = (want);                                           \
        int p_ = (g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0);       \
        tap_ok(p_, __FILE__, __LINE__, __VA_ARGS__);                                    \
        if (!p_)                                                                        \
            printf("#   got:      '%s'\n#   expected: '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)
#define is_int(got, want, ...)                                                          \
    do {                                                                                \
        long long g_ = (long long)(got), w_ = (long long)(want);                        \
        tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__);                              \
        if (g_ != w_)                                                                   \
            printf("#   got:      %lld\n#   expected: %lld\n", g_, w_);                  \
    } while (0)

/* Prints the plan and returns the exit status. */
static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failures ? 1 : 0;
}

#endif
