// SPDX-License-Identifier: GPL-2.0
/*
 * test_dataset_trie.c - the BEGINS_WITH / ENDS_WITH trie against a naive
 * reference, on shapes that stress its hashed jumps: sets big enough to
 * use them (>= 1024 keys), long shared prefixes, paths longer than a jump
 * record holds inline, keys too long for a 16-bit jump length, one-byte
 * keys, chains of keys that are prefixes of each other, binary bytes, case
 * folding, duplicates, and 0 or 1 entries. Both ds_trie_longest and
 * ds_trie_walk (every matching key, shortest first, equal keys together).
 */
#include <stdlib.h>
#include <string.h>

#include "test_progs.h"
#include "../../policy/dataset_internal.h"

static uint64_t rs = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

/* A set of keys owned by the test. */
struct kset {
	struct ds_entry *e;
	uint32_t n, cap;
};

static void kset_add(struct kset *k, const char *key, size_t len)
{
	char *copy = malloc(len + 1);

	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 64;
		k->e = realloc(k->e, k->cap * sizeof(*k->e));
	}
	memcpy(copy, key, len);
	copy[len] = '\0';
	k->e[k->n++] = (struct ds_entry){copy, "", (uint32_t)len, 0};
}

static void kset_free(struct kset *k)
{
	uint32_t i;

	for (i = 0; i < k->n; i++)
		free((char *)k->e[i].key);
	free(k->e);
	memset(k, 0, sizeof(*k));
}

/* Is key a prefix (suffix when rev) of str, ASCII case folded when nc? */
static bool naive_fits(const struct ds_entry *key, const char *str, size_t len, bool nc, bool rev)
{
	size_t i, off;

	if (key->key_len > len)
		return false;
	off = rev ? len - key->key_len : 0;
	for (i = 0; i < key->key_len; i++) {
		unsigned char a = (unsigned char)key->key[i], b = (unsigned char)str[off + i];

		if (nc ? ds_fold(a) != ds_fold(b) : a != b)
			return false;
	}
	return true;
}

/* Longest fitting key; among equal ones the lowest index. */
static uint32_t naive_longest(const struct kset *k, const char *str, size_t len, bool nc, bool rev)
{
	uint32_t best = DS_NONE, i;

	for (i = 0; i < k->n; i++)
		if (naive_fits(&k->e[i], str, len, nc, rev) &&
		    (best == DS_NONE || k->e[i].key_len > k->e[best].key_len))
			best = i;
	return best;
}

/* What ds_trie_walk reported: indices in order, and group boundaries. */
struct walk_log {
	uint32_t idx[4096];
	uint32_t n, groups, stop_after;
	bool bad_group;
};

static bool log_visit(void *ctx, const uint32_t *idx, uint32_t cnt)
{
	struct walk_log *w = ctx;
	uint32_t i;

	if (!cnt)
		w->bad_group = true;
	for (i = 0; i < cnt && w->n < 4096; i++)
		w->idx[w->n++] = idx[i];
	w->groups++;
	return w->stop_after && w->groups == w->stop_after;
}

/*
 * Check the walk on str: the same indices as the naive list of fitting
 * keys ordered by (length, index), one group per distinct length.
 */
static bool walk_ok(const struct ds_trie *t, const struct kset *k, const char *str, size_t len,
		    bool nc, bool rev)
{
	static struct walk_log w;
	static uint32_t want[4096];
	uint32_t nw = 0, groups = 0, i, j, x;

	memset(&w, 0, sizeof(w));
	ds_trie_walk(t, str, len, log_visit, &w);
	/* Fitting keys in index order, then a stable insertion sort by length. */
	for (i = 0; i < k->n && nw < 4096; i++)
		if (naive_fits(&k->e[i], str, len, nc, rev))
			want[nw++] = i;
	for (i = 1; i < nw; i++) {
		x = want[i];
		for (j = i; j > 0 && k->e[want[j - 1]].key_len > k->e[x].key_len; j--)
			want[j] = want[j - 1];
		want[j] = x;
	}
	for (i = 0; i < nw; i++)
		groups += !i || k->e[want[i]].key_len != k->e[want[i - 1]].key_len;
	if (w.bad_group || w.n != nw || w.groups != groups)
		return false;
	for (j = 0; j < nw; j++)
		if (w.idx[j] != want[j])
			return false;
	return true;
}

/* A query shaped from key i: extended, cut short, or with a byte changed. */
static size_t make_query(const struct kset *k, char *q, size_t cap, bool rev)
{
	const struct ds_entry *e = &k->e[rnd() % k->n];
	size_t len = e->key_len, extra = rnd() % 6, i;
	char *body;

	if (len + extra + 8 > cap)
		len = cap - extra - 8;
	body = rev ? q + extra : q;
	memcpy(body, e->key, len);
	for (i = 0; i < extra; i++)
		(rev ? q : body + len)[i] = "/a?Zb\0"[rnd() % 6];
	len += extra;
	switch (rnd() % 5) {
	case 0:
		if (len)
			len -= rnd() % (len < 4 ? len : 4);
		break;
	case 1:
		if (len)
			q[rnd() % len] ^= 0x20; /* case flip, or a different byte */
		break;
	case 2:
		if (len)
			q[rnd() % len] = (char)rnd();
		break;
	default:
		break;
	}
	return len;
}

/*
 * Differential run over every mode: nq shaped queries plus random ones;
 * counts mismatches of longest and walk (walk on every 4th query).
 */
static int check_set(const struct kset *k, int nq, int *walk_bad)
{
	static char q[80000];
	int bad = 0, mode, i;

	*walk_bad = 0;
	for (mode = 0; mode < 4; mode++) {
		bool nc = mode & 1, rev = mode & 2;
		struct ds_trie *t = ds_trie_build(k->e, k->n, nc, rev);

		if (!t)
			return -1;
		for (i = 0; i < nq; i++) {
			size_t len;

			if (k->n && i % 8) {
				len = make_query(k, q, sizeof(q), rev);
			} else {
				size_t j;

				len = rnd() % 40;
				for (j = 0; j < len; j++)
					q[j] = "aAbB/\0\xff"[rnd() % 7];
			}
			if (ds_trie_longest(t, q, len) != naive_longest(k, q, len, nc, rev))
				bad++;
			if (i % 4 == 0 && !walk_ok(t, k, q, len, nc, rev))
				(*walk_bad)++;
		}
		ds_trie_free(t);
	}
	return bad;
}

/* Keys over a tiny alphabet: many shared prefixes, case twins, NUL, 0xff. */
static void add_random_keys(struct kset *k, uint32_t n, uint32_t maxlen)
{
	static const char alpha[] = "aAbB/\0\xff";
	char buf[512];
	uint32_t i, j, len;

	for (i = 0; i < n; i++) {
		len = (uint32_t)(rnd() % (maxlen + 1));
		for (j = 0; j < len; j++)
			buf[j] = alpha[rnd() % 7];
		kset_add(k, buf, len);
	}
}

TEST(trie_empty_and_single)
{
	struct kset k = {0};
	struct ds_trie *t;
	int wb, bad;

	t = ds_trie_build(NULL, 0, false, false);
	ASSERT_TRUE(t != NULL, "build with no keys");
	ASSERT_EQ(ds_trie_longest(t, "abc", 3), DS_NONE, "nothing matches an empty set");
	ASSERT_EQ(ds_trie_longest(t, "", 0), DS_NONE, "not even the empty string");
	ds_trie_free(t);
	kset_add(&k, "/api", 4);
	t = ds_trie_build(k.e, k.n, true, true);
	ASSERT_TRUE(t != NULL, "build with one key");
	ASSERT_EQ(ds_trie_longest(t, "/x/API", 6), 0, "suffix, case folded");
	ASSERT_EQ(ds_trie_longest(t, "/ap", 3), DS_NONE, "shorter input");
	ds_trie_free(t);
	bad = check_set(&k, 200, &wb);
	ASSERT_EQ(bad, 0, "one key: longest agrees with the reference");
	ASSERT_EQ(wb, 0, "one key: walk agrees with the reference");
	kset_free(&k);
}

TEST(trie_random_binary_big)
{
	struct kset k = {0};
	int wb, bad;

	/* Big enough for jumps; lengths 0..40 so short keys sit among long. */
	add_random_keys(&k, 3000, 40);
	bad = check_set(&k, 1500, &wb);
	ASSERT_EQ(bad, 0, "random binary keys: longest agrees with the reference");
	ASSERT_EQ(wb, 0, "random binary keys: walk agrees with the reference");
	kset_free(&k);
}

TEST(trie_long_shared_prefix)
{
	struct kset k = {0};
	char buf[300];
	uint32_t i, j;
	int wb, bad;

	/* 2000 keys sharing 100 bytes, then a varied tail: paths > 48 bytes. */
	memset(buf, 'p', 100);
	for (i = 0; i < 2000; i++) {
		uint32_t tail = 1 + (uint32_t)(rnd() % 60);

		for (j = 0; j < tail; j++)
			buf[100 + j] = "xyXY0\xff"[rnd() % 6];
		kset_add(&k, buf, 100 + tail);
	}
	kset_add(&k, buf, 100); /* the shared part itself, as a key */
	kset_add(&k, buf, 3);
	bad = check_set(&k, 1500, &wb);
	ASSERT_EQ(bad, 0, "long shared prefix: longest agrees with the reference");
	ASSERT_EQ(wb, 0, "long shared prefix: walk agrees with the reference");
	kset_free(&k);
}

TEST(trie_prefix_chains_and_bytes)
{
	struct kset k = {0};
	char buf[1200];
	int wb, bad, i;

	/* "a", "aa", ... 1100 a's: every key is a prefix of the longer ones. */
	memset(buf, 'a', sizeof(buf));
	for (i = 1; i <= 1100; i++)
		kset_add(&k, buf, (size_t)i);
	/* Every one-byte key, and duplicates (the lower index must win). */
	for (i = 0; i < 256; i++) {
		char c = (char)i;

		kset_add(&k, &c, 1);
	}
	kset_add(&k, "aA", 2);
	kset_add(&k, "", 0);
	kset_add(&k, "", 0);
	bad = check_set(&k, 800, &wb);
	ASSERT_EQ(bad, 0, "prefix chains: longest agrees with the reference");
	ASSERT_EQ(wb, 0, "prefix chains: walk agrees with the reference");
	kset_free(&k);
}

TEST(trie_keys_beyond_jump_length)
{
	struct kset k = {0};
	char *big = malloc(70010);
	struct ds_trie *t;
	int wb, bad, i;

	/* Longer than a 16-bit jump length: these subtrees must be walked. */
	memset(big, 'L', 70010);
	for (i = 0; i < 4; i++) {
		big[69990 + i] = 'z';
		kset_add(&k, big, 70000 + (size_t)i);
	}
	add_random_keys(&k, 1500, 30);
	t = ds_trie_build(k.e, k.n, false, false);
	ASSERT_TRUE(t != NULL, "build with 70 kB keys");
	ASSERT_EQ(ds_trie_longest(t, big, 70003), 3, "longest 70 kB key that fits");
	ds_trie_free(t);
	bad = check_set(&k, 300, &wb);
	ASSERT_EQ(bad, 0, "very long keys: longest agrees with the reference");
	ASSERT_EQ(wb, 0, "very long keys: walk agrees with the reference");
	kset_free(&k);
	free(big);
}

TEST(trie_path_shaped_keys)
{
	static const char *const w[] = {"api", "v1", "Users", "img", "checkout", "x"};
	struct kset k = {0};
	char buf[64];
	int wb, bad, i, len;

	/* Like URL paths: a few shared words, then unique tokens and ids. */
	for (i = 0; i < 5000; i++) {
		len = snprintf(buf, sizeof(buf), "/%s/%s/t%05x/%u", w[rnd() % 6], w[rnd() % 6],
			       (unsigned)(rnd() & 0xfffff), (unsigned)(rnd() % 1000));
		kset_add(&k, buf, (size_t)len);
	}
	kset_add(&k, "/api/", 5);
	kset_add(&k, "/0", 2);
	bad = check_set(&k, 2000, &wb);
	ASSERT_EQ(bad, 0, "path keys: longest agrees with the reference");
	ASSERT_EQ(wb, 0, "path keys: walk agrees with the reference");
	kset_free(&k);
}

TEST(trie_walk_stops)
{
	struct kset k = {0};
	struct walk_log *w = calloc(1, sizeof(*w));
	struct ds_trie *t;
	char buf[16];
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(buf, sizeof(buf), "k%06d", i);
		kset_add(&k, buf, 7);
	}
	kset_add(&k, "k", 1);
	kset_add(&k, "k00", 3);
	kset_add(&k, "K00", 3);
	t = ds_trie_build(k.e, k.n, true, false);
	ASSERT_TRUE(t != NULL, "build");
	w->stop_after = 2;
	ds_trie_walk(t, "K000042zz", 9, log_visit, w);
	ASSERT_EQ(w->groups, 2, "walk stops when the visitor says so");
	ASSERT_EQ(w->n, 3, "two groups seen: \"k\", then the equal \"k00\" and \"K00\"");
	ASSERT_EQ(w->idx[0], 2000, "shortest first");
	ASSERT_EQ(w->idx[1], 2001, "equal keys in index order");
	ASSERT_EQ(w->idx[2], 2002, "equal keys in index order");
	ds_trie_free(t);
	free(w);
	kset_free(&k);
}

/*
 * Look every key of a big set up, in every mode: the jump records sit in
 * an open-addressed table where runs of occupied slots can be longer than
 * one tag scan, so each record must be found wherever probing put it.
 */
TEST(trie_every_key_found)
{
	struct kset k = {0};
	char key[64], q[96];
	uint32_t i, bad = 0, miss_bad = 0;
	int mode, len;

	/* Same shape and length: no key is a prefix (or suffix) of another. */
	for (i = 0; i < 60000; i++) {
		len = snprintf(key, sizeof(key), "/%s/t%08x/%05u", i % 3 ? "api" : "img",
			       i * 2654435761u, (unsigned)(rnd() % 100000));
		kset_add(&k, key, (size_t)len);
	}
	for (mode = 0; mode < 4; mode++) {
		bool nc = mode & 1, rev = mode & 2;
		struct ds_trie *t = ds_trie_build(k.e, k.n, nc, rev);
		size_t n, j;

		ASSERT_TRUE(t != NULL, "build 60000 keys");
		for (i = 0; i < k.n; i++) {
			const struct ds_entry *e = &k.e[i];

			n = (size_t)(rev ? snprintf(q, sizeof(q), "/gw%s", e->key)
					 : snprintf(q, sizeof(q), "%s/more", e->key));
			for (j = 0; nc && j < n; j += 2)
				if (q[j] >= 'a' && q[j] <= 'z')
					q[j] -= 32;
			bad += ds_trie_longest(t, q, n) != i;
			/* One changed byte inside the key: no key fits any more. */
			q[(rev ? 3 : 0) + 8 + rnd() % (e->key_len - 8)] = '#';
			miss_bad += ds_trie_longest(t, q, n) != DS_NONE;
		}
		ds_trie_free(t);
	}
	ASSERT_EQ(bad, 0, "every key is found, in all four modes");
	ASSERT_EQ(miss_bad, 0, "a changed byte inside the key is a miss");
	kset_free(&k);
}

TEST_MAIN()
