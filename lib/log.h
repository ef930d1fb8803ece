/* log.h: one-line event logging with level and program name, to stderr. */
#ifndef PUSH_LOG_H
#define PUSH_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
};

/* Sets the program name (not copied: pass a string literal) and threshold. */
void log_init(const char *program, enum log_level level);

/* Parses "error", "warn", "info" or "debug". Returns 0, or -1 when unknown. */
int log_level_parse(const char *text, enum log_level *level) __attribute__((warn_unused_result));

/* Writes one line: "<time> <LEVEL> <program>[<pid>]: <message>". Thread-safe. */
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool log_enabled(enum log_level level);

#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_LEVEL_DEBUG)) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif
