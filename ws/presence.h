/* presence.h: who is on which channel, written to push.presence in batches. A client that
 * named itself (client=, or user= which gets a generated client id) is touched when its
 * subscriptions change and every presence_ttl / 2 seconds, and leaves when it unsubscribes
 * or goes. Anonymous connections are not counted. */
#ifndef PUSH_WS_PRESENCE_H
#define PUSH_WS_PRESENCE_H

#include <time.h>

struct client;
struct server;

/* Schedules a touch of c's channels with the next flush. */
void presence_mark(struct server *server, struct client *c);

/* Removes c from channel, or from all its channels when channel is NULL. */
void presence_leave(struct server *server, struct client *c, const char *channel);

/* Writes marked clients (one job, one transaction); every presence_ttl / 2 marks every
 * present client again. Called once a second. */
void presence_tick(struct server *server, time_t now);

/* Forgets marked clients (at shutdown). */
void presence_clear(struct server *server);

#endif
