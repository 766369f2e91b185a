/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_progs.h - a tiny TAP unit-test harness in the spirit of the kernel's
 * tools/testing/selftests/bpf/test_progs.h.
 *
 * Each ASSERT_* macro prints a diagnostic on failure, marks the current
 * test failed, and evaluates to false, so a test can write
 *	if (!ASSERT_EQ(got, 3, "count")) return;
 * A test file defines its tests with TEST(name) { ... } and ends with
 * TEST_MAIN(). Output is TAP ("ok N - name"), read by prove.
 */
#ifndef XADC_TEST_PROGS_H
#define XADC_TEST_PROGS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

extern struct test_case __start_xadc_tests[], __stop_xadc_tests[];
static int test__failed;
static int test__nasserts;

#define TEST(tname)                                                                        \
	static void test_##tname(void);                                                    \
	static struct test_case __test_##tname                                             \
		__attribute__((used, section("xadc_tests"), aligned(sizeof(void *)))) = {  \
			.name = #tname, .fn = test_##tname };                              \
	static void test_##tname(void)

#define TEST_FAIL_(fmt, ...)                                                               \
	do {                                                                               \
		test__failed = 1;                                                          \
		printf("# %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__);           \
	} while (0)

#define ASSERT_TRUE(cond, name)                                                            \
	({                                                                                 \
		bool ___ok = !!(cond);                                                     \
		test__nasserts++;                                                          \
		if (!___ok)                                                                \
			TEST_FAIL_("%s: expected true: %s", name, #cond);                  \
		___ok;                                                                     \
	})
#define ASSERT_FALSE(cond, name) ASSERT_TRUE(!(cond), name)

#define ASSERT_OP_(a, op, b, name)                                                         \
	({                                                                                 \
		long long ___a = (long long)(a), ___b = (long long)(b);                    \
		bool ___ok = ___a op ___b;                                                 \
		test__nasserts++;                                                          \
		if (!___ok)                                                                \
			TEST_FAIL_("%s: expected %s %s %s, got %lld vs %lld", name, #a, #op,   \
				   #b, ___a, ___b);                                        \
		___ok;                                                                     \
	})
#define ASSERT_EQ(a, b, name) ASSERT_OP_(a, ==, b, name)
#define ASSERT_NEQ(a, b, name) ASSERT_OP_(a, !=, b, name)
#define ASSERT_LT(a, b, name) ASSERT_OP_(a, <, b, name)
#define ASSERT_LE(a, b, name) ASSERT_OP_(a, <=, b, name)
#define ASSERT_GT(a, b, name) ASSERT_OP_(a, >, b, name)
#define ASSERT_GE(a, b, name) ASSERT_OP_(a, >=, b, name)
#define ASSERT_OK(err, name) ASSERT_OP_(err, ==, 0, name)
#define ASSERT_ERR(err, name) ASSERT_OP_(err, <, 0, name)

#define ASSERT_STREQ(a, b, name)                                                           \
	({                                                                                 \
		const char *___a = (a), *___b = (b);                                       \
		bool ___ok = ___a && ___b && strcmp(___a, ___b) == 0;                      \
		test__nasserts++;                                                          \
		if (!___ok)                                                                \
			TEST_FAIL_("%s: expected \"%s\", got \"%s\"", name, ___b ? ___b : "(null)", \
				   ___a ? ___a : "(null)");                                \
		___ok;                                                                     \
	})
#define ASSERT_MEMEQ(a, alen, b, name)                                                     \
	({                                                                                 \
		size_t ___l = (alen);                                                      \
		const char *___b = (b);                                                    \
		bool ___ok = ___l == strlen(___b) && memcmp((a), ___b, ___l) == 0;         \
		test__nasserts++;                                                          \
		if (!___ok)                                                                \
			TEST_FAIL_("%s: expected \"%s\", got \"%.*s\"", name, ___b, (int)___l, \
				   (const char *)(a));                                     \
		___ok;                                                                     \
	})
#define ASSERT_NOT_NULL(p, name) ASSERT_TRUE((p) != NULL, name)
#define ASSERT_NULL(p, name) ASSERT_TRUE((p) == NULL, name)

/* Run every TEST() of this file, or only those whose name contains argv[1]. */
#define TEST_MAIN()                                                                        \
	int main(int argc, char **argv)                                                    \
	{                                                                                  \
		struct test_case *t;                                                       \
		int n = 0, i = 0, failed = 0;                                              \
		for (t = __start_xadc_tests; t < __stop_xadc_tests; t++)                   \
			if (argc < 2 || strstr(t->name, argv[1]))                          \
				n++;                                                       \
		printf("1..%d\n", n);                                                      \
		for (t = __start_xadc_tests; t < __stop_xadc_tests; t++) {                 \
			if (argc >= 2 && !strstr(t->name, argv[1]))                        \
				continue;                                                  \
			test__failed = 0;                                                  \
			test__nasserts = 0;                                                \
			fflush(stdout);                                                    \
			t->fn();                                                           \
			if (!test__failed && test__nasserts == 0) {                        \
				/* A test that checked nothing proves nothing. */          \
				printf("# %s made no assertion\n", t->name);               \
				test__failed = 1;                                          \
			}                                                                  \
			printf("%s %d - %s\n", test__failed ? "not ok" : "ok", ++i, t->name); \
			failed += test__failed;                                            \
		}                                                                          \
		return failed ? 1 : 0;                                                     \
	}

#endif
