/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dataset.h - DataSets (Avi stringgroup and ipaddrgroup) compiled into
 * structures whose per-match cost does not grow with the set.
 *
 * A string group is compiled once per configuration apply, for exactly the
 * operators and case modes its users (policy rules, DataScripts) need:
 *   EQUALS       hash table
 *   BEGINS_WITH  trie over the keys (longest match available)
 *   ENDS_WITH    trie over the reversed keys
 *   CONTAINS     multi-pattern automaton (Aho-Corasick)
 *   REGEX        one compiled multi-regex database (Hyperscan) with PCRE2
 *                (JIT) for validation with error positions, for captures and
 *                for patterns Hyperscan cannot take
 * Case-insensitive variants fold ASCII case (Avi's match_case INSENSITIVE);
 * bytes >= 0x80 compare exactly.
 *
 * Matching is read-only on the compiled set and thread-safe; the only
 * per-thread state is the regex scratch, kept in thread-local storage and
 * grown (allocated) only the first time a thread meets a larger database.
 */
#ifndef XADC_POLICY_DATASET_H
#define XADC_POLICY_DATASET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xadc/snapshot.h"

enum xadc_sop {
	XADC_SOP_EQUALS = 0,
	XADC_SOP_BEGINS_WITH,
	XADC_SOP_ENDS_WITH,
	XADC_SOP_CONTAINS,
	XADC_SOP_REGEX,
	XADC_SOP__COUNT
};

/* Bit for (operator, case) in the "needs" mask given to the builder. */
#define XADC_SOP_BIT(op, nocase) (1u << ((op) * 2 + ((nocase) ? 1 : 0)))
#define XADC_SOP_ALL		 ((1u << (XADC_SOP__COUNT * 2)) - 1)

struct xadc_str_entry {
	const char *key;
	size_t key_len;
	const char *value;	/* SG_TYPE_KEYVAL value, "" for SG_TYPE_STRING */
	size_t value_len;
};

struct xadc_strset;

/*
 * Build a string set from n entries for the operators in needs
 * (XADC_SOP_BIT mask). name is used in error messages. With REGEX in needs,
 * every key must be a valid regex: on error returns NULL and sets *err to a
 * cfg-style error object whose text names the entry index and the
 * position, e.g. 'stringgroup[bad-re].kv[3].key: regex error at offset 5:
 * missing closing parenthesis'. path_prefix is that "stringgroup[NAME]"
 * part. Returns NULL with *err on ENOMEM too.
 */
struct xadc_strset *xadc_strset_build(const char *path_prefix, const struct xadc_str_entry *e,
				      size_t n, unsigned needs, json_t **err);
void xadc_strset_free(struct xadc_strset *s);
size_t xadc_strset_count(const struct xadc_strset *s);

struct xadc_str_hit {
	uint32_t index;		/* entry that matched */
	const char *key;	/* its key and value (owned by the set) */
	size_t key_len;
	const char *value;
	size_t value_len;
};

/*
 * Does str match any entry under op? For BEGINS_WITH / ENDS_WITH the hit is
 * the longest matching key (Avi's longest_match; also what DataScripts'
 * avi.stringgroup.* return). For CONTAINS and REGEX it is the matching entry
 * with the lowest index. The (op, nocase) pair must have been in needs at
 * build time; otherwise returns false. hit may be NULL.
 */
bool xadc_strset_match(const struct xadc_strset *s, enum xadc_sop op, bool nocase,
		       const char *str, size_t len, struct xadc_str_hit *hit);

#define XADC_STRSET_NONE UINT32_MAX
/*
 * The same lookup when only the entry's index is wanted (policy matches,
 * regex capture bookkeeping): XADC_STRSET_NONE if nothing matches. It
 * does not read the entry's key and value, which at 100,000 entries is one
 * cache miss a hit saves.
 */
uint32_t xadc_strset_find(const struct xadc_strset *s, enum xadc_sop op, bool nocase,
			  const char *str, size_t len);

/*
 * Regex captures of entry `index` against str (for rewrite tokens): fills
 * up to ncap (start, end) offset pairs into caps, returns the number of
 * groups set (group 0 = whole match), 0 if no match, negative errno.
 */
int xadc_strset_regex_captures(const struct xadc_strset *s, uint32_t index, bool nocase,
			       const char *str, size_t len, size_t *caps, int ncap);

/* --- IP groups ---------------------------------------------------------- */

struct xadc_ipset;

/* Entries are added, then the set is frozen (sorted, merged) by build. */
struct xadc_ipset *xadc_ipset_new(void);
/* prefix: addr + mask bits (0..32 for v4, 0..128 for v6). */
int xadc_ipset_add_prefix(struct xadc_ipset *s, const union xadc_sockaddr *addr, unsigned bits);
/* Inclusive range of one family. */
int xadc_ipset_add_range(struct xadc_ipset *s, const union xadc_sockaddr *lo,
			 const union xadc_sockaddr *hi);
int xadc_ipset_build(struct xadc_ipset *s);
void xadc_ipset_free(struct xadc_ipset *s);
/* O(log n) or better; v4-mapped IPv6 addresses match v4 entries. */
bool xadc_ipset_contains(const struct xadc_ipset *s, const union xadc_sockaddr *addr);
size_t xadc_ipset_count(const struct xadc_ipset *s);

#endif
