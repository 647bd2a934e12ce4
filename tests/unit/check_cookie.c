/* check_cookie.c -- server cookies (src/dns/cookie.c): RFC 9018 Appendix A's
 * test vectors, the timestamp window, other clients, secret rollover. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "dns/cookie.h"
#include "testutil.h"

/* Hex text to bytes; returns how many. */
static size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;
		ck_assert_int_eq(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sprintf(out + 2 * i, "%02x", p[i]);
	}
}

/* The address as the transport hands it over. */
static const struct sockaddr_storage *addr(const char *text)
{
	static struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, text, &a->sin_addr), 1);
	}
	return &ss;
}

static uint8_t current_secret[COOKIE_SECRET_LEN], previous_secret[COOKIE_SECRET_LEN];
static struct cookie_secrets secrets = { current_secret, NULL };

static void set_secrets(const char *current, const char *previous)
{
	ck_assert_uint_eq(unhex(current_secret, current), COOKIE_SECRET_LEN);
	secrets.previous = NULL;
	if (previous) {
		ck_assert_uint_eq(unhex(previous_secret, previous), COOKIE_SECRET_LEN);
		secrets.previous = previous_secret;
	}
}

/* The server cookie made for @client_cookie (hex) from @ip at @now, as hex. */
static const char *make(const char *client_cookie, const char *ip, uint32_t now)
{
	static char out[2 * DNS_COOKIE_V1_LEN + 1];
	uint8_t cc[DNS_COOKIE_CLIENT_LEN], a[COOKIE_IP_MAX], sc[DNS_COOKIE_V1_LEN];
	size_t alen = cookie_client_ip(a, addr(ip));

	ck_assert_uint_eq(unhex(cc, client_cookie), sizeof(cc));
	cookie_make(sc, cc, a, alen, now, secrets.current);
	hex(out, sc, sizeof(sc));
	return out;
}

/* cookie_check on the whole option @option (hex) sent from @ip at @now. */
static enum cookie_check check(const char *option, const char *ip, uint32_t now)
{
	uint8_t c[64], a[COOKIE_IP_MAX];
	size_t len = unhex(c, option);
	size_t alen = cookie_client_ip(a, addr(ip));

	return cookie_check(c, len, a, alen, now, &secrets);
}

static void setup(void)
{
	ck_assert_int_eq(cookie_init(), 0);
}

/* --- RFC 9018 Appendix A ------------------------------------------------------ */

#define SECRET_A "e5e973e5a6b2a43f48e7dc849e37bfcf"
#define T_A1 1559731985u /* Wed Jun  5 10:53:05 UTC 2019 */

/* A.1: a client cookie alone gets a server cookie. */
START_TEST(rfc9018_a1_new_cookie)
{
	set_secrets(SECRET_A, NULL);
	ck_assert_str_eq(make("2464c4abcf10c957", "198.51.100.100", T_A1),
			 "010000005cf79f111f8130c3eee29480");
	ck_assert_int_eq(
	    check("2464c4abcf10c957010000005cf79f111f8130c3eee29480", "198.51.100.100", T_A1),
	    COOKIE_CHECK_GOOD);
}
END_TEST

/* A.2: 40 minutes later the same cookie is still valid, but older than
 * half an hour: renewed. */
START_TEST(rfc9018_a2_renewed_cookie)
{
	set_secrets(SECRET_A, NULL);
	ck_assert_int_eq(check("2464c4abcf10c957010000005cf79f111f8130c3eee29480", "198.51.100.100",
			       1559734385u),
			 COOKIE_CHECK_RENEW);
	ck_assert_str_eq(make("2464c4abcf10c957", "198.51.100.100", 1559734385u),
			 "010000005cf7a871d4a564a1442aca77");
}
END_TEST

/* A.3: reserved octets set: the hash covers them as received, the cookie
 * is valid, and what we send back has them zero. The example's reply comes
 * 1h52m after the cookie was made, past the hour we accept: there, the
 * cookie has expired and the reply is the vector's fresh one. */
START_TEST(rfc9018_a3_reserved_octets)
{
	const char *q = "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5";

	set_secrets(SECRET_A, NULL);
	ck_assert_int_eq(check(q, "203.0.113.203", 1559727985u), COOKIE_CHECK_RENEW);
	ck_assert_int_eq(check(q, "203.0.113.203", 1559734700u), COOKIE_CHECK_BAD);
	ck_assert_str_eq(make("fc93fc62807ddb86", "203.0.113.203", 1559734700u),
			 "010000005cf7a9acf73a7810aca2381e");
}
END_TEST

/* A.4: IPv6, a cookie made with the secret just rolled over: accepted under
 * the previous secret, renewed under the current one. */
START_TEST(rfc9018_a4_rolled_secret_ipv6)
{
	const char *q = "22681ab97d52c298010000005cf7c57926556bd0934c72f8";
	const char *ip = "2001:db8:220:1:59de:d0f4:8769:82b8";

	set_secrets("dd3bdf9344b678b185a6f5cb60fca715", NULL);
	ck_assert_str_eq(make("22681ab97d52c298", ip, 1559741817u),
			 "010000005cf7c57926556bd0934c72f8");
	set_secrets("445536bcd2513298075a5d379663c962", "dd3bdf9344b678b185a6f5cb60fca715");
	ck_assert_int_eq(check(q, ip, 1559741961u), COOKIE_CHECK_RENEW);
	ck_assert_str_eq(make("22681ab97d52c298", ip, 1559741961u),
			 "010000005cf7c609a6bb79d16625507a");
	/* Once the previous secret is gone, so is the cookie. */
	set_secrets("445536bcd2513298075a5d379663c962", NULL);
	ck_assert_int_eq(check(q, ip, 1559741961u), COOKIE_CHECK_BAD);
}
END_TEST

/* --- our rules ---------------------------------------------------------------- */

#define A1_OPTION "2464c4abcf10c957010000005cf79f111f8130c3eee29480"

/* A cookie is not a nonce: the same one is good again and again (RFC 7873
 * 5.2.5), until it is half an hour old. */
START_TEST(replayed_cookie_accepted)
{
	set_secrets(SECRET_A, NULL);
	for (uint32_t t = 0; t <= DNS_COOKIE_V1_RENEW_AGE; t += 60) {
		ck_assert_int_eq(check(A1_OPTION, "198.51.100.100", T_A1 + t), COOKIE_CHECK_GOOD);
	}
	ck_assert_int_eq(check(A1_OPTION, "198.51.100.100", T_A1 + DNS_COOKIE_V1_RENEW_AGE + 1),
			 COOKIE_CHECK_RENEW);
}
END_TEST

/* The address is in the hash: a cookie made for one client is no good from
 * another (a spoofer who saw it cannot use it from elsewhere). */
START_TEST(other_client_rejected)
{
	set_secrets(SECRET_A, NULL);
	ck_assert_int_eq(check(A1_OPTION, "198.51.100.101", T_A1), COOKIE_CHECK_BAD);
	ck_assert_int_eq(check(A1_OPTION, "2001:db8::1", T_A1), COOKIE_CHECK_BAD);
	/* The same IPv4 client through a dual-stack socket: the same cookie. */
	ck_assert_int_eq(check(A1_OPTION, "::ffff:198.51.100.100", T_A1), COOKIE_CHECK_GOOD);
	/* Another client cookie with our server cookie: no good either. */
	ck_assert_int_eq(
	    check("2464c4abcf10c958010000005cf79f111f8130c3eee29480", "198.51.100.100", T_A1),
	    COOKIE_CHECK_BAD);
}
END_TEST

/* RFC 9018 4.3: an hour into the past, five minutes into the future. */
START_TEST(timestamp_window)
{
	set_secrets(SECRET_A, NULL);
	ck_assert_int_eq(check(A1_OPTION, "198.51.100.100", T_A1 + 3600), COOKIE_CHECK_RENEW);
	ck_assert_int_eq(check(A1_OPTION, "198.51.100.100", T_A1 + 3601), COOKIE_CHECK_BAD);
	ck_assert_int_eq(check(A1_OPTION, "198.51.100.100", T_A1 + 86400), COOKIE_CHECK_BAD);
	ck_assert_int_eq(check(A1_OPTION, "198.51.100.100", T_A1 - 300), COOKIE_CHECK_GOOD);
	ck_assert_int_eq(check(A1_OPTION, "198.51.100.100", T_A1 - 301), COOKIE_CHECK_BAD);
}
END_TEST

/* Serial arithmetic (RFC 1982): a cookie made just before the 32-bit clock
 * wraps is still good just after it. */
START_TEST(timestamp_wraps)
{
	uint8_t opt[DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_V1_LEN], a[COOKIE_IP_MAX];
	size_t alen = cookie_client_ip(a, addr("192.0.2.1"));

	set_secrets(SECRET_A, NULL);
	memset(opt, 0x5A, DNS_COOKIE_CLIENT_LEN);
	cookie_make(opt + DNS_COOKIE_CLIENT_LEN, opt, a, alen, 0xFFFFFFF0u, secrets.current);
	ck_assert_int_eq(cookie_check(opt, sizeof(opt), a, alen, 0x10u, &secrets),
			 COOKIE_CHECK_GOOD);
	ck_assert_int_eq(cookie_check(opt, sizeof(opt), a, alen, 0xFFFFFF00u, &secrets),
			 COOKIE_CHECK_GOOD); /* 240 s ahead */
	ck_assert_int_eq(cookie_check(opt, sizeof(opt), a, alen, 0x80000000u, &secrets),
			 COOKIE_CHECK_BAD);
}
END_TEST

/* Rollover (RFC 9018 5): a cookie made with the previous secret is good and
 * renewed; one made with the current secret is good. Neither is good after
 * both secrets changed. */
START_TEST(secret_rotation)
{
	const char *s1 = SECRET_A, *s2 = "00112233445566778899aabbccddeeff";
	char old_cookie[80], new_cookie[80];

	set_secrets(s1, NULL);
	snprintf(old_cookie, sizeof(old_cookie), "2464c4abcf10c957%s",
		 make("2464c4abcf10c957", "198.51.100.100", T_A1));
	set_secrets(s2, s1);
	snprintf(new_cookie, sizeof(new_cookie), "2464c4abcf10c957%s",
		 make("2464c4abcf10c957", "198.51.100.100", T_A1));
	ck_assert_str_ne(old_cookie, new_cookie);
	ck_assert_int_eq(check(old_cookie, "198.51.100.100", T_A1 + 10), COOKIE_CHECK_RENEW);
	ck_assert_int_eq(check(new_cookie, "198.51.100.100", T_A1 + 10), COOKIE_CHECK_GOOD);
	/* Stage 1 of an anycast rollover: the new secret accepted before it is
	 * used, here as the previous one. */
	set_secrets(s1, s2);
	ck_assert_int_eq(check(new_cookie, "198.51.100.100", T_A1 + 10), COOKIE_CHECK_RENEW);
	set_secrets("ffeeddccbbaa99887766554433221100", NULL);
	ck_assert_int_eq(check(old_cookie, "198.51.100.100", T_A1 + 10), COOKIE_CHECK_BAD);
	ck_assert_int_eq(check(new_cookie, "198.51.100.100", T_A1 + 10), COOKIE_CHECK_BAD);
}
END_TEST

/* Server cookies we cannot have made: another version, another length, a
 * changed bit anywhere. */
START_TEST(foreign_cookies_rejected)
{
	char c[128];

	set_secrets(SECRET_A, NULL);
	ck_assert_int_eq(
	    check("2464c4abcf10c957020000005cf79f111f8130c3eee29480", "198.51.100.100", T_A1),
	    COOKIE_CHECK_BAD); /* version 2 */
	ck_assert_int_eq(check("2464c4abcf10c9575cf79f111f8130c3", "198.51.100.100", T_A1),
			 COOKIE_CHECK_BAD); /* 8-octet server cookie */
	ck_assert_int_eq(check(A1_OPTION "0000000000000000", "198.51.100.100", T_A1),
			 COOKIE_CHECK_BAD); /* a 24-octet server cookie */
	ck_assert_int_eq(check("2464c4abcf10c957", "198.51.100.100", T_A1), COOKIE_CHECK_BAD);
	for (size_t i = DNS_COOKIE_CLIENT_LEN * 2; i < strlen(A1_OPTION); i++) {
		strcpy(c, A1_OPTION);
		c[i] = c[i] == '0' ? '1' : '0';
		ck_assert_msg(check(c, "198.51.100.100", T_A1) == COOKIE_CHECK_BAD,
			      "digit %zu changed, still accepted", i);
	}
}
END_TEST

START_TEST(client_addresses)
{
	uint8_t a[COOKIE_IP_MAX];
	struct sockaddr_storage un;

	ck_assert_uint_eq(cookie_client_ip(a, addr("192.0.2.7")), 4);
	ck_assert_mem_eq(a, "\xc0\x00\x02\x07", 4);
	ck_assert_uint_eq(cookie_client_ip(a, addr("::ffff:192.0.2.7")), 4);
	ck_assert_mem_eq(a, "\xc0\x00\x02\x07", 4);
	ck_assert_uint_eq(cookie_client_ip(a, addr("2001:db8::7")), 16);
	ck_assert_uint_eq(a[15], 7);
	ck_assert_uint_eq(cookie_client_ip(a, NULL), 0);
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	ck_assert_uint_eq(cookie_client_ip(a, &un), 0);
}
END_TEST

/* --- the memo --------------------------------------------------------------- */

/* The memo gives what SipHash gives, whatever the order of clients, times
 * and secrets: a sequence that returns to earlier inputs (hits), that lands
 * many clients in one slot (misses), and that changes the secret in place
 * (the slot must not answer for the old one). */
START_TEST(memo_same_as_hash)
{
	static struct cookie_memo memo;
	uint8_t secret[COOKIE_SECRET_LEN], old[COOKIE_SECRET_LEN];
	struct cookie_secrets sec = { secret, NULL };
	unsigned hits_possible = 0;
	uint64_t x = 0x243F6A8885A308D3ULL;

	cookie_memo_clear(&memo);
	memset(secret, 0x5A, sizeof(secret));
	for (int i = 0; i < 20000; i++) {
		uint8_t cc[DNS_COOKIE_CLIENT_LEN], a[COOKIE_IP_MAX], plain[DNS_COOKIE_V1_LEN],
		    memoed[DNS_COOKIE_V1_LEN], opt[DNS_COOKIE_CLIENT_LEN + DNS_COOKIE_V1_LEN];
		size_t alen;
		uint32_t now;
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		/* 24 clients (8 cookies x 3 addresses, one IPv6), 4 seconds */
		memset(cc, (int)(x >> 60) & 7, sizeof(cc));
		alen = cookie_client_ip(a, addr((x >> 40) % 3 == 0   ? "192.0.2.1"
						: (x >> 40) % 3 == 1 ? "2001:db8::1"
								     : "198.51.100.9"));
		now = 1700000000u + (uint32_t)((x >> 20) & 3);
		if (i % 5000 == 4999) {
			memcpy(old, secret, sizeof(old));
			secret[i % COOKIE_SECRET_LEN] ^= 0x01; /* same address, new secret */
			sec.previous = old;
		}
		cookie_make(plain, cc, a, alen, now, secret);
		cookie_make_memo(&memo, memoed, cc, a, alen, now, secret);
		ck_assert_mem_eq(plain, memoed, sizeof(plain));
		/* Check what was made, and a forgery of it, both ways. */
		memcpy(opt, cc, sizeof(cc));
		memcpy(opt + sizeof(cc), plain, sizeof(plain));
		if (i & 1) {
			opt[sizeof(opt) - 1] ^= (uint8_t)(1 + (x & 0x7F));
		}
		ck_assert_int_eq(cookie_check_memo(&memo, opt, sizeof(opt), a, alen, now, &sec),
				 cookie_check(opt, sizeof(opt), a, alen, now, &sec));
		hits_possible += !(i & 1);
	}
	ck_assert_uint_gt(hits_possible, 0);
}
END_TEST

int main(void)
{
Suite *s = suite_create("cookie");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, rfc9018_a1_new_cookie);
	tcase_add_test(tc, rfc9018_a2_renewed_cookie);
	tcase_add_test(tc, rfc9018_a3_reserved_octets);
	tcase_add_test(tc, rfc9018_a4_rolled_secret_ipv6);
	tcase_add_test(tc, replayed_cookie_accepted);
	tcase_add_test(tc, other_client_rejected);
	tcase_add_test(tc, timestamp_window);
	tcase_add_test(tc, timestamp_wraps);
	tcase_add_test(tc, secret_rotation);
	tcase_add_test(tc, foreign_cookies_rejected);
	tcase_add_test(tc, client_addresses);
	tcase_add_test(tc, memo_same_as_hash);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
