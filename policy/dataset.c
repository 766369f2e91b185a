// SPDX-License-Identifier: GPL-2.0
/*
 * dataset.c - string sets: copy the entries, build the engine for each
 * (operator, case) pair asked for, and dispatch matches to it.
 *
 * Empty keys: EQUALS matches only the empty string; BEGINS_WITH and
 * ENDS_WITH treat the empty key as a prefix/suffix of every string (so it
 * is the fallback hit when no longer key matches); CONTAINS treats it as
 * contained in every string (including the empty one); REGEX compiles it
 * as the empty pattern, which matches everything.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dataset_internal.h"
#include "xadc/cfg.h"

struct xadc_strset {
	uint32_t n;
	unsigned needs;
	char *arena;		/* keys and values, NUL-terminated */
	struct ds_entry *ent;
	struct ds_hash *hash[2];
	struct ds_trie *begins[2];
	struct ds_trie *ends[2];
	struct ds_ac *ac[2];
	struct ds_regex *re[2];
};

#define DS_HUGE_PAGE (2u << 20)
#define DS_HUGE_FROM (1u << 20)

void *ds_alloc_lines(size_t size, size_t *got)
{
	const size_t al = size >= DS_HUGE_FROM ? DS_HUGE_PAGE : 64;
	void *p;

	size = ((size ? size : 1) + al - 1) & ~(al - 1);
	p = aligned_alloc(al, size);
	if (!p)
		return NULL;
	if (al == DS_HUGE_PAGE)
		madvise(p, size, MADV_HUGEPAGE);
	memset(p, 0, size);
	if (got)
		*got = size;
	return p;
}

void ds_fold_copy(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = (char)ds_fold((unsigned char)src[i]);
}

/* Copy keys and values into one arena owned by the set. */
static int strset_copy(struct xadc_strset *s, const struct xadc_str_entry *e, size_t n)
{
	size_t total = 0, i;
	char *p;

	for (i = 0; i < n; i++) {
		if (e[i].key_len >= UINT32_MAX || e[i].value_len >= UINT32_MAX ||
		    (e[i].key_len && !e[i].key) || (e[i].value_len && !e[i].value))
			return -EINVAL;
		total += e[i].key_len + e[i].value_len + 2;
	}
	s->ent = calloc(n ? n : 1, sizeof(*s->ent));
	s->arena = malloc(total ? total : 1);
	if (!s->ent || !s->arena)
		return -ENOMEM;
	p = s->arena;
	for (i = 0; i < n; i++) {
		if (e[i].key_len)
			memcpy(p, e[i].key, e[i].key_len);
		p[e[i].key_len] = '\0';
		s->ent[i].key = p;
		s->ent[i].key_len = (uint32_t)e[i].key_len;
		p += e[i].key_len + 1;
		if (e[i].value_len)
			memcpy(p, e[i].value, e[i].value_len);
		p[e[i].value_len] = '\0';
		s->ent[i].value = p;
		s->ent[i].value_len = (uint32_t)e[i].value_len;
		p += e[i].value_len + 1;
	}
	return 0;
}

/* Build the regex engines; on a bad pattern, fill *err with its position. */
static int strset_build_regex(struct xadc_strset *s, const char *path_prefix, json_t **err)
{
	char msg[256], path[512];
	uint32_t bad;
	size_t off;
	int nc;

	for (nc = 0; nc < 2; nc++) {
		if (!(s->needs & XADC_SOP_BIT(XADC_SOP_REGEX, nc)))
			continue;
		s->re[nc] = ds_regex_build(s->ent, s->n, nc, &bad, &off, msg, sizeof(msg));
		if (s->re[nc])
			continue;
		if (bad == DS_NONE)
			return -ENOMEM;
		snprintf(path, sizeof(path), "%s.kv[%u].key", path_prefix ? path_prefix : "",
			 bad);
		if (err)
			*err = xadc_cfg_error(path, "regex error at offset %zu: %s", off, msg);
		return -EINVAL;
	}
	return 0;
}

/* Build every non-regex engine named in needs. */
static int strset_build_plain(struct xadc_strset *s)
{
	int nc;

	for (nc = 0; nc < 2; nc++) {
		if (s->needs & XADC_SOP_BIT(XADC_SOP_EQUALS, nc)) {
			s->hash[nc] = ds_hash_build(s->ent, s->n, nc);
			if (!s->hash[nc])
				return -ENOMEM;
		}
		if (s->needs & XADC_SOP_BIT(XADC_SOP_BEGINS_WITH, nc)) {
			s->begins[nc] = ds_trie_build(s->ent, s->n, nc, false);
			if (!s->begins[nc])
				return -ENOMEM;
		}
		if (s->needs & XADC_SOP_BIT(XADC_SOP_ENDS_WITH, nc)) {
			s->ends[nc] = ds_trie_build(s->ent, s->n, nc, true);
			if (!s->ends[nc])
				return -ENOMEM;
		}
		if (s->needs & XADC_SOP_BIT(XADC_SOP_CONTAINS, nc)) {
			s->ac[nc] = ds_ac_build(s->ent, s->n, nc);
			if (!s->ac[nc])
				return -ENOMEM;
		}
	}
	return 0;
}

/*
 * Accepts n entries (n may be 0; keys may be empty and contain any bytes)
 * and a needs mask; see dataset.h for errors.
 */
struct xadc_strset *xadc_strset_build(const char *path_prefix, const struct xadc_str_entry *e,
				      size_t n, unsigned needs, json_t **err)
{
	struct xadc_strset *s;
	int ret;

	if (err)
		*err = NULL;
	if (n >= DS_NONE || (n && !e)) {
		if (err)
			*err = xadc_cfg_error(path_prefix, "too many or missing entries");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	s->n = (uint32_t)n;
	s->needs = needs & XADC_SOP_ALL;
	ret = strset_copy(s, e, n);
	if (ret)
		goto out;
	ret = strset_build_regex(s, path_prefix, err);
	if (ret)
		goto out;
	ret = strset_build_plain(s);
out:
	if (ret) {
		xadc_strset_free(s);
		if (err && !*err)
			*err = xadc_cfg_error(path_prefix, "%s",
					      ret == -ENOMEM ? "out of memory"
							     : "invalid string group entry");
		return NULL;
	}
	return s;
}

void xadc_strset_free(struct xadc_strset *s)
{
	int nc;

	if (!s)
		return;
	for (nc = 0; nc < 2; nc++) {
		ds_hash_free(s->hash[nc]);
		ds_trie_free(s->begins[nc]);
		ds_trie_free(s->ends[nc]);
		ds_ac_free(s->ac[nc]);
		ds_regex_free(s->re[nc]);
	}
	free(s->ent);
	free(s->arena);
	free(s);
}

size_t xadc_strset_count(const struct xadc_strset *s)
{
	return s ? s->n : 0;
}

/* Accepts any (op, nocase); dispatches to the engine built for it. */
uint32_t xadc_strset_find(const struct xadc_strset *s, enum xadc_sop op, bool nocase,
			  const char *str, size_t len)
{
	const int nc = nocase ? 1 : 0;
	uint32_t idx = DS_NONE;

	if (!s || (!str && len))
		return DS_NONE;
	if (!str)
		str = "";
	switch (op) {
	case XADC_SOP_EQUALS:
		if (s->hash[nc])
			idx = ds_hash_find(s->hash[nc], str, len);
		break;
	case XADC_SOP_BEGINS_WITH:
		if (s->begins[nc])
			idx = ds_trie_longest(s->begins[nc], str, len);
		break;
	case XADC_SOP_ENDS_WITH:
		if (s->ends[nc])
			idx = ds_trie_longest(s->ends[nc], str, len);
		break;
	case XADC_SOP_CONTAINS:
		if (s->ac[nc])
			idx = ds_ac_find(s->ac[nc], str, len);
		break;
	case XADC_SOP_REGEX:
		if (s->re[nc])
			idx = ds_regex_find(s->re[nc], str, len);
		break;
	default:
		break;
	}
	return idx;
}

bool xadc_strset_match(const struct xadc_strset *s, enum xadc_sop op, bool nocase,
		       const char *str, size_t len, struct xadc_str_hit *hit)
{
	uint32_t idx = xadc_strset_find(s, op, nocase, str, len);

	if (idx == DS_NONE)
		return false;
	if (hit) {
		hit->index = idx;
		hit->key = s->ent[idx].key;
		hit->key_len = s->ent[idx].key_len;
		hit->value = s->ent[idx].value;
		hit->value_len = s->ent[idx].value_len;
	}
	return true;
}

/* Accepts an entry index of a set built with REGEX for this case mode. */
int xadc_strset_regex_captures(const struct xadc_strset *s, uint32_t index, bool nocase,
			       const char *str, size_t len, size_t *caps, int ncap)
{
	const int nc = nocase ? 1 : 0;

	if (!s || !s->re[nc] || index >= s->n || (!str && len) || ncap < 0 || (ncap && !caps))
		return -EINVAL;
	return ds_regex_captures(s->re[nc], index, str ? str : "", len, caps, ncap);
}

size_t xadc_strset_bytes(const struct xadc_strset *s, enum xadc_sop op, bool nocase)
{
	const int nc = nocase ? 1 : 0;

	if (!s)
		return 0;
	switch (op) {
	case XADC_SOP_EQUALS:
		return s->hash[nc] ? ds_hash_bytes(s->hash[nc]) : 0;
	case XADC_SOP_BEGINS_WITH:
		return s->begins[nc] ? ds_trie_bytes(s->begins[nc]) : 0;
	case XADC_SOP_ENDS_WITH:
		return s->ends[nc] ? ds_trie_bytes(s->ends[nc]) : 0;
	case XADC_SOP_CONTAINS:
		return s->ac[nc] ? ds_ac_bytes(s->ac[nc]) : 0;
	case XADC_SOP_REGEX:
		return s->re[nc] ? ds_regex_bytes(s->re[nc]) : 0;
	default:
		return 0;
	}
}

uint32_t xadc_strset_regex_fallbacks(const struct xadc_strset *s, bool nocase)
{
	const int nc = nocase ? 1 : 0;

	return s && s->re[nc] ? ds_regex_nfallback(s->re[nc]) : 0;
}
