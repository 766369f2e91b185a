// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_dataset.c - libFuzzer differential target for the string-group
 * engines (policy/dataset*.c): every operator's answer is compared with a
 * plain loop over the keys, and REGEX with each pattern compiled alone by
 * PCRE2. Any disagreement or crash abort()s so libFuzzer keeps the input.
 *
 * Input: byte 0 holds flags (bit 0 nocase for regex, bit 1 regex mode, bit 2 keys
 * from a regex alphabet, bit 3 every key anchored with a leading '^' so
 * the literal-prefix index of REGEX sets is exercised), the rest is split at '\n' into up to MAX_KEYS
 * keys, the last piece being the query. Each key is also used as a query
 * (with one byte cut off each end), so hits and near misses both occur.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "../lib/dataset_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KEYS 32
#define MAX_LEN	 256

#define CHECK(cond, what)                                                              \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "fuzz_dataset: %s: %s (line %d)\n", what, #cond, \
				__LINE__);                                             \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* Every plain operator, both cases, on query q. */
static void check_plain(const struct xadc_strset *set, const struct xadc_str_entry *e, size_t n,
			const char *q, size_t qlen)
{
	static const char *const names[] = { "equals", "begins_with", "ends_with", "contains" };
	struct xadc_str_hit hit;
	int op, nc;

	for (nc = 0; nc < 2; nc++) {
		for (op = XADC_SOP_EQUALS; op <= XADC_SOP_CONTAINS; op++) {
			long want = ds_ref_match(e, n, op, nc, q, qlen);
			bool got = xadc_strset_match(set, op, nc, q, qlen, &hit);

			CHECK(got == (want >= 0), names[op]);
			if (got)
				CHECK(hit.index == (uint32_t)want, names[op]);
		}
	}
}

/* Lowest index of a pattern that matches s, each compiled alone. */
static long ref_regex(pcre2_code **code, size_t n, const char *s, size_t len,
		      pcre2_match_data *md)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pcre2_match(code[i], (PCRE2_SPTR)s, len, 0, 0, md, NULL) >= 0)
			return (long)i;
	return -1;
}

static void check_regex(const struct xadc_str_entry *e, size_t n, bool nc, const char *q,
			size_t qlen)
{
	pcre2_code *code[MAX_KEYS] = { 0 };
	pcre2_match_data *md = pcre2_match_data_create(16, NULL);
	struct xadc_strset *set = NULL;
	struct xadc_str_hit hit;
	json_t *err = NULL;
	PCRE2_SIZE off;
	size_t i;
	int ec;

	for (i = 0; i < n; i++) {
		code[i] = pcre2_compile((PCRE2_SPTR)e[i].key, e[i].key_len,
					nc ? PCRE2_CASELESS : 0, &ec, &off, NULL);
		if (!code[i])
			goto out;	/* the set must refuse it: not compared */
	}
	set = xadc_strset_build("fuzz", e, n, XADC_SOP_BIT(XADC_SOP_REGEX, nc), &err);
	if (!set)
		goto out;	/* a pattern PCRE2 takes alone may exceed a set limit */
	for (i = 0; i <= n; i++) {
		const char *s = i < n ? e[i].key : q;
		size_t len = i < n ? e[i].key_len : qlen;
		long want = ref_regex(code, n, s, len, md);
		bool got = xadc_strset_match(set, XADC_SOP_REGEX, nc, s, len, &hit);

		CHECK(got == (want >= 0), "regex");
		if (got)
			CHECK(hit.index == (uint32_t)want, "regex lowest index");
	}
out:
	json_decref(err);
	xadc_strset_free(set);
	for (i = 0; i < n; i++)
		pcre2_code_free(code[i]);
	pcre2_match_data_free(md);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char re_alpha[] = "ab/.*+?^$|()[]{}\\0-9AB,dws";
	struct xadc_str_entry e[MAX_KEYS + 1];
	char buf[(MAX_KEYS + 1) * MAX_LEN];
	struct xadc_strset *set;
	json_t *err = NULL;
	size_t n = 0, i, start, used = 0;
	uint8_t flags;

	if (size < 1)
		return 0;
	flags = data[0];
	/* Split at '\n'; the last piece is the query. */
	for (start = 1, i = 1; i <= size && n <= MAX_KEYS; i++) {
		size_t len, k;

		if (i < size && data[i] != '\n')
			continue;
		len = i - start;
		if (len > MAX_LEN - 1)
			len = MAX_LEN - 1;
		e[n] = (struct xadc_str_entry){ .key = buf + used, .value = "" };
		if (flags & 8)
			buf[used++] = '^';
		for (k = 0; k < len; k++) {
			unsigned char c = data[start + k];

			buf[used + k] = flags & 4 ? re_alpha[c % (sizeof(re_alpha) - 1)] : (char)c;
		}
		used += len;
		e[n].key_len = (size_t)(buf + used - e[n].key);
		n++;
		start = i + 1;
	}
	if (!n)
		return 0;
	n--;	/* e[n] is the query */
	if (flags & 2) {
		check_regex(e, n, flags & 1, e[n].key, e[n].key_len);
		return 0;
	}
	set = xadc_strset_build("fuzz", e, n, XADC_SOP_ALL & ~XADC_SOP_BIT(XADC_SOP_REGEX, 0) &
				~XADC_SOP_BIT(XADC_SOP_REGEX, 1), &err);
	CHECK(set != NULL, "build without regex never fails");
	check_plain(set, e, n, e[n].key, e[n].key_len);
	for (i = 0; i < n; i++) {
		check_plain(set, e, n, e[i].key, e[i].key_len);
		if (e[i].key_len >= 2)
			check_plain(set, e, n, e[i].key + 1, e[i].key_len - 2);
	}
	xadc_strset_free(set);
	json_decref(err);
	return 0;
}
