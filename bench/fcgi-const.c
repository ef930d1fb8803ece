/* fcgi-const.c: the floor for bench/poll.sh: a FastCGI responder that answers every request
 * at once with the same poll-sized JSON reply, so the web server's own cost per request shows. */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONST_THREADS 16

static const char const_reply[] =
    "Status: 200\r\n"
    "Content-Type: application/json\r\n"
    "Cache-Control: no-store\r\n"
    "\r\n"
    "{\"code\":200,\"content\":\"OK\",\"messages\":[{\"channel\":\"bench\",\"seq\":42,"
    "\"content\":\"k:41:123456789012345\",\"time\":1764100000123}],\"cursor\":\"bench:42\","
    "\"more\":false,\"gap\":[]}";

static pthread_mutex_t const_accept_lock = PTHREAD_MUTEX_INITIALIZER;
static int const_socket;  /* 0: the socket lighttpd or mod_fcgid passes in */

/* One thread: accepts under the lock and answers; a failed accept ends the process. */
static void *const_serve(void *unused)
{
    FCGX_Request request;
    if (FCGX_InitRequest(&request, const_socket, 0) != 0) {
        fprintf(stderr, "fcgi-const: FCGX_InitRequest failed\n");
        exit(1);
    }
    for (;;) {
        pthread_mutex_lock(&const_accept_lock);
        int rc = FCGX_Accept_r(&request);
        pthread_mutex_unlock(&const_accept_lock);
        if (rc < 0) {
            fprintf(stderr, "fcgi-const: accept failed (%d)\n", rc);
            exit(1);
        }
        FCGX_PutStr(const_reply, (int)sizeof(const_reply) - 1, request.out);
        FCGX_Finish_r(&request);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || argc > 2)) {
        printf("usage: fcgi-const [SOCKET-PATH]\n"
               "Answers every FastCGI request with one fixed 200 JSON reply from %d threads, on\n"
               "SOCKET-PATH or on the socket the web server passes as descriptor 0.\n", CONST_THREADS);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "fcgi-const: FCGX_Init failed\n");
        return 1;
    }
    if (argc > 1 && (const_socket = FCGX_OpenSocket(argv[1], 1024)) < 0) {
        fprintf(stderr, "fcgi-const: cannot listen on %s\n", argv[1]);
        return 1;
    }
    /* The threads never take SIGTERM or SIGINT: main waits for them and ends the process, which
     * also ends the threads blocked in accept(). */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    int started = 0;
    for (int i = 0; i < CONST_THREADS; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, const_serve, NULL) == 0) {
            pthread_detach(thread);
            started++;
        }
    }
    if (started < CONST_THREADS) {
        fprintf(stderr, "fcgi-const: started %d of %d threads\n", started, CONST_THREADS);
        return 1;
    }
    int sig;
    sigwait(&stop, &sig);
    return 0;
}
