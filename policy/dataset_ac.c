// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_ac.c - CONTAINS: a sampled-window cuckoo filter, then verify.
 *
 * Why not an automaton (what this file used to be): an Aho-Corasick scan
 * makes one dependent state transition per input byte; at 100,000 keys the
 * deep states are cold, so a lookup is a chain of cache misses that cannot
 * overlap, and even at 10 keys it costs a bisection per byte.
 *
 * Classes: keys of length 1 use a 256-entry table (lowest index per byte).
 * Longer keys are split by length into classes, each with a window width w
 * every key of the class has and a stride s (cs_shape): 2-3 bytes (w 2),
 * 4-7 (w 4), 8-11 (w 8), 12+ (w 8, s 4). A class probes only the input
 * positions that are multiples of s, so each key is entered with s
 * consecutive windows of its own bytes: wherever the key occurs, one of
 * them starts on a probed position. The s windows are chosen at build time
 * where the key's windows are rarest among all keys of the class (a count
 * over every window), so fragments many keys share ("/api/v1/") do not
 * make every input that contains them verify.
 *
 * Probe: load the w-byte window (for nocase with bit 5 of each byte set,
 * see CS_CASEBITS), hash it (two multiplies) and look for its 16-bit tag
 * in the window's two buckets of a cuckoo table (a bucket is one 64-bit
 * word of four tags; SSE2 compares all eight lanes in a few
 * instructions). The tags take ~2.6 bytes per entry, so they stay in L2
 * at 100,000 keys, and probes at different positions do not depend on
 * each other, so the CPU overlaps them. A false tag match costs about 1
 * in 10,000 probes.
 *
 * Verify: lane j of bucket b names record b * 4 + j, one 64-byte line that
 * holds the entry's index, window offset and length and the key's bytes
 * (up to 52 inline; longer keys keep a pointer). A tag hit only prefetches
 * that line and the scan goes on; pending hits are verified together at
 * the end (or when the queue fills): a byte compare of the key against the
 * input at i - o. A true hit thus costs exactly one line from memory, with
 * no header to search first (the previous layout, a bucket of headers and
 * variable records behind a Bloom block, fetched ~5 lines per hit and
 * branched on which header matched once they arrived, which serialised
 * the miss). The records are copied s times for the s windows; records
 * and tags are huge-page backed so that miss is not also a page walk.
 *
 * Lowest index: all matching lanes are verified and the lowest index
 * kept; the whole input is scanned (a later position may hold a
 * lower-index key) unless the best is already the set's lowest index. The
 * empty key occurs everywhere: it is the starting best.
 *
 * Limit: a window's two buckets hold 8 entries, so when more keys than
 * that share nothing but one window (thousands of keys made of one
 * repeated byte, many copies of one key), the cuckoo insert fails even in
 * a larger table and the set gets the Aho-Corasick fallback below.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dataset_internal.h"

#define CS_NCLS	 4	/* hashed classes, see cs_shape */
#define CS_MULT	 0x9e3779b97f4a7c15ULL
#define CS_MULT2 0xc2b2ae3d27d4eb4fULL
#define CS_WAYS	 4	/* 16-bit tags per bucket (one 64-bit word) */
#define CS_INL	 52	/* key bytes a record holds inline */
#define CS_KICKS 500	/* cuckoo evictions before an insert gives up */
#define CS_TRIES 3	/* table doublings before the fallback */
#define CS_LANES 0x0001000100010001ULL
/*
 * Nocase windows are hashed with bit 5 of every byte set: one OR instead
 * of an exact fold per probe. Equal windows up to case hash alike (and so
 * do a few other pairs, '@' and '`' say, which the verify's exact fold
 * then rejects).
 */
#define CS_CASEBITS 0x2020202020202020ULL

/*
 * The hashed classes: window w, stride s, key lengths [minlen, maxlen].
 * A class with stride s probes only every s-th input position, so each of
 * its keys is entered with s consecutive windows (any occurrence puts one
 * of them on a probed position); that needs len >= w + s - 1 and costs s
 * table entries per key, and it cuts the probes - the per-byte cost - by
 * s for the long keys that are the common case.
 */
static const struct {
	uint32_t w, s, minlen, maxlen;
} cs_shape[CS_NCLS] = {
	{ 2, 1, 2, 3 },
	{ 4, 1, 4, 7 },
	{ 8, 1, 8, 11 },
	{ 8, 4, 12, UINT32_MAX },
};

/*
 * One table entry: exactly one cache line, the line a tag hit points to.
 * Keys longer than CS_INL keep a pointer to their bytes (in the class's
 * ext buffer) in key[] instead.
 */
struct cs_rec {
	uint32_t idx;
	uint32_t len;
	uint32_t o;	/* window offset inside the key */
	unsigned char key[CS_INL];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct cs_rec) == 64, "a record is one cache line");

struct cs_cls;

/* The scan of one class shape and case mode (see cs_scan). */
typedef uint32_t (*cs_scan_fn)(const struct cs_cls *c, const unsigned char *p, size_t len,
			       uint32_t best, uint32_t stop);

struct cs_cls {
	cs_scan_fn scan;
	uint32_t minlen;	/* shortest key of the class's shape */
	const struct ds_entry *ent;	/* the set's entries: prefetch only */
	uint32_t lg;		/* log2 of the bucket count */
	uint32_t mask;
	uint32_t nkeys;
	uint64_t *tag;		/* mask + 1 buckets of CS_WAYS tags, 0 = empty */
	struct cs_rec *rec;	/* slot b * CS_WAYS + lane */
	unsigned char *ext;	/* bytes of keys longer than CS_INL */
	size_t extlen;
};

struct acm;

struct ds_ac {
	struct acm *slow;	/* fallback automaton, see cs_build_class() */
	bool nocase;
	bool has_one;		/* any key of length 1 */
	uint32_t empty;		/* lowest index of an empty key, or DS_NONE */
	uint32_t min_index;	/* lowest index of any key: stop when found */
	uint32_t nact;		/* classes with keys, in act[] (longest first) */
	uint8_t act[CS_NCLS];
	struct cs_cls cls[CS_NCLS];
	uint32_t one[256];	/* length-1 keys: lowest index per byte */
};

/* The hashed class of a key length >= 2. */
static int cs_class_of(uint32_t len)
{
	int ci;

	for (ci = 0; ci < CS_NCLS; ci++)
		if (len >= cs_shape[ci].minlen && len <= cs_shape[ci].maxlen)
			break;
	return ci;
}

/* Little-endian load of a w-byte window, zero-extended. */
static inline __attribute__((always_inline)) uint64_t cs_load(const unsigned char *p, uint32_t w)
{
	uint64_t v8;
	uint32_t v4;
	uint16_t v2;

	if (w == 8) {
		memcpy(&v8, p, 8);
		return v8;
	}
	if (w == 4) {
		memcpy(&v4, p, 4);
		return v4;
	}
	memcpy(&v2, p, 2);
	return v2;
}

/*
 * The scan hash: two multiplies, so that every bit used (tag, bucket
 * indices) depends on every byte of the window; one multiply left the
 * lower bits poorly mixed on ASCII text.
 */
static inline uint64_t cs_hash(uint64_t v)
{
	const uint64_t h = v * CS_MULT;

	return (h ^ (h >> 32)) * CS_MULT2;
}

/*
 * The 16-bit tag: the top hash bits. An empty lane holds 0 and its record
 * the index DS_NONE, so a window whose tag is 0 only costs a rejected
 * verify.
 */
static inline uint64_t cs_tag(uint64_t h)
{
	return h >> 48;
}

/*
 * The two candidate buckets: b1 from hash bits 16 up, b2 = b1 with bits
 * 32 up xored in (made odd, so b2 != b1 and both are in range). Constant
 * shifts: up to 2^16 buckets the three fields do not overlap; beyond that
 * they share a bit or a few, which only correlates the choices a little.
 */
static inline uint32_t cs_b1(uint64_t h, uint32_t mask)
{
	return (uint32_t)(h >> 16) & mask;
}

static inline uint32_t cs_b2(uint64_t h, uint32_t b1, uint32_t mask)
{
	return b1 ^ (((uint32_t)(h >> 32) & mask) | 1);
}

/* High bit set in each 16-bit lane of x that is zero (exact, no borrow). */
static inline uint64_t cs_zero16(uint64_t x)
{
	const uint64_t lo = 0x7fff7fff7fff7fffULL;

	return ~(((x & lo) + lo) | x) & ~lo;
}

/*
 * The lanes of buckets b1 and b2 whose tag is h's: bit 2j of the result
 * for lane j of b1, bit 2j + 8 for lane j of b2 (odd bits may be set too:
 * cs_queue ignores them). SSE2 compares all eight lanes
 * at once; elsewhere an exact zero-lane test per bucket.
 */
static inline __attribute__((always_inline)) uint32_t cs_lanes(const uint64_t *tag, uint64_t h,
								uint32_t b1, uint32_t b2)
{
#ifdef __SSE2__
	const __m128i t = _mm_set1_epi16((short)cs_tag(h));
	const __m128i x = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)&tag[b1]),
					     _mm_loadl_epi64((const __m128i *)&tag[b2]));

	return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi16(x, t));
#else
	const uint64_t t = cs_tag(h) * CS_LANES;
	const uint64_t z1 = cs_zero16(tag[b1] ^ t), z2 = cs_zero16(tag[b2] ^ t);
	uint32_t m = 0, j;

	if (!(z1 | z2))
		return 0;
	for (j = 0; j < CS_WAYS; j++)
		m |= (uint32_t)((z1 >> (16 * j + 15)) & 1) << (2 * j) |
		     (uint32_t)((z2 >> (16 * j + 15)) & 1) << (2 * j + 8);
	return m;
#endif
}

/* --- build ---------------------------------------------------------------- */

/* One table entry to be: key idx entered by its window at offset o. */
struct cs_pick {
	uint64_t h;
	uint32_t idx;
	uint32_t o;
};

static uint32_t cs_log2_ceil(size_t x)
{
	uint32_t l = 0;

	while (((size_t)1 << l) < x)
		l++;
	return l;
}

/*
 * Count every window of every key of class ci in a table of saturating
 * byte counters indexed by hash (about two slots per window, so counts
 * mostly mean "how many keys share this window"). Returns the table and
 * its index shift, or NULL.
 */
static unsigned char *cs_count_windows(const unsigned char **kp, const struct ds_entry *e,
				       uint32_t n, int ci, uint64_t cm, uint32_t *cshift)
{
	const uint32_t w = cs_shape[ci].w;
	unsigned char *cnt;
	size_t total = 0;
	uint32_t i, o, lg;

	for (i = 0; i < n; i++)
		if (e[i].key_len >= 2 && cs_class_of(e[i].key_len) == ci)
			total += e[i].key_len - w + 1;
	lg = cs_log2_ceil(total) + 1;
	lg = lg > 24 ? 24 : lg < 6 ? 6 : lg;
	cnt = calloc((size_t)1 << lg, 1);
	if (!cnt)
		return NULL;
	*cshift = 64 - lg;
	for (i = 0; i < n; i++) {
		if (e[i].key_len < 2 || cs_class_of(e[i].key_len) != ci)
			continue;
		for (o = 0; o + w <= e[i].key_len; o++) {
			unsigned char *k = &cnt[cs_hash(cs_load(kp[i] + o, w) | cm) >> *cshift];

			if (*k < 255)
				(*k)++;
		}
	}
	return cnt;
}

/*
 * Choose each key's s consecutive windows: the run whose summed counts are
 * lowest, i.e. the fragment the fewest other keys share, so that common
 * fragments ("/api/v1/") do not make every input that holds them verify
 * (nor crowd one pair of buckets). Ties go to the latest run: with few
 * keys every count is 1, and a key's start is more often a fragment that
 * inputs share (a path's leading words) than its end (an id).
 */
static int cs_pick_windows(const unsigned char **kp, const struct ds_entry *e, uint32_t n, int ci,
			   uint64_t cm, struct cs_pick *pk)
{
	const uint32_t w = cs_shape[ci].w, s = cs_shape[ci].s;
	uint32_t cshift, i, o, j, np = 0;
	unsigned char *cnt = cs_count_windows(kp, e, n, ci, cm, &cshift);

	if (!cnt)
		return -1;
	for (i = 0; i < n; i++) {
		uint32_t ring[8] = { 0 }, sum = 0, best_o = 0, best_sum = UINT32_MAX;

		if (e[i].key_len < 2 || cs_class_of(e[i].key_len) != ci)
			continue;
		for (o = 0; o + w <= e[i].key_len; o++) {
			uint32_t k = cnt[cs_hash(cs_load(kp[i] + o, w) | cm) >> cshift];

			sum += k - ring[o % s];
			ring[o % s] = k;
			if (o + 1 >= s && sum <= best_sum) {
				best_sum = sum;
				best_o = o + 1 - s;
			}
		}
		for (j = 0; j < s; j++)
			pk[np++] = (struct cs_pick){
				.h = cs_hash(cs_load(kp[i] + best_o + j, w) | cm),
				.idx = i,
				.o = best_o + j,
			};
	}
	free(cnt);
	return 0;
}

/*
 * Cuckoo insert of pick k into the lanes (who: pick per slot, UINT32_MAX
 * when empty): take a free lane of either bucket, else evict a random one
 * and re-home the evicted pick. False when CS_KICKS evictions did not end
 * (the tables are then inconsistent: the caller starts over).
 */
static bool cs_insert(struct cs_cls *c, uint32_t *who, const struct cs_pick *pk, uint32_t k,
		      uint64_t *rs)
{
	uint32_t kick, j, b;

	for (kick = 0; kick < CS_KICKS; kick++) {
		const uint32_t b1 = cs_b1(pk[k].h, c->mask);
		const uint32_t bb[2] = { b1, cs_b2(pk[k].h, b1, c->mask) };
		const uint64_t t = cs_tag(pk[k].h);
		uint32_t victim;
		int x;

		for (x = 0; x < 2; x++) {
			for (j = 0; j < CS_WAYS; j++) {
				if (who[bb[x] * CS_WAYS + j] != UINT32_MAX)
					continue;
				who[bb[x] * CS_WAYS + j] = k;
				c->tag[bb[x]] |= t << (16 * j);
				return true;
			}
		}
		*rs ^= *rs << 13;
		*rs ^= *rs >> 7;
		*rs ^= *rs << 17;
		b = bb[*rs & 1];
		j = (uint32_t)(*rs >> 1) % CS_WAYS;
		victim = who[b * CS_WAYS + j];
		who[b * CS_WAYS + j] = k;
		c->tag[b] = (c->tag[b] & ~(0xffffULL << (16 * j))) | t << (16 * j);
		k = victim;
	}
	return false;
}

/*
 * Place every pick in a table of 2^lg buckets; 0, 1 when the cuckoo
 * insert failed (retry bigger), -1 on ENOMEM. Fills c->tag and who.
 */
static int cs_place(struct cs_cls *c, const struct cs_pick *pk, size_t np, uint32_t lg,
		    uint32_t **whop)
{
	const size_t nslot = ((size_t)1 << lg) * CS_WAYS;
	uint64_t rs = 0x9e3779b97f4a7c15ULL;
	uint32_t *who = malloc(nslot * sizeof(*who));
	size_t i;

	c->lg = lg;
	c->mask = (1u << lg) - 1;
	c->tag = ds_alloc_lines(((size_t)1 << lg) * sizeof(*c->tag), NULL);
	if (!who || !c->tag) {
		free(who);
		return -1;
	}
	memset(who, 0xff, nslot * sizeof(*who));
	for (i = 0; i < np; i++) {
		if (!cs_insert(c, who, pk, (uint32_t)i, &rs)) {
			free(who);
			free(c->tag);
			c->tag = NULL;
			return 1;
		}
	}
	*whop = who;
	return 0;
}

/* Write the record of every occupied slot (keys folded if nocase). */
static int cs_fill(struct cs_cls *c, const unsigned char **kp, const struct ds_entry *e,
		   const struct cs_pick *pk, const uint32_t *who)
{
	const size_t nslot = ((size_t)c->mask + 1) * CS_WAYS;
	size_t sl, used = 0;

	c->rec = ds_alloc_lines(nslot * sizeof(*c->rec), NULL);
	if (!c->rec)
		return -1;
	for (sl = 0; sl < nslot; sl++)
		if (who[sl] != UINT32_MAX && e[pk[who[sl]].idx].key_len > CS_INL)
			c->extlen += e[pk[who[sl]].idx].key_len;
	if (c->extlen) {
		c->ext = malloc(c->extlen);
		if (!c->ext)
			return -1;
	}
	for (sl = 0; sl < nslot; sl++) {
		const struct cs_pick *p;
		struct cs_rec *r = &c->rec[sl];

		if (who[sl] == UINT32_MAX) {
			r->idx = DS_NONE;
			continue;
		}
		p = &pk[who[sl]];
		r->idx = p->idx;
		r->len = e[p->idx].key_len;
		r->o = p->o;
		if (r->len <= CS_INL) {
			memcpy(r->key, kp[p->idx], r->len);
		} else {
			const unsigned char *x = c->ext + used;

			memcpy(c->ext + used, kp[p->idx], r->len);
			memcpy(r->key, &x, sizeof(x));
			used += r->len;
		}
	}
	return 0;
}

/*
 * Build hashed class ci from the keys that belong to it: 0, 1 when the
 * keys share windows so much that no table holds them (the caller then
 * uses the fallback), -1 on ENOMEM.
 */
static int cs_build_class(struct ds_ac *a, const unsigned char **kp, const struct ds_entry *e,
			  uint32_t n, int ci)
{
	struct cs_cls *c = &a->cls[ci];
	struct cs_pick *pk = NULL;
	uint32_t *who = NULL;
	uint32_t i, lg, t;
	size_t np;
	int ret = -1;

	for (i = 0; i < n; i++)
		if (e[i].key_len >= 2 && cs_class_of(e[i].key_len) == ci)
			c->nkeys++;
	if (!c->nkeys)
		return 0;
	c->ent = e;
	np = (size_t)c->nkeys * cs_shape[ci].s;
	pk = malloc(np * sizeof(*pk));
	if (!pk || cs_pick_windows(kp, e, n, ci, a->nocase ? CS_CASEBITS : 0, pk))
		goto out;
	/*
	 * Load about 0.8 (a 4-way cuckoo table fills to ~0.95): 2.5 bytes of
	 * tags per entry, so the tags stay in L2 at 100,000 keys.
	 */
	lg = cs_log2_ceil((np * 5 + 15) / 16);
	lg = lg < 1 ? 1 : lg;
	for (t = 0, ret = 1; t < CS_TRIES && ret == 1 && lg + t <= 28; t++)
		ret = cs_place(c, pk, np, lg + t, &who);
	if (!ret)
		ret = cs_fill(c, kp, e, pk, who);
out:
	free(who);
	free(pk);
	return ret;
}

/* --- fallback: Aho-Corasick ------------------------------------------------ */

/*
 * A window pair of buckets holds at most 2 * CS_WAYS entries, so a set
 * where more keys than that have nothing but one common window (thousands
 * of keys made of one repeated byte, or many copies of one key) cannot be
 * placed, and its inputs would verify all of those keys at every position
 * anyway. Such sets get the previous engine, an Aho-Corasick automaton,
 * whose scan is linear whatever the keys.
 */
static void acm_free(struct acm *a);

struct acm_state {
	uint32_t first_child;
	uint32_t nchild;
	uint32_t fail;
	uint32_t out;
};

struct acm {
	bool nocase;
	uint32_t nstates;
	uint32_t min_index;	/* lowest index of any key: stop when found */
	struct acm_state *st;	/* nstates + 1 (sentinel first_child) */
	unsigned char *edge;	/* edge[s]: byte leading into state s */
	uint32_t root_next[256];
};

struct ackey {
	const unsigned char *p;
	uint32_t len;
	uint32_t idx;
};

/* Build-only per-state data: keys [lo, hi) share the state's path. */
struct acbuild {
	uint32_t lo, hi, depth, parent;
};

static int ackey_cmp(const void *a, const void *b)
{
	const struct ackey *x = a, *y = b;
	uint32_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, m);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static int ac_grow(struct acm *a, struct acbuild **b, uint32_t *cap, uint32_t want)
{
	uint32_t c = *cap;
	void *p;

	if (want <= c)
		return 0;
	while (c < want)
		c *= 2;
	p = realloc(a->st, ((size_t)c + 1) * sizeof(*a->st));
	if (!p)
		return -1;
	a->st = p;
	p = realloc(a->edge, c);
	if (!p)
		return -1;
	a->edge = p;
	p = realloc(*b, (size_t)c * sizeof(**b));
	if (!p)
		return -1;
	*b = p;
	*cap = c;
	return 0;
}

/* The child of s on byte c, or 0. */
static inline uint32_t ac_child(const struct acm *a, uint32_t s, unsigned char c)
{
	uint32_t lo = a->st[s].first_child, end = lo + a->st[s].nchild, hi = end;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (a->edge[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < end && a->edge[lo] == c ? lo : 0;
}

/* Phase 1: the trie of the sorted keys, breadth first. */
static int ac_trie(struct acm *a, const struct ackey *k, uint32_t n, struct acbuild **bp,
		   uint32_t *cap)
{
	uint32_t s;

	a->nstates = 1;
	(*bp)[0] = (struct acbuild){ .lo = 0, .hi = n, .depth = 0, .parent = 0 };
	a->edge[0] = 0;
	for (s = 0; s < a->nstates; s++) {
		struct acbuild b = (*bp)[s];
		uint32_t i = b.lo, j, nch = 0;

		a->st[s].out = DS_NONE;
		a->st[s].fail = 0;
		a->st[s].first_child = a->nstates;
		a->st[s].nchild = 0;
		/* The keys ending here sort first, lowest index first. */
		if (i < b.hi && k[i].len == b.depth) {
			a->st[s].out = k[i].idx;
			while (i < b.hi && k[i].len == b.depth)
				i++;
		}
		for (j = i; j < b.hi; nch++) {
			unsigned char c = k[j].p[b.depth];

			while (j < b.hi && k[j].p[b.depth] == c)
				j++;
		}
		if (ac_grow(a, bp, cap, a->nstates + nch))
			return -1;
		while (i < b.hi) {
			unsigned char c = k[i].p[b.depth];
			struct acbuild *nb = &(*bp)[a->nstates];

			nb->lo = i;
			while (i < b.hi && k[i].p[b.depth] == c)
				i++;
			nb->hi = i;
			nb->depth = b.depth + 1;
			nb->parent = s;
			a->edge[a->nstates++] = c;
			a->st[s].nchild++;
		}
	}
	a->st[a->nstates] = (struct acm_state){ a->nstates, 0, 0, DS_NONE };
	return 0;
}

/* Phase 2: failure links and outputs, breadth first (fail[s] < s). */
static void ac_links(struct acm *a, const struct acbuild *b)
{
	uint32_t s, c;

	for (s = 1; s < a->nstates; s++) {
		uint32_t p = b[s].parent, f = 0, ch;

		if (p) {
			for (f = a->st[p].fail;; f = a->st[f].fail) {
				ch = ac_child(a, f, a->edge[s]);
				if (ch) {
					f = ch;
					break;
				}
				if (!f)
					break;
			}
		}
		a->st[s].fail = f;
		if (a->st[f].out < a->st[s].out)
			a->st[s].out = a->st[f].out;
	}
	for (c = 0; c < 256; c++)
		a->root_next[c] = ac_child(a, 0, (unsigned char)c);
}

/*
 * Phase 3: renumber depth first (see the top). Each state's children keep
 * one consecutive block in edge order; a state's block is allocated when
 * the state is popped, and its first child is popped next.
 */
static int ac_renumber(struct acm *a)
{
	uint32_t *nid = malloc((size_t)a->nstates * sizeof(*nid));
	uint32_t *stack = malloc((size_t)a->nstates * sizeof(*stack));
	struct acm_state *st = malloc(((size_t)a->nstates + 1) * sizeof(*st));
	unsigned char *edge = malloc(a->nstates);
	uint32_t next = 1, top = 0, s, i;
	int ret = -1;

	if (!nid || !stack || !st || !edge)
		goto out;
	nid[0] = 0;
	stack[top++] = 0;
	while (top) {
		const struct acm_state *o = &a->st[stack[--top]];

		for (i = 0; i < o->nchild; i++)
			nid[o->first_child + i] = next++;
		for (i = o->nchild; i-- > 0;)
			stack[top++] = o->first_child + i;
	}
	for (s = 0; s < a->nstates; s++) {
		const struct acm_state *o = &a->st[s];

		st[nid[s]] = (struct acm_state){
			.first_child = o->nchild ? nid[o->first_child] : 0,
			.nchild = o->nchild,
			.fail = nid[o->fail],
			.out = o->out,
		};
		edge[nid[s]] = a->edge[s];
	}
	st[a->nstates] = a->st[a->nstates];
	free(a->st);
	free(a->edge);
	a->st = st;
	a->edge = edge;
	st = NULL;
	edge = NULL;
	ret = 0;
out:
	free(nid);
	free(stack);
	free(st);
	free(edge);
	return ret;
}

/* Accepts the set's entries; builds the automaton (folded keys if nocase). */
static struct acm *acm_build(const struct ds_entry *e, uint32_t n, bool nocase)
{
	struct acm *a = calloc(1, sizeof(*a));
	struct ackey *k = malloc((n ? n : 1) * sizeof(*k));
	struct acbuild *b = NULL;
	unsigned char *folded = NULL;
	uint32_t cap = 64, i;
	size_t total = 0;

	if (!a || !k)
		goto fail;
	a->nocase = nocase;
	a->min_index = n ? 0 : DS_NONE;
	for (i = 0; i < n; i++)
		total += e[i].key_len;
	if (total >= UINT32_MAX - 2)
		goto fail;
	if (nocase) {
		folded = malloc(total ? total : 1);
		if (!folded)
			goto fail;
	}
	total = 0;
	for (i = 0; i < n; i++) {
		k[i].p = (const unsigned char *)e[i].key;
		if (nocase) {
			ds_fold_copy((char *)folded + total, e[i].key, e[i].key_len);
			k[i].p = folded + total;
		}
		k[i].len = e[i].key_len;
		k[i].idx = i;
		total += e[i].key_len;
	}
	qsort(k, n, sizeof(*k), ackey_cmp);
	a->st = malloc(((size_t)cap + 1) * sizeof(*a->st));
	a->edge = malloc(cap);
	b = malloc(cap * sizeof(*b));
	if (!a->st || !a->edge || !b || ac_trie(a, k, n, &b, &cap))
		goto fail;
	ac_links(a, b);
	/* Also gives back the slack of the doubling. */
	if (ac_renumber(a))
		goto fail;
	for (i = 0; i < 256; i++)
		a->root_next[i] = ac_child(a, 0, (unsigned char)i);
	free(b);
	free(k);
	free(folded);
	return a;
fail:
	free(b);
	free(k);
	free(folded);
	acm_free(a);
	return NULL;
}

static void acm_free(struct acm *a)
{
	if (!a)
		return;
	free(a->st);
	free(a->edge);
	free(a);
}

/* Accepts any bytes; returns the lowest-index key occurring in str. */
static __attribute__((noinline)) uint32_t acm_find(const struct acm *a, const char *str,
						   size_t len)
{
	const unsigned char *p = (const unsigned char *)str;
	uint32_t best = a->st[0].out, s = 0;
	size_t i;

	if (best == a->min_index)
		return best;
	for (i = 0; i < len; i++) {
		unsigned char c = a->nocase ? ds_fold(p[i]) : p[i];

		for (;;) {
			uint32_t ch;

			if (!s) {
				s = a->root_next[c];
				break;
			}
			ch = ac_child(a, s, c);
			if (ch) {
				s = ch;
				break;
			}
			s = a->st[s].fail;
		}
		if (a->st[s].out < best) {
			best = a->st[s].out;
			if (best == a->min_index)
				break;
		}
	}
	return best;
}

static size_t acm_bytes(const struct acm *a)
{
	return sizeof(*a) + ((size_t)a->nstates + 1) * sizeof(*a->st) + a->nstates;
}

static cs_scan_fn cs_scan_for(int ci, bool nc);

/* Free the hashed classes (after a fallback, or at the end). */
static void cs_free_classes(struct ds_ac *a)
{
	int ci;

	for (ci = 0; ci < CS_NCLS; ci++) {
		free(a->cls[ci].tag);
		free(a->cls[ci].rec);
		free(a->cls[ci].ext);
		a->cls[ci] = (struct cs_cls){ 0 };
	}
}

/* Accepts the set's entries; builds the classes (folded keys if nocase). */
struct ds_ac *ds_ac_build(const struct ds_entry *e, uint32_t n, bool nocase)
{
	struct ds_ac *a = calloc(1, sizeof(*a));
	const unsigned char **kp = malloc((n ? n : 1) * sizeof(*kp));
	unsigned char *folded = NULL;
	bool shared = false;
	size_t total = 0;
	uint32_t i;
	int ci, r;

	if (!a || !kp)
		goto fail;
	a->nocase = nocase;
	a->empty = DS_NONE;
	a->min_index = n ? 0 : DS_NONE;
	for (i = 0; i < 256; i++)
		a->one[i] = DS_NONE;
	for (i = 0; i < n; i++)
		total += e[i].key_len;
	if (nocase) {
		folded = malloc(total ? total : 1);
		if (!folded)
			goto fail;
	}
	total = 0;
	for (i = 0; i < n; i++) {
		kp[i] = (const unsigned char *)e[i].key;
		if (nocase) {
			ds_fold_copy((char *)folded + total, e[i].key, e[i].key_len);
			kp[i] = folded + total;
			total += e[i].key_len;
		}
		if (!e[i].key_len && a->empty == DS_NONE)
			a->empty = i;
		if (e[i].key_len == 1 && a->one[kp[i][0]] == DS_NONE) {
			a->one[kp[i][0]] = i;
			a->has_one = true;
		}
	}
	for (ci = 0; ci < CS_NCLS && !shared; ci++) {
		r = cs_build_class(a, kp, e, n, ci);
		if (r < 0)
			goto fail;
		shared = r > 0;
	}
	if (shared) {
		cs_free_classes(a);
		a->slow = acm_build(e, n, nocase);
		if (!a->slow)
			goto fail;
	}
	for (ci = CS_NCLS - 1; ci >= 0 && !a->slow; ci--) {
		if (!a->cls[ci].nkeys)
			continue;
		a->cls[ci].scan = cs_scan_for(ci, nocase);
		a->cls[ci].minlen = cs_shape[ci].minlen;
		a->act[a->nact++] = (uint8_t)ci;
	}
	free(kp);
	free(folded);
	return a;
fail:
	free(kp);
	free(folded);
	ds_ac_free(a);
	return NULL;
}

void ds_ac_free(struct ds_ac *a)
{
	if (!a)
		return;
	acm_free(a->slow);
	cs_free_classes(a);
	free(a);
}

/* --- match ---------------------------------------------------------------- */

/* Does key (folded if nc) equal the len bytes at p? */
static inline __attribute__((always_inline)) bool cs_equal(const unsigned char *p,
							   const unsigned char *key, uint32_t len,
							   bool nc)
{
	uint32_t k = 0;
	uint64_t x, y;

	if (len >= 8) {
		/* Whole words, the last one overlapping the one before. */
		for (; k + 8 < len; k += 8) {
			memcpy(&x, p + k, 8);
			memcpy(&y, key + k, 8);
			if ((nc ? ds_fold8(x) : x) != y)
				return false;
		}
		memcpy(&x, p + len - 8, 8);
		memcpy(&y, key + len - 8, 8);
		return (nc ? ds_fold8(x) : x) == y;
	}
	for (; k < len; k++)
		if ((nc ? ds_fold(p[k]) : p[k]) != key[k])
			return false;
	return true;
}

/*
 * Verify the record in slot sl against the window at i; returns its
 * index if its key occurs there and is below best, else best.
 */
static inline __attribute__((always_inline)) uint32_t cs_verify(const struct cs_cls *c,
								 uint32_t sl,
								 const unsigned char *p,
								 size_t len, size_t i, bool nc,
								 uint32_t best)
{
	const struct cs_rec *r = &c->rec[sl];
	const unsigned char *key = r->key;

	/* Also rejects the rare 16-bit tag collision on length or bytes. */
	if (r->idx >= best || i < r->o || r->len > len - (i - r->o))
		return best;
	/* Very likely the answer: the caller reads the entry next. */
	__builtin_prefetch(&c->ent[r->idx], 0, 3);
	if (r->len > CS_INL)
		memcpy(&key, r->key, sizeof(key));
	return cs_equal(p + i - r->o, key, r->len, nc) ? r->idx : best;
}

/* A tag hit waiting for its record line to arrive. */
struct cs_pend {
	size_t i;
	uint32_t sl;
};

#define CS_NPEND 16

/*
 * Verify the pending hits; returns the lowest index found or best. Inline
 * in the scan: a call would save and restore its registers once more on
 * the path every hit takes.
 */
static inline __attribute__((always_inline)) uint32_t cs_flush(const struct cs_cls *c,
						   const struct cs_pend *pd, uint32_t np,
						   const unsigned char *p, size_t len, bool nc,
						   uint32_t best)
{
	uint32_t k;

	for (k = 0; k < np; k++)
		best = cs_verify(c, pd[k].sl, p, len, pd[k].i, nc, best);
	return best;
}

/* Queue (and prefetch the record of) every lane set in m (see cs_lanes). */
static inline __attribute__((always_inline)) uint32_t cs_queue(const struct cs_cls *c,
								struct cs_pend *pd, uint32_t np,
								size_t i, uint32_t b1, uint32_t b2,
								uint32_t m)
{
	for (m &= 0x5555; m; m &= m - 1) {
		const uint32_t l = (uint32_t)__builtin_ctz(m) >> 1;
		const uint32_t sl = (l < CS_WAYS ? b1 : b2) * CS_WAYS + l % CS_WAYS;

		__builtin_prefetch(&c->rec[sl], 0, 3);
		pd[np++] = (struct cs_pend){ i, sl };
	}
	return np;
}

/*
 * Probe every s-th w-byte window of p through class c: hash, then look
 * for its tag in its two buckets (two independent L1/L2 reads). A tag hit
 * only prefetches the one record line it names and is verified later
 * (after the scan, or when the queue is nearly full), so record misses
 * overlap the remaining probes and each other instead of stalling the
 * scan one by one; the verify then has no data-dependent search left.
 */
static inline __attribute__((always_inline)) uint32_t
cs_scan(const struct cs_cls *c, const unsigned char *p, size_t len, uint32_t best, uint32_t stop,
	uint32_t w, uint32_t s, bool nc)
{
	const uint64_t *tag = c->tag;
	const uint32_t mask = c->mask;
	struct cs_pend pd[CS_NPEND];
	uint32_t np = 0;
	size_t i;

	for (i = 0; i + w <= len; i += s) {
		uint64_t v = cs_load(p + i, w);
		uint64_t h;
		uint32_t b1, b2, m;

		if (nc)
			v |= CS_CASEBITS;
		h = cs_hash(v);
		b1 = cs_b1(h, mask);
		b2 = cs_b2(h, b1, mask);
		m = cs_lanes(tag, h, b1, b2);
		if (!m)
			continue;
		np = cs_queue(c, pd, np, i, b1, b2, m);
		if (np <= CS_NPEND - 2 * CS_WAYS)
			continue;
		best = cs_flush(c, pd, np, p, len, nc, best);
		np = 0;
		if (best <= stop)
			return best;
	}
	return np ? cs_flush(c, pd, np, p, len, nc, best) : best;
}

/* One scan instance per class shape and case mode. */
#define CS_SCANNER(k, nc)                                                                   \
	static uint32_t cs_scan_##k##_##nc(const struct cs_cls *c, const unsigned char *p,  \
					   size_t len, uint32_t best, uint32_t stop)        \
	{                                                                                   \
		return cs_scan(c, p, len, best, stop, cs_shape[k].w, cs_shape[k].s, nc);   \
	}
CS_SCANNER(0, false)
CS_SCANNER(0, true)
CS_SCANNER(1, false)
CS_SCANNER(1, true)
CS_SCANNER(2, false)
CS_SCANNER(2, true)
CS_SCANNER(3, false)
CS_SCANNER(3, true)
#undef CS_SCANNER

static cs_scan_fn cs_scan_for(int ci, bool nc)
{
	static const cs_scan_fn fn[CS_NCLS][2] = {
		{ cs_scan_0_false, cs_scan_0_true }, { cs_scan_1_false, cs_scan_1_true },
		{ cs_scan_2_false, cs_scan_2_true }, { cs_scan_3_false, cs_scan_3_true },
	};

	return fn[ci][nc];
}

/* Length-1 keys: the lowest index over the input's bytes. */
static uint32_t cs_scan_one(const struct ds_ac *a, const unsigned char *p, size_t len,
			    uint32_t best, uint32_t stop)
{
	size_t i;

	for (i = 0; i < len && best > stop; i++) {
		uint32_t k = a->one[a->nocase ? ds_fold(p[i]) : p[i]];

		if (k < best)
			best = k;
	}
	return best;
}

/* Every active class, then the length-1 keys; best so far in, best out. */
static __attribute__((noinline)) uint32_t cs_find_all(const struct ds_ac *a,
						      const unsigned char *p, size_t len,
						      uint32_t best)
{
	uint32_t k;

	/* Longest windows first: they are the most selective. */
	for (k = 0; k < a->nact; k++) {
		const struct cs_cls *c = &a->cls[a->act[k]];

		/* Too short for every key of the class: nothing to probe. */
		if (len < c->minlen)
			continue;
		best = c->scan(c, p, len, best, a->min_index);
		if (best <= a->min_index)
			return best;
	}
	if (a->has_one)
		best = cs_scan_one(a, p, len, best, a->min_index);
	return best;
}

/* Accepts any bytes; returns the lowest-index key occurring in str. */
uint32_t ds_ac_find(const struct ds_ac *a, const char *str, size_t len)
{
	const unsigned char *p = (const unsigned char *)str;
	const struct cs_cls *c = &a->cls[a->act[0]];

	if (a->slow)
		return acm_find(a->slow, str, len);
	if (a->empty <= a->min_index)
		return a->empty;
	/* The common shape, keys of one class: a tail call into its scan. */
	if (a->nact == 1 && !a->has_one)
		return len < c->minlen ? a->empty : c->scan(c, p, len, a->empty, a->min_index);
	return cs_find_all(a, p, len, a->empty);
}

size_t ds_ac_bytes(const struct ds_ac *a)
{
	size_t b = sizeof(*a) + (a->slow ? acm_bytes(a->slow) : 0);
	int ci;

	for (ci = 0; ci < CS_NCLS; ci++)
		if (a->cls[ci].nkeys)
			b += ((size_t)a->cls[ci].mask + 1) *
				     (sizeof(uint64_t) + CS_WAYS * sizeof(struct cs_rec)) +
			     a->cls[ci].extlen;
	return b;
}
