// SPDX-License-Identifier: GPL-2.0
/*
 * ds_table.c - the per-virtual-service table store behind avi.vs.table_*
 * and avi.vs.rate_limit, shared by every worker.
 *
 * A striped hash table: the key hashes to one of DS_STRIPES stripes, each
 * with its own mutex and bucket array, so workers contend only when they
 * touch the same stripe at the same moment. Entries expire lazily (a lookup
 * that finds an expired entry removes it) and incrementally (every insert
 * sweeps one bucket of its stripe). The number of entries per virtual
 * service is capped; a full store refuses inserts after reclaiming what has
 * expired in the stripe.
 *
 * Stores are keyed by VS name and reference counted, so a re-apply that
 * keeps the VS keeps its tables.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_internal.h"

#define DS_STRIPES	    64
#define DS_STRIPE_BUCKETS   256
#define RL_NS		    "\x01rl"	/* table name space of rate-limit buckets */

struct tent {
	struct tent *next;
	uint64_t hash;
	uint64_t expires_ms;
	uint32_t lifetime_s;
	uint32_t klen;			/* tbl '\0' key */
	uint32_t vlen;
	bool number;
	double tokens;			/* rate-limit buckets */
	uint64_t last_ms;
	char data[];			/* key then value */
};

struct stripe {
	pthread_mutex_t mu;
	unsigned sweep;			/* next bucket to sweep */
	struct tent *b[DS_STRIPE_BUCKETS];
} __cacheline_aligned;

struct xadc_ds_vstab {
	struct xadc_ds_vstab *next;
	int refcnt;			/* under reg_mu */
	char name[XADC_NAME_MAX];
	atomic_uint n;
	struct stripe s[DS_STRIPES];
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct xadc_ds_vstab *reg;

struct xadc_ds_vstab *xadc_ds_vstab_get(const char *vs_name)
{
	struct xadc_ds_vstab *t;
	unsigned i;

	pthread_mutex_lock(&reg_mu);
	for (t = reg; t; t = t->next)
		if (!strcmp(t->name, vs_name ? vs_name : ""))
			break;
	if (t) {
		t->refcnt++;
		goto out;
	}
	t = aligned_alloc(XADC_CACHELINE, sizeof(*t));
	if (!t)
		goto out;
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", vs_name ? vs_name : "");
	for (i = 0; i < DS_STRIPES; i++)
		pthread_mutex_init(&t->s[i].mu, NULL);
	t->refcnt = 1;
	t->next = reg;
	reg = t;
out:
	pthread_mutex_unlock(&reg_mu);
	return t;
}

void xadc_ds_vstab_put(struct xadc_ds_vstab *t)
{
	struct xadc_ds_vstab **pp;
	struct tent *e, *n;
	unsigned i, j;

	if (!t)
		return;
	pthread_mutex_lock(&reg_mu);
	if (--t->refcnt) {
		pthread_mutex_unlock(&reg_mu);
		return;
	}
	for (pp = &reg; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
	for (i = 0; i < DS_STRIPES; i++) {
		for (j = 0; j < DS_STRIPE_BUCKETS; j++)
			for (e = t->s[i].b[j]; e; e = n) {
				n = e->next;
				free(e);
			}
		pthread_mutex_destroy(&t->s[i].mu);
	}
	free(t);
}

/* FNV-1a over tbl '\0' key. */
static uint64_t key_hash(const char *tbl, size_t tl, const char *key, size_t kl)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < tl; i++)
		h = (h ^ (unsigned char)tbl[i]) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (i = 0; i < kl; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
	return h;
}

struct tkey {
	const char *tbl, *key;
	size_t tl, kl;
	uint64_t h;
};

static struct stripe *stripe_of(struct xadc_ds_vstab *t, const struct tkey *k)
{
	return &t->s[k->h % DS_STRIPES];
}

static struct tent **bucket_of(struct stripe *s, const struct tkey *k)
{
	return &s->b[(k->h / DS_STRIPES) % DS_STRIPE_BUCKETS];
}

static bool ent_is(const struct tent *e, const struct tkey *k)
{
	return e->hash == k->h && e->klen == k->tl + 1 + k->kl &&
	       !memcmp(e->data, k->tbl, k->tl) && !e->data[k->tl] &&
	       !memcmp(e->data + k->tl + 1, k->key, k->kl);
}

static bool expired(const struct tent *e, uint64_t now)
{
	return e->expires_ms <= now;
}

/* Find k in its bucket, dropping expired entries met on the way; returns
 * the link that points to it. Stripe locked. */
static struct tent **find(struct xadc_ds_vstab *t, struct stripe *s, const struct tkey *k,
			  uint64_t now)
{
	struct tent **pp = bucket_of(s, k), *e;

	while ((e = *pp)) {
		if (expired(e, now)) {
			*pp = e->next;
			free(e);
			atomic_fetch_sub(&t->n, 1);
			continue;
		}
		if (ent_is(e, k))
			return pp;
		pp = &e->next;
	}
	return NULL;
}

static void sweep_bucket(struct xadc_ds_vstab *t, struct stripe *s, unsigned b, uint64_t now)
{
	struct tent **pp = &s->b[b], *e;

	while ((e = *pp)) {
		if (expired(e, now)) {
			*pp = e->next;
			free(e);
			atomic_fetch_sub(&t->n, 1);
		} else {
			pp = &e->next;
		}
	}
}

static void tkey_init(struct tkey *k, const char *tbl, size_t tl, const char *key, size_t kl)
{
	k->tbl = tbl ? tbl : "";
	k->tl = tbl ? tl : 0;
	k->key = key;
	k->kl = kl;
	k->h = key_hash(k->tbl, k->tl, key, kl);
}

static struct tent *ent_new(const struct tkey *k, const char *val, size_t vl)
{
	struct tent *e = malloc(sizeof(*e) + k->tl + 1 + k->kl + vl);

	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->hash = k->h;
	e->klen = k->tl + 1 + k->kl;
	e->vlen = vl;
	memcpy(e->data, k->tbl, k->tl);
	e->data[k->tl] = '\0';
	memcpy(e->data + k->tl + 1, k->key, k->kl);
	if (vl)
		memcpy(e->data + e->klen, val, vl);
	return e;
}

/* Room for one more entry? Reclaims the stripe's expired entries first. */
static bool reserve(struct xadc_ds_vstab *t, struct stripe *s, uint64_t now)
{
	unsigned i;

	if (atomic_fetch_add(&t->n, 1) < DS_TAB_MAX_ENTRIES)
		return true;
	atomic_fetch_sub(&t->n, 1);
	for (i = 0; i < DS_STRIPE_BUCKETS; i++)
		sweep_bucket(t, s, i, now);
	if (atomic_fetch_add(&t->n, 1) < DS_TAB_MAX_ENTRIES)
		return true;
	atomic_fetch_sub(&t->n, 1);
	return false;
}

bool ds_tab_insert(struct xadc_ds_vstab *t, const char *tbl, size_t tl, const char *key,
		   size_t kl, const char *val, size_t vl, bool number, uint32_t lifetime_s,
		   uint64_t now_ms, bool *full)
{
	struct tkey k;
	struct stripe *s;
	struct tent **pp, *e;
	bool ret = false;

	tkey_init(&k, tbl, tl, key, kl);
	s = stripe_of(t, &k);
	pthread_mutex_lock(&s->mu);
	sweep_bucket(t, s, s->sweep++ % DS_STRIPE_BUCKETS, now_ms);
	pp = find(t, s, &k, now_ms);
	if (pp) {
		/* Avi: an existing key keeps its value, its lifetime restarts */
		(*pp)->lifetime_s = lifetime_s;
		(*pp)->expires_ms = now_ms + (uint64_t)lifetime_s * 1000;
		goto out;
	}
	if (!reserve(t, s, now_ms)) {
		*full = true;
		goto out;
	}
	e = ent_new(&k, val, vl);
	if (!e) {
		atomic_fetch_sub(&t->n, 1);
		*full = true;
		goto out;
	}
	e->number = number;
	e->lifetime_s = lifetime_s;
	e->expires_ms = now_ms + (uint64_t)lifetime_s * 1000;
	pp = bucket_of(s, &k);
	e->next = *pp;
	*pp = e;
	ret = true;
out:
	pthread_mutex_unlock(&s->mu);
	return ret;
}

static uint32_t left_s(const struct tent *e, uint64_t now)
{
	return (uint32_t)((e->expires_ms - now + 999) / 1000);
}

bool ds_tab_lookup(struct xadc_ds_vstab *t, const char *tbl, size_t tl, const char *key,
		   size_t kl, uint32_t extend_s, uint64_t now_ms, char *buf, size_t cap,
		   struct ds_tval *out)
{
	struct tkey k;
	struct stripe *s;
	struct tent **pp, *e;

	tkey_init(&k, tbl, tl, key, kl);
	s = stripe_of(t, &k);
	pthread_mutex_lock(&s->mu);
	pp = find(t, s, &k, now_ms);
	if (!pp) {
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	e = *pp;
	if (extend_s == UINT32_MAX)
		e->expires_ms = now_ms + (uint64_t)e->lifetime_s * 1000;
	else if (extend_s)
		e->expires_ms = now_ms + (uint64_t)extend_s * 1000;
	out->len = e->vlen < cap ? e->vlen : cap - 1;
	memcpy(buf, e->data + e->klen, out->len);
	buf[out->len] = '\0';
	out->val = buf;
	out->number = e->number;
	out->left_s = left_s(e, now_ms);
	pthread_mutex_unlock(&s->mu);
	return true;
}

bool ds_tab_refresh(struct xadc_ds_vstab *t, const char *tbl, size_t tl, const char *key,
		    size_t kl, uint32_t lifetime_s, uint64_t now_ms)
{
	struct tkey k;
	struct stripe *s;
	struct tent **pp;

	tkey_init(&k, tbl, tl, key, kl);
	s = stripe_of(t, &k);
	pthread_mutex_lock(&s->mu);
	pp = find(t, s, &k, now_ms);
	if (pp) {
		if (lifetime_s)
			(*pp)->lifetime_s = lifetime_s;
		(*pp)->expires_ms = now_ms + (uint64_t)(*pp)->lifetime_s * 1000;
	}
	pthread_mutex_unlock(&s->mu);
	return pp != NULL;
}

bool ds_tab_remove(struct xadc_ds_vstab *t, const char *tbl, size_t tl, const char *key,
		   size_t kl, uint64_t now_ms)
{
	struct tkey k;
	struct stripe *s;
	struct tent **pp, *e = NULL;

	tkey_init(&k, tbl, tl, key, kl);
	s = stripe_of(t, &k);
	pthread_mutex_lock(&s->mu);
	pp = find(t, s, &k, now_ms);
	if (pp) {
		e = *pp;
		*pp = e->next;
		atomic_fetch_sub(&t->n, 1);
	}
	pthread_mutex_unlock(&s->mu);
	free(e);
	return e != NULL;
}

/*
 * Token bucket per (limiter, key): capacity count + burst_sz, refilled at
 * count per period. The bucket lives in the store (so it expires when idle
 * for two periods and is shared by every worker).
 */
bool ds_tab_rate(struct xadc_ds_vstab *t, const struct xadc_ds_ratelimiter *rl,
		 const char *key, size_t kl, uint64_t now_ms)
{
	char kb[XADC_NAME_MAX + 1 + DS_TAB_MAX_KEY];
	size_t nl = strlen(rl->name);
	double cap = (double)rl->count + rl->burst_sz;
	double per_ms = rl->period_s ? (double)rl->count / (rl->period_s * 1000.0) : 0;
	uint32_t life = (rl->period_s ? rl->period_s : 1) * 2;
	struct tkey k;
	struct stripe *s;
	struct tent **pp, *e;
	bool over = false;

	if (kl > DS_TAB_MAX_KEY)
		kl = DS_TAB_MAX_KEY;
	memcpy(kb, rl->name, nl);
	kb[nl] = '\0';
	memcpy(kb + nl + 1, key, kl);
	tkey_init(&k, RL_NS, sizeof(RL_NS) - 1, kb, nl + 1 + kl);
	s = stripe_of(t, &k);
	pthread_mutex_lock(&s->mu);
	pp = find(t, s, &k, now_ms);
	if (pp) {
		e = *pp;
		e->tokens += (double)(now_ms - e->last_ms) * per_ms;
		if (e->tokens > cap)
			e->tokens = cap;
	} else {
		/* no room to track it: let the request through */
		if (!reserve(t, s, now_ms))
			goto out;
		e = ent_new(&k, NULL, 0);
		if (!e) {
			atomic_fetch_sub(&t->n, 1);
			goto out;
		}
		e->tokens = cap;
		pp = bucket_of(s, &k);
		e->next = *pp;
		*pp = e;
	}
	e->last_ms = now_ms;
	e->lifetime_s = life;
	e->expires_ms = now_ms + (uint64_t)life * 1000;
	if (e->tokens >= 1.0)
		e->tokens -= 1.0;
	else
		over = true;
out:
	pthread_mutex_unlock(&s->mu);
	return over;
}
