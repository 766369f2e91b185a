// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_hash.c - EQUALS: open-addressing hash table with linear probing.
 *
 * The hash reads the key eight bytes at a time, so the case-insensitive
 * table can fold each word of the input (ds_fold8) as it hashes and as it
 * compares, with no copy of the input. Keys are stored folded at build time
 * for that table. Each slot keeps 32 bits of the hash next to the entry
 * index so that almost every mismatch is rejected without touching the key.
 * The table is at most half full, so a miss probes ~1.5 slots on average.
 */
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

struct ds_slot {
	uint32_t tag;		/* high 32 bits of the hash */
	uint32_t idx;		/* entry index, DS_NONE when empty */
};

struct ds_hash {
	uint64_t mask;		/* slots - 1 */
	bool nocase;
	struct ds_slot *slot;
	const char **key;	/* per entry: the key as compared (folded if nocase) */
	uint32_t *klen;
	char *folded;		/* arena of folded keys (nocase only) */
	size_t bytes;
};

#define HASH_K1 0x9e3779b97f4a7c15ULL
#define HASH_K2 0xbf58476d1ce4e5b9ULL

/* Load up to 8 bytes (little-endian order), zero-padded. */
static inline uint64_t load_tail(const char *p, size_t n)
{
	uint64_t w = 0;

	memcpy(&w, p, n);
	return w;
}

static inline uint64_t load8(const char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

/* Final avalanche so both the low (slot) and high (tag) bits are good. */
static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 31;
	h *= HASH_K2;
	h ^= h >> 29;
	h *= HASH_K1;
	h ^= h >> 32;
	return h;
}

/* Hash of str[0..len); folds ASCII case word by word when nocase. */
static inline uint64_t hash_str(const char *str, size_t len, bool nocase)
{
	uint64_t h = (uint64_t)len * HASH_K1 + HASH_K2;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w = load8(str + i);

		if (nocase)
			w = ds_fold8(w);
		h = (h ^ w) * HASH_K1;
		h ^= h >> 27;
	}
	if (i < len) {
		uint64_t w = load_tail(str + i, len - i);

		if (nocase)
			w = ds_fold8(w);
		h = (h ^ w) * HASH_K1;
	}
	return mix64(h);
}

/* Does str (folded on the fly if nocase) equal the stored key? */
static inline bool key_eq(const char *key, const char *str, size_t len, bool nocase)
{
	size_t i = 0;

	if (!nocase)
		return memcmp(key, str, len) == 0;
	for (; i + 8 <= len; i += 8)
		if (ds_fold8(load8(str + i)) != load8(key + i))
			return false;
	if (i < len)
		return ds_fold8(load_tail(str + i, len - i)) == load_tail(key + i, len - i);
	return true;
}

/* Accepts the set's entries; duplicates keep the lowest index. */
struct ds_hash *ds_hash_build(const struct ds_entry *e, uint32_t n, bool nocase)
{
	struct ds_hash *h = calloc(1, sizeof(*h));
	size_t slots = 16, total = 0, i;
	char *p;

	if (!h)
		return NULL;
	while (slots < (size_t)n * 2)
		slots <<= 1;
	h->mask = slots - 1;
	h->nocase = nocase;
	h->slot = malloc(slots * sizeof(*h->slot));
	h->key = malloc((n ? n : 1) * sizeof(*h->key));
	h->klen = malloc((n ? n : 1) * sizeof(*h->klen));
	if (!h->slot || !h->key || !h->klen)
		goto fail;
	for (i = 0; i < slots; i++)
		h->slot[i].idx = DS_NONE;
	if (nocase) {
		for (i = 0; i < n; i++)
			total += e[i].key_len + 1;
		h->folded = malloc(total ? total : 1);
		if (!h->folded)
			goto fail;
	}
	p = h->folded;
	for (i = 0; i < n; i++) {
		h->klen[i] = e[i].key_len;
		if (nocase) {
			ds_fold_copy(p, e[i].key, e[i].key_len);
			h->key[i] = p;
			p += e[i].key_len + 1;
		} else {
			h->key[i] = e[i].key;
		}
	}
	for (i = 0; i < n; i++) {
		uint64_t hv = hash_str(h->key[i], h->klen[i], false);
		uint64_t pos = hv & h->mask;
		uint32_t tag = (uint32_t)(hv >> 32);

		for (;; pos = (pos + 1) & h->mask) {
			struct ds_slot *sl = &h->slot[pos];

			if (sl->idx == DS_NONE) {
				sl->idx = (uint32_t)i;
				sl->tag = tag;
				break;
			}
			/* Same key seen before: the earlier entry wins. */
			if (sl->tag == tag && h->klen[sl->idx] == h->klen[i] &&
			    memcmp(h->key[sl->idx], h->key[i], h->klen[i]) == 0)
				break;
		}
	}
	h->bytes = sizeof(*h) + slots * sizeof(*h->slot) +
		   (size_t)n * (sizeof(*h->key) + sizeof(*h->klen)) + total;
	return h;
fail:
	ds_hash_free(h);
	return NULL;
}

void ds_hash_free(struct ds_hash *h)
{
	if (!h)
		return;
	free(h->slot);
	free(h->key);
	free(h->klen);
	free(h->folded);
	free(h);
}

/* Accepts any bytes; returns the entry equal to str or DS_NONE. */
uint32_t ds_hash_find(const struct ds_hash *h, const char *str, size_t len)
{
	const uint64_t hv = hash_str(str, len, h->nocase);
	const uint32_t tag = (uint32_t)(hv >> 32);
	uint64_t pos = hv & h->mask;

	for (;; pos = (pos + 1) & h->mask) {
		const struct ds_slot *sl = &h->slot[pos];

		if (sl->idx == DS_NONE)
			return DS_NONE;
		if (sl->tag == tag && h->klen[sl->idx] == len &&
		    key_eq(h->key[sl->idx], str, len, h->nocase))
			return sl->idx;
	}
}

size_t ds_hash_bytes(const struct ds_hash *h)
{
	return h->bytes;
}
