/* check_conf.c -- unit tests for src/data/conf.c: loading, defaults, and error messages, and
 * each check kind's settings (the kinds' tables in src/health/probe_*.c). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <check.h>

#include "data/conf.h"
#include "dns/wire.h"
#include "health/check_kinds.h"
#include "health/probe_int.h"
#include "lb/policy.h"
#include "testutil.h"

static char errlog[16384];

/* Write @text as a config file (in a directory of its own when @subdir is
 * not NULL) and load it, capturing what is logged into errlog. */
static struct conf *load(char *path, const char *name, const char *text)
{
	struct conf *c = NULL;

	tu_write(path, name, text);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(path));
	return c;
}

/* The config must be rejected with a message "PATH:LINE: SETTING: ..."
 * containing @what. @line 0: do not check the line. */
static void expect_error(const char *text, int line, const char *setting, const char *what)
{
	char path[PATH_MAX], want[PATH_MAX + 300];
	struct conf *c = load(path, NULL, text);

	ck_assert_ptr_null(c);
	if (line > 0) {
		snprintf(want, sizeof(want), "gslbd: error: %s:%d: %s: ", path, line, setting);
	} else {
		snprintf(want, sizeof(want), "gslbd: error: %s:", path);
	}
	ck_assert_msg(strstr(errlog, want), "expected \"%s\" in the log:\n%s", want, errlog);
	if (line == 0 && setting) {
		ck_assert_msg(strstr(errlog, setting), "expected \"%s\" in the log:\n%s", setting,
			      errlog);
	}
	if (what) {
		ck_assert_msg(strstr(errlog, what), "expected \"%s\" in the log:\n%s", what,
			      errlog);
	}
}

static const char full_conf[] =
    "# a config using every setting\n"
    "listen = [ \"127.0.0.1:5353\", \"[::1]:5354\", \"192.0.2.1\" ];\n"
    "threads = 3;\n"
    "udp_size = 1400;\n"
    "tcp_idle_timeout = 20;\n"
    "tcp_max_clients = 50;\n"
    "chaos = { version = \"gslbd-test 1.2\"; id = \"node-7\"; };\n"
    "zones = (\n"
    "  { origin = \"lb.test\"; file = \"lb.test.zone\"; },\n"
    "  { origin = \"Other.Test.\"; file = \"/absolute/other.zone\"; },\n"
    "  { origin = \"third.test\"; file = \"../zones/third.zone\"; }\n"
    ");\n"
    "pools = (\n"
    "  { name = \"web\";\n"
    "    owners = [ \"www.lb.test\", \"www2.lb.test\" ];\n"
    "    policy = \"weighted\";\n"
    "    answers = 2;\n"
    "    ttl = 15;\n"
    "    members = ( { address = \"192.0.2.10\"; weight = 3; },\n"
    "                { address = \"192.0.2.11\"; },\n"
    "                { address = \"2001:db8::10\"; weight = 1000000; } );\n"
    "  },\n"
    "  { name = \"api\";\n"
    "    owners = \"api.lb.test\";\n"
    "    policy = \"round-robin\";\n"
    "    members = ( { address = \"2001:db8::1:2\"; } );\n"
    "  }\n"
    ");\n";

START_TEST(full_config)
{
	char path[PATH_MAX], want[PATH_MAX + 64];
	struct conf *c;
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	uint8_t v6[16];

	tu_mkdir("etc");
	c = load(path, "etc/full.conf", full_conf);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->path, path);

	ck_assert_uint_eq(c->nlistens, 3);
	sin = (const struct sockaddr_in *)&c->listens[0].addr;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin->sin_port), 5353);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7F000001);
	ck_assert_uint_eq(c->listens[0].addrlen, sizeof(struct sockaddr_in));
	ck_assert_str_eq(c->listens[0].text, "127.0.0.1:5353");
	sin6 = (const struct sockaddr_in6 *)&c->listens[1].addr;
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(sin6->sin6_port), 5354);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_uint_eq(c->listens[1].addrlen, sizeof(struct sockaddr_in6));
	sin = (const struct sockaddr_in *)&c->listens[2].addr;
	ck_assert_uint_eq(ntohs(sin->sin_port), 53);

	ck_assert_uint_eq(c->threads, 3);
	ck_assert_uint_eq(c->udp_size, 1400);
	ck_assert_uint_eq(c->tcp_idle_timeout, 20);
	ck_assert_uint_eq(c->tcp_max_clients, 50);
	ck_assert_str_eq(c->chaos_version, "gslbd-test 1.2");
	ck_assert_str_eq(c->chaos_id, "node-7");

	ck_assert_uint_eq(c->nzones, 3);
	ck_assert_str_eq(c->zones[0].origin, "lb.test");
	snprintf(want, sizeof(want), "%s/etc/lb.test.zone", tu_dir());
	ck_assert_str_eq(c->zones[0].file, want);
	ck_assert_int_eq(c->zones[0].line, 9);
	ck_assert_str_eq(c->zones[1].origin, "Other.Test.");
	ck_assert_str_eq(c->zones[1].file, "/absolute/other.zone");
	snprintf(want, sizeof(want), "%s/etc/../zones/third.zone", tu_dir());
	ck_assert_str_eq(c->zones[2].file, want);

	ck_assert_uint_eq(c->npools, 2);
	const struct conf_pool *p = &c->pools[0];
	ck_assert_str_eq(p->name, "web");
	ck_assert_uint_eq(p->nowners, 2);
	ck_assert_str_eq(p->owners[0], "www.lb.test");
	ck_assert_str_eq(p->owners[1], "www2.lb.test");
	ck_assert_int_eq(p->owner_lines[0], 15);
	ck_assert_ptr_eq(p->policy, policy_find("weighted"));
	ck_assert_uint_eq(p->answers, 2);
	ck_assert_uint_eq(p->ttl, 15);
	ck_assert_int_eq(p->line, 14);
	ck_assert_uint_eq(p->nmembers, 3);
	ck_assert_int_eq(p->members[0].family, AF_INET);
	ck_assert_mem_eq(p->members[0].addr, "\xc0\x00\x02\x0a", 4);
	ck_assert_uint_eq(p->members[0].weight, 3);
	ck_assert_int_eq(p->members[0].line, 19);
	ck_assert_uint_eq(p->members[1].weight, 1);
	ck_assert_mem_eq(p->members[1].addr, "\xc0\x00\x02\x0b", 4);
	ck_assert_int_eq(p->members[2].family, AF_INET6);
	inet_pton(AF_INET6, "2001:db8::10", v6);
	ck_assert_mem_eq(p->members[2].addr, v6, 16);
	ck_assert_uint_eq(p->members[2].weight, 1000000);

	p = &c->pools[1];
	ck_assert_str_eq(p->name, "api");
	ck_assert_uint_eq(p->nowners, 1); /* a single string is a list of one */
	ck_assert_str_eq(p->owners[0], "api.lb.test");
	ck_assert_ptr_eq(p->policy, policy_find("round-robin"));
	ck_assert_uint_eq(p->nmembers, 1);
	ck_assert_int_eq(p->members[0].family, AF_INET6);
	inet_pton(AF_INET6, "2001:db8::1:2", v6);
	ck_assert_mem_eq(p->members[0].addr, v6, 16);
	conf_free(c);
}
END_TEST

START_TEST(defaults)
{
	char path[PATH_MAX];
	struct conf *c =
	    load(path, NULL,
		 "listen = \"127.0.0.1\";\n"
		 "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; } );\n"
		 "pools = ( { name = \"p\"; members = ( { address = \"192.0.2.1\"; } ); } );\n");

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->nlistens, 1);
	ck_assert_uint_eq(c->threads, 0);
	ck_assert_uint_eq(c->udp_size, 1232);
	ck_assert_uint_eq(c->tcp_idle_timeout, 10);
	ck_assert_uint_eq(c->tcp_max_clients, 1024);
	ck_assert_uint_eq(c->tcp_max_per_client, 32);
	ck_assert_ptr_null(c->user);
	ck_assert_ptr_null(c->group);
	ck_assert_uint_eq(c->nfiles, 1);
	ck_assert_str_eq(c->files[0], path);
	ck_assert_ptr_null(c->chaos_version);
	ck_assert_ptr_null(c->chaos_id);
	ck_assert_uint_eq(c->npools, 1);
	ck_assert_ptr_eq(c->pools[0].policy, policy_default());
	ck_assert_str_eq(c->pools[0].policy->name, "round-robin");
	ck_assert_uint_eq(c->pools[0].answers, 0); /* every member */
	ck_assert_uint_eq(c->pools[0].ttl, 30);
	ck_assert_uint_eq(c->pools[0].nowners, 0);
	ck_assert_uint_eq(c->pools[0].members[0].weight, 1);
	ck_assert_str_eq(errlog, ""); /* nothing logged for a good config */
	conf_free(c);
}
END_TEST

/* The default of `answers` is the policy's: its parse hook sets it. */
START_TEST(policy_answers_default)
{
	char path[PATH_MAX];
	struct conf *c = load(
	    path, NULL,
	    "listen = \"127.0.0.1\";\n"
	    "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; } );\n"
	    "pools = ( { name = \"w\"; policy = \"weighted\";\n"
	    "            members = ( { address = \"192.0.2.1\"; } ); },\n"
	    "          { name = \"w3\"; policy = \"weighted\"; answers = 3;\n"
	    "            members = ( { address = \"192.0.2.1\"; } ); },\n"
	    "          { name = \"r\"; policy = \"round-robin\";\n"
	    "            members = ( { address = \"192.0.2.1\"; } ); } );\n");

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_eq(c->pools[0].policy, policy_find("weighted"));
	ck_assert_uint_eq(c->pools[0].answers, 1);
	ck_assert_uint_eq(c->pools[1].answers, 3);
	ck_assert_ptr_eq(c->pools[2].policy, policy_find("round-robin"));
	ck_assert_uint_eq(c->pools[2].answers, 0);
	conf_free(c);
}
END_TEST

START_TEST(no_pools)
{
	char path[PATH_MAX];
	struct conf *c = load(path, NULL,
			      "listen = [ \"[::]:53\" ];\n"
			      "zones = ( { origin = \"lb.test\"; file = \"z\"; } );\n");

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->npools, 0);
	conf_free(c);
	conf_free(NULL);
}
END_TEST

#define OK_HEAD "listen = [ \"127.0.0.1:5353\" ];\n"
#define OK_ZONES "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; } );\n"

/* Steering settings: a member's group, slow_start on pools and checks. */
START_TEST(steer_settings)
{
	char path[PATH_MAX];
	struct conf *c = load(path, NULL,
			      OK_HEAD OK_ZONES
			      "checks = ( { name = \"t\"; type = \"tcp\"; port = 80; slow_start = 30; },\n"
			      "           { name = \"a\"; type = \"agent\"; port = 9; send = \"hi\"; } );\n"
			      "pools = ( { name = \"p\"; check = \"t\"; slow_start = 12.5;\n"
			      "  members = ( { address = \"192.0.2.1\"; group = \"green-2.x\"; },\n"
			      "              { address = \"192.0.2.2\"; } ); },\n"
			      "  { name = \"q\"; check = \"a\"; members = ( { address = \"192.0.2.3\"; } ); } );\n");

	ck_assert_ptr_nonnull(c);
	ck_assert_double_eq(c->checks[0].slow_start, 30);
	ck_assert_double_eq(c->checks[1].slow_start, 0);
	ck_assert_double_eq(c->pools[0].slow_start, 12.5);
	ck_assert_double_eq(c->pools[1].slow_start, -1); /* not set: the checks' */
	ck_assert_str_eq(c->pools[0].members[0].group, "green-2.x");
	ck_assert_ptr_null(c->pools[0].members[1].group);
	conf_free(c);
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\";\n"
				      "  members = ( { address = \"192.0.2.1\"; group = \"a b\"; } ); } );\n",
		     4, "pools[0].members[0].group", "expected a group name of 1 to 63 letters");
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\"; slow_start = -1;\n"
				      "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     3, "pools[0].slow_start", NULL);
	expect_error(OK_HEAD OK_ZONES
		     "checks = ( { name = \"t\"; type = \"tcp\"; port = 80; slow_start = 90000; } );\n",
		     3, "checks[0].slow_start", NULL);
	expect_error(OK_HEAD OK_ZONES
		     "checks = ( { name = \"h\"; type = \"http\"; weight_header = \"X Weight\"; } );\n",
		     3, "checks[0].weight_header", "expected a header name");
	expect_error(OK_HEAD OK_ZONES "checks = ( { name = \"a\"; type = \"agent\"; } );\n"
				      "pools = ( { name = \"p\"; check = \"a\";\n"
				      "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     0, "port", NULL);
}
END_TEST

START_TEST(unknown_top_level)
{
	expect_error(OK_HEAD OK_ZONES "no_such_setting = 1;\n", 3, "no_such_setting",
		     "unknown setting");
}
END_TEST

START_TEST(unknown_pool_setting)
{
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\";\n"
				      "  colour = \"blue\";\n"
				      "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     4, "pools[0].colour", "unknown setting");
}
END_TEST

START_TEST(unknown_member_setting)
{
	expect_error(OK_HEAD OK_ZONES
		     "pools = ( { name = \"p\";\n"
		     "  members = ( { address = \"192.0.2.1\"; },\n"
		     "              { address = \"192.0.2.2\"; wieght = 2; } ); } );\n",
		     5, "pools[0].members[1].wieght", "unknown setting");
}
END_TEST

START_TEST(wrong_type)
{
	expect_error(OK_HEAD "udp_size = \"big\";\n" OK_ZONES, 2, "udp_size", "a string");
	expect_error(OK_HEAD OK_ZONES "threads = 1.5;\n", 3, "threads", NULL);
	expect_error(OK_HEAD OK_ZONES
		     "pools = ( { name = 7; members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     3, "pools[0].name", "expected a string");
	expect_error(OK_HEAD "zones = { origin = \"lb.test\"; file = \"z\"; };\n", 2, "zones",
		     "a list");
}
END_TEST

START_TEST(out_of_range)
{
	expect_error(OK_HEAD "udp_size = 511;\n" OK_ZONES, 2, "udp_size", "511");
	expect_error(OK_HEAD "udp_size = 4097;\n" OK_ZONES, 2, "udp_size", "4097");
	expect_error(OK_HEAD "tcp_idle_timeout = 0;\n" OK_ZONES, 2, "tcp_idle_timeout", NULL);
	expect_error(OK_HEAD OK_ZONES
		     "pools = ( { name = \"p\";\n"
		     "  members = ( { address = \"192.0.2.1\"; weight = 0; } ); } );\n",
		     4, "pools[0].members[0].weight", NULL);
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\"; answers = 0;\n"
				      "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     3, "pools[0].answers", NULL);
}
END_TEST

/* Names are looked up at load time; the group defaults to the user's own. */
START_TEST(user_and_group)
{
	char path[PATH_MAX];
	struct conf *c = load(path, NULL, OK_HEAD "user = \"nobody\";\ntcp_max_per_client = 5;\n" OK_ZONES);

	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->user, "nobody");
	ck_assert_uint_eq(c->uid, 65534);
	ck_assert_uint_eq(c->gid, 65534); /* nobody's primary group on Debian */
	ck_assert_ptr_nonnull(c->group);
	ck_assert_int_eq(c->user_line, 2);
	ck_assert_uint_eq(c->tcp_max_per_client, 5);
	conf_free(c);
	c = load(path, NULL, OK_HEAD "user = \"nobody\"; group = \"nogroup\";\n" OK_ZONES);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->group, "nogroup");
	conf_free(c);
}
END_TEST

START_TEST(bad_user_and_group)
{
	expect_error(OK_HEAD "user = \"no-such-user-gslbd\";\n" OK_ZONES, 2, "user",
		     "no such user \"no-such-user-gslbd\"");
	expect_error(OK_HEAD "user = \"root\";\n" OK_ZONES, 2, "user", "uid 0");
	expect_error(OK_HEAD "group = \"nogroup\";\n" OK_ZONES, 2, "group", "needs 'user'");
	expect_error(OK_HEAD "user = \"nobody\";\ngroup = \"no-such-group-gslbd\";\n" OK_ZONES, 3,
		     "group", "no such group");
	expect_error(OK_HEAD "user = \"nobody\";\ngroup = \"root\";\n" OK_ZONES, 3, "group",
		     "gid 0");
	expect_error(OK_HEAD "user = 65534;\n" OK_ZONES, 2, "user", "expected a string");
	expect_error(OK_HEAD "tcp_max_per_client = 0;\n" OK_ZONES, 2, "tcp_max_per_client",
		     NULL);
}
END_TEST

/* conf->files: the config file and its @includes, for the access audit. */
START_TEST(files_listed)
{
	char path[PATH_MAX], inc[PATH_MAX];
	struct conf *c;

	tu_write(inc, "inc-listed.conf", "tcp_max_per_client = 7;\n");
	c = load(path, NULL, OK_HEAD "@include \"inc-listed.conf\"\n" OK_ZONES);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->nfiles, 2);
	ck_assert_str_eq(c->files[0], path);
	ck_assert_str_eq(c->files[1], inc);
	ck_assert_uint_eq(c->tcp_max_per_client, 7);
	conf_free(c);
}
END_TEST

START_TEST(bad_address)
{
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\";\n"
				      "  members = (\n"
				      "    { address = \"192.0.2.1\"; },\n"
				      "    { address = \"192.0.2.300\"; } ); } );\n",
		     6, "pools[0].members[1].address", "\"192.0.2.300\"");
}
END_TEST

START_TEST(missing_address)
{
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\";\n"
				      "  members = ( { weight = 2; } ); } );\n",
		     4, "pools[0].members[0]", "address");
}
END_TEST

START_TEST(bad_policy)
{
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\";\n"
				      "  policy = \"random\";\n"
				      "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     4, "pools[0].policy", "\"random\"");
	/* The message lists every registered policy, whichever they are. */
	for (const struct policy_ops *const *o = policy_list; *o; o++) {
		char want[128];
		snprintf(want, sizeof(want), "\"%s\"", (*o)->name);
		ck_assert_msg(strstr(errlog, want), "expected %s in the log:\n%s", want, errlog);
	}
	ck_assert_ptr_nonnull(strstr(errlog, "expected \"round-robin\", \"weighted\" or \"geo\", got"));
	/* Names are matched exactly. */
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\"; policy = \"Weighted\";\n"
				      "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     3, "pools[0].policy", "\"Weighted\"");
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\"; policy = 1;\n"
				      "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     3, "pools[0].policy", "a string");
}
END_TEST

START_TEST(empty_members)
{
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\";\n"
				      "  members = ( ); } );\n",
		     4, "pools[0].members", "at least one");
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\"; } );\n", 3, "pools[0]", "members");
}
END_TEST

/* A CHAOS text is one TXT character-string: 255 bytes at most. Longer was
 * once accepted and cut without a word at about 1.8 KB. */
START_TEST(chaos_text_too_long)
{
	char path[PATH_MAX];
	size_t big = 70000;
	char *text = malloc(big + 200), *v = malloc(big + 1);
	struct conf *c;

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(v);
	memset(v, 'v', 255);
	v[255] = 0;
	snprintf(text, big + 200, OK_HEAD OK_ZONES "chaos = { version = \"%s\";\n  id = \"%s\"; };\n",
		 v, v);
	c = load(path, NULL, text);
	ck_assert_msg(c != NULL, "255 bytes rejected:\n%s", errlog);
	ck_assert_uint_eq(strlen(c->chaos_version), 255);
	ck_assert_uint_eq(strlen(c->chaos_id), 255);
	conf_free(c);

	memset(v, 'v', 256);
	v[256] = 0;
	snprintf(text, big + 200, OK_HEAD OK_ZONES "chaos = {\n  id = \"%s\"; };\n", v);
	expect_error(text, 4, "chaos.id", "256 bytes long; at most 255");
	memset(v, 'v', big);
	v[big] = 0;
	snprintf(text, big + 200, OK_HEAD OK_ZONES "chaos = { version = \"%s\"; };\n", v);
	/* Longer than any token may be: refused before libconfig reads it. */
	expect_error(text, 0, "string", "of more than 65536 bytes");
	free(text);
	free(v);
}
END_TEST

START_TEST(duplicate_pool_name)
{
	expect_error(OK_HEAD OK_ZONES
		     "pools = ( { name = \"p\"; members = ( { address = \"192.0.2.1\"; } ); },\n"
		     "          { name = \"p\"; members = ( { address = \"192.0.2.2\"; } ); } );\n",
		     4, "pools[1].name", "already declared at line 3");
}
END_TEST

START_TEST(duplicate_member)
{
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\"; members = (\n"
				      "  { address = \"2001:db8::1\"; },\n"
				      "  { address = \"2001:DB8:0::1\"; } ); } );\n",
		     5, "pools[0].members[1]", "duplicate");
}
END_TEST

START_TEST(duplicate_zone)
{
	expect_error(OK_HEAD "zones = (\n"
			     "  { origin = \"lb.test\"; file = \"a.zone\"; },\n"
			     "  { origin = \"LB.test.\"; file = \"b.zone\"; } );\n",
		     4, "zones[1].origin", "already declared at line 3");
}
END_TEST

START_TEST(bad_zone_origin)
{
	expect_error(OK_HEAD "zones = ( { origin = \"a..b\"; file = \"a.zone\"; } );\n", 2,
		     "zones[0].origin", "a..b");
	expect_error(OK_HEAD "zones = ( { origin = \"lb.test\"; } );\n", 2, "zones[0]", "file");
	expect_error(OK_HEAD "zones = ( );\n", 2, "zones", "at least one");
}
END_TEST

START_TEST(bad_owner)
{
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\";\n"
				      "  owners = [ \"ok.lb.test\",\n"
				      "             \"bad..lb.test\" ];\n"
				      "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     5, "pools[0].owners[1]", "bad..lb.test");
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\"; owners = 5;\n"
				      "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     3, "pools[0].owners", "list of strings");
}
END_TEST

START_TEST(bad_listen)
{
	expect_error("listen = [ \"127.0.0.1:53\",\n"
		     "  \"example.test:53\" ];\n" OK_ZONES,
		     2, "listen[1]", "example.test:53");
	expect_error("listen = \"1.2.3.4:99999\";\n" OK_ZONES, 1, "listen", "99999");
}
END_TEST

START_TEST(missing_required)
{
	expect_error(OK_ZONES, 0, "listen", "missing required setting");
	expect_error(OK_HEAD, 0, "zones", "missing required setting");
}
END_TEST

START_TEST(syntax_error)
{
	char path[PATH_MAX], want[PATH_MAX + 64];
	struct conf *c = load(path, NULL,
			      OK_HEAD OK_ZONES "threads = 2;\n"
					       "udp_size = = 1232;\n");

	ck_assert_ptr_null(c);
	snprintf(want, sizeof(want), "%s:4: syntax error", path);
	ck_assert_msg(strstr(errlog, want), "expected \"%s\" in:\n%s", want, errlog);
}
END_TEST

START_TEST(missing_file)
{
	char path[PATH_MAX + 32];
	struct conf *c;

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tu_dir());
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(path));
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(errlog, path));
}
END_TEST

/* Every error is reported, not just the first. */
START_TEST(all_errors_reported)
{
	expect_error(OK_HEAD OK_ZONES "pools = ( { name = \"p\"; policy = \"x\";\n"
				      "  members = ( { address = \"nope\"; } ); } );\n",
		     4, "pools[0].members[0].address", NULL);
	ck_assert_ptr_nonnull(strstr(errlog, ":3: pools[0].policy: "));
}
END_TEST

/* --- check kinds -------------------------------------------------------------- */

/* Per kind: every setting of its own with a valid value, and one setting
 * that only other kinds take. */
struct kind_case {
	const char *kind;
	const char *own;
	const char *foreign; /* the setting's name; the value is in foreign_text */
	const char *foreign_text;
};

static const struct kind_case kind_cases[] = {
    {"tcp", "port = 8080;", "expect_body", "expect_body = \"ok\";"},
    {"http",
     "port = 8080; path = \"/health\"; host = \"www.lb.test\"; method = \"HEAD\";"
     " expect_status = ( 204, \"3xx\" ); expect_body = \"ok\"; tls_verify = false;"
     " weight_header = \"X-Weight\"; weight_json = \"weight\";",
     "command", "command = [ \"/bin/true\" ];"},
    {"https",
     "port = 8443; path = \"/\"; host = \"www.lb.test\"; method = \"GET\";"
     " expect_status = 200; expect_body = \"ok\"; tls_verify = true;"
     " weight_header = \"X-Weight\"; weight_json = \"weight\";",
     "query", "query = \"www.lb.test\";"},
    {"dns",
     "port = 5353; query = \"www.lb.test\"; qtype = \"AAAA\"; expect_rcode = \"NXDOMAIN\";"
     " expect_answer = \"2001:db8::1\";",
     "method", "method = \"GET\";"},
    {"exec", "port = 9; command = [ \"/bin/true\", \"-x\" ];", "expect_answer",
     "expect_answer = \"192.0.2.1\";"},
    {"file", "port = 80; path = \"states\";", "tls_verify", "tls_verify = true;"},
    {"agent", "port = 9; send = \"load\\n\";", "path", "path = \"/\";"},
    {"none", "", "port", "port = 80;"},
};

#define NKIND_CASES (sizeof(kind_cases) / sizeof(kind_cases[0]))

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) {
		n++;
	}
	return n;
}

static bool kind_takes(const struct check_kind *kind, const char *name)
{
	for (const struct check_setting *t = kind->settings; t->name; t++) {
		if (strcmp(t->name, name) == 0) {
			return true;
		}
	}
	return false;
}

/* A new kind needs its case above, naming each of its settings, and a
 * foreign setting that some other kind takes. */
START_TEST(every_kind_has_a_case)
{
	for (size_t i = 0; check_kinds[i]; i++) {
		const struct check_kind *kind = check_kinds[i];
		const struct kind_case *kc = NULL;
		bool elsewhere = false;
		for (size_t j = 0; j < NKIND_CASES; j++) {
			if (strcmp(kind_cases[j].kind, kind->name) == 0) {
				kc = &kind_cases[j];
			}
		}
		ck_assert_msg(kc, "no case for check kind \"%s\"", kind->name);
		for (const struct check_setting *t = kind->settings; t->name; t++) {
			char want[64];
			snprintf(want, sizeof(want), "%s = ", t->name);
			ck_assert_msg(strstr(kc->own, want), "the %s case lacks its setting %s",
				      kc->kind, t->name);
		}
		ck_assert(!kind_takes(kind, kc->foreign));
		for (size_t j = 0; check_kinds[j]; j++) {
			elsewhere = elsewhere || kind_takes(check_kinds[j], kc->foreign);
		}
		ck_assert_msg(elsewhere, "%s: no kind takes %s", kc->kind, kc->foreign);
		ck_assert_ptr_eq(check_kinds_find(kind->name), kind);
	}
	ck_assert_ptr_null(check_kinds_find("gopher"));
}
END_TEST

/* Each kind takes every setting of its own (loop over kind_cases). */
START_TEST(check_kind_own_settings)
{
	const struct kind_case *kc = &kind_cases[_i];
	char path[PATH_MAX], text[1024];
	struct conf *c;

	snprintf(text, sizeof(text),
		 OK_HEAD OK_ZONES "checks = ( { name = \"k\"; type = \"%s\";\n  %s } );\n",
		 kc->kind, kc->own);
	c = load(path, NULL, text);
	ck_assert_msg(c != NULL, "%s: rejected:\n%s", kc->kind, errlog);
	ck_assert_str_eq(errlog, "");
	ck_assert_uint_eq(c->nchecks, 1);
	ck_assert_ptr_eq(c->checks[0].kind, check_kinds_find(kc->kind));
	conf_free(c);
}
END_TEST

/* For each kind, a setting that only other kinds take is an error naming the
 * setting, the kind and what it accepts; its own settings beside it are not. */
START_TEST(check_kind_foreign_setting)
{
	const struct kind_case *kc = &kind_cases[_i];
	char text[1024], setting[64], what[128];

	snprintf(text, sizeof(text),
		 OK_HEAD OK_ZONES "checks = ( { name = \"k\"; type = \"%s\"; %s\n"
				  "  %s } );\n",
		 kc->kind, kc->own, kc->foreign_text);
	snprintf(setting, sizeof(setting), "checks[0].%s", kc->foreign);
	snprintf(what, sizeof(what),
		 "setting \"%s\" does not apply to check type \"%s\" (%s accepts: ", kc->foreign,
		 kc->kind, kc->kind);
	expect_error(text, 4, setting, what);
	ck_assert_msg(count(errlog, "error:") == 1, "one error expected:\n%s", errlog);
}
END_TEST

START_TEST(check_kind_settings_parsed)
{
	char path[PATH_MAX], want[PATH_MAX + 16];
	struct conf *c =
	    load(path, "kinds.conf",
		 OK_HEAD OK_ZONES
		 "checks = (\n"
		 "  { name = \"h\"; type = \"http\"; path = \"/health\"; host = \"a.test\";\n"
		 "    method = \"HEAD\"; expect_status = ( 204, \"3xx\" );\n"
		 "    expect_body = \"ok\"; tls_verify = false; },\n"
		 "  { name = \"hs\"; type = \"https\"; },\n"
		 "  { name = \"d\"; type = \"dns\"; query = \"www.lb.test\"; qtype = \"aaaa\";\n"
		 "    expect_rcode = \"NXDOMAIN\"; expect_answer = \"2001:db8::1\"; },\n"
		 "  { name = \"e\"; type = \"exec\"; command = \"/bin/true\"; },\n"
		 "  { name = \"f\"; type = \"file\"; path = \"states\"; },\n"
		 "  { name = \"t\"; type = \"tcp\"; port = 81; },\n"
		 "  { name = \"n\"; type = \"none\"; }\n"
		 ");\n");
	const struct probe_http_opts *h, *hs;
	const struct probe_dns_opts *d;
	const struct probe_exec_opts *e;
	const struct probe_file_opts *f;

	ck_assert_msg(c != NULL, "rejected:\n%s", errlog);
	ck_assert_uint_eq(c->nchecks, 7);
	h = conf_find_check(c, "h")->opts;
	ck_assert_uint_eq(conf_find_check(c, "h")->port, 80);
	ck_assert_str_eq(h->path, "/health");
	ck_assert_str_eq(h->host, "a.test");
	ck_assert(h->head);
	ck_assert(!h->tls_verify);
	ck_assert_str_eq(h->expect_body, "ok");
	ck_assert((h->status_ok[(204 - 100) / 32] >> ((204 - 100) % 32)) & 1);
	ck_assert(!((h->status_ok[(200 - 100) / 32] >> ((200 - 100) % 32)) & 1));
	ck_assert((h->status_ok[(399 - 100) / 32] >> ((399 - 100) % 32)) & 1);
	/* Defaults: GET of "/", 2xx and 3xx, verified. */
	hs = conf_find_check(c, "hs")->opts;
	ck_assert_uint_eq(conf_find_check(c, "hs")->port, 443);
	ck_assert_str_eq(hs->path, "/");
	ck_assert(!hs->head);
	ck_assert(hs->tls_verify);
	ck_assert((hs->status_ok[(200 - 100) / 32] >> ((200 - 100) % 32)) & 1);
	ck_assert(!((hs->status_ok[(404 - 100) / 32] >> ((404 - 100) % 32)) & 1));
	d = conf_find_check(c, "d")->opts;
	ck_assert_uint_eq(conf_find_check(c, "d")->port, 53);
	ck_assert_mem_eq(d->qname, "\003www\002lb\004test", 13);
	ck_assert_uint_eq(d->qtype, DNS_TYPE_AAAA);
	ck_assert_int_eq(d->expect_rcode, DNS_RCODE_NXDOMAIN);
	ck_assert_str_eq(d->expect_answer, "2001:db8::1");
	e = conf_find_check(c, "e")->opts;
	ck_assert_uint_eq(conf_find_check(c, "e")->port, 0);
	ck_assert_str_eq(e->argv[0], "/bin/true");
	ck_assert_ptr_null(e->argv[1]);
	f = conf_find_check(c, "f")->opts;
	snprintf(want, sizeof(want), "%s/states", tu_dir());
	ck_assert_str_eq(f->path, want);
	ck_assert_uint_eq(conf_find_check(c, "t")->port, 81);
	ck_assert_ptr_null(conf_find_check(c, "t")->opts);
	ck_assert_ptr_null(conf_find_check(c, "n")->opts);
	conf_free(c);
}
END_TEST

START_TEST(check_kind_required_settings)
{
	expect_error(OK_HEAD OK_ZONES "checks = ( { name = \"d\"; type = \"dns\"; } );\n", 3,
		     "checks[0]", "a dns check needs 'query'");
	expect_error(OK_HEAD OK_ZONES "checks = ( { name = \"e\"; type = \"exec\"; } );\n", 3,
		     "checks[0]", "an exec check needs 'command'");
	expect_error(OK_HEAD OK_ZONES "checks = ( { name = \"f\"; type = \"file\"; } );\n", 3,
		     "checks[0]", "a file check needs 'path'");
	expect_error(OK_HEAD OK_ZONES "checks = ( { name = \"t\"; type = \"tcp\"; } );\n"
				      "pools = ( { name = \"p\"; check = \"t\";\n"
				      "  members = ( { address = \"192.0.2.1\"; } ); } );\n",
		     5, "pools[0].members[0].port", "check \"t\" is tcp without a port");
	expect_error(OK_HEAD OK_ZONES "checks = ( { name = \"k\"; } );\n", 3, "checks[0]",
		     "missing required setting 'type' (tcp, http, https, dns, exec, file, agent, none)");
}
END_TEST

/* A bad type is the error; settings some kind takes are then not reported,
 * unknown ones still are. */
START_TEST(check_kind_bad_type)
{
	expect_error(OK_HEAD OK_ZONES "checks = ( { name = \"k\"; type = \"gopher\";\n"
				      "  query = \"www.lb.test\"; colour = 1; } );\n",
		     3, "checks[0].type",
		     "expected tcp, http, https, dns, exec, file, agent or none, got \"gopher\"");
	ck_assert_ptr_nonnull(strstr(errlog, ":4: checks[0].colour: unknown setting"));
	ck_assert_ptr_null(strstr(errlog, "checks[0].query"));
	/* With a type, an unknown setting lists what the kind accepts. */
	expect_error(
	    OK_HEAD OK_ZONES "checks = ( { name = \"k\"; type = \"tcp\"; colour = 1; } );\n", 3,
	    "checks[0].colour",
	    "unknown setting (expected one of: port, name, type, interval, timeout, rise, fall, "
	    "initial, slow_start)");
}
END_TEST

#define MEMBER_CHECKS                                                                              \
	"checks = ( { name = \"t\"; type = \"tcp\"; port = 80; },\n"                               \
	"           { name = \"h\"; type = \"http\"; },\n"                                         \
	"           { name = \"n\"; type = \"none\"; } );\n"

/* url and host are for members of http(s) checks: with a tcp check they are
 * errors naming the member setting and the kind. */
START_TEST(member_url_host_need_http)
{
	expect_error(
	    OK_HEAD OK_ZONES MEMBER_CHECKS
	    "pools = ( { name = \"p\"; check = \"t\"; members = (\n"
	    "  { address = \"192.0.2.1\"; url = \"http://a.test/\"; host = \"a.test\"; } ); } );\n",
	    7, "pools[0].members[0].url",
	    "setting \"url\" does not apply to check type \"tcp\" (check \"t\"; tcp members "
	    "accept: port, probe_address, address, weight, check, group)");
	ck_assert_ptr_nonnull(strstr(errlog, ":7: pools[0].members[0].host: setting \"host\" does "
					     "not apply to check type \"tcp\""));
	/* The member's own check is the one that counts, both ways. */
	expect_error(OK_HEAD OK_ZONES MEMBER_CHECKS
		     "pools = ( { name = \"p\"; check = \"h\"; members = (\n"
		     "  { address = \"192.0.2.1\"; url = \"http://a.test/\"; },\n"
		     "  { address = \"192.0.2.2\"; check = \"t\"; host = \"a.test\"; } ); } );\n",
		     8, "pools[0].members[1].host", "does not apply to check type \"tcp\"");
	ck_assert_uint_eq(count(errlog, "error:"), 1);
}
END_TEST

START_TEST(member_probe_settings_need_a_check)
{
	expect_error(OK_HEAD OK_ZONES MEMBER_CHECKS
		     "pools = ( { name = \"p\"; members = (\n"
		     "  { address = \"192.0.2.1\"; port = 8080; } ); } );\n",
		     7, "pools[0].members[0].port",
		     "setting \"port\" does not apply to a member without a check");
	expect_error(OK_HEAD OK_ZONES MEMBER_CHECKS
		     "pools = ( { name = \"p\"; check = \"n\"; members = (\n"
		     "  { address = \"192.0.2.1\"; probe_address = \"127.0.0.1\"; } ); } );\n",
		     7, "pools[0].members[0].probe_address",
		     "setting \"probe_address\" does not apply to check type \"none\"");
}
END_TEST

/* What each kind's members may override is accepted. */
START_TEST(member_probe_settings_accepted)
{
	char path[PATH_MAX];
	struct conf *c =
	    load(path, NULL,
		 OK_HEAD OK_ZONES MEMBER_CHECKS
		 "pools = ( { name = \"p\"; check = \"h\"; members = (\n"
		 "  { address = \"192.0.2.1\"; url = \"https://a.test/x\"; host = \"a.test\";\n"
		 "    port = 8080; probe_address = \"127.0.0.1\"; },\n"
		 "  { address = \"192.0.2.2\"; check = \"t\"; port = 81;\n"
		 "    probe_address = \"::1\"; },\n"
		 "  { address = \"192.0.2.3\"; check = \"n\"; } ); } );\n");

	ck_assert_msg(c != NULL, "rejected:\n%s", errlog);
	ck_assert_str_eq(c->pools[0].members[0].url, "https://a.test/x");
	ck_assert_uint_eq(c->pools[0].members[1].port, 81);
	conf_free(c);
}
END_TEST

/* --- conf_parse_listen ----------------------------------------------------- */

static int port_of(const struct conf_listen *l)
{
	if (l->addr.ss_family == AF_INET) {
		return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
	}
	return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
}

START_TEST(listen_forms)
{
	struct conf_listen l;
	char buf[64];

	ck_assert_int_eq(conf_parse_listen(&l, "127.0.0.1:53"), 0);
	ck_assert_int_eq(l.addr.ss_family, AF_INET);
	ck_assert_int_eq(port_of(&l), 53);
	ck_assert_str_eq(l.text, "127.0.0.1:53");
	free(l.text);

	ck_assert_int_eq(conf_parse_listen(&l, "[::1]:5353"), 0);
	ck_assert_int_eq(l.addr.ss_family, AF_INET6);
	ck_assert_int_eq(port_of(&l), 5353);
	ck_assert_uint_eq(l.addrlen, sizeof(struct sockaddr_in6));
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&l.addr)->sin6_addr, buf, sizeof(buf));
	ck_assert_str_eq(buf, "::1");
	free(l.text);

	ck_assert_int_eq(conf_parse_listen(&l, "::1"), 0);
	ck_assert_int_eq(l.addr.ss_family, AF_INET6);
	ck_assert_int_eq(port_of(&l), 53);
	free(l.text);

	ck_assert_int_eq(conf_parse_listen(&l, "2001:db8::53"), 0);
	ck_assert_int_eq(l.addr.ss_family, AF_INET6);
	ck_assert_int_eq(port_of(&l), 53);
	free(l.text);

	ck_assert_int_eq(conf_parse_listen(&l, "1.2.3.4"), 0);
	ck_assert_int_eq(l.addr.ss_family, AF_INET);
	ck_assert_int_eq(port_of(&l), 53);
	ck_assert_uint_eq(ntohl(((struct sockaddr_in *)&l.addr)->sin_addr.s_addr), 0x01020304);
	free(l.text);

	ck_assert_int_eq(conf_parse_listen(&l, "[::]:0"), 0);
	ck_assert_int_eq(port_of(&l), 0);
	free(l.text);

	ck_assert_int_eq(conf_parse_listen(&l, "0.0.0.0:65535"), 0);
	ck_assert_int_eq(port_of(&l), 65535);
	free(l.text);
}
END_TEST

START_TEST(listen_bad)
{
	static const char *const bad[] = {
	    "1.2.3.4:99999", "[::1",   "host:53",    "1.2.3.4:",      "1.2.3.4:x",
	    "1.2.3.4:-1",    "[::1]x", "[::1]:",     "[1.2.3.4]:53x", "",
	    "1.2.3",	     "[]:53",  "::1:99999x",
	};
	struct conf_listen l;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(conf_parse_listen(&l, bad[i]) != 0, "\"%s\" was accepted", bad[i]);
	}
}
END_TEST

/* --- EDNS options: cookies and NSID -------------------------------------------- */

#define SECRET1 "e5e973e5a6b2a43f48e7dc849e37bfcf"
#define SECRET2 "445536BCD2513298075A5D379663C962"

START_TEST(cookie_and_nsid_settings)
{
	char path[PATH_MAX];
	struct conf *c = load(path, NULL,
			      OK_HEAD OK_ZONES "cookie_secret = \"" SECRET1 "\";\n"
					       "cookie_secret_previous = \"" SECRET2 "\";\n"
					       "cookie_require = true;\n"
					       "nsid = \"ns1.example\";\n");

	ck_assert_ptr_nonnull(c);
	ck_assert(c->cookie_secret_set);
	ck_assert_mem_eq(c->cookie_secret,
			 "\xe5\xe9\x73\xe5\xa6\xb2\xa4\x3f\x48\xe7\xdc\x84\x9e\x37\xbf\xcf", 16);
	ck_assert(c->cookie_previous_set);
	ck_assert_mem_eq(c->cookie_secret_previous,
			 "\x44\x55\x36\xbc\xd2\x51\x32\x98\x07\x5a\x5d\x37\x96\x63\xc9\x62", 16);
	ck_assert(c->cookie_require);
	ck_assert_uint_eq(c->nsid_len, 11);
	ck_assert_mem_eq(c->nsid, "ns1.example", 11);
	conf_free(c);

	c = load(path, NULL, OK_HEAD OK_ZONES "nsid = \"0x0a0B00ff\";\n");
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->nsid_len, 4);
	ck_assert_mem_eq(c->nsid, "\x0a\x0b\x00\xff", 4);
	ck_assert(!c->cookie_secret_set);
	ck_assert(!c->cookie_previous_set);
	ck_assert(!c->cookie_require);
	conf_free(c);
}
END_TEST

/* Without cookie_secret a secret is drawn; a reload keeps the drawn one
 * (clients keep their cookies) but never overrides a configured one. */
START_TEST(cookie_secret_drawn_and_kept)
{
	static const uint8_t zero[CONF_COOKIE_SECRET_LEN];
	char path[PATH_MAX];
	struct conf *a = load(path, NULL, OK_HEAD OK_ZONES);
	struct conf *b = load(path, NULL, OK_HEAD OK_ZONES);
	struct conf *set = load(path, NULL, OK_HEAD OK_ZONES "cookie_secret = \"" SECRET1 "\";\n");
	struct conf *set2 = load(path, NULL, OK_HEAD OK_ZONES "cookie_secret = \"" SECRET2 "\";\n");
	uint8_t configured[CONF_COOKIE_SECRET_LEN];

	ck_assert(a && b && set && set2);
	ck_assert(memcmp(a->cookie_secret, zero, sizeof(zero)) != 0);
	ck_assert(memcmp(a->cookie_secret, b->cookie_secret, sizeof(zero)) != 0);
	ck_assert_ptr_null(a->nsid);
	ck_assert_uint_eq(a->nsid_len, 0);
	conf_inherit(b, a); /* random, then random: the same */
	ck_assert_mem_eq(a->cookie_secret, b->cookie_secret, sizeof(zero));
	memcpy(configured, set->cookie_secret, sizeof(configured));
	conf_inherit(set, a); /* random, then configured: the configured one */
	ck_assert_mem_eq(set->cookie_secret, configured, sizeof(zero));
	memcpy(configured, b->cookie_secret, sizeof(configured));
	conf_inherit(b, set); /* configured, then not: a drawn one, not the old secret */
	ck_assert(memcmp(b->cookie_secret, set->cookie_secret, sizeof(zero)) != 0);
	ck_assert_mem_eq(b->cookie_secret, configured, sizeof(zero));
	conf_inherit(set2, set); /* configured, then another: the new one */
	ck_assert_mem_eq(set2->cookie_secret, "\x44\x55\x36\xbc", 4);
	conf_free(a);
	conf_free(b);
	conf_free(set);
	conf_free(set2);
}
END_TEST

START_TEST(bad_cookie_and_nsid)
{
	expect_error(OK_HEAD OK_ZONES "cookie_secret = \"e5e973e5a6b2a43f\";\n", 3, "cookie_secret",
		     "expected 32 hex digits");
	ck_assert_ptr_null(strstr(errlog, "e5e973")); /* a secret is not logged */
	expect_error(OK_HEAD OK_ZONES "cookie_secret = \"e5e973e5a6b2a43f48e7dc849e37bfcg\";\n", 3,
		     "cookie_secret", "not hex digits");
	ck_assert_ptr_null(strstr(errlog, "e5e973"));
	expect_error(OK_HEAD OK_ZONES "cookie_secret = 5;\n", 3, "cookie_secret",
		     "expected a string");
	expect_error(OK_HEAD OK_ZONES "cookie_secret_previous = \"\";\n", 3,
		     "cookie_secret_previous", "got 0 characters");
	expect_error(OK_HEAD OK_ZONES "cookie_require = \"yes\";\n", 3, "cookie_require",
		     "true or false");
	expect_error(OK_HEAD OK_ZONES "nsid = \"\";\n", 3, "nsid", "1 to 128 octets");
	expect_error(OK_HEAD OK_ZONES "nsid = \"0x\";\n", 3, "nsid", "hex digits");
	expect_error(OK_HEAD OK_ZONES "nsid = \"0xabc\";\n", 3, "nsid", "even number");
	expect_error(OK_HEAD OK_ZONES "nsid = \"0xzz\";\n", 3, "nsid", "hex digits");
	expect_error(OK_HEAD OK_ZONES "nsid = [ \"a\" ];\n", 3, "nsid", "expected a string");
	{
		char text[1024], big[300];
		memset(big, 'n', 129);
		big[129] = 0;
		snprintf(text, sizeof(text), OK_HEAD OK_ZONES "nsid = \"%s\";\n", big);
		expect_error(text, 3, "nsid", "got 129");
		memset(big, 'a', 258);
		big[258] = 0;
		snprintf(text, sizeof(text), OK_HEAD OK_ZONES "nsid = \"0x%s\";\n", big);
		expect_error(text, 3, "nsid", "1 to 128 octets");
	}
}
END_TEST

/* --- rate_limit ----------------------------------------------------------------- */

#define RL_HEAD OK_HEAD OK_ZONES

START_TEST(rate_limit_every_setting)
{
	char path[PATH_MAX];
	struct conf *c = load(path, NULL,
			      RL_HEAD "rate_limit = { responses_per_second = 30; errors_per_second = 4;\n"
				      "  slip = 3; ipv4_prefix = 28; ipv6_prefix = 64; log_only = true;\n"
				      "  table_size = 1000;\n"
				      "  exempt = [ \"192.0.2.0/24\", \"2001:db8::/32\", \"198.51.100.7\" ]; };\n");
	const struct conf_rate_limit *rl;

	ck_assert_ptr_nonnull(c);
	rl = c->rate_limit;
	ck_assert_ptr_nonnull(rl);
	ck_assert_int_eq(rl->line, 3);
	ck_assert_uint_eq(rl->responses_per_second, 30);
	ck_assert_uint_eq(rl->errors_per_second, 4);
	ck_assert_uint_eq(rl->slip, 3);
	ck_assert_uint_eq(rl->ipv4_prefix, 28);
	ck_assert_uint_eq(rl->ipv6_prefix, 64);
	ck_assert(rl->log_only);
	ck_assert_uint_eq(rl->table_size, 1024); /* rounded up to a power of two */
	ck_assert_uint_eq(rl->nexempt, 3);
	ck_assert_int_eq(rl->exempt[0].family, AF_INET);
	ck_assert_uint_eq(rl->exempt[0].bits, 24);
	ck_assert_uint_eq(rl->exempt[0].addr[2], 2);
	ck_assert_int_eq(rl->exempt[1].family, AF_INET6);
	ck_assert_uint_eq(rl->exempt[1].bits, 32);
	ck_assert_uint_eq(rl->exempt[2].bits, 32); /* an address is a network of one */
	ck_assert_str_eq(errlog, "");
	conf_free(c);
}
END_TEST

/* Off without the group; with it, BIND's defaults for what is left out. */
START_TEST(rate_limit_defaults)
{
	char path[PATH_MAX];
	struct conf *c = load(path, NULL, RL_HEAD);
	const struct conf_rate_limit *rl;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(c->rate_limit);
	conf_free(c);
	c = load(path, NULL, RL_HEAD "rate_limit = { responses_per_second = 15; };\n");
	ck_assert_ptr_nonnull(c);
	rl = c->rate_limit;
	ck_assert_ptr_nonnull(rl);
	ck_assert_uint_eq(rl->responses_per_second, 15);
	ck_assert_uint_eq(rl->errors_per_second, 15); /* as responses */
	ck_assert_uint_eq(rl->slip, 2);
	ck_assert_uint_eq(rl->ipv4_prefix, 24);
	ck_assert_uint_eq(rl->ipv6_prefix, 56);
	ck_assert(!rl->log_only);
	ck_assert_uint_eq(rl->nexempt, 0);
	ck_assert_uint_eq(rl->table_size, 524288);
	conf_free(c);
}
END_TEST

START_TEST(rate_limit_errors)
{
	expect_error(RL_HEAD "rate_limit = true;\n", 3, "rate_limit", "expected a group");
	expect_error(RL_HEAD "rate_limit = { slip = 1; };\n", 3, "rate_limit",
		     "missing required setting 'responses_per_second'");
	expect_error(RL_HEAD "rate_limit = {\n responses_per_second = -1; };\n", 4,
		     "rate_limit.responses_per_second", "from 0 to 1000000");
	expect_error(RL_HEAD "rate_limit = {\n responses_per_second = \"20\"; };\n", 4,
		     "rate_limit.responses_per_second", "a string");
	expect_error(RL_HEAD "rate_limit = { responses_per_second = 20;\n errors_per_second = 1000001; };\n",
		     4, "rate_limit.errors_per_second", "1000001");
	expect_error(RL_HEAD "rate_limit = { responses_per_second = 20;\n slip = 11; };\n", 4,
		     "rate_limit.slip", "from 0 to 10");
	expect_error(RL_HEAD "rate_limit = { responses_per_second = 20;\n ipv4_prefix = 33; };\n",
		     4, "rate_limit.ipv4_prefix", "from 8 to 32");
	expect_error(RL_HEAD "rate_limit = { responses_per_second = 20;\n ipv6_prefix = 8; };\n", 4,
		     "rate_limit.ipv6_prefix", "from 16 to 128");
	expect_error(RL_HEAD "rate_limit = { responses_per_second = 20;\n log_only = 1; };\n", 4,
		     "rate_limit.log_only", "true or false");
	expect_error(RL_HEAD "rate_limit = { responses_per_second = 20;\n table_size = 4; };\n", 4,
		     "rate_limit.table_size", "from 8 to");
	expect_error(RL_HEAD "rate_limit = { responses_per_second = 20;\n colour = 1; };\n", 4,
		     "rate_limit.colour", "unknown setting");
	expect_error(RL_HEAD "rate_limit = { responses_per_second = 20;\n"
			     " exempt = [ \"192.0.2.0/24\",\n \"192.0.2.300/24\" ]; };\n",
		     5, "rate_limit.exempt[1]", "192.0.2.300/24");
	expect_error(RL_HEAD "rate_limit = { responses_per_second = 20;\n"
			     " exempt = [ \"192.0.2.1/24\" ]; };\n",
		     4, "rate_limit.exempt[0]", "bits are set past the prefix");
	expect_error(RL_HEAD "rate_limit = { responses_per_second = 20;\n exempt = 5; };\n", 4,
		     "rate_limit.exempt", "list of strings");
}
END_TEST

START_TEST(net_forms)
{
	static const char *const bad[] = { "", "/24", "192.0.2.0/", "192.0.2.0/33", "192.0.2.0/-1",
					   "192.0.2.0/2x", "2001:db8::/129", "example.com/24",
					   "192.0.2.0 /24" };
	struct conf_net n;

	ck_assert_int_eq(conf_parse_net(&n, "10.0.0.0/8"), 0);
	ck_assert_int_eq(n.family, AF_INET);
	ck_assert_uint_eq(n.bits, 8);
	ck_assert_int_eq(conf_parse_net(&n, "0.0.0.0/0"), 0);
	ck_assert_uint_eq(n.bits, 0);
	ck_assert_int_eq(conf_parse_net(&n, "2001:db8:1::/48"), 0);
	ck_assert_int_eq(n.family, AF_INET6);
	ck_assert_uint_eq(n.bits, 48);
	ck_assert_int_eq(conf_parse_net(&n, "::1"), 0);
	ck_assert_uint_eq(n.bits, 128);
	ck_assert_int_eq(conf_parse_net(&n, "192.0.2.128/25"), 0);
	ck_assert_int_eq(conf_parse_net(&n, "192.0.2.128/24"), -2);
	ck_assert_int_eq(conf_parse_net(&n, "2001:db8::1/64"), -2);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(conf_parse_net(&n, bad[i]) == -1, "\"%s\" was accepted", bad[i]);
	}
}
END_TEST

/* --- scale: names hashed, every file and token bounded ------------------ */

/* A config of @n pools: each names check c<i % 16> (one hash probe per
 * member, in cross_check and in the snapshot builder) and backs up to the
 * next pool, so the backup chain is @n long. Freed by the caller. */
static char *many_pools(size_t n)
{
	size_t size = 4096 + n * 160, len = 0;
	char *t = malloc(size);

	ck_assert_ptr_nonnull(t);
	len += (size_t)snprintf(t + len, size - len, OK_HEAD OK_ZONES "checks = (\n");
	for (size_t k = 0; k < 16; k++) {
		len +=
		    (size_t)snprintf(t + len, size - len, "%s{ name = \"c%zu\"; type = \"none\"; }",
				     k ? ",\n" : "", k);
	}
	len += (size_t)snprintf(t + len, size - len, ");\npools = (\n");
	for (size_t i = 0; i < n; i++) {
		char backup[64] = "";
		if (i + 1 < n) {
			snprintf(backup, sizeof(backup), " backup = \"p%zu\";", i + 1);
		}
		len += (size_t)snprintf(
		    t + len, size - len,
		    "%s{ name = \"p%zu\"; check = \"c%zu\";%s members = ( { address "
		    "= \"10.%zu.%zu.%zu\"; } ); }",
		    i ? ",\n" : "", i, i % 16, backup, (i >> 16) & 255, (i >> 8) & 255, i & 255);
		ck_assert_uint_lt(len, size);
	}
	snprintf(t + len, size - len, "\n);\n");
	return t;
}

/* CPU seconds conf_load takes on @text (which must load), the best of 3. */
static double load_cpu_seconds(const char *text)
{
	char path[PATH_MAX];
	double best = 1e9;

	tu_write(path, "scale.conf", text);
	for (int run = 0; run < 3; run++) {
		struct timespec a, b;
		struct conf *c;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		c = conf_load(path);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
		ck_assert_msg(c != NULL, "the generated config loads");
		conf_free(c);
		double t = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		best = t < best ? t : best;
	}
	return best;
}

/* Pool and check names are hashed: 8 times the pools take about 8 times as
 * long (10 to 14 times here, plain and under ASan: caches, the allocator).
 * The duplicate-name scan alone made it 84 times (gslbd -t, 5,000 and 40,000
 * pools without backups, at 1315310), and the backup-cycle walk, per pool
 * along its whole chain, never ended on a long chain. CPU time, best of
 * three, so a busy machine blurs less; the bound is 30. */
START_TEST(load_time_linear_in_pools)
{
	char *small = many_pools(5000), *large = many_pools(40000);
	double t1 = load_cpu_seconds(small), t8 = load_cpu_seconds(large);

	fprintf(stderr, "conf_load: 5,000 pools %.3f s, 40,000 pools %.3f s (CPU)\n", t1, t8);
	ck_assert_msg(t8 < 30 * t1 + 0.05,
		      "40,000 pools took %.3f s, 5,000 took %.3f s: not linear", t8, t1);
	free(small);
	free(large);
}
END_TEST

/* The names found by hashing are the right ones. */
START_TEST(find_by_name)
{
	char *text = many_pools(3000), path[PATH_MAX];
	struct conf *c;

	tu_write(path, "find.conf", text);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(path));
	ck_assert_ptr_nonnull(c);
	for (size_t i = 0; i < c->npools; i++) {
		ck_assert_ptr_eq(conf_find_pool(c, c->pools[i].name), &c->pools[i]);
	}
	for (size_t i = 0; i < c->nchecks; i++) {
		ck_assert_ptr_eq(conf_find_check(c, c->checks[i].name), &c->checks[i]);
	}
	ck_assert_ptr_eq(conf_find_pool(c, "p2999"), &c->pools[2999]);
	ck_assert_ptr_null(conf_find_pool(c, "p3000"));
	ck_assert_ptr_null(conf_find_pool(c, "p"));
	ck_assert_ptr_null(conf_find_pool(c, ""));
	ck_assert_ptr_null(conf_find_pool(c, NULL));
	ck_assert_ptr_null(conf_find_check(c, "p1"));
	ck_assert_ptr_eq(conf_find_check(c, "c15"), &c->checks[15]);
	conf_free(c);
	free(text);
}
END_TEST

START_TEST(duplicate_check_name)
{
	expect_error(OK_HEAD OK_ZONES "checks = ( { name = \"k\"; type = \"none\"; },\n"
				      "           { name = \"j\"; type = \"none\"; },\n"
				      "           { name = \"k\"; type = \"none\"; } );\n",
		     5, "checks[2].name", "check \"k\" is already declared at line 3");
}
END_TEST

/* A backup chain that leads back: every pool on the cycle is named, not the
 * pools that only lead into it (their chains never come back to them). */
START_TEST(backup_cycle)
{
	char path[PATH_MAX], want[PATH_MAX + 128];
	struct conf *c = load(
	    path, NULL,
	    OK_HEAD OK_ZONES
	    "pools = (\n"
	    "{ name = \"a\"; backup = \"b\"; members = ( { address = \"192.0.2.1\"; } ); },\n"
	    "{ name = \"b\"; backup = \"c\"; members = ( { address = \"192.0.2.2\"; } ); },\n"
	    "{ name = \"c\"; backup = \"b\"; members = ( { address = \"192.0.2.3\"; } ); },\n"
	    "{ name = \"d\"; backup = \"a\"; members = ( { address = \"192.0.2.4\"; } ); },\n"
	    "{ name = \"e\"; backup = \"e\"; members = ( { address = \"192.0.2.5\"; } ); },\n"
	    "{ name = \"f\"; backup = \"d\"; members = ( { address = \"192.0.2.6\"; } ); } );\n");

	ck_assert_ptr_null(c);
	for (int i = 1; i <= 2; i++) {
		snprintf(want, sizeof(want),
			 "%s:%d: pools[%d].backup: the backup chain of \"%c\" leads back to it",
			 path, 4 + i, i, 'a' + i);
		ck_assert_msg(strstr(errlog, want), "expected \"%s\" in:\n%s", want, errlog);
	}
	ck_assert_ptr_nonnull(
	    strstr(errlog, "pools[4].backup: the backup chain of \"e\" leads back"));
	ck_assert_ptr_null(strstr(errlog, "pools[0].backup"));
	ck_assert_ptr_null(strstr(errlog, "pools[3].backup"));
	ck_assert_ptr_null(strstr(errlog, "pools[5].backup"));
}
END_TEST

/* "P:LINE: MESSAGE" must be in the log of loading @text, which must fail. */
static void expect_scan_error(const char *text, int line, const char *what)
{
	char path[PATH_MAX], want[PATH_MAX + 200];
	struct conf *c = load(path, NULL, text);

	ck_assert_ptr_null(c);
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, what);
	ck_assert_msg(strstr(errlog, want), "expected \"%s\" in:\n%.2000s", want, errlog);
	ck_assert_msg(!strstr(errlog, "syntax error"), "refused before libconfig:\n%.2000s",
		      errlog);
}

/* @n copies of @c between @head and @tail. Freed by the caller. */
static char *repeat(const char *head, char c, size_t n, const char *tail)
{
	size_t h = strlen(head), t = strlen(tail);
	char *s = malloc(h + n + t + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, h);
	memset(s + h, c, n);
	memcpy(s + h + n, tail, t + 1);
	return s;
}

/* libconfig's scanner takes time quadratic in one token's length (4 MB: 9 s):
 * a string, a comment line, a run of blanks or any other token over 65536
 * bytes is refused, with its line, before libconfig sees it. */
START_TEST(long_tokens_refused)
{
	const size_t over = CONF_TOKEN_MAX + 1;
	char *t;

	ck_assert_uint_eq(CONF_TOKEN_MAX, 65536);
	t = repeat(OK_HEAD OK_ZONES "x = \"", 'a', over, "\";\n");
	expect_scan_error(t, 3, "a string of more than 65536 bytes");
	free(t);
	/* Adjacent literals make one value: counted together, from its first line. */
	t = repeat(OK_HEAD OK_ZONES "\nx = \"abc\"\n \"", 'a', over - 3, "\";\n");
	expect_scan_error(t, 4, "a string of more than 65536 bytes");
	free(t);
	t = repeat(OK_HEAD OK_ZONES "# ", 'a', over, "\n");
	expect_scan_error(t, 3, "a comment line of more than 65536 bytes");
	free(t);
	t = repeat(OK_HEAD OK_ZONES "threads = 1; // ", 'a', over, "\n");
	expect_scan_error(t, 3, "a comment line of more than 65536 bytes");
	free(t);
	t = repeat(OK_HEAD OK_ZONES "threads = 1", '0', over, ";\n");
	expect_scan_error(t, 3, "a token of more than 65536 bytes");
	free(t);
	t = repeat(OK_HEAD OK_ZONES "threads =", ' ', over, "1;\n");
	expect_scan_error(t, 3, "a run of blanks of more than 65536 bytes");
	free(t);
}
END_TEST

/* What stays within the bounds is read as before. */
START_TEST(long_tokens_within_bounds)
{
	char path[PATH_MAX];
	struct conf *c;
	char *t;

	/* A string of exactly 65536 bytes passes the scan (and is an unknown setting). */
	t = repeat(OK_HEAD OK_ZONES "x = \"", 'a', CONF_TOKEN_MAX, "\";\n");
	expect_error(t, 3, "x", "unknown setting");
	free(t);
	/* Escapes count as written; quotes inside do not end the string. */
	t = repeat(OK_HEAD OK_ZONES "x = \"\\\"", 'a', CONF_TOKEN_MAX - 2, "\";\n");
	expect_error(t, 3, "x", "unknown setting");
	free(t);
	/* Comments up to the bound, block comments of any length, and long lines of short tokens.
	 */
	t = repeat(OK_HEAD OK_ZONES "#", 'a', CONF_TOKEN_MAX, "\n/* ");
	{
		size_t n = 4 * CONF_TOKEN_MAX, len = strlen(t);
		size_t size = len + n + 40 * 20000 + 100;
		t = realloc(t, size);
		ck_assert_ptr_nonnull(t);
		memset(t + len, 'b', n);
		len += n;
		len += (size_t)snprintf(t + len, size - len,
					" */\npools = ( { name = \"p\"; owners = [ ");
		for (int i = 0; i < 20000; i++) {
			len += (size_t)snprintf(t + len, size - len, "%s\"h%d.lb.test\"",
						i ? ", " : "", i);
		}
		snprintf(t + len, size - len,
			 " ]; members = ( { address = \"192.0.2.1\"; } ); } );\n");
	}
	c = load(path, NULL, t);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->pools[0].nowners, 20000);
	conf_free(c);
	free(t);
}
END_TEST

/* The config and its @includes are read to at most 64 MiB together, each
 * counted as often as it is included; something that is not a regular file
 * (a FIFO would block, a device never end) is refused at once. */
START_TEST(config_size_bounded)
{
	char path[PATH_MAX], inc[PATH_MAX], fifo[PATH_MAX + 16];
	size_t half = (CONF_FILES_MAX >> 1) + 4096;
	struct conf *c;
	char *t;

	ck_assert_uint_eq(CONF_FILES_MAX, 64u << 20);
	t = repeat("/*", ' ', half, "*/\n");
	tu_write(inc, "half.conf", t);
	free(t);
	c = load(path, NULL, OK_HEAD OK_ZONES "@include \"half.conf\"\n");
	ck_assert_ptr_nonnull(c);
	conf_free(c);
	c = load(path, NULL, OK_HEAD OK_ZONES "@include \"half.conf\"\n@include \"half.conf\"\n");
	ck_assert_ptr_null(c);
	ck_assert_msg(
	    strstr(errlog, "half.conf:1: the config files are larger than 64 MiB together"),
	    "expected the size bound in:\n%.2000s", errlog);
	remove(inc);

	snprintf(fifo, sizeof(fifo), "%s/fifo.conf", tu_dir());
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(fifo));
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(errlog, "not a regular file"));
	remove(fifo);
	TU_CAPTURE_STDERR(errlog, sizeof(errlog), c = conf_load(tu_dir()));
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(errlog, "not a regular file"));
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tl = tcase_create("load");
	TCase *te = tcase_create("errors");
	TCase *tp = tcase_create("listen");
	TCase *tk = tcase_create("check kinds");
	TCase *td = tcase_create("edns");
	TCase *tr = tcase_create("rate_limit");
	TCase *ts = tcase_create("scale");

	tcase_add_test(tl, full_config);
	tcase_add_test(tl, steer_settings);
	tcase_add_test(tl, defaults);
	tcase_add_test(tl, policy_answers_default);
	tcase_add_test(tl, no_pools);
	tcase_add_test(tl, user_and_group);
	tcase_add_test(tl, files_listed);
	suite_add_tcase(s, tl);

	tcase_add_test(te, unknown_top_level);
	tcase_add_test(te, unknown_pool_setting);
	tcase_add_test(te, unknown_member_setting);
	tcase_add_test(te, wrong_type);
	tcase_add_test(te, out_of_range);
	tcase_add_test(te, bad_address);
	tcase_add_test(te, bad_user_and_group);
	tcase_add_test(te, missing_address);
	tcase_add_test(te, bad_policy);
	tcase_add_test(te, empty_members);
	tcase_add_test(te, chaos_text_too_long);
	tcase_add_test(te, duplicate_pool_name);
	tcase_add_test(te, duplicate_member);
	tcase_add_test(te, duplicate_zone);
	tcase_add_test(te, bad_zone_origin);
	tcase_add_test(te, bad_owner);
	tcase_add_test(te, bad_listen);
	tcase_add_test(te, missing_required);
	tcase_add_test(te, syntax_error);
	tcase_add_test(te, missing_file);
	tcase_add_test(te, all_errors_reported);
	suite_add_tcase(s, te);

	tcase_add_test(tk, every_kind_has_a_case);
	tcase_add_loop_test(tk, check_kind_own_settings, 0, NKIND_CASES);
	tcase_add_loop_test(tk, check_kind_foreign_setting, 0, NKIND_CASES);
	tcase_add_test(tk, check_kind_settings_parsed);
	tcase_add_test(tk, check_kind_required_settings);
	tcase_add_test(tk, check_kind_bad_type);
	tcase_add_test(tk, member_url_host_need_http);
	tcase_add_test(tk, member_probe_settings_need_a_check);
	tcase_add_test(tk, member_probe_settings_accepted);
	suite_add_tcase(s, tk);

	tcase_add_test(tp, listen_forms);
	tcase_add_test(tp, listen_bad);
	suite_add_tcase(s, tp);

	tcase_add_test(td, cookie_and_nsid_settings);
	tcase_add_test(td, cookie_secret_drawn_and_kept);
	tcase_add_test(td, bad_cookie_and_nsid);
	suite_add_tcase(s, td);
	tcase_add_test(tr, rate_limit_every_setting);
	tcase_add_test(tr, rate_limit_defaults);
	tcase_add_test(tr, rate_limit_errors);
	tcase_add_test(tr, net_forms);
	suite_add_tcase(s, tr);

	/* Sanitized builds are several times slower; the bound is a ratio. */
	tcase_set_timeout(ts, 120);
	tcase_add_test(ts, load_time_linear_in_pools);
	tcase_add_test(ts, find_by_name);
	tcase_add_test(ts, duplicate_check_name);
	tcase_add_test(ts, backup_cycle);
	tcase_add_test(ts, long_tokens_refused);
	tcase_add_test(ts, long_tokens_within_bounds);
	tcase_add_test(ts, config_size_bounded);
	suite_add_tcase(s, ts);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_dir(); /* made here, shared by the forked tests, removed at exit */
	sr = srunner_create(conf_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
