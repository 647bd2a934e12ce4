/* log.h -- logging to stderr or syslog, callable from any thread. */
#ifndef GSLBD_LOG_H
#define GSLBD_LOG_H

#include <syslog.h>

/* Select the sink: stderr (default) or syslog. Call once, from main, before threads start. */
void log_init(int use_syslog, int verbose);

/* Write one line at syslog priority @prio. Thread-safe: one write per line. */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct sbuf;

/* Also copy this thread's error and warning lines into @into (NULL: stop).
 * For a reload, whose errors the control client should see. The buffer
 * belongs to the caller; only the calling thread's lines are copied. */
void log_capture(struct sbuf *into);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
