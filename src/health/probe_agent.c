/* probe_agent.c -- the agent check: HAProxy's agent-check text protocol. We
 * connect over TCP (and send `send`, if set); the backend answers one line
 * saying how it is and how much it can take, and closes or not. The
 * percentage scales the member's configured weight (health_report_weight);
 * "drain"/"maint" take it out of answers while the backend says so; "down"
 * fails the probe. A reply we cannot read strictly is a failed probe whose
 * reason says why, never a weight. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "data/conf.h"
#include "health/check_kind.h"
#include "health/probe_int.h"
#include "lb/steer.h"
#include "util/mem.h"

int probe_agent_parse(const char *buf, size_t len, struct probe_agent_reply *r, char *reason,
		      size_t size)
{
	size_t i = 0, words = 0;

	r->percent = r->drain = r->up = -1;
	if (len > 0 && buf[len - 1] == '\r') {
		len--;
	}
	for (size_t j = 0; j < len; j++) {
		unsigned char c = (unsigned char)buf[j];
		if ((c < 32 && c != '\t') || c > 126) {
			snprintf(reason, size,
				 "agent reply: byte 0x%02x at %zu is not printable ASCII", c, j);
			return -1;
		}
	}
	while (i < len) {
		char word[32];
		size_t start, n;
		if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == ',') {
			i++;
			continue;
		}
		if (buf[i] == '#') {
			break; /* a description: the rest of the line */
		}
		start = i;
		while (i < len && buf[i] != ' ' && buf[i] != '\t' && buf[i] != ',' &&
		       buf[i] != '#') {
			i++;
		}
		n = i - start;
		if (n >= sizeof(word)) {
			snprintf(reason, size, "agent reply: unknown word \"%.20s...\"",
				 buf + start);
			return -1;
		}
		memcpy(word, buf + start, n);
		word[n] = 0;
		words++;
		if (n >= 2 && word[n - 1] == '%') {
			char *end;
			long v;
			if (!isdigit((unsigned char)word[0]) || n > 5 ||
			    strspn(word, "0123456789") != n - 1) {
				snprintf(reason, size, "agent reply: unknown word \"%s\"", word);
				return -1;
			}
			v = strtol(word, &end, 10);
			if (*end != '%' || v > STEER_REPORT_MAX) {
				snprintf(reason, size, "agent reply: weight %s out of 0%%..%d%%",
					 word, STEER_REPORT_MAX);
				return -1;
			}
			if (r->percent >= 0) {
				snprintf(reason, size, "agent reply: two weights");
				return -1;
			}
			r->percent = (int)v;
		} else if (strcasecmp(word, "up") == 0 || strcasecmp(word, "down") == 0 ||
			   strcasecmp(word, "fail") == 0 || strcasecmp(word, "failed") == 0 ||
			   strcasecmp(word, "stopped") == 0) {
			int up = word[0] == 'u' || word[0] == 'U';
			if (r->up >= 0 && r->up != up) {
				snprintf(reason, size, "agent reply: up and down at once");
				return -1;
			}
			r->up = up;
		} else if (strcasecmp(word, "drain") == 0 || strcasecmp(word, "maint") == 0 ||
			   strcasecmp(word, "ready") == 0) {
			int drain = word[0] != 'r' && word[0] != 'R';
			if (r->drain >= 0 && r->drain != drain) {
				snprintf(reason, size, "agent reply: ready and drained at once");
				return -1;
			}
			r->drain = drain;
		} else if (strncasecmp(word, "maxconn:", 8) == 0 && word[8] &&
			   strspn(word + 8, "0123456789") == n - 8) {
			/* A connection limit: nothing DNS can apply. */
		} else {
			snprintf(reason, size, "agent reply: unknown word \"%s\"", word);
			return -1;
		}
	}
	if (words == 0) {
		snprintf(reason, size, "agent reply: empty");
		return -1;
	}
	snprintf(reason, size, "agent: %.*s", (int)(len < 120 ? len : 120), buf);
	return 0;
}

int probe_weight_parse(const char *s, size_t len, int *percent)
{
	size_t i = 0, digits = 0;
	long v = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t')) {
		i++;
	}
	while (i < len && isdigit((unsigned char)s[i]) && digits < 5) {
		v = v * 10 + (s[i++] - '0');
		digits++;
	}
	if (i < len && s[i] == '%') {
		i++;
	}
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) {
		i++;
	}
	if (digits == 0 || i != len || v > STEER_REPORT_MAX) {
		return -1;
	}
	*percent = (int)v;
	return 0;
}

/* The reply is complete (@eof: the agent closed): judge it. */
static void finish(struct probe *p)
{
	struct probe_agent_reply r;
	char reason[PROBE_REASON_MAX];
	char *nl = memchr(p->agent_buf, '\n', p->agent_len);
	size_t len = nl ? (size_t)(nl - p->agent_buf) : p->agent_len;

	probe_unwatch(p);
	if (probe_agent_parse(p->agent_buf, len, &r, reason, sizeof(reason)) != 0) {
		probe_done(p, false, reason);
		return;
	}
	health_report_weight(p->eng->table, p->spec->entry, r.percent, r.drain);
	probe_done(p, r.up != 0, reason);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *p = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = recv(p->fd, p->agent_buf + p->agent_len, PROBE_AGENT_MAX - p->agent_len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			return;
		}
		probe_unwatch(p);
		probe_fail_errno(p, "read", errno);
		return;
	}
	p->agent_len += (size_t)n;
	if (n == 0 || memchr(p->agent_buf, '\n', p->agent_len)) {
		finish(p);
	} else if (p->agent_len == PROBE_AGENT_MAX) {
		probe_unwatch(p);
		probe_done(p, false,
			   "agent reply: no newline in "
			   "512 bytes");
	}
}

static void connect_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *p = w->data;
	const struct probe_agent_opts *o = p->spec->opts;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)revents;
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
		err = errno;
	}
	if (err) {
		probe_unwatch(p);
		probe_fail_errno(p, NULL, err);
		return;
	}
	/* A few bytes into an empty socket buffer: written whole or not at all. */
	if (o && o->send && o->send[0] &&
	    send(p->fd, o->send, strlen(o->send), MSG_NOSIGNAL) != (ssize_t)strlen(o->send)) {
		err = errno;
		probe_unwatch(p);
		probe_fail_errno(p, "send", err ? err : EIO);
		return;
	}
	ev_io_stop(loop, &p->io);
	ev_io_set(&p->io, p->fd, EV_READ);
	ev_set_cb(&p->io, read_cb);
	ev_io_start(loop, &p->io);
}

static void agent_start(struct probe *p)
{
	const struct probe_spec *s = p->spec;
	int fd;

	p->agent_len = 0;
	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		probe_fail_errno(p, "socket", errno);
		return;
	}
	if (connect(fd, (const struct sockaddr *)&s->addr, s->addrlen) != 0 &&
	    errno != EINPROGRESS) {
		int err = errno;
		close(fd);
		probe_fail_errno(p, NULL, err);
		return;
	}
	probe_watch(p, fd, EV_WRITE, connect_cb);
}

static void agent_cancel(struct probe *p)
{
	if (p->fd >= 0) {
		probe_unwatch(p);
	}
}

static void *opts_new(void)
{
	return xcalloc(1, sizeof(struct probe_agent_opts));
}

static void *opts_dup(const void *opts)
{
	const struct probe_agent_opts *o = opts;
	struct probe_agent_opts *d = xcalloc(1, sizeof(*d));

	d->send = o->send ? xstrdup(o->send) : NULL;
	return d;
}

static void opts_free(void *opts)
{
	struct probe_agent_opts *o = opts;

	if (o) {
		free(o->send);
		free(o);
	}
}

static void parse_send(struct conf_ctx *c, struct conf_check *k, const struct config_setting_t *s)
{
	struct probe_agent_opts *o = k->opts;
	const char *str = conf_string(c, s);

	if (str) {
		if (strlen(str) > 256) {
			conf_error(c, s, "expected at most 256 bytes");
			return;
		}
		free(o->send);
		o->send = xstrdup(str);
	}
}

static void make_spec(struct probe_spec *ps, const struct conf_check *k,
		      const struct conf_member *m)
{
	(void)m;
	ps->opts = opts_dup(k->opts);
}

static const struct check_setting settings[] = {
    {"port", conf_check_port},
    {"send", parse_send},
    {NULL, NULL},
};

static const char *const member_settings[] = {"port", "probe_address", NULL};

const struct check_kind check_kind_agent = {
    .name = "agent",
    .settings = settings,
    .member_settings = member_settings,
    .port_required = true,
    .opts_new = opts_new,
    .opts_dup = opts_dup,
    .opts_free = opts_free,
    .make_spec = make_spec,
    .start = agent_start,
    .cancel = agent_cancel,
};
