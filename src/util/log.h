/* log.h: one-line diagnostics on stderr, prefixed with the program and VM name. */
#ifndef BULWARK_LOG_H
#define BULWARK_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Syslog priorities, as the journal reads them (<syslog.h>'s names would clash with ours). The
 * network audit lines are notices: between a warning and information, so that `journalctl -p
 * notice` keeps them and `-p warning` does not. */
#define LOG_PRIORITY_ERROR 3
#define LOG_PRIORITY_NOTICE 5

/* Name shown in every line ("bulwark: NAME: ..."); NULL or "" for none. Copied (VM names are at
 * most 64 bytes). Set before any thread starts. */
void log_set_vm_name(const char *name);
void log_set_level(enum log_level max);
/* Whether lines of LEVEL are shown: for output written apart from log_msg (the audit lines). */
int log_wants(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether FD is systemd's journal stream: JOURNAL_STREAM names the device and inode of the
 * stream systemd connected, and FD is that very stream. Reads the environment: call before any
 * thread starts. */
bool log_journal_stream(int fd);

/*
 * Whether stderr is systemd's journal stream: JOURNAL_STREAM names the device and inode of the
 * stream systemd connected, and stderr is that very stream (not a file it was redirected to).
 * Every line then starts with its syslog priority, "<3>" for an error (sd-daemon(3)), which
 * journald strips and keeps as the entry's priority. Call once, before any thread starts.
 */
void log_detect_journal(void);

/* A signal's name without its SIG ("TERM" for SIGTERM), for log lines; "?" for none or unknown. */
const char *log_signal_name(int sig);

/* Writes LINE (LEN bytes, ending in a newline) to stderr in one write(2), with the "<PRIORITY>"
 * prefix when stderr is the journal. For lines formatted apart from log_msg (the audit lines). */
void log_write_line(int priority, const char *line, size_t len);

#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
