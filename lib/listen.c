/* listen.c: the one LISTEN loop: LISTEN, wait with a timeout, drain notifications. */
#include "listen.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>

int listen_start(PGconn *pg, const char *const *channels)
{
    for (size_t i = 0; channels[i]; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "LISTEN %s", channels[i]);
        PGresult *res = PQexec(pg, sql);
        bool good = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!good)
            return -1;
    }
    return 0;
}

int listen_wait(int sock, int wake_fd, double timeout)
{
    /* poll ignores entries whose fd is negative. */
    struct pollfd fds[2] = {
        { .fd = wake_fd, .events = POLLIN },
        { .fd = sock, .events = POLLIN },
    };
    int ms = timeout < 0 ? -1 : (int)(timeout * 1000) + 1;
    int n = poll(fds, 2, ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    int mask = 0;
    if (wake_fd >= 0 && (fds[0].revents & POLLIN))
        mask |= LISTEN_WOKEN;
    if (sock >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
        mask |= LISTEN_READABLE;
    return mask;
}

void listen_take(PGconn *pg, listen_fn *fn, void *arg)
{
    PGnotify *n;
    while ((n = PQnotifies(pg)) != NULL) {
        fn(arg, n->relname, n->extra);
        PQfreemem(n);
    }
}

int listen_drain(PGconn *pg, listen_fn *fn, void *arg)
{
    if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK)
        return -1;
    listen_take(pg, fn, arg);
    return 0;
}
