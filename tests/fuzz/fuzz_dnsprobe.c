/* fuzz_dnsprobe.c -- libFuzzer target: replies to a dns health probe through probe_dns_judge,
 * most of them spliced around the probe's own ID and question so that the judging is reached. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/wire.h"
#include "health/check_kinds.h"
#include "health/probe_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A reply is judged only if it carries the probe's random ID and echoes its
 * question, so raw bytes as the reply almost never get past the first two
 * checks (the old target: 100 -> 102 edges in 65M runs). Instead the input
 * chooses the probe and how the reply is made:
 *
 *   byte 0   bits 0-1 the question name (QNAMES), bits 2-3 its type
 *            (QTYPES), bits 4-5 expect_answer (ANSWERS), bits 6-7 the shape:
 *            0 ECHO:  a header with the probe's ID, QR set, flags from bytes
 *                     4-5, QDCOUNT 1, ANCOUNT from bytes 6-7, then the
 *                     probe's question, then the rest of the input (from
 *                     byte 8) as the answer section and beyond;
 *            1 NOQ:   the same with QDCOUNT 0 and no question (what some
 *                     servers send with REFUSED or FORMERR);
 *            2 CASE:  ECHO with the question's letters in another case,
 *                     chosen by the bits of byte 1 (the judge folds case);
 *            3 RAW:   the rest of the input (from byte 4) is the whole
 *                     reply, ID and question included.
 *   byte 1   expect_rcode: its value mod 6 (NOERROR .. REFUSED)
 *   bytes 2-3 the probe's ID
 *
 * The reply is built in a buffer of its exact size, so that ASan catches a
 * read past it. */
enum { ECHO, NOQ, CASE, RAW };

static const char *const qnames[4] = {
    "www.fuzz.test",
    ".",
    /* 255 octets on the wire: the longest name there is. */
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
    "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
    "x-1.Example",
};
static const uint16_t qtypes[4] = {DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_TXT, DNS_TYPE_MX};
static const char *const answers[4] = {NULL, "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"};

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dnsprobe: invariant broken: %s\n", what);
		abort();
	}
}

/* Wire form of @text into @out; its length. Only the names above. */
static size_t to_wire(uint8_t *out, const char *text)
{
	size_t o = 0;

	while (*text && strcmp(text, ".") != 0) {
		const char *dot = strchr(text, '.');
		size_t l = dot ? (size_t)(dot - text) : strlen(text);
		out[o++] = (uint8_t)l;
		for (size_t i = 0; i < l; i++) {
			out[o++] = (uint8_t)tolower((unsigned char)text[i]);
		}
		text += l + (dot ? 1 : 0);
	}
	out[o++] = 0;
	return o;
}

/* Does @m (@len octets) echo the question @q (@ql octets) after its header,
 * letters folded? (the judge's own rule, written again). */
static bool echoes(const uint8_t *m, size_t len, const uint8_t *q, size_t ql)
{
	if (len < DNS_HEADER_LEN + ql) {
		return false;
	}
	for (size_t i = 0; i < ql; i++) {
		if (tolower(m[DNS_HEADER_LEN + i]) != tolower(q[i])) {
			return false;
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct probe_spec spec;
	static struct probe_dns_opts opts;
	static struct probe probe;
	uint8_t q[DNAME_MAXLEN + DNS_QUESTION_FIXED_LEN], addr[16];
	char reason[PROBE_REASON_MAX], again[PROBE_REASON_MAX];
	size_t ql, qnl, len, rest_at;
	int shape, v, family = 0;
	uint8_t *m;

	if (size < 4) {
		return -1;
	}
	shape = data[0] >> 6;
	/* The probe, as probe.c installs one. */
	memset(&opts, 0, sizeof(opts));
	memset(&probe, 0, sizeof(probe));
	spec.kind = check_kinds_find("dns");
	spec.opts = &opts;
	qnl = to_wire(opts.qname, qnames[data[0] & 3]);
	opts.qtype = qtypes[(data[0] >> 2) & 3];
	opts.expect_rcode = data[1] % 6;
	opts.expect_answer = (char *)answers[(data[0] >> 4) & 3];
	probe.spec = &spec;
	probe.fd = -1;
	probe_dns_setup(&probe);
	check(!probe.setup_err[0], "the probe sets up");
	probe.dns_id = dns_rd16(data + 2);
	if (opts.expect_answer) {
		family = strchr(opts.expect_answer, ':') ? AF_INET6 : AF_INET;
		inet_pton(family, opts.expect_answer, addr);
	}
	/* Its question as sent. */
	memcpy(q, opts.qname, qnl);
	dns_wr16(q + qnl, opts.qtype);
	dns_wr16(q + qnl + 2, DNS_CLASS_IN);
	ql = qnl + DNS_QUESTION_FIXED_LEN;

	/* The reply. */
	if (shape == RAW) {
		rest_at = 4;
		len = size - rest_at;
		m = malloc(len ? len : 1);
		check(m != NULL, "memory");
		memcpy(m, data + rest_at, len);
	} else {
		rest_at = size < 8 ? size : 8;
		size_t qlen = shape == NOQ ? 0 : ql;
		len = DNS_HEADER_LEN + qlen + (size - rest_at);
		m = malloc(len);
		check(m != NULL, "memory");
		memset(m, 0, DNS_HEADER_LEN);
		dns_wr16(m + DNS_OFF_ID, probe.dns_id);
		m[DNS_OFF_FLAGS1] = (size > 4 ? data[4] : 0) | DNS_FLAG_QR;
		m[DNS_OFF_FLAGS2] = size > 5 ? data[5] : 0;
		dns_wr16(m + DNS_OFF_QDCOUNT, shape == NOQ ? 0 : 1);
		m[DNS_OFF_ANCOUNT] = size > 6 ? data[6] : 0;
		m[DNS_OFF_ANCOUNT + 1] = size > 7 ? data[7] : 0;
		memcpy(m + DNS_HEADER_LEN, q, qlen);
		if (shape == CASE) {
			for (size_t i = 0; i < qnl; i++) {
				uint8_t *c = &m[DNS_HEADER_LEN + i];
				if (isalpha(*c) && ((data[1] >> (i % 8)) & 1)) {
					*c ^= 0x20;
				}
			}
		}
		memcpy(m + DNS_HEADER_LEN + qlen, data + rest_at, size - rest_at);
	}

	/* A marker that a verdict must replace. */
	memset(reason, 0x7F, sizeof(reason));
	v = probe_dns_judge(&probe, m, len, reason, sizeof(reason));
	check(v == PROBE_DNS_IGNORE || v == PROBE_DNS_DOWN || v == PROBE_DNS_UP,
	      "one of the three verdicts");
	/* Pure: the same reply, the same verdict and reason. */
	memset(again, 0x7F, sizeof(again));
	check(probe_dns_judge(&probe, m, len, again, sizeof(again)) == v, "the same verdict twice");
	if (v != PROBE_DNS_IGNORE) {
		check(memchr(reason, 0, sizeof(reason)) && reason[0], "a verdict has a reason");
		check(strcmp(reason, again) == 0, "the same reason twice");
		/* Only the reply to our query counts: our ID, QR set. */
		check(len >= DNS_HEADER_LEN && dns_rd16(m) == probe.dns_id &&
			  (m[DNS_OFF_FLAGS1] & DNS_FLAG_QR),
		      "judged only our reply");
	}
	if (shape != RAW) {
		check(v != PROBE_DNS_IGNORE, "a reply with our ID is judged");
	}
	if (v == PROBE_DNS_UP) {
		unsigned qd = dns_rd16(m + DNS_OFF_QDCOUNT);
		check((m[DNS_OFF_FLAGS2] & DNS_RCODE_MASK) == opts.expect_rcode,
		      "UP needs the expected rcode");
		check(qd <= 1 && (m[DNS_OFF_FLAGS1] & DNS_OPCODE_MASK) == 0,
		      "UP needs one question at most, and opcode QUERY");
		check(qd == 0 || echoes(m, len, q, ql), "UP needs our question echoed");
		check(!family || memmem(m + DNS_HEADER_LEN, len - DNS_HEADER_LEN, addr,
					family == AF_INET ? 4 : 16),
		      "UP with expect_answer needs the address in the reply");
	}
	/* The other way round: a well-formed reply of ours is UP. Our question
	 * (any case), the expected rcode, opcode QUERY, and when an address is
	 * expected, a first answer record that is it, owned by the question's
	 * name (pointer to offset 12). */
	if (shape != RAW && (m[DNS_OFF_FLAGS1] & DNS_OPCODE_MASK) == 0 &&
	    (m[DNS_OFF_FLAGS2] & DNS_RCODE_MASK) == opts.expect_rcode) {
		const uint8_t *r = m + DNS_HEADER_LEN + (shape == NOQ ? 0 : ql);
		size_t rl = len - (size_t)(r - m), al = family == AF_INET ? 4 : 16;
		bool good = !family;
		if (family && dns_rd16(m + DNS_OFF_ANCOUNT) >= 1 &&
		    rl >= DNS_RR_FIXED_LEN + 2 + al) {
			good =
			    r[0] == 0xC0 && r[1] == DNS_HEADER_LEN &&
			    dns_rd16(r + 2) == (family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA) &&
			    dns_rd16(r + 10) == al && memcmp(r + 12, addr, al) == 0;
		}
		check(!good || v == PROBE_DNS_UP, "a well-formed reply with what we expect is UP");
	}
	free(m);
	return 0;
}
