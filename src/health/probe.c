/* probe.c -- the probe engine core: its thread and loop, the handover of new
 * probe sets, scheduling with spread and jitter, deadlines, and reporting.
 *
 * The main thread only copies specs and hands them over under a mutex; the
 * probe thread owns every probe and watcher. Each probe has one schedule
 * timer and, while a run is in flight, one deadline timer; a run never blocks
 * the loop, so a hung backend costs one socket (or child) and nothing else.
 * Each kind lives in its own file (probe_tcp.c, ...) behind its struct
 * check_kind: this file calls the kinds only through those tables. */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "health/curl_dl.h"
#include <ev.h>

#include "util/log.h"
#include "util/mem.h"
#include "health/check_kind.h"
#include "health/check_kinds.h"
#include "health/probe.h"
#include "health/probe_int.h"

/* Below this the loop would spend its time rescheduling; conf enforces it too. */
#define MIN_INTERVAL 0.1

/* --- services for the kinds ----------------------------------------------------- */

/* splitmix64: one generator per engine, used by its thread only. Spread and
 * DNS IDs need unpredictability against nobody; quality is plenty. */
static uint64_t next_random(struct probe_engine *e)
{
	uint64_t z = (e->rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

double probe_random(struct probe_engine *e)
{
	return (double)(next_random(e) >> 11) * 0x1.0p-53;
}

uint16_t probe_random16(struct probe_engine *e)
{
	return (uint16_t)(next_random(e) >> 48);
}

const char *probe_addr_text(char *buf, size_t size, const struct probe_spec *s)
{
	const void *a;

	if (s->addr.ss_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)&s->addr)->sin6_addr;
	} else {
		a = &((const struct sockaddr_in *)&s->addr)->sin_addr;
	}
	if (!inet_ntop(s->addr.ss_family, a, buf, (socklen_t)size)) {
		snprintf(buf, size, "?");
	}
	return buf;
}

unsigned probe_port(const struct probe_spec *s)
{
	if (s->addr.ss_family == AF_INET6) {
		return ntohs(((const struct sockaddr_in6 *)&s->addr)->sin6_port);
	}
	return ntohs(((const struct sockaddr_in *)&s->addr)->sin_port);
}

void probe_watch(struct probe *p, int fd, int events, void (*cb)(struct ev_loop *, ev_io *, int))
{
	p->fd = fd;
	ev_io_init(&p->io, cb, fd, events);
	p->io.data = p;
	ev_io_start(p->eng->loop, &p->io);
}

void probe_unwatch(struct probe *p)
{
	ev_io_stop(p->eng->loop, &p->io);
	close(p->fd);
	p->fd = -1;
}

void probe_fail_errno(struct probe *p, const char *what, int err)
{
	char tmp[128], reason[PROBE_REASON_MAX];
	const char *m = strerror_r(err, tmp, sizeof(tmp));

	if (what) {
		snprintf(reason, sizeof(reason), "%s: %s", what, m);
	} else {
		/* "connection refused", like the other reasons. */
		snprintf(reason, sizeof(reason), "%s", m);
		reason[0] = (char)tolower((unsigned char)reason[0]);
	}
	probe_done(p, false, reason);
}

/* --- runs ------------------------------------------------------------------------ */

static void cancel_run(struct probe *p)
{
	if (p->spec->kind->cancel) {
		p->spec->kind->cancel(p);
	}
}

/* Replace p's spec (no run may be in flight) and rederive what the kind
 * keeps per probe. A kind that stays keeps its state through setup (the file
 * kind attaches to the new file before it lets go of the old one, so a kept
 * path keeps its cache and watcher); a kind that goes clears it first. */
static void install(struct probe *p, struct probe_spec *s)
{
	struct probe_spec *old = p->spec;

	assert(!p->running);
	if (old && old->kind != s->kind && old->kind->clear) {
		old->kind->clear(p);
	}
	p->spec = s;
	p->setup_err[0] = 0;
	if (s->kind->setup) {
		s->kind->setup(p);
	}
	probe_spec_free(old);
}

void probe_done(struct probe *p, bool ok, const char *reason)
{
	struct probe_engine *e = p->eng;
	ev_tstamp now = ev_now(e->loop);
	double latency = (now - p->started) * 1e3;

	assert(p->running);
	p->running = false;
	ev_timer_stop(e->loop, &p->timeout);
	/* ev_now is the wall clock as of this loop iteration. */
	health_record(e->table, p->spec->entry, ok, reason, latency > 0 ? latency : 0,
		      p->spec->rise, p->spec->fall, now);
	if (p->next_spec) {
		struct probe_spec *s = p->next_spec;
		p->next_spec = NULL;
		install(p, s);
	}
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe *p = w->data;
	char reason[PROBE_REASON_MAX];

	if (p->spec->kind->timeout_reason) {
		snprintf(reason, sizeof(reason), "%s", p->spec->kind->timeout_reason);
	} else {
		snprintf(reason, sizeof(reason), "timeout after %.0f ms", p->spec->timeout * 1e3);
	}
	cancel_run(p);
	probe_done(p, false, reason);
}

void probe_run(struct probe *p)
{
	struct probe_engine *e = p->eng;

	if (p->running) {
		return;
	}
	p->running = true;
	p->started = ev_now(e->loop);
	if (p->setup_err[0]) {
		probe_done(p, false, p->setup_err);
		return;
	}
	ev_timer_set(&p->timeout, p->spec->timeout > 0 ? p->spec->timeout : 0.001, 0.);
	ev_timer_start(e->loop, &p->timeout);
	if (p->spec->kind->start) {
		p->spec->kind->start(p);
	} else {
		probe_done(p, true, "no check");
	}
}

/* --- schedule -------------------------------------------------------------------- */

static double interval_of(const struct probe_spec *s)
{
	return s->interval >= MIN_INTERVAL ? s->interval : MIN_INTERVAL;
}

/* Every interval, give or take 10%: probes that started together drift
 * apart instead of hitting a shared backend (or our own loop) in step. */
static void sched_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe *p = w->data;

	ev_timer_set(w, interval_of(p->spec) * (0.9 + 0.2 * probe_random(p->eng)), 0.);
	ev_timer_start(loop, w);
	probe_run(p); /* skipped while the previous run is still in flight */
}

static struct probe *probe_new(struct probe_engine *e, struct probe_spec *s)
{
	struct probe *p = xcalloc(1, sizeof(*p));

	p->eng = e;
	p->fd = -1;
	ev_timer_init(&p->sched, sched_cb, 0., 0.);
	p->sched.data = p;
	ev_timer_init(&p->timeout, timeout_cb, 0., 0.);
	p->timeout.data = p;
	ev_init(&p->io, NULL);
	p->io.data = p;
	install(p, s);
	/* Spread: the first run falls anywhere in the first interval. */
	ev_timer_set(&p->sched, interval_of(s) * probe_random(e), 0.);
	ev_timer_start(e->loop, &p->sched);
	return p;
}

static void probe_free(struct probe *p)
{
	struct probe_engine *e = p->eng;

	ev_timer_stop(e->loop, &p->sched);
	if (p->running) {
		cancel_run(p);
		ev_timer_stop(e->loop, &p->timeout);
		p->running = false;
	}
	if (p->spec->kind->clear) {
		p->spec->kind->clear(p);
	}
	probe_spec_free(p->spec);
	probe_spec_free(p->next_spec);
	free(p);
}

/* A kept probe takes its new parameters now, or when its run ends (a run
 * in flight keeps the spec it began with). Its schedule stays, unless the
 * new interval is shorter than what is left of the current one. */
static void probe_update(struct probe *p, struct probe_spec *s)
{
	struct probe_engine *e = p->eng;
	double iv = interval_of(s);

	if (p->running) {
		probe_spec_free(p->next_spec);
		p->next_spec = s;
	} else {
		install(p, s);
	}
	if (ev_timer_remaining(e->loop, &p->sched) > iv) {
		ev_timer_stop(e->loop, &p->sched);
		ev_timer_set(&p->sched, iv * probe_random(e), 0.);
		ev_timer_start(e->loop, &p->sched);
	}
}

static int cmp_spec(const void *a, const void *b)
{
	return strcmp((*(struct probe_spec *const *)a)->key, (*(struct probe_spec *const *)b)->key);
}

/* Merge the sorted new set with the sorted running one by key. Takes
 * ownership of @specs and its elements. */
static void reconcile(struct probe_engine *e, struct probe_spec **specs, size_t n)
{
	struct probe **next = xcalloc(n ? n : 1, sizeof(*next));
	size_t i = 0, j = 0, k = 0, m = 0;

	/* Drop what is never scheduled, and duplicate keys (first wins). */
	for (size_t a = 0; a < n; a++) {
		if (!specs[a]->kind->start || !specs[a]->key || !specs[a]->entry) {
			probe_spec_free(specs[a]);
		} else {
			specs[m++] = specs[a];
		}
	}
	if (m > 1) {
		qsort(specs, m, sizeof(*specs), cmp_spec);
	}
	n = 0;
	for (size_t a = 0; a < m; a++) {
		if (n > 0 && strcmp(specs[n - 1]->key, specs[a]->key) == 0) {
			log_warn("probe %s given twice; using the first", specs[a]->key);
			probe_spec_free(specs[a]);
		} else {
			specs[n++] = specs[a];
		}
	}

	while (i < e->nprobes || j < n) {
		int c;
		if (i == e->nprobes) {
			c = 1;
		} else if (j == n) {
			c = -1;
		} else {
			c = strcmp(e->probes[i]->spec->key, specs[j]->key);
		}
		if (c < 0) {
			probe_free(e->probes[i++]);
		} else if (c == 0) {
			probe_update(e->probes[i], specs[j++]);
			next[k++] = e->probes[i++];
		} else {
			next[k++] = probe_new(e, specs[j++]);
		}
	}
	free(specs);
	free(e->probes);
	e->probes = next;
	e->nprobes = k;
	log_debug("probes: %zu scheduled", k);
}

/* --- the thread ------------------------------------------------------------------ */

static void free_specs(struct probe_spec **specs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		probe_spec_free(specs[i]);
	}
	free(specs);
}

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct probe_engine *e = w->data;
	struct probe_spec **specs;
	size_t n;
	bool has, stop;

	pthread_mutex_lock(&e->lock);
	stop = e->stop;
	has = e->has_pending;
	specs = e->pending;
	n = e->npending;
	e->pending = NULL;
	e->npending = 0;
	e->has_pending = false;
	pthread_mutex_unlock(&e->lock);

	if (stop) {
		free_specs(specs, n);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (has) {
		reconcile(e, specs, n);
		atomic_fetch_add(&e->applied, 1);
	}
}

static void *engine_main(void *arg)
{
	struct probe_engine *e = arg;
	sigset_t all;

	/* Signals belong to the main loop (also inherited from the creator). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_setname_np(pthread_self(), "gslbd-probe");
	atomic_store(&e->tid, (int)gettid());

	ev_run(e->loop, 0);

	for (size_t i = 0; i < e->nprobes; i++) {
		probe_free(e->probes[i]);
	}
	free(e->probes);
	e->probes = NULL;
	e->nprobes = 0;
	for (size_t i = 0; check_kinds[i]; i++) {
		if (check_kinds[i]->fini) {
			check_kinds[i]->fini(e);
		}
	}
	ev_async_stop(e->loop, &e->wake);
	return NULL;
}

struct probe_engine *probe_engine_new(struct health_table *t)
{
	struct probe_engine *e = xcalloc(1, sizeof(*e));
	const char *path = getenv("PATH");
	uint64_t seed;

	e->table = t;
	pthread_mutex_init(&e->lock, NULL);
	atomic_init(&e->applied, 0);
	atomic_init(&e->tid, 0);
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	}
	e->rng = seed;
	if (path) {
		size_t l = strlen(path);
		e->path_env = xmalloc(l + 6);
		memcpy(e->path_env, "PATH=", 5);
		memcpy(e->path_env + 5, path, l + 1);
	}
	/* Not the default loop: the main thread may own that one, and with it
	 * SIGCHLD. Signal masks are ours to set, not libev's. */
	e->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!e->loop) {
		log_err("probe: cannot create an event loop");
		pthread_mutex_destroy(&e->lock);
		free(e->path_env);
		free(e);
		return NULL;
	}
	ev_async_init(&e->wake, wake_cb);
	e->wake.data = e;
	ev_async_start(e->loop, &e->wake);
	return e;
}

int probe_engine_start(struct probe_engine *e)
{
	sigset_t all, old;
	int err;

	assert(!e->started);
	/* The thread starts with every signal blocked: no window in which one
	 * could be delivered to it. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&e->thread, NULL, engine_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		log_err("cannot start the probe thread: %s", strerror(err));
		return -1;
	}
	e->started = true;
	return 0;
}

void probe_engine_set(struct probe_engine *e, struct probe_spec *const *specs, size_t n)
{
	struct probe_spec **copy = xcalloc(n ? n : 1, sizeof(*copy));
	struct probe_spec **old;
	size_t nold;

	for (size_t i = 0; i < n; i++) {
		copy[i] = probe_spec_dup(specs[i]);
	}
	pthread_mutex_lock(&e->lock);
	old = e->pending;
	nold = e->npending;
	e->pending = copy;
	e->npending = n;
	e->has_pending = true;
	pthread_mutex_unlock(&e->lock);
	/* A set the thread had not taken yet is superseded. */
	free_specs(old, nold);
	ev_async_send(e->loop, &e->wake);
}

void probe_engine_free(struct probe_engine *e)
{
	if (!e) {
		return;
	}
	if (e->started) {
		pthread_mutex_lock(&e->lock);
		e->stop = true;
		pthread_mutex_unlock(&e->lock);
		ev_async_send(e->loop, &e->wake);
		pthread_join(e->thread, NULL);
	} else {
		ev_async_stop(e->loop, &e->wake);
	}
	free_specs(e->pending, e->npending);
	ev_loop_destroy(e->loop);
	pthread_mutex_destroy(&e->lock);
	free(e->path_env);
	free(e);
	/* libcurl, once loaded, stays initialised until the process exits:
	 * curl_global_cleanup is not safe while another engine might use it. */
}
