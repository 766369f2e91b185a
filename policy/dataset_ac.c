// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_ac.c - CONTAINS: an Aho-Corasick automaton.
 *
 * The trie is built breadth first from the sorted keys (which is the order
 * failure links need), then renumbered depth first for locality: each
 * state's children get one consecutive block of numbers, sorted by edge
 * byte, allocated when the state is visited, so a chain of single-child
 * states - the tail of every long key, where a scan of a matching subject
 * spends its cold misses at 100,000 keys - is a run of consecutive states:
 * four 16-byte records per cache line and their edge bytes side by side,
 * instead of one new line of each per byte. A state costs 17 bytes (first
 * child, child count, failure link, output, edge byte) and a transition is
 * a bisection over at most 256 bytes. The root, where a scan spends most
 * of its time on a miss, has a full 256-entry table instead.
 *
 * out[s] is the lowest entry index among the keys that end at s or at any
 * state on its failure chain (the keys that are suffixes of the text read
 * so far), computed once at build time; a scan therefore takes the minimum
 * of out[] over the states it visits. It stops early only when it has found
 * the lowest index of the whole set, since any later position could still
 * hold a lower-index key.
 */
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

struct ds_acstate {
	uint32_t first_child;
	uint32_t nchild;
	uint32_t fail;
	uint32_t out;
};

struct ds_ac {
	bool nocase;
	uint32_t nstates;
	uint32_t min_index;	/* lowest index of any key: stop when found */
	struct ds_acstate *st;	/* nstates + 1 (sentinel first_child) */
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

static int ac_grow(struct ds_ac *a, struct acbuild **b, uint32_t *cap, uint32_t want)
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
static inline uint32_t ac_child(const struct ds_ac *a, uint32_t s, unsigned char c)
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
static int ac_trie(struct ds_ac *a, const struct ackey *k, uint32_t n, struct acbuild **bp,
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
	a->st[a->nstates] = (struct ds_acstate){ a->nstates, 0, 0, DS_NONE };
	return 0;
}

/* Phase 2: failure links and outputs, breadth first (fail[s] < s). */
static void ac_links(struct ds_ac *a, const struct acbuild *b)
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
static int ac_renumber(struct ds_ac *a)
{
	uint32_t *nid = malloc((size_t)a->nstates * sizeof(*nid));
	uint32_t *stack = malloc((size_t)a->nstates * sizeof(*stack));
	struct ds_acstate *st = malloc(((size_t)a->nstates + 1) * sizeof(*st));
	unsigned char *edge = malloc(a->nstates);
	uint32_t next = 1, top = 0, s, i;
	int ret = -1;

	if (!nid || !stack || !st || !edge)
		goto out;
	nid[0] = 0;
	stack[top++] = 0;
	while (top) {
		const struct ds_acstate *o = &a->st[stack[--top]];

		for (i = 0; i < o->nchild; i++)
			nid[o->first_child + i] = next++;
		for (i = o->nchild; i-- > 0;)
			stack[top++] = o->first_child + i;
	}
	for (s = 0; s < a->nstates; s++) {
		const struct ds_acstate *o = &a->st[s];

		st[nid[s]] = (struct ds_acstate){
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
struct ds_ac *ds_ac_build(const struct ds_entry *e, uint32_t n, bool nocase)
{
	struct ds_ac *a = calloc(1, sizeof(*a));
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
	ds_ac_free(a);
	return NULL;
}

void ds_ac_free(struct ds_ac *a)
{
	if (!a)
		return;
	free(a->st);
	free(a->edge);
	free(a);
}

/* Accepts any bytes; returns the lowest-index key occurring in str. */
uint32_t ds_ac_find(const struct ds_ac *a, const char *str, size_t len)
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

size_t ds_ac_bytes(const struct ds_ac *a)
{
	return sizeof(*a) + ((size_t)a->nstates + 1) * sizeof(*a->st) + a->nstates;
}
