/* tests/unit/config.c: defaults, the file, environment overrides and errors. */
#include "../tap.h"
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    char path[] = "/tmp/push-config-test.XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    struct config cfg;
    char err[512];
    unsetenv("PUSH_DSN");
    unsetenv("PUSH_THREADS");
    unsetenv("PUSH_CONFIG");

    write_file(path, "# comment\n\ndsn = \"host=/tmp dbname=x\"\nthreads = 8\n");
    ok(config_load(&cfg, path, err, sizeof(err)) == 0, "file loads");
    is_str(cfg.dsn, "host=/tmp dbname=x", "quoted string value");
    is_int(cfg.threads, 8, "integer value");
    is_int(cfg.ws_port, 8081, "default where the file is silent");

    setenv("PUSH_THREADS", "32", 1);
    ok(config_load(&cfg, path, err, sizeof(err)) == 0 && cfg.threads == 32, "environment overrides the file");
    setenv("PUSH_THREADS", "zero", 1);
    ok(config_load(&cfg, path, err, sizeof(err)) < 0 && strstr(err, "threads") != NULL, "bad number named (%s)", err);
    unsetenv("PUSH_THREADS");

    write_file(path, "nonsense = 1\n");
    ok(config_load(&cfg, path, err, sizeof(err)) < 0 && strstr(err, ":1: unknown key") != NULL,
       "unknown key with file and line (%s)", err);
    write_file(path, "just words\n");
    ok(config_load(&cfg, path, err, sizeof(err)) < 0, "line without '=' rejected (%s)", err);
    ok(config_load(&cfg, "/nonexistent/push.conf", err, sizeof(err)) < 0, "missing explicit file is an error");
    unlink(path);
    return tap_done();
}
