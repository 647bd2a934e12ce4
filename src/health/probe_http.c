/* probe_http.c -- the http and https checks: libcurl's multi-socket API
 * driven by the probe loop (one ev_io per socket curl names, one ev_timer
 * for curl's timeouts), one easy handle per run. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/curl_dl.h"
#include "util/log.h"
#include <ev.h>

#include "util/mem.h"
#include "health/probe_int.h"

/* What a run keeps of a body to search for expect_body. */
#define BODY_MAX (64 * 1024)

struct probe_http_run {
	CURL *easy;
	bool keep_body;
	char *body;
	size_t len, cap;
	char errbuf[CURL_ERROR_SIZE];
};

/* One socket curl asked us to watch. */
struct probe_curl_sock {
	ev_io io;
	struct probe_engine *eng;
	curl_socket_t fd;
	struct probe_curl_sock *prev, *next;
};

/* --- curl's reasons ------------------------------------------------------------- */

static void judge(struct probe *p, CURLcode rc, bool *ok, char *reason, size_t size)
{
	const struct probe_spec *s = p->spec;
	struct probe_http_run *run = p->http;
	long status = 0, oserr = 0;

	*ok = false;
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(reason, size, "timeout after %.0f ms", s->timeout * 1e3);
		return;
	}
	if (rc == CURLE_COULDNT_CONNECT &&
	    curl_easy_getinfo(run->easy, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr != 0) {
		char tmp[128];
		snprintf(reason, size, "%s", strerror_r((int)oserr, tmp, sizeof(tmp)));
		reason[0] = (char)tolower((unsigned char)reason[0]); /* "connection refused" */
		return;
	}
	if (rc != CURLE_OK) {
		/* The error buffer says what went wrong in curl's words, e.g.
		 * "SSL certificate problem: self-signed certificate". */
		size_t n;
		snprintf(reason, size, "%.150s",
			 run->errbuf[0] ? run->errbuf : curl_easy_strerror(rc));
		n = strlen(reason);
		while (n > 0 && (reason[n - 1] == '\n' || reason[n - 1] == '\r')) {
			reason[--n] = 0;
		}
		return;
	}
	curl_easy_getinfo(run->easy, CURLINFO_RESPONSE_CODE, &status);
	snprintf(reason, size, "status %ld", status);
	if (!probe_status_ok(s, status)) {
		return;
	}
	/* A HEAD has no body to search. */
	if (s->expect_body && !s->head &&
	    !memmem(run->body ? run->body : "", run->len, s->expect_body, strlen(s->expect_body))) {
		snprintf(reason, size, "body lacks \"%.60s\"", s->expect_body);
		return;
	}
	*ok = true;
}

static void run_free(struct probe *p)
{
	struct probe_http_run *run = p->http;

	if (!run) {
		return;
	}
	if (run->easy) {
		curl_multi_remove_handle(p->eng->multi, run->easy);
		curl_easy_cleanup(run->easy);
	}
	free(run->body);
	free(run);
	p->http = NULL;
}

/* Completed transfers; called after every curl_multi_socket_action. */
static void check_completions(struct probe_engine *e)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(e->multi, &left))) {
		struct probe *p = NULL;
		char reason[PROBE_REASON_MAX];
		bool ok;

		if (msg->msg != CURLMSG_DONE) {
			continue;
		}
		/* msg does not survive curl_multi_remove_handle: copy first. */
		CURLcode rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&p);
		judge(p, rc, &ok, reason, sizeof(reason));
		run_free(p);
		probe_done(p, ok, reason);
	}
}

/* --- the loop drives curl ---------------------------------------------------------- */

static void sock_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe_curl_sock *cs = w->data;
	struct probe_engine *e = cs->eng;
	int action =
	    (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	/* cs may be freed inside: do not touch it after this call. */
	curl_multi_socket_action(e->multi, cs->fd, action, &running);
	check_completions(e);
}

static void curl_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe_engine *e = w->data;
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_completions(e);
}

static int socket_fn(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct probe_engine *e = userp;
	struct probe_curl_sock *cs = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (cs) {
			ev_io_stop(e->loop, &cs->io);
			if (cs->prev) {
				cs->prev->next = cs->next;
			} else {
				e->curl_socks = cs->next;
			}
			if (cs->next) {
				cs->next->prev = cs->prev;
			}
			free(cs);
		}
		return 0;
	}
	if (!cs) {
		cs = calloc(1, sizeof(*cs));
		if (!cs) {
			return -1;
		}
		cs->eng = e;
		cs->fd = s;
		cs->next = e->curl_socks;
		if (cs->next) {
			cs->next->prev = cs;
		}
		e->curl_socks = cs;
		ev_init(&cs->io, sock_io_cb);
		cs->io.data = cs;
		curl_multi_assign(e->multi, s, cs);
	} else {
		ev_io_stop(e->loop, &cs->io);
	}
	events |= (what & CURL_POLL_IN) ? EV_READ : 0;
	events |= (what & CURL_POLL_OUT) ? EV_WRITE : 0;
	ev_io_set(&cs->io, s, events);
	ev_io_start(e->loop, &cs->io);
	return 0;
}

/* curl may not be called back into from here: a zero timeout becomes a
 * zero-delay timer that runs in the next loop iteration. */
static int timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct probe_engine *e = userp;

	ev_timer_stop(e->loop, &e->curl_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&e->curl_timer, (double)timeout_ms / 1e3, 0.);
		ev_timer_start(e->loop, &e->curl_timer);
	}
	return 0;
}

int probe_http_init(struct probe_engine *e)
{
	ev_timer_init(&e->curl_timer, curl_timer_cb, 0., 0.);
	e->curl_timer.data = e;
	if (curl_dl_load() != 0) {
		return -1;
	}
	e->multi = curl_multi_init();
	if (!e->multi) {
		return -1;
	}
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	return 0;
}

void probe_http_fini(struct probe_engine *e)
{
	if (e->multi) {
		curl_multi_cleanup(e->multi);
		e->multi = NULL;
	}
	if (e->curl_tried) {
		ev_timer_stop(e->loop, &e->curl_timer);
	}
	while (e->curl_socks) {
		struct probe_curl_sock *cs = e->curl_socks;
		e->curl_socks = cs->next;
		ev_io_stop(e->loop, &cs->io);
		free(cs);
	}
}

/* --- per probe ------------------------------------------------------------------- */

/* https with a Host: the name goes into the URL, so that SNI carries it and
 * the certificate is verified against it, and CONNECT_TO still sends the
 * connection to the member's address. Plain http needs only the header. */
static void https_by_name(struct probe *p)
{
	const struct probe_spec *s = p->spec;
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *url = NULL;

	if (!u) {
		return;
	}
	if (curl_url_set(u, CURLUPART_URL, s->url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_HOST, s->host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK) {
		size_t n = strlen(s->host) + strlen(host) + 2 * strlen(port) + 4;
		char *ct = xmalloc(n);
		snprintf(ct, n, "%s:%s:%s:%s", s->host, port, host, port);
		p->http_connect = curl_slist_append(NULL, ct);
		free(ct);
		if (p->http_connect) {
			free(p->http_url);
			p->http_url = xstrdup(url);
		}
	}
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
}

void probe_http_setup(struct probe *p)
{
	const struct probe_spec *s = p->spec;

	if (!s->url) {
		snprintf(p->setup_err, sizeof(p->setup_err), "no url");
		return;
	}
	p->http_url = xstrdup(s->url);
	if (curl_dl_load() != 0) {
		snprintf(p->setup_err, sizeof(p->setup_err), "libcurl unavailable");
		return;
	}
	if (s->host) {
		size_t n = strlen(s->host) + 7;
		char *h = xmalloc(n);
		snprintf(h, n, "Host: %s", s->host);
		p->http_headers = curl_slist_append(NULL, h);
		free(h);
		if (s->kind == PROBE_HTTPS) {
			https_by_name(p);
		}
	}
}

void probe_http_clear(struct probe *p)
{
	free(p->http_url);
	p->http_url = NULL;
	/* Non-NULL lists mean libcurl was loaded for them. */
	if (p->http_headers) {
		curl_slist_free_all(p->http_headers);
		p->http_headers = NULL;
	}
	if (p->http_connect) {
		curl_slist_free_all(p->http_connect);
		p->http_connect = NULL;
	}
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct probe_http_run *run = userdata;
	size_t n = size * nmemb, take;

	if (!run->keep_body || run->len >= BODY_MAX) {
		return n;
	}
	take = n < BODY_MAX - run->len ? n : BODY_MAX - run->len;
	if (run->len + take > run->cap) {
		size_t cap = run->cap ? run->cap : 4096;
		while (cap < run->len + take) {
			cap *= 2;
		}
		cap = cap < BODY_MAX ? cap : BODY_MAX;
		char *b = realloc(run->body, cap);
		if (!b) {
			return 0; /* CURLE_WRITE_ERROR */
		}
		run->body = b;
		run->cap = cap;
	}
	memcpy(run->body + run->len, ptr, take);
	run->len += take;
	return n;
}

void probe_http_start(struct probe *p)
{
	const struct probe_spec *s = p->spec;
	struct probe_engine *e = p->eng;
	struct probe_http_run *run;
	long ms = (long)(s->timeout * 1e3 + 0.5);
	CURLMcode mc;
	CURL *c;

	if (!e->multi && !e->curl_tried) {
		/* First http(s) probe of this engine: load libcurl now. */
		e->curl_tried = true;
		if (probe_http_init(e) != 0) {
			log_err("probe: cannot set up libcurl; http and https checks will fail");
		}
	}
	if (!e->multi) {
		probe_done(p, false, "libcurl unavailable");
		return;
	}
	run = calloc(1, sizeof(*run));
	c = run ? curl_easy_init() : NULL;
	if (!c) {
		free(run);
		probe_done(p, false, "out of memory");
		return;
	}
	run->easy = c;
	run->keep_body = s->expect_body != NULL && !s->head;
	curl_easy_setopt(c, CURLOPT_PRIVATE, p);
	curl_easy_setopt(c, CURLOPT_URL, p->http_url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, run->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, run);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "gslbd/" PACKAGE_VERSION " health check");
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* The check is of the member, never of a proxy from the environment. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	/* Every run tests a fresh connection, as a new client would make. */
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	if (s->head) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	}
	if (p->http_headers) {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->http_headers);
	}
	if (p->http_connect) {
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, p->http_connect);
	}
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s->tls_verify ? 2L : 0L);
	p->http = run;
	mc = curl_multi_add_handle(e->multi, c);
	if (mc != CURLM_OK) {
		curl_easy_cleanup(c);
		run->easy = NULL;
		run_free(p);
		probe_done(p, false, curl_multi_strerror(mc));
	}
}

void probe_http_cancel(struct probe *p)
{
	run_free(p);
}
