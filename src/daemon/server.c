/* server.c -- sockets and worker threads: moves bytes in and out and hands
 * each message to the DNS core (answer_query); knows nothing of reloads,
 * signals, probes or the control socket (daemon.c).
 *
 * Each worker has its own libev loop and its own SO_REUSEPORT UDP and TCP
 * sockets for every listen address, so the kernel spreads flows over workers
 * and nothing is shared on the hot path but the snapshot pointer. The
 * snapshot is published with userspace RCU (QSBR flavour): a worker is
 * "online" only while it runs callbacks, and goes offline before it blocks in
 * the loop, so a reload waits at most for one batch of queries.
 *
 * A socket bound to an any-address (0.0.0.0, ::) learns each query's
 * destination from IP_PKTINFO / IPV6_PKTINFO and names it as the source of
 * the reply; sockets bound to one address do no control-message work. So,
 * for UDP, an any-address listener is also bound, at start-up, to each
 * address the host has then (up to LOCAL_BINDS_MAX per listener, as BIND
 * binds each interface): the kernel delivers a datagram to the socket bound
 * to its exact destination before the any-address one, so queries to those
 * addresses cost what they cost on a listener for one address, and the
 * any-address socket, with its control messages, answers the rest
 * (addresses added later, 127.0.0.2 and the like). */
#include "config.h"

#define _LGPL_SOURCE
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <urcu-qsbr.h>

#include "daemon/server.h"
#include "daemon/stats.h"
#include "daemon/tcp_clients.h"
#include "data/conf.h"
#include "dns/answer.h"
#include "dnstap/dnstap.h"
#include "util/log.h"
#include "util/mem.h"

#define UDP_BATCH 32
#define UDP_QUERY_MAX 1536 /* larger UDP queries (none are legitimate) are dropped */
#define TCP_MSG_MAX 65535
#define TCP_OUT_HIGH (256 * 1024)
/* Seconds from a TCP message's first byte to its last. A query comes in one
 * segment, two at most (length, then message); what can stretch that is a
 * lost segment, resent after one retransmission timeout: on Linux about
 * 200 ms plus the round trip the handshake measured (RFC 6298). Two seconds
 * leave room for a loss or two on any path a resolver would keep using, and
 * close a message trickled at a byte a second after two bytes. Knot's
 * tcp-io-timeout is the same rule, at 500 ms by default. */
#define TCP_MESSAGE_DEADLINE 2.0
/* Accepting paused this long after running out of descriptors with no
 * connection of ours to close (NSD pauses too, for its SLOW_ACCEPT_TIMEOUT). */
#define TCP_ACCEPT_RETRY 0.5
/* Local addresses an any-address listener is also bound to, for UDP, at
 * most; the any-address socket answers for any others. */
#define LOCAL_BINDS_MAX 16
/* At most one log line this often about connections shed to make room. */
#define TCP_SHED_LOG_INTERVAL 60.0

struct worker;

/* Room for the one control message a query brings and its reply carries:
 * IP_PKTINFO or IPV6_PKTINFO, the larger. */
union udp_cmsg {
	struct cmsghdr align;
	uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};
_Static_assert(CMSG_SPACE(sizeof(struct in_pktinfo)) <= sizeof(union udp_cmsg),
	       "IP_PKTINFO fits the control buffer");

struct tcp_conn {
	ev_io io;
	ev_timer timer; /* due at the idle timeout or the message deadline, the sooner */
	struct worker *w;
	/* The worker's connections, most recently active first: the last one
	 * is the one to shed. */
	struct tcp_conn *prev, *next;
	int fd;
	bool want_write;
	ev_tstamp active;    /* accepted, or its last complete message arrived */
	ev_tstamp msg_start; /* the first byte of the message in c->in came; 0: none */
	struct sockaddr_storage peer;
	size_t inlen;
	size_t outoff, outlen, outcap;
	uint8_t *out;
	uint8_t in[2 + TCP_MSG_MAX];
};

struct listen_io {
	ev_io io;
	struct worker *w;
	int fd;
};

/* One thread per (worker, UDP socket): a blocking recvmmsg loop, as the
 * echo floor does it. No event loop in between: epoll_wait per batch was
 * the one system call a query paid for beyond receive and send. */
struct udp_thread {
	pthread_t thread;
	bool started;
	struct server *srv;
	int fd;
	struct answer_ctx actx;
	struct request req;
	struct stats_worker *stats; /* this thread's counters; it is their one writer */
	struct mmsghdr rmsg[UDP_BATCH], smsg[UDP_BATCH];
	struct iovec riov[UDP_BATCH], siov[UDP_BATCH];
	struct sockaddr_storage addrs[UDP_BATCH];
	/* Any-address sockets only: each query's destination as the kernel
	 * reports it, and each reply's source, slot by slot. */
	bool pktinfo;
	union udp_cmsg rctl[UDP_BATCH], sctl[UDP_BATCH];
	/* Packed slots, so that a batch touches few pages: queries up to
	 * UDP_QUERY_MAX bytes, responses up to the configured udp_size. */
	size_t sstride;
	uint8_t *rbuf;
	uint8_t *sbuf;
	/* dnstap: the socket's own address, this thread's queue and sampling
	 * countdown, and the batch's sampled queries (slot, reply slot or -1). */
	struct sockaddr_storage local;
	struct dnstap_thread tap;
	uint8_t tap_slot[UDP_BATCH];
	int16_t tap_reply[UDP_BATCH];
};

/* A worker: its UDP threads, and one libev loop for its TCP sockets. */
struct worker {
	pthread_t thread;
	bool started;
	struct server *srv;
	unsigned id;
	struct ev_loop *loop;
	ev_async stop;
	ev_prepare prepare;
	ev_check check;
	struct udp_thread *udp; /* nudp: one per listener, then the local binds */
	struct listen_io *tcp;  /* nlisten: one per listener */
	size_t nlisten;
	size_t nudp;
	unsigned nconns;
	ev_timer accept_retry; /* accepting paused: out of descriptors */
	struct tcp_conn *conns, *oldest; /* most recently active first; the last */
	unsigned long shed;    /* connections shed since the last log line about it */
	ev_tstamp shed_logged;
	struct tcp_clients *clients; /* connections per client address */
	struct answer_ctx actx;
	struct request req;
	struct stats_worker *stats; /* the TCP loop's counters */
	struct dnstap_thread tap;   /* the TCP loop's dnstap queue and countdown */
	uint8_t resp[2 + TCP_MSG_MAX];
};

struct server {
	/* The live snapshot, owned. Published with a release store and read
	 * with an acquire load (a plain load on x86); freed after QSBR's
	 * synchronize_rcu() says every worker has passed a quiescent state. */
	_Atomic(struct snapshot *) snap;
	char rcu_sync; /* ThreadSanitizer's stand-in for the quiescent states */
	unsigned nworkers;
	unsigned nthreads; /* answering threads: a UDP thread per UDP socket and a TCP loop, per worker */
	struct worker **workers;
	size_t nlisten;
	size_t nudp; /* UDP sockets per worker: nlisten, then the local binds */
	bool udp_df; /* IPv4 UDP replies with DF (make_socket) */
	unsigned tcp_timeout;
	unsigned tcp_max;
	unsigned tcp_per_client;
	bool started;
	atomic_bool stopping;
};

/* ThreadSanitizer does not see liburcu's grace periods (the library is not
 * instrumented), so it would call every free of an old snapshot a race with
 * the workers' earlier reads. Tell it what QSBR guarantees: a worker's reads
 * happen before its next quiescent state, and synchronize_rcu() returns after
 * every worker has passed one. No code in other builds. */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TSAN_ACQUIRE(a) __tsan_acquire(a)
#define TSAN_RELEASE(a) __tsan_release(a)
#else
#define TSAN_ACQUIRE(a) ((void)(a))
#define TSAN_RELEASE(a) ((void)(a))
#endif

static inline const struct snapshot *live_snapshot(struct server *srv)
{
	return atomic_load_explicit(&srv->snap, memory_order_acquire);
}

/* Before going offline: nothing read so far is used afterwards. */
static inline void quiescent(struct server *srv)
{
	TSAN_RELEASE(&srv->rcu_sync);
}

/* --- UDP ------------------------------------------------------------------ */

/* The one control message of reply @tx, in @ctl. Its length is
 * CMSG_LEN, not CMSG_SPACE: the message is the last, so no padding need
 * follow, and Linux copies up to 36 bytes of control data into a buffer on
 * its stack but allocates (and frees) one for more: IPV6_PKTINFO takes 36
 * bytes so, 40 with padding. */
static void put_pktinfo(struct msghdr *tx, union udp_cmsg *ctl, int level, int type, const void *pi,
			size_t len)
{
	ctl->align.cmsg_level = level;
	ctl->align.cmsg_type = type;
	ctl->align.cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(&ctl->align), pi, len);
	tx->msg_control = ctl->buf;
	tx->msg_controllen = CMSG_LEN(len);
}

/* Make the reply @tx leave from the address its query @rx was sent to (its
 * IP_PKTINFO or IPV6_PKTINFO, written into @ctl). Otherwise the kernel picks
 * the source by the route to the client, and on a host with several
 * addresses that need not be the one asked: the client's resolver drops a
 * reply from another address (RFC 5452 makes that one of its checks).
 * The interface index is cleared so the routing table picks the way out, as
 * for a socket bound to one address (keeping the index of the interface the
 * query came in on would misroute replies when the address lives on lo
 * behind a load balancer, or routing is asymmetric); only an IPv6 link-local
 * source keeps it, as its scope. No control message, so the kernel chooses,
 * if the query brought none or was sent to an IPv6 multicast address. */
static void set_reply_source(struct msghdr *tx, union udp_cmsg *ctl, struct msghdr *rx)
{
	tx->msg_control = NULL;
	tx->msg_controllen = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(rx); c; c = CMSG_NXTHDR(rx, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			/* ipi_spec_dst is the query's destination for unicast,
			 * and an address of the receiving interface for a
			 * broadcast (never a source). ipi_addr is not read. */
			pi.ipi_ifindex = 0;
			put_pktinfo(tx, ctl, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
			return;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr)) {
				return;
			}
			if (!IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr)) {
				pi.ipi6_ifindex = 0;
			}
			put_pktinfo(tx, ctl, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
			return;
		}
	}
}

/* Where datagram @rx was sent to, from its IP_PKTINFO / IPV6_PKTINFO, with
 * the port of @local, into @dst; false if it brought none. */
static bool pktinfo_destination(struct msghdr *rx, const struct sockaddr_storage *local,
				struct sockaddr_storage *dst)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(rx); c; c = CMSG_NXTHDR(rx, c)) {
		*dst = *local;
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in *)dst)->sin_addr = pi.ipi_addr;
			return true;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in6 *)dst)->sin6_addr = pi.ipi6_addr;
			return true;
		}
	}
	return false;
}

/* Log the @ntap queries of the batch that were sampled, and their replies,
 * after the replies went out (sendmmsg): the log never delays an answer. */
static void udp_dnstap(struct udp_thread *u, const struct snapshot *snap, int ntap,
		       const struct timespec *received)
{
	struct dnstap_event ev = { .transport = TRANSPORT_UDP, .query_time = *received };
	unsigned sent = 0, dropped = 0;

	clock_gettime(CLOCK_REALTIME, &ev.response_time);
	for (int k = 0; k < ntap; k++) {
		int i = u->tap_slot[k], o = u->tap_reply[k];
		struct sockaddr_storage dst;
		struct dnstap_result r;
		ev.client = &u->addrs[i];
		ev.server = u->pktinfo && pktinfo_destination(&u->rmsg[i].msg_hdr, &u->local, &dst)
				    ? &dst
				    : &u->local;
		ev.query = u->rbuf + (size_t)i * UDP_QUERY_MAX;
		ev.query_len = u->rmsg[i].msg_len;
		ev.response = o >= 0 ? u->siov[o].iov_base : NULL;
		ev.response_len = o >= 0 ? u->siov[o].iov_len : 0;
		r = dnstap_log(snap->dnstap, snap->conf->dnstap, &u->tap, &ev);
		sent += r.sent;
		dropped += r.dropped;
	}
	stats_count_dnstap(u->stats, sent, dropped);
}

/* Answer the @n datagrams just received from snapshot @snap and send the
 * replies in one call; with @tapping (a constant: the compiler makes one copy
 * of this with dnstap and one without), log the sampled ones to dnstap. */
static inline __attribute__((always_inline)) void
udp_answer_batch(struct udp_thread *u, int n, const struct snapshot *snap, const bool tapping)
{
	struct timespec received;
	int out = 0, ntap = 0;

	if (tapping) {
		clock_gettime(CLOCK_REALTIME, &received);
	}
	answer_ctx_use(&u->actx, snap);
	for (int i = 0; i < n; i++) {
		size_t len;
		if (u->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
			stats_count_dropped(u->stats, TRANSPORT_UDP);
			continue; /* larger than any query we would answer */
		}
		u->req.client = &u->addrs[i];
		len = answer_query(&u->actx, snap, &u->req, u->rbuf + (size_t)i * UDP_QUERY_MAX,
				   u->rmsg[i].msg_len, u->sbuf + (size_t)out * u->sstride, u->sstride);
		stats_count(u->stats, &u->req);
		/* (An empty datagram is no query: the shutdown that stops us
		 * makes recvmmsg return one.) */
		if (tapping && u->rmsg[i].msg_len &&
		    dnstap_sample(&u->tap, snap->conf->dnstap->sample)) {
			u->tap_slot[ntap] = (uint8_t)i;
			u->tap_reply[ntap++] = (int16_t)(len ? out : -1);
		}
		if (len == 0) {
			continue;
		}
		u->siov[out].iov_base = u->sbuf + (size_t)out * u->sstride;
		u->siov[out].iov_len = len;
		u->smsg[out].msg_hdr.msg_name = &u->addrs[i];
		u->smsg[out].msg_hdr.msg_namelen = u->rmsg[i].msg_hdr.msg_namelen;
		if (u->pktinfo) {
			set_reply_source(&u->smsg[out].msg_hdr, &u->sctl[out], &u->rmsg[i].msg_hdr);
		}
		out++;
	}
	/* sendmmsg stops at the first reply it cannot send and reports it only
	 * when it is first in line. A full buffer drops the rest, as UDP may;
	 * any other error is that one reply's (a client at port 0, a source
	 * address removed since its query came in): it is dropped alone. */
	for (int sent = 0; sent < out;) {
		int k = sendmmsg(u->fd, u->smsg + sent, (unsigned)(out - sent), MSG_DONTWAIT);
		if (k > 0) {
			sent += k;
		} else if (k < 0 && errno == EINTR) {
			continue;
		} else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
			sent++;
		} else {
			break;
		}
	}
	if (tapping && ntap) {
		udp_dnstap(u, snap, ntap, &received);
	}
	answer_ctx_log(&u->actx); /* after sending: the log may block, answers should not wait */
}

/* With dnstap on: the copy that logs, a function of its own. */
static __attribute__((noinline)) void udp_answer_tapped(struct udp_thread *u, int n,
							const struct snapshot *snap)
{
	udp_answer_batch(u, n, snap, true);
}

/* Answer a batch. dnstap off costs one load and one branch per batch here,
 * nothing per query: the copy without dnstap is inlined into udp_main as the
 * only one was, the copy with it is called (together they would grow
 * udp_main past what the compiler inlines stats_count into). */
static inline __attribute__((always_inline)) void udp_answer(struct udp_thread *u, int n)
{
	const struct snapshot *snap = live_snapshot(u->srv);

	if (snap->dnstap) {
		udp_answer_tapped(u, n, snap);
	} else {
		udp_answer_batch(u, n, snap, false);
	}
}

static void *udp_main(void *arg)
{
	struct udp_thread *u = arg;
	size_t ctllen = u->pktinfo ? sizeof(u->rctl[0]) : 0;

	pthread_setname_np(pthread_self(), "gslbd-udp");
	for (int i = 0; i < UDP_BATCH; i++) {
		u->smsg[i].msg_hdr.msg_iov = &u->siov[i];
		u->smsg[i].msg_hdr.msg_iovlen = 1;
	}
	for (int i = 0; i < UDP_BATCH; i++) {
		u->riov[i].iov_base = u->rbuf + (size_t)i * UDP_QUERY_MAX;
		u->riov[i].iov_len = UDP_QUERY_MAX;
		u->rmsg[i].msg_hdr.msg_iov = &u->riov[i];
		u->rmsg[i].msg_hdr.msg_iovlen = 1;
		u->rmsg[i].msg_hdr.msg_name = &u->addrs[i];
		u->rmsg[i].msg_hdr.msg_namelen = sizeof(u->addrs[i]);
		u->rmsg[i].msg_hdr.msg_control = ctllen ? u->rctl[i].buf : NULL;
		u->rmsg[i].msg_hdr.msg_controllen = ctllen;
		u->rmsg[i].msg_hdr.msg_flags = 0;
	}
	rcu_register_thread();
	while (!atomic_load_explicit(&u->srv->stopping, memory_order_relaxed)) {
		int n;
		/* Offline while blocked: a reload never waits for an idle socket.
		 * MSG_WAITFORONE: block for the first datagram, then take what
		 * else is queued. SO_RCVTIMEO bounds the wait for a stop. */
		quiescent(u->srv);
		rcu_thread_offline();
		n = recvmmsg(u->fd, u->rmsg, UDP_BATCH, MSG_WAITFORONE, NULL);
		rcu_thread_online();
		if (n > 0) {
			udp_answer(u, n);
		}
		/* recvmmsg writes the lengths and flags of the headers it
		 * filled, the first n, and of none when it fails: the rest are
		 * still as set above (the first is reset either way). */
		for (int i = 0; i < (n > 0 ? n : 1); i++) {
			u->rmsg[i].msg_hdr.msg_namelen = sizeof(u->addrs[i]);
			u->rmsg[i].msg_hdr.msg_controllen = ctllen;
			u->rmsg[i].msg_hdr.msg_flags = 0;
		}
	}
	rcu_unregister_thread();
	return NULL;
}

/* --- TCP (RFC 7766) ------------------------------------------------------- */

/* Connections are kept most recently active first, so that the one idle
 * longest is always at hand (w->oldest). */
static void lru_unlink(struct worker *w, struct tcp_conn *c)
{
	if (c->prev) {
		c->prev->next = c->next;
	} else {
		w->conns = c->next;
	}
	if (c->next) {
		c->next->prev = c->prev;
	} else {
		w->oldest = c->prev;
	}
	c->prev = c->next = NULL;
}

static void lru_push(struct worker *w, struct tcp_conn *c)
{
	c->prev = NULL;
	c->next = w->conns;
	if (w->conns) {
		w->conns->prev = c;
	} else {
		w->oldest = c;
	}
	w->conns = c;
}

/* Close @c; @reset sends a RST instead of a FIN (nothing lingers on either
 * side: for connections we shed, not for ones that ran out their time). */
static void tcp_close(struct tcp_conn *c, bool reset)
{
	struct worker *w = c->w;

	ev_io_stop(w->loop, &c->io);
	ev_timer_stop(w->loop, &c->timer);
	if (reset) {
		struct linger lg = { 1, 0 };
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	tcp_clients_remove(w->clients, &c->peer);
	lru_unlink(w, c);
	free(c->out);
	free(c);
	w->nconns--;
}

/* Make room for a new connection: close the one idle longest, that is the
 * one whose last complete message (or accept) is the oldest. A connection
 * that never completes a query (idle, or trickling one) sinks to that end
 * by itself, and a client that just connected is at the other: so
 * connections over tcp_max_clients push out those doing nothing, never the
 * newcomer. (NSD stops accepting until a connection closes, as we did; Knot's
 * XDP TCP resets the most inactive connections when its buffers are full.) */
static void tcp_shed(struct worker *w)
{
	ev_tstamp now = ev_now(w->loop);

	tcp_close(w->oldest, true);
	w->shed++;
	if (now - w->shed_logged >= TCP_SHED_LOG_INTERVAL) {
		log_warn("TCP worker %u is full (tcp_max_clients %u, or out of descriptors): shed "
			 "%lu idle connection%s to take new ones (counted since this was last "
			 "logged)",
			 w->id, w->srv->tcp_max, w->shed, w->shed == 1 ? "" : "s");
		w->shed = 0;
		w->shed_logged = now;
	}
}

/* Set @c's timer for the sooner of its idle timeout (counted from its last
 * complete message) and, while a message is coming in, that message's
 * deadline (counted from its first byte). */
static void tcp_arm(struct tcp_conn *c, ev_tstamp now)
{
	ev_tstamp due = c->active + c->w->srv->tcp_timeout;

	if (c->msg_start > 0 && c->msg_start + TCP_MESSAGE_DEADLINE < due) {
		due = c->msg_start + TCP_MESSAGE_DEADLINE;
	}
	c->timer.repeat = due > now ? due - now : 1e-3;
	ev_timer_again(c->w->loop, &c->timer);
}

static void tcp_update_io(struct tcp_conn *c)
{
	int events = 0;

	if (c->outlen - c->outoff < TCP_OUT_HIGH) {
		events |= EV_READ; /* stop reading while the client does not read */
	}
	if (c->outlen > c->outoff) {
		events |= EV_WRITE;
	}
	if (events != (c->io.events & (EV_READ | EV_WRITE))) {
		ev_io_stop(c->w->loop, &c->io);
		ev_io_set(&c->io, c->fd, events);
		ev_io_start(c->w->loop, &c->io);
	}
}

/* Send what is queued; returns -1 if the connection died. */
static int tcp_flush(struct tcp_conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t k = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				break;
			}
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		c->outoff += (size_t)k;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
	}
	return 0;
}

static void tcp_queue(struct tcp_conn *c, const uint8_t *p, size_t n)
{
	if (c->outoff > 0 && c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
	}
	if (c->outlen + n > c->outcap) {
		if (c->outoff > 0) {
			memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
			c->outlen -= c->outoff;
			c->outoff = 0;
		}
		if (c->outlen + n > c->outcap) {
			c->outcap = (c->outlen + n) * 2;
			c->out = xrealloc(c->out, c->outcap);
		}
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

/* Log a sampled query that came over @c and its response (NULL: none). */
static void tcp_dnstap(struct tcp_conn *c, const struct snapshot *snap,
		       const struct timespec *received, const uint8_t *q, size_t qlen,
		       const uint8_t *resp, size_t rlen)
{
	struct dnstap_event ev = { .transport = TRANSPORT_TCP, .query_time = *received };
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct dnstap_result r;

	ev.client = &c->peer;
	/* The listener may be an any-address: ask the connection. */
	ev.server = getsockname(c->fd, (struct sockaddr *)&local, &llen) == 0 ? &local : NULL;
	ev.query = q;
	ev.query_len = qlen;
	ev.response = resp;
	ev.response_len = rlen;
	clock_gettime(CLOCK_REALTIME, &ev.response_time);
	r = dnstap_log(snap->dnstap, snap->conf->dnstap, &c->w->tap, &ev);
	stats_count_dnstap(c->w->stats, r.sent, r.dropped);
}

static void tcp_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct tcp_conn *c = (struct tcp_conn *)io;
	struct worker *w = c->w;

	if (revents & EV_READ) {
		ssize_t k = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			tcp_close(c, false);
			return;
		}
		if (k > 0) {
			const struct snapshot *snap = live_snapshot(w->srv);
			struct dnstap *tap = snap->dnstap;
			struct timespec received;
			size_t off = 0;
			if (tap) {
				clock_gettime(CLOCK_REALTIME, &received);
			}
			c->inlen += (size_t)k;
			answer_ctx_use(&w->actx, snap);
			/* Every complete message, in order (pipelining). */
			while (c->inlen - off >= 2) {
				size_t mlen = (size_t)c->in[off] << 8 | c->in[off + 1];
				size_t rlen;
				if (c->inlen - off < 2 + mlen) {
					break;
				}
				w->req.client = &c->peer;
				rlen = answer_query(&w->actx, snap, &w->req, c->in + off + 2, mlen,
						    w->resp + 2, TCP_MSG_MAX);
				stats_count(w->stats, &w->req);
				if (tap && dnstap_sample(&w->tap, snap->conf->dnstap->sample)) {
					tcp_dnstap(c, snap, &received, c->in + off + 2, mlen,
						   rlen ? w->resp + 2 : NULL, rlen);
				}
				off += 2 + mlen;
				if (rlen == 0) {
					continue;
				}
				w->resp[0] = (uint8_t)(rlen >> 8);
				w->resp[1] = (uint8_t)rlen;
				tcp_queue(c, w->resp, rlen + 2);
			}
			if (off) {
				/* Idle means no complete query: a client that
				 * trickles bytes (slowloris) keeps no slot longer. */
				memmove(c->in, c->in + off, c->inlen - off);
				c->inlen -= off;
				c->active = ev_now(loop);
				c->msg_start = c->inlen ? c->active : 0;
				if (c != w->conns) {
					lru_unlink(w, c);
					lru_push(w, c);
				}
				tcp_arm(c, c->active);
			} else if (c->msg_start == 0) {
				/* The first bytes of a message: its deadline starts. */
				c->msg_start = ev_now(loop);
				tcp_arm(c, c->msg_start);
			}
		}
	}
	if (tcp_flush(c) != 0) {
		tcp_close(c, false);
		return;
	}
	tcp_update_io(c);
}

static void tcp_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct tcp_conn *c = (struct tcp_conn *)((char *)t - offsetof(struct tcp_conn, timer));
	tcp_close(c, false);
}

static void accept_pause(struct worker *w, bool pause)
{
	for (size_t i = 0; i < w->nlisten; i++) {
		if (pause) {
			ev_io_stop(w->loop, &w->tcp[i].io);
		} else {
			ev_io_start(w->loop, &w->tcp[i].io);
		}
	}
	if (pause) {
		ev_timer_set(&w->accept_retry, TCP_ACCEPT_RETRY, 0.);
		ev_timer_start(w->loop, &w->accept_retry);
	}
}

static void accept_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	accept_pause(t->data, false);
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct listen_io *l = (struct listen_io *)io;
	struct worker *w = l->w;

	for (int i = 0; i < 64; i++) {
		struct tcp_conn *c;
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* The pending connection keeps the listener
				 * readable: free a descriptor by shedding, or
				 * pause rather than spin. */
				if (w->oldest) {
					tcp_shed(w);
					continue;
				}
				log_warn("TCP worker %u: accept: %s; pausing %.1f s", w->id,
					 strerror(errno), TCP_ACCEPT_RETRY);
				accept_pause(w, true);
			}
			return; /* EAGAIN, or the client gave up (ECONNABORTED...) */
		}
		if (tcp_clients_count(w->clients, &peer) >= w->srv->tcp_per_client) {
			/* Over tcp_max_per_client: reset at once (no lingering
			 * FIN exchange), so one address cannot hold every slot;
			 * nobody else's connection is shed for it. */
			struct linger lg = { 1, 0 };
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			continue;
		}
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		if (w->nconns >= w->srv->tcp_max) {
			tcp_shed(w);
		}
		if (!tcp_clients_add(w->clients, &peer)) {
			/* Under its cap, and the table holds tcp_max_clients
			 * clients, more than are connected now. */
			assert(!"tcp_clients has room for every connection");
			free(c);
			close(fd);
			continue;
		}
		memset(c, 0, offsetof(struct tcp_conn, in));
		c->fd = fd;
		c->w = w;
		c->peer = peer;
		c->active = ev_now(loop);
		ev_io_init(&c->io, tcp_cb, fd, EV_READ);
		ev_io_start(loop, &c->io);
		ev_init(&c->timer, tcp_timeout_cb);
		tcp_arm(c, c->active);
		lru_push(w, c);
		w->nconns++;
	}
}

/* --- workers ------------------------------------------------------------- */

static void prepare_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	quiescent(((struct worker *)p->data)->srv);
	rcu_thread_offline(); /* about to block: reloads need not wait for us */
}

static void check_cb(struct ev_loop *loop, ev_check *c, int revents)
{
	rcu_thread_online();
}

static void stop_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	rcu_register_thread();
	ev_run(w->loop, 0);
	while (w->conns) {
		tcp_close(w->conns, false);
	}
	rcu_unregister_thread();
	return NULL;
}

static int set_reuse(int fd)
{
	int one = 1;
	return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
}

/* 0.0.0.0 or ::: an address at which the kernel, not the bind, would
 * decide where replies come from. */
static bool is_any_address(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET) {
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

/* Each datagram then brings its destination address (udp_main). */
static int want_pktinfo(int fd, sa_family_t family)
{
	int one = 1;

	if (family == AF_INET) {
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
}

/* IPv4 replies go out with DF set (RFC 9715 3.1: responders are to set it),
 * sized by the interface's MTU, never by an ICMP message that anyone could
 * forge (IP_PMTUDISC_PROBE): no reply of ours is fragmented, here or on
 * the way. The kernel's default (IP_PMTUDISC_WANT) sets DF too, but
 * fragments here once an ICMP message lowered the path MTU. Only while
 * every reply fits a 1500-byte MTU (udp_size at most 1472); above, the
 * kernel would refuse what does not fit, so the default stays. It also
 * spares the kernel an IP ID per reply (a SipHash and an atomic add on a
 * table all cores share): a datagram never fragmented carries ID 0. */
#define UDP_DF_MAX_PAYLOAD 1472

static int make_socket(const struct sockaddr_storage *addr, socklen_t len, int type, bool df)
{
	int fd = socket(addr->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0) {
		return -1;
	}
	if (set_reuse(fd) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type == SOCK_DGRAM && df && addr->ss_family == AF_INET) {
		int probe = IP_PMTUDISC_PROBE;
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe));
	}
	if (addr->ss_family == AF_INET6) {
		/* "[::]" is IPv6 only: IPv4 has its own socket ("0.0.0.0"). */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (type == SOCK_DGRAM && is_any_address(addr) && want_pktinfo(fd, addr->ss_family) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (type == SOCK_STREAM) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)addr, len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (type == SOCK_DGRAM) {
		/* Blocking, for udp_main's recvmmsg; a timeout to notice a stop. */
		struct timeval tv = { 1, 0 };
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (type == SOCK_STREAM && listen(fd, 1024) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* @a's address as text, into @buf (INET6_ADDRSTRLEN bytes), for the log. */
static const char *host_text(const struct sockaddr_storage *a, char *buf)
{
	const void *in = a->ss_family == AF_INET
				 ? (const void *)&((const struct sockaddr_in *)a)->sin_addr
				 : (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr;

	return inet_ntop(a->ss_family, in, buf, INET6_ADDRSTRLEN);
}

static uint16_t get_port(const struct sockaddr_storage *a)
{
	return ntohs(a->ss_family == AF_INET ? ((const struct sockaddr_in *)a)->sin_port
					     : ((const struct sockaddr_in6 *)a)->sin6_port);
}

static void set_port(struct sockaddr_storage *a, uint16_t port)
{
	if (a->ss_family == AF_INET) {
		((struct sockaddr_in *)a)->sin_port = htons(port);
	} else {
		((struct sockaddr_in6 *)a)->sin6_port = htons(port);
	}
}

/* Is @addr free for us alone? Our listeners set SO_REUSEPORT so that every
 * worker has its own socket, and Linux lets any socket of the same uid with
 * SO_REUSEPORT join them: a second gslbd started with the same config would
 * silently take a share of the queries. So first a test bind without it,
 * which fails while anyone holds the port for that address, or covers it
 * (0.0.0.0 against 127.0.0.1): UDP without SO_REUSEADDR either (sockets
 * with it share UDP ports), TCP with SO_REUSEADDR, which lets connections
 * of an earlier run in TIME_WAIT pass but not a listener. With port 0 the
 * kernel picks a port nobody holds for us, written into @addr (a bind with
 * SO_REUSEPORT could be given a port another gslbd of the same uid holds).
 * Returns 0, or -1 with errno. */
static int claim_port(struct sockaddr_storage *addr, socklen_t len)
{
	int fds[2] = { -1, -1 }, one = 1, rc = -1, e = 0;

	for (int i = 0; i < 2; i++) {
		fds[i] = socket(addr->ss_family, (i ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
		if (fds[i] < 0) {
			e = errno;
			goto out;
		}
		if (addr->ss_family == AF_INET6) {
			setsockopt(fds[i], IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		}
		if (i == 1) {
			setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		}
		if (bind(fds[i], (const struct sockaddr *)addr, len) != 0) {
			e = errno;
			goto out;
		}
		if (i == 0 && get_port(addr) == 0) {
			struct sockaddr_storage got;
			socklen_t gl = sizeof(got);
			if (getsockname(fds[i], (struct sockaddr *)&got, &gl) != 0) {
				e = errno;
				goto out;
			}
			set_port(addr, get_port(&got));
		}
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0) {
			close(fds[i]);
		}
	}
	errno = e;
	return rc;
}

/* Open one listener for every worker. With port 0, claim_port picks one
 * port for all of them, UDP and TCP alike; if it is taken meanwhile,
 * another is tried. */
static int open_listener(struct server *srv, size_t li, const struct conf_listen *cl)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		struct sockaddr_storage addr = cl->addr;
		size_t opened = 0;
		bool ok = true;
		if (get_port(&addr) == 0 && claim_port(&addr, cl->addrlen) != 0) {
			if (errno == EADDRINUSE) {
				continue; /* TCP had the port UDP was given: another */
			}
			log_err("cannot listen on %s: %s", cl->text, strerror(errno));
			return -1;
		}
		for (unsigned wi = 0; wi < srv->nworkers && ok; wi++) {
			struct worker *w = srv->workers[wi];
			int u = make_socket(&addr, cl->addrlen, SOCK_DGRAM, srv->udp_df);
			int t = -1;
			if (u >= 0 && get_port(&addr) == 0) {
				struct sockaddr_storage got;
				socklen_t gl = sizeof(got);
				getsockname(u, (struct sockaddr *)&got, &gl);
				set_port(&addr, get_port(&got));
			}
			if (u >= 0) {
				t = make_socket(&addr, cl->addrlen, SOCK_STREAM, false);
			}
			if (u < 0 || t < 0) {
				int e = errno;
				if (u >= 0) {
					close(u);
				}
				ok = false;
				if (get_port(&cl->addr) != 0 || e != EADDRINUSE) {
					log_err("cannot listen on %s: %s", cl->text, strerror(e));
					attempt = 16;
				}
				break;
			}
			w->udp[li].fd = u;
			w->udp[li].pktinfo = is_any_address(&addr);
			w->udp[li].local = addr;
			w->tcp[li].fd = t;
			opened++;
		}
		if (ok) {
			char host[INET6_ADDRSTRLEN];
			log_info("listening on %s port %u (udp+tcp)", host_text(&addr, host),
				 get_port(&addr));
			return 0;
		}
		for (size_t wi = 0; wi < opened; wi++) {
			close(srv->workers[wi]->udp[li].fd);
			close(srv->workers[wi]->tcp[li].fd);
		}
	}
	return -1;
}

/* A key for worker @i's client table that nobody outside can guess. */
static uint64_t client_seed(unsigned i)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		seed = (uint64_t)time(NULL) * 2654435761u ^ ((uint64_t)getpid() << 32);
	}
	return seed + i * 0x9E3779B97F4A7C15ULL;
}

/* server_new failed: free what it made, but not @snap, which stays the
 * caller's. */
static void server_abandon(struct server *srv)
{
	atomic_store(&srv->snap, NULL);
	server_free(srv);
}

/* One address the any-address listener @listener is also bound to. */
struct local_bind {
	size_t listener;
	struct sockaddr_storage addr; /* port 0 until the listener has its port */
	socklen_t len;
};

/* The addresses the host has now that any-address listener @cl covers: up
 * and of its family; for IPv6 not link-local (a scope, which the
 * any-address socket keeps) nor multicast. Appended to @b (room for
 * LOCAL_BINDS_MAX more), their count returned. */
static size_t local_addresses(size_t listener, const struct conf_listen *cl, struct local_bind *b)
{
	struct ifaddrs *all, *ifa;
	size_t n = 0;

	if (getifaddrs(&all) != 0) {
		log_warn("listen %s: cannot list the host's addresses (%s); every query "
			 "goes to the any-address socket", cl->text, strerror(errno));
		return 0;
	}
	for (ifa = all; ifa && n < LOCAL_BINDS_MAX; ifa = ifa->ifa_next) {
		struct local_bind lb = { .listener = listener };
		bool dup = false;
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != cl->addr.ss_family ||
		    !(ifa->ifa_flags & IFF_UP)) {
			continue;
		}
		if (cl->addr.ss_family == AF_INET) {
			lb.len = sizeof(struct sockaddr_in);
		} else {
			const struct in6_addr *a = &((const struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MULTICAST(a) ||
			    IN6_IS_ADDR_UNSPECIFIED(a)) {
				continue;
			}
			lb.len = sizeof(struct sockaddr_in6);
		}
		memcpy(&lb.addr, ifa->ifa_addr, lb.len);
		if (cl->addr.ss_family == AF_INET6) {
			((struct sockaddr_in6 *)&lb.addr)->sin6_scope_id = 0;
			((struct sockaddr_in6 *)&lb.addr)->sin6_flowinfo = 0;
		}
		set_port(&lb.addr, 0);
		for (size_t k = 0; k < n && !dup; k++) {
			dup = memcmp(&b[k].addr, &lb.addr, lb.len) == 0;
		}
		if (!dup) {
			b[n++] = lb;
		}
	}
	freeifaddrs(all);
	return n;
}

/* A UDP socket's thread state, before it has a socket. */
static void udp_thread_init(struct server *srv, struct udp_thread *u, const struct conf *conf,
			    struct stats *stats, unsigned wi, size_t j)
{
	u->srv = srv;
	u->fd = -1;
	/* answer_query needs 512 bytes of room at least; it sends no more
	 * than udp_size over UDP. */
	u->sstride = conf->udp_size < 512 ? 512 : conf->udp_size;
	u->rbuf = xmalloc((size_t)UDP_BATCH * UDP_QUERY_MAX);
	u->sbuf = xmalloc((size_t)UDP_BATCH * u->sstride);
	u->req.transport = TRANSPORT_UDP;
	u->stats = stats_worker_new(stats);
	u->tap.queue = wi * (unsigned)(srv->nudp + 1) + (unsigned)j;
	u->tap.countdown = 1; /* the first query is logged */
	answer_ctx_init(&u->actx, (uint64_t)time(NULL) * 2654435761u +
					  (wi * 16 + j + 1) * 0x9E3779B97F4A7C15ULL + (uint64_t)getpid());
}

/* Bind every worker's UDP socket @j to local address @b (with its
 * any-address listener's port). A failure (an address going away, an IPv6
 * address still tentative) costs only speed: the any-address socket
 * answers for it. Returns whether it is bound. */
static bool open_local_bind(struct server *srv, size_t j, const struct local_bind *b)
{
	char host[INET6_ADDRSTRLEN];
	unsigned opened = 0;
	int e = 0;

	for (unsigned wi = 0; wi < srv->nworkers; wi++) {
		int fd = make_socket(&b->addr, b->len, SOCK_DGRAM, srv->udp_df);
		if (fd < 0) {
			e = errno;
			break;
		}
		srv->workers[wi]->udp[j].fd = fd;
		srv->workers[wi]->udp[j].local = b->addr;
		opened++;
	}
	host_text(&b->addr, host);
	if (opened == srv->nworkers) {
		log_debug("listening on %s port %u (udp, for the any-address listener)", host,
			  get_port(&b->addr));
		return true;
	}
	log_info("%s port %u: not bound (%s); the any-address listener answers for it", host,
		 get_port(&b->addr), strerror(e));
	for (unsigned wi = 0; wi < opened; wi++) {
		close(srv->workers[wi]->udp[j].fd);
		srv->workers[wi]->udp[j].fd = -1;
	}
	return false;
}

struct server *server_new(struct snapshot *snap, struct stats *stats)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	const struct conf *conf = snap->conf;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct local_bind *binds;
	size_t nbinds = 0;

	atomic_init(&srv->snap, snap);
	srv->nworkers = conf->threads ? conf->threads : (unsigned)(cores > 0 ? cores : 1);
	srv->nlisten = conf->nlistens;
	srv->tcp_timeout = conf->tcp_idle_timeout;
	srv->tcp_max = conf->tcp_max_clients;
	srv->tcp_per_client = conf->tcp_max_per_client;
	srv->udp_df = conf->udp_size <= UDP_DF_MAX_PAYLOAD;
	/* The host's addresses, for the any-address listeners' UDP. */
	binds = xcalloc(srv->nlisten * LOCAL_BINDS_MAX + 1, sizeof(*binds));
	for (size_t j = 0; j < srv->nlisten; j++) {
		if (conf->listen_host_addresses && is_any_address(&conf->listens[j].addr)) {
			nbinds += local_addresses(j, &conf->listens[j], binds + nbinds);
		}
	}
	srv->nudp = srv->nlisten + nbinds;
	srv->workers = xcalloc(srv->nworkers, sizeof(*srv->workers));
	srv->nthreads = srv->nworkers * (unsigned)(srv->nudp + 1);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct worker *w = xcalloc(1, sizeof(*w));
		w->srv = srv;
		w->id = i;
		w->nlisten = srv->nlisten;
		w->nudp = srv->nudp;
		w->udp = xcalloc(srv->nudp, sizeof(*w->udp));
		for (size_t j = 0; j < srv->nudp; j++) {
			udp_thread_init(srv, &w->udp[j], conf, stats, i, j);
		}
		w->tcp = xcalloc(srv->nlisten, sizeof(*w->tcp));
		for (size_t j = 0; j < srv->nlisten; j++) {
			w->tcp[j].fd = -1;
		}
		w->req.transport = TRANSPORT_TCP;
		w->stats = stats_worker_new(stats);
		w->tap.queue = i * (unsigned)(srv->nudp + 1) + (unsigned)srv->nudp;
		w->tap.countdown = 1;
		w->clients = tcp_clients_new(srv->tcp_max, srv->tcp_per_client, client_seed(i));
		answer_ctx_init(&w->actx, (uint64_t)time(NULL) * 2654435761u + i * 0x9E3779B97F4A7C15ULL + (uint64_t)getpid());
		srv->workers[i] = w;
	}
	/* Nobody else may hold our addresses: all are tested before the first
	 * of ours is bound, since ours may overlap (0.0.0.0 and 127.0.0.1). */
	for (size_t j = 0; j < srv->nlisten; j++) {
		struct sockaddr_storage addr = conf->listens[j].addr;
		if (get_port(&addr) != 0 && claim_port(&addr, conf->listens[j].addrlen) != 0) {
			if (errno == EADDRINUSE) {
				log_err("cannot listen on %s: address in use by another process "
					"(another gslbd with this config?); not sharing it",
					conf->listens[j].text);
			} else {
				log_err("cannot listen on %s: %s", conf->listens[j].text,
					strerror(errno));
			}
			free(binds);
			server_abandon(srv);
			return NULL;
		}
	}
	for (size_t j = 0; j < srv->nlisten; j++) {
		if (open_listener(srv, j, &conf->listens[j]) != 0) {
			free(binds);
			server_abandon(srv);
			return NULL;
		}
	}
	/* After the listeners: an any-address listener's port may be the
	 * kernel's pick, and its socket makes ours a more specific bind, not
	 * a claim on the address. An address a listener of the config names
	 * as well is bound already: left to that one. */
	for (size_t k = 0; k < nbinds; k++) {
		size_t j = srv->nlisten + k;
		bool named = false;
		set_port(&binds[k].addr, get_port(&srv->workers[0]->udp[binds[k].listener].local));
		for (size_t l = 0; l < srv->nlisten && !named; l++) {
			named = memcmp(&srv->workers[0]->udp[l].local, &binds[k].addr, binds[k].len) == 0;
		}
		if (!named) {
			open_local_bind(srv, j, &binds[k]);
		}
	}
	for (size_t j = 0; j < srv->nlisten; j++) {
		size_t n = 0;
		if (!conf->listen_host_addresses || !is_any_address(&conf->listens[j].addr)) {
			continue;
		}
		for (size_t k = 0; k < nbinds; k++) {
			n += binds[k].listener == j && srv->workers[0]->udp[srv->nlisten + k].fd >= 0;
		}
		log_info("%s: udp also bound to the %zu address%s of the host%s", conf->listens[j].text,
			 n, n == 1 ? "" : "es", n == LOCAL_BINDS_MAX ? " (the most it binds)" : "");
	}
	free(binds);
	return srv;
}

void server_swap(struct server *srv, struct snapshot *snap)
{
	struct snapshot *old = atomic_load_explicit(&srv->snap, memory_order_relaxed);

	atomic_store_explicit(&srv->snap, snap, memory_order_release);
	synchronize_rcu(); /* every worker has passed a quiescent state */
	TSAN_ACQUIRE(&srv->rcu_sync);
	snapshot_free(old);
}

void server_synchronize(struct server *srv)
{
	synchronize_rcu();
	TSAN_ACQUIRE(&srv->rcu_sync);
}

const struct snapshot *server_snapshot(const struct server *srv)
{
	return atomic_load_explicit(&srv->snap, memory_order_relaxed); /* main thread: the writer */
}

unsigned server_nworkers(const struct server *srv)
{
	return srv->nworkers;
}

unsigned server_nthreads(const struct server *srv)
{
	return srv->nthreads;
}

int server_start(struct server *srv)
{
	sigset_t all, old;
	int rc = 0;

	/* Workers inherit a mask that blocks everything: signals go to the
	 * main loop only (libev: one thread handles signals). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	srv->started = true;
	for (unsigned i = 0; i < srv->nworkers && rc == 0; i++) {
		struct worker *w = srv->workers[i];
		w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
		ev_async_init(&w->stop, stop_cb);
		ev_async_start(w->loop, &w->stop);
		ev_prepare_init(&w->prepare, prepare_cb);
		w->prepare.data = w;
		ev_prepare_start(w->loop, &w->prepare);
		ev_check_init(&w->check, check_cb);
		ev_check_start(w->loop, &w->check);
		for (size_t j = 0; j < w->nudp && rc == 0; j++) {
			if (w->udp[j].fd < 0) {
				continue; /* a local address that could not be bound */
			}
			if (pthread_create(&w->udp[j].thread, NULL, udp_main, &w->udp[j]) != 0) {
				log_err("cannot start a UDP thread: %s", strerror(errno));
				rc = -1;
				break;
			}
			w->udp[j].started = true;
		}
		for (size_t j = 0; j < w->nlisten && rc == 0; j++) {
			w->tcp[j].w = w;
			ev_io_init(&w->tcp[j].io, accept_cb, w->tcp[j].fd, EV_READ);
			ev_io_start(w->loop, &w->tcp[j].io);
		}
		ev_init(&w->accept_retry, accept_retry_cb);
		w->accept_retry.data = w;
		if (rc == 0 && pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			log_err("cannot start worker thread: %s", strerror(errno));
			rc = -1;
			break;
		}
		w->started = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void server_stop(struct server *srv)
{
	if (!srv->started) {
		return;
	}
	atomic_store(&srv->stopping, true);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct worker *w = srv->workers[i];
		if (w->loop) {
			ev_async_send(w->loop, &w->stop);
		}
		for (size_t j = 0; j < w->nudp; j++) {
			if (w->udp[j].fd >= 0) {
				shutdown(w->udp[j].fd, SHUT_RD); /* wakes its blocked recvmmsg */
			}
		}
	}
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct worker *w = srv->workers[i];
		for (size_t j = 0; j < w->nudp; j++) {
			if (w->udp[j].started) {
				pthread_join(w->udp[j].thread, NULL);
				w->udp[j].started = false;
			}
		}
	}
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct worker *w = srv->workers[i];
		if (w->started) {
			pthread_join(w->thread, NULL);
			w->started = false;
		}
		if (w->loop) {
			ev_loop_destroy(w->loop);
			w->loop = NULL;
		}
	}
	srv->started = false;
}

void server_free(struct server *srv)
{
	if (!srv) {
		return;
	}
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct worker *w = srv->workers[i];
		for (size_t j = 0; j < w->nudp; j++) {
			if (w->udp[j].fd >= 0) {
				close(w->udp[j].fd);
			}
		}
		for (size_t j = 0; j < w->nlisten; j++) {
			if (w->tcp[j].fd >= 0) {
				close(w->tcp[j].fd);
			}
		}
		for (size_t j = 0; j < w->nudp; j++) {
			free(w->udp[j].rbuf);
			free(w->udp[j].sbuf);
			answer_ctx_clear(&w->udp[j].actx);
		}
		free(w->udp);
		free(w->tcp);
		tcp_clients_free(w->clients);
		answer_ctx_clear(&w->actx);
		free(w);
	}
	free(srv->workers);
	snapshot_free(atomic_load(&srv->snap));
	free(srv);
}

/* --- readers that answer no queries ---------------------------------------- */

void server_reader_register(void)
{
	rcu_register_thread();
	rcu_thread_offline();
}

void server_reader_unregister(void)
{
	rcu_thread_online();
	rcu_unregister_thread();
}

const struct snapshot *server_read_begin(struct server *srv)
{
	rcu_thread_online();
	return live_snapshot(srv);
}

void server_read_end(struct server *srv)
{
	quiescent(srv);
	rcu_thread_offline();
}
