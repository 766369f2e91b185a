/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hwriter.h - a bounded writer for HTTP heads and log fragments built in a
 * caller's block: appends until the block is full, then only remembers
 * that it overflowed, so the caller checks once at the end instead of
 * after every piece.
 */
#ifndef XADC_HWRITER_H
#define XADC_HWRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct xadc_hw {
	char *p;	/* the block */
	size_t len;	/* bytes written */
	size_t cap;	/* block size */
	bool over;	/* a piece did not fit: the content is incomplete */
};

/* Append n bytes of s, or mark the writer over (nothing of s written). */
static inline void xadc_hw_put(struct xadc_hw *h, const char *s, size_t n)
{
	if (h->over || n > h->cap - h->len) {
		h->over = true;
		return;
	}
	memcpy(h->p + h->len, s, n);
	h->len += n;
}

/* Append a NUL-terminated string. */
static inline void xadc_hw_str(struct xadc_hw *h, const char *s)
{
	xadc_hw_put(h, s, strlen(s));
}

#endif
