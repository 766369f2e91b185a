/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dataset_ref.h - the plain-loop answer of a string group, for the unit
 * tests and the fuzz target to compare the DataSet engines with. Slow on
 * purpose: one pass over every key, no structure at all.
 */
#ifndef XADC_SELFTESTS_DATASET_REF_H
#define XADC_SELFTESTS_DATASET_REF_H

#include <stdbool.h>
#include <stddef.h>

#include "../../policy/dataset.h"

/* n bytes of a and b equal, ASCII case folded when nc. */
static inline bool ds_ref_eq(const char *a, const char *b, size_t n, bool nc)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (nc) {
			x = (x >= 'A' && x <= 'Z') ? x + 32 : x;
			y = (y >= 'A' && y <= 'Z') ? y + 32 : y;
		}
		if (x != y)
			return false;
	}
	return true;
}

/*
 * The documented answer for a plain operator: EQUALS and CONTAINS the
 * lowest index; BEGINS_WITH and ENDS_WITH the longest key, the lowest index
 * among keys of that length. -1 when nothing matches.
 */
static inline long ds_ref_match(const struct xadc_str_entry *e, size_t n, enum xadc_sop op,
				bool nc, const char *s, size_t len)
{
	long best = -1;
	size_t i, p;

	for (i = 0; i < n; i++) {
		size_t kl = e[i].key_len;
		bool hit = false;

		switch (op) {
		case XADC_SOP_EQUALS:
			hit = kl == len && ds_ref_eq(e[i].key, s, len, nc);
			break;
		case XADC_SOP_BEGINS_WITH:
			hit = kl <= len && ds_ref_eq(e[i].key, s, kl, nc);
			break;
		case XADC_SOP_ENDS_WITH:
			hit = kl <= len && ds_ref_eq(e[i].key, s + len - kl, kl, nc);
			break;
		case XADC_SOP_CONTAINS:
			for (p = 0; !hit && p + kl <= len; p++)
				hit = ds_ref_eq(e[i].key, s + p, kl, nc);
			break;
		default:
			break;
		}
		if (!hit)
			continue;
		if (op == XADC_SOP_EQUALS || op == XADC_SOP_CONTAINS)
			return (long)i;
		if (best < 0 || kl > e[best].key_len)
			best = (long)i;
	}
	return best;
}

#endif
