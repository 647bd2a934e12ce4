/* fuzz_control.c -- libFuzzer target: arbitrary bytes as a control-socket line through
 * control_execute, against a snapshot with health, backups and drains. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/conf.h"
#include "ctl/commands.h"
#include "ctl/protocol.h"
#include "daemon/stats.h"
#include "health/probe.h"
#include "health/health.h"
#include "data/snapshot.h"

#include "fuzzutil.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Something of everything explain tells apart: pools (one at a wildcard),
 * CNAMEs into a pool, out of the zone and in a loop, a delegation, a
 * wildcard, a multi-record RRset. */
static const char zone_text[] = "$ORIGIN fuzz.test.\n"
				"$TTL 300\n"
				"@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
				"@ IN NS ns\n"
				"ns IN A 192.0.2.53\n"
				"alias IN CNAME www\n"
				"loop1 IN CNAME loop2\n"
				"loop2 IN CNAME loop1\n"
				"out IN CNAME www.elsewhere.test.\n"
				"txt IN TXT \"one\"\n"
				"txt IN TXT \"two\"\n"
				"sub IN NS ns.other.test.\n"
				"*.wild IN A 192.0.2.99\n";

/* Pool p fails over to b, b to c (last resort servfail); plain has no
 * check. Members of p and b are down or never probed (see init). */
static const char conf_text[] =
    "listen = [ \"127.0.0.1:0\" ];\n"
    "zones = ( { origin = \"fuzz.test\"; file = \"fuzz.test.zone\"; } );\n"
    "checks = ( { name = \"web\"; type = \"tcp\"; port = 80; rise = 2; fall = 2; },\n"
    "           { name = \"dns\"; type = \"dns\"; query = \"www.example.test\"; },\n"
    "           { name = \"file\"; type = \"file\"; path = \"states\"; initial = \"up\"; } );\n"
    "pools = (\n"
    "  { name = \"p\"; owners = [ \"www.fuzz.test\", \"*.pw.fuzz.test\" ]; check = \"web\";\n"
    "    backup = \"b\"; min_healthy = 2; ttl = 30; ttl_degraded = 10; policy = \"weighted\";\n"
    "    members = ( { address = \"192.0.2.1\"; weight = 3; }, { address = \"192.0.2.2\"; },\n"
    "                { address = \"2001:db8::1\"; check = \"dns\"; },\n"
    "                { address = \"2001:db8::2\"; port = 8080; } ); },\n"
    "  { name = \"b\"; owners = [ \"b.fuzz.test\" ]; check = \"file\"; backup = \"c\";\n"
    "    members = ( { address = \"198.51.100.1\"; }, { address = \"198.51.100.2\"; } ); },\n"
    "  { name = \"c\"; owners = [ \"c.fuzz.test\" ]; check = \"web\"; last_resort = \"servfail\";\n"
    "    members = ( { address = \"203.0.113.1\"; } ); },\n"
    "  { name = \"plain\"; owners = [ \"plain.fuzz.test\" ];\n"
    "    members = ( { address = \"192.0.2.100\"; } ); }\n"
    ");\n";

static struct snapshot *snap;
static struct health_table *health;

static const struct snapshot *ops_current(void *arg)
{
	(void)arg;
	return snap;
}

/* Started: the result comes later (control_reload_done in the daemon). */
static int ops_reload(void *arg, struct sbuf *msg)
{
	(void)arg;
	(void)msg;
	return 0;
}

static void ops_nothing(void *arg)
{
	(void)arg;
}

static struct control_ops ops = { ops_current, ops_reload, ops_nothing, NULL, NULL, NULL, NULL };

/* Build the snapshot once; the files are removed right after. Every other
 * probed entry gets results (down with a reason, or up), the rest stay
 * never probed, so status and explain have each kind to describe. */
static void init(void)
{
	char zone_path[600], conf_path[600];
	struct conf *conf;

	fu_write(zone_path, sizeof(zone_path), "fuzz.test.zone", zone_text, strlen(zone_text));
	fu_write(conf_path, sizeof(conf_path), "gslbd.conf", conf_text, strlen(conf_text));
	conf = conf_load(conf_path);
	health = health_table_new();
	snap = conf ? snapshot_build_health(conf, health) : NULL;
	fu_rm_dir();
	if (!snap) {
		fu_fail("fuzz_control", "the built-in config or zone loads");
	}
	ops.health = health;
	ops.stats = stats_new();
	stats_bind_pools(ops.stats, snap->pools, snap->npools);
	for (size_t i = 0, n = 0; i < snap->nspecs; i++) {
		struct health_entry *e = snap->specs[i]->entry;
		if (n++ % 3 == 2) {
			continue;
		}
		bool ok = n % 3 == 1;
		for (int k = 0; k < 2; k++) {
			health_record(health, e, ok, ok ? "connected" : "connection refused", 1.5,
				      2, 2, 1700000000.0 + k);
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fu_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[CONTROL_MAX_LINE + 1];
	char *out = NULL;
	size_t outlen = 0, n = size < CONTROL_MAX_LINE ? size : CONTROL_MAX_LINE;
	int rc;

	if (!snap) {
		init();
	}
	/* What the socket code hands over: a NUL-terminated line. (It refuses
	 * a line with a NUL byte in it; here such a byte just ends the line.) */
	memcpy(line, data, n);
	line[n] = 0;
	rc = commands_execute(line, &ops, &out, &outlen);
	if (rc == COMMAND_PENDING) {
		if (out) {
			fu_fail("fuzz_control", "a reply that comes later has no text yet");
		}
		/* The reload's reply, as the socket sends it once it is done. */
		commands_reload_reply(0, "reload done: 1 zones", &out, &outlen);
		rc = 0;
	}
	if (!out) {
		fu_fail("fuzz_control", "there is always a reply");
	}
	if (out[outlen] != 0 || strlen(out) != outlen) {
		fu_fail("fuzz_control", "the reply is a string of the length given");
	}
	if (strncmp(out, "OK\n", 3) == 0) {
		if (rc != 0) {
			fu_fail("fuzz_control", "OK exactly when the command succeeded");
		}
	} else if (strncmp(out, "ERR ", 4) == 0) {
		if (rc == 0 || !strchr(out, '\n')) {
			fu_fail("fuzz_control", "ERR with a failure code, on a whole line");
		}
	} else {
		fu_fail("fuzz_control", "the reply begins with OK or ERR");
	}
	free(out);
	return 0;
}
