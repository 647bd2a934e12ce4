/* control.c -- the control socket: one command line in, one reply out, on
 * the main loop. What the commands do is commands.c's business. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "ctl/control.h"
#include "ctl/protocol.h"
#include "util/log.h"
#include "util/mem.h"

/* Few operators at once. A client beyond this takes the slot of the oldest
 * client still sending its command line (which is told so and closed);
 * only when every client has sent its line is the newcomer told to retry. */
#define MAX_CLIENTS 16
/* The whole command line must arrive within this, so a client that connects
 * and sends nothing (or trickles bytes) cannot hold a slot for long. */
#define READ_TIMEOUT 2.0
/* A client that stops reading a long reply is dropped after this long
 * without progress. */
#define WRITE_TIMEOUT 10.0
/* Accept paused after running out of descriptors, retried after this. */
#define ACCEPT_RETRY 1.0

/* --- the socket ------------------------------------------------------------ */

struct conn {
	struct control *c;
	struct conn *prev, *next; /* newest first */
	ev_io io; /* readable while reading the line, writable while replying */
	ev_timer timer;
	bool reading; /* its command line is not complete yet */
	bool waiting; /* for the result of the reload it started */
	size_t len;
	char line[CONTROL_MAX_LINE];
	char *out;
	size_t outlen, sent;
};

struct control {
	struct ev_loop *loop;
	ev_io accept_w;
	ev_timer retry_w;
	char *path;
	unsigned mode;
	dev_t dev; /* of the socket file we made: remove only that one */
	ino_t ino;
	struct control_ops ops;
	struct conn *conns;
	unsigned nconns;
};

static void conn_free(struct conn *k)
{
	struct control *c = k->c;
	char junk[512];
	int fd = k->io.fd;

	ev_io_stop(c->loop, &k->io);
	ev_timer_stop(c->loop, &k->timer);
	/* Unread input makes Linux reset the peer's side of a UNIX socket,
	 * which may cost the client the end of its reply: read it first. */
	for (int i = 0; i < 8 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++) {
	}
	close(fd);
	if (k->prev) {
		k->prev->next = k->next;
	} else {
		c->conns = k->next;
	}
	if (k->next) {
		k->next->prev = k->prev;
	}
	c->nconns--;
	free(k->out);
	free(k);
}

/* Send what the socket takes; returns true when the connection is gone. */
static bool conn_flush(struct conn *k)
{
	while (k->sent < k->outlen) {
		ssize_t w = send(k->io.fd, k->out + k->sent, k->outlen - k->sent, MSG_NOSIGNAL);
		if (w > 0) {
			k->sent += (size_t)w;
			ev_timer_again(k->c->loop, &k->timer); /* progress: a fresh timeout */
			continue;
		}
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return false;
		}
		conn_free(k); /* the client went away */
		return true;
	}
	conn_free(k);
	return true;
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_flush(w->data);
}

static void conn_reply(struct conn *k, char *out, size_t outlen)
{
	struct ev_loop *loop = k->c->loop;

	k->reading = false;
	k->out = out;
	k->outlen = outlen;
	k->sent = 0;
	ev_io_stop(loop, &k->io);
	k->timer.repeat = WRITE_TIMEOUT;
	ev_timer_again(loop, &k->timer);
	if (conn_flush(k)) {
		return;
	}
	ev_io_init(&k->io, write_cb, k->io.fd, EV_WRITE);
	k->io.data = k;
	ev_io_start(loop, &k->io);
}

static void conn_error(struct conn *k, const char *msg)
{
	char *out;
	size_t n = strlen(msg);

	out = xmalloc(n + 6);
	memcpy(out, "ERR ", 4);
	memcpy(out + 4, msg, n);
	out[n + 4] = '\n';
	out[n + 5] = 0;
	conn_reply(k, out, n + 5);
}

static void conn_execute(struct conn *k, size_t n)
{
	struct control *c = k->c;
	char *out = NULL;
	size_t outlen = 0;

	if (memchr(k->line, 0, n)) {
		conn_error(k, "bad command line (NUL byte)");
		return;
	}
	k->line[n] = 0;
	if (commands_execute(k->line, &c->ops, &out, &outlen) == COMMAND_PENDING) {
		/* A reload builds in the background: the client waits, with no
		 * timeout, and the loop serves others (control_reload_done). */
		k->reading = false;
		k->waiting = true;
		ev_io_stop(c->loop, &k->io);
		ev_timer_stop(c->loop, &k->timer);
		return;
	}
	conn_reply(k, out, outlen);
}

void control_reload_done(struct control *c, int rc, const char *msg)
{
	struct conn *next;

	for (struct conn *k = c->conns; k; k = next) {
		char *out;
		size_t outlen;
		next = k->next; /* conn_reply may free k */
		if (k->waiting) {
			k->waiting = false;
			commands_reload_reply(rc, msg, &out, &outlen);
			conn_reply(k, out, outlen);
		}
	}
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *k = w->data;

	(void)loop;
	(void)revents;
	for (;;) {
		ssize_t r = recv(w->fd, k->line + k->len, sizeof(k->line) - k->len, 0);
		if (r > 0) {
			char *nl = memchr(k->line + k->len, '\n', (size_t)r);
			k->len += (size_t)r;
			if (nl) {
				conn_execute(k, (size_t)(nl - k->line));
				return;
			}
			if (k->len == sizeof(k->line)) {
				conn_error(k, "command line too long");
				return;
			}
			continue;
		}
		if (r == 0) {
			/* The client shut down its side: a last line without
			 * its newline still counts. */
			if (k->len > 0) {
				conn_execute(k, k->len);
			} else {
				conn_free(k);
			}
			return;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_free(k);
		}
		return;
	}
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_free(w->data);
}

/* All slots are taken: close the oldest client that has not sent a complete
 * command line yet, so that an operator is served at once while idle or
 * trickling clients wait (they were refused before: 20 clients holding
 * partial lines kept `gslbctl status` out for 2 s). Clients whose command
 * runs or whose reply is being written keep their slots. Returns false if
 * none could be closed. */
static bool make_room(struct control *c)
{
	static const char msg[] = CONTROL_REPLY_ERR " too many control clients: closed to serve "
				  "another, as this one had not sent its command line\n";
	struct conn *victim = NULL;

	for (struct conn *k = c->conns; k; k = k->next) {
		if (k->reading) {
			victim = k;
		}
	}
	if (!victim) {
		return false;
	}
	if (send(victim->io.fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* It is closed either way. */
	}
	conn_free(victim);
	return true;
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *c = w->data;

	(void)revents;
	/* A few per wake-up, so a flood cannot starve the rest of the loop. */
	for (int i = 0; i < 16; i++) {
		struct conn *k;
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* The pending client stays readable: pause rather than spin. */
				log_warn("control socket %s: accept: %s", c->path, strerror(errno));
				ev_io_stop(loop, &c->accept_w);
				ev_timer_set(&c->retry_w, ACCEPT_RETRY, 0.);
				ev_timer_start(loop, &c->retry_w);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_warn("control socket %s: accept: %s", c->path, strerror(errno));
			}
			return;
		}
		if (c->nconns >= MAX_CLIENTS && !make_room(c)) {
			static const char busy[] = CONTROL_REPLY_ERR " too many control clients; retry\n";
			if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
				/* Nothing more to do for it either way. */
			}
			close(fd);
			continue;
		}
		k = xcalloc(1, sizeof(*k));
		k->c = c;
		k->next = c->conns;
		if (c->conns) {
			c->conns->prev = k;
		}
		c->conns = k;
		c->nconns++;
		ev_io_init(&k->io, read_cb, fd, EV_READ);
		k->io.data = k;
		ev_init(&k->timer, timeout_cb);
		k->timer.repeat = READ_TIMEOUT;
		k->timer.data = k;
		k->reading = true;
		ev_timer_again(loop, &k->timer);
		ev_io_start(loop, &k->io);
		/* gslbctl writes its line as soon as it is connected: take it
		 * now, before more newcomers can push this client out. */
		read_cb(loop, &k->io, EV_READ);
	}
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control *c = w->data;

	(void)revents;
	ev_io_start(loop, &c->accept_w);
}

/* Does a process accept connections on the socket file at @sun? 1 yes, 0
 * no (nobody listens: a file left by a dead process), -1 cannot tell
 * (errno). Never blocks: a listener whose backlog is full answers EAGAIN,
 * and is alive. The connection, if made, is closed at once; a gslbd there
 * takes it for a client that had nothing to say. */
static int socket_alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc, e;

	if (fd < 0) {
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
		return 1;
	}
	if (e == ECONNREFUSED || e == ENOENT) {
		return 0;
	}
	errno = e;
	return -1;
}

/* Bind and listen on @path (the file is replaced if it is a stale socket);
 * its identity goes to *@st. Returns the descriptor, or -1 after logging
 * (and, with @why, the short reason there). */
static int listen_on(struct stat *st, const char *path, unsigned mode, char *why, size_t whysize)
{
	struct sockaddr_un sun;
	const char *what = "socket";
	bool bound = false;
	int fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("control socket %s: path longer than %zu bytes", path,
			sizeof(sun.sun_path) - 1);
		if (why) {
			snprintf(why, whysize, "path longer than %zu bytes",
				 sizeof(sun.sun_path) - 1);
		}
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* Replace a socket left by an earlier run, but never delete anything
	 * else a typo in the config might name, nor the socket of a process
	 * that still answers on it (a second gslbd with the same config would
	 * otherwise take the first one's socket, and remove it on exit). */
	if (lstat(sun.sun_path, st) == 0) {
		int alive;
		if (!S_ISSOCK(st->st_mode)) {
			log_err("control socket %s: exists and is not a socket; not replacing it",
				sun.sun_path);
			if (why) {
				snprintf(why, whysize, "exists and is not a socket");
			}
			return -1;
		}
		alive = socket_alive(&sun);
		if (alive != 0) {
			char reason[160];
			if (alive > 0) {
				snprintf(reason, sizeof(reason),
					 "in use: a process answers on it (another gslbd?)");
			} else {
				snprintf(reason, sizeof(reason),
					 "cannot tell whether it is in use (connect: %s)",
					 strerror(errno));
			}
			log_err("control socket %s: %s; not replacing it", sun.sun_path, reason);
			if (why) {
				snprintf(why, whysize, "%s", reason);
			}
			return -1;
		}
		what = "removing the old socket";
		if (unlink(sun.sun_path) != 0) {
			goto fail;
		}
	}
	what = "socket";
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		goto fail;
	}
	what = "bind";
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		goto fail;
	}
	bound = true;
	/* Permissions are set before listen(): until then nobody can connect,
	 * so there is no window with the umask's looser mode. (fchmod on a
	 * socket descriptor does not reach the file on Linux.) */
	what = "chmod";
	if (chmod(sun.sun_path, mode & 07777) != 0 || lstat(sun.sun_path, st) != 0) {
		goto fail;
	}
	what = "listen";
	if (listen(fd, 16) != 0) {
		goto fail;
	}
	return fd;

fail:
	log_err("control socket %s: %s: %s", sun.sun_path, what, strerror(errno));
	if (why) {
		snprintf(why, whysize, "%s: %s", what, strerror(errno));
	}
	if (fd >= 0) {
		close(fd);
	}
	if (bound) {
		unlink(sun.sun_path);
	}
	return -1;
}

struct control *control_new(struct ev_loop *loop, const char *path, unsigned mode,
			    const struct control_ops *ops)
{
	struct control *c;
	struct stat st;
	int fd = listen_on(&st, path, mode, NULL, 0);

	if (fd < 0) {
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->path = xstrdup(path);
	c->mode = mode & 07777;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (ops) {
		c->ops = *ops;
	}
	ev_io_init(&c->accept_w, accept_cb, fd, EV_READ);
	c->accept_w.data = c;
	ev_init(&c->retry_w, retry_cb);
	c->retry_w.data = c;
	ev_io_start(loop, &c->accept_w);
	log_info("control socket %s (mode %04o)", c->path, mode & 07777);
	return c;
}

/* Remove the socket file we made, if it is still ours: a second instance
 * may have replaced it since. Returns 0, or -1 with errno. */
static int remove_own(const struct control *c)
{
	struct stat st;

	if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino) {
		return unlink(c->path);
	}
	return 0;
}

const char *control_path(const struct control *c)
{
	return c->path;
}

unsigned control_mode(const struct control *c)
{
	return c->mode;
}

int control_rebind(struct control *c, const char *path, unsigned mode, char *why, size_t whysize)
{
	struct stat st;
	int fd;

	mode &= 07777;
	if (strcmp(path, c->path) == 0) {
		if (mode == c->mode) {
			return 0;
		}
		if (chmod(c->path, mode) != 0) {
			snprintf(why, whysize, "chmod: %s", strerror(errno));
			log_err("control socket %s: chmod %04o: %s", c->path, mode,
				strerror(errno));
			return -1;
		}
		c->mode = mode;
		log_info("control socket %s (mode %04o)", c->path, mode);
		return 0;
	}
	fd = listen_on(&st, path, mode, why, whysize);
	if (fd < 0) {
		return -1;
	}
	/* Connections already accepted (the one asking for this reload among
	 * them) carry on; only the listener moves. */
	ev_io_stop(c->loop, &c->accept_w);
	ev_timer_stop(c->loop, &c->retry_w);
	close(c->accept_w.fd);
	if (remove_own(c) != 0) {
		log_warn("control socket %s: left behind, cannot remove it: %s", c->path,
			 strerror(errno));
	}
	free(c->path);
	c->path = xstrdup(path);
	c->mode = mode;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	ev_io_set(&c->accept_w, fd, EV_READ);
	ev_io_start(c->loop, &c->accept_w);
	log_info("control socket %s (mode %04o)", c->path, mode);
	return 0;
}

void control_free(struct control *c)
{
	if (!c) {
		return;
	}
	while (c->conns) {
		conn_free(c->conns);
	}
	ev_io_stop(c->loop, &c->accept_w);
	ev_timer_stop(c->loop, &c->retry_w);
	close(c->accept_w.fd);
	/* After dropping root the directory may not let us: the next start
	 * replaces a stale socket anyway. */
	remove_own(c);
	free(c->path);
	free(c);
}
