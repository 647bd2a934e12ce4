/* query.h -- parse a DNS query message in place (the Internet-facing parser). */
#ifndef GSLBD_QUERY_H
#define GSLBD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"

#define DNS_HEADER_LEN 12

enum query_status {
	QUERY_OK = 0,    /* parsed; answer it */
	QUERY_DROP,      /* not worth an answer: too short for a header, or QR=1 */
	QUERY_FORMERR,   /* malformed: answer FORMERR, echoing what parsed */
	QUERY_NOTIMP,    /* opcode other than QUERY */
	QUERY_BADVERS,   /* EDNS version above 0 */
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
};

/* Parse @len bytes at @pkt into @q. Returns the status; @q holds as much as
 * parsed (has_question tells whether the question can be echoed). Pure: no
 * allocation, no I/O; safe on any input. */
enum query_status query_parse(struct query *q, const uint8_t *pkt, size_t len);

#endif
