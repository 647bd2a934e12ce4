/* check_health.c -- the health state machine, the word table, admin
 * overrides and the state file. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "testutil.h"

#include "health/health.h"

START_TEST(test_sm_fall_and_rise)
{
	struct health_sm sm = {HEALTH_UP, 0};

	/* fall = 3: two failures are not enough, a success resets the run. */
	ck_assert(!health_sm_apply(&sm, false, 2, 3));
	ck_assert(!health_sm_apply(&sm, false, 2, 3));
	ck_assert(!health_sm_apply(&sm, true, 2, 3));
	ck_assert_uint_eq(sm.count, 0);
	ck_assert(!health_sm_apply(&sm, false, 2, 3));
	ck_assert(!health_sm_apply(&sm, false, 2, 3));
	ck_assert(health_sm_apply(&sm, false, 2, 3));
	ck_assert_int_eq(sm.state, HEALTH_DOWN);
	/* rise = 2 */
	ck_assert(!health_sm_apply(&sm, true, 2, 3));
	ck_assert(!health_sm_apply(&sm, false, 2, 3));
	ck_assert(!health_sm_apply(&sm, true, 2, 3));
	ck_assert(health_sm_apply(&sm, true, 2, 3));
	ck_assert_int_eq(sm.state, HEALTH_UP);
}
END_TEST

START_TEST(test_sm_rise_fall_one)
{
	struct health_sm sm = {HEALTH_DOWN, 0};

	ck_assert(health_sm_apply(&sm, true, 1, 1));
	ck_assert(health_sm_apply(&sm, false, 1, 1));
	ck_assert(!health_sm_apply(&sm, false, 1, 1));
}
END_TEST

/* The info copy of entry @e. */
static struct health_info info(struct health_table *t, struct health_entry *e)
{
	struct health_info i;

	ck_assert(health_info_by_word(t, health_entry_word(e), &i));
	return i;
}

START_TEST(test_record_updates_word)
{
	struct health_table *t = health_table_new();
	struct health_entry *e = health_get(t, "192.0.2.1:80", "web", "http", true);
	struct health_entry *a = health_get_admin(t, "pool", "192.0.2.1");
	uint32_t ew = health_entry_word(e), aw = health_entry_word(a);
	enum health_admin was;

	ck_assert_str_eq(health_entry_key(e), "192.0.2.1:80/web");
	ck_assert(health_member_up(t, ew, aw));
	ck_assert(!health_record(t, e, false, "status 503", 1.5, 2, 2, 100.0));
	ck_assert(health_member_up(t, ew, aw));
	ck_assert(health_record(t, e, false, "status 503", 1.5, 2, 2, 101.0));
	ck_assert(!health_member_up(t, ew, aw));
	ck_assert_str_eq(info(t, e).reason, "status 503");
	ck_assert(info(t, e).changed == 101.0);
	ck_assert_uint_eq(info(t, e).probes_failed, 2);
	ck_assert_uint_eq(info(t, e).changes, 1);

	/* Admin overrides win over health, both ways, by handle and by key. */
	ck_assert_int_eq(health_set_admin(t, a, ADMIN_FORCED_UP), 0);
	ck_assert(health_member_up(t, ew, aw));
	ck_assert_int_eq(health_admin_set(t, "pool", "192.0.2.1", ADMIN_DRAINED, &was), 0);
	ck_assert_int_eq(was, ADMIN_FORCED_UP);
	ck_assert_int_eq(health_admin_set(t, "pool", "192.0.2.99", ADMIN_DRAINED, &was), -1);
	health_record(t, e, true, "ok", 1, 1, 2, 102.0);
	ck_assert(health_word(t, ew) & 1);
	ck_assert(!health_member_up(t, ew, aw));
	ck_assert_int_eq(health_set_admin(t, e, ADMIN_DRAINED), -1);
	ck_assert_uint_eq(info(t, e).probes_ok, 1);
	/* Asking again finds the same entry and keeps its state. */
	ck_assert_ptr_eq(health_get(t, "192.0.2.1:80", "web", "http", false), e);
	ck_assert(health_word(t, ew) & 1);
	/* A probe key that is already an admin key is refused. */
	ck_assert_ptr_null(health_get(t, "pool", "192.0.2.1", "tcp", true));
	health_table_free(t);
}
END_TEST

START_TEST(test_reason_sanitized)
{
	struct health_table *t = health_table_new();
	struct health_entry *e = health_get(t, "t", "c", "tcp", true);

	health_record(t, e, false, "bad\nline\r", 0, 1, 1, 1.0);
	ck_assert_str_eq(info(t, e).reason, "bad line ");
	health_table_free(t);
}
END_TEST

START_TEST(test_many_entries_span_blocks)
{
	struct health_table *t = health_table_new();
	struct health_entry *first = NULL, *e = NULL;
	char target[64];

	/* More entries than one block of words holds. */
	for (int i = 0; i < (int)HEALTH_BLOCK_SIZE + 100; i++) {
		snprintf(target, sizeof(target), "10.0.%d.%d:80", i / 256, i % 256);
		e = health_get(t, target, "c", "tcp", i % 2 == 0);
		ck_assert_uint_eq(health_word(t, health_entry_word(e)), (unsigned)(i % 2 == 0));
		if (!first) {
			first = e;
		}
	}
	ck_assert_uint_ge(health_entry_word(e), HEALTH_BLOCK_SIZE);
	/* Found again by key, not created twice. */
	ck_assert_ptr_eq(health_get(t, "10.0.0.0:80", "c", "tcp", false), first);
	ck_assert_str_eq(info(t, e).target, target);
	ck_assert(!health_info_by_word(t, health_entry_word(e) + 1, &(struct health_info){ 0 }));
	health_table_free(t);
}
END_TEST

static void count_entry(const struct health_info *h, void *arg)
{
	unsigned *n = arg;

	n[0]++;
	n[1] += h->is_admin;
	n[2] += h->always;
}

START_TEST(test_foreach_and_always_up)
{
	struct health_table *t = health_table_new();
	struct health_entry *always = health_always_up(t);
	unsigned n[3] = { 0, 0, 0 };

	ck_assert_ptr_eq(health_always_up(t), always);
	ck_assert(health_word(t, health_entry_word(always)) & 1);
	health_get(t, "192.0.2.1:80", "web", "http", true);
	health_get_admin(t, "www", "192.0.2.1");
	health_foreach(t, count_entry, n);
	ck_assert_uint_eq(n[0], 3);
	ck_assert_uint_eq(n[1], 1);
	ck_assert_uint_eq(n[2], 1);
	ck_assert(info(t, always).always);
	health_table_free(t);
}
END_TEST

START_TEST(test_first_use_per_build)
{
	struct health_table *t = health_table_new();
	struct health_entry *e;

	health_build_begin(t);
	e = health_get(t, "192.0.2.1:80", "web", "http", true);
	ck_assert(health_first_use(t, e));
	ck_assert(!health_first_use(t, e)); /* a second pool sharing the probe */
	health_build_begin(t);
	ck_assert(health_first_use(t, e));
	health_table_free(t);
}
END_TEST

START_TEST(test_dirty_flag)
{
	struct health_table *t = health_table_new();
	struct health_entry *e = health_get(t, "192.0.2.1:80", "web", "http", true);
	struct health_entry *a = health_get_admin(t, "www", "192.0.2.1");

	(void)health_take_dirty(t);
	ck_assert(!health_take_dirty(t));
	health_record(t, e, true, "ok", 1, 1, 1, 1.0); /* agrees with the state: no change */
	ck_assert(!health_take_dirty(t));
	health_record(t, e, false, "refused", 1, 1, 1, 2.0);
	ck_assert(health_take_dirty(t));
	ck_assert(!health_take_dirty(t));
	health_set_admin(t, a, ADMIN_DRAINED);
	ck_assert(health_take_dirty(t));
	health_retain(t, &e, 1);
	ck_assert(health_take_dirty(t));
	health_table_free(t);
}
END_TEST

START_TEST(test_state_file_roundtrip)
{
	char path[PATH_MAX], buf[4096];
	struct health_table *t = health_table_new();
	struct health_entry *e, *a;

	if (snprintf(path, sizeof(path), "%s/state", tu_dir()) >= (int)sizeof(path)) {
		abort();
	}
	ck_assert_int_eq(health_load_state(t, path), 0); /* missing file: first start */
	e = health_get(t, "192.0.2.9:443", "web", "https", true);
	a = health_get_admin(t, "web", "192.0.2.9");
	health_record(t, e, false, "refused", 0, 1, 1, 5.0);
	health_set_admin(t, a, ADMIN_DRAINED);
	ck_assert_int_eq(health_save_state(t), 0);
	ck_assert(!health_take_dirty(t));
	tu_read(buf, sizeof(buf), path);
	ck_assert_ptr_nonnull(strstr(buf, "health 192.0.2.9:443/web down\n"));
	ck_assert_ptr_nonnull(strstr(buf, "admin web/192.0.2.9 drained\n"));
	health_table_free(t);

	/* A restart: the saved state wins over the check's initial state. */
	t = health_table_new();
	ck_assert_int_eq(health_load_state(t, path), 0);
	e = health_get(t, "192.0.2.9:443", "web", "https", true);
	a = health_get_admin(t, "web", "192.0.2.9");
	ck_assert_uint_eq(health_word(t, health_entry_word(e)), 0);
	ck_assert_uint_eq(health_word(t, health_entry_word(a)), ADMIN_DRAINED);
	ck_assert_int_eq(info(t, e).state, HEALTH_DOWN);
	health_table_free(t);
}
END_TEST

static void count_all(const struct health_info *h, void *arg)
{
	(void)h;
	(*(unsigned *)arg)++;
}

START_TEST(test_state_file_malformed_lines_ignored)
{
	char path[PATH_MAX], log[4096];
	struct health_table *t = health_table_new();
	struct health_entry *e;
	unsigned n = 0;

	tu_write(path, "state2",
		 "# comment\ngarbage\nhealth x:1/c down\nadmin p/1.2.3.4 weird\nbogus k v\n");
	TU_CAPTURE_STDERR(log, sizeof(log), ck_assert_int_eq(health_load_state(t, path), 0));
	/* Line 2 is malformed, line 5 of no known kind: both said and skipped. */
	ck_assert_ptr_nonnull(strstr(log, ":2: ignored malformed state line"));
	ck_assert_ptr_nonnull(strstr(log, ":5: ignored state line"));
	/* Only the two well-formed lines made entries. */
	health_foreach(t, count_all, &n);
	ck_assert_uint_eq(n, 2);
	e = health_get(t, "x:1", "c", "tcp", true);
	ck_assert_uint_eq(health_word(t, health_entry_word(e)), 0);
	health_table_free(t);
}
END_TEST

static Suite *health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sm_fall_and_rise);
	tcase_add_test(tc, test_sm_rise_fall_one);
	tcase_add_test(tc, test_record_updates_word);
	tcase_add_test(tc, test_reason_sanitized);
	tcase_add_test(tc, test_many_entries_span_blocks);
	tcase_add_test(tc, test_foreach_and_always_up);
	tcase_add_test(tc, test_first_use_per_build);
	tcase_add_test(tc, test_dirty_flag);
	tcase_add_test(tc, test_state_file_roundtrip);
	tcase_add_test(tc, test_state_file_malformed_lines_ignored);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(health_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
