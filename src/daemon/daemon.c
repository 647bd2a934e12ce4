/* daemon.c -- the main thread's life: start-up, signals, reloads, the probe
 * engine's wiring, the state-file timer and the control socket. The sockets
 * and workers are server.c's; answers are the DNS core's. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ctl/control.h"
#include "daemon/daemon.h"
#include "geo/geo_watch.h"
#include "daemon/notify.h"
#include "daemon/http.h"
#include "daemon/privs.h"
#include "daemon/server.h"
#include "daemon/stats.h"
#include "data/conf.h"
#include "data/snapshot.h"
#include "dns/rrl.h"
#include "dnstap/dnstap.h"
#include "dnssec/dnssec.h"
#include "health/health.h"
#include "health/probe.h"
#include "lb/steer.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sbuf.h"

/* The state file is rewritten at most this often after a change. */
#define STATE_SAVE_INTERVAL 1.0

/* What start-up fixed for the life of the process: the sockets, the worker
 * layout and who we run as. A reload that asks for other values is told
 * they wait for a restart, every time, until there is one. */
struct boot {
	struct sockaddr_storage *listens;
	socklen_t *lens;
	size_t nlistens;
	bool listen_host_addresses;
	unsigned threads, tcp_idle_timeout, tcp_max_clients, tcp_max_per_client;
	bool has_user;
	uid_t uid;
	gid_t gid;
	char *state_file;
};

/* A reload: config and zones are read and the snapshot built in a thread of
 * its own, so that the main loop keeps serving the control socket, signals,
 * probes' health and the state file meanwhile (a big config takes seconds).
 * The main thread starts it and, woken by @done, joins it and swaps. */
struct reload_job {
	pthread_t thread;
	bool running; /* a build thread exists: started, not joined yet */
	bool again;   /* SIGHUP during the build: one more reload after it */
	ev_async done;
	/* Read by the build thread, set before it starts: */
	struct ev_loop *loop;
	const char *conf_path;
	struct health_table *health;
	bool as_root;
	/* Written by the build thread, read by the main thread after the join: */
	struct snapshot *snap; /* NULL: failed, for the reason in @why */
	const char *why;
	struct sbuf logged; /* the errors and warnings of the build */
};

struct daemon {
	const char *conf_path;
	struct ev_loop *loop;
	struct server *srv;
	struct health_table *health;
	struct stats *stats;
	struct probe_engine *probes;
	struct control *control;
	struct boot boot;
	struct rrl_table *rrl; /* rate limiting's buckets, kept across reloads; or NULL */
	struct dnstap *dnstap; /* the dnstap writer, kept while its destination is; or NULL */
	bool serving;          /* start-up went through: only then is the state saved at exit */
	struct reload_job job;
	struct http *http; /* the operators' HTTP listener, or NULL */
	ev_signal sighup, sigterm, sigint;
	ev_timer save_timer;
	struct geo_watch *geo; /* the geo maps' files: a change reloads */
	struct notify *notify; /* the service manager's, or NULL */
	ev_timer resign_timer; /* DNSSEC: rebuild before signatures run out */
	struct steer *steer;   /* effective weights, timed drains, shifts */
	ev_timer steer_timer;
	ev_async steer_wake;   /* the probe thread: something weights depend on changed */
	double steer_due;      /* wall clock of the next change due by time, 0: none */
	double steer_last;     /* wall clock of the last refresh */
};

/* How often the main thread looks for changes effective weights depend on
 * (probe results, reports, commands): the delay a change takes to reach the
 * weights, at the cost of one atomic load when nothing changed. */
#define STEER_TICK 0.05

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What the live snapshot probes is what the engine runs and what the state
 * file records. */
static void health_follow(struct daemon *d)
{
	const struct snapshot *s = server_snapshot(d->srv);
	struct health_entry **probed = xcalloc(s->nspecs ? s->nspecs : 1, sizeof(*probed));

	for (size_t i = 0; i < s->nspecs; i++) {
		probed[i] = s->specs[i]->entry;
	}
	health_retain(d->health, probed, s->nspecs);
	free(probed);
	if (d->probes) {
		probe_engine_set(d->probes, (struct probe_spec *const *)s->specs, s->nspecs);
	}
}

static int reload_start(struct daemon *d, struct sbuf *why);

/* Recompute effective weights of @s and publish those that changed; the sets
 * they replace are freed after a grace period when @s is live, at once when
 * no worker has seen it yet. */
static void steer_apply(struct daemon *d, const struct snapshot *s, bool live)
{
	struct steer_retired r = { NULL, 0, 0 };

	d->steer_last = wall_now();
	d->steer_due = steer_refresh(d->steer, s, d->steer_last, &r);
	if (r.n && live) {
		server_synchronize(d->srv);
	}
	steer_retired_free(&r);
}

static void steer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct daemon *d = t->data;

	(void)loop;
	(void)revents;
	if (steer_stale(d->steer) || (d->steer_due && wall_now() >= d->steer_due)) {
		steer_apply(d, server_snapshot(d->srv), true);
	}
}

static void steer_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct daemon *d = a->data;

	(void)loop;
	(void)revents;
	/* At once, unless a refresh ran less than a tick ago: then the timer
	 * takes it, so that many backends reporting at once cost at most one
	 * refresh (a walk of every pool) per tick. */
	if (steer_stale(d->steer) && wall_now() - d->steer_last >= STEER_TICK) {
		steer_apply(d, server_snapshot(d->srv), true);
	}
}

/* Probe thread: wake the main loop (ev_async_send is thread-safe). */
static void steer_notify(void *arg)
{
	struct daemon *d = arg;

	ev_async_send(d->loop, &d->steer_wake);
}

static const struct snapshot *ctl_current(void *arg)
{
	return server_snapshot(((struct daemon *)arg)->srv);
}

static int ctl_reload(void *arg, struct sbuf *why)
{
	return reload_start(arg, why);
}

/* A command changed an override, a runtime weight or a shift: the weights
 * follow before the command's reply (a `status` right after it agrees),
 * and the state file is saved. */
static void ctl_admin_changed(void *arg)
{
	struct daemon *d = arg;

	steer_apply(d, server_snapshot(d->srv), true);
	health_save_state(d->health);
}

static void boot_init(struct boot *b, const struct conf *c)
{
	b->nlistens = c->nlistens;
	b->listens = xcalloc(c->nlistens ? c->nlistens : 1, sizeof(*b->listens));
	b->lens = xcalloc(c->nlistens ? c->nlistens : 1, sizeof(*b->lens));
	for (size_t i = 0; i < c->nlistens; i++) {
		b->listens[i] = c->listens[i].addr;
		b->lens[i] = c->listens[i].addrlen;
	}
	b->listen_host_addresses = c->listen_host_addresses;
	b->threads = c->threads;
	b->tcp_idle_timeout = c->tcp_idle_timeout;
	b->tcp_max_clients = c->tcp_max_clients;
	b->tcp_max_per_client = c->tcp_max_per_client;
	b->has_user = c->user != NULL;
	b->uid = c->uid;
	b->gid = c->gid;
	b->state_file = c->state_file ? xstrdup(c->state_file) : NULL;
}

static void boot_clear(struct boot *b)
{
	free(b->listens);
	free(b->lens);
	free(b->state_file);
}

static bool same_listens(const struct boot *b, const struct conf *c)
{
	if (b->nlistens != c->nlistens) {
		return false;
	}
	for (size_t i = 0; i < c->nlistens; i++) {
		bool found = false;
		for (size_t j = 0; j < b->nlistens && !found; j++) {
			found = b->lens[j] == c->listens[i].addrlen &&
				memcmp(&b->listens[j], &c->listens[i].addr, b->lens[j]) == 0;
		}
		if (!found) {
			return false;
		}
	}
	return true;
}

/* One more item for the reload result: "a; b". */
static struct sbuf *note(struct sbuf *notes)
{
	if (notes->len) {
		sb_printf(notes, "; ");
	}
	return notes;
}

/* What of @next this process cannot apply: settings fixed at start-up
 * (listeners are bound before root is given up; new ones on privileged
 * ports could not be bound now, so none are, privileged or not), and a
 * control socket path it is no longer allowed to create. Control socket
 * changes it can make are made here. Each refusal goes to the log and, short,
 * to @notes. The rest of the reload applies. */
static void apply_restart_only(struct daemon *d, const struct conf *next, struct sbuf *notes)
{
	const struct boot *b = &d->boot;
	char why[256];

	if (!same_listens(b, next) || b->listen_host_addresses != next->listen_host_addresses) {
		log_warn("reload: listen changed: not applied; the listeners of start-up keep "
			 "serving until the next restart");
		sb_printf(note(notes),
			  "listen (the listeners of start-up serve until the next restart)");
	}
	if (b->threads != next->threads || b->tcp_idle_timeout != next->tcp_idle_timeout ||
	    b->tcp_max_clients != next->tcp_max_clients ||
	    b->tcp_max_per_client != next->tcp_max_per_client) {
		log_warn("reload: threads and tcp_* changes take effect at the next restart");
		sb_printf(note(notes), "threads and tcp_* settings (next restart)");
	}
	if (b->has_user != (next->user != NULL) || b->uid != next->uid || b->gid != next->gid) {
		log_warn("reload: user and group changes take effect at the next restart");
		sb_printf(note(notes), "user and group (next restart)");
	}
	if ((b->state_file == NULL) != (next->state_file == NULL) ||
	    (b->state_file && strcmp(b->state_file, next->state_file) != 0)) {
		log_warn("reload: state_file changes take effect at the next restart");
		sb_printf(note(notes), "state_file (next restart)");
	}
	if (!next->control_socket) {
		if (d->control) {
			log_warn("reload: control socket %s stays open until the next restart",
				 control_path(d->control));
			sb_printf(note(notes), "control socket removal (next restart)");
		}
	} else if (!d->control) {
		struct control_ops ops = { ctl_current, ctl_reload, ctl_admin_changed,
					   d->health,   d->stats,   d,	d->steer };
		d->control = control_new(d->loop, next->control_socket, next->control_mode, &ops);
		if (!d->control) {
			sb_printf(note(notes), "control socket %s (not created, see the log)",
				  next->control_socket);
		}
	} else if (strcmp(control_path(d->control), next->control_socket) != 0 ||
		   control_mode(d->control) != (next->control_mode & 07777)) {
		const char *was = control_path(d->control);
		if (control_rebind(d->control, next->control_socket, next->control_mode, why,
				   sizeof(why)) != 0) {
			log_warn("reload: control socket %s not applied (%s); %s stays",
				 next->control_socket, why, was);
			sb_printf(note(notes), "control socket %s (%s; %s stays)",
				  next->control_socket, why, was);
		}
	}
}

/* The dnstap writer for the config @next: the live one if it writes where
 * @next says, a new one if @next names another destination, none if @next
 * has no dnstap. A new destination that cannot be opened keeps the live
 * writer (or none), said in the log and, short, in @notes. Main thread. */
static struct dnstap *dnstap_apply(struct daemon *d, const struct conf *next, struct sbuf *notes)
{
	const struct conf_dnstap *c = next->dnstap;
	struct dnstap *dt;
	char why[512];

	if (!c) {
		if (d->dnstap) {
			log_info("reload: dnstap off (was %s)", dnstap_destination(d->dnstap));
		}
		return NULL;
	}
	if (dnstap_same_destination(d->dnstap, c)) {
		return d->dnstap;
	}
	dt = dnstap_new(c, server_nthreads(d->srv), why, sizeof(why));
	if (dt) {
		log_info("dnstap: logging to %s, one query in %u", dnstap_destination(dt), c->sample);
		return dt;
	}
	if (d->dnstap) {
		log_warn("%s: %s; the writer to %s stays", c->where, why,
			 dnstap_destination(d->dnstap));
		sb_printf(note(notes), "dnstap %s (%s; %s stays)", c->socket ? c->socket : c->file,
			  why, dnstap_destination(d->dnstap));
	} else {
		log_warn("%s: %s; dnstap stays off", c->where, why);
		sb_printf(note(notes), "dnstap %s (%s; stays off)", c->socket ? c->socket : c->file,
			  why);
	}
	return d->dnstap;
}

/* The build thread: everything of a reload that reads files and makes the
 * new snapshot, touching nothing live. Health entries it needs come from the
 * health table, which takes its own lock; only one build runs at a time. */
static void *reload_main(void *arg)
{
	struct reload_job *j = arg;
	struct conf *conf;

	log_capture(&j->logged);
	conf = conf_load(j->conf_path);
	/* Who we are now, not who the new config names: user changes wait for a
	 * restart, so a process still root runs no exec check. */
	if (conf && privs_check_exec(conf, j->as_root) != 0) {
		conf_free(conf);
		conf = NULL;
	}
	if (!conf) {
		j->why = "configuration errors above";
	} else {
		j->snap = snapshot_build_health(conf, j->health);
		if (!j->snap) {
			j->why = "zone or pool errors above";
		}
	}
	log_capture(NULL);
	ev_async_send(j->loop, &j->done);
	return NULL;
}

/* Start a reload. @why NULL (SIGHUP): while one builds, another is queued
 * to follow it. Otherwise (the control socket) one in progress is a refusal,
 * with the reason in @why. Returns 0 if a build started or was queued. */
static int reload_start(struct daemon *d, struct sbuf *why)
{
	struct reload_job *j = &d->job;
	sigset_t all, old;
	int e;

	if (j->running) {
		if (!why) {
			log_info("reload requested while one is in progress: another follows it");
			j->again = true;
			return 0;
		}
		log_info("reload requested while one is in progress: refused");
		sb_printf(why, "reload in progress; retry when it is done");
		return -1;
	}
	log_info("reloading %s", d->conf_path);
	j->loop = d->loop;
	j->conf_path = d->conf_path;
	j->health = d->health;
	j->as_root = geteuid() == 0;
	j->snap = NULL;
	j->why = NULL;
	sb_init(&j->logged);
	/* Like the workers, the build thread leaves signals to the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(&j->thread, NULL, reload_main, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		log_err("reload failed: cannot start its thread: %s; keeping the previous "
			"configuration", strerror(e));
		if (why) {
			sb_printf(why, "cannot start the reload thread: %s", strerror(e));
		}
		sb_clear(&j->logged);
		stats_reload(d->stats, false, wall_now());
		return -1;
	}
	j->running = true;
	notify_reloading(d->notify);
	return 0;
}

/* The main thread's part of a finished build: swap the new snapshot in, or
 * keep the live one and say why. A one-line result goes to @msg, after the
 * errors and warnings the build logged (for `gslbctl reload`). Returns 0 if
 * the new configuration is live. */
static int reload_finish(struct daemon *d, struct sbuf *msg)
{
	struct reload_job *j = &d->job;
	struct snapshot *snap = j->snap;
	struct sbuf notes;
	struct rrl_table *old_rrl;
	struct dnstap *old_dnstap;

	j->snap = NULL;
	/* The errors and warnings of the build go to the control client too. */
	sb_append(msg, j->logged.p, j->logged.len);
	sb_clear(&j->logged);
	if (!snap) {
		log_err("reload failed: %s; keeping the previous configuration", j->why);
		sb_printf(msg, "reload failed: %s; keeping the previous configuration\n", j->why);
		stats_reload(d->stats, false, wall_now());
		return -1;
	}
	/* What the live config drew at random (a cookie secret) stays. The
	 * build could not look: the live snapshot is the main thread's. */
	conf_inherit(snap->conf, server_snapshot(d->srv)->conf);
	sb_init(&notes);
	apply_restart_only(d, snap->conf, &notes);
	stats_bind_pools(d->stats, snap->pools, snap->npools);
	old_rrl = d->rrl;
	snap->rrl = d->rrl = rrl_table_for(d->rrl, snap->conf->rate_limit);
	old_dnstap = d->dnstap;
	snap->dnstap = d->dnstap = dnstap_apply(d, snap->conf, &notes);
	steer_apply(d, snap, false); /* its weights before its first query */
	server_swap(d->srv, snap);
	geo_watch_set(d->geo, snap->conf);
	if (old_rrl != d->rrl) {
		rrl_table_free(old_rrl); /* no worker holds a snapshot naming it any more */
	}
	if (old_dnstap != d->dnstap) {
		dnstap_free(old_dnstap); /* likewise: flushed and closed now */
	}
	health_follow(d);
	http_apply(&d->http, snap->conf->http, d->srv, d->health, d->stats, &notes);
	stats_reload(d->stats, true, wall_now());
	log_info("reload done: %zu zones, %zu pools, %zu names, %.1f MiB%s%s", snap->nzones,
		 snap->npools, snap->nnodes, snapshot_memory(snap) / 1048576.0,
		 notes.len ? "; not applied: " : "", notes.len ? notes.p : "");
	sb_printf(msg, "reload done: %zu zones, %zu pools, %zu names", snap->nzones, snap->npools,
		  snap->nnodes);
	if (notes.len) {
		sb_printf(msg, "; not applied: %s", notes.p);
	}
	sb_clear(&notes);
	return 0;
}

/* Wait for the build thread, if one runs. */
static void reload_join(struct reload_job *j)
{
	if (!j->running) {
		return;
	}
	pthread_join(j->thread, NULL);
	j->running = false;
}

/* DNSSEC signatures are made with the snapshot: re-signing is a reload
 * (config and zones read again, built to the side, swapped), started when the
 * live snapshot's earliest zone reaches its refresh time. A failed one keeps
 * the live snapshot, whose signatures are still valid for `refresh` seconds,
 * and is tried again every 10 s. */
static void resign_arm(struct daemon *d)
{
	uint32_t at = dnssec_resign_at(server_snapshot(d->srv));
	double now = wall_now(), after;

	ev_timer_stop(d->loop, &d->resign_timer);
	if (!at) {
		return;
	}
	after = (double)at - now;
	if (after < 1.0) {
		after = d->job.running ? 1.0 : 10.0;
	}
	ev_timer_set(&d->resign_timer, after, 0.0);
	ev_timer_start(d->loop, &d->resign_timer);
}

static void resign_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct daemon *d = t->data;

	(void)loop;
	(void)revents;
	log_info("dnssec: signatures reach their refresh time: signing again (a reload)");
	if (d->job.running) {
		d->job.again = true;
	} else {
		reload_start(d, NULL);
	}
	resign_arm(d);
}

static void reload_done_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct daemon *d = a->data;
	struct sbuf msg;
	int rc;

	(void)loop;
	(void)revents;
	if (!d->job.running) {
		return;
	}
	reload_join(&d->job); /* it has sent us this: it is about to return */
	sb_init(&msg);
	rc = reload_finish(d, &msg);
	notify_reloaded(d->notify, rc == 0);
	if (d->control) {
		control_reload_done(d->control, rc, msg.p);
	}
	sb_clear(&msg);
	if (d->job.again) {
		d->job.again = false;
		reload_start(d, NULL);
	}
	resign_arm(d);
}

/* A geo map's file changed: reload, which compiles the maps anew beside the
 * live ones (a broken file fails the reload and the live map stays). */
static void geo_changed(void *arg, const char *path)
{
	log_info("geo map file %s changed", path);
	reload_start(arg, NULL);
}

static void save_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct daemon *d = t->data;

	(void)loop;
	(void)revents;
	if (health_take_dirty(d->health)) {
		health_save_state(d->health);
	}
}

static void sighup_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	(void)loop;
	(void)revents;
	reload_start(s->data, NULL);
}

static void sigterm_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	(void)revents;
	log_info("signal %d: stopping", s->signum);
	notify_stopping(((struct daemon *)s->data)->notify);
	ev_break(loop, EVBREAK_ALL);
}

/* A few dig lines for the first pool owners and zones, so that someone who
 * just started the server knows what to ask it. */
static void print_hints(const struct conf *c)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_storage *a;
	unsigned port;
	int shown = 0;

	if (!c->nlistens) {
		return;
	}
	a = &c->listens[0].addr;
	if (a->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in *)a)->sin_port);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	}
	if (port == 0) {
		return;
	}
	for (size_t i = 0; i < c->npools && shown < 3; i++) {
		for (size_t j = 0; j < c->pools[i].nowners && shown < 3; j++, shown++) {
			log_info("try: dig @%s -p %u %s A", host, port, c->pools[i].owners[j]);
			log_info("try: dig @%s -p %u %s AAAA", host, port, c->pools[i].owners[j]);
		}
	}
	for (size_t i = 0; i < c->nzones && i < 2; i++) {
		log_info("try: dig @%s -p %u %s SOA", host, port, c->zones[i].origin);
	}
}

int daemon_check(const char *path)
{
	struct conf *conf = conf_load(path);
	struct health_table *health;
	struct snapshot *snap;
	int errors;

	if (!conf) {
		log_err("%s: configuration is not valid", path);
		return 1;
	}
	health = health_table_new();
	snap = snapshot_build_health(conf, health);
	if (!snap) {
		log_err("%s: configuration is not valid", path);
		health_table_free(health);
		return 1;
	}
	/* What start-up would refuse (exec checks as root, a state file the
	 * user cannot write) is an error; what a later reload or probe would
	 * trip on is a warning. */
	errors = privs_check_exec(snap->conf, privs_stays_root(snap->conf));
	errors += privs_audit_as_user(snap);
	if (errors) {
		log_err("%s: configuration is not valid", path);
		snapshot_free(snap);
		health_table_free(health);
		return 1;
	}
	log_info("%s: configuration OK (%zu zones, %zu pools, %zu names, %zu probes, %.1f MiB)", path,
		 snap->nzones, snap->npools, snap->nnodes, snap->nspecs,
		 snapshot_memory(snap) / 1048576.0);
	snapshot_free(snap);
	health_table_free(health);
	return 0;
}

/* Tear down what start-up made, in the reverse order. */
static void daemon_free(struct daemon *d)
{
	if (d->job.running) {
		/* It uses the health table: let it finish, then drop its work. */
		log_info("stopping: waiting for the reload being built");
		reload_join(&d->job);
		snapshot_free(d->job.snap);
		sb_clear(&d->job.logged);
	}
	notify_free(d->notify);
	control_free(d->control);
	geo_watch_free(d->geo);
	http_free(d->http); /* before the server whose snapshots it reads */
	if (d->srv) {
		server_stop(d->srv);
	}
	probe_engine_free(d->probes); /* before the health table it reports to */
	if (d->loop) {
		ev_timer_stop(d->loop, &d->steer_timer);
		ev_async_stop(d->loop, &d->steer_wake);
	}
	if (d->health) {
		health_set_notify(d->health, NULL, NULL);
	}
	/* A gslbd that did not start has learnt nothing, and leaves the file
	 * (an untrusted one included) as it found it. */
	if (d->serving) {
		health_save_state(d->health);
	}
	server_free(d->srv);
	rrl_table_free(d->rrl);
	dnstap_free(d->dnstap); /* after the workers: it flushes what they queued */
	steer_free(d->steer); /* its state-file lines were saved above */
	health_table_free(d->health);
	stats_free(d->stats);
	if (d->loop) {
		ev_loop_destroy(d->loop);
	}
	boot_clear(&d->boot);
}

int daemon_run(const char *path, bool detach, bool verbose)
{
	struct daemon d;
	struct conf *conf;
	struct snapshot *snap;
	const struct conf *live;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.conf_path = path;
	conf = conf_load(path);
	if (!conf) {
		log_err("%s: configuration is not valid", path);
		return 1;
	}
	if (privs_check_exec(conf, privs_stays_root(conf)) != 0) {
		log_err("%s: configuration is not valid", path);
		conf_free(conf);
		return 1;
	}
	d.health = health_table_new();
	d.stats = stats_new();
	/* Before anything is bound or written: a second gslbd with this
	 * state_file stops here (its lock), with the first one untouched.
	 * The file and its directory must be trusted by who we will run as. */
	if (conf->state_file &&
	    health_load_state(d.health, conf->state_file, conf->user ? conf->uid : geteuid()) != 0) {
		log_err("%s: not starting", path);
		conf_free(conf);
		goto out;
	}
	d.steer = steer_new(d.health); /* takes the shifts the state file holds */
	snap = snapshot_build_health(conf, d.health);
	if (!snap) {
		log_err("%s: configuration is not valid", path);
		goto out;
	}
	steer_apply(&d, snap, false);
	boot_init(&d.boot, snap->conf);
	stats_bind_pools(d.stats, snap->pools, snap->npools);
	snap->rrl = d.rrl = rrl_table_for(NULL, conf->rate_limit);
	d.srv = server_new(snap, d.stats);
	if (!d.srv) {
		snapshot_free(snap);
		goto out;
	}
	live = server_snapshot(d.srv)->conf;
	if (detach) {
		if (daemon(0, 0) != 0) {
			log_err("cannot detach: %m");
			goto out;
		}
		log_init(1, verbose); /* connects to syslog now, while we may */
	} else {
		print_hints(live);
	}
	/* Not the default loop: that one reaps every child (SIGCHLD), and exec
	 * probes must collect their own. ev_signal works in any loop. */
	d.loop = ev_loop_new(EVFLAG_AUTO);
	if (!d.loop) {
		log_err("cannot create the main event loop");
		goto out;
	}
	/* The control socket's directory may be root's: made before the drop. */
	if (live->control_socket) {
		struct control_ops ops = { ctl_current, ctl_reload, ctl_admin_changed,
					   d.health,    d.stats,    &d,	d.steer };
		d.control = control_new(d.loop, live->control_socket, live->control_mode, &ops);
		if (!d.control) {
			goto out;
		}
	}
	/* HTTP sockets too may need root (a port below 1024). */
	if (live->http) {
		d.http = http_new(live->http, d.srv, d.health, d.stats);
		if (!d.http) {
			goto out;
		}
	}
	/* Everything that needs root is open: give it up before the first
	 * thread, then check what the user must still reach. */
	if (privs_drop(live) != 0 || privs_audit(server_snapshot(d.srv)) != 0) {
		goto out;
	}
	/* dnstap's file is opened as the user we run as, like the state file;
	 * its I/O thread starts after the drop. The workers have not started:
	 * the live snapshot is still ours to complete. */
	if (live->dnstap) {
		char why[512];
		d.dnstap = dnstap_new(live->dnstap, server_nthreads(d.srv), why, sizeof(why));
		if (!d.dnstap) {
			log_err("%s: %s", live->dnstap->where, why);
			log_err("%s: not starting", path);
			goto out;
		}
		snap->dnstap = d.dnstap;
		log_info("dnstap: logging to %s, one query in %u", dnstap_destination(d.dnstap),
			 live->dnstap->sample);
	}
	if (server_start(d.srv) != 0) {
		goto out;
	}
	/* Before the probe thread: reports and health changes wake the weights. */
	ev_async_init(&d.steer_wake, steer_wake_cb);
	d.steer_wake.data = &d;
	ev_async_start(d.loop, &d.steer_wake);
	health_set_notify(d.health, steer_notify, &d);
	{
		/* The probe thread, like the workers, leaves signals to us. */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		d.probes = probe_engine_new(d.health);
		if (!d.probes || probe_engine_start(d.probes) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			log_err("cannot start the probe engine");
			goto out;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	ev_async_init(&d.job.done, reload_done_cb);
	d.job.done.data = &d;
	ev_async_start(d.loop, &d.job.done);
	ev_signal_init(&d.sighup, sighup_cb, SIGHUP);
	d.sighup.data = &d;
	ev_signal_start(d.loop, &d.sighup);
	ev_signal_init(&d.sigterm, sigterm_cb, SIGTERM);
	d.sigterm.data = &d;
	ev_signal_start(d.loop, &d.sigterm);
	ev_signal_init(&d.sigint, sigterm_cb, SIGINT);
	d.sigint.data = &d;
	ev_signal_start(d.loop, &d.sigint);
	ev_timer_init(&d.save_timer, save_cb, STATE_SAVE_INTERVAL, STATE_SAVE_INTERVAL);
	d.save_timer.data = &d;
	if (live->state_file) {
		ev_timer_start(d.loop, &d.save_timer);
	}
	ev_timer_init(&d.resign_timer, resign_cb, 1.0, 0.0);
	d.resign_timer.data = &d;
	resign_arm(&d);
	ev_timer_init(&d.steer_timer, steer_cb, STEER_TICK, STEER_TICK);
	d.steer_timer.data = &d;
	ev_timer_start(d.loop, &d.steer_timer);
	health_follow(&d);
	d.geo = geo_watch_new(d.loop, geo_changed, &d);
	geo_watch_set(d.geo, server_snapshot(d.srv)->conf);
	if (d.http && http_start(d.http) != 0) {
		goto out;
	}
	http_set_ready(d.http);
	d.serving = true;
	log_info("ready: %u workers, %zu zones, %zu pools, %zu names", server_nworkers(d.srv),
		 server_snapshot(d.srv)->nzones, server_snapshot(d.srv)->npools,
		 server_snapshot(d.srv)->nnodes);
	{
		/* Every listener is open and the workers run: tell systemd. */
		struct notify_source src = {ctl_current, d.health, &d};
		d.notify = notify_new(d.loop, &src);
		notify_ready(d.notify);
	}
	ev_run(d.loop, 0);
	rc = 0;
out:
	daemon_free(&d);
	return rc;
}
