/* http.h -- the operators' HTTP listener (libmicrohttpd): GET /metrics,
 * /status.json, / (the status page) and /healthz, read-only.
 *
 * Each listening socket has a libmicrohttpd daemon with a thread of its own
 * (poll); one more thread takes the status page's samples every
 * PAGE_SAMPLE_INTERVAL. They answer no query and touch nothing a worker
 * writes: counters are summed on read (daemon/stats.h), health is read
 * through the health table's functions, and the live snapshot is held as an
 * RCU reader between server_read_begin and server_read_end
 * (daemon/server.h), so a reload waits for at most one page being rendered.
 *
 * Limits come from the config (data/conf.h struct conf_http): clients
 * outside `allow` are refused at accept; at most `max_clients` connections
 * at once (those past it are closed on accept); a connection idle or slow for
 * `timeout` seconds is closed; a request's headers must fit in 16 KiB (431
 * otherwise). Anything but GET and HEAD is 405, unknown paths 404. */
#ifndef GSLBD_HTTP_H
#define GSLBD_HTTP_H

#include <stdbool.h>

#include "data/conf.h"
#include "data/snapshot.h"
#include "health/health.h"
#include "util/sbuf.h"

struct server;
struct stats;
struct page_history;

/* What a request reads. */
struct http_view {
	const struct snapshot *snap;	    /* held by the caller */
	struct health_table *health;	    /* or NULL */
	const struct stats *stats;	    /* or NULL */
	const struct page_history *history; /* or NULL */
	bool ready;			    /* the first snapshot serves */
	double now;			    /* wall clock */
};

struct http_reply {
	unsigned status;
	const char *type;  /* Content-Type */
	const char *allow; /* an Allow header (405), or NULL */
	struct sbuf body;
};

/* Answer @method @path from @v into @r (r->body initialised here; the caller
 * clears it). The query string is not part of @path. Pure: no I/O, so tests
 * drive it without sockets. Any thread that holds v->snap. */
void http_route(struct http_reply *r, const struct http_view *v, const char *method,
		const char *path);

/* Is @addr allowed by @c's allow list? */
bool http_allowed(const struct conf_http *c, const struct sockaddr *addr);

struct http;

/* Bind the listeners of @c (logged as "http listening on ADDR port N") and
 * prepare the daemons; the thread starts with http_start. Reads @srv's live
 * snapshot, @health and @stats, which must outlive it. Returns NULL after
 * logging when an address cannot be bound. Main thread; may be called as
 * root, before privileges are dropped. */
struct http *http_new(const struct conf_http *c, struct server *srv, struct health_table *health,
		      const struct stats *stats);

/* Start the thread (it blocks every signal). Returns 0, or -1 (logged). */
int http_start(struct http *h);

/* /healthz says 200 from now on. Any thread. */
void http_set_ready(struct http *h);

/* A reload: apply @next (NULL: no listener) to *@hp. Nothing changes when
 * the settings are the same. Otherwise addresses kept keep their sockets,
 * new ones are bound first; if one cannot be bound, the old listener stays
 * and the reason goes to the log and, short, to @notes. The status page's
 * samples carry over. Main thread. */
void http_apply(struct http **hp, const struct conf_http *next, struct server *srv,
		struct health_table *health, const struct stats *stats, struct sbuf *notes);

/* Stop the thread, close everything. NULL is a no-op. Main thread. */
void http_free(struct http *h);

#endif
