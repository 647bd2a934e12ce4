/* probe_http.c -- the http and https checks: their settings, and runs on
 * libcurl's multi-socket API driven by the probe loop (one ev_io per socket
 * curl names, one ev_timer for curl's timeouts), one easy handle per run. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "health/curl_dl.h"
#include "util/log.h"
#include <ev.h>
#include <jansson.h>
#include <libconfig.h>

#include "data/conf.h"
#include "util/mem.h"

#include "health/check_kind.h"
#include "health/probe_int.h"
#include "lb/steer.h"

/* What a run keeps of a body to search for expect_body. */
#define BODY_MAX (64 * 1024)

/* The statuses expect_status can name (the bitmap's range). */
#define STATUS_MIN 100
#define STATUS_MAX 739

extern const struct check_kind check_kind_https;

struct probe_http_run {
	CURL *easy;
	bool keep_body;
	char *body;
	size_t len, cap;
	char errbuf[CURL_ERROR_SIZE];
	/* weight_header: the last value seen, or weight_seen false */
	bool weight_seen;
	char weight_value[24];
	size_t weight_len;
};

/* One socket curl asked us to watch. */
struct probe_curl_sock {
	ev_io io;
	struct probe_engine *eng;
	curl_socket_t fd;
	struct probe_curl_sock *prev, *next;
};

/* --- curl's reasons ------------------------------------------------------------- */

static void status_set(struct probe_http_opts *o, long lo, long hi)
{
	for (long st = lo; st <= hi; st++) {
		unsigned b = (unsigned)(st - STATUS_MIN);
		o->status_ok[b / 32] |= 1u << (b % 32);
	}
}

/* Is @status one that expect_status accepts? */
static bool status_ok(const struct probe_http_opts *o, long status)
{
	if (status < STATUS_MIN || status > STATUS_MAX) {
		return false;
	}
	unsigned b = (unsigned)(status - STATUS_MIN);
	return (o->status_ok[b / 32] >> (b % 32)) & 1;
}

/* The weight a response reports (weight_header or weight_json) into
 * *@percent; -1 with the reason when it does not, or not strictly. */
static int read_weight(const struct probe_http_opts *o, const struct probe_http_run *run,
		       int *percent, char *reason, size_t size)
{
	if (o->weight_header) {
		if (!run->weight_seen) {
			snprintf(reason, size, "no %.60s header", o->weight_header);
			return -1;
		}
		if (probe_weight_parse(run->weight_value, run->weight_len, percent) != 0) {
			snprintf(reason, size, "%.60s: bad weight \"%.*s\" (0..%d or 0%%..%d%%)",
				 o->weight_header, (int)run->weight_len, run->weight_value,
				 STEER_REPORT_MAX, STEER_REPORT_MAX);
			return -1;
		}
	}
	if (o->weight_json) {
		json_error_t jerr;
		json_t *root = json_loadb(run->body ? run->body : "", run->len, 0, &jerr);
		json_t *v = json_is_object(root) ? json_object_get(root, o->weight_json) : NULL;
		json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
		int rc = 0;
		if (!root) {
			snprintf(reason, size, "body is not JSON: %.60s", jerr.text);
			rc = -1;
		} else if (!v) {
			snprintf(reason, size, "body has no \"%.40s\" key", o->weight_json);
			rc = -1;
		} else if (!(json_is_string(v) &&
			     probe_weight_parse(json_string_value(v), json_string_length(v),
						percent) == 0) &&
			   (n < 0 || n > STEER_REPORT_MAX)) {
			snprintf(reason, size, "\"%.40s\": expected a weight 0..%d", o->weight_json,
				 STEER_REPORT_MAX);
			rc = -1;
		} else if (n >= 0) {
			*percent = (int)n;
		}
		json_decref(root);
		return rc;
	}
	return 0;
}

static void judge(struct probe *p, CURLcode rc, bool *ok, char *reason, size_t size)
{
	const struct probe_spec *s = p->spec;
	const struct probe_http_opts *o = s->opts;
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
	if (!status_ok(o, status)) {
		return;
	}
	/* A HEAD has no body to search. */
	if (o->expect_body && !o->head &&
	    !memmem(run->body ? run->body : "", run->len, o->expect_body, strlen(o->expect_body))) {
		snprintf(reason, size, "body lacks \"%.60s\"", o->expect_body);
		return;
	}
	if (o->weight_header || o->weight_json) {
		int percent = -1;
		if (read_weight(o, run, &percent, reason, size) != 0) {
			return;
		}
		health_report_weight(p->eng->table, s->entry, percent, -1);
		snprintf(reason, size, "status %ld, weight %d%%", status, percent);
	}
	*ok = true;
}

/* Response headers, one line at a time: keep weight_header's value (of the
 * last response, after redirects or a 100 Continue). */
static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct probe *p = userdata;
	const struct probe_http_opts *o = p->spec->opts;
	struct probe_http_run *run = p->http;
	size_t len = size * nmemb, name = strlen(o->weight_header);

	if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		run->weight_seen = false; /* a new response */
	} else if (len > name && ptr[name] == ':' && strncasecmp(ptr, o->weight_header, name) == 0) {
		const char *v = ptr + name + 1;
		size_t vlen = len - name - 1;
		while (vlen && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' ||
				v[vlen - 1] == '\t')) {
			vlen--;
		}
		run->weight_seen = true;
		run->weight_len = vlen < sizeof(run->weight_value) ? vlen : sizeof(run->weight_value);
		memcpy(run->weight_value, v, run->weight_len);
	}
	return len;
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

static int http_init(struct probe_engine *e)
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

static void http_fini(struct probe_engine *e)
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
	const struct probe_http_opts *s = p->spec->opts;
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

static void http_clear(struct probe *p);

static void http_setup(struct probe *p)
{
	const struct probe_http_opts *s = p->spec->opts;

	http_clear(p); /* what the previous spec had set up */
	if (!s || !s->url) {
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
		if (p->spec->kind == &check_kind_https) {
			https_by_name(p);
		}
	}
}

static void http_clear(struct probe *p)
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

static void http_start(struct probe *p)
{
	const struct probe_spec *s = p->spec;
	const struct probe_http_opts *o = s->opts;
	struct probe_engine *e = p->eng;
	struct probe_http_run *run;
	long ms = (long)(s->timeout * 1e3 + 0.5);
	CURLMcode mc;
	CURL *c;

	if (!e->multi && !e->curl_tried) {
		/* First http(s) probe of this engine: load libcurl now. */
		e->curl_tried = true;
		if (http_init(e) != 0) {
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
	run->keep_body = (o->expect_body != NULL || o->weight_json != NULL) && !o->head;
	if (o->weight_header) {
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, p);
	}
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
	if (o->head) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	}
	if (p->http_headers) {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->http_headers);
	}
	if (p->http_connect) {
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, p->http_connect);
	}
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o->tls_verify ? 2L : 0L);
	p->http = run;
	mc = curl_multi_add_handle(e->multi, c);
	if (mc != CURLM_OK) {
		curl_easy_cleanup(c);
		run->easy = NULL;
		run_free(p);
		probe_done(p, false, curl_multi_strerror(mc));
	}
}

static void http_cancel(struct probe *p)
{
	run_free(p);
}

/* --- configuration ------------------------------------------------------------- */

static void *opts_new(void)
{
	struct probe_http_opts *o = xcalloc(1, sizeof(*o));

	o->path = xstrdup("/");
	o->tls_verify = true;
	status_set(o, 200, 399);
	return o;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void *opts_dup(const void *opts)
{
	const struct probe_http_opts *o = opts;
	struct probe_http_opts *d = xmemdup(o, sizeof(*o));

	d->path = dup_or_null(o->path);
	d->url = dup_or_null(o->url);
	d->host = dup_or_null(o->host);
	d->expect_body = dup_or_null(o->expect_body);
	d->weight_header = dup_or_null(o->weight_header);
	d->weight_json = dup_or_null(o->weight_json);
	return d;
}

static void opts_free(void *opts)
{
	struct probe_http_opts *o = opts;

	if (!o) {
		return;
	}
	free(o->path);
	free(o->url);
	free(o->host);
	free(o->expect_body);
	free(o->weight_header);
	free(o->weight_json);
	free(o);
}

/* Replace the string *@out by @s's value (kept when @s is no string). */
static void set_string(struct conf_ctx *c, char **out, const config_setting_t *s)
{
	const char *str = conf_string(c, s);

	if (str) {
		free(*out);
		*out = xstrdup(str);
	}
}

static void parse_path(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	set_string(c, &((struct probe_http_opts *)k->opts)->path, s);
}

static void parse_host(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	set_string(c, &((struct probe_http_opts *)k->opts)->host, s);
}

static void parse_expect_body(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	set_string(c, &((struct probe_http_opts *)k->opts)->expect_body, s);
}

static void parse_weight_header(struct conf_ctx *c, struct conf_check *k,
				const config_setting_t *s)
{
	struct probe_http_opts *o = k->opts;

	set_string(c, &o->weight_header, s);
	if (o->weight_header &&
	    (!o->weight_header[0] || strlen(o->weight_header) > 64 ||
	     strspn(o->weight_header, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789-_") != strlen(o->weight_header))) {
		conf_error(c, s, "expected a header name (letters, digits, '-', '_'; at most 64)");
	}
}

static void parse_weight_json(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	struct probe_http_opts *o = k->opts;

	set_string(c, &o->weight_json, s);
	if (o->weight_json && (!o->weight_json[0] || strlen(o->weight_json) > 64)) {
		conf_error(c, s, "expected a JSON key of 1 to 64 bytes");
	}
}

static void parse_method(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	struct probe_http_opts *o = k->opts;
	const char *str = conf_string(c, s);

	if (!str) {
		return;
	}
	if (strcmp(str, "GET") == 0 || strcmp(str, "HEAD") == 0) {
		o->head = str[0] == 'H';
	} else {
		conf_error(c, s, "expected \"GET\" or \"HEAD\", got \"%s\"", str);
	}
}

static void parse_tls_verify(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	conf_bool(c, s, &((struct probe_http_opts *)k->opts)->tls_verify);
}

/* A status (200), a class ("2xx"), or a list of them; they replace the
 * default 2xx and 3xx. */
static void parse_expect_status(struct conf_ctx *c, struct conf_check *k,
				const config_setting_t *list)
{
	struct probe_http_opts *o = k->opts;
	int type = config_setting_type(list);
	bool one = type == CONFIG_TYPE_STRING || type == CONFIG_TYPE_INT;
	int n = one ? 1 : config_setting_length(list);

	if (!one && type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
		conf_error(c, list, "expected statuses such as [ 200, \"3xx\" ]");
		return;
	}
	memset(o->status_ok, 0, sizeof(o->status_ok));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = one ? list : config_setting_get_elem(list, (unsigned)i);
		const char *str = config_setting_type(e) == CONFIG_TYPE_STRING
				      ? config_setting_get_string(e)
				      : NULL;
		long lo, hi;
		if (config_setting_type(e) == CONFIG_TYPE_INT) {
			lo = hi = config_setting_get_int(e);
		} else if (str && strlen(str) == 3 && str[0] >= '1' && str[0] <= '7' &&
			   strcmp(str + 1, "xx") == 0) {
			lo = (str[0] - '0') * 100;
			hi = lo + 99;
		} else {
			conf_error(c, e, "expected a status (200) or a class (\"2xx\")");
			continue;
		}
		if (lo < STATUS_MIN || hi > STATUS_MAX) {
			conf_error(c, e, "expected a status from %d to %d, got %ld", STATUS_MIN,
				   STATUS_MAX, lo);
			continue;
		}
		status_set(o, lo, hi);
	}
}

/* The member's url and host win over what the check builds. */
static void make_spec(struct probe_spec *ps, const struct conf_check *k,
		      const struct conf_member *m)
{
	struct probe_http_opts *o = opts_dup(k->opts);
	char url[1200], a[INET6_ADDRSTRLEN];

	if (m->url) {
		o->url = xstrdup(m->url);
	} else {
		snprintf(url, sizeof(url),
			 ps->addr.ss_family == AF_INET6 ? "%s://[%s]:%u%s" : "%s://%s:%u%s",
			 k->kind == &check_kind_https ? "https" : "http",
			 probe_addr_text(a, sizeof(a), ps), probe_port(ps), o->path);
		o->url = xstrdup(url);
	}
	if (m->host) {
		free(o->host);
		o->host = xstrdup(m->host);
	}
	ps->opts = o;
}

static const struct check_setting settings[] = {
    {"port", conf_check_port},
    {"path", parse_path},
    {"host", parse_host},
    {"method", parse_method},
    {"expect_status", parse_expect_status},
    {"expect_body", parse_expect_body},
    {"weight_header", parse_weight_header},
    {"weight_json", parse_weight_json},
    {"tls_verify", parse_tls_verify},
    {NULL, NULL},
};

static const char *const member_settings[] = {"port", "probe_address", "host", "url", NULL};

const struct check_kind check_kind_http = {
    .name = "http",
    .settings = settings,
    .member_settings = member_settings,
    .default_port = 80,
    .opts_new = opts_new,
    .opts_dup = opts_dup,
    .opts_free = opts_free,
    .make_spec = make_spec,
    .setup = http_setup,
    .clear = http_clear,
    .start = http_start,
    .cancel = http_cancel,
    .fini = http_fini,
};

/* https differs in its scheme and default port, and in how a Host is sent
 * (https_by_name). Both take the same settings: an http check's member may
 * give an https:// url, so tls_verify applies to http too. https shares the
 * engine's curl state with http, whose fini frees it. */
const struct check_kind check_kind_https = {
    .name = "https",
    .settings = settings,
    .member_settings = member_settings,
    .default_port = 443,
    .opts_new = opts_new,
    .opts_dup = opts_dup,
    .opts_free = opts_free,
    .make_spec = make_spec,
    .setup = http_setup,
    .clear = http_clear,
    .start = http_start,
    .cancel = http_cancel,
};
