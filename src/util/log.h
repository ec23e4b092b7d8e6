/* log.h: one-line diagnostics on stderr, prefixed with the program and VM name. */
#ifndef BULWARK_LOG_H
#define BULWARK_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Name shown in every line ("bulwark: NAME: ..."); NULL for none. Not copied. */
void log_set_vm_name(const char *name);
void log_set_level(enum log_level max);
/* Whether lines of LEVEL are shown: for output written apart from log_msg (the audit lines). */
int log_wants(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
