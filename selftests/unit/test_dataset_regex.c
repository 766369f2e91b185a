// SPDX-License-Identifier: GPL-2.0
/*
 * test_dataset_regex.c - the REGEX engine's literal-prefix index against
 * PCRE2 compiling each pattern alone: random anchored patterns (escapes,
 * quantifiers right after the literal, top-level alternation, lookbehind,
 * \K, \G, recursion, nocase), adversarial shapes (many keys sharing one
 * literal, literals longer than the inline limit, one-byte literals, 0 and
 * 1 entries) and captures.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdlib.h>

#include "test_progs.h"
#include "../../policy/dataset_internal.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Patterns compiled one by one: the reference. */
struct ref {
	pcre2_code **code;
	pcre2_match_data *md;
	uint32_t n;
};

static bool ref_init(struct ref *f, const struct ds_entry *e, uint32_t n, bool nocase)
{
	PCRE2_SIZE eo;
	uint32_t i;
	int ec;

	f->n = n;
	f->code = calloc(n ? n : 1, sizeof(*f->code));
	f->md = pcre2_match_data_create(16, NULL);
	if (!f->code || !f->md)
		return false;
	for (i = 0; i < n; i++) {
		f->code[i] = pcre2_compile((PCRE2_SPTR)e[i].key, e[i].key_len,
					   nocase ? PCRE2_CASELESS : 0, &ec, &eo, NULL);
		if (!f->code[i])
			return false;
	}
	return true;
}

static void ref_free(struct ref *f)
{
	uint32_t i;

	for (i = 0; f->code && i < f->n; i++)
		pcre2_code_free(f->code[i]);
	free(f->code);
	pcre2_match_data_free(f->md);
}

static uint32_t ref_find(const struct ref *f, const char *s, size_t len)
{
	uint32_t i;

	for (i = 0; i < f->n; i++)
		if (pcre2_match(f->code[i], (PCRE2_SPTR)s, len, 0, 0, f->md, NULL) >= 0)
			return i;
	return DS_NONE;
}

/* Captures of pattern i as ds_regex_captures reports them. */
static int ref_caps(const struct ref *f, uint32_t i, const char *s, size_t len, size_t *caps,
		    int ncap)
{
	int rc = pcre2_match(f->code[i], (PCRE2_SPTR)s, len, 0, 0, f->md, NULL), g;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(f->md);

	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return -1;
	if (rc > ncap)
		rc = ncap;
	for (g = 0; g < rc; g++) {
		caps[2 * g] = ov[2 * g];
		caps[2 * g + 1] = ov[2 * g + 1];
	}
	return rc;
}

/* Build with or without Hyperscan (XADC_DATASET_NO_HS). */
static struct ds_regex *build(const struct ds_entry *e, uint32_t n, bool nocase, bool no_hs)
{
	struct ds_regex *r;
	uint32_t bad;
	size_t off;
	char msg[128];

	if (no_hs)
		setenv("XADC_DATASET_NO_HS", "1", 1);
	r = ds_regex_build(e, n, nocase, &bad, &off, msg, sizeof(msg));
	unsetenv("XADC_DATASET_NO_HS");
	return r;
}

/*
 * Compare find (and captures of the hit and of one other pattern) with the
 * reference on one subject; returns the number of disagreements.
 */
static int check_one(const struct ds_regex *r, const struct ref *f, const char *s, size_t len,
		     const char *const *pats)
{
	uint32_t want = ref_find(f, s, len), got = ds_regex_find(r, s, len), other;
	size_t c1[16], c2[16];
	int n1, n2, bad = 0;

	if (want != got) {
		printf("# \"%.*s\": want %d (%s) got %d (%s)\n", (int)len, s, (int)want,
		       want == DS_NONE ? "-" : pats[want], (int)got,
		       got == DS_NONE ? "-" : pats[got]);
		bad++;
	}
	other = (uint32_t)(rnd() % f->n);
	for (int k = 0; k < 2; k++) {
		uint32_t i = k ? other : want;

		if (i == DS_NONE)
			continue;
		n1 = ref_caps(f, i, s, len, c1, 8);
		n2 = ds_regex_captures(r, i, s, len, c2, 8);
		/* An error (e.g. recursion limit) in both is agreement. */
		if (n1 < 0 && n2 < 0)
			continue;
		if (n1 != n2 || (n1 > 0 && memcmp(c1, c2, 2 * n1 * sizeof(size_t)))) {
			printf("# captures of %s on \"%.*s\": want %d got %d\n", pats[i], (int)len,
			       s, n1, n2);
			bad++;
		}
	}
	return bad;
}

/* --- random patterns ------------------------------------------------------ */

/* Literal pieces (escapes included), the shapes after them, anchors. */
static const char *const lit_atoms[] = {"a",	"b",  "A",    "B",   "/",   "\\.", "\\/",
					"\\-",	".",  "\\\\", "\\^", "\\$", "-",   "\xc9",
					"\xe9", "\n", " ",    "#",   "\\|", "\\("};
static const char *const tail_atoms[] = {
    "",
    "$",
    "[0-9]+$",
    "+",
    "*",
    "?",
    "{2}",
    "{1,}",
    "|b",
    "|^b",
    "(a|b)",
    "(?<=a)b",
    "(?<!b)a",
    "\\b",
    "\\K",
    "\\Ga",
    "(?R)?",
    "(?0)?",
    "(?x) a",
    "(?i)b",
    "\\Qa|b\\E",
    "[|]a",
    "[]|]",
    "[^]|]",
    "\\c(|a",
    "(*COMMIT)a",
    "(a)\\1",
    "(?=b)",
    "(?#|)b",
    "[[:alpha:]]|x",
    "(?|(a)|(b))",
    "\\d",
    "x",
    "(a)?b",
    "a{",
    "(?:ab)+",
    "\\z",
    "\\Z",
    "(?m)$\\n?a",
};
static const char *const anchors[] = {"^", "^", "^", "^", "\\A", "(?i)^", "^^", "^(?i)"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* One random pattern into buf; false if PCRE2 rejects it. */
static bool rnd_pattern(char *buf, size_t size)
{
	int nl = (int)(rnd() % 6), nt = 1 + (int)(rnd() % 2), i;
	pcre2_code *c;
	PCRE2_SIZE eo;
	int ec;

	snprintf(buf, size, "%s", anchors[rnd() % NELEM(anchors)]);
	for (i = 0; i < nl; i++)
		strncat(buf, lit_atoms[rnd() % NELEM(lit_atoms)], size - strlen(buf) - 1);
	for (i = 0; i < nt; i++)
		strncat(buf, tail_atoms[rnd() % NELEM(tail_atoms)], size - strlen(buf) - 1);
	pcre2_match_data *md;
	bool empty;

	c = pcre2_compile((PCRE2_SPTR)buf, strlen(buf), 0, &ec, &eo, NULL);
	if (!c)
		return false;
	/* One key matching everything would answer every subject: skip those. */
	md = pcre2_match_data_create(1, NULL);
	empty = !md || pcre2_match(c, (PCRE2_SPTR) "", 0, 0, 0, md, NULL) >= 0;
	pcre2_match_data_free(md);
	pcre2_code_free(c);
	if (empty)
		return false;
	/* Caseless can reject what caseful takes? Check it too. */
	c = pcre2_compile((PCRE2_SPTR)buf, strlen(buf), PCRE2_CASELESS, &ec, &eo, NULL);
	if (!c)
		return false;
	pcre2_code_free(c);
	return true;
}

/* A subject: mostly the literal bytes the patterns use, some noise. */
static size_t rnd_subject(char *q, size_t max)
{
	static const char qa[] = "abAB/.-\\^$|(\xc9\xe9\n #x01";
	size_t len = rnd() % max, i;

	for (i = 0; i < len; i++)
		q[i] = qa[rnd() % (sizeof(qa) - 1)];
	return len;
}

/* Random subjects against one set, both case modes, with and without HS. */
static int diff_set(const struct ds_entry *e, uint32_t n, const char *const *pats, int nq)
{
	int bad = 0, nc, nh, i;
	char q[16];

	for (nc = 0; nc < 2; nc++) {
		for (nh = 0; nh < 2; nh++) {
			struct ds_regex *r = build(e, n, nc, nh);
			struct ref f;

			if (!r || !ref_init(&f, e, n, nc))
				return 1000;
			for (i = 0; i < nq && bad <= 10; i++) {
				size_t len = rnd_subject(q, sizeof(q));

				/* Half the subjects start like some pattern's literal. */
				if (i & 1) {
					const char *p = pats[rnd() % n];

					p += *p == '^' ? 1 : 0;
					len = strlen(p) < len ? strlen(p) : len;
					memcpy(q, p, len);
					if (len < sizeof(q) - 1 && rnd() % 2)
						q[len++] = "0123b"[rnd() % 5];
				}
				bad += check_one(r, &f, q, len, pats);
			}
			ref_free(&f);
			ds_regex_free(r);
		}
	}
	return bad;
}

TEST(prefix_differential_random)
{
	enum { NPAT = 300, NQ = 4000 };
	static char pats[NPAT][96];
	const char *pp[NPAT], *ip[NPAT];
	struct ds_entry e[NPAT], ie[NPAT];
	uint32_t n = 0, ni = 0, i;

	while (n < NPAT) {
		if (!rnd_pattern(pats[n], sizeof(pats[n])))
			continue;
		pp[n] = pats[n];
		e[n] = (struct ds_entry){pats[n], "", (uint32_t)strlen(pats[n]), 0};
		n++;
	}
	/*
	 * The keys the prefix index takes, alone: in the full set, keys that
	 * match most subjects (unanchored ones) would answer first.
	 */
	for (i = 0; i < n; i++) {
		struct ds_regex *one = build(&e[i], 1, false, true);

		if (one && ds_regex_nfallback(one) == 0) {
			ip[ni] = pats[i];
			ie[ni++] = e[i];
		}
		ds_regex_free(one);
	}
	ASSERT_GT(ni, NPAT / 10, "some keys prefix-indexed");
	ASSERT_EQ(diff_set(e, n, pp, NQ), 0, "all keys: disagreements with PCRE2 one by one");
	ASSERT_EQ(diff_set(ie, ni, ip, NQ), 0, "indexed keys: disagreements");
}

/* Which keys the prefix index takes (seen as non-fallbacks without Hyperscan). */
TEST(prefix_split_rules)
{
	static const struct {
		const char *pat;
		bool indexed;
	} t[] = {
	    {"^/a/b/[0-9]+$", true},  {"\\A/a/", true},
	    {"^ab|cd", false},	/* top-level alternation */
	    {"^ab(c|d)", true}, /* alternation inside a group */
	    {"^ab[|]", true},	      {"^ab\\|c", true},
	    {"^a+", false},	  /* quantified first literal: L empty */
	    {"^abc+d", true},	  /* L "ab", R "c+d" */
	    {"^ab\\.{2}x", true}, /* L "ab", R "\.{2}x" */
	    {"^ab\\/?", true},	      {"^(?i)ab", false},
	    {"(?i)^ab", false},	      {"ab", false},
	    {"^ab\\Gc", false},	      {"^ab\\Kc", false},
	    {"^ab(?R)?", false},      {"^ab(?x) c", false},
	    {"^ab\\Qc|d\\E", false},  {"^ab\\c(|d", false},
	    {"^ab(*COMMIT)c", false}, {"^ab(?#|)c", false},
	};
	size_t i;

	for (i = 0; i < NELEM(t); i++) {
		struct ds_entry e = {t[i].pat, "", (uint32_t)strlen(t[i].pat), 0};
		struct ds_regex *r = build(&e, 1, false, true);

		if (!ASSERT_NOT_NULL(r, t[i].pat))
			continue;
		if (ds_regex_nfallback(r) != (t[i].indexed ? 0u : 1u)) {
			printf("# %s: expected %s\n", t[i].pat, t[i].indexed ? "indexed" : "not");
			ASSERT_TRUE(false, "split rule");
		} else {
			ASSERT_TRUE(true, "split rule");
		}
		ds_regex_free(r);
	}
}

/* Run every subject in qs against a set, both modes, with and without HS. */
static int check_set(const struct ds_entry *e, uint32_t n, const char *const *pats,
		     const char *const *qs, size_t nq)
{
	int bad = 0, nc, nh;
	size_t i;

	for (nc = 0; nc < 2; nc++) {
		for (nh = 0; nh < 2; nh++) {
			struct ds_regex *r = build(e, n, nc, nh);
			struct ref f;

			if (!r || !ref_init(&f, e, n, nc))
				return 1000;
			for (i = 0; i < nq; i++)
				bad += check_one(r, &f, qs[i], strlen(qs[i]), pats);
			ref_free(&f);
			ds_regex_free(r);
		}
	}
	return bad;
}

TEST(prefix_shapes)
{
	static const char *const pats[] = {
	    "^/api/v1/users/[0-9]+$",
	    "^/api/v1/users/x",
	    "^/api/v1/users/[a-z]+$",
	    "^/api/v1/users/",
	    "^/api/v1/users/(?<=s/)[0-9]",
	    "^/",
	    "^/api/v1/users/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "^/api/v1/users/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab$",
	    "^/API/V1/(\\w+)/(\\d+)?",
	    "^a\xc9",
	    "^\xe9",
	    "^ab\\.c*d$",
	    "^a\nb$",
	    "^abc$",
	};
	static const char *const qs[] = {
	    "/api/v1/users/42",
	    "/api/v1/users/x",
	    "/api/v1/users/abc",
	    "/api/v1/users/",
	    "/API/v1/USERS/7",
	    "/api/v1/users/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "/api/v1/users/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
	    "/api/v1/users/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n",
	    "/api/V1/users/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaB",
	    "/api/v1/items/12",
	    "a\xc9",
	    "A\xc9",
	    "a\xe9",
	    "\xc9",
	    "\xe9x",
	    "ab.ccd",
	    "abxcd",
	    "ABC",
	    "a\nb",
	    "a\nb\n",
	    "abc\n",
	    "x/api",
	    "",
	};
	struct ds_entry e[NELEM(pats)];
	uint32_t i, n = NELEM(pats);

	for (i = 0; i < n; i++)
		e[i] = (struct ds_entry){pats[i], "", (uint32_t)strlen(pats[i]), 0};
	/* All of them, and every suffix of the list (so each can be lowest). */
	for (i = 0; i < n; i++)
		ASSERT_EQ(check_set(e + i, n - i, pats + i, qs, NELEM(qs)), 0, "shape set");
}

TEST(prefix_zero_and_one)
{
	struct ds_entry e = {"^/a[0-9]$", "", 9, 0};
	struct ds_regex *r = build(&e, 0, false, false);
	size_t caps[4];

	if (ASSERT_NOT_NULL(r, "empty build")) {
		ASSERT_EQ(ds_regex_find(r, "/a1", 3), DS_NONE, "empty set");
		ASSERT_EQ(ds_regex_find(r, "", 0), DS_NONE, "empty set, empty subject");
		ds_regex_free(r);
	}
	r = build(&e, 1, true, false);
	if (!ASSERT_NOT_NULL(r, "one"))
		return;
	ASSERT_EQ(ds_regex_nfallback(r), 0, "indexed");
	ASSERT_EQ(ds_regex_find(r, "/A1", 3), 0, "nocase hit");
	ASSERT_EQ(ds_regex_find(r, "/A12", 4), DS_NONE, "$ after one digit");
	ASSERT_EQ(ds_regex_find(r, "/", 1), DS_NONE, "shorter than L");
	ASSERT_EQ(ds_regex_captures(r, 0, "/a7\n", 4, caps, 2), 1, "captures");
	ASSERT_EQ(caps[0], 0, "match starts at 0, not at |L|");
	ASSERT_EQ(caps[1], 3, "match end");
	ASSERT_EQ(ds_regex_captures(r, 0, "/b7", 3, caps, 2), 0, "L differs");
	ds_regex_free(r);
}

/*
 * Many keys: bench-like paths, several keys per literal (lowest index
 * wins, per remainder), literals of every length 1..60 sharing first
 * bytes, so buckets overflow and the first-word filter sees collisions.
 */
TEST(prefix_large)
{
	enum { N = 30000, NQ = 300 };
	static const char *const words[] = {"api",	"v1",	    "users", "orders",
					    "products", "checkout", "x",     "static"};
	static const char *const rems[] = {"[0-9]+$", "[a-z]+$", "", "(\\d)(\\d)", "$"};
	char(*pats)[96] = calloc(N, 96);
	const char **pp = calloc(N, sizeof(*pp));
	struct ds_entry *e = calloc(N, sizeof(*e));
	struct ds_regex *r;
	struct ref f;
	int bad = 0, i, nc;

	if (!ASSERT_TRUE(pats && pp && e, "alloc"))
		goto out;
	for (i = 0; i < N; i++) {
		if (i % 3 == 2) {
			/* Same first bytes, every literal length. */
			snprintf(pats[i], 96, "^/products/%.*s%s", (int)(rnd() % 50),
				 "aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee",
				 rems[rnd() % NELEM(rems)]);
		} else {
			snprintf(pats[i], 96, "^/%s/%s/t%03x/%s", words[rnd() % NELEM(words)],
				 words[rnd() % NELEM(words)], (unsigned)(rnd() % 0x400),
				 rems[rnd() % NELEM(rems)]);
		}
		pp[i] = pats[i];
		e[i] = (struct ds_entry){pats[i], "", (uint32_t)strlen(pats[i]), 0};
	}
	for (nc = 0; nc < 2 && !bad; nc++) {
		r = build(e, N, nc, true);
		if (!ASSERT_NOT_NULL(r, "build") || !ASSERT_TRUE(ref_init(&f, e, N, nc), "ref"))
			goto out;
		ASSERT_EQ(ds_regex_nfallback(r), 0, "all prefix-indexed");
		for (i = 0; i < NQ && bad < 10; i++) {
			char q[128];
			const char *p = pats[rnd() % N] + 1;
			size_t len = 0, k;

			/* The literal part of a key, then digits or letters or nothing. */
			while (p[len] && p[len] != '[' && p[len] != '(' && p[len] != '$')
				len++;
			memcpy(q, p, len);
			for (k = rnd() % 4; k > 0; k--)
				q[len++] = "19az"[rnd() % 4];
			if (rnd() % 4 == 0)
				q[len - 1 - rnd() % (len > 2 ? 2 : len)] ^= 0x20;
			bad += check_one(r, &f, q, len, pp);
		}
		ref_free(&f);
		ds_regex_free(r);
	}
	ASSERT_EQ(bad, 0, "disagreements");
out:
	free(pats);
	free(pp);
	free(e);
}

/*
 * Every key of a large set of distinct literals finds itself: some buckets
 * overflow at this size, so this walks the spilled keys too.
 */
TEST(prefix_every_key_finds_itself)
{
	enum { N = 50000 };
	char(*pats)[32] = calloc(N, 32);
	struct ds_entry *e = calloc(N, sizeof(*e));
	struct ds_regex *r = NULL;
	int i, bad = 0, nc;

	if (!ASSERT_TRUE(pats && e, "alloc"))
		goto out;
	for (i = 0; i < N; i++) {
		snprintf(pats[i], 32, "^/K%d/[0-9]*$", i * 7919);
		e[i] = (struct ds_entry){pats[i], "", (uint32_t)strlen(pats[i]), 0};
	}
	for (nc = 0; nc < 2; nc++) {
		r = build(e, N, nc, true);
		if (!ASSERT_NOT_NULL(r, "build"))
			goto out;
		ASSERT_EQ(ds_regex_nfallback(r), 0, "all prefix-indexed");
		for (i = 0; i < N; i++) {
			char q[32];
			int len = snprintf(q, sizeof(q), nc ? "/k%d/%d" : "/K%d/%d", i * 7919, i);

			if (ds_regex_find(r, q, (size_t)len) != (uint32_t)i && bad++ < 5)
				printf("# %s not found\n", q);
			/* One byte less, the key's literal is incomplete. */
			if (ds_regex_find(r, q, strlen(pats[i]) - 12) != DS_NONE && bad++ < 5)
				printf("# %.*s found\n", (int)strlen(pats[i]) - 12, q);
		}
		ds_regex_free(r);
	}
	ASSERT_EQ(bad, 0, "keys not finding themselves");
out:
	free(pats);
	free(e);
}

TEST_MAIN()
