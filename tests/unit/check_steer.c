/* check_steer.c -- unit tests for src/lb/steer.c and what it reads: the agent reply and
 * http weight parsers, the weight math (normalisation, shifts, the slow-start curve),
 * durations and RFC 3339 times, answers following effective weights, timed drains,
 * ramps, shifts stepping and rolling back, and the state file's new lines. */
#include "config.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <check.h>

#include "data/snapshot.h"
#include "health/health.h"
#include "health/probe_int.h"
#include "lb/policy.h"
#include "lb/pool.h"
#include "lb/steer.h"
#include "testutil.h"

/* --- the agent protocol ---------------------------------------------------------- */

struct agent_case {
	const char *reply;
	int percent, drain, up;
};

START_TEST(agent_parse_accepts)
{
	static const struct agent_case cases[] = {
	    {"up 75%", 75, -1, 1},
	    {"UP 100%", 100, -1, 1},
	    {"75%", 75, -1, -1},
	    {"0%", 0, -1, -1},
	    {"1000%", 1000, -1, -1},
	    {"0075%", 75, -1, -1},
	    {"drain", -1, 1, -1},
	    {"maint #upgrading the database, back at 6", -1, 1, -1},
	    {"ready,up 50%", 50, 0, 1},
	    {"Up, 12%,ready #x,y z", 12, 0, 1},
	    {"down #disk full", -1, -1, 0},
	    {"fail", -1, -1, 0},
	    {"failed", -1, -1, 0},
	    {"stopped", -1, -1, 0},
	    {"maxconn:30 up", -1, -1, 1},
	    {"up\r", -1, -1, 1},
	    {"up\t50%", 50, -1, 1},
	    {"DRAIN 99%", 99, 1, -1},
	    {"up up", -1, -1, 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct probe_agent_reply r;
		char reason[PROBE_REASON_MAX];
		const struct agent_case *c = &cases[i];
		int rc = probe_agent_parse(c->reply, strlen(c->reply), &r, reason, sizeof(reason));
		ck_assert_msg(rc == 0, "\"%s\" refused: %s", c->reply, reason);
		ck_assert_msg(r.percent == c->percent && r.drain == c->drain && r.up == c->up,
			      "\"%s\": percent %d drain %d up %d", c->reply, r.percent, r.drain,
			      r.up);
		ck_assert_msg(strncmp(reason, "agent: ", 7) == 0, "%s", reason);
	}
}
END_TEST

START_TEST(agent_parse_rejects)
{
	static const char *const cases[][2] = {
	    {"", "agent reply: empty"},
	    {"   ", "agent reply: empty"},
	    {"#only a comment", "agent reply: empty"},
	    {"up 75 percent", "unknown word \"75\""},
	    {"1001%", "weight 1001% out of 0%..1000%"},
	    {"75% 25%", "two weights"},
	    {"up down", "up and down at once"},
	    {"drain ready", "ready and drained at once"},
	    {"%", "unknown word \"%\""},
	    {"-5%", "unknown word \"-5%\""},
	    {"75%%", "unknown word \"75%%\""},
	    {"12345%", "unknown word \"12345%\""},
	    {"00075%", "unknown word \"00075%\""},
	    {"upp", "unknown word \"upp\""},
	    {"maxconn:", "unknown word \"maxconn:\""},
	    {"maxconn:x", "unknown word \"maxconn:x\""},
	    {"up\001", "byte 0x01 at 2 is not printable ASCII"},
	    {"\xff up", "byte 0xff at 0"},
	    {"averyveryveryveryverylongwordthatgoesonandon", "unknown word \"averyvery"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct probe_agent_reply r;
		char reason[PROBE_REASON_MAX];
		int rc =
		    probe_agent_parse(cases[i][0], strlen(cases[i][0]), &r, reason, sizeof(reason));
		ck_assert_msg(rc == -1, "\"%s\" accepted", cases[i][0]);
		ck_assert_msg(strstr(reason, cases[i][1]), "\"%s\": reason \"%s\", want \"%s\"",
			      cases[i][0], reason, cases[i][1]);
	}
}
END_TEST

/* The reply is not NUL-terminated: only @len bytes count. */
START_TEST(agent_parse_reads_len_bytes)
{
	struct probe_agent_reply r;
	char reason[PROBE_REASON_MAX];

	ck_assert_int_eq(probe_agent_parse("up 50%junk", 6, &r, reason, sizeof(reason)), 0);
	ck_assert_int_eq(r.percent, 50);
}
END_TEST

START_TEST(http_weight_parse)
{
	static const char *const good[] = {"75", "75%", " 75 ", "0", "1000%", "\t30\r\n"};
	static const int want[] = {75, 75, 75, 0, 1000, 30};
	static const char *const bad[] = {"",	" ",	"%",   "1001", "7x",
					  "-1", "75 %", "1.5", "lots", "99999999"};
	int pct;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(probe_weight_parse(good[i], strlen(good[i]), &pct) == 0, "%s",
			      good[i]);
		ck_assert_int_eq(pct, want[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(probe_weight_parse(bad[i], strlen(bad[i]), &pct) == -1, "\"%s\"",
			      bad[i]);
	}
}
END_TEST

/* --- weight math -------------------------------------------------------------------- */

START_TEST(ramp_curve)
{
	ck_assert_double_eq(steer_ramp_factor(0, 10), STEER_RAMP_MIN);
	ck_assert_double_eq_tol(steer_ramp_factor(5, 10), 0.525, 1e-9);
	ck_assert_double_eq(steer_ramp_factor(10, 10), 1);
	ck_assert_double_eq(steer_ramp_factor(11, 10), 1);
	ck_assert_double_eq(steer_ramp_factor(3, 0), 1);		/* no slow start */
	ck_assert_double_eq(steer_ramp_factor(-1, 10), STEER_RAMP_MIN); /* clock stepped back */
	for (double t = 0, last = 0; t <= 10; t += 0.25) {
		double f = steer_ramp_factor(t, 10);
		ck_assert(f >= last);
		/* linear: equal steps in time give equal steps in weight */
		ck_assert_double_eq_tol(f, STEER_RAMP_MIN + (1 - STEER_RAMP_MIN) * t / 10, 1e-9);
		last = f;
	}
}
END_TEST

START_TEST(normalize_keeps_integers_scales_fractions)
{
	uint32_t w[4];
	double ints[4] = {3, 1, 2, 1000000};
	double zero[4] = {3, 1, 0, 4};
	double frac[4] = {0.5, 1.5, 0, 2};

	steer_normalize(w, ints, 4);
	ck_assert_uint_eq(w[0], 3);
	ck_assert_uint_eq(w[1], 1);
	ck_assert_uint_eq(w[2], 2);
	ck_assert_uint_eq(w[3], 1000000);
	/* A 0 is scaled to 1 in 2^30, never 1 among small integers. */
	steer_normalize(w, zero, 4);
	ck_assert_uint_eq(w[2], 1);
	ck_assert_double_eq_tol((double)w[3] / w[1], 4.0, 1e-6);
	steer_normalize(w, frac, 4);
	ck_assert_double_eq_tol((double)w[1] / w[0], 3.0, 1e-6);
	ck_assert_double_eq_tol((double)w[3] / w[0], 4.0, 1e-6);
	ck_assert_uint_eq(w[2], 1);
	ck_assert_uint_le((uint64_t)w[0] + w[1] + w[2] + w[3], (uint64_t)STEER_SCALE + 4);
}
END_TEST

START_TEST(shift_apply_shares)
{
	double x[4] = {1, 1, 3, 5};
	bool dest[4] = {false, false, true, true};
	bool up[4] = {true, true, true, false};
	double d, o;

	steer_shift_apply(x, dest, up, 4, 0.9);
	d = x[2];
	o = x[0] + x[1];
	ck_assert_double_eq_tol(d / (d + o), 0.9, 1e-9); /* among members up */
	ck_assert_double_eq_tol(x[0], x[1], 1e-12);	 /* proportions inside a side kept */
	ck_assert_double_eq_tol(x[3] / x[2], 5.0 / 3, 1e-9);
	/* Nothing to move to when no destination member is up. */
	{
		double y[2] = {1, 2};
		bool dd[2] = {false, true}, uu[2] = {true, false};
		steer_shift_apply(y, dd, uu, 2, 0.5);
		ck_assert_double_eq(y[0], 1);
		ck_assert_double_eq(y[1], 2);
	}
}
END_TEST

START_TEST(durations)
{
	static const char *const good[] = {"30m", "90s", "2h", "1d", "1.5s", "366d"};
	static const double want[] = {1800, 90, 7200, 86400, 1.5, 366 * 86400.0};
	static const char *const bad[] = {"",	"30",  "m",   "-5m", "5x", "400d",
					  "0s", "5mm", " 5m", "nan", "inf"};
	char err[200];
	double v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(steer_parse_duration(good[i], &v, err, sizeof(err)) == 0, "%s: %s",
			      good[i], err);
		ck_assert_double_eq(v, want[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(steer_parse_duration(bad[i], &v, err, sizeof(err)) == -1, "\"%s\"",
			      bad[i]);
		ck_assert_msg(strstr(err, "bad duration"), "%s", err);
	}
}
END_TEST

START_TEST(times)
{
	static const char *const bad[] = {
	    "",
	    "2026-12-24",
	    "2026-12-24T06:00",
	    "2026-12-24 06:00Z",
	    "2026-12-24T06:00+01:00",
	    "2026-12-24T24:00Z",
	    "2026-02-30T00:00Z",
	    "2026-13-01T00:00Z",
	    "2026-12-24T06:00:60Z",
	    "2026-12-24T6:00Z",
	    "26-12-24T06:00Z",
	    "2026-12-24T06:00ZZ",
	    "1969-12-31T23:59Z",
	    "2026-12-24T06:00:0Z",
	};
	char err[200];
	double v;

	ck_assert_int_eq(steer_parse_time("2026-12-24T06:00Z", &v, err, sizeof(err)), 0);
	ck_assert_double_eq(v, 1798092000);
	ck_assert_int_eq(steer_parse_time("2026-12-24t06:00:00z", &v, err, sizeof(err)), 0);
	ck_assert_double_eq(v, 1798092000);
	ck_assert_int_eq(steer_parse_time("2028-02-29T23:59:59+00:00", &v, err, sizeof(err)), 0);
	ck_assert_double_eq(v, 1835481599);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(steer_parse_time(bad[i], &v, err, sizeof(err)) == -1,
			      "\"%s\" accepted", bad[i]);
		ck_assert_msg(strstr(err, "expected RFC 3339 in UTC"), "%s", err);
	}
}
END_TEST

/* --- effective weights in a pool ------------------------------------------------- */

static struct conf_member members[4];
static struct conf_pool cp;
static struct pool pool;
static struct snapshot snap;
static struct health_table *ht;
static struct health_entry *probe_e[4];
static struct pool_state st;
static struct request req;

/* Pool "p": four IPv4 members of weight 1 (192.0.2.1 .. 4), weighted, one
 * answer, each with a probe entry and an admin entry in ht, every one up;
 * member 4 (index 3) in group "green". */
static void setup(void)
{
	memset(members, 0, sizeof(members));
	for (int i = 0; i < 4; i++) {
		char a[32];
		snprintf(a, sizeof(a), "192.0.2.%d", i + 1);
		members[i].family = AF_INET;
		inet_pton(AF_INET, a, members[i].addr);
		members[i].weight = 1;
		members[i].group = i == 3 ? "green" : NULL;
	}
	memset(&cp, 0, sizeof(cp));
	cp.name = "p";
	cp.policy = policy_find("weighted");
	cp.answers = 1;
	cp.ttl = 30;
	cp.members = members;
	cp.nmembers = 4;
	cp.min_healthy = 1;
	pool_init(&pool, &cp, 0);
	ht = health_table_new();
	pool.checked = true;
	for (unsigned i = 0; i < 4; i++) {
		char target[64];
		snprintf(target, sizeof(target), "%s:80", pool.v4.text[i]);
		probe_e[i] = health_get(ht, target, "c", "agent", true);
		pool.v4.hword[i] = health_entry_word(probe_e[i]);
		pool.v4.aword[i] = health_entry_word(health_get_admin(ht, "p", pool.v4.text[i]));
	}
	memset(&snap, 0, sizeof(snap));
	snap.pools = &pool;
	snap.npools = 1;
	pool_state_init(&st, 777);
	pool_state_reserve(&st, 1);
}

static void teardown(void)
{
	pool_clear(&pool);
	health_table_free(ht);
	ht = NULL;
	pool_state_clear(&st);
}

/* Refresh at @now; the replaced sets are freed at once (no workers here). */
static double refresh(struct steer *s, double now)
{
	struct steer_retired r = {NULL, 0, 0};
	double next = steer_refresh(s, &snap, now, &r);

	steer_retired_free(&r);
	return next;
}

/* Draw @n answers through pool_write into @count (by member index). */
static void draw(unsigned *count, unsigned n)
{
	uint8_t out[512];
	size_t written;

	memset(count, 0, 4 * sizeof(*count));
	for (unsigned q = 0; q < n; q++) {
		int k =
		    pool_write(out, sizeof(out), &written, &pool, DNS_TYPE_A, 12, &st, ht, &req);
		ck_assert_int_eq(k, 1);
		count[out[15] - 1]++;
	}
}

/* Pearson's chi-square of @count against @share (0 shares must be 0 counts);
 * below the p = 0.001 critical value for the degrees of freedom. */
static void assert_follows(const unsigned *count, const double *share, unsigned n)
{
	static const double crit[] = {0, 10.83, 13.82, 16.27};
	double x = 0;
	int df = -1;

	for (int i = 0; i < 4; i++) {
		if (share[i] == 0) {
			ck_assert_msg(count[i] == 0, "member %d drawn %u times", i + 1, count[i]);
			continue;
		}
		df++;
		x += (count[i] - n * share[i]) * (count[i] - n * share[i]) / (n * share[i]);
	}
	ck_assert_msg(x < crit[df], "counts %u %u %u %u, chi2 %.2f (df %d)", count[0], count[1],
		      count[2], count[3], x, df);
}

START_TEST(answers_follow_effective_weights)
{
	struct steer *s = steer_new(ht);
	unsigned count[4];
	int32_t was;
	enum { N = 200000 };

	refresh(s, 1000);
	draw(count, N);
	assert_follows(count, (double[]){0.25, 0.25, 0.25, 0.25}, N);
	/* configured 1 x reported 50% ; runtime 3 ; reported 0% drains */
	health_report_weight(ht, probe_e[0], 50, -1);
	ck_assert_int_eq(health_weight_set(ht, "p", "192.0.2.2", 3, &was), 0);
	ck_assert_int_eq(was, -1);
	health_report_weight(ht, probe_e[3], 0, -1);
	ck_assert(steer_stale(s));
	refresh(s, 1001);
	ck_assert(!steer_stale(s));
	draw(count, N);
	assert_follows(count, (double[]){0.5 / 4.5, 3 / 4.5, 1 / 4.5, 0}, N);
	/* An agent that says drain takes its member out; 100% brings the other back. */
	health_report_weight(ht, probe_e[3], 100, -1);
	health_report_weight(ht, probe_e[0], -1, 1); /* agent: drain */
	refresh(s, 1002);
	draw(count, N);
	assert_follows(count, (double[]){0, 3 / 5.0, 1 / 5.0, 1 / 5.0}, N);
	steer_free(s);
}
END_TEST

/* What another policy (geo: the members of one datacenter) calls: a draw
 * among some candidates by the published effective weights. */
START_TEST(draw_among_candidates)
{
	struct steer *s = steer_new(ht);
	const uint16_t cand[2] = {1, 3}, all[4] = {0, 1, 2, 3};
	unsigned count[4] = {0};
	int32_t was;
	enum { N = 100000 };

	ck_assert_int_eq(health_weight_set(ht, "p", "192.0.2.4", 3, &was), 0);
	refresh(s, 1000);
	for (unsigned q = 0; q < N; q++) {
		count[cand[pool_weights_draw(pool_weights_get(&pool.v4), cand, 2, &st)]]++;
	}
	assert_follows(count, (double[]){0, 0.25, 0, 0.75}, N);
	memset(count, 0, sizeof(count));
	for (unsigned q = 0; q < N; q++) {
		count[all[pool_weights_draw(pool_weights_get(&pool.v4), all, 4, &st)]]++;
	}
	assert_follows(count, (double[]){1 / 6.0, 1 / 6.0, 1 / 6.0, 3 / 6.0}, N);
	steer_free(s);
}
END_TEST

START_TEST(unchanged_weights_are_not_republished)
{
	struct steer *s = steer_new(ht);
	const struct pool_weights *w;

	refresh(s, 1000);
	w = pool_weights_get(&pool.v4);
	ck_assert_uint_eq(w->wsum, 4); /* static: the configured integers */
	health_mark_dirty(ht);
	refresh(s, 1001);
	ck_assert_ptr_eq(pool_weights_get(&pool.v4), w);
	health_report_weight(ht, probe_e[1], 200, -1);
	refresh(s, 1002);
	ck_assert_ptr_ne(pool_weights_get(&pool.v4), w);
	ck_assert_uint_eq(pool_weights_get(&pool.v4)->weight[1], 2);
	steer_free(s);
}
END_TEST

START_TEST(slow_start_ramps_after_coming_up)
{
	struct steer *s = steer_new(ht);
	const struct pool_weights *w;
	struct health_info h;
	double next;

	pool.v4.slow_start[1] = 10;
	refresh(s, 1000); /* up from the start: no ramp */
	ck_assert_uint_eq(pool_weights_get(&pool.v4)->weight[1], 1);
	health_record(ht, probe_e[1], false, "refused", 1, 1, 1, 1000.5);
	refresh(s, 1001);
	health_record(ht, probe_e[1], true, "ok", 1, 1, 1, 1001.5);
	next = refresh(s, 1002);
	ck_assert_double_eq_tol(next, 1002.5, 1e-9); /* steps of 10/20 s */
	ck_assert(health_info_by_word(ht, pool.v4.aword[1], &h));
	ck_assert_double_eq(h.ramp_start, 1002);
	w = pool_weights_get(&pool.v4);
	ck_assert_double_eq_tol((double)w->weight[1] / w->weight[0], STEER_RAMP_MIN, 1e-6);
	refresh(s, 1007);
	w = pool_weights_get(&pool.v4);
	ck_assert_double_eq_tol((double)w->weight[1] / w->weight[0], 0.525, 1e-6);
	refresh(s, 1012);
	w = pool_weights_get(&pool.v4);
	ck_assert_uint_eq(w->weight[1], w->weight[0]);
	ck_assert(health_info_by_word(ht, pool.v4.aword[1], &h));
	ck_assert_double_eq(h.ramp_start, 0); /* over */
	/* An undrain is a coming up too. */
	{
		enum health_admin was;
		ck_assert_int_eq(health_admin_set(ht, "p", "192.0.2.2", ADMIN_DRAINED, &was), 0);
		refresh(s, 1013);
		ck_assert_int_eq(health_admin_set(ht, "p", "192.0.2.2", ADMIN_NONE, &was), 0);
		refresh(s, 1014);
		ck_assert(health_info_by_word(ht, pool.v4.aword[1], &h));
		ck_assert_double_eq(h.ramp_start, 1014);
	}
	steer_free(s);
}
END_TEST

START_TEST(timed_drain_expires)
{
	struct steer *s = steer_new(ht);
	enum health_admin was;
	double next;

	ck_assert_int_eq(health_admin_set_until(ht, "p", "192.0.2.3", ADMIN_DRAINED, 1100, &was),
			 0);
	next = refresh(s, 1000);
	ck_assert_double_eq(next, 1100);
	ck_assert(!health_member_up(ht, pool.v4.hword[2], pool.v4.aword[2]));
	refresh(s, 1099.9);
	ck_assert(!health_member_up(ht, pool.v4.hword[2], pool.v4.aword[2]));
	next = refresh(s, 1100);
	ck_assert(health_member_up(ht, pool.v4.hword[2], pool.v4.aword[2]));
	ck_assert_double_eq(next, 0);
	/* An undrain ends a timed drain; a plain drain has no end. */
	health_admin_set_until(ht, "p", "192.0.2.3", ADMIN_DRAINED, 1200, &was);
	health_admin_set(ht, "p", "192.0.2.3", ADMIN_NONE, &was);
	health_admin_set(ht, "p", "192.0.2.3", ADMIN_DRAINED, &was);
	refresh(s, 5000);
	ck_assert(!health_member_up(ht, pool.v4.hword[2], pool.v4.aword[2]));
	steer_free(s);
}
END_TEST

static double green_share(void)
{
	const struct pool_weights *w = pool_weights_get(&pool.v4);

	return (double)w->weight[3] / w->wsum;
}

START_TEST(shift_steps_to_done)
{
	struct steer *s = steer_new(ht);
	struct sbuf msg;

	sb_init(&msg);
	refresh(s, 0);
	ck_assert_int_eq(steer_shift_start(s, &snap, "p", "purple", 25, 10, 0, 0, &msg), -1);
	ck_assert_str_eq(msg.p, "pool p has no member in group or with address purple");
	msg.len = 0;
	ck_assert_int_eq(steer_shift_start(s, &snap, "p", "green", 25, 10, 0, 0, &msg), 0);
	ck_assert_str_eq(msg.p, "pool p: shifting to green, 25 points every 10 s, from 25%");
	refresh(s, 0);
	ck_assert_double_eq_tol(green_share(), 0.5, 1e-6); /* the first step at once */
	refresh(s, 5);
	ck_assert_double_eq_tol(green_share(), 0.5, 1e-6);
	refresh(s, 10);
	ck_assert_double_eq_tol(green_share(), 0.75, 1e-6);
	msg.len = 0;
	ck_assert_int_eq(steer_shift_control(s, "p", "pause", 11, &msg), 0);
	refresh(s, 30);
	ck_assert_double_eq_tol(green_share(), 0.75, 1e-6);
	steer_shift_control(s, "p", "resume", 31, &msg);
	refresh(s, 41);
	ck_assert_double_eq_tol(green_share(), 1, 1e-6);
	msg.len = 0;
	steer_shift_text(s, &pool, &msg);
	ck_assert_msg(strstr(msg.p, "shift to green: done"), "%s", msg.p);
	/* The address of one member works as a group of one (a canary). */
	msg.len = 0;
	steer_shift_control(s, "p", "rollback", 50, &msg);
	refresh(s, 50);
	ck_assert_double_eq_tol(green_share(), 0.25, 1e-6);
	msg.len = 0;
	ck_assert_int_eq(steer_shift_start(s, &snap, "p", "192.0.2.1", 10, 60, 0, 60, &msg), 0);
	refresh(s, 60);
	{
		const struct pool_weights *w = pool_weights_get(&pool.v4);
		ck_assert_double_eq_tol((double)w->weight[0] / w->wsum, 0.35, 1e-6);
	}
	sb_clear(&msg);
	steer_free(s);
}
END_TEST

START_TEST(shift_holds_and_rolls_back)
{
	struct steer *s = steer_new(ht);
	struct sbuf msg;

	sb_init(&msg);
	/* Two green members; a shift needing both. */
	pool.v4.group[2] = strdup("green");
	refresh(s, 0);
	ck_assert_int_eq(steer_shift_start(s, &snap, "p", "green", 10, 10, 2, 0, &msg), 0);
	refresh(s, 0);
	ck_assert_double_eq_tol(green_share(), 0.6 / 2, 1e-6);
	/* A green member reporting little holds it. */
	health_report_weight(ht, probe_e[2], 20, -1);
	refresh(s, 10);
	msg.len = 0;
	steer_shift_text(s, &pool, &msg);
	ck_assert_msg(strstr(msg.p, "held") && strstr(msg.p, "reports under 50%"), "%s", msg.p);
	refresh(s, 30);
	health_report_weight(ht, probe_e[2], 100, -1);
	refresh(s, 31);
	refresh(s, 41);
	msg.len = 0;
	steer_shift_text(s, &pool, &msg);
	ck_assert_msg(strstr(msg.p, "running, step 2"), "%s", msg.p);
	/* One green member down: fewer than 2, rolled back at once. */
	health_record(ht, probe_e[3], false, "refused", 1, 1, 1, 42);
	refresh(s, 42);
	msg.len = 0;
	steer_shift_text(s, &pool, &msg);
	ck_assert_msg(strstr(msg.p, "rolled-back") &&
			  strstr(msg.p, "destination green has 1 of 2 members up, below "
					"min_healthy 2"),
		      "%s", msg.p);
	health_record(ht, probe_e[3], true, "ok", 1, 1, 1, 43);
	refresh(s, 43);
	ck_assert_double_eq_tol(green_share(), 0.25, 1e-6); /* the starting weights */
	sb_clear(&msg);
	steer_free(s);
}
END_TEST

/* --- the state file --------------------------------------------------------------- */

START_TEST(state_file_new_lines_round_trip)
{
	char path[PATH_MAX], text[4096];
	struct health_table *t = health_table_new();
	struct health_entry *a, *b;
	struct health_info h;
	struct steer *s;
	FILE *f;
	size_t n;

	tu_write(path, "steer.state",
		 "# an old file's lines and the new ones\n"
		 "health 192.0.2.1:80/c up\n"
		 "admin p/192.0.2.1 drained 4102444800\n"
		 "weight p/192.0.2.2 7\n"
		 "ramp p/192.0.2.2 1000.5\n"
		 "admin p/192.0.2.3 drained\n"
		 "weight p/192.0.2.4 lots\n"
		 "shift p to=green step=10 every=60.000 min=0 steps=3 s4=0.250000 s6=1.000000 "
		 "state=held next=2000.000 started=1000.000 nsteps=3 nholds=1 nrollbacks=0\n");
	ck_assert_int_eq(health_load_state(t, path, geteuid()), 0);
	s = steer_new(t); /* takes the shift line */
	health_build_begin(t);
	a = health_get_admin(t, "p", "192.0.2.1");
	b = health_get_admin(t, "p", "192.0.2.2");
	health_get_admin(t, "p", "192.0.2.3");
	ck_assert(health_info_by_word(t, health_entry_word(a), &h));
	ck_assert_int_eq(h.admin, ADMIN_DRAINED);
	ck_assert_double_eq(h.drain_until, 4102444800.0);
	ck_assert(health_info_by_word(t, health_entry_word(b), &h));
	ck_assert_int_eq(h.runtime, 7);
	ck_assert_double_eq(h.ramp_start, 1000.5);
	health_retain(t, NULL, 0);
	ck_assert_int_eq(health_save_state(t), 0);
	f = fopen(path, "r");
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	ck_assert_msg(strstr(text, "admin p/192.0.2.1 drained 4102444800.000\n"), "%s", text);
	ck_assert_msg(strstr(text, "weight p/192.0.2.2 7\n"), "%s", text);
	ck_assert_msg(strstr(text, "ramp p/192.0.2.2 1000.500\n"), "%s", text);
	ck_assert_msg(strstr(text, "admin p/192.0.2.3 drained\n"), "%s", text);
	ck_assert_msg(strstr(text, "shift p to=green step=10 every=60.000 min=0 steps=3 "
				   "s4=0.250000 s6=1.000000 state=held next=2000.000"),
		      "%s", text);
	steer_free(s);
	health_table_free(t);
}
END_TEST

static Suite *steer_suite(void)
{
	Suite *s = suite_create("steer");
	TCase *tp = tcase_create("parsers");
	TCase *tm = tcase_create("math");
	TCase *tw = tcase_create("weights");

	tcase_add_test(tp, agent_parse_accepts);
	tcase_add_test(tp, agent_parse_rejects);
	tcase_add_test(tp, agent_parse_reads_len_bytes);
	tcase_add_test(tp, http_weight_parse);
	tcase_add_test(tp, durations);
	tcase_add_test(tp, times);
	suite_add_tcase(s, tp);
	tcase_add_test(tm, ramp_curve);
	tcase_add_test(tm, normalize_keeps_integers_scales_fractions);
	tcase_add_test(tm, shift_apply_shares);
	suite_add_tcase(s, tm);
	tcase_add_checked_fixture(tw, setup, teardown);
	tcase_set_timeout(tw, 60);
	tcase_add_test(tw, answers_follow_effective_weights);
	tcase_add_test(tw, draw_among_candidates);
	tcase_add_test(tw, unchanged_weights_are_not_republished);
	tcase_add_test(tw, slow_start_ramps_after_coming_up);
	tcase_add_test(tw, timed_drain_expires);
	tcase_add_test(tw, shift_steps_to_done);
	tcase_add_test(tw, shift_holds_and_rolls_back);
	tcase_add_test(tw, state_file_new_lines_round_trip);
	suite_add_tcase(s, tw);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(steer_suite());
	int failed;

	tu_dir();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
