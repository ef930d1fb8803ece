/* listen.h: the one LISTEN loop of the project, shared by the poller and pushctl tail: LISTEN on
 * channels, wait for the connection (and a wake fd) with a timeout, hand each notification to a
 * callback, report a lost connection. Payloads are parsed by message_notice_next (message.h). */
#ifndef PUSH_LISTEN_H
#define PUSH_LISTEN_H

#include <libpq-fe.h>

/* Called once per notification; channel and payload are borrowed for the call only. */
typedef void listen_fn(void *arg, const char *channel, const char *payload);

/* Sends LISTEN for each name of the NULL-terminated channels (plain identifiers) on pg.
 * Returns 0, or -1 at the first that fails (PQerrorMessage(pg) says why). */
int listen_start(PGconn *pg, const char *const *channels);

#define LISTEN_READABLE 1 /* the connection has something to read (or was closed) */
#define LISTEN_WOKEN 2    /* wake_fd is readable; the caller reads it */

/* Waits at most timeout seconds (< 0: forever) until sock (the connection's PQsocket, < 0:
 * none) or wake_fd (< 0: none) is readable. Returns a mask of LISTEN_READABLE and
 * LISTEN_WOKEN (0: timed out or interrupted by a signal), or -1 when poll failed (errno). */
int listen_wait(int sock, int wake_fd, double timeout);

/* Hands each notification libpq has already read to fn. */
void listen_take(PGconn *pg, listen_fn *fn, void *arg);

/* Reads what the server sent and hands each notification to fn. Returns 0, or -1 when the
 * connection is gone (PQerrorMessage(pg) says why). */
int listen_drain(PGconn *pg, listen_fn *fn, void *arg);

#endif
