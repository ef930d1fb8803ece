/* main.c: push-ws, the WebSocket and Server-Sent Events sidecar: options, configuration,
 * and the supervisor of its worker processes. */
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "server.h"
#include "validate.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Connections waiting to be accepted. */
#define MAIN_LISTEN_BACKLOG 4096
/* Most peer addresses counted at once (beyond, connections are served uncounted). */
#define MAIN_MAX_ADDRESSES ((size_t)1 << 18)
/* Seconds the supervisor waits for workers after passing SIGTERM on. */
#define MAIN_STOP_WAIT 10

static void main_usage(void)
{
    printf("Usage: push-ws [--config FILE] [--workers N] [--bind ADDRESS] [--port PORT]\n"
           "The WebSocket and Server-Sent Events sidecar of the push service.\n\n"
           "  GET /push/ws?appkey=K[&client=ID][&user=ID]   WebSocket, JSON operations:\n"
           "      subscribe, unsubscribe, publish, history, presence\n"
           "  GET /push/sse?appkey=K&channel=C[,C..][&since=CURSOR][&token=T]\n"
           "      the same messages as text/event-stream (Last-Event-ID resumes)\n"
           "  GET /push/ws/metrics                          Prometheus text\n\n"
           "With --workers N (or ws_workers) N processes share the port (a SO_REUSEPORT\n"
           "socket each), each with its own LISTEN connection and memory of recent messages.\n"
           "SIGTERM closes every client with 1001.\n\n");
    config_print_keys();
}

/* Lets one process hold as many connections as the hard limit allows. */
/* Opens one listening socket on ws_bind:ws_port (with SO_REUSEPORT when share is set, so
 * that each worker can have its own and the kernel spreads connections over them).
 * Returns it, or -1 after logging why. */
static int main_listen(const struct config *cfg, bool share)
{
    struct addrinfo hints, *list;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof(port), "%d", cfg->ws_port);
    int rc = getaddrinfo(cfg->ws_bind[0] ? cfg->ws_bind : NULL, port, &hints, &list);
    if (rc != 0) {
        log_error("ws_bind %s: %s", cfg->ws_bind, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0, one = 1;
    for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
            (share && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, MAIN_LISTEN_BACKLOG) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd < 0)
        log_error("cannot listen on %s:%d: %s", cfg->ws_bind, cfg->ws_port, strerror(err));
    return fd;
}

/* Starts worker with its own socket of listen_fds (the supervisor keeps them all open, so a
 * restarted worker finds the connections that arrived meanwhile). */
static pid_t main_spawn(const struct config *cfg, int worker, const int *listen_fds)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) {
        if (pid < 0)
            log_error("cannot start worker %d: %s", worker, strerror(errno));
        return pid;
    }
    /* A worker must not outlive its supervisor (it would hold the shared port). */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(0);
    for (int i = 0; i < cfg->ws_workers; i++)
        if (i != worker)
            close(listen_fds[i]);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    _exit(server_run(cfg, worker, listen_fds[worker]));
}

/* Starts the workers, restarts one that dies (after a second), passes SIGTERM on. */
static int main_supervise(const struct config *cfg, const int *listen_fds)
{
    int n = cfg->ws_workers;
    pid_t *pids = calloc((size_t)n, sizeof(*pids));
    time_t *restart_at = calloc((size_t)n, sizeof(*restart_at));
    if (!pids || !restart_at)
        return 1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    log_info("supervising %d workers on %s:%d", n, cfg->ws_bind, cfg->ws_port);
    bool stopping = false;
    while (!stopping) {
        time_t now = time(NULL);
        for (int i = 0; i < n; i++)
            if (pids[i] <= 0 && now >= restart_at[i] && (pids[i] = main_spawn(cfg, i, listen_fds)) < 0)
                restart_at[i] = now + 1;
        struct timespec wait = { 1, 0 };
        int sig = sigtimedwait(&set, NULL, &wait);
        if (sig == SIGTERM || sig == SIGINT)
            stopping = true;
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            for (int i = 0; i < n; i++) {
                if (pids[i] != pid)
                    continue;
                pids[i] = 0;
                restart_at[i] = time(NULL) + 1;
                if (!stopping)
                    log_warn("worker %d (pid %d) ended (%s %d); restarting it", i, (int)pid,
                             WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            }
        }
    }
    log_info("stopping %d workers", n);
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    time_t deadline = time(NULL) + MAIN_STOP_WAIT;
    int left = 0;
    do {
        left = 0;
        for (int i = 0; i < n; i++) {
            if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i])
                pids[i] = 0;
            left += pids[i] > 0;
        }
        if (left) {
            struct timespec pause = { 0, 50 * 1000 * 1000 };
            nanosleep(&pause, NULL);
        }
    } while (left && time(NULL) < deadline);
    for (int i = 0; i < n; i++)
        if (pids[i] > 0) {
            log_warn("worker %d (pid %d) did not stop; killing it", i, (int)pids[i]);
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    free(pids);
    free(restart_at);
    return 0;
}

/* The options of push-ws beside the common ones. */
struct main_options {
    const char *bind;
    long long workers, port;
};

static void main_options_usage(void *arg)
{
    (void)arg;
    main_usage();
}

static int main_options_take(void *arg, int opt, const char *value)
{
    struct main_options *o = arg;
    switch (opt) {
    case 'w':
        if (!validate_int(value, 1, 64, &o->workers)) {
            fprintf(stderr, "push-ws: --workers must be 1..64\n");
            return 2;
        }
        break;
    case 'b':
        o->bind = value;
        break;
    default:
        if (!validate_int(value, 1, 65535, &o->port)) {
            fprintf(stderr, "push-ws: --port must be 1..65535\n");
            return 2;
        }
        break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "workers", required_argument, NULL, 'w' },
        { "bind", required_argument, NULL, 'b' },
        { "port", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    struct main_options o = { NULL, 0, 0 };
    const struct options_spec spec = {
        "push-ws", options, "w:b:p:", main_options_usage, main_options_take, &o,
    };
    const char *config_path;
    int rc = options_parse(&spec, argc, argv, &config_path);
    if (rc >= 0)
        return rc;
    const char *bind = o.bind;
    long long workers = o.workers, port = o.port;
    if (optind < argc) {
        fprintf(stderr, "push-ws: unexpected argument \"%s\"\nTry 'push-ws --help'.\n", argv[optind]);
        return 2;
    }
    struct config cfg;
    if (config_start(&cfg, "push-ws", config_path) < 0)
        return 1;
    if (workers)
        cfg.ws_workers = (int)workers;
    if (port)
        cfg.ws_port = (int)port;
    if (bind) {
        if (strlen(bind) >= sizeof(cfg.ws_bind)) {
            fprintf(stderr, "push-ws: --bind: address too long\n");
            return 2;
        }
        strcpy(cfg.ws_bind, bind);
    }
    /* Room for as many addresses as the workers can have connections (config_load has raised
     * the descriptor limit as far as it goes). */
    struct rlimit rl;
    size_t addresses = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)MAIN_MAX_ADDRESSES
                       ? (size_t)rl.rlim_cur * (size_t)cfg.ws_workers : MAIN_MAX_ADDRESSES;
    if (addresses > MAIN_MAX_ADDRESSES)
        addresses = MAIN_MAX_ADDRESSES;
    if (metrics_init(cfg.ws_workers, 2 * addresses) < 0) {
        log_error("cannot map shared memory for metrics: %s", strerror(errno));
        return 1;
    }
    if (cfg.ws_workers == 1) {
        int fd = main_listen(&cfg, false);
        return fd < 0 ? 1 : server_run(&cfg, 0, fd);
    }
    int listen_fds[64];
    for (int i = 0; i < cfg.ws_workers; i++)
        if ((listen_fds[i] = main_listen(&cfg, true)) < 0)
            return 1;
    int status = main_supervise(&cfg, listen_fds);
    for (int i = 0; i < cfg.ws_workers; i++)
        close(listen_fds[i]);
    return status;
}
