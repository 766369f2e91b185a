// SPDX-License-Identifier: GPL-2.0
/*
 * test_dataset_equals.c - the EQUALS engine (policy/dataset_hash.c) on
 * shapes aimed at its structure: keys around and beyond the 56 bytes a
 * record holds inline, keys sharing long prefixes, every one-byte key,
 * every length, 0 and 1 entries, duplicates in both case modes, and many
 * near-miss queries, each checked against a sorted-array reference.
 */
#include <stdlib.h>

#include "test_progs.h"
#include "../../policy/dataset_internal.h"

#define EQ_BOTH (XADC_SOP_BIT(XADC_SOP_EQUALS, 0) | XADC_SOP_BIT(XADC_SOP_EQUALS, 1))

static uint64_t rng = 0x5eed0f0e9a15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Index of the EQUALS hit for (nocase, bytes), -1 for none. */
static long eq(const struct xadc_strset *s, bool nc, const char *str, size_t len)
{
	struct xadc_str_hit h;

	if (!xadc_strset_match(s, XADC_SOP_EQUALS, nc, str, len, &h))
		return -1;
	return h.index;
}

/* --- reference: sorted (folded key, index) pairs, binary search --------- */

struct ref_key {
	char *key;
	size_t len;
	long idx;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref_key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void fold(char *dst, const char *src, size_t len, bool nc)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = (char)(nc && src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
}

static struct ref_key *ref_build(const struct xadc_str_entry *e, size_t n, bool nc)
{
	struct ref_key *r = calloc(n ? n : 1, sizeof(*r));
	size_t i;

	for (i = 0; i < n; i++) {
		r[i].key = malloc(e[i].key_len + 1);
		fold(r[i].key, e[i].key, e[i].key_len, nc);
		r[i].len = e[i].key_len;
		r[i].idx = (long)i;
	}
	qsort(r, n, sizeof(*r), ref_cmp);
	return r;
}

static void ref_free(struct ref_key *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r[i].key);
	free(r);
}

/* Lowest index whose (folded) key equals the (folded) query, -1 if none. */
static long ref_find(const struct ref_key *r, size_t n, bool nc, const char *q, size_t len)
{
	char *fq = malloc(len + 1);
	struct ref_key probe = { fq, len, -1 };
	size_t lo = 0, hi = n;
	long ans = -1;

	fold(fq, q, len, nc);
	/* First element >= (query, -1): the lowest index with that key. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ref_cmp(&r[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && r[lo].len == len && memcmp(r[lo].key, fq, len) == 0)
		ans = r[lo].idx;
	free(fq);
	return ans;
}

/*
 * Build both case modes over e and check every query in q (count nq, each
 * an exact-length copy at the end of its own allocation, so a read past
 * the query would be caught by ASan) against the reference. Returns the
 * number of disagreements; reports the first.
 */
static long check_all(const char *what, const struct xadc_str_entry *e, size_t n,
		      const struct xadc_str_entry *q, size_t nq)
{
	struct xadc_strset *s = xadc_strset_build("stringgroup[eq]", e, n, EQ_BOTH, NULL);
	long bad = 0;
	int nc;

	if (!ASSERT_NOT_NULL(s, what))
		return 1;
	for (nc = 0; nc < 2; nc++) {
		struct ref_key *r = ref_build(e, n, nc);
		size_t i;

		for (i = 0; i < nq; i++) {
			char *copy = malloc(q[i].key_len ? q[i].key_len : 1);
			long got, want;

			memcpy(copy, q[i].key, q[i].key_len);
			got = eq(s, nc, copy, q[i].key_len);
			want = ref_find(r, n, nc, q[i].key, q[i].key_len);
			if (got != want && bad++ == 0)
				printf("# %s: nocase=%d query %zu (len %zu): got %ld want %ld\n",
				       what, nc, i, q[i].key_len, got, want);
			free(copy);
		}
		ref_free(r, n);
	}
	xadc_strset_free(s);
	return bad;
}

/* --- tests ---------------------------------------------------------------- */

TEST(equals_zero_and_one_entry)
{
	struct xadc_str_entry one = { "/only", 5, "v", 1 }, empty = { "", 0, "", 0 };
	struct xadc_strset *s0 = xadc_strset_build("sg", NULL, 0, EQ_BOTH, NULL);
	struct xadc_strset *s1 = xadc_strset_build("sg", &one, 1, EQ_BOTH, NULL);
	struct xadc_strset *se = xadc_strset_build("sg", &empty, 1, EQ_BOTH, NULL);

	if (ASSERT_NOT_NULL(s0, "empty set")) {
		ASSERT_EQ(eq(s0, false, "", 0), -1, "no entries: empty string");
		ASSERT_EQ(eq(s0, true, "/only", 5), -1, "no entries: anything");
	}
	if (ASSERT_NOT_NULL(s1, "one entry")) {
		ASSERT_EQ(eq(s1, false, "/only", 5), 0, "one: hit");
		ASSERT_EQ(eq(s1, true, "/ONLY", 5), 0, "one: nocase hit");
		ASSERT_EQ(eq(s1, false, "/ONLY", 5), -1, "one: case matters");
		ASSERT_EQ(eq(s1, false, "/onl", 4), -1, "one: prefix");
		ASSERT_EQ(eq(s1, false, "/only/", 6), -1, "one: longer");
		ASSERT_EQ(eq(s1, false, "", 0), -1, "one: empty");
	}
	if (ASSERT_NOT_NULL(se, "empty key")) {
		ASSERT_EQ(eq(se, false, "", 0), 0, "empty key: empty string");
		ASSERT_EQ(eq(se, true, "", 0), 0, "empty key: nocase");
		ASSERT_EQ(eq(se, false, "a", 1), -1, "empty key: one byte");
		ASSERT_EQ(eq(se, false, "\0", 1), -1, "empty key: NUL byte");
	}
	xadc_strset_free(s0);
	xadc_strset_free(s1);
	xadc_strset_free(se);
}

/* Every one-byte key; the set holds all 256, case pairs collide nocase. */
TEST(equals_every_single_byte)
{
	static char bytes[256];
	struct xadc_str_entry e[256];
	int i;

	for (i = 0; i < 256; i++) {
		bytes[i] = (char)(255 - i);
		e[i] = (struct xadc_str_entry){ &bytes[i], 1, "", 0 };
	}
	ASSERT_EQ(check_all("single bytes", e, 256, e, 256), 0, "single bytes");
	/* Spot-check the rule the reference encodes: 'a' (index 158) is below 'A'. */
	{
		struct xadc_strset *s = xadc_strset_build("sg", e, 256, EQ_BOTH, NULL);

		if (ASSERT_NOT_NULL(s, "build")) {
			ASSERT_EQ(eq(s, true, "A", 1), 255 - 'a', "nocase: lowest of a/A");
			ASSERT_EQ(eq(s, false, "A", 1), 255 - 'A', "exact: A itself");
			ASSERT_EQ(eq(s, true, "\xc9", 1), 255 - 0xc9, "0xc9 not folded");
		}
		xadc_strset_free(s);
	}
}

/*
 * One key of every length 0..200 over the same bytes, so each is a prefix
 * of the next (crossing the inline limit), queried with every length and
 * with the last byte changed.
 */
TEST(equals_every_length_prefix_chain)
{
	enum { MAXL = 200 };
	static char base[MAXL + 1], alt[MAXL + 1][MAXL + 1];
	struct xadc_str_entry e[MAXL + 1], q[2 * (MAXL + 1)];
	size_t i;

	for (i = 0; i < MAXL; i++)
		base[i] = (char)("aZ/\0\xff"[i % 5]);
	for (i = 0; i <= MAXL; i++) {
		e[i] = (struct xadc_str_entry){ base, i, "", 0 };
		q[i] = e[i];
		memcpy(alt[i], base, i);
		if (i)
			alt[i][i - 1] ^= 0x01;
		q[MAXL + 1 + i] = (struct xadc_str_entry){ alt[i], i, "", 0 };
	}
	ASSERT_EQ(check_all("prefix chain", e, MAXL + 1, q, 2 * (MAXL + 1)), 0, "prefix chain");
}

/*
 * For every length 1..140, two keys that differ only in their last byte
 * (and, for nocase, a third differing from the first only in its case):
 * each must find itself, so no part of a key, inline or spilled, whole
 * word or tail, is left out of the comparison.
 */
TEST(equals_last_byte_pairs)
{
	enum { MAXL = 140 };
	static char keys[3 * MAXL][MAXL];
	struct xadc_str_entry e[3 * MAXL];
	size_t len, k = 0;

	for (len = 1; len <= MAXL; len++) {
		size_t j;

		for (j = 0; j < len; j++)
			keys[k][j] = (char)('a' + (j * 7 + len) % 26);
		memcpy(keys[k + 1], keys[k], len);
		keys[k + 1][len - 1] = '#';
		memcpy(keys[k + 2], keys[k], len);
		keys[k + 2][len - 1] ^= 0x20;
		for (j = 0; j < 3; j++)
			e[k + j] = (struct xadc_str_entry){ keys[k + j], len, "", 0 };
		k += 3;
	}
	ASSERT_EQ(check_all("last byte pairs", e, k, e, k), 0, "last byte pairs");
}

/*
 * 20,000 keys of one length that differ only in their last four bytes,
 * for an inline length (45) and a spilled one (61), both with a partial
 * last word: so many same-length keys that hash neighbours are compared
 * byte for byte, at build (duplicate check) and at lookup.
 */
TEST(equals_same_length_tails)
{
	enum { N = 20000 };
	static const size_t lens[] = { 45, 61 };
	char (*keys)[64] = calloc(N, 64);
	struct xadc_str_entry *e = calloc(N, sizeof(*e));
	size_t li, i, j;

	if (!ASSERT_TRUE(keys && e, "alloc"))
		goto out;
	for (li = 0; li < 2; li++) {
		const size_t len = lens[li];

		for (i = 0; i < N; i++) {
			size_t v = i;

			for (j = 0; j < len - 4; j++)
				keys[i][j] = (char)('a' + j % 26);
			for (j = len - 4; j < len; j++, v /= 26)
				keys[i][j] = (char)('A' + v % 26);
			e[i] = (struct xadc_str_entry){ keys[i], len, "", 0 };
		}
		ASSERT_EQ(check_all("same length tails", e, N, e, N), 0, "same length tails");
	}
out:
	free(keys);
	free(e);
}

/*
 * 20,000 keys of 40..130 bytes that share a 37-byte prefix and differ in a
 * few bytes near the end; queries are the keys, case-changed keys, and the
 * keys with one byte flipped at every position class (inline part, word
 * boundaries, spilled part).
 */
TEST(equals_long_shared_prefixes)
{
	enum { N = 20000 };
	static const char prefix[] = "/api/v1/tenants/shared/long/prefix/x";
	struct xadc_str_entry *e = calloc(N, sizeof(*e)), *q = calloc(3 * N, sizeof(*q));
	char (*keys)[160] = calloc(N, 160), (*qs)[160] = calloc(2 * N, 160);
	size_t i;

	if (!ASSERT_TRUE(e && q && keys && qs, "alloc"))
		goto out;
	for (i = 0; i < N; i++) {
		size_t len = 40 + rnd() % 91, j;
		int p = snprintf(keys[i], 160, "%s%zu", prefix, i % 7000);

		for (j = (size_t)p; j < len; j++)
			keys[i][j] = (char)('A' + rnd() % 4);
		e[i] = (struct xadc_str_entry){ keys[i], len, "", 0 };
		q[i] = e[i];
		/* One byte changed at a random position (also case-only changes). */
		memcpy(qs[i], keys[i], len);
		j = rnd() % len;
		qs[i][j] = rnd() & 1 ? (char)(qs[i][j] ^ 0x20) : (char)(qs[i][j] + 1);
		q[N + i] = (struct xadc_str_entry){ qs[i], len, "", 0 };
		/* The key cut short or padded by one byte. */
		memcpy(qs[N + i], keys[i], len);
		qs[N + i][len] = 'A';
		q[2 * N + i] = (struct xadc_str_entry){ qs[N + i], rnd() & 1 ? len + 1 : len - 1,
							 "", 0 };
	}
	ASSERT_EQ(check_all("long shared prefixes", e, N, q, 3 * N), 0, "long shared prefixes");
out:
	free(e);
	free(q);
	free(keys);
	free(qs);
}

/* Many copies of the same keys (also differing only in case): lowest wins. */
TEST(equals_duplicates)
{
	enum { N = 3000 };
	struct xadc_str_entry *e = calloc(N, sizeof(*e));
	char (*keys)[24] = calloc(N, 24);
	size_t i;

	if (!ASSERT_TRUE(e && keys, "alloc"))
		goto out;
	for (i = 0; i < N; i++) {
		size_t len = (size_t)snprintf(keys[i], 24, "/Dup/%zu", (i * 7919) % 100), j;

		for (j = 0; j < len; j++)
			if (rnd() & 1)
				keys[i][j] ^= (char)(keys[i][j] >= 'A' ? 0x20 : 0);
		e[i] = (struct xadc_str_entry){ keys[i], len, "", 0 };
	}
	ASSERT_EQ(check_all("duplicates", e, N, e, N), 0, "duplicates");
out:
	free(e);
	free(keys);
}

/*
 * 100,000 keys of random bytes, queried with 300,000 strings that are not
 * keys (same length distribution): enough that some will pass the
 * engine's fingerprint check by chance, and every one must still miss.
 */
TEST(equals_many_misses)
{
	enum { N = 100000, NQ = 300000 };
	struct xadc_str_entry *e = calloc(N, sizeof(*e)), *q = calloc(NQ, sizeof(*q));
	char *pool = malloc((size_t)(N + NQ) * 32);
	size_t i, j;

	if (!ASSERT_TRUE(e && q && pool, "alloc"))
		goto out;
	for (i = 0; i < N + NQ; i++) {
		char *p = pool + i * 32;
		size_t len = 8 + rnd() % 24;

		for (j = 0; j < len; j++)
			p[j] = (char)rnd();
		/* Keys start with 'k', queries with 'q': no query is a key. */
		p[0] = i < N ? 'k' : 'q';
		if (i < N)
			e[i] = (struct xadc_str_entry){ p, len, "", 0 };
		else
			q[i - N] = (struct xadc_str_entry){ p, len, "", 0 };
	}
	ASSERT_EQ(check_all("many misses", e, N, q, NQ), 0, "misses");
	ASSERT_EQ(check_all("all keys", e, N, e, N), 0, "hits");
out:
	free(e);
	free(q);
	free(pool);
}

TEST_MAIN()
