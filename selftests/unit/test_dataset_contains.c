// SPDX-License-Identifier: GPL-2.0
/*
 * test_dataset_contains.c - CONTAINS on shapes that stress the sampled
 * window engine (policy/dataset_ac.c): every length class (1, 2-3, 4-7,
 * 8+), keys sharing long prefixes or all windows, keys at the very edges
 * of the input, duplicate keys, binary bytes, and differential runs over a
 * small alphabet (many overlapping occurrences) against a naive search.
 */
#include <stdlib.h>

#include "test_progs.h"
#include "../../policy/dataset_internal.h"

static uint64_t rs = 0x243f6a8885a308d3ULL;

static uint32_t rnd(uint32_t mod)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs % mod);
}

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Naive: lowest index whose key occurs in s, -1 if none. */
static long ref_contains(const struct xadc_str_entry *e, size_t n, const char *s, size_t len,
			 bool nc)
{
	size_t i, p, k;

	for (i = 0; i < n; i++) {
		for (p = 0; p + e[i].key_len <= len; p++) {
			for (k = 0; k < e[i].key_len; k++) {
				unsigned char a = (unsigned char)s[p + k];
				unsigned char b = (unsigned char)e[i].key[k];

				if (nc ? fold(a) != fold(b) : a != b)
					break;
			}
			if (k == e[i].key_len)
				return (long)i;
		}
	}
	return -1;
}

static long got(const struct xadc_strset *s, bool nc, const char *str, size_t len)
{
	struct xadc_str_hit h;

	if (!xadc_strset_match(s, XADC_SOP_CONTAINS, nc, str, len, &h))
		return -1;
	return h.index;
}

static struct xadc_strset *build(const struct xadc_str_entry *e, size_t n)
{
	return xadc_strset_build("t", e, n,
				 XADC_SOP_BIT(XADC_SOP_CONTAINS, 0) |
					 XADC_SOP_BIT(XADC_SOP_CONTAINS, 1),
				 NULL);
}

/* Compare engine and reference on nq random inputs; returns mismatches. */
static int differential(const struct xadc_str_entry *e, size_t n, const char *alpha,
			size_t nalpha, size_t maxlen, int nq)
{
	struct xadc_strset *s = build(e, n);
	char *q = malloc(maxlen + 1);
	int bad = 0, i, nc;

	if (!ASSERT_TRUE(s && q, "build"))
		goto out;
	for (i = 0; i < nq; i++) {
		size_t len = rnd((uint32_t)maxlen + 1), k;

		for (k = 0; k < len; k++)
			q[k] = alpha[rnd((uint32_t)nalpha)];
		/* Plant a key now and then so hits are common. */
		if (n && rnd(2)) {
			const struct xadc_str_entry *pe = &e[rnd((uint32_t)n)];

			if (pe->key_len <= len) {
				size_t at = rnd((uint32_t)(len - pe->key_len + 1));

				memcpy(q + at, pe->key, pe->key_len);
			}
		}
		for (nc = 0; nc < 2; nc++) {
			long want = ref_contains(e, n, q, len, nc), have = got(s, nc, q, len);

			if (want != have && bad++ < 5)
				printf("# query %d len %zu nc %d: want %ld got %ld\n", i, len, nc,
				       want, have);
		}
	}
out:
	free(q);
	xadc_strset_free(s);
	return bad;
}

/* Random keys of lengths [minl, maxl] over alpha (arena filled by caller). */
static void make_keys(struct xadc_str_entry *e, char *arena, size_t n, size_t minl, size_t maxl,
		      const char *alpha, size_t nalpha)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		size_t len = minl + rnd((uint32_t)(maxl - minl + 1));

		for (k = 0; k < len; k++)
			arena[k] = alpha[rnd((uint32_t)nalpha)];
		e[i] = (struct xadc_str_entry){ arena, len, "", 0 };
		arena += len;
	}
}

TEST(every_length_class_small_alphabet)
{
	static const char alpha[] = { 'a', 'b', 'A', 'B', '\0', '\xff' };
	static const size_t counts[] = { 1, 2, 7, 60, 400 };
	struct xadc_str_entry e[400];
	char *arena = malloc(400 * 24);
	size_t c;

	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		make_keys(e, arena, counts[c], 1, 20, alpha, sizeof(alpha));
		ASSERT_EQ(differential(e, counts[c], alpha, sizeof(alpha), 80, 3000), 0,
			  "mixed lengths 1..20");
		make_keys(e, arena, counts[c], 2, 3, alpha, sizeof(alpha));
		ASSERT_EQ(differential(e, counts[c], alpha, sizeof(alpha), 40, 2000), 0,
			  "lengths 2..3 only");
		make_keys(e, arena, counts[c], 4, 7, alpha, sizeof(alpha));
		ASSERT_EQ(differential(e, counts[c], alpha, sizeof(alpha), 40, 2000), 0,
			  "lengths 4..7 only");
		make_keys(e, arena, counts[c], 8, 24, alpha, sizeof(alpha));
		ASSERT_EQ(differential(e, counts[c], alpha, sizeof(alpha), 60, 2000), 0,
			  "lengths 8..24 only");
	}
	free(arena);
}

/* Many keys that share a long prefix and differ only in their last byte. */
TEST(shared_long_prefixes)
{
	static const char alpha[] = { 'p', 'q', 'Z', 'z' };
	struct xadc_str_entry e[300];
	char *arena = malloc(300 * 40);
	size_t i;

	for (i = 0; i < 300; i++) {
		char *k = arena + i * 40;
		size_t len = 8 + i % 30;

		memset(k, 'p', len);
		k[len - 1] = alpha[i % 4];
		k[len / 2] = alpha[(i / 4) % 4];
		e[i] = (struct xadc_str_entry){ k, len, "", 0 };
	}
	ASSERT_EQ(differential(e, 300, alpha, 4, 120, 3000), 0, "shared prefixes");
	/* Every window of every key the same: all picks collide. */
	for (i = 0; i < 300; i++)
		e[i].key_len = 8 + i % 13, e[i].key = "pppppppppppppppppppppppppppppppppppp";
	ASSERT_EQ(differential(e, 300, alpha, 4, 60, 1000), 0, "identical windows");
	free(arena);
}

TEST(edges_duplicates_and_binary)
{
	static const struct xadc_str_entry e[] = {
		{ "tail-key", 8, "", 0 },     { "HEAD", 4, "", 0 },	  { "x\0y", 3, "", 0 },
		{ "\xff", 1, "", 0 },	      { "HEAD", 4, "", 0 },	  { "mid\0dle!!", 9, "", 0 },
		{ "ab", 2, "", 0 },
	};
	struct xadc_strset *s = build(e, sizeof(e) / sizeof(e[0]));

	if (!ASSERT_TRUE(s, "build"))
		return;
	ASSERT_EQ(got(s, false, "zzzztail-key", 12), 0, "key ends at the input's end");
	ASSERT_EQ(got(s, false, "tail-key", 8), 0, "key is the whole input");
	ASSERT_EQ(got(s, false, "tail-ke", 7), -1, "input one byte short");
	ASSERT_EQ(got(s, false, "HEADzz", 6), 1, "key at the start");
	ASSERT_EQ(got(s, true, "head", 4), 1, "folded, duplicate keeps lower index");
	ASSERT_EQ(got(s, false, "head", 4), -1, "exact does not fold");
	ASSERT_EQ(got(s, false, "..x\0y..", 7), 2, "NUL inside a 3-byte key");
	ASSERT_EQ(got(s, false, "x\0", 2), -1, "prefix of a key only");
	ASSERT_EQ(got(s, false, "a\xff", 2), 3, "one-byte 0xff key");
	ASSERT_EQ(got(s, true, "__MID\0DLE!!", 11), 5, "NUL inside a folded long key");
	ASSERT_EQ(got(s, false, "ab HEAD", 7), 1, "lowest index, not first position");
	ASSERT_EQ(got(s, false, "", 0), -1, "empty input, no empty key");
	xadc_strset_free(s);
}

TEST(zero_and_one_entry)
{
	static const struct xadc_str_entry one = { "needle", 6, "", 0 };
	struct xadc_strset *s = build(NULL, 0);

	if (ASSERT_TRUE(s, "empty build"))
		ASSERT_EQ(got(s, false, "anything", 8), -1, "empty set matches nothing");
	xadc_strset_free(s);
	s = build(&one, 1);
	if (!ASSERT_TRUE(s, "one build"))
		return;
	ASSERT_EQ(got(s, false, "haystack needle", 15), 0, "single key");
	ASSERT_EQ(got(s, true, "NEEDLE", 6), 0, "single key folded");
	ASSERT_EQ(got(s, false, "needl", 5), -1, "single key short input");
	xadc_strset_free(s);
}

/* A 70,000-byte key, and 1 MB inputs with occurrences only at the end. */
TEST(long_key_and_1mb_input)
{
	const size_t big = 1 << 20, klen = 70000;
	char *in = malloc(big), *key = malloc(klen);
	struct xadc_str_entry e[3];
	struct xadc_strset *s;
	size_t i;

	if (!ASSERT_TRUE(in && key, "alloc"))
		goto out;
	for (i = 0; i < klen; i++)
		key[i] = (char)('a' + rnd(3));
	for (i = 0; i < big; i++)
		in[i] = (char)('a' + rnd(3));
	e[0] = (struct xadc_str_entry){ key, klen, "", 0 };
	e[1] = (struct xadc_str_entry){ "ZZQQ", 4, "", 0 };
	e[2] = (struct xadc_str_entry){ "#", 1, "", 0 };
	s = build(e, 3);
	if (!ASSERT_TRUE(s, "build"))
		goto out;
	ASSERT_EQ(got(s, false, in, big), -1, "no hit in 1 MB");
	memcpy(in + big - 4, "zzqq", 4);
	ASSERT_EQ(got(s, false, in, big), -1, "exact: folded copy is no hit");
	ASSERT_EQ(got(s, true, in, big), 1, "nocase: hit in the last 4 bytes");
	in[big - 1] = '#';
	ASSERT_EQ(got(s, false, in, big), 2, "one-byte key at the last byte");
	memcpy(in + big - klen, key, klen);
	ASSERT_EQ(got(s, false, in, big), 0, "70,000-byte key ending at the end");
	ASSERT_EQ(got(s, false, in + 1, big - 1), 0, "same, unaligned start");
	ASSERT_EQ(got(s, false, in, big - 1), -1, "cut one byte: long key gone");
	xadc_strset_free(s);
out:
	free(in);
	free(key);
}

/*
 * 1,000 keys "a...ab" share every window but their last: an input of
 * 1 MB of 'a' must not verify them all at every position (the engine falls
 * back to its automaton for such sets; a quadratic scan would not finish).
 */
TEST(many_keys_one_repeated_byte)
{
	const size_t big = 1 << 20, nk = 1000;
	struct xadc_str_entry *e = calloc(nk, sizeof(*e));
	char *in = malloc(big), *k = malloc(nk + 12);
	struct xadc_strset *s;
	size_t i;

	if (!ASSERT_TRUE(e && in && k, "alloc"))
		goto out;
	memset(k, 'a', nk + 11);
	k[nk + 11] = 'b';
	memset(in, 'a', big);
	/* Key i: the last nk + 12 - i bytes of k, (nk + 11 - i) 'a's then "b". */
	for (i = 0; i < nk; i++)
		e[i] = (struct xadc_str_entry){ k + i, nk + 12 - i, "", 0 };
	s = build(e, nk);
	if (!ASSERT_TRUE(s, "build"))
		goto out;
	ASSERT_EQ(got(s, false, in, big), -1, "1 MB of 'a': no key");
	in[big - 1] = 'b';
	ASSERT_EQ(got(s, false, in, big), 0, "all keys end there: lowest index");
	ASSERT_EQ(got(s, true, in + big - 20, 20), (long)nk - 8, "19 a then b: shortest keys");
	xadc_strset_free(s);
out:
	free(e);
	free(in);
	free(k);
}

/*
 * Keys around the inline limit of a record (52 bytes: longer keys are
 * verified through a pointer), mixed with short ones, over a small
 * alphabet so that windows collide often.
 */
TEST(keys_around_inline_limit)
{
	static const char alpha[] = { 'k', 'K', '/', '\0' };
	struct xadc_str_entry e[200];
	char *arena = malloc(200 * 70);

	if (!ASSERT_TRUE(arena, "alloc"))
		return;
	make_keys(e, arena, 200, 44, 64, alpha, sizeof(alpha));
	ASSERT_EQ(differential(e, 200, alpha, sizeof(alpha), 160, 2000), 0, "lengths 44..64");
	make_keys(e, arena, 200, 2, 64, alpha, sizeof(alpha));
	ASSERT_EQ(differential(e, 200, alpha, sizeof(alpha), 160, 2000), 0, "lengths 2..64");
	free(arena);
}

/*
 * Copies of one key: each window's pair of buckets holds 8 entries, so up
 * to 8 copies may fit the table and 9 cannot (the set then takes the
 * automaton); either way the lowest index must win.
 */
TEST(duplicate_key_copies)
{
	static const char *const keys[] = { "/dup/key/abc123", "/other/key/zz" };
	struct xadc_str_entry e[20];
	struct xadc_strset *s;
	size_t n, i;

	for (n = 7; n <= 10; n++) {
		for (i = 0; i < n; i++)
			e[i] = (struct xadc_str_entry){ keys[i + 1 == n], 15, "", 0 };
		e[n - 1].key_len = 13;
		s = build(e, n);
		if (!ASSERT_TRUE(s, "build"))
			return;
		ASSERT_EQ(got(s, false, "GET /dup/key/abc123/x", 21), 0, "lowest copy wins");
		ASSERT_EQ(got(s, true, "GET /DUP/KEY/ABC123", 19), 0, "folded, lowest copy");
		ASSERT_EQ(got(s, false, "x/other/key/zz", 14), (long)n - 1, "the odd key");
		ASSERT_EQ(got(s, false, "/dup/key/abc12", 14), -1, "one byte short");
		xadc_strset_free(s);
	}
}

TEST_MAIN()
