// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_ac.c - CONTAINS: a sampled-window filter, then verify.
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
 * Probe: load the w-byte window (folded with ds_fold8 for nocase), hash it
 * (two multiplies), and test a 5-bit fingerprint against one 16-byte block
 * of a block array sized at 3-6 windows per block, ~4 bytes per key, so it
 * stays in L2 at 100,000 keys. Probes at different positions do not depend
 * on each other, so the CPU overlaps them.
 *
 * Verify: a block also holds the offset of its bucket: headers (32-bit
 * hash check, record offset), then records (index, window offset o,
 * length, and the key's bytes inline). On a fingerprint hit the scan only
 * prefetches the whole bucket (one line or a few adjacent ones, fetched in
 * parallel) and goes on probing; pending hits are verified together at
 * the end (or when CS_NPEND wait): check, then a byte compare of the key
 * against the input at i - o. A true hit thus costs one round trip to
 * memory instead of one per byte. The records are copied s times for the
 * s windows (memory for the one-miss verify); buckets and blocks are
 * huge-page backed so that miss is not also a page walk.
 *
 * Lowest index: records in a bucket are in index order, so a bucket scan
 * stops at the first checked record whose index is not below the best so
 * far; the whole input is scanned (a later position may hold a lower-index
 * key) unless the best is already the set's lowest index. The empty key
 * occurs everywhere: it is the starting best.
 *
 * Limit: the verify work per probe grows with the number of keys whose
 * chosen windows are all the same (e.g. thousands of keys made of one
 * repeated byte); real key sets have rare windows to choose.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dataset_internal.h"

#define CS_NCLS	  4	/* hashed classes, see cs_shape */
#define CS_MULT	  0x9e3779b97f4a7c15ULL
#define CS_MULT2  0xc2b2ae3d27d4eb4fULL
#define CS_MULT3  0xff51afd7ed558ccdULL
#define CS_FPBITS 28	/* top hash bits spent on the fingerprint */

/*
 * The hashed classes: window w, stride s, key lengths [minlen, maxlen].
 * A class with stride s probes only every s-th input position, so each of
 * its keys is entered with s consecutive windows (any occurrence puts one
 * of them on a probed position); that needs len >= w + s - 1 and costs s
 * bucket entries per key, and it cuts the probes - the per-byte cost - by
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
 * One block (four to a cache line): a 96-bit fingerprint of the windows
 * hashed here (3 bits in bits, 2 in bits2 per window) and the offset of
 * its bucket; the next block's off is where the bucket ends.
 */
struct cs_blk {
	uint64_t bits;
	uint32_t bits2;
	uint32_t off;
};

/*
 * A bucket is its headers, then their records (index order). The first
 * header's rec is where the headers end. A record is struct cs_rec, then
 * the key's bytes (folded if nocase) padded to 4.
 */
struct cs_hdr {
	uint32_t hchk;
	uint32_t rec;	/* record offset in data */
};

struct cs_rec {
	uint32_t idx;
	uint32_t o;	/* window offset inside the key */
	uint32_t len;
};

struct cs_cls {
	const struct ds_entry *ent;	/* the set's entries: prefetch only */
	uint32_t bsh;		/* block index = (h >> bsh) & mask */
	uint32_t mask;
	uint32_t nkeys;
	uint32_t maxb;		/* most headers in one bucket */
	struct cs_blk *blk;	/* mask + 2: the last holds the end offset */
	unsigned char *data;
	size_t dlen;
};

struct acm;

struct ds_ac {
	struct acm *slow;	/* fallback automaton, see cs_too_shared() */
	bool nocase;
	bool has_one;		/* any key of length 1 */
	uint32_t empty;		/* lowest index of an empty key, or DS_NONE */
	uint32_t min_index;	/* lowest index of any key: stop when found */
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
 * The scan hash: two multiplies, so that every bit used (the fingerprint
 * and block index, the top ~45) depends on every byte of the window; one
 * multiply left the lower of those bits poorly mixed on ASCII text and the
 * measured false-positive rate well above the fingerprint's design.
 */
static inline uint64_t cs_hash(uint64_t v)
{
	const uint64_t h = v * CS_MULT;

	return (h ^ (h >> 32)) * CS_MULT2;
}

/*
 * The fingerprint from the top 28 hash bits (constant shifts): 3 bits of
 * the 64-bit word, 2 of the 32-bit one. A block holds 3-6 windows, ~16
 * bits each, which keeps false positives (each a cold bucket read) near
 * 0.2% per probe.
 */
static inline uint64_t cs_fp(uint64_t h)
{
	return 1ull << (h >> 58) | 1ull << ((h >> 52) & 63) | 1ull << ((h >> 46) & 63);
}

static inline uint32_t cs_fp2(uint64_t h)
{
	return 1u << ((h >> 41) & 31) | 1u << ((h >> 36) & 31);
}

/* An independent 32-bit check, computed only on a fingerprint hit. */
static inline uint32_t cs_hchk(uint64_t v)
{
	return (uint32_t)(((v ^ (v >> 29)) * CS_MULT3) >> 32);
}

static inline size_t cs_rec_size(uint32_t len)
{
	return sizeof(struct cs_rec) + (((size_t)len + 3) & ~(size_t)3);
}

/* --- build ---------------------------------------------------------------- */

#define CS_HUGE (2u << 20)

/*
 * Allocate a structure the scan reads at random. From 1 MiB up it is
 * 2 MiB aligned and marked for transparent huge pages: at 100,000 keys
 * the buckets span ~20 MB, ~5,000 4 KiB pages, more than the TLB holds,
 * and a page walk would add a second dependent miss to every verify.
 * Freed with free(); zeroed.
 */
static void *cs_alloc(size_t size)
{
	void *p;

	if (size < (CS_HUGE >> 1))
		return calloc(1, size ? size : 1);
	size = (size + CS_HUGE - 1) & ~((size_t)CS_HUGE - 1);
	p = aligned_alloc(CS_HUGE, size);
	if (!p)
		return NULL;
	madvise(p, size, MADV_HUGEPAGE);
	memset(p, 0, size);
	return p;
}

/* One bucket entry to be, before layout. */
struct cs_pick {
	uint32_t idx;
	uint32_t o;
	uint32_t blk;
	uint32_t hchk;
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
				       uint32_t n, int ci, uint32_t *cshift)
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
			unsigned char *k = &cnt[cs_hash(cs_load(kp[i] + o, w)) >> *cshift];

			if (*k < 255)
				(*k)++;
		}
	}
	return cnt;
}

/*
 * Choose each key's s consecutive windows: the run whose summed counts are
 * lowest, i.e. the fragment the fewest other keys share, so that common
 * fragments ("/api/v1/") do not make every input that holds them verify.
 */
static int cs_pick_windows(const struct cs_cls *c, const unsigned char **kp,
			   const struct ds_entry *e, uint32_t n, int ci, struct cs_pick *pk)
{
	const uint32_t w = cs_shape[ci].w, s = cs_shape[ci].s;
	uint32_t cshift, i, o, j, np = 0;
	unsigned char *cnt = cs_count_windows(kp, e, n, ci, &cshift);

	if (!cnt)
		return -1;
	for (i = 0; i < n; i++) {
		uint32_t ring[8] = { 0 }, sum = 0, best_o = 0, best_sum = UINT32_MAX;

		if (e[i].key_len < 2 || cs_class_of(e[i].key_len) != ci)
			continue;
		for (o = 0; o + w <= e[i].key_len; o++) {
			uint32_t k = cnt[cs_hash(cs_load(kp[i] + o, w)) >> cshift];

			sum += k - ring[o % s];
			ring[o % s] = k;
			if (o + 1 >= s && sum < best_sum) {
				best_sum = sum;
				best_o = o + 1 - s;
			}
		}
		for (j = 0; j < s; j++) {
			uint64_t v = cs_load(kp[i] + best_o + j, w);

			pk[np++] = (struct cs_pick){
				.idx = i,
				.o = best_o + j,
				.blk = (uint32_t)(cs_hash(v) >> c->bsh) & c->mask,
				.hchk = cs_hchk(v),
			};
		}
	}
	free(cnt);
	return 0;
}

/* Lay the picked entries out bucket by bucket (index order kept). */
static int cs_layout(struct cs_cls *c, const unsigned char **kp, const struct ds_entry *e,
		     const struct cs_pick *pk, size_t np, uint32_t w)
{
	const size_t nblk = (size_t)c->mask + 1;
	size_t *hcur = calloc(nblk + 1, sizeof(*hcur));
	size_t *rcur = calloc(nblk + 1, sizeof(*rcur));
	size_t total = 0, b, i;
	int ret = -1;

	if (!hcur || !rcur)
		goto out;
	/* Sizes: headers, then records, per bucket. */
	for (i = 0; i < np; i++) {
		hcur[pk[i].blk] += sizeof(struct cs_hdr);
		rcur[pk[i].blk] += cs_rec_size(e[pk[i].idx].key_len);
	}
	for (b = 0; b < nblk; b++) {
		size_t hsz = hcur[b];

		if (hsz / sizeof(struct cs_hdr) > c->maxb)
			c->maxb = (uint32_t)(hsz / sizeof(struct cs_hdr));
		c->blk[b].off = (uint32_t)total;
		hcur[b] = total;
		total += hsz;
		hsz = rcur[b];
		rcur[b] = total;
		total += hsz;
		if (total >= UINT32_MAX)
			goto out;
	}
	c->blk[nblk].off = (uint32_t)total;
	c->data = cs_alloc(total);
	if (!c->data)
		goto out;
	c->dlen = total;
	for (i = 0; i < np; i++) {
		const struct cs_pick *p = &pk[i];
		const uint32_t len = e[p->idx].key_len;
		const uint64_t hv = cs_hash(cs_load(kp[p->idx] + p->o, w));
		struct cs_hdr h = { p->hchk, (uint32_t)rcur[p->blk] };
		struct cs_rec r = { p->idx, p->o, len };
		unsigned char *d = c->data + rcur[p->blk];

		memcpy(c->data + hcur[p->blk], &h, sizeof(h));
		memcpy(d, &r, sizeof(r));
		memcpy(d + sizeof(r), kp[p->idx], len);
		memset(d + sizeof(r) + len, 0, cs_rec_size(len) - sizeof(r) - len);
		hcur[p->blk] += sizeof(h);
		rcur[p->blk] += cs_rec_size(len);
		c->blk[p->blk].bits |= cs_fp(hv);
		c->blk[p->blk].bits2 |= cs_fp2(hv);
	}
	ret = 0;
out:
	free(hcur);
	free(rcur);
	return ret;
}

/* Build hashed class ci from the keys that belong to it. */
static int cs_build_class(struct ds_ac *a, const unsigned char **kp, const struct ds_entry *e,
			  uint32_t n, int ci)
{
	struct cs_cls *c = &a->cls[ci];
	struct cs_pick *pk = NULL;
	size_t np;
	uint32_t i, lg;
	int ret = -1;

	for (i = 0; i < n; i++)
		if (e[i].key_len >= 2 && cs_class_of(e[i].key_len) == ci)
			c->nkeys++;
	if (!c->nkeys)
		return 0;
	c->ent = e;
	np = (size_t)c->nkeys * cs_shape[ci].s;
	/*
	 * Two to four windows per block without a stride, four to eight with
	 * one (whose probes are s times fewer): 3-5 bytes of blocks per key,
	 * so the blocks stay in L2 at 100,000 keys.
	 */
	lg = cs_log2_ceil(np);
	lg = lg > 3 ? lg - (cs_shape[ci].s > 1 ? 3 : 2) : 1;
	c->mask = (1u << lg) - 1;
	c->bsh = 64 - CS_FPBITS - lg;
	c->blk = cs_alloc(((size_t)c->mask + 2) * sizeof(*c->blk));
	pk = malloc(np * sizeof(*pk));
	if (!c->blk || !pk)
		goto out;
	if (cs_pick_windows(c, kp, e, n, ci, pk))
		goto out;
	ret = cs_layout(c, kp, e, pk, np, cs_shape[ci].w);
out:
	free(pk);
	return ret;
}

/* --- fallback: Aho-Corasick ------------------------------------------------ */

/*
 * The verify work of a probe grows with its bucket, and a bucket only
 * grows past a few dozen entries when many keys have nothing but common
 * windows (thousands of keys made of one repeated byte, or many copies of
 * one key). An input made of that common fragment would then verify every
 * one of them at every position, so such sets get the previous engine, an
 * Aho-Corasick automaton, whose scan is linear whatever the keys.
 */
#define CS_MAXBUCKET 64

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
static uint32_t acm_find(const struct acm *a, const char *str, size_t len)
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

/* True when some class has a bucket too large for a bounded verify. */
static bool cs_too_shared(const struct ds_ac *a)
{
	int ci;

	for (ci = 0; ci < CS_NCLS; ci++)
		if (a->cls[ci].maxb > CS_MAXBUCKET)
			return true;
	return false;
}

/* Accepts the set's entries; builds the classes (folded keys if nocase). */
struct ds_ac *ds_ac_build(const struct ds_entry *e, uint32_t n, bool nocase)
{
	struct ds_ac *a = calloc(1, sizeof(*a));
	const unsigned char **kp = malloc((n ? n : 1) * sizeof(*kp));
	unsigned char *folded = NULL;
	size_t total = 0;
	uint32_t i;
	int ci;

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
	for (ci = 0; ci < CS_NCLS; ci++)
		if (cs_build_class(a, kp, e, n, ci))
			goto fail;
	if (cs_too_shared(a)) {
		a->slow = acm_build(e, n, nocase);
		if (!a->slow)
			goto fail;
		for (ci = 0; ci < CS_NCLS; ci++) {
			free(a->cls[ci].blk);
			free(a->cls[ci].data);
			a->cls[ci] = (struct cs_cls){ 0 };
		}
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
	int ci;

	if (!a)
		return;
	acm_free(a->slow);
	for (ci = 0; ci < CS_NCLS; ci++) {
		free(a->cls[ci].blk);
		free(a->cls[ci].data);
	}
	free(a);
}

/* --- match ---------------------------------------------------------------- */

/* Does key (folded if nc) equal the len bytes at p? */
static inline __attribute__((always_inline)) bool cs_equal(const unsigned char *p,
							   const unsigned char *key, uint32_t len,
							   bool nc)
{
	uint32_t k = 0;

	for (; k + 8 <= len; k += 8) {
		uint64_t x, y;

		memcpy(&x, p + k, 8);
		memcpy(&y, key + k, 8);
		if ((nc ? ds_fold8(x) : x) != y)
			return false;
	}
	for (; k < len; k++)
		if ((nc ? ds_fold(p[k]) : p[k]) != key[k])
			return false;
	return true;
}

/*
 * Verify the bucket of block b against the window at i (value v); returns
 * the lower of best and the lowest-index entry that occurs there.
 */
static __attribute__((noinline)) uint32_t cs_bucket(const struct cs_cls *c, const struct cs_blk *b,
						    uint64_t v, const unsigned char *p,
						    size_t len, size_t i, bool nc, uint32_t best)
{
	const unsigned char *d = c->data + b[0].off, *hend;
	const uint32_t hc = cs_hchk(v);
	struct cs_hdr h;

	if (b[0].off == b[1].off)
		return best;
	memcpy(&h, d, sizeof(h));
	hend = c->data + h.rec;
	for (; d < hend; d += sizeof(h)) {
		const unsigned char *key;
		struct cs_rec r;

		memcpy(&h, d, sizeof(h));
		if (h.hchk != hc)
			continue;
		memcpy(&r, c->data + h.rec, sizeof(r));
		/* Records are in index order: none further can be lower. */
		if (r.idx >= best)
			break;
		if (i < r.o || r.len > len - (i - r.o))
			continue;
		/*
		 * Very likely the answer: start loading the entry the caller
		 * will read for the hit's key and value while we verify.
		 */
		__builtin_prefetch(&c->ent[r.idx], 0, 3);
		key = c->data + h.rec + sizeof(r);
		if (cs_equal(p + i - r.o, key, r.len, nc))
			return r.idx;
	}
	return best;
}

/* A fingerprint hit waiting for its bucket to arrive. */
struct cs_pend {
	size_t i;
	uint64_t v;
	uint32_t b;
};

#define CS_NPEND  8
#define CS_PFLINES 6	/* bucket lines prefetched on a fingerprint hit */

/*
 * Start loading block b's bucket, all of it up to CS_PFLINES lines, so the
 * headers and the record they point to arrive together instead of one
 * after the other.
 */
static inline void cs_prefetch(const struct cs_cls *c, uint32_t b)
{
	const unsigned char *d = c->data + c->blk[b].off;
	const size_t n = c->blk[b + 1].off - c->blk[b].off;
	size_t k;

	for (k = 0; k < n && k < CS_PFLINES * 64; k += 64)
		__builtin_prefetch(d + k, 0, 3);
}

/* Verify the pending hits; returns the lowest index found or best. */
static __attribute__((noinline)) uint32_t cs_flush(const struct cs_cls *c,
						   const struct cs_pend *pd, uint32_t np,
						   const unsigned char *p, size_t len, bool nc,
						   uint32_t best)
{
	uint32_t k;

	for (k = 0; k < np; k++)
		best = cs_bucket(c, &c->blk[pd[k].b], pd[k].v, p, len, pd[k].i, nc, best);
	return best;
}

/*
 * Probe every s-th w-byte window of p through class c. A fingerprint hit
 * only prefetches its bucket and is verified later (after the scan, or
 * when CS_NPEND are waiting), so bucket misses overlap the remaining probes
 * and each other instead of stalling the scan one by one.
 */
static inline __attribute__((always_inline)) uint32_t
cs_scan(const struct cs_cls *c, const unsigned char *p, size_t len, uint32_t best, uint32_t stop,
	uint32_t w, uint32_t s, bool nc)
{
	const struct cs_blk *blk = c->blk;
	const uint32_t bsh = c->bsh, mask = c->mask;
	struct cs_pend pd[CS_NPEND];
	uint32_t np = 0;
	size_t i;

	for (i = 0; i + w <= len; i += s) {
		uint64_t v = cs_load(p + i, w);
		uint64_t h, m;
		uint32_t m2, b;

		if (nc)
			v = ds_fold8(v);
		h = cs_hash(v);
		m = cs_fp(h);
		m2 = cs_fp2(h);
		b = (uint32_t)(h >> bsh) & mask;
		if ((blk[b].bits & m) != m || (blk[b].bits2 & m2) != m2)
			continue;
		cs_prefetch(c, b);
		pd[np++] = (struct cs_pend){ i, v, b };
		if (np < CS_NPEND)
			continue;
		best = cs_flush(c, pd, np, p, len, nc, best);
		np = 0;
		if (best <= stop)
			return best;
	}
	return np ? cs_flush(c, pd, np, p, len, nc, best) : best;
}

/* Scan class ci: one instance per class shape and case mode. */
static uint32_t cs_scan_class(const struct ds_ac *a, int ci, const unsigned char *p, size_t len,
			      uint32_t best)
{
	const struct cs_cls *c = &a->cls[ci];
	const uint32_t stop = a->min_index;

#define CS_CASE(k)                                                                          \
	case k:                                                                             \
		return a->nocase ? cs_scan(c, p, len, best, stop, cs_shape[k].w,           \
					   cs_shape[k].s, true)                             \
				 : cs_scan(c, p, len, best, stop, cs_shape[k].w,           \
					   cs_shape[k].s, false)
	switch (ci) {
	CS_CASE(0);
	CS_CASE(1);
	CS_CASE(2);
	CS_CASE(3);
	default:
		return best;
	}
#undef CS_CASE
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

/* Accepts any bytes; returns the lowest-index key occurring in str. */
uint32_t ds_ac_find(const struct ds_ac *a, const char *str, size_t len)
{
	const unsigned char *p = (const unsigned char *)str;
	uint32_t best = a->empty;
	int ci;

	if (a->slow)
		return acm_find(a->slow, str, len);
	if (best <= a->min_index)
		return best;
	/* Longest windows first: they are the most selective. */
	for (ci = CS_NCLS - 1; ci >= 0; ci--) {
		if (!a->cls[ci].nkeys)
			continue;
		best = cs_scan_class(a, ci, p, len, best);
		if (best <= a->min_index)
			return best;
	}
	if (a->has_one)
		best = cs_scan_one(a, p, len, best, a->min_index);
	return best;
}

size_t ds_ac_bytes(const struct ds_ac *a)
{
	size_t b = sizeof(*a) + (a->slow ? acm_bytes(a->slow) : 0);
	int ci;

	for (ci = 0; ci < CS_NCLS; ci++)
		if (a->cls[ci].nkeys)
			b += ((size_t)a->cls[ci].mask + 2) * sizeof(struct cs_blk) +
			     a->cls[ci].dlen;
	return b;
}
