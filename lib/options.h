/* options.h: the one command-line parser of push-api, push-poll, push-ws and pushctl: --help,
 * --version, --config and the refusal of an unknown option are handled here, each program's
 * own options by its callback. */
#ifndef PUSH_OPTIONS_H
#define PUSH_OPTIONS_H

#include <getopt.h>

struct options_spec {
    const char *name;            /* the program, for --version and the refusals */
    const struct option *extra;  /* the program's own options, ended by a NULL name; or NULL */
    const char *extra_short;     /* getopt letters of extra ("s:t:"); or NULL */
    void (*usage)(void *arg);    /* prints the --help text */
    /* Takes one of extra (opt its letter, value its argument or NULL). Returns 0, or the status
     * to exit with after saying why on stderr. */
    int (*take)(void *arg, int opt, const char *value);
    void *arg;                   /* passed to usage and take */
};

/* Parses argv (at most 64 extra options). Returns -1 when the program goes on: *config_path
 * is --config (or NULL) and optind the first operand. Otherwise the status to exit with: 0
 * after --help or --version (printed on stdout), 2 after an unknown option (refused on
 * stderr with "Try 'NAME --help'."), or what take returned. */
int options_parse(const struct options_spec *spec, int argc, char **argv, const char **config_path);

#endif
