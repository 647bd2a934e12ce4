/* wire.h -- DNS wire constants and byte helpers: the one place numbers such as
 * 41 or 251 are spelled. Everything else (sources, tests, fuzzers) uses these. */
#ifndef GSLBD_WIRE_H
#define GSLBD_WIRE_H

#include <stdint.h>

/* RFC 1035 4.1.1: the header. Byte offsets and flag bits as they sit in
 * bytes 2 and 3. */
#define DNS_HEADER_LEN 12
#define DNS_OFF_ID 0
#define DNS_OFF_FLAGS1 2
#define DNS_OFF_FLAGS2 3
#define DNS_OFF_QDCOUNT 4
#define DNS_OFF_ANCOUNT 6
#define DNS_OFF_NSCOUNT 8
#define DNS_OFF_ARCOUNT 10
#define DNS_FLAG_QR 0x80     /* byte 2 */
#define DNS_OPCODE_MASK 0x78 /* byte 2, shifted by 3 */
#define DNS_OPCODE_SHIFT 3
#define DNS_FLAG_AA 0x04 /* byte 2 */
#define DNS_FLAG_TC 0x02 /* byte 2 */
#define DNS_FLAG_RD 0x01 /* byte 2 */
#define DNS_FLAG_RA 0x80 /* byte 3 */
#define DNS_FLAG_AD 0x20 /* byte 3 */
#define DNS_FLAG_CD 0x10 /* byte 3 */
#define DNS_RCODE_MASK 0x0F

#define DNS_OPCODE_QUERY 0

/* RFC 1035 4.1.4: compression pointers. */
#define DNS_PTR_MASK 0xC0
#define DNS_PTR_MAX 0x3FFF

/* Response codes; above 15 they need the OPT's extended bits (RFC 6891 6.1.3). */
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5
#define DNS_RCODE_BADVERS 16
#define DNS_RCODE_BADCOOKIE 23

#define DNS_CLASS_IN 1
#define DNS_CLASS_CH 3
#define DNS_CLASS_ANY 255

#define DNS_TYPE_A 1
#define DNS_TYPE_NS 2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_PTR 12
#define DNS_TYPE_HINFO 13
#define DNS_TYPE_MX 15
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_SRV 33
#define DNS_TYPE_DNAME 39
#define DNS_TYPE_OPT 41
#define DNS_TYPE_DS 43
#define DNS_TYPE_RRSIG 46
#define DNS_TYPE_NSEC 47
#define DNS_TYPE_DNSKEY 48
#define DNS_TYPE_NSEC3 50
#define DNS_TYPE_CDS 59
#define DNS_TYPE_CDNSKEY 60
#define DNS_TYPE_TSIG 250
#define DNS_TYPE_IXFR 251
#define DNS_TYPE_AXFR 252
#define DNS_TYPE_MAILB 253
#define DNS_TYPE_MAILA 254
#define DNS_TYPE_ANY 255
#define DNS_TYPE_CAA 257

/* Sizes: RFC 1035 2.3.4, RFC 6891. */
#define DNS_UDP_MIN 512           /* without EDNS */
#define DNS_UDP_DEFAULT_EDNS 1232 /* DNS flag day 2020 */
#define DNS_TCP_MAX 65535
#define DNS_RR_FIXED_LEN 10       /* type, class, ttl, rdlength after the owner */
#define DNS_QUESTION_FIXED_LEN 4  /* qtype, qclass after the name */

/* RFC 6891 6.1.2: the OPT pseudo-RR. Its "TTL" holds the extended rcode,
 * the version and the flags. */
#define DNS_OPT_FIXED_LEN 11 /* root owner, type, class, ttl, rdlength */
#define DNS_EDNS_FLAG_DO 0x8000
#define DNS_EDNS_VERSION 0
#define DNS_EDNS_OPTION_HDR 4 /* option code, option length */
#define DNS_ECS_FIXED_LEN 4   /* family, source and scope prefix lengths */

/* EDNS option codes (IANA registry). */
#define DNS_EDNS_NSID 3
#define DNS_EDNS_CLIENT_SUBNET 8
#define DNS_EDNS_EXPIRE 9
#define DNS_EDNS_COOKIE 10
#define DNS_EDNS_KEEPALIVE 11
#define DNS_EDNS_PADDING 12

/* RFC 7873 4: client cookie 8 octets, server cookie 8..32. */
#define DNS_COOKIE_CLIENT_LEN 8
#define DNS_COOKIE_SERVER_MIN 8
#define DNS_COOKIE_SERVER_MAX 32

/* RFC 9018 4: the interoperable server cookie: version 1, three reserved
 * octets, a 32-bit timestamp (seconds, serial arithmetic), a 64-bit
 * SipHash-2-4. 4.3: accepted up to an hour old and five minutes ahead (clock
 * skew in an anycast set); re-issued once older than half an hour. */
#define DNS_COOKIE_V1 1
#define DNS_COOKIE_V1_LEN 16
#define DNS_COOKIE_V1_HASH_OFF 8 /* version, reserved, timestamp before it */
#define DNS_COOKIE_V1_MAX_AGE 3600
#define DNS_COOKIE_V1_MAX_AHEAD 300
#define DNS_COOKIE_V1_RENEW_AGE 1800

/* RFC 7871 6: address families of the client subnet option. */
#define DNS_ECS_FAMILY_IP4 1
#define DNS_ECS_FAMILY_IP6 2

static inline uint16_t dns_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t dns_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void dns_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void dns_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
