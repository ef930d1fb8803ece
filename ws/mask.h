/* mask.h: RFC 6455 says a server must close a connection whose client sends an unmasked frame;
 * libwebsockets 4.1 takes such frames and does not tell. push-ws defines recv(), which
 * libwebsockets calls for every read of a connection, and on the loop thread follows the frame
 * headers of each connection it was told is a WebSocket: the receive callback asks
 * mask_violated() before it takes a message. */
#ifndef PUSH_WS_MASK_H
#define PUSH_WS_MASK_H

#include <stdbool.h>

/* The calling thread is the event loop's: its reads of watched descriptors are followed. Other
 * threads' reads (libpq's) are only passed on. */
void mask_loop_thread(void);

/* fd has just become a WebSocket (its handshake is answered; frames come next): follow its
 * frames from the next byte read. Loop thread only. */
void mask_watch(int fd);

/* fd's connection is gone. Loop thread only. */
void mask_forget(int fd);

/* Whether fd, watched, has sent a frame without a mask. Loop thread only. */
bool mask_violated(int fd);

#endif
