/* notify.c -- sd_notify(3) messages for systemd's Type=notify services. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "ctl/status.h"
#include "daemon/notify.h"
#include "dns/wire.h"
#include "lb/pool.h"
#include "util/log.h"

/* How often the status timer looks. It walks the pools only when the
 * health table counts a change since the last walk (a probe result that
 * changed a state, a drain), so an idle timer costs one atomic load a
 * second; a second's delay in `systemctl status` is nothing. */
#define STATUS_INTERVAL 1.0

#define STATUS_MAX 256

struct notify {
	struct ev_loop *loop;
	struct notify_source src;
	ev_timer status_timer;
	ev_timer watchdog;
	bool ready;
	bool reload_failed;	 /* the last reload kept the old configuration */
	uint64_t seen;		 /* health_changes() at the last walk */
	char status[STATUS_MAX]; /* the last line sent */
};

static void send_msg(const char *msg)
{
	/* Not worth stopping or shouting for: the service manager logs a
	 * missing READY=1 or watchdog ping itself. */
	int rc = sd_notify(0, msg);
	if (rc < 0) {
		log_debug("sd_notify: %s", strerror(-rc));
	}
}

/* The worst state of @p's families: 0 healthy, 1 degraded, 2 failed (on
 * backup or last resort). Families without members do not count. */
static int pool_worst(const struct pool *p, struct health_table *health)
{
	static const uint16_t qtypes[] = {DNS_TYPE_A, DNS_TYPE_AAAA};
	int worst = 0;

	for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++) {
		const struct pool_family *f = qtypes[i] == DNS_TYPE_A ? &p->v4 : &p->v6;
		struct pool_explain ex;
		unsigned up;
		if (f->n == 0) {
			continue;
		}
		pool_explain(&ex, p, qtypes[i], health);
		up = status_family_up(health, p, f);
		if (ex.from_backup || ex.last_resort) {
			worst = 2;
		} else if (up < f->n && worst < 1) {
			worst = 1;
		}
	}
	return worst;
}

void notify_status_text(char *buf, size_t size, const struct snapshot *s,
			struct health_table *health)
{
	size_t n[3] = {0, 0, 0};

	for (size_t i = 0; i < s->npools; i++) {
		n[pool_worst(&s->pools[i], health)]++;
	}
	snprintf(buf, size, "serving %zu pool%s: %zu healthy, %zu degraded, %zu failed", s->npools,
		 s->npools == 1 ? "" : "s", n[0], n[1], n[2]);
}

/* The status line now; "STATUS=..." sent (with @prefix before it, e.g.
 * "READY=1\n") when it changed or @prefix is given. */
static void update_status(struct notify *n, const char *prefix)
{
	char line[STATUS_MAX], msg[STATUS_MAX + 64];
	size_t len;
	uint64_t changes = health_changes(n->src.health);

	if (!prefix && changes == n->seen) {
		return;
	}
	n->seen = changes;
	notify_status_text(line, sizeof(line), n->src.current(n->src.arg), n->src.health);
	if (n->reload_failed) {
		len = strlen(line);
		snprintf(line + len, sizeof(line) - len,
			 "; last reload failed, old configuration serving");
	}
	if (!prefix && strcmp(line, n->status) == 0) {
		return;
	}
	snprintf(n->status, sizeof(n->status), "%s", line);
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", prefix ? prefix : "", line);
	send_msg(msg);
}

static void status_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	update_status(t->data, NULL);
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	send_msg("WATCHDOG=1");
}

struct notify *notify_new(struct ev_loop *loop, const struct notify_source *src)
{
	struct notify *n;
	const char *env = getenv("NOTIFY_SOCKET");

	if (!env || !*env) {
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		return NULL;
	}
	n->loop = loop;
	n->src = *src;
	ev_timer_init(&n->status_timer, status_cb, STATUS_INTERVAL, STATUS_INTERVAL);
	n->status_timer.data = n;
	ev_timer_init(&n->watchdog, watchdog_cb, 0, 0);
	n->watchdog.data = n;
	return n;
}

void notify_free(struct notify *n)
{
	if (!n) {
		return;
	}
	ev_timer_stop(n->loop, &n->status_timer);
	ev_timer_stop(n->loop, &n->watchdog);
	free(n);
}

void notify_ready(struct notify *n)
{
	uint64_t usec = 0;

	if (!n) {
		return;
	}
	n->ready = true;
	update_status(n, "READY=1\n");
	ev_timer_start(n->loop, &n->status_timer);
	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, is us. */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		double half = (double)usec / 2e6;
		log_info("watchdog: pinging the service manager every %.3f s", half);
		send_msg("WATCHDOG=1");
		ev_timer_set(&n->watchdog, half, half);
		ev_timer_start(n->loop, &n->watchdog);
	}
}

void notify_reloading(struct notify *n)
{
	struct timespec ts;
	char msg[96];

	if (!n) {
		return;
	}
	/* systemd matches the reload to this message by the time: it must be
	 * CLOCK_MONOTONIC, read now, in microseconds. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
		     (unsigned long long)ts.tv_nsec / 1000);
	snprintf(n->status, sizeof(n->status), "reloading");
	send_msg(msg);
}

void notify_reloaded(struct notify *n, bool ok)
{
	if (!n) {
		return;
	}
	n->reload_failed = !ok;
	update_status(n, "READY=1\n");
}

void notify_stopping(struct notify *n)
{
	if (!n) {
		return;
	}
	ev_timer_stop(n->loop, &n->watchdog);
	ev_timer_stop(n->loop, &n->status_timer);
	send_msg("STOPPING=1\nSTATUS=stopping");
}
