/* probe_tcp.c -- the tcp check: up when a non-blocking connect completes. */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "data/conf.h"
#include "health/check_kind.h"
#include "health/probe_int.h"

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *p = w->data;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
		err = errno;
	}
	probe_unwatch(p);
	if (err) {
		probe_fail_errno(p, NULL, err);
	} else {
		probe_done(p, true, "connected");
	}
}

static void tcp_start(struct probe *p)
{
	const struct probe_spec *s = p->spec;
	/* Close with a reset, as HAProxy does for its checks: the handshake was
	 * the test, and thousands of checks a second must not leave as many
	 * sockets in TIME_WAIT on our side. */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int fd, err;

	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		probe_fail_errno(p, "socket", errno);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (const struct sockaddr *)&s->addr, s->addrlen) == 0) {
		close(fd);
		probe_done(p, true, "connected");
		return;
	}
	err = errno;
	if (err != EINPROGRESS) {
		close(fd);
		probe_fail_errno(p, NULL, err);
		return;
	}
	probe_watch(p, fd, EV_WRITE, io_cb);
}

static void tcp_cancel(struct probe *p)
{
	if (p->fd >= 0) {
		probe_unwatch(p);
	}
}

static const struct check_setting settings[] = {
    {"port", conf_check_port},
    {NULL, NULL},
};

static const char *const member_settings[] = {"port", "probe_address", NULL};

const struct check_kind check_kind_tcp = {
    .name = "tcp",
    .settings = settings,
    .member_settings = member_settings,
    /* No port is common enough to guess. */
    .port_required = true,
    .start = tcp_start,
    .cancel = tcp_cancel,
};
