/* config.h: settings from one file plus PUSH_* environment overrides, declared in one table. */
#ifndef PUSH_CONFIG_H
#define PUSH_CONFIG_H

#include <stddef.h>

struct config {
    char dsn[1024];            /* dsn / PUSH_DSN: libpq connection string */
    char log_level[16];        /* log_level / PUSH_LOG_LEVEL */
    int threads;               /* threads / PUSH_THREADS: FastCGI request threads */
    int db_pool;               /* db_pool / PUSH_DB_POOL: database connections per process for requests */
    int presence_ttl;          /* presence_ttl / PUSH_PRESENCE_TTL: seconds a client stays present */
    int app_cache_ttl;         /* app_cache_ttl / PUSH_APP_CACHE_TTL: seconds a key lookup is cached */
    int publish_per_address;   /* publish_per_address / PUSH_PUBLISH_PER_ADDRESS: per second, 0 = none */
    int poll_max_held;         /* poll_max_held / PUSH_POLL_MAX_HELD: long-polls held per push-poll */
    int poll_max_per_address;  /* poll_max_per_address / PUSH_POLL_MAX_PER_ADDRESS: per client address */
    int poll_ring;             /* poll_ring / PUSH_POLL_RING: recent messages kept per channel */
    int listener_idle;         /* listener_idle / PUSH_LISTENER_IDLE: seconds of silence before a probe */
    int listener_timeout;      /* listener_timeout / PUSH_LISTENER_TIMEOUT: seconds a probe may take */
    char ws_bind[64];          /* ws_bind / PUSH_WS_BIND */
    int ws_port;               /* ws_port / PUSH_WS_PORT */
    int ws_workers;            /* ws_workers / PUSH_WS_WORKERS: sidecar processes */
    int ws_queue;              /* ws_queue / PUSH_WS_QUEUE: frames queued per connection before cut-off */
    int ws_queue_bytes;        /* ws_queue_bytes / PUSH_WS_QUEUE_BYTES: bytes queued per connection before cut-off */
    int ws_max_inflight;       /* ws_max_inflight / PUSH_WS_MAX_INFLIGHT: database operations per connection */
    int ws_max_pending_bytes;  /* ws_max_pending_bytes / PUSH_WS_MAX_PENDING_BYTES: operations' bytes per worker */
    int ws_ring;               /* ws_ring / PUSH_WS_RING: recent messages kept per channel */
    int ws_max_subscriptions;  /* ws_max_subscriptions / PUSH_WS_MAX_SUBSCRIPTIONS: per connection */
    int ws_max_per_address;    /* ws_max_per_address / PUSH_WS_MAX_PER_ADDRESS: connections per peer address */
    int ws_max_frame;          /* ws_max_frame / PUSH_WS_MAX_FRAME: largest client frame in bytes */
    int ws_ping_interval;      /* ws_ping_interval / PUSH_WS_PING_INTERVAL: seconds */
    int ws_idle_timeout;       /* ws_idle_timeout / PUSH_WS_IDLE_TIMEOUT: seconds without traffic */
};

/* Fills defaults, then the file (path, or $PUSH_CONFIG, or SYSCONFDIR/push/push.conf when
 * present; a missing default file is fine), then PUSH_* variables.
 * Returns 0, or -1 with a message in err (a bad line, an unknown key, a bad number). */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Replaces the default of key name for this program (value is not copied: pass a literal).
 * Call before config_load. Returns 0, or -1 for an unknown key. */
int config_default(const char *name, const char *value) __attribute__((warn_unused_result));

/* What every server does first: config_load, then the log at cfg->log_level under the name
 * program (not copied), then the open-files soft limit raised to the hard one (each client is
 * a descriptor). Returns 0, or -1 after printing why to stderr. */
int config_start(struct config *cfg, const char *program, const char *path)
    __attribute__((warn_unused_result));

/* Prints the key table (name, variable, default, description) for --help. */
void config_print_keys(void);

#endif
