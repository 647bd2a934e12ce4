/* probe_dns.c -- the dns check: its settings, and runs of one UDP query
 * judged by the reply's rcode and (optionally) an address in its answer
 * section. The packet code is ours: a dozen lines to write a question and
 * walk an answer do not need ldns at run time. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <libconfig.h>

#include "data/conf.h"
#include "dns/dname.h"
#include "dns/wire.h"
#include "util/mem.h"
#include "health/check_kind.h"
#include "health/probe_int.h"

#define QUERY_MAX (DNS_HEADER_LEN + DNAME_MAXLEN + DNS_QUESTION_FIXED_LEN)
/* Replies to queries without EDNS fit in 512 octets (RFC 1035 4.2.1); the
 * spare room only tolerates servers that ignore that. */
#define REPLY_MAX 4096

enum { IGNORE = PROBE_DNS_IGNORE, DOWN = PROBE_DNS_DOWN, UP = PROBE_DNS_UP };

/* clang-format off */
static const char *const rcode_names[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
};
/* clang-format on */

static void rcode_text(char *buf, size_t size, int rcode)
{
	if (rcode >= 0 && (size_t)rcode < sizeof(rcode_names) / sizeof(rcode_names[0])) {
		snprintf(buf, size, "rcode %s", rcode_names[rcode]);
	} else {
		snprintf(buf, size, "rcode %d", rcode);
	}
}

/* Length of the uncompressed wire name at @n (at most @max octets), or 0. */
static size_t wire_len(const uint8_t *n, size_t max)
{
	size_t o = 0;

	while (o < max) {
		uint8_t l = n[o];
		if (l == 0) {
			return o + 1;
		}
		if (l > 63) {
			return 0;
		}
		o += 1 + (size_t)l;
	}
	return 0;
}

/* Offset after the (possibly compressed) name at @off, or 0 if it overruns. */
static size_t skip_name(const uint8_t *m, size_t len, size_t off)
{
	while (off < len) {
		uint8_t l = m[off];
		if ((l & DNS_PTR_MASK) == DNS_PTR_MASK) {
			return off + 2 <= len ? off + 2 : 0;
		}
		if (l & DNS_PTR_MASK) {
			return 0;
		}
		if (l == 0) {
			return off + 1;
		}
		off += 1 + (size_t)l;
	}
	return 0;
}

void probe_dns_setup(struct probe *p)
{
	const struct probe_dns_opts *s = p->spec->opts;

	p->dns_qname_len = wire_len(s->qname, sizeof(s->qname));
	if (p->dns_qname_len == 0) {
		snprintf(p->setup_err, sizeof(p->setup_err), "bad query name");
	}
	p->dns_answer_family = 0;
	if (s->expect_answer) {
		if (inet_pton(AF_INET, s->expect_answer, p->dns_answer) == 1) {
			p->dns_answer_family = AF_INET;
		} else if (inet_pton(AF_INET6, s->expect_answer, p->dns_answer) == 1) {
			p->dns_answer_family = AF_INET6;
		} else {
			snprintf(p->setup_err, sizeof(p->setup_err), "bad expect_answer \"%.60s\"",
				 s->expect_answer);
		}
	}
}

int probe_dns_judge(struct probe *p, const uint8_t *m, size_t len, char *reason, size_t size)
{
	const struct probe_dns_opts *s = p->spec->opts;
	size_t off = DNS_HEADER_LEN, ql = p->dns_qname_len;
	unsigned qdcount, ancount;
	int rcode;

	if (len < DNS_HEADER_LEN || dns_rd16(m) != p->dns_id || !(m[DNS_OFF_FLAGS1] & DNS_FLAG_QR)) {
		return IGNORE;
	}
	qdcount = dns_rd16(m + DNS_OFF_QDCOUNT);
	ancount = dns_rd16(m + DNS_OFF_ANCOUNT);
	if (qdcount > 1 || ((m[DNS_OFF_FLAGS1] & DNS_OPCODE_MASK) >> DNS_OPCODE_SHIFT) != DNS_OPCODE_QUERY) {
		snprintf(reason, size, "malformed reply");
		return DOWN;
	}
	/* Some servers leave the question out of FORMERR, NOTIMP, REFUSED. */
	if (qdcount == 1) {
		if (off + ql + 4 > len) {
			snprintf(reason, size, "malformed reply");
			return DOWN;
		}
		for (size_t i = 0; i < ql; i++) {
			/* Length octets are < 64, never letters: folding them is harmless. */
			if (tolower(m[off + i]) != tolower(s->qname[i])) {
				snprintf(reason, size, "reply to another question");
				return DOWN;
			}
		}
		off += ql;
		if (dns_rd16(m + off) != s->qtype || dns_rd16(m + off + 2) != DNS_CLASS_IN) {
			snprintf(reason, size, "reply to another question");
			return DOWN;
		}
		off += 4;
	}
	rcode = m[DNS_OFF_FLAGS2] & DNS_RCODE_MASK;
	rcode_text(reason, size, rcode);
	if (rcode != s->expect_rcode) {
		return DOWN;
	}
	if (!p->dns_answer_family) {
		return UP;
	}
	uint16_t want_type = p->dns_answer_family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
	uint16_t want_len = p->dns_answer_family == AF_INET ? 4 : 16;
	for (unsigned i = 0; i < ancount; i++) {
		off = skip_name(m, len, off);
		if (!off || off + DNS_RR_FIXED_LEN > len) {
			snprintf(reason, size, "malformed reply");
			return DOWN;
		}
		uint16_t type = dns_rd16(m + off), rdlen = dns_rd16(m + off + 8);
		off += DNS_RR_FIXED_LEN;
		if (off + rdlen > len) {
			snprintf(reason, size, "malformed reply");
			return DOWN;
		}
		if (type == want_type && rdlen == want_len &&
		    memcmp(m + off, p->dns_answer, want_len) == 0) {
			return UP;
		}
		off += rdlen;
	}
	snprintf(reason, size, "%sanswer lacks %.60s", (m[2] & 0x02) ? "truncated " : "",
		 s->expect_answer);
	return DOWN;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *p = w->data;
	uint8_t m[REPLY_MAX];
	char reason[PROBE_REASON_MAX];

	for (;;) {
		ssize_t n = recv(p->fd, m, sizeof(m), 0);
		if (n < 0) {
			int err = errno;
			if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
				return;
			}
			/* ICMP port unreachable arrives as ECONNREFUSED on a
			 * connected socket: "connection refused". */
			probe_unwatch(p);
			probe_fail_errno(p, NULL, err);
			return;
		}
		int verdict = probe_dns_judge(p, m, (size_t)n, reason, sizeof(reason));
		if (verdict != IGNORE) {
			probe_unwatch(p);
			probe_done(p, verdict == UP, reason);
			return;
		}
	}
}

static void dns_start(struct probe *p)
{
	const struct probe_spec *s = p->spec;
	const struct probe_dns_opts *o = s->opts;
	uint8_t q[QUERY_MAX];
	size_t ql = p->dns_qname_len;
	int fd, err;

	/* A connected socket: only the server's datagrams reach us, and ICMP
	 * errors are reported. A fresh socket per query gets a fresh random
	 * source port from the kernel. */
	fd = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		probe_fail_errno(p, "socket", errno);
		return;
	}
	if (connect(fd, (const struct sockaddr *)&s->addr, s->addrlen) != 0) {
		err = errno;
		close(fd);
		probe_fail_errno(p, NULL, err);
		return;
	}
	p->dns_id = probe_random16(p->eng);
	memset(q, 0, DNS_HEADER_LEN);
	dns_wr16(q + DNS_OFF_ID, p->dns_id);
	/* RD set: recursive backends need it, authoritative ones ignore it. */
	q[DNS_OFF_FLAGS1] = DNS_FLAG_RD;
	dns_wr16(q + DNS_OFF_QDCOUNT, 1);
	memcpy(q + DNS_HEADER_LEN, o->qname, ql);
	dns_wr16(q + DNS_HEADER_LEN + ql, o->qtype);
	dns_wr16(q + DNS_HEADER_LEN + ql + 2, DNS_CLASS_IN);
	if (send(fd, q, DNS_HEADER_LEN + ql + DNS_QUESTION_FIXED_LEN, 0) < 0) {
		err = errno;
		close(fd);
		probe_fail_errno(p, NULL, err);
		return;
	}
	probe_watch(p, fd, EV_READ, io_cb);
}

static void dns_cancel(struct probe *p)
{
	if (p->fd >= 0) {
		probe_unwatch(p);
	}
}

/* --- configuration ------------------------------------------------------------- */

static void *opts_new(void)
{
	struct probe_dns_opts *o = xcalloc(1, sizeof(*o));

	o->qtype = DNS_TYPE_A;
	o->expect_rcode = DNS_RCODE_NOERROR;
	return o;
}

static void *opts_dup(const void *opts)
{
	const struct probe_dns_opts *o = opts;
	struct probe_dns_opts *d = xmemdup(o, sizeof(*o));

	d->query = o->query ? xstrdup(o->query) : NULL;
	d->expect_answer = o->expect_answer ? xstrdup(o->expect_answer) : NULL;
	return d;
}

static void opts_free(void *opts)
{
	struct probe_dns_opts *o = opts;

	if (!o) {
		return;
	}
	free(o->query);
	free(o->expect_answer);
	free(o);
}

static void parse_query(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	struct probe_dns_opts *o = k->opts;
	const char *str = conf_string(c, s);

	if (!str) {
		return;
	}
	if (dname_from_str(o->qname, str) < 0) {
		conf_error(c, s, "expected a domain name, got \"%s\"", str);
	}
	o->query = xstrdup(str);
}

static void parse_qtype(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	/* clang-format off */
	static const struct { const char *name; uint16_t type; } types[] = {
		{ "A", DNS_TYPE_A }, { "NS", DNS_TYPE_NS }, { "CNAME", DNS_TYPE_CNAME },
		{ "SOA", DNS_TYPE_SOA }, { "PTR", DNS_TYPE_PTR }, { "MX", DNS_TYPE_MX },
		{ "TXT", DNS_TYPE_TXT }, { "AAAA", DNS_TYPE_AAAA }, { "SRV", DNS_TYPE_SRV },
		{ "CAA", DNS_TYPE_CAA },
	};
	/* clang-format on */
	struct probe_dns_opts *o = k->opts;
	const char *str = conf_string(c, s);

	if (!str) {
		return;
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcasecmp(types[i].name, str) == 0) {
			o->qtype = types[i].type;
			return;
		}
	}
	conf_error(c, s, "expected A, AAAA, NS, CNAME, SOA, PTR, MX, TXT, SRV or CAA, got \"%s\"",
		   str);
}

static void parse_expect_rcode(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	/* clang-format off */
	static const struct { const char *name; int rcode; } rcodes[] = {
		{ "NOERROR", DNS_RCODE_NOERROR }, { "FORMERR", DNS_RCODE_FORMERR },
		{ "SERVFAIL", DNS_RCODE_SERVFAIL }, { "NXDOMAIN", DNS_RCODE_NXDOMAIN },
		{ "NOTIMP", DNS_RCODE_NOTIMP }, { "REFUSED", DNS_RCODE_REFUSED },
	};
	/* clang-format on */
	struct probe_dns_opts *o = k->opts;
	const char *str = conf_string(c, s);

	if (!str) {
		return;
	}
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		if (strcasecmp(rcodes[i].name, str) == 0) {
			o->expect_rcode = rcodes[i].rcode;
			return;
		}
	}
	conf_error(c, s,
		   "expected NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP or REFUSED, got \"%s\"",
		   str);
}

static void parse_expect_answer(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	struct probe_dns_opts *o = k->opts;
	const char *str = conf_string(c, s);
	uint8_t a[16];

	if (!str) {
		return;
	}
	if (inet_pton(AF_INET, str, a) != 1 && inet_pton(AF_INET6, str, a) != 1) {
		conf_error(c, s, "expected an IPv4 or IPv6 address, got \"%s\"", str);
	}
	free(o->expect_answer);
	o->expect_answer = xstrdup(str);
}

static void validate(struct conf_ctx *c, struct conf_check *k, const config_setting_t *s)
{
	const struct probe_dns_opts *o = k->opts;

	if (!o->query) {
		conf_error(c, s, "a dns check needs 'query'");
	}
}

static void make_spec(struct probe_spec *ps, const struct conf_check *k,
		      const struct conf_member *m)
{
	ps->opts = opts_dup(k->opts);
}

static const struct check_setting settings[] = {
    {"port", conf_check_port},
    {"query", parse_query},
    {"qtype", parse_qtype},
    {"expect_rcode", parse_expect_rcode},
    {"expect_answer", parse_expect_answer},
    {NULL, NULL},
};

static const char *const member_settings[] = {"port", "probe_address", NULL};

const struct check_kind check_kind_dns = {
    .name = "dns",
    .settings = settings,
    .member_settings = member_settings,
    .default_port = 53,
    .opts_new = opts_new,
    .opts_dup = opts_dup,
    .opts_free = opts_free,
    .validate = validate,
    .make_spec = make_spec,
    .setup = probe_dns_setup,
    .start = dns_start,
    .cancel = dns_cancel,
};
