// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_trie.c - BEGINS_WITH / ENDS_WITH: a path-compressed (radix) trie.
 *
 * Built from the sorted keys (folded for the case-insensitive trie,
 * reversed for ENDS_WITH) breadth first, so the children of a node are
 * consecutive node numbers sorted by their first byte: a node needs only
 * its first child and a child count. Each node has a label (a run of bytes
 * shared by all keys below it) and the entry of the key ending there.
 *
 * Layout, for few cache lines per step at 100,000 keys: the nodes are one
 * array of 20-byte records (siblings adjacent), and each node's label bytes
 * are followed by its children's edge bytes in one blob, so a step reads
 * the node record and one run of blob bytes (label compare, then a
 * bisection over at most 256 edge bytes) - two lines, where keeping labels
 * in a key copy and edges in their own array took three. The per-node
 * equal-key lists only ds_trie_walk needs sit in a separate array.
 *
 * A lookup walks the input once, so it costs O(len(input)) whatever the
 * number of keys, and returns the deepest (longest) key passed on the way.
 * The empty key ends at the root: it matches every input.
 * Equal keys keep the lowest entry index.
 */
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

/* A node while building: its label points into the key copy. */
struct ds_tnode {
	uint32_t label;		/* offset of the label in t->bytes */
	uint32_t label_len;
	uint32_t first_child;	/* node number of the first child */
	uint32_t nchild;
	uint32_t entry;		/* key ending here, DS_NONE if none */
	uint32_t eq_pos;	/* its equal keys: sidx[eq_pos .. + eq_cnt) */
	uint32_t eq_cnt;
};

/* A node of the finished trie. */
struct ds_cnode {
	uint32_t blob;		/* label bytes, then the children's edge bytes */
	uint32_t label_len;
	uint32_t first_child;
	uint32_t nchild;
	uint32_t entry;		/* key ending here, DS_NONE if none */
};

struct ds_eq {
	uint32_t pos, cnt;	/* equal keys of a node: sidx[pos .. pos + cnt) */
};

struct ds_trie {
	bool nocase;
	bool reverse;
	uint32_t nnodes;
	struct ds_tnode *node;	/* build only */
	unsigned char *edge;	/* build only: edge[k] is the byte into node k */
	char *bytes;		/* build only: transformed keys, concatenated */
	struct ds_cnode *cn;
	unsigned char *blob;
	size_t blob_len;
	struct ds_eq *eq;
	uint32_t *sidx;		/* entry indices in key order (equal keys by index) */
	uint32_t n;
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

/* Lay the built nodes out as node records + one blob; drop build data. */
static int trie_compact(struct ds_trie *t)
{
	size_t total = 0, off = 0;
	uint32_t i;

	for (i = 0; i < t->nnodes; i++)
		total += (size_t)t->node[i].label_len + t->node[i].nchild;
	if (total >= UINT32_MAX)
		return -1;
	t->cn = malloc((size_t)t->nnodes * sizeof(*t->cn));
	t->eq = malloc((size_t)t->nnodes * sizeof(*t->eq));
	t->blob = malloc(total ? total : 1);
	if (!t->cn || !t->eq || !t->blob)
		return -1;
	for (i = 0; i < t->nnodes; i++) {
		const struct ds_tnode *nd = &t->node[i];

		t->cn[i] = (struct ds_cnode){ (uint32_t)off, nd->label_len, nd->first_child,
					      nd->nchild, nd->entry };
		t->eq[i] = (struct ds_eq){ nd->eq_pos, nd->eq_cnt };
		memcpy(t->blob + off, t->bytes + nd->label, nd->label_len);
		off += nd->label_len;
		if (nd->nchild)
			memcpy(t->blob + off, t->edge + nd->first_child, nd->nchild);
		off += nd->nchild;
	}
	t->blob_len = total;
	free(t->node);
	free(t->edge);
	free(t->bytes);
	t->node = NULL;
	t->edge = NULL;
	t->bytes = NULL;
	return 0;
}

/* Accepts the set's entries; builds the prefix (or suffix, reverse) trie. */
struct ds_trie *ds_trie_build(const struct ds_entry *e, uint32_t n, bool nocase, bool reverse)
{
	struct ds_trie *t = calloc(1, sizeof(*t));
	struct tkey *k = NULL;
	struct twork *queue = NULL;
	uint32_t cap = 16, qhead = 0, qtail = 0, i;
	size_t total = 0;

	if (!t)
		return NULL;
	t->nocase = nocase;
	t->reverse = reverse;
	for (i = 0; i < n; i++)
		total += e[i].key_len;
	if (total >= UINT32_MAX)
		goto fail;
	t->bytes = malloc(total ? total : 1);
	k = malloc((n ? n : 1) * sizeof(*k));
	/* Every node is queued once; a trie over n keys has < 2n + 1 nodes. */
	queue = malloc(((size_t)n * 2 + 2) * sizeof(*queue));
	t->node = malloc(cap * sizeof(*t->node));
	t->edge = malloc(cap);
	if (!t->bytes || !k || !queue || !t->node || !t->edge)
		goto fail;
	total = 0;
	for (i = 0; i < n; i++) {
		char *dst = t->bytes + total;
		uint32_t j, len = e[i].key_len;

		for (j = 0; j < len; j++) {
			unsigned char c = (unsigned char)e[i].key[reverse ? len - 1 - j : j];

			dst[j] = (char)(nocase ? ds_fold(c) : c);
		}
		k[i].off = (uint32_t)total;
		k[i].len = len;
		k[i].idx = i;
		total += len;
	}
	qsort_r(k, n, sizeof(*k), tkey_cmp, t->bytes);
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
	queue[qtail++] = (struct twork){ .lo = 0, .hi = n, .depth = 0, .node = 0 };
	while (qhead < qtail) {
		struct twork w = queue[qhead++];

		if (trie_fill(t, k, &w, queue, &qtail, &cap))
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
	free(t->bytes);
	free(t->cn);
	free(t->blob);
	free(t->eq);
	free(t->sidx);
	free(t);
}

/* Child of nd whose edge byte is c (edges sorted in the blob), or 0. */
static inline uint32_t trie_child(const struct ds_cnode *nd, const unsigned char *edges,
				  unsigned char c)
{
	uint32_t lo = 0, hi = nd->nchild;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (edges[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nd->nchild && edges[lo] == c ? nd->first_child + lo : 0;
}

/* Byte pos of the input as the trie sees it (reversed and folded). */
static inline unsigned char trie_in(const struct ds_trie *t, const char *str, size_t len,
				    size_t pos)
{
	unsigned char c = (unsigned char)str[t->reverse ? len - 1 - pos : pos];

	return t->nocase ? ds_fold(c) : c;
}

/*
 * One step down from node nd at input offset *pos: match its label (sets
 * *matched and moves *pos past it), then pick the child for the next byte.
 * Returns that child, or 0 when the walk ends here.
 */
static inline uint32_t trie_step(const struct ds_trie *t, const struct ds_cnode *nd,
				 const char *str, size_t len, size_t *pos, bool *matched)
{
	const unsigned char *lab = t->blob + nd->blob;
	uint32_t i;

	*matched = false;
	if (nd->label_len > len - *pos)
		return 0;
	for (i = 0; i < nd->label_len; i++)
		if (trie_in(t, str, len, *pos + i) != lab[i])
			return 0;
	*pos += nd->label_len;
	*matched = true;
	if (*pos == len || !nd->nchild)
		return 0;
	return trie_child(nd, lab + nd->label_len, trie_in(t, str, len, *pos));
}

/* Accepts any bytes; returns the longest key that is a prefix (suffix). */
uint32_t ds_trie_longest(const struct ds_trie *t, const char *str, size_t len)
{
	const struct ds_cnode *nd = &t->cn[0];
	uint32_t best = DS_NONE, child;
	size_t pos = 0;
	bool matched;

	for (;;) {
		child = trie_step(t, nd, str, len, &pos, &matched);
		if (matched && nd->entry != DS_NONE)
			best = nd->entry;
		if (!child)
			return best;
		nd = &t->cn[child];
		pos++;
	}
}

size_t ds_trie_bytes(const struct ds_trie *t)
{
	return sizeof(*t) + (size_t)t->nnodes * (sizeof(*t->cn) + sizeof(*t->eq)) + t->blob_len +
	       (size_t)t->n * sizeof(*t->sidx);
}

/*
 * Accepts any bytes; calls visit for every key that is a prefix (suffix) of
 * str, shortest first, with all entries equal to that key in index order;
 * stops when visit returns true.
 */
void ds_trie_walk(const struct ds_trie *t, const char *str, size_t len, ds_trie_visit_fn visit,
		  void *ctx)
{
	uint32_t cur = 0, child;
	size_t pos = 0;
	bool matched;

	for (;;) {
		child = trie_step(t, &t->cn[cur], str, len, &pos, &matched);
		if (matched && t->eq[cur].cnt &&
		    visit(ctx, t->sidx + t->eq[cur].pos, t->eq[cur].cnt))
			return;
		if (!child)
			return;
		cur = child;
		pos++;
	}
}
