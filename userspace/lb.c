// SPDX-License-Identifier: GPL-2.0
/*
 * lb.c - server selection: round robin, least connections, consistent hash,
 * cookie and client-IP persistence (contract in include/xadc/lb.h).
 *
 * Everything mutable on the select path is either per worker (pool->ws) or
 * atomic in struct xadc_rt, so selection allocates nothing and takes no
 * lock, except the client-IP persistence table's stripe lock.
 *
 * Consistent hash is Maglev (Eisenbud et al., NSDI 2016) with weights: at
 * compile time every enabled server walks its own permutation of the table
 * and claims slots, ratio slots per turn, so each owns a share of the table
 * proportional to its ratio. At select time a key maps to one slot; if that
 * slot's server is down (or excluded) we probe forward to the next slot
 * whose server is usable. Only the down server's keys move, and they spread
 * over the others in proportion to their weight because slots interleave.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xadc/lb.h"
#include "lb_internal.h"

/* Default idle timeout of client-IP entries when the profile says 0 (Avi: 5 min). */
#define LB_PERSIST_DEFAULT_S 300

/* ---------------------------------------------------------------------- */
/* Hash                                                                   */
/* ---------------------------------------------------------------------- */

#define H_P1 0x9E3779B185EBCA87ull
#define H_P2 0xC2B2AE3D27D4EB4Full
#define H_P3 0x165667B19E3779F9ull
#define H_P4 0x85EBCA77C2B2AE63ull
#define H_P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

/*
 * The short-input path of xxh64 applied to any length: 8-byte lanes, then
 * 4-byte and byte tails, then a full avalanche. Long inputs (URIs) are
 * slower than with xxh64's four-lane loop, but keys here are short.
 */
uint64_t xadc_lb_hash(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = seed + H_P5 + len;
	uint64_t k;
	uint32_t w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&k, p, 8);
		k = rotl64(k * H_P2, 31) * H_P1;
		h ^= k;
		h = rotl64(h, 27) * H_P1 + H_P4;
	}
	if (len >= 4) {
		memcpy(&w, p, 4);
		h ^= (uint64_t)w * H_P1;
		h = rotl64(h, 23) * H_P2 + H_P3;
		p += 4;
		len -= 4;
	}
	for (; len; p++, len--) {
		h ^= *p * H_P5;
		h = rotl64(h, 11) * H_P1;
	}
	h ^= h >> 33;
	h *= H_P2;
	h ^= h >> 29;
	h *= H_P3;
	h ^= h >> 32;
	return h;
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static unsigned lb_nworkers(void)
{
	return xadc_nworkers ? xadc_nworkers : 1;
}

/* ratio 0 would starve a server forever; Avi's minimum is 1. */
static uint32_t srv_weight(const struct xadc_server *s)
{
	return s->ratio ? s->ratio : 1;
}

static bool srv_usable(const struct xadc_server *s, const struct xadc_lb_ctx *ctx)
{
	unsigned i;

	if (!s->enabled)
		return false;
	if (s->rt && !atomic_load_explicit(&s->rt->up, memory_order_relaxed))
		return false;
	for (i = 0; i < ctx->nexclude && i < ARRAY_SIZE(ctx->exclude); i++)
		if (ctx->exclude[i] == s)
			return false;
	return true;
}

static uint64_t srv_active(const struct xadc_server *s)
{
	int a = s->rt ? atomic_load_explicit(&s->rt->active, memory_order_relaxed) : 0;

	return a > 0 ? (uint64_t)a : 0;
}

static struct xadc_pool_wstate *lb_ws(struct xadc_pool *pool, unsigned worker)
{
	return &pool->ws[worker % lb_nworkers()];
}

/* Hash key bytes of an address: the IP (v4-mapped v6 reduced to v4), plus
 * the port when with_port. Returns the length written into buf[18]. */
static size_t addr_key(const union xadc_sockaddr *a, bool with_port, uint8_t *buf)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	size_t n = 0;
	in_port_t port = 0;

	if (!a)
		return 0;
	if (a->sa.sa_family == AF_INET) {
		memcpy(buf, &a->in.sin_addr, 4);
		n = 4;
		port = a->in.sin_port;
	} else if (a->sa.sa_family == AF_INET6) {
		const uint8_t *ip = a->in6.sin6_addr.s6_addr;

		if (!memcmp(ip, v4mapped, 12)) {
			memcpy(buf, ip + 12, 4);
			n = 4;
		} else {
			memcpy(buf, ip, 16);
			n = 16;
		}
		port = a->in6.sin6_port;
	}
	if (with_port && n) {
		memcpy(buf + n, &port, 2);
		n += 2;
	}
	return n;
}

#define LB_HASH_SEED 0x78616463u /* "xadc" */

static uint64_t lb_request_hash(const struct xadc_pool *pool, const struct xadc_lb_ctx *ctx)
{
	uint8_t buf[18];
	size_t n;

	switch (pool->hash_key) {
	case XADC_HASH_URI:
		if (ctx->uri)
			return xadc_lb_hash(ctx->uri, ctx->uri_len, LB_HASH_SEED);
		break;
	case XADC_HASH_HEADER:
		if (ctx->hash_hdr)
			return xadc_lb_hash(ctx->hash_hdr, ctx->hash_hdr_len, LB_HASH_SEED);
		break;
	case XADC_HASH_SOURCE_IP_PORT:
		n = addr_key(ctx->client, true, buf);
		return xadc_lb_hash(buf, n, LB_HASH_SEED);
	case XADC_HASH_SOURCE_IP:
		break;
	}
	/* Source IP, also the fallback when the URI or header is missing. */
	n = addr_key(ctx->client, false, buf);
	return xadc_lb_hash(buf, n, LB_HASH_SEED);
}

/* ---------------------------------------------------------------------- */
/* Algorithms                                                             */
/* ---------------------------------------------------------------------- */

/*
 * Smooth weighted round robin (as nginx does): every usable server gains
 * its weight, the one with the highest current weight wins and pays back
 * the total. Over one cycle each server is picked exactly weight times and
 * picks of heavy servers are interleaved with the others.
 */
static struct xadc_server *lb_round_robin(struct xadc_pool *pool, const struct xadc_lb_ctx *ctx)
{
	struct xadc_pool_wstate *ws = lb_ws(pool, ctx->worker);
	int32_t total = 0;
	int best = -1;
	unsigned i;

	for (i = 0; i < pool->nservers; i++) {
		struct xadc_server *s = &pool->servers[i];
		int32_t w;

		if (!srv_usable(s, ctx))
			continue;
		w = (int32_t)srv_weight(s);
		ws->cw[i] += w;
		total += w;
		if (best < 0 || ws->cw[i] > ws->cw[best])
			best = (int)i;
	}
	if (best < 0)
		return NULL;
	ws->cw[best] -= total;
	return &pool->servers[best];
}

/*
 * Fewest requests in flight relative to ratio (a/ra < b/rb compared as
 * a*rb < b*ra). The scan starts at a per-worker rotating index and only a
 * strictly better server replaces the candidate, so equally loaded servers
 * take turns instead of the first one getting every request.
 */
static struct xadc_server *lb_least_conns(struct xadc_pool *pool, const struct xadc_lb_ctx *ctx)
{
	struct xadc_pool_wstate *ws = lb_ws(pool, ctx->worker);
	struct xadc_server *best = NULL;
	uint64_t best_a = 0, best_w = 1;
	unsigned i, start;

	start = ws->rr_next++ % pool->nservers;
	for (i = 0; i < pool->nservers; i++) {
		struct xadc_server *s = &pool->servers[(start + i) % pool->nservers];
		uint64_t a, w;

		if (!srv_usable(s, ctx))
			continue;
		a = srv_active(s);
		w = srv_weight(s);
		if (!best || a * best_w < best_a * w) {
			best = s;
			best_a = a;
			best_w = w;
		}
	}
	return best;
}

static struct xadc_server *lb_consistent_hash(struct xadc_pool *pool,
					      const struct xadc_lb_ctx *ctx)
{
	uint32_t slot, i;

	if (!pool->chash || !pool->chash_size)
		return NULL;
	slot = (uint32_t)(lb_request_hash(pool, ctx) % pool->chash_size);
	for (i = 0; i < pool->chash_size; i++) {
		struct xadc_server *s = &pool->servers[pool->chash[slot]];

		if (srv_usable(s, ctx))
			return s;
		if (++slot == pool->chash_size)
			slot = 0;
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Persistence                                                            */
/* ---------------------------------------------------------------------- */

static struct xadc_server *lb_find_token(struct xadc_pool *pool, uint64_t token)
{
	unsigned i;

	for (i = 0; i < pool->nservers; i++)
		if (pool->servers[i].rt && pool->servers[i].rt->token == token)
			return &pool->servers[i];
	return NULL;
}

/* 1..16 hex digits, either case; false for anything else. */
static bool parse_hex_token(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!s || !len || len > 16)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

static uint32_t persist_timeout_ms(const struct xadc_pool *pool)
{
	uint32_t s = pool->persist_timeout_s ? pool->persist_timeout_s : LB_PERSIST_DEFAULT_S;

	return s > UINT32_MAX / 1000 ? UINT32_MAX : s * 1000;
}

/* The persisted server if there is one and it can take the request. */
static struct xadc_server *lb_persisted(struct xadc_pool *pool, const struct xadc_lb_ctx *ctx)
{
	struct xadc_server *s = NULL;
	uint64_t token;

	switch (pool->persist) {
	case XADC_PERSIST_HTTP_COOKIE:
		if (parse_hex_token(ctx->cookie, ctx->cookie_len, &token))
			s = lb_find_token(pool, token);
		break;
	case XADC_PERSIST_CLIENT_IP:
		if (xadc_persist_lookup(pool->persist_table, ctx->client, persist_timeout_ms(pool),
					&token))
			s = lb_find_token(pool, token);
		break;
	case XADC_PERSIST_NONE:
		break;
	}
	return s && srv_usable(s, ctx) ? s : NULL;
}

/* ---------------------------------------------------------------------- */
/* API                                                                    */
/* ---------------------------------------------------------------------- */

/* Accepts a pool from xadc_lb_pool_init; ctx->worker < xadc_nworkers. */
struct xadc_server *xadc_lb_select(struct xadc_pool *pool, const struct xadc_lb_ctx *ctx,
				   bool *set_cookie)
{
	struct xadc_server *s;

	if (set_cookie)
		*set_cookie = false;
	if (!pool || !pool->nservers || !pool->ws)
		return NULL;
	s = lb_persisted(pool, ctx);
	if (s)
		return s;

	switch (pool->lb) {
	case XADC_LB_ROUND_ROBIN:
		s = lb_round_robin(pool, ctx);
		break;
	case XADC_LB_CONSISTENT_HASH:
		s = lb_consistent_hash(pool, ctx);
		break;
	case XADC_LB_LEAST_CONNECTIONS:
	default:
		s = lb_least_conns(pool, ctx);
		break;
	}
	if (!s || !s->rt)
		return s;

	if (pool->persist == XADC_PERSIST_HTTP_COOKIE && set_cookie)
		*set_cookie = true;
	else if (pool->persist == XADC_PERSIST_CLIENT_IP)
		xadc_persist_store(pool->persist_table, ctx->client, s->rt->token);
	return s;
}

void xadc_lb_acquire(struct xadc_server *srv)
{
	if (srv && srv->rt)
		atomic_fetch_add_explicit(&srv->rt->active, 1, memory_order_relaxed);
}

void xadc_lb_release(struct xadc_server *srv)
{
	if (srv && srv->rt)
		atomic_fetch_sub_explicit(&srv->rt->active, 1, memory_order_relaxed);
}

/* Writes the 16 hex digits of srv's token and a NUL; returns the length
 * (16), -EINVAL without a runtime object, -ENOSPC if len < 17. */
int xadc_lb_cookie_value(const struct xadc_server *srv, char *buf, size_t len)
{
	if (!srv || !srv->rt || !buf)
		return -EINVAL;
	if (len < 17)
		return -ENOSPC;
	return snprintf(buf, len, "%016" PRIx64, srv->rt->token);
}

/* ---------------------------------------------------------------------- */
/* Compile time: Maglev table and per-worker state                        */
/* ---------------------------------------------------------------------- */

static const uint32_t lb_primes[] = {
	251,	 509,	  1021,	   2039,    4093,    8191,     16381,
	32749,	 65537,	  131071,  262139,  524287,  1048573,
};

static uint32_t chash_size_for(unsigned n)
{
	uint64_t want = (uint64_t)n * 100;
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(lb_primes); i++)
		if (lb_primes[i] >= want)
			return lb_primes[i];
	return lb_primes[ARRAY_SIZE(lb_primes) - 1];
}

struct maglev_perm {
	uint32_t offset, skip, next;
};

/* Seed of a server's permutation: its name when set (stable across
 * re-apply and independent of its position in the list), else address. */
static uint64_t server_seed(const struct xadc_server *s, uint64_t salt)
{
	uint8_t buf[18];
	size_t n;

	if (s->name[0])
		return xadc_lb_hash(s->name, strnlen(s->name, sizeof(s->name)), salt);
	n = addr_key(&s->addr, true, buf);
	return xadc_lb_hash(buf, n, salt);
}

/* Fill pool->chash; servers that are disabled own no slot. Accepts a pool
 * whose servers are filled in; returns 0 or -ENOMEM. */
static int lb_build_maglev(struct xadc_pool *pool)
{
	struct maglev_perm *perm = NULL;
	uint32_t m, filled = 0, i, r;
	unsigned nenabled = 0;
	int err = 0;

	for (i = 0; i < pool->nservers; i++)
		nenabled += pool->servers[i].enabled;
	if (!nenabled)
		return 0;

	m = chash_size_for(nenabled);
	pool->chash = malloc(sizeof(*pool->chash) * m);
	perm = calloc(pool->nservers, sizeof(*perm));
	if (!pool->chash || !perm) {
		err = -ENOMEM;
		goto out;
	}
	memset(pool->chash, 0xff, sizeof(*pool->chash) * m);
	for (i = 0; i < pool->nservers; i++) {
		perm[i].offset = (uint32_t)(server_seed(&pool->servers[i], 0x6f6666) % m);
		perm[i].skip = (uint32_t)(server_seed(&pool->servers[i], 0x736b6970) % (m - 1)) + 1;
	}
	/* Each turn a server claims `ratio` more slots from its permutation
	 * (offset + j * skip mod m, a full cycle since m is prime). */
	while (filled < m) {
		for (i = 0; i < pool->nservers && filled < m; i++) {
			struct xadc_server *s = &pool->servers[i];

			if (!s->enabled)
				continue;
			for (r = 0; r < srv_weight(s) && filled < m; r++) {
				uint32_t slot;

				do {
					slot = (uint32_t)((perm[i].offset +
							   (uint64_t)perm[i].next * perm[i].skip) % m);
					perm[i].next++;
				} while (pool->chash[slot] != UINT32_MAX);
				pool->chash[slot] = i;
				filled++;
			}
		}
	}
	pool->chash_size = m;
out:
	free(perm);
	if (err) {
		free(pool->chash);
		pool->chash = NULL;
	}
	return err;
}

static int lb_alloc_ws(struct xadc_pool *pool)
{
	unsigned nw = lb_nworkers(), i;
	size_t cw_bytes, stride;
	char *cw;

	pool->ws = aligned_alloc(XADC_CACHELINE, sizeof(*pool->ws) * nw);
	if (!pool->ws)
		return -ENOMEM;
	memset(pool->ws, 0, sizeof(*pool->ws) * nw);
	/* One block for every worker's cw[], each padded to whole cache lines
	 * so workers never share one. */
	stride = (pool->nservers * sizeof(int32_t) + XADC_CACHELINE - 1) &
		 ~(size_t)(XADC_CACHELINE - 1);
	if (!stride)
		stride = XADC_CACHELINE;
	cw_bytes = stride * nw;
	cw = aligned_alloc(XADC_CACHELINE, cw_bytes);
	if (!cw) {
		free(pool->ws);
		pool->ws = NULL;
		return -ENOMEM;
	}
	memset(cw, 0, cw_bytes);
	for (i = 0; i < nw; i++)
		pool->ws[i].cw = (int32_t *)(cw + i * stride);
	return 0;
}

/* Accepts a pool whose servers (with rt) are filled in by the compiler.
 * Builds ws, chash and attaches the client-IP table; 0 or -ENOMEM, and on
 * error leaves nothing allocated. */
int xadc_lb_pool_init(struct xadc_pool *pool)
{
	int err;

	pool->ws = NULL;
	pool->chash = NULL;
	pool->chash_size = 0;
	pool->persist_table = NULL;

	err = lb_alloc_ws(pool);
	if (err)
		goto out;
	err = lb_build_maglev(pool);
	if (err)
		goto out;
	if (pool->persist == XADC_PERSIST_CLIENT_IP)
		err = xadc_persist_attach(pool);
out:
	if (err)
		xadc_lb_pool_fini(pool);
	return err;
}

/* Accepts a pool after xadc_lb_pool_init (even a failed one) or zeroed. */
void xadc_lb_pool_fini(struct xadc_pool *pool)
{
	if (pool->ws) {
		free(pool->ws[0].cw);
		free(pool->ws);
		pool->ws = NULL;
	}
	free(pool->chash);
	pool->chash = NULL;
	pool->chash_size = 0;
	xadc_persist_detach(pool);
}
