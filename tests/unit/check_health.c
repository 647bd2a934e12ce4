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

START_TEST(test_record_updates_word)
{
	struct health_table *t = health_table_new();
	struct health_entry *e =
	    health_get(t, "192.0.2.1:80/web", "192.0.2.1:80", "web", "http", true);
	struct health_entry *a = health_get_admin(t, "pool/192.0.2.1");

	ck_assert_ptr_nonnull(e);
	ck_assert(health_member_up(t, e->word, a->word));
	ck_assert(!health_record(t, e, false, "status 503", 1.5, 2, 2, 100.0));
	ck_assert(health_member_up(t, e->word, a->word));
	ck_assert(health_record(t, e, false, "status 503", 1.5, 2, 2, 101.0));
	ck_assert(!health_member_up(t, e->word, a->word));
	ck_assert_str_eq(e->reason, "status 503");
	ck_assert(e->changed == 101.0);
	/* Admin overrides win over health, both ways. */
	ck_assert_int_eq(health_set_admin(t, a, ADMIN_FORCED_UP), 0);
	ck_assert(health_member_up(t, e->word, a->word));
	ck_assert_int_eq(health_set_admin(t, a, ADMIN_DRAINED), 0);
	health_record(t, e, true, "ok", 1, 1, 2, 102.0);
	ck_assert(health_word(t, e->word) & 1);
	ck_assert(!health_member_up(t, e->word, a->word));
	ck_assert_int_eq(health_set_admin(t, e, ADMIN_DRAINED), -1);
	/* Same key: same entry, state kept (what a reload relies on). */
	ck_assert_ptr_eq(health_get(t, "192.0.2.1:80/web", "192.0.2.1:80", "web", "http", false),
			 e);
	ck_assert(health_word(t, e->word) & 1);
	health_table_free(t);
}
END_TEST

START_TEST(test_reason_sanitized)
{
	struct health_table *t = health_table_new();
	struct health_entry *e = health_get(t, "k", "t", "c", "tcp", true);

	health_record(t, e, false, "bad\nline\r", 0, 1, 1, 1.0);
	ck_assert_ptr_null(strchr(e->reason, '\n'));
	ck_assert_ptr_null(strchr(e->reason, '\r'));
	health_table_free(t);
}
END_TEST

START_TEST(test_many_entries_span_blocks)
{
	struct health_table *t = health_table_new();
	char key[64];
	struct health_entry *e = NULL;

	for (int i = 0; i < 3 * (int)HEALTH_BLOCK_SIZE; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d:80/c", i / 256, i % 256);
		e = health_get(t, key, key, "c", "tcp", i % 2 == 0);
		ck_assert_uint_eq(health_word(t, e->word), (unsigned)(i % 2 == 0));
	}
	ck_assert_ptr_eq(health_find(t, "10.0.0.7:80/c")->key,
			 health_find(t, "10.0.0.7:80/c")->key);
	ck_assert_ptr_null(health_find(t, "nope"));
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
	e = health_get(t, "192.0.2.9:443/web", "192.0.2.9:443", "web", "https", true);
	a = health_get_admin(t, "web/192.0.2.9");
	health_record(t, e, false, "refused", 0, 1, 1, 5.0);
	health_set_admin(t, a, ADMIN_DRAINED);
	ck_assert_int_eq(health_save_state(t), 0);
	ck_assert(!t->dirty);
	tu_read(buf, sizeof(buf), path);
	ck_assert_ptr_nonnull(strstr(buf, "health 192.0.2.9:443/web down\n"));
	ck_assert_ptr_nonnull(strstr(buf, "admin web/192.0.2.9 drained\n"));
	health_table_free(t);

	/* A restart: the saved state wins over the check's initial state. */
	t = health_table_new();
	ck_assert_int_eq(health_load_state(t, path), 0);
	e = health_get(t, "192.0.2.9:443/web", "192.0.2.9:443", "web", "https", true);
	a = health_get_admin(t, "web/192.0.2.9");
	ck_assert_uint_eq(health_word(t, e->word), 0);
	ck_assert_uint_eq(health_word(t, a->word), ADMIN_DRAINED);
	ck_assert_int_eq(e->sm.state, HEALTH_DOWN);
	health_table_free(t);
}
END_TEST

START_TEST(test_state_file_malformed_lines_ignored)
{
	char path[PATH_MAX];
	struct health_table *t = health_table_new();
	struct health_entry *e;

	tu_write(path, "state2", "# comment\ngarbage\nhealth x:1/c down\nadmin p/1.2.3.4 weird\n");
	ck_assert_int_eq(health_load_state(t, path), 0);
	e = health_get(t, "x:1/c", "x:1", "c", "tcp", true);
	ck_assert_uint_eq(health_word(t, e->word), 0);
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
