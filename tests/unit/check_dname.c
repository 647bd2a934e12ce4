/* check_dname.c -- unit tests for src/dname.c: conversion, length, labels, ancestry, hashes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "dns/dname.h"
#include "testutil.h"

START_TEST(from_str_folds_case_and_final_dot)
{
	uint8_t a[DNAME_MAXLEN], b[DNAME_MAXLEN];
	static const uint8_t want[] = "\003www\002lb\004test";

	ck_assert_int_eq(dname_from_str(a, "WWW.Lb.TEST."), (int)sizeof(want));
	ck_assert_mem_eq(a, want, sizeof(want));
	ck_assert_int_eq(dname_from_str(b, "www.lb.test"), (int)sizeof(want));
	ck_assert_mem_eq(b, want, sizeof(want));
}
END_TEST

START_TEST(from_str_root)
{
	uint8_t a[DNAME_MAXLEN];

	ck_assert_int_eq(dname_from_str(a, "."), 1);
	ck_assert_int_eq(a[0], 0);
}
END_TEST

START_TEST(from_str_rejects_empty)
{
	uint8_t a[DNAME_MAXLEN];

	ck_assert_int_eq(dname_from_str(a, ""), -1);
	ck_assert_int_eq(dname_from_str(a, ".."), -1);
	ck_assert_int_eq(dname_from_str(a, "a..b"), -1);
}
END_TEST

START_TEST(from_str_label_limit)
{
	uint8_t a[DNAME_MAXLEN];
	char s[200];

	memset(s, 'a', 63);
	strcpy(s + 63, ".test");
	ck_assert_int_eq(dname_from_str(a, s), 1 + 63 + 6);
	ck_assert_int_eq(a[0], 63);
	memset(s, 'a', 64);
	strcpy(s + 64, ".test");
	ck_assert_int_eq(dname_from_str(a, s), -1);
}
END_TEST

/* 255 octets is the limit (RFC 1035 2.3.4), root label included. */
START_TEST(from_str_name_limit)
{
	uint8_t a[DNAME_MAXLEN];
	char s[400];
	size_t o = 0;

	/* 4 labels of 62 (63 octets each) = 252, plus "x" (2) = 254, plus root = 255. */
	for (int i = 0; i < 4; i++) {
		memset(s + o, 'a' + i, 62);
		o += 62;
		s[o++] = '.';
	}
	s[o++] = 'x';
	s[o] = 0;
	ck_assert_int_eq(dname_from_str(a, s), 255);
	/* One octet more. */
	s[o - 1] = 'x';
	s[o++] = 'y';
	s[o] = 0;
	ck_assert_int_eq(dname_from_str(a, s), -1);
	/* Far too long. */
	char big[1200];
	memset(big, 'a', sizeof(big) - 1);
	for (size_t i = 10; i < sizeof(big) - 1; i += 11) {
		big[i] = '.';
	}
	big[sizeof(big) - 1] = 0;
	ck_assert_int_eq(dname_from_str(a, big), -1);
}
END_TEST

START_TEST(len_counts_root)
{
	ck_assert_uint_eq(dname_len((const uint8_t *)""), 1);
	ck_assert_uint_eq(dname_len((const uint8_t *)"\004test"), 6);
	ck_assert_uint_eq(dname_len((const uint8_t *)"\003www\002lb\004test"), 13);
}
END_TEST

START_TEST(labels_offsets)
{
	uint8_t off[DNAME_MAXLABELS];
	const uint8_t *name = (const uint8_t *)"\003www\002lb\004test";

	ck_assert_int_eq(dname_labels(name, off), 3);
	ck_assert_int_eq(off[0], 0);
	ck_assert_int_eq(off[1], 4);
	ck_assert_int_eq(off[2], 7);
	ck_assert_int_eq(dname_labels((const uint8_t *)"", off), 0);
}
END_TEST

START_TEST(labels_maximum)
{
	uint8_t name[DNAME_MAXLEN], off[DNAME_MAXLABELS];
	char s[300];
	size_t o = 0;

	/* 127 one-octet labels: the most a 255-octet name holds. */
	for (int i = 0; i < 127; i++) {
		s[o++] = 'a';
		s[o++] = '.';
	}
	s[o] = 0;
	ck_assert_int_eq(dname_from_str(name, s), 255);
	ck_assert_int_eq(dname_labels(name, off), 127);
	ck_assert_int_eq(off[126], 252);
}
END_TEST

static bool below(const char *a, const char *b)
{
	uint8_t x[DNAME_MAXLEN], y[DNAME_MAXLEN];

	ck_assert_int_gt(dname_from_str(x, a), 0);
	ck_assert_int_gt(dname_from_str(y, b), 0);
	return dname_is_below_or_equal(x, y);
}

START_TEST(below_or_equal)
{
	ck_assert(below("example.test", "example.test"));
	ck_assert(below("www.example.test", "example.test"));
	ck_assert(below("a.b.c.example.test", "example.test"));
	ck_assert(below("example.test", "test"));
	ck_assert(below("example.test", "."));
	ck_assert(below(".", "."));
	ck_assert(!below("test", "example.test"));
	ck_assert(!below("example.org", "example.test"));
	ck_assert(!below(".", "test"));
}
END_TEST

/* The comparison is label-aligned: a byte suffix is not enough. */
START_TEST(below_is_label_aligned)
{
	ck_assert(!below("xexample.test", "example.test"));
	ck_assert(!below("a.xexample.test", "example.test"));
	ck_assert(!below("b.test", "ab.test"));
	/* "\001b\004test" is a byte suffix of "\002ab\004test" too, shifted. */
	ck_assert(!below("ab.test", "b.test"));
	/* A label whose content looks like a length octet plus name. */
	uint8_t tricky[] = {6, 'x', 4, 't', 'e', 's', 't', 4, 't', 'e', 's', 't', 0};
	uint8_t parent[DNAME_MAXLEN];
	dname_from_str(parent, "test.test");
	ck_assert(!dname_is_below_or_equal(tricky, parent));
}
END_TEST

static void check_suffix_hashes(const char *str)
{
	uint8_t name[DNAME_MAXLEN], off[DNAME_MAXLABELS];
	uint64_t h[DNAME_MAXLABELS + 1];
	int n;

	ck_assert_int_gt(dname_from_str(name, str), 0);
	n = dname_labels(name, off);
	dname_suffix_hashes(h, name, off, n);
	ck_assert_uint_eq(h[0], dname_hash(name));
	for (int i = 0; i < n; i++) {
		ck_assert_uint_eq(h[i], dname_hash(name + off[i]));
	}
	ck_assert_uint_eq(h[n], dname_hash((const uint8_t *)""));
}

START_TEST(suffix_hashes_match_hash)
{
	check_suffix_hashes("a.b.c.example.test");
	check_suffix_hashes("www.lb.test");
	check_suffix_hashes("test");
	check_suffix_hashes(".");
	check_suffix_hashes("*.wild.lb.test");
}
END_TEST

START_TEST(hash_distinguishes)
{
	uint8_t a[DNAME_MAXLEN], b[DNAME_MAXLEN], c[DNAME_MAXLEN], d[DNAME_MAXLEN];

	dname_from_str(a, "ab.test");
	dname_from_str(b, "a.b.test");
	dname_from_str(c, "www.lb.test");
	dname_from_str(d, "WWW.LB.TEST");
	ck_assert_uint_ne(dname_hash(a), dname_hash(b));
	ck_assert_uint_ne(dname_hash(a), dname_hash(c));
	ck_assert_uint_eq(dname_hash(c), dname_hash(d)); /* both folded by dname_from_str */
}
END_TEST

START_TEST(tolower_keeps_length_octets)
{
	uint8_t name[] = "\003WwW\002Lb\004TeSt";

	dname_tolower(name, sizeof(name));
	ck_assert_mem_eq(name, "\003www\002lb\004test", sizeof(name));
}
END_TEST

START_TEST(to_str_escapes)
{
	char buf[1024];
	const uint8_t name[] = {3, 'a', '.', 'b', 2, 'x', ' ', 0};

	ck_assert_str_eq(dname_to_str(buf, sizeof(buf), (const uint8_t *)"\003www\002lb\004test"),
			 "www.lb.test.");
	ck_assert_str_eq(dname_to_str(buf, sizeof(buf), (const uint8_t *)""), ".");
	ck_assert_str_eq(dname_to_str(buf, sizeof(buf), name), "a\\.b.x\\032.");
}
END_TEST

static Suite *dname_suite(void)
{
	Suite *s = suite_create("dname");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, from_str_folds_case_and_final_dot);
	tcase_add_test(tc, from_str_root);
	tcase_add_test(tc, from_str_rejects_empty);
	tcase_add_test(tc, from_str_label_limit);
	tcase_add_test(tc, from_str_name_limit);
	tcase_add_test(tc, len_counts_root);
	tcase_add_test(tc, labels_offsets);
	tcase_add_test(tc, labels_maximum);
	tcase_add_test(tc, below_or_equal);
	tcase_add_test(tc, below_is_label_aligned);
	tcase_add_test(tc, suffix_hashes_match_hash);
	tcase_add_test(tc, hash_distinguishes);
	tcase_add_test(tc, tolower_keeps_length_octets);
	tcase_add_test(tc, to_str_escapes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dname_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
