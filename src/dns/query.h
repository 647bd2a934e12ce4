/* query.h -- parse a DNS query message in place (the Internet-facing parser). */
#ifndef GSLBD_QUERY_H
#define GSLBD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"
#include "dns/dname.h"


enum query_status {
	QUERY_OK = 0,    /* parsed; answer it */
	QUERY_DROP,      /* not worth an answer: too short for a header, or QR=1 */
	QUERY_FORMERR,   /* malformed: answer FORMERR, echoing what parsed */
	QUERY_NOTIMP,    /* opcode other than QUERY */
	QUERY_BADVERS,   /* EDNS version above 0 */
};

/* RFC 7871 6: the client subnet option, as sent (validated). */
struct query_ecs {
	bool present;
	uint16_t family;       /* DNS_ECS_FAMILY_IP4 or _IP6 */
	uint8_t source_prefix;
	uint8_t scope_prefix;
	uint8_t addr[16];      /* the first ceil(source_prefix / 8) octets; rest zero */
};

/* RFC 7873 4: the cookie option, as sent (8, or 16 to 40 octets). */
struct query_cookie {
	bool present;
	uint8_t len;
	uint8_t data[DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_SERVER_MAX];
};

/* Everything the answer path needs from a query. Filled by query_parse();
 * lives on the worker's stack or in its context, never on the heap. */
struct query {
	uint16_t id;
	uint8_t flags1;        /* header byte 2: QR, opcode, AA, TC, RD */
	uint8_t flags2;        /* header byte 3: RA, Z, AD, CD, rcode */
	uint8_t opcode;
	bool has_question;     /* qname/qtype/qclass are valid */
	uint16_t qtype;
	uint16_t qclass;
	uint8_t qname_len;     /* wire length including the root label */
	uint8_t nlabels;
	uint16_t question_end; /* offset just past the question in the packet */
	uint8_t label_off[DNAME_MAXLABELS];
	uint8_t qname[DNAME_MAXLEN]; /* lower-case copy */
	bool edns;             /* an OPT RR was present and well formed */
	bool edns_do;
	uint8_t edns_version;
	uint16_t edns_udp;     /* requester's UDP size, raised to at least 512 */
	/* EDNS options (RFC 6891 6.1.2); unknown ones are skipped (RFC 8906). */
	bool nsid;             /* RFC 5001: NSID requested */
	struct query_ecs ecs;
	struct query_cookie cookie;
	uint16_t unknown_options;
};

/* Parse @len bytes at @pkt into @q. Returns the status; @q holds as much as
 * parsed (has_question tells whether the question can be echoed). A malformed
 * known EDNS option is FORMERR: a client subnet with an unknown family, a
 * prefix longer than the address, the wrong address length or bits set past
 * the prefix (RFC 7871 7.1.1); a cookie of a wrong length (RFC 7873 5.2.2);
 * either option twice. Pure: no allocation, no I/O; safe on any input. */
enum query_status query_parse(struct query *q, const uint8_t *pkt, size_t len);

#endif
