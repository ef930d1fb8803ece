/* kick.h: the users an operator kicked (pushctl kick), per app, and when: a process-wide table
 * in memory, loaded through push.user_kicks() and kept current by NOTIFY push_kick, so that
 * checking a token against it costs no query. Safe from any thread. */
#ifndef PUSH_KICK_H
#define PUSH_KICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* What a poller_on_kick handler does with a payload: records the kick a NOTIFY push_kick payload
 * ("<app_id> <kicked_ms> <user>") tells of and returns true with *app_id and user (userlen >=
 * VALIDATE_USER_MAX + 1) filled, so that the caller can close that user's connections. NULL (the
 * listener connected: kicks may have been missed) marks the table stale for kick_refresh.
 * Returns false then, and (logged) for a payload of another form. */
bool kick_notified(const char *payload, int *app_id, char *user, size_t userlen) __attribute__((warn_unused_result));

/* Whether kick_refresh has something to load. */
bool kick_stale(void);

/* Loads every kick through conn when the table is stale (at start, after kick_notified(NULL)),
 * keeping the later time of what it holds and what it reads. Returns 0 (also when nothing was
 * to do), or -1 with *status set (503/500) when the query failed (the table stays stale). */
int kick_refresh(struct db_conn *conn, int *status) __attribute__((warn_unused_result));

/* When user of app_id was last kicked (Unix milliseconds), or 0 when never. */
int64_t kick_time(int app_id, const char *user);

/* The table's change counter, read before judging a request's tokens: kick_since then tells
 * whether its user was kicked while it was being served (a long-poll about to be held). */
uint64_t kick_serial(void);

/* Whether user of app_id was kicked (or kicked again) after serial was read. */
bool kick_since(int app_id, const char *user, uint64_t serial);

/* Whether some user of app_id was kicked (else tokens need no look at all). */
bool kick_app_has(int app_id);

#endif
