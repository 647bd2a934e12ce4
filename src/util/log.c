/* log.c -- logging to stderr or syslog. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/sbuf.h"

static int log_syslog;
static int log_verbose;
static int log_journal; /* stderr is journald's stream: "<N>" priority prefixes */
static _Thread_local struct sbuf *capture;

void log_capture(struct sbuf *into)
{
	capture = into;
}

/* True when stderr is the stream systemd connected to journald for us:
 * JOURNAL_STREAM holds "DEVICE:INODE" of that stream (systemd.exec(5)), and
 * it is still our stderr (not redirected by a shell or a test). */
static int stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2) {
		return 0;
	}
	if (fstat(STDERR_FILENO, &st) != 0) {
		return 0;
	}
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(int use_syslog, int verbose)
{
	log_journal = !use_syslog && stderr_is_journal();
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
	 * different threads never interleave. journald reads a leading "<N>"
	 * as the line's syslog priority (sd-daemon(3)) and strips it; it names
	 * the program itself. */
	if (log_journal) {
		fprintf(stderr, "<%d>%s: %s\n", prio & 7, names[prio & 7], line);
		fflush(stderr);
		return;
	}
	fprintf(stderr, "gslbd: %s: %s\n", names[prio & 7], line);
	fflush(stderr);
}
