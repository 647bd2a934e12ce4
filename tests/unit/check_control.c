/* check_control.c -- unit tests for src/control.c: the command protocol and the socket. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include <check.h>
#include <ev.h>

#include "ctl/control.h"
#include "ctl/protocol.h"
#include "daemon/stats.h"
#include "data/conf.h"
#include "data/snapshot.h"
#include "health/health.h"
#include "health/probe.h"
#include "testutil.h"
#include "explain_walk.h"

static const char zone_text[] = "$ORIGIN lb.test.\n"
				"$TTL 300\n"
				"@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
				"@ IN NS ns\n"
				"ns IN A 192.0.2.53\n"
				"www IN CNAME a\n"
				"loop1 IN CNAME loop2\n"
				"loop2 IN CNAME loop1\n"
				"out IN CNAME www.elsewhere.test.\n"
				"txt IN TXT \"one\"\n"
				"txt IN TXT \"two\"\n"
				"sub IN NS ns.other.test.\n"
				"*.wild IN A 192.0.2.99\n";

/* Pool a (backup b) and c (last resort servfail) are probed by "web";
 * "plain" has no check. */
static const char conf_text[] =
    "listen = [ \"127.0.0.1:0\" ];\n"
    "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; } );\n"
    "checks = ( { name = \"web\"; type = \"tcp\"; port = 80; rise = 2; fall = 2; } );\n"
    "pools = (\n"
    "  { name = \"a\"; owners = [ \"a.lb.test\" ]; check = \"web\"; backup = \"b\";\n"
    "    ttl = 30; ttl_degraded = 10;\n"
    "    members = ( { address = \"192.0.2.1\"; }, { address = \"192.0.2.2\"; },\n"
    "                { address = \"2001:db8::1\"; } ); },\n"
    "  { name = \"b\"; owners = [ \"b.lb.test\" ]; check = \"web\";\n"
    "    members = ( { address = \"198.51.100.1\"; }, { address = \"198.51.100.2\"; } ); },\n"
    "  { name = \"c\"; owners = [ \"c.lb.test\" ]; check = \"web\"; last_resort = \"servfail\";\n"
    "    members = ( { address = \"203.0.113.1\"; } ); },\n"
    "  { name = \"plain\"; owners = [ \"plain.lb.test\" ];\n"
    "    members = ( { address = \"192.0.2.100\"; } ); }\n"
    ");\n";

static struct snapshot *snap;
static struct health_table *health;
static int reloads, admin_changes;
static bool reload_busy; /* the daemon's "one is in progress" */

static const struct snapshot *ops_current(void *arg)
{
	(void)arg;
	return snap;
}

/* Like the daemon's: a reload starts and its result comes later
 * (control_reload_done), or it is refused while one is in progress. */
static int ops_reload(void *arg, struct sbuf *msg)
{
	(void)arg;
	if (reload_busy) {
		sb_printf(msg, "reload in progress; retry when it is done");
		return -1;
	}
	reloads++;
	return 0;
}

static void ops_admin_changed(void *arg)
{
	(void)arg;
	admin_changes++;
}

static struct stats *stats;
static struct control_ops ops = { ops_current, ops_reload, ops_admin_changed, NULL, NULL, NULL, NULL };

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
	stats = stats_new();
	stats_bind_pools(stats, snap->pools, snap->npools);
	ops.health = health;
	ops.stats = stats;
	reloads = admin_changes = 0;
	reload_busy = false;
}

static void teardown(void)
{
	snapshot_free(snap);
	health_table_free(health);
	stats_free(stats);
	snap = NULL;
	health = NULL;
	stats = NULL;
}

/* Run @line; the reply goes to a static buffer (NUL-terminated). */
static char reply[65536];

static int run(const char *line)
{
	char *out = NULL;
	size_t len = 0;
	int rc = commands_execute(line, &ops, &out, &len);

	if (rc == COMMAND_PENDING) {
		ck_assert_ptr_null(out);
		reply[0] = 0;
		return rc;
	}
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_lt(len, sizeof(reply));
	memcpy(reply, out, len);
	reply[len] = 0;
	free(out);
	return rc;
}

#define ck_has(hay, needle)                                                                        \
	ck_assert_msg(strstr((hay), (needle)), "expected \"%s\" in:\n%s", (needle), (hay))
#define ck_hasnt(hay, needle)                                                                      \
	ck_assert_msg(!strstr((hay), (needle)), "did not expect \"%s\" in:\n%s", (needle), (hay))

/* The reply line that starts with @prefix (copied to @buf), or "". */
static const char *line_of(char *buf, size_t size, const char *text, const char *prefix)
{
	const char *p = text;

	buf[0] = 0;
	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			snprintf(buf, size, "%.*s", (int)n, p);
			return buf;
		}
		p = end ? end + 1 : NULL;
	}
	return buf;
}

/* The probe entry with key @key, as the snapshot handed it to the probes. */
static struct health_entry *entry(const char *key)
{
	for (size_t i = 0; i < snap->nspecs; i++) {
		if (strcmp(health_entry_key(snap->specs[i]->entry), key) == 0) {
			return snap->specs[i]->entry;
		}
	}
	ck_abort_msg("no health entry %s", key);
	return NULL;
}

static struct health_info info_of(struct health_entry *e)
{
	struct health_info i;

	ck_assert(health_info_by_word(health, health_entry_word(e), &i));
	return i;
}

/* The admin override of member @address of pool @pool. */
static enum health_admin admin_of(const char *pool, const char *address)
{
	struct health_info i;

	ck_assert(health_info_by_word(health, health_entry_word(health_get_admin(health, pool, address)), &i));
	return i.admin;
}

/* Enough failures (fall = 2) to take the target down. */
static void take_down(const char *key, const char *reason)
{
	struct health_entry *e = entry(key);

	health_record(health, e, false, reason, 1.5, 2, 2, 1700000000.0);
	health_record(health, e, false, reason, 1.5, 2, 2, 1700000001.0);
	ck_assert_int_eq(info_of(e).state, HEALTH_DOWN);
}

static const struct pool *pool_named(const char *name)
{
	for (size_t i = 0; i < snap->npools; i++) {
		if (strcmp(snap->pools[i].name, name) == 0) {
			return &snap->pools[i];
		}
	}
	ck_abort_msg("no pool %s", name);
	return NULL;
}

/* --- a small JSON validator, so "parses" means parses ----------------------- */

static const char *json_value(const char *p);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
		p++;
	}
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"') {
		return NULL;
	}
	while (*p != '"') {
		if ((unsigned char)*p < 0x20) {
			return NULL; /* also the end of the text */
		}
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++) {
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i]) {
						return NULL;
					}
				}
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	char *end;

	strtod(p, &end);
	return end == p ? NULL : end;
}

static const char *json_value(const char *p)
{
	p = json_ws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool object = *p == '{';
		p = json_ws(p + 1);
		if (*p == close) {
			return p + 1;
		}
		for (;;) {
			if (object) {
				p = json_string(json_ws(p));
				if (!p || *(p = json_ws(p)) != ':') {
					return NULL;
				}
				p++;
			}
			p = json_value(p);
			if (!p) {
				return NULL;
			}
			p = json_ws(p);
			if (*p == close) {
				return p + 1;
			}
			if (*p != ',') {
				return NULL;
			}
			p++;
		}
	}
	if (*p == '"') {
		return json_string(p);
	}
	if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0) {
		return p + 4;
	}
	if (strncmp(p, "false", 5) == 0) {
		return p + 5;
	}
	return json_number(p);
}

static bool json_valid(const char *text)
{
	const char *end = json_value(text);

	return end && *json_ws(end) == 0;
}

/* --- status ---------------------------------------------------------------- */

START_TEST(status_lists_pools_and_members)
{
	char l[1024];

	ck_assert_int_eq(run("status"), 0);
	ck_assert(strncmp(reply, "OK\n", 3) == 0);
	ck_has(reply, "pool a: policy round-robin, ttl 30, ttl_degraded 10, min_healthy 1, "
		      "backup b, last_resort fail-open\n");
	ck_has(reply, "pool c: ");
	ck_has(reply, "last_resort servfail");
	ck_has(reply, "  A: healthy, 2 of 2 up, ttl 30\n");
	ck_has(reply, "pool plain: ");
	line_of(l, sizeof(l), reply, "  member 192.0.2.1:");
	ck_has(l, "192.0.2.1: up; health up, admin none; check web (tcp 192.0.2.1:80)");
	ck_has(l, "last probe none");
	ck_has(l, "changed never");
	line_of(l, sizeof(l), reply, "  member 2001:db8::1:");
	ck_has(l, "check web (tcp [2001:db8::1]:80)");
	line_of(l, sizeof(l), reply, "  member 192.0.2.100:");
	ck_has(l, "up;");
	ck_has(l, "check none");
	/* Pool b has no IPv6 members. */
	ck_has(reply, "  AAAA: no members (NODATA)\n");
}
END_TEST

START_TEST(status_member_down_with_reason)
{
	char l[1024];
	struct health_entry *e = entry("192.0.2.1:80/web");

	/* One failure: still up (fall 2), counting. */
	health_record(health, e, false, "connection refused", 0.4, 2, 2, 1700000000.0);
	ck_assert_int_eq(run("status"), 0);
	line_of(l, sizeof(l), reply, "  member 192.0.2.1:");
	ck_has(l, ": up; health up");
	ck_has(l, "last probe failed (connection refused) 0.4 ms; count 1; changed never");

	health_record(health, e, false, "connection refused", 0.4, 2, 2, 1700000000.0);
	ck_assert_int_eq(run("status"), 0);
	line_of(l, sizeof(l), reply, "  member 192.0.2.1:");
	ck_has(l, ": down; health down, admin none");
	ck_has(l, "last probe failed (connection refused)");
	ck_has(l, "count 0; changed 2023-11-14T22:13:20Z");
	ck_has(reply, "  A: degraded, 1 of 2 up, ttl 10\n");
	/* The other member is untouched. */
	line_of(l, sizeof(l), reply, "  member 192.0.2.2:");
	ck_has(l, ": up; health up");
}
END_TEST

START_TEST(status_json_parses_and_escapes)
{
	take_down("192.0.2.2:80/web", "bad \"status\" \\ line\n\x01 caf\xc3\xa9 \xff");
	ck_assert_int_eq(run("status --json"), 0);
	ck_assert(strncmp(reply, "OK\n", 3) == 0);
	ck_assert_msg(json_valid(reply + 3), "not JSON:\n%s", reply + 3);
	ck_has(reply, "{\"pools\":[{\"name\":\"a\"");
	ck_has(reply, "\"backup\":\"b\"");
	ck_has(reply, "\"backup\":null");
	ck_has(reply, "\"last_resort\":\"servfail\"");
	ck_has(reply, "{\"address\":\"192.0.2.2\",\"family\":\"A\",\"state\":\"down\","
		      "\"health\":\"down\",\"admin\":\"none\",\"check\":\"web\",\"kind\":\"tcp\","
		      "\"target\":\"192.0.2.2:80\",\"last_probe\":\"failed\","
		      /* health_record turns control characters into spaces */
		      "\"reason\":\"bad \\\"status\\\" \\\\ line   caf\xc3\xa9 \xef\xbf\xbd\"");
	ck_has(reply, "\"latency_ms\":1.5,");
	ck_has(reply, "\"changed\":\"2023-11-14T22:13:21Z\"");
	ck_has(reply, "\"address\":\"192.0.2.100\",\"family\":\"A\",\"state\":\"up\"");
	ck_has(reply, "\"kind\":\"none\"");
	ck_has(reply, "\"A\":{\"members\":2,\"up\":1,\"state\":\"degraded\",\"answered_by\":\"a\"");
}
END_TEST

START_TEST(status_bad_arguments)
{
	ck_assert_int_eq(run("status --yaml"), -1);
	ck_has(reply, "ERR usage: status [--json]");
}
END_TEST

/* --- drain / undrain ----------------------------------------------------------- */

START_TEST(drain_and_undrain)
{
	const struct pool *a = pool_named("a");
	char l[1024];

	ck_assert(health_member_up(health, a->v4.hword[1], a->v4.aword[1]));
	ck_assert_int_eq(run("drain a 192.0.2.2"), 0);
	ck_assert(strncmp(reply, "OK\n", 3) == 0);
	ck_has(reply, "192.0.2.2 in pool a: admin none -> drained; it is now down");
	ck_assert_int_eq(admin_changes, 1);
	ck_assert(!health_member_up(health, a->v4.hword[1], a->v4.aword[1]));
	ck_assert(health_member_up(health, a->v4.hword[0], a->v4.aword[0]));
	ck_assert_int_eq(admin_of("a", "192.0.2.2"), ADMIN_DRAINED);

	ck_assert_int_eq(run("status"), 0);
	line_of(l, sizeof(l), reply, "  member 192.0.2.2:");
	ck_has(l, ": down; health up, admin drained");

	/* Draining twice changes nothing and persists nothing. */
	ck_assert_int_eq(run("drain a 192.0.2.2"), 0);
	ck_has(reply, "admin already drained");
	ck_assert_int_eq(admin_changes, 1);

	ck_assert_int_eq(run("undrain a 192.0.2.2"), 0);
	ck_has(reply, "192.0.2.2 in pool a: admin drained -> none; it is now up");
	ck_assert_int_eq(admin_changes, 2);
	ck_assert(health_member_up(health, a->v4.hword[1], a->v4.aword[1]));
	ck_assert_int_eq(run("status"), 0);
	line_of(l, sizeof(l), reply, "  member 192.0.2.2:");
	ck_has(l, ": up; health up, admin none");
}
END_TEST

START_TEST(drain_normalises_ipv6)
{
	const struct pool *a = pool_named("a");

	ck_assert_int_eq(run("drain a 2001:DB8:0::1"), 0);
	ck_has(reply, "2001:db8::1 in pool a: admin none -> drained");
	ck_assert_int_eq(admin_of("a", "2001:db8::1"), ADMIN_DRAINED);
	ck_assert(!health_member_up(health, a->v6.hword[0], a->v6.aword[0]));
}
END_TEST

START_TEST(drain_unchecked_pool)
{
	const struct pool *p = pool_named("plain");

	ck_assert_int_eq(run("drain plain 192.0.2.100"), 0);
	ck_assert(!health_member_up(health, p->v4.hword[0], p->v4.aword[0]));
	ck_assert_int_eq(run("explain plain.lb.test A"), 0);
	ck_has(reply, "    192.0.2.100 drained (operator override; health up)\n");
	ck_has(reply, "min_healthy 1: not met (0 of 1 up)\n");
	ck_has(reply, "last resort fail-open in force");
}
END_TEST

START_TEST(drain_unknown_member)
{
	ck_assert_int_eq(run("drain nosuch 192.0.2.1"), -1);
	ck_has(reply, "ERR no member 192.0.2.1 in pool nosuch\n");
	ck_assert_int_eq(run("drain a 192.0.2.9"), -1);
	ck_has(reply, "ERR no member 192.0.2.9 in pool a\n");
	/* A member of another pool is not a member of this one. */
	ck_assert_int_eq(run("undrain a 198.51.100.1"), -1);
	ck_has(reply, "ERR no member 198.51.100.1 in pool a\n");
	ck_assert_int_eq(run("drain a not-an-address"), -1);
	ck_has(reply, "ERR no member not-an-address in pool a\n");
	ck_assert_int_eq(run("drain a"), -1);
	ck_has(reply, "ERR usage: drain POOL ADDRESS [--for DURATION | --until TIME]\n");
	ck_assert_int_eq(admin_changes, 0);
}
END_TEST

/* --- explain ----------------------------------------------------------------- */

START_TEST(explain_pool_healthy)
{
	ck_assert_int_eq(run("explain A.LB.test a"), 0);
	ck_assert_msg(strncmp(reply, "OK\na.lb.test. A\n", 16) == 0, "got:\n%s", reply);
	ck_has(reply, "a.lb.test. A\nanswer: rcode NOERROR, aa yes, zone lb.test., soa -\n");
	ck_has(reply, "zone lb.test.: exact match a.lb.test.\n");
	ck_has(reply, "pool a (round-robin, 2 records per answer), A members:\n");
	ck_has(reply, "    192.0.2.1 up (not probed yet: initial or saved state)\n");
	ck_has(reply, "min_healthy 1: met (2 of 2 up)\n");
	ck_has(reply, "answer: 2 A records from pool a, ttl 30\n");

	ck_assert_int_eq(run("explain a.lb.test AAAA"), 0);
	ck_has(reply, "    2001:db8::1 up");
	ck_has(reply, "answer: 1 AAAA record from pool a, ttl 30\n");
	ck_assert_int_eq(run("explain b.lb.test AAAA"), 0);
	ck_has(reply, "pool b has no AAAA members: NODATA\n");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa lb.test.\n");
	ck_assert_int_eq(run("explain plain.lb.test A"), 0);
	ck_has(reply, "    192.0.2.100 up (no check)\n");
}
END_TEST

START_TEST(explain_degraded)
{
	take_down("192.0.2.1:80/web", "timeout after 250 ms");
	ck_assert_int_eq(run("explain a.lb.test A"), 0);
	ck_has(reply, "    192.0.2.1 down (last probe failed: timeout after 250 ms)\n");
	ck_has(reply, "min_healthy 1: met (1 of 2 up)\n");
	ck_has(reply, "answer: 1 A record from pool a, ttl 10 (ttl_degraded: a member is down)\n");
}
END_TEST

START_TEST(explain_backup_in_force)
{
	take_down("192.0.2.1:80/web", "connection refused");
	take_down("192.0.2.2:80/web", "connection refused");
	ck_assert_int_eq(run("explain a.lb.test A"), 0);
	ck_has(reply, "min_healthy 1: not met (0 of 2 up)\n");
	ck_has(reply, "backup b in force (2 of 2 up, min_healthy 1):\n");
	ck_has(reply, "    198.51.100.1 up");
	ck_has(reply, "answer: 2 A records from backup b, ttl 10 (ttl_degraded of a)\n");
	/* IPv6 of pool a is unaffected. */
	ck_assert_int_eq(run("explain a.lb.test AAAA"), 0);
	ck_has(reply, "answer: 1 AAAA record from pool a, ttl 30\n");
	ck_assert_int_eq(run("status"), 0);
	ck_has(reply, "  A: failed, 0 of 2 up (min_healthy 1); answered from backup b (2 up), "
		      "ttl 10\n");
}
END_TEST

START_TEST(explain_last_resort)
{
	take_down("192.0.2.1:80/web", "connection refused");
	take_down("192.0.2.2:80/web", "connection refused");
	take_down("198.51.100.1:80/web", "connection refused");
	take_down("198.51.100.2:80/web", "connection refused");
	ck_assert_int_eq(run("explain a.lb.test A"), 0);
	ck_has(reply, "backup b failed too (0 of 2 A members up, min_healthy 1)\n");
	ck_has(reply, "last resort fail-open in force: every member of a is answered "
		      "(2 A records), ttl 10 (ttl_degraded)\n");

	take_down("203.0.113.1:80/web", "connection refused");
	ck_assert_int_eq(run("explain c.lb.test A"), 0);
	ck_has(reply, "no backup configured\n");
	ck_has(reply, "last resort servfail in force: answer SERVFAIL\n");
	ck_has(reply, "answer: rcode SERVFAIL, aa no, zone lb.test., soa -\n");
	ck_assert_int_eq(run("status"), 0);
	ck_has(reply, "  A: failed, 0 of 1 up (min_healthy 1); last resort servfail\n");
}
END_TEST

START_TEST(explain_cname_to_pool)
{
	ck_assert_int_eq(run("explain www.lb.test A"), 0);
	ck_has(reply, "zone lb.test.: exact match www.lb.test.\n");
	ck_has(reply, "CNAME to a.lb.test. (ttl 300)\n");
	ck_has(reply, "pool a (round-robin");
	ck_has(reply, "answer: 2 A records from pool a, ttl 30\n");
	/* Asked for the CNAME itself: static data. */
	ck_assert_int_eq(run("explain www.lb.test CNAME"), 0);
	ck_has(reply, "static data: 1 record of type CNAME, ttl 300\n");

	ck_assert_int_eq(run("explain loop1.lb.test A"), 0);
	ck_has(reply, "CNAME loop: the chain stops here, NOERROR\n");
	ck_assert_int_eq(run("explain out.lb.test A"), 0);
	ck_has(reply,
	       "www.elsewhere.test. is in no zone we serve: the resolver follows the CNAME\n");
}
END_TEST

START_TEST(explain_static_and_negative)
{
	ck_assert_int_eq(run("explain txt.lb.test TXT"), 0);
	ck_has(reply, "static data: 2 records of type TXT, ttl 300\n");
	ck_assert_int_eq(run("explain txt.lb.test MX"), 0);
	ck_has(reply, "NODATA: no MX records here\n");
	ck_has(reply, "answer: rcode NOERROR, aa yes, zone lb.test., soa lb.test.\n");
	ck_assert_int_eq(run("explain a.lb.test TXT"), 0);
	ck_has(reply, "NODATA: no TXT records here (the name's pool answers only A and AAAA)\n");
	ck_assert_int_eq(run("explain nope.lb.test A"), 0);
	ck_has(reply, "zone lb.test.: no such name (closest encloser lb.test.): NXDOMAIN\n");
	ck_has(reply, "answer: rcode NXDOMAIN, aa yes, zone lb.test., soa lb.test.\n");
	ck_assert_int_eq(run("explain www.example.org A"), 0);
	ck_has(reply, "www.example.org. is in no zone we serve: REFUSED\n");
	ck_has(reply, "answer: rcode REFUSED, aa no, zone -, soa -\n");
	ck_assert_int_eq(run("explain host.sub.lb.test A"), 0);
	ck_has(reply, "below the delegation sub.lb.test.: referral");
	ck_has(reply, "answer: rcode NOERROR, aa no, zone lb.test., soa -\n");
	ck_assert_int_eq(run("explain sub.lb.test A"), 0);
	ck_has(reply, "at or below the delegation sub.lb.test.: referral");
	ck_assert_int_eq(run("explain x.wild.lb.test A"), 0);
	ck_has(reply, "zone lb.test.: wildcard match, synthesized from *.wild.lb.test.\n");
	ck_has(reply, "static data: 1 record of type A, ttl 300\n");
	ck_assert_int_eq(run("explain a.lb.test type4000"), 0);
	ck_has(reply, "NODATA: no TYPE4000 records here");
	ck_assert_int_eq(run("explain a.lb.test 16"), 0);
	ck_has(reply, "NODATA: no TXT records here");
	ck_assert_int_eq(run("explain a.lb.test ANY"), 0);
	ck_has(reply, "ANY is answered with one RRset (RFC 8482): A\n");
}
END_TEST

/* Every name and type of the zone, with members up and then all down. */
START_TEST(explain_agrees_with_answers)
{
	ck_assert_uint_gt(ew_walk(snap, health), 500);
	take_down("192.0.2.1:80/web", "connection refused");
	take_down("192.0.2.2:80/web", "connection refused");
	take_down("[2001:db8::1]:80/web", "connection refused");
	take_down("198.51.100.1:80/web", "connection refused");
	take_down("198.51.100.2:80/web", "connection refused");
	take_down("203.0.113.1:80/web", "connection refused");
	ck_assert_int_eq(run("drain plain 192.0.2.100"), 0);
	ck_assert_uint_gt(ew_walk(snap, health), 500);
}
END_TEST

START_TEST(explain_bad_arguments)
{
	ck_assert_int_eq(run("explain a.lb.test"), -1);
	ck_has(reply, "ERR usage: explain NAME TYPE [--client ADDRESS] [--ecs PREFIX]\n");
	ck_assert_int_eq(run("explain a.lb.test BOGUS"), -1);
	ck_has(reply, "ERR unknown type BOGUS");
	ck_assert_int_eq(run("explain a..lb.test A"), -1);
	ck_has(reply, "ERR not a domain name: a..lb.test\n");
}
END_TEST

/* --- other commands ------------------------------------------------------------ */

START_TEST(reload_calls_back)
{
	char *out;
	size_t len;

	/* It starts, and the reply waits for the result. */
	ck_assert_int_eq(run("reload"), COMMAND_PENDING);
	ck_assert_int_eq(reloads, 1);
	ck_assert_int_eq(run("reload now"), -1);
	ck_assert_int_eq(reloads, 1);
	/* One in progress: a second is refused at once, saying why. */
	reload_busy = true;
	ck_assert_int_eq(run("reload"), -1);
	ck_assert_str_eq(reply, "ERR reload in progress; retry when it is done\n");
	ck_assert_int_eq(reloads, 1);
	/* The replies once it is done. */
	commands_reload_reply(0, "warning: w\nreload done: test", &out, &len);
	ck_assert_str_eq(out, "OK\nwarning: w\nreload done: test\n");
	ck_assert_uint_eq(len, strlen(out));
	free(out);
	commands_reload_reply(-1, "error: e\nreload failed: why\n", &out, &len);
	ck_assert_str_eq(out, "ERR reload failed; the previous configuration keeps serving\n"
			      "error: e\nreload failed: why\n");
	free(out);
}
END_TEST

START_TEST(unknown_command)
{
	ck_assert_int_eq(run("frobnicate x"), -1);
	ck_assert_str_eq(reply, "ERR unknown command \"frobnicate\"; try: status, stats, explain, "
				"drain, undrain, weight, shift, reload\n");
	ck_assert_int_eq(run(""), -1);
	ck_has(reply, "ERR empty command; try: status");
	ck_assert_int_eq(run("   \r"), -1);
	ck_has(reply, "ERR empty command");
	/* Control characters do not break the reply's first line. */
	ck_assert_int_eq(run("st\x1b[2Jatus"), -1);
	ck_assert_str_eq(reply, "ERR unknown command \"st?[2Jatus\"; try: status, stats, explain, "
				"drain, undrain, weight, shift, reload\n");
}
END_TEST

START_TEST(no_snapshot)
{
	char *out;
	size_t len;
	struct control_ops none = ops;

	none.current = NULL;
	ck_assert_int_eq(commands_execute("status", &none, &out, &len), -1);
	ck_assert_str_eq(out, "ERR no configuration loaded\n");
	ck_assert_uint_eq(len, strlen(out));
	free(out);
}
END_TEST

/* --- the socket -------------------------------------------------------------- */

static const char *sock_path(char *path)
{
	int n = snprintf(path, PATH_MAX, "%s/ctl.sock", tu_dir());

	ck_assert(n > 0 && n < (int)sizeof(((struct sockaddr_un *)0)->sun_path));
	return path;
}

static void sun_fill(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun->sun_path));
	memcpy(sun->sun_path, path, strlen(path) + 1);
}

static int client_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sun_fill(&sun, path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Step the loop until the server closes the connection; returns the reply. */
static const char *client_reply(struct ev_loop *loop, int fd)
{
	size_t n = 0;

	for (int i = 0; i < 5000; i++) {
		ssize_t r;
		ev_run(loop, EVRUN_NOWAIT);
		r = recv(fd, reply + n, sizeof(reply) - 1 - n, MSG_DONTWAIT);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0) {
			reply[n] = 0;
			close(fd);
			return reply;
		}
		ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s", strerror(errno));
		usleep(1000);
	}
	ck_abort_msg("no reply");
	return NULL;
}

START_TEST(socket_status_and_mode)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char path[PATH_MAX];
	struct control *c;
	struct stat st;
	int fd;

	c = control_new(loop, sock_path(path), 0600, &ops);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);

	fd = client_connect(path);
	ck_assert_int_eq(send(fd, "status\n", 7, 0), 7);
	client_reply(loop, fd);
	ck_assert(strncmp(reply, "OK\n", 3) == 0);
	ck_has(reply, "pool a: ");
	ck_has(reply, "  member 192.0.2.1: up");

	/* A line split over two writes, and a drain through the socket. */
	fd = client_connect(path);
	ck_assert_int_eq(send(fd, "drain a ", 8, 0), 8);
	ev_run(loop, EVRUN_NOWAIT);
	ck_assert_int_eq(send(fd, "192.0.2.1\n", 10, 0), 10);
	client_reply(loop, fd);
	ck_has(reply, "OK\n192.0.2.1 in pool a: admin none -> drained");
	ck_assert_int_eq(admin_changes, 1);

	/* A last line without its newline still counts when the client
	 * shuts its side down. */
	fd = client_connect(path);
	ck_assert_int_eq(send(fd, "bogus", 5, 0), 5);
	shutdown(fd, SHUT_WR);
	client_reply(loop, fd);
	ck_has(reply, "ERR unknown command \"bogus\"");

	control_free(c);
	ck_assert_int_eq(lstat(path, &st), -1);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(socket_mode_and_stale_file)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sockaddr_un sun;
	char path[PATH_MAX], junk[PATH_MAX];
	struct control *c;
	struct stat st;
	int fd;

	/* A socket file left by a dead process is replaced. */
	sock_path(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	sun_fill(&sun, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	c = control_new(loop, path, 0660, &ops);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	control_free(c);

	/* Anything else is left alone. */
	tu_write(junk, "not-a-socket", "data\n");
	ck_assert_ptr_null(control_new(loop, junk, 0600, &ops));
	ck_assert_int_eq(lstat(junk, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ev_loop_destroy(loop);
}
END_TEST

/* A socket a live process answers on is not taken over: a second gslbd
 * with the same config is refused and the first keeps its socket. */
START_TEST(socket_live_not_replaced)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char path[PATH_MAX], other[PATH_MAX], log[4096], why[256];
	struct control *first, *second;
	struct stat st1, st2;
	int fd;

	if (snprintf(path, sizeof(path), "%s/live.sock", tu_dir()) >= (int)sizeof(path) ||
	    snprintf(other, sizeof(other), "%s/other.sock", tu_dir()) >= (int)sizeof(other)) {
		abort();
	}
	first = control_new(loop, path, 0600, &ops);
	ck_assert_ptr_nonnull(first);
	ck_assert_int_eq(lstat(path, &st1), 0);
	TU_CAPTURE_STDERR(log, sizeof(log), second = control_new(loop, path, 0600, &ops));
	ck_assert_ptr_null(second);
	ck_has(log, "live.sock: in use: a process answers on it (another gslbd?); not replacing it");
	ck_assert_int_eq(lstat(path, &st2), 0);
	ck_assert_uint_eq(st2.st_ino, st1.st_ino);
	/* Nor by a reload that moves another control socket there. */
	second = control_new(loop, other, 0600, &ops);
	ck_assert_ptr_nonnull(second);
	TU_CAPTURE_STDERR(log, sizeof(log),
			  ck_assert_int_eq(control_rebind(second, path, 0600, why, sizeof(why)), -1));
	ck_assert_str_eq(why, "in use: a process answers on it (another gslbd?)");
	ck_assert_str_eq(control_path(second), other);
	control_free(second);
	/* The first one still answers, on its own socket. */
	ck_assert_int_eq(lstat(path, &st2), 0);
	ck_assert_uint_eq(st2.st_ino, st1.st_ino);
	fd = client_connect(path);
	ck_assert_int_eq(send(fd, "status\n", 7, 0), 7);
	client_reply(loop, fd);
	ck_assert(strncmp(reply, "OK\n", 3) == 0);
	control_free(first);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(socket_long_line)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char path[PATH_MAX], big[CONTROL_MAX_LINE + 500];
	struct control *c = control_new(loop, sock_path(path), 0600, &ops);
	int fd;

	ck_assert_ptr_nonnull(c);
	memset(big, 'x', sizeof(big));
	fd = client_connect(path);
	ck_assert_int_eq(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	client_reply(loop, fd);
	ck_assert_str_eq(reply, "ERR command line too long\n");
	control_free(c);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(socket_idle_client_dropped)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char path[PATH_MAX];
	struct control *c = control_new(loop, sock_path(path), 0600, &ops);
	struct timespec t0, t1;
	double elapsed;
	int fd, other;

	ck_assert_ptr_nonnull(c);
	fd = client_connect(path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ev_run(loop, EVRUN_NOWAIT); /* accepted */
	/* The loop stays free for others meanwhile. */
	other = client_connect(path);
	ck_assert_int_eq(send(other, "status\n", 7, 0), 7);
	client_reply(loop, other);
	ck_assert(strncmp(reply, "OK\n", 3) == 0);
	for (;;) {
		char ch;
		ssize_t r = recv(fd, &ch, 1, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			break;
		}
		ev_run(loop, EVRUN_ONCE);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(elapsed > 1.8 && elapsed < 3.5, "dropped after %.2f s", elapsed);
	close(fd);
	control_free(c);
	ev_loop_destroy(loop);
}
END_TEST

/* A client that started a reload waits for its result, past the read
 * timeout, while others are served; then gets it. */
START_TEST(socket_reload_waits_for_its_result)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char path[PATH_MAX];
	struct control *c = control_new(loop, sock_path(path), 0600, &ops);
	struct timespec t0, t1;
	int fd, other;
	char ch;

	ck_assert_ptr_nonnull(c);
	fd = client_connect(path);
	ck_assert_int_eq(send(fd, "reload\n", 7, 0), 7);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ev_run(loop, EVRUN_NOWAIT);
		other = client_connect(path);
		ck_assert_int_eq(send(other, "status\n", 7, 0), 7);
		client_reply(loop, other);
		ck_assert(strncmp(reply, "OK\n", 3) == 0);
		usleep(100 * 1000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 < 2.5);
	ck_assert_int_eq(reloads, 1);
	ck_assert_int_eq(recv(fd, &ch, 1, MSG_DONTWAIT), -1); /* still waiting, not dropped */
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	control_reload_done(c, 0, "reload done: test");
	client_reply(loop, fd);
	ck_assert_str_eq(reply, "OK\nreload done: test\n");
	control_free(c);
	ev_loop_destroy(loop);
}
END_TEST

/* 20 clients hold partial lines (16 is the limit): an operator still gets
 * an answer at once, and the oldest idle client is the one closed, with a
 * word why. They used to keep everyone out for 2 s. */
START_TEST(socket_full_of_partial_lines)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	char path[PATH_MAX], buf[256];
	struct control *c = control_new(loop, sock_path(path), 0600, &ops);
	struct timespec t0, t1;
	double elapsed;
	int idle[20], fd;
	ssize_t n;

	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < 20; i++) {
		idle[i] = client_connect(path);
		ck_assert_int_eq(send(idle[i], "sta", 3, 0), 3);
		ev_run(loop, EVRUN_NOWAIT);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = client_connect(path);
	ck_assert_int_eq(send(fd, "status\n", 7, 0), 7);
	client_reply(loop, fd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(strncmp(reply, "OK\n", 3) == 0, "reply: %s", reply);
	ck_has(reply, "pool a: ");
	ck_assert_msg(elapsed < 0.5, "answered after %.2f s", elapsed);
	/* The oldest partial lines made way, each told why; the newest wait. */
	n = recv(idle[0], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	buf[n] = 0;
	ck_has(buf, "ERR too many control clients: closed to serve another");
	n = recv(idle[19], buf, sizeof(buf), MSG_DONTWAIT);
	ck_assert(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	/* The last one still completes its command. */
	ck_assert_int_eq(send(idle[19], "ts\n", 3, 0), 3);
	client_reply(loop, idle[19]);
	ck_assert(strncmp(reply, "OK\n", 3) == 0);
	for (int i = 0; i < 19; i++) {
		close(idle[i]);
	}
	control_free(c);
	ev_loop_destroy(loop);
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("execute");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, status_lists_pools_and_members);
	tcase_add_test(tc, status_member_down_with_reason);
	tcase_add_test(tc, status_json_parses_and_escapes);
	tcase_add_test(tc, status_bad_arguments);
	tcase_add_test(tc, drain_and_undrain);
	tcase_add_test(tc, drain_normalises_ipv6);
	tcase_add_test(tc, drain_unchecked_pool);
	tcase_add_test(tc, drain_unknown_member);
	tcase_add_test(tc, explain_pool_healthy);
	tcase_add_test(tc, explain_degraded);
	tcase_add_test(tc, explain_backup_in_force);
	tcase_add_test(tc, explain_last_resort);
	tcase_add_test(tc, explain_cname_to_pool);
	tcase_add_test(tc, explain_static_and_negative);
	tcase_add_test(tc, explain_bad_arguments);
	tcase_add_test(tc, explain_agrees_with_answers);
	tcase_add_test(tc, reload_calls_back);
	tcase_add_test(tc, unknown_command);
	tcase_add_test(tc, no_snapshot);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, socket_status_and_mode);
	tcase_add_test(tc, socket_mode_and_stale_file);
	tcase_add_test(tc, socket_live_not_replaced);
	tcase_add_test(tc, socket_long_line);
	tcase_add_test(tc, socket_idle_client_dropped);
	tcase_add_test(tc, socket_full_of_partial_lines);
	tcase_add_test(tc, socket_reload_waits_for_its_result);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(control_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
