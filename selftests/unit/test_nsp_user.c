// SPDX-License-Identifier: GPL-2.0
/*
 * test_nsp_user.c - the proxy's compiled network security policy
 * (userspace/nsp_user.c) against the reference evaluator policy/nsp_eval.c:
 * same first matching rule for random clients and ports, and its
 * rate-limit/deny verdicts through xadc_nsp_us_refuse.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "test_progs.h"
#include "../../policy/nsp_eval.h"
#include "../../userspace/nsp_user.h"

static void pfx(struct xadc_nsp_prefix *p, int fam, const char *a, unsigned len)
{
	memset(p, 0, sizeof(*p));
	p->family = fam;
	p->len = len;
	inet_pton(fam == 4 ? AF_INET : AF_INET6, a, p->addr);
}

/* Rules: deny 198.18.8.0/22 and fd00:8::/32 except to port 443; rate
 * limit a range; allow-listed client ports; a NOT_IN rule; catch-all. */
static struct xadc_nsp_prefix p0[3], p3[1];
static struct xadc_nsp_range r1[1];
static struct xadc_nsp_rule rules[5];
static char names[5][XADC_XDP_NAME_MAX];
static struct xadc_nsp_cfg cfg;

static void build_policy(void)
{
	memset(rules, 0, sizeof(rules));
	pfx(&p0[0], 4, "198.18.8.0", 22);
	pfx(&p0[1], 6, "fd00:8::", 32);
	pfx(&p0[2], 4, "198.18.9.77", 32);
	rules[0] = (struct xadc_nsp_rule){ .rule_id = 1, .action = XADC_NSP_DENY,
					   .has_client_ip = true, .nprefixes = 3, .prefixes = p0 };
	rules[0].vs_port = (struct xadc_nsp_ports){ .present = true, .op = XADC_NSP_IS_NOT_IN,
						    .n = 1, .r = { { 443, 443 } } };
	r1[0].family = 4;
	inet_pton(AF_INET, "198.18.12.10", r1[0].lo);
	inet_pton(AF_INET, "198.18.12.20", r1[0].hi);
	rules[1] = (struct xadc_nsp_rule){ .rule_id = 2, .action = XADC_NSP_RATE_LIMIT,
					   .max_rate = 1, .burst_size = 2, .has_client_ip = true,
					   .nranges = 1, .ranges = r1 };
	rules[2] = (struct xadc_nsp_rule){ .rule_id = 3, .action = XADC_NSP_ALLOW };
	rules[2].client_port = (struct xadc_nsp_ports){ .present = true, .op = XADC_NSP_IS_IN,
							.n = 2, .r = { { 1000, 1999 }, { 5000, 5000 } } };
	pfx(&p3[0], 4, "198.18.0.0", 16);
	rules[3] = (struct xadc_nsp_rule){ .rule_id = 4, .action = XADC_NSP_DENY,
					   .has_client_ip = true, .ip_op = XADC_NSP_IS_NOT_IN,
					   .nprefixes = 1, .prefixes = p3 };
	rules[4] = (struct xadc_nsp_rule){ .rule_id = 5, .action = XADC_NSP_ALLOW };
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "p");
	cfg.pol.nrules = 5;
	cfg.pol.rules = rules;
	cfg.rule_names = names;
	for (int i = 0; i < 5; i++)
		snprintf(names[i], sizeof(names[i]), "r%d", i);
}

static void rand_client(union xadc_sockaddr *a, struct xadc_nsp_pkt *pkt)
{
	memset(a, 0, sizeof(*a));
	memset(pkt, 0, sizeof(*pkt));
	pkt->has_ports = true;
	pkt->client_port = rand() % 3 ? 1 + rand() % 65535 : 1000 + rand() % 1100;
	if (rand() % 4 == 0) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(pkt->client_port);
		inet_pton(AF_INET6, rand() % 2 ? "fd00:8::" : "fd00:9::", &a->in6.sin6_addr);
		a->in6.sin6_addr.s6_addr[15] = rand();
		pkt->family = 6;
		memcpy(pkt->client_addr, &a->in6.sin6_addr, 16);
	} else {
		uint32_t v = (198u << 24) | (18u << 16) | (uint32_t)(rand() % 32) << 8 | (rand() % 256);

		if (rand() % 8 == 0)
			v = (10u << 24) | (rand() & 0xffff);
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons(pkt->client_port);
		a->in.sin_addr.s_addr = htonl(v);
		pkt->family = 4;
		memcpy(pkt->client_addr, &a->in.sin_addr, 4);
	}
}

TEST(matches_reference_evaluator)
{
	const struct xadc_nsp_us *u;
	union xadc_sockaddr a;
	struct xadc_nsp_pkt pkt;
	int i, ref, got, bad = 0, hit[6] = {0};

	build_policy();
	ASSERT_OK(xadc_nsp_us_build(&cfg, NULL), "build");
	u = cfg.us;
	srand(7);
	for (i = 0; i < 20000; i++) {
		rand_client(&a, &pkt);
		pkt.vs_port = rand() % 2 ? 80 : 443;
		ref = xadc_nsp_eval(&cfg.pol, &pkt);
		got = xadc_nsp_us_match(u, &a, pkt.vs_port);
		bad += ref != got;
		hit[ref + 1]++;
	}
	ASSERT_EQ(bad, 0, "same first matching rule as nsp_eval on 20000 clients");
	/* the sample reached every rule, so the comparison means something */
	for (i = 1; i < 6; i++)
		ASSERT_GT(hit[i], 0, "every rule matched some client");
	xadc_nsp_us_free(cfg.us);
	cfg.us = NULL;
}

TEST(refuse_deny_and_rate_limit)
{
	struct xadc_snapshot snap = {0};
	struct xadc_xdp_cfg x = {0};
	struct xadc_vs_xdp vx = {0};
	struct xadc_vs vs = {0};
	union xadc_sockaddr c = {0}, vip = {0};
	struct xadc_nsp_us_stats st;
	int i, refused = 0;

	build_policy();
	ASSERT_OK(xadc_nsp_us_build(&cfg, NULL), "build");
	vs.nsp = &cfg;
	snprintf(vs.name, sizeof(vs.name), "vs");
	vx.nsp = &cfg;
	vx.us_ctr = xadc_nsp_us_vs_ctr_new();
	x.nvs = 1;
	x.vs = &vx;
	snap.nvs = 1;
	snap.vs = &vs;
	snap.xdp = &x;
	vip.in.sin_family = AF_INET;
	vip.in.sin_port = htons(80);
	c.in.sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.8.9", &c.in.sin_addr);
	ASSERT_TRUE(xadc_nsp_us_refuse(&snap, 0, 0, &c, &vip), "denied client refused");
	vip.in.sin_port = htons(443);
	ASSERT_FALSE(xadc_nsp_us_refuse(&snap, 0, 0, &c, &vip), "deny rule skips port 443");
	/* burst 2, 1/s: of 5 back-to-back connections 2 pass (a refill
	 * within the loop would need a second) */
	inet_pton(AF_INET, "198.18.12.15", &c.in.sin_addr);
	for (i = 0; i < 5; i++)
		refused += xadc_nsp_us_refuse(&snap, 0, 0, &c, &vip);
	ASSERT_EQ(refused, 3, "rate limit refuses beyond the burst");
	xadc_nsp_us_rule_stats(cfg.us, 1, &st);
	ASSERT_EQ(st.hits, 5, "rate rule hits");
	ASSERT_EQ(st.rate_limited, 3, "rate rule rate_limited");
	ASSERT_EQ(st.allowed, 2, "rate rule allowed");
	xadc_nsp_us_rule_stats(cfg.us, 0, &st);
	ASSERT_EQ(st.drops, 1, "deny rule drops");
	xadc_nsp_us_vs_stats(vx.us_ctr, &st);
	ASSERT_EQ(st.hits, 7, "VS evaluated 7 connections");
	ASSERT_EQ(st.drops, 4, "VS refused 4");
	xadc_nsp_us_vs_ctr_free(vx.us_ctr);
	xadc_nsp_us_free(cfg.us);
	cfg.us = NULL;
}

TEST_MAIN()
