/* touch.h: presence recorded by long-polls, batched: every poll with a client id queues a touch,
 * and one statement per second writes them all. */
#ifndef PUSH_TOUCH_H
#define PUSH_TOUCH_H

#include "db.h"

/* Queues that client (validated) of app_id, of user (or NULL) with its token's info (a JSON
 * object, or NULL), is on these channels now. A later touch of the same client replaces an
 * earlier one. Copies its arguments. */
void touch_queue(int app_id, char *const *channels, int nchannels, const char *client, const char *user,
                 const char *info);

/* Writes every queued touch in one statement through a connection of pool. Returns the number
 * written, or -1 when the database failed (that batch is dropped; the next polls touch again). */
int touch_flush(struct db_pool *pool);

#endif
