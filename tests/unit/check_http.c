/* check_http.c -- unit tests for src/daemon/http.c (routing, the allow list),
 * src/ctl/metrics.c and src/ctl/page.c, without sockets. */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "ctl/metrics.h"
#include "ctl/page.h"
#include "ctl/status.h"
#include "daemon/http.h"
#include "daemon/stats.h"
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

static const char conf_text[] =
    "listen = [ \"127.0.0.1:0\" ];\n"
    "http = { listen = [ \"127.0.0.1:0\", \"[::1]:0\" ]; allow = [ \"10.0.0.0/8\", "
    "\"192.0.2.128/25\", \"2001:db8::/32\" ]; timeout = 3; max_clients = 7; };\n"
    "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; } );\n"
    "checks = ( { name = \"web\"; type = \"tcp\"; port = 80; rise = 1; fall = 1; } );\n"
    "pools = (\n"
    "  { name = \"www.lb.test\"; owners = [ \"www.lb.test\" ]; check = \"web\";\n"
    "    members = ( { address = \"192.0.2.1\"; }, { address = \"192.0.2.2\"; } ); },\n"
    "  { name = \"plain\"; owners = [ \"plain.lb.test\" ];\n"
    "    members = ( { address = \"192.0.2.100\"; } ); }\n"
    ");\n";

static struct snapshot *snap;
static struct health_table *health;
static struct stats *stats;

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
}

static void teardown(void)
{
	snapshot_free(snap);
	health_table_free(health);
	stats_free(stats);
}

/* The probe entry of target @target ("192.0.2.1:80"). */
static struct health_entry *entry_of(const char *target)
{
	for (size_t i = 0; i < snap->nspecs; i++) {
		const char *t = health_entry_target(snap->specs[i]->entry);
		if (t && strcmp(t, target) == 0) {
			return snap->specs[i]->entry;
		}
	}
	ck_abort_msg("no probe entry for %s", target);
	return NULL;
}

static struct http_reply route(bool ready, const struct snapshot *s, const char *method,
			       const char *path, const struct page_history *h)
{
	struct http_view v = {s, health, stats, h, ready, 1e9};
	struct http_reply r;

	http_route(&r, &v, method, path);
	return r;
}

START_TEST(conf_parsed)
{
	const struct conf_http *c = snap->conf->http;

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->nlistens, 2);
	ck_assert_uint_eq(c->nallow, 3);
	ck_assert_uint_eq(c->timeout, 3);
	ck_assert_uint_eq(c->max_clients, 7);
	ck_assert_uint_eq(strlen(snap->conf->hash), 32);
}
END_TEST

#define ZONES "zones = ( { origin = \"lb.test\"; file = \"lb.test.zone\"; } );\n"

START_TEST(conf_defaults_and_errors)
{
	char p[PATH_MAX];
	struct conf *c;

	tu_write(p, "lb.test.zone", zone_text);
	tu_write(p, "d.conf",
		 "listen = [ \"127.0.0.1:0\" ];\n" ZONES "http = { listen = \"127.0.0.1:0\"; };\n");
	c = conf_load(p);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->http->nallow, 2); /* loopback only */
	ck_assert_uint_eq(c->http->timeout, 10);
	ck_assert_uint_eq(c->http->max_clients, 64);
	conf_free(c);
	/* No http: none. */
	tu_write(p, "n.conf", "listen = [ \"127.0.0.1:0\" ];\n" ZONES);
	c = conf_load(p);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(c->http);
	conf_free(c);
	static const char *const bad[] = {
	    "http = { allow = [ \"127.0.0.1\" ]; };\n",	 /* no listen */
	    "http = { listen = [ \"127.0.0.1\" ]; };\n", /* no port */
	    "http = { listen = [ \"::1\" ]; };\n",	 /* no port */
	    "http = { listen = [ \"127.0.0.1:0\" ]; allow = [ \"10.0.0.1/8\" ]; };\n",
	    "http = { listen = [ \"127.0.0.1:0\" ]; allow = [ \"nonsense\" ]; };\n",
	    "http = { listen = [ \"127.0.0.1:0\" ]; timeout = 0; };\n",
	    "http = { listen = [ \"127.0.0.1:0\" ]; max_clients = \"many\"; };\n",
	    "http = { listen = [ \"127.0.0.1:0\" ]; colour = \"blue\"; };\n",
	    "http = \"127.0.0.1:8053\";\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), "listen = [ \"127.0.0.1:0\" ];\n" ZONES "%s", bad[i]);
		tu_write(p, "b.conf", text);
		c = conf_load(p);
		ck_assert_msg(c == NULL, "accepted: %s", bad[i]);
	}
}
END_TEST

START_TEST(routes)
{
	struct http_reply r;

	r = route(false, snap, "GET", "/healthz", NULL);
	ck_assert_uint_eq(r.status, 503);
	sb_clear(&r.body);
	r = route(true, snap, "GET", "/healthz", NULL);
	ck_assert_uint_eq(r.status, 200);
	sb_clear(&r.body);
	r = route(true, snap, "GET", "/nope", NULL);
	ck_assert_uint_eq(r.status, 404);
	sb_clear(&r.body);
	r = route(true, snap, "GET", "/metrics/", NULL);
	ck_assert_uint_eq(r.status, 404);
	sb_clear(&r.body);
	r = route(true, snap, "POST", "/metrics", NULL);
	ck_assert_uint_eq(r.status, 405);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	sb_clear(&r.body);
	r = route(true, snap, "DELETE", "/", NULL);
	ck_assert_uint_eq(r.status, 405);
	sb_clear(&r.body);
	r = route(true, snap, "HEAD", "/metrics", NULL);
	ck_assert_uint_eq(r.status, 200);
	sb_clear(&r.body);
	r = route(true, NULL, "GET", "/metrics", NULL);
	ck_assert_uint_eq(r.status, 503);
	sb_clear(&r.body);
	r = route(true, snap, "GET", "/status.json", NULL);
	ck_assert_uint_eq(r.status, 200);
	ck_assert_str_eq(r.type, "application/json");
	ck_assert_ptr_nonnull(strstr(r.body.p, "\"pools\""));
	sb_clear(&r.body);
	r = route(true, snap, "GET", "/", NULL);
	ck_assert_uint_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.type, "text/html"));
	sb_clear(&r.body);
}
END_TEST

START_TEST(status_json_is_gslbctls)
{
	struct http_reply r = route(true, snap, "GET", "/status.json", NULL);
	struct sbuf direct;

	sb_init(&direct);
	status_render(&direct, snap, health, true);
	ck_assert_str_eq(r.body.p, direct.p);
	sb_clear(&direct);
	sb_clear(&r.body);
}
END_TEST

static bool allowed(const char *text)
{
	struct conf_listen l;
	bool ok;

	ck_assert_int_eq(conf_parse_listen(&l, text), 0);
	ok = http_allowed(snap->conf->http, (const struct sockaddr *)&l.addr);
	free(l.text);
	return ok;
}

START_TEST(allow_list)
{
	ck_assert(allowed("10.1.2.3:1"));
	ck_assert(allowed("192.0.2.200:1"));
	ck_assert(!allowed("192.0.2.1:1")); /* below the /25 */
	ck_assert(!allowed("127.0.0.1:1"));
	ck_assert(allowed("[2001:db8::5]:1"));
	ck_assert(!allowed("[2001:db9::5]:1"));
	ck_assert(allowed("[::ffff:10.0.0.1]:1")); /* v4-mapped: as IPv4 */
	ck_assert(!allowed("[::1]:1"));
}
END_TEST

START_TEST(label_escaping)
{
	struct sbuf b;

	sb_init(&b);
	metrics_label(&b, "a\"b\\c\nd");
	ck_assert_str_eq(b.p, "a\\\"b\\\\c\\nd");
	sb_clear(&b);
}
END_TEST

START_TEST(metrics_content)
{
	struct health_entry *e1 = entry_of("192.0.2.1:80"), *e2 = entry_of("192.0.2.2:80");
	struct sbuf b;

	health_record(health, e1, true, "connected", 0.7, 1, 1, 1e9);
	health_record(health, e2, false, "refused", 30, 1, 1, 1e9);
	health_record(health, e2, false, "refused", 3000, 1, 1, 1e9);
	sb_init(&b);
	metrics_render(&b, snap, health, stats);
	static const char *const want[] = {
	    "gslbd_member_up{pool=\"www.lb.test\",member=\"192.0.2.1\",check=\"web\"} 1\n",
	    "gslbd_member_up{pool=\"www.lb.test\",member=\"192.0.2.2\",check=\"web\"} 0\n",
	    "gslbd_member_up{pool=\"plain\",member=\"192.0.2.100\",check=\"\"} 1\n",
	    "gslbd_member_admin_state{pool=\"www.lb.test\",member=\"192.0.2.2\",check=\"web\","
	    "state=\"none\"} 1\n",
	    "gslbd_member_admin_state{pool=\"www.lb.test\",member=\"192.0.2.2\",check=\"web\","
	    "state=\"drained\"} 0\n",
	    "gslbd_member_health_changes_total{pool=\"www.lb.test\",member=\"192.0.2.2\","
	    "check=\"web\"} 1\n",
	    "gslbd_probes_total{check=\"web\",result=\"ok\"} 1\n",
	    "gslbd_probes_total{check=\"web\",result=\"failed\"} 2\n",
	    "gslbd_probe_duration_seconds_bucket{check=\"web\",le=\"0.001\"} 1\n",
	    "gslbd_probe_duration_seconds_bucket{check=\"web\",le=\"0.05\"} 2\n",
	    "gslbd_probe_duration_seconds_bucket{check=\"web\",le=\"2.5\"} 2\n",
	    "gslbd_probe_duration_seconds_bucket{check=\"web\",le=\"5\"} 3\n",
	    "gslbd_probe_duration_seconds_bucket{check=\"web\",le=\"+Inf\"} 3\n",
	    "gslbd_probe_duration_seconds_count{check=\"web\"} 3\n",
	    "gslbd_pool_answers_total{pool=\"www.lb.test\",source=\"backup\"} 0\n",
	    "gslbd_pool_members_up{pool=\"www.lb.test\",family=\"A\"} 1\n",
	    "gslbd_reloads_total{result=\"ok\"} 0\n",
	    "gslbd_queries_total{transport=\"udp\"} 0\n",
	    "gslbd_build_info{version=\"" PACKAGE_VERSION "\"} 1\n",
	    "# TYPE gslbd_probe_duration_seconds histogram\n",
	    "# TYPE process_cpu_seconds_total counter\n",
	    "process_open_fds ",
	    "process_resident_memory_bytes ",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_msg(strstr(b.p, want[i]), "missing: %s", want[i]);
	}
	ck_assert_ptr_nonnull(strstr(b.p, snap->conf->hash));
	sb_clear(&b);
}
END_TEST

START_TEST(page_shows_state_and_escapes)
{
	struct health_entry *e2 = entry_of("192.0.2.2:80");
	struct sbuf b;

	health_record(health, e2, false, "<script>alert(1)</script> \xff", 12.5, 1, 1, 1e9 - 90);
	sb_init(&b);
	page_render(&b, snap, health, NULL, 1e9);
	ck_assert_ptr_nonnull(strstr(b.p, "<tr class=\"member\" data-member=\"192.0.2.2\">"
					  "<td>192.0.2.2</td><td>A</td><td><span class=\"badge "
					  "state down\">down</span>"));
	ck_assert_ptr_nonnull(strstr(b.p, "data-member=\"192.0.2.1\"><td>192.0.2.1</td><td>A</td>"
					  "<td><span class=\"badge state up\">up</span>"));
	ck_assert_ptr_null(strstr(b.p, "<script>"));
	ck_assert_ptr_nonnull(
	    strstr(b.p, "failed: &lt;script&gt;alert(1)&lt;/script&gt; \xEF\xBF\xBD"));
	ck_assert_ptr_nonnull(strstr(b.p, "12.5 ms"));
	ck_assert_ptr_nonnull(strstr(b.p, "1m 30s ago"));
	ck_assert_ptr_nonnull(strstr(b.p, "badge pool-state degraded"));
	ck_assert_ptr_nonnull(strstr(b.p, "policy round-robin"));
	ck_assert_ptr_nonnull(strstr(b.p, "http-equiv=\"refresh\""));
	ck_assert_ptr_null(strstr(b.p, "src=")); /* nothing loaded from elsewhere */
	ck_assert_ptr_null(strstr(b.p, "<script"));
	sb_clear(&b);
}
END_TEST

START_TEST(page_escape_text)
{
	struct sbuf b;

	sb_init(&b);
	page_escape(&b, "a&b<c>\"d'e\x01\xc3\xa9\xc3");
	ck_assert_str_eq(b.p, "a&amp;b&lt;c&gt;&quot;d&#39;e \xc3\xa9\xEF\xBF\xBD");
	sb_clear(&b);
}
END_TEST

START_TEST(history_rates_and_chart)
{
	struct page_history h;
	struct stats_worker *w = stats_worker_new(stats);
	const struct pool *p = &snap->pools[0];
	struct stats_pool_ctr *blk = atomic_load(&w->pools[p->stat_slot >> STATS_POOL_BLOCK_BITS]);
	struct sbuf b;

	page_history_init(&h);
	page_history_sample(&h, snap, health, stats, 1000);
	for (int i = 0; i < 50; i++) {
		stats_inc(&blk[p->stat_slot & (STATS_POOL_BLOCK - 1)].source[POOL_SOURCE_PRIMARY]);
	}
	page_history_sample(&h, snap, health, stats, 1005);
	ck_assert_uint_eq(h.n, snap->npools);
	sb_init(&b);
	page_render(&b, snap, health, &h, 1006);
	ck_assert_ptr_nonnull(strstr(b.p, "10.0 answers/s"));
	ck_assert_ptr_nonnull(strstr(b.p, "<svg"));
	ck_assert_ptr_nonnull(strstr(b.p, "<polyline"));
	sb_clear(&b);
	/* Many rounds wrap the ring without trouble. */
	for (int i = 0; i < 3 * PAGE_SAMPLES; i++) {
		page_history_sample(&h, snap, health, stats, 1010 + i * 5);
	}
	sb_init(&b);
	page_render(&b, snap, health, &h, 2000);
	ck_assert_ptr_nonnull(strstr(b.p, "0.0 answers/s"));
	sb_clear(&b);
	page_history_clear(&h);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, conf_parsed);
	tcase_add_test(tc, conf_defaults_and_errors);
	tcase_add_test(tc, routes);
	tcase_add_test(tc, status_json_is_gslbctls);
	tcase_add_test(tc, allow_list);
	tcase_add_test(tc, label_escaping);
	tcase_add_test(tc, metrics_content);
	tcase_add_test(tc, page_shows_state_and_escapes);
	tcase_add_test(tc, page_escape_text);
	tcase_add_test(tc, history_rates_and_chart);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	tu_dir();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
