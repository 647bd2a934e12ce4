/* check_alloc.c -- the answer path allocates nothing: malloc and friends are
 * interposed with counting versions, and every kind of answer is produced
 * many times after warm-up with the count required to stay at zero. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "daemon/stats.h"
#include "dns/answer.h"
#include "data/conf.h"
#include "health/health.h"
#include "health/probe.h"
#include "data/snapshot.h"

/* Interposition does not mix with the sanitizers' own malloc. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifndef SANITIZED
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static volatile unsigned long allocations;

void *malloc(size_t n)
{
	allocations++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	allocations++;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	allocations++;
	return __libc_realloc(p, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	allocations++;
	return __libc_memalign(a, n);
}

int posix_memalign(void **p, size_t a, size_t n)
{
	allocations++;
	*p = __libc_memalign(a, n);
	return *p ? 0 : 12;
}

static const char zone_text[] =
	"$ORIGIN lb.test.\n$TTL 300\n"
	"@ IN SOA ns1 host 1 2 3 4 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
	"static IN A 192.0.2.2\nstatic IN TXT \"x\"\n*.wild IN A 192.0.2.3\n"
	"c1 IN CNAME c2\nc2 IN CNAME www\nsub IN NS ns.sub\nns.sub IN A 192.0.2.53\n"
	"a.b.c IN A 192.0.2.4\nmx IN MX 10 www\nmx IN MX 20 rr\nmx IN MX 30 static\n"
	"_s._tcp IN SRV 0 0 80 www\n";

static const char conf_fmt[] =
	"listen = [\"127.0.0.1:0\"];\n"
	"nsid = \"alloc-test\";\n"
	"zones = ( { origin = \"lb.test\"; file = \"%s\"; } );\n"
	"checks = ( { name = \"t\"; type = \"tcp\"; port = 9; } );\n"
	"pools = ( { name = \"w\"; owners = [\"www.lb.test\"]; policy = \"weighted\"; answers = 2;\n"
	"  check = \"t\"; backup = \"b\";\n"
	"  members = ( {address=\"192.0.2.10\"; weight=3;}, {address=\"192.0.2.11\";},\n"
	"              {address=\"2001:db8::1\";} ); },\n"
	"  { name = \"b\"; owners = [\"rr.lb.test\"]; check = \"t\";\n"
	"  members = ( {address=\"198.51.100.1\";}, {address=\"198.51.100.2\";} ); } );\n"
	"rate_limit = { responses_per_second = 5; errors_per_second = 2; slip = 2;\n"
	"  exempt = [ \"203.0.113.0/24\" ]; };\n";

struct q {
	const char *name;
	uint16_t type, class, flags;
	bool edns;
	uint8_t version;
};

static const struct q queries[] = {
	{ "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, TU_RD, true, 0 },
	{ "WWW.lb.test", DNS_TYPE_AAAA, DNS_CLASS_IN, 0, false, 0 },
	{ "rr.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, true, 0 },
	{ "static.lb.test", DNS_TYPE_TXT, DNS_CLASS_IN, 0, true, 0 },
	{ "static.lb.test", DNS_TYPE_ANY, DNS_CLASS_IN, 0, false, 0 },
	{ "x.wild.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, true, 0 },
	{ "x.wild.lb.test", DNS_TYPE_MX, DNS_CLASS_IN, 0, true, 0 },
	{ "c1.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, true, 0 },
	{ "lb.test", DNS_TYPE_NS, DNS_CLASS_IN, 0, false, 0 },
	{ "mx.lb.test", DNS_TYPE_MX, DNS_CLASS_IN, 0, true, 0 },
	{ "mx.lb.test", DNS_TYPE_MX, DNS_CLASS_IN, 0, false, 0 },
	{ "_s._tcp.lb.test", DNS_TYPE_SRV, DNS_CLASS_IN, 0, true, 0 },
	{ "deep.sub.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, true, 0 },
	{ "nx.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, true, 0 },
	{ "b.c.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, false, 0 },
	{ "example.com", DNS_TYPE_A, DNS_CLASS_IN, 0, true, 0 },
	{ "version.bind", DNS_TYPE_TXT, DNS_CLASS_CH, 0, false, 0 },
	{ "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, 0, true, 1 },
	{ "www.lb.test", DNS_TYPE_AXFR, DNS_CLASS_IN, 0, false, 0 },
	{ "www.lb.test", DNS_TYPE_A, DNS_CLASS_IN, TU_OPCODE(4), false, 0 },
};

static struct snapshot *snap;
static struct health_table *health;
static struct health_entry *entries[8];
static size_t nentries;
static struct stats *stats;
static struct stats_worker *counters;
static struct sockaddr_storage client; /* 192.0.2.99: cookies need an address */
static uint8_t server_cookie[16];      /* learned in the warm-up, then sent back */
/* Clients the rate-limit test's queries come from, in turn (none: @client). */
static struct sockaddr_storage clients[4];
static size_t nclients, next_client;

static void setup(void)
{
	char zpath[PATH_MAX], cpath[PATH_MAX], text[PATH_MAX + 1024];
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
	counters = stats_worker_new(stats);
	stats_bind_pools(stats, snap->pools, snap->npools);
	client.ss_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.99", &((struct sockaddr_in *)&client)->sin_addr);
	nentries = 0;
	for (size_t i = 0; i < snap->nspecs && nentries < 8; i++) {
		entries[nentries++] = snap->specs[i]->entry;
	}
}

static void teardown(void)
{
	snapshot_free(snap);
	health_table_free(health);
	stats_free(stats);
}

/* answer_query() as a transport calls it, with a request of its own, and
 * the request counted as the transport counts it. */
static size_t answer_as(struct answer_ctx *c, const struct snapshot *s, const uint8_t *pkt,
			size_t len, uint8_t *out, size_t size, bool tcp)
{
	struct request req;
	size_t n;

	req.client = nclients ? &clients[next_client++ % nclients] : &client;
	req.transport = tcp ? TRANSPORT_TCP : TRANSPORT_UDP;
	n = answer_query(c, s, &req, pkt, len, out, size);
	stats_count(counters, &req);
	answer_ctx_log(c); /* what the UDP thread does after a batch */
	return n;
}

/* @q with EDNS, NSID asked and a COOKIE option: the client cookie, then
 * server_cookie when @full. */
static size_t with_options(uint8_t *pkt, uint16_t id, const struct q *q, bool full)
{
	uint8_t c[24] = { 1, 2, 3, 4, 5, 6, 7, 8 }, opts[64];
	size_t n = tu_option(opts, DNS_EDNS_NSID, NULL, 0);

	memcpy(c + 8, server_cookie, sizeof(server_cookie));
	n += tu_option(opts + n, DNS_EDNS_COOKIE, c, full ? 24 : 8);
	return tu_add_opt_raw(pkt, tu_query(pkt, id, q->flags, q->name, q->type, q->class), 1232,
			      opts, n);
}

/* Returns how many queries got no answer. No ck_assert in here: Check's
 * own bookkeeping allocates on every assertion. */
static unsigned answer_all(struct answer_ctx *ctx, unsigned rounds)
{
	static uint8_t pkt[512], resp[65535];
	unsigned unanswered = 0;

	for (unsigned r = 0; r < rounds; r++) {
		for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
			const struct q *q = &queries[i];
			size_t len = tu_query(pkt, (uint16_t)(r + i), q->flags, q->name, q->type,
					      q->class);
			if (q->edns) {
				len = tu_add_opt(pkt, len, 1232, true, q->version, 10, 8);
			}
			unanswered += answer_as(ctx, snap, pkt, len, resp, 4096, false) == 0;
			answer_as(ctx, snap, pkt, len, resp, sizeof(resp), true);
			/* NSID asked, a client cookie alone (a server cookie is
			 * made), then the server cookie sent back (checked). */
			len = with_options(pkt, (uint16_t)(r + i), q, false);
			unanswered += answer_as(ctx, snap, pkt, len, resp, 4096, false) == 0;
			len = with_options(pkt, (uint16_t)(r + i), q, true);
			unanswered += answer_as(ctx, snap, pkt, len, resp, 4096, false) == 0;
			/* A malformed one: cut in the middle of the question. */
			answer_as(ctx, snap, pkt, 15, resp, 4096, false);
		}
	}
	return unanswered;
}

START_TEST(counter_works)
{
	unsigned long before = allocations;
	void *p = malloc(16);

	ck_assert_uint_eq(allocations, before + 1);
	free(p);
}
END_TEST

START_TEST(answer_path_allocates_nothing)
{
	struct answer_ctx ctx;
	unsigned long before;

	answer_ctx_init(&ctx, 42);
	answer_ctx_use(&ctx, snap); /* sizing the worker's state may allocate, once */
	{
		static uint8_t pkt[512], resp[4096];
		struct tu_resp r;
		size_t n = answer_as(&ctx, snap, pkt, with_options(pkt, 1, &queries[0], false), resp,
				     sizeof(resp), false);
		ck_assert_int_eq(tu_parse(&r, resp, n), 0);
		ck_assert_uint_eq(r.opt->rdlen, 4 + 10 + 4 + 24); /* NSID and COOKIE */
		memcpy(server_cookie, r.opt->rdata + 4 + 10 + 4 + 8, sizeof(server_cookie));
	}
	answer_all(&ctx, 2);
	before = allocations;
	unsigned unanswered = answer_all(&ctx, 500);
	unsigned long used = allocations - before;
	ck_assert_uint_eq(unanswered, 0);
	ck_assert_uint_eq(used, 0);

	/* Also with members down: backup chain and last resort paths. */
	for (size_t i = 0; i < nentries; i++) {
		health_record(health, entries[i], false, "test", 0, 1, 1, 1.0);
	}
	before = allocations;
	unanswered = answer_all(&ctx, 200);
	used = allocations - before;
	ck_assert_uint_eq(unanswered, 0);
	ck_assert_uint_eq(used, 0);
	{
		struct stats_totals t;
		stats_sum(stats, &t); /* the cookie paths did run: made and checked */
		ck_assert_uint_gt(t.cookie[COOKIE_CLIENT_ONLY], 700);
		ck_assert_uint_gt(t.cookie[COOKIE_VALID], 700);
		stats_totals_clear(&t);
	}
	answer_ctx_clear(&ctx);
}
END_TEST

static void set_client(struct sockaddr_storage *ss, const char *text)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':')) {
		ss->ss_family = AF_INET6;
		inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)ss)->sin6_addr);
	} else {
		ss->ss_family = AF_INET;
		inet_pton(AF_INET, text, &((struct sockaddr_in *)ss)->sin_addr);
	}
}

/* The same with rate limiting on: clients in and out of limits, responses
 * passed, slipped (rewritten) and dropped, an exempt network, the log. */
START_TEST(rate_limited_path_allocates_nothing)
{
	struct answer_ctx ctx;
	struct rrl_table *table = rrl_table_new(snap->conf->rate_limit->table_size);
	unsigned long before, used;
	uint64_t limited;

	snap->rrl = table; /* what the daemon does */
	set_client(&clients[0], "192.0.2.1");
	set_client(&clients[1], "192.0.2.77"); /* the same /24 */
	set_client(&clients[2], "203.0.113.9"); /* exempt */
	set_client(&clients[3], "2001:db8::53");
	nclients = 4;
	answer_ctx_init(&ctx, 42);
	answer_ctx_use(&ctx, snap);
	ck_assert_ptr_eq(ctx.rrl.table, table);
	answer_all(&ctx, 2);
	before = allocations;
	answer_all(&ctx, 500);
	answer_ctx_use(&ctx, snap); /* a new batch: the clock again */
	answer_all(&ctx, 100);
	used = allocations - before;
	limited = atomic_load(&counters->limit[RATE_SLIPPED]) +
		  atomic_load(&counters->limit[RATE_DROPPED]);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_gt(atomic_load(&counters->limit[RATE_SLIPPED]), 1000);
	ck_assert_uint_gt(atomic_load(&counters->limit[RATE_DROPPED]), 1000);
	ck_assert_uint_gt(limited, 10000);
	answer_ctx_clear(&ctx);
	nclients = 0;
	snap->rrl = NULL;
	rrl_table_free(table);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, counter_works);
	tcase_add_test(tc, answer_path_allocates_nothing);
	tcase_add_test(tc, rate_limited_path_allocates_nothing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
#else
int main(void)
{
	puts("check_alloc: skipped under AddressSanitizer or ThreadSanitizer (they own malloc)");
	return 77;
}
#endif
