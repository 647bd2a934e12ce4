/* check_probe.c -- unit tests for the probe engine (src/probe*.c) against a
 * real health table and real loopback backends: TCP, HTTP, HTTPS, DNS,
 * commands and state files. States are polled with a deadline, never slept
 * for. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "dns/wire.h"
#include "health/check_kinds.h"
#include "health/health.h"
#include "health/probe.h"
#include "health/probe_int.h"
#include "testutil.h"

/* --- helpers --------------------------------------------------------------------- */

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	nanosleep(&ts, NULL);
}

/* Poll @cond every 20 ms for up to @secs seconds. */
#define WAIT_FOR(cond, secs)                                                                       \
	({                                                                                         \
		double until_ = mono() + (secs);                                                   \
		bool ok_;                                                                          \
		while (!(ok_ = (cond)) && mono() < until_) {                                       \
			nap(0.02);                                                                 \
		}                                                                                  \
		ok_;                                                                               \
	})

static bool is_up(struct health_table *t, struct health_entry *e)
{
	return health_word(t, health_entry_word(e)) & 1;
}

static struct health_info info_of(struct health_table *t, struct health_entry *e)
{
	struct health_info i;

	ck_assert(health_info_by_word(t, health_entry_word(e), &i));
	return i;
}

/* A copy of the entry's last reason. */
static const char *reason_of(char *buf, size_t size, struct health_table *t, struct health_entry *e)
{
	snprintf(buf, size, "%s", info_of(t, e).reason);
	return buf;
}

static bool reason_has(struct health_table *t, struct health_entry *e, const char *sub)
{
	char buf[200];

	return strstr(reason_of(buf, sizeof(buf), t, e), sub) != NULL;
}

static double last_probe(struct health_table *t, struct health_entry *e)
{
	return info_of(t, e).last_probe;
}

#define ASSERT_STATE_WITHIN(t, e, up, secs)                                                        \
	do {                                                                                       \
		char rb_[200];                                                                     \
		bool got_ = WAIT_FOR(is_up((t), (e)) == (up), (secs));                             \
		ck_assert_msg(got_, "%s: expected %s, last reason \"%s\"", health_entry_key(e),               \
			      (up) ? "up" : "down", reason_of(rb_, sizeof(rb_), (t), (e)));        \
	} while (0)

#define ASSERT_STATE(t, e, up) ASSERT_STATE_WITHIN(t, e, up, 5.0)

#define ASSERT_REASON(t, e, sub)                                                                   \
	do {                                                                                       \
		char rb_[200];                                                                     \
		bool got_ = WAIT_FOR(reason_has((t), (e), (sub)), 5.0);                            \
		ck_assert_msg(got_, "%s: expected reason with \"%s\", got \"%s\"", health_entry_key(e),       \
			      (sub), reason_of(rb_, sizeof(rb_), (t), (e)));                       \
	} while (0)

static struct health_entry *entry(struct health_table *t, const char *name, uint16_t port,
				  const char *kind, bool initial_up)
{
	char target[64];

	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	return health_get(t, target, name, kind, initial_up);
}

/* A spec of the check kind called @kind probing 127.0.0.1:@port for @e: fast
 * interval, one result decides. Kinds with options get them from the
 * caller's object (kind_spec, http_spec, ...); the engine copies them. */
static void spec_init(struct probe_spec *s, const char *kind, struct health_entry *e, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&s->addr;

	memset(s, 0, sizeof(*s));
	s->key = (char *)health_entry_key(e);
	s->entry = e;
	s->kind = check_kinds_find(kind);
	ck_assert_ptr_nonnull(s->kind);
	s->target = (char *)health_entry_target(e);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr);
	s->addrlen = sizeof(*sin);
	s->interval = 0.1;
	s->timeout = 1.0;
	s->rise = 1;
	s->fall = 1;
}

static void status_range(struct probe_http_opts *o, unsigned lo, unsigned hi)
{
	for (unsigned st = lo; st <= hi; st++) {
		unsigned b = st - 100;
		o->status_ok[b / 32] |= 1u << (b % 32);
	}
}

/* spec_init for the exec kind: run @argv. */
static void exec_spec(struct probe_spec *s, struct probe_exec_opts *o, struct health_entry *e,
		      uint16_t port, char **argv)
{
	spec_init(s, "exec", e, port);
	memset(o, 0, sizeof(*o));
	o->argv = argv;
	s->opts = o;
}

/* spec_init for the file kind: look up @key in @path. */
static void file_spec(struct probe_spec *s, struct probe_file_opts *o, struct health_entry *e,
		      uint16_t port, char *path, const char *key)
{
	spec_init(s, "file", e, port);
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->key = (char *)key;
	s->opts = o;
}

static struct probe_engine *engine(struct health_table *t, struct probe_spec *specs, size_t n)
{
	struct probe_spec *ptrs[16];
	struct probe_engine *e = probe_engine_new(t);

	ck_assert_ptr_nonnull(e);
	ck_assert(n <= 16);
	for (size_t i = 0; i < n; i++) {
		ptrs[i] = &specs[i];
	}
	probe_engine_set(e, ptrs, n);
	ck_assert_int_eq(probe_engine_start(e), 0);
	return e;
}

static void set_and_wait(struct probe_engine *e, struct probe_spec **ptrs, size_t n)
{
	unsigned before = atomic_load(&e->applied);

	probe_engine_set(e, ptrs, n);
	ck_assert(WAIT_FOR(atomic_load(&e->applied) > before, 5.0));
}

static int listen_on(int type, uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (type == SOCK_STREAM) {
		ck_assert_int_eq(listen(fd, 128), 0);
	}
	getsockname(fd, (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A loopback port nobody listens on (bound, then released). */
static uint16_t closed_port(int type)
{
	uint16_t port;

	close(listen_on(type, &port));
	return port;
}

/* --- a TCP backend that accepts and closes ----------------------------------------- */

struct tcp_srv {
	int fd;
	uint16_t port;
	atomic_bool stop;
	atomic_int accepted;
	pthread_t th;
};

static void *tcp_srv_main(void *arg)
{
	struct tcp_srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		if (poll(&pfd, 1, 20) > 0) {
			int c = accept(s->fd, NULL, NULL);
			if (c >= 0) {
				atomic_fetch_add(&s->accepted, 1);
				close(c);
			}
		}
	}
	return NULL;
}

static void tcp_srv_start(struct tcp_srv *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = listen_on(SOCK_STREAM, &s->port);
	pthread_create(&s->th, NULL, tcp_srv_main, s);
}

static void tcp_srv_stop(struct tcp_srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* --- a tiny HTTP backend --------------------------------------------------------- */

struct http_srv {
	int fd;
	uint16_t port;
	atomic_bool stop;
	atomic_int status; /* what to answer */
	atomic_bool hang;  /* accept, read, never answer */
	const char *body;
	atomic_int requests;
	pthread_mutex_t lock;
	char last[2048]; /* the last request head */
	int hung[256];
	int nhung;
	pthread_t th;
};

static void http_answer(struct http_srv *s, int c)
{
	char req[2048], resp[4096];
	size_t n = 0;
	double until = mono() + 2;

	while (n < sizeof(req) - 1 && mono() < until) {
		struct pollfd pfd = {.fd = c, .events = POLLIN};
		if (poll(&pfd, 1, 50) <= 0) {
			continue;
		}
		ssize_t r = read(c, req + n, sizeof(req) - 1 - n);
		if (r <= 0) {
			break;
		}
		n += (size_t)r;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n")) {
			break;
		}
	}
	req[n] = 0;
	pthread_mutex_lock(&s->lock);
	snprintf(s->last, sizeof(s->last), "%s", req);
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&s->requests, 1);
	if (atomic_load(&s->hang)) {
		if (s->nhung < 256) {
			s->hung[s->nhung++] = c;
			return;
		}
	} else {
		int st = atomic_load(&s->status);
		int len =
		    snprintf(resp, sizeof(resp),
			     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
			     st, strlen(s->body), strncmp(req, "HEAD ", 5) ? s->body : "");
		if (write(c, resp, (size_t)len) < 0) {
			/* the prober gave up; nothing to do */
		}
	}
	close(c);
}

static void *http_srv_main(void *arg)
{
	struct http_srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		if (poll(&pfd, 1, 20) > 0) {
			int c = accept(s->fd, NULL, NULL);
			if (c >= 0) {
				http_answer(s, c);
			}
		}
	}
	return NULL;
}

static void http_srv_start(struct http_srv *s, int status, const char *body)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->fd = listen_on(SOCK_STREAM, &s->port);
	atomic_store(&s->status, status);
	s->body = body;
	pthread_create(&s->th, NULL, http_srv_main, s);
}

static void http_srv_last(struct http_srv *s, char *buf, size_t size)
{
	pthread_mutex_lock(&s->lock);
	snprintf(buf, size, "%s", s->last);
	pthread_mutex_unlock(&s->lock);
}

static void http_srv_stop(struct http_srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	for (int i = 0; i < s->nhung; i++) {
		close(s->hung[i]);
	}
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
}

static void http_spec(struct probe_spec *s, struct probe_http_opts *o, const char *kind,
		      struct health_entry *e, uint16_t port, char *url, size_t urlsize)
{
	spec_init(s, kind, e, port);
	snprintf(url, urlsize, "%s://127.0.0.1:%u/health", kind, port);
	memset(o, 0, sizeof(*o));
	o->url = url;
	status_range(o, 200, 399);
	s->opts = o;
}

/* --- a tiny DNS backend ----------------------------------------------------------- */

enum { DNS_ANSWER, DNS_SERVFAIL, DNS_WRONG_ID };

struct dns_srv {
	int fd;
	uint16_t port;
	atomic_bool stop;
	atomic_int mode;
	pthread_t th;
};

static void *dns_srv_main(void *arg)
{
	struct dns_srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		uint8_t q[512], r[600];
		ssize_t n;
		size_t off = 12, len;

		if (poll(&pfd, 1, 20) <= 0) {
			continue;
		}
		n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fromlen);
		if (n < 12) {
			continue;
		}
		while (off < (size_t)n && q[off]) {
			off += 1 + q[off];
		}
		off += 1 + 4;
		if (off > (size_t)n) {
			continue;
		}
		memcpy(r, q, off);
		len = off;
		r[2] = 0x80 | (q[2] & 0x01); /* QR, RD copied */
		r[3] = 0;
		r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
		switch (atomic_load(&s->mode)) {
		case DNS_SERVFAIL:
			r[3] = 2;
			break;
		case DNS_WRONG_ID:
			r[1] ^= 1;
			/* fallthrough */
		case DNS_ANSWER: {
			static const uint8_t rr[] = {0xC0, 12, 0, 1, 0,	  1, 0, 0,
						     0,	   60, 0, 4, 192, 0, 2, 1};
			memcpy(r + len, rr, sizeof(rr));
			len += sizeof(rr);
			r[7] = 1;
			break;
		}
		}
		sendto(s->fd, r, len, 0, (struct sockaddr *)&from, fromlen);
	}
	return NULL;
}

static void dns_srv_start(struct dns_srv *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = listen_on(SOCK_DGRAM, &s->port);
	pthread_create(&s->th, NULL, dns_srv_main, s);
}

static void dns_srv_stop(struct dns_srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	close(s->fd);
}

static void dns_spec(struct probe_spec *s, struct probe_dns_opts *o, struct health_entry *e,
		     uint16_t port)
{
	static const uint8_t qname[] = "\003www\007example\004test";

	spec_init(s, "dns", e, port);
	memset(o, 0, sizeof(*o));
	memcpy(o->qname, qname, sizeof(qname));
	o->qtype = DNS_TYPE_A;
	o->expect_rcode = DNS_RCODE_NOERROR;
	s->opts = o;
}

/* --- tcp -------------------------------------------------------------------------- */

START_TEST(tcp_up_and_refused)
{
	struct health_table *t = health_table_new();
	struct tcp_srv srv;
	uint16_t closed = closed_port(SOCK_STREAM);
	struct probe_spec s[2];
	struct probe_engine *e;
	struct health_entry *up, *down;

	tcp_srv_start(&srv);
	up = entry(t, "tcp", srv.port, "tcp", false);
	down = entry(t, "tcp", closed, "tcp", true);
	spec_init(&s[0], "tcp", up, srv.port);
	spec_init(&s[1], "tcp", down, closed);
	s[1].fall = 3;
	e = engine(t, s, 2);
	ASSERT_STATE(t, up, true);
	ASSERT_STATE(t, down, false);
	ASSERT_REASON(t, down, "connection refused");
	ASSERT_REASON(t, up, "connected");
	probe_engine_free(e);
	tcp_srv_stop(&srv);
	health_table_free(t);
}
END_TEST

/* fall counts consecutive failures: two are not enough for fall = 3. */
START_TEST(tcp_fall_needs_consecutive_failures)
{
	struct health_table *t = health_table_new();
	uint16_t closed = closed_port(SOCK_STREAM);
	struct probe_spec s;
	struct probe_engine *e;
	struct health_entry *h = entry(t, "tcp", closed, "tcp", true);
	double t0 = mono(), went_down;

	spec_init(&s, "tcp", h, closed);
	s.interval = 0.2;
	s.fall = 3;
	e = engine(t, &s, 1);
	ASSERT_STATE(t, h, false);
	went_down = mono() - t0;
	/* The first run falls in [0, 0.2), then two more intervals of 0.2 +-10%. */
	ck_assert_msg(went_down >= 0.35, "down after %.3f s", went_down);
	probe_engine_free(e);
	health_table_free(t);
}
END_TEST

/* The first runs of a new set fall anywhere in the first interval, not
 * all at once. */
START_TEST(first_runs_are_spread)
{
	struct health_table *t = health_table_new();
	struct tcp_srv srv;
	struct probe_spec s[12];
	struct health_entry *h[12];
	struct probe_engine *e;
	double first = 1e300, last = 0;
	char name[16];

	tcp_srv_start(&srv);
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		h[i] = entry(t, name, srv.port, "tcp", false);
		spec_init(&s[i], "tcp", h[i], srv.port);
		s[i].interval = 1.0;
	}
	e = engine(t, s, 12);
	for (int i = 0; i < 12; i++) {
		ck_assert(WAIT_FOR(last_probe(t, h[i]) > 0, 5.0));
	}
	/* Each probe's latest run: first or second, their phases differ as
	 * much as their first delays did. */
	for (int i = 0; i < 12; i++) {
		double v = last_probe(t, h[i]);
		first = v < first ? v : first;
		last = v > last ? v : last;
	}
	/* Twelve uniform draws in [0, 1 s) span less than 0.3 s with
	 * probability about 12 * 0.3^11, i.e. never. */
	ck_assert_msg(last - first > 0.3, "first runs within %.3f s", last - first);
	probe_engine_free(e);
	tcp_srv_stop(&srv);
	health_table_free(t);
}
END_TEST

/* --- agent ------------------------------------------------------------------------ */

/* An agent: each connection gets the current reply (no newline added) and
 * is closed; with @expect set, it first reads what the check sends. */
struct agent_srv {
	int fd;
	uint16_t port;
	atomic_bool stop;
	pthread_mutex_t lock;
	char reply[128];
	bool expect;
	char got[64];
	pthread_t th;
};

static void *agent_srv_main(void *arg)
{
	struct agent_srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		char reply[128];
		int c;
		if (poll(&pfd, 1, 20) <= 0 || (c = accept(s->fd, NULL, NULL)) < 0) {
			continue;
		}
		pthread_mutex_lock(&s->lock);
		memcpy(reply, s->reply, sizeof(reply));
		pthread_mutex_unlock(&s->lock);
		if (s->expect) {
			struct pollfd cp = {.fd = c, .events = POLLIN};
			if (poll(&cp, 1, 1000) > 0) {
				char got[64] = "";
				ssize_t n = read(c, got, sizeof(got) - 1);
				pthread_mutex_lock(&s->lock);
				memcpy(s->got, got, n > 0 ? (size_t)n + 1 : 1);
				pthread_mutex_unlock(&s->lock);
			}
		}
		if (write(c, reply, strlen(reply)) < 0) {
			/* the probe gave up: it says so itself */
		}
		close(c);
	}
	return NULL;
}

static void agent_srv_start(struct agent_srv *s, const char *reply, bool expect)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->reply, sizeof(s->reply), "%s", reply);
	s->expect = expect;
	s->fd = listen_on(SOCK_STREAM, &s->port);
	pthread_create(&s->th, NULL, agent_srv_main, s);
}

static void agent_srv_reply(struct agent_srv *s, const char *reply)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->reply, sizeof(s->reply), "%s", reply);
	pthread_mutex_unlock(&s->lock);
}

static void agent_srv_stop(struct agent_srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
}

static bool reported_is(struct health_table *t, struct health_entry *e, unsigned pct, bool drain)
{
	struct health_info h = info_of(t, e);

	return h.reported == pct && h.agent_drain == drain;
}

START_TEST(agent_reports_weight_drain_and_nonsense)
{
	struct health_table *t = health_table_new();
	struct agent_srv srv;
	struct probe_spec s;
	struct probe_agent_opts o = {.send = NULL};
	struct probe_engine *e;
	struct health_entry *h;

	agent_srv_start(&srv, "up 42%\n", false);
	h = entry(t, "agent", srv.port, "agent", false);
	spec_init(&s, "agent", h, srv.port);
	s.opts = &o;
	e = engine(t, &s, 1);
	ASSERT_STATE(t, h, true);
	ck_assert(WAIT_FOR(reported_is(t, h, 42, false), 5.0));
	ASSERT_REASON(t, h, "agent: up 42%");
	/* Closed without a newline: the reply is what came. */
	agent_srv_reply(&srv, "drain 10%");
	ck_assert(WAIT_FOR(reported_is(t, h, 10, true), 5.0));
	ck_assert_uint_eq(health_word(t, health_entry_word(h)), 0); /* out while it says so */
	agent_srv_reply(&srv, "ready\r\n");
	ck_assert(WAIT_FOR(reported_is(t, h, 10, false), 5.0));
	ck_assert(WAIT_FOR(health_word(t, health_entry_word(h)) == 1, 5.0));
	agent_srv_reply(&srv, "down #maintenance window\n");
	ASSERT_STATE(t, h, false);
	ASSERT_REASON(t, h, "agent: down #maintenance window");
	agent_srv_reply(&srv, "up 75 percent\n");
	ASSERT_REASON(t, h, "agent reply: unknown word \"75\"");
	ck_assert(reported_is(t, h, 10, false)); /* nonsense is never a weight */
	probe_engine_free(e);
	agent_srv_stop(&srv);
	health_table_free(t);
}
END_TEST

START_TEST(agent_send_and_refused)
{
	struct health_table *t = health_table_new();
	struct agent_srv srv;
	struct probe_spec s[2];
	struct probe_agent_opts o = {.send = "load?\n"}, none = {.send = NULL};
	struct probe_engine *e;
	struct health_entry *h, *down;
	uint16_t closed = closed_port(SOCK_STREAM);
	char got[64];

	agent_srv_start(&srv, "77%\n", true);
	h = entry(t, "agent", srv.port, "agent", false);
	down = entry(t, "agent", closed, "agent", true);
	spec_init(&s[0], "agent", h, srv.port);
	s[0].opts = &o;
	spec_init(&s[1], "agent", down, closed);
	s[1].opts = &none;
	e = engine(t, s, 2);
	ck_assert(WAIT_FOR(reported_is(t, h, 77, false), 5.0));
	ASSERT_STATE(t, h, true);
	pthread_mutex_lock(&srv.lock);
	memcpy(got, srv.got, sizeof(got));
	pthread_mutex_unlock(&srv.lock);
	ck_assert_str_eq(got, "load?\n");
	ASSERT_STATE(t, down, false);
	ASSERT_REASON(t, down, "connection refused");
	probe_engine_free(e);
	agent_srv_stop(&srv);
	health_table_free(t);
}
END_TEST

/* --- http ------------------------------------------------------------------------- */

START_TEST(http_status_flips)
{
	struct health_table *t = health_table_new();
	struct http_srv srv;
	struct probe_spec s;
	struct probe_http_opts o;
	struct probe_engine *e;
	struct health_entry *h;
	char url[128];

	http_srv_start(&srv, 200, "all ok here");
	h = entry(t, "web", srv.port, "http", false);
	http_spec(&s, &o, "http", h, srv.port, url, sizeof(url));
	e = engine(t, &s, 1);
	ASSERT_STATE(t, h, true);
	ASSERT_REASON(t, h, "status 200");
	atomic_store(&srv.status, 503);
	ASSERT_STATE(t, h, false);
	ASSERT_REASON(t, h, "status 503");
	atomic_store(&srv.status, 301);
	ASSERT_STATE(t, h, true);
	probe_engine_free(e);
	http_srv_stop(&srv);
	health_table_free(t);
}
END_TEST

START_TEST(http_body_host_and_head)
{
	struct health_table *t = health_table_new();
	struct http_srv srv;
	struct probe_spec s[3];
	struct probe_http_opts o[3];
	struct probe_engine *e;
	struct health_entry *good, *bad, *head;
	char url[3][128], last[2048];

	http_srv_start(&srv, 200, "all ok here");
	good = entry(t, "body-ok", srv.port, "http", false);
	bad = entry(t, "body-fine", srv.port, "http", true);
	head = entry(t, "head", srv.port, "http", false);
	http_spec(&s[0], &o[0], "http", good, srv.port, url[0], sizeof(url[0]));
	o[0].expect_body = (char *)"ok";
	o[0].host = (char *)"www.example.test";
	http_spec(&s[1], &o[1], "http", bad, srv.port, url[1], sizeof(url[1]));
	o[1].expect_body = (char *)"fine";
	e = engine(t, s, 2);
	ASSERT_STATE(t, good, true);
	ASSERT_STATE(t, bad, false);
	ASSERT_REASON(t, bad, "body lacks \"fine\"");
	probe_engine_free(e);

	/* Only the HEAD probe now, to read its request. */
	http_spec(&s[2], &o[2], "http", head, srv.port, url[2], sizeof(url[2]));
	o[2].head = true;
	o[2].host = (char *)"www.example.test";
	e = engine(t, &s[2], 1);
	ASSERT_STATE(t, head, true);
	http_srv_last(&srv, last, sizeof(last));
	ck_assert_msg(strncmp(last, "HEAD /health ", 13) == 0, "request: %s", last);
	ck_assert_msg(strstr(last, "\r\nHost: www.example.test\r\n") != NULL, "request: %s", last);
	probe_engine_free(e);
	http_srv_stop(&srv);
	health_table_free(t);
}
END_TEST

START_TEST(http_hang_times_out_and_refused)
{
	struct health_table *t = health_table_new();
	struct http_srv srv;
	uint16_t closed = closed_port(SOCK_STREAM);
	struct probe_spec s[2];
	struct probe_http_opts o[2];
	struct probe_engine *e;
	struct health_entry *hung, *refused;
	char url[2][128];
	double t0;

	http_srv_start(&srv, 200, "ok");
	atomic_store(&srv.hang, true);
	hung = entry(t, "hang", srv.port, "http", true);
	refused = entry(t, "web", closed, "http", true);
	http_spec(&s[0], &o[0], "http", hung, srv.port, url[0], sizeof(url[0]));
	s[0].timeout = 0.2;
	s[0].interval = 0.3;
	http_spec(&s[1], &o[1], "http", refused, closed, url[1], sizeof(url[1]));
	t0 = mono();
	e = engine(t, s, 2);
	ASSERT_STATE(t, refused, false);
	ASSERT_REASON(t, refused, "connection refused");
	ASSERT_STATE(t, hung, false);
	ASSERT_REASON(t, hung, "timeout after 200 ms");
	ck_assert(mono() - t0 < 2.0);
	probe_engine_free(e);
	http_srv_stop(&srv);
	health_table_free(t);
}
END_TEST

/* --- https ------------------------------------------------------------------------- */

static pid_t openssl_pid;

static void stop_openssl(void)
{
	if (openssl_pid > 0) {
		kill(openssl_pid, SIGKILL);
		waitpid(openssl_pid, NULL, 0);
		openssl_pid = 0;
	}
}

/* openssl s_server -www with a throwaway self-signed certificate; returns
 * its port, or 0 if openssl is not available. */
static uint16_t start_openssl(void)
{
	char cmd[PATH_MAX * 3], cert[PATH_MAX + 16], key[PATH_MAX + 16], port_s[16];
	uint16_t port;

	snprintf(cert, sizeof(cert), "%s/cert.pem", tu_dir());
	snprintf(key, sizeof(key), "%s/key.pem", tu_dir());
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 "
		 "-keyout %s -out %s >/dev/null 2>&1",
		 key, cert);
	if (system(cmd) != 0) {
		return 0;
	}
	port = closed_port(SOCK_STREAM);
	snprintf(port_s, sizeof(port_s), "%u", port);
	openssl_pid = fork();
	if (openssl_pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execlp("openssl", "openssl", "s_server", "-accept", port_s, "-cert", cert, "-key",
		       key, "-www", "-quiet", (char *)NULL);
		_exit(127);
	}
	/* Ready when it accepts. */
	for (double until = mono() + 5; mono() < until; nap(0.02)) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
		int rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		close(fd);
		if (rc == 0) {
			return port;
		}
	}
	stop_openssl();
	return 0;
}

START_TEST(https_verify)
{
	struct health_table *t = health_table_new();
	struct probe_spec s[3];
	struct probe_http_opts o[3];
	struct probe_engine *e;
	struct health_entry *noverify, *verify, *byname;
	char url[3][128];
	uint16_t port = start_openssl();

	if (!port) {
		fprintf(stderr, "https_verify: openssl unavailable, skipped\n");
		health_table_free(t);
		return;
	}
	noverify = entry(t, "noverify", port, "https", false);
	verify = entry(t, "verify", port, "https", true);
	byname = entry(t, "byname", port, "https", false);
	http_spec(&s[0], &o[0], "https", noverify, port, url[0], sizeof(url[0]));
	o[0].tls_verify = false;
	http_spec(&s[1], &o[1], "https", verify, port, url[1], sizeof(url[1]));
	o[1].tls_verify = true;
	/* A Host with https: the request goes to the name, the connection to
	 * the address. */
	http_spec(&s[2], &o[2], "https", byname, port, url[2], sizeof(url[2]));
	o[2].tls_verify = false;
	o[2].host = (char *)"localhost";
	for (int i = 0; i < 3; i++) {
		s[i].interval = 0.3;
		s[i].timeout = 2.0;
	}
	e = engine(t, s, 3);
	ASSERT_STATE(t, noverify, true);
	ASSERT_STATE(t, byname, true);
	ASSERT_STATE(t, verify, false);
	ASSERT_REASON(t, verify, "certificate");
	probe_engine_free(e);
	stop_openssl();
	health_table_free(t);
}
END_TEST

/* --- dns --------------------------------------------------------------------------- */

START_TEST(dns_answer_and_rcode)
{
	struct health_table *t = health_table_new();
	struct dns_srv srv;
	struct probe_spec s[3];
	struct probe_dns_opts o[3];
	struct probe_engine *e;
	struct health_entry *any, *match, *other;

	dns_srv_start(&srv);
	any = entry(t, "dns-any", srv.port, "dns", false);
	match = entry(t, "dns-match", srv.port, "dns", false);
	other = entry(t, "dns-other", srv.port, "dns", true);
	dns_spec(&s[0], &o[0], any, srv.port);
	dns_spec(&s[1], &o[1], match, srv.port);
	o[1].expect_answer = (char *)"192.0.2.1";
	dns_spec(&s[2], &o[2], other, srv.port);
	o[2].expect_answer = (char *)"192.0.2.9";
	e = engine(t, s, 3);
	ASSERT_STATE(t, any, true);
	ASSERT_STATE(t, match, true);
	ASSERT_REASON(t, match, "rcode NOERROR");
	ASSERT_STATE(t, other, false);
	ASSERT_REASON(t, other, "answer lacks 192.0.2.9");
	atomic_store(&srv.mode, DNS_SERVFAIL);
	ASSERT_STATE(t, any, false);
	ASSERT_REASON(t, any, "rcode SERVFAIL");
	ASSERT_STATE(t, match, false);
	probe_engine_free(e);
	dns_srv_stop(&srv);
	health_table_free(t);
}
END_TEST

START_TEST(dns_wrong_id_ignored_and_refused)
{
	struct health_table *t = health_table_new();
	struct dns_srv srv;
	uint16_t closed = closed_port(SOCK_DGRAM);
	struct probe_spec s[2];
	struct probe_dns_opts o[2];
	struct probe_engine *e;
	struct health_entry *spoofed, *refused;

	dns_srv_start(&srv);
	atomic_store(&srv.mode, DNS_WRONG_ID);
	spoofed = entry(t, "dns", srv.port, "dns", true);
	refused = entry(t, "dns", closed, "dns", true);
	dns_spec(&s[0], &o[0], spoofed, srv.port);
	s[0].timeout = 0.2;
	s[0].interval = 0.3;
	dns_spec(&s[1], &o[1], refused, closed);
	e = engine(t, s, 2);
	ASSERT_STATE(t, spoofed, false);
	ASSERT_REASON(t, spoofed, "timeout after 200 ms");
	ASSERT_STATE(t, refused, false);
	ASSERT_REASON(t, refused, "connection refused");
	probe_engine_free(e);
	dns_srv_stop(&srv);
	health_table_free(t);
}
END_TEST

/* The reply parser meets outside input: fed directly, no sockets. */
struct judge_fixture {
	struct probe p;
	struct probe_spec s;
	struct probe_dns_opts o;
	uint8_t m[512];
	size_t len;
};

/* A reply to "www.example.test A" with ID 0x1234: one A 192.0.2.1. */
static void judge_init(struct judge_fixture *f, const char *expect_answer)
{
	/* clang-format off */
	static const uint8_t reply[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,	/* header: ID, QR RD RA, 1 q, 1 an */
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
		0, 1, 0, 1,					/* A IN */
		0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,	/* answer: A IN 60, rdlen 4 */
		192, 0, 2, 1,
	};
	/* clang-format on */
	static const uint8_t qname[] = "\003www\007example\004test";

	memset(f, 0, sizeof(*f));
	f->s.kind = check_kinds_find("dns");
	f->s.opts = &f->o;
	memcpy(f->o.qname, qname, sizeof(qname));
	f->o.qtype = DNS_TYPE_A;
	f->o.expect_answer = (char *)expect_answer;
	f->p.spec = &f->s;
	f->p.fd = -1;
	probe_dns_setup(&f->p);
	ck_assert_str_eq(f->p.setup_err, "");
	f->p.dns_id = 0x1234;
	memcpy(f->m, reply, sizeof(reply));
	f->len = sizeof(reply);
}

static int judge(struct judge_fixture *f, char *reason)
{
	/* An exact-size copy: the sanitizers see any read past the end. */
	uint8_t *m = malloc(f->len ? f->len : 1);
	int v;

	memcpy(m, f->m, f->len);
	v = probe_dns_judge(&f->p, m, f->len, reason, PROBE_REASON_MAX);
	free(m);
	return v;
}

START_TEST(dns_judge_replies)
{
	struct judge_fixture f;
	char reason[PROBE_REASON_MAX];

	judge_init(&f, "192.0.2.1");
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_UP);
	ck_assert_str_eq(reason, "rcode NOERROR");
	/* The question's case may differ (RFC 4343). */
	f.m[13] = 'W';
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_UP);
	/* Not our reply: other ID, or not a response. */
	judge_init(&f, "192.0.2.1");
	f.m[1] = 0x35;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_IGNORE);
	judge_init(&f, "192.0.2.1");
	f.m[2] &= 0x7F;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_IGNORE);
	f.len = 11;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_IGNORE);
	/* Another question. */
	judge_init(&f, NULL);
	f.m[14] = 'x';
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	ck_assert_str_eq(reason, "reply to another question");
	judge_init(&f, NULL);
	f.m[31] = 28;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	/* rcode, with or without the question. */
	judge_init(&f, NULL);
	f.m[3] = 0x82;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	ck_assert_str_eq(reason, "rcode SERVFAIL");
	f.m[3] = 0x85;
	f.m[5] = 0;
	f.m[7] = 0;
	f.len = 12;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	ck_assert_str_eq(reason, "rcode REFUSED");
	f.m[3] = 0x8F;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	ck_assert_str_eq(reason, "rcode 15");
	/* The expected address. */
	judge_init(&f, "192.0.2.9");
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	ck_assert_str_eq(reason, "answer lacks 192.0.2.9");
	judge_init(&f, "192.0.2.9");
	f.m[2] |= 0x02;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	ck_assert_str_eq(reason, "truncated answer lacks 192.0.2.9");
	judge_init(&f, "2001:db8::1");
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	/* Counts and lengths that overrun the message. */
	judge_init(&f, "192.0.2.1");
	f.m[7] = 2;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_UP); /* found before the overrun */
	judge_init(&f, "192.0.2.9");
	f.m[7] = 2;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	ck_assert_str_eq(reason, "malformed reply");
	judge_init(&f, "192.0.2.9");
	f.m[45] = 200;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	ck_assert_str_eq(reason, "malformed reply");
	judge_init(&f, NULL);
	f.m[5] = 2;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	ck_assert_str_eq(reason, "malformed reply");
	judge_init(&f, NULL);
	f.len = 20;
	ck_assert_int_eq(judge(&f, reason), PROBE_DNS_DOWN);
	ck_assert_str_eq(reason, "malformed reply");
}
END_TEST

/* Random truncations and byte flips of a valid reply: any verdict, but no
 * read outside the message (the sanitizer build watches). */
START_TEST(dns_judge_survives_mutations)
{
	struct judge_fixture f, base;
	char reason[PROBE_REASON_MAX];
	uint64_t x = 0x9E3779B97F4A7C15ull;

	judge_init(&base, "192.0.2.9");
	for (int i = 0; i < 200000; i++) {
		f = base;
		f.p.spec = &f.s;
		f.s.opts = &f.o;
		for (int k = 0; k < 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			f.m[12 + x % (base.len - 12)] = (uint8_t)(x >> 32);
		}
		f.len = (x >> 48) % 8 == 0 ? (size_t)((x >> 24) % (base.len + 1)) : base.len;
		int v = judge(&f, reason);
		ck_assert(v >= PROBE_DNS_IGNORE && v <= PROBE_DNS_UP);
	}
}
END_TEST

/* --- exec -------------------------------------------------------------------------- */

/* What libev's default loop does on SIGCHLD (waitpid(-1, ...)), only
 * faster: a thread blocked in waitpid wakes the moment any child ends. */
static atomic_bool reaper_stop;

static void *greedy_reaper(void *arg)
{
	int status;

	while (!atomic_load(&reaper_stop)) {
		if (waitpid(-1, &status, 0) < 0) {
			nap(0.001);
		}
	}
	return NULL;
}

/* Can this kernel tell a child's status after someone else reaped it
 * (PIDFD_INFO_EXIT, Linux 6.15)? */
static bool kernel_keeps_exit_info(void)
{
	struct {
		uint64_t mask, cgroupid;
		uint32_t ids[11];
		int32_t exit_code;
	} info;
	pid_t pid = fork();
	int pidfd, status;
	bool ok;

	if (pid == 0) {
		_exit(7);
	}
	pidfd = pidfd_open(pid, 0);
	waitpid(pid, &status, 0);
	memset(&info, 0, sizeof(info));
	info.mask = 1u << 3;
	ok = pidfd >= 0 && ioctl(pidfd, _IOWR(0xFF, 11, info), &info) == 0 &&
	     (info.mask & (1u << 3)) && WEXITSTATUS(info.exit_code) == 7;
	if (pidfd >= 0) {
		close(pidfd);
	}
	return ok;
}

/* No child at all is left: none running, no zombie (not reaped here). */
static bool no_children(void)
{
	siginfo_t info;

	return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) == -1 &&
	       errno == ECHILD;
}

START_TEST(exec_exit_status)
{
	struct health_table *t = health_table_new();
	struct probe_spec s[4];
	struct probe_exec_opts o[4];
	struct probe_engine *e;
	struct health_entry *ok, *fail, *env, *missing;
	char *argv_true[] = {(char *)"sleep", (char *)"0.2", NULL};
	char *argv_false[] = {(char *)"false", NULL};
	char *argv_env[] = {(char *)"/bin/sh", (char *)"-c",
			    (char *)"test \"$GSLBD_ADDRESS\" = 127.0.0.1 && "
				    "test \"$GSLBD_PORT\" = 4321 && test \"$GSLBD_CHECK\" = env && "
				    "test -n \"$PATH\" && exit 3",
			    NULL};
	char *argv_missing[] = {(char *)"no-such-command-gslbd", NULL};
	pthread_t reaper;
	bool greedy = kernel_keeps_exit_info();

	/* In gslbd the main thread runs libev's default loop, which reaps every
	 * child on SIGCHLD: the engine must still learn how its commands ended. */
	atomic_store(&reaper_stop, false);
	if (greedy) {
		pthread_create(&reaper, NULL, greedy_reaper, NULL);
	} else {
		fprintf(stderr, "exec_exit_status: kernel before 6.15, no greedy reaper\n");
	}
	ok = entry(t, "true", 1, "exec", false);
	fail = entry(t, "false", 1, "exec", true);
	env = entry(t, "env", 4321, "exec", true);
	missing = entry(t, "missing", 1, "exec", true);
	exec_spec(&s[0], &o[0], ok, 1, argv_true);
	s[0].rise = 3; /* three exits in a row, each long enough for the reaper to lie in wait */
	exec_spec(&s[1], &o[1], fail, 1, argv_false);
	exec_spec(&s[2], &o[2], env, 4321, argv_env);
	exec_spec(&s[3], &o[3], missing, 1, argv_missing);
	e = engine(t, s, 4);
	ASSERT_STATE(t, ok, true);
	ASSERT_REASON(t, ok, "exit 0");
	ASSERT_STATE(t, fail, false);
	ASSERT_REASON(t, fail, "exit 1");
	/* exit 3 proves every test in the script passed. */
	ASSERT_STATE(t, env, false);
	ASSERT_REASON(t, env, "exit 3");
	ASSERT_STATE(t, missing, false);
	ASSERT_REASON(t, missing, "cannot run no-such-command-gslbd");
	probe_engine_free(e);
	atomic_store(&reaper_stop, true);
	if (greedy) {
		pthread_join(reaper, NULL);
	}
	ck_assert(no_children());
	health_table_free(t);
}
END_TEST

START_TEST(exec_killed_at_timeout_no_zombies)
{
	struct health_table *t = health_table_new();
	struct probe_spec s;
	struct probe_exec_opts o;
	struct probe_engine *e;
	struct health_entry *slow;
	char *argv_sleep[] = {(char *)"sleep", (char *)"5", NULL};
	double t0 = mono();

	slow = entry(t, "sleep", 1, "exec", true);
	exec_spec(&s, &o, slow, 1, argv_sleep);
	s.timeout = 0.2;
	s.interval = 0.3;
	s.fall = 2;
	e = engine(t, &s, 1);
	ASSERT_STATE(t, slow, false);
	ASSERT_REASON(t, slow, "killed at timeout");
	ck_assert(mono() - t0 < 2.0);
	/* Removing the probe kills the run in flight; reapers collect all. */
	set_and_wait(e, NULL, 0);
	ck_assert_msg(WAIT_FOR(no_children(), 3.0), "a child is left");
	probe_engine_free(e);
	health_table_free(t);
}
END_TEST

/* --- file -------------------------------------------------------------------------- */

START_TEST(file_states_and_reasons)
{
	struct health_table *t = health_table_new();
	struct probe_spec s[5];
	struct probe_file_opts o[5];
	struct probe_engine *e;
	struct health_entry *bare, *exact, *absent, *nofile, *v6;
	char path[PATH_MAX], missing[PATH_MAX + 16];

	tu_write(path, "states",
		 "# written by the operator\n"
		 "\n"
		 "127.0.0.1 up\n"
		 "127.0.0.1:81 down   # maintenance\n"
		 "[2001:db8::1]:80 up\n");
	snprintf(missing, sizeof(missing), "%s/none", tu_dir());
	bare = entry(t, "f", 80, "file", false);
	exact = entry(t, "f", 81, "file", true);
	absent = entry(t, "g", 82, "file", true);
	nofile = entry(t, "h", 83, "file", true);
	file_spec(&s[0], &o[0], bare, 80, path, "127.0.0.1:80");
	file_spec(&s[1], &o[1], exact, 81, path, "127.0.0.1:81");
	file_spec(&s[2], &o[2], absent, 82, path, "127.0.0.2");
	file_spec(&s[3], &o[3], nofile, 83, missing, "127.0.0.1");
	/* Addresses compare as addresses, not as text. */
	v6 = entry(t, "v6", 84, "file", false);
	file_spec(&s[4], &o[4], v6, 84, path, "[2001:DB8:0::1]:80");
	e = engine(t, s, 5);
	ASSERT_STATE(t, v6, true);
	ASSERT_STATE(t, bare, true);
	ASSERT_REASON(t, bare, "file says up");
	ASSERT_STATE(t, exact, false);
	ASSERT_REASON(t, exact, "file says down");
	ASSERT_STATE(t, absent, false);
	ASSERT_REASON(t, absent, "not in ");
	ASSERT_STATE(t, nofile, false);
	ASSERT_REASON(t, nofile, "No such file");
	probe_engine_free(e);
	health_table_free(t);
}
END_TEST

/* With a long interval, only the watcher can make the state follow the file. */
START_TEST(file_change_seen_at_once)
{
	struct health_table *t = health_table_new();
	struct probe_spec s;
	struct probe_file_opts o;
	struct probe_engine *e;
	struct health_entry *h;
	char path[PATH_MAX + 16], tmp[PATH_MAX];

	snprintf(path, sizeof(path), "%s/watched", tu_dir());
	h = entry(t, "w", 80, "file", false);
	file_spec(&s, &o, h, 80, path, "127.0.0.1");
	s.interval = 60;
	e = engine(t, &s, 1);
	ck_assert(WAIT_FOR(atomic_load(&e->applied) == 1, 5.0));
	/* Each change must show well within libev's 5 s stat polling, the
	 * fallback when it has no inotify. Created in place: */
	tu_write(path, "watched", "127.0.0.1 up\n");
	ASSERT_STATE_WITHIN(t, h, true, 1.5);
	/* Replaced by rename, as careful writers do: */
	tu_write(tmp, "watched.tmp", "# new\n127.0.0.1 down\n");
	ck_assert_int_eq(rename(tmp, path), 0);
	ASSERT_STATE_WITHIN(t, h, false, 1.5);
	ASSERT_REASON(t, h, "file says down");
	/* Rewritten in place: */
	tu_write(path, "watched", "127.0.0.1 up # back\n");
	ASSERT_STATE_WITHIN(t, h, true, 1.5);
	/* Removed: */
	ck_assert_int_eq(unlink(path), 0);
	ASSERT_STATE_WITHIN(t, h, false, 1.5);
	ASSERT_REASON(t, h, "No such file");
	probe_engine_free(e);
	health_table_free(t);
}
END_TEST

/* --- reconcile --------------------------------------------------------------------- */

START_TEST(reconcile_keeps_and_removes)
{
	struct health_table *t = health_table_new();
	struct tcp_srv srv;
	uint16_t closed = closed_port(SOCK_STREAM);
	struct probe_spec s[2], kept;
	struct probe_spec *ptrs[1];
	struct probe_engine *e;
	struct health_entry *a, *b;
	double b_last, a_last;

	tcp_srv_start(&srv);
	a = entry(t, "tcp", srv.port, "tcp", false);
	b = entry(t, "tcp", closed, "tcp", true);
	spec_init(&s[0], "tcp", a, srv.port);
	s[0].rise = 2;
	spec_init(&s[1], "tcp", b, closed);
	e = engine(t, s, 2);
	ASSERT_STATE(t, a, true);
	ASSERT_STATE(t, b, false);

	/* Keep a with new parameters, drop b. */
	kept = s[0];
	kept.timeout = 0.5;
	kept.fall = 5;
	ptrs[0] = &kept;
	set_and_wait(e, ptrs, 1);
	b_last = last_probe(t, b);
	a_last = last_probe(t, a);
	ck_assert(WAIT_FOR(last_probe(t, a) > a_last + 0.25, 5.0));
	ck_assert(last_probe(t, b) == b_last);
	ck_assert(is_up(t, a));
	ck_assert_int_eq(info_of(t, a).state, HEALTH_UP);
	ck_assert_uint_eq(info_of(t, a).count, 0);

	/* The kept probe now uses fall = 5 at 0.1 s: it goes down in about
	 * 0.5 s, not at the first failure. */
	a_last = mono();
	tcp_srv_stop(&srv);
	ASSERT_STATE(t, a, false);
	ck_assert_msg(mono() - a_last >= 0.3, "down after %.3f s", mono() - a_last);
	ASSERT_REASON(t, a, "connection refused");
	probe_engine_free(e);
	health_table_free(t);
}
END_TEST

/* Removing and freeing with runs in flight of every kind: no leak, no crash,
 * no child left. */
START_TEST(free_with_runs_in_flight)
{
	struct health_table *t = health_table_new();
	struct http_srv srv;
	struct dns_srv dns;
	struct probe_spec s[4];
	struct probe_http_opts ho;
	struct probe_exec_opts xo;
	struct probe_dns_opts dno;
	struct probe_engine *e;
	struct health_entry *h[4];
	char url[128];
	char *argv_sleep[] = {(char *)"sleep", (char *)"5", NULL};

	http_srv_start(&srv, 200, "ok");
	atomic_store(&srv.hang, true);
	dns_srv_start(&dns);
	atomic_store(&dns.mode, DNS_WRONG_ID);
	h[0] = entry(t, "hang", srv.port, "http", true);
	h[1] = entry(t, "sleep", 1, "exec", true);
	h[2] = entry(t, "dns", dns.port, "dns", true);
	h[3] = entry(t, "tcp", srv.port, "tcp", false);
	http_spec(&s[0], &ho, "http", h[0], srv.port, url, sizeof(url));
	exec_spec(&s[1], &xo, h[1], 1, argv_sleep);
	dns_spec(&s[2], &dno, h[2], dns.port);
	spec_init(&s[3], "tcp", h[3], srv.port);
	for (int i = 0; i < 4; i++) {
		s[i].timeout = 5;
		s[i].interval = 0.1;
	}
	e = engine(t, s, 4);
	/* In flight once the tcp probe (same loop) has come up and the hanging
	 * server has seen a request. */
	ASSERT_STATE(t, h[3], true);
	ck_assert(WAIT_FOR(atomic_load(&srv.requests) > 0, 5.0));
	set_and_wait(e, &(struct probe_spec *){&s[3]}, 1);
	ck_assert_msg(WAIT_FOR(no_children(), 3.0), "a child is left");
	probe_engine_set(e, (struct probe_spec *[]){&s[0], &s[1], &s[2]}, 3);
	ck_assert(WAIT_FOR(atomic_load(&srv.requests) > 1, 5.0));
	probe_engine_free(e);
	ck_assert(no_children());
	http_srv_stop(&srv);
	dns_srv_stop(&dns);
	health_table_free(t);
}
END_TEST

START_TEST(never_started_and_null)
{
	struct health_table *t = health_table_new();
	struct probe_engine *e = probe_engine_new(t);
	struct health_entry *h = entry(t, "tcp", 1, "tcp", true);
	struct probe_spec s;

	probe_engine_free(NULL);
	spec_init(&s, "tcp", h, 1);
	probe_engine_set(e, &(struct probe_spec *){&s}, 1);
	probe_engine_set(e, &(struct probe_spec *){&s}, 1);
	probe_engine_free(e);
	health_table_free(t);
}
END_TEST

/* A none check is never run: its entry keeps its state and is never probed. */
START_TEST(none_is_never_scheduled)
{
	struct health_table *t = health_table_new();
	struct probe_spec s[2];
	struct probe_engine *e;
	struct health_entry *none, *tcp;
	uint16_t closed = closed_port(SOCK_STREAM);

	none = entry(t, "none", closed, "none", true);
	tcp = entry(t, "tcp", closed, "tcp", true);
	spec_init(&s[0], "none", none, closed);
	spec_init(&s[1], "tcp", tcp, closed);
	e = engine(t, s, 2);
	ASSERT_STATE(t, tcp, false);
	ck_assert(is_up(t, none));
	ck_assert(last_probe(t, none) == 0);
	probe_engine_free(e);
	health_table_free(t);
}
END_TEST

static Suite *probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, tcp_up_and_refused);
	tcase_add_test(tc, agent_reports_weight_drain_and_nonsense);
	tcase_add_test(tc, agent_send_and_refused);
	tcase_add_test(tc, tcp_fall_needs_consecutive_failures);
	tcase_add_test(tc, first_runs_are_spread);
	tcase_add_test(tc, http_status_flips);
	tcase_add_test(tc, http_body_host_and_head);
	tcase_add_test(tc, http_hang_times_out_and_refused);
	tcase_add_test(tc, https_verify);
	tcase_add_test(tc, dns_answer_and_rcode);
	tcase_add_test(tc, dns_wrong_id_ignored_and_refused);
	tcase_add_test(tc, dns_judge_replies);
	tcase_add_test(tc, dns_judge_survives_mutations);
	tcase_add_test(tc, exec_exit_status);
	tcase_add_test(tc, exec_killed_at_timeout_no_zombies);
	tcase_add_test(tc, file_states_and_reasons);
	tcase_add_test(tc, file_change_seen_at_once);
	tcase_add_test(tc, reconcile_keeps_and_removes);
	tcase_add_test(tc, free_with_runs_in_flight);
	tcase_add_test(tc, never_started_and_null);
	tcase_add_test(tc, none_is_never_scheduled);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(probe_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
