/* mask.c: refuses unmasked client frames, which libwebsockets 4.1 accepts: push-ws's recv()
 * follows the frame headers of its WebSocket connections (mask.h). */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "mask.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "buf.h"

/* Where a connection's byte stream is: inside a frame header, or in a payload. */
struct mask_state {
    bool watched;
    bool violated;
    uint8_t have;            /* header bytes collected */
    uint8_t need;            /* header bytes this frame has (2 until the second byte says) */
    unsigned char head[14];
    uint64_t payload;        /* payload bytes of the current frame still to pass */
};

typedef ssize_t (*mask_recv_fn)(int, void *, size_t, int);

static mask_recv_fn mask_next_recv;
static pthread_once_t mask_resolved = PTHREAD_ONCE_INIT;
static __thread bool mask_on_loop;
/* Indexed by descriptor; grown and read on the loop thread only. */
static struct mask_state *mask_table;
static size_t mask_size;

static void mask_resolve(void)
{
    mask_next_recv = (mask_recv_fn)dlsym(RTLD_NEXT, "recv");
}

void mask_loop_thread(void)
{
    mask_on_loop = true;
}

void mask_watch(int fd)
{
    if (fd < 0)
        return;
    if ((size_t)fd >= mask_size) {
        size_t size = mask_size ? mask_size : 1024;
        while (size <= (size_t)fd)
            size *= 2;
        mask_table = xrealloc(mask_table, size * sizeof(*mask_table));
        memset(mask_table + mask_size, 0, (size - mask_size) * sizeof(*mask_table));
        mask_size = size;
    }
    mask_table[fd] = (struct mask_state){ .watched = true, .need = 2 };
}

void mask_forget(int fd)
{
    if (fd >= 0 && (size_t)fd < mask_size)
        mask_table[fd].watched = false;
}

bool mask_violated(int fd)
{
    return fd >= 0 && (size_t)fd < mask_size && mask_table[fd].watched && mask_table[fd].violated;
}

/* The payload length a complete header gives. */
static uint64_t mask_payload_length(const struct mask_state *st)
{
    uint64_t len = st->head[1] & 0x7f;
    if (len == 126)
        return (uint64_t)st->head[2] << 8 | st->head[3];
    if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | st->head[2 + i];
    }
    return len;
}

/* Follows n bytes of the stream; marks a frame whose mask bit is clear. */
static void mask_follow(struct mask_state *st, const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && !st->violated) {
        if (st->payload) {
            uint64_t skip = n - i < st->payload ? n - i : st->payload;
            i += skip;
            st->payload -= skip;
            continue;
        }
        st->head[st->have++] = p[i++];
        if (st->have == 2) {
            if (!(st->head[1] & 0x80)) {
                st->violated = true;
                return;
            }
            uint8_t len = st->head[1] & 0x7f;
            st->need = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + 4;
        }
        if (st->have >= 2 && st->have == st->need) {
            st->payload = mask_payload_length(st);
            st->have = 0;
            st->need = 2;
        }
    }
}

/* Every recv() of the process comes here (libwebsockets' and libpq's); the loop thread's reads
 * of watched descriptors are followed, everything is passed on unchanged. */
ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    pthread_once(&mask_resolved, mask_resolve);
    ssize_t n = mask_next_recv(fd, buf, len, flags);
    if (n > 0 && mask_on_loop && !(flags & MSG_PEEK) && fd >= 0 && (size_t)fd < mask_size &&
        mask_table[fd].watched)
        mask_follow(&mask_table[fd], buf, (size_t)n);
    return n;
}
