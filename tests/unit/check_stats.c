/* check_stats.c -- unit tests for src/daemon/stats.c: what the answer path
 * records in a request is what the counters add up, per worker and summed,
 * and a pool keeps its counters by name across reloads. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "testutil.h"

#include "daemon/stats.h"
#include "data/conf.h"
#include "data/snapshot.h"
#include "dns/answer.h"
#include "health/health.h"
#include "health/probe.h"

static const char zone_text[] = "$ORIGIN lb.test.\n$TTL 300\n"
				"@ IN SOA ns1 host 1 2 3 4 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
				"big IN TXT \"0123456789012345678901234567890123456789\"\n"
				"big IN TXT \"1123456789012345678901234567890123456789\"\n"
				"big IN TXT \"2123456789012345678901234567890123456789\"\n"
				"big IN TXT \"3123456789012345678901234567890123456789\"\n"
				"big IN TXT \"4123456789012345678901234567890123456789\"\n"
				"big IN TXT \"5123456789012345678901234567890123456789\"\n"
				"big IN TXT \"6123456789012345678901234567890123456789\"\n"
				"big IN TXT \"7123456789012345678901234567890123456789\"\n"
				"big IN TXT \"8123456789012345678901234567890123456789\"\n"
				"big IN TXT \"9123456789012345678901234567890123456789\"\n"
				"big IN TXT \"a123456789012345678901234567890123456789\"\n"
				"big IN TXT \"b123456789012345678901234567890123456789\"\n"
				"sub IN NS ns.elsewhere.test.\n";

/* Pool "w" (check t, backup "b"), pool "b" (check t), pool "s" (check t,
 * last resort servfail). */
static const char conf_fmt[] =
	"listen = [\"127.0.0.1:0\"];\n"
	"zones = ( { origin = \"lb.test\"; file = \"%s\"; } );\n"
	"checks = ( { name = \"t\"; type = \"tcp\"; port = 9; rise = 1; fall = 1; } );\n"
	"pools = ( { name = \"w\"; owners = [\"www.lb.test\"]; check = \"t\"; backup = \"b\";\n"
	"  members = ( {address=\"192.0.2.10\";}, {address=\"192.0.2.11\";} ); },\n"
	"  { name = \"b\"; owners = [\"bk.lb.test\"]; check = \"t\";\n"
	"  members = ( {address=\"198.51.100.1\";} ); },\n"
	"  { name = \"s\"; owners = [\"sf.lb.test\"]; check = \"t\"; last_resort = \"servfail\";\n"
	"  members = ( {address=\"203.0.113.1\";} ); } );\n";

static struct snapshot *snap;
static struct health_table *health;
static struct stats *stats;
static struct stats_worker *udp, *tcp;
static struct answer_ctx ctx;

static void setup(void)
{
	char zpath[PATH_MAX], cpath[PATH_MAX], text[PATH_MAX + 2048];
	struct conf *c;

	tu_write(zpath, "lb.test.zone", zone_text);
	snprintf(text, sizeof(text), conf_fmt, zpath);
	tu_write(cpath, "gslbd.conf", text);
	c = conf_load(cpath);
	ck_assert_ptr_nonnull(c);
	health = health_table_new();
	snap = snapshot_build_health(c, health);
	ck_assert_ptr_nonnull(snap);
	stats = stats_new();
	udp = stats_worker_new(stats);
	stats_bind_pools(stats, snap->pools, snap->npools);
	tcp = stats_worker_new(stats); /* made after the binding: covers it too */
	answer_ctx_init(&ctx, 7);
	answer_ctx_use(&ctx, snap);
}

static void teardown(void)
{
	answer_ctx_clear(&ctx);
	snapshot_free(snap);
	health_table_free(health);
	stats_free(stats);
}

/* Ask @name @qtype over @t with EDNS size @udp (0: no EDNS) and count it. */
static struct request ask(const char *name, uint16_t qtype, enum transport t, uint16_t udpsize)
{
	static uint8_t pkt[512], resp[65535];
	struct request req;
	size_t len = tu_query(pkt, 1, 0, name, qtype, DNS_CLASS_IN);

	if (udpsize) {
		len = tu_add_opt(pkt, len, udpsize, false, 0, 0, -1);
	}
	req.client = NULL;
	req.transport = t;
	answer_query(&ctx, snap, &req, pkt, len, resp, t == TRANSPORT_TCP ? sizeof(resp) : 4096);
	stats_count(t == TRANSPORT_TCP ? tcp : udp, &req);
	return req;
}

static void set_health(const char *target, bool up)
{
	for (size_t i = 0; i < snap->nspecs; i++) {
		if (strcmp(snap->specs[i]->target, target) == 0) {
			health_record(health, snap->specs[i]->entry, up, "test", 0, 1, 1, 1.0);
			return;
		}
	}
	ck_abort_msg("no probe of %s", target);
}

static const struct stats_pool_total *pool_total(const struct stats_totals *t, const char *name)
{
	for (size_t i = 0; i < t->npools; i++) {
		if (strcmp(t->pools[i].name, name) == 0) {
			return &t->pools[i];
		}
	}
	ck_abort_msg("no counters for pool %s", name);
	return NULL;
}

START_TEST(request_outcomes_counted)
{
	struct stats_totals t;
	struct request r;

	r = ask("www.lb.test", DNS_TYPE_A, TRANSPORT_UDP, 0);
	ck_assert_int_eq(r.kind, RESPONSE_ANSWER);
	ck_assert_int_eq(r.source, POOL_SOURCE_PRIMARY);
	ck_assert_uint_eq(r.pool_records, 2);
	ask("www.lb.test", DNS_TYPE_AAAA, TRANSPORT_TCP, 0); /* NODATA: no AAAA members */
	r = ask("nx.lb.test", DNS_TYPE_A, TRANSPORT_UDP, 1232);
	ck_assert_int_eq(r.kind, RESPONSE_NXDOMAIN);
	r = ask("x.sub.lb.test", DNS_TYPE_A, TRANSPORT_UDP, 0);
	ck_assert_int_eq(r.kind, RESPONSE_REFERRAL);
	r = ask("example.com", DNS_TYPE_A, TRANSPORT_UDP, 0);
	ck_assert_int_eq(r.kind, RESPONSE_REFUSED);
	r = ask("lb.test", DNS_TYPE_AXFR, TRANSPORT_TCP, 0);
	ck_assert_int_eq(r.rcode, DNS_RCODE_REFUSED);
	r = ask("big.lb.test", DNS_TYPE_TXT, TRANSPORT_UDP, 0); /* > 512 octets */
	ck_assert(r.truncated);
	r = ask("big.lb.test", DNS_TYPE_TXT, TRANSPORT_TCP, 0);
	ck_assert(!r.truncated);
	ck_assert_int_eq(r.kind, RESPONSE_ANSWER);

	stats_sum(stats, &t);
	ck_assert_uint_eq(t.workers, 2);
	ck_assert_uint_eq(t.transport[TRANSPORT_UDP], 5);
	ck_assert_uint_eq(t.transport[TRANSPORT_TCP], 3);
	ck_assert_uint_eq(t.qtype[STATS_QTYPE_A], 4);
	ck_assert_uint_eq(t.qtype[STATS_QTYPE_AAAA], 1);
	ck_assert_uint_eq(t.qtype[STATS_QTYPE_TXT], 2);
	ck_assert_uint_eq(t.qtype[STATS_QTYPE_XFR], 1);
	ck_assert_uint_eq(t.rcode[STATS_RCODE_NOERROR], 5);
	ck_assert_uint_eq(t.rcode[STATS_RCODE_NXDOMAIN], 1);
	ck_assert_uint_eq(t.rcode[STATS_RCODE_REFUSED], 2);
	ck_assert_uint_eq(t.kind[RESPONSE_ANSWER], 3); /* www A, big TXT (UDP TC, TCP) */
	ck_assert_uint_eq(t.kind[RESPONSE_NODATA], 1);
	ck_assert_uint_eq(t.kind[RESPONSE_NXDOMAIN], 1);
	ck_assert_uint_eq(t.kind[RESPONSE_REFERRAL], 1);
	ck_assert_uint_eq(t.kind[RESPONSE_REFUSED], 2);
	ck_assert_uint_eq(t.truncated, 1);
	/* AAAA: the pool has no IPv6 member, so the name's static NODATA answers. */
	ck_assert_uint_eq(pool_total(&t, "w")->source[POOL_SOURCE_PRIMARY], 1);
	ck_assert_uint_eq(pool_total(&t, "b")->source[POOL_SOURCE_PRIMARY], 0);
	stats_totals_clear(&t);
}
END_TEST

START_TEST(pool_sources_counted)
{
	struct stats_totals t;
	struct request r;

	/* Both members of w down: its backup b answers. */
	set_health("192.0.2.10:9", false);
	set_health("192.0.2.11:9", false);
	r = ask("www.lb.test", DNS_TYPE_A, TRANSPORT_UDP, 0);
	ck_assert_int_eq(r.source, POOL_SOURCE_BACKUP);
	ck_assert_ptr_eq(r.pool, &snap->pools[0]);
	/* And b down too: fail-open, every member of w. */
	set_health("198.51.100.1:9", false);
	r = ask("www.lb.test", DNS_TYPE_A, TRANSPORT_UDP, 0);
	ck_assert_int_eq(r.source, POOL_SOURCE_LAST_RESORT);
	ck_assert_int_eq(r.kind, RESPONSE_ANSWER);
	/* s down: last resort SERVFAIL. */
	set_health("203.0.113.1:9", false);
	r = ask("sf.lb.test", DNS_TYPE_A, TRANSPORT_TCP, 0);
	ck_assert_int_eq(r.source, POOL_SOURCE_LAST_RESORT);
	ck_assert_int_eq(r.rcode, DNS_RCODE_SERVFAIL);
	ck_assert_int_eq(r.kind, RESPONSE_ERROR);

	stats_sum(stats, &t);
	ck_assert_uint_eq(pool_total(&t, "w")->source[POOL_SOURCE_BACKUP], 1);
	ck_assert_uint_eq(pool_total(&t, "w")->source[POOL_SOURCE_LAST_RESORT], 1);
	ck_assert_uint_eq(pool_total(&t, "w")->source[POOL_SOURCE_PRIMARY], 0);
	ck_assert_uint_eq(pool_total(&t, "s")->source[POOL_SOURCE_LAST_RESORT], 1);
	ck_assert_uint_eq(t.rcode[STATS_RCODE_SERVFAIL], 1);
	ck_assert_uint_eq(t.kind[RESPONSE_ERROR], 1);
	stats_totals_clear(&t);
}
END_TEST

/* Ask www.lb.test A over UDP from 192.0.2.99 with the COOKIE option
 * @cookie (@len octets); the server cookie that came back goes to @back
 * (16 octets) when there is one. */
static struct request ask_cookie(const uint8_t *cookie, size_t len, uint8_t *back)
{
	static uint8_t pkt[512], resp[4096];
	struct sockaddr_storage from = { .ss_family = AF_INET };
	uint8_t opts[64];
	struct request req;
	struct tu_resp r;
	size_t n = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);

	inet_pton(AF_INET, "192.0.2.99", &((struct sockaddr_in *)&from)->sin_addr);
	n = tu_add_opt_raw(pkt, n, 1232, opts, tu_option(opts, DNS_EDNS_COOKIE, cookie, len));
	req.client = &from;
	req.transport = TRANSPORT_UDP;
	n = answer_query(&ctx, snap, &req, pkt, n, resp, sizeof(resp));
	stats_count(udp, &req);
	ck_assert_int_eq(tu_parse(&r, resp, n), 0);
	if (back && r.opt && r.opt->rdlen == 4 + 24) {
		memcpy(back, r.opt->rdata + 4 + 8, 16);
	}
	return req;
}

/* What each query's cookie was worth, one counter each (a BADCOOKIE response
 * has its rcode counter). */
START_TEST(cookies_counted)
{
	static const uint8_t client[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t full[24], sc[16] = { 0 };
	struct stats_totals t;

	ask("www.lb.test", DNS_TYPE_A, TRANSPORT_UDP, 1232);
	ck_assert_int_eq(ask_cookie(client, 8, sc).cookie, COOKIE_CLIENT_ONLY);
	memcpy(full, client, 8);
	memcpy(full + 8, sc, 16);
	ck_assert_int_eq(ask_cookie(full, 24, NULL).cookie, COOKIE_VALID);
	ck_assert_int_eq(ask_cookie(full, 24, NULL).cookie, COOKIE_VALID);
	full[23] ^= 1;
	ck_assert_int_eq(ask_cookie(full, 24, NULL).cookie, COOKIE_INVALID);
	stats_sum(stats, &t);
	ck_assert_uint_eq(t.cookie[COOKIE_NONE], 1);
	ck_assert_uint_eq(t.cookie[COOKIE_CLIENT_ONLY], 1);
	ck_assert_uint_eq(t.cookie[COOKIE_VALID], 2);
	ck_assert_uint_eq(t.cookie[COOKIE_INVALID], 1);
	stats_totals_clear(&t);
	ck_assert_int_eq(stats_rcode_of(DNS_RCODE_BADCOOKIE), STATS_RCODE_BADCOOKIE);
	ck_assert_str_eq(stats_rcode_name(STATS_RCODE_BADCOOKIE), "BADCOOKIE");
	ck_assert_int_eq(stats_rcode_of(22), STATS_RCODE_OTHER);
	ck_assert_int_eq(stats_rcode_of(24), STATS_RCODE_OTHER);
	ck_assert_str_eq(stats_cookie_name(COOKIE_CLIENT_ONLY), "client_only");
}
END_TEST

START_TEST(dropped_and_malformed_counted)
{
	static const uint8_t response[12] = { 0, 1, DNS_FLAG_QR, 0 };
	static uint8_t resp[4096];
	struct stats_totals t;
	struct request req = { .transport = TRANSPORT_UDP };

	/* QR=1: dropped by the answer path. */
	ck_assert_uint_eq(answer_query(&ctx, snap, &req, response, sizeof(response), resp, 4096), 0);
	ck_assert_int_eq(req.kind, RESPONSE_DROPPED);
	stats_count(udp, &req);
	/* Too large for a query: dropped by the transport. */
	stats_count_dropped(udp, TRANSPORT_UDP);
	/* A question cut short: FORMERR. */
	{
		uint8_t pkt[512];
		size_t len = tu_query(pkt, 1, 0, "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
		ck_assert_uint_gt(answer_query(&ctx, snap, &req, pkt, len - 3, resp, 4096), 0);
		ck_assert_int_eq(req.rcode, DNS_RCODE_FORMERR);
		stats_count(udp, &req);
	}
	stats_sum(stats, &t);
	ck_assert_uint_eq(t.transport[TRANSPORT_UDP], 3);
	ck_assert_uint_eq(t.kind[RESPONSE_DROPPED], 2);
	ck_assert_uint_eq(t.kind[RESPONSE_ERROR], 1);
	ck_assert_uint_eq(t.rcode[STATS_RCODE_FORMERR], 1);
	stats_totals_clear(&t);
}
END_TEST

/* Rate limiting's actions, as the request records them: limited counts all
 * over the limit, slipped and dropped what was done about it. */
START_TEST(rate_limits_counted)
{
	static uint8_t pkt[512], resp[4096];
	struct conf_rate_limit rl = { .responses_per_second = 2, .errors_per_second = 2,
				      .slip = 2, .ipv4_prefix = 24, .ipv6_prefix = 56 };
	struct rrl_table *table = rrl_table_new(64);
	struct sockaddr_storage ss = { .ss_family = AF_INET };
	size_t len = tu_query(pkt, 1, 0, "ns1.lb.test", DNS_TYPE_A, DNS_CLASS_IN);
	struct stats_totals t;

	rrl_use(&ctx.rrl, table, &rl);
	ctx.rrl.now = 1000000;
	for (int i = 0; i < 13; i++) {
		struct request req = { .client = &ss, .transport = TRANSPORT_UDP };
		if (i == 10) {
			rl.log_only = true;
			rrl_use(&ctx.rrl, table, &rl); /* as a new snapshot would */
		}
		answer_query(&ctx, snap, &req, pkt, len, resp, sizeof(resp));
		stats_count(udp, &req);
	}
	stats_sum(stats, &t);
	ck_assert_uint_eq(t.limited, 11);
	ck_assert_uint_eq(t.slipped, 4);
	ck_assert_uint_eq(t.limit_dropped, 4);
	ck_assert_uint_eq(t.truncated, 4);          /* a slipped response has TC */
	ck_assert_uint_eq(t.kind[RESPONSE_DROPPED], 4);
	ck_assert_uint_eq(t.kind[RESPONSE_ANSWER], 9); /* 2 + 4 truncated + 3 log_only */
	stats_totals_clear(&t);
	rrl_use(&ctx.rrl, NULL, NULL);
	rrl_table_free(table);
}
END_TEST

START_TEST(pool_counters_follow_names_across_reloads)
{
	struct stats_totals t;
	struct pool renamed[3];

	ask("www.lb.test", DNS_TYPE_A, TRANSPORT_UDP, 0);
	/* A "reload" that puts the pools in another order and adds one: w
	 * keeps its slot (and counters), the new pool gets a new one. */
	memset(renamed, 0, sizeof(renamed));
	renamed[0].name = "new";
	renamed[1].name = "s";
	renamed[2].name = "w";
	stats_bind_pools(stats, renamed, 3);
	ck_assert_uint_eq(renamed[2].stat_slot, snap->pools[0].stat_slot);
	ck_assert_uint_eq(renamed[1].stat_slot, snap->pools[2].stat_slot);
	ck_assert_uint_eq(renamed[0].stat_slot, 3);
	stats_sum(stats, &t);
	ck_assert_uint_eq(t.npools, 4);
	ck_assert_uint_eq(pool_total(&t, "w")->source[POOL_SOURCE_PRIMARY], 1);
	ck_assert_uint_eq(pool_total(&t, "new")->source[POOL_SOURCE_PRIMARY], 0);
	stats_totals_clear(&t);
}
END_TEST

START_TEST(many_pools_span_blocks)
{
	static struct pool pools[STATS_POOL_BLOCK + 10];
	static char names[STATS_POOL_BLOCK + 10][16];
	struct request req;
	struct stats_totals t;

	memset(pools, 0, sizeof(pools));
	for (unsigned i = 0; i < STATS_POOL_BLOCK + 10; i++) {
		snprintf(names[i], sizeof(names[i]), "p%u", i);
		pools[i].name = names[i];
	}
	stats_bind_pools(stats, pools, STATS_POOL_BLOCK + 10);
	memset(&req, 0, sizeof(req));
	req.kind = RESPONSE_ANSWER;
	req.q.has_question = true;
	req.q.qtype = DNS_TYPE_A;
	req.pool = &pools[STATS_POOL_BLOCK + 5];
	req.source = POOL_SOURCE_BACKUP;
	stats_count(udp, &req);
	stats_count(tcp, &req);
	stats_sum(stats, &t);
	ck_assert_uint_eq(pool_total(&t, names[STATS_POOL_BLOCK + 5])->source[POOL_SOURCE_BACKUP], 2);
	stats_totals_clear(&t);
}
END_TEST

START_TEST(reloads_counted)
{
	struct stats_totals t;

	stats_reload(stats, true, 1700000000.0);
	stats_reload(stats, false, 1700000001.0);
	stats_reload(stats, false, 1700000002.0);
	stats_sum(stats, &t);
	ck_assert_uint_eq(t.reloads_ok, 1);
	ck_assert_uint_eq(t.reloads_failed, 2);
	ck_assert(t.last_reload_ok == 1700000000.0);
	stats_totals_clear(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, request_outcomes_counted);
	tcase_add_test(tc, pool_sources_counted);
	tcase_add_test(tc, dropped_and_malformed_counted);
	tcase_add_test(tc, cookies_counted);
	tcase_add_test(tc, rate_limits_counted);
	tcase_add_test(tc, pool_counters_follow_names_across_reloads);
	tcase_add_test(tc, many_pools_span_blocks);
	tcase_add_test(tc, reloads_counted);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
