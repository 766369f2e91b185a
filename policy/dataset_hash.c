// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_hash.c - EQUALS: a static retrieval table in front of one
 * cache-line record per entry.
 *
 * Why not an ordinary hash table: at 100,000 entries every structure is
 * far bigger than L2, and an open-addressing table costs a slot line, then
 * (on a hit) the key line it points to, then the caller's entry line for
 * the index the slot held: three misses, each waiting for the one before.
 * The set never changes after it is built, so the index itself can be
 * *computed* from the key instead of looked up:
 *
 *  - A retrieval table (XOR of three cells, a 3-hypergraph solved by
 *    peeling at build time) returns, for every key of the set, a 32-bit
 *    word holding that key's entry index and a fingerprint of its hash.
 *    It needs ~1.23 words per unique key (about 0.5 MB at 100,000 keys),
 *    small enough to stay in L2, and the three cells are read in parallel.
 *  - For a string that is not in the set the word is noise, so its
 *    fingerprint bits disagree (all but ~2^-(32 - index bits) of the time)
 *    and the miss is answered from L2 without touching any other memory.
 *  - A candidate is confirmed against its own 64-byte record (length and
 *    up to 56 key bytes inline; longer keys out of line), one line, and
 *    the caller's entry for the same index (which dataset.c reads next on
 *    a hit) is prefetched at the same moment, so the two misses overlap
 *    instead of following each other.
 *
 * The hash takes the input 16 bytes at a time, one 64x64->128 multiply
 * per block, blocks independent of each other (summed), so a ~30-byte
 * path is three multiplies, two of them in parallel. The case-insensitive
 * table stores folded keys and folds the input word by word (ds_fold8) as
 * it hashes and compares, with no copy of the input. Records of 2 MiB and
 * more are advised as huge pages (a hit's line without a page walk).
 *
 * Memory at 100,000 ~30-byte keys: 6.4 MB of records + 0.5 MB of cells
 * (the open-addressing table it replaces held 6.4 MB). The set's entry
 * array is kept by pointer only to prefetch from; it outlives the table.
 *
 * Duplicate keys keep the lowest index: later copies are left out of the
 * retrieval table. Building can fail to peel for an unlucky seed; it then
 * retries with another seed (and after a few tries a slightly larger
 * table), which with distinct keys succeeds almost always on the first.
 */
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

#define REC_INLINE 56 /* key bytes kept inside the record */
#define MAX_TRIES  64

/*
 * One entry as the lookup confirms it, exactly one cache line. Inline keys
 * are zero-padded to REC_INLINE so the compare can load whole words.
 */
struct ds_rec {
	uint32_t len;
	uint32_t pad;
	union {
		char key[REC_INLINE];
		const char *ext; /* len > REC_INLINE: key in the spill area */
	};
} __attribute__((aligned(64)));

struct ds_hash {
	uint32_t *cell;	 /* 3 * seg retrieval cells */
	uint32_t seg;	 /* cells per third */
	uint32_t n;	 /* entries (records) */
	uint32_t fpmask; /* bits of a cell word that hold the fingerprint */
	bool nocase;
	uint64_t seed;
	struct ds_rec *rec;	    /* one per entry, by index */
	char *spill;		    /* long keys (folded if nocase) */
	const struct ds_entry *ent; /* the set's entries: only prefetched */
	size_t bytes;
};

#define K1 0x9e3779b97f4a7c15ULL
#define K2 0xbf58476d1ce4e5b9ULL
#define K3 0x94d049bb133111ebULL
#define K4 0xd6e8feb86659fd93ULL

/* Unaligned little-endian loads of 8, 4 and 2 bytes. */
static inline uint64_t load8(const char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

static inline uint32_t load4(const char *p)
{
	uint32_t w;

	memcpy(&w, p, 4);
	return w;
}

static inline uint16_t load2(const char *p)
{
	uint16_t w;

	memcpy(&w, p, 2);
	return w;
}

/*
 * Bytes p[i..len) zero-extended to a word; accepts 1 <= len - i <= 8. Uses
 * overlapping fixed-size loads that stay inside p[0..len), no memcpy call.
 */
static inline uint64_t load_part(const char *p, size_t i, size_t len)
{
	size_t n = len - i;

	if (len >= 8)
		return load8(p + len - 8) >> (64 - 8 * n);
	if (n >= 4)
		return load4(p) | (uint64_t)load4(p + n - 4) << (8 * (n - 4));
	if (n >= 2)
		return load2(p) | (uint64_t)load2(p + n - 2) << (8 * (n - 2));
	return (unsigned char)p[0];
}

/* The word at str+i (folded if nocase); accepts i + 8 <= length. */
static inline uint64_t word(const char *str, size_t i, bool nocase)
{
	uint64_t w = load8(str + i);

	return nocase ? ds_fold8(w) : w;
}

/* The last 1..8 bytes from str+i (folded if nocase), zero-extended. */
static inline uint64_t tail(const char *str, size_t i, size_t len, bool nocase)
{
	uint64_t w = load_part(str, i, len);

	return nocase ? ds_fold8(w) : w;
}

/* 128-bit product folded to 64: the mixing step of the hash. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/*
 * Hash of str[0..len) under seed, folding ASCII case when nocase. Each
 * 16-byte block is multiplied on its own (with a secret that depends on
 * its position, so blocks cannot trade places) and the products summed:
 * the blocks' multiplies run in parallel instead of one after the other.
 * The seed enters both factors of every multiply, so a word that zeroes a
 * product for one seed does not for the next (build retries rely on that).
 */
static inline __attribute__((always_inline)) uint64_t hash_str(const char *str, size_t len,
							       uint64_t seed, bool nocase)
{
	const uint64_t s2 = (seed * K1) ^ K3;
	uint64_t s1 = seed ^ K2, h = seed ^ ((uint64_t)len * K1);
	size_t i = 0;

	for (; i + 16 <= len; i += 16, s1 += K3)
		h += mum(word(str, i, nocase) ^ s1, word(str, i + 8, nocase) ^ s2);
	if (len - i > 8)
		h += mum(word(str, i, nocase) ^ s1, tail(str, i + 8, len, nocase) ^ s2);
	else if (len > i)
		h += mum(tail(str, i, len, nocase) ^ s1, s2);
	return mum(h ^ K4, s2 ^ len);
}

/* The three cells (one per third of the table) the hash h names. */
static inline void cells_of(uint64_t h, uint32_t seg, uint32_t pos[3])
{
	const uint64_t r1 = (h << 21) | (h >> 43), r2 = (h << 42) | (h >> 22);

	pos[0] = (uint32_t)(((uint64_t)(uint32_t)h * seg) >> 32);
	pos[1] = seg + (uint32_t)(((uint64_t)(uint32_t)r1 * seg) >> 32);
	pos[2] = 2 * seg + (uint32_t)(((uint64_t)(uint32_t)r2 * seg) >> 32);
}

/* Fingerprint source: hash bits mixed apart from the ones naming cells. */
static inline uint32_t fp_of(uint64_t h)
{
	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

/* Stored key bytes of r (inline or spilled). */
static inline const char *rec_key(const struct ds_rec *r)
{
	return r->len > REC_INLINE ? r->ext : r->key;
}

/*
 * Does str (folded on the fly if nocase) equal the inline key of r? The
 * last word is read overlapping the one before it (both sides end at len),
 * so no partial word is assembled unless the key is under eight bytes.
 */
static inline __attribute__((always_inline)) bool eq_inline(const struct ds_rec *r, const char *str,
							    size_t len, bool nocase)
{
	uint64_t diff;
	size_t i;

	if (len < 8)
		return len == 0 || tail(str, 0, len, nocase) == load8(r->key);
	diff = word(str, len - 8, nocase) ^ load8(r->key + len - 8);
	for (i = 0; i + 8 < len; i += 8)
		diff |= word(str, i, nocase) ^ load8(r->key + i);
	return diff == 0;
}

/* The same for a spilled key (any length > REC_INLINE, not padded). */
static bool eq_spill(const char *key, const char *str, size_t len, bool nocase)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8)
		if (word(str, i, nocase) != load8(key + i))
			return false;
	return i == len || tail(str, i, len, nocase) == load_part(key, i, len);
}

/*
 * Is str (folded on the fly if nocase) the key of r? The build's duplicate
 * check uses it too, so lookup and build agree on what "equal" means.
 */
static inline __attribute__((always_inline)) bool rec_eq(const struct ds_rec *r, const char *str,
							 size_t len, bool nocase)
{
	if (r->len != len)
		return false;
	if (len <= REC_INLINE)
		return eq_inline(r, str, len, nocase);
	return eq_spill(r->ext, str, len, nocase);
}

/* Records for all n entries (keys folded if nocase); 0 or -1 (ENOMEM). */
static int recs_fill(struct ds_hash *h, const struct ds_entry *e, uint32_t n)
{
	size_t spill = 0, i;
	char *p;

	for (i = 0; i < n; i++)
		if (e[i].key_len > REC_INLINE)
			spill += e[i].key_len;
	h->rec = ds_alloc_lines((n ? n : 1) * sizeof(*h->rec), NULL);
	if (!h->rec)
		return -1;
	h->spill = p = spill ? malloc(spill) : NULL;
	if (spill && !p)
		return -1;
	for (i = 0; i < n; i++) {
		struct ds_rec *r = &h->rec[i];
		char *dst = r->key;

		r->len = e[i].key_len;
		if (r->len > REC_INLINE) {
			r->ext = dst = p;
			p += r->len;
		}
		if (h->nocase)
			ds_fold_copy(dst, e[i].key, r->len);
		else if (r->len)
			memcpy(dst, e[i].key, r->len);
	}
	h->bytes += (n ? n : 1) * sizeof(*h->rec) + spill;
	return 0;
}

/*
 * Indices of the first occurrence of every distinct key, in order; *nu is
 * their count. Returns NULL on ENOMEM.
 */
static uint32_t *dedupe(const struct ds_hash *h, uint32_t n, uint32_t *nu)
{
	size_t slots = 16, i;
	uint32_t *tab, *uniq;

	while (slots < (size_t)n * 2)
		slots <<= 1;
	tab = malloc(slots * sizeof(*tab));
	uniq = malloc((n ? n : 1) * sizeof(*uniq));
	if (!tab || !uniq) {
		free(tab);
		free(uniq);
		return NULL;
	}
	memset(tab, 0xff, slots * sizeof(*tab));
	*nu = 0;
	for (i = 0; i < n; i++) {
		const struct ds_rec *r = &h->rec[i];
		size_t pos = hash_str(rec_key(r), r->len, 0, false) & (slots - 1);

		for (;; pos = (pos + 1) & (slots - 1)) {
			const struct ds_rec *o;

			if (tab[pos] == DS_NONE) {
				tab[pos] = (uint32_t)i;
				uniq[(*nu)++] = (uint32_t)i;
				break;
			}
			o = &h->rec[tab[pos]];
			if (rec_eq(o, rec_key(r), r->len, false))
				break;
		}
	}
	free(tab);
	return uniq;
}

/* Scratch for one peeling attempt, sized for nu keys and m cells. */
struct peel {
	uint64_t *hv;	 /* hash per unique key */
	uint32_t *deg;	 /* keys still touching each cell */
	uint32_t *xk;	 /* XOR of those keys' numbers */
	uint32_t *queue; /* cells of degree one */
	uint32_t *order; /* keys in peel order ... */
	uint32_t *at;	 /* ... and the cell each was peeled from */
};

/* Free the scratch (any part may be NULL) and reset it to empty. */
static void peel_free(struct peel *pl)
{
	free(pl->hv);
	free(pl->deg);
	free(pl->xk);
	free(pl->queue);
	free(pl->order);
	free(pl->at);
	memset(pl, 0, sizeof(*pl));
}

/* Scratch for nu keys over m cells into an empty pl; 0 or -1. */
static int peel_alloc(struct peel *pl, uint32_t nu, size_t m)
{
	pl->hv = malloc((nu + 1) * sizeof(*pl->hv));
	pl->deg = malloc(m * sizeof(*pl->deg));
	pl->xk = malloc(m * sizeof(*pl->xk));
	pl->queue = malloc(m * sizeof(*pl->queue));
	pl->order = malloc((nu + 1) * sizeof(*pl->order));
	pl->at = malloc((nu + 1) * sizeof(*pl->at));
	if (!pl->hv || !pl->deg || !pl->xk || !pl->queue || !pl->order || !pl->at)
		return -1; /* the caller frees what was allocated */
	return 0;
}

/*
 * One attempt with h->seed and h->seg: peel the hypergraph whose edges are
 * the unique keys, then assign cells in reverse peel order so each key's
 * three cells XOR to its word. Returns false when the graph has a core
 * (the caller retries with another seed).
 */
static bool solve(struct ds_hash *h, const uint32_t *uniq, uint32_t nu, struct peel *pl)
{
	const size_t m = (size_t)h->seg * 3;
	uint32_t qn = 0, done = 0, i, k, pos[3];

	memset(pl->deg, 0, m * sizeof(*pl->deg));
	memset(pl->xk, 0, m * sizeof(*pl->xk));
	for (i = 0; i < nu; i++) {
		const struct ds_rec *r = &h->rec[uniq[i]];

		pl->hv[i] = hash_str(rec_key(r), r->len, h->seed, false);
		cells_of(pl->hv[i], h->seg, pos);
		for (k = 0; k < 3; k++) {
			pl->deg[pos[k]]++;
			pl->xk[pos[k]] ^= i;
		}
	}
	for (i = 0; i < m; i++)
		if (pl->deg[i] == 1)
			pl->queue[qn++] = i;
	while (qn) {
		const uint32_t c = pl->queue[--qn];
		uint32_t key;

		if (pl->deg[c] != 1)
			continue;
		key = pl->xk[c];
		pl->order[done] = key;
		pl->at[done++] = c;
		cells_of(pl->hv[key], h->seg, pos);
		for (k = 0; k < 3; k++) {
			pl->deg[pos[k]]--;
			pl->xk[pos[k]] ^= key;
			if (pl->deg[pos[k]] == 1)
				pl->queue[qn++] = pos[k];
		}
	}
	if (done != nu)
		return false;
	memset(h->cell, 0, m * sizeof(*h->cell));
	while (done--) {
		const uint32_t key = pl->order[done], c = pl->at[done];
		const uint64_t hv = pl->hv[key];
		uint32_t w = uniq[key] | (fp_of(hv) & h->fpmask);

		cells_of(hv, h->seg, pos);
		for (k = 0; k < 3; k++)
			if (pos[k] != c)
				w ^= h->cell[pos[k]];
		h->cell[c] = w;
	}
	return true;
}

/* Cells per third for nu keys, grown by ~10% per four failed tries. */
static uint32_t seg_for(uint32_t nu, int tries)
{
	double cells = 1.23 * nu + 32;
	int g;

	for (g = 0; g < tries / 4; g++)
		cells *= 1.1;
	return (uint32_t)(cells / 3) + 1;
}

/* Build the retrieval cells over the unique keys; 0 or -1. */
static int cells_build(struct ds_hash *h, const uint32_t *uniq, uint32_t nu)
{
	struct peel pl = {0};
	int tries, ret = -1;

	for (tries = 0; tries < MAX_TRIES; tries++) {
		const uint32_t seg = seg_for(nu, tries);

		/* Scratch and cells sized for this try (the size grows rarely). */
		if (!h->cell || seg != h->seg) {
			peel_free(&pl);
			free(h->cell);
			h->seg = seg;
			h->cell = malloc((size_t)seg * 3 * sizeof(*h->cell));
			if (!h->cell || peel_alloc(&pl, nu, (size_t)seg * 3))
				goto out;
		}
		h->seed = (uint64_t)(tries + 1) * K4 ^ K3;
		if (solve(h, uniq, nu, &pl)) {
			h->bytes += (size_t)seg * 3 * sizeof(*h->cell);
			ret = 0;
			goto out;
		}
	}
out:
	peel_free(&pl);
	return ret;
}

/* Accepts the set's entries (kept by the set for this table's lifetime). */
struct ds_hash *ds_hash_build(const struct ds_entry *e, uint32_t n, bool nocase)
{
	struct ds_hash *h = calloc(1, sizeof(*h));
	uint32_t *uniq = NULL, nu = 0, bits;

	if (!h)
		return NULL;
	h->n = n;
	h->nocase = nocase;
	h->ent = e;
	h->bytes = sizeof(*h);
	/* Index bits; the rest of each cell word is fingerprint. */
	bits = n <= 1 ? 0 : 64 - (uint32_t)__builtin_clzll((uint64_t)n - 1);
	h->fpmask = (uint32_t)(~0ULL << bits);
	if (recs_fill(h, e, n))
		goto fail;
	uniq = dedupe(h, n, &nu);
	if (!uniq || cells_build(h, uniq, nu))
		goto fail;
	free(uniq);
	return h;
fail:
	free(uniq);
	ds_hash_free(h);
	return NULL;
}

/* Accepts NULL. */
void ds_hash_free(struct ds_hash *h)
{
	if (!h)
		return;
	free(h->cell);
	free(h->rec);
	free(h->spill);
	free(h);
}

/*
 * The lookup, inlined once per case mode so the per-word fold is compiled
 * in or out rather than tested at every word.
 */
static inline __attribute__((always_inline)) uint32_t find(const struct ds_hash *h, const char *str,
							   size_t len, bool nocase)
{
	const uint64_t hv = hash_str(str, len, h->seed, nocase);
	uint32_t pos[3], w, idx;

	cells_of(hv, h->seg, pos);
	w = h->cell[pos[0]] ^ h->cell[pos[1]] ^ h->cell[pos[2]];
	idx = w & ~h->fpmask;
	if (((w ^ fp_of(hv)) & h->fpmask) || idx >= h->n)
		return DS_NONE;
	/* dataset.c reads this entry on a hit: start it with our record. */
	__builtin_prefetch(&h->ent[idx]);
	return rec_eq(&h->rec[idx], str, len, nocase) ? idx : DS_NONE;
}

/* Accepts any bytes; returns the entry equal to str or DS_NONE. */
uint32_t ds_hash_find(const struct ds_hash *h, const char *str, size_t len)
{
	return h->nocase ? find(h, str, len, true) : find(h, str, len, false);
}

/* Bytes held: records, spilled keys, cells and the header. */
size_t ds_hash_bytes(const struct ds_hash *h)
{
	return h->bytes;
}
