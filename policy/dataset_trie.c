// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_trie.c - BEGINS_WITH / ENDS_WITH: a path-compressed (radix) trie
 * whose cold lower part is entered by one hashed jump.
 *
 * The trie is built from the sorted keys (folded for the case-insensitive
 * trie, reversed for ENDS_WITH) breadth first, so the children of a node
 * are consecutive node numbers sorted by their first byte: a node needs
 * only its first child and a child count. Each node has a label (a run of
 * bytes shared by all keys below it) and the entry of the key ending there.
 * Node records are 20 bytes in one array; each node's label bytes, its
 * children's edge bytes and (see below) their jump lengths sit together in
 * one blob, so a step reads the record and one run of blob bytes.
 *
 * Why the jump: at 100,000 keys the top of the trie (nodes with many keys
 * below them) is shared by every lookup and stays in cache, but each level
 * below it holds tens of thousands of nodes, and walking them costs one
 * cache miss per level, each waiting for the one before (the address of a
 * child is in its parent). ENDS_WITH is the worst case: reversed keys start
 * with a random numeric id, so the trie fans out at once.
 *
 * So the walk does not step into a child c whose subtree is small (at
 * most JUMP_SUBTREE keys), or bigger but splitting into small targets (see
 * trie_jump_pays: with these keys the root's children often qualify, so a
 * lookup jumps after one or two cached nodes). Let P be the length of the
 * shortest key in c's subtree (c's own key included): every key below c is
 * at least P long, so none ends between c's parent and depth P, and all
 * that matters is which trie position the input's first P bytes reach.
 * The parent stores P next to c's edge byte; the lookup hashes the input's
 * first P bytes (transformed on the fly, 8 bytes per step) to a jump
 * record: one 64-byte line holding P, the path from the root to the end of
 * the label of the node at depth P (inline up to 48 bytes), that node's
 * entry and number. The input is confirmed byte for byte against that
 * path, so the answer stays exact. When the target node has children the
 * walk resumes there, and its children can jump again. Tries under
 * JUMP_MIN_KEYS keys stay in cache anyway and are walked without jumps.
 *
 * Records sit in an open-addressed table (linear probing, at most 2/3
 * full), and a separate array holds one tag byte (8 bits of the hash) per
 * slot. The record's address therefore follows from the hash alone: the
 * lookup starts fetching the home record while it compares 16 tags at once
 * (SSE2) up to the first empty slot; a tag match names the slot to check.
 * The tags, 1.5 bytes per record, stay in L2, so most misses end there, and
 * a hit waits for one cold line, not a bucket line and then a record line.
 * That line is usually on a 2 MiB page (the record table asks for huge
 * pages when it is big): every hit lands on a random record, and with 4 KiB
 * pages each would also pay a page walk. (The previous version kept the
 * records sorted per bucket behind a 56-tag bucket line: two dependent
 * lines per hit and a longer, branchy tag scan.)
 *
 * The root's step (the most frequent one: many misses end there) is one
 * load from a 256-entry table giving the child or the jump length for the
 * input byte after the root label, instead of a scan of the root's edges.
 * Labels and records are compared 8 bytes at a time, and the lookup is
 * compiled once per (reversed, folded) mode, out of line, so the per-byte
 * work has no mode branches.
 *
 * Cost: at 100,000 keys ~15 MB, about 3x the trie alone (records at load
 * 2/3, 1.35x the bucketed version), for one dependent cold line per hit
 * instead of three to five.
 *
 * A lookup walks the input once, so it costs O(len(input)) whatever the
 * number of keys, and returns the deepest (longest) key passed on the way.
 * The empty key ends at the root: it matches every input.
 * Equal keys keep the lowest entry index; the per-node equal-key lists
 * that only ds_trie_walk needs sit in a separate array.
 */
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Smaller tries fit in L1/L2 whole: plain walking is the cheaper path. */
#define JUMP_MIN_KEYS 1024
/* Subtrees this small are cold at scale: enter them by a hashed jump. */
#define JUMP_SUBTREE 64
/* A bigger subtree is jumped into if its targets hold this many keys or fewer. */
#define JUMP_SPREAD 2
/* Jump lengths are stored as 16 bits next to the edge bytes. */
#define JUMP_MAX_LEN 0xffff
#define JREC_INLINE  48
#define JREC_KIDS    0x80000000u /* in ds_jrec.node: the target has children */
#define PEND_TARGET  0x80000000u /* planning: node is a jump target */
#define CN_JUMPS     1u		 /* in ds_cnode.flags: blob holds jump lengths */
/* Tags scanned per step: one SSE2 compare (or two SWAR words). */
#define JT_WIN 16
/* Slots per record: 1 + 1 / JT_SPARE (load 2/3: probe runs stay short). */
#define JT_SPARE  2
#define BLOB_PAD  8
#define HASH_SEED 0x243f6a8885a308d3ULL

/* A node while building: its label points into the key copy. */
struct ds_tnode {
	uint32_t label; /* offset of the label in t->bytes */
	uint32_t label_len;
	uint32_t first_child; /* node number of the first child */
	uint32_t nchild;
	uint32_t entry;	 /* key ending here, DS_NONE if none */
	uint32_t eq_pos; /* its equal keys: sidx[eq_pos .. + eq_cnt) */
	uint32_t eq_cnt;
	uint32_t lo, hi; /* sorted keys passing through: k[lo .. hi) */
	uint32_t end;	 /* depth at the end of the label */
};

/* A node of the finished trie. */
struct ds_cnode {
	uint32_t blob; /* label, children's edge bytes, [jump lengths] */
	uint32_t label_len;
	uint32_t first_child;
	uint16_t nchild;
	uint16_t flags;
	uint32_t entry; /* key ending here, DS_NONE if none */
};

/*
 * Where a jump lands: the node covering depth plen on one path, and the
 * path's bytes up to the end of that node's label, to confirm the input.
 */
struct ds_jrec {
	uint32_t plen;	/* the jump hashed input[0 .. plen) */
	uint32_t tlen;	/* path bytes confirmed: input[0 .. tlen) */
	uint32_t entry; /* the node's entry, DS_NONE if none */
	uint32_t node;	/* node number, | JREC_KIDS if it has children */
	union {
		unsigned char b[JREC_INLINE];
		const unsigned char *ext; /* tlen > JREC_INLINE: in t->bytes */
	};
} __attribute__((aligned(64)));

struct ds_eq {
	uint32_t pos, cnt; /* equal keys of a node: sidx[pos .. pos + cnt) */
};

struct ds_trie {
	bool nocase;
	bool reverse;
	uint32_t nnodes;
	struct ds_tnode *node; /* build only */
	unsigned char *edge;   /* build only: edge[k] is the byte into node k */
	uint16_t *jlen;	       /* build only: jump length into node k, 0 = walk */
	char *bytes;	       /* transformed keys; kept only for long jump paths */
	size_t bytes_len;
	struct ds_cnode *cn;
	unsigned char *blob;
	size_t blob_len;
	struct ds_eq *eq;
	uint32_t *sidx; /* entry indices in key order (equal keys by index) */
	uint32_t n;
	struct ds_jrec *jrec; /* jump records, in their hash slots */
	uint32_t nrec;
	size_t rec_bytes;    /* allocated for jrec (rounded for huge pages) */
	unsigned char *jtag; /* a tag per slot, 0 = empty; JT_WIN zeros after */
	uint32_t nslot;	     /* home slots; probing may run past them */
	uint32_t nused;	     /* slots up to the last one used */
	/*
	 * The root's step decided by one load: for the input byte after the
	 * root label, 0 (no child) or child slot + 1 | jump length << 16.
	 */
	uint32_t root_go[256];
};

/* A transformed key during the build. */
struct tkey {
	uint32_t off;
	uint32_t len;
	uint32_t idx;
};

/* A node waiting to be filled: keys [lo, hi) share their first depth bytes. */
struct twork {
	uint32_t lo, hi, depth, node;
};

/* --- hashing and comparing transformed bytes ------------------------------ */

static inline uint64_t load64(const void *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

static inline uint64_t hash_mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/*
 * One multiply is enough: the slot comes from the product's top bits and
 * the tag from bits 24..31, both of which depend on every input bit.
 */
static inline uint64_t hash_final(uint64_t h)
{
	return h * 0xff51afd7ed558ccdULL;
}

/* Byte pos of the input as the trie sees it (reversed and folded). */
static inline __attribute__((always_inline)) unsigned char
trie_in(const struct ds_trie *t, const char *str, size_t len, bool rev, bool nc, size_t pos)
{
	unsigned char c = (unsigned char)str[rev ? len - 1 - pos : pos];

	return nc ? ds_fold(c) : c;
}

/* Input bytes pos .. pos + 8 as the trie sees them; needs pos + 8 <= len. */
static inline __attribute__((always_inline)) uint64_t
trie_in8(const struct ds_trie *t, const char *str, size_t len, bool rev, bool nc, size_t pos)
{
	uint64_t w;

	if (rev)
		w = __builtin_bswap64(load64(str + len - pos - 8));
	else
		w = load64(str + pos);
	return nc ? ds_fold8(w) : w;
}

/*
 * Hash of the first plen transformed bytes. Accepts plen <= len. Words are
 * little-endian; a tail shorter than 8 reuses the last 8 bytes (overlap),
 * so hash_bytes below must do exactly the same on the stored copy.
 */
static inline __attribute__((always_inline)) uint64_t
hash_in(const struct ds_trie *t, const char *str, size_t len, bool rev, bool nc, size_t plen)
{
	uint64_t h = HASH_SEED ^ (plen * 0xd6e8feb86659fd93ULL), w = 0;
	size_t i;

	if (plen < 8) {
		for (i = 0; i < plen; i++)
			w |= (uint64_t)trie_in(t, str, len, rev, nc, i) << (8 * i);
		return hash_final(hash_mix(h, w));
	}
	for (i = 0; i + 8 <= plen; i += 8)
		h = hash_mix(h, trie_in8(t, str, len, rev, nc, i));
	if (plen & 7)
		h = hash_mix(h, trie_in8(t, str, len, rev, nc, plen - 8));
	return hash_final(h);
}

/* The same hash over already transformed bytes b[0 .. plen). */
static uint64_t hash_bytes(const unsigned char *b, size_t plen)
{
	uint64_t h = HASH_SEED ^ (plen * 0xd6e8feb86659fd93ULL), w = 0;
	size_t i;

	if (plen < 8) {
		for (i = 0; i < plen; i++)
			w |= (uint64_t)b[i] << (8 * i);
		return hash_final(hash_mix(h, w));
	}
	for (i = 0; i + 8 <= plen; i += 8)
		h = hash_mix(h, load64(b + i));
	if (plen & 7)
		h = hash_mix(h, load64(b + plen - 8));
	return hash_final(h);
}

/*
 * Does the input, from transformed offset pos, start with b[0 .. n)?
 * Accepts pos + n <= len; reads only b[0 .. n).
 */
static inline __attribute__((always_inline)) bool trie_eq(const struct ds_trie *t, const char *str,
							  size_t len, bool rev, bool nc, size_t pos,
							  const unsigned char *b, size_t n)
{
	size_t i;

	if (n < 8) {
		for (i = 0; i < n; i++)
			if (trie_in(t, str, len, rev, nc, pos + i) != b[i])
				return false;
		return true;
	}
	for (i = 0; i + 8 <= n; i += 8)
		if (trie_in8(t, str, len, rev, nc, pos + i) != load64(b + i))
			return false;
	return !(n & 7) || trie_in8(t, str, len, rev, nc, pos + n - 8) == load64(b + n - 8);
}

/* --- building --------------------------------------------------------------- */

static int tkey_cmp(const void *a, const void *b, void *arg)
{
	const struct tkey *x = a, *y = b;
	const char *sort_bytes = arg;
	uint32_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(sort_bytes + x->off, sort_bytes + y->off, m);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static int trie_grow(struct ds_trie *t, uint32_t *cap, uint32_t want)
{
	struct ds_tnode *nn;
	unsigned char *ne;
	uint32_t c = *cap;

	if (want <= c)
		return 0;
	while (c < want)
		c = c * 2;
	nn = realloc(t->node, (size_t)c * sizeof(*nn));
	if (!nn)
		return -1;
	t->node = nn;
	ne = realloc(t->edge, c);
	if (!ne)
		return -1;
	t->edge = ne;
	*cap = c;
	return 0;
}

/*
 * Fill node w->node from keys [lo, hi): its label is their common part past
 * depth, its entry the lowest index of the keys ending there, and its
 * children one per distinct next byte, appended to the queue.
 */
static int trie_fill(struct ds_trie *t, const struct tkey *k, const struct twork *w,
		     struct twork *queue, uint32_t *qtail, uint32_t *cap)
{
	const struct tkey *first = &k[w->lo], *last = &k[w->hi - 1];
	const unsigned char *a = (const unsigned char *)t->bytes + first->off;
	const unsigned char *b = (const unsigned char *)t->bytes + last->off;
	uint32_t lcp = w->depth, i = w->lo, nch = 0, j;
	struct ds_tnode *nd;

	/* Sorted: the common prefix of the range is that of its two ends. */
	while (lcp < first->len && lcp < last->len && a[lcp] == b[lcp])
		lcp++;
	nd = &t->node[w->node];
	nd->label = first->off + w->depth;
	nd->label_len = lcp - w->depth;
	nd->entry = DS_NONE;
	nd->eq_pos = i;
	nd->eq_cnt = 0;
	nd->lo = w->lo;
	nd->hi = w->hi;
	nd->end = lcp;
	/* Keys ending here sort first; the first of them has the lowest index. */
	if (k[i].len == lcp) {
		nd->entry = k[i].idx;
		while (i < w->hi && k[i].len == lcp)
			i++;
		nd->eq_cnt = i - w->lo;
	}
	for (j = i; j < w->hi; nch++) {
		unsigned char c = (unsigned char)t->bytes[k[j].off + lcp];

		while (j < w->hi && (unsigned char)t->bytes[k[j].off + lcp] == c)
			j++;
	}
	if (trie_grow(t, cap, t->nnodes + nch))
		return -1;
	nd = &t->node[w->node];
	nd->first_child = t->nnodes;
	nd->nchild = nch;
	while (i < w->hi) {
		unsigned char c = (unsigned char)t->bytes[k[i].off + lcp];
		struct twork *q = &queue[(*qtail)++];

		q->lo = i;
		while (i < w->hi && (unsigned char)t->bytes[k[i].off + lcp] == c)
			i++;
		q->hi = i;
		q->depth = lcp + 1;
		q->node = t->nnodes;
		t->edge[t->nnodes++] = c;
	}
	return 0;
}

/* Shortest key length in each node's subtree (its own key included). */
static uint32_t *trie_minlen(const struct ds_trie *t)
{
	uint32_t *ml = malloc((size_t)t->nnodes * sizeof(*ml));
	uint32_t i, c;

	if (!ml)
		return NULL;
	/* Breadth first: children come after their parent, so go backwards. */
	for (i = t->nnodes; i-- > 0;) {
		const struct ds_tnode *nd = &t->node[i];
		uint32_t m = nd->entry != DS_NONE ? nd->end : UINT32_MAX;

		for (c = 0; c < nd->nchild; c++)
			if (ml[nd->first_child + c] < m)
				m = ml[nd->first_child + c];
		ml[i] = m;
	}
	return ml;
}

/* Fill record r for node i, reached by a jump over plen bytes. */
static void trie_set_rec(struct ds_trie *t, const struct tkey *k, struct ds_jrec *r, uint32_t i,
			 uint32_t plen)
{
	const struct ds_tnode *nd = &t->node[i];
	const unsigned char *path = (const unsigned char *)t->bytes + k[nd->lo].off;

	memset(r, 0, sizeof(*r));
	r->plen = plen;
	r->tlen = nd->end;
	r->entry = nd->entry;
	r->node = i | (nd->nchild ? JREC_KIDS : 0);
	if (nd->end <= JREC_INLINE)
		memcpy(r->b, path, nd->end);
	else
		r->ext = path;
}

/* Home slot of hash h among nslot: the product's top bits, no division. */
static inline uint32_t jt_home(uint64_t h, uint32_t nslot)
{
	return (uint32_t)(((h >> 32) * (uint64_t)nslot) >> 32);
}

/* Tag byte of hash h; never 0, which marks an empty slot. */
static inline unsigned char jt_tag(uint64_t h)
{
	unsigned char g = (unsigned char)(h >> 24);

	return (unsigned char)(g + !g);
}

/*
 * Room for the records: on huge pages when big, since every jump lands on
 * a random record and 4 KiB pages would add a page walk to each.
 */
static struct ds_jrec *trie_rec_alloc(struct ds_trie *t, uint32_t nslots)
{
	return ds_alloc_lines((size_t)(nslots ? nslots : 1) * sizeof(struct ds_jrec),
			      &t->rec_bytes);
}

/*
 * Place the records in an open-addressed table (linear probing, at most
 * 2/3 full) with a separate byte of tag per slot. A lookup then knows the
 * record's address from the hash alone: it can fetch the home record while
 * it scans the tags, instead of reading a bucket first.
 */
static int trie_index_recs(struct ds_trie *t)
{
	struct ds_jrec *placed = NULL;
	uint32_t *at = NULL, r, s;
	int ret = -1;

	t->nslot = t->nrec + t->nrec / JT_SPARE + 1;
	/* Probing never runs more than nrec slots past the last home. */
	t->jtag = calloc((size_t)t->nslot + t->nrec + JT_WIN, 1);
	at = malloc((t->nrec ? t->nrec : 1) * sizeof(*at));
	if (!t->jtag || !at)
		goto out;
	t->nused = 0;
	for (r = 0; r < t->nrec; r++) {
		const struct ds_jrec *jr = &t->jrec[r];
		uint64_t h = hash_bytes(jr->tlen <= JREC_INLINE ? jr->b : jr->ext, jr->plen);

		for (s = jt_home(h, t->nslot); t->jtag[s]; s++)
			;
		t->jtag[s] = jt_tag(h);
		at[r] = s;
		if (s + 1 > t->nused)
			t->nused = s + 1;
	}
	placed = trie_rec_alloc(t, t->nused);
	if (!placed)
		goto out;
	for (r = 0; r < t->nrec; r++)
		placed[at[r]] = t->jrec[r];
	free(t->jrec);
	t->jrec = placed;
	/* Keep the tags up to the last used slot and the zeros that end a scan. */
	placed = NULL;
	{
		unsigned char *tg = realloc(t->jtag, (size_t)t->nused + JT_WIN);

		if (tg)
			t->jtag = tg;
	}
	ret = 0;
out:
	free(at);
	return ret;
}

/* lcp[i]: bytes key i shares with key i - 1 in sorted order (lcp[0] = 0). */
static uint32_t *trie_lcp(const struct ds_trie *t, const struct tkey *k)
{
	uint32_t *lcp = malloc((t->n ? t->n : 1) * sizeof(*lcp)), i, m, j;

	if (!lcp)
		return NULL;
	lcp[0] = 0;
	for (i = 1; i < t->n; i++) {
		const char *a = t->bytes + k[i - 1].off, *b = t->bytes + k[i].off;

		m = k[i - 1].len < k[i].len ? k[i - 1].len : k[i].len;
		for (j = 0; j < m && a[j] == b[j]; j++)
			;
		lcp[i] = j;
	}
	return lcp;
}

/*
 * Should the walk jump into node c over plen bytes instead of stepping in?
 * A small subtree: yes, it is cold at scale. A bigger one only if a key
 * drawn at random lands on a target of at most JUMP_SPREAD keys on average
 * (the sum of squared target sizes over the count), else the walk would go
 * on through cold nodes after the jump. Counting costs the subtree's size,
 * so all such checks share one budget, which bounds the build time.
 */
static bool trie_jump_pays(const struct ds_tnode *c, uint32_t plen, const uint32_t *lcp,
			   uint64_t *budget)
{
	uint32_t cnt = c->hi - c->lo, run = 1, i;
	uint64_t sq = 0;

	if (cnt <= JUMP_SUBTREE)
		return true;
	if (*budget < cnt)
		return false;
	*budget -= cnt;
	/* Sorted keys: a new target starts where neighbours differ before plen. */
	for (i = c->lo + 1; i < c->hi; i++) {
		if (lcp[i] < plen) {
			sq += (uint64_t)run * run;
			run = 0;
		}
		run++;
	}
	sq += (uint64_t)run * run;
	return sq <= (uint64_t)cnt * JUMP_SPREAD;
}

/*
 * Choose the jumps (t->jlen) and make their records. A node the walk can
 * reach (the root, the children of hot nodes, jump targets) lets each
 * small child be entered by a jump; the nodes a jump passes over inherit
 * its length until the one covering that depth, which becomes the target.
 */
static int trie_plan_jumps(struct ds_trie *t, const struct tkey *k)
{
	uint32_t *ml = trie_minlen(t), *pend = calloc(t->nnodes, sizeof(*pend));
	uint32_t *lcp = trie_lcp(t, k), i, c, r = 0;
	uint64_t budget = (uint64_t)t->n * 8 + (1u << 20);
	int ret = -1;

	if (!ml || !pend || !lcp)
		goto out;
	for (i = 0; i < t->nnodes; i++) {
		const struct ds_tnode *nd = &t->node[i];
		uint32_t p = pend[i];

		if (p && p <= nd->end) {
			/* A target: remember its jump length, the walk resumes here. */
			pend[i] = p | PEND_TARGET;
			t->nrec++;
			p = 0;
		}
		for (c = nd->first_child; c < nd->first_child + nd->nchild; c++) {
			if (p) {
				pend[c] = p;
			} else if (ml[c] <= JUMP_MAX_LEN &&
				   trie_jump_pays(&t->node[c], ml[c], lcp, &budget)) {
				t->jlen[c] = (uint16_t)ml[c];
				pend[c] = ml[c];
			}
		}
	}
	t->jrec = aligned_alloc(64, (t->nrec ? t->nrec : 1) * sizeof(*t->jrec));
	if (!t->jrec)
		goto out;
	for (i = 0; i < t->nnodes; i++)
		if (pend[i] & PEND_TARGET)
			trie_set_rec(t, k, &t->jrec[r++], i, pend[i] & ~PEND_TARGET);
	ret = trie_index_recs(t);
out:
	free(ml);
	free(pend);
	free(lcp);
	return ret;
}

/* Does any child of node nd get a jump? */
static bool trie_has_jumps(const struct ds_trie *t, const struct ds_tnode *nd)
{
	uint32_t c;

	for (c = nd->first_child; t->jlen && c < nd->first_child + nd->nchild; c++)
		if (t->jlen[c])
			return true;
	return false;
}

/* Lay the built nodes out as node records + one blob; drop build data. */
static int trie_compact(struct ds_trie *t)
{
	size_t total = 0, off = 0;
	bool keep_bytes = false;
	uint32_t i, c;

	for (i = 0; i < t->nnodes; i++) {
		total += (size_t)t->node[i].label_len + t->node[i].nchild;
		if (trie_has_jumps(t, &t->node[i]))
			total += (size_t)t->node[i].nchild * sizeof(uint16_t);
	}
	if (total >= UINT32_MAX)
		return -1;
	t->cn = malloc((size_t)t->nnodes * sizeof(*t->cn));
	t->eq = malloc((size_t)t->nnodes * sizeof(*t->eq));
	/* Spare bytes at the end: edge scans read whole words. */
	t->blob = calloc(1, total + BLOB_PAD);
	if (!t->cn || !t->eq || !t->blob)
		return -1;
	for (i = 0; i < t->nnodes; i++) {
		const struct ds_tnode *nd = &t->node[i];
		bool jumps = trie_has_jumps(t, nd);

		t->cn[i] =
		    (struct ds_cnode){(uint32_t)off,	    nd->label_len,	  nd->first_child,
				      (uint16_t)nd->nchild, jumps ? CN_JUMPS : 0, nd->entry};
		t->eq[i] = (struct ds_eq){nd->eq_pos, nd->eq_cnt};
		memcpy(t->blob + off, t->bytes + nd->label, nd->label_len);
		off += nd->label_len;
		if (nd->nchild)
			memcpy(t->blob + off, t->edge + nd->first_child, nd->nchild);
		off += nd->nchild;
		for (c = 0; jumps && c < nd->nchild; c++) {
			memcpy(t->blob + off, &t->jlen[nd->first_child + c], sizeof(uint16_t));
			off += sizeof(uint16_t);
		}
	}
	t->blob_len = total;
	/* The root's children in a byte table: the hot first step skips the scan. */
	for (c = 0; c < t->node[0].nchild; c++) {
		uint32_t k = t->node[0].first_child + c;

		t->root_go[t->edge[k]] = (c + 1) | (uint32_t)(t->jlen ? t->jlen[k] : 0) << 16;
	}
	for (i = 0; i < t->nrec; i++)
		keep_bytes |= t->jrec[i].tlen > JREC_INLINE;
	free(t->node);
	free(t->edge);
	free(t->jlen);
	t->node = NULL;
	t->edge = NULL;
	t->jlen = NULL;
	if (!keep_bytes) {
		free(t->bytes);
		t->bytes = NULL;
	}
	return 0;
}

/* Copy the keys transformed (reversed, folded) and sort them. */
static struct tkey *trie_sorted_keys(struct ds_trie *t, const struct ds_entry *e, uint32_t n)
{
	struct tkey *k;
	size_t total = 0;
	uint32_t i, j;

	for (i = 0; i < n; i++)
		total += e[i].key_len;
	if (total >= UINT32_MAX)
		return NULL;
	t->bytes = malloc(total ? total : 1);
	k = malloc((n ? n : 1) * sizeof(*k));
	if (!t->bytes || !k) {
		free(k);
		return NULL;
	}
	total = 0;
	for (i = 0; i < n; i++) {
		char *dst = t->bytes + total;
		uint32_t len = e[i].key_len;

		for (j = 0; j < len; j++) {
			unsigned char c = (unsigned char)e[i].key[t->reverse ? len - 1 - j : j];

			dst[j] = (char)(t->nocase ? ds_fold(c) : c);
		}
		k[i].off = (uint32_t)total;
		k[i].len = len;
		k[i].idx = i;
		total += len;
	}
	t->bytes_len = total;
	qsort_r(k, n, sizeof(*k), tkey_cmp, t->bytes);
	return k;
}

/* Accepts the set's entries; builds the prefix (or suffix, reverse) trie. */
struct ds_trie *ds_trie_build(const struct ds_entry *e, uint32_t n, bool nocase, bool reverse)
{
	struct ds_trie *t = calloc(1, sizeof(*t));
	struct tkey *k = NULL;
	struct twork *queue = NULL;
	uint32_t cap = 16, qhead = 0, qtail = 0, i;

	if (!t)
		return NULL;
	t->nocase = nocase;
	t->reverse = reverse;
	k = trie_sorted_keys(t, e, n);
	/* Every node is queued once; a trie over n keys has < 2n + 1 nodes. */
	queue = malloc(((size_t)n * 2 + 2) * sizeof(*queue));
	t->node = malloc(cap * sizeof(*t->node));
	t->edge = malloc(cap);
	if (!k || !queue || !t->node || !t->edge)
		goto fail;
	t->n = n;
	t->sidx = malloc((n ? n : 1) * sizeof(*t->sidx));
	if (!t->sidx)
		goto fail;
	for (i = 0; i < n; i++)
		t->sidx[i] = k[i].idx;
	t->nnodes = 1;
	t->edge[0] = 0;
	if (!n) {
		memset(&t->node[0], 0, sizeof(t->node[0]));
		t->node[0].entry = DS_NONE;
		goto done;
	}
	queue[qtail++] = (struct twork){.lo = 0, .hi = n, .depth = 0, .node = 0};
	while (qhead < qtail) {
		struct twork w = queue[qhead++];

		if (trie_fill(t, k, &w, queue, &qtail, &cap))
			goto fail;
	}
	if (n >= JUMP_MIN_KEYS) {
		t->jlen = calloc(t->nnodes, sizeof(*t->jlen));
		if (!t->jlen || trie_plan_jumps(t, k))
			goto fail;
	}
done:
	if (trie_compact(t))
		goto fail;
	free(k);
	free(queue);
	return t;
fail:
	free(k);
	free(queue);
	ds_trie_free(t);
	return NULL;
}

void ds_trie_free(struct ds_trie *t)
{
	if (!t)
		return;
	free(t->node);
	free(t->edge);
	free(t->jlen);
	free(t->bytes);
	free(t->cn);
	free(t->blob);
	free(t->eq);
	free(t->sidx);
	free(t->jrec);
	free(t->jtag);
	free(t);
}

/* --- lookup ------------------------------------------------------------------ */

/*
 * Slot of the child of nd whose edge byte is c, or -1. Edges are distinct,
 * so this compares eight at a time: the lowest zero byte of x is always a
 * true match (only bytes above a zero can be flagged falsely), and a match
 * past nchild is the next bytes of the blob, which has BLOB_PAD spare bytes.
 */
static inline int trie_child(const struct ds_cnode *nd, const unsigned char *edges, unsigned char c)
{
	const uint64_t ones = 0x0101010101010101ULL, pat = ones * c;
	uint32_t i, j;

	for (i = 0; i < nd->nchild; i += 8) {
		uint64_t x = load64(edges + i) ^ pat;
		uint64_t z = (x - ones) & ~x & (ones << 7);

		if (z) {
			j = i + (uint32_t)(__builtin_ctzll(z) >> 3);
			return j < nd->nchild ? (int)j : -1;
		}
	}
	return -1;
}

/* Is record r the one for input[0 .. plen), with its whole path present? */
static inline __attribute__((always_inline)) bool trie_rec_eq(const struct ds_trie *t,
							      const struct ds_jrec *r,
							      const char *str, size_t len, bool rev,
							      bool nc, uint32_t plen)
{
	return r->plen == plen && r->tlen <= len &&
	       trie_eq(t, str, len, rev, nc, 0, r->tlen <= JREC_INLINE ? r->b : r->ext, r->tlen);
}

/* Bit i set when tag byte w[i] equals g, over the JT_WIN bytes at w. */
static inline uint32_t jt_match(const unsigned char *w, unsigned char g)
{
#ifdef __SSE2__
	const __m128i v = _mm_loadu_si128((const __m128i *)w);

	return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)g)));
#else
	const uint64_t ones = 0x0101010101010101ULL, pat = ones * g;
	uint32_t m = 0, i, b;

	for (i = 0; i < JT_WIN; i += 8) {
		uint64_t x = load64(w + i) ^ pat;

		/* Exact per byte (no borrow between bytes): bit 7 set when zero. */
		x = ~(((x & ~(ones << 7)) + ~(ones << 7)) | x) & (ones << 7);
		for (b = 0; b < 8; b++)
			m |= (uint32_t)((x >> (8 * b + 7)) & 1) << (i + b);
	}
	return m;
#endif
}

/*
 * The record a jump over the input's first plen bytes lands on, confirmed
 * (the input starts with its whole path), or NULL. Accepts plen <= len.
 * The home record is fetched while the tags are scanned; records that do
 * not sit at home are in the following slots, before the first empty one.
 */
static inline __attribute__((always_inline)) const struct ds_jrec *
trie_jump(const struct ds_trie *t, const char *str, size_t len, bool rev, bool nc, uint32_t plen)
{
	const uint64_t h = hash_in(t, str, len, rev, nc, plen);
	const unsigned char g = jt_tag(h);
	uint32_t s = jt_home(h, t->nslot), m, e;

	__builtin_prefetch(&t->jrec[s]);
	for (;;) {
		m = jt_match(t->jtag + s, g);
		e = jt_match(t->jtag + s, 0);
		/* Only slots before the first empty one belong to this run. */
		if (e)
			m &= (e & -e) - 1;
		while (m) {
			const struct ds_jrec *r = &t->jrec[s + (uint32_t)__builtin_ctz(m)];

			/* A tag only filters: the path bytes decide. */
			if (trie_rec_eq(t, r, str, len, rev, nc, plen))
				return r;
			m &= m - 1;
		}
		if (e)
			return NULL;
		s += JT_WIN;
	}
}

/*
 * Where a walk stands: at node number node (record nd) with input[0 .. pos)
 * matched; after a jump, rec is the record it landed on and nd is read
 * only if that node has children.
 */
struct trie_pos {
	const struct ds_cnode *nd;
	const struct ds_jrec *rec;
	uint32_t node;
	size_t pos;
};

/*
 * From a node whose label has matched, go one step down for the input:
 * into a child (label not yet compared: returns 1) or by a jump to a
 * target whose path is confirmed (returns 2). Returns 0 when the walk ends.
 */
static inline __attribute__((always_inline)) int trie_down(const struct ds_trie *t, const char *str,
							   size_t len, bool rev, bool nc,
							   struct trie_pos *p)
{
	const struct ds_cnode *nd = p->nd;
	const unsigned char *edges = t->blob + nd->blob + nd->label_len;
	const struct ds_jrec *r;
	uint16_t jl = 0;
	int i;

	if (p->pos == len || !nd->nchild)
		return 0;
	i = trie_child(nd, edges, trie_in(t, str, len, rev, nc, p->pos));
	if (i < 0)
		return 0;
	if (nd->flags & CN_JUMPS)
		memcpy(&jl, edges + nd->nchild + (size_t)i * sizeof(jl), sizeof(jl));
	if (!jl) {
		p->node = nd->first_child + (uint32_t)i;
		p->nd = &t->cn[p->node];
		p->pos++;
		return 1;
	}
	/* No key below that child is shorter than jl: nothing is skipped. */
	if (jl > len)
		return 0;
	r = trie_jump(t, str, len, rev, nc, jl);
	if (!r)
		return 0;
	p->rec = r;
	p->node = r->node & ~JREC_KIDS;
	p->nd = &t->cn[p->node];
	p->pos = r->tlen;
	return 2;
}

/* Does node p->nd's label match the input at p->pos? Moves past it. */
static inline __attribute__((always_inline)) bool trie_label(const struct ds_trie *t,
							     const char *str, size_t len, bool rev,
							     bool nc, struct trie_pos *p)
{
	const struct ds_cnode *nd = p->nd;

	if (nd->label_len > len - p->pos ||
	    !trie_eq(t, str, len, rev, nc, p->pos, t->blob + nd->blob, nd->label_len))
		return false;
	p->pos += nd->label_len;
	return true;
}

/*
 * The root's step: its label, its entry, then the child or jump for the
 * next input byte from root_go. Returns like trie_down, with *best set.
 */
static inline __attribute__((always_inline)) int trie_root(const struct ds_trie *t, const char *str,
							   size_t len, bool rev, bool nc,
							   struct trie_pos *p, uint32_t *best)
{
	const struct ds_cnode *root = p->nd;
	uint32_t go, jl;

	if (!trie_label(t, str, len, rev, nc, p))
		return 0;
	*best = root->entry;
	if (p->pos == len)
		return 0;
	go = t->root_go[trie_in(t, str, len, rev, nc, p->pos)];
	if (!go)
		return 0;
	jl = go >> 16;
	if (!jl) {
		p->node = root->first_child + (go & 0xffff) - 1;
		p->nd = &t->cn[p->node];
		p->pos++;
		return 1;
	}
	/* No key below that child is shorter than jl: nothing is skipped. */
	if (jl > len)
		return 0;
	p->rec = trie_jump(t, str, len, rev, nc, jl);
	if (!p->rec)
		return 0;
	p->node = p->rec->node & ~JREC_KIDS;
	p->nd = &t->cn[p->node];
	p->pos = p->rec->tlen;
	return 2;
}

/* The lookup for one (reverse, nocase) mode, compiled once per mode. */
static inline __attribute__((always_inline)) uint32_t
trie_longest(const struct ds_trie *t, const char *str, size_t len, bool rev, bool nc)
{
	struct trie_pos p = {&t->cn[0], NULL, 0, 0};
	uint32_t best = DS_NONE;
	int step = trie_root(t, str, len, rev, nc, &p, &best);

	while (step) {
		if (step == 1) {
			if (!trie_label(t, str, len, rev, nc, &p))
				return best;
			if (p.nd->entry != DS_NONE)
				best = p.nd->entry;
		} else {
			/* Landed by a jump: the record knows all a leaf needs. */
			if (p.rec->entry != DS_NONE)
				best = p.rec->entry;
			if (!(p.rec->node & JREC_KIDS))
				return best;
		}
		step = trie_down(t, str, len, rev, nc, &p);
	}
	return best;
}

/*
 * One out-of-line copy per mode, so that ds_trie_longest only dispatches
 * (a tail call) and each copy keeps its own registers.
 */
static __attribute__((noinline)) uint32_t trie_longest_fw(const struct ds_trie *t, const char *str,
							  size_t len)
{
	return trie_longest(t, str, len, false, false);
}

static __attribute__((noinline)) uint32_t trie_longest_fw_nc(const struct ds_trie *t,
							     const char *str, size_t len)
{
	return trie_longest(t, str, len, false, true);
}

static __attribute__((noinline)) uint32_t trie_longest_rev(const struct ds_trie *t, const char *str,
							   size_t len)
{
	return trie_longest(t, str, len, true, false);
}

static __attribute__((noinline)) uint32_t trie_longest_rev_nc(const struct ds_trie *t,
							      const char *str, size_t len)
{
	return trie_longest(t, str, len, true, true);
}

/* Accepts any bytes; returns the longest key that is a prefix (suffix). */
uint32_t ds_trie_longest(const struct ds_trie *t, const char *str, size_t len)
{
	if (t->reverse)
		return t->nocase ? trie_longest_rev_nc(t, str, len) : trie_longest_rev(t, str, len);
	return t->nocase ? trie_longest_fw_nc(t, str, len) : trie_longest_fw(t, str, len);
}

size_t ds_trie_bytes(const struct ds_trie *t)
{
	size_t b = sizeof(*t) + (size_t)t->nnodes * (sizeof(*t->cn) + sizeof(*t->eq)) +
		   t->blob_len + (size_t)t->n * sizeof(*t->sidx);

	b += t->rec_bytes + (t->jtag ? (size_t)t->nused + JT_WIN : 0);
	if (t->bytes)
		b += t->bytes_len;
	return b;
}

/*
 * Accepts any bytes; calls visit for every key that is a prefix (suffix) of
 * str, shortest first, with all entries equal to that key in index order;
 * stops when visit returns true.
 */
void ds_trie_walk(const struct ds_trie *t, const char *str, size_t len, ds_trie_visit_fn visit,
		  void *ctx)
{
	const bool rev = t->reverse, nc = t->nocase;
	struct trie_pos p = {&t->cn[0], NULL, 0, 0};
	int step = 1;

	for (;;) {
		const struct ds_eq *eq;

		if (step == 1 && !trie_label(t, str, len, rev, nc, &p))
			return;
		eq = &t->eq[p.node];
		if (eq->cnt && visit(ctx, t->sidx + eq->pos, eq->cnt))
			return;
		if (step == 2 && !(p.rec->node & JREC_KIDS))
			return;
		step = trie_down(t, str, len, rev, nc, &p);
		if (!step)
			return;
	}
}
