/* gateway.h: the FastCGI side of a program: accept loop on worker threads, request parsing,
 * reply writing, signals. Protocol-independent handlers plug into it. */
#ifndef PUSH_GATEWAY_H
#define PUSH_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "params.h"
#include "reply.h"

#define GATEWAY_MAX_BODY (4 * 1024 * 1024)

struct request {
    const char *method;       /* borrowed from the FastCGI environment */
    char path[256];           /* REQUEST_URI without the query string */
    const char *origin;       /* Origin header or NULL; borrowed */
    const char *remote_addr;  /* borrowed */
    const char *callback;     /* validated JSONP callback (GET only) or NULL; borrowed from params */
    struct params params;     /* query string + body, owned */
    void *fcgx;               /* the FCGX_Request, non-owning */
};

/* Fills reply for req. Runs on a worker thread; may block (long-poll). */
typedef void (*gateway_handler)(struct request *req, struct reply *reply);

struct gateway_route {
    const char *path;     /* exact path, e.g. "/push/publish" */
    const char *methods;  /* "GET,POST" */
    gateway_handler handler;
};

struct gateway_program {
    const char *name;              /* program name for logs and --help */
    const char *summary;           /* one line for --help */
    const struct gateway_route *routes;
    size_t nroutes;
    size_t thread_stack;           /* bytes per worker thread stack */
    /* Called once after the configuration is loaded, before serving; 0 or -1 (exit 1). */
    int (*start)(const struct config *cfg);
    /* Called on SIGTERM/SIGINT before waiting for requests in flight to finish. */
    void (*stop)(void);
};

/* Parses --help, --version, --config FILE, --socket PATH|HOST:PORT, --threads N; loads the
 * configuration; serves until SIGTERM/SIGINT. Without --socket it serves the socket a web
 * server passes on descriptor 0 (lighttpd, mod_fcgid). Returns the process exit status. */
int gateway_main(const struct gateway_program *program, int argc, char **argv);

/* True once shutdown has begun (handlers holding a request should return soon). */
bool gateway_stopping(void);

#endif
