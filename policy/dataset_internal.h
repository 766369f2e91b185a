/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dataset_internal.h - the per-operator engines behind dataset.h.
 *
 * Each engine is built from the set's entry array and keeps only indices
 * into it (plus its own transformed copy of the keys where the operator
 * needs one: folded for case-insensitive, reversed for ENDS_WITH). Every
 * engine's match function is read-only and allocation-free.
 *
 * Index convention: entries are numbered 0..n-1 in configuration order;
 * DS_NONE means "no entry".
 */
#ifndef XADC_POLICY_DATASET_INTERNAL_H
#define XADC_POLICY_DATASET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

#define DS_NONE UINT32_MAX

/* One entry as the set stores it (key and value copied, NUL-terminated). */
struct ds_entry {
	const char *key;
	const char *value;
	uint32_t key_len;
	uint32_t value_len;
};

/* ASCII-only case fold: bytes >= 0x80 are left alone (so 'É' stays 'É'). */
static inline unsigned char ds_fold(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Fold the eight bytes of w at once (ASCII only, see ds_fold). */
static inline uint64_t ds_fold8(uint64_t w)
{
	const uint64_t lo7 = w & 0x7f7f7f7f7f7f7f7fULL;
	/* High bit of each byte set when the byte (low 7 bits) is > 'Z'. */
	const uint64_t gt_z = lo7 + 0x2525252525252525ULL;
	/* ... and when it is >= 'A'. */
	const uint64_t ge_a = lo7 + 0x3f3f3f3f3f3f3f3fULL;
	const uint64_t ascii = ~w & 0x8080808080808080ULL;
	const uint64_t upper = (ge_a ^ gt_z) & ascii & 0x8080808080808080ULL;

	return w | (upper >> 2);
}

/*
 * Build-time allocation of a structure a lookup reads at random: zeroed,
 * 64-byte aligned, and from 1 MiB up 2 MiB aligned and advised as
 * transparent huge pages (at 100,000 keys the records span thousands of
 * 4 KiB pages, more than the TLB holds, and a page walk would add a
 * dependent miss to every hit; best effort). The size is rounded up to the
 * alignment; *got (if not NULL) receives it. Freed with free().
 */
void *ds_alloc_lines(size_t size, size_t *got);

/* Build-time helper: a fresh copy of src with ASCII case folded. */
void ds_fold_copy(char *dst, const char *src, size_t len);

/* --- EQUALS: open-addressing hash table (dataset_hash.c) ----------------- */
struct ds_hash;
struct ds_hash *ds_hash_build(const struct ds_entry *e, uint32_t n, bool nocase);
void ds_hash_free(struct ds_hash *h);
uint32_t ds_hash_find(const struct ds_hash *h, const char *str, size_t len);
size_t ds_hash_bytes(const struct ds_hash *h);

/* --- BEGINS_WITH / ENDS_WITH: radix trie (dataset_trie.c) ---------------- */
struct ds_trie;
struct ds_trie *ds_trie_build(const struct ds_entry *e, uint32_t n, bool nocase, bool reverse);
void ds_trie_free(struct ds_trie *t);
/* Longest key that is a prefix (suffix when built reversed) of str. */
uint32_t ds_trie_longest(const struct ds_trie *t, const char *str, size_t len);
size_t ds_trie_bytes(const struct ds_trie *t);
/* Return true to stop the walk. */
typedef bool (*ds_trie_visit_fn)(void *ctx, const uint32_t *idx, uint32_t cnt);
void ds_trie_walk(const struct ds_trie *t, const char *str, size_t len, ds_trie_visit_fn visit,
		  void *ctx);

/* --- CONTAINS: windowed filter then verify, Aho-Corasick fallback (dataset_ac.c) */
struct ds_ac;
struct ds_ac *ds_ac_build(const struct ds_entry *e, uint32_t n, bool nocase);
void ds_ac_free(struct ds_ac *a);
/* Lowest-index key that occurs anywhere in str. */
uint32_t ds_ac_find(const struct ds_ac *a, const char *str, size_t len);
size_t ds_ac_bytes(const struct ds_ac *a);

/* --- REGEX: Hyperscan database + PCRE2 (dataset_regex.c) ----------------- */
struct ds_regex;
/*
 * Compile every key as a regex. On a bad pattern returns NULL with *bad set
 * to its index, *off to the error offset and msg filled with PCRE2's text;
 * on ENOMEM returns NULL with *bad = DS_NONE.
 */
struct ds_regex *ds_regex_build(const struct ds_entry *e, uint32_t n, bool nocase, uint32_t *bad,
				size_t *off, char *msg, size_t msglen);
void ds_regex_free(struct ds_regex *r);
uint32_t ds_regex_find(const struct ds_regex *r, const char *str, size_t len);
int ds_regex_captures(const struct ds_regex *r, uint32_t index, const char *str, size_t len,
		      size_t *caps, int ncap);
size_t ds_regex_bytes(const struct ds_regex *r);
/* How many patterns went to the PCRE2 fallback list (tests, bench). */
uint32_t ds_regex_nfallback(const struct ds_regex *r);

/*
 * Memory held by the structure for (op, nocase), 0 if not built. Additive
 * to dataset.h for the benchmark and tests; not part of the policy API.
 */
size_t xadc_strset_bytes(const struct xadc_strset *s, enum xadc_sop op, bool nocase);
/* Bytes held by an IP set once built. */
size_t xadc_ipset_bytes(const struct xadc_ipset *s);
/* Patterns of the (nocase) regex database that Hyperscan did not take. */
uint32_t xadc_strset_regex_fallbacks(const struct xadc_strset *s, bool nocase);

#endif
