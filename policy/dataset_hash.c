// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_hash.c - EQUALS: open-addressing hash table with linear probing.
 *
 * The hash reads the key eight bytes at a time, so the case-insensitive
 * table can fold each word of the input (ds_fold8) as it hashes and as it
 * compares, with no copy of the input. Keys are stored folded at build time
 * for that table. Keys live packed in one arena owned by the table, and
 * each slot keeps 32 bits of the hash, the key length and offset next to
 * the entry index, so almost every mismatch is rejected without touching
 * the key and a lookup costs one slot line (plus one key line on a hit).
 * The table is at most half full, so a miss probes ~1.5 slots on average.
 */
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

/*
 * A slot holds everything a probe needs before it touches the key: 32 bits
 * of the hash (the other, low bits chose the slot), the key length and the
 * key's offset in the table's own arena. Four slots share a cache line, so
 * a miss costs one line and a hit one more for the key bytes.
 */
struct ds_slot {
	uint32_t tag;		/* high 32 bits of the hash */
	uint32_t len;		/* key length */
	uint32_t off;		/* key offset in arena */
	uint32_t idx;		/* entry index, DS_NONE when empty */
};

struct ds_hash {
	uint64_t mask;		/* slots - 1 */
	bool nocase;
	struct ds_slot *slot;
	char *arena;		/* keys as compared (folded if nocase), packed */
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

	if (!h)
		return NULL;
	/* Load <= 0.5: a miss probes ~1.5 slots, usually in one cache line. */
	while (slots < (size_t)n * 2)
		slots <<= 1;
	for (i = 0; i < n; i++)
		total += e[i].key_len;
	if (total >= UINT32_MAX)
		goto fail;
	h->mask = slots - 1;
	h->nocase = nocase;
	h->slot = malloc(slots * sizeof(*h->slot));
	/* 8 spare bytes: the compare may load a whole word at the end. */
	h->arena = malloc(total + 8);
	if (!h->slot || !h->arena)
		goto fail;
	for (i = 0; i < slots; i++)
		h->slot[i].idx = DS_NONE;
	total = 0;
	for (i = 0; i < n; i++) {
		const char *key = h->arena + total;
		uint64_t hv, pos;
		uint32_t tag;

		if (nocase)
			ds_fold_copy(h->arena + total, e[i].key, e[i].key_len);
		else if (e[i].key_len)
			memcpy(h->arena + total, e[i].key, e[i].key_len);
		hv = hash_str(key, e[i].key_len, false);
		tag = (uint32_t)(hv >> 32);
		for (pos = hv & h->mask;; pos = (pos + 1) & h->mask) {
			struct ds_slot *sl = &h->slot[pos];

			if (sl->idx == DS_NONE) {
				*sl = (struct ds_slot){ tag, e[i].key_len, (uint32_t)total,
							(uint32_t)i };
				total += e[i].key_len;
				break;
			}
			/* Same key seen before: the earlier entry wins, no copy kept. */
			if (sl->tag == tag && sl->len == e[i].key_len &&
			    memcmp(h->arena + sl->off, key, e[i].key_len) == 0)
				break;
		}
	}
	memset(h->arena + total, 0, 8);
	h->bytes = sizeof(*h) + slots * sizeof(*h->slot) + total + 8;
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
	free(h->arena);
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
		if (sl->tag == tag && sl->len == len &&
		    key_eq(h->arena + sl->off, str, len, h->nocase))
			return sl->idx;
	}
}

size_t ds_hash_bytes(const struct ds_hash *h)
{
	return h->bytes;
}
