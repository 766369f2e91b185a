// SPDX-License-Identifier: GPL-2.0
/*
 * test_dataset.c - string groups (every operator, both case modes) and IP
 * groups, including differential runs against naive reference code.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <arpa/inet.h>
#include <pcre2.h>
#include <stdlib.h>

#include "test_progs.h"
#include "../../policy/dataset_internal.h"
#include "dataset_ref.h"

#define ALL XADC_SOP_ALL

/* --- helpers ------------------------------------------------------------ */

static struct xadc_strset *build_strs(const char *const *keys, size_t n, unsigned needs,
				      json_t **err)
{
	struct xadc_str_entry *e = calloc(n ? n : 1, sizeof(*e));
	struct xadc_strset *s;
	size_t i;

	for (i = 0; i < n; i++) {
		e[i].key = keys[i];
		e[i].key_len = strlen(keys[i]);
		e[i].value = "";
	}
	s = xadc_strset_build("stringgroup[t]", e, n, needs, err);
	free(e);
	return s;
}

/* Index of the hit for (op, nocase) on a C string, -1 for no match. */
static long m(const struct xadc_strset *s, enum xadc_sop op, bool nc, const char *str)
{
	struct xadc_str_hit h;

	if (!xadc_strset_match(s, op, nc, str, strlen(str), &h))
		return -1;
	return h.index;
}

static long mb(const struct xadc_strset *s, enum xadc_sop op, bool nc, const char *str,
	       size_t len)
{
	struct xadc_str_hit h;

	if (!xadc_strset_match(s, op, nc, str, len, &h))
		return -1;
	return h.index;
}

/* --- random inputs (the reference answer is in dataset_ref.h) ---------- */

static uint64_t rng_state = 0x12345678abcdefULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random bytes from a small alphabet (with case pairs, NUL, 0xff, UTF-8). */
static void rnd_str(char *buf, size_t len)
{
	static const char alpha[] = "abAB/\0\xff\xc3\x89";
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = alpha[rnd() % (sizeof(alpha) - 1)];
}

/* --- string groups ------------------------------------------------------ */

TEST(equals_both_cases)
{
	const char *k[] = { "/Index.html", "/index.html", "", "/a" };
	struct xadc_strset *s = build_strs(k, 4, ALL, NULL);

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	ASSERT_EQ(xadc_strset_count(s), 4, "count");
	ASSERT_EQ(m(s, XADC_SOP_EQUALS, false, "/index.html"), 1, "exact");
	ASSERT_EQ(m(s, XADC_SOP_EQUALS, false, "/INDEX.html"), -1, "case matters");
	ASSERT_EQ(m(s, XADC_SOP_EQUALS, true, "/INDEX.HTML"), 0, "nocase: lowest dup");
	ASSERT_EQ(m(s, XADC_SOP_EQUALS, false, ""), 2, "empty string = empty key");
	ASSERT_EQ(m(s, XADC_SOP_EQUALS, false, "/a/"), -1, "longer is no match");
	ASSERT_EQ(m(s, XADC_SOP_EQUALS, true, "/A"), 3, "short key nocase");
	xadc_strset_free(s);
}

TEST(equals_hit_fields)
{
	struct xadc_str_entry e[] = { { "k1", 2, "v1", 2 }, { "k2", 2, "value-two", 9 } };
	struct xadc_strset *s = xadc_strset_build("stringgroup[kv]", e, 2,
						  XADC_SOP_BIT(XADC_SOP_EQUALS, 0), NULL);
	struct xadc_str_hit h;

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	ASSERT_TRUE(xadc_strset_match(s, XADC_SOP_EQUALS, false, "k2", 2, &h), "hit");
	ASSERT_MEMEQ(h.key, h.key_len, "k2", "key");
	ASSERT_MEMEQ(h.value, h.value_len, "value-two", "value");
	/* Only what was in needs is built. */
	ASSERT_FALSE(xadc_strset_match(s, XADC_SOP_EQUALS, true, "k2", 2, NULL), "nocase not built");
	ASSERT_FALSE(xadc_strset_match(s, XADC_SOP_BEGINS_WITH, false, "k2", 2, NULL), "no trie");
	xadc_strset_free(s);
}

TEST(begins_ends_longest)
{
	const char *k[] = { "/a", "/a/b", "/a/b/c", "/A/B", "c", "b/c", "/x" };
	struct xadc_strset *s = build_strs(k, 7, ALL, NULL);

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	ASSERT_EQ(m(s, XADC_SOP_BEGINS_WITH, false, "/a/b/c/d"), 2, "longest prefix");
	ASSERT_EQ(m(s, XADC_SOP_BEGINS_WITH, false, "/a/b/x"), 1, "middle prefix");
	ASSERT_EQ(m(s, XADC_SOP_BEGINS_WITH, false, "/a/"), 0, "short prefix");
	ASSERT_EQ(m(s, XADC_SOP_BEGINS_WITH, false, "/a"), 0, "whole key");
	ASSERT_EQ(m(s, XADC_SOP_BEGINS_WITH, false, "/"), -1, "shorter than keys");
	ASSERT_EQ(m(s, XADC_SOP_BEGINS_WITH, false, ""), -1, "empty input");
	ASSERT_EQ(m(s, XADC_SOP_BEGINS_WITH, false, "/A/B/C"), 3, "case sensitive");
	ASSERT_EQ(m(s, XADC_SOP_BEGINS_WITH, true, "/A/B/C"), 2, "nocase longest");
	ASSERT_EQ(m(s, XADC_SOP_ENDS_WITH, false, "/q/a/b/c"), 2, "longest suffix");
	ASSERT_EQ(m(s, XADC_SOP_ENDS_WITH, false, "xb/c"), 5, "suffix b/c");
	ASSERT_EQ(m(s, XADC_SOP_ENDS_WITH, false, "zzc"), 4, "suffix c");
	ASSERT_EQ(m(s, XADC_SOP_ENDS_WITH, false, "B/C"), -1, "suffix case");
	ASSERT_EQ(m(s, XADC_SOP_ENDS_WITH, true, "B/C"), 5, "suffix nocase");
	xadc_strset_free(s);
}

TEST(empty_key_matches_everything)
{
	const char *k[] = { "abc", "" };
	struct xadc_strset *s = build_strs(k, 2, ALL, NULL);

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	ASSERT_EQ(m(s, XADC_SOP_BEGINS_WITH, false, "zzz"), 1, "begins: empty key");
	ASSERT_EQ(m(s, XADC_SOP_BEGINS_WITH, false, "abcd"), 0, "begins: longer wins");
	ASSERT_EQ(m(s, XADC_SOP_ENDS_WITH, true, ""), 1, "ends: empty input");
	ASSERT_EQ(m(s, XADC_SOP_CONTAINS, false, "xabcx"), 0, "contains: lower index");
	ASSERT_EQ(m(s, XADC_SOP_CONTAINS, false, "zzz"), 1, "contains: empty key");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "zzz"), 1, "regex: empty pattern");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, ""), 1, "regex: empty input");
	ASSERT_EQ(m(s, XADC_SOP_EQUALS, false, "zzz"), -1, "equals: no");
	xadc_strset_free(s);
}

TEST(empty_set)
{
	struct xadc_strset *s = build_strs(NULL, 0, ALL, NULL);
	enum xadc_sop op;

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	for (op = 0; op < XADC_SOP__COUNT; op++) {
		ASSERT_EQ(m(s, op, false, "anything"), -1, "no match");
		ASSERT_EQ(m(s, op, true, ""), -1, "no match on empty");
	}
	xadc_strset_free(s);
}

TEST(contains_lowest_index)
{
	const char *k[] = { "zzz", "needle", "eed", "NEE", "le" };
	struct xadc_strset *s = build_strs(k, 5, ALL, NULL);

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	ASSERT_EQ(m(s, XADC_SOP_CONTAINS, false, "a needle here"), 1, "lowest of 1,2,4");
	ASSERT_EQ(m(s, XADC_SOP_CONTAINS, false, "bleed"), 2, "eed before le");
	ASSERT_EQ(m(s, XADC_SOP_CONTAINS, false, "table"), 4, "only le");
	ASSERT_EQ(m(s, XADC_SOP_CONTAINS, false, "NEEDLE"), 3, "case");
	ASSERT_EQ(m(s, XADC_SOP_CONTAINS, true, "NEEDLE"), 1, "nocase");
	ASSERT_EQ(m(s, XADC_SOP_CONTAINS, false, "ne-edl"), -1, "miss");
	ASSERT_EQ(m(s, XADC_SOP_CONTAINS, false, "zzneedlzzz"), 0, "match at the end");
	xadc_strset_free(s);
}

TEST(binary_and_utf8)
{
	struct xadc_str_entry e[] = {
		{ "a\0b", 3, "", 0 },
		{ "\xff\xff", 2, "", 0 },
		{ "\xc3\x89t\xc3\xa9", 5, "", 0 }, /* "Été" */
	};
	struct xadc_strset *s = xadc_strset_build("stringgroup[b]", e, 3, ALL, NULL);

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	ASSERT_EQ(mb(s, XADC_SOP_EQUALS, false, "a\0b", 3), 0, "NUL inside key");
	ASSERT_EQ(mb(s, XADC_SOP_EQUALS, false, "a\0c", 3), -1, "NUL then differs");
	ASSERT_EQ(mb(s, XADC_SOP_EQUALS, true, "A\0B", 3), 0, "NUL nocase");
	ASSERT_EQ(mb(s, XADC_SOP_CONTAINS, false, "xx\xff\xff\xffyy", 7), 1, "0xff contains");
	ASSERT_EQ(mb(s, XADC_SOP_BEGINS_WITH, false, "a\0bcd", 5), 0, "NUL begins");
	ASSERT_EQ(mb(s, XADC_SOP_ENDS_WITH, false, "\x01\xff\xff", 3), 1, "0xff ends");
	ASSERT_EQ(mb(s, XADC_SOP_REGEX, false, "zza\0bzz", 7), 0, "regex with NUL");
	ASSERT_EQ(m(s, XADC_SOP_EQUALS, false, "\xc3\x89t\xc3\xa9"), 2, "UTF-8 exact");
	ASSERT_EQ(m(s, XADC_SOP_EQUALS, true, "\xc3\x89T\xc3\xa9"), 2, "ASCII part folds");
	/* 'É' (C3 89) and 'é' (C3 A9) differ: folding is ASCII only. */
	ASSERT_EQ(m(s, XADC_SOP_EQUALS, true, "\xc3\xa9t\xc3\xa9"), -1, "É does not fold");
	ASSERT_EQ(m(s, XADC_SOP_CONTAINS, true, "x\xc3\xa9t\xc3\xa9"), -1, "É contains");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, true, "\xc3\xa9t\xc3\xa9"), -1, "É regex nocase");
	xadc_strset_free(s);
}

TEST(long_input_1mb)
{
	const char *k[] = { "needle", "^x+$", "/a" };
	const size_t n = 1 << 20;
	char *big = malloc(n);
	struct xadc_str_entry e[3];
	struct xadc_strset *s;
	int i;

	for (i = 0; i < 3; i++)
		e[i] = (struct xadc_str_entry){ k[i], strlen(k[i]), "", 0 };
	s = xadc_strset_build("stringgroup[big]", e, 3,
			      XADC_SOP_BIT(XADC_SOP_CONTAINS, 0) |
				      XADC_SOP_BIT(XADC_SOP_CONTAINS, 1) |
				      XADC_SOP_BIT(XADC_SOP_BEGINS_WITH, 0) |
				      XADC_SOP_BIT(XADC_SOP_ENDS_WITH, 0) |
				      XADC_SOP_BIT(XADC_SOP_EQUALS, 0),
			      NULL);
	if (!ASSERT_NOT_NULL(s, "build") || !ASSERT_NOT_NULL(big, "malloc"))
		goto out;
	memset(big, 'x', n);
	ASSERT_EQ(mb(s, XADC_SOP_CONTAINS, false, big, n), -1, "no needle");
	memcpy(big + n - 6, "NEEDLE", 6);
	ASSERT_EQ(mb(s, XADC_SOP_CONTAINS, false, big, n), -1, "case");
	ASSERT_EQ(mb(s, XADC_SOP_CONTAINS, true, big, n), 0, "needle at the very end");
	ASSERT_EQ(mb(s, XADC_SOP_EQUALS, false, big, n), -1, "equals");
	memcpy(big, "/a", 2);
	ASSERT_EQ(mb(s, XADC_SOP_BEGINS_WITH, false, big, n), 2, "begins");
	ASSERT_EQ(mb(s, XADC_SOP_ENDS_WITH, false, big, n), -1, "ends");
	xadc_strset_free(s);
	/* The regex engine on 1 MB, through Hyperscan (or PCRE2). */
	s = xadc_strset_build("stringgroup[big]", e, 3, XADC_SOP_BIT(XADC_SOP_REGEX, 0), NULL);
	if (!ASSERT_NOT_NULL(s, "build regex"))
		goto out;
	memset(big, 'x', n);
	ASSERT_EQ(mb(s, XADC_SOP_REGEX, false, big, n), 1, "^x+$ over 1 MB");
	big[n / 2] = 'y';
	ASSERT_EQ(mb(s, XADC_SOP_REGEX, false, big, n), -1, "broken run");
out:
	xadc_strset_free(s);
	free(big);
}

TEST(regex_lowest_index_and_case)
{
	const char *k[] = { "^/api/v[0-9]+/users$", "users", "^/API", "[0-9]{3}$" };
	struct xadc_strset *s = build_strs(k, 4, ALL, NULL);

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "/api/v2/users"), 0, "lowest of 0,1");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "/x/users/123"), 1, "1 and 3");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "/x/123"), 3, "only 3");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "/api/V2/USERS"), -1, "case");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, true, "/api/V2/USERS"), 0, "nocase");
	/* PCRE2 semantics: '$' also before a final newline, '.' not '\n'. */
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "/api/v2/users\n"), 0, "$ before final newline");
	xadc_strset_free(s);
}

TEST(regex_invalid_error_text)
{
	const char *k[] = { "ok", "a+", "x", "(abc" };
	json_t *err = NULL;
	struct xadc_strset *s = build_strs(k, 4, XADC_SOP_BIT(XADC_SOP_REGEX, 1), &err);

	ASSERT_NULL(s, "rejected");
	if (!ASSERT_NOT_NULL(err, "error object"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(err, "error")),
		     "stringgroup[t].kv[3].key: regex error at offset 4: missing closing parenthesis",
		     "error text");
	ASSERT_STREQ(json_string_value(json_object_get(err, "path")), "stringgroup[t].kv[3].key",
		     "path");
	json_decref(err);
	/* Not validated when REGEX is not needed. */
	s = build_strs(k, 4, XADC_SOP_BIT(XADC_SOP_EQUALS, 0), &err);
	ASSERT_NOT_NULL(s, "no regex needed");
	xadc_strset_free(s);
}

TEST(regex_pcre2_only_patterns)
{
	const char *k[] = { "(a+)b\\1", "foo(?=bar)", "^never$", "zz" };
	struct xadc_strset *s = build_strs(k, 4, XADC_SOP_BIT(XADC_SOP_REGEX, 0) |
						 XADC_SOP_BIT(XADC_SOP_REGEX, 1), NULL);

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	/* Backreferences and lookahead cannot go to Hyperscan. */
	ASSERT_GE(xadc_strset_regex_fallbacks(s, false), 2, "fallbacks");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "xxaabaazz"), 0, "backref aaba|a");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "xaabazz"), 0, "a b a");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "aabbzz"), 3, "no backref hit");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "foobar"), 1, "lookahead");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "foobaz"), -1, "lookahead miss");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, true, "FOOBAR zz"), 1, "nocase lookahead");
	xadc_strset_free(s);
}

TEST(regex_literal_prefix)
{
	const char *k[] = { "^/api/v1/x", "^/api/v1", "^/ApI/v1/q", "^/api/v1/x|^/zz", "^ab\\.cd",
			    "^abcd?e", "^/api/v1/x(?=y)" };
	struct xadc_strset *s = build_strs(k, 7, XADC_SOP_BIT(XADC_SOP_REGEX, 0) |
						 XADC_SOP_BIT(XADC_SOP_REGEX, 1), NULL);

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "/api/v1/xyz"), 0, "longer prefix, lower index");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "/api/v1/q"), 1, "shorter prefix");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, true, "/API/V1/Q"), 1, "nocase prefix");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "/ApI/v1/q"), 2, "case: 1 does not match");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "x/api/v1"), -1, "anchored");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "/zz"), 3, "alternation not anchored by prefix");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "ab.cd"), 4, "escaped dot");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "abxcd"), -1, "escaped dot is literal");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "abce"), 5, "optional d");
	ASSERT_EQ(m(s, XADC_SOP_REGEX, false, "abcde"), 5, "with d");
	xadc_strset_free(s);
}

TEST(regex_captures)
{
	const char *k[] = { "^/(\\w+)/(\\d+)(x)?", "q" };
	struct xadc_strset *s = build_strs(k, 2, XADC_SOP_BIT(XADC_SOP_REGEX, 1), NULL);
	size_t caps[8];
	int n;

	if (!ASSERT_NOT_NULL(s, "build"))
		return;
	n = xadc_strset_regex_captures(s, 0, true, "/Users/42/rest", 14, caps, 4);
	ASSERT_EQ(n, 3, "groups 0..2 set");
	ASSERT_EQ(caps[0], 0, "g0 start");
	ASSERT_EQ(caps[1], 9, "g0 end");
	ASSERT_EQ(caps[2], 1, "g1 start");
	ASSERT_EQ(caps[3], 6, "g1 end");
	ASSERT_EQ(caps[4], 7, "g2 start");
	ASSERT_EQ(caps[5], 9, "g2 end");
	n = xadc_strset_regex_captures(s, 0, true, "/Users/42/rest", 14, caps, 2);
	ASSERT_EQ(n, 2, "truncated to ncap");
	ASSERT_EQ(xadc_strset_regex_captures(s, 0, true, "nope", 4, caps, 4), 0, "no match");
	ASSERT_ERR(xadc_strset_regex_captures(s, 0, false, "/a/1", 4, caps, 4), "mode not built");
	ASSERT_ERR(xadc_strset_regex_captures(s, 9, true, "/a/1", 4, caps, 4), "bad index");
	xadc_strset_free(s);
}

/* Regex: the Hyperscan path, the PCRE2-only path and PCRE2 one by one agree. */
TEST(regex_differential)
{
	enum { NPAT = 400, NQ = 3000 };
	static const char *atoms[] = { "a", "b", "[ab]", ".", "a*", "b+", "(ab|ba)", "\\d",
				       "/", "^", "$", "(a)\\1", "x?", "[^a]" };
	struct xadc_str_entry e[NPAT];
	char pats[NPAT][40], q[64];
	struct xadc_strset *hs, *pc;
	pcre2_code *code[NPAT];
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	int i, j, nc, bad = 0;
	PCRE2_SIZE eo;
	int ec;

	for (i = 0; i < NPAT; i++) {
		int na = 1 + rnd() % 4;

		pats[i][0] = '\0';
		/* A third start with "^" and a literal: the prefix-trie path. */
		if (i % 3 == 0) {
			static const char la[] = "abAB/\\.";
			int ll = 3 + rnd() % 3;

			strcat(pats[i], "^");
			for (j = 0; j < ll; j++) {
				char c[3] = { la[rnd() % (sizeof(la) - 1)], 0, 0 };

				if (c[0] == '\\')
					c[1] = '/';
				strcat(pats[i], c);
			}
		}
		for (j = 0; j < na; j++)
			strcat(pats[i], atoms[rnd() % (sizeof(atoms) / sizeof(atoms[0]))]);
		e[i] = (struct xadc_str_entry){ pats[i], strlen(pats[i]), "", 0 };
	}
	for (nc = 0; nc < 2; nc++) {
		unsigned needs = XADC_SOP_BIT(XADC_SOP_REGEX, nc);

		hs = xadc_strset_build("stringgroup[d]", e, NPAT, needs, NULL);
		setenv("XADC_DATASET_NO_HS", "1", 1);
		pc = xadc_strset_build("stringgroup[d]", e, NPAT, needs, NULL);
		unsetenv("XADC_DATASET_NO_HS");
		if (!ASSERT_NOT_NULL(hs, "hs build") || !ASSERT_NOT_NULL(pc, "pcre build"))
			break;
		ASSERT_GT(xadc_strset_regex_fallbacks(pc, nc), xadc_strset_regex_fallbacks(hs, nc),
			  "PCRE2-only build has more fallbacks");
		for (i = 0; i < NPAT; i++)
			code[i] = pcre2_compile((PCRE2_SPTR)pats[i], strlen(pats[i]),
						nc ? PCRE2_CASELESS : 0, &ec, &eo, NULL);
		for (i = 0; i < NQ; i++) {
			static const char qa[] = "abAB/12\nx.";
			size_t ql = rnd() % 12, k;
			long want = -1, g1, g2;

			for (k = 0; k < ql; k++)
				q[k] = qa[rnd() % (sizeof(qa) - 1)];
			for (j = 0; j < NPAT && want < 0; j++)
				if (pcre2_match(code[j], (PCRE2_SPTR)q, ql, 0, 0, md, NULL) >= 0)
					want = j;
			g1 = mb(hs, XADC_SOP_REGEX, nc, q, ql);
			g2 = mb(pc, XADC_SOP_REGEX, nc, q, ql);
			if (g1 != want || g2 != want) {
				if (bad++ < 5)
					printf("# q=\"%.*s\" want %ld hs %ld (%s) pcre %ld\n",
					       (int)ql, q, want, g1, g1 >= 0 ? pats[g1] : "-",
					       g2);
			}
		}
		for (i = 0; i < NPAT; i++)
			pcre2_code_free(code[i]);
		xadc_strset_free(hs);
		xadc_strset_free(pc);
	}
	pcre2_match_data_free(md);
	ASSERT_EQ(bad, 0, "disagreements");
}

/* 100,000 entries, every plain operator, random queries vs the reference. */
TEST(large_differential)
{
	enum { N = 100000, NQ = 2000 };
	struct xadc_str_entry *e = calloc(N, sizeof(*e));
	char *keys = malloc((size_t)N * 12), q[48];
	struct xadc_strset *s;
	long bad = 0, hits = 0, total = 0;
	int i, op, nc;

	for (i = 0; i < N; i++) {
		size_t kl = 3 + rnd() % 8;

		rnd_str(keys + (size_t)i * 12, kl);
		e[i] = (struct xadc_str_entry){ keys + (size_t)i * 12, kl, "", 0 };
	}
	s = xadc_strset_build("stringgroup[big]", e, N,
			      ALL & ~(XADC_SOP_BIT(XADC_SOP_REGEX, 0) |
				      XADC_SOP_BIT(XADC_SOP_REGEX, 1)),
			      NULL);
	if (!ASSERT_NOT_NULL(s, "build 100k"))
		goto out;
	for (i = 0; i < NQ; i++) {
		size_t ql = rnd() % 40;

		/* Half the queries are built around a key, so hits are common. */
		rnd_str(q, ql);
		if (i % 2) {
			const struct xadc_str_entry *k = &e[rnd() % N];
			size_t at = ql ? rnd() % ql : 0;

			if (at + k->key_len <= sizeof(q)) {
				memcpy(q + at, k->key, k->key_len);
				if (at + k->key_len > ql)
					ql = at + k->key_len;
			}
		}
		for (op = 0; op < XADC_SOP_REGEX; op++) {
			for (nc = 0; nc < 2; nc++) {
				long want = ds_ref_match(e, N, op, nc, q, ql);
				long got = mb(s, op, nc, q, ql);

				total++;
				hits += want >= 0;
				if (want != got && bad++ < 5)
					printf("# op %d nc %d len %zu: want %ld got %ld\n", op,
					       nc, ql, want, got);
			}
		}
	}
	ASSERT_EQ(bad, 0, "disagreements");
	/* The run means something only if both outcomes were exercised. */
	ASSERT_GT(hits, total / 10, "enough hits");
	ASSERT_LT(hits, total - total / 10, "enough misses");
out:
	xadc_strset_free(s);
	free(keys);
	free(e);
}

/* --- IP groups ---------------------------------------------------------- */

static union xadc_sockaddr ip(const char *s)
{
	union xadc_sockaddr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':')) {
		a.in6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, s, &a.in6.sin6_addr);
	} else {
		a.in.sin_family = AF_INET;
		inet_pton(AF_INET, s, &a.in.sin_addr);
	}
	return a;
}

static bool has(const struct xadc_ipset *s, const char *a)
{
	union xadc_sockaddr x = ip(a);

	return xadc_ipset_contains(s, &x);
}

static int addp(struct xadc_ipset *s, const char *a, unsigned bits)
{
	union xadc_sockaddr x = ip(a);

	return xadc_ipset_add_prefix(s, &x, bits);
}

static int addr(struct xadc_ipset *s, const char *lo, const char *hi)
{
	union xadc_sockaddr x = ip(lo), y = ip(hi);

	return xadc_ipset_add_range(s, &x, &y);
}

TEST(ipset_basic)
{
	struct xadc_ipset *s = xadc_ipset_new();

	if (!ASSERT_NOT_NULL(s, "new"))
		return;
	ASSERT_OK(addp(s, "198.18.0.0", 24), "prefix");
	ASSERT_OK(addp(s, "198.18.1.7", 24), "host bits ignored");
	ASSERT_OK(addr(s, "198.18.2.0", "198.18.2.9"), "adjacent range");
	ASSERT_OK(addp(s, "198.18.0.128", 25), "overlap");
	ASSERT_OK(addp(s, "fd00::", 64), "v6 prefix");
	ASSERT_OK(addr(s, "fd00:1::5", "fd00:1::9"), "v6 range");
	ASSERT_ERR(addp(s, "198.18.0.0", 33), "bits > 32");
	ASSERT_ERR(addp(s, "fd00::", 129), "bits > 128");
	ASSERT_ERR(addr(s, "198.18.0.9", "198.18.0.1"), "lo > hi");
	ASSERT_ERR(addr(s, "198.18.0.1", "fd00::1"), "mixed families");
	ASSERT_FALSE(has(s, "198.18.0.1"), "not built yet");
	ASSERT_OK(xadc_ipset_build(s), "build");
	ASSERT_EQ(xadc_ipset_count(s), 6, "entries added");
	ASSERT_TRUE(has(s, "198.18.0.0"), "first");
	ASSERT_TRUE(has(s, "198.18.1.255"), "second /24");
	ASSERT_TRUE(has(s, "198.18.2.9"), "range end");
	ASSERT_FALSE(has(s, "198.18.2.10"), "past range");
	ASSERT_FALSE(has(s, "198.17.255.255"), "before");
	ASSERT_TRUE(has(s, "::ffff:198.18.1.1"), "v4-mapped");
	ASSERT_FALSE(has(s, "::ffff:198.18.3.1"), "v4-mapped miss");
	ASSERT_FALSE(has(s, "::c612:101"), "v4-compatible is not v4-mapped");
	ASSERT_TRUE(has(s, "fd00::ffff:ffff:ffff:ffff"), "v6 prefix end");
	ASSERT_FALSE(has(s, "fd00:0:0:1::"), "past v6 prefix");
	ASSERT_TRUE(has(s, "fd00:1::7"), "v6 range");
	ASSERT_FALSE(has(s, "fd00:1::a"), "past v6 range");
	xadc_ipset_free(s);
}

TEST(ipset_full_ranges)
{
	struct xadc_ipset *s = xadc_ipset_new();

	if (!ASSERT_NOT_NULL(s, "new"))
		return;
	ASSERT_OK(addp(s, "0.0.0.0", 0), "v4 /0");
	ASSERT_OK(addr(s, "255.255.255.255", "255.255.255.255"), "top host");
	ASSERT_OK(xadc_ipset_build(s), "build");
	ASSERT_TRUE(has(s, "0.0.0.0"), "low");
	ASSERT_TRUE(has(s, "255.255.255.255"), "high");
	ASSERT_FALSE(has(s, "fd00::1"), "no v6 entries");
	ASSERT_TRUE(has(s, "::ffff:1.2.3.4"), "mapped into /0");
	ASSERT_OK(addr(s, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "v6 full range");
	ASSERT_OK(addp(s, "ffff::", 16), "v6 overlap at the top");
	ASSERT_OK(xadc_ipset_build(s), "rebuild");
	ASSERT_TRUE(has(s, "::"), "v6 low");
	ASSERT_TRUE(has(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "v6 high");
	ASSERT_EQ(xadc_ipset_bytes(s) < 200, true, "merged to one interval per family");
	xadc_ipset_free(s);
}

static bool ref_in4(const uint32_t *net, const unsigned *bits, int n, uint32_t a)
{
	int i;

	for (i = 0; i < n; i++) {
		uint32_t mask = bits[i] ? UINT32_MAX << (32 - bits[i]) : 0;

		if ((a & mask) == (net[i] & mask))
			return true;
	}
	return false;
}

/* 10,000 random v4 prefixes against a linear check. */
TEST(ipset_differential)
{
	enum { N = 10000, NQ = 20000 };
	uint32_t *net = malloc(N * sizeof(*net));
	unsigned *bits = malloc(N * sizeof(*bits));
	struct xadc_ipset *s = xadc_ipset_new();
	long bad = 0, hits = 0;
	int i;

	if (!ASSERT_NOT_NULL(s, "new"))
		goto out;
	for (i = 0; i < N; i++) {
		union xadc_sockaddr a = { .in = { .sin_family = AF_INET } };

		/* Mostly long prefixes inside 198.18/15 so they overlap and abut. */
		net[i] = (198u << 24 | 18u << 16) + (uint32_t)(rnd() % 0x20000);
		bits[i] = 15 + rnd() % 18;
		if (i % 500 == 0) {
			net[i] = (uint32_t)rnd();
			bits[i] = 4 + rnd() % 20;
		}
		a.in.sin_addr.s_addr = htonl(net[i]);
		if (!ASSERT_OK(xadc_ipset_add_prefix(s, &a, bits[i]), "add"))
			goto out;
	}
	ASSERT_OK(xadc_ipset_build(s), "build");
	for (i = 0; i < NQ; i++) {
		uint32_t a4 = i % 2 ? (198u << 24 | 18u << 16) + (uint32_t)(rnd() % 0x20000)
				    : (uint32_t)rnd();
		union xadc_sockaddr a = { .in = { .sin_family = AF_INET } };
		union xadc_sockaddr m6 = { .in6 = { .sin6_family = AF_INET6 } };
		bool want = ref_in4(net, bits, N, a4);

		a.in.sin_addr.s_addr = htonl(a4);
		m6.in6.sin6_addr.s6_addr[10] = 0xff;
		m6.in6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m6.in6.sin6_addr.s6_addr[12], &a.in.sin_addr.s_addr, 4);
		hits += want;
		if (xadc_ipset_contains(s, &a) != want || xadc_ipset_contains(s, &m6) != want)
			bad++;
	}
	ASSERT_EQ(bad, 0, "disagreements");
	ASSERT_GT(hits, NQ / 10, "enough hits");
	ASSERT_LT(hits, NQ - NQ / 10, "enough misses");
out:
	xadc_ipset_free(s);
	free(net);
	free(bits);
}

/*
 * Large sets use the /16 directory: random ranges over the whole space
 * (some spanning many /16 blocks, some ending exactly on block edges),
 * checked against a linear scan, with queries at every interval edge and
 * at block boundaries.
 */
TEST(ipset_directory_differential)
{
	enum { N = 3000, NQ = 30000 };
	uint32_t *lo = malloc(N * sizeof(*lo)), *hi = malloc(N * sizeof(*hi));
	struct xadc_ipset *s = xadc_ipset_new();
	long bad = 0, hits = 0, total = 0;
	int i, j;

	if (!ASSERT_NOT_NULL(s, "new"))
		goto out;
	for (i = 0; i < N; i++) {
		union xadc_sockaddr a = { .in = { .sin_family = AF_INET } };
		union xadc_sockaddr b = { .in = { .sin_family = AF_INET } };
		uint32_t span = i % 7 == 0 ? (uint32_t)(rnd() % 0x400000) : (uint32_t)(rnd() % 300);

		lo[i] = (uint32_t)rnd();
		if (i % 11 == 0)
			lo[i] &= 0xffff0000u; /* starts on a block edge */
		hi[i] = lo[i] > UINT32_MAX - span ? UINT32_MAX : lo[i] + span;
		if (i % 13 == 0)
			hi[i] |= 0xffffu; /* ends on a block edge */
		a.in.sin_addr.s_addr = htonl(lo[i]);
		b.in.sin_addr.s_addr = htonl(hi[i]);
		if (!ASSERT_OK(xadc_ipset_add_range(s, &a, &b), "add"))
			goto out;
	}
	ASSERT_OK(xadc_ipset_build(s), "build");
	for (i = 0; i < NQ; i++) {
		const uint32_t k = (uint32_t)rnd() % N;
		uint32_t q;
		union xadc_sockaddr a = { .in = { .sin_family = AF_INET } };
		bool want = false;

		switch (i % 6) {
		case 0: q = lo[k]; break;
		case 1: q = lo[k] - 1; break;
		case 2: q = hi[k]; break;
		case 3: q = hi[k] + 1; break;
		case 4: q = ((uint32_t)rnd() & 0xffff0000u) - (uint32_t)(rnd() % 2); break;
		default: q = (uint32_t)rnd(); break;
		}
		for (j = 0; j < N && !want; j++)
			want = q >= lo[j] && q <= hi[j];
		a.in.sin_addr.s_addr = htonl(q);
		total++;
		hits += want;
		if (xadc_ipset_contains(s, &a) != want && bad++ < 5)
			printf("# %08x: want %d\n", q, want);
	}
	ASSERT_EQ(bad, 0, "disagreements");
	ASSERT_GT(hits, total / 10, "enough hits");
	ASSERT_LT(hits, total - total / 10, "enough misses");
	ASSERT_GT(xadc_ipset_bytes(s), 65536 * 4, "directory built for a large set");
out:
	xadc_ipset_free(s);
	free(lo);
	free(hi);
}

TEST_MAIN()
