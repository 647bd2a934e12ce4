/* http.c -- the operators' HTTP listener: sockets, the libmicrohttpd daemons
 * and their thread, the allow list, routing. The pages themselves are
 * ctl/metrics.c, ctl/page.c and ctl/status.c. */
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
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ctl/metrics.h"
#include "ctl/page.h"
#include "ctl/status.h"
#include "daemon/http.h"
#include "daemon/server.h"
#include "util/log.h"
#include "util/mem.h"

/* Request headers beyond this get 431: an operator's browser or Prometheus
 * sends well under 2 KiB. */
#define HTTP_MEMORY_LIMIT (16 * 1024)
#define HTTP_BACKLOG 128

struct http {
	struct conf_http conf; /* a deep copy: reloads compare against it */
	int *fds;	       /* ours; each daemon has a dup of its own */
	struct MHD_Daemon **daemons;
	size_t n;
	struct server *srv;
	struct health_table *health;
	const struct stats *stats;
	pthread_mutex_t lock; /* the history: the sampler writes, pages read */
	struct page_history history;
	atomic_bool ready;
	atomic_bool stop;
	int wake; /* eventfd: stop */
	pthread_t thread;
	bool running;
};

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- routing (pure) ---------------------------------------------------------------- */

static void text(struct http_reply *r, unsigned status, const char *msg)
{
	r->status = status;
	r->type = "text/plain; charset=utf-8";
	sb_printf(&r->body, "%s\n", msg);
}

void http_route(struct http_reply *r, const struct http_view *v, const char *method,
		const char *path)
{
	bool known = strcmp(path, "/") == 0 || strcmp(path, "/metrics") == 0 ||
		     strcmp(path, "/status.json") == 0 || strcmp(path, "/healthz") == 0;

	memset(r, 0, sizeof(*r));
	sb_init(&r->body);
	if (!known) {
		text(r, 404, "not found (try /, /metrics, /status.json or /healthz)");
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		r->allow = "GET, HEAD";
		text(r, 405, "method not allowed (this listener is read-only: GET or HEAD)");
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		if (v->ready && v->snap) {
			text(r, 200, "ok");
		} else {
			text(r, 503, "starting");
		}
		return;
	}
	if (!v->snap) {
		text(r, 503, "starting");
		return;
	}
	r->status = 200;
	if (strcmp(path, "/metrics") == 0) {
		r->type = "text/plain; version=0.0.4; charset=utf-8";
		metrics_render(&r->body, v->snap, v->health, v->stats);
	} else if (strcmp(path, "/status.json") == 0) {
		r->type = "application/json";
		status_render(&r->body, v->snap, v->health, true);
	} else {
		r->type = "text/html; charset=utf-8";
		page_render(&r->body, v->snap, v->health, v->history, v->now);
	}
}

static bool net_has(const struct conf_net *n, int family, const uint8_t *addr)
{
	unsigned full = n->bits / 8, rest = n->bits % 8;

	if (n->family != family) {
		return false;
	}
	if (memcmp(n->addr, addr, full) != 0) {
		return false;
	}
	return rest == 0 || ((n->addr[full] ^ addr[full]) & (0xFF00 >> rest)) == 0;
}

bool http_allowed(const struct conf_http *c, const struct sockaddr *sa)
{
	const uint8_t *addr;
	int family = sa->sa_family;

	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)addr)) {
			family = AF_INET;
			addr += 12;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < c->nallow; i++) {
		if (net_has(&c->allow[i], family, addr)) {
			return true;
		}
	}
	return false;
}

/* --- libmicrohttpd callbacks (its threads) ------------------------------------------ */

/* libmicrohttpd's threads read snapshots, so each one registers with RCU
 * before its first request and unregisters as it ends (a thread-specific
 * key's destructor runs in the ending thread). */
static pthread_key_t reader_key;
static pthread_once_t reader_once = PTHREAD_ONCE_INIT;

static void reader_exit(void *arg)
{
	(void)arg;
	server_reader_unregister();
}

static void reader_key_make(void)
{
	pthread_key_create(&reader_key, reader_exit);
}

static void reader_enter(void)
{
	pthread_once(&reader_once, reader_key_make);
	if (!pthread_getspecific(reader_key)) {
		server_reader_register();
		pthread_setspecific(reader_key, &reader_key);
	}
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http *h = cls;

	(void)addrlen;
	return http_allowed(&h->conf, addr) ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct http *h = cls;
	struct http_view v;
	struct http_reply r;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;
	char *body;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	reader_enter();
	memset(&v, 0, sizeof(v));
	v.health = h->health;
	v.stats = h->stats;
	v.history = &h->history;
	v.ready = atomic_load(&h->ready);
	v.now = wall_now();
	pthread_mutex_lock(&h->lock);
	v.snap = server_read_begin(h->srv);
	http_route(&r, &v, method, url);
	server_read_end(h->srv);
	pthread_mutex_unlock(&h->lock);
	body = sb_take(&r.body, &len);
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	/* The page is self-contained: nothing else may load, nor may it be framed. */
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; "
				"frame-ancestors 'none'");
	if (r.allow) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r.allow);
	}
	ret = MHD_queue_response(conn, r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* --- the sampler thread ------------------------------------------------------------- */

static void *sampler_main(void *arg)
{
	struct http *h = arg;
	struct pollfd pfd = {h->wake, POLLIN, 0};

	pthread_setname_np(pthread_self(), "gslbd-http");
	server_reader_register();
	while (!atomic_load(&h->stop)) {
		const struct snapshot *snap;
		pthread_mutex_lock(&h->lock);
		snap = server_read_begin(h->srv);
		page_history_sample(&h->history, snap, h->health, h->stats, wall_now());
		server_read_end(h->srv);
		pthread_mutex_unlock(&h->lock);
		if (poll(&pfd, 1, (int)(PAGE_SAMPLE_INTERVAL * 1000)) < 0 && errno != EINTR) {
			log_err("http: poll: %s", strerror(errno));
			break;
		}
	}
	server_reader_unregister();
	return NULL;
}

/* --- sockets and daemons --------------------------------------------------------------- */

static void addr_text(char *host, size_t size, unsigned *port, const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)a;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, (socklen_t)size);
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)a;
		inet_ntop(AF_INET, &s4->sin_addr, host, (socklen_t)size);
		*port = ntohs(s4->sin_port);
	}
}

/* A listening socket for @l, or -1 with the reason in @why. */
static int bind_one(const struct conf_listen *l, char *why, size_t whysize)
{
	int one = 1;
	int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(why, whysize, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) != 0 ||
	    listen(fd, HTTP_BACKLOG) != 0) {
		snprintf(why, whysize, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void conf_copy(struct conf_http *to, const struct conf_http *from)
{
	*to = *from;
	to->listens = xcalloc(from->nlistens ? from->nlistens : 1, sizeof(*to->listens));
	for (size_t i = 0; i < from->nlistens; i++) {
		to->listens[i] = from->listens[i];
		to->listens[i].text = xstrdup(from->listens[i].text);
	}
	to->allow = xcalloc(from->nallow ? from->nallow : 1, sizeof(*to->allow));
	memcpy(to->allow, from->allow, from->nallow * sizeof(*to->allow));
}

static void conf_clear(struct conf_http *c)
{
	for (size_t i = 0; i < c->nlistens; i++) {
		free(c->listens[i].text);
	}
	free(c->listens);
	free(c->allow);
}

static bool same_addr(const struct conf_listen *a, const struct conf_listen *b)
{
	return a->addrlen == b->addrlen && memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

static bool same_conf(const struct conf_http *a, const struct conf_http *b)
{
	if (a->nlistens != b->nlistens || a->nallow != b->nallow || a->timeout != b->timeout ||
	    a->max_clients != b->max_clients) {
		return false;
	}
	for (size_t i = 0; i < a->nlistens; i++) {
		if (!same_addr(&a->listens[i], &b->listens[i])) {
			return false;
		}
	}
	for (size_t i = 0; i < a->nallow; i++) {
		if (a->allow[i].family != b->allow[i].family ||
		    a->allow[i].bits != b->allow[i].bits ||
		    memcmp(a->allow[i].addr, b->allow[i].addr, sizeof(a->allow[i].addr)) != 0) {
			return false;
		}
	}
	return true;
}

/* A listener for @c; sockets of @prev for the same addresses are shared
 * (dup), others bound. NULL after logging (and a short @why) on failure. */
static struct http *make(const struct conf_http *c, const struct http *prev, struct server *srv,
			 struct health_table *health, const struct stats *stats, char *why,
			 size_t whysize)
{
	struct http *h = xcalloc(1, sizeof(*h));

	conf_copy(&h->conf, c);
	h->srv = srv;
	h->health = health;
	h->stats = stats;
	h->wake = -1;
	page_history_init(&h->history);
	pthread_mutex_init(&h->lock, NULL);
	h->fds = xcalloc(c->nlistens ? c->nlistens : 1, sizeof(*h->fds));
	h->daemons = xcalloc(c->nlistens ? c->nlistens : 1, sizeof(*h->daemons));
	for (size_t i = 0; i < c->nlistens; i++) {
		h->fds[i] = -1;
	}
	for (size_t i = 0; i < c->nlistens; i++) {
		const struct conf_listen *l = &c->listens[i];
		struct sockaddr_storage bound;
		socklen_t blen = sizeof(bound);
		char host[INET6_ADDRSTRLEN], err[200];
		unsigned port = 0;
		int fd = -1;
		for (size_t j = 0; prev && j < prev->conf.nlistens && fd < 0; j++) {
			if (same_addr(&prev->conf.listens[j], l) && prev->fds[j] >= 0) {
				fd = fcntl(prev->fds[j], F_DUPFD_CLOEXEC, 0);
			}
		}
		if (fd < 0 && (fd = bind_one(l, err, sizeof(err))) < 0) {
			log_err("http: cannot listen on %s: %s", l->text, err);
			snprintf(why, whysize, "cannot listen on %s: %s", l->text, err);
			http_free(h);
			return NULL;
		}
		h->fds[i] = fd;
		if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
			addr_text(host, sizeof(host), &port, &bound);
			log_info("http listening on %s port %u", host, port);
		}
	}
	return h;
}

static int start_daemons(struct http *h)
{
	for (size_t i = 0; i < h->conf.nlistens; i++) {
		int fd = fcntl(h->fds[i], F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			log_err("http: cannot duplicate a listening socket: %s", strerror(errno));
			return -1;
		}
		/* Its own thread per listener, level-triggered poll(): edge-triggered
		 * epoll misses a client's close that came with its last bytes, and
		 * such connections would wait for the timeout. An inter-thread
		 * channel to stop it: without one, libmicrohttpd would shut the
		 * listening socket down, which a reload may hand on. */
		h->daemons[i] = MHD_start_daemon(
		    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC, 0, on_accept, h,
		    on_request, h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		    (unsigned)h->conf.max_clients, MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)h->conf.timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		    (size_t)HTTP_MEMORY_LIMIT, MHD_OPTION_END);
		if (!h->daemons[i]) {
			close(fd);
			log_err("http: cannot start libmicrohttpd on %s", h->conf.listens[i].text);
			return -1;
		}
		h->n++;
	}
	return 0;
}

struct http *http_new(const struct conf_http *c, struct server *srv, struct health_table *health,
		      const struct stats *stats)
{
	char why[256];

	return make(c, NULL, srv, health, stats, why, sizeof(why));
}

int http_start(struct http *h)
{
	sigset_t all, old;
	int e;

	h->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake < 0) {
		log_err("http: eventfd: %s", strerror(errno));
		return -1;
	}
	/* Every thread, ours and libmicrohttpd's, leaves signals to the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = start_daemons(h) != 0 ? -1 : pthread_create(&h->thread, NULL, sampler_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e == -1) {
		return -1;
	}
	if (e != 0) {
		log_err("http: cannot start its thread: %s", strerror(e));
		return -1;
	}
	h->running = true;
	return 0;
}

void http_set_ready(struct http *h)
{
	if (h) {
		atomic_store(&h->ready, true);
	}
}

static void stop(struct http *h)
{
	uint64_t one = 1;

	for (size_t i = 0; i < h->n; i++) {
		MHD_stop_daemon(h->daemons[i]); /* joins its thread; closes its socket dup */
	}
	h->n = 0;
	if (!h->running) {
		return;
	}
	atomic_store(&h->stop, true);
	if (write(h->wake, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow here; the thread also polls stop. */
	}
	pthread_join(h->thread, NULL);
	h->running = false;
}

void http_free(struct http *h)
{
	if (!h) {
		return;
	}
	stop(h);
	for (size_t i = 0; i < h->conf.nlistens; i++) {
		if (h->fds[i] >= 0) {
			close(h->fds[i]);
		}
	}
	if (h->wake >= 0) {
		close(h->wake);
	}
	free(h->fds);
	free(h->daemons);
	page_history_clear(&h->history);
	pthread_mutex_destroy(&h->lock);
	conf_clear(&h->conf);
	free(h);
}

void http_apply(struct http **hp, const struct conf_http *next, struct server *srv,
		struct health_table *health, const struct stats *stats, struct sbuf *notes)
{
	struct http *old = *hp, *h;
	char why[256];

	if (!next) {
		if (old) {
			log_info("http: listener closed (no http in the configuration)");
			http_free(old);
			*hp = NULL;
		}
		return;
	}
	if (old && same_conf(&old->conf, next)) {
		return;
	}
	h = make(next, old, srv, health, stats, why, sizeof(why));
	if (!h) {
		log_warn("reload: http settings not applied: %s; %s", why,
			 old ? "the previous listener keeps serving" : "no http listener");
		sb_printf(notes, "%shttp (%s)", notes->len ? "; " : "", why);
		return;
	}
	if (old) {
		stop(old);
		/* The samples follow the pools, whichever listener shows them. */
		h->history = old->history;
		page_history_init(&old->history);
		http_free(old);
	}
	*hp = NULL;
	if (http_start(h) != 0) {
		log_err("http: the listener could not be restarted; no http listener");
		sb_printf(notes, "%shttp (could not be restarted, see the log)",
			  notes->len ? "; " : "");
		http_free(h);
		return;
	}
	/* Reloads begin once the first snapshot serves. */
	http_set_ready(h);
	*hp = h;
	log_info("http: settings applied");
}
