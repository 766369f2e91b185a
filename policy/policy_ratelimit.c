// SPDX-License-Identifier: GPL-2.0
/*
 * policy_ratelimit.c - token buckets of RATE_LIMIT security rules.
 *
 * One table per rule, created at compile: RL_STRIPES stripes of RL_WAYS
 * slots, each stripe behind its own spinlock, so workers rarely contend
 * and a request never allocates. A key (client IP and/or URI path, or the
 * rule alone) hashes to a stripe; inside it, its slot or else the slot
 * touched longest ago is taken (the evicted key starts again with a full
 * bucket: the table bounds memory, at the price of forgetting the coldest
 * keys under a flood of distinct ones).
 *
 * Buckets hold micro-tokens: capacity = burst_sz (or count when 0),
 * refill = count per period seconds.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

#define RL_STRIPES 64
#define RL_WAYS	   64
#define RL_MICRO   1000000ull

struct rl_slot {
	uint64_t key;		/* 0: free */
	uint64_t tokens;	/* micro-tokens */
	uint64_t last_ns;
};

struct rl_stripe {
	pthread_spinlock_t lock;
	struct rl_slot slot[RL_WAYS];
} __cacheline_aligned;

struct hp_ratelimiter {
	uint64_t cap;		/* micro-tokens */
	uint64_t period_ns;
	uint64_t count;
	bool per_ip, per_path;
	struct rl_stripe stripe[RL_STRIPES];
};

struct hp_ratelimiter *hp_rl_new(uint64_t count, uint64_t period_s, uint64_t burst, bool per_ip,
				 bool per_path)
{
	struct hp_ratelimiter *rl;
	unsigned i;

	if (posix_memalign((void **)&rl, XADC_CACHELINE, sizeof(*rl)))
		return NULL;
	memset(rl, 0, sizeof(*rl));
	rl->count = count;
	rl->period_ns = period_s * 1000000000ull;
	rl->cap = (burst ? burst : count) * RL_MICRO;
	rl->per_ip = per_ip;
	rl->per_path = per_path;
	for (i = 0; i < RL_STRIPES; i++)
		pthread_spin_init(&rl->stripe[i].lock, PTHREAD_PROCESS_PRIVATE);
	return rl;
}

void hp_rl_free(struct hp_ratelimiter *rl)
{
	unsigned i;

	if (!rl)
		return;
	for (i = 0; i < RL_STRIPES; i++)
		pthread_spin_destroy(&rl->stripe[i].lock);
	free(rl);
}

/* FNV-1a over bytes, continued from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t rl_key(const struct hp_ratelimiter *rl, const struct xadc_hp_req *rq)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const char *p = NULL;
	size_t n = 0;

	if (rl->per_ip && rq->client) {
		if (rq->client->sa.sa_family == AF_INET6)
			h = fnv(h, &rq->client->in6.sin6_addr, 16);
		else
			h = fnv(h, &rq->client->in.sin_addr, 4);
	}
	if (rl->per_path) {
		if (rq->m) {
			p = rq->buf + rq->m->path.off;
			n = rq->m->path.len;
		} else if (rq->target) {
			const char *q = memchr(rq->target, '?', rq->target_len);

			p = rq->target;
			n = q ? (size_t)(q - p) : rq->target_len;
		}
		h = fnv(h ^ 0x9e37, p, n);
	}
	return h ? h : 1;
}

/* Refill b to now, then take a token if there is one. */
static bool bucket_take(const struct hp_ratelimiter *rl, struct rl_slot *b, uint64_t now)
{
	uint64_t dt = now > b->last_ns ? now - b->last_ns : 0, add;

	/* tokens += dt * count / period, in micro-tokens, without overflow
	 * for any dt below a few days */
	if (dt > rl->period_ns * 4)
		add = rl->cap;
	else
		add = (uint64_t)((__uint128_t)dt * rl->count * RL_MICRO / rl->period_ns);
	b->tokens = b->tokens + add > rl->cap ? rl->cap : b->tokens + add;
	if (add)
		b->last_ns = now;
	if (b->tokens < RL_MICRO)
		return false;
	b->tokens -= RL_MICRO;
	return true;
}

bool hp_rl_take(struct hp_ratelimiter *rl, const struct xadc_hp_req *rq, uint64_t now_ns)
{
	uint64_t key = rl_key(rl, rq);
	struct rl_stripe *st = &rl->stripe[key % RL_STRIPES];
	struct rl_slot *s, *victim = NULL;
	unsigned i;
	bool ok;

	pthread_spin_lock(&st->lock);
	for (i = 0; i < RL_WAYS; i++) {
		s = &st->slot[i];
		if (s->key == key)
			break;
		if (!victim || !s->key || (victim->key && s->last_ns < victim->last_ns))
			victim = s;
		s = NULL;
	}
	if (!s) {
		s = victim;
		s->key = key;
		s->tokens = rl->cap;
		s->last_ns = now_ns;
	}
	ok = bucket_take(rl, s, now_ns);
	pthread_spin_unlock(&st->lock);
	return ok;
}
