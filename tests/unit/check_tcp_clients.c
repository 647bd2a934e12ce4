/* check_tcp_clients.c -- the per-client TCP connection counts
 * (src/daemon/tcp_clients.c): the cap, who counts as one client, and a
 * table that stays right through heavy churn. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/tcp_clients.h"

static struct sockaddr_storage v4(const char *text, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *text, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	return ss;
}

START_TEST(cap_per_address)
{
	struct tcp_clients *t = tcp_clients_new(1024, 3, 42);
	struct sockaddr_storage a = v4("192.0.2.1", 1000), b = v4("192.0.2.2", 1000);

	for (int i = 0; i < 3; i++) {
		struct sockaddr_storage p =
		    v4("192.0.2.1", (uint16_t)(2000 + i)); /* ports differ */
		ck_assert(tcp_clients_add(t, &p));
	}
	ck_assert(!tcp_clients_add(t, &a)); /* the fourth is refused */
	ck_assert_uint_eq(tcp_clients_count(t, &a), 3);
	ck_assert(tcp_clients_add(t, &b)); /* another address is not affected */
	tcp_clients_remove(t, &a);
	ck_assert(tcp_clients_add(t, &a)); /* a slot freed is a slot again */
	ck_assert(!tcp_clients_add(t, &a));
	for (int i = 0; i < 3; i++) {
		tcp_clients_remove(t, &a);
	}
	ck_assert_uint_eq(tcp_clients_count(t, &a), 0);
	ck_assert_uint_eq(tcp_clients_count(t, &b), 1);
	tcp_clients_free(t);
	tcp_clients_free(NULL);
}
END_TEST

START_TEST(ipv6_by_prefix)
{
	struct tcp_clients *t = tcp_clients_new(64, 2, 7);
	struct sockaddr_storage a = v6("2001:db8:1:2::1", 53), b = v6("2001:db8:1:2:ffff::9", 53);
	struct sockaddr_storage c = v6("2001:db8:1:3::1", 53);

	ck_assert(tcp_clients_add(t, &a));
	ck_assert(tcp_clients_add(t, &b));
	ck_assert(!tcp_clients_add(t, &a)); /* the same /64 */
	ck_assert(tcp_clients_add(t, &c));  /* the next /64 */
	tcp_clients_free(t);
}
END_TEST

START_TEST(mapped_v4_is_v4)
{
	struct tcp_clients *t = tcp_clients_new(64, 1, 7);
	struct sockaddr_storage a = v4("198.51.100.7", 1), m = v6("::ffff:198.51.100.7", 2);
	struct sockaddr_storage other = v6("::ffff:198.51.100.8", 2);

	ck_assert(tcp_clients_add(t, &a));
	ck_assert(!tcp_clients_add(t, &m));
	ck_assert(tcp_clients_add(t, &other)); /* not lumped into one ::ffff:0:0/64 */
	tcp_clients_free(t);
}
END_TEST

/* Random adds and removes against a plain array of counts: every count
 * agrees, whatever order the removals leave the probe runs in. */
START_TEST(churn_matches_model)
{
	enum { CLIENTS = 300, MAX = 512, CAP = 4 };
	struct tcp_clients *t = tcp_clients_new(MAX, CAP, 12345);
	unsigned model[CLIENTS] = {0}, total = 0;
	uint64_t x = 88172645463325252ULL;

	for (int step = 0; step < 200000; step++) {
		unsigned k;
		struct sockaddr_storage p;
		char text[32];
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (unsigned)(x % CLIENTS);
		snprintf(text, sizeof(text), "10.%u.%u.1", k / 256, k % 256);
		p = v4(text, (uint16_t)step);
		if ((x >> 32) % 2 && total < MAX) {
			bool ok = tcp_clients_add(t, &p);
			ck_assert_int_eq(ok, model[k] < CAP);
			if (ok) {
				model[k]++;
				total++;
			}
		} else if (model[k]) {
			tcp_clients_remove(t, &p);
			model[k]--;
			total--;
		}
		ck_assert_uint_eq(tcp_clients_count(t, &p), model[k]);
	}
	for (unsigned k = 0; k < CLIENTS; k++) {
		char text[32];
		struct sockaddr_storage p;
		snprintf(text, sizeof(text), "10.%u.%u.1", k / 256, k % 256);
		p = v4(text, 1);
		ck_assert_uint_eq(tcp_clients_count(t, &p), model[k]);
	}
	tcp_clients_free(t);
}
END_TEST

/* As many clients as the worker has connections: all fit. */
START_TEST(full_worker_fits)
{
	enum { MAX = 1000 };
	struct tcp_clients *t = tcp_clients_new(MAX, 1, 99);

	for (unsigned k = 0; k < MAX; k++) {
		char text[32];
		struct sockaddr_storage p;
		snprintf(text, sizeof(text), "10.0.%u.%u", k / 256, k % 256);
		p = v4(text, 1);
		ck_assert(tcp_clients_add(t, &p));
	}
	tcp_clients_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tcp_clients");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, cap_per_address);
	tcase_add_test(tc, ipv6_by_prefix);
	tcase_add_test(tc, mapped_v4_is_v4);
	tcase_add_test(tc, churn_matches_model);
	tcase_add_test(tc, full_worker_fits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
