/* check_rrl.c -- unit tests for src/dns/rrl.c: the bucket arithmetic on a
 * clock the tests set (refill, burst, classes, names, prefixes, exempt
 * networks, cookies, TCP, slip, log_only, the log), the table's bound under
 * 100,000 clients, and the answer path with limits on (what a slipped or
 * dropped response looks like, which bucket each kind of response counts in). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "testutil.h"

#include "data/conf.h"
#include "data/snapshot.h"
#include "dns/answer.h"
#include "dns/rrl.h"

/* The sanitizers' shadow memory grows with every address first touched:
 * RSS says nothing about the table under them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#define SEC 1000000u /* the limiter's clock counts microseconds */
#define T0 (5 * (uint64_t)SEC)

/* --- the limiter alone -------------------------------------------------------- */

static struct conf_rate_limit rl;
static struct rrl_table *table;
static struct rrl lim;
static struct sockaddr_storage client;
static struct request req;

static void set_client(const char *text)
{
	memset(&client, 0, sizeof(client));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&client;
		a->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&client;
		a->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, text, &a->sin_addr), 1);
	}
}

/* A UDP response of @kind to @qname (no lookup node: the question names it). */
static void set_response(enum response_kind kind, const char *qname)
{
	memset(&req, 0, sizeof(req));
	req.client = &client;
	req.transport = TRANSPORT_UDP;
	req.kind = kind;
	req.q.has_question = true;
	req.q.qname_len = (uint8_t)tu_name_wire(req.q.qname, qname);
}

static void limiter(unsigned rate, unsigned errors, unsigned slip)
{
	memset(&rl, 0, sizeof(rl));
	rl.responses_per_second = rate;
	rl.errors_per_second = errors;
	rl.slip = slip;
	rl.ipv4_prefix = 24;
	rl.ipv6_prefix = 56;
	rl.table_size = 4096;
	rrl_table_free(table);
	table = rrl_table_new(rl.table_size);
	rrl_init(&lim);
	rrl_use(&lim, table, &rl);
	lim.now = T0;
	set_client("192.0.2.1");
	set_response(RESPONSE_ANSWER, "www.lb.test");
}

static void limiter_setup(void)
{
	limiter(10, 10, 2);
}

static void limiter_teardown(void)
{
	rrl_table_free(table);
	table = NULL;
}

static enum rate_limit check(void)
{
	req.limit = RATE_PASS;
	return rrl_check(&lim, &req);
}

/* How many of @n responses in a row pass. */
static unsigned passes(unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++) {
		ok += check() == RATE_PASS;
	}
	return ok;
}

START_TEST(burst_then_rate)
{
	/* A full bucket: one second's worth, then nothing. */
	ck_assert_uint_eq(passes(10), 10);
	ck_assert_int_ne(check(), RATE_PASS);
	ck_assert_uint_eq(req.limit == RATE_DROPPED || req.limit == RATE_SLIPPED, 1);
	/* 1/rate later, one more. */
	lim.now += SEC / 10;
	ck_assert_uint_eq(passes(5), 1);
	/* Half a second: five. */
	lim.now += SEC / 2;
	ck_assert_uint_eq(passes(20), 5);
	/* A long pause fills it, but never beyond one second's worth. */
	lim.now += 60 * SEC;
	ck_assert_uint_eq(passes(50), 10);
	/* A steady flood at 10x the rate for 3 s gets the rate. */
	{
		unsigned ok = 0;
		for (unsigned i = 0; i < 300; i++) {
			lim.now += SEC / 100;
			ok += check() == RATE_PASS;
		}
		ck_assert_uint_ge(ok, 29);
		ck_assert_uint_le(ok, 31);
	}
}
END_TEST

START_TEST(rate_in_between)
{
	/* 3 per second: an interval of 333333 µs; 3 a second, sustained. */
	limiter(3, 3, 0);
	ck_assert_uint_eq(passes(10), 3);
	for (int s = 0; s < 10; s++) {
		lim.now += SEC;
		ck_assert_uint_eq(passes(10), 3);
	}
}
END_TEST

START_TEST(classes_apart)
{
	limiter(5, 2, 0);
	ck_assert_uint_eq(passes(20), 5);
	/* The same client and name, other classes: buckets of their own. */
	req.kind = RESPONSE_NODATA;
	ck_assert_uint_eq(passes(20), 5);
	req.kind = RESPONSE_NXDOMAIN;
	ck_assert_uint_eq(passes(20), 5);
	req.kind = RESPONSE_REFERRAL;
	ck_assert_uint_eq(passes(20), 5);
	/* Errors at errors_per_second; REFUSED is an error. */
	req.kind = RESPONSE_ERROR;
	ck_assert_uint_eq(passes(20), 2);
	req.kind = RESPONSE_REFUSED;
	ck_assert_uint_eq(passes(20), 0);
	/* What is not sent is not limited. */
	req.kind = RESPONSE_DROPPED;
	ck_assert_uint_eq(passes(20), 20);
}
END_TEST

START_TEST(rate_zero_is_unlimited)
{
	limiter(0, 3, 0);
	ck_assert_uint_eq(passes(1000), 1000);
	req.kind = RESPONSE_ERROR;
	ck_assert_uint_eq(passes(1000), 3);
	limiter(4, 0, 0);
	req.kind = RESPONSE_REFUSED;
	ck_assert_uint_eq(passes(1000), 1000);
	req.kind = RESPONSE_ANSWER;
	ck_assert_uint_eq(passes(1000), 4);
}
END_TEST

START_TEST(names_apart)
{
	ck_assert_uint_eq(passes(30), 10);
	set_response(RESPONSE_ANSWER, "other.lb.test");
	ck_assert_uint_eq(passes(30), 10);
	/* The question is lower-cased by the parser; a name is one name. */
	set_response(RESPONSE_ANSWER, "www.lb.test");
	ck_assert_uint_eq(passes(30), 0);
}
END_TEST

START_TEST(ipv4_prefix)
{
	ck_assert_uint_eq(passes(30), 10);
	set_client("192.0.2.200"); /* the same /24 */
	ck_assert_uint_eq(passes(30), 0);
	set_client("192.0.3.1");
	ck_assert_uint_eq(passes(30), 10);
	set_client("::ffff:192.0.2.77"); /* IPv4-mapped: the same /24 */
	ck_assert_uint_eq(passes(30), 0);

	/* /32: every address on its own. */
	rl.ipv4_prefix = 32;
	rrl_use(&lim, table, &rl);
	set_client("192.0.2.201");
	ck_assert_uint_eq(passes(30), 10);
	set_client("192.0.2.202");
	ck_assert_uint_eq(passes(30), 10);
	/* /16 */
	rl.ipv4_prefix = 16;
	rrl_use(&lim, table, &rl);
	set_client("198.51.1.1");
	ck_assert_uint_eq(passes(30), 10);
	set_client("198.51.250.9");
	ck_assert_uint_eq(passes(30), 0);
}
END_TEST

START_TEST(ipv6_prefix)
{
	set_client("2001:db8:0:100::1");
	ck_assert_uint_eq(passes(30), 10);
	set_client("2001:db8:0:1ff:ffff::2"); /* the same /56 */
	ck_assert_uint_eq(passes(30), 0);
	set_client("2001:db8:0:200::1");
	ck_assert_uint_eq(passes(30), 10);
	/* An IPv4 client whose bits match is someone else. */
	set_client("32.1.13.184");
	ck_assert_uint_eq(passes(30), 10);

	rl.ipv6_prefix = 128;
	rrl_use(&lim, table, &rl);
	set_client("2001:db8:0:300::1");
	ck_assert_uint_eq(passes(30), 10);
	set_client("2001:db8:0:300::2");
	ck_assert_uint_eq(passes(30), 10);
	rl.ipv6_prefix = 100; /* a prefix in the low half */
	rrl_use(&lim, table, &rl);
	set_client("2001:db8:0:400::1:0:1");
	ck_assert_uint_eq(passes(30), 10);
	set_client("2001:db8:0:400::1:fff:ffff");
	ck_assert_uint_eq(passes(30), 0);
	set_client("2001:db8:0:400::1:1000:0");
	ck_assert_uint_eq(passes(30), 10);
}
END_TEST

START_TEST(exempt_networks)
{
	struct conf_net nets[2];

	ck_assert_int_eq(conf_parse_net(&nets[0], "192.0.2.0/25"), 0);
	ck_assert_int_eq(conf_parse_net(&nets[1], "2001:db8:ff::/48"), 0);
	rl.exempt = nets;
	rl.nexempt = 2;
	rrl_use(&lim, table, &rl); /* settings change with a new snapshot */
	ck_assert_uint_eq(passes(1000), 1000);
	ck_assert_int_eq(req.limit, RATE_PASS);
	set_client("192.0.2.127");
	ck_assert_uint_eq(passes(1000), 1000);
	/* The same /24, outside the /25: limited, and not by the exempt
	 * client's traffic (which took no credit). */
	set_client("192.0.2.128");
	ck_assert_uint_eq(passes(1000), 10);
	set_client("2001:db8:ff:1234::1");
	ck_assert_uint_eq(passes(1000), 1000);
	set_client("2001:db8:fe::1");
	ck_assert_uint_eq(passes(1000), 10);
	set_client("::ffff:192.0.2.5"); /* mapped: exempt as 192.0.2.5 */
	ck_assert_uint_eq(passes(1000), 1000);
}
END_TEST

START_TEST(valid_cookie_never_limited)
{
	req.cookie_valid = true;
	ck_assert_uint_eq(passes(1000), 1000);
	/* ... and took no credit. */
	req.cookie_valid = false;
	ck_assert_uint_eq(passes(1000), 10);
	req.cookie_valid = true;
	ck_assert_uint_eq(passes(1000), 1000);
}
END_TEST

START_TEST(tcp_never_limited)
{
	req.transport = TRANSPORT_TCP;
	ck_assert_uint_eq(passes(1000), 1000);
	req.transport = TRANSPORT_UDP;
	ck_assert_uint_eq(passes(1000), 10);
	req.transport = TRANSPORT_TCP;
	ck_assert_uint_eq(passes(1000), 1000);
}
END_TEST

START_TEST(unknown_client_or_off)
{
	req.client = NULL;
	ck_assert_uint_eq(passes(1000), 1000);
	req.client = &client;
	rrl_use(&lim, NULL, &rl); /* no table: off */
	ck_assert_uint_eq(passes(1000), 1000);
	rrl_use(&lim, table, NULL);
	ck_assert_uint_eq(passes(1000), 1000);
}
END_TEST

/* Every slip-th limited response goes out truncated; 1: all; 0: none. */
START_TEST(slip_counting)
{
	static const struct {
		unsigned slip;
		const char *pattern; /* S slipped, D dropped */
	} cases[] = {
	    {2, "DSDSDSDSDS"},
	    {1, "SSSSSSSSSS"},
	    {0, "DDDDDDDDDD"},
	    {3, "DDSDDSDDSD"},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char got[16] = "";
		limiter(10, 10, cases[c].slip);
		ck_assert_uint_eq(passes(10), 10);
		for (int i = 0; i < 10; i++) {
			enum rate_limit a = check();
			ck_assert_int_eq(a, req.limit);
			got[i] = a == RATE_SLIPPED ? 'S' : a == RATE_DROPPED ? 'D' : '?';
		}
		ck_assert_str_eq(got, cases[c].pattern);
	}
}
END_TEST

/* The count is the bucket's: two floods served by one thread in lockstep
 * each get their every other response truncated. */
START_TEST(slip_counted_per_bucket)
{
	char a[16] = "", b[16] = "";

	limiter(10, 10, 2);
	ck_assert_uint_eq(passes(10), 10);
	set_client("198.51.100.1");
	ck_assert_uint_eq(passes(10), 10);
	for (int i = 0; i < 10; i++) {
		set_client("192.0.2.1");
		a[i] = check() == RATE_SLIPPED ? 'S' : 'D';
		set_client("198.51.100.1");
		b[i] = check() == RATE_SLIPPED ? 'S' : 'D';
	}
	ck_assert_str_eq(a, "DSDSDSDSDS");
	ck_assert_str_eq(b, "DSDSDSDSDS");
}
END_TEST

START_TEST(log_only_counts_sends)
{
	char log[4096];

	rl.log_only = true;
	rrl_use(&lim, table, &rl);
	ck_assert_uint_eq(passes(10), 10);
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(check(), RATE_LIMITED);
		ck_assert_int_eq(req.limit, RATE_LIMITED);
	}
	/* One line for the episode, whatever the flood's length. */
	ck_assert_uint_eq(lim.npending, 1);
	TU_CAPTURE_STDERR(log, sizeof(log), rrl_log(&lim));
	ck_assert_ptr_nonnull(strstr(log, "answer responses to 192.0.2.0/24 for www.lb.test."));
	ck_assert_ptr_nonnull(strstr(log, "log_only: still sent"));
	ck_assert_uint_eq(lim.npending, 0);
	/* Still over the limit, allowed one now and then: no new line. */
	for (int i = 0; i < 100; i++) {
		lim.now += SEC / 50;
		check();
	}
	ck_assert_uint_eq(lim.npending, 0);
	/* The bucket fills up again: the next flood is a new episode. */
	lim.now += 2 * SEC;
	ck_assert_uint_eq(passes(10), 10);
	ck_assert_int_eq(check(), RATE_LIMITED);
	ck_assert_uint_eq(lim.npending, 1);
}
END_TEST

START_TEST(log_lines_limited)
{
	char log[8192];

	/* 20 networks begin to be limited in one second: a few lines, and the
	 * count of the rest. */
	for (int n = 0; n < 20; n++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "10.0.%d.1", n);
		set_client(addr);
		passes(12);
	}
	ck_assert_uint_eq(lim.npending, RRL_LOG_PER_SECOND);
	TU_CAPTURE_STDERR(log, sizeof(log), rrl_log(&lim));
	ck_assert_ptr_nonnull(strstr(log, "rate limit: answer responses to 10.0.0.0/24"));
	ck_assert_ptr_nonnull(strstr(log, "dropped, one in 2 sent truncated"));
	ck_assert_ptr_nonnull(strstr(log, "(and 16 more not logged)"));
	ck_assert_ptr_null(strstr(log, "10.0.4.0/24"));
	/* The next second has a budget again. */
	lim.now += SEC;
	set_client("10.1.0.1");
	passes(12);
	ck_assert_uint_eq(lim.npending, 1);
	TU_CAPTURE_STDERR(log, sizeof(log), rrl_log(&lim));
	ck_assert_ptr_nonnull(strstr(log, "10.1.0.0/24"));
	ck_assert_ptr_null(strstr(log, "more not logged"));
}
END_TEST

/* The clock wraps every 2^44 µs (203 days): a bucket's debt survives it. */
START_TEST(clock_wraps)
{
	const uint64_t wrap = UINT64_C(1) << 44;

	lim.now = wrap - SEC / 2;
	ck_assert_uint_eq(passes(20), 10);
	lim.now = (lim.now + 7 * SEC / 10) & (wrap - 1); /* 0.7 s later, past the wrap */
	ck_assert_uint_eq(passes(20), 7);
}
END_TEST

/* Sets of eight: a ninth key shares the least busy bucket instead of taking
 * one over, so a flood cannot be reset by colliding keys; a full (idle)
 * bucket is taken over freely. */
START_TEST(collisions_share)
{
	char addr[32];

	rrl_table_free(table);
	table = rrl_table_new(8); /* one set */
	rrl_use(&lim, table, &rl);
	ck_assert_uint_eq(rrl_table_buckets(table), 8);
	set_client("198.51.100.1");
	ck_assert_uint_eq(passes(20), 10); /* the flood: limited */
	for (int n = 0; n < 8; n++) {
		snprintf(addr, sizeof(addr), "10.%d.0.1", n);
		set_client(addr);
		passes(5); /* 7 take the idle buckets, the 8th shares one */
	}
	set_client("198.51.100.1");
	ck_assert_uint_eq(passes(20), 0); /* still limited: its bucket was kept */
	/* Everyone quiet for a while: buckets full again, taken over freely. */
	lim.now += 5 * SEC;
	for (int n = 0; n < 20; n++) {
		snprintf(addr, sizeof(addr), "10.9.%d.1", n);
		set_client(addr);
		ck_assert_uint_eq(passes(1), 1);
	}
}
END_TEST

/* Resident anonymous memory (statm: resident - shared), in KiB: what an
 * allocation or a newly touched page of the table would add to. */
static long anon_kib(void)
{
	char buf[256];
	long pages = 0, rss = 0, shared = 0;

	tu_read(buf, sizeof(buf), "/proc/self/statm");
	ck_assert_int_eq(sscanf(buf, "%ld %ld %ld", &pages, &rss, &shared), 3);
	return (rss - shared) * (sysconf(_SC_PAGESIZE) / 1024);
}

/* 100,000 distinct client networks: the table's memory is what it was made
 * with (resident from the start), and a flood among them stays limited. */
START_TEST(table_bounded)
{
	size_t mem;
	long rss;

	limiter(10, 10, 2);
	rrl_table_free(table);
	table = rrl_table_new(65536);
	rrl_use(&lim, table, &rl);
	mem = rrl_table_memory(table);
	ck_assert_uint_ge(mem, 65536 * 8);
	ck_assert_uint_lt(mem, 65536 * 8 + 4096);
	set_client("203.0.113.1");
	ck_assert_uint_eq(passes(20), 10);
	rss = anon_kib();
	for (unsigned i = 0; i < 100000; i++) {
		struct sockaddr_in *a = (struct sockaddr_in *)&client;
		a->sin_addr.s_addr = htonl(0x0A000000u | i << 8 | 1); /* 10.x.y.1, x.y = i */
		for (int k = 0; k < 3; k++) {
			check();
		}
		lim.now += 5; /* half a second over the lot */
	}
	ck_assert_uint_eq(rrl_table_memory(table), mem);
	rss = anon_kib() - rss;
#if !defined(SANITIZED)
	ck_assert_msg(rss < 64, "anonymous RSS grew by %ld KiB", rss);
#endif
	set_client("203.0.113.1");
	ck_assert_uint_le(passes(20), 5); /* half a second's refill; a fresh bucket would pass 10 */
}
END_TEST

/* --- the answer path with limits on -------------------------------------------- */

static const char zone_text[] = "$ORIGIN lb.test.\n$TTL 300\n"
				"@ IN SOA ns1 host 1 2 3 4 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
				"www IN A 192.0.2.10\nother IN A 192.0.2.11\n"
				"*.wild IN A 192.0.2.3\n"
				"sub IN NS ns.sub\nns.sub IN A 192.0.2.53\n";

static struct snapshot *snap;
static struct answer_ctx ctx;
static uint8_t qbuf[512], resp[4096];
static struct tu_resp r;

static void answer_setup(void)
{
	char zpath[PATH_MAX], cpath[PATH_MAX], text[PATH_MAX + 512];
	struct conf *c;

	tu_write(zpath, "lb.test.zone", zone_text);
	snprintf(text, sizeof(text),
		 "listen = [\"127.0.0.1:0\"];\n"
		 "chaos = { version = \"v\"; };\n"
		 "zones = ( { origin = \"lb.test\"; file = \"%s\"; } );\n"
		 "rate_limit = { responses_per_second = 5; errors_per_second = 2; slip = 1; };\n",
		 zpath);
	tu_write(cpath, "gslbd.conf", text);
	c = conf_load(cpath);
	ck_assert_ptr_nonnull(c);
	snap = snapshot_build(c);
	ck_assert_ptr_nonnull(snap);
	table = rrl_table_new(snap->conf->rate_limit->table_size);
	snap->rrl = table; /* what the daemon does */
	answer_ctx_init(&ctx, 1);
	answer_ctx_use(&ctx, snap);
	ck_assert_ptr_eq(ctx.rrl.table, table);
	ctx.rrl.now = T0; /* the tests' clock from here on */
	set_client("192.0.2.1");
}

static void answer_teardown(void)
{
	answer_ctx_clear(&ctx);
	snapshot_free(snap);
	rrl_table_free(table);
	table = NULL;
}

/* Ask @qname/@qtype (with EDNS when @edns) as client `client`; returns the
 * response length (0: nothing sent), parsed into r. */
static size_t ask(const char *qname, uint16_t qtype, uint16_t qclass, bool edns, bool tcp)
{
	size_t len = tu_query(qbuf, 0x1234, TU_RD, qname, qtype, qclass), n;

	if (edns) {
		len = tu_add_opt(qbuf, len, 1232, false, 0, 0, -1);
	}
	req.client = &client;
	req.transport = tcp ? TRANSPORT_TCP : TRANSPORT_UDP;
	n = answer_query(&ctx, snap, &req, qbuf, len, resp, sizeof(resp));
	if (n) {
		ck_assert_int_eq(tu_parse(&r, resp, n), 0);
	}
	return n;
}

/* How many of @n identical UDP queries are answered in full (not TC). */
static unsigned full_answers(const char *qname, uint16_t qtype, unsigned n)
{
	unsigned full = 0;

	for (unsigned i = 0; i < n; i++) {
		if (ask(qname, qtype, DNS_CLASS_IN, false, false) && !r.tc) {
			full++;
		}
	}
	return full;
}

START_TEST(slipped_response)
{
	ck_assert_uint_eq(full_answers("www.lb.test", DNS_TYPE_A, 5), 5);
	ck_assert_uint_gt(ask("WWW.lb.test", DNS_TYPE_A, DNS_CLASS_IN, true, false), 0);
	/* Header and question (the client's case), TC, AA and the rcode as the
	 * answer had them, no records but our OPT. */
	ck_assert_int_eq(req.limit, RATE_SLIPPED);
	ck_assert(req.truncated);
	ck_assert_int_eq(req.kind, RESPONSE_ANSWER);
	ck_assert(r.tc && r.qr && r.aa && r.rd);
	ck_assert_int_eq(r.id, 0x1234);
	ck_assert_int_eq(r.rcode, DNS_RCODE_NOERROR);
	ck_assert_str_eq(r.qname, "WWW.lb.test");
	ck_assert_uint_eq(r.ancount, 0);
	ck_assert_uint_eq(r.nscount, 0);
	ck_assert_uint_eq(r.arcount, 1);
	ck_assert(r.has_opt);
	ck_assert_uint_eq(r.opt_udp, 1232);
	/* Without EDNS, no OPT. An NXDOMAIN keeps its rcode. */
	ck_assert_uint_gt(ask("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, false, false), 0);
	ck_assert(r.tc && !r.has_opt && r.arcount == 0);
	ck_assert_uint_eq(full_answers("nx.lb.test", DNS_TYPE_A, 5), 5);
	ask("nx.lb.test", DNS_TYPE_A, DNS_CLASS_IN, false, false);
	ck_assert(r.tc && r.aa);
	ck_assert_int_eq(r.rcode, DNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(r.nscount, 0);
}
END_TEST

START_TEST(dropped_response)
{
	struct conf_rate_limit *rl2 = snap->conf->rate_limit;

	rl2->slip = 0;
	rrl_use(&ctx.rrl, table, rl2); /* settings change with a new snapshot */
	ck_assert_uint_eq(full_answers("www.lb.test", DNS_TYPE_A, 10), 5);
	ck_assert_uint_eq(ask("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, true, false), 0);
	ck_assert_int_eq(req.limit, RATE_DROPPED);
	ck_assert_int_eq(req.kind, RESPONSE_DROPPED);
	/* TCP: answered in full, always. */
	for (int i = 0; i < 50; i++) {
		ck_assert_uint_gt(ask("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, true, true), 0);
		ck_assert(!r.tc && r.ancount == 1);
		ck_assert_int_eq(req.limit, RATE_PASS);
	}
	/* log_only: answered in full, counted as limited. */
	rl2->log_only = true;
	rrl_use(&ctx.rrl, table, rl2);
	ck_assert_uint_gt(ask("www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, true, false), 0);
	ck_assert(!r.tc && r.ancount == 1);
	ck_assert_int_eq(req.limit, RATE_LIMITED);
}
END_TEST

/* NXDOMAIN and NODATA count against the zone, so a random-subdomain flood
 * lands in one bucket; answers against the name; a wildcard's answers
 * against the wildcard; referrals against the delegation. */
START_TEST(buckets_by_kind)
{
	char name[64];
	unsigned full = 0;

	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "r%d.lb.test", i);
		full += full_answers(name, DNS_TYPE_A, 1);
	}
	ck_assert_uint_eq(full, 5);
	ck_assert_int_eq(req.kind, RESPONSE_NXDOMAIN);
	full = 0;
	for (int i = 0; i < 50; i++) {
		full += full_answers(i % 2 ? "www.lb.test" : "other.lb.test", DNS_TYPE_TXT, 1);
	}
	ck_assert_uint_eq(full, 5); /* NODATA: the zone's bucket, whichever name */
	ck_assert_int_eq(req.kind, RESPONSE_NODATA);
	full = 0;
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "x%d.wild.lb.test", i);
		full += full_answers(name, DNS_TYPE_A, 1);
	}
	ck_assert_uint_eq(full, 5);
	ck_assert_int_eq(req.kind, RESPONSE_ANSWER);
	full = 0;
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "h%d.sub.lb.test", i);
		full += full_answers(name, DNS_TYPE_A, 1);
	}
	ck_assert_uint_eq(full, 5);
	ck_assert_int_eq(req.kind, RESPONSE_REFERRAL);
	/* Two names answered: a bucket each, and none of the above. */
	ck_assert_uint_eq(full_answers("www.lb.test", DNS_TYPE_A, 20), 5);
	ck_assert_uint_eq(full_answers("other.lb.test", DNS_TYPE_A, 20), 5);
	ck_assert_uint_eq(full_answers("ns1.lb.test", DNS_TYPE_A, 20), 5);
	/* Errors: REFUSED outside our zones, at errors_per_second. */
	ck_assert_uint_eq(full_answers("example.com", DNS_TYPE_A, 20), 2);
	ck_assert_int_eq(req.kind, RESPONSE_REFUSED);
	/* CHAOS answers: by the question's name. */
	full = 0;
	for (int i = 0; i < 20; i++) {
		full += ask("version.bind", DNS_TYPE_TXT, DNS_CLASS_CH, false, false) && !r.tc;
	}
	ck_assert_uint_eq(full, 5);
}
END_TEST

START_TEST(off_without_table)
{
	snap->rrl = NULL;
	ctx.seen = NULL; /* a new snapshot, as far as the context knows */
	answer_ctx_use(&ctx, snap);
	ck_assert_ptr_null(ctx.rrl.table);
	ck_assert_uint_eq(full_answers("www.lb.test", DNS_TYPE_A, 100), 100);
	ck_assert_int_eq(req.limit, RATE_PASS);
}
END_TEST

/* A reload frees the old snapshot once no thread holds it, and the next one
 * may be allocated at its address: a thread that was idle meanwhile must not
 * take it for the snapshot it saw (it would keep the freed settings). */
START_TEST(new_snapshot_at_a_freed_ones_address)
{
	char zpath[PATH_MAX], cpath[PATH_MAX], text[PATH_MAX + 512];
	struct snapshot *other, tmp;
	struct conf *c;

	tu_write(zpath, "lb.test.zone", zone_text);
	snprintf(text, sizeof(text),
		 "listen = [\"127.0.0.1:0\"];\nudp_size = 1400;\n"
		 "zones = ( { origin = \"lb.test\"; file = \"%s\"; } );\n",
		 zpath);
	tu_write(cpath, "other.conf", text);
	c = conf_load(cpath);
	ck_assert_ptr_nonnull(c);
	other = snapshot_build(c);
	ck_assert_ptr_nonnull(other);
	ck_assert_ptr_nonnull(ctx.rrl.table);
	/* The other snapshot's contents at this one's address. */
	tmp = *snap;
	*snap = *other;
	*other = tmp;
	answer_ctx_use(&ctx, snap);
	ck_assert_ptr_null(ctx.rrl.table); /* no rate_limit in it */
	ck_assert_uint_eq(ctx.udp_size, 1400);
	ck_assert_uint_eq(full_answers("www.lb.test", DNS_TYPE_A, 100), 100);
	snapshot_free(other); /* the first one's contents */
}
END_TEST

static Suite *rrl_suite(void)
{
	Suite *s = suite_create("rrl");
	TCase *tl = tcase_create("limiter");
	TCase *ta = tcase_create("answer");

	tcase_add_checked_fixture(tl, limiter_setup, limiter_teardown);
	tcase_add_test(tl, burst_then_rate);
	tcase_add_test(tl, rate_in_between);
	tcase_add_test(tl, classes_apart);
	tcase_add_test(tl, rate_zero_is_unlimited);
	tcase_add_test(tl, names_apart);
	tcase_add_test(tl, ipv4_prefix);
	tcase_add_test(tl, ipv6_prefix);
	tcase_add_test(tl, exempt_networks);
	tcase_add_test(tl, valid_cookie_never_limited);
	tcase_add_test(tl, tcp_never_limited);
	tcase_add_test(tl, unknown_client_or_off);
	tcase_add_test(tl, slip_counting);
	tcase_add_test(tl, slip_counted_per_bucket);
	tcase_add_test(tl, log_only_counts_sends);
	tcase_add_test(tl, log_lines_limited);
	tcase_add_test(tl, clock_wraps);
	tcase_add_test(tl, collisions_share);
	tcase_add_test(tl, table_bounded);
	suite_add_tcase(s, tl);

	tcase_add_checked_fixture(ta, answer_setup, answer_teardown);
	tcase_add_test(ta, slipped_response);
	tcase_add_test(ta, dropped_response);
	tcase_add_test(ta, buckets_by_kind);
	tcase_add_test(ta, off_without_table);
	tcase_add_test(ta, new_snapshot_at_a_freed_ones_address);
	suite_add_tcase(s, ta);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	tu_dir(); /* made here, shared by the forked tests, removed at exit */
	sr = srunner_create(rrl_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
