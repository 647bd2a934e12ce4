/* probe_int.h -- the probe engine's internals, shared by probe.c and the
 * per-kind files (probe_tcp.c, probe_http.c, probe_dns.c, probe_exec.c,
 * probe_file.c, probe_none.c). Not for other modules; Check suites may read it.
 *
 * Threading: everything below the handover fields of struct probe_engine,
 * and every struct probe, belongs to the probe thread once the engine has
 * started. The main thread touches only the handover fields, under the lock,
 * and pokes the loop with ev_async_send(). */
#ifndef GSLBD_PROBE_INT_H
#define GSLBD_PROBE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "health/curl_dl.h"
#include <ev.h>

#include "dns/dname.h"
#include "health/check_kind.h"
#include "health/probe.h"

/* Reasons fit the health entry's buffer. */
#define PROBE_REASON_MAX 160
/* The longest agent reply line we read (HAProxy reads at most a buffer). */
#define PROBE_AGENT_MAX 512

struct probe_http_run;
struct probe_file;
struct probe_reaper;
struct probe_spawn;
struct probe_curl_sock;

/* One scheduled target: a spec plus its timers and the state of the run in
 * flight. At most one run per probe at a time. */
struct probe {
	struct probe_engine *eng;
	struct probe_spec *spec;      /* owned */
	struct probe_spec *next_spec; /* owned; taken when the running run ends */
	ev_timer sched;		      /* the next start */
	ev_timer timeout;	      /* the running run's deadline */
	bool running;
	ev_tstamp started; /* loop time the running run began */

	/* Set up from the spec when it is installed (its kind's setup): */
	char setup_err[PROBE_REASON_MAX]; /* non-empty: every run fails with it */
	/* http(s) */
	char *http_url;			 /* the URL actually requested */
	struct curl_slist *http_headers; /* "Host: ..." */
	struct curl_slist *http_connect; /* CURLOPT_CONNECT_TO for https + host */
	/* dns */
	size_t dns_qname_len;
	int dns_answer_family; /* 0: no expect_answer */
	uint8_t dns_answer[16];
	/* exec */
	char **exec_env; /* NULL-terminated, owned */
	/* file */
	struct probe_file *file;
	struct probe *file_prev, *file_next; /* the file's users */

	/* The run in flight: */
	ev_io io;  /* tcp/dns socket, exec pidfd */
	int fd;	   /* -1 when none */
	pid_t pid; /* exec child, 0 when none */
	unsigned exec_tries;
	uint16_t dns_id;
	struct probe_http_run *http;
	/* agent: the reply read so far */
	char agent_buf[PROBE_AGENT_MAX + 1];
	size_t agent_len;
};

struct probe_engine {
	struct health_table *table;
	struct ev_loop *loop;
	pthread_t thread;
	bool started;
	ev_async wake;

	/* Handover from the main thread, under lock. */
	pthread_mutex_t lock;
	struct probe_spec **pending; /* owned; NULL: nothing new */
	size_t npending;
	bool has_pending;
	bool stop;
	atomic_uint applied; /* sets the probe thread has applied (tests wait on it) */
	atomic_int tid;	     /* the probe thread's kernel id, 0 before it runs */

	/* Probe thread only. */
	struct probe **probes; /* sorted by spec->key */
	size_t nprobes;
	uint64_t rng;
	char *path_env; /* "PATH=..." captured at probe_engine_new, or NULL */
	/* http */
	CURLM *multi;
	bool curl_tried; /* libcurl setup was attempted (on the first http probe) */
	ev_timer curl_timer;
	struct probe_curl_sock *curl_socks;
	/* exec */
	struct probe_spawn *spawn; /* made at the first exec run */
	struct probe_reaper *reapers;
	/* file */
	struct probe_file *files;
};

/* --- probe.c: services for the kinds (probe thread) ------------------------ */

/* Start a run of @p now unless one is in flight (the file kind runs its
 * probes when the file changes). The schedule is not touched. */
void probe_run(struct probe *p);

/* End @p's run: stop its deadline, report to the health table, take waiting
 * parameters. The kind has already released the run's resources. */
void probe_done(struct probe *p, bool ok, const char *reason);

/* As probe_done(p, false, ...) with "@what: strerror(@err)" (or just the
 * error when @what is NULL), the first letter lowered. */
void probe_fail_errno(struct probe *p, const char *what, int err);

/* Watch @fd (which the probe now owns) for @events on the engine's loop,
 * calling @cb with io.data = @p; probe_unwatch stops and closes it. */
void probe_watch(struct probe *p, int fd, int events, void (*cb)(struct ev_loop *, ev_io *, int));
void probe_unwatch(struct probe *p);

/* Uniform random in [0, 1) and a random 16-bit value, from the engine's
 * generator (probe thread only). */
double probe_random(struct probe_engine *e);
uint16_t probe_random16(struct probe_engine *e);

/* Format @addr of @s as text without the port (no brackets). */
const char *probe_addr_text(char *buf, size_t size, const struct probe_spec *s);
unsigned probe_port(const struct probe_spec *s);

/* --- the kinds ---------------------------------------------------------------
 * Each kind's operations are its struct check_kind (check_kind.h), defined in
 * its own file. What follows are the options objects of the kinds that have
 * them (a check's conf_check.opts and each of its probe_spec.opts; Check
 * suites build them directly) and what the suites call in a kind. */

/* http and https (probe_http.c). */
struct probe_http_opts {
	char *path; /* check: the path requested ("/") */
	char *url;  /* spec: the URL to GET, built from path or the member's url */
	char *host; /* Host header, or NULL; a member's host wins */
	bool head;  /* HEAD instead of GET */
	bool tls_verify;
	uint32_t status_ok[20]; /* bitmap of accepted statuses 100..739: bit (status-100) */
	char *expect_body;	/* substring the body must contain, or NULL */
	char *weight_header;	/* response header holding the member's weight, or NULL */
	char *weight_json;	/* key of a JSON object body holding it, or NULL */
};

/* dns (probe_dns.c). */
struct probe_dns_opts {
	char *query;		     /* as written */
	uint8_t qname[DNAME_MAXLEN]; /* wire */
	uint16_t qtype;
	int expect_rcode;
	char *expect_answer; /* address text that must appear in the answer, or NULL */
};

/* exec (probe_exec.c). */
struct probe_exec_opts {
	char **argv; /* NULL-terminated; env GSLBD_ADDRESS, GSLBD_PORT, GSLBD_CHECK */
};

/* file (probe_file.c). */
struct probe_file_opts {
	char *path; /* lines "ADDRESS[:PORT] up|down" ('#' comments) */
	char *key;  /* spec: the ADDRESS or ADDRESS:PORT looked up in it */
};

/* agent (probe_agent.c). */
struct probe_agent_opts {
	char *send; /* sent once connected, or NULL: the agent speaks first */
};

/* What one agent reply says; -1: it does not say. */
struct probe_agent_reply {
	int percent; /* 0..STEER_REPORT_MAX */
	int drain;   /* 1: drain or maint, 0: ready */
	int up;      /* 1: up, 0: down, fail, failed or stopped */
};

/* Parse one agent reply (@len bytes at @buf, outside input: the line up to
 * its newline, or all that came before the agent closed) into @r. Strict:
 * ASCII words separated by spaces, tabs or commas -- a percentage "75%"
 * (0 to 1000), "up", "down", "fail", "failed", "stopped", "drain", "maint",
 * "ready", "maxconn:N" (ignored) -- in any case, optionally ended by "#" and
 * a description. Returns 0, or -1 with the reason in @reason (an empty line,
 * a word it does not know, two weights, up and down together, a control
 * byte). Pure. */
int probe_agent_parse(const char *buf, size_t len, struct probe_agent_reply *r, char *reason,
		      size_t size);

/* A reported weight as http checks read it (a header's value or a JSON
 * string): "N" or "N%", N an integer 0..STEER_REPORT_MAX, blanks around it
 * allowed; into *@percent. Returns 0, or -1. Pure. */
int probe_weight_parse(const char *s, size_t len, int *percent);

/* The dns kind's setup (exported for the judge's Check suite and fuzzer). */
void probe_dns_setup(struct probe *p);

/* Judge one datagram from the server (@len bytes at @m, outside input) for
 * p's query (p->dns_id, the spec's question and expected answer): UP or
 * DOWN with a reason in @reason, or IGNORE for what is not the reply to our
 * query (an old or forged ID). Pure; the Check suite feeds it directly. */
enum { PROBE_DNS_IGNORE = -1, PROBE_DNS_DOWN = 0, PROBE_DNS_UP = 1 };
int probe_dns_judge(struct probe *p, const uint8_t *m, size_t len, char *reason, size_t size);

#endif
