/* pushctl.c: the operator's tool: migrations, apps and keys, publish, tail, history, tokens,
 * pruning and statistics, all through PostgreSQL. */
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "listen.h"
#include "log.h"
#include "message.h"
#include "options.h"
#include "validate.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/local/share/push"
#endif

/* Which app settings an option named (app update changes only those). */
enum {
    PUSHCTL_GIVEN_ORIGINS = 1,
    PUSHCTL_GIVEN_CLIENT_PUBLISH = 2,
    PUSHCTL_GIVEN_MAX_BYTES = 4,
    PUSHCTL_GIVEN_RATE = 8,
    PUSHCTL_GIVEN_CLAIMED_USERS = 16,
    PUSHCTL_GIVEN_RETENTION = 32,
};

struct pushctl {
    struct db_conn db;
    const char *app;       /* --app NAME */
    const char *key;       /* --key KEY (or $PUSH_PUBLISH_KEY) */
    const char *user;      /* --user U */
    const char *since;     /* --since N */
    const char *sender;    /* --sender S */
    const char *retention; /* --retention: prune's INTERVAL, or an app's retention */
    const char *msgid;     /* publish --msgid ID */
    const char *sql_dir;   /* --sql-dir DIR */
    const char *format;    /* --format text|env */
    long long ttl, limit, max_bytes, rate;
    bool client_publish;
    bool claimed_users;    /* app create / update --claimed-users [on|off] */
    unsigned given;        /* PUSHCTL_GIVEN_*: the app settings named on the command line */
    bool yes;              /* --yes: app delete really deletes */
    const char *origins[16];
    int norigins;
    bool jwt;              /* token --jwt */
    const char *sub;       /* --sub U */
    const char *info;      /* --info JSON */
    const char *channels[16], *publish[16]; /* --channel, --publish */
    int nchannels, npublish;
    const char *roles[3];  /* app rotate-keys --role */
    int nroles;
    const char *overlap;   /* app rotate-keys --overlap INTERVAL */
};

static void usage(void)
{
    printf("Usage: pushctl [--config FILE] COMMAND [ARGS] [OPTIONS]\n"
           "Operate the push service through its PostgreSQL database.\n\n"
           "Commands:\n"
           "  migrate                         apply sql/migrations not yet applied\n"
           "  app create NAME [--origin URL]... [--client-publish] [--max-bytes N] [--rate N]\n"
           "                 [--claimed-users [on|off]]  (pages may name their user without a token)\n"
           "                 [--retention RETENTION]\n"
           "                                  create an app; prints its three keys once\n"
           "                                  RETENTION: 'default' (prune's), an interval ('30 days'),\n"
           "                                  'N messages' (per channel) or both: '30 days, 1000 messages'\n"
           "  app rotate-keys NAME [--role subscribe|publish|server]... [--overlap INTERVAL]\n"
           "                                  new keys (default: every role); the old ones work\n"
           "                                  for the overlap (default '1 day'; '0': stop now)\n"
           "  app list                        list apps\n"
           "  app show NAME                   one app's settings (never its keys)\n"
           "  app update NAME [--origin URL]... [--no-origins] [--client-publish] [--no-client-publish]\n"
           "        [--max-bytes N] [--rate N] [--claimed-users on|off] [--retention RETENTION]\n"
           "                                  change those settings; keys and secret stay\n"
           "  app delete NAME --yes           delete an app with all its channels and messages\n"
           "  publish CHANNEL CONTENT --key KEY [--sender S] [--msgid ID]\n"
           "                                  publish a message (KEY defaults to $PUSH_PUBLISH_KEY);\n"
           "                                  again with the same ID: the first one's seq, nothing new\n"
           "  history CHANNEL --app NAME [--limit N]\n"
           "                                  print the latest messages, oldest first\n"
           "  tail CHANNEL --app NAME [--since N]\n"
           "                                  print messages as they arrive (Ctrl-C stops)\n"
           "  token CHANNEL --app NAME [--user U] [--ttl SECONDS]\n"
           "                                  make a subscribe token (default ttl 3600)\n"
           "  token --jwt --app NAME [--sub U] [--channel C|PREFIX*]... [--publish C|PREFIX*]...\n"
           "        [--ttl SECONDS] [--info JSON]  make a JWT (HS256) for those channels\n"
           "  kick APP --user ID              close user ID's connections on every node and refuse\n"
           "                                  their tokens issued before now (a claimed user only\n"
           "                                  loses their connections)\n"
           "  prune [--retention INTERVAL]    delete messages past their app's retention: older than\n"
           "                                  the app's age (else INTERVAL, default '7 days'), or more\n"
           "                                  than its N messages behind their channel's head\n"
           "  stats [--app NAME]              per-channel statistics\n\n"
           "Options: --format env prints app create's keys as shell variables;\n"
           "--sql-dir DIR (or $PUSH_SQL_DIR) holds the migrations (default %s/sql/migrations).\n"
           "On a terminal, control characters in stored text print as \\xHH.\n"
           "pushctl connects with $PUSH_ADMIN_DSN (the schema owner) when it is set, else with dsn.\n\n",
           PKGDATADIR);
    config_print_keys();
}

/* stdout is a terminal: stored text is printed with print_text's escapes. */
static bool pushctl_escape;

/* Prints stored text (content, names). On a terminal, control characters (C0, DEL, C1) and
 * bytes that are not well-formed UTF-8 print as \xHH, so stored text cannot drive it; to a
 * pipe or file the text goes as it is. */
static void print_text(const char *text)
{
    if (!pushctl_escape) {
        fputs(text, stdout);
        return;
    }
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        unsigned char c = *s;
        size_t need = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                      : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        bool control = c < 0x20 || c == 0x7F || (c == 0xC2 && s[1] >= 0x80 && s[1] <= 0x9F);
        if (need == 0 || control || strnlen((const char *)s, need) < need ||
            !validate_utf8((const char *)s, need)) {
            /* One byte escaped; a C1 control's second byte follows as its own escape. */
            printf("\\x%02x", c);
            s++;
            if (control && c == 0xC2)
                printf("\\x%02x", *s++);
            continue;
        }
        fwrite(s, 1, need, stdout);
        s += need;
    }
}

static int fail_result(PGresult *res, const char *what)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state && state[0] == 'P' && state[1] == 'U')
        fprintf(stderr, "pushctl: %s: %s\n", what, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    else
        fprintf(stderr, "pushctl: %s: %s", what, PQresultErrorMessage(res));
    PQclear(res);
    return 1;
}

static PGresult *run(struct pushctl *c, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(c->db.pg, sql, n, NULL, params, NULL, NULL, 0);
    return res ? res : PQmakeEmptyPGresult(c->db.pg, PGRES_FATAL_ERROR);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    struct buf b = BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    buf_append(&b, "", 0);
    return b.data;
}

static int cmd_migrate(struct pushctl *c)
{
    const char *dir = c->sql_dir ? c->sql_dir : getenv("PUSH_SQL_DIR");
    if (!dir || !*dir)
        dir = PKGDATADIR "/sql/migrations";
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "pushctl: migrate: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 4 && e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
            strcmp(e->d_name + len - 4, ".sql") == 0) {
            names = xrealloc(names, (count + 1) * sizeof(*names));
            names[count++] = xstrdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, count, sizeof(*names), cmp_names);

    int rc = 0;
    PGresult *res = db_exec_simple(&c->db,
        "SET client_min_messages = warning;"
        "CREATE SCHEMA IF NOT EXISTS push;"
        "CREATE TABLE IF NOT EXISTS push.schema_version(version int PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    if (!db_ok(res)) {
        rc = fail_result(res, "migrate");
        goto out;
    }
    PQclear(res);
    int applied = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        char version[16];
        snprintf(version, sizeof(version), "%ld", strtol(names[i], NULL, 10));
        const char *p1[] = { version };
        res = run(c, "SELECT 1 FROM push.schema_version WHERE version = $1", 1, p1);
        if (!db_ok(res)) {
            rc = fail_result(res, "migrate");
            break;
        }
        bool done = PQntuples(res) > 0;
        PQclear(res);
        if (done)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        char *sql = read_file(path);
        if (!sql) {
            fprintf(stderr, "pushctl: migrate: %s: %s\n", path, strerror(errno));
            rc = 1;
            break;
        }
        res = db_exec_simple(&c->db, "BEGIN");
        PQclear(res);
        res = db_exec_simple(&c->db, sql);
        free(sql);
        if (!db_ok(res)) {
            fprintf(stderr, "pushctl: migrate: %s failed, nothing of it applied\n", names[i]);
            rc = fail_result(res, names[i]);
            PQclear(db_exec_simple(&c->db, "ROLLBACK"));
            break;
        }
        PQclear(res);
        const char *p2[] = { version, names[i] };
        res = run(c, "INSERT INTO push.schema_version(version, name) VALUES ($1, $2)", 2, p2);
        if (!db_ok(res)) {
            rc = fail_result(res, names[i]);
            PQclear(db_exec_simple(&c->db, "ROLLBACK"));
            break;
        }
        PQclear(res);
        res = db_exec_simple(&c->db, "COMMIT");
        if (!db_ok(res)) {
            rc = fail_result(res, names[i]);
            break;
        }
        PQclear(res);
        printf("applied %s\n", names[i]);
        applied++;
    }
    if (rc == 0) {
        res = db_exec_simple(&c->db, "SELECT coalesce(max(version), 0) FROM push.schema_version");
        if (db_ok(res))
            printf("schema version %s (%d applied now)\n", PQgetvalue(res, 0, 0), applied);
        PQclear(res);
    }
out:
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int cmd_app_create(struct pushctl *c, const char *name)
{
    struct buf origins = BUF_INIT;
    for (int i = 0; i < c->norigins; i++)
        db_array_add(&origins, c->origins[i]);
    db_array_end(&origins);
    char max_bytes[24], rate[24];
    snprintf(max_bytes, sizeof(max_bytes), "%lld", c->max_bytes);
    snprintf(rate, sizeof(rate), "%lld", c->rate);
    const char *params[] = { name, buf_str(&origins), c->client_publish ? "true" : "false",
                             max_bytes, rate, c->claimed_users ? "true" : "false",
                             c->given & PUSHCTL_GIVEN_RETENTION ? c->retention : NULL };
    /* One statement: a refused retention leaves no app behind. */
    PGresult *res = run(c, "SELECT a.app_id, a.publish_key, a.subscribe_key, a.secret, a.server_key "
                           "FROM push.app_create($1, $2::text[], $3::bool, $4::int, $5::int, $6::bool) a "
                           "LEFT JOIN LATERAL (SELECT push.app_update($1, p_retention => $7) "
                           "WHERE $7::text IS NOT NULL AND a.app_id IS NOT NULL) r ON true",
                        7, params);
    buf_free(&origins);
    if (!db_ok(res))
        return fail_result(res, "app create");
    if (c->format && strcmp(c->format, "env") == 0) {
        printf("PUSH_APP=%s\nPUSH_PUBLISH_KEY=%s\nPUSH_SUBSCRIBE_KEY=%s\nPUSH_APP_SECRET=%s\n"
               "PUSH_SERVER_KEY=%s\n", name,
               PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));
    } else {
        printf("app %s created (id %s). The keys are shown only now:\n"
               "  subscribe key: %s   (pages: public channels; tokens for the rest)\n"
               "  publish key:   %s   (pages may hold it: also publish to public channels)\n"
               "  server key:    %s   (backends only, never in a page: everything)\n"
               "  token secret:  %s   (backends only: signs tokens)\n",
               name, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 1),
               PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return 0;
}

static int cmd_app_rotate_keys(struct pushctl *c, const char *name)
{
    struct buf roles = BUF_INIT;
    for (int i = 0; i < c->nroles; i++)
        db_array_add(&roles, c->roles[i]);
    db_array_end(&roles);
    const char *params[] = { name, c->nroles ? buf_str(&roles) : NULL, c->overlap };
    PGresult *res = run(c, "SELECT role, key, old_expires_at FROM push.key_rotate($1, "
                           "coalesce($2::text[], '{subscribe,publish,server}'), coalesce($3::interval, '1 day'))",
                        3, params);
    buf_free(&roles);
    if (!db_ok(res))
        return fail_result(res, "app rotate-keys");
    bool env = c->format && strcmp(c->format, "env") == 0;
    if (!env)
        printf("app %s: new keys, shown only now:\n", name);
    for (int i = 0; i < PQntuples(res); i++) {
        const char *role = PQgetvalue(res, i, 0);
        if (env)
            printf("PUSH_%s_KEY=%s\n", strcmp(role, "server") == 0 ? "SERVER"
                                       : strcmp(role, "publish") == 0 ? "PUBLISH" : "SUBSCRIBE",
                   PQgetvalue(res, i, 1));
        else
            printf("  %-9s key: %s   (the old one works until %s)\n", role, PQgetvalue(res, i, 1),
                   PQgetvalue(res, i, 2));
    }
    PQclear(res);
    return 0;
}

static int print_rows(PGresult *res)
{
    int cols = PQnfields(res);
    for (int j = 0; j < cols; j++)
        printf("%s%s", j ? "\t" : "", PQfname(res, j));
    printf("\n");
    for (int i = 0; i < PQntuples(res); i++) {
        for (int j = 0; j < cols; j++) {
            printf("%s", j ? "\t" : "");
            print_text(PQgetisnull(res, i, j) ? "" : PQgetvalue(res, i, j));
        }
        printf("\n");
    }
    PQclear(res);
    return 0;
}

static int cmd_app_list(struct pushctl *c)
{
    PGresult *res = run(c, "SELECT id, name, origins, client_publish, max_message_bytes, publish_rate, "
                           "created_at FROM push.app ORDER BY id", 0, NULL);
    return db_ok(res) ? print_rows(res) : fail_result(res, "app list");
}

static int cmd_app_show(struct pushctl *c, const char *name)
{
    const char *params[] = { name };
    PGresult *res = run(c, "SELECT a.id, a.name, a.origins, a.client_publish, a.claimed_users, "
                           "a.max_message_bytes, a.publish_rate, "
                           "concat_ws(', ', a.retention::text, a.retention_messages || ' messages', "
                           "CASE WHEN a.retention IS NULL THEN 'age: prune''s default' END) AS retention, "
                           "a.created_at, "
                           "(SELECT count(*) FROM push.channel ch WHERE ch.app_id = a.id) AS channels "
                           "FROM push.app a WHERE a.name = $1", 1, params);
    if (!db_ok(res))
        return fail_result(res, "app show");
    if (PQntuples(res) == 0) {
        PQclear(res);
        fprintf(stderr, "pushctl: app show: no app named %s\n", name);
        return 1;
    }
    for (int j = 0; j < PQnfields(res); j++) {
        printf("%-18s ", PQfname(res, j));
        print_text(PQgetvalue(res, 0, j));
        printf("\n");
    }
    PQclear(res);
    /* The keys themselves are never kept; their roles and windows are. */
    res = run(c, "SELECT k.role, k.created_at, coalesce(k.expires_at::text, '') FROM push.app_key k "
                 "JOIN push.app a ON a.id = k.app_id WHERE a.name = $1 "
                 "AND (k.expires_at IS NULL OR k.expires_at > now()) ORDER BY k.role, k.created_at", 1, params);
    if (!db_ok(res))
        return fail_result(res, "app show");
    for (int i = 0; i < PQntuples(res); i++) {
        const char *until = PQgetvalue(res, i, 2);
        printf("%-18s %-9s since %s%s%s\n", i == 0 ? "keys" : "", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               *until ? ", works until " : "", until);
    }
    PQclear(res);
    return 0;
}

static int cmd_app_update(struct pushctl *c, const char *name)
{
    if (!c->given) {
        fprintf(stderr, "pushctl: app update: nothing to change (see pushctl --help)\n");
        return 2;
    }
    struct buf origins = BUF_INIT;
    for (int i = 0; i < c->norigins; i++)
        db_array_add(&origins, c->origins[i]);
    db_array_end(&origins);
    char max_bytes[24], rate[24];
    snprintf(max_bytes, sizeof(max_bytes), "%lld", c->max_bytes);
    snprintf(rate, sizeof(rate), "%lld", c->rate);
    const char *params[] = { name, c->given & PUSHCTL_GIVEN_ORIGINS ? buf_str(&origins) : NULL,
                             c->given & PUSHCTL_GIVEN_CLIENT_PUBLISH ? (c->client_publish ? "true" : "false") : NULL,
                             c->given & PUSHCTL_GIVEN_MAX_BYTES ? max_bytes : NULL,
                             c->given & PUSHCTL_GIVEN_RATE ? rate : NULL,
                             c->given & PUSHCTL_GIVEN_CLAIMED_USERS ? (c->claimed_users ? "true" : "false") : NULL,
                             c->given & PUSHCTL_GIVEN_RETENTION ? c->retention : NULL };
    PGresult *res = run(c, "SELECT push.app_update($1, $2::text[], $3::bool, $4::int, $5::int, $6::bool, $7)",
                        7, params);
    buf_free(&origins);
    if (!db_ok(res))
        return fail_result(res, "app update");
    PQclear(res);
    printf("app %s updated\n", name);
    return 0;
}

static int cmd_app_delete(struct pushctl *c, const char *name)
{
    if (!c->yes) {
        fprintf(stderr, "pushctl: app delete: this deletes %s's channels, messages and read marks; "
                        "add --yes to do it\n", name);
        return 2;
    }
    const char *params[] = { name };
    PGresult *res = run(c, "SELECT push.app_delete($1)", 1, params);
    if (!db_ok(res))
        return fail_result(res, "app delete");
    printf("app %s deleted with %s channels\n", name, PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int cmd_publish(struct pushctl *c, const char *channel, const char *content)
{
    const char *key = c->key ? c->key : getenv("PUSH_PUBLISH_KEY");
    if (!key) {
        fprintf(stderr, "pushctl: publish: --key or $PUSH_PUBLISH_KEY is required\n");
        return 2;
    }
    const char *params[] = { key, channel, content, c->sender, c->msgid };
    PGresult *res = run(c, "SELECT push.publish($1, $2, $3, $4, $5)", 5, params);
    if (!db_ok(res))
        return fail_result(res, "publish");
    printf("%s:%s\n", channel, PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int need_app(const struct pushctl *c, const char *cmd)
{
    if (c->app)
        return 0;
    fprintf(stderr, "pushctl: %s: --app NAME is required\n", cmd);
    return 2;
}

#define MESSAGE_COLUMNS "m.seq, to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), " \
                        "coalesce(m.sender, ''), m.content"

static void print_messages(PGresult *res, int64_t *last)
{
    for (int i = 0; i < PQntuples(res); i++) {
        printf("%s\t%s\t", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        print_text(PQgetvalue(res, i, 2));
        printf("\t");
        print_text(PQgetvalue(res, i, 3));
        printf("\n");
        if (last)
            *last = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    }
    fflush(stdout);
}

static int cmd_history(struct pushctl *c, const char *channel)
{
    if (need_app(c, "history"))
        return 2;
    char limit[24];
    snprintf(limit, sizeof(limit), "%lld", c->limit ? c->limit : 20);
    const char *params[] = { c->app, channel, limit };
    PGresult *res = run(c, "SELECT * FROM (SELECT " MESSAGE_COLUMNS " FROM push.message m "
                           "JOIN push.channel ch ON ch.id = m.channel_id JOIN push.app a ON a.id = ch.app_id "
                           "WHERE a.name = $1 AND ch.name = $2 ORDER BY m.seq DESC LIMIT $3::int) t ORDER BY 1",
                        3, params);
    if (!db_ok(res))
        return fail_result(res, "history");
    print_messages(res, NULL);
    PQclear(res);
    return 0;
}

static volatile sig_atomic_t tail_stop;
static void tail_on_signal(int sig)
{
    (void)sig;
    tail_stop = 1;
}

/* What one batch of notifications says of the tailed channel. */
struct tail_batch {
    int64_t channel_id;
    int64_t last;  /* the newest seq printed */
    bool behind;   /* a newer seq was notified */
};

/* listen_fn: notes whether a push_message payload names a newer seq of the channel. */
static void tail_on_notice(void *arg, const char *channel, const char *payload)
{
    struct tail_batch *batch = arg;
    (void)channel;
    int64_t notified, seq;
    while (message_notice_next(&payload, &notified, &seq))
        if (notified == batch->channel_id && seq > batch->last)
            batch->behind = true;
}

static int cmd_tail(struct pushctl *c, const char *channel)
{
    if (need_app(c, "tail"))
        return 2;
    static const char *const channels[] = { "push_message", NULL };
    if (listen_start(c->db.pg, channels) < 0) {
        fprintf(stderr, "pushctl: tail: %s", PQerrorMessage(c->db.pg));
        return 1;
    }
    const char *p1[] = { c->app, channel };
    PGresult *res = run(c, "SELECT ch.id, ch.last_seq FROM push.channel ch JOIN push.app a ON a.id = ch.app_id "
                           "WHERE a.name = $1 AND ch.name = $2", 2, p1);
    if (!db_ok(res))
        return fail_result(res, "tail");
    if (PQntuples(res) == 0) {
        PQclear(res);
        fprintf(stderr, "pushctl: tail: app %s has no channel %s yet\n", c->app, channel);
        return 1;
    }
    char channel_id[24];
    snprintf(channel_id, sizeof(channel_id), "%s", PQgetvalue(res, 0, 0));
    int64_t id = strtoll(channel_id, NULL, 10);
    int64_t last = c->since ? strtoll(c->since, NULL, 10) : strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = tail_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bool check = true;
    while (!tail_stop) {
        if (check) {
            char after[24];
            snprintf(after, sizeof(after), "%lld", (long long)last);
            const char *p2[] = { channel_id, after };
            res = run(c, "SELECT " MESSAGE_COLUMNS " FROM push.message m WHERE m.channel_id = $1 "
                         "AND m.seq > $2 ORDER BY m.seq", 2, p2);
            if (!db_ok(res))
                return fail_result(res, "tail");
            print_messages(res, &last);
            PQclear(res);
            check = false;
        }
        if (listen_wait(PQsocket(c->db.pg), -1, 1.0) < 0)
            break;
        struct tail_batch batch = { id, last, false };
        if (listen_drain(c->db.pg, tail_on_notice, &batch) < 0) {
            fprintf(stderr, "pushctl: tail: %s", PQerrorMessage(c->db.pg));
            return 1;
        }
        if (batch.behind)
            check = true;
    }
    return 0;
}

/* The secret of --app, in row 0 (the caller PQclears it); NULL after saying why. */
static PGresult *token_secret(struct pushctl *c)
{
    const char *params[] = { c->app };
    PGresult *res = run(c, "SELECT secret FROM push.app WHERE name = $1", 1, params);
    if (!db_ok(res)) {
        fail_result(res, "token");
        return NULL;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        fprintf(stderr, "pushctl: token: no app named %s\n", c->app);
        return NULL;
    }
    return res;
}

static int cmd_token(struct pushctl *c, const char *channel)
{
    if (need_app(c, "token"))
        return 2;
    if (validate_channel_error(channel)) {
        fprintf(stderr, "pushctl: token: channel %s\n", validate_channel_error(channel));
        return 2;
    }
    const char *user = validate_channel_user(channel) ? validate_channel_user(channel) : c->user;
    PGresult *res = token_secret(c);
    if (!res)
        return 1;
    char token[AUTH_TOKEN_MAX];
    int64_t expires = (int64_t)time(NULL) + (c->ttl ? c->ttl : 3600);
    int rc = auth_token_make(PQgetvalue(res, 0, 0), channel, expires, user, token, sizeof(token));
    PQclear(res);
    if (rc < 0) {
        fprintf(stderr, "pushctl: token: channel or user too long\n");
        return 1;
    }
    printf("%s\n", token);
    return 0;
}

/* A JWT's channels or publish entry: a channel name, or a prefix of one ending in '*'. */
static bool jwt_entry_valid(const char *entry)
{
    size_t n = strlen(entry);
    if (n == 0 || entry[n - 1] != '*')
        return validate_channel(entry);
    char prefix[VALIDATE_CHANNEL_MAX + 1];
    if (n - 1 > VALIDATE_CHANNEL_MAX)
        return false;
    memcpy(prefix, entry, n - 1);
    prefix[n - 1] = '\0';
    return n == 1 || validate_channel(prefix);
}

static int cmd_token_jwt(struct pushctl *c)
{
    if (need_app(c, "token"))
        return 2;
    if (c->sub && validate_user_error(c->sub)) {
        fprintf(stderr, "pushctl: token: --sub %s\n", validate_user_error(c->sub));
        return 2;
    }
    for (int i = 0; i < c->nchannels + c->npublish; i++) {
        const char *entry = i < c->nchannels ? c->channels[i] : c->publish[i - c->nchannels];
        if (!jwt_entry_valid(entry)) {
            fprintf(stderr, "pushctl: token: --channel and --publish take a channel name, or a prefix ending in *\n");
            return 2;
        }
    }
    PGresult *res = token_secret(c);
    if (!res)
        return 1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t expires = (int64_t)now.tv_sec + (c->ttl ? c->ttl : 3600);
    int64_t issued_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    char *token = auth_jwt_make(PQgetvalue(res, 0, 0), c->sub, c->channels, (size_t)c->nchannels,
                                c->publish, (size_t)c->npublish, expires, issued_ms, c->info);
    PQclear(res);
    if (!token) {
        fprintf(stderr, "pushctl: token: --info must be a JSON object of at most %d bytes\n", AUTH_JWT_INFO_MAX);
        return 2;
    }
    printf("%s\n", token);
    free(token);
    return 0;
}

static int cmd_kick(struct pushctl *c, const char *app)
{
    if (!c->user) {
        fprintf(stderr, "pushctl: kick: --user ID is required\n");
        return 2;
    }
    if (validate_user_error(c->user)) {
        fprintf(stderr, "pushctl: kick: --user %s\n", validate_user_error(c->user));
        return 2;
    }
    const char *params[] = { app, c->user };
    PGresult *res = run(c, "SELECT push.user_kick($1, $2)", 2, params);
    if (!db_ok(res))
        return fail_result(res, "kick");
    long long ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    printf("user %s of app %s kicked: connections closed, tokens issued before %lld.%03lld refused\n", c->user, app,
           ms / 1000, ms % 1000);
    return 0;
}

static int cmd_prune(struct pushctl *c)
{
    const char *params[] = { c->retention ? c->retention : "7 days" };
    PGresult *res = run(c, "SELECT push.prune($1::interval), push.presence_expire()", 1, params);
    if (!db_ok(res))
        return fail_result(res, "prune");
    printf("pruned %s messages past their app's retention (else older than %s) and %s stale presence rows\n",
           PQgetvalue(res, 0, 0), params[0], PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

static int cmd_stats(struct pushctl *c)
{
    const char *params[] = { c->app };
    PGresult *res = run(c, "SELECT * FROM push.channel_stats WHERE $1::text IS NULL OR app = $1 "
                           "ORDER BY app, channel", 1, params);
    return db_ok(res) ? print_rows(res) : fail_result(res, "stats");
}

static bool parse_number(const char *opt, const char *text, long long max, long long *out)
{
    if (validate_int(text, 0, max, out))
        return true;
    fprintf(stderr, "pushctl: --%s must be a whole number in 0..%lld\n", opt, max);
    return false;
}

/* pushctl's own options, as options_parse hands them over. */
struct pushctl_options {
    struct pushctl *c;
    int argc;
    char **argv;
};

static void pushctl_options_usage(void *arg)
{
    (void)arg;
    usage();
}

static int pushctl_options_take(void *arg, int opt, const char *value)
{
    struct pushctl_options *o = arg;
    struct pushctl *c = o->c;
    switch (opt) {
    case 'a': c->app = value; break;
    case 'k': c->key = value; break;
    case 'u': c->user = value; break;
    case 's': c->since = value; break;
    case 'S': c->sender = value; break;
    case 'R': c->retention = value; c->given |= PUSHCTL_GIVEN_RETENTION; break;
    case 'M': c->msgid = value; break;
    case 'd': c->sql_dir = value; break;
    case 'f': c->format = value; break;
    case 'p': c->client_publish = true; c->given |= PUSHCTL_GIVEN_CLIENT_PUBLISH; break;
    case 'q': c->client_publish = false; c->given |= PUSHCTL_GIVEN_CLIENT_PUBLISH; break;
    case 'O': c->norigins = 0; c->given |= PUSHCTL_GIVEN_ORIGINS; break;
    case 'Y': c->yes = true; break;
    case 'L': {
        /* --claimed-users alone is on; --claimed-users on|off (or =on|off) says which. */
        if (!value && optind < o->argc && (strcmp(o->argv[optind], "on") == 0 ||
                                            strcmp(o->argv[optind], "off") == 0))
            value = o->argv[optind++];
        if (value && strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
            fprintf(stderr, "pushctl: --claimed-users must be on or off\n");
            return 2;
        }
        c->claimed_users = !value || strcmp(value, "on") == 0;
        c->given |= PUSHCTL_GIVEN_CLAIMED_USERS;
        break;
    }
    case 't': if (!parse_number("ttl", value, 100000000, &c->ttl)) return 2; break;
    case 'l': if (!parse_number("limit", value, 1000000, &c->limit)) return 2; break;
    case 'm':
        if (!parse_number("max-bytes", value, 100000000, &c->max_bytes))
            return 2;
        c->given |= PUSHCTL_GIVEN_MAX_BYTES;
        break;
    case 'r':
        if (!parse_number("rate", value, 1000000, &c->rate))
            return 2;
        c->given |= PUSHCTL_GIVEN_RATE;
        break;
    case 'J': c->jwt = true; break;
    case 'U': c->sub = value; break;
    case 'I': c->info = value; break;
    case 'W': c->overlap = value; break;
    case 'G':
        if (c->nroles == 3) {
            fprintf(stderr, "pushctl: at most 3 --role\n");
            return 2;
        }
        c->roles[c->nroles++] = value;
        break;
    case 'C':
    case 'P':
        if ((opt == 'C' ? c->nchannels : c->npublish) == 16) {
            fprintf(stderr, "pushctl: at most 16 --%s\n", opt == 'C' ? "channel" : "publish");
            return 2;
        }
        if (opt == 'C')
            c->channels[c->nchannels++] = value;
        else
            c->publish[c->npublish++] = value;
        break;
    case 'o':
        if (c->norigins == 16) {
            fprintf(stderr, "pushctl: at most 16 --origin\n");
            return 2;
        }
        c->origins[c->norigins++] = value;
        c->given |= PUSHCTL_GIVEN_ORIGINS;
        break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "app", required_argument, NULL, 'a' },
        { "key", required_argument, NULL, 'k' },
        { "user", required_argument, NULL, 'u' },
        { "ttl", required_argument, NULL, 't' },
        { "since", required_argument, NULL, 's' },
        { "limit", required_argument, NULL, 'l' },
        { "origin", required_argument, NULL, 'o' },
        { "client-publish", no_argument, NULL, 'p' },
        { "no-client-publish", no_argument, NULL, 'q' },
        { "no-origins", no_argument, NULL, 'O' },
        { "yes", no_argument, NULL, 'Y' },
        { "max-bytes", required_argument, NULL, 'm' },
        { "rate", required_argument, NULL, 'r' },
        { "sender", required_argument, NULL, 'S' },
        { "retention", required_argument, NULL, 'R' },
        { "sql-dir", required_argument, NULL, 'd' },
        { "format", required_argument, NULL, 'f' },
        { "jwt", no_argument, NULL, 'J' },
        { "sub", required_argument, NULL, 'U' },
        { "channel", required_argument, NULL, 'C' },
        { "publish", required_argument, NULL, 'P' },
        { "info", required_argument, NULL, 'I' },
        { "role", required_argument, NULL, 'G' },
        { "claimed-users", optional_argument, NULL, 'L' },
        { "msgid", required_argument, NULL, 'M' },
        { "overlap", required_argument, NULL, 'W' },
        { NULL, 0, NULL, 0 },
    };
    struct pushctl c;
    memset(&c, 0, sizeof(c));
    c.max_bytes = 65536;
    struct pushctl_options o = { &c, argc, argv };
    const struct options_spec spec = {
        "pushctl", options, NULL, pushctl_options_usage, pushctl_options_take, &o,
    };
    const char *config_path;
    int parsed = options_parse(&spec, argc, argv, &config_path);
    if (parsed >= 0)
        return parsed;
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs < 1) {
        usage();
        return 2;
    }
    struct config cfg;
    char err[512];
    if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
        fprintf(stderr, "pushctl: %s\n", err);
        return 1;
    }
    log_init("pushctl", LOG_LEVEL_WARN);
    pushctl_escape = isatty(STDOUT_FILENO);
    /* The operator's tool runs as the schema owner; the programs' dsn is the fallback. */
    const char *dsn = getenv("PUSH_ADMIN_DSN");
    if (!dsn || !*dsn)
        dsn = cfg.dsn;
    c.db.pg = db_connect(dsn);
    if (!c.db.pg) {
        fprintf(stderr, "pushctl: cannot connect to the database (dsn: %s)\n", dsn);
        return 1;
    }
    PQclear(db_exec_simple(&c.db, "SET client_min_messages = warning"));
    int rc = 2;
    const char *cmd = args[0];
    if (strcmp(cmd, "migrate") == 0 && nargs == 1)
        rc = cmd_migrate(&c);
    else if (strcmp(cmd, "app") == 0 && nargs == 3 && strcmp(args[1], "create") == 0)
        rc = cmd_app_create(&c, args[2]);
    else if (strcmp(cmd, "app") == 0 && nargs == 3 && strcmp(args[1], "rotate-keys") == 0)
        rc = cmd_app_rotate_keys(&c, args[2]);
    else if (strcmp(cmd, "app") == 0 && nargs == 2 && strcmp(args[1], "list") == 0)
        rc = cmd_app_list(&c);
    else if (strcmp(cmd, "app") == 0 && nargs == 3 && strcmp(args[1], "show") == 0)
        rc = cmd_app_show(&c, args[2]);
    else if (strcmp(cmd, "app") == 0 && nargs == 3 && strcmp(args[1], "update") == 0)
        rc = cmd_app_update(&c, args[2]);
    else if (strcmp(cmd, "app") == 0 && nargs == 3 && strcmp(args[1], "delete") == 0)
        rc = cmd_app_delete(&c, args[2]);
    else if (strcmp(cmd, "publish") == 0 && nargs == 3)
        rc = cmd_publish(&c, args[1], args[2]);
    else if (strcmp(cmd, "history") == 0 && nargs == 2)
        rc = cmd_history(&c, args[1]);
    else if (strcmp(cmd, "tail") == 0 && nargs == 2)
        rc = cmd_tail(&c, args[1]);
    else if (strcmp(cmd, "token") == 0 && nargs == 1 && c.jwt)
        rc = cmd_token_jwt(&c);
    else if (strcmp(cmd, "token") == 0 && nargs == 2 && !c.jwt)
        rc = cmd_token(&c, args[1]);
    else if (strcmp(cmd, "kick") == 0 && nargs == 2)
        rc = cmd_kick(&c, args[1]);
    else if (strcmp(cmd, "prune") == 0 && nargs == 1)
        rc = cmd_prune(&c);
    else if (strcmp(cmd, "stats") == 0 && nargs == 1)
        rc = cmd_stats(&c);
    else
        fprintf(stderr, "pushctl: unknown command or wrong arguments; try 'pushctl --help'\n");
    db_conn_close(&c.db);
    return rc;
}
