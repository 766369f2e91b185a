// SPDX-License-Identifier: GPL-2.0
/*
 * lb_persist.c - client-IP persistence table (PERSISTENCE_TYPE_CLIENT_IP_ADDRESS).
 *
 * Maps a client address (IPv4 or IPv6, no port) to the token of the server
 * it was sent to, plus the time the entry was last used.
 *
 * Layout: 64 stripes, each a fixed array of slots under its own spinlock,
 * so workers rarely contend and nothing is allocated after creation. A key
 * hashes to a stripe and to a start slot inside it; it may live in any of
 * the PROBE slots that follow (wrapping). Lookups scan the whole window, so
 * emptying a slot never breaks another key's chain and expiry is simply
 * "clear the slot". Expiry is lazy (an idle entry found by a lookup is
 * cleared) and insertion reuses empty or expired slots first, then evicts
 * the least recently used entry of the window: memory is bounded and a
 * full table degrades to forgetting the idlest clients.
 *
 * Lifetime: pools are recompiled on every configuration apply, which would
 * wipe persistence each time. Tables therefore live in a registry keyed by
 * pool name and are reference counted: the new snapshot's pool attaches to
 * the existing table before the old snapshot drops its reference, so
 * clients keep their server across applies. Entries store server tokens
 * (from struct xadc_rt, itself stable across applies), not pointers, so a
 * stale entry can never reference freed memory: lb.c just fails to find
 * the token and re-picks. The registry lock is only taken at compile and
 * free time, never on the request path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xadc/common.h"
#include "lb_internal.h"

#define PERSIST_STRIPES	 64
#define PERSIST_SLOTS	 256	/* per stripe: 16384 clients per pool */
#define PERSIST_PROBE	 16

struct persist_entry {
	uint8_t key[16];	/* IPv6 address, IPv4 as v4-mapped */
	uint64_t token;
	uint64_t last_ms;	/* 0: slot empty */
};

struct persist_stripe {
	pthread_spinlock_t lock;
	struct persist_entry slot[PERSIST_SLOTS];
} __cacheline_aligned;

struct persist_table {
	struct persist_stripe stripe[PERSIST_STRIPES];
	/* registry: protected by registry_lock */
	char name[XADC_NAME_MAX];
	unsigned refs;
	struct persist_table *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct persist_table *registry;

uint64_t (*xadc_persist_clock_ms)(void) = xadc_now_ms;

/* Normalise client to a 16-byte key; false for a family without an IP. */
static bool persist_key(const union xadc_sockaddr *client, uint8_t key[16])
{
	if (!client)
		return false;
	if (client->sa.sa_family == AF_INET) {
		memset(key, 0, 10);
		key[10] = 0xff;
		key[11] = 0xff;
		memcpy(key + 12, &client->in.sin_addr, 4);
		return true;
	}
	if (client->sa.sa_family == AF_INET6) {
		memcpy(key, &client->in6.sin6_addr, 16);
		return true;
	}
	return false;
}

static struct persist_table *table_new(const char *name)
{
	struct persist_table *t;
	unsigned i;

	t = aligned_alloc(XADC_CACHELINE, sizeof(*t));
	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	for (i = 0; i < PERSIST_STRIPES; i++)
		pthread_spin_init(&t->stripe[i].lock, PTHREAD_PROCESS_PRIVATE);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->refs = 1;
	return t;
}

static void table_free(struct persist_table *t)
{
	unsigned i;

	for (i = 0; i < PERSIST_STRIPES; i++)
		pthread_spin_destroy(&t->stripe[i].lock);
	free(t);
}

/* Accepts a compiled pool with persist == XADC_PERSIST_CLIENT_IP. */
int xadc_persist_attach(struct xadc_pool *pool)
{
	struct persist_table *t;
	int err = 0;

	pthread_mutex_lock(&registry_lock);
	for (t = registry; t; t = t->next)
		if (!strcmp(t->name, pool->name))
			break;
	if (t) {
		t->refs++;
	} else {
		t = table_new(pool->name);
		if (!t) {
			err = -ENOMEM;
			goto out;
		}
		t->next = registry;
		registry = t;
	}
	pool->persist_table = t;
out:
	pthread_mutex_unlock(&registry_lock);
	return err;
}

/* Accepts any pool; a pool without a table is left alone. */
void xadc_persist_detach(struct xadc_pool *pool)
{
	struct persist_table *t = pool->persist_table, **pp;

	if (!t)
		return;
	pool->persist_table = NULL;
	pthread_mutex_lock(&registry_lock);
	if (--t->refs == 0) {
		for (pp = &registry; *pp; pp = &(*pp)->next) {
			if (*pp == t) {
				*pp = t->next;
				break;
			}
		}
		table_free(t);
	}
	pthread_mutex_unlock(&registry_lock);
}

static struct persist_stripe *persist_locate(struct persist_table *t, const uint8_t key[16],
					     unsigned *start)
{
	uint64_t h = xadc_lb_hash(key, 16, 0x7065727369737421ull);

	*start = (unsigned)((h >> 6) % PERSIST_SLOTS);
	return &t->stripe[h % PERSIST_STRIPES];
}

static bool entry_expired(const struct persist_entry *e, uint64_t now, uint32_t timeout_ms)
{
	return e->last_ms && now - e->last_ms > timeout_ms;
}

/* Accepts a table from xadc_persist_attach (or NULL: miss) and any client. */
bool xadc_persist_lookup(void *table, const union xadc_sockaddr *client, uint32_t timeout_ms,
			 uint64_t *token)
{
	struct persist_stripe *s;
	struct persist_entry *e;
	uint8_t key[16];
	unsigned start, i;
	bool found = false;
	uint64_t now;

	if (!table || !persist_key(client, key))
		return false;
	/* 0 is the empty marker; a clock reading of 0 would look empty. */
	now = xadc_persist_clock_ms() | 1;
	s = persist_locate(table, key, &start);
	pthread_spin_lock(&s->lock);
	for (i = 0; i < PERSIST_PROBE; i++) {
		e = &s->slot[(start + i) % PERSIST_SLOTS];
		if (!e->last_ms || memcmp(e->key, key, 16))
			continue;
		if (entry_expired(e, now, timeout_ms)) {
			e->last_ms = 0;
			break;
		}
		e->last_ms = now;
		*token = e->token;
		found = true;
		break;
	}
	pthread_spin_unlock(&s->lock);
	return found;
}

/* Accepts a table from xadc_persist_attach (or NULL: no-op) and any client. */
void xadc_persist_store(void *table, const union xadc_sockaddr *client, uint64_t token)
{
	struct persist_entry *e, *victim = NULL;
	struct persist_stripe *s;
	uint8_t key[16];
	unsigned start, i;
	uint64_t now;

	if (!table || !persist_key(client, key))
		return;
	now = xadc_persist_clock_ms() | 1;
	s = persist_locate(table, key, &start);
	pthread_spin_lock(&s->lock);
	for (i = 0; i < PERSIST_PROBE; i++) {
		e = &s->slot[(start + i) % PERSIST_SLOTS];
		if (e->last_ms && !memcmp(e->key, key, 16)) {
			victim = e;
			break;
		}
		/* Prefer a free slot, else the least recently used entry,
		 * which is also where expired entries rank first. */
		if (!victim || (victim->last_ms && e->last_ms < victim->last_ms))
			victim = e;
	}
	memcpy(victim->key, key, 16);
	victim->token = token;
	victim->last_ms = now;
	pthread_spin_unlock(&s->lock);
}
