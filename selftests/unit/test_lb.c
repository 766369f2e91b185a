// SPDX-License-Identifier: GPL-2.0
/*
 * test_lb.c - server selection: round robin, least connections, Maglev
 * consistent hash, cookie and client-IP persistence.
 *
 * Pools are built by hand (servers, runtime objects) and given to
 * xadc_lb_pool_init exactly as the config compiler does.
 */
#include <arpa/inet.h>
#include <errno.h>

#include "test_progs.h"
#include "xadc/lb.h"
#include "../../userspace/lb_internal.h"

#define MAXS 8

struct tpool {
	struct xadc_pool pool;
	struct xadc_server srv[MAXS];
	struct xadc_rt rt[MAXS];
};

static void set_v4(union xadc_sockaddr *a, uint32_t ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in.sin_family = AF_INET;
	a->in.sin_addr.s_addr = htonl(ip);
	a->in.sin_port = htons(port);
}

static void set_v6(union xadc_sockaddr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &a->in6.sin6_addr);
	a->in6.sin6_port = htons(port);
}

/* Servers 198.18.1.(i+1):8080, all enabled and up, tokens 0x1000 + i. */
static struct tpool *mkpool(const char *name, unsigned n, const uint32_t *ratios,
			    enum xadc_lb_algo algo, enum xadc_persist_type persist)
{
	struct tpool *t = calloc(1, sizeof(*t));
	unsigned i;

	snprintf(t->pool.name, sizeof(t->pool.name), "%s", name);
	t->pool.lb = algo;
	t->pool.persist = persist;
	t->pool.nservers = n;
	t->pool.servers = t->srv;
	for (i = 0; i < n; i++) {
		struct xadc_server *s = &t->srv[i];

		set_v4(&s->addr, 0xc6120101 + i, 8080);
		snprintf(s->name, sizeof(s->name), "198.18.1.%u:8080", i + 1);
		s->ratio = ratios ? ratios[i] : 1;
		s->enabled = true;
		s->pool = &t->pool;
		s->rt = &t->rt[i];
		t->rt[i].kind = XADC_RT_SERVER;
		t->rt[i].token = 0x1000 + i;
		atomic_store(&t->rt[i].up, 1);
	}
	return t;
}

static int init(struct tpool *t)
{
	return xadc_lb_pool_init(&t->pool);
}

static void freepool(struct tpool *t)
{
	xadc_lb_pool_fini(&t->pool);
	free(t);
}

static int idx(struct tpool *t, const struct xadc_server *s)
{
	return s ? (int)(s - t->srv) : -1;
}

static int pick(struct tpool *t, const struct xadc_lb_ctx *ctx)
{
	bool sc;

	return idx(t, xadc_lb_select(&t->pool, ctx, &sc));
}

TEST(rr_weighted_exact_cycle)
{
	static const uint32_t r[] = { 1, 2, 3 };
	struct tpool *t = mkpool("rr", 3, r, XADC_LB_ROUND_ROBIN, XADC_PERSIST_NONE);
	struct xadc_lb_ctx ctx = { 0 };
	unsigned cnt[3] = { 0 }, cyc[3], i, c;

	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	for (c = 0; c < 100; c++) {
		memset(cyc, 0, sizeof(cyc));
		for (i = 0; i < 6; i++) {
			int k = pick(t, &ctx);

			if (!ASSERT_GE(k, 0, "picked"))
				goto out;
			cyc[k]++;
			cnt[k]++;
		}
		/* every cycle of sum(ratio) picks is exact, not only the total */
		if (!ASSERT_TRUE(cyc[0] == 1 && cyc[1] == 2 && cyc[2] == 3, "cycle exact"))
			goto out;
	}
	ASSERT_EQ(cnt[0], 100, "ratio 1");
	ASSERT_EQ(cnt[1], 200, "ratio 2");
	ASSERT_EQ(cnt[2], 300, "ratio 3");
out:
	freepool(t);
}

TEST(rr_smooth_equal_weights)
{
	struct tpool *t = mkpool("rr", 4, NULL, XADC_LB_ROUND_ROBIN, XADC_PERSIST_NONE);
	struct xadc_lb_ctx ctx = { 0 };
	unsigned cnt[4] = { 0 }, i, repeats = 0;
	int prev = -1;

	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	for (i = 0; i < 400; i++) {
		int k = pick(t, &ctx);

		if (!ASSERT_GE(k, 0, "picked"))
			break;
		repeats += k == prev;
		prev = k;
		cnt[k]++;
	}
	ASSERT_EQ(repeats, 0, "no server twice in a row");
	for (i = 0; i < 4; i++)
		ASSERT_EQ(cnt[i], 100, "equal share");
	freepool(t);
}

TEST(rr_per_worker_state)
{
	struct tpool *t = mkpool("rrw", 2, NULL, XADC_LB_ROUND_ROBIN, XADC_PERSIST_NONE);
	struct xadc_lb_ctx w0 = { .worker = 0 }, w1 = { .worker = 1 };
	unsigned saved = xadc_nworkers;

	xadc_nworkers = 2;
	if (!ASSERT_OK(init(t), "pool_init"))
		goto out;
	/* Each worker has its own cursor: both start on the same server. */
	ASSERT_EQ(pick(t, &w0), pick(t, &w1), "independent cursors");
	freepool(t);
out:
	xadc_nworkers = saved;
}

TEST(rr_skips_down_disabled_excluded)
{
	struct tpool *t = mkpool("rr", 4, NULL, XADC_LB_ROUND_ROBIN, XADC_PERSIST_NONE);
	struct xadc_lb_ctx ctx = { 0 };
	unsigned cnt[4] = { 0 }, i;

	t->srv[2].enabled = false;
	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	atomic_store(&t->rt[1].up, 0);
	for (i = 0; i < 100; i++) {
		int k = pick(t, &ctx);

		if (!ASSERT_GE(k, 0, "picked"))
			goto out;
		cnt[k]++;
	}
	ASSERT_EQ(cnt[1], 0, "down server skipped");
	ASSERT_EQ(cnt[2], 0, "disabled server skipped");
	ASSERT_EQ(cnt[0] + cnt[3], 100, "others served");
	ASSERT_EQ(cnt[0], 50, "others share equally");

	ctx.exclude[0] = &t->srv[0];
	ctx.nexclude = 1;
	for (i = 0; i < 10; i++)
		ASSERT_EQ(pick(t, &ctx), 3, "excluded server skipped");
	ctx.exclude[1] = &t->srv[3];
	ctx.nexclude = 2;
	ASSERT_EQ(pick(t, &ctx), -1, "nothing left: NULL");
out:
	freepool(t);
}

TEST(least_connections)
{
	static const uint32_t r[] = { 1, 1, 1, 4 };
	struct tpool *t = mkpool("lc", 4, r, XADC_LB_LEAST_CONNECTIONS, XADC_PERSIST_NONE);
	struct xadc_lb_ctx ctx = { 0 };
	unsigned cnt[4] = { 0 }, i;

	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	atomic_store(&t->rt[0].active, 5);
	atomic_store(&t->rt[1].active, 2);
	atomic_store(&t->rt[2].active, 7);
	atomic_store(&t->rt[3].active, 12); /* 12/4 = 3 per unit of ratio */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(pick(t, &ctx), 1, "lowest active");
	atomic_store(&t->rt[3].active, 4); /* 4/4 = 1 < 2 */
	ASSERT_EQ(pick(t, &ctx), 3, "active weighted by ratio");

	/* acquire/release move the count */
	for (i = 0; i < 5; i++)
		xadc_lb_acquire(&t->srv[3]);
	ASSERT_EQ(atomic_load(&t->rt[3].active), 9, "acquire increments");
	ASSERT_EQ(pick(t, &ctx), 1, "9/4 > 2/1");
	xadc_lb_release(&t->srv[3]);
	xadc_lb_release(&t->srv[3]);
	ASSERT_EQ(atomic_load(&t->rt[3].active), 7, "release decrements");
	ASSERT_EQ(pick(t, &ctx), 3, "7/4 < 2/1");

	/* ties are shared */
	for (i = 0; i < 4; i++) {
		atomic_store(&t->rt[i].active, 0);
		t->srv[i].ratio = 1;
	}
	atomic_store(&t->rt[2].up, 0);
	for (i = 0; i < 300; i++) {
		int k = pick(t, &ctx);

		if (!ASSERT_GE(k, 0, "picked"))
			break;
		cnt[k]++;
	}
	ASSERT_EQ(cnt[2], 0, "down server skipped");
	for (i = 0; i < 4; i++) {
		if (i != 2)
			ASSERT_GE(cnt[i], 75, "ties spread");
	}

	/* with real accounting, load evens out */
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < 30; i++) {
		bool sc;
		struct xadc_server *s = xadc_lb_select(&t->pool, &ctx, &sc);

		if (!ASSERT_NOT_NULL(s, "picked"))
			break;
		xadc_lb_acquire(s);
	}
	ASSERT_EQ(atomic_load(&t->rt[0].active), 10, "s0 holds a third");
	ASSERT_EQ(atomic_load(&t->rt[1].active), 10, "s1 holds a third");
	ASSERT_EQ(atomic_load(&t->rt[3].active), 10, "s3 holds a third");
	freepool(t);
}

static struct xadc_lb_ctx ip_ctx(union xadc_sockaddr *a, uint32_t ip)
{
	struct xadc_lb_ctx ctx = { 0 };

	set_v4(a, ip, 40000);
	ctx.client = a;
	return ctx;
}

TEST(chash_stable_and_minimal_disruption)
{
	struct tpool *t = mkpool("ch", 5, NULL, XADC_LB_CONSISTENT_HASH, XADC_PERSIST_NONE);
	enum { NKEYS = 10000 };
	static int before[NKEYS];
	unsigned cnt[5] = { 0 }, moved_to[5] = { 0 }, i, others_moved = 0;
	union xadc_sockaddr a;

	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	ASSERT_GE(t->pool.chash_size, 500, "table >= 100 per server");
	for (i = 0; i < NKEYS; i++) {
		struct xadc_lb_ctx ctx = ip_ctx(&a, 0x0a000000 + i * 7919);

		before[i] = pick(t, &ctx);
		if (!ASSERT_GE(before[i], 0, "picked"))
			goto out;
		ASSERT_EQ(pick(t, &ctx), before[i], "same key, same server");
		cnt[before[i]]++;
	}
	for (i = 0; i < 5; i++) {
		ASSERT_GT(cnt[i], 1500, "share");
		ASSERT_LT(cnt[i], 2500, "share");
	}

	atomic_store(&t->rt[2].up, 0);
	for (i = 0; i < NKEYS; i++) {
		struct xadc_lb_ctx ctx = ip_ctx(&a, 0x0a000000 + i * 7919);
		int k = pick(t, &ctx);

		if (!ASSERT_GE(k, 0, "picked"))
			goto out;
		if (before[i] != 2)
			others_moved += k != before[i];
		else
			moved_to[k]++;
	}
	ASSERT_EQ(others_moved, 0, "keys of the servers still up did not move");
	ASSERT_EQ(moved_to[2], 0, "no key left on the down server");
	for (i = 0; i < 5; i++)
		if (i != 2)
			ASSERT_GT(moved_to[i], cnt[2] / 10, "moved keys spread over the others");

	/* back up: every key returns to its original server */
	atomic_store(&t->rt[2].up, 1);
	for (i = 0; i < NKEYS; i++) {
		struct xadc_lb_ctx ctx = ip_ctx(&a, 0x0a000000 + i * 7919);

		if (!ASSERT_EQ(pick(t, &ctx), before[i], "restored"))
			break;
	}
out:
	freepool(t);
}

TEST(chash_weighted)
{
	static const uint32_t r[] = { 1, 2, 3, 4 };
	struct tpool *t = mkpool("chw", 4, r, XADC_LB_CONSISTENT_HASH, XADC_PERSIST_NONE);
	enum { NKEYS = 20000 };
	unsigned cnt[4] = { 0 }, i;
	union xadc_sockaddr a;

	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	for (i = 0; i < NKEYS; i++) {
		struct xadc_lb_ctx ctx = ip_ctx(&a, 0xac100000 + i);
		int k = pick(t, &ctx);

		if (!ASSERT_GE(k, 0, "picked"))
			goto out;
		cnt[k]++;
	}
	for (i = 0; i < 4; i++) {
		unsigned want = NKEYS * r[i] / 10;

		ASSERT_GT(cnt[i], want * 8 / 10, "weighted share low bound");
		ASSERT_LT(cnt[i], want * 12 / 10, "weighted share high bound");
	}
out:
	freepool(t);
}

TEST(chash_disabled_server_owns_nothing)
{
	struct tpool *t = mkpool("chd", 3, NULL, XADC_LB_CONSISTENT_HASH, XADC_PERSIST_NONE);
	union xadc_sockaddr a;
	unsigned i, on1 = 0;

	t->srv[1].enabled = false;
	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	for (i = 0; i < t->pool.chash_size; i++)
		on1 += t->pool.chash[i] == 1;
	ASSERT_EQ(on1, 0, "no slot for the disabled server");
	for (i = 0; i < 1000; i++) {
		struct xadc_lb_ctx ctx = ip_ctx(&a, 0x0b000000 + i);

		if (!ASSERT_NEQ(pick(t, &ctx), 1, "never the disabled server"))
			break;
	}
	freepool(t);
}

TEST(chash_uri_header_ipport_keys)
{
	struct tpool *tu = mkpool("chu", 5, NULL, XADC_LB_CONSISTENT_HASH, XADC_PERSIST_NONE);
	struct tpool *th = mkpool("chh", 5, NULL, XADC_LB_CONSISTENT_HASH, XADC_PERSIST_NONE);
	struct tpool *tp = mkpool("chp", 5, NULL, XADC_LB_CONSISTENT_HASH, XADC_PERSIST_NONE);
	struct tpool *ts = mkpool("chs", 5, NULL, XADC_LB_CONSISTENT_HASH, XADC_PERSIST_NONE);
	union xadc_sockaddr a;
	bool seen[5] = { 0 };
	unsigned i, distinct = 0, fallback_same = 0;
	char uri[64];
	int first;

	tu->pool.hash_key = XADC_HASH_URI;
	th->pool.hash_key = XADC_HASH_HEADER;
	snprintf(th->pool.hash_hdr, sizeof(th->pool.hash_hdr), "X-User");
	tp->pool.hash_key = XADC_HASH_SOURCE_IP_PORT;
	ts->pool.hash_key = XADC_HASH_SOURCE_IP;
	if (!ASSERT_OK(init(tu), "init") || !ASSERT_OK(init(th), "init") ||
	    !ASSERT_OK(init(tp), "init") || !ASSERT_OK(init(ts), "init"))
		goto out;

	/* URI: same URI from many clients lands on one server */
	{
		struct xadc_lb_ctx ctx = ip_ctx(&a, 0x01020304);

		ctx.uri = "/cart?id=42";
		ctx.uri_len = strlen(ctx.uri);
		first = pick(tu, &ctx);
		for (i = 0; i < 50; i++) {
			ctx = ip_ctx(&a, 0x01020304 + i * 977);
			ctx.uri = "/cart?id=42";
			ctx.uri_len = strlen(ctx.uri);
			if (!ASSERT_EQ(pick(tu, &ctx), first, "URI key ignores client"))
				break;
		}
	}
	/* different URIs (query included) spread */
	for (i = 0; i < 200; i++) {
		struct xadc_lb_ctx ctx = ip_ctx(&a, 0x01020304);
		int k;

		snprintf(uri, sizeof(uri), "/item?id=%u", i);
		ctx.uri = uri;
		ctx.uri_len = strlen(uri);
		k = pick(tu, &ctx);
		if (k >= 0 && !seen[k]) {
			seen[k] = true;
			distinct++;
		}
	}
	ASSERT_EQ(distinct, 5, "URIs spread over every server");

	/* header: value decides; absent falls back to source IP */
	{
		struct xadc_lb_ctx ctx = ip_ctx(&a, 0x05060708);

		ctx.hash_hdr = "alice";
		ctx.hash_hdr_len = 5;
		first = pick(th, &ctx);
		for (i = 0; i < 50; i++) {
			ctx = ip_ctx(&a, 0x05060708 + i * 131);
			ctx.hash_hdr = "alice";
			ctx.hash_hdr_len = 5;
			if (!ASSERT_EQ(pick(th, &ctx), first, "header key ignores client"))
				break;
		}
	}
	for (i = 0; i < 200; i++) {
		struct xadc_lb_ctx ctx = ip_ctx(&a, 0x09000000 + i * 65537);

		/* th and ts have identical servers, hence identical tables */
		fallback_same += pick(th, &ctx) == pick(ts, &ctx);
	}
	ASSERT_EQ(fallback_same, 200, "no header: same as source IP hashing");

	/* IP+port: one client, many ports spreads; IP only does not */
	memset(seen, 0, sizeof(seen));
	distinct = 0;
	for (i = 0; i < 200; i++) {
		struct xadc_lb_ctx ctx = { 0 };
		int k;

		set_v4(&a, 0x0c0c0c0c, 1024 + i);
		ctx.client = &a;
		k = pick(tp, &ctx);
		if (k >= 0 && !seen[k]) {
			seen[k] = true;
			distinct++;
		}
		ASSERT_EQ(pick(ts, &ctx), pick(ts, &ctx), "ip only stable");
	}
	ASSERT_EQ(distinct, 5, "ports spread");
out:
	freepool(tu);
	freepool(th);
	freepool(tp);
	freepool(ts);
}

TEST(chash_ipv6_clients)
{
	struct tpool *t = mkpool("ch6", 5, NULL, XADC_LB_CONSISTENT_HASH, XADC_PERSIST_NONE);
	union xadc_sockaddr a6, a4;
	struct xadc_lb_ctx ctx = { 0 };
	unsigned i, distinct = 0;
	bool seen[5] = { 0 };
	char ip[64];
	int k6;

	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	for (i = 0; i < 200; i++) {
		int k;

		snprintf(ip, sizeof(ip), "fd00::%x:%x", i, i * 3 + 1);
		set_v6(&a6, ip, 5000);
		ctx.client = &a6;
		k = pick(t, &ctx);
		ASSERT_EQ(pick(t, &ctx), k, "v6 key stable");
		if (k >= 0 && !seen[k]) {
			seen[k] = true;
			distinct++;
		}
	}
	ASSERT_EQ(distinct, 5, "v6 clients spread");
	/* a v4-mapped v6 client hashes like the plain v4 one */
	for (i = 0; i < 50; i++) {
		snprintf(ip, sizeof(ip), "::ffff:198.51.100.%u", i);
		set_v6(&a6, ip, 5000);
		set_v4(&a4, 0xc6336400 + i, 5000);
		ctx.client = &a6;
		k6 = pick(t, &ctx);

		ctx.client = &a4;
		ASSERT_EQ(pick(t, &ctx), k6, "v4-mapped == v4");
	}
	freepool(t);
}

TEST(cookie_persistence)
{
	struct tpool *t = mkpool("ck", 3, NULL, XADC_LB_ROUND_ROBIN, XADC_PERSIST_HTTP_COOKIE);
	struct xadc_lb_ctx ctx = { 0 };
	struct xadc_server *s, *s2;
	char val[32];
	bool sc = false;
	unsigned i;

	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	s = xadc_lb_select(&t->pool, &ctx, &sc);
	if (!ASSERT_NOT_NULL(s, "picked"))
		goto out;
	ASSERT_TRUE(sc, "no cookie: set one");
	if (!ASSERT_EQ(xadc_lb_cookie_value(s, val, sizeof(val)), 16, "cookie length"))
		goto out;
	ASSERT_EQ(strtoull(val, NULL, 16), s->rt->token, "cookie is hex token");
	ASSERT_EQ(xadc_lb_cookie_value(s, val, 8), -ENOSPC, "short buffer");
	xadc_lb_cookie_value(s, val, sizeof(val));

	ctx.cookie = val;
	ctx.cookie_len = strlen(val);
	for (i = 0; i < 20; i++) {
		sc = true;
		s2 = xadc_lb_select(&t->pool, &ctx, &sc);
		ASSERT_TRUE(s2 == s, "cookie sticks despite round robin");
		ASSERT_FALSE(sc, "valid cookie: no new cookie");
	}

	/* stale token (server gone) and garbage both re-pick and set a cookie */
	ctx.cookie = "00000000deadbeef";
	ctx.cookie_len = 16;
	s2 = xadc_lb_select(&t->pool, &ctx, &sc);
	ASSERT_NOT_NULL(s2, "stale: picked");
	ASSERT_TRUE(sc, "stale: set cookie");
	ctx.cookie = "zz;";
	ctx.cookie_len = 3;
	s2 = xadc_lb_select(&t->pool, &ctx, &sc);
	ASSERT_NOT_NULL(s2, "garbage: picked");
	ASSERT_TRUE(sc, "garbage: set cookie");

	/* persisted server down: another one, new cookie */
	ctx.cookie = val;
	ctx.cookie_len = strlen(val);
	atomic_store(&s->rt->up, 0);
	for (i = 0; i < 5; i++) {
		s2 = xadc_lb_select(&t->pool, &ctx, &sc);
		ASSERT_TRUE(s2 && s2 != s, "down: re-picked");
		ASSERT_TRUE(sc, "down: set cookie");
	}
	/* excluded (retry) likewise */
	atomic_store(&s->rt->up, 1);
	ctx.exclude[0] = s;
	ctx.nexclude = 1;
	s2 = xadc_lb_select(&t->pool, &ctx, &sc);
	ASSERT_TRUE(s2 && s2 != s, "excluded: re-picked");
out:
	freepool(t);
}

static uint64_t fake_ms = 1000000;

static uint64_t fake_clock(void)
{
	return fake_ms;
}

TEST(client_ip_persistence)
{
	struct tpool *t = mkpool("cip", 3, NULL, XADC_LB_ROUND_ROBIN, XADC_PERSIST_CLIENT_IP);
	union xadc_sockaddr a, b;
	struct xadc_lb_ctx ca = ip_ctx(&a, 0xc0000201), cb;
	int first, k, other;
	bool sc = true;
	unsigned i;

	t->pool.persist_timeout_s = 60;
	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	ASSERT_NOT_NULL(t->pool.persist_table, "table attached");
	first = idx(t, xadc_lb_select(&t->pool, &ca, &sc));
	ASSERT_FALSE(sc, "client IP never sets a cookie");
	for (i = 0; i < 100; i++)
		if (!ASSERT_EQ(pick(t, &ca), first, "same IP sticks"))
			break;
	/* another port of the same IP is the same client */
	set_v4(&a, 0xc0000201, 40001);
	ASSERT_EQ(pick(t, &ca), first, "port ignored");
	/* another client is balanced by round robin as usual */
	cb = ip_ctx(&b, 0xc0000202);
	other = pick(t, &cb);
	ASSERT_NEQ(other, first, "second client gets the next server");

	/* persisted server down: re-pick, then stick to the new one */
	atomic_store(&t->rt[first].up, 0);
	k = pick(t, &ca);
	ASSERT_TRUE(k >= 0 && k != first, "re-picked");
	atomic_store(&t->rt[first].up, 1);
	for (i = 0; i < 20; i++)
		if (!ASSERT_EQ(pick(t, &ca), k, "new server sticks after recovery"))
			break;
	freepool(t);
}

TEST(client_ip_expiry)
{
	struct tpool *t = mkpool("cipx", 2, NULL, XADC_LB_ROUND_ROBIN, XADC_PERSIST_CLIENT_IP);
	uint64_t (*saved)(void) = xadc_persist_clock_ms;
	union xadc_sockaddr a;
	struct xadc_lb_ctx ca = ip_ctx(&a, 0xc0000301);
	int first;

	xadc_persist_clock_ms = fake_clock;
	t->pool.persist_timeout_s = 1;
	if (!ASSERT_OK(init(t), "pool_init"))
		goto out;
	first = pick(t, &ca);
	fake_ms += 900;
	ASSERT_EQ(pick(t, &ca), first, "within timeout");
	fake_ms += 900; /* idle time counts from the last use */
	ASSERT_EQ(pick(t, &ca), first, "use refreshes the entry");
	fake_ms += 1100;
	/* expired: round robin's next server (equal weights alternate) */
	ASSERT_NEQ(pick(t, &ca), first, "expired entry forgotten");
	freepool(t);
out:
	xadc_persist_clock_ms = saved;
}

TEST(client_ip_ipv6_and_reapply)
{
	struct tpool *t = mkpool("cip6", 4, NULL, XADC_LB_ROUND_ROBIN, XADC_PERSIST_CLIENT_IP);
	struct tpool *t2 = mkpool("cip6", 4, NULL, XADC_LB_ROUND_ROBIN, XADC_PERSIST_CLIENT_IP);
	union xadc_sockaddr a[8];
	struct xadc_lb_ctx ctx[8];
	int got[8];
	unsigned i, j;
	char ip[64];

	if (!ASSERT_OK(init(t), "pool_init"))
		goto out;
	for (i = 0; i < 8; i++) {
		snprintf(ip, sizeof(ip), "fd00:1::%u", i + 1);
		set_v6(&a[i], ip, 1000 + i);
		memset(&ctx[i], 0, sizeof(ctx[i]));
		ctx[i].client = &a[i];
		got[i] = pick(t, &ctx[i]);
	}
	for (j = 0; j < 10; j++)
		for (i = 0; i < 8; i++)
			ASSERT_EQ(pick(t, &ctx[i]), got[i], "v6 client sticks");

	/* re-apply: a new compile of the same pool keeps the table */
	if (!ASSERT_OK(init(t2), "second pool_init"))
		goto out;
	ASSERT_TRUE(t2->pool.persist_table == t->pool.persist_table, "table shared by name");
	xadc_lb_pool_fini(&t->pool);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(pick(t2, &ctx[i]), got[i], "persistence survives re-apply");
out:
	freepool(t);
	freepool(t2);
}

TEST(empty_and_all_down)
{
	struct tpool *t = mkpool("none", 3, NULL, XADC_LB_CONSISTENT_HASH, XADC_PERSIST_NONE);
	union xadc_sockaddr a;
	struct xadc_lb_ctx ctx = ip_ctx(&a, 0x01010101);
	unsigned i;

	if (!ASSERT_OK(init(t), "pool_init"))
		return;
	for (i = 0; i < 3; i++)
		atomic_store(&t->rt[i].up, 0);
	ASSERT_EQ(pick(t, &ctx), -1, "chash all down");
	t->pool.lb = XADC_LB_LEAST_CONNECTIONS;
	ASSERT_EQ(pick(t, &ctx), -1, "lc all down");
	freepool(t);

	t = mkpool("none2", 2, NULL, XADC_LB_CONSISTENT_HASH, XADC_PERSIST_NONE);
	t->srv[0].enabled = t->srv[1].enabled = false;
	if (!ASSERT_OK(init(t), "pool_init all disabled"))
		return;
	ASSERT_EQ(t->pool.chash_size, 0, "no table");
	ASSERT_EQ(pick(t, &ctx), -1, "all disabled");
	freepool(t);
}

TEST_MAIN()
