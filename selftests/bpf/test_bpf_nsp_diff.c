// SPDX-License-Identifier: GPL-2.0
/*
 * test_bpf_nsp_diff.c - differential test of the XDP network security
 * policy against the reference evaluator (policy/nsp_eval.c): random rule
 * sets (v4/v6 prefixes, ranges, IS_IN/IS_NOT_IN, port sets) and random
 * packets, compared on the matched rule and the verdict. Host entries
 * (/32, /128) take the program's hash path and shorter prefixes its trie
 * path, so policies mix both, overlapping, and per family sometimes hold
 * hosts only (the program then skips the trie on a hash miss); packets are
 * drawn often from the policy's own hosts and their neighbours. Also: a
 * policy with 100,000 prefixes loads and answers correctly.
 *
 * XADC_SEED=<n> replays a run; XADC_DIFF_POLICIES=<n> changes the count.
 */
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "test_progs.h"
#include "pkt.h"
#include "nsp_eval.h"
#include "xadc/xdp.h"
#include "xadc_common.h"

static uint64_t rng_state;

/* splitmix64: small, seedable, good enough for test inputs. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Addresses come from a narrow universe so prefixes nest and overlap and
 * packets hit them: IPv4 198.18.0.0/22, IPv6 fd00::/120 + a few bits. */
static void rand_addr(int fam, uint8_t *a)
{
	memset(a, 0, 16);
	if (fam == 4) {
		a[0] = 198;
		a[1] = 18;
		a[2] = rn(4);
		a[3] = rn(256);
	} else {
		a[0] = 0xfd;
		a[7] = rn(2);
		a[14] = rn(4);
		a[15] = rn(256);
	}
}

/* Per family of the current policy ([0] IPv4, [1] IPv6): every prefix is a
 * host and every range one address, so the family has no trie entry. */
static bool hosts_only[2];

static unsigned rand_len(int fam)
{
	if (hosts_only[fam == 6] || rn(3) == 0)
		return fam == 4 ? 32 : 128;
	if (rn(20) == 0)
		return rn(3) * 4; /* occasionally a very short one: /0, /4, /8 */
	return fam == 4 ? 20 + rn(12) : 54 + rn(74);
}

#define MAXP 8
struct gen_rule {
	struct xadc_nsp_prefix p[MAXP];
	struct xadc_nsp_range r[MAXP];
};

static void rand_ports(struct xadc_nsp_ports *pt, bool vs)
{
	unsigned i;

	memset(pt, 0, sizeof(*pt));
	if (rn(3))
		return;
	pt->present = true;
	pt->op = rn(3) == 0 ? XADC_NSP_IS_NOT_IN : XADC_NSP_IS_IN;
	pt->n = 1 + rn(3);
	for (i = 0; i < pt->n; i++) {
		uint16_t a = vs ? (rn(2) ? 80 : 443) : 1000 + rn(64);
		uint16_t b = vs ? a : a + rn(16);

		if (vs && rn(4) == 0)
			b = 443;
		pt->r[i].lo = a < b ? a : b;
		pt->r[i].hi = a < b ? b : a;
	}
}

static void rand_rule(struct xadc_nsp_rule *r, struct gen_rule *g, unsigned idx)
{
	unsigned i, np = rn(MAXP), nr = rn(3);

	memset(r, 0, sizeof(*r));
	r->rule_id = 1000 + idx;
	r->action = rn(3);
	r->max_rate = 1;
	r->burst_size = 1000000000; /* rate limiting is tested elsewhere: never empty here */
	r->has_client_ip = rn(5) != 0;
	r->ip_op = rn(3) == 0 ? XADC_NSP_IS_NOT_IN : XADC_NSP_IS_IN;
	for (i = 0; i < np; i++) {
		g->p[i].family = rn(2) ? 4 : 6;
		rand_addr(g->p[i].family, g->p[i].addr);
		g->p[i].len = rand_len(g->p[i].family);
	}
	for (i = 0; i < nr; i++) {
		uint8_t a[16], b[16];
		int fam = rn(2) ? 4 : 6, n = fam == 4 ? 4 : 16;

		g->r[i].family = fam;
		rand_addr(fam, a);
		if (hosts_only[fam == 6])
			memcpy(b, a, 16);
		else
			rand_addr(fam, b);
		memcpy(g->r[i].lo, memcmp(a, b, n) <= 0 ? a : b, 16);
		memcpy(g->r[i].hi, memcmp(a, b, n) <= 0 ? b : a, 16);
	}
	r->nprefixes = np;
	r->prefixes = g->p;
	r->nranges = nr;
	r->ranges = g->r;
	rand_ports(&r->client_port, false);
	rand_ports(&r->vs_port, true);
}

static int prog;
static struct xadc_xdp *X;

/* Is a (family fam) the address of a host prefix of r? */
static bool is_host_of(const struct xadc_nsp_rule *r, int fam, const uint8_t *a)
{
	unsigned w = fam == 4 ? 32 : 128, j;

	for (j = 0; j < r->nprefixes; j++)
		if (r->prefixes[j].family == fam && r->prefixes[j].len == w &&
		    !memcmp(r->prefixes[j].addr, a, w / 8))
			return true;
	return false;
}

/* Does a non-host prefix or a range of more than one address of r contain
 * a? (Written here, not taken from the evaluator, to count coverage.) */
static bool in_wider_of(const struct xadc_nsp_rule *r, int fam, const uint8_t *a)
{
	unsigned w = fam == 4 ? 32 : 128, n = w / 8, j, b;

	for (j = 0; j < r->nprefixes; j++) {
		const struct xadc_nsp_prefix *p = &r->prefixes[j];

		if (p->family != fam || p->len == w)
			continue;
		for (b = 0; b < p->len; b++)
			if (((p->addr[b / 8] ^ a[b / 8]) >> (7 - b % 8)) & 1)
				break;
		if (b == p->len)
			return true;
	}
	for (j = 0; j < r->nranges; j++) {
		const struct xadc_nsp_range *g = &r->ranges[j];

		if (g->family == fam && memcmp(g->lo, g->hi, n) &&
		    memcmp(g->lo, a, n) <= 0 && memcmp(a, g->hi, n) <= 0)
			return true;
	}
	return false;
}

/* A packet's client address: often a host of the policy (a host prefix
 * or a range end) or its neighbour, else anywhere in the universe. */
static void rand_client(const struct xadc_nsp_policy *pol, int fam, uint8_t *a)
{
	unsigned n = fam == 4 ? 4 : 16, tries, pick = rn(10);

	rand_addr(fam, a);
	if (pick >= 5)
		return;
	for (tries = 0; tries < 8; tries++) {
		const struct xadc_nsp_rule *r = &pol->rules[rn(pol->nrules)];

		if (r->nprefixes && rn(3)) {
			const struct xadc_nsp_prefix *p = &r->prefixes[rn(r->nprefixes)];

			if (p->family != fam || p->len != n * 8)
				continue;
			memcpy(a, p->addr, n);
		} else if (r->nranges) {
			const struct xadc_nsp_range *g = &r->ranges[rn(r->nranges)];

			if (g->family != fam)
				continue;
			memcpy(a, rn(2) ? g->lo : g->hi, n);
		} else {
			continue;
		}
		if (pick == 4)
			a[n - 1] += rn(2) ? 1 : -1;
		return;
	}
}

static struct xadc_xdp_last last(void)
{
	struct xadc_xdp_last l = { 0 };
	uint32_t zero = 0;

	bpf_map_lookup_elem(xadc_xdp_map_fd(X, "xadc_last"), &zero, &l);
	return l;
}

static bool setup(void)
{
	uint8_t v4[4] = { 198, 18, 200, 1 }, v6[16] = { 0xfd, 0xee };
	int port;

	if (X)
		return true;
	if (!ASSERT_OK(xadc_xdp_open(&X, ""), "open"))
		return false;
	prog = xadc_xdp_prog_fd(X);
	for (port = 80; port <= 443; port += 363) {
		ASSERT_OK(xadc_xdp_vip_set(X, 4, v4, port, IPPROTO_TCP, 1, 1), "vip");
		ASSERT_OK(xadc_xdp_vip_set(X, 4, v4, port, IPPROTO_UDP, 1, 1), "vip");
		ASSERT_OK(xadc_xdp_vip_set(X, 6, v6, port, IPPROTO_TCP, 1, 1), "vip");
		ASSERT_OK(xadc_xdp_vip_set(X, 6, v6, port, IPPROTO_UDP, 1, 1), "vip");
	}
	return ASSERT_OK(xadc_xdp_configure(X, 0, XADC_CFG_F_RECORD_LAST), "configure");
}

static void print_rule(const struct xadc_nsp_rule *r, unsigned pos)
{
	char buf[64];
	unsigned j;

	printf("#  rule %u: action %d ip %s(%s)", pos, r->action,
	       r->has_client_ip ? "" : "any", r->ip_op ? "NOT_IN" : "IN");
	for (j = 0; j < r->nprefixes; j++) {
		inet_ntop(r->prefixes[j].family == 4 ? AF_INET : AF_INET6, r->prefixes[j].addr,
			  buf, sizeof(buf));
		printf(" %s/%u", buf, r->prefixes[j].len);
	}
	for (j = 0; j < r->nranges; j++) {
		int af = r->ranges[j].family == 4 ? AF_INET : AF_INET6;

		inet_ntop(af, r->ranges[j].lo, buf, sizeof(buf));
		printf(" %s-", buf);
		inet_ntop(af, r->ranges[j].hi, buf, sizeof(buf));
		printf("%s", buf);
	}
	if (r->client_port.present) {
		printf(" cport %s", r->client_port.op ? "NOT_IN" : "IN");
		for (j = 0; j < r->client_port.n; j++)
			printf(" %u-%u", r->client_port.r[j].lo, r->client_port.r[j].hi);
	}
	if (r->vs_port.present) {
		printf(" vsport %s", r->vs_port.op ? "NOT_IN" : "IN");
		for (j = 0; j < r->vs_port.n; j++)
			printf(" %u-%u", r->vs_port.r[j].lo, r->vs_port.r[j].hi);
	}
	printf("\n");
}

TEST(differential_random_policies)
{
	static struct xadc_nsp_rule rules[XADC_NSP_RULES_MAX];
	static struct gen_rule gens[XADC_NSP_RULES_MAX];
	const char *env = getenv("XADC_SEED"), *envn = getenv("XADC_DIFF_POLICIES");
	unsigned npol = envn ? (unsigned)atoi(envn) : 2000, i, j, k;
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ getpid();
	unsigned long compared = 0, drops = 0, matched = 0, host = 0, overlap = 0, only = 0;
	bool failed = false;

	if (!setup())
		return;
	printf("# seed %llu (XADC_SEED=%llu replays)\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	rng_state = seed;
	for (i = 0; i < npol && !failed; i++) {
		struct xadc_nsp_policy pol = { .rules = rules };

		pol.nrules = rn(8) == 0 ? XADC_NSP_RULES_MAX - rn(8) : 1 + rn(12);
		hosts_only[0] = rn(3) == 0;
		hosts_only[1] = rn(3) == 0;
		for (j = 0; j < pol.nrules; j++)
			rand_rule(&rules[j], &gens[j], j);
		if (!ASSERT_OK(xadc_xdp_nsp_install(X, 1, &pol), "install"))
			return;
		for (k = 0; k < 50; k++) {
			struct pkt_spec s = { 0 };
			struct xadc_nsp_pkt ep = { 0 };
			char src[64], dst[64];
			int want, verdict, want_verdict;
			struct xadc_xdp_last l;

			bool is_host = false, wider = false;

			ep.family = rn(2) ? 4 : 6;
			rand_client(&pol, ep.family, ep.client_addr);
			for (j = 0; j < pol.nrules; j++) {
				is_host |= is_host_of(&rules[j], ep.family, ep.client_addr);
				wider |= in_wider_of(&rules[j], ep.family, ep.client_addr);
			}
			host += is_host;
			overlap += is_host && wider;
			only += hosts_only[ep.family == 6];
			ep.has_ports = true;
			ep.client_port = 990 + rn(100);
			ep.vs_port = rn(2) ? 80 : 443;
			inet_ntop(ep.family == 4 ? AF_INET : AF_INET6, ep.client_addr, src,
				  sizeof(src));
			snprintf(dst, sizeof(dst), "%s", ep.family == 4 ? "198.18.200.1" : "fdee::");
			s = (struct pkt_spec){ .family = ep.family, .src = src, .dst = dst,
					       .proto = rn(2) ? IPPROTO_TCP : IPPROTO_UDP,
					       .sport = ep.client_port, .dport = ep.vs_port,
					       .tcp_flags = rn(2) ? TCP_SYN_ : TCP_ACK_ };
			want = xadc_nsp_eval(&pol, &ep);
			want_verdict = want >= 0 && rules[want].action == XADC_NSP_DENY ? XDP_DROP
										    : XDP_PASS;
			verdict = pkt_run_spec(prog, &s);
			l = last();
			compared++;
			drops += verdict == XDP_DROP;
			matched += want >= 0;
			if (verdict == want_verdict &&
			    l.rule_pos == (want < 0 ? XADC_LAST_NO_RULE : (uint32_t)want))
				continue;
			TEST_FAIL_("disagreement (seed %llu, policy %u, packet %u): client %s "
				   "port %u -> vs port %u: evaluator rule %d verdict %d, BPF rule %d "
				   "verdict %d", (unsigned long long)seed, i, k, src, ep.client_port,
				   ep.vs_port, want, want_verdict, (int)l.rule_pos, verdict);
			for (j = 0; j < pol.nrules; j++)
				print_rule(&rules[j], j);
			failed = true;
			break;
		}
	}
	printf("# %u policies, %lu packets compared, %lu matched a rule, %lu dropped\n", i,
	       compared, matched, drops);
	printf("# %lu from a host entry (%lu also inside a wider prefix or range), %lu of a "
	       "hosts-only family\n", host, overlap, only);
	ASSERT_FALSE(failed, "no disagreement");
	/* The inputs must exercise both outcomes, or the comparison proves little. */
	ASSERT_GT(drops, compared / 10, "a fair share of drops");
	ASSERT_GT(compared - matched, compared / 20, "a fair share of unmatched packets");
	/* Both lookup paths and the host-inside-wider-prefix union. */
	ASSERT_GT(host, compared / 10, "a fair share of host-entry clients");
	ASSERT_GT(overlap, compared / 50, "hosts that wider prefixes also cover");
	ASSERT_GT(compared - host, compared / 2, "a fair share of clients on no host entry");
	ASSERT_GT(only, compared / 10, "clients of hosts-only families");
}

TEST(hundred_thousand_prefixes)
{
	static uint8_t member[1 << 17]; /* 198.18.0.0/15, one byte per address */
	static struct xadc_nsp_prefix p[100000];
	struct xadc_nsp_rule r[2] = {
		{ .rule_id = 1, .action = XADC_NSP_DENY, .has_client_ip = true,
		  .nprefixes = 100000, .prefixes = p },
		{ .rule_id = 2, .action = XADC_NSP_ALLOW },
	};
	struct xadc_nsp_policy pol = { .nrules = 2, .rules = r };
	struct timespec t0, t1;
	unsigned n = 0, i, bad = 0, denied = 0;

	if (!setup())
		return;
	rng_state = 42;
	while (n < 100000) {
		uint32_t off = rn(1 << 17);

		if (member[off])
			continue;
		member[off] = 1;
		p[n] = (struct xadc_nsp_prefix){ .family = 4, .len = 32,
						 .addr = { 198, 18 + (off >> 16), (off >> 8) & 255,
							   off & 255 } };
		n++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!ASSERT_OK(xadc_xdp_nsp_install(X, 1, &pol), "install 100k prefixes"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# installed 100000 prefixes in %.0f ms\n",
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	for (i = 0; i < 5000; i++) {
		uint32_t off = rn(1 << 17);
		char src[32];
		struct pkt_spec s = { .family = 4, .proto = IPPROTO_TCP, .src = src,
				      .dst = "198.18.200.1", .sport = 1000, .dport = 80 };
		int v, want = member[off] ? XDP_DROP : XDP_PASS;

		snprintf(src, sizeof(src), "198.%u.%u.%u", 18 + (off >> 16), (off >> 8) & 255,
			 off & 255);
		v = pkt_run_spec(prog, &s);
		denied += v == XDP_DROP;
		if (v != want && bad++ < 5)
			TEST_FAIL_("client %s: verdict %d, want %d", src, v, want);
	}
	ASSERT_EQ(bad, 0, "5000 lookups agree with the set");
	ASSERT_GT(denied, 0, "some members sampled");
	ASSERT_LT(denied, 5000, "some non-members sampled");
	ASSERT_OK(xadc_xdp_nsp_remove(X, 1), "remove");
}

int tests_main(int argc, char **argv);
#define main tests_main
TEST_MAIN()
#undef main

int main(int argc, char **argv)
{
	const char *why = bpf_unavailable();

	if (why) {
		printf("1..0 # SKIP %s\n", why);
		return 0;
	}
	return tests_main(argc, argv);
}
