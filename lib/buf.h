/* buf.h: a growable byte buffer, always NUL-terminated. */
#ifndef PUSH_BUF_H
#define PUSH_BUF_H

#include <stddef.h>

struct buf {
    char *data;   /* owned; NULL until the first append */
    size_t len;
    size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* Appends; aborts the process on out-of-memory, like the rest of the code's allocations. */
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the contents ("" when empty); borrowed, valid until the next append or free. */
const char *buf_str(const struct buf *b);
void buf_reset(struct buf *b);
/* Keeps the first len bytes (a no-op when there are no more). */
void buf_truncate(struct buf *b, size_t len);
/* Frees the contents; a no-op on an empty buffer. */
void buf_free(struct buf *b);

/* Allocation helpers that abort on out-of-memory. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

#endif
