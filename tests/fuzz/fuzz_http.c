/* fuzz_http.c -- libFuzzer target: a request line's method and path through http_route, and
 * a probe reason (what a backend said) through the status page and /status.json. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl/page.h"
#include "daemon/http.h"
#include "daemon/stats.h"
#include "data/conf.h"
#include "data/snapshot.h"
#include "health/health.h"
#include "health/probe.h"

#include "fuzzutil.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char zone_text[] = "$ORIGIN fuzz.test.\n"
				"$TTL 300\n"
				"@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
				"@ IN NS ns\n"
				"ns IN A 192.0.2.53\n";

static const char conf_text[] =
    "listen = [ \"127.0.0.1:0\" ];\n"
    "zones = ( { origin = \"fuzz.test\"; file = \"fuzz.test.zone\"; } );\n"
    "checks = ( { name = \"web\"; type = \"tcp\"; port = 80; rise = 1; fall = 1; } );\n"
    "pools = (\n"
    "  { name = \"p\"; owners = [ \"www.fuzz.test\" ]; check = \"web\"; backup = \"plain\";\n"
    "    members = ( { address = \"192.0.2.1\"; }, { address = \"2001:db8::1\"; } ); },\n"
    "  { name = \"plain\"; owners = [ \"plain.fuzz.test\" ];\n"
    "    members = ( { address = \"192.0.2.100\"; } ); }\n"
    ");\n";

static struct snapshot *snap;
static struct health_table *health;
static struct stats *stats;
static struct health_entry *entry;

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
	if (!snap || snap->nspecs == 0) {
		fu_fail("fuzz_http", "the built-in config or zone loads");
	}
	stats = stats_new();
	stats_bind_pools(stats, snap->pools, snap->npools);
	entry = snap->specs[0]->entry;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fu_quiet_logs();
	return 0;
}

/* The next '\n'-separated field of @data into @out (NUL-terminated, cut at
 * @size - 1 bytes); advances *@pos past it. */
static void field(char *out, size_t size, const uint8_t *data, size_t len, size_t *pos)
{
	size_t n = 0;

	while (*pos < len && data[*pos] != '\n') {
		if (n + 1 < size) {
			out[n++] = (char)data[*pos];
		}
		(*pos)++;
	}
	if (*pos < len) {
		(*pos)++;
	}
	out[n] = 0;
}

static bool known_path(const char *p)
{
	return strcmp(p, "/") == 0 || strcmp(p, "/metrics") == 0 ||
	       strcmp(p, "/status.json") == 0 || strcmp(p, "/healthz") == 0;
}

/* Input: METHOD \n PATH \n REASON (each may hold any byte; a NUL ends it). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char method[64], path[1024], reason[HEALTH_REASON_MAX + 64];
	struct http_view v;
	struct http_reply r;
	size_t pos = 0;
	bool get;

	if (!snap) {
		init();
	}
	field(method, sizeof(method), data, size, &pos);
	field(path, sizeof(path), data, size, &pos);
	field(reason, sizeof(reason), data, size, &pos);
	health_record(health, entry, size % 2, reason, 1.25, 1, 1, 1700000000.0);
	memset(&v, 0, sizeof(v));
	v.snap = snap;
	v.health = health;
	v.stats = stats;
	v.ready = size % 3 != 0;
	v.now = 1700000100.0;

	http_route(&r, &v, method, path);
	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (!known_path(path)		    ? r.status != 404
	    : !get			    ? r.status != 405 || !r.allow
	    : strcmp(path, "/healthz") == 0 ? r.status != (v.ready ? 200u : 503u)
					    : r.status != 200) {
		fu_fail("fuzz_http", "404 for unknown paths, 405 for other methods, else the page");
	}
	if (!r.type || r.body.len != strlen(r.body.p)) {
		fu_fail("fuzz_http", "a typed body of the length given");
	}
	sb_clear(&r.body);

	/* What the backend said is on the page, escaped, and never raw. */
	http_route(&r, &v, "GET", "/");
	if (strstr(r.body.p, "<script") || strstr(r.body.p, "<SCRIPT")) {
		fu_fail("fuzz_http", "no script element on the page");
	}
	{
		struct health_info hi;
		struct sbuf want, raw;
		if (!health_info_by_word(health, health_entry_word(entry), &hi)) {
			fu_fail("fuzz_http", "the probed entry is there");
		}
		sb_init(&want);
		sb_init(&raw);
		sb_printf(&want, "%s: ", hi.last_ok ? "ok" : "failed");
		sb_printf(&raw, "%s: %s<", hi.last_ok ? "ok" : "failed", hi.reason);
		page_escape(&want, hi.reason);
		sb_printf(&want, "<");
		if (!strstr(r.body.p, want.p)) {
			fu_fail("fuzz_http", "the reason is on the page, escaped");
		}
		if (strpbrk(hi.reason, "<>&\"'") && strstr(r.body.p, raw.p)) {
			fu_fail("fuzz_http",
				"a reason with markup characters appears only escaped");
		}
		sb_clear(&want);
		sb_clear(&raw);
	}
	sb_clear(&r.body);

	/* /status.json stays JSON whatever the reason's bytes. */
	http_route(&r, &v, "GET", "/status.json");
	{
		json_error_t err;
		json_t *j = json_loads(r.body.p, 0, &err);
		if (!j) {
			fu_fail("fuzz_http", "/status.json is JSON");
		}
		json_decref(j);
	}
	sb_clear(&r.body);
	return 0;
}
