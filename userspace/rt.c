// SPDX-License-Identifier: GPL-2.0
/*
 * rt.c - registry of runtime objects (struct xadc_rt) keyed by name.
 *
 * Objects are looked up while a configuration is compiled and released when
 * a snapshot is freed; both happen only on configuration changes, so one
 * mutex over a chained hash table is enough. The request path never comes
 * here: it reaches its rt through the snapshot.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xadc/snapshot.h"

unsigned xadc_nworkers = 1;

#define RT_HASH_BITS 10
#define RT_HASH_SIZE (1u << RT_HASH_BITS)

struct rt_node {
	struct rt_node *next;
	struct xadc_rt rt;
};

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rt_node *rt_table[RT_HASH_SIZE];

/* FNV-1a over the key: used for the bucket and as the server's stable
 * persistence token, so a cookie stays valid across restarts. */
static uint64_t rt_hash(enum xadc_rt_kind kind, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)kind;

	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

static unsigned rt_slots(void)
{
	return xadc_nworkers ? xadc_nworkers : 1;
}

/* Accepts a kind and a NUL-terminated key; see snapshot.h. */
struct xadc_rt *xadc_rt_get(enum xadc_rt_kind kind, const char *key, bool start_up)
{
	uint64_t h = rt_hash(kind, key);
	struct rt_node **bucket = &rt_table[h & (RT_HASH_SIZE - 1)];
	struct rt_node *n;
	size_t sz;

	if (strlen(key) >= sizeof(n->rt.key))
		return NULL;
	pthread_mutex_lock(&rt_lock);
	for (n = *bucket; n; n = n->next) {
		if (n->rt.kind == kind && !strcmp(n->rt.key, key)) {
			atomic_fetch_add(&n->rt.refcnt, 1);
			goto out;
		}
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto out;
	sz = rt_slots() * sizeof(struct xadc_counters);
	n->rt.ctr = aligned_alloc(XADC_CACHELINE, sz);
	if (!n->rt.ctr) {
		free(n);
		n = NULL;
		goto out;
	}
	memset(n->rt.ctr, 0, sz);
	atomic_init(&n->rt.refcnt, 1);
	n->rt.kind = kind;
	strcpy(n->rt.key, key);
	atomic_init(&n->rt.up, start_up ? 1 : 0);
	atomic_init(&n->rt.active, 0);
	atomic_init(&n->rt.hc_changes, 0);
	n->rt.token = h;
	n->next = *bucket;
	*bucket = n;
out:
	pthread_mutex_unlock(&rt_lock);
	return n ? &n->rt : NULL;
}

/* Drop one reference; the object goes away with its last one. NULL is ok. */
void xadc_rt_put(struct xadc_rt *rt)
{
	struct rt_node **pp, *n;

	if (!rt)
		return;
	pthread_mutex_lock(&rt_lock);
	/* Decrement under the lock so a concurrent get never finds an object
	 * whose count already reached zero. */
	if (atomic_fetch_sub(&rt->refcnt, 1) != 1)
		goto out;
	pp = &rt_table[rt_hash(rt->kind, rt->key) & (RT_HASH_SIZE - 1)];
	for (; (n = *pp); pp = &n->next) {
		if (&n->rt == rt) {
			*pp = n->next;
			free(n->rt.ctr);
			free(n);
			break;
		}
	}
out:
	pthread_mutex_unlock(&rt_lock);
}

#define RT_LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)

/* Sum every worker's slot into *out (slots are read without a lock: each
 * value is a single aligned word, a slightly stale total is fine). */
void xadc_rt_sum(const struct xadc_rt *rt, struct xadc_counters *out)
{
	unsigned i, j;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < rt_slots(); i++) {
		const struct xadc_counters *c = &rt->ctr[i];

		out->requests += RT_LOAD(&c->requests);
		for (j = 0; j < ARRAY_SIZE(c->resp); j++)
			out->resp[j] += RT_LOAD(&c->resp[j]);
		out->bytes_in += RT_LOAD(&c->bytes_in);
		out->bytes_out += RT_LOAD(&c->bytes_out);
		out->conns += RT_LOAD(&c->conns);
		out->conn_errors += RT_LOAD(&c->conn_errors);
		out->cur_conns += RT_LOAD(&c->cur_conns);
	}
}
