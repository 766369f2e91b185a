// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_regex.c - REGEX: a literal-prefix index for anchored patterns,
 * one Hyperscan block-mode database for the others, PCRE2 for validation,
 * captures and what neither can take.
 *
 * Every key is compiled by PCRE2 first: that is the validation (errors come
 * with PCRE2's offset and message) and tells the capture count. Then each
 * key goes one of three ways:
 *
 * 1. Prefix index. A key "^L R" (or "\AL R"), where L is a run of plain
 *    characters or escaped punctuation, is split into L and the remainder R
 *    (see pfx_split for the exact, conservative rules). A subject matches
 *    the key iff it starts with L and R matches anchored at offset |L| of
 *    the whole subject: '^' can only match at offset 0, and PCRE2 run from
 *    a start offset still sees the bytes before it (lookbehind, \b) and
 *    the real subject end ('$'). R is compiled alone with PCRE2_ANCHORED;
 *    the capture groups are the original's, since L holds none. Identical
 *    R texts share one code, JIT-compiled (at 100,000 path keys there are
 *    a handful of distinct remainders such as "[0-9]+$"), so the original
 *    code is freed (at 100,000 keys: no 100,000 PCRE2 codes to hold, and
 *    no interpreter run).
 *
 *    Lookup is built so that a hit costs one cache miss beyond what stays
 *    in L1/L2, where the radix trie used before took one per level (4.5x
 *    the 10-key cost at 100,000 keys). The L's are in a hash table keyed
 *    by (length, L), so a subject is probed once per length some L could
 *    have: two small filters tell which, from the subject's first 8 and
 *    first 16 bytes (most misses probe nothing; a hit usually probes only
 *    its own length). A probe reads one 64-byte bucket of 10 16-bit
 *    fingerprints and record indices (~9 bytes per L: it stays in L2 at
 *    100,000 keys); only a fingerprint match reads the record, a cache
 *    line holding L (to verify) and the keys sharing it. Records sit at
 *    their lowest key's index, so the bucket names them directly.
 * 2. Hyperscan. Keys it accepts (hs_expression_info, then the multi
 *    compile itself) go into one database with HS_FLAG_SINGLEMATCH (one
 *    report per id is all we need) and HS_FLAG_ALLOWEMPTY (an
 *    empty-matching pattern such as "x*" matches everything, as in PCRE2).
 * 3. Fallback: the rest (backreferences, lookaround, atomic groups, keys
 *    with a NUL byte...) are matched by PCRE2 (JIT) in index order.
 *
 * The hit is the lowest index: the prefix index answers first; Hyperscan
 * runs only if its lowest id is below that answer (its callback keeps the
 * minimum id and stops the scan at the database's lowest id), then
 * fallback patterns below the best so far are tried.
 *
 * Semantics follow PCRE2 defaults for every path: byte (non-UTF) mode,
 * '.' does not match '\n' (no DOTALL), '^'/'$' anchor at the subject ends
 * ('$' also before a final newline; no MULTILINE), unanchored search.
 * Case-insensitive uses PCRE2_CASELESS / HS_FLAG_CASELESS, ASCII only in
 * byte mode (ds_fold folds L and the subject the same way). The empty
 * subject is answered from a per-set precomputed "lowest index matching
 * the empty string", since Hyperscan scans no bytes.
 *
 * If Hyperscan cannot run here (hs_valid_platform fails), or the
 * environment variable XADC_DATASET_NO_HS is set when the set is built
 * (used by tests to exercise that path), every key not in the prefix
 * index is a fallback.
 *
 * Per-thread state (Hyperscan scratch, PCRE2 match data) lives in
 * thread-local storage, allocated the first time a thread needs more than
 * it has, and freed at thread exit.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <endian.h>
#include <errno.h>
#include <hs/hs.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dataset_internal.h"

/* Longest L kept; a longer literal run leaves the rest in R. */
#define PFX_MAX 47
#define PFX_LIT 48 /* a record's literal bytes, PFX_MAX rounded up to 8 */
/* Fingerprint lanes of a bucket: 10 slots, the overflow flag, a zero. */
#define PFX_LANES 12
#define PFX_SLOTS 10
/* Slots of the first-word filter at most (32 KiB: within L1D). */
#define PFX_FIRST_MAX 4096
/* Slots of the first-16-bytes filter at most (512 KiB: within L2). */
#define PFX_SECOND_MAX (1u << 17)
_Static_assert(PFX_MAX - 16 < 32, "second[] holds lengths 16..PFX_MAX in 32 bits");
/* Keys sharing one L at most (struct pfx_rec's nmore). */
#define PFX_MAX_SHARE (1u << 24)
/*
 * Remainders JIT-compiled at most, by JIT size: beyond it they run in the
 * interpreter (a set of 100,000 different remainders would otherwise hold
 * ~80 MB of executable memory).
 */
#define PFX_JIT_BUDGET (8u << 20)

/*
 * One hash bucket, one cache line: 16-bit fingerprints of the L's in its
 * slots (0 = free) and the index of each one's record, which is also the
 * index of its lowest key; lane 10 is non-zero when an L whose home is
 * this bucket or an earlier one had to move past it (only then does a
 * lookup go on to the next bucket).
 */
struct pfx_bucket {
	uint16_t fp[PFX_LANES];
	uint32_t pat[PFX_SLOTS];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct pfx_bucket) == 64, "a bucket is one cache line");

/*
 * One distinct L with the keys that share it, ascending by index: the
 * lowest inline (most L's have one key), the others in cand[]. One
 * cache line each, so a hit costs one line beyond its bucket.
 */
struct pfx_rec {
	uint32_t pat;
	uint32_t rem;
	uint32_t more;
	uint32_t nmore : 24, len : 8;
	unsigned char lit[PFX_LIT]; /* len bytes (folded when nocase), zero-padded */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct pfx_rec) == 64, "a record is one cache line");

struct pfx_cand {
	uint32_t pat;
	uint32_t rem;
};

struct pfx_rem {
	pcre2_code *code;
	uint32_t caps; /* capture count */
	bool jit;
};

/* Where a prefix-indexed key lives, for captures. */
struct pfx_key {
	uint32_t rec; /* DS_NONE: the key is not in the prefix index */
	uint32_t rem;
};

struct ds_regex {
	uint32_t n;
	bool nocase;
	/* prefix index */
	uint64_t lens;	     /* bit l-1 set: some L has length l */
	uint64_t short_lens; /* the same for L's shorter than 8 bytes */
	uint64_t *first;     /* by hash of a subject's first 8 bytes: lens of the L's
			      * of >= 8 bytes that could start it */
	uint32_t first_mask;
	uint32_t *second; /* by hash of the first 16 bytes: lens of L's of >= 16
			   * bytes, bit l-16 */
	uint32_t second_mask;
	struct pfx_bucket *bkt;
	uint32_t nbkt;
	uint32_t pfx_min;     /* lowest index in the prefix index */
	struct pfx_rec *recs; /* by lowest key index; others zero */
	struct pfx_cand *cand;
	struct pfx_rem *rem;
	uint32_t nrem;
	struct pfx_key *key; /* per entry */
	/* the rest */
	pcre2_code **code;  /* per entry; NULL for prefix-indexed keys */
	hs_database_t *db;  /* NULL when no pattern went to Hyperscan */
	uint64_t serial;    /* identifies db for the per-thread scratch cache */
	uint32_t db_min_id; /* lowest entry index in db */
	uint32_t *fallback; /* entry indices for PCRE2, ascending */
	uint32_t nfallback;
	uint32_t empty_idx; /* lowest index matching "" */
	uint32_t max_pairs; /* largest capture count + 1 */
	size_t bytes;
};

/* --- per-thread state ---------------------------------------------------- */

#define SCRATCH_SEEN 8

struct ds_tls {
	hs_scratch_t *scratch;
	/* Databases the scratch is known to fit (a grown scratch still fits). */
	uint64_t seen[SCRATCH_SEEN];
	unsigned seen_next;
	pcre2_match_data *md;
	uint32_t md_pairs;
	bool registered;
};

static __thread struct ds_tls tls;
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static atomic_uint_fast64_t db_serial;

static void tls_destroy(void *arg)
{
	struct ds_tls *t = arg;

	if (t->scratch)
		hs_free_scratch(t->scratch);
	pcre2_match_data_free(t->md);
	t->scratch = NULL;
	t->md = NULL;
}

static void tls_key_init(void)
{
	pthread_key_create(&tls_key, tls_destroy);
}

/* Make sure thread exit frees this thread's scratch and match data. */
static void tls_register(void)
{
	if (tls.registered)
		return;
	pthread_once(&tls_once, tls_key_init);
	pthread_setspecific(tls_key, &tls);
	tls.registered = true;
}

/* This thread's scratch, grown for r's database if needed (NULL: ENOMEM). */
static hs_scratch_t *tls_scratch(const struct ds_regex *r)
{
	unsigned i;

	for (i = 0; i < SCRATCH_SEEN; i++)
		if (tls.seen[i] == r->serial)
			return tls.scratch;
	tls_register();
	if (hs_alloc_scratch(r->db, &tls.scratch) != HS_SUCCESS)
		return NULL;
	tls.seen[tls.seen_next++ % SCRATCH_SEEN] = r->serial;
	return tls.scratch;
}

/* This thread's match data with at least pairs ovector pairs. */
static pcre2_match_data *tls_md(uint32_t pairs)
{
	pcre2_match_data *md;

	if (pairs < 1)
		pairs = 1;
	if (tls.md && tls.md_pairs >= pairs)
		return tls.md;
	tls_register();
	md = pcre2_match_data_create(pairs, NULL);
	if (!md)
		return NULL;
	pcre2_match_data_free(tls.md);
	tls.md = md;
	tls.md_pairs = pairs;
	return md;
}

/* --- prefix index: hashing (shared by build and match) -------------------- */

/* Bytes [off, off + 8) of s as a little-endian word, zero past len. */
static inline uint64_t pfx_word(const char *s, size_t len, size_t off, bool nocase)
{
	uint64_t w = 0;
	size_t i;

	if (off + 8 <= len) {
		memcpy(&w, s + off, 8);
		w = le64toh(w);
	} else if (off < len && len >= 8) {
		/* The string's last 8 bytes, shifted: no variable-size copy. */
		memcpy(&w, s + len - 8, 8);
		w = le64toh(w) >> (8 * (off + 8 - len));
	} else {
		for (i = len; i-- > off;)
			w = w << 8 | (unsigned char)s[i];
	}
	return nocase ? ds_fold8(w) : w;
}

static inline uint64_t pfx_step(uint64_t acc, uint64_t w)
{
	acc ^= w;
	acc *= 0x9fb21c651e98df25ULL;
	return acc ^ (acc >> 31);
}

/* Final hash of a prefix of length l: full words in acc, the rest in tail. */
static inline uint64_t pfx_final(uint64_t acc, uint64_t tail, unsigned l)
{
	uint64_t x = pfx_step(acc, tail) ^ l;

	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	x *= 0xc2b2ae3d27d4eb4fULL;
	return x ^ (x >> 29);
}

/* Low k bytes of a word (k < 8). */
static inline uint64_t pfx_low(unsigned k)
{
	return k ? ~0ULL >> (64 - 8 * k) : 0;
}

/* Slot in r->first of a subject's (folded) first word. */
static inline uint32_t pfx_first_slot(const struct ds_regex *r, uint64_t w)
{
	return (uint32_t)((w * 0x9e3779b97f4a7c15ULL) >> 40) & r->first_mask;
}

/* Slot in r->second of a subject's (folded) first two words. */
static inline uint32_t pfx_second_slot(const struct ds_regex *r, uint64_t w0, uint64_t w1)
{
	uint64_t x = (w0 * 0xd6e8feb86659fd93ULL ^ w1) * 0x9fb21c651e98df25ULL;

	return (uint32_t)(x >> 32) & r->second_mask;
}

static inline uint16_t pfx_fp(uint64_t h)
{
	uint16_t fp = (uint16_t)h;

	return fp ? fp : 1;
}

static inline uint32_t pfx_home(const struct ds_regex *r, uint64_t h)
{
	return (uint32_t)(((h >> 32) * (uint64_t)r->nbkt) >> 32);
}

/* Bit s set for each slot s of b holding fp. */
static inline uint32_t pfx_slots(const struct pfx_bucket *b, uint16_t fp)
{
#ifdef __SSE2__
	__m128i f = _mm_set1_epi16((short)fp);
	__m128i lo = _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)b->fp), f);
	__m128i hi = _mm_cmpeq_epi16(_mm_loadl_epi64((const __m128i *)(b->fp + 8)), f);
	/* Equal lanes are 0xffff; pack them to bytes, one mask bit each. */
	uint32_t m = (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(lo, hi));
#else
	uint32_t m = 0, i;

	for (i = 0; i < PFX_LANES; i++)
		if (b->fp[i] == fp)
			m |= 1u << i;
#endif
	return m & ((1u << PFX_SLOTS) - 1);
}

static inline const struct pfx_rec *pfx_rec_at(const struct ds_regex *r, uint32_t pat)
{
	return &r->recs[pat];
}

/* Does s (l bytes, folded when nocase) equal the record's literal? */
static inline bool pfx_lit_eq(const struct pfx_rec *rec, const char *s, unsigned l, bool nocase)
{
	unsigned i;

	for (i = 0; i < l; i += 8) {
		uint64_t a = pfx_word(s, l, i, nocase), b;

		memcpy(&b, rec->lit + i, 8);
		if (a != le64toh(b))
			return false;
	}
	return true;
}

/* --- prefix index: build ------------------------------------------------- */

static bool pfx_is_meta(unsigned char c)
{
	/* strchr would find the terminator for c == 0: NUL is a literal. */
	return c && strchr("\\^$.[]()|?*+{}", c);
}

static bool pfx_is_quant(const char *p, size_t plen, size_t i)
{
	return i < plen && (p[i] == '?' || p[i] == '*' || p[i] == '+' || p[i] == '{');
}

static bool ascii_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Skip a character class starting at p[i] == '['; returns the offset past
 * its ']', or 0 for a class we do not parse (POSIX names, \Q, unterminated).
 */
static size_t rem_skip_class(const char *p, size_t plen, size_t i)
{
	i++;
	if (i < plen && p[i] == '^')
		i++;
	if (i < plen && p[i] == ']')
		i++;
	while (i < plen) {
		if (p[i] == ']')
			return i + 1;
		if (p[i] == '\\') {
			if (i + 1 >= plen || p[i + 1] == 'Q' || p[i + 1] == 'E')
				return 0;
			i += p[i + 1] == 'c' ? 3 : 2;
		} else if (p[i] == '[' && i + 1 < plen &&
			   (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
			return 0;
		} else {
			i++;
		}
	}
	return 0;
}

/*
 * May R (the text after L) run alone at offset |L| in place of the whole
 * key? Conservative: no top-level '|' (it would make an alternative that
 * does not start with L), and nothing whose meaning depends on where the
 * pattern or the match starts: \G (start of match), \K (moves the match
 * start), recursion into the whole pattern ((?R), (?0), \g<0>), verbs,
 * \Q..\E quoting, comments and extended mode (which could hide '|' and
 * parentheses from this scan). Everything else is parsed only to track
 * the parenthesis depth.
 */
static bool rem_ok(const char *p, size_t plen)
{
	size_t i = 0;
	int depth = 0;

	while (i < plen) {
		unsigned char c = p[i];

		if (c == '\\') {
			if (i + 1 >= plen)
				return false;
			c = p[i + 1];
			if (c == 'Q' || c == 'E' || c == 'K' || c == 'G')
				return false;
			if (c == 'g' && i + 2 < plen && (p[i + 2] == '<' || p[i + 2] == '\''))
				return false;
			i += c == 'c' ? 3 : 2;
		} else if (c == '[') {
			i = rem_skip_class(p, plen, i);
			if (!i)
				return false;
		} else if (c == '(') {
			if (i + 1 < plen && p[i + 1] == '*')
				return false;
			if (i + 2 < plen && p[i + 1] == '?') {
				size_t j = i + 2;

				if (p[j] == 'R' || p[j] == '#' || p[j] == '0')
					return false;
				if ((p[j] == '+' || p[j] == '-') && j + 1 < plen && p[j + 1] == '0')
					return false;
				for (; j < plen && (ascii_alnum((unsigned char)p[j]) ||
						    p[j] == '^' || p[j] == '-');
				     j++)
					if (p[j] == 'x')
						return false;
			}
			depth++;
			i++;
		} else if (c == ')') {
			if (--depth < 0)
				return false;
			i++;
		} else if (c == '|' && depth == 0) {
			return false;
		} else {
			i++;
		}
	}
	return depth == 0;
}

/*
 * Split key p into L (written to lit, folded when nocase) and R; returns
 * |L| and sets *rpos to where R starts, or returns 0 if p is not "^L R"
 * with a non-empty L and an acceptable R. L is the run after the anchor of
 * characters that are not metacharacters and of '\' + ASCII punctuation
 * (always a literal in PCRE2), stopped before a character a quantifier
 * follows (that character belongs to R) and at PFX_MAX bytes.
 */
static size_t pfx_split(const char *p, size_t plen, bool nocase, unsigned char *lit, size_t *rpos)
{
	size_t i, n = 0;

	if (plen >= 1 && p[0] == '^')
		i = 1;
	else if (plen >= 2 && p[0] == '\\' && p[1] == 'A')
		i = 2;
	else
		return 0;
	while (i < plen && n < PFX_MAX) {
		unsigned char c = p[i];
		size_t next = i + 1;

		if (c == '\\') {
			if (i + 1 >= plen)
				break;
			c = p[i + 1];
			if (c == 0 || c >= 0x80 || ascii_alnum(c))
				break;
			next = i + 2;
		} else if (pfx_is_meta(c)) {
			break;
		}
		if (pfx_is_quant(p, plen, next))
			break;
		lit[n++] = nocase ? ds_fold(c) : c;
		i = next;
	}
	*rpos = i;
	if (!n || !rem_ok(p + i, plen - i))
		return 0;
	return n;
}

/* Build-time state of the prefix index. */
struct pfx_build {
	const struct ds_entry *e;
	unsigned char (*lit)[PFX_MAX]; /* per entry */
	uint8_t *llen;		       /* per entry, 0: not prefix-indexed */
	uint32_t *rem_of;	       /* per entry */
	uint32_t *grp_of;	       /* per entry */
	uint32_t *gfirst, *gcount;     /* per group */
	uint32_t ngrp;
	uint32_t *rtab; /* remainder dedupe table (index + 1, 0 = free) */
	uint32_t rtab_size;
	uint32_t *rem_pat; /* remainder -> an entry that has it */
	size_t *rpos;	   /* per entry */
};

static uint64_t bytes_hash(const char *s, size_t len)
{
	uint64_t acc = 0x8f1bbcdcULL;
	size_t i;

	for (i = 0; i < len; i += 8)
		acc = pfx_step(acc, pfx_word(s, len, i, false));
	return pfx_final(acc, 0, (unsigned)len);
}

static uint64_t lit_hash(const unsigned char *lit, unsigned l, bool nocase)
{
	uint64_t acc = 0;
	unsigned i;

	for (i = 0; i + 8 <= l; i += 8)
		acc = pfx_step(acc, pfx_word((const char *)lit, l, i, nocase));
	return pfx_final(acc, pfx_word((const char *)lit, l, i, nocase) & pfx_low(l - i), l);
}

/* Compile remainder text with the key's options; NULL if PCRE2 refuses. */
static pcre2_code *rem_compile(const char *p, size_t len, bool nocase)
{
	PCRE2_SIZE erroff;
	int errcode;

	return pcre2_compile((PCRE2_SPTR)p, len, PCRE2_ANCHORED | (nocase ? PCRE2_CASELESS : 0),
			     &errcode, &erroff, NULL);
}

/*
 * The remainder id for entry i's R, adding and compiling it if new.
 * Returns DS_NONE if R does not compile alone (ENOMEM included) or its
 * capture count differs from the whole key's caps: then the key stays
 * out of the prefix index.
 */
static uint32_t pfx_rem_id(struct ds_regex *r, struct pfx_build *b, uint32_t i, uint32_t caps)
{
	const char *p = b->e[i].key + b->rpos[i];
	size_t len = b->e[i].key_len - b->rpos[i];
	uint32_t slot = (uint32_t)(bytes_hash(p, len) & (b->rtab_size - 1)), id, rc = 0;
	pcre2_code *code;

	for (; b->rtab[slot]; slot = (slot + 1) & (b->rtab_size - 1)) {
		uint32_t o;

		id = b->rtab[slot] - 1;
		o = b->rem_pat[id];
		if (b->e[o].key_len - b->rpos[o] == len &&
		    !memcmp(b->e[o].key + b->rpos[o], p, len))
			return r->rem[id].code && r->rem[id].caps == caps ? id : DS_NONE;
	}
	code = rem_compile(p, len, r->nocase);
	if (code)
		pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &rc);
	id = r->nrem++;
	r->rem[id].code = code;
	r->rem[id].caps = rc;
	b->rem_pat[id] = i;
	b->rtab[slot] = id + 1;
	return code && rc == caps ? id : DS_NONE;
}

/*
 * Group of entry i's L: an existing one with the same L, or a new one;
 * DS_NONE if that L is shared by PFX_MAX_SHARE keys already.
 */
static uint32_t pfx_group(struct ds_regex *r, struct pfx_build *b, uint32_t i)
{
	unsigned l = b->llen[i];
	uint64_t h = lit_hash(b->lit[i], l, false);
	uint32_t bi = pfx_home(r, h), s;
	uint16_t fp = pfx_fp(h);

	for (;; bi = bi + 1 == r->nbkt ? 0 : bi + 1) {
		struct pfx_bucket *bk = &r->bkt[bi];

		for (s = 0; s < PFX_SLOTS; s++) {
			uint32_t o = bk->pat[s], g;

			if (!bk->fp[s]) {
				bk->fp[s] = fp;
				bk->pat[s] = i;
				g = b->ngrp++;
				b->gfirst[g] = i;
				b->gcount[g] = 1;
				return g;
			}
			g = b->grp_of[o];
			if (bk->fp[s] == fp && b->llen[o] == l &&
			    !memcmp(b->lit[o], b->lit[i], l)) {
				/* nmore is 24 bits: a key beyond that stays out. */
				if (b->gcount[g] >= PFX_MAX_SHARE)
					return DS_NONE;
				b->gcount[g]++;
				return g;
			}
		}
		bk->fp[PFX_SLOTS] = 1;
	}
}

/* Zeroed, cache-line aligned memory for size bytes (a multiple of 64). */
static void *line_zalloc(size_t size)
{
	void *p = aligned_alloc(64, size ? size : 64);

	if (p)
		memset(p, 0, size);
	return p;
}

/* Fill the records and the candidate lists; buckets already name records. */
static int pfx_layout(struct ds_regex *r, struct pfx_build *b)
{
	uint32_t *fill = malloc((b->ngrp ? b->ngrp : 1) * sizeof(*fill));
	size_t ncand = 0;
	uint32_t g, i;
	int ret = -ENOMEM;

	if (!fill)
		goto out;
	for (g = 0; g < b->ngrp; g++) {
		fill[g] = (uint32_t)ncand;
		ncand += b->gcount[g] - 1;
	}
	r->recs = line_zalloc((size_t)r->n * sizeof(*r->recs));
	r->cand = malloc((ncand ? ncand : 1) * sizeof(*r->cand));
	if (!r->recs || !r->cand)
		goto out;
	for (i = 0; i < r->n; i++) {
		struct pfx_rec *rec;

		if (!b->llen[i])
			continue;
		g = b->grp_of[i];
		r->key[i] = (struct pfx_key){b->gfirst[g], b->rem_of[i]};
		if (b->gfirst[g] != i) {
			r->cand[fill[g]++] = (struct pfx_cand){i, b->rem_of[i]};
			continue;
		}
		rec = &r->recs[i];
		rec->pat = i;
		rec->rem = b->rem_of[i];
		rec->more = fill[g];
		rec->nmore = b->gcount[g] - 1;
		rec->len = b->llen[i];
		memcpy(rec->lit, b->lit[i], b->llen[i]);
	}
	r->bytes += (size_t)r->n * sizeof(*r->recs) + ncand * sizeof(*r->cand);
	ret = 0;
out:
	free(fill);
	return ret;
}

/* Power of two >= 2 * want, in [16, max]. */
static uint32_t filter_size(uint32_t want, uint32_t max)
{
	uint32_t size = 16;

	while (size < 2 * want && size < max)
		size *= 2;
	return size;
}

/*
 * The prefix filters: most subjects share their first 8 bytes with few
 * L's (none for most misses), and their first 16 with fewer still, so a
 * lookup probes only the lengths of the L's that could start it instead
 * of every length in the set. first[] covers L's of >= 8 bytes, second[]
 * narrows those of >= 16 (a lookup takes the intersection). Collisions
 * only add lengths. Both stay cache-resident (PFX_FIRST_MAX,
 * PFX_SECOND_MAX).
 */
static int pfx_build_filters(struct ds_regex *r, const struct pfx_build *b)
{
	uint32_t n8 = 0, n16 = 0, i, size1, size2;

	for (i = 0; i < r->n; i++) {
		n8 += b->llen[i] >= 8;
		n16 += b->llen[i] >= 16;
	}
	size1 = filter_size(n8, PFX_FIRST_MAX);
	size2 = filter_size(n16, PFX_SECOND_MAX);
	r->first = calloc(size1, sizeof(*r->first));
	r->second = calloc(size2, sizeof(*r->second));
	if (!r->first || !r->second)
		return -ENOMEM;
	r->first_mask = size1 - 1;
	r->second_mask = size2 - 1;
	for (i = 0; i < r->n; i++) {
		const char *lit = (const char *)b->lit[i];
		unsigned l = b->llen[i];
		uint64_t w0 = pfx_word(lit, l, 0, false);

		if (l >= 8)
			r->first[pfx_first_slot(r, w0)] |= 1ULL << (l - 1);
		if (l >= 16)
			r->second[pfx_second_slot(r, w0, pfx_word(lit, l, 8, false))] |=
			    1u << (l - 16);
	}
	r->bytes += size1 * sizeof(*r->first) + size2 * sizeof(*r->second);
	return 0;
}

/* JIT the remainders (within PFX_JIT_BUDGET) and account their memory. */
static void pfx_finish_rems(struct ds_regex *r)
{
	size_t jit_total = 0, sz;
	uint32_t i;

	for (i = 0; i < r->nrem; i++) {
		if (!r->rem[i].code)
			continue;
		if (pcre2_pattern_info(r->rem[i].code, PCRE2_INFO_SIZE, &sz) == 0)
			r->bytes += sz;
		if (jit_total >= PFX_JIT_BUDGET ||
		    pcre2_jit_compile(r->rem[i].code, PCRE2_JIT_COMPLETE) != 0)
			continue;
		r->rem[i].jit = true;
		if (pcre2_pattern_info(r->rem[i].code, PCRE2_INFO_JITSIZE, &sz) == 0) {
			jit_total += sz;
			r->bytes += sz;
		}
	}
}

static void pfx_build_free(struct pfx_build *b)
{
	free(b->lit);
	free(b->llen);
	free(b->rem_of);
	free(b->grp_of);
	free(b->gfirst);
	free(b->gcount);

	free(b->rtab);
	free(b->rem_pat);
	free(b->rpos);
}

/*
 * Build the prefix index over the entries pfx_split accepts, freeing their
 * whole-key codes. Returns 0 or -ENOMEM.
 */
static int pfx_build(struct ds_regex *r, const struct ds_entry *e)
{
	uint32_t n1 = r->n ? r->n : 1, i, ncand = 0;
	struct pfx_build b = {.e = e};
	int ret = -ENOMEM;

	b.lit = malloc(n1 * sizeof(*b.lit));
	b.llen = calloc(n1, 1);
	b.rem_of = malloc(n1 * sizeof(*b.rem_of));
	b.grp_of = malloc(n1 * sizeof(*b.grp_of));
	b.rpos = malloc(n1 * sizeof(*b.rpos));
	r->key = malloc(n1 * sizeof(*r->key));
	if (!b.lit || !b.llen || !b.rem_of || !b.grp_of || !b.rpos || !r->key)
		goto out;
	for (i = 0; i < r->n; i++) {
		r->key[i].rec = DS_NONE;
		b.llen[i] =
		    (uint8_t)pfx_split(e[i].key, e[i].key_len, r->nocase, b.lit[i], &b.rpos[i]);
		ncand += b.llen[i] != 0;
	}
	r->pfx_min = DS_NONE;
	if (!ncand) {
		ret = 0;
		goto out;
	}
	for (b.rtab_size = 2; b.rtab_size < 2 * ncand; b.rtab_size *= 2)
		;
	b.rtab = calloc(b.rtab_size, sizeof(*b.rtab));
	b.rem_pat = malloc(ncand * sizeof(*b.rem_pat));
	r->rem = calloc(ncand, sizeof(*r->rem));
	b.gfirst = malloc(ncand * sizeof(*b.gfirst));
	b.gcount = malloc(ncand * sizeof(*b.gcount));
	/* About 7 L's per 10-slot bucket: few probes go on to the next line. */
	r->nbkt = ncand / 7 + 1;
	r->bkt = line_zalloc(r->nbkt * sizeof(*r->bkt));
	if (!b.rtab || !b.rem_pat || !r->rem || !b.gfirst || !b.gcount || !r->bkt)
		goto out;
	for (i = 0; i < r->n; i++) {
		uint32_t caps = 0;

		if (!b.llen[i])
			continue;
		pcre2_pattern_info(r->code[i], PCRE2_INFO_CAPTURECOUNT, &caps);
		b.rem_of[i] = pfx_rem_id(r, &b, i, caps);
		if (b.rem_of[i] != DS_NONE)
			b.grp_of[i] = pfx_group(r, &b, i);
		if (b.rem_of[i] == DS_NONE || b.grp_of[i] == DS_NONE) {
			b.llen[i] = 0;
			continue;
		}
		r->lens |= 1ULL << (b.llen[i] - 1);
		if (b.llen[i] < 8)
			r->short_lens |= 1ULL << (b.llen[i] - 1);
		if (r->pfx_min == DS_NONE)
			r->pfx_min = i;
		pcre2_code_free(r->code[i]);
		r->code[i] = NULL;
	}
	r->bytes += r->nbkt * sizeof(*r->bkt) + r->n * sizeof(*r->key) + r->nrem * sizeof(*r->rem);
	ret = pfx_layout(r, &b);
	if (!ret)
		ret = pfx_build_filters(r, &b);
	if (!ret)
		pfx_finish_rems(r);
out:
	pfx_build_free(&b);
	return ret;
}

/* --- other paths: build ----------------------------------------------------- */

static unsigned hs_flags(bool nocase)
{
	return HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY | (nocase ? HS_FLAG_CASELESS : 0);
}

/* Can Hyperscan take entry e on its own? */
static bool hs_takes(const struct ds_entry *e, bool nocase)
{
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *cerr = NULL;
	bool ok;

	if (memchr(e->key, '\0', e->key_len))
		return false;
	ok = hs_expression_info(e->key, hs_flags(nocase), &info, &cerr) == HS_SUCCESS;
	free(info);
	if (cerr)
		hs_free_compile_error(cerr);
	return ok;
}

/*
 * Compile the entries marked in use_hs into one database. A pattern the
 * multi compile still rejects moves to the fallback list and the compile is
 * retried; an error naming no pattern sends them all to the fallback.
 */
static void regex_compile_hs(struct ds_regex *r, const struct ds_entry *e, bool *use_hs)
{
	const char **expr = malloc((r->n ? r->n : 1) * sizeof(*expr));
	unsigned *flags = malloc((r->n ? r->n : 1) * sizeof(*flags));
	unsigned *ids = malloc((r->n ? r->n : 1) * sizeof(*ids));
	hs_compile_error_t *cerr;
	uint32_t i, m;

	if (!expr || !flags || !ids) {
		memset(use_hs, 0, r->n * sizeof(*use_hs));
		goto out;
	}
	for (;;) {
		for (i = 0, m = 0; i < r->n; i++) {
			if (!use_hs[i])
				continue;
			expr[m] = e[i].key;
			flags[m] = hs_flags(r->nocase);
			ids[m++] = i;
		}
		if (!m)
			break;
		cerr = NULL;
		if (hs_compile_multi(expr, flags, ids, m, HS_MODE_BLOCK, NULL, &r->db, &cerr) ==
		    HS_SUCCESS) {
			r->db_min_id = ids[0];
			break;
		}
		r->db = NULL;
		if (cerr && cerr->expression >= 0 && (unsigned)cerr->expression < m) {
			use_hs[ids[cerr->expression]] = false;
		} else {
			memset(use_hs, 0, r->n * sizeof(*use_hs));
		}
		if (cerr)
			hs_free_compile_error(cerr);
	}
out:
	free(expr);
	free(flags);
	free(ids);
}

/* PCRE2-compile entry i; on error fill the caller's error slots. */
static int regex_compile_pcre(struct ds_regex *r, const struct ds_entry *e, uint32_t i, size_t *off,
			      char *msg, size_t msglen)
{
	PCRE2_SIZE erroff = 0;
	uint32_t caps = 0;
	int errcode = 0;

	r->code[i] = pcre2_compile((PCRE2_SPTR)e->key, e->key_len, r->nocase ? PCRE2_CASELESS : 0,
				   &errcode, &erroff, NULL);
	if (!r->code[i]) {
		*off = erroff;
		if (pcre2_get_error_message(errcode, (PCRE2_UCHAR *)msg, msglen) < 0)
			snprintf(msg, msglen, "PCRE2 error %d", errcode);
		return -EINVAL;
	}
	pcre2_pattern_info(r->code[i], PCRE2_INFO_CAPTURECOUNT, &caps);
	if (caps + 1 > r->max_pairs)
		r->max_pairs = caps + 1;
	return 0;
}

/*
 * Lowest index matching the empty subject (Hyperscan never sees it). Run
 * before the prefix index frees codes: those keys need >= 1 byte anyway.
 */
static int regex_empty(struct ds_regex *r)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	uint32_t i;

	r->empty_idx = DS_NONE;
	if (!md)
		return -ENOMEM;
	for (i = 0; i < r->n; i++) {
		if (pcre2_match(r->code[i], (PCRE2_SPTR) "", 0, 0, 0, md, NULL) >= 0) {
			r->empty_idx = i;
			break;
		}
	}
	pcre2_match_data_free(md);
	return 0;
}

/* Account memory and JIT-compile the fallback patterns. */
static void regex_finish(struct ds_regex *r, const bool *use_hs)
{
	size_t sz;
	uint32_t i;

	r->bytes += sizeof(*r) + r->n * sizeof(*r->code);
	for (i = 0; i < r->n; i++) {
		if (!r->code[i])
			continue;
		/* Hyperscan keys keep their code for captures only: no JIT. */
		if (!use_hs[i]) {
			r->fallback[r->nfallback++] = i;
			pcre2_jit_compile(r->code[i], PCRE2_JIT_COMPLETE);
			if (pcre2_pattern_info(r->code[i], PCRE2_INFO_JITSIZE, &sz) == 0)
				r->bytes += sz;
		}
		if (pcre2_pattern_info(r->code[i], PCRE2_INFO_SIZE, &sz) == 0)
			r->bytes += sz;
	}
	r->bytes += r->nfallback * sizeof(*r->fallback);
	if (r->db && hs_database_size(r->db, &sz) == HS_SUCCESS)
		r->bytes += sz;
	r->serial = atomic_fetch_add(&db_serial, 1) + 1;
}

/* Accepts the set's entries (NUL-terminated keys); see dataset_internal.h. */
struct ds_regex *ds_regex_build(const struct ds_entry *e, uint32_t n, bool nocase, uint32_t *bad,
				size_t *off, char *msg, size_t msglen)
{
	struct ds_regex *r = calloc(1, sizeof(*r));
	bool *use_hs = calloc(n ? n : 1, sizeof(*use_hs));
	bool hs_ok = hs_valid_platform() == HS_SUCCESS && !getenv("XADC_DATASET_NO_HS");
	uint32_t i;

	*bad = DS_NONE;
	if (!r || !use_hs)
		goto fail;
	r->n = n;
	r->nocase = nocase;
	r->code = calloc(n ? n : 1, sizeof(*r->code));
	r->fallback = malloc((n ? n : 1) * sizeof(*r->fallback));
	if (!r->code || !r->fallback)
		goto fail;
	for (i = 0; i < n; i++) {
		if (regex_compile_pcre(r, &e[i], i, off, msg, msglen)) {
			*bad = i;
			goto fail;
		}
	}
	if (regex_empty(r) || pfx_build(r, e))
		goto fail;
	for (i = 0; i < n; i++)
		use_hs[i] = r->code[i] && hs_ok && hs_takes(&e[i], nocase);
	regex_compile_hs(r, e, use_hs);
	regex_finish(r, use_hs);
	free(use_hs);
	return r;
fail:
	free(use_hs);
	ds_regex_free(r);
	return NULL;
}

void ds_regex_free(struct ds_regex *r)
{
	uint32_t i;

	if (!r)
		return;
	for (i = 0; r->code && i < r->n; i++)
		pcre2_code_free(r->code[i]);
	for (i = 0; r->rem && i < r->nrem; i++)
		pcre2_code_free(r->rem[i].code);
	free(r->code);
	free(r->fallback);
	free(r->bkt);
	free(r->first);
	free(r->second);
	free(r->recs);
	free(r->cand);
	free(r->rem);
	free(r->key);
	if (r->db)
		hs_free_database(r->db);
	free(r);
}

/* --- match --------------------------------------------------------------- */

/* Does remainder rm match str anchored at off? */
static inline bool rem_hit(const struct pfx_rem *rm, const char *str, size_t len, size_t off,
			   pcre2_match_data *md)
{
	if (rm->jit)
		return pcre2_jit_match(rm->code, (PCRE2_SPTR)str, len, off, 0, md, NULL) >= 0;
	return pcre2_match(rm->code, (PCRE2_SPTR)str, len, off, 0, md, NULL) >= 0;
}

/* The lowest key of record rec below best whose R matches at rec->len. */
static uint32_t pfx_try(const struct ds_regex *r, const struct pfx_rec *rec, const char *str,
			size_t len, pcre2_match_data *md, uint32_t best)
{
	uint32_t k;

	if (rem_hit(&r->rem[rec->rem], str, len, rec->len, md))
		return rec->pat;
	for (k = 0; k < rec->nmore; k++) {
		const struct pfx_cand *c = &r->cand[rec->more + k];

		if (c->pat >= best)
			break;
		if (rem_hit(&r->rem[c->rem], str, len, rec->len, md))
			return c->pat;
	}
	return best;
}

/* Lowest prefix-indexed key matching str (len > 0). */
static uint32_t pfx_find(const struct ds_regex *r, const char *str, size_t len,
			 pcre2_match_data *md)
{
	uint64_t lens = r->lens, acc = 0, cur = pfx_word(str, len, 0, r->nocase);
	uint32_t best = DS_NONE;
	size_t done = 0;

	/* L's of >= 8 bytes: only the lengths the prefix filters let through. */
	if (len >= 8) {
		uint64_t m = r->first[pfx_first_slot(r, cur)];

		/* second[] only when first[] leaves some length >= 16. */
		if (len >= 16 && m >> 15)
			m &= 0x7f80ULL | (uint64_t)r->second[pfx_second_slot(
					     r, cur, pfx_word(str, len, 8, r->nocase))]
					     << 15;
		lens &= r->short_lens | m;
	} else {
		lens &= r->short_lens;
	}
	if (len < 64)
		lens &= (1ULL << len) - 1;
	while (lens) {
		unsigned l = (unsigned)__builtin_ctzll(lens) + 1, slots;
		uint64_t h;
		uint32_t bi;
		uint16_t fp;

		lens &= lens - 1;
		while (done + 8 <= l) {
			acc = pfx_step(acc, cur);
			done += 8;
			cur = pfx_word(str, len, done, r->nocase);
		}
		h = pfx_final(acc, cur & pfx_low(l - (unsigned)done), l);
		fp = pfx_fp(h);
		for (bi = pfx_home(r, h);; bi = bi + 1 == r->nbkt ? 0 : bi + 1) {
			const struct pfx_bucket *bk = &r->bkt[bi];

			for (slots = pfx_slots(bk, fp); slots; slots &= slots - 1) {
				uint32_t pat = bk->pat[__builtin_ctz(slots)];
				const struct pfx_rec *rec = pfx_rec_at(r, pat);

				if (pat >= best || rec->len != l ||
				    !pfx_lit_eq(rec, str, l, r->nocase))
					continue;
				best = pfx_try(r, rec, str, len, md, best);
			}
			if (!bk->fp[PFX_SLOTS])
				break;
		}
		if (best == r->pfx_min)
			break;
	}
	return best;
}

struct hs_ctx {
	uint32_t best;
	uint32_t min_id;
};

static int on_hs_match(unsigned int id, unsigned long long from, unsigned long long to,
		       unsigned int flags, void *arg)
{
	struct hs_ctx *c = arg;

	if (id < c->best)
		c->best = id;
	/* Nothing lower can be reported: stop scanning. */
	return id == c->min_id;
}

static bool pcre_hit(const pcre2_code *code, const char *str, size_t len, pcre2_match_data *md)
{
	return pcre2_match(code, (PCRE2_SPTR)str, len, 0, 0, md, NULL) >= 0;
}

/* Every whole-key code below best, for when Hyperscan cannot scan this input. */
static uint32_t regex_all_pcre(const struct ds_regex *r, const char *str, size_t len,
			       pcre2_match_data *md, uint32_t best)
{
	uint32_t i;

	for (i = 0; i < r->n && i < best; i++)
		if (r->code[i] && pcre_hit(r->code[i], str, len, md))
			return i;
	return best;
}

/* Accepts any bytes; returns the lowest-index pattern matching str. */
uint32_t ds_regex_find(const struct ds_regex *r, const char *str, size_t len)
{
	struct hs_ctx c = {.best = DS_NONE, .min_id = r->db_min_id};
	pcre2_match_data *md;
	hs_scratch_t *scratch;
	hs_error_t rc;
	uint32_t i;

	if (!len)
		return r->empty_idx;
	md = tls_md(1);
	if (!md)
		return DS_NONE;
	if (r->lens)
		c.best = pfx_find(r, str, len, md);
	if (r->db && r->db_min_id < c.best) {
		scratch = len <= UINT32_MAX ? tls_scratch(r) : NULL;
		if (!scratch)
			return regex_all_pcre(r, str, len, md, c.best);
		rc = hs_scan(r->db, str, (unsigned int)len, 0, scratch, on_hs_match, &c);
		if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED)
			return regex_all_pcre(r, str, len, md, c.best);
	}
	for (i = 0; i < r->nfallback && r->fallback[i] < c.best; i++) {
		if (pcre_hit(r->code[r->fallback[i]], str, len, md))
			return r->fallback[i];
	}
	return c.best;
}

/*
 * Captures of a prefix-indexed key: L checked here, R run at |L|; the
 * match starts at 0 (R holds no \K).
 */
static int pfx_captures(const struct ds_regex *r, uint32_t index, const char *str, size_t len,
			pcre2_match_data *md)
{
	const struct pfx_rec *rec = pfx_rec_at(r, r->key[index].rec);
	int rc;

	if (len < rec->len || !pfx_lit_eq(rec, str, rec->len, r->nocase))
		return PCRE2_ERROR_NOMATCH;
	rc = pcre2_match(r->rem[r->key[index].rem].code, (PCRE2_SPTR)str, len, rec->len, 0, md,
			 NULL);
	if (rc >= 0)
		pcre2_get_ovector_pointer(md)[0] = 0;
	return rc;
}

/* Accepts an entry index < n; caps gets up to ncap (start, end) pairs. */
int ds_regex_captures(const struct ds_regex *r, uint32_t index, const char *str, size_t len,
		      size_t *caps, int ncap)
{
	pcre2_match_data *md = tls_md(r->max_pairs);
	PCRE2_SIZE *ov;
	int rc, g;

	if (!md)
		return -ENOMEM;
	if (r->key && r->key[index].rec != DS_NONE)
		rc = pfx_captures(r, index, str, len, md);
	else
		rc = pcre2_match(r->code[index], (PCRE2_SPTR)str, len, 0, 0, md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return rc == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -ERANGE;
	/* rc is the highest group set + 1; unset groups below it are ~0. */
	if (rc > ncap)
		rc = ncap;
	ov = pcre2_get_ovector_pointer(md);
	for (g = 0; g < rc; g++) {
		caps[2 * g] = ov[2 * g];
		caps[2 * g + 1] = ov[2 * g + 1];
	}
	return rc;
}

size_t ds_regex_bytes(const struct ds_regex *r)
{
	return r->bytes;
}

uint32_t ds_regex_nfallback(const struct ds_regex *r)
{
	return r->nfallback;
}
