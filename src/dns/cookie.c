/* cookie.c -- DNS server cookies (RFC 7873, RFC 9018): SipHash-2-4 from
 * libsodium over the client cookie, the cookie's own header and the client
 * address. Runs per query: one hash of 20 (IPv4) or 32 (IPv6) octets, or
 * none when the worker's memo holds it (a resolver sends many queries a
 * second with one client cookie: one hash per client and second). */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include <sodium.h>

#include "dns/cookie.h"

/* Client cookie, version, reserved, timestamp, address. */
#define HASH_INPUT_MAX (DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_V1_HASH_OFF + COOKIE_IP_MAX)

int cookie_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

size_t cookie_client_ip(uint8_t out[COOKIE_IP_MAX], const struct sockaddr_storage *client)
{
	static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };

	if (!client) {
		return 0;
	}
	if (client->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)client)->sin_addr, 4);
		return 4;
	}
	if (client->ss_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)client)->sin6_addr.s6_addr;
		if (memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0) {
			memcpy(out, a + sizeof(v4_mapped), 4);
			return 4;
		}
		memcpy(out, a, 16);
		return 16;
	}
	return 0;
}

/* RFC 9018 4.4: the hash of the client cookie and the server cookie's first
 * eight octets (version, reserved, timestamp) as they are, then the address. */
static void hash(uint8_t out[8], const uint8_t client_cookie[DNS_COOKIE_CLIENT_LEN],
		 const uint8_t head[DNS_COOKIE_V1_HASH_OFF], const uint8_t *ip, size_t iplen,
		 const uint8_t secret[COOKIE_SECRET_LEN])
{
	uint8_t in[HASH_INPUT_MAX];
	size_t n = 0;

	memcpy(in, client_cookie, DNS_COOKIE_CLIENT_LEN);
	n += DNS_COOKIE_CLIENT_LEN;
	memcpy(in + n, head, DNS_COOKIE_V1_HASH_OFF);
	n += DNS_COOKIE_V1_HASH_OFF;
	memcpy(in + n, ip, iplen);
	n += iplen;
	crypto_shorthash_siphash24(out, in, n, secret);
}

/* The same hash through @m: a slot holds one hash with every input it was
 * made from (the secret included, by value), so a hit is exactly what the
 * SipHash would give and nothing needs invalidating when secrets change. The
 * slot is picked by the client cookie and the address, not the timestamp: a
 * client's entry is overwritten, not duplicated, as the seconds pass. */
static void memo_hash(struct cookie_memo *m, uint8_t out[8],
		      const uint8_t client_cookie[DNS_COOKIE_CLIENT_LEN],
		      const uint8_t head[DNS_COOKIE_V1_HASH_OFF], const uint8_t *ip, size_t iplen,
		      const uint8_t secret[COOKIE_SECRET_LEN])
{
	uint64_t in[4] = { 0, 0, 0, 0 }, key[2];
	struct cookie_memo_slot *s;

	if (!m) {
		hash(out, client_cookie, head, ip, iplen, secret);
		return;
	}
	memcpy(&in[0], client_cookie, 8);
	memcpy(&in[1], head, 8);
	memcpy(&in[2], ip, iplen);
	memcpy(key, secret, sizeof(key));
	s = &m->slot[((in[0] ^ in[2] ^ in[3]) * UINT64_C(0x9E3779B97F4A7C15)) >>
		     (64 - COOKIE_MEMO_BITS)];
	if (s->iplen == iplen && s->in[0] == in[0] && s->in[1] == in[1] && s->in[2] == in[2] &&
	    s->in[3] == in[3] && s->key[0] == key[0] && s->key[1] == key[1]) {
		memcpy(out, &s->mac, 8);
		return;
	}
	hash(out, client_cookie, head, ip, iplen, secret);
	memcpy(s->in, in, sizeof(in));
	memcpy(s->key, key, sizeof(key));
	memcpy(&s->mac, out, 8);
	s->iplen = (uint8_t)iplen;
}

void cookie_memo_clear(struct cookie_memo *m)
{
	memset(m, 0, sizeof(*m)); /* iplen 0 matches no lookup */
}

void cookie_make_memo(struct cookie_memo *m, uint8_t out[DNS_COOKIE_V1_LEN],
		      const uint8_t client_cookie[DNS_COOKIE_CLIENT_LEN], const uint8_t *ip,
		      size_t iplen, uint32_t now, const uint8_t secret[COOKIE_SECRET_LEN])
{
	out[0] = DNS_COOKIE_V1;
	out[1] = out[2] = out[3] = 0; /* 4.2: reserved, zero when we make one */
	dns_wr32(out + 4, now);
	memo_hash(m, out + DNS_COOKIE_V1_HASH_OFF, client_cookie, out, ip, iplen, secret);
}

void cookie_make(uint8_t out[DNS_COOKIE_V1_LEN], const uint8_t client_cookie[DNS_COOKIE_CLIENT_LEN],
		 const uint8_t *ip, size_t iplen, uint32_t now,
		 const uint8_t secret[COOKIE_SECRET_LEN])
{
	cookie_make_memo(NULL, out, client_cookie, ip, iplen, now, secret);
}

/* Compared as one 64-bit word: no early exit that would tell an attacker
 * how many leading octets of a forged hash were right. */
static bool same_hash(const uint8_t a[8], const uint8_t b[8])
{
	uint64_t x, y;

	memcpy(&x, a, 8);
	memcpy(&y, b, 8);
	return x == y;
}

enum cookie_check cookie_check(const uint8_t *cookie, size_t len, const uint8_t *ip, size_t iplen,
			       uint32_t now, const struct cookie_secrets *secrets)
{
	return cookie_check_memo(NULL, cookie, len, ip, iplen, now, secrets);
}

enum cookie_check cookie_check_memo(struct cookie_memo *m, const uint8_t *cookie, size_t len,
				    const uint8_t *ip, size_t iplen, uint32_t now,
				    const struct cookie_secrets *secrets)
{
	const uint8_t *server = cookie + DNS_COOKIE_CLIENT_LEN;
	const uint8_t *mac = server + DNS_COOKIE_V1_HASH_OFF;
	uint8_t h[8];
	int32_t age;
	bool renew;

	if (len != DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_V1_LEN || server[0] != DNS_COOKIE_V1) {
		return COOKIE_CHECK_BAD;
	}
	/* RFC 1982 serial arithmetic: the difference as a signed 32-bit number,
	 * so the check survives the wrap of the 32-bit clock in 2106. */
	age = (int32_t)(now - dns_rd32(server + 4));
	if (age > DNS_COOKIE_V1_MAX_AGE || age < -DNS_COOKIE_V1_MAX_AHEAD) {
		return COOKIE_CHECK_BAD;
	}
	renew = age > DNS_COOKIE_V1_RENEW_AGE || server[1] || server[2] || server[3];
	memo_hash(m, h, cookie, server, ip, iplen, secrets->current);
	if (same_hash(h, mac)) {
		return renew ? COOKIE_CHECK_RENEW : COOKIE_CHECK_GOOD;
	}
	if (secrets->previous) {
		memo_hash(m, h, cookie, server, ip, iplen, secrets->previous);
		if (same_hash(h, mac)) {
			return COOKIE_CHECK_RENEW;
		}
	}
	return COOKIE_CHECK_BAD;
}
