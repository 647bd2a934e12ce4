/* dnstap.h -- dnstap query and response logging: each sampled query and its
 * response as protobuf messages (schema: dnstap.proto), framed by Frame
 * Streams (libfstrm) to a file or to a reader's unix socket.
 *
 * One writer (struct dnstap) per destination: an fstrm I/O thread that does
 * every write, fed by one single-producer input queue per answering thread,
 * so that threads share no lock and no cache line on the way in. A worker
 * that logs a message packs it into a buffer of its own (malloc'd: only
 * sampled queries pay for it) and hands it to its queue; the I/O thread
 * writes it and frees it. When the queue is full (the reader is slow) or the
 * destination is not open (no reader), the message is dropped and counted:
 * answering never waits for the log.
 *
 * The writer lives outside snapshots, like the rate-limit table: a reload
 * that names the same destination keeps it (and its file or connection); the
 * snapshot points at it so that workers find it where they find everything
 * else, and an old writer is freed only after the snapshot swap (RCU). What
 * each message holds (sampling, which messages, identity, version) is read
 * from the snapshot's config, so it changes with every reload. */
#ifndef GSLBD_DNSTAP_H
#define GSLBD_DNSTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "dns/request.h"

struct conf_dnstap;
struct dnstap;

/* The two messages gslbd writes, numbered as in the schema. */
enum dnstap_kind { DNSTAP_AUTH_QUERY = 1, DNSTAP_AUTH_RESPONSE = 2 };

/* One query and its response, as the transport saw them. Pointers are the
 * caller's, valid for the call. */
struct dnstap_event {
	enum transport transport;
	const struct sockaddr_storage *client; /* NULL: unknown (no addresses logged) */
	const struct sockaddr_storage *server; /* where it came in; NULL: unknown */
	const uint8_t *query;
	size_t query_len;
	const uint8_t *response; /* NULL: not answered (dropped) */
	size_t response_len;
	struct timespec query_time, response_time; /* CLOCK_REALTIME */
};

/* An answering thread's dnstap state: its input queue and its sampling
 * countdown. Embedded in the thread's struct; the thread is its only user. */
struct dnstap_thread {
	unsigned queue;	    /* index of this thread's input queue in every writer */
	uint32_t countdown; /* queries until the next one logged; starts at 1 */
};

/* What one dnstap_log call did: messages queued to the writer, and dropped
 * (queue full, destination not open, or out of memory). */
struct dnstap_result {
	unsigned sent, dropped;
};

/* A writer for @c's destination with @nqueues input queues (one per
 * answering thread: server_nthreads). Starts its I/O thread, which blocks
 * every signal. A file is created (mode 0640) or truncated now, and an error
 * opening it is returned; a socket is connected by the I/O thread, and
 * re-tried every second while nobody listens. Returns NULL with the reason
 * in @why (@whylen bytes) on failure. Main thread. */
struct dnstap *dnstap_new(const struct conf_dnstap *c, unsigned nqueues, char *why, size_t whylen);

/* Flush what is queued (for at most a few seconds if the reader is stuck),
 * close, stop the I/O thread and free. After no thread can submit any more
 * (server_swap past the last snapshot naming it, or server_stop). NULL: no-op. */
void dnstap_free(struct dnstap *dt);

/* Does @dt write to where @c says? (A reload keeps the writer if so.) */
bool dnstap_same_destination(const struct dnstap *dt, const struct conf_dnstap *c);

/* "file PATH" or "socket PATH", for logs and status. */
const char *dnstap_destination(const struct dnstap *dt);

/* Is the destination open (file open, or a reader connected that accepted
 * the content type)? Any thread. */
bool dnstap_connected(const struct dnstap *dt);

/* Hot path, the owning thread, only while dnstap is on: should this query
 * be logged? One decrement and a predictable branch. */
static inline bool dnstap_sample(struct dnstap_thread *t, unsigned sample)
{
	if (--t->countdown != 0) {
		return false;
	}
	t->countdown = sample;
	return true;
}

/* Log @ev as @c says (a query message, a response message, or both) through
 * thread @t's queue of @dt. Allocates the packed messages; never blocks.
 * The owning thread of @t. */
struct dnstap_result dnstap_log(struct dnstap *dt, const struct conf_dnstap *c,
				struct dnstap_thread *t, const struct dnstap_event *ev);

/* Pack the @kind message of @ev with @c's identity and version into a new
 * buffer (*@out, the caller frees it). Returns its length, 0 when out of
 * memory. What dnstap_log submits; the unit tests decode it. Any thread. */
size_t dnstap_pack(uint8_t **out, const struct conf_dnstap *c, enum dnstap_kind kind,
		   const struct dnstap_event *ev);

#endif
