/* log.c -- logging to stderr or syslog. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/sbuf.h"

static int log_syslog;
static int log_verbose;
static _Thread_local struct sbuf *capture;

void log_capture(struct sbuf *into)
{
	capture = into;
}

void log_init(int use_syslog, int verbose)
{
	log_syslog = use_syslog;
	log_verbose = verbose;
	if (use_syslog) {
		openlog("gslbd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

void log_msg(int prio, const char *fmt, ...)
{
	static const char *names[] = { "emerg", "alert", "crit", "error",
				       "warning", "notice", "info", "debug" };
	char line[2048];
	va_list ap;

	if (prio == LOG_DEBUG && !log_verbose) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (capture && prio <= LOG_WARNING) {
		sb_printf(capture, "%s\n", line);
	}
	if (log_syslog) {
		syslog(prio, "%s", line);
		return;
	}
	/* One fprintf per line: stdio locks the stream, so lines from
	 * different threads never interleave. */
	fprintf(stderr, "gslbd: %s: %s\n", names[prio & 7], line);
	fflush(stderr);
}
