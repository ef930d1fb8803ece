/* config.c: settings from one file plus PUSH_* environment overrides, declared in one table. */
#include "config.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

enum config_type { CONFIG_STRING, CONFIG_INT };

struct config_key {
    const char *name;
    const char *env;
    enum config_type type;
    size_t offset;
    size_t size;          /* string capacity */
    const char *fallback; /* default, as text */
    long min, max;
    const char *help;
};

#define STR(field, env, def, help) \
    { #field, env, CONFIG_STRING, offsetof(struct config, field), sizeof(((struct config *)0)->field), def, 0, 0, help }
#define INT(field, env, def, lo, hi, help) \
    { #field, env, CONFIG_INT, offsetof(struct config, field), sizeof(int), def, lo, hi, help }

static const struct config_key config_keys[] = {
    STR(dsn, "PUSH_DSN", "dbname=push", "libpq connection string"),
    STR(log_level, "PUSH_LOG_LEVEL", "info", "error, warn, info or debug"),
    INT(threads, "PUSH_THREADS", "16", 1, 4096, "FastCGI request threads per process"),
    INT(db_pool, "PUSH_DB_POOL", "4", 1, 256, "database connections per process for requests"),
    INT(presence_ttl, "PUSH_PRESENCE_TTL", "60", 5, 86400, "seconds a client stays present after its last poll"),
    INT(app_cache_ttl, "PUSH_APP_CACHE_TTL", "10", 0, 3600, "seconds a key lookup is cached"),
    INT(publish_per_address, "PUSH_PUBLISH_PER_ADDRESS", "0", 0, 1000000, "publish requests per second from one client address (429 beyond; 0 = no limit)"),
    INT(poll_max_held, "PUSH_POLL_MAX_HELD", "10000", 1, 1000000, "long-polls one push-poll holds at once (503 beyond)"),
    INT(poll_max_per_address, "PUSH_POLL_MAX_PER_ADDRESS", "1000", 1, 1000000, "long-polls held for one client address (429 beyond)"),
    INT(poll_ring, "PUSH_POLL_RING", "128", 1, 100000, "recent messages push-poll keeps in memory per channel"),
    INT(listener_idle, "PUSH_LISTENER_IDLE", "30", 1, 3600, "seconds the LISTEN connection may be silent before it is probed"),
    INT(listener_timeout, "PUSH_LISTENER_TIMEOUT", "10", 1, 3600, "seconds a probe may go unanswered before the listener reconnects"),
    STR(ws_bind, "PUSH_WS_BIND", "127.0.0.1", "sidecar listen address"),
    INT(ws_port, "PUSH_WS_PORT", "8081", 1, 65535, "sidecar listen port"),
    INT(ws_workers, "PUSH_WS_WORKERS", "1", 1, 64, "sidecar worker processes"),
    INT(ws_queue, "PUSH_WS_QUEUE", "1024", 8, 1000000, "frames queued per connection before it is cut off"),
    INT(ws_queue_bytes, "PUSH_WS_QUEUE_BYTES", "1048576", 65536, 1073741824,
        "bytes queued per connection before it is cut off (history replies and replay pages get a quarter)"),
    INT(ws_max_inflight, "PUSH_WS_MAX_INFLIGHT", "8", 1, 1000, "publish, history and presence operations in flight per connection"),
    INT(ws_max_pending_bytes, "PUSH_WS_MAX_PENDING_BYTES", "67108864", 4096, 1073741824,
        "bytes of operations waiting for the database in one worker (503 beyond)"),
    INT(ws_ring, "PUSH_WS_RING", "256", 1, 100000, "recent messages kept in memory per channel"),
    INT(ws_max_subscriptions, "PUSH_WS_MAX_SUBSCRIPTIONS", "64", 1, 10000, "subscriptions per connection"),
    INT(ws_max_per_address, "PUSH_WS_MAX_PER_ADDRESS", "1000", 1, 1000000, "connections per peer address (all workers together)"),
    INT(ws_max_frame, "PUSH_WS_MAX_FRAME", "131072", 1024, 16777216, "largest client frame in bytes"),
    INT(ws_ping_interval, "PUSH_WS_PING_INTERVAL", "30", 1, 3600, "seconds between keepalive pings"),
    INT(ws_idle_timeout, "PUSH_WS_IDLE_TIMEOUT", "120", 5, 65535, "seconds without traffic before a connection is closed (at most 65535)"),
};

#define CONFIG_KEY_COUNT (sizeof(config_keys) / sizeof(config_keys[0]))

/* Per-program replacements of the table's defaults (borrowed strings), set by config_default. */
static const char *config_defaults[CONFIG_KEY_COUNT];

static const char *config_fallback(size_t i)
{
    return config_defaults[i] ? config_defaults[i] : config_keys[i].fallback;
}

static int config_set(struct config *cfg, const struct config_key *key, const char *value,
                      char *err, size_t errlen)
{
    char *field = (char *)cfg + key->offset;
    if (key->type == CONFIG_STRING) {
        if (strlen(value) >= key->size) {
            snprintf(err, errlen, "%s: value longer than %zu bytes", key->name, key->size - 1);
            return -1;
        }
        strcpy(field, value);
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || end == value || *end || n < key->min || n > key->max) {
        snprintf(err, errlen, "%s: \"%s\" is not a whole number in %ld..%ld", key->name, value,
                 key->min, key->max);
        return -1;
    }
    *(int *)field = (int)n;
    return 0;
}

static const struct config_key *config_find(const char *name)
{
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
        if (strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int config_read_file(struct config *cfg, const char *path, FILE *f, char *err, size_t errlen)
{
    char line[2048];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            return -1;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        const struct config_key *key = config_find(name);
        if (!key) {
            snprintf(err, errlen, "%s:%d: unknown key \"%s\"", path, lineno, name);
            return -1;
        }
        char sub[512];
        if (config_set(cfg, key, value, sub, sizeof(sub)) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, sub);
            return -1;
        }
    }
    return 0;
}

int config_default(const char *name, const char *value)
{
    const struct config_key *key = config_find(name);
    if (!key)
        return -1;
    config_defaults[key - config_keys] = value;
    return 0;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
        if (config_set(cfg, &config_keys[i], config_fallback(i), err, errlen) < 0)
            return -1;

    int required = 1;
    if (!path)
        path = getenv("PUSH_CONFIG");
    if (!path || !*path) {
        path = SYSCONFDIR "/push/push.conf";
        required = 0;
    }
    FILE *f = fopen(path, "r");
    if (!f && required) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (f) {
        int rc = config_read_file(cfg, path, f, err, errlen);
        fclose(f);
        if (rc < 0)
            return -1;
    }

    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const char *value = getenv(config_keys[i].env);
        if (value && config_set(cfg, &config_keys[i], value, err, errlen) < 0)
            return -1;
    }
    return 0;
}

void config_print_keys(void)
{
    printf("Settings (file key, environment variable, default):\n");
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
        printf("  %-22s %-28s %-12s %s\n", config_keys[i].name, config_keys[i].env,
               config_fallback(i), config_keys[i].help);
    printf("The file is --config FILE, else $PUSH_CONFIG, else %s/push/push.conf.\n", SYSCONFDIR);
}

int config_start(struct config *cfg, const char *program, const char *path)
{
    char err[512];
    if (config_load(cfg, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", program, err);
        return -1;
    }
    enum log_level level = LOG_LEVEL_INFO;
    if (log_level_parse(cfg->log_level, &level) < 0) {
        fprintf(stderr, "%s: log_level: unknown level \"%s\"\n", program, cfg->log_level);
        return -1;
    }
    log_init(program, level);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_warn("cannot raise the open-files limit: %s", strerror(errno));
    }
    return 0;
}
