/* dnstap.c -- dnstap query and response logging through an fstrm I/O thread. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fstrm.h>

#include "data/conf.h"
#include "dnstap/dnstap.h"
#include "src/dnstap/dnstap.pb-c.h"
#include "util/mem.h"

#define DNSTAP_CONTENT_TYPE "protobuf:dnstap.Dnstap"

/* A packed message goes from the worker that wrote it to the I/O thread that
 * writes and frees it through libfstrm's single-producer queue, whose memory
 * barriers ThreadSanitizer cannot see (the library is not instrumented): it
 * would report the queue's slots and every message as races. Under
 * ThreadSanitizer the queues are libfstrm's mutex-based ones instead (still
 * one per thread), whose locks it sees. */
#if defined(__SANITIZE_THREAD__)
#define DNSTAP_QUEUE_MODEL FSTRM_IOTHR_QUEUE_MODEL_MPSC
#else
#define DNSTAP_QUEUE_MODEL FSTRM_IOTHR_QUEUE_MODEL_SPSC
#endif
/* Entries per input queue: a burst of this many messages per thread rides
 * out a writer that is briefly behind (a disk flush, a reader's pause). */
#define DNSTAP_QUEUE_SIZE 2048
/* A reader that stops reading must not keep the I/O thread forever: a write
 * that cannot go on for this long closes the connection (and the messages
 * queued meanwhile are dropped and counted), so the I/O thread reconnects,
 * and stops, in bounded time. The handshake waits as long for the reader's
 * ACCEPT. */
#define DNSTAP_SOCKET_TIMEOUT_SEC 2
/* How long dnstap_new waits for a file's first frame to be written, so that
 * the first queries after start-up are logged. */
#define DNSTAP_OPEN_WAIT_MS 1000

/* The byte stream under the Frame Streams writer: a file or a unix socket.
 * Ours rather than fstrm's own so that the socket has timeouts (above), the
 * file gets our mode, and workers can see whether anything is open (@up):
 * while nothing is, they drop without packing, and count it. */
struct stream {
	bool is_socket;
	char *path;
	int fd;
	bool accepted;	/* socket: the reader's ACCEPT came, since the last open */
	bool broken;	/* a read or write failed since the last open: fail at once */
	bool reopened;	/* file: opened before (a write failed since): append, never truncate */
	atomic_bool up; /* a frame was written since the last open: workers read it */
};

struct dnstap {
	struct fstrm_iothr *iothr;
	struct fstrm_iothr_queue **queues; /* [thread's queue index] */
	unsigned nqueues;
	struct stream *stream; /* owned by the fstrm writer (freed by its destroy) */
	char *destination;     /* "file PATH" / "socket PATH" */
	char *path;
	bool is_socket;
};

/* --- the stream (runs in the I/O thread) ------------------------------------ */

static fstrm_res stream_close(void *obj)
{
	struct stream *s = obj;

	atomic_store_explicit(&s->up, false, memory_order_relaxed);
	s->accepted = false;
	s->broken = false;
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	return fstrm_res_success;
}

static fstrm_res stream_open(void *obj)
{
	struct stream *s = obj;

	stream_close(s); /* a handshake that failed leaves its socket open */
	if (!s->is_socket) {
		/* Truncated when the writer starts; reopened after a failed
		 * write (a full disk), what was written stays. */
		s->fd = open(s->path,
			     O_WRONLY | O_CREAT | O_CLOEXEC | (s->reopened ? O_APPEND : O_TRUNC),
			     0640);
		s->reopened = s->fd >= 0 || s->reopened;
		return s->fd >= 0 ? fstrm_res_success : fstrm_res_failure;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {DNSTAP_SOCKET_TIMEOUT_SEC, 0};
	if (strlen(s->path) >= sizeof(sa.sun_path)) {
		return fstrm_res_failure;
	}
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		return fstrm_res_failure;
	}
	/* SO_SNDTIMEO bounds connect() on a unix socket too (a full backlog). */
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		stream_close(s);
		return fstrm_res_failure;
	}
	return fstrm_res_success;
}

static fstrm_res stream_read(void *obj, void *buf, size_t n)
{
	struct stream *s = obj;
	uint8_t *p = buf;

	if (s->broken) {
		return fstrm_res_failure;
	}
	while (n > 0) {
		ssize_t k = read(s->fd, p, n);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k <= 0) {
			s->broken = true; /* closed, or the timeout */
			return fstrm_res_failure;
		}
		p += k;
		n -= (size_t)k;
	}
	/* The only frames a writer reads are the ACCEPT of the handshake and
	 * the FINISH of the close. */
	s->accepted = true;
	return fstrm_res_success;
}

static fstrm_res stream_write(void *obj, const struct iovec *iov_in, int iovcnt)
{
	struct stream *s = obj;
	struct iovec iov[64];
	struct iovec *v = iov;

	/* After a write that timed out, the STOP frame fstrm's close sends
	 * would wait as long again: fail at once, so that a stuck reader costs
	 * one timeout, at a stop too. */
	if (s->broken) {
		return fstrm_res_failure;
	}
	/* fstrm hands at most FSTRM__WRITER_IOVEC_SIZE (128) vectors; copy
	 * them in slices, since a partial write advances them. */
	while (iovcnt > 0) {
		int n = iovcnt < 64 ? iovcnt : 64;
		memcpy(iov, iov_in, (size_t)n * sizeof(*iov));
		iov_in += n;
		iovcnt -= n;
		v = iov;
		while (n > 0) {
			struct msghdr msg = {.msg_iov = v, .msg_iovlen = (size_t)n};
			ssize_t k =
			    s->is_socket ? sendmsg(s->fd, &msg, MSG_NOSIGNAL) : writev(s->fd, v, n);
			if (k < 0 && errno == EINTR) {
				continue;
			}
			if (k < 0) {
				s->broken = true; /* the timeout, or the reader left */
				return fstrm_res_failure;
			}
			while (n > 0 && (size_t)k >= v->iov_len) {
				k -= (ssize_t)v->iov_len;
				v++;
				n--;
			}
			if (n > 0) {
				v->iov_base = (uint8_t *)v->iov_base + k;
				v->iov_len -= (size_t)k;
			}
		}
	}
	if (!s->is_socket || s->accepted) {
		atomic_store_explicit(&s->up, true, memory_order_relaxed);
	}
	return fstrm_res_success;
}

static fstrm_res stream_destroy(void *obj)
{
	struct stream *s = obj;

	stream_close(s);
	free(s->path);
	free(s);
	return fstrm_res_success;
}

/* --- the writer ---------------------------------------------------------------- */

bool dnstap_same_destination(const struct dnstap *dt, const struct conf_dnstap *c)
{
	const char *path = c->socket ? c->socket : c->file;

	return dt && path && dt->is_socket == (c->socket != NULL) && strcmp(dt->path, path) == 0;
}

const char *dnstap_destination(const struct dnstap *dt)
{
	return dt->destination;
}

bool dnstap_connected(const struct dnstap *dt)
{
	return atomic_load_explicit(&dt->stream->up, memory_order_relaxed);
}

struct dnstap *dnstap_new(const struct conf_dnstap *c, unsigned nqueues, char *why, size_t whylen)
{
	struct dnstap *dt = xcalloc(1, sizeof(*dt));
	struct stream *s = xcalloc(1, sizeof(*s));
	struct fstrm_rdwr *rdwr;
	struct fstrm_writer_options *wopt;
	struct fstrm_writer *writer;
	struct fstrm_iothr_options *iopt;
	const char *path = c->socket ? c->socket : c->file;
	sigset_t all, old;
	size_t dlen = strlen(path) + 8;

	dt->is_socket = s->is_socket = c->socket != NULL;
	dt->path = xstrdup(path);
	dt->destination = xmalloc(dlen);
	snprintf(dt->destination, dlen, "%s %s", dt->is_socket ? "socket" : "file", path);
	s->path = xstrdup(path);
	s->fd = -1;
	if (dt->is_socket) {
		struct sockaddr_un sa;
		if (strlen(path) >= sizeof(sa.sun_path)) {
			snprintf(why, whylen, "socket path longer than %zu bytes",
				 sizeof(sa.sun_path) - 1);
			goto fail_stream;
		}
	} else {
		/* Tried here, so that a file we cannot write is an error now
		 * (the I/O thread would only retry it in silence). */
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0) {
			snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
			goto fail_stream;
		}
		close(fd);
	}
	rdwr = fstrm_rdwr_init(s);
	fstrm_rdwr_set_open(rdwr, stream_open);
	fstrm_rdwr_set_close(rdwr, stream_close);
	fstrm_rdwr_set_write(rdwr, stream_write);
	fstrm_rdwr_set_destroy(rdwr, stream_destroy);
	if (dt->is_socket) {
		/* A read function makes the writer bidirectional: the Frame
		 * Streams handshake (READY, ACCEPT) that fstrm_capture expects. */
		fstrm_rdwr_set_read(rdwr, stream_read);
	}
	wopt = fstrm_writer_options_init();
	fstrm_writer_options_add_content_type(wopt, DNSTAP_CONTENT_TYPE,
					      sizeof(DNSTAP_CONTENT_TYPE) - 1);
	writer = fstrm_writer_init(wopt, &rdwr);
	fstrm_writer_options_destroy(&wopt);
	if (!writer) {
		snprintf(why, whylen, "cannot make a Frame Streams writer");
		fstrm_rdwr_destroy(&rdwr); /* and the stream with it */
		goto fail;
	}
	dt->stream = s;
	iopt = fstrm_iothr_options_init();
	fstrm_iothr_options_set_num_input_queues(iopt, nqueues ? nqueues : 1);
	fstrm_iothr_options_set_input_queue_size(iopt, DNSTAP_QUEUE_SIZE);
	fstrm_iothr_options_set_queue_model(iopt, DNSTAP_QUEUE_MODEL);
	fstrm_iothr_options_set_reopen_interval(iopt, 1);
	/* Like every thread but the main one, the I/O thread leaves signals
	 * to the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	dt->iothr = fstrm_iothr_init(iopt, &writer);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	fstrm_iothr_options_destroy(&iopt);
	if (!dt->iothr) {
		snprintf(why, whylen, "cannot start the dnstap I/O thread");
		fstrm_writer_destroy(&writer);
		goto fail;
	}
	dt->nqueues = nqueues ? nqueues : 1;
	dt->queues = xcalloc(dt->nqueues, sizeof(*dt->queues));
	for (unsigned i = 0; i < dt->nqueues; i++) {
		dt->queues[i] = fstrm_iothr_get_input_queue_idx(dt->iothr, i);
	}
	if (!dt->is_socket) {
		for (int i = 0; i < DNSTAP_OPEN_WAIT_MS && !dnstap_connected(dt); i++) {
			struct timespec ms = {0, 1000000};
			nanosleep(&ms, NULL);
		}
	}
	return dt;

fail_stream:
	free(s->path);
	free(s);
fail:
	free(dt->path);
	free(dt->destination);
	free(dt);
	return NULL;
}

void dnstap_free(struct dnstap *dt)
{
	if (!dt) {
		return;
	}
	fstrm_iothr_destroy(&dt->iothr); /* flushes, closes, frees the stream */
	free(dt->queues);
	free(dt->path);
	free(dt->destination);
	free(dt);
}

/* --- messages ------------------------------------------------------------------ */

/* The address and port of @a into @m's @which (query or response) fields;
 * its family into socket_family. */
static void put_address(Dnstap__Message *m, const struct sockaddr_storage *a, bool query)
{
	ProtobufCBinaryData bin;
	uint32_t port;

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;
		bin.data = (uint8_t *)&in->sin_addr;
		bin.len = 4;
		port = ntohs(in->sin_port);
		m->socket_family = DNSTAP__SOCKET_FAMILY__INET;
	} else if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
		bin.data = (uint8_t *)&in6->sin6_addr;
		bin.len = 16;
		port = ntohs(in6->sin6_port);
		m->socket_family = DNSTAP__SOCKET_FAMILY__INET6;
	} else {
		return;
	}
	m->has_socket_family = true;
	if (query) {
		m->query_address = bin;
		m->has_query_address = true;
		m->query_port = port;
		m->has_query_port = true;
	} else {
		m->response_address = bin;
		m->has_response_address = true;
		m->response_port = port;
		m->has_response_port = true;
	}
}

/* Bytes of a packed Dnstap beyond its identity, version and DNS message: tags
 * and lengths (identity and version under 256 bytes: 1 + 2 each; the DNS
 * message under 64 KiB: 1 + 3; the Message, 1 + 3), type 2, and the
 * Message's fields: type, family, protocol 2 each, two addresses 1 + 1 + 16,
 * two ports 1 + 3, two seconds 1 + 10, two nanoseconds 1 + 4. That is
 * 6 + 4 + 2 + 4 + 6 + 36 + 8 + 22 + 10 = 98; 128 leaves room. */
#define PACK_SLACK 128

size_t dnstap_pack(uint8_t **out, const struct conf_dnstap *c, enum dnstap_kind kind,
		   const struct dnstap_event *ev)
{
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	size_t len;

	*out = NULL;
	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.message = &m;
	if (c->identity_len) {
		d.identity.data = c->identity;
		d.identity.len = c->identity_len;
		d.has_identity = true;
	}
	if (c->version && c->version[0]) {
		d.version.data = (uint8_t *)c->version;
		d.version.len = strlen(c->version);
		d.has_version = true;
	}
	m.type = kind == DNSTAP_AUTH_QUERY ? DNSTAP__MESSAGE__TYPE__AUTH_QUERY
					   : DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE;
	m.socket_protocol = ev->transport == TRANSPORT_TCP ? DNSTAP__SOCKET_PROTOCOL__TCP
							   : DNSTAP__SOCKET_PROTOCOL__UDP;
	m.has_socket_protocol = true;
	/* The server's address first: the client's family wins if they differ
	 * (they cannot: sockets are IPv6-only, so no v4-mapped clients). */
	if (ev->server) {
		put_address(&m, ev->server, false);
	}
	if (ev->client) {
		put_address(&m, ev->client, true);
	}
	/* Both messages carry the query's time (the schema's recommendation
	 * for AUTH_RESPONSE), so that readers can pair them and time them. */
	m.query_time_sec = (uint64_t)ev->query_time.tv_sec;
	m.query_time_nsec = (uint32_t)ev->query_time.tv_nsec;
	m.has_query_time_sec = m.has_query_time_nsec = true;
	if (kind == DNSTAP_AUTH_QUERY) {
		m.query_message.data = (uint8_t *)ev->query;
		m.query_message.len = ev->query_len;
		m.has_query_message = true;
	} else {
		m.response_message.data = (uint8_t *)ev->response;
		m.response_message.len = ev->response_len;
		m.has_response_message = true;
		m.response_time_sec = (uint64_t)ev->response_time.tv_sec;
		m.response_time_nsec = (uint32_t)ev->response_time.tv_nsec;
		m.has_response_time_sec = m.has_response_time_nsec = true;
	}
	/* No sizing pass (protobuf-c's get_packed_size costs as much as the
	 * packing): a bound of the packed size instead, at most PACK_SLACK
	 * bytes more than it, so that one pass packs. */
	len = PACK_SLACK + d.identity.len + d.version.len + m.query_message.len +
	      m.response_message.len;
	*out = malloc(len);
	if (!*out) {
		return 0;
	}
	len = dnstap__dnstap__pack(&d, *out);
	assert(len <= PACK_SLACK + d.identity.len + d.version.len + m.query_message.len +
			  m.response_message.len);
	return len;
}

/* Pack and queue one message; false if it was dropped. */
static bool submit(struct dnstap *dt, struct fstrm_iothr_queue *q, const struct conf_dnstap *c,
		   enum dnstap_kind kind, const struct dnstap_event *ev)
{
	uint8_t *buf;
	size_t len = dnstap_pack(&buf, c, kind, ev);

	if (!len) {
		free(buf);
		return false;
	}
	if (fstrm_iothr_submit(dt->iothr, q, buf, len, fstrm_free_wrapper, NULL) !=
	    fstrm_res_success) {
		free(buf); /* queue full: still ours */
		return false;
	}
	return true;
}

struct dnstap_result dnstap_log(struct dnstap *dt, const struct conf_dnstap *c,
				struct dnstap_thread *t, const struct dnstap_event *ev)
{
	struct dnstap_result r = {0, 0};
	bool query = c->log_queries, response = c->log_responses && ev->response;
	struct fstrm_iothr_queue *q = t->queue < dt->nqueues ? dt->queues[t->queue] : NULL;

	if (!q || !atomic_load_explicit(&dt->stream->up, memory_order_relaxed)) {
		/* Nobody to write to: the I/O thread would discard them
		 * unseen; counted here instead, without packing. */
		r.dropped = query + response;
		return r;
	}
	if (query) {
		*(submit(dt, q, c, DNSTAP_AUTH_QUERY, ev) ? &r.sent : &r.dropped) += 1;
	}
	if (response) {
		*(submit(dt, q, c, DNSTAP_AUTH_RESPONSE, ev) ? &r.sent : &r.dropped) += 1;
	}
	return r;
}
