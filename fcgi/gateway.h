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
    const char *referer;      /* Referer header or NULL; borrowed */
    const char *remote_addr;  /* borrowed */
    const char *callback;     /* validated JSONP callback (GET only) or NULL; borrowed from params */
    struct params params;     /* query string + body, owned */
    void *fcgx;               /* the FCGX_Request, non-owning */
    bool held;                /* gateway_hold took it: the worker does not answer it */
};

/* A request kept past its handler (a long-poll): a descriptor and this record, no thread.
 * Whoever answers it (a wake-up, a deadline, shutdown) fills reply's body and calls
 * gateway_answer, from any thread; a request whose web-server connection closed is ended
 * with gateway_drop. */
struct gateway_held {
    struct reply reply;        /* the handler's headers so far; the body is the answerer's */
    char callback[72];         /* validated JSONP callback, or "" */
    char remote_addr[64];      /* REMOTE_ADDR, or "" */
    int fd;                    /* the connection to the web server: readable or hung up once the
                                * client went away (lighttpd closes it) */
    bool head;                 /* HEAD: no body is sent */
    int request_id;            /* the FastCGI request id the answer carries */
    bool headers_sent;         /* gateway_start_answer wrote the status and headers */
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
    /* Called on SIGTERM/SIGINT, once no new request starts, before waiting for requests in
     * flight to finish (it answers held requests). May be NULL. */
    void (*stop)(void);
    /* Called when no request is in flight any more and none will start: stops the program's
     * threads and frees what start made. Not called when requests still run after the
     * shutdown wait (the process then exits with them). May be NULL. */
    void (*finish)(void);
};

/* Answers a CORS preflight (OPTIONS) for a known route: the program's app layer decides which
 * origins get Access-Control-Allow-Origin. */
typedef void (*gateway_preflight_handler)(struct request *req, struct reply *reply);

/* Sets the preflight answerer (endpoint_init does). Without one a preflight gets 204 without
 * any Access-Control-Allow-Origin, which browsers take as a refusal. Call before serving. */
void gateway_set_preflight(gateway_preflight_handler handler);

/* Parses --help, --version, --config FILE, --socket PATH|HOST:PORT, --threads N; loads the
 * configuration; serves until SIGTERM/SIGINT, then stops: program->stop, the requests in
 * flight finish (5 s at most), program->finish. Without --socket it serves the socket a web
 * server passes on descriptor 0 (lighttpd, mod_fcgid). Returns the process exit status. */
int gateway_main(const struct gateway_program *program, int argc, char **argv);

/* Keeps req after the handler returns: reads the rest of its input, moves reply's headers into
 * the new record and lets the worker accept the next request with a fresh FCGX_Request; the
 * request's strings (params, method) are freed when the handler returns, as for any request.
 * Returns the record (the caller owns it until gateway_answer or gateway_drop), or NULL when
 * the request cannot be held (its input failed; the handler replies as usual). */
struct gateway_held *gateway_hold(struct request *req, struct reply *reply);

/* Sends the status and headers of held->reply now, the body to follow with gateway_answer
 * (without Content-Length). The web server then relays the headers and watches the browser's
 * connection (lighttpd with server.stream-response-body: a reset browser closes the FastCGI
 * connection at once). Returns 0, or -1 when the connection failed. */
int gateway_start_answer(struct gateway_held *held) __attribute__((warn_unused_result));

/* Writes held->reply (its body only after gateway_start_answer), ends the request and frees
 * held. Safe from any thread. */
void gateway_answer(struct gateway_held *held);

/* Ends the request without an answer (its client is gone): closes the connection, frees held. */
void gateway_drop(struct gateway_held *held);

/* True once shutdown has begun (handlers holding a request should return soon). */
bool gateway_stopping(void);

#endif
