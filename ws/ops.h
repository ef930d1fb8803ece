/* ops.h: what a WebSocket client asks for, one JSON text message each:
 *
 *   {"op":"subscribe","channel":"news","since":41,"token":"..","id":1}
 *       -> {"op":"subscribed","channel":"news","seq":<head>,"gap":false,"id":1}, then the
 *          messages after since (replayed, then live), or after the head without since
 *   {"op":"unsubscribe","channel":"news","id":2} -> {"op":"unsubscribed","channel":"news","id":2}
 *   {"op":"publish","channel":"news","content":"..","msgid":"m-1","id":3}  (publish key only;
 *       msgid optional) -> {"op":"ok","id":3,"channel":"news","seq":43,"time":<ms>}, with
 *       "duplicate":true and the first message's seq and time when the channel holds msgid
 *   {"op":"history","channel":"news","limit":20,"before":..,"after":..,"token":..,"id":4}
 *       -> {"op":"history","id":4,"channel":"news","messages":[{"channel","seq","content","time"}]}
 *   {"op":"presence","channel":"news","token":..,"id":5}
 *       -> {"op":"presence","id":5,"channel":"news","clients":2,"users":["alice"]}
 *   {"op":"read","channel":"user-alice","seq":7,"token":..,"id":6}    (or "seqs":[3,5])
 *       -> {"op":"read","id":6,"channel":"user-alice","user":"alice","seq":7} ("marked":N)
 *   {"op":"unread","channels":["user-alice"],"token":..,"id":7}
 *       -> {"op":"unread","id":7,"user":"alice","channels":{..},"total":N}
 *
 * Anything wrong gives {"op":"error","id":..,"code":..,"content":".."} and the connection
 * stays open. "id" is echoed as given (any JSON value). */
#ifndef PUSH_WS_OPS_H
#define PUSH_WS_OPS_H

#include <stddef.h>

struct client;

/* Handles one complete client message. */
void ops_handle(struct client *c, const char *text, size_t len);

#endif
