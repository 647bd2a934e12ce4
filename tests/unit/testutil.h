/* testutil.h -- helpers shared by the Check suites: temp files, query packets, a response walker.
 */
#ifndef GSLBD_TESTUTIL_H
#define GSLBD_TESTUTIL_H

/* Include "config.h" first (it selects the system extensions nftw needs). */
#include <arpa/inet.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/wire.h"

/* --- temporary files ------------------------------------------------------ */

/* One temp directory, removed at exit by the process that made it. Call
 * tu_dir() in main() before the tests run: Check forks a child per test and
 * ends a failed one with _exit(), so the children share the parent's
 * directory and only the parent cleans up. */
static char tu_dir_path[PATH_MAX];
static pid_t tu_dir_owner;

static inline int tu_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void tu_rm_dir(void)
{
	if (tu_dir_path[0] && tu_dir_owner == getpid()) {
		nftw(tu_dir_path, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		tu_dir_path[0] = 0;
	}
}

/* The directory, created on first use. Aborts if it cannot be. */
static inline const char *tu_dir(void)
{
	if (!tu_dir_path[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(tu_dir_path, sizeof(tu_dir_path), "%s/gslbd-test.XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(tu_dir_path)) {
			perror("mkdtemp");
			abort();
		}
		tu_dir_owner = getpid();
		atexit(tu_rm_dir);
	}
	return tu_dir_path;
}

/* Write @text to a file in the temp dir and put its path in @path (PATH_MAX
 * bytes). @name is a file name inside the dir ("sub/x.zone" needs "sub" made
 * with tu_mkdir first), or NULL for a fresh unique name (mkstemp). */
static inline const char *tu_write(char *path, const char *name, const char *text)
{
	FILE *f;
	int fd;

	if (name) {
		if (snprintf(path, PATH_MAX, "%s/%s", tu_dir(), name) >= PATH_MAX) {
			abort();
		}
		f = fopen(path, "w");
	} else {
		if (snprintf(path, PATH_MAX, "%s/tmp.XXXXXX", tu_dir()) >= PATH_MAX) {
			abort();
		}
		fd = mkstemp(path);
		f = fd >= 0 ? fdopen(fd, "w") : NULL;
	}
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}

static inline void tu_mkdir(const char *name)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", tu_dir(), name) >= (int)sizeof(path)) {
		abort();
	}
	mkdir(path, 0700);
}

/* Read a whole (small) file into @buf; returns @buf, empty if unreadable. */
static inline char *tu_read(char *buf, size_t size, const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return buf;
}

/* Run @stmt with stderr redirected to a temp file, then read what it wrote
 * into @buf (what log_msg printed). */
#define TU_CAPTURE_STDERR(buf, size, stmt)                                                         \
	do {                                                                                       \
		char tu_cap_[PATH_MAX];                                                            \
		int tu_saved_ = dup(2);                                                            \
		tu_write(tu_cap_, NULL, "");                                                       \
		fflush(stderr);                                                                    \
		if (!freopen(tu_cap_, "w", stderr)) {                                              \
			abort();                                                                   \
		}                                                                                  \
		stmt;                                                                              \
		fflush(stderr);                                                                    \
		dup2(tu_saved_, 2);                                                                \
		close(tu_saved_);                                                                  \
		clearerr(stderr);                                                                  \
		tu_read((buf), (size), tu_cap_);                                                   \
		fputs((buf), stderr); /* still visible when a test fails */                        \
		remove(tu_cap_);                                                                   \
	} while (0)

/* --- building queries ----------------------------------------------------- */

static inline uint16_t tu_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t tu_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void tu_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Presentation name (no escapes; case kept; "." or "" is the root) to
 * uncompressed wire at @out. Returns the wire length. */
static inline size_t tu_name_wire(uint8_t *out, const char *name)
{
	size_t o = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		if (l == 0) {
			break;
		}
		out[o++] = (uint8_t)l;
		memcpy(out + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	out[o++] = 0;
	return o;
}

/* Header flags for tu_query(): byte 2 in the high octet, byte 3 in the low. */
#define TU_RD (DNS_FLAG_RD << 8)
#define TU_TC (DNS_FLAG_TC << 8)
#define TU_AA (DNS_FLAG_AA << 8)
#define TU_QR (DNS_FLAG_QR << 8)
#define TU_CD DNS_FLAG_CD
#define TU_AD DNS_FLAG_AD
#define TU_OPCODE(n) ((uint16_t)((n) << (DNS_OPCODE_SHIFT + 8)))

/* A query with one question at @buf (at least 512 bytes). Returns its length. */
static inline size_t tu_query(uint8_t *buf, uint16_t id, uint16_t flags, const char *qname,
			      uint16_t qtype, uint16_t qclass)
{
	size_t n = 12;

	memset(buf, 0, 12);
	tu_wr16(buf, id);
	tu_wr16(buf + 2, flags);
	tu_wr16(buf + 4, 1);
	n += tu_name_wire(buf + n, qname);
	tu_wr16(buf + n, qtype);
	tu_wr16(buf + n + 2, qclass);
	return n + 4;
}

/* Append an OPT RR (root owner) to the @len-byte message at @buf and count it
 * in ARCOUNT. @opt_code/@opt_len: one option of that code whose data is
 * @opt_len bytes of 0xAB (no option when @opt_len < 0). Returns the new length. */
static inline size_t tu_add_opt(uint8_t *buf, size_t len, uint16_t udp, bool do_bit,
				uint8_t version, uint16_t opt_code, int opt_len)
{
	uint8_t *p = buf + len;
	size_t rdlen = opt_len >= 0 ? 4 + (size_t)opt_len : 0;

	p[0] = 0;
	tu_wr16(p + 1, 41);
	tu_wr16(p + 3, udp);
	p[5] = 0;
	p[6] = version;
	p[7] = do_bit ? 0x80 : 0;
	p[8] = 0;
	tu_wr16(p + 9, (uint16_t)rdlen);
	if (opt_len >= 0) {
		tu_wr16(p + 11, opt_code);
		tu_wr16(p + 13, (uint16_t)opt_len);
		memset(p + 15, 0xAB, (size_t)opt_len);
	}
	tu_wr16(buf + 10, (uint16_t)(tu_rd16(buf + 10) + 1));
	return len + 11 + rdlen;
}

/* Append an OPT holding the options @opts (@optlen bytes, already framed as
 * code, length, data) to the query at @buf of @len bytes. */
static inline size_t tu_add_opt_raw(uint8_t *buf, size_t len, uint16_t udp, const uint8_t *opts,
				    size_t optlen)
{
	uint8_t *p = buf + len;

	p[0] = 0;
	tu_wr16(p + 1, DNS_TYPE_OPT);
	tu_wr16(p + 3, udp);
	p[5] = 0;
	p[6] = DNS_EDNS_VERSION;
	p[7] = 0;
	p[8] = 0;
	tu_wr16(p + 9, (uint16_t)optlen);
	memcpy(p + DNS_OPT_FIXED_LEN, opts, optlen);
	tu_wr16(buf + DNS_OFF_ARCOUNT, (uint16_t)(tu_rd16(buf + DNS_OFF_ARCOUNT) + 1));
	return len + DNS_OPT_FIXED_LEN + optlen;
}

/* Frame one option (@code, @data of @dlen bytes) at @out; returns its size. */
static inline size_t tu_option(uint8_t *out, uint16_t code, const uint8_t *data, size_t dlen)
{
	tu_wr16(out, code);
	tu_wr16(out + 2, (uint16_t)dlen);
	if (dlen) {
		memcpy(out + DNS_EDNS_OPTION_HDR, data, dlen);
	}
	return DNS_EDNS_OPTION_HDR + dlen;
}

/* --- walking responses ---------------------------------------------------- */

/* Decompress the name at @off of the @len-byte message @msg into dotted text
 * @out (at least 1024 bytes, no final dot, "." for the root). Returns the
 * offset after the name where it is stored, or 0 if it is malformed. */
static inline size_t tu_name(char *out, const uint8_t *msg, size_t len, size_t off)
{
	size_t end = 0, o = 0;
	int jumps = 0;

	out[0] = 0;
	for (;;) {
		if (off >= len) {
			return 0;
		}
		uint8_t l = msg[off];
		if ((l & 0xC0) == 0xC0) {
			if (off + 1 >= len || ++jumps > 64) {
				return 0;
			}
			if (!end) {
				end = off + 2;
			}
			off = (size_t)(l & 0x3F) << 8 | msg[off + 1];
			continue;
		}
		if (l & 0xC0) {
			return 0;
		}
		if (l == 0) {
			break;
		}
		if (off + 1 + l > len || o + l + 2 > 1024) {
			return 0;
		}
		if (o) {
			out[o++] = '.';
		}
		memcpy(out + o, msg + off + 1, l);
		o += l;
		off += 1 + (size_t)l;
	}
	if (o == 0) {
		out[o++] = '.';
	}
	out[o] = 0;
	return end ? end : off + 1;
}

#define TU_MAXRR 128

struct tu_rr {
	int section; /* 0 answer, 1 authority, 2 additional */
	char owner[1024];
	size_t owner_off; /* where the owner is stored in the message */
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata_off;
	const uint8_t *rdata;
};

struct tu_resp {
	uint16_t id;
	uint8_t flags1, flags2;
	bool qr, aa, tc, rd, ra, cd;
	int opcode;
	int rcode; /* with the OPT extended bits */
	uint16_t qdcount, ancount, nscount, arcount;
	char qname[1024];
	uint16_t qtype, qclass;
	size_t question_end;
	size_t nrr;
	struct tu_rr rr[TU_MAXRR];
	bool has_opt;
	uint16_t opt_udp;
	uint8_t opt_version;
	bool opt_do;
	const struct tu_rr *opt;
};

/* Walk the whole @len-byte response: header, question, every RR (OPT
 * included in rr[], also pointed to by opt). Returns 0, or -1 if the message
 * is malformed, its counts do not match its contents, or bytes trail. */
static inline int tu_parse(struct tu_resp *r, const uint8_t *msg, size_t len)
{
	size_t off = 12;
	unsigned total;

	memset(r, 0, sizeof(*r));
	if (len < 12) {
		return -1;
	}
	r->id = tu_rd16(msg);
	r->flags1 = msg[2];
	r->flags2 = msg[3];
	r->qr = msg[2] & 0x80;
	r->opcode = (msg[2] >> 3) & 0x0F;
	r->aa = msg[2] & 0x04;
	r->tc = msg[2] & 0x02;
	r->rd = msg[2] & 0x01;
	r->ra = msg[3] & 0x80;
	r->cd = msg[3] & 0x10;
	r->rcode = msg[3] & 0x0F;
	r->qdcount = tu_rd16(msg + 4);
	r->ancount = tu_rd16(msg + 6);
	r->nscount = tu_rd16(msg + 8);
	r->arcount = tu_rd16(msg + 10);
	if (r->qdcount > 1) {
		return -1;
	}
	if (r->qdcount == 1) {
		off = tu_name(r->qname, msg, len, off);
		if (!off || off + 4 > len) {
			return -1;
		}
		r->qtype = tu_rd16(msg + off);
		r->qclass = tu_rd16(msg + off + 2);
		off += 4;
	}
	r->question_end = off;
	total = (unsigned)r->ancount + r->nscount + r->arcount;
	if (total > TU_MAXRR) {
		return -1;
	}
	for (unsigned i = 0; i < total; i++) {
		struct tu_rr *rr = &r->rr[r->nrr++];
		rr->section = i < r->ancount ? 0 : i < (unsigned)r->ancount + r->nscount ? 1 : 2;
		rr->owner_off = off;
		off = tu_name(rr->owner, msg, len, off);
		if (!off || off + 10 > len) {
			return -1;
		}
		rr->type = tu_rd16(msg + off);
		rr->rclass = tu_rd16(msg + off + 2);
		rr->ttl = tu_rd32(msg + off + 4);
		rr->rdlen = tu_rd16(msg + off + 8);
		rr->rdata_off = off + 10;
		rr->rdata = msg + off + 10;
		off += 10 + (size_t)rr->rdlen;
		if (off > len) {
			return -1;
		}
		if (rr->type == 41) {
			if (r->has_opt || rr->section != 2) {
				return -1;
			}
			r->has_opt = true;
			r->opt = rr;
			r->opt_udp = rr->rclass;
			r->rcode |= (int)(rr->ttl >> 24) << 4;
			r->opt_version = (uint8_t)(rr->ttl >> 16);
			r->opt_do = (rr->ttl & 0x8000) != 0;
		}
	}
	return off == len ? 0 : -1;
}

/* Number of RRs of @type in @section (-1: any section). */
static inline unsigned tu_count(const struct tu_resp *r, int section, uint16_t type)
{
	unsigned n = 0;

	for (size_t i = 0; i < r->nrr; i++) {
		if ((section < 0 || r->rr[i].section == section) && r->rr[i].type == type) {
			n++;
		}
	}
	return n;
}

/* The @k-th RR (0-based) of @section. */
static inline const struct tu_rr *tu_sec(const struct tu_resp *r, int section, unsigned k)
{
	for (size_t i = 0; i < r->nrr; i++) {
		if (r->rr[i].section == section && k-- == 0) {
			return &r->rr[i];
		}
	}
	return NULL;
}

/* The name at the start of @rr's rdata (NS, CNAME, PTR, SOA MNAME) as text. */
static inline const char *tu_rdata_name(char *out, const uint8_t *msg, size_t len,
					const struct tu_rr *rr)
{
	if (!tu_name(out, msg, len, rr->rdata_off)) {
		snprintf(out, 1024, "(bad name)");
	}
	return out;
}

/* An A or AAAA rdata as text. */
static inline const char *tu_addr(char *out, size_t size, const struct tu_rr *rr)
{
	if (rr->rdlen != 4 && rr->rdlen != 16) {
		snprintf(out, size, "(rdlen %u)", rr->rdlen);
	} else {
		inet_ntop(rr->rdlen == 4 ? AF_INET : AF_INET6, rr->rdata, out, (socklen_t)size);
	}
	return out;
}

#endif
