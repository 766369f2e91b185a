// SPDX-License-Identifier: GPL-2.0
/*
 * dataset_ip.c - IP groups: prefixes and ranges of both families, frozen
 * into sorted, disjoint, non-adjacent intervals (IPv4 as uint32_t, IPv6 as
 * unsigned __int128) and looked up by bisection, O(log n).
 *
 * A large IPv4 set also gets a directory over the top 16 bits: dir[p] is
 * the first interval reaching into block p (hi >= p << 16), so a lookup
 * bisects only dir[p] .. dir[p + 1], the intervals touching the address's
 * /16: one directory line and usually one interval line, instead of ~17
 * dependent probes across the whole array. Small sets skip it (256 KiB).
 *
 * Host bits set in a prefix are ignored (198.18.0.1/24 is 198.18.0.0/24).
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is looked up in the IPv4
 * intervals as a.b.c.d, and in the IPv6 intervals as itself (so ::/0 also
 * holds it). xadc_ipset_count() is the number of entries added; the
 * merged interval count is internal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

typedef unsigned __int128 u128;

struct iv4 {
	uint32_t lo, hi;
};

struct iv6 {
	u128 lo, hi;
};

struct xadc_ipset {
	size_t nadded;
	bool built;
	struct iv4 *v4;
	size_t n4, cap4;
	struct iv6 *v6;
	size_t n6, cap6;
	uint32_t *dir;		/* 65537 entries when n4 >= DIR_MIN, else NULL */
};

#define DIR_MIN 256

struct xadc_ipset *xadc_ipset_new(void)
{
	return calloc(1, sizeof(struct xadc_ipset));
}

void xadc_ipset_free(struct xadc_ipset *s)
{
	if (!s)
		return;
	free(s->v4);
	free(s->v6);
	free(s->dir);
	free(s);
}

static u128 in6_to_u128(const struct in6_addr *a)
{
	u128 v = 0;
	int i;

	for (i = 0; i < 16; i++)
		v = (v << 8) | a->s6_addr[i];
	return v;
}

static int push4(struct xadc_ipset *s, uint32_t lo, uint32_t hi)
{
	if (s->n4 == s->cap4) {
		size_t c = s->cap4 ? s->cap4 * 2 : 16;
		struct iv4 *p = realloc(s->v4, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->v4 = p;
		s->cap4 = c;
	}
	s->v4[s->n4++] = (struct iv4){ lo, hi };
	s->nadded++;
	s->built = false;
	return 0;
}

static int push6(struct xadc_ipset *s, u128 lo, u128 hi)
{
	if (s->n6 == s->cap6) {
		size_t c = s->cap6 ? s->cap6 * 2 : 16;
		struct iv6 *p = realloc(s->v6, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->v6 = p;
		s->cap6 = c;
	}
	s->v6[s->n6++] = (struct iv6){ lo, hi };
	s->nadded++;
	s->built = false;
	return 0;
}

/* Accepts an AF_INET or AF_INET6 address and 0..32 / 0..128 mask bits. */
int xadc_ipset_add_prefix(struct xadc_ipset *s, const union xadc_sockaddr *addr, unsigned bits)
{
	if (!s || !addr)
		return -EINVAL;
	if (addr->sa.sa_family == AF_INET) {
		uint32_t a = ntohl(addr->in.sin_addr.s_addr);
		uint32_t host = bits >= 32 ? 0 : (bits ? UINT32_MAX >> bits : UINT32_MAX);

		if (bits > 32)
			return -EINVAL;
		return push4(s, a & ~host, a | host);
	}
	if (addr->sa.sa_family == AF_INET6) {
		u128 a = in6_to_u128(&addr->in6.sin6_addr);
		u128 host = bits >= 128 ? 0 : (bits ? ~(u128)0 >> bits : ~(u128)0);

		if (bits > 128)
			return -EINVAL;
		return push6(s, a & ~host, a | host);
	}
	return -EAFNOSUPPORT;
}

/* Accepts lo <= hi of the same family. */
int xadc_ipset_add_range(struct xadc_ipset *s, const union xadc_sockaddr *lo,
			 const union xadc_sockaddr *hi)
{
	if (!s || !lo || !hi || lo->sa.sa_family != hi->sa.sa_family)
		return -EINVAL;
	if (lo->sa.sa_family == AF_INET) {
		uint32_t a = ntohl(lo->in.sin_addr.s_addr), b = ntohl(hi->in.sin_addr.s_addr);

		return a <= b ? push4(s, a, b) : -EINVAL;
	}
	if (lo->sa.sa_family == AF_INET6) {
		u128 a = in6_to_u128(&lo->in6.sin6_addr), b = in6_to_u128(&hi->in6.sin6_addr);

		return a <= b ? push6(s, a, b) : -EINVAL;
	}
	return -EAFNOSUPPORT;
}

static int iv4_cmp(const void *a, const void *b)
{
	const struct iv4 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int iv6_cmp(const void *a, const void *b)
{
	const struct iv6 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort and merge overlapping or adjacent intervals, in place. */
static size_t merge4(struct iv4 *v, size_t n)
{
	size_t i, out = 0;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), iv4_cmp);
	for (i = 1; i < n; i++) {
		/* hi + 1 == lo is adjacent; hi == max already covers the rest. */
		if (v[out].hi == UINT32_MAX || v[i].lo <= v[out].hi + 1) {
			if (v[i].hi > v[out].hi)
				v[out].hi = v[i].hi;
		} else {
			v[++out] = v[i];
		}
	}
	return out + 1;
}

static size_t merge6(struct iv6 *v, size_t n)
{
	size_t i, out = 0;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), iv6_cmp);
	for (i = 1; i < n; i++) {
		if (v[out].hi == ~(u128)0 || v[i].lo <= v[out].hi + 1) {
			if (v[i].hi > v[out].hi)
				v[out].hi = v[i].hi;
		} else {
			v[++out] = v[i];
		}
	}
	return out + 1;
}

/* The /16 directory over the merged IPv4 intervals (see the top). */
static int build_dir(struct xadc_ipset *s)
{
	uint32_t p, i = 0;

	free(s->dir);
	s->dir = NULL;
	if (s->n4 < DIR_MIN)
		return 0;
	s->dir = malloc(65537 * sizeof(*s->dir));
	if (!s->dir)
		return -ENOMEM;
	for (p = 0; p < 65536; p++) {
		while (i < s->n4 && s->v4[i].hi < p << 16)
			i++;
		s->dir[p] = i;
	}
	s->dir[65536] = (uint32_t)s->n4;
	return 0;
}

/* Freeze: may be called again after more adds. */
int xadc_ipset_build(struct xadc_ipset *s)
{
	int ret;

	if (!s)
		return -EINVAL;
	if (s->n4 >= UINT32_MAX)
		return -E2BIG;
	s->n4 = merge4(s->v4, s->n4);
	s->n6 = merge6(s->v6, s->n6);
	ret = build_dir(s);
	s->built = !ret;
	return ret;
}

size_t xadc_ipset_count(const struct xadc_ipset *s)
{
	return s ? s->nadded : 0;
}

size_t xadc_ipset_bytes(const struct xadc_ipset *s)
{
	return s ? sizeof(*s) + s->n4 * sizeof(*s->v4) + s->n6 * sizeof(*s->v6) +
			   (s->dir ? 65537 * sizeof(*s->dir) : 0)
		 : 0;
}

/*
 * Is a inside one of the sorted disjoint intervals? Only v[lo .. hi) can
 * start at or before a and still reach it, apart from those before lo,
 * which end before a (the directory guarantees that).
 */
static bool find4(const struct iv4 *v, size_t lo, size_t hi, uint32_t a)
{
	size_t first = lo;

	/* First interval with lo > a; the one before it is the candidate. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > first && a <= v[lo - 1].hi;
}

/* IPv4 lookup: through the /16 directory when there is one. */
static bool lookup4(const struct xadc_ipset *s, uint32_t a)
{
	uint32_t p = a >> 16;

	if (!s->dir)
		return find4(s->v4, 0, s->n4, a);
	/* dir[p + 1] itself may start inside block p: include it. */
	return find4(s->v4, s->dir[p], s->dir[p + 1] < s->n4 ? s->dir[p + 1] + 1 : s->n4, a);
}

static bool find6(const struct iv6 *v, size_t n, u128 a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && a <= v[lo - 1].hi;
}

/* Accepts any address; false for an unbuilt set or another family. */
bool xadc_ipset_contains(const struct xadc_ipset *s, const union xadc_sockaddr *addr)
{
	if (!s || !addr || !s->built)
		return false;
	if (addr->sa.sa_family == AF_INET)
		return lookup4(s, ntohl(addr->in.sin_addr.s_addr));
	if (addr->sa.sa_family == AF_INET6) {
		const struct in6_addr *a6 = &addr->in6.sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			uint32_t a4;

			memcpy(&a4, &a6->s6_addr[12], 4);
			if (lookup4(s, ntohl(a4)))
				return true;
		}
		return find6(s->v6, s->n6, in6_to_u128(a6));
	}
	return false;
}
