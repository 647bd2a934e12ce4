/* check_notify.c -- the sd_notify messages (src/daemon/notify.c): nothing
 * without NOTIFY_SOCKET; READY, RELOADING with MONOTONIC_USEC, STOPPING;
 * the status line from the health words; the status timer sends changes
 * only. A unix datagram socket of the test plays the service manager. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "daemon/notify.h"
#include "data/conf.h"
#include "data/snapshot.h"
#include "health/health.h"
#include "health/probe.h"
#include "testutil.h"

static const char zone_text[] = "$ORIGIN lb.test.\n"
				"$TTL 300\n"
				"@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
				"@ IN NS ns\n"
				"ns IN A 192.0.2.53\n";

/* a: two IPv4 members and one IPv6 (min_healthy 1); b: two members;
 * plain: no check. */
static const char conf_text[] =
    "listen = [ \"127.0.0.1:0\" ];\n"
    "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; } );\n"
    "checks = ( { name = \"web\"; type = \"tcp\"; port = 80; rise = 1; fall = 1; } );\n"
    "pools = (\n"
    "  { name = \"a\"; owners = [ \"a.lb.test\" ]; check = \"web\";\n"
    "    members = ( { address = \"192.0.2.1\"; }, { address = \"192.0.2.2\"; },\n"
    "                { address = \"2001:db8::1\"; } ); },\n"
    "  { name = \"b\"; owners = [ \"b.lb.test\" ]; check = \"web\";\n"
    "    members = ( { address = \"198.51.100.1\"; }, { address = \"198.51.100.2\"; } ); },\n"
    "  { name = \"plain\"; owners = [ \"plain.lb.test\" ];\n"
    "    members = ( { address = \"192.0.2.100\"; } ); }\n"
    ");\n";

static struct snapshot *snap;
static struct health_table *health;
static int manager = -1; /* the test's end of NOTIFY_SOCKET */

static const struct snapshot *current(void *arg)
{
	(void)arg;
	return snap;
}

static void setup(void)
{
	char zpath[PATH_MAX], cpath[PATH_MAX];
	struct conf *conf;

	tu_write(zpath, "lb.test.zone", zone_text);
	tu_write(cpath, "gslbd.conf", conf_text);
	conf = conf_load(cpath);
	ck_assert_ptr_nonnull(conf);
	health = health_table_new();
	snap = snapshot_build_health(conf, health);
	ck_assert_ptr_nonnull(snap);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static void teardown(void)
{
	snapshot_free(snap);
	health_table_free(health);
	snap = NULL;
	health = NULL;
	if (manager >= 0) {
		close(manager);
		manager = -1;
	}
}

/* Listen as the service manager would, and name the socket in the
 * environment. */
static void listen_as_manager(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 3};
	int len = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/notify.sock", tu_dir());

	ck_assert(len > 0 && (size_t)len < sizeof(sun.sun_path));
	unlink(sun.sun_path);
	manager = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(manager, 0);
	ck_assert_int_eq(bind(manager, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setsockopt(manager, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
}

/* The next message, or "" when none comes within @wait_ms. */
static const char *next_msg(int wait_ms)
{
	static char buf[1024];
	struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
	ssize_t n;

	setsockopt(manager, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(manager, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static struct health_entry *entry_for(const char *target)
{
	for (size_t i = 0; i < snap->nspecs; i++) {
		const char *t = health_entry_target(snap->specs[i]->entry);
		if (t && strcmp(t, target) == 0) {
			return snap->specs[i]->entry;
		}
	}
	ck_abort_msg("no probe of %s", target);
	return NULL;
}

static void take_down(const char *target)
{
	ck_assert(health_record(health, entry_for(target), false, "refused", 1, 1, 1, 1.0));
}

static unsigned long long monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

START_TEST(test_status_text)
{
	char line[256];

	notify_status_text(line, sizeof(line), snap, health);
	ck_assert_str_eq(line, "serving 3 pools: 3 healthy, 0 degraded, 0 failed");
	take_down("192.0.2.1:80");
	notify_status_text(line, sizeof(line), snap, health);
	ck_assert_str_eq(line, "serving 3 pools: 2 healthy, 1 degraded, 0 failed");
	/* b's every member down: min_healthy is not met, the last resort answers. */
	take_down("198.51.100.1:80");
	take_down("198.51.100.2:80");
	notify_status_text(line, sizeof(line), snap, health);
	ck_assert_str_eq(line, "serving 3 pools: 1 healthy, 1 degraded, 1 failed");
	/* a family counts too: a's only IPv6 member down fails a. */
	take_down("[2001:db8::1]:80");
	notify_status_text(line, sizeof(line), snap, health);
	ck_assert_str_eq(line, "serving 3 pools: 1 healthy, 0 degraded, 2 failed");
}
END_TEST

START_TEST(test_nothing_without_notify_socket)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct notify_source src = {current, health, NULL};
	struct notify *n = notify_new(loop, &src);

	ck_assert_ptr_null(n);
	/* Every call accepts it. */
	notify_ready(n);
	notify_reloading(n);
	notify_reloaded(n, true);
	notify_stopping(n);
	notify_free(n);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_messages)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct notify_source src = {current, health, NULL};
	struct notify *n;
	unsigned long long before, after, usec;
	const char *m;

	listen_as_manager();
	n = notify_new(loop, &src);
	ck_assert_ptr_nonnull(n);
	notify_ready(n);
	ck_assert_str_eq(next_msg(2000),
			 "READY=1\nSTATUS=serving 3 pools: 3 healthy, 0 degraded, 0 failed");

	before = monotonic_usec();
	notify_reloading(n);
	after = monotonic_usec();
	m = next_msg(2000);
	ck_assert_int_eq(sscanf(m, "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu", &usec), 1);
	ck_assert(before <= usec && usec <= after);
	notify_reloaded(n, true);
	ck_assert_str_eq(next_msg(2000),
			 "READY=1\nSTATUS=serving 3 pools: 3 healthy, 0 degraded, 0 failed");
	notify_reloading(n);
	(void)next_msg(2000);
	notify_reloaded(n, false);
	ck_assert_str_eq(next_msg(2000),
			 "READY=1\nSTATUS=serving 3 pools: 3 healthy, 0 degraded, 0 "
			 "failed; last reload failed, old configuration serving");
	notify_stopping(n);
	ck_assert_str_eq(next_msg(2000), "STOPPING=1\nSTATUS=stopping");
	ck_assert_str_eq(next_msg(100), "");
	notify_free(n);
	ev_loop_destroy(loop);
}
END_TEST

static void stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Run @loop for @seconds. */
static void run_for(struct ev_loop *loop, double seconds)
{
	ev_timer stop;

	ev_timer_init(&stop, stop_cb, seconds, 0);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);
	ev_timer_stop(loop, &stop);
}

START_TEST(test_status_timer_sends_changes_only)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct notify_source src = {current, health, NULL};
	struct notify *n;

	listen_as_manager();
	n = notify_new(loop, &src);
	notify_ready(n);
	(void)next_msg(2000);
	run_for(loop, 1.3); /* one tick, nothing changed */
	ck_assert_str_eq(next_msg(100), "");
	take_down("192.0.2.1:80");
	run_for(loop, 1.3);
	ck_assert_str_eq(next_msg(100), "STATUS=serving 3 pools: 2 healthy, 1 degraded, 0 failed");
	ck_assert_str_eq(next_msg(100), "");
	notify_free(n);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_watchdog_pings)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct notify_source src = {current, health, NULL};
	struct notify *n;
	char pid[32];
	int pings = 0;

	listen_as_manager();
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_USEC", "200000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	n = notify_new(loop, &src);
	notify_ready(n);
	ck_assert_str_eq(next_msg(2000),
			 "READY=1\nSTATUS=serving 3 pools: 3 healthy, 0 degraded, 0 failed");
	ck_assert_str_eq(next_msg(2000), "WATCHDOG=1"); /* at once */
	run_for(loop, 0.55);				/* every 0.1 s */
	while (strcmp(next_msg(50), "WATCHDOG=1") == 0) {
		pings++;
	}
	ck_assert_int_ge(pings, 3);
	ck_assert_int_le(pings, 6);
	notify_stopping(n);
	ck_assert_str_eq(next_msg(2000), "STOPPING=1\nSTATUS=stopping");
	run_for(loop, 0.3); /* no pings after STOPPING=1 */
	ck_assert_str_eq(next_msg(100), "");
	notify_free(n);
	ev_loop_destroy(loop);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_status_text);
	tcase_add_test(tc, test_nothing_without_notify_socket);
	tcase_add_test(tc, test_messages);
	tcase_add_test(tc, test_status_timer_sends_changes_only);
	tcase_add_test(tc, test_watchdog_pings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	int failed;

	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
