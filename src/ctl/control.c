/* control.c -- the control socket: one command line in, one reply out, on the main loop. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <ldns/ldns.h>

#include "dns/wire.h"
#include "ctl/control.h"
#include "util/log.h"
#include "util/mem.h"


/* The answer path follows at most this many CNAME links (snapshot.c). */
#define MAX_CHAIN 8

/* Few operators at once; a client beyond this is told so and closed. */
#define MAX_CLIENTS 16
/* The whole command line must arrive within this, so a client that connects
 * and sends nothing (or trickles bytes) cannot hold a slot. */
#define READ_TIMEOUT 2.0
/* A client that stops reading a long reply is dropped after this long
 * without progress. */
#define WRITE_TIMEOUT 10.0
/* Accept paused after running out of descriptors, retried after this. */
#define ACCEPT_RETRY 1.0

#define USAGE_HINT "try: status, explain, drain, undrain, reload"

/* --- reply buffer ---------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_init(struct sbuf *b)
{
	b->cap = 4096;
	b->len = 0;
	b->p = xmalloc(b->cap);
	b->p[0] = 0;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
}

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0xC2 || s[0] > 0xF4) {
		return 0;
	}
	len = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
	if (len > n) {
		return 0;
	}
	cp = s[0] & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			return 0;
		}
		cp = cp << 6 | (s[i] & 0x3F);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF)) {
		return 0;
	}
	return len;
}

/* A JSON string (or null). Reasons can carry text from a backend (an HTTP
 * body, a script's output), so every byte is escaped or checked: the result
 * is always valid JSON, invalid UTF-8 becoming U+FFFD. */
static void sb_json_str(struct sbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	if (!str) {
		sb_printf(b, "null");
		return;
	}
	n = strlen(str);
	sb_printf(b, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = s[i];
		size_t l;
		if (ch == '"' || ch == '\\') {
			sb_printf(b, "\\%c", ch);
		} else if (ch == '\n') {
			sb_printf(b, "\\n");
		} else if (ch == '\t') {
			sb_printf(b, "\\t");
		} else if (ch < 0x20 || ch == 0x7F) {
			sb_printf(b, "\\u%04x", ch);
		} else if (ch < 0x80) {
			sb_printf(b, "%c", ch);
		} else if ((l = utf8_seq(s + i, n - i)) > 0) {
			sb_printf(b, "%.*s", (int)l, (const char *)s + i);
			i += l - 1;
		} else {
			sb_printf(b, "\\ufffd");
		}
	}
	sb_printf(b, "\"");
}

static void sb_json_num(struct sbuf *b, double v)
{
	if (isfinite(v)) {
		sb_printf(b, "%.3f", v);
	} else {
		sb_printf(b, "null");
	}
}

/* --- health metadata ------------------------------------------------------- */

/* One command's view of the world. The table lock is held while a reply is
 * formatted from entry metadata, so a probe result cannot change a reason
 * string halfway through a line; formatting is quick and the probe thread
 * only waits that long. */
struct ctl {
	const struct snapshot *s;
	struct health_table *t;	      /* NULL: every member is up */
	struct health_entry **byword; /* word -> entry, while locked */
	uint32_t nwords;
	struct sbuf out;
};

static void ctl_lock(struct ctl *x)
{
	if (!x->t) {
		return;
	}
	pthread_mutex_lock(&x->t->lock);
	x->nwords = x->t->nwords;
	x->byword = xcalloc(x->nwords ? x->nwords : 1, sizeof(*x->byword));
	for (size_t i = 0; i < x->t->nentries; i++) {
		struct health_entry *e = x->t->entries[i];
		if (e->word < x->nwords) {
			x->byword[e->word] = e;
		}
	}
}

static void ctl_unlock(struct ctl *x)
{
	if (!x->t) {
		return;
	}
	free(x->byword);
	x->byword = NULL;
	pthread_mutex_unlock(&x->t->lock);
}

static const struct health_entry *entry_of(const struct ctl *x, uint32_t word)
{
	return x->byword && word < x->nwords ? x->byword[word] : NULL;
}

static const char *admin_name(enum health_admin a)
{
	switch (a) {
	case ADMIN_DRAINED:
		return "drained";
	case ADMIN_FORCED_UP:
		return "forced-up";
	case ADMIN_NONE:
	default:
		return "none";
	}
}

static const char *last_resort_name(enum last_resort r)
{
	switch (r) {
	case LAST_RESORT_NODATA:
		return "nodata";
	case LAST_RESORT_SERVFAIL:
		return "servfail";
	case LAST_RESORT_FAIL_OPEN:
	default:
		return "fail-open";
	}
}

static const char *iso_time(char *buf, size_t size, double t)
{
	time_t secs = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&secs, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		return "never";
	}
	return buf;
}

/* Copy @in bounded, control characters made visible: a probe reason can
 * carry a backend's text, and one member (or an error) stays one line. */
static const char *printable(char *buf, size_t size, const char *in)
{
	size_t o = 0;

	for (; *in && o + 1 < size; in++) {
		buf[o++] = (unsigned char)*in < 0x20 || *in == 0x7F ? '?' : *in;
	}
	buf[o] = 0;
	return buf;
}

/* Everything said about one member. */
struct member_view {
	const char *address;
	bool up;		      /* what the answer path decides */
	const struct health_entry *h; /* NULL: unknown (no health table) */
	enum health_admin admin;
	bool always; /* no check: always up unless drained */
};

static bool member_up(const struct ctl *x, const struct pool *p, const struct pool_family *f,
		      unsigned i)
{
	return !p->checked || !x->t || health_member_up(x->t, f->hword[i], f->aword[i]);
}

static void member_view(struct member_view *mv, const struct ctl *x, const struct pool *p,
			const struct pool_family *f, unsigned i)
{
	const struct health_entry *a;

	memset(mv, 0, sizeof(*mv));
	mv->address = f->text[i];
	mv->up = member_up(x, p, f, i);
	if (!x->t) {
		mv->always = true;
		return;
	}
	mv->h = entry_of(x, f->hword[i]);
	a = entry_of(x, f->aword[i]);
	mv->admin = a && a->is_admin ? a->admin : ADMIN_NONE;
	mv->always = !mv->h || strcmp(mv->h->key, "always-up") == 0;
}

static unsigned family_up(const struct ctl *x, const struct pool *p, const struct pool_family *f)
{
	unsigned n = 0;

	for (unsigned i = 0; i < f->n; i++) {
		n += member_up(x, p, f, i);
	}
	return n;
}

static const struct pool_family *family_of(const struct pool *p, uint16_t qtype)
{
	return qtype == DNS_TYPE_A ? &p->v4 : &p->v6;
}

/* "healthy", "degraded", "backup", "last-resort" or "empty". */
static const char *family_state(const struct pool_explain *ex, const struct pool_family *f,
				unsigned up)
{
	if (f->n == 0) {
		return "empty";
	}
	if (ex->from_backup) {
		return "backup";
	}
	if (ex->last_resort) {
		return "last-resort";
	}
	return up == f->n ? "healthy" : "degraded";
}

/* --- status ---------------------------------------------------------------- */

/* One line per family: who answers and with which TTL. */
static void status_family(struct ctl *x, const struct pool *p, uint16_t qtype)
{
	const struct pool_family *f = family_of(p, qtype);
	const char *fam = qtype == DNS_TYPE_A ? "A" : "AAAA";
	struct pool_explain ex;
	unsigned up;

	if (f->n == 0) {
		sb_printf(&x->out, "  %s: no members (NODATA)\n", fam);
		return;
	}
	pool_explain(&ex, p, qtype, x->t);
	up = family_up(x, p, f);
	if (ex.from_backup) {
		sb_printf(&x->out,
			  "  %s: failed, %u of %u up (min_healthy %u); answered from backup %s "
			  "(%u up), ttl %u\n",
			  fam, up, f->n, p->min_healthy, ex.answered->name, ex.up, ex.ttl);
	} else if (ex.last_resort) {
		sb_printf(&x->out, "  %s: failed, %u of %u up (min_healthy %u)%s; last resort %s",
			  fam, up, f->n, p->min_healthy, p->backup ? ", backups failed too" : "",
			  last_resort_name(p->last_resort));
		if (ex.answered) {
			sb_printf(&x->out, ": every member answered, ttl %u\n", ex.ttl);
		} else {
			sb_printf(&x->out, "\n");
		}
	} else {
		sb_printf(&x->out, "  %s: %s, %u of %u up, ttl %u\n", fam, family_state(&ex, f, up),
			  up, f->n, ex.ttl);
	}
}

static void status_member(struct ctl *x, const struct member_view *mv)
{
	const struct health_entry *h = mv->h;
	char tbuf[40], rbuf[sizeof(h->reason)];

	sb_printf(&x->out, "  member %s: %s; ", mv->address, mv->up ? "up" : "down");
	if (!h) {
		sb_printf(&x->out, "health up, admin %s; check none\n", admin_name(mv->admin));
		return;
	}
	sb_printf(&x->out, "health %s, admin %s; ", h->sm.state == HEALTH_UP ? "up" : "down",
		  admin_name(mv->admin));
	if (mv->always) {
		sb_printf(&x->out, "check none\n");
		return;
	}
	sb_printf(&x->out, "check %s (%s %s); ", h->check ? h->check : "?", h->kind ? h->kind : "?",
		  h->target ? h->target : "?");
	if (h->probed) {
		sb_printf(&x->out, "last probe %s (%s) %.1f ms; ", h->last_ok ? "ok" : "failed",
			  printable(rbuf, sizeof(rbuf), h->reason), h->latency_ms);
	} else {
		sb_printf(&x->out, "last probe none; ");
	}
	sb_printf(&x->out, "count %u; changed %s\n", h->sm.count,
		  iso_time(tbuf, sizeof(tbuf), h->changed));
}

static void status_text(struct ctl *x)
{
	const struct snapshot *s = x->s;

	for (size_t i = 0; i < s->npools; i++) {
		const struct pool *p = &s->pools[i];
		sb_printf(&x->out,
			  "pool %s: policy %s, ttl %u, ttl_degraded %u, min_healthy %u, backup %s, "
			  "last_resort %s\n",
			  p->name, p->policy->name, p->ttl, p->ttl_degraded, p->min_healthy,
			  p->backup ? p->backup->name : "none", last_resort_name(p->last_resort));
		status_family(x, p, DNS_TYPE_A);
		status_family(x, p, DNS_TYPE_AAAA);
		for (int fi = 0; fi < 2; fi++) {
			const struct pool_family *f = fi == 0 ? &p->v4 : &p->v6;
			for (unsigned k = 0; k < f->n; k++) {
				struct member_view mv;
				member_view(&mv, x, p, f, k);
				status_member(x, &mv);
			}
		}
	}
	if (s->npools == 0) {
		sb_printf(&x->out, "no pools configured\n");
	}
}

static void json_family(struct ctl *x, const struct pool *p, uint16_t qtype)
{
	const struct pool_family *f = family_of(p, qtype);
	struct pool_explain ex;
	unsigned up = family_up(x, p, f);

	pool_explain(&ex, p, qtype, x->t);
	sb_printf(&x->out, "{\"members\":%u,\"up\":%u,\"state\":\"%s\",\"answered_by\":", f->n, up,
		  family_state(&ex, f, up));
	sb_json_str(&x->out, ex.answered ? ex.answered->name : NULL);
	sb_printf(&x->out, ",\"from_backup\":%s,\"last_resort\":%s,\"ttl\":%u}",
		  ex.from_backup ? "true" : "false", ex.last_resort ? "true" : "false", ex.ttl);
}

static void json_member(struct ctl *x, const struct member_view *mv, const char *family)
{
	const struct health_entry *h = mv->h;
	struct sbuf *b = &x->out;
	char tbuf[40];

	sb_printf(b, "{\"address\":");
	sb_json_str(b, mv->address);
	sb_printf(b, ",\"family\":\"%s\",\"state\":\"%s\",\"health\":\"%s\",\"admin\":\"%s\"",
		  family, mv->up ? "up" : "down", !h || h->sm.state == HEALTH_UP ? "up" : "down",
		  admin_name(mv->admin));
	if (!h || mv->always) {
		sb_printf(b,
			  ",\"check\":null,\"kind\":\"none\",\"target\":null,\"last_probe\":null,"
			  "\"reason\":null,\"latency_ms\":null,\"probed_at\":null,\"count\":%u,"
			  "\"changed\":null}",
			  h ? h->sm.count : 0);
		return;
	}
	sb_printf(b, ",\"check\":");
	sb_json_str(b, h->check);
	sb_printf(b, ",\"kind\":");
	sb_json_str(b, h->kind);
	sb_printf(b, ",\"target\":");
	sb_json_str(b, h->target);
	if (h->probed) {
		sb_printf(b, ",\"last_probe\":\"%s\",\"reason\":", h->last_ok ? "ok" : "failed");
		sb_json_str(b, h->reason);
		sb_printf(b, ",\"latency_ms\":");
		sb_json_num(b, h->latency_ms);
		sb_printf(b, ",\"probed_at\":");
		sb_json_str(b, iso_time(tbuf, sizeof(tbuf), h->last_probe));
	} else {
		sb_printf(b, ",\"last_probe\":null,\"reason\":null,\"latency_ms\":null,"
			     "\"probed_at\":null");
	}
	sb_printf(b, ",\"count\":%u,\"changed\":", h->sm.count);
	sb_json_str(b, h->changed > 0 ? iso_time(tbuf, sizeof(tbuf), h->changed) : NULL);
	sb_printf(b, "}");
}

static void status_json(struct ctl *x)
{
	const struct snapshot *s = x->s;
	struct sbuf *b = &x->out;

	sb_printf(b, "{\"pools\":[");
	for (size_t i = 0; i < s->npools; i++) {
		const struct pool *p = &s->pools[i];
		bool first = true;
		sb_printf(b, "%s{\"name\":", i ? "," : "");
		sb_json_str(b, p->name);
		sb_printf(b,
			  ",\"policy\":\"%s\",\"ttl\":%u,\"ttl_degraded\":%u,\"min_healthy\":%u,"
			  "\"backup\":",
			  p->policy->name, p->ttl, p->ttl_degraded, p->min_healthy);
		sb_json_str(b, p->backup ? p->backup->name : NULL);
		sb_printf(b, ",\"last_resort\":\"%s\",\"families\":{\"A\":",
			  last_resort_name(p->last_resort));
		json_family(x, p, DNS_TYPE_A);
		sb_printf(b, ",\"AAAA\":");
		json_family(x, p, DNS_TYPE_AAAA);
		sb_printf(b, "},\"members\":[");
		for (int fi = 0; fi < 2; fi++) {
			const struct pool_family *f = fi == 0 ? &p->v4 : &p->v6;
			for (unsigned k = 0; k < f->n; k++) {
				struct member_view mv;
				member_view(&mv, x, p, f, k);
				sb_printf(b, "%s", first ? "" : ",");
				json_member(x, &mv, fi == 0 ? "A" : "AAAA");
				first = false;
			}
		}
		sb_printf(b, "]}");
	}
	sb_printf(b, "]}\n");
}

/* --- explain --------------------------------------------------------------- */

static const char *type_name(char *buf, size_t size, uint16_t type)
{
	char *s = ldns_rr_type2str((ldns_rr_type)type);

	snprintf(buf, size, "%s", s ? s : "?");
	free(s);
	return buf;
}

/* "A", "aaaa", "TYPE65" or "65"; 0 if none of these. */
static uint16_t parse_type(const char *str)
{
	char *end;
	unsigned long v;

	if (isdigit((unsigned char)str[0])) {
		v = strtoul(str, &end, 10);
		return *end || v == 0 || v > 65535 ? 0 : (uint16_t)v;
	}
	return (uint16_t)ldns_get_rr_type_by_name(str);
}

static const struct rrset *node_rrset(const struct node *n, uint16_t type)
{
	for (unsigned i = 0; i < n->nrrsets; i++) {
		if (n->rrsets[i].type == type) {
			return &n->rrsets[i];
		}
	}
	return NULL;
}

/* Why one member is, or is not, in the answer. */
static void explain_member(struct ctl *x, const struct member_view *mv)
{
	const struct health_entry *h = mv->h;
	struct sbuf *b = &x->out;
	const char *health = !h || h->sm.state == HEALTH_UP ? "up" : "down";
	char rbuf[sizeof(h->reason)];

	sb_printf(b, "    %s ", mv->address);
	if (mv->admin == ADMIN_DRAINED) {
		sb_printf(b, "drained (operator override; health %s)\n", health);
	} else if (mv->admin == ADMIN_FORCED_UP) {
		sb_printf(b, "forced-up (operator override; health %s)\n", health);
	} else if (mv->always) {
		sb_printf(b, "up (no check)\n");
	} else if (!h->probed) {
		sb_printf(b, "%s (not probed yet: initial or saved state)\n", health);
	} else if (h->last_ok == (h->sm.state == HEALTH_UP)) {
		sb_printf(b, "%s (last probe %s: %s)\n", health, h->last_ok ? "ok" : "failed",
			  printable(rbuf, sizeof(rbuf), h->reason));
	} else {
		/* The last result disagrees with the state: rise/fall still counting. */
		sb_printf(b, "%s (last probe %s: %s; %u %s in a row so far)\n", health,
			  h->last_ok ? "ok" : "failed", printable(rbuf, sizeof(rbuf), h->reason),
			  h->sm.count, h->last_ok ? "success(es)" : "failure(s)");
	}
}

static void explain_members(struct ctl *x, const struct pool *p, const struct pool_family *f)
{
	for (unsigned i = 0; i < f->n; i++) {
		struct member_view mv;
		member_view(&mv, x, p, f, i);
		explain_member(x, &mv);
	}
}

static void explain_pool(struct ctl *x, const struct pool *p, uint16_t qtype)
{
	const struct pool_family *f = family_of(p, qtype);
	const char *fam = qtype == DNS_TYPE_A ? "A" : "AAAA";
	struct sbuf *b = &x->out;
	struct pool_explain ex;
	unsigned up = family_up(x, p, f);
	unsigned records;

	pool_explain(&ex, p, qtype, x->t);
	sb_printf(b, "pool %s (%s, %u %s per answer), %s members:\n", p->name, p->policy->name,
		  f->answers, f->answers == 1 ? "record" : "records", fam);
	explain_members(x, p, f);
	sb_printf(b, "min_healthy %u: %s (%u of %u up)\n", p->min_healthy,
		  up >= p->min_healthy ? "met" : "not met", up, f->n);
	if (!ex.from_backup && !ex.last_resort) {
		records = up < f->answers ? up : f->answers;
		sb_printf(b, "answer: %u %s record%s from pool %s, ttl %u%s\n", records, fam,
			  records == 1 ? "" : "s", p->name, ex.ttl,
			  up < f->n ? " (ttl_degraded: a member is down)" : "");
		return;
	}
	/* Say what happened to each backup on the way. */
	for (const struct pool *bp = p->backup; bp; bp = bp->backup) {
		const struct pool_family *bf = family_of(bp, qtype);
		unsigned bup = family_up(x, bp, bf);
		if (bp == ex.answered) {
			sb_printf(b, "backup %s in force (%u of %u up, min_healthy %u):\n",
				  bp->name, bup, bf->n, bp->min_healthy);
			explain_members(x, bp, bf);
			records = bup < bf->answers ? bup : bf->answers;
			sb_printf(
			    b,
			    "answer: %u %s record%s from backup %s, ttl %u (ttl_degraded of %s)\n",
			    records, fam, records == 1 ? "" : "s", bp->name, ex.ttl, p->name);
			return;
		}
		sb_printf(b, "backup %s failed too (%u of %u %s members up, min_healthy %u)\n",
			  bp->name, bup, bf->n, fam, bp->min_healthy);
	}
	if (!p->backup) {
		sb_printf(b, "no backup configured\n");
	}
	switch (p->last_resort) {
	case LAST_RESORT_NODATA:
		sb_printf(b, "last resort nodata in force: answer NODATA, SOA in authority\n");
		break;
	case LAST_RESORT_SERVFAIL:
		sb_printf(b, "last resort servfail in force: answer SERVFAIL\n");
		break;
	case LAST_RESORT_FAIL_OPEN:
	default:
		sb_printf(b,
			  "last resort fail-open in force: every member of %s is answered "
			  "(%u %s record%s), ttl %u (ttl_degraded)\n",
			  p->name, f->answers, fam, f->answers == 1 ? "" : "s", ex.ttl);
		break;
	}
}

static void explain_name(struct ctl *x, const uint8_t *name, uint16_t qtype, const uint8_t **chain,
			 int depth);

/* What the answer at node @n (the name itself, or the wildcard that
 * synthesizes it) holds for @qtype, in the order answer building decides it
 * (snapshot.c: resolve_node). */
static void explain_node(struct ctl *x, const struct node *n, uint16_t qtype, const uint8_t **chain,
			 int depth)
{
	struct sbuf *b = &x->out;
	const struct rrset *rs;
	char nbuf[1024], tbuf[32];

	rs = node_rrset(n, DNS_TYPE_CNAME);
	if (rs && qtype != DNS_TYPE_CNAME && qtype != DNS_TYPE_ANY) {
		uint8_t target[DNAME_MAXLEN];
		size_t l = dname_len(rs->rrs[0].rdata);
		memcpy(target, rs->rrs[0].rdata, l);
		dname_tolower(target, l);
		sb_printf(b, "CNAME to %s (ttl %u)\n", dname_to_str(nbuf, sizeof(nbuf), target),
			  rs->ttl);
		for (int i = 0; i < depth; i++) {
			if (dname_len(chain[i]) == l && memcmp(chain[i], target, l) == 0) {
				sb_printf(b, "CNAME loop: the chain stops here, NOERROR\n");
				return;
			}
		}
		if (depth + 1 >= MAX_CHAIN) {
			sb_printf(b, "chain longer than %d links: it stops here, NOERROR\n",
				  MAX_CHAIN);
			return;
		}
		chain[depth] = n->name;
		explain_name(x, target, qtype, chain, depth + 1);
		return;
	}
	if (qtype == DNS_TYPE_ANY) {
		/* RFC 8482: one RRset, chosen as the answer builder chooses it. */
		uint16_t pick = 0;
		if (node_pool(n) && pool_count(node_pool(n), DNS_TYPE_A)) {
			pick = DNS_TYPE_A;
		} else if (node_pool(n) && pool_count(node_pool(n), DNS_TYPE_AAAA)) {
			pick = DNS_TYPE_AAAA;
		} else if (n->nrrsets) {
			pick = node_rrset(n, DNS_TYPE_SOA) ? DNS_TYPE_SOA : n->rrsets[0].type;
		}
		if (pick) {
			sb_printf(b, "ANY is answered with one RRset (RFC 8482): %s\n",
				  type_name(tbuf, sizeof(tbuf), pick));
			qtype = pick;
		}
	}
	if (node_pool(n) && (qtype == DNS_TYPE_A || qtype == DNS_TYPE_AAAA)) {
		if (pool_count(node_pool(n), qtype)) {
			explain_pool(x, node_pool(n), qtype);
		} else {
			sb_printf(b, "pool %s has no %s members: NODATA\n", node_pool(n)->name,
				  qtype == DNS_TYPE_A ? "A" : "AAAA");
		}
		return;
	}
	rs = node_rrset(n, qtype);
	if (rs) {
		sb_printf(b, "static data: %u record%s of type %s, ttl %u\n", rs->count,
			  rs->count == 1 ? "" : "s", type_name(tbuf, sizeof(tbuf), qtype), rs->ttl);
		return;
	}
	sb_printf(b, "NODATA: no %s records here%s\n", type_name(tbuf, sizeof(tbuf), qtype),
		  node_pool(n) ? " (the name's pool answers only A and AAAA)" : "");
}

static void explain_name(struct ctl *x, const uint8_t *name, uint16_t qtype, const uint8_t **chain,
			 int depth)
{
	struct sbuf *b = &x->out;
	uint8_t offs[DNAME_MAXLABELS];
	int nl = dname_labels(name, offs);
	const struct node *n;
	char nbuf[1024], zbuf[1024], cbuf[1024];

	switch (snapshot_find(x->s, name, offs, nl, &n)) {
	case MATCH_NONE:
		if (depth == 0) {
			sb_printf(b, "%s is in no zone we serve: REFUSED\n",
				  dname_to_str(nbuf, sizeof(nbuf), name));
		} else {
			sb_printf(b, "%s is in no zone we serve: the resolver follows the CNAME\n",
				  dname_to_str(nbuf, sizeof(nbuf), name));
		}
		return;
	case MATCH_EXACT:
		sb_printf(b, "zone %s: exact match %s\n",
			  dname_to_str(zbuf, sizeof(zbuf), n->zone->apex->name),
			  dname_to_str(nbuf, sizeof(nbuf), n->name));
		if (node_cut(n) && !(qtype == DNS_TYPE_DS && n->is_cut)) {
			sb_printf(b,
				  "at or below the delegation %s: referral to its name servers "
				  "(not authoritative)\n",
				  dname_to_str(cbuf, sizeof(cbuf), node_cut(n)->name));
			return;
		}
		explain_node(x, n, qtype, chain, depth);
		return;
	case MATCH_WILDCARD:
		sb_printf(b, "zone %s: wildcard match, synthesized from %s\n",
			  dname_to_str(zbuf, sizeof(zbuf), n->zone->apex->name),
			  dname_to_str(nbuf, sizeof(nbuf), n->name));
		explain_node(x, n, qtype, chain, depth);
		return;
	case MATCH_REFERRAL:
		sb_printf(b,
			  "zone %s: below the delegation %s: referral to its name servers "
			  "(not authoritative)\n",
			  dname_to_str(zbuf, sizeof(zbuf), n->zone->apex->name),
			  dname_to_str(cbuf, sizeof(cbuf), node_cut(n)->name));
		return;
	case MATCH_NXDOMAIN:
		sb_printf(b, "zone %s: no such name (closest encloser %s): NXDOMAIN\n",
			  dname_to_str(zbuf, sizeof(zbuf), n->zone->apex->name),
			  dname_to_str(nbuf, sizeof(nbuf), n->name));
		return;
	}
}

/* --- commands -------------------------------------------------------------- */

static int reply_err(struct ctl *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int reply_err(struct ctl *x, const char *fmt, ...)
{
	char msg[CONTROL_MAX_LINE + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->out.len = 0;
	sb_printf(&x->out, "ERR %s\n", msg);
	return -1;
}

static int cmd_explain(struct ctl *x, const char *namestr, const char *typestr)
{
	uint8_t name[DNAME_MAXLEN];
	const uint8_t *chain[MAX_CHAIN];
	char nbuf[1024], tbuf[32], pbuf[CONTROL_MAX_LINE];
	uint16_t qtype = parse_type(typestr);

	if (dname_from_str(name, namestr) < 0) {
		return reply_err(x, "not a domain name: %s",
				 printable(pbuf, sizeof(pbuf), namestr));
	}
	if (qtype == 0) {
		return reply_err(x, "unknown type %s (try A, AAAA, TXT, TYPE65, ...)",
				 printable(pbuf, sizeof(pbuf), typestr));
	}
	sb_printf(&x->out, "OK\n%s %s\n", dname_to_str(nbuf, sizeof(nbuf), name),
		  type_name(tbuf, sizeof(tbuf), qtype));
	if (qtype == DNS_TYPE_IXFR || qtype == DNS_TYPE_AXFR) {
		sb_printf(&x->out, "zone transfers are not served: REFUSED\n");
		return 0;
	}
	if (qtype == DNS_TYPE_MAILB || qtype == DNS_TYPE_MAILA) {
		sb_printf(&x->out, "MAILA/MAILB: NOTIMP\n");
		return 0;
	}
	ctl_lock(x);
	explain_name(x, name, qtype, chain, 0);
	ctl_unlock(x);
	return 0;
}

static int cmd_admin(struct ctl *x, const struct control_ops *ops, const char *poolname,
		     const char *address, enum health_admin want)
{
	const struct pool *p = NULL;
	const struct pool_family *f = NULL;
	struct health_entry *e;
	enum health_admin was;
	uint8_t addr[16];
	char norm[INET6_ADDRSTRLEN], key[600], pbuf[CONTROL_MAX_LINE], abuf[CONTROL_MAX_LINE];
	unsigned idx = 0;
	int family = 0;

	/* The configured text is inet_ntop's, so "2001:db8:0::1" must become
	 * "2001:db8::1" before it can match. */
	if (inet_pton(AF_INET, address, addr) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, address, addr) == 1) {
		family = AF_INET6;
	}
	if (family) {
		inet_ntop(family, addr, norm, sizeof(norm));
		for (size_t i = 0; i < x->s->npools && !p; i++) {
			if (strcmp(x->s->pools[i].name, poolname) == 0) {
				p = &x->s->pools[i];
			}
		}
	}
	if (p) {
		f = family == AF_INET ? &p->v4 : &p->v6;
		for (idx = 0; idx < f->n && strcmp(f->text[idx], norm) != 0; idx++) {
		}
	}
	if (!p || idx == f->n) {
		return reply_err(x, "no member %s in pool %s",
				 printable(abuf, sizeof(abuf), address),
				 printable(pbuf, sizeof(pbuf), poolname));
	}
	if (!x->t) {
		return reply_err(x, "health is not enabled: nothing to %s",
				 want == ADMIN_DRAINED ? "drain" : "undrain");
	}
	snprintf(key, sizeof(key), "%s/%s", p->name, norm);
	pthread_mutex_lock(&x->t->lock);
	e = health_find(x->t, key);
	was = e ? e->admin : ADMIN_NONE;
	pthread_mutex_unlock(&x->t->lock);
	if (!e || health_set_admin(x->t, e, want) != 0) {
		return reply_err(x, "no admin entry %s (reload and retry)", key);
	}
	if (was != want) {
		log_info("control: %s %s in pool %s (was %s)",
			 want == ADMIN_DRAINED ? "drained" : "undrained", norm, p->name,
			 admin_name(was));
		if (ops && ops->admin_changed) {
			ops->admin_changed(ops->arg);
		}
	}
	sb_printf(&x->out, "OK\n");
	if (was == want) {
		sb_printf(&x->out, "%s in pool %s: admin already %s", norm, p->name,
			  admin_name(want));
	} else {
		sb_printf(&x->out, "%s in pool %s: admin %s -> %s", norm, p->name, admin_name(was),
			  admin_name(want));
	}
	sb_printf(&x->out, "; it is now %s\n", member_up(x, p, f, idx) ? "up" : "down");
	return 0;
}

#define MAX_ARGS 8

int control_execute(const char *line, const struct snapshot *s, struct health_table *health,
		    const struct control_ops *ops, char **out, size_t *outlen)
{
	struct ctl x = {s, health, NULL, 0, {NULL, 0, 0}};
	char buf[CONTROL_MAX_LINE + 1], pbuf[64];
	char *argv[MAX_ARGS], *save = NULL, *tok;
	int argc = 0, rc;

	sb_init(&x.out);
	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (argc == MAX_ARGS) {
			break;
		}
		argv[argc++] = tok;
	}
	if (argc == 0) {
		rc = reply_err(&x, "empty command; " USAGE_HINT);
	} else if (strcmp(argv[0], "reload") == 0) {
		if (argc != 1) {
			rc = reply_err(&x, "usage: reload");
		} else {
			log_info("control: reload requested");
			if (ops && ops->reload) {
				ops->reload(ops->arg);
			}
			sb_printf(&x.out, "OK\nreload requested; the log says whether it worked\n");
			rc = 0;
		}
	} else if (!s && (strcmp(argv[0], "status") == 0 || strcmp(argv[0], "explain") == 0 ||
			  strcmp(argv[0], "drain") == 0 || strcmp(argv[0], "undrain") == 0)) {
		rc = reply_err(&x, "no configuration loaded");
	} else if (strcmp(argv[0], "status") == 0) {
		bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
		if (argc > 2 || (argc == 2 && !json)) {
			rc = reply_err(&x, "usage: status [--json]");
		} else {
			sb_printf(&x.out, "OK\n");
			ctl_lock(&x);
			if (json) {
				status_json(&x);
			} else {
				status_text(&x);
			}
			ctl_unlock(&x);
			rc = 0;
		}
	} else if (strcmp(argv[0], "explain") == 0) {
		rc = argc == 3 ? cmd_explain(&x, argv[1], argv[2])
			       : reply_err(&x, "usage: explain NAME TYPE");
	} else if (strcmp(argv[0], "drain") == 0 || strcmp(argv[0], "undrain") == 0) {
		bool drain = argv[0][0] == 'd';
		rc = argc == 3
			 ? cmd_admin(&x, ops, argv[1], argv[2], drain ? ADMIN_DRAINED : ADMIN_NONE)
			 : reply_err(&x, "usage: %s POOL ADDRESS", argv[0]);
	} else {
		rc = reply_err(&x, "unknown command \"%s\"; " USAGE_HINT,
			       printable(pbuf, sizeof(pbuf), argv[0]));
	}
	*out = x.out.p;
	*outlen = x.out.len;
	return rc;
}

/* --- the socket ------------------------------------------------------------ */

struct conn {
	struct control *c;
	struct conn *prev, *next;
	ev_io io; /* readable while reading the line, writable while replying */
	ev_timer timer;
	size_t len;
	char line[CONTROL_MAX_LINE];
	char *out;
	size_t outlen, sent;
};

struct control {
	struct ev_loop *loop;
	ev_io accept_w;
	ev_timer retry_w;
	char *path;
	dev_t dev; /* of the socket file we made: remove only that one */
	ino_t ino;
	struct health_table *health;
	struct control_ops ops;
	struct conn *conns;
	unsigned nconns;
};

static void conn_free(struct conn *k)
{
	struct control *c = k->c;
	char junk[512];
	int fd = k->io.fd;

	ev_io_stop(c->loop, &k->io);
	ev_timer_stop(c->loop, &k->timer);
	/* Unread input makes Linux reset the peer's side of a UNIX socket,
	 * which may cost the client the end of its reply: read it first. */
	for (int i = 0; i < 8 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++) {
	}
	close(fd);
	if (k->prev) {
		k->prev->next = k->next;
	} else {
		c->conns = k->next;
	}
	if (k->next) {
		k->next->prev = k->prev;
	}
	c->nconns--;
	free(k->out);
	free(k);
}

/* Send what the socket takes; returns true when the connection is gone. */
static bool conn_flush(struct conn *k)
{
	while (k->sent < k->outlen) {
		ssize_t w = send(k->io.fd, k->out + k->sent, k->outlen - k->sent, MSG_NOSIGNAL);
		if (w > 0) {
			k->sent += (size_t)w;
			ev_timer_again(k->c->loop, &k->timer); /* progress: a fresh timeout */
			continue;
		}
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return false;
		}
		conn_free(k); /* the client went away */
		return true;
	}
	conn_free(k);
	return true;
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_flush(w->data);
}

static void conn_reply(struct conn *k, char *out, size_t outlen)
{
	struct ev_loop *loop = k->c->loop;

	k->out = out;
	k->outlen = outlen;
	k->sent = 0;
	ev_io_stop(loop, &k->io);
	k->timer.repeat = WRITE_TIMEOUT;
	ev_timer_again(loop, &k->timer);
	if (conn_flush(k)) {
		return;
	}
	ev_io_init(&k->io, write_cb, k->io.fd, EV_WRITE);
	k->io.data = k;
	ev_io_start(loop, &k->io);
}

static void conn_error(struct conn *k, const char *msg)
{
	char *out;
	size_t n = strlen(msg);

	out = xmalloc(n + 6);
	memcpy(out, "ERR ", 4);
	memcpy(out + 4, msg, n);
	out[n + 4] = '\n';
	out[n + 5] = 0;
	conn_reply(k, out, n + 5);
}

static void conn_execute(struct conn *k, size_t n)
{
	struct control *c = k->c;
	const struct snapshot *s;
	char *out = NULL;
	size_t outlen = 0;

	if (memchr(k->line, 0, n)) {
		conn_error(k, "bad command line (NUL byte)");
		return;
	}
	k->line[n] = 0;
	s = c->ops.current ? c->ops.current(c->ops.arg) : NULL;
	control_execute(k->line, s, c->health, &c->ops, &out, &outlen);
	conn_reply(k, out, outlen);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *k = w->data;

	(void)loop;
	(void)revents;
	for (;;) {
		ssize_t r = recv(w->fd, k->line + k->len, sizeof(k->line) - k->len, 0);
		if (r > 0) {
			char *nl = memchr(k->line + k->len, '\n', (size_t)r);
			k->len += (size_t)r;
			if (nl) {
				conn_execute(k, (size_t)(nl - k->line));
				return;
			}
			if (k->len == sizeof(k->line)) {
				conn_error(k, "command line too long");
				return;
			}
			continue;
		}
		if (r == 0) {
			/* The client shut down its side: a last line without
			 * its newline still counts. */
			if (k->len > 0) {
				conn_execute(k, k->len);
			} else {
				conn_free(k);
			}
			return;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_free(k);
		}
		return;
	}
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_free(w->data);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *c = w->data;

	(void)revents;
	/* A few per wake-up, so a flood cannot starve the rest of the loop. */
	for (int i = 0; i < 16; i++) {
		struct conn *k;
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* The pending client stays readable: pause rather than spin. */
				log_warn("control socket %s: accept: %s", c->path, strerror(errno));
				ev_io_stop(loop, &c->accept_w);
				ev_timer_set(&c->retry_w, ACCEPT_RETRY, 0.);
				ev_timer_start(loop, &c->retry_w);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_warn("control socket %s: accept: %s", c->path, strerror(errno));
			}
			return;
		}
		if (c->nconns >= MAX_CLIENTS) {
			static const char busy[] = "ERR too many control clients; retry\n";
			if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
				/* Nothing more to do for it either way. */
			}
			close(fd);
			continue;
		}
		k = xcalloc(1, sizeof(*k));
		k->c = c;
		k->next = c->conns;
		if (c->conns) {
			c->conns->prev = k;
		}
		c->conns = k;
		c->nconns++;
		ev_io_init(&k->io, read_cb, fd, EV_READ);
		k->io.data = k;
		ev_init(&k->timer, timeout_cb);
		k->timer.repeat = READ_TIMEOUT;
		k->timer.data = k;
		ev_timer_again(loop, &k->timer);
		ev_io_start(loop, &k->io);
	}
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control *c = w->data;

	(void)revents;
	ev_io_start(loop, &c->accept_w);
}

/* Bind and listen on @path (the file is replaced if it is a stale socket);
 * its identity goes to *@st. Returns the descriptor, or -1 after logging. */
static int listen_on(struct stat *st, const char *path, unsigned mode)
{
	struct sockaddr_un sun;
	const char *what = "socket";
	bool bound = false;
	int fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("control socket %s: path longer than %zu bytes", path,
			sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* Replace a socket left by an earlier run, but never delete anything
	 * else a typo in the config might name. */
	if (lstat(sun.sun_path, st) == 0) {
		if (!S_ISSOCK(st->st_mode)) {
			log_err("control socket %s: exists and is not a socket; not replacing it",
				sun.sun_path);
			return -1;
		}
		what = "removing the old socket";
		if (unlink(sun.sun_path) != 0) {
			goto fail;
		}
	}
	what = "socket";
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		goto fail;
	}
	what = "bind";
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		goto fail;
	}
	bound = true;
	/* Permissions are set before listen(): until then nobody can connect,
	 * so there is no window with the umask's looser mode. (fchmod on a
	 * socket descriptor does not reach the file on Linux.) */
	what = "chmod";
	if (chmod(sun.sun_path, mode & 07777) != 0 || lstat(sun.sun_path, st) != 0) {
		goto fail;
	}
	what = "listen";
	if (listen(fd, 16) != 0) {
		goto fail;
	}
	return fd;

fail:
	log_err("control socket %s: %s: %s", sun.sun_path, what, strerror(errno));
	if (fd >= 0) {
		close(fd);
	}
	if (bound) {
		unlink(sun.sun_path);
	}
	return -1;
}

struct control *control_new(struct ev_loop *loop, const char *path, unsigned mode,
			    struct health_table *health, const struct control_ops *ops)
{
	struct control *c;
	struct stat st;
	int fd = listen_on(&st, path, mode);

	if (fd < 0) {
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->path = xstrdup(path);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->health = health;
	if (ops) {
		c->ops = *ops;
	}
	ev_io_init(&c->accept_w, accept_cb, fd, EV_READ);
	c->accept_w.data = c;
	ev_init(&c->retry_w, retry_cb);
	c->retry_w.data = c;
	ev_io_start(loop, &c->accept_w);
	log_info("control socket %s (mode %04o)", c->path, mode & 07777);
	return c;
}

void control_free(struct control *c)
{
	struct stat st;

	if (!c) {
		return;
	}
	while (c->conns) {
		conn_free(c->conns);
	}
	ev_io_stop(c->loop, &c->accept_w);
	ev_timer_stop(c->loop, &c->retry_w);
	close(c->accept_w.fd);
	/* Only our own file: a second instance may have replaced it since. */
	if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino) {
		unlink(c->path);
	}
	free(c->path);
	free(c);
}
