/* options.c: the one command-line parser: the options every program has, then its own. */
#include "options.h"

#include <stdio.h>
#include <string.h>

#define OPTIONS_MAX 64

int options_parse(const struct options_spec *spec, int argc, char **argv, const char **config_path)
{
    struct option all[OPTIONS_MAX + 4] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "config", required_argument, NULL, 'c' },
    };
    size_t n = 3;
    for (size_t i = 0; spec->extra && spec->extra[i].name; i++) {
        if (i == OPTIONS_MAX) {
            fprintf(stderr, "%s: more than %d options\n", spec->name, OPTIONS_MAX);
            return 2;
        }
        all[n++] = spec->extra[i];
    }
    all[n] = (struct option){ NULL, 0, NULL, 0 };
    char letters[3 * OPTIONS_MAX + 8];
    snprintf(letters, sizeof(letters), "hVc:%s", spec->extra_short ? spec->extra_short : "");

    *config_path = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, letters, all, NULL)) != -1) {
        switch (opt) {
        case 'h':
            spec->usage(spec->arg);
            return 0;
        case 'V':
            printf("%s %s\n", spec->name, PACKAGE_VERSION);
            return 0;
        case 'c':
            *config_path = optarg;
            break;
        case '?':
        case ':':
            fprintf(stderr, "Try '%s --help'.\n", spec->name);
            return 2;
        default: {
            int rc = spec->take ? spec->take(spec->arg, opt, optarg) : 2;
            if (rc != 0)
                return rc;
            break;
        }
        }
    }
    return -1;
}
