/* cookie.c -- DNS server cookies (RFC 7873, RFC 9018): SipHash-2-4 from
 * libsodium over the client cookie, the cookie's own header and the client
 * address. Runs per query: one hash of 20 (IPv4) or 32 (IPv6) octets. */
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

void cookie_make(uint8_t out[DNS_COOKIE_V1_LEN], const uint8_t client_cookie[DNS_COOKIE_CLIENT_LEN],
		 const uint8_t *ip, size_t iplen, uint32_t now,
		 const uint8_t secret[COOKIE_SECRET_LEN])
{
	out[0] = DNS_COOKIE_V1;
	out[1] = out[2] = out[3] = 0; /* 4.2: reserved, zero when we make one */
	dns_wr32(out + 4, now);
	hash(out + DNS_COOKIE_V1_HASH_OFF, client_cookie, out, ip, iplen, secret);
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
	hash(h, cookie, server, ip, iplen, secrets->current);
	if (same_hash(h, mac)) {
		return renew ? COOKIE_CHECK_RENEW : COOKIE_CHECK_GOOD;
	}
	if (secrets->previous) {
		hash(h, cookie, server, ip, iplen, secrets->previous);
		if (same_hash(h, mac)) {
			return COOKIE_CHECK_RENEW;
		}
	}
	return COOKIE_CHECK_BAD;
}
