/* check_pool.c -- unit tests for src/lb/pool.c and the pool policies (src/lb/policy*.c):
 * member records, the registry, rotation, weighted draws, a policy plugged in by a test. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <check.h>

#include "health/health.h"
#include "lb/policy.h"
#include "lb/pool.h"
#include "testutil.h"

static struct conf_member members[8];
static struct conf_pool cp;
static struct pool pool;
static struct pool_state st;
static struct request req; /* where pool_write records its source */
static uint8_t out[4096];

static void member(size_t i, const char *address, uint32_t weight)
{
	struct conf_member *m = &members[i];

	memset(m, 0, sizeof(*m));
	if (inet_pton(AF_INET, address, m->addr) == 1) {
		m->family = AF_INET;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, address, m->addr), 1);
		m->family = AF_INET6;
	}
	m->weight = weight;
	m->line = (int)i + 1;
}

/* A pool "p" of @n members (already filled in), made into pool 0 with
 * policy @ops. @answers as the config gives it after the policy's parse
 * hook: 0 means every member. */
static void make_ops(size_t n, const struct policy_ops *ops, unsigned answers)
{
	pool_clear(&pool); /* a test may make more than one */
	pool_state_clear(&st);
	memset(&cp, 0, sizeof(cp));
	cp.name = "p";
	cp.policy = ops;
	cp.answers = answers;
	cp.ttl = 45;
	cp.members = members;
	cp.nmembers = n;
	pool_init(&pool, &cp, 0);
	pool_state_init(&st, 12345);
	pool_state_reserve(&st, 1);
}

/* The same with the registered policy called @policy. */
static void make(size_t n, const char *policy, unsigned answers)
{
	const struct policy_ops *ops = policy_find(policy);

	ck_assert_ptr_nonnull(ops);
	make_ops(n, ops, answers);
}

static struct health_table *ht;

/* Put the pool's members under health table ht, every one up, so pool_write
 * filters them; returns the admin entry of IPv4 member @drain, for the test
 * to drain. */
static struct health_entry *watch_members(unsigned drain)
{
	struct health_entry *ret = NULL;

	ht = health_table_new();
	pool.checked = true;
	for (int fi = 0; fi < 2; fi++) {
		struct pool_family *f = fi == 0 ? &pool.v4 : &pool.v6;
		for (unsigned i = 0; i < f->n; i++) {
			struct health_entry *a;
			f->hword[i] = health_entry_word(health_get(ht, f->text[i], "c", "tcp", true));
			a = health_get_admin(ht, "p", f->text[i]);
			f->aword[i] = health_entry_word(a);
			if (fi == 0 && i == drain) {
				ret = a;
			}
		}
	}
	ck_assert_ptr_nonnull(ret);
	return ret;
}

static void teardown(void)
{
	pool_clear(&pool);
	pool_state_clear(&st);
	health_table_free(ht);
	ht = NULL;
}

/* Write with owner pointer 0x00C (the question name). */
static int write_pool(uint16_t qtype, size_t room, size_t *written)
{
	return pool_write(out, room, written, &pool, qtype, 0x0C, &st, NULL, &req);
}

/* Last octet of the IPv4 address in record @k of out. */
static int last4(int k)
{
	return out[k * POOL_RR4_LEN + 15];
}

START_TEST(init_encodes_records)
{
	member(0, "192.0.2.1", 1);
	member(1, "2001:db8::1", 1);
	member(2, "192.0.2.2", 5);
	member(3, "2001:db8::2", 1);
	member(4, "192.0.2.3", 1);
	make(5, "round-robin", 0);

	ck_assert_str_eq(pool.name, "p");
	ck_assert_ptr_ne(pool.name, cp.name); /* copied */
	ck_assert_uint_eq(pool.index, 0);
	ck_assert_uint_eq(pool.ttl, 45);
	ck_assert_uint_eq(pool.v4.n, 3);
	ck_assert_uint_eq(pool.v6.n, 2);
	ck_assert_uint_eq(pool.v4.answers, 3); /* round-robin default: all */
	ck_assert_uint_eq(pool.v6.answers, 2);
	ck_assert_uint_eq(pool.v4.rrlen, POOL_RR4_LEN);
	ck_assert_uint_eq(pool.v6.rrlen, POOL_RR6_LEN);
	ck_assert_uint_eq(pool.v4.wsum, 7);
	ck_assert_uint_eq(pool_count(&pool, DNS_TYPE_A), 3);
	ck_assert_uint_eq(pool_count(&pool, DNS_TYPE_AAAA), 2);
	/* ptr, type A, class IN, ttl 45, rdlen 4, address: members in order. */
	static const uint8_t rr0[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 45, 0, 4, 192, 0, 2, 1};
	ck_assert_mem_eq(pool.v4.rr, rr0, sizeof(rr0));
	ck_assert_uint_eq(pool.v4.rr[POOL_RR4_LEN + 15], 2);
	ck_assert_uint_eq(pool.v4.rr[2 * POOL_RR4_LEN + 15], 3);
	static const uint8_t rr6[] = {0xC0, 0x0C, 0, DNS_TYPE_AAAA, 0, DNS_CLASS_IN, 0, 0, 0, 45, 0, 16};
	ck_assert_mem_eq(pool.v6.rr, rr6, sizeof(rr6));
	ck_assert_uint_eq(pool.v6.rr[POOL_RR6_LEN - 1], 1);
	ck_assert_uint_eq(pool.v6.rr[2 * POOL_RR6_LEN - 1], 2);
}
END_TEST

/* The policies' defaults of `answers` are set by their parse hooks
 * (check_conf.c: policy_answers_default); what reaches the pool is a number,
 * 0 for every member, whatever the policy. */
START_TEST(answers_as_configured)
{
	member(0, "192.0.2.1", 1);
	member(1, "192.0.2.2", 1);
	make(2, "weighted", 1);
	ck_assert_uint_eq(pool.v4.answers, 1);
	ck_assert_uint_eq(pool_count(&pool, DNS_TYPE_A), 1);
	ck_assert_uint_eq(pool_count(&pool, DNS_TYPE_AAAA), 0);
	make(2, "weighted", 0);
	ck_assert_uint_eq(pool.v4.answers, 2);
	make(2, "round-robin", 1);
	ck_assert_uint_eq(pool.v4.answers, 1);
}
END_TEST

START_TEST(answers_capped_at_members)
{
	member(0, "192.0.2.1", 1);
	member(1, "192.0.2.2", 1);
	make(2, "weighted", 5);
	ck_assert_uint_eq(pool.v4.answers, 2);
}
END_TEST

START_TEST(round_robin_rotates)
{
	size_t w;

	member(0, "192.0.2.1", 1);
	member(1, "192.0.2.2", 1);
	member(2, "192.0.2.3", 1);
	make(3, "round-robin", 0);
	/* Starts 1, 2, 3, 1, 2...; each answer is the whole set in rotated order. */
	for (int i = 0; i < 7; i++) {
		ck_assert_int_eq(write_pool(DNS_TYPE_A, sizeof(out), &w), 3);
		ck_assert_uint_eq(w, 3 * POOL_RR4_LEN);
		for (int j = 0; j < 3; j++) {
			ck_assert_int_eq(last4(j), 1 + (i + j) % 3);
			ck_assert_uint_eq(out[j * POOL_RR4_LEN], 0xC0);
			ck_assert_uint_eq(out[j * POOL_RR4_LEN + 1], 0x0C);
		}
	}
}
END_TEST

START_TEST(round_robin_answers_limit)
{
	size_t w;

	member(0, "192.0.2.1", 1);
	member(1, "192.0.2.2", 1);
	member(2, "192.0.2.3", 1);
	member(3, "192.0.2.4", 1);
	make(4, "round-robin", 2);
	for (int i = 0; i < 8; i++) {
		memset(out, 0xEE, sizeof(out));
		ck_assert_int_eq(write_pool(DNS_TYPE_A, sizeof(out), &w), 2);
		ck_assert_uint_eq(w, 2 * POOL_RR4_LEN);
		ck_assert_int_eq(last4(0), 1 + i % 4);
		ck_assert_int_eq(last4(1), 1 + (i + 1) % 4);
		ck_assert_uint_eq(out[2 * POOL_RR4_LEN], 0xEE); /* nothing past the records */
	}
}
END_TEST

START_TEST(owner_pointer_patched)
{
	size_t w;

	member(0, "192.0.2.1", 1);
	make(1, "round-robin", 0);
	ck_assert_int_eq(pool_write(out, sizeof(out), &w, &pool, DNS_TYPE_A, 0x1234, &st, NULL, &req), 1);
	ck_assert_uint_eq(out[0], 0xC0 | 0x12);
	ck_assert_uint_eq(out[1], 0x34);
	/* The pre-encoded record is not modified. */
	ck_assert_uint_eq(pool.v4.rr[0], 0xC0);
	ck_assert_uint_eq(pool.v4.rr[1], 0x0C);
}
END_TEST

/* 20000 draws from weights 1:3 with one answer. The share of the heavy
 * member is binomial: mean 0.75, sd sqrt(0.75 * 0.25 / 20000) ~ 0.0031, so
 * +-0.02 is more than 6 sd: a correct draw never fails it (the seed is
 * fixed anyway), while a draw that ignored the weights (0.5) or inverted
 * them (0.25) always does. */
START_TEST(weighted_proportions)
{
	size_t w;
	int heavy = 0, light = 0;
	const int draws = 20000;

	member(0, "192.0.2.1", 1);
	member(1, "192.0.2.2", 3);
	make(2, "weighted", 1);
	for (int i = 0; i < draws; i++) {
		ck_assert_int_eq(write_pool(DNS_TYPE_A, sizeof(out), &w), 1);
		ck_assert_uint_eq(w, POOL_RR4_LEN);
		if (last4(0) == 2) {
			heavy++;
		} else {
			ck_assert_int_eq(last4(0), 1);
			light++;
		}
	}
	double share = (double)heavy / draws;
	ck_assert_int_eq(heavy + light, draws);
	ck_assert_double_ge(share, 0.75 - 0.02);
	ck_assert_double_le(share, 0.75 + 0.02);
}
END_TEST

/* With every member up and one answer, the weighted policy searches the sums
 * it prepared instead of scanning: the member must be the one the scan picks
 * for the same random number, so the answers are the same as before. The
 * reference scan draws from a copy of the state. */
START_TEST(weighted_search_matches_scan)
{
	static const uint32_t weights[] = { 2, 7, 1, 5, 1000, 1, 3, 1 };
	size_t w;

	for (size_t i = 0; i < 8; i++) {
		char a[32];
		snprintf(a, sizeof(a), "192.0.2.%zu", i + 1);
		member(i, a, weights[i]);
	}
	make(8, "weighted", 1);
	ck_assert_ptr_nonnull(pool_weights_get(&pool.v4));
	ck_assert_uint_eq(pool_weights_get(&pool.v4)->wsum, pool.v4.wsum); /* static: as configured */
	for (int q = 0; q < 20000; q++) {
		struct pool_state ref = st;
		uint32_t r = pool_state_random(&ref, pool.v4.wsum);
		unsigned i = 0;
		while (r >= weights[i]) {
			r -= weights[i++];
		}
		ck_assert_int_eq(write_pool(DNS_TYPE_A, sizeof(out), &w), 1);
		ck_assert_int_eq(last4(0), (int)i + 1);
		ck_assert_uint_eq(st.rng, ref.rng); /* one draw, as before */
	}
}
END_TEST

/* Two answers drawn without replacement: never the same member twice,
 * even when one member carries almost all the weight. */
START_TEST(weighted_no_duplicates)
{
	size_t w;
	int seen[4] = {0};

	member(0, "192.0.2.1", 1);
	member(1, "192.0.2.2", 1);
	member(2, "192.0.2.3", 1000);
	make(3, "weighted", 2);
	for (int i = 0; i < 5000; i++) {
		ck_assert_int_eq(write_pool(DNS_TYPE_A, sizeof(out), &w), 2);
		ck_assert_uint_eq(w, 2 * POOL_RR4_LEN);
		ck_assert_int_ne(last4(0), last4(1));
		ck_assert_int_ge(last4(0), 1);
		ck_assert_int_le(last4(0), 3);
		ck_assert_int_ge(last4(1), 1);
		ck_assert_int_le(last4(1), 3);
		seen[last4(0)]++;
		seen[last4(1)]++;
	}
	/* The heavy one is in (nearly) every answer; the light ones share the
	 * second place: ~2500 each. */
	ck_assert_int_ge(seen[3], 4950);
	ck_assert_int_gt(seen[1], 2000);
	ck_assert_int_gt(seen[2], 2000);
}
END_TEST

START_TEST(weighted_all_members)
{
	size_t w;

	member(0, "192.0.2.1", 2);
	member(1, "192.0.2.2", 7);
	member(2, "192.0.2.3", 1);
	make(3, "weighted", 3);
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(write_pool(DNS_TYPE_A, sizeof(out), &w), 3);
		ck_assert_int_eq(last4(0) + last4(1) + last4(2), 6);
		ck_assert_int_eq(last4(0) * last4(1) * last4(2), 6);
	}
}
END_TEST

/* Each family keeps its own rotation. */
START_TEST(families_separate)
{
	size_t w;

	member(0, "192.0.2.1", 1);
	member(1, "2001:db8::1", 1);
	member(2, "192.0.2.2", 1);
	member(3, "2001:db8::2", 1);
	make(4, "round-robin", 1);
	ck_assert_int_eq(write_pool(DNS_TYPE_A, sizeof(out), &w), 1);
	ck_assert_int_eq(last4(0), 1);
	ck_assert_int_eq(write_pool(DNS_TYPE_A, sizeof(out), &w), 1);
	ck_assert_int_eq(last4(0), 2);
	/* AAAA starts at its own first member. */
	ck_assert_int_eq(write_pool(DNS_TYPE_AAAA, sizeof(out), &w), 1);
	ck_assert_uint_eq(w, POOL_RR6_LEN);
	ck_assert_uint_eq(out[3], DNS_TYPE_AAAA);
	ck_assert_uint_eq(out[11], 16);
	ck_assert_uint_eq(out[POOL_RR6_LEN - 1], 1);
	ck_assert_int_eq(write_pool(DNS_TYPE_AAAA, sizeof(out), &w), 1);
	ck_assert_uint_eq(out[POOL_RR6_LEN - 1], 2);
	/* And A went on from where it was. */
	ck_assert_int_eq(write_pool(DNS_TYPE_A, sizeof(out), &w), 1);
	ck_assert_int_eq(last4(0), 1);
	ck_assert_uint_eq(out[3], 1);
}
END_TEST

START_TEST(room_too_small)
{
	size_t w = 99;

	member(0, "192.0.2.1", 1);
	member(1, "192.0.2.2", 1);
	make(2, "round-robin", 0);
	ck_assert_int_eq(write_pool(DNS_TYPE_A, 2 * POOL_RR4_LEN - 1, &w), -1);
	ck_assert_uint_eq(w, 0);
	ck_assert_int_eq(write_pool(DNS_TYPE_A, 0, &w), -1);
	ck_assert_int_eq(write_pool(DNS_TYPE_A, 2 * POOL_RR4_LEN, &w), 2);
	ck_assert_uint_eq(w, 2 * POOL_RR4_LEN);
}
END_TEST

START_TEST(empty_family)
{
	size_t w = 99;

	member(0, "192.0.2.1", 1);
	make(1, "round-robin", 0);
	ck_assert_int_eq(write_pool(DNS_TYPE_AAAA, sizeof(out), &w), 0);
	ck_assert_uint_eq(w, 0);
	make(1, "weighted", 0);
	ck_assert_int_eq(write_pool(DNS_TYPE_AAAA, sizeof(out), &w), 0);
	ck_assert_uint_eq(w, 0);
}
END_TEST

/* Growing the state for a bigger snapshot keeps the rotation of the pools
 * it already covered. */
START_TEST(state_reserve_keeps_rotation)
{
	size_t w;

	member(0, "192.0.2.1", 1);
	member(1, "192.0.2.2", 1);
	member(2, "192.0.2.3", 1);
	make(3, "round-robin", 1);
	write_pool(DNS_TYPE_A, sizeof(out), &w);
	ck_assert_int_eq(last4(0), 1);
	pool_state_reserve(&st, 40);
	ck_assert_uint_ge(st.cap, 40);
	write_pool(DNS_TYPE_A, sizeof(out), &w);
	ck_assert_int_eq(last4(0), 2);
	pool_state_reserve(&st, 2); /* smaller: nothing changes */
	write_pool(DNS_TYPE_A, sizeof(out), &w);
	ck_assert_int_eq(last4(0), 3);
}
END_TEST

/* --- the registry and the policy contract --------------------------------- */

START_TEST(registry_finds_every_policy)
{
	size_t count = 0;

	for (const struct policy_ops *const *o = policy_list; *o; o++, count++) {
		ck_assert_ptr_nonnull((*o)->name);
		ck_assert_ptr_nonnull((*o)->choose);
		ck_assert_ptr_eq(policy_find((*o)->name), *o);
		/* What prepare makes, clear frees. */
		ck_assert_int_eq((*o)->prepare == NULL, (*o)->clear == NULL);
		for (const char *const *k = (*o)->settings; k && *k; k++) {
			ck_assert_ptr_nonnull(policy_find_setting(*k));
		}
	}
	ck_assert_uint_ge(count, 2);
	ck_assert_str_eq(policy_find("round-robin")->name, "round-robin");
	ck_assert_str_eq(policy_find("weighted")->name, "weighted");
	ck_assert_ptr_eq(policy_default(), policy_find("round-robin"));
	ck_assert_ptr_null(policy_find("random"));
	ck_assert_ptr_null(policy_find(""));
	ck_assert_ptr_null(policy_find("Weighted")); /* names are exact */
	ck_assert_ptr_null(policy_find("round-robin ")); /* not a prefix match */
	ck_assert_ptr_null(policy_find_setting("answers")); /* common settings are nobody's */
}
END_TEST

/* Every registered policy, called through its table: k distinct members, each
 * a candidate, nothing written past k -- for every k, with every member a
 * candidate and with a subset. */
START_TEST(every_policy_keeps_the_contract)
{
	static const uint16_t subset[] = { 1, 3, 4 };
	static const uint16_t every[] = { 0, 1, 2, 3, 4, 5 };

	for (const struct policy_ops *const *o = policy_list; *o; o++) {
		for (size_t i = 0; i < 6; i++) {
			char a[32];
			snprintf(a, sizeof(a), "192.0.2.%zu", i + 1);
			member(i, a, (uint32_t)i + 1);
		}
		make_ops(6, *o, 0);
		for (int c = 0; c < 2; c++) {
			const uint16_t *cand = c == 0 ? subset : every;
			unsigned n = c == 0 ? 3 : 6;
			for (unsigned k = 1; k <= n; k++) {
				for (int rep = 0; rep < 200; rep++) {
					uint16_t chosen[8];
					memset(chosen, 0xFF, sizeof(chosen));
					(*o)->choose(chosen, &pool, &pool.v4, cand, n, k, &st, &req);
					for (unsigned j = 0; j < k; j++) {
						bool found = false;
						for (unsigned x = 0; x < n; x++) {
							found = found || chosen[j] == cand[x];
						}
						ck_assert_msg(found, "%s: member %u is no candidate",
							      (*o)->name, chosen[j]);
						for (unsigned x = 0; x < j; x++) {
							ck_assert_uint_ne(chosen[j], chosen[x]);
						}
					}
					ck_assert_uint_eq(chosen[k], 0xFFFF);
				}
			}
		}
	}
}
END_TEST

/* Round-robin rotates over the candidates it is given (the members up). */
START_TEST(round_robin_over_candidates)
{
	static const uint16_t cand[] = { 1, 3, 4 };
	const struct policy_ops *rr = policy_find("round-robin");

	for (size_t i = 0; i < 5; i++) {
		char a[32];
		snprintf(a, sizeof(a), "192.0.2.%zu", i + 1);
		member(i, a, 1);
	}
	make_ops(5, rr, 0);
	for (int q = 0; q < 9; q++) {
		uint16_t chosen[2];
		rr->choose(chosen, &pool, &pool.v4, cand, 3, 2, &st, &req);
		ck_assert_uint_eq(chosen[0], cand[q % 3]);
		ck_assert_uint_eq(chosen[1], cand[(q + 1) % 3]);
	}
}
END_TEST

/* Weighted draws among the candidates in proportion to their weights: 2, 4
 * and 5 of 11. Over 22000 draws each share has sd <= 0.0034, so +-0.02 is
 * about 6 sd (and the seed is fixed): a draw that counted the members left
 * out (weights 1, 3, 6) or ignored the weights (1/3 each) fails it. */
START_TEST(weighted_over_candidates)
{
	static const uint16_t cand[] = { 1, 3, 4 };
	static const double want[] = { 2.0 / 11, 4.0 / 11, 5.0 / 11 };
	const struct policy_ops *wt = policy_find("weighted");
	const int draws = 22000;
	int count[3] = { 0 };

	for (size_t i = 0; i < 6; i++) {
		char a[32];
		snprintf(a, sizeof(a), "192.0.2.%zu", i + 1);
		member(i, a, (uint32_t)i + 1);
	}
	make_ops(6, wt, 1);
	for (int q = 0; q < draws; q++) {
		uint16_t chosen[1];
		wt->choose(chosen, &pool, &pool.v4, cand, 3, 1, &st, &req);
		count[chosen[0] == 1 ? 0 : chosen[0] == 3 ? 1 : 2]++;
		ck_assert(chosen[0] == 1 || chosen[0] == 3 || chosen[0] == 4);
	}
	for (int c = 0; c < 3; c++) {
		ck_assert_double_ge((double)count[c] / draws, want[c] - 0.02);
		ck_assert_double_le((double)count[c] / draws, want[c] + 0.02);
	}
}
END_TEST

/* --- a policy plugged in by the test ----------------------------------------
 * "last" answers the last k candidates, last first, and records what it was
 * given. It is not registered and pool.c does not know it: a pool whose
 * config names it answers through it. */

static struct {
	unsigned prepared, cleared, calls;
	const struct pool *p;
	const struct pool_family *f;
	unsigned n, k;
	uint16_t cand[8];
	const struct request *req;
	const void *data;
} seen;

static void last_prepare(struct pool_family *f, const struct pool *p,
			 const struct conf_pool *config)
{
	uint32_t *d = malloc(sizeof(*d));

	ck_assert_ptr_nonnull(d);
	*d = 1000u + f->n; /* what choose() must see for this family */
	f->policy_data = d;
	seen.prepared++;
}

static void last_clear(struct pool_family *f)
{
	free(f->policy_data);
	f->policy_data = NULL;
	seen.cleared++;
}

static void last_choose(uint16_t *chosen, const struct pool *p, const struct pool_family *f,
			const uint16_t *cand, unsigned n, unsigned k, struct pool_state *s,
			const struct request *r)
{
	seen.calls++;
	seen.p = p;
	seen.f = f;
	seen.n = n;
	seen.k = k;
	memcpy(seen.cand, cand, (n < 8 ? n : 8) * sizeof(*cand));
	seen.req = r;
	seen.data = f->policy_data;
	for (unsigned j = 0; j < k; j++) {
		chosen[j] = cand[n - 1 - j];
	}
}

static const struct policy_ops policy_last = {
	.name = "last",
	.prepare = last_prepare,
	.clear = last_clear,
	.choose = last_choose,
};

START_TEST(test_policy_plugs_in)
{
	struct health_entry *drain;
	size_t w;

	memset(&seen, 0, sizeof(seen));
	member(0, "192.0.2.1", 1);
	member(1, "192.0.2.2", 1);
	member(2, "2001:db8::1", 1);
	member(3, "192.0.2.3", 1);
	member(4, "192.0.2.4", 1);
	make_ops(5, &policy_last, 2);
	ck_assert_ptr_eq(pool.policy, &policy_last);
	ck_assert_uint_eq(seen.prepared, 2); /* each family, at load */
	ck_assert_uint_eq(*(uint32_t *)pool.v4.policy_data, 1004);
	ck_assert_uint_eq(*(uint32_t *)pool.v6.policy_data, 1001);

	/* Healthy: every member a candidate; records as pool.c writes them. */
	request_reset(&req);
	ck_assert_int_eq(write_pool(DNS_TYPE_A, sizeof(out), &w), 2);
	ck_assert_uint_eq(seen.calls, 1);
	ck_assert_ptr_eq(seen.p, &pool);
	ck_assert_ptr_eq(seen.f, &pool.v4);
	ck_assert_ptr_eq(seen.req, &req);
	ck_assert_ptr_eq(seen.data, pool.v4.policy_data);
	ck_assert_uint_eq(seen.n, 4);
	ck_assert_uint_eq(seen.k, 2);
	ck_assert_int_eq(last4(0), 4);
	ck_assert_int_eq(last4(1), 3);
	ck_assert_uint_eq(out[9], 45); /* the pool's TTL */
	ck_assert_uint_eq(w, 2 * POOL_RR4_LEN);
	ck_assert_ptr_eq(req.pool, &pool);
	ck_assert_int_eq(req.source, POOL_SOURCE_PRIMARY);
	ck_assert_uint_eq(req.pool_records, 2);

	/* A member down: the policy sees only those up, pool.c patches the
	 * degraded TTL. */
	pool.ttl_degraded = 7;
	drain = watch_members(1); /* 192.0.2.2 */
	ck_assert_int_eq(health_set_admin(ht, drain, ADMIN_DRAINED), 0);
	ck_assert_int_eq(pool_write(out, sizeof(out), &w, &pool, DNS_TYPE_A, 0x0C, &st, ht, &req),
			 2);
	ck_assert_uint_eq(seen.n, 3);
	ck_assert_uint_eq(seen.cand[0], 0);
	ck_assert_uint_eq(seen.cand[1], 2);
	ck_assert_uint_eq(seen.cand[2], 3);
	ck_assert_int_eq(last4(0), 4);
	ck_assert_int_eq(last4(1), 3);
	ck_assert_uint_eq(out[9], 7);
	ck_assert_uint_eq(out[POOL_RR4_LEN + 9], 7);

	/* AAAA: its own family, its own data. */
	ck_assert_int_eq(write_pool(DNS_TYPE_AAAA, sizeof(out), &w), 1);
	ck_assert_ptr_eq(seen.f, &pool.v6);
	ck_assert_ptr_eq(seen.data, pool.v6.policy_data);
	ck_assert_uint_eq(seen.k, 1);

	pool_clear(&pool);
	ck_assert_uint_eq(seen.cleared, 2);
}
END_TEST

static Suite *pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, init_encodes_records);
	tcase_add_test(tc, answers_as_configured);
	tcase_add_test(tc, answers_capped_at_members);
	tcase_add_test(tc, round_robin_rotates);
	tcase_add_test(tc, round_robin_answers_limit);
	tcase_add_test(tc, owner_pointer_patched);
	tcase_add_test(tc, weighted_proportions);
	tcase_add_test(tc, weighted_search_matches_scan);
	tcase_add_test(tc, weighted_no_duplicates);
	tcase_add_test(tc, weighted_all_members);
	tcase_add_test(tc, families_separate);
	tcase_add_test(tc, room_too_small);
	tcase_add_test(tc, empty_family);
	tcase_add_test(tc, state_reserve_keeps_rotation);
	suite_add_tcase(s, tc);

	TCase *tp = tcase_create("policies");
	tcase_add_checked_fixture(tp, NULL, teardown);
	tcase_add_test(tp, registry_finds_every_policy);
	tcase_add_test(tp, every_policy_keeps_the_contract);
	tcase_add_test(tp, round_robin_over_candidates);
	tcase_add_test(tp, weighted_over_candidates);
	tcase_add_test(tp, test_policy_plugs_in);
	suite_add_tcase(s, tp);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
