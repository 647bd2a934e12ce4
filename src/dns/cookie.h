/* cookie.h -- DNS server cookies (RFC 7873) in the interoperable format of
 * RFC 9018: make one, check one. Pure: no I/O, no allocation, no clock read
 * (the caller passes the time), no lock; any thread. */
#ifndef GSLBD_COOKIE_H
#define GSLBD_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/wire.h"

#define COOKIE_SECRET_LEN 16 /* SipHash-2-4's 128-bit key */
#define COOKIE_IP_MAX 16

/* The secrets a worker answers with (COOKIE_SECRET_LEN octets each, owned
 * by whoever set the pointers: the snapshot's config). Cookies are made
 * with @current; a cookie made with @previous is still accepted, and
 * re-issued with @current (RFC 9018 5: rollover). */
struct cookie_secrets {
	const uint8_t *current;
	const uint8_t *previous; /* NULL: none */
};

/* What a server cookie sent back to us is worth. */
enum cookie_check {
	COOKIE_CHECK_BAD = 0, /* not ours, not for this client, expired, or from the future */
	COOKIE_CHECK_GOOD,    /* ours and recent: it may be sent back as it came */
	COOKIE_CHECK_RENEW,   /* ours, but older than half an hour, made with the
			       * previous secret or with reserved bits set: answer
			       * with a fresh one */
};

/* A worker's memo of recent hashes (per thread, not shared): 64 slots of one
 * cache line, 4 KiB. A resolver sends its client cookie with every query, and
 * a server cookie it got back with most; both hash the same input again
 * until the timestamp moves (make: every second; check: never, for the
 * cookie's life). A hit returns exactly the hash SipHash would give (the
 * slot keeps every input, the secret too); a miss costs a few compares. */
#define COOKIE_MEMO_BITS 6
struct cookie_memo_slot {
	uint64_t in[4];	 /* client cookie | version, reserved, timestamp | address, 0-padded */
	uint64_t key[2]; /* the secret */
	uint64_t mac;
	uint8_t iplen; /* 0: empty */
};
struct cookie_memo {
	struct cookie_memo_slot slot[1u << COOKIE_MEMO_BITS];
};

/* Empty @m. */
void cookie_memo_clear(struct cookie_memo *m);

/* Call once before cookie_make/cookie_check are used (libsodium's
 * initialisation; thread-safe, idempotent). Returns 0, or -1 if the library
 * cannot be used. */
int cookie_init(void);

/* The client address as the hash covers it: 4 octets for IPv4 (also when
 * it arrives as an IPv4-mapped IPv6 address on a dual-stack socket, so the
 * cookie does not depend on the socket it came through), 16 for IPv6. Writes
 * them to @out and returns how many; 0 when @client is NULL or of another
 * family (no cookie can be made or checked). */
size_t cookie_client_ip(uint8_t out[COOKIE_IP_MAX], const struct sockaddr_storage *client);

/* Make the 16-octet server cookie for @client_cookie (8 octets) and the
 * client address @ip (@iplen octets, from cookie_client_ip) at time @now
 * (seconds since the epoch, modulo 2^32) with @secret, into @out: version 1,
 * reserved zero, @now, SipHash-2-4(client cookie | version | reserved |
 * timestamp | ip). */
void cookie_make(uint8_t out[DNS_COOKIE_V1_LEN], const uint8_t client_cookie[DNS_COOKIE_CLIENT_LEN],
		 const uint8_t *ip, size_t iplen, uint32_t now,
		 const uint8_t secret[COOKIE_SECRET_LEN]);

/* Check the COOKIE option @cookie (@len octets: the client cookie, then the
 * server cookie) sent by @ip at time @now against @secrets: version 1,
 * timestamp at most an hour old and five minutes ahead (serial arithmetic),
 * hash over the fields as received (reserved octets included, RFC 9018 4.2)
 * under the current or the previous secret. A server cookie of any other
 * length is not one we made: BAD. One SipHash per secret tried. */
enum cookie_check cookie_check(const uint8_t *cookie, size_t len, const uint8_t *ip, size_t iplen,
			       uint32_t now, const struct cookie_secrets *secrets);

/* cookie_make and cookie_check through memo @m (NULL: none): the same
 * results, one SipHash fewer per hit. The owning thread only. */
void cookie_make_memo(struct cookie_memo *m, uint8_t out[DNS_COOKIE_V1_LEN],
		      const uint8_t client_cookie[DNS_COOKIE_CLIENT_LEN], const uint8_t *ip,
		      size_t iplen, uint32_t now, const uint8_t secret[COOKIE_SECRET_LEN]);
enum cookie_check cookie_check_memo(struct cookie_memo *m, const uint8_t *cookie, size_t len,
				    const uint8_t *ip, size_t iplen, uint32_t now,
				    const struct cookie_secrets *secrets);

#endif
