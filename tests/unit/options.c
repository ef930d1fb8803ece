/* tests/unit/options.c: the one option parser: --help, --version, --config, a program's own
 * options through its callback, and the refusals, table-driven. */
#include "../tap.h"
#include "options.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int helps;
static char taken[128];

static void usage(void *arg)
{
    (void)arg;
    helps++;
}

/* Records "letter=value;"; --port 0 is refused with status 2. */
static int take(void *arg, int opt, const char *value)
{
    (void)arg;
    if (opt == 'p' && strcmp(value, "0") == 0)
        return 2;
    snprintf(taken + strlen(taken), sizeof(taken) - strlen(taken), "%c=%s;", opt, value ? value : "");
    return 0;
}

static const struct option extra[] = {
    { "port", required_argument, NULL, 'p' },
    { "yes", no_argument, NULL, 'y' },
    { NULL, 0, NULL, 0 },
};

/* argv (space-separated after the program name), the status, the config, what take got, how
 * many --help texts were printed and the first operand left. */
static const struct {
    const char *args;
    int status;
    const char *config;
    const char *taken;
    int helps;
    const char *operand;
} cases[] = {
    { "", -1, NULL, "", 0, NULL },
    { "--config a.conf", -1, "a.conf", "", 0, NULL },
    { "-c b.conf run", -1, "b.conf", "", 0, "run" },
    { "--config=c.conf --port 80 --yes x", -1, "c.conf", "p=80;y=;", 0, "x" },
    { "-p 81", -1, NULL, "p=81;", 0, NULL },
    { "--help", 0, NULL, "", 1, NULL },
    { "-h --port 80", 0, NULL, "", 1, NULL },
    { "--version", 0, NULL, "", 0, NULL },
    { "--port 0 --yes", 2, NULL, "", 0, NULL },
    { "--bogus", 2, NULL, "", 0, NULL },
    { "--config", 2, NULL, "", 0, NULL },
    { "--yes=1", 2, NULL, "", 0, NULL },
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[128];
        char *argv[16] = { "prog" };
        int argc = 1;
        snprintf(line, sizeof(line), "%s", cases[i].args);
        for (char *word = strtok(line, " "); word && argc < 15; word = strtok(NULL, " "))
            argv[argc++] = word;
        argv[argc] = NULL;
        taken[0] = '\0';
        helps = 0;
        optind = 0; /* glibc: start over */
        opterr = 0;
        const struct options_spec spec = { "prog", extra, "p:y", usage, take, NULL };
        const char *config = "unset";
        fflush(stdout);
        int status = options_parse(&spec, argc, argv, &config);
        const char *operand = optind < argc ? argv[optind] : NULL;
        bool same_config = cases[i].config ? config && strcmp(config, cases[i].config) == 0 : config == NULL;
        bool same_operand = cases[i].operand ? operand && strcmp(operand, cases[i].operand) == 0
                                             : operand == NULL || status >= 0;
        ok(status == cases[i].status && same_config && strcmp(taken, cases[i].taken) == 0 &&
               helps == cases[i].helps && same_operand,
           "\"%s\": status %d, config %s, took \"%s\", %d help", cases[i].args, cases[i].status,
           cases[i].config ? cases[i].config : "none", cases[i].taken, cases[i].helps);
    }
    return tap_done();
}
